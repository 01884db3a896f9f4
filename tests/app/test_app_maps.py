"""The app's maps: the first view fits the project's main area, not its outliers; legends fold when long."""

from __future__ import annotations

import json

import folium
import geopandas as gpd
from shapely.geometry import Point
from tiny_project import LAT, LON, tiny_frames

from gisplan.outputs import maps


def _fit(m: folium.Map) -> list[list[float]]:
    fits = [c for c in m._children.values() if isinstance(c, folium.map.FitBounds)]
    assert len(fits) == 1
    return fits[0].bounds


def test_first_view_fits_where_most_features_are() -> None:
    # 200 poles in Dương Đông, 4 on islands 40 km away (the middle 90 % stay in town)
    pts = [Point(LON + 0.0002 * (i % 20), LAT + 0.0002 * (i // 20)) for i in range(200)]
    pts += [Point(LON + 0.4, LAT - 0.4), Point(LON - 0.3, LAT + 0.35), Point(LON + 0.45, LAT), Point(LON, LAT - 0.5)]
    poles = gpd.GeoDataFrame({"pole_id": [f"P{i}" for i in range(len(pts))]}, geometry=pts, crs="EPSG:4326")
    layers = {**tiny_frames(poles), "settlements": tiny_frames()["settlements"].iloc[:0]}
    (south, west), (north, east) = _fit(maps.base_map(layers))
    assert LAT - 0.01 < south < LAT and LAT + 0.003 < north < LAT + 0.05
    assert LON - 0.01 < west < LON and LON + 0.003 < east < LON + 0.05
    # a plan's result map fits the result instead
    fit = gpd.GeoDataFrame(geometry=[Point(LON + 0.4, LAT - 0.4)], crs="EPSG:4326")
    (s2, _), (n2, _) = _fit(maps.base_map(layers, fit=[fit]))
    assert abs(s2 - (LAT - 0.4)) < 1e-6 and abs(n2 - (LAT - 0.4)) < 1e-6


def test_a_long_legend_opens_folded_and_lists_the_last_layer_first() -> None:
    from gisplan.outputs._map_elements import Legend

    legend = Legend("Chú giải / Legend")
    for i in range(12):
        legend.add(f"layer {i}", "point", {"color": "#000"})
    # the legend travels as script-safe JSON (< escaped as \u003c, issue 11): read it back as the browser does
    html = json.loads(legend.html_js)
    assert "<details>" in html and "<details open>" not in html
    assert html.index("layer 11") < html.index("layer 0")
    short = Legend("L")
    short.add("a", "line", {"color": "#000"})
    assert "<details open>" in json.loads(short.html_js)
