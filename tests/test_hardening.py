"""Hardening (issue 11), tried as an attacker or a careless user would.

Each test names the numbered case of issue 11 it covers.  Cases that could exhaust memory or hang on a broken
build run in a child process with an address-space limit and a timeout, so that a regression fails the test
instead of the machine.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from gisplan._errors import GisplanError, LayerError, ScenarioError, UploadError
from gisplan.cli.main import main
from gisplan.io.crs import METRIC_CRS
from gisplan.plan import BOQ_COLUMNS, Plan

ROOT = Path(__file__).resolve().parents[1]
LON, LAT = 103.97, 10.22
#: Address-space ceiling of the child processes below: enough to import gisplan, far below what the attacks cost.
CHILD_AS_BYTES = 3 * 2**30


def _child(code: str, *, timeout: float = 120.0, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child Python with an address-space limit; returns the finished process."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_AS_BYTES, CHILD_AS_BYTES))

    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        env=env,
        cwd=cwd,
    )


def _poles(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"pole_id": [f"P{i}" for i in range(n)], "owner": ["telecom"] * n},
        geometry=[Point(LON + 0.0005 * i, LAT) for i in range(n)],
        crs="EPSG:4326",
    )


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


# ------------------------------------------------------------------------------------------------------------
# 2. the demo never deletes a user's store
# ------------------------------------------------------------------------------------------------------------
def _user_store(path: Path) -> bytes:
    from gisplan.store.versions import VersionStore

    store = VersionStore(path)
    store.save(
        scenario_name="my-plan",
        scenario_text="title: mine\n",
        artifacts={"boq.csv": b"item,amount\nT1,1000\n"},
        kpis={"cost_vnd": 1000},
        author="Nguyễn Văn A",
        message="a month of work",
        created_at="2026-01-05T08:00:00+07:00",
    )
    return path.read_bytes()


def test_demo_out_dot_keeps_the_users_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 2: ``gisplan demo --out .`` in a folder holding the CLI's default store leaves that store as it was."""
    from gisplan.store.versions import DEFAULT_STORE_NAME, VersionStore

    user = tmp_path / DEFAULT_STORE_NAME
    before = _user_store(user)
    from gisplan.workflow.demo import run_demo

    summary = run_demo(tmp_path, scenarios=("duong_dong_underground", "duong_dong_underground_v2"))
    assert user.read_bytes() == before
    assert [v.scenario_name for v in VersionStore(user, create=False).log()] == ["my-plan"]
    demo_store = tmp_path / summary["store"]
    assert demo_store.name != DEFAULT_STORE_NAME and len(VersionStore(demo_store, create=False).log()) == 2
    # running the demo again replaces the demo's own store (unchanged since the demo wrote it)
    run_demo(tmp_path, scenarios=("duong_dong_underground", "duong_dong_underground_v2"))
    assert user.read_bytes() == before
    # a demo store the user saved into is the user's data now: the demo refuses, before any work
    from gisplan.workflow.actions import save_run

    save_run(
        VersionStore(demo_store),
        tmp_path / "runs" / "duong_dong_underground",
        name="my-own",
        author="B",
        message="kept",
    )
    kept = demo_store.read_bytes()
    code, err = _run_cli(["demo", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 1 and str(demo_store) in err and "--out" in err
    assert demo_store.read_bytes() == kept and user.read_bytes() == before


# ------------------------------------------------------------------------------------------------------------
# 3. CSV formula injection
# ------------------------------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil/","x")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def _boq_with(texts: list[str]) -> pd.DataFrame:
    rows = []
    for i, text in enumerate(texts):
        rows.append((f"X{i}", text, "Trench", text, 1.0, 1000, 1000, "civil", "2027", text, text))
    return pd.DataFrame(rows, columns=list(BOQ_COLUMNS))


def test_csv_cells_a_spreadsheet_would_evaluate_are_neutralised() -> None:
    """Case 3: boundary names, descriptions and units starting with = + - @ TAB CR are prefixed with a quote."""
    from gisplan.outputs.export import boq_csv_text

    text = boq_csv_text(_boq_with(FORMULAS))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for col in ("description_vi", "unit", "district", "commune"):
            cell = row[col]
            assert cell[0] not in "=+-@\t\r", (col, cell)  # what Excel would evaluate
            # OWASP: a leading quote, the text kept (a carriage return inside a cell is written as a quoted newline)
            assert cell.startswith("'") and cell[1:] in [f.replace("\r", "\n") for f in FORMULAS]
        assert row["amount_vnd"] == "1000"  # numbers stay numbers


def test_xlsx_keeps_formula_like_text_as_text(tmp_path: Path) -> None:
    """Case 3: the workbook stores the same values as text cells, never formulas."""
    import openpyxl

    from gisplan.outputs.export import boq_to_xlsx

    path = boq_to_xlsx(_boq_with(FORMULAS), tmp_path / "boq.xlsx")
    wb = openpyxl.load_workbook(path)
    seen = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value in FORMULAS]
    assert seen
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value in FORMULAS]
    assert all(c.data_type == "s" for c in cells)


