"""Browser tests of the maps (issue 15): the view is kept, drawings live in the draw tool, clicks reach features.

A tiny Dương Đông project (tests/tiny_project.py): land, two roads, three poles, one settlement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import MAP_IFRAME, OfflinePage, StreamlitServer, start_streamlit, stop_streamlit, tiny_project
from browser_support import map_eval as _eval
from browser_support import map_frame as _map
from browser_support import map_settled as _settled
from browser_support import set_map_view as _set_view
from tiny_project import LAT, LON, tiny_frames

from gisplan.i18n import t
from gisplan.outputs import maps

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GISPLAN_STORE", str(home / "store.sqlite"))
        srv = start_streamlit(tiny_project(home / "project.gpkg"), home)
    yield srv
    stop_streamlit(srv)


def _view(page: Any) -> tuple[float, float, int]:
    lat, lng, zoom = _eval(page, "[window.map.getCenter().lat, window.map.getCenter().lng, window.map.getZoom()]")
    return float(lat), float(lng), int(zoom)


def _draw_square(page: Any, frame: Any, size: int = 70) -> None:
    container = frame.locator(".leaflet-container")
    box = container.bounding_box()
    assert box is not None
    frame.locator(".leaflet-draw-draw-polygon").click()
    cx, cy = box["width"] / 2 + 40, box["height"] / 2 - 40  # clear of the toolbar, its hints and the legend
    pts = [(cx - size, cy - size), (cx + size, cy - size), (cx + size, cy + size), (cx - size, cy + size)]
    for x, y in [*pts, pts[0]]:
        container.click(position={"x": x, "y": y})
        page.wait_for_timeout(150)


def _drawn_count(page: Any) -> int:
    return int(_eval(page, "window.drawnItems ? window.drawnItems.getLayers().length : -1"))


def test_the_view_is_kept_when_a_drawing_comes_back(
    offline_page: OfflinePage, server: StreamlitServer, screenshot_dir: Path
) -> None:
    page = offline_page.page
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    frame = _map(page)
    _settled(page)  # the app's first reruns may rebuild the map: set the view on the one that stays
    _eval(page, f"window.map.setView([{LAT + 0.003}, {LON + 0.004}], 16, {{animate: false}})")
    page.wait_for_timeout(300)
    before = _view(page)
    assert before[2] == 16, before
    _draw_square(page, frame)
    page.get_by_text(t("app.map.drawings", "vi", n=1)).wait_for(timeout=TIMEOUT)
    frame = _map(page)
    page.wait_for_timeout(1500)  # a remount would have fitted the project again by now
    after = _view(page)
    assert after[2] == before[2] == 16, (before, after)
    assert abs(after[0] - before[0]) < 1e-4 and abs(after[1] - before[1]) < 1e-4, (before, after)
    # and a reload opens where the user was
    page.reload(wait_until="domcontentloaded")
    _map(page)
    for _ in range(40):  # the view comes back once the map's own opening (fitBounds) has run
        again = _view(page)
        if again[2] == 16:
            break
        page.wait_for_timeout(250)
    assert again[2] == 16 and abs(again[0] - before[0]) < 1e-4, (before, again)
    page.screenshot(path=str(screenshot_dir / "map_view_kept.png"), full_page=True)
    assert offline_page.blocked == [], offline_page.blocked


def test_drawings_can_be_deleted_with_the_toolbar_and_clearing_clears(
    offline_page: OfflinePage, server: StreamlitServer
) -> None:
    page = offline_page.page
    page.goto(f"{server.url}/underground", wait_until="domcontentloaded")
    frame = _map(page)
    _eval(page, f"window.map.setView([{LAT}, {LON}], 15, {{animate: false}})")
    _draw_square(page, frame)
    page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=TIMEOUT)
    # the demo zone button changes the drawings from the app: the map is made anew with both drawings in the
    # draw tool's group
    page.get_by_role("button", name=t("app.ug.demo_zone", "vi")).click()
    page.get_by_text(t("app.ug.zones", "vi", n=2)).wait_for(timeout=TIMEOUT)
    frame = _map(page)
    for _ in range(40):
        if _drawn_count(page) == 2:
            break
        page.wait_for_timeout(250)
    assert _drawn_count(page) == 2
    remove = frame.locator(".leaflet-draw-edit-remove")
    assert "leaflet-disabled" not in (remove.get_attribute("class") or "")
    remove.click()
    frame.get_by_text(t("draw.edit.toolbar.actions.clearAll.text", "vi"), exact=True).click()
    page.get_by_text(t("app.ug.zones", "vi", n=0)).wait_for(timeout=TIMEOUT)

    frame = _map(page)
    _draw_square(page, frame)
    page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name=t("app.draw.clear", "vi")).click()
    page.get_by_text(t("app.ug.zones", "vi", n=0)).wait_for(timeout=TIMEOUT)
    _map(page)
    page.wait_for_timeout(3000)  # the old map must not hand the drawing back
    assert page.get_by_text(t("app.ug.zones", "vi", n=0)).count() == 1
    assert _drawn_count(page) == 0
    assert offline_page.blocked == [], offline_page.blocked


def _click_at(page: Any, frame: Any, lat: float, lon: float) -> str:
    page.locator(MAP_IFRAME).evaluate("e => e.scrollIntoView({block: 'center'})")
    _settled(page)
    x, y = _eval(page, f"(function (p) {{ return [p.x, p.y]; }})(window.map.latLngToContainerPoint([{lat}, {lon}]))")
    frame.locator(".leaflet-container").click(position={"x": float(x), "y": float(y)})
    popup = frame.locator(".leaflet-popup-content")
    popup.first.wait_for(timeout=10_000)
    texts = popup.all_inner_texts()
    assert len(texts) == 1, texts  # one feature under the cursor, one popup
    _eval(page, "window.map.closePopup()")
    return str(texts[0])


def test_a_click_opens_the_feature_under_the_cursor_in_every_layer(
    offline_page: OfflinePage, server: StreamlitServer
) -> None:
    page = offline_page.page
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    frame = _map(page)
    _set_view(page, LAT + 0.001, LON + 0.001, 18)
    assert "P1" in _click_at(page, frame, LAT, LON + 0.0005)  # a pole (the settlements layer is drawn above it)
    assert "Đường 30/4" in _click_at(page, frame, LAT + 0.0015, LON + 0.0015)  # the national road R1
    _set_view(page, LAT + 0.05, LON - 0.05, 17)
    assert "Gành Dầu" in _click_at(page, frame, LAT + 0.05, LON - 0.05)  # the settlement
    assert offline_page.blocked == [], offline_page.blocked


#: the browser paints late (a component's iframe that is still 0 px high, a busy machine): animation frames come
#: 300 ms after they are asked for; ``__framesDue`` counts those not run yet
LATE_FRAMES = """
window.__framesDue = 0;
window.requestAnimationFrame = function (cb) {
  window.__framesDue += 1;
  return setTimeout(function () { window.__framesDue -= 1; cb(performance.now()); }, 300);
};
window.cancelAnimationFrame = function (id) { clearTimeout(id); };
"""


def test_the_kept_view_wins_over_the_maps_opening_fit_when_the_browser_paints_late(
    offline_page: OfflinePage,
) -> None:
    """keepView puts the kept view back after the map's opening fit; a fit that animates starts a frame later
    and, when frames come late, ends after it and takes the user back to the project's extent."""
    m = maps.layers_map(tiny_frames())
    maps.keep_view(m, key="k", scope="s")
    html = maps.standalone_html(m)
    page = offline_page.page
    url = "http://127.0.0.1:9/map.html"  # served here, never asked from the network
    page.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
    page.add_init_script(LATE_FRAMES)
    kept = {"scope": "s", "lat": LAT + 0.003, "lng": LON + 0.004, "zoom": 16}
    page.add_init_script(f"sessionStorage.setItem('gisplan.view.k', {json.dumps(json.dumps(kept))});")
    page.goto(url)
    find = "Object.values(window).find(v => v instanceof L.Map)"
    page.wait_for_function(f"() => window.L && !!{find}")
    # every frame asked for has run and no zoom is under way: what the map shows now is where it stays
    page.wait_for_function(f"() => window.__framesDue === 0 && !{find}._animatingZoom", timeout=10_000)
    zoom, lat, lng = page.evaluate(f"(m => [m.getZoom(), m.getCenter().lat, m.getCenter().lng])({find})")
    assert zoom == 16 and abs(lat - kept["lat"]) < 1e-6 and abs(lng - kept["lng"]) < 1e-6, (zoom, lat, lng)
    assert offline_page.blocked == [], offline_page.blocked
