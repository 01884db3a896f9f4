"""Tests of gisplan.outputs.maps: offline HTML, layers with counts, static files, legend, popups."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point
from tiny_project import LAT, LON, tiny_frames

from gisplan._errors import CRSError, GisplanError
from gisplan.i18n import both, t
from gisplan.io.crs import METRIC_CRS
from gisplan.outputs import maps
from gisplan.outputs._assets import DROPPED_ASSETS, asset_texts, folium_asset_urls, install_static_assets
from gisplan.plan import Plan, empty_boq


def _metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(METRIC_CRS)


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    poles = gpd.GeoDataFrame(
        {"pole_id": ["P1", "P2", "P3"], "owner": ["telecom", "power", "shared"], "height_m": [8.0, 10.0, np.nan]},
        geometry=[Point(LON + 0.001 * i, LAT + 0.001 * i) for i in range(3)],
        crs="EPSG:4326",
    )
    return tiny_frames(poles, settlement_kind=True)


def _outside_urls(html: str) -> list[str]:
    """URLs a browser would fetch from outside: script src, link href, img src, CSS url(...), @import."""
    found: list[str] = []
    found += re.findall(r"<script[^>]*\bsrc=[\"']([^\"']+)", html, flags=re.I)
    found += re.findall(r"<link[^>]*\bhref=[\"']([^\"']+)", html, flags=re.I)
    found += re.findall(r"<img[^>]*\bsrc=[\"']([^\"']+)", html, flags=re.I)
    found += [u.strip("'\" ") for u in re.findall(r"url\(([^)]*)\)", html)]
    found += re.findall(r"@import\s+[\"']([^\"']+)", html)
    return [u for u in found if re.match(r"^(https?:)?//", u.strip(), flags=re.I)]


def _layer_specs(html: str) -> list[dict]:
    return [json.loads(s) for s in re.findall(r"gisplan\.layer\((\{.*?\}), ", html)]


def test_assets_cover_folium_and_skip_font_sheets() -> None:
    urls = folium_asset_urls()
    assert any("leaflet@1.9.3/dist/leaflet.js" in u for u in urls)
    assert any("leaflet.draw" in u for u in urls)
    assert not set(urls) & DROPPED_ASSETS
    texts = asset_texts()
    assert all(len(text) > 100 for text in texts.values())
    for url in urls:  # no kept asset asks for an outside file
        assert not _outside_urls(texts[url]), url


def test_missing_asset_is_a_clear_error() -> None:
    with pytest.raises(GisplanError, match=r"https://example\.org/nope\.js.*folium-offline"):
        asset_texts(["https://example.org/nope.js"])


def test_install_static_assets_is_idempotent(tmp_path: Path) -> None:
    first = install_static_assets(tmp_path)
    stamp = {p: (tmp_path / p).stat().st_mtime_ns for p in first.values()}
    second = install_static_assets(tmp_path)
    assert first == second
    assert all((tmp_path / p).stat().st_mtime_ns == stamp[p] for p in second.values())
    assert all(p.startswith("vendor/") for p in first.values())


@pytest.mark.parametrize("mode", ["inline", "static"])
def test_offline_html_fetches_nothing_outside(layers: dict, mode: str, tmp_path: Path) -> None:
    m = maps.layers_map(layers, draw=True, static_dir=tmp_path, static_threshold=1)
    if mode == "inline":
        html = maps.standalone_html(m)
        assert "<script src" not in html and "L.map(" in html
    else:
        html = maps.make_offline(m, mode="static").get_root().render()
        srcs = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)", html)
        assert srcs and all(s.startswith("/app/static/vendor/") for s in srcs)
    assert _outside_urls(html) == []
    assert "{s}.tile" not in html and "openstreetmap" not in html.lower()


def test_osm_tiles_only_when_asked(layers: dict) -> None:
    html = maps.standalone_html(maps.layers_map(layers, tiles="osm"))
    assert "tile.openstreetmap.org" in html
    assert _outside_urls(html) == []  # tiles are a URL template, not a page asset


def test_every_layer_with_its_count_in_control_and_legend(layers: dict) -> None:
    html = maps.standalone_html(maps.layers_map(layers))
    for kind, gdf in layers.items():
        label = f"{both(f'layer.{kind}')} ({len(gdf)})"
        assert json.dumps(label) in html, label  # layer control entry (JSON-escaped by folium)
        assert label in html, label  # legend row
    specs = {s["kind"]: s for s in _layer_specs(html)}
    assert {k: specs[k]["count"] for k in layers} == {k: len(v) for k, v in layers.items()}


def test_legend_in_vietnamese_and_english(layers: dict) -> None:
    html = maps.standalone_html(maps.layers_map(layers))
    assert t("map.legend", "vi") in html and t("map.legend", "en") in html
    for kind in layers:
        assert t(f"layer.{kind}", "vi") in html and t(f"layer.{kind}", "en") in html


def test_popups_carry_attribute_columns(layers: dict) -> None:
    html = maps.standalone_html(maps.layers_map(layers))
    specs = {s["kind"]: s for s in _layer_specs(html)}
    assert specs["poles"]["popup"] == ["pole_id", "owner", "height_m"]  # schema columns present in the layer
    assert specs["roads"]["popup"] == ["road_id", "name", "road_class", "surface"]
    assert "Trần Hưng Đạo" in html  # the attribute values travel with the features
    assert specs["land"]["interactive"] is False


def test_codes_are_labelled_in_legend_and_popups(layers: dict) -> None:
    """A planner reads "Quốc lộ / National road", not the schema code ``national``."""
    m = maps.layers_map(layers)
    html = maps.standalone_html(m)
    legend = next(c for c in m._children.values() if type(c).__name__ == "Legend")
    rows = [label for label, *_ in legend.entries]
    assert "Quốc lộ / National road" in rows and "Đường đô thị / Urban street" in rows
    assert "Viễn thông / Telecom" in rows and "Điện lực / Power" in rows
    assert "national" not in rows and "telecom" not in rows
    assert rows.index("Viễn thông / Telecom") < rows.index("Điện lực / Power")  # the schema's order, not a-z
    specs = {s["kind"]: s for s in _layer_specs(html)}
    assert specs["poles"]["popup_labels"] == ["Mã cột / Pole id", "Chủ sở hữu / Owner", "Chiều cao (m) / Height (m)"]
    assert specs["poles"]["popup"] == ["pole_id", "owner", "height_m"]  # the data keeps its codes
    assert specs["roads"]["value_labels"]["road_class"] == {
        "national": "Quốc lộ / National road",
        "urban": "Đường đô thị / Urban street",
    }
    assert specs["roads"]["value_labels"]["surface"]["concrete"] == "Bê tông / Concrete"
    assert "value_labels" in html and "named[String(v)]" in html  # the popup script uses them


def test_layer_control_is_collapsed_so_it_does_not_cover_the_map(layers: dict) -> None:
    m = maps.layers_map(layers, draw=True)
    controls = [c for c in m._children.values() if type(c).__name__ == "LayerControl"]
    assert len(controls) == 1 and controls[0].options["collapsed"] is True


def test_large_layer_goes_to_a_static_file_with_rounded_coordinates(layers: dict, tmp_path: Path) -> None:
    n = 2500
    rng = np.random.default_rng(7)
    big = gpd.GeoDataFrame(
        {"pole_id": [f"P{i}" for i in range(n)], "owner": ["telecom"] * n},
        geometry=[
            Point(x, y)
            for x, y in zip(rng.uniform(LON - 0.05, LON + 0.05, n), rng.uniform(LAT, LAT + 0.1, n), strict=True)
        ],
        crs="EPSG:4326",
    ).to_crs(METRIC_CRS)
    m = maps.layers_map({**layers, "poles": big}, static_dir=tmp_path, static_url="/app/static")
    html = m.get_root().render()
    spec = {s["kind"]: s for s in _layer_specs(html)}["poles"]
    assert spec["url"].startswith("/app/static/layers/poles-") and spec["count"] == n
    assert "P2499" not in html  # not embedded
    files = list((tmp_path / "layers").glob("poles-*.geojson"))
    assert len(files) == 1
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert len(data["features"]) == n
    coords = np.array([f["geometry"]["coordinates"] for f in data["features"]])
    assert np.all(np.abs(coords * 1e5 - np.round(coords * 1e5)) < 1e-6)  # 5 decimals
    assert np.all((coords[:, 0] > 103) & (coords[:, 0] < 105) & (coords[:, 1] > 9) & (coords[:, 1] < 11))  # EPSG:4326
    assert data["features"][0]["properties"].keys() == {"pole_id", "owner"}
    mtime = files[0].stat().st_mtime_ns  # written once: a second map reuses the file
    maps.layers_map({**layers, "poles": big}, static_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == mtime
    assert len(list((tmp_path / "layers").glob("poles-*.geojson"))) == 1
    # the small layers stay embedded
    assert "Trần Hưng Đạo" in html


def test_inputs_are_not_modified(layers: dict) -> None:
    before = {k: v.copy() for k, v in layers.items()}
    maps.standalone_html(maps.layers_map(layers))
    for k, v in layers.items():
        pd.testing.assert_frame_equal(v, before[k])
        assert v.crs == before[k].crs


def test_layer_without_crs_is_refused(layers: dict) -> None:
    bad = layers["poles"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        maps.layers_map({"poles": bad})


def test_plan_map_styles_by_phase_and_backhaul(layers: dict) -> None:
    trenches = gpd.GeoDataFrame(
        {
            "phase": ["2027", "2026", "2027"],
            "length_m": [120.0, 80.5, 40.0],
            "surface": ["asphalt"] * 3,
            "n_ducts": [2] * 3,
        },
        geometry=[LineString([(LON, LAT + 0.001 * i), (LON + 0.01, LAT + 0.001 * i)]) for i in range(3)],
        crs="EPSG:4326",
    )
    links = gpd.GeoDataFrame(
        {"site_id": ["W1", "W2"], "backhaul": ["fibre", "satellite"], "length_m": [900.0, 0.0], "cost_vnd": [10, 20]},
        geometry=[LineString([(LON, LAT), (LON - 0.03, LAT + 0.04)]), LineString([(LON, LAT), (LON, LAT + 0.001)])],
        crs="EPSG:4326",
    )
    unserved = gpd.GeoDataFrame(
        {"settlement_id": ["S9"], "name": ["Hòn Thơm"], "population": [300]},
        geometry=[Point(LON + 0.05, LAT - 0.05)],
        crs="EPSG:4326",
    )
    plan = Plan(
        kind="wifi",
        layers={
            k: _metric(v)
            for k, v in {
                "trenches": trenches,
                "backhaul_links": links,
                "settlements_unserved": unserved,
                "sites": gpd.GeoDataFrame(
                    {"site_id": ["W1"], "technology": ["public_wifi"]}, geometry=[Point(LON, LAT)], crs="EPSG:4326"
                ),
            }.items()
        },
        boq=empty_boq(),
        kpis={},
    )
    html = maps.standalone_html(maps.plan_map(plan, layers))
    specs = {s["kind"]: s for s in _layer_specs(html)}
    assert specs["trenches"]["by"] == "phase" and set(specs["trenches"]["values"]) == {"2026", "2027"}
    assert specs["trenches"]["values"]["2026"]["color"] != specs["trenches"]["values"]["2027"]["color"]
    assert specs["backhaul_links"]["by"] == "backhaul"
    assert specs["backhaul_links"]["popup"] == ["site_id", "backhaul", "length_m", "cost_vnd"]
    assert both("layer.settlements_unserved") + " (1)" in html
    # the plan's chosen sites are named and styled apart from the project's sites layer drawn under them
    assert both("layer.planned_sites") + " (1)" in html
    assert specs["planned_sites"]["count"] == 1 and specs["planned_sites"]["popup"][0] == "site_id"
    assert "Hòn Thơm" in html
    assert _outside_urls(html) == []


def test_write_map_html_is_complete(layers: dict, tmp_path: Path) -> None:
    out = maps.write_map_html(maps.layers_map(layers), tmp_path / "map.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_draw_control_has_no_circle_and_draws_back(layers: dict) -> None:
    drawing = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[LON, LAT], [LON + 0.01, LAT], [LON, LAT + 0.01], [LON, LAT]]],
        },
    }
    html = maps.standalone_html(maps.layers_map(layers, draw=True, drawings=[drawing]))
    assert '"circle": false' in html and '"polyline": false' in html and '"rectangle": {' in html
    # drawn back into the draw tool's own group (so its edit and delete work), not as a layer of their own
    assert both("layer.drawings") not in html
    drawn = re.search(r"gisplan\.drawBack\(\w+, (\[.*?\]), \{", html)
    assert drawn is not None and json.loads(drawn.group(1)) == [drawing]
    assert re.search(r"var drawnItems_\w+ =\s+gisplan_drawn_items_\w+;", html)


def test_gisplan_only_maps_load_just_leaflet_and_draw(layers: dict) -> None:
    """A map of gisplan's own elements needs neither jQuery, Bootstrap JS nor awesome-markers in the app."""
    m = maps.make_offline(maps.layers_map(layers, draw=True), mode="static")
    srcs = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)", m.get_root().render())
    names = sorted(s.rsplit("/", 1)[-1].split("-", 1)[-1] for s in srcs)
    assert names == ["leaflet.draw.js", "leaflet.js"], names


