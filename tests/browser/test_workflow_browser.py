"""Browser tests of the planner workflow: draw a zone, run, save, download the BOQ; compare two versions."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from browser_support import (
    LIVE_MAP_IFRAME,
    OfflinePage,
    StreamlitServer,
    follow_runs,
    set_map_view,
    start_streamlit,
    stop_streamlit,
    wait_idle,
)
from browser_support import map_frame as _map_frame
from shapely.geometry import Point, mapping

from gisplan.i18n import t

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

LON, LAT = 103.9607, 10.2201  # central Dương Đông in the demo data
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "store.sqlite"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Iterator[StreamlitServer]:
    from gisplan.demo.data import demo_gpkg_path

    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GISPLAN_STORE", str(store_path))
        (store_path.parent / "tmp").mkdir(exist_ok=True)
        mp.setenv("TMPDIR", str(store_path.parent / "tmp"))  # the server's temporary folders, watched by a test
        srv = start_streamlit(demo_gpkg_path(), home)
    yield srv
    stop_streamlit(srv)


def _nav(page: Any, key: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(t(key, "vi"), exact=True).click()
    page.get_by_role("heading", name=t(key, "vi")).first.wait_for(timeout=TIMEOUT)
    # the page's runs over: a download button drawn by an earlier run of the page holds a file id a later run
    # revoked, and a click on it downloads nothing (Streamlit's remove_deferred says so)
    wait_idle(page)


def test_draw_run_save_and_download_the_boq(
    offline_page: OfflinePage, server: StreamlitServer, screenshot_dir: Path, tmp_path: Path, store_path: Path
) -> None:
    import openpyxl

    page = offline_page.page
    page.goto(f"{server.url}/underground", wait_until="domcontentloaded")
    frame = _map_frame(page)
    set_map_view(page, LAT, LON, 17)
    container = frame.locator(".leaflet-container")
    box = container.bounding_box()
    assert box is not None
    frame.locator(".leaflet-draw-draw-polygon").click()
    cx, cy = box["width"] / 2, box["height"] / 2
    pts = [(cx - 110, cy - 90), (cx + 110, cy - 90), (cx + 110, cy + 90), (cx - 110, cy + 90)]
    for x, y in [*pts, pts[0]]:
        container.click(position={"x": x, "y": y})
        page.wait_for_timeout(150)
    page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=30_000)

    page.get_by_role("button", name=t("app.run.button", "vi")).click()
    page.get_by_text(t("kpi.trench_km", "vi")).wait_for(timeout=TIMEOUT)
    page.get_by_text(t("kpi.steiner_gap", "vi")).wait_for(timeout=TIMEOUT)
    # the run's progress stays where it was asked for, closed, in Vietnamese, without server paths
    done = page.locator('[data-testid="stExpander"]').filter(has_text=t("app.run.done", "vi", s="")[:20])
    done.first.wait_for(timeout=TIMEOUT)
    body = page.locator("body").inner_text()
    assert "/tmp" not in body and "writing" not in body and "Planning" not in body, body[:2000]
    cost = page.locator('[data-testid="stMetric"]').filter(has_text=t("app.cost_bn", "vi"))
    cost_text = cost.locator('[data-testid="stMetricValue"]').inner_text()
    assert "…" not in cost_text  # the total fits its column
    # one number format, the language's (Babel vi_VN): decimal comma, thousands dot
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", cost_text), cost_text
    trench = page.locator('[data-testid="stMetric"]').filter(has_text=t("kpi.trench_km", "vi"))
    trench_vi = trench.locator('[data-testid="stMetricValue"]').inner_text()
    assert re.fullmatch(r"\d+,\d{2} km", trench_vi), trench_vi
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    trench_en = (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text=t("kpi.trench_km", "en"))
        .locator('[data-testid="stMetricValue"]')
    )
    trench_en.wait_for(timeout=TIMEOUT)
    assert trench_en.inner_text() == trench_vi.replace(",", "."), (trench_vi, trench_en.inner_text())
    page.locator('[data-testid="stSidebar"]').get_by_text("Tiếng Việt", exact=True).click()
    page.get_by_text(t("kpi.trench_km", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_text("Mã hạng mục").first.wait_for(state="attached", timeout=TIMEOUT)  # BOQ headers in Vietnamese
    page.get_by_text("Xây dựng").first.wait_for(state="attached", timeout=TIMEOUT)  # category 'civil', labelled
    _map_frame(page)
    page.screenshot(path=str(screenshot_dir / "underground_result.png"), full_page=True)

    # a reload keeps the zone and the result (kept per user on disk, not only in the tab)
    page.reload(wait_until="domcontentloaded")
    page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=TIMEOUT)
    page.locator('[data-testid="stMetric"]').filter(has_text=t("kpi.trench_km", "vi")).wait_for(timeout=TIMEOUT)
    _map_frame(page)
    users = [p for p in (store_path.parent / "app-users").iterdir() if p.is_dir()]
    assert len(users) == 1 and (users[0] / "state.json").is_file()
    assert len(list((users[0] / "work").glob("run-*-underground"))) == 1  # in the user's folder, not in /tmp
    assert not list((store_path.parent / "tmp").glob("gisplan-app-*"))  # no temporary folder left per session

    _nav(page, "app.scenarios")
    page.get_by_label(t("app.save.author", "vi")).fill("Lan")
    page.get_by_label(t("app.save.message", "vi")).fill("vẽ trên bản đồ")
    page.get_by_role("button", name=t("app.save.button", "vi")).click()
    saved = page.get_by_text(t("app.save.done", "vi", id="")).first
    saved.wait_for(timeout=TIMEOUT)
    short = saved.inner_text().split()[-1]
    # the version just saved is the one open: the review form is bound to it
    page.get_by_role("button", name=t("app.review.for", "vi", id=short)).wait_for(timeout=TIMEOUT)
    page.screenshot(path=str(screenshot_dir / "scenarios_saved.png"), full_page=True)
    page.get_by_role("button", name=t("app.save.button", "vi")).click()  # the same run again: a warning
    page.get_by_text(t("app.save.identical", "vi", id=short)).wait_for(timeout=TIMEOUT)

    _nav(page, "app.export")
    downloads: list[Any] = []
    page.on("download", lambda d: downloads.append(d))
    page.get_by_role("button", name="boq.xlsx").first.click()  # the last run's (a saved version's follow)
    failed = page.locator('[data-testid="stDownloadButtonError"]')  # 5 s, when asking for the file failed
    deadline = time.monotonic() + TIMEOUT / 1000
    while not downloads and time.monotonic() < deadline:
        assert failed.count() == 0, f"the download failed: {failed.all_inner_texts()}; runs: {follow_runs(page).log}"
        page.wait_for_timeout(100)
    assert downloads, f"no download within {TIMEOUT / 1000:.0f} s; runs: {follow_runs(page).log}"
    download = downloads[0]
    # named by scenario and date (Vietnam's), not "boq.xlsx"
    from gisplan.outputs.formatting import VIETNAM_TIME

    today = datetime.now(VIETNAM_TIME).date().isoformat()
    assert re.fullmatch(rf"[^/]+-{today}-boq\.xlsx", download.suggested_filename), download.suggested_filename
    target = tmp_path / "boq.xlsx"
    download.save_as(target)
    wb = openpyxl.load_workbook(target)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows(max_row=60) for c in row if c.value]
    assert any(c.startswith(("EXC.", "REINST.")) for c in cells), cells[:40]  # trench items of the BOQ
    assert offline_page.blocked == [], offline_page.blocked


def _seed_versions(store_path: Path, tmp_path: Path) -> list[str]:
    """Two saved versions of a small-zone plan (yearly budgets 12 and 0.5 billion VND)."""
    import yaml

    from gisplan.store.versions import VersionStore
    from gisplan.workflow.runs import run_artifacts, run_scenario, write_run
    from gisplan.workflow.scenario import parse_scenario

    zone = gpd.GeoSeries([Point(LON, LAT)], crs="EPSG:4326").to_crs("EPSG:32648").buffer(150, 8).to_crs("EPSG:4326")
    store = VersionStore(store_path)
    ids = []
    for i, budget in enumerate((12_000_000_000, 500_000_000)):
        doc = {
            "title": "Ngầm hóa thử / trial undergrounding",
            "layers": {"source": "demo"},
            "geometries": {"zones": json.loads(json.dumps(mapping(zone.iloc[0])))},
            "underground": {"enabled": True, "budget_per_year_vnd": budget, "start_year": 2027},
        }
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        result = run_scenario(parse_scenario(text))
        out = write_run(result, tmp_path / f"run{i}")
        del out
        kpis = json.loads((tmp_path / f"run{i}" / "kpis.json").read_text(encoding="utf-8"))
        v = store.save(
            scenario_name="trial",
            scenario_text=text,
            artifacts=run_artifacts(tmp_path / f"run{i}"),
            kpis=kpis,
            author="Lan",
            message=f"budget {budget:,}",
            parent=ids[-1] if ids else None,
        )
        ids.append(v.short_id)
    return ids


def test_compare_two_versions(
    offline_page: OfflinePage, server: StreamlitServer, screenshot_dir: Path, store_path: Path, tmp_path: Path
) -> None:
    ids = _seed_versions(store_path, tmp_path)
    page = offline_page.page
    page.goto(f"{server.url}/compare", wait_until="domcontentloaded")
    page.get_by_role("heading", name=t("app.compare", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name=t("app.compare.button", "vi")).click()
    page.get_by_text(t("app.compare.kpis", "vi")).wait_for(timeout=TIMEOUT)
    page.get_by_text(f"trial {ids[0]} → trial {ids[1]}").wait_for(timeout=TIMEOUT)
    # dataframe cells live in a canvas grid: present in the DOM for screen readers, not "visible"
    page.get_by_text("underground.budget_per_year_vnd").first.wait_for(state="attached", timeout=TIMEOUT)
    page.get_by_text("Cáp treo thu hồi (km)").first.wait_for(state="attached", timeout=TIMEOUT)  # not aerial_km_removed
    wait_idle(page)
    frame = page.frame_locator(LIVE_MAP_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=TIMEOUT)
    # the smaller yearly budget spreads the same work over more years: the differences by year are shown
    page.get_by_text(t("app.compare.by_phase", "vi")).wait_for(timeout=TIMEOUT)
    phases = page.locator('[data-testid="stMetric"]').filter(has_text=t("app.compare.phases_changed", "vi"))
    assert int(phases.locator('[data-testid="stMetricValue"]').inner_text()) > 0
    page.get_by_text(t("app.compare.features", "vi")).wait_for(timeout=TIMEOUT)
    page.get_by_text("Giai đoạn: 2027 →").first.wait_for(state="attached", timeout=TIMEOUT)  # what changed
    legend = frame.locator(".gisplan-legend").inner_text()
    assert "Không đổi / unchanged" in legend or "Thay đổi / changed" in legend, legend
    page.screenshot(path=str(screenshot_dir / "compare.png"), full_page=True)
    assert offline_page.blocked == [], offline_page.blocked


def test_upload_with_a_bad_row_lists_its_problem(offline_page: OfflinePage, server: StreamlitServer) -> None:
    poles = gpd.GeoDataFrame(
        {"pole_id": ["P1", "P2"], "owner": ["telecom", "martian"]},
        geometry=[Point(LON, LAT), Point(LON + 0.001, LAT)],
        crs="EPSG:4326",
    )
    page = offline_page.page
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    page.get_by_role("heading", name=t("app.map", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_text(t("app.upload", "vi")).first.click()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "poles.geojson", "mimeType": "application/geo+json", "buffer": poles.to_json().encode()}]
    )
    page.get_by_text("martian").first.wait_for(state="attached", timeout=TIMEOUT)  # the problem's row in the table
    page.get_by_text(t("app.error", "vi")).first.wait_for(timeout=TIMEOUT)
    page.get_by_text(t("app.error.problems", "vi")).wait_for(timeout=TIMEOUT)
    page.get_by_text("Cách sửa").first.wait_for(state="attached", timeout=TIMEOUT)  # headers in Vietnamese
    assert offline_page.blocked == [], offline_page.blocked
