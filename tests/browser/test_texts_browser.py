"""Browser tests (issue 15): the app opens on the map with a guide; Streamlit's and Leaflet's texts translated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import OfflinePage, StreamlitServer, map_frame, start_streamlit, stop_streamlit, tiny_project

from gisplan.i18n import t

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

TIMEOUT = 60_000
ENGLISH_LEFT = ("Drag and drop", "200MB", "Browse files", "Press Enter to apply", "Upload")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamlitServer]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GISPLAN_STORE", str(home / "store.sqlite"))
        srv = start_streamlit(tiny_project(home / "project.gpkg"), home)
    yield srv
    stop_streamlit(srv)


def _after(locator: Any) -> str:
    """The text a CSS ``::after`` writes on the element."""
    return str(locator.evaluate("e => getComputedStyle(e, '::after').content")).strip('"')


def test_opens_on_the_map_with_a_guide_and_streamlit_texts_in_vietnamese(
    offline_page: OfflinePage, server: StreamlitServer
) -> None:
    page = offline_page.page
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=t("app.map", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_text(t("app.guide.short", "vi")).first.wait_for(timeout=TIMEOUT)  # the workflow in one line
    page.get_by_text(t("app.guide", "vi")).first.click()
    page.get_by_text("Lập phương án").first.wait_for(timeout=TIMEOUT)  # its steps one click away
    frame = map_frame(page, timeout=TIMEOUT)  # the current run's map, its draw toolbar drawn
    # leaflet and leaflet.draw in Vietnamese
    assert frame.locator(".leaflet-draw-draw-polygon").get_attribute("title") == t(
        "draw.draw.toolbar.buttons.polygon", "vi"
    )
    assert frame.locator(".leaflet-draw-edit-remove").get_attribute("title") == t(
        "draw.edit.toolbar.buttons.removeDisabled", "vi"
    )
    assert frame.locator(".leaflet-control-zoom-in").get_attribute("title") == t("map.zoom_in", "vi")
    frame.locator(".leaflet-draw-draw-polygon").click()
    hint = frame.locator(".leaflet-draw-tooltip").first
    hint.wait_for(timeout=TIMEOUT)
    assert t("draw.draw.handlers.polygon.tooltip.start", "vi") in hint.inner_text()
    frame.get_by_text(t("draw.draw.toolbar.actions.text", "vi"), exact=True).first.click()

    page.get_by_text(t("app.upload", "vi")).first.click()
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    zone.wait_for(timeout=TIMEOUT)
    shown = zone.inner_text()
    assert not [w for w in ENGLISH_LEFT if w in shown], shown
    instructions = page.locator('[data-testid="stFileUploaderDropzoneInstructions"] > div')
    assert _after(instructions).startswith(t("app.st.limit", "vi", mb=50, types="")[:18]), _after(instructions)
    assert "50 MB" in _after(instructions)
    button = zone.locator('[data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"]')
    assert _after(button) == t("app.st.browse", "vi")

    page.goto(f"{server.url}/underground", wait_until="domcontentloaded")
    field = page.get_by_label(t("app.scenario.title", "vi"))
    field.fill("Thử")
    note = page.locator('[data-testid="InputInstructions"]').first
    note.wait_for(timeout=TIMEOUT)
    assert "Press Enter" not in note.inner_text()
    assert _after(note) == t("app.st.enter", "vi")
    assert offline_page.blocked == [], offline_page.blocked
