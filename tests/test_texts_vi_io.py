"""No error a user meets when a file is read, uploaded or a scenario is loaded lacks its Vietnamese (issue 15).

The readers and validators of layers, the CRS and region checks, the scenario parser and the catalog overrides
write their headline and every problem and fix as "English / Tiếng Việt", as the planners do.  Statically, every
``raise ...Error(`` message and every ``Problem(...)`` message and hint of those modules holds Vietnamese; on
bad input (a missing file, a missing column, a bad value, a duplicate id, a wrong geometry, no CRS, a bad
encoding, an unknown scenario key, a bad catalog override) the error raised does, with its English unchanged.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point
from source_text import literal_text, module_constants

from gisplan._errors import CatalogError, CRSError, GisplanError, LayerError, ScenarioError, UploadError

ROOT = Path(__file__).resolve().parents[1] / "gisplan"
#: Letters only Vietnamese writes (not French or Portuguese: â, ê, ô, é, à ... are left out, so "Kiên Giang" in an
#: English sentence does not pass for a translation).
VIETNAMESE = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơưăĩũ]", re.IGNORECASE)
#: Modules whose errors a user meets when a file is read or uploaded, or a scenario or catalog is loaded.
FILE_ERRORS = ["io/layers.py", "io/_validate.py", "io/uploads.py", "io/crs.py", "io/project.py", "io/_encoding.py",
               "workflow/scenario.py", "catalog/_catalog.py"]  # fmt: skip
#: Raised on a user's input (ValueError: the value checks whose text becomes a Problem's message);
#: ``_refuse(vi, en)`` builds gisplan.io.uploads' UploadError.
RAISED = ("LayerError", "CRSError", "ScenarioError", "CatalogError", "UploadError", "ValueError", "_refuse")
#: Messages that pass on a text checked where it is written (another error's summary or message, a value check's
#: ValueError, a reader's own words) -- the hint beside them must still hold Vietnamese.
PASSED_ON = {"str(exc)", "exc.summary", "pr.message", "summary", "pr.hint", "hint"}
#: Helpers that pass a hint on to their Problem: the hint is checked where they are called (argument position).
HINT_ARGS = {"_limit_error": 4}
#: Argument checks for programmers (a wrong type of ``bounds``), never reached from a file or the app.
PROGRAMMER_ERRORS = ("bounds must be a (W, S, E, N) tuple",)


def _sites(module: str) -> list[tuple[int, str, str]]:
    """(line, what, text) of every user-facing message and hint of ``module`` that lacks Vietnamese."""
    src = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(src)
    consts = module_constants(tree)
    missing: list[tuple[int, str, str]] = []

    def check(node: ast.AST | None, what: str, line: int) -> None:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return
        segment = ast.get_source_segment(src, node) or ""
        if segment in PASSED_ON:
            return
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "did_you_mean":
            return  # bilingual by construction (its doctest shows both languages)
        text = literal_text(node, consts)
        if any(p in text for p in PROGRAMMER_ERRORS):
            return
        if not VIETNAMESE.search(text):
            missing.append((line, what, segment[:90]))

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            args = node.exc.args
            if name in RAISED:
                check(args[0] if args else node.exc, f"raise {name}", node.lineno)
            if name in HINT_ARGS:
                check(args[HINT_ARGS[name]], f"{name} hint", node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem":
            check(node.args[0] if node.args else None, "Problem message", node.lineno)
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            check(hint, "Problem hint", node.lineno)
    return missing


@pytest.mark.parametrize("module", FILE_ERRORS)
def test_every_error_met_reading_a_file_has_its_vietnamese(module: str) -> None:
    missing = [f"{module}:{line}: {what}: {text}" for line, what, text in _sites(module)]
    assert not missing, "texts without Vietnamese:\n" + "\n".join(missing)


def test_the_static_scan_finds_a_message_without_vietnamese(tmp_path: Path, monkeypatch) -> None:
    """The scan itself: an English-only message, hint or hint constant is reported."""
    (tmp_path / "io").mkdir()
    (tmp_path / "io" / "bad.py").write_text(
        'HINT = "check the path"\n'
        "def f(p):\n"
        '    raise LayerError(f"file not found: {p}", [Problem("file not found / không tìm thấy tệp", hint=HINT)])\n'
        "def g(x):\n"
        '    raise ValueError("expected a number / cần một số")\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = _sites("io/bad.py")
    assert [(line, what) for line, what, _ in found] == [(3, "raise LayerError"), (3, "Problem hint")]


# ------------------------------------------------------------------------------------------------ on bad input
LON, LAT = 103.96, 10.22


def _bilingual(exc: BaseException, english: str) -> None:
    """The error keeps its English and writes its headline, every problem and every fix in Vietnamese too."""
    assert english in str(exc), str(exc)
    summary = getattr(exc, "summary", None) or str(exc)
    assert VIETNAMESE.search(summary), summary
    for p in getattr(exc, "problems", []):
        assert VIETNAMESE.search(p.message), p
        assert p.hint is None or VIETNAMESE.search(p.hint), p
        assert p.file is not None or p.layer is not None or p.column is not None, p  # the facts stay


def _poles(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"pole_id": [f"P{i}" for i in range(n)], "owner": ["telecom"] * n, "height_m": [8.0] * n},
        geometry=[Point(LON + 0.0005 * i, LAT) for i in range(n)],
        crs="EPSG:4326",
    )


def _bad_poles(case: str) -> gpd.GeoDataFrame:
    g = _poles()
    if case == "missing column":
        g = g.drop(columns="owner")
    elif case == "empty value":
        g.loc[1, "pole_id"] = ""
    elif case == "expected a number":
        g["height_m"] = g["height_m"].astype(object)
        g.loc[1, "height_m"] = "cao"
    elif case == "value not allowed":
        g.loc[1, "owner"] = "bưu điện"
    elif case == "value below the minimum":
        g.loc[1, "height_m"] = -3.0
    elif case == "duplicate id":
        g.loc[2, "pole_id"] = "P0"
    elif case == "wrong geometry type":
        g.loc[1, "geometry"] = LineString([(LON, LAT), (LON + 0.001, LAT)])
    elif case == "missing or empty geometry":
        g.loc[1, "geometry"] = None
    elif case == "latitude and longitude look swapped":
        g.loc[1, "geometry"] = Point(LAT, LON)
    elif case == "coordinates outside the plausible area":
        g.loc[1, "geometry"] = Point(LON, LAT + 30)
    return g


@pytest.mark.parametrize(
    "case",
    ["missing column", "empty value", "expected a number", "value not allowed", "value below the minimum",
     "duplicate id", "wrong geometry type", "missing or empty geometry", "latitude and longitude look swapped",
     "coordinates outside the plausible area"],
)  # fmt: skip
def test_a_bad_layer_is_explained_in_vietnamese(case: str) -> None:
    from gisplan.io.layers import validate_layer

    with pytest.raises(LayerError) as exc:
        validate_layer(_bad_poles(case), "poles", source="cot.gpkg")
    _bilingual(exc.value, case)
    assert any(p.file == "cot.gpkg" and p.layer == "poles" for p in exc.value.problems)


def test_bad_lines_and_polygons_and_references_are_explained_in_vietnamese() -> None:
    from gisplan.io.layers import validate_layer, validate_layers

    roads = gpd.GeoDataFrame(
        {"road_id": ["R0"], "road_class": ["local"]}, geometry=[LineString([(LON, LAT), (LON, LAT)])], crs=4326
    )
    with pytest.raises(LayerError) as exc:
        validate_layer(roads, "roads")
    _bilingual(exc.value, "line of zero length")
    with pytest.raises(LayerError) as exc:
        validate_layer(_poles().iloc[:0], "poles")
    _bilingual(exc.value, "is empty")
    poles = validate_layer(_poles(), "poles")
    cables = gpd.GeoDataFrame(
        {"cable_id": ["C0"], "placement": ["aerial"], "kind": ["copper"], "owner": ["VNPT"],
         "from_pole": ["P0"], "to_pole": ["P9"]},
        geometry=[LineString([(LON, LAT), (LON + 0.0005, LAT)])], crs=4326,
    )  # fmt: skip
    with pytest.raises(LayerError) as exc:
        validate_layers({"poles": poles, "cables": validate_layer(cables, "cables")}, source="luoi.gpkg")
    _bilingual(exc.value, "cable names a pole that does not exist")


def test_files_that_cannot_be_read_are_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan.io.layers import load_layer, read_file

    with pytest.raises(LayerError) as exc:
        load_layer(tmp_path / "khong_co.gpkg")
    _bilingual(exc.value, "file not found")
    (tmp_path / "poles.txt").write_text("x", encoding="utf-8")
    with pytest.raises(LayerError) as exc:
        read_file(tmp_path / "poles.txt")
    _bilingual(exc.value, "unsupported format")
    csv = tmp_path / "poles.csv"
    csv.write_text("pole_id,owner\nP0,telecom\n", encoding="utf-8")
    with pytest.raises(LayerError) as exc:
        read_file(csv, crs="EPSG:4326")
    _bilingual(exc.value, "no lon/lat or WKT column")
    csv.write_text("pole_id,lon,lat\nP0,abc,10.2\n", encoding="utf-8")
    with pytest.raises(LayerError) as exc:
        read_file(csv, crs="EPSG:4326")
    _bilingual(exc.value, "coordinate is not a number")
    csv.write_text("pole_id,wkt\nP0,POINT (1\n", encoding="utf-8")
    with pytest.raises(LayerError) as exc:
        read_file(csv, crs="EPSG:4326")
    _bilingual(exc.value, "not valid WKT")
    csv.write_bytes("pole_id,lon,lat,ghi_chu\nP0,103.9,10.2,Đông\n".encode("cp1258"))
    with pytest.raises(LayerError) as exc:
        read_file(csv, crs="EPSG:4326")
    _bilingual(exc.value, "the CSV is not UTF-8")
    with pytest.raises(LayerError) as exc:
        read_file(csv, crs="EPSG:4326", encoding="klingon")
    _bilingual(exc.value, "unknown text encoding")
    with pytest.raises(CRSError) as exc:
        read_file(csv, encoding="cp1258")
    _bilingual(exc.value, "states no CRS")
    gj = tmp_path / "poles.geojson"
    _poles().to_file(gj, driver="GeoJSON", engine="pyogrio")
    with pytest.raises(LayerError) as exc:
        read_file(gj, encoding="cp1258")
    _bilingual(exc.value, "a text encoding can be chosen only")


def test_crs_and_region_errors_are_explained_in_vietnamese() -> None:
    from gisplan.io.crs import to_metric, utm_crs_for
    from gisplan.io.layers import validate_layer
    from gisplan.io.project import parse_region, project_frame

    no_crs = _poles().set_crs(None, allow_override=True)
    for call, english in [
        (lambda: validate_layer(no_crs, "poles"), "has no CRS"),
        (lambda: to_metric(no_crs), "has no CRS"),
        (lambda: to_metric(_poles(), "EPSG:4326"), "is not a CRS to measure lengths"),
        (lambda: utm_crs_for(500.0, 10.0), "cannot choose a UTM zone"),
        (lambda: parse_region("1 2 3"), "a region is four numbers"),
        (lambda: parse_region("10 0 5 1"), "need -180 <= west < east"),
        (lambda: project_frame({"poles": _poles()}, metric_crs="EPSG:4326"), "cannot measure lengths"),
    ]:
        with pytest.raises(CRSError) as exc:
            call()
        _bilingual(exc.value, english)


def test_scenario_errors_are_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan.workflow.scenario import load_scenario, parse_scenario

    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "khong_co.yaml")
    _bilingual(exc.value, "scenario file not found")
    base = "title: t\nlayers:\n  source: demo\n"
    for text, english in [
        ("title: [unclosed", "is not valid YAML"),
        ("- a\n- b\n", "must be a mapping of keys"),
        ("title: t\n", "required key missing"),
        (f"{base}wifi:\n  budjet_vnd: 5\n", "unknown key"),
        (f"{base}underground:\n  enabled: true\n  budget_per_year_vnd: nhiều\n", "expected a whole number"),
        (f"{base}underground:\n  enabled: false\n", "the scenario plans nothing"),
        (f"{base}wifi:\n  enabled: true\n  cover_all: true\n  technologies: [li_fi]\n", "unknown technology"),
        (f"{base}underground:\n  enabled: true\n  budget_per_year_vnd: 1000\n", "needs at least one zone"),
    ]:
        with pytest.raises(ScenarioError) as exc:
            parse_scenario(text)
        _bilingual(exc.value, english)


def test_catalog_override_errors_are_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan.catalog import load_catalog

    for overrides, english in [
        ({"prices": {"MH.STX": 1}}, "unknown item 'MH.STX'"),
        ({"pricez": {}}, "unknown key 'pricez'"),
        ({"params": {"contingency": 0.1}}, "unknown parameter"),
        ({"prices": {"MH.STD": -5}}, "price must be a non-negative whole number"),
    ]:
        with pytest.raises(CatalogError) as exc:
            load_catalog(overrides=overrides)
        _bilingual(exc.value, english)
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path / "gia.yaml")
    _bilingual(exc.value, "catalog file not found")


def test_an_upload_with_bad_layers_is_explained_in_vietnamese() -> None:
    from gisplan.io.uploads import read_upload

    line = LineString([(LON + i * 1e-5, LAT) for i in range(5)])
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": line.__geo_interface__}],
        }
    ).encode()
    with pytest.raises(LayerError) as exc:
        read_upload("roads.geojson", data, crs="EPSG:4326")
    _bilingual(exc.value, "missing column")
    assert {p.column for p in exc.value.problems} >= {"road_id"} and all(
        p.file == "roads.geojson" for p in exc.value.problems
    )
    with pytest.raises(UploadError) as exc:
        read_upload("poles.docx", b"x")
    _bilingual(exc.value, "")
    with pytest.raises(GisplanError) as exc:
        read_upload("poles.geojson", b'{"type": "FeatureCollection", "features": [')
    assert VIETNAMESE.search(str(exc.value)), str(exc.value)
