"""The app under bad input (issue 11, cases 8, 9, 10): no traceback on any page, stored names shown as plain text.

Each bad upload is given to the Map page, then every page is visited; a page may show an error, never an
exception.  Stored names that are Markdown (an image pointing at an outside server) must reach the browser as
text: every Markdown string the pages send is rendered here with a CommonMark parser and may hold no image.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

pytest.importorskip("streamlit")
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
PAGES = [
    "views/home.py",
    "views/map.py",
    "views/underground.py",
    "views/wifi.py",
    "views/scenarios.py",
    "views/compare.py",
    "views/export.py",
]
IMAGE = "![x](http://198.51.100.7/p.png)"
LON, LAT = 103.97, 10.22


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=90)


def _no_exception(at: AppTest, where: str) -> None:
    assert not at.exception, (where, [e.value for e in at.exception])


def _poles_gpkg(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"pole_id": ["P0", "P1"], "owner": ["telecom"] * 2},
        geometry=[Point(LON, LAT), Point(LON + 0.001, LAT)],
        crs="EPSG:4326",
    ).to_file(path, layer="poles", driver="GPKG", engine="pyogrio")
    return path


def _bad_uploads(tmp: Path) -> dict[str, tuple[str, bytes]]:
    """Uploads an attacker or a careless user sends: (file name, content) by case."""
    out: dict[str, tuple[str, bytes]] = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("poles.shp", b"A" * 4000)
        zf.writestr("poles.dbf", b"B" * 4000)
    data = bytearray(buf.getvalue())
    data[100] ^= 0xFF
    out["zip with a corrupted member"] = ("poles.zip", bytes(data))

    import pyogrio

    attr = _poles_gpkg(tmp / "attr.gpkg")
    pyogrio.write_dataframe(pd.DataFrame({"road_id": ["R1"]}), attr, layer="roads", driver="GPKG")
    out["table named after a kind, without geometry"] = ("attr.gpkg", attr.read_bytes())

    lying = _poles_gpkg(tmp / "lying.gpkg")
    with sqlite3.connect(lying) as conn:
        conn.execute("UPDATE gpkg_ogr_contents SET feature_count = 100000000")
    out["feature count claiming 10^8"] = ("lying.gpkg", lying.read_bytes())

    view = _poles_gpkg(tmp / "view.gpkg")
    with sqlite3.connect(view) as conn:
        conn.execute("ALTER TABLE poles RENAME TO poles_t")
        conn.execute(
            "CREATE VIEW poles AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)"
            " SELECT c.x AS fid, 'P' || c.x AS pole_id, p.owner AS owner, p.geom AS geom FROM c, poles_t p"
        )
    out["recursive view in place of a table"] = ("view.gpkg", view.read_bytes())

    out["not a GeoPackage behind a SQLite header"] = ("junk.gpkg", b"SQLite format 3\x00" + b"\xff" * 5000)
    out["CSV in Windows-1258"] = ("poles.csv", "lon,lat,pole_id,ghi_chu\n103.97,10.22,P1,Đông\n".encode("cp1258"))
    out["truncated GeoJSON"] = ("poles.geojson", b'{"type": "FeatureCollection", "features": [')
    out["broken KML"] = ("poles.kml", b"<kml><Document><Placemark>")
    out["empty file"] = ("poles.geojson", b"")
    line = LineString([(LON + i * 1e-6, LAT) for i in range(10)])
    out["roads without their columns"] = (
        "roads.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": line.__geo_interface__}],
            }
        ).encode(),
    )
    return out


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("GISPLAN_STORE", str(path))
    return path


def test_every_page_survives_every_bad_upload(tiny_project: Path, store: Path, tmp_path: Path) -> None:
    """Cases 8 and 10: each bad upload shows an error without the server's temporary path; no page raises."""
    at = _app().run()
    for case, (name, data) in _bad_uploads(tmp_path).items():
        at.switch_page("views/map.py").run()
        at.file_uploader(key="map_upload").upload(name, data, "application/octet-stream").run()
        _no_exception(at, case)
        shown = " ".join(e.value for e in at.error)
        assert shown, f"{case}: no error shown"
        assert "gisplan-upload-" not in shown and "Traceback" not in shown, (case, shown)
        for page in PAGES:
            at.switch_page(page).run()
            _no_exception(at, f"{case} then {page}")
        at.switch_page("views/map.py").run()
        at.file_uploader(key="map_upload").clear().run()


def _markdown_sent(at: AppTest) -> list[str]:
    """Every string the page sends as Markdown (texts, headings, captions, alerts) or as a button label."""
    texts = [
        str(el.value)
        for group in (at.markdown, at.title, at.header, at.subheader, at.caption, at.error, at.info, at.success)
        for el in group
    ]
    texts += [el.proto.label for el in at.get("download_button")]
    texts += [b.label for b in at.button]
    return texts