# ------------------------------------------------------------------------------------------------------------
# 4. bounded work in uploads and layer files
# ------------------------------------------------------------------------------------------------------------
def _gpkg(path: Path) -> Path:
    _poles().to_file(path, layer="poles", driver="GPKG", engine="pyogrio")
    return path


def test_upload_with_a_lying_feature_count_is_refused_before_reading(tmp_path: Path) -> None:
    """Case 4: a 3-feature GeoPackage claiming 10^8 features is refused with a message (it was read at 2.5 GB)."""
    path = _gpkg(tmp_path / "poles.gpkg")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE gpkg_ogr_contents SET feature_count = 100000000")
    proc = _child(
        f"""
        from pathlib import Path
        from gisplan._errors import UploadError
        from gisplan.io.uploads import read_upload
        try:
            read_upload("poles.gpkg", Path({str(path)!r}).read_bytes(), crs="EPSG:4326")
        except UploadError as exc:
            print("REFUSED", exc)
        else:
            print("ACCEPTED")
        """
    )
    assert "REFUSED" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "100,000,000" in proc.stdout and "poles" in proc.stdout


def test_upload_with_a_view_in_place_of_a_table_is_refused(tmp_path: Path) -> None:
    """Case 4: a recursive view registered as the poles layer ran past 180 s at 6.9 GB; it is refused at once."""
    path = _gpkg(tmp_path / "poles.gpkg")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE poles RENAME TO poles_t")
        conn.execute(
            "CREATE VIEW poles AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)"
            " SELECT c.x AS fid, 'P' || c.x AS pole_id, p.owner AS owner, p.geom AS geom FROM c, poles_t p"
        )
    proc = _child(
        f"""
        from pathlib import Path
        from gisplan._errors import GisplanError
        from gisplan.io.uploads import read_upload
        try:
            read_upload("poles.gpkg", Path({str(path)!r}).read_bytes(), crs="EPSG:4326")
        except GisplanError as exc:
            print("REFUSED", type(exc).__name__, exc)
        else:
            print("ACCEPTED")
        """,
        timeout=60,
    )
    assert "REFUSED UploadError" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "view" in proc.stdout.lower()


def test_upload_with_a_foreign_trigger_is_refused(tmp_path: Path) -> None:
    """Case 4: triggers other than the GeoPackage's own (rtree, feature count) are refused."""
    path = _gpkg(tmp_path / "poles.gpkg")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TRIGGER evil AFTER INSERT ON poles BEGIN DELETE FROM poles; END")
    with pytest.raises(UploadError, match="trigger"):
        from gisplan.io.uploads import read_upload

        read_upload("poles.gpkg", path.read_bytes(), crs="EPSG:4326")
    # a GeoPackage as GDAL writes it (rtree and feature-count triggers) is accepted
    clean = _gpkg(tmp_path / "clean.gpkg")
    assert len(read_upload("poles.gpkg", clean.read_bytes())["poles"]) == 3


