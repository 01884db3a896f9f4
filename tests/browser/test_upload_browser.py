"""Browser tests of uploads (issue 15): a file's own CRS is used; uploaded layers stay until the user drops them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from browser_support import OfflinePage, StreamlitServer, start_streamlit, stop_streamlit, tiny_project
from shapely.geometry import Point
from tiny_project import LAT, LON

from gisplan.i18n import t

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


def _nav(page: Any, key: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(t(key, "vi"), exact=True).click()
    page.get_by_role("heading", name=t(key, "vi")).first.wait_for(timeout=TIMEOUT)


def test_a_file_in_utm_is_read_in_its_own_crs_and_stays_until_dropped(
    offline_page: OfflinePage, server: StreamlitServer, tmp_path: Path
) -> None:
    from gisplan.io.layers import write_gpkg

    poles = gpd.GeoDataFrame(
        {"pole_id": ["U1", "U2", "U3", "U4"], "owner": ["telecom"] * 4},
        geometry=[Point(LON + 0.001 * i, LAT) for i in range(4)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32648")  # the CRS of gisplan's own plan.gpkg
    gpkg = write_gpkg({"poles": poles}, tmp_path / "poles.gpkg")
    page = offline_page.page
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    page.get_by_role("heading", name=t("app.map", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_text(t("app.upload", "vi")).first.click()
    # the CRS picker stays on WGS 84: it is for files that state none
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "poles.gpkg", "mimeType": "application/geopackage+sqlite3", "buffer": gpkg.read_bytes()}]
    )
    loaded = t("app.upload.loaded", "vi", kinds="poles (4)")
    page.get_by_text(loaded).wait_for(timeout=TIMEOUT)
    assert page.get_by_text(t("app.error", "vi")).count() == 0
    _nav(page, "app.export")
    _nav(page, "app.map")
    page.get_by_text(loaded).wait_for(timeout=TIMEOUT)  # still there after a visit to another page
    page.get_by_role("button", name=t("app.upload.clear", "vi")).click()
    page.get_by_text(loaded).wait_for(state="detached", timeout=TIMEOUT)
    assert offline_page.blocked == [], offline_page.blocked