def test_plan_map_opens_on_the_plan_not_on_the_project(layers: dict) -> None:
    """The view is fitted to the plan's layers (one fitBounds), not to every project layer."""
    far = gpd.GeoDataFrame({"name": ["far"]}, geometry=[Point(LON + 1.0, LAT - 1.0)], crs="EPSG:4326")
    trench = gpd.GeoDataFrame(
        {"phase": ["2027"], "length_m": [100.0], "surface": ["asphalt"], "n_ducts": [1]},
        geometry=[LineString([(LON, LAT), (LON + 0.001, LAT)])],
        crs="EPSG:4326",
    )
    plan = Plan(kind="underground", layers={"trenches": _metric(trench)}, boq=empty_boq(), kpis={})
    html = maps.plan_map(plan, {**layers, "settlements": far}).get_root().render()
    fits = re.findall(r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", html)
    assert len(fits) == 1
    south, west, north, east = map(float, fits[0])
    assert abs(south - LAT) < 0.01 and abs(north - LAT) < 0.01
    assert abs(west - LON) < 0.01 and abs(east - (LON + 0.001)) < 0.01


def test_display_table_labels_columns_and_codes_in_one_language() -> None:
    from gisplan.i18n import display_table

    boq = pd.DataFrame(
        {
            "item_code": ["TR.ASPHALT"],
            "description_vi": ["Đào rãnh"],
            "description_en": ["Trench"],
            "unit": ["each"],
            "amount_vnd": [1_000],
            "category": ["civil"],
            "status": [None],
        }
    )
    before = boq.copy()
    vi = display_table(boq, "vi")
    assert list(vi.columns) == [
        "Mã hạng mục",
        "Diễn giải",
        "Đơn vị",
        "Thành tiền (đồng)",
        "Nhóm hạng mục",
        "Trạng thái",
    ]
    assert vi.iloc[0].tolist()[:5] == ["TR.ASPHALT", "Đào rãnh", "cái", 1_000, "Xây dựng"]
    assert vi.iloc[0, 5] is None  # missing stays missing
    en = display_table(boq, "en", drop=("unit",))
    assert list(en.columns) == ["Item code", "Description", "Amount (VND)", "Category", "Status"]
    assert en.iloc[0].tolist()[:4] == ["TR.ASPHALT", "Trench", 1_000, "Civil works"]
    pd.testing.assert_frame_equal(boq, before)