def test_upload_vertex_and_feature_limits(tmp_path: Path) -> None:
    """Case 4: vertex and feature counts are bounded, each with a message naming the limit."""
    from gisplan.io._validate import ReadLimits
    from gisplan.io.uploads import read_upload

    roads = gpd.GeoDataFrame(
        {"road_id": ["R1"], "road_class": ["urban"], "surface": ["asphalt"]},
        geometry=[LineString([(LON + i * 1e-5, LAT) for i in range(5000)])],
        crs="EPSG:4326",
    )
    path = tmp_path / "roads.gpkg"
    roads.to_file(path, layer="roads", driver="GPKG", engine="pyogrio")
    with pytest.raises(UploadError, match="1,000") as info:
        read_upload("roads.gpkg", path.read_bytes(), limits=ReadLimits(max_vertices=1000))
    assert "vert" in str(info.value).lower()
    with pytest.raises(UploadError, match="feature"):
        read_upload("poles.gpkg", _gpkg(tmp_path / "p.gpkg").read_bytes(), limits=ReadLimits(max_features=2))
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + "".join(
            f"<Placemark><name>P{i}</name><Point><coordinates>{LON},{LAT}</coordinates></Point></Placemark>"
            for i in range(50)
        )
        + "</Document></kml>"
    )
    with pytest.raises(GisplanError, match="50"):
        read_upload("poles.kml", kml.encode(), limits=ReadLimits(max_features=10))
    rows = "lon,lat,pole_id\n" + "".join(f"{LON},{LAT},P{i}\n" for i in range(50))
    with pytest.raises(GisplanError, match="rows"):
        read_upload("poles.csv", rows.encode(), crs="EPSG:4326", limits=ReadLimits(max_features=10))


def test_upload_memory_ceiling(tmp_path: Path) -> None:
    """Case 4: a GeoPackage whose estimated reading cost is above the ceiling of one upload is refused unread."""
    from gisplan.io._validate import ReadLimits
    from gisplan.io.uploads import read_upload

    data = _gpkg(tmp_path / "p.gpkg").read_bytes()
    # 3 rows x 4 columns x 200 B + 4 x geometry bytes: about 2.6 KB; a 2 KB ceiling refuses it, 1 MB takes it
    with pytest.raises(UploadError, match="memory"):
        read_upload("poles.gpkg", data, limits=ReadLimits(max_memory_bytes=2000))
    assert len(read_upload("poles.gpkg", data, limits=ReadLimits(max_memory_bytes=2**20))["poles"]) == 3