def _images(texts: list[str]) -> list[str]:
    md = MarkdownIt("commonmark")
    return [t for t in texts if "<img" in md.render(t)]


def _saved_versions(store: Path, tmp_path: Path) -> None:
    """Two versions whose author, message and artifact names are Markdown images."""
    from gisplan.io.crs import METRIC_CRS
    from gisplan.outputs.export import export_plan
    from gisplan.plan import BOQ_COLUMNS, Plan
    from gisplan.store.versions import VersionStore
    from gisplan.workflow.actions import save_run

    vs = VersionStore(store)
    parent = None
    for i, total in enumerate((1000, 2000)):
        boq = pd.DataFrame(
            [("TR.ASPHALT", "Đào rãnh", "Trench", "m", 1.0, total, total, "civil", "2027", "PQ", "Dương Đông")],
            columns=list(BOQ_COLUMNS),
        )
        trench = gpd.GeoDataFrame(
            {"phase": ["2027"]},
            geometry=[LineString([(386000.0, 1130000.0 + i), (386100.0, 1130000.0)])],
            crs=METRIC_CRS,
        )
        kpis = {"cost_vnd": total}
        text = f"title: '{IMAGE}'\nlayers: {{source: demo}}\n"
        folder = tmp_path / f"run{i}"
        export_plan(
            Plan("underground", {"trenches": trench}, boq, kpis),
            folder,
            scenario_text=text,
            extra_files={"kpis.json": json.dumps(kpis), "scenario.yaml": text},
        )
        v = save_run(vs, folder, name=f"{IMAGE} plan", author=IMAGE, message=f"{IMAGE} v{i}", parent=parent)
        parent = v.id


def test_markdown_in_stored_names_is_shown_as_text(tiny_project: Path, store: Path, tmp_path: Path) -> None:
    """Case 9: a version name, author or message ``![x](http://host/p.png)`` made the browser fetch that URL."""
    _saved_versions(store, tmp_path)
    at = _app().run()
    at.switch_page("views/scenarios.py").run()
    _no_exception(at, "scenarios")
    sent = _markdown_sent(at)
    assert any("198" in t for t in sent), "the names are shown"
    assert not _images(sent), _images(sent)
    at.switch_page("views/compare.py").run()
    _no_exception(at, "compare")
    at.button(key="compare_run").click().run()
    _no_exception(at, "compare run")
    sent = _markdown_sent(at)
    assert any("198" in t for t in sent), "the comparison title names the versions"
    assert not _images(sent), _images(sent)
    at.switch_page("views/export.py").run()
    _no_exception(at, "export")
    assert not _images(_markdown_sent(at))


def test_every_page_survives_a_damaged_store_and_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Case 8: a store file that is no database and a project that is no GeoPackage: errors, no exception."""
    bad_store = tmp_path / "store.sqlite"
    bad_store.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200 + b"damaged")
    monkeypatch.setenv("GISPLAN_STORE", str(bad_store))
    bad_project = tmp_path / "project.gpkg"
    bad_project.write_bytes(b"not a geopackage")
    monkeypatch.setenv("GISPLAN_PROJECT", str(bad_project))
    at = _app().run()
    for page in PAGES:
        at.switch_page(page).run()
        _no_exception(at, page)


def test_a_bad_upload_is_explained_in_vietnamese(tiny_project: Path, store: Path, tmp_path: Path) -> None:
    """Issue 15: in Vietnamese (the default language), a layer upload missing its columns is explained in
    Vietnamese: the headline, and every problem and fix in the problems table, with file, layer and column."""
    import re

    vietnamese = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơưăĩũ]", re.IGNORECASE)
    name, data = _bad_uploads(tmp_path)["roads without their columns"]
    at = _app().run()
    assert at.session_state["lang"] == "vi"
    at.switch_page("views/map.py").run()
    at.file_uploader(key="map_upload").upload(name, data, "application/octet-stream").run()
    _no_exception(at, "roads without their columns")
    headline = " ".join(e.value for e in at.error)
    assert "lớp roads không hợp lệ" in headline, headline
    shown = [df.value for df in at.dataframe if "Vấn đề" in df.value.columns]
    assert shown, [list(df.value.columns) for df in at.dataframe]
    problems = shown[0]
    assert (problems["Vấn đề"] == "missing column / thiếu cột").any(), problems.to_dict("records")
    assert problems["Vấn đề"].map(lambda s: bool(vietnamese.search(s))).all()
    assert problems["Cách sửa"].map(lambda s: bool(vietnamese.search(s))).all()
    assert "road_id" in set(problems["Cột"]) and set(problems["Tệp"]) == {"roads.geojson"}  # the facts stay
