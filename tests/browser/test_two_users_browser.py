"""Browser test of two users at once on one server (issue 15): each draws, runs and uploads in their own browser,
neither sees the other's drawings, uploads or results, and both runs succeed.

Two Playwright browser contexts (two people: separate cookies, storage and tabs) on one app serving the Phú Quốc
demo; every outside request blocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pytest
from browser_support import StreamlitServer, follow_runs, is_local, map_frame, start_streamlit, stop_streamlit
from browser_support import map_eval as _eval
from browser_support import map_settled as _settled
from browser_support import set_map_view as _set_view
from shapely.geometry import Point, shape

from gisplan.i18n import t

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

LON, LAT = 103.9607, 10.2201  # central Dương Đông in the demo data
TIMEOUT = 90_000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "store.sqlite"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Iterator[StreamlitServer]:
    from gisplan.demo.data import demo_gpkg_path

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GISPLAN_STORE", str(store_path))
        srv = start_streamlit(demo_gpkg_path(), home)
    yield srv
    stop_streamlit(srv)


def _user(chromium: Any) -> tuple[Any, Any, list[str]]:
    """A new browser context (another person) with one page; outside requests blocked and recorded."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    blocked: list[str] = []

    def guard(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    follow_runs(page)
    return context, page, blocked


def _map(page: Any) -> Any:
    return map_frame(page, TIMEOUT)


def _draw_zone(page: Any, lat: float, lon: float, half_px: int) -> None:
    """A square of 2 ``half_px`` pixels around (lat, lon) at zoom 17, drawn with the leaflet.draw toolbar."""
    frame = _map(page)
    _set_view(page, lat, lon, 17)
    container = frame.locator(".leaflet-container")
    x, y = _eval(page, f"(function (p) {{ return [p.x, p.y]; }})(window.map.latLngToContainerPoint([{lat}, {lon}]))")
    frame.locator(".leaflet-draw-draw-polygon").click()
    pts = [
        (x - half_px, y - half_px),
        (x + half_px, y - half_px),
        (x + half_px, y + half_px),
        (x - half_px, y + half_px),
    ]
    for px, py in [*pts, pts[0]]:
        container.click(position={"x": px, "y": py})
        page.wait_for_timeout(150)
    page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=TIMEOUT)