def test_a_1_gb_csv_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Case 4 and 8: a 1 GB CSV took 13 GB of memory and ended in a traceback; now exit 1 at once, naming it."""
    big = tmp_path / "poles.csv"
    with open(big, "wb") as f:
        f.write(b"lon,lat,pole_id\n")
        f.truncate(2**30)  # sparse: costs no disk
    proc = _child(
        f"""
        import sys
        from gisplan.cli.main import main
        sys.exit(main(["layers", "validate", {str(big)!r}, "--kind", "poles", "--crs", "EPSG:4326"]))
        """,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and str(big) in proc.stderr and "1,073,741,824" in proc.stderr


def test_text_layer_files_are_measured_before_gdal_parses_them(tmp_path: Path, capsys) -> None:
    """Case 4: GeoJSON and KML are parsed whole by GDAL; a file above the limit is refused by its size first."""
    from gisplan.io._validate import DEFAULT_LIMITS

    for name in ("roads.geojson", "poles.kml"):
        big = tmp_path / name
        with open(big, "wb") as f:
            f.truncate(DEFAULT_LIMITS.max_text_bytes + 1)  # sparse
        code, err = _run_cli(["layers", "validate", str(big), "--crs", "EPSG:4326"], capsys)
        assert code == 1 and f"{DEFAULT_LIMITS.max_text_bytes + 1:,}" in err and "GeoPackage" in err, err


# ------------------------------------------------------------------------------------------------------------
# 5. run folders published all-or-nothing
# ------------------------------------------------------------------------------------------------------------
def _plan(total: int) -> Plan:
    boq = pd.DataFrame(
        [("TR.ASPHALT", "Đào rãnh", "Trench", "m", 1.0, total, total, "civil", "2027", "PQ", "Dương Đông")],
        columns=list(BOQ_COLUMNS),
    )
    layer = gpd.GeoDataFrame(
        {"phase": ["2027"]}, geometry=[LineString([(386000.0, 1130000.0), (386100.0, 1130000.0)])], crs=METRIC_CRS
    )
    return Plan("underground", {"trenches": layer}, boq, {"cost_vnd": total})


def _locked(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """Simulate Windows with ``locked`` open in Excel: it, and any folder holding it, can be neither moved nor
    replaced."""
    import gisplan._atomic as atomic

    real_replace, real_rename = os.replace, os.rename

    def hit(*paths: object) -> bool:
        for p in paths:
            p = Path(os.fspath(p)).absolute()  # type: ignore[arg-type]
            if p == locked or locked.is_relative_to(p):
                return True
        return False

    def replace(src: object, dst: object) -> None:
        if hit(src, dst):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        real_replace(src, dst)  # type: ignore[arg-type]

    def rename(src: object, dst: object) -> None:
        if hit(src, dst):
            raise PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.os, "rename", rename)


def _matches_manifest(folder: Path) -> bool:
    import hashlib

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["outputs"].items():
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != entry["sha256"]:
            return False
    return True


def test_a_rerun_with_a_locked_output_leaves_the_old_folder_whole(tmp_path: Path, monkeypatch) -> None:
    """Case 5: with boq.xlsx locked, a re-run used to leave boq.csv new and the rest old; now all old, one error."""
    from gisplan.outputs.export import export_plan

    out = tmp_path / "run"
    export_plan(_plan(1000), out)
    (out / "notes.txt").write_text("the planner's own notes", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert _matches_manifest(out)
    _locked(monkeypatch, (out / "boq.xlsx").absolute())
    with pytest.raises(OSError):
        export_plan(_plan(2000), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _matches_manifest(out)
    monkeypatch.undo()
    export_plan(_plan(2000), out)  # unlocked: the new folder is swapped in whole, the user's file kept
    assert _matches_manifest(out) and (out / "notes.txt").read_text(encoding="utf-8") == "the planner's own notes"
    assert "2000" in (out / "boq.csv").read_text(encoding="utf-8-sig")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old folder left


def test_an_output_folder_over_a_folder_of_folders_is_refused(tmp_path: Path) -> None:
    """Case 5: ``--out ~`` must not move a home folder aside: a folder holding folders it did not write is refused."""
    from gisplan.outputs.export import export_plan

    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(OSError, match="Documents"):
        export_plan(_plan(1000), home)
    assert (home / "Documents" / "thesis.docx").read_bytes() == b"years of work"
    assert sorted(p.name for p in home.iterdir()) == ["Documents"]


# ------------------------------------------------------------------------------------------------------------
# 6. YAML alias bombs
# ------------------------------------------------------------------------------------------------------------
def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BOMB_SCENARIOS = {
    "title": "{bomb}title: *a8\nlayers: {{source: demo}}\nwifi: {{enabled: true, cover_all: true}}\n",
    "catalog": "{bomb}title: t\nlayers: {{source: demo}}\nwifi: {{enabled: true, cover_all: true}}\n"
    "catalog: {{prices: {{MH.STD: *a8}}}}\n",
    "layer_file": "{bomb}title: t\nlayers: {{source: *a8}}\nwifi: {{enabled: true, cover_all: true}}\n",
}


@pytest.mark.parametrize("where", sorted(BOMB_SCENARIOS))
def test_scenario_alias_bomb_is_refused_before_any_value_is_used(tmp_path: Path, where: str) -> None:
    """Case 6: a 1.2 KB scenario whose title, catalog override or layer path is an alias bomb reached 5.7 GB."""
    text = BOMB_SCENARIOS[where].format(bomb=_bomb())
    assert len(text) < 1500
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    proc = _child(
        f"""
        import sys
        from gisplan.cli.main import main
        sys.exit(main(["run", {str(path)!r}, "--out", {str(tmp_path / "out")!r}, "--quiet"]))
        """,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "alias" in proc.stderr and str(path) in proc.stderr


def test_saved_scenario_alias_bomb_is_refused_by_compare(tmp_path: Path) -> None:
    """Case 6: compare reads saved scenarios leniently; an alias bomb there is refused the same way."""
    text = _bomb() + "title: *a8\n"
    proc = _child(
        f"""
        from gisplan._errors import ScenarioError
        from gisplan.workflow.scenario import scenario_values
        try:
            scenario_values({text!r})
        except ScenarioError as exc:
            print("REFUSED", exc)
        else:
            print("ACCEPTED")
        """,
        timeout=60,
    )
    assert "REFUSED" in proc.stdout and "alias" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_catalog_file_alias_bomb_and_recursive_alias_are_refused(tmp_path: Path) -> None:
    """Case 6: a catalog file with an alias bomb, and a self-referencing alias, are refused with a message."""
    from gisplan._errors import CatalogError
    from gisplan.catalog import load_catalog

    path = tmp_path / "catalog.yaml"
    path.write_text(_bomb() + "items: *a8\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="alias"):
        load_catalog(path)
    with pytest.raises(ScenarioError, match=r"alias|recursive"):
        from gisplan.workflow.scenario import parse_scenario

        parse_scenario("title: &t [*t]\n")


def test_small_legitimate_aliases_still_work() -> None:
    """Case 6: a scenario that reuses a block with an anchor (a few nodes) is accepted."""
    from gisplan.workflow.scenario import scenario_values

    values = scenario_values("years: &y {start_year: 2027}\nunderground: *y\ntitle: ok\n")
    assert values["underground"]["start_year"] == 2027


# ------------------------------------------------------------------------------------------------------------
# 7. script-safe JSON in map.html and compare.html
# ------------------------------------------------------------------------------------------------------------
PAYLOAD = "Đường <!--<script>alert(1)</script>"


def _script_bodies(html: str) -> list[str]:
    from html.parser import HTMLParser

    bodies: list[str] = []

    class Parser(HTMLParser):
        inside = False

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.inside = tag == "script"
            if self.inside:
                bodies.append("")

        def handle_endtag(self, tag: str) -> None:
            self.inside = False

        def handle_data(self, data: str) -> None:
            if self.inside:
                bodies[-1] += data

    Parser().feed(html)
    return bodies


def test_map_html_survives_a_name_with_comment_and_script_openers() -> None:
    """Case 7: ``<!--<script>`` in an attribute value put the map script into a comment; ``<`` is escaped now."""
    from tiny_project import tiny_frames

    from gisplan.outputs.maps import layers_map, standalone_html

    layers = tiny_frames()
    layers["roads"]["name"] = PAYLOAD
    html = standalone_html(layers_map(layers))
    assert "<!--<script>" not in html and "<!--" not in "".join(_script_bodies(html))
    # the value still reaches the page intact once the JSON is parsed
    literal = json.dumps(PAYLOAD, ensure_ascii=False).replace("</", "<\\/")
    assert literal.replace("<!", "\\u003c!").replace("<script", "\\u003cscript") in html


def test_compare_html_survives_a_name_with_comment_and_script_openers(tmp_path: Path) -> None:
    """Case 7: compare.html lost its map to the same value."""
    from tiny_project import tiny_frames

    from gisplan.outputs.export import export_plan
    from gisplan.workflow.compare import compare_runs, write_comparison
    from gisplan.workflow.folders import read_run

    runs = []
    for name, total in (("a", 1000), ("b", 2000)):
        plan = _plan(total)
        plan.layers["trenches"]["name"] = PAYLOAD + name
        text = f"title: '{PAYLOAD}'\nlayers: {{source: demo}}\n"
        extra = {"kpis.json": json.dumps(plan.kpis), "scenario.yaml": text}
        export_plan(plan, tmp_path / name, scenario_text=text, extra_files=extra)
        runs.append(read_run(tmp_path / name))
    c = compare_runs(*runs)
    context = tiny_frames()
    context["roads"]["name"] = PAYLOAD
    files = write_comparison(c, tmp_path / "cmp", title=PAYLOAD, context=context)
    html = Path(files["compare.html"]).read_text(encoding="utf-8")
    assert "<!--<script>" not in html and "<!--" not in "".join(_script_bodies(html))


# ------------------------------------------------------------------------------------------------------------
# 8. no raw traceback
# ------------------------------------------------------------------------------------------------------------
def test_upload_of_a_zip_with_a_corrupted_member_is_a_clear_refusal(tmp_path: Path) -> None:
    """Case 8: a CRC error in a member raised BadZipFile (a traceback page in the app)."""
    from gisplan.io.uploads import read_upload

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("poles.shp", b"A" * 4000)
        zf.writestr("poles.dbf", b"B" * 4000)
    data = bytearray(buf.getvalue())
    data[100] ^= 0xFF  # inside poles.shp's data: its CRC no longer matches
    with pytest.raises(UploadError, match=r"poles\.shp"):
        read_upload("poles.zip", bytes(data))


def _attribute_table_gpkg(path: Path, name: str) -> Path:
    import pyogrio

    _poles().to_file(path, layer="land_x", driver="GPKG", engine="pyogrio")
    pyogrio.write_dataframe(pd.DataFrame({"pole_id": ["P1"], "owner": ["telecom"]}), path, layer=name, driver="GPKG")
    return path


def test_upload_with_a_kind_named_table_without_geometry_is_a_clear_error(tmp_path: Path) -> None:
    """Case 8: a GeoPackage table ``poles`` without a geometry column ended in AttributeError."""
    from gisplan.io.uploads import read_upload

    path = _attribute_table_gpkg(tmp_path / "p.gpkg", "poles")
    with pytest.raises(LayerError) as info:
        read_upload("p.gpkg", path.read_bytes())
    assert "poles" in str(info.value) and "geometry" in str(info.value)


def test_layers_info_on_gisplans_own_plan_gpkg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 8: ``gisplan layers info plan.gpkg`` crashed on the attribute tables (boq, layer_styles)."""
    from gisplan.outputs.export import export_plan

    export_plan(_plan(1000), tmp_path / "run")
    code = main(["layers", "info", str(tmp_path / "run" / "plan.gpkg")])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err
    assert "trenches" in captured.out and "boq" in captured.out


