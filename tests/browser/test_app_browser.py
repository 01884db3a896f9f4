"""Browser tests: the app's map renders offline in Chromium, shows its features and accepts a drawing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from browser_support import OfflinePage, StreamlitServer, map_eval, map_frame, start_streamlit, stop_streamlit
from shapely.geometry import LineString, Point, Polygon

from gisplan.i18n import both, t
from gisplan.io.crs import METRIC_CRS

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

LON, LAT = 103.97, 10.22
N_POLES = 2500  # above the static threshold: fetched from /app/static as a GeoJSON file


def _project(path: Path) -> Path:
    from gisplan.io.layers import write_gpkg

    land = Polygon([(LON - 0.1, LAT - 0.1), (LON + 0.1, LAT - 0.1), (LON + 0.1, LAT + 0.1), (LON - 0.1, LAT + 0.1)])
    frames = {
        "land": gpd.GeoDataFrame({"name": ["Phú Quốc"]}, geometry=[land], crs="EPSG:4326"),
        "roads": gpd.GeoDataFrame(
            {"road_id": ["R1"], "name": ["Trần Hưng Đạo"], "road_class": ["national"], "surface": ["asphalt"]},
            geometry=[LineString([(LON - 0.05, LAT), (LON + 0.05, LAT + 0.02)])],
            crs="EPSG:4326",
        ),
        "poles": gpd.GeoDataFrame(
            {"pole_id": [f"P{i}" for i in range(N_POLES)], "owner": ["telecom", "power"] * (N_POLES // 2)},
            geometry=[Point(LON - 0.05 + 0.002 * (i % 50), LAT - 0.05 + 0.002 * (i // 50)) for i in range(N_POLES)],
            crs="EPSG:4326",
        ),
        "settlements": gpd.GeoDataFrame(
            {"settlement_id": ["S1"], "name": ["Gành Dầu"], "population": [1200]},
            geometry=[Point(LON + 0.06, LAT + 0.06)],
            crs="EPSG:4326",
        ),
    }
    return write_gpkg({k: v.to_crs(METRIC_CRS) for k, v in frames.items()}, path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    home = tmp_path_factory.mktemp("home")
    srv = start_streamlit(_project(home / "project.gpkg"), home)
    yield srv
    stop_streamlit(srv)


def _open_map(op: OfflinePage, server: StreamlitServer) -> Any:
    page = op.page
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    return map_frame(page, timeout=90_000)  # the map of the app's current run, once its runs are over


def _feature_count(page: Any) -> int:
    return int(map_eval(page, "Object.values(window.map._layers).filter(l => l.feature).length"))


def test_map_renders_offline_with_all_features(
    offline_page: OfflinePage, server: StreamlitServer, screenshot_dir: Path
) -> None:
    frame = _open_map(offline_page, server)
    page = offline_page.page
    expected = 1 + 1 + N_POLES + 1
    deadline_ms = 60_000
    waited = 0
    while _feature_count(page) < expected and waited < deadline_ms:
        page.wait_for_timeout(250)
        waited += 250
    assert _feature_count(page) == expected
    legend = frame.locator(".gisplan-legend").inner_text()
    assert t("map.legend", "vi") in legend and t("map.legend", "en") in legend
    assert "Quốc lộ / National road" in legend and "Điện lực / Power" in legend  # codes labelled
    assert "national" not in legend.split()
    # the layer control stays a button until the pointer is on it: the map and the legend stay visible
    control = frame.locator(".leaflet-control-layers")
    assert not frame.locator(".leaflet-control-layers-list").is_visible()
    control.hover()
    frame.locator(".leaflet-control-layers-list").wait_for(state="visible", timeout=10_000)
    assert f"{both('layer.poles')} ({N_POLES})" in control.inner_text()
    page.mouse.move(0, 0)
    assert not page.get_by_role("button", name="Deploy").count()  # no Streamlit "Deploy" button
    frame.locator(".leaflet-draw-draw-polygon").wait_for()
    box = frame.locator(".leaflet-container").bounding_box()
    assert box is not None and box["height"] > 300
    page.screenshot(path=str(screenshot_dir / "map_page.png"), full_page=True)
    assert offline_page.blocked == [], offline_page.blocked


def test_drawing_reaches_streamlit(offline_page: OfflinePage, server: StreamlitServer, screenshot_dir: Path) -> None:
    frame = _open_map(offline_page, server)
    page = offline_page.page
    container = frame.locator(".leaflet-container")
    box = container.bounding_box()
    assert box is not None
    frame.locator(".leaflet-draw-draw-polygon").click()
    cx, cy = box["width"] / 2, box["height"] / 2
    pts = [(cx - 120, cy - 80), (cx + 120, cy - 80), (cx + 40, cy + 100)]
    for x, y in [*pts, pts[0]]:
        container.click(position={"x": x, "y": y})
        page.wait_for_timeout(150)
    page.get_by_text(t("app.map.drawings", "vi", n=1)).wait_for(timeout=30_000)
    page.screenshot(path=str(screenshot_dir / "map_drawing.png"), full_page=True)
    assert offline_page.blocked == [], offline_page.blocked