def _trench_km(page: Any) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=t("kpi.trench_km", "vi"))
    error = page.get_by_text(t("app.error", "vi"))
    for _ in range(TIMEOUT * 2 // 500):
        if metric.count() or error.count():
            break
        page.wait_for_timeout(500)
    assert metric.count(), (page.url, page.locator("body").inner_text()[-600:])
    return str(metric.first.locator('[data-testid="stMetricValue"]').inner_text())


def _uid(page: Any) -> str:
    return parse_qs(urlparse(page.url).query)["u"][0]


def test_two_users_at_once_each_see_only_their_own_work(
    chromium: Any, server: StreamlitServer, store_path: Path, tmp_path: Path
) -> None:
    ctx_a, lan, blocked_a = _user(chromium)
    ctx_b, minh, blocked_b = _user(chromium)
    try:
        for page in (lan, minh):
            page.goto(f"{server.url}/underground", wait_until="domcontentloaded")
            _map(page)
            _settled(page)
        _draw_zone(lan, LAT, LON, 110)
        # Minh's page, made anew, knows nothing of Lan's zone
        minh.reload(wait_until="domcontentloaded")
        _map(minh)
        minh.get_by_text(t("app.ug.zones", "vi", n=0)).wait_for(timeout=TIMEOUT)
        assert _eval(minh, "window.drawnItems.getLayers().length") == 0
        _draw_zone(minh, LAT + 0.003, LON + 0.001, 60)  # a smaller zone 330 m to the north

        # both press Run at once; both runs finish, each on its own zone
        _settled(lan)
        assert lan.get_by_text(t("app.ug.zones", "vi", n=1)).count() == 1  # Minh's drawing took nothing of Lan's
        run = t("app.run.button", "vi")
        lan.get_by_role("button", name=run).click()
        minh.get_by_role("button", name=run).click()
        km_lan, km_minh = _trench_km(lan), _trench_km(minh)
        assert lan.get_by_text(t("app.error", "vi")).count() == minh.get_by_text(t("app.error", "vi")).count() == 0
        assert km_lan != km_minh, (km_lan, km_minh)  # a 220-pixel zone and a 120-pixel one, different streets
        assert lan.get_by_text(t("app.ug.zones", "vi", n=1)).count() == 1
        assert minh.get_by_text(t("app.ug.zones", "vi", n=1)).count() == 1

        # each user's drawings and run live in their own folder, drawn where they drew them
        uid_lan, uid_minh = _uid(lan), _uid(minh)
        assert uid_lan != uid_minh
        users = store_path.parent / "app-users"
        for uid, (lat, lon) in ((uid_lan, (LAT, LON)), (uid_minh, (LAT + 0.003, LON + 0.001))):
            state = json.loads((users / uid / "state.json").read_text(encoding="utf-8"))
            (zone,) = state["drawings"]["ug_drawings"]
            centre = shape(zone["geometry"]).centroid
            assert abs(centre.y - lat) < 5e-4 and abs(centre.x - lon) < 5e-4, (uid, centre)
            assert len(list((users / uid / "work").glob("run-*-underground"))) == 1

        # Minh uploads a layer; Lan, on the map page, does not get it
        from gisplan.io.layers import write_gpkg

        poles = gpd.GeoDataFrame(
            {"pole_id": ["U1", "U2"], "owner": ["telecom"] * 2},
            geometry=[Point(LON + 0.001 * i, LAT) for i in range(2)],
            crs="EPSG:4326",
        )
        gpkg = write_gpkg({"poles": poles}, tmp_path / "poles.gpkg")
        for page in (minh, lan):  # by address, with the user's id
            page.goto(f"{server.url}/?u={_uid(page)}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=t("app.map", "vi")).first.wait_for(timeout=TIMEOUT)
        minh.get_by_text(t("app.upload", "vi")).first.click()
        minh.locator('input[type="file"]').set_input_files(
            files=[{"name": "poles.gpkg", "mimeType": "application/geopackage+sqlite3", "buffer": gpkg.read_bytes()}]
        )
        loaded = t("app.upload.loaded", "vi", kinds="poles (2)")
        minh.get_by_text(loaded).wait_for(timeout=TIMEOUT)
        lan.reload(wait_until="domcontentloaded")
        _map(lan)
        _settled(lan)
        assert lan.get_by_text(loaded).count() == 0
        # and back on her page, Lan's result is still hers
        lan.goto(f"{server.url}/underground?u={uid_lan}", wait_until="domcontentloaded")
        assert _trench_km(lan) == km_lan
        assert blocked_a == [] and blocked_b == [], (blocked_a, blocked_b)
    finally:
        ctx_a.close()
        ctx_b.close()


def _wait_uid(page: Any) -> str:
    for _ in range(TIMEOUT // 250):
        if "u" in parse_qs(urlparse(page.url).query):
            return _uid(page)
        page.wait_for_timeout(250)
    raise AssertionError(f"no user id in {page.url}")


def test_a_page_loaded_without_the_users_id_comes_back_to_the_same_work(chromium: Any, server: StreamlitServer) -> None:
    """A page loaded from an address without ``?u=`` (a sidebar link's href, clicked on a busy server before the page's
    scripts take it over) is the same user, by the browser's cookie; another browser is still another user."""
    ctx, page, blocked = _user(chromium)
    ctx2, other, blocked2 = _user(chromium)
    try:
        page.goto(f"{server.url}/underground", wait_until="domcontentloaded")
        _map(page)
        _settled(page)
        uid = _wait_uid(page)
        _draw_zone(page, LAT, LON, 60)
        for _ in range(TIMEOUT // 250):  # the cookie is written by the page's script
            if any(c["name"] == "gisplan_u" and c["value"] == uid for c in ctx.cookies()):
                break
            page.wait_for_timeout(250)
        page.goto(f"{server.url}/underground", wait_until="domcontentloaded")  # no ?u= in the address
        _map(page)
        page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=TIMEOUT)
        assert _wait_uid(page) == uid
        other.goto(f"{server.url}/underground", wait_until="domcontentloaded")
        _map(other)
        assert _wait_uid(other) != uid
        other.get_by_text(t("app.ug.zones", "vi", n=0)).wait_for(timeout=TIMEOUT)
        assert blocked == [] and blocked2 == [], (blocked, blocked2)
    finally:
        ctx.close()
        ctx2.close()