def test_non_utf8_scenario_and_catalog_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 8: a scenario or catalog saved as Windows-1258 ended in UnicodeDecodeError."""
    scen = tmp_path / "s.yaml"
    scen.write_bytes(
        "title: Dương Đông\nlayers: {source: demo}\nwifi: {enabled: true, cover_all: true}\n".encode("cp1258")
    )
    code, err = _run_cli(["run", str(scen), "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and str(scen) in err and "UTF-8" in err
    cat = tmp_path / "c.yaml"
    cat.write_bytes("version: Dương Đông\n".encode("cp1258"))
    scen.write_text(
        f"title: t\nlayers: {{source: demo}}\nwifi: {{enabled: true, cover_all: true}}\ncatalog: {{file: {cat}}}\n",
        encoding="utf-8",
    )
    code, err = _run_cli(["run", str(scen), "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and str(cat) in err and "UTF-8" in err


def test_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 8: ``--out`` naming an existing file ended in FileExistsError / NotADirectoryError."""
    target = tmp_path / "report.txt"
    target.write_text("mine", encoding="utf-8")
    code, err = _run_cli(["demo", "--out", str(target), "--quiet"], capsys)
    assert code == 1 and str(target) in err and "folder" in err
    scen = tmp_path / "s.yaml"
    scen.write_text("title: t\nlayers: {source: demo}\nwifi: {enabled: true, cover_all: true}\n", encoding="utf-8")
    code, err = _run_cli(["run", str(scen), "--out", str(target), "--quiet"], capsys)
    assert code == 1 and str(target) in err
    assert target.read_text(encoding="utf-8") == "mine"


@pytest.fixture
def tiny_scenario(tmp_path: Path) -> Path:
    """A scenario that plans a 150 m circle of central Dương Đông on the demo layers (a few seconds)."""
    from shapely.geometry import mapping

    zone = mapping(Point(103.9607, 10.2201).buffer(0.0014, 16))
    scen = tmp_path / "s.yaml"
    scen.write_text(
        json.dumps(
            {
                "title": "tiny",
                "layers": {"source": "demo"},
                "geometries": {"zones": zone},
                "underground": {"enabled": True, "budget_per_year_vnd": 5_000_000_000, "start_year": 2027},
            }
        ),
        encoding="utf-8",
    )
    return scen


def _first_run(scen: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> bool:
    code = main(["run", str(scen), "--out", str(out), "--quiet"])
    capsys.readouterr()
    return code == 0


def test_an_output_that_cannot_be_replaced(tiny_scenario: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Case 8: an output locked by another program ended in PermissionError; now exit 1 naming it and the fix."""
    out = tmp_path / "out"
    if not _first_run(tiny_scenario, out, capsys):
        pytest.skip("the tiny scenario does not run here")
    _locked(monkeypatch, (out / "boq.xlsx").absolute())
    code, err = _run_cli(["run", str(tiny_scenario), "--out", str(out), "--quiet"], capsys)
    assert code == 1 and str(out) in err and "close" in err.lower()


def test_a_full_disk(tiny_scenario: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Case 8: ENOSPC while writing ended in OSError; now exit 1 naming the folder and the fix, nothing half-written."""
    import gisplan._atomic as atomic

    def full(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "_fsync_file", full)
    out = tmp_path / "out"
    code, err = _run_cli(["run", str(tiny_scenario), "--out", str(out), "--quiet"], capsys)
    assert code == 1 and "space" in err.lower() and str(out) in err
    assert not out.exists()


# ------------------------------------------------------------------------------------------------------------
# 10. upload messages do not leak the server's temporary paths
# ------------------------------------------------------------------------------------------------------------
def test_upload_problems_do_not_leak_the_temporary_path(tmp_path: Path) -> None:
    """Case 10: GDAL's messages (and CRS errors) named the private temporary folder of the upload."""
    from gisplan.io.uploads import read_upload

    for name, data, crs in (
        ("poles.geojson", b'{"type": "FeatureCollection", "features": [', "EPSG:4326"),
        ("poles.kml", b"<kml><Document><Placemark>", "EPSG:4326"),
    ):
        with pytest.raises(GisplanError) as info:
            read_upload(name, data, crs=crs)
        text = str(info.value) + " ".join(str(p) for p in getattr(info.value, "problems", []))
        assert "gisplan-upload-" not in text and name in text, text
    # a zipped Shapefile without .prj and no CRS chosen: a CRSError, also without the temporary path
    shp = tmp_path / "poles.shp"
    with pytest.warns(UserWarning, match="crs"):
        _poles().set_crs(None, allow_override=True).to_file(shp, engine="pyogrio")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in tmp_path.glob("poles.*"):
            if f.suffix != ".prj":
                zf.write(f, f.name)
    with pytest.raises(GisplanError) as info:
        read_upload("poles.zip", buf.getvalue())
    assert "gisplan-upload-" not in str(info.value) and "poles.zip" in str(info.value)
