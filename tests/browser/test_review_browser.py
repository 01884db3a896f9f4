"""Browser tests of reviews (issue 15): a review lands on the version on screen, never on another one.

Two versions are seeded straight into the store (tiny artifacts, no plan run), then a reviewer picks the older
one and records "in review" and "approved" without touching the picker again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import OfflinePage, StreamlitServer, start_streamlit, stop_streamlit, tiny_project

from gisplan.i18n import t, value_label

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "store.sqlite"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, store_path: Path) -> Iterator[StreamlitServer]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GISPLAN_STORE", str(store_path))
        srv = start_streamlit(tiny_project(home / "project.gpkg"), home)
    yield srv
    stop_streamlit(srv)


def _seed(store_path: Path) -> tuple[str, str]:
    """R1 then R2 (the newest) of scenario ``trial``: both drafts."""
    from gisplan.store.versions import VersionStore

    store = VersionStore(store_path)
    r1 = store.save(
        scenario_name="trial",
        scenario_text="title: R1\n",
        artifacts={"kpis.json": b'{"cost_vnd": 1}'},
        kpis={"cost_vnd": 1},
        author="Lan",
        message="R1 first",
        created_at="2026-11-01T01:00:00Z",
    )
    r2 = store.save(
        scenario_name="trial",
        scenario_text="title: R2\n",
        artifacts={"kpis.json": b'{"cost_vnd": 2}'},
        kpis={"cost_vnd": 2},
        author="Lan",
        message="R2 second",
        parent=r1.id,
        created_at="2026-11-02T01:00:00Z",
    )
    return r1.id, r2.id


def _select(page: Any, label: str, option: str) -> None:
    """Open the Streamlit selectbox labelled ``label`` and choose the option containing ``option``."""
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).last.click()
    page.get_by_role("option").filter(has_text=option).first.click()


def _review(page: Any, short: str, status: str, reviewer: str) -> None:
    _select(page, t("app.review.status", "vi"), value_label("status", status, "vi"))
    page.get_by_label(t("app.review.reviewer", "vi")).fill(reviewer)
    page.get_by_label(t("app.review.comment", "vi")).fill(f"{status} by {reviewer}")
    page.get_by_role("button", name=t("app.review.for", "vi", id=short)).click()


def test_reviews_land_on_the_version_on_screen(
    offline_page: OfflinePage, server: StreamlitServer, store_path: Path, screenshot_dir: Path
) -> None:
    from gisplan.store.versions import VersionStore

    r1, r2 = _seed(store_path)
    page = offline_page.page
    page.goto(f"{server.url}/scenarios", wait_until="domcontentloaded")
    page.get_by_role("heading", name=t("app.versions", "vi")).first.wait_for(timeout=TIMEOUT)
    _select(page, t("app.versions.open", "vi"), r1[:12])
    page.get_by_role("button", name=t("app.review.for", "vi", id=r1[:12])).wait_for(timeout=TIMEOUT)
    # a draft is offered "in review" only: a review that keeps the status is no decision
    page.locator('[data-testid="stSelectbox"]').filter(has_text=t("app.review.status", "vi")).last.click()
    offered = page.get_by_role("option").all_inner_texts()
    assert offered == [value_label("status", "in_review", "vi")], offered
    page.keyboard.press("Escape")

    _review(page, r1[:12], "in_review", "Hà")
    done = t("app.review.done", "vi", id=r1[:12], old=value_label("status", "draft", "vi"), new="")
    page.get_by_text(done).first.wait_for(timeout=TIMEOUT)  # confirmed, naming the version
    assert page.get_by_label(t("app.review.reviewer", "vi")).input_value() == ""  # fields cleared
    _review(page, r1[:12], "approved", "Minh")  # the picker untouched
    page.get_by_text(t("app.review.final", "vi", status=value_label("status", "approved", "vi"))).wait_for(
        timeout=TIMEOUT
    )
    page.screenshot(path=str(screenshot_dir / "review_bound.png"), full_page=True)

    store = VersionStore(store_path)
    assert store.get(r1).status == "approved"
    assert store.get(r2).status == "draft"
    assert [(r.previous_status, r.status, r.reviewer) for r in store.reviews(r1)] == [
        ("draft", "in_review", "Hà"),
        ("in_review", "approved", "Minh"),
    ]
    assert store.reviews(r2) == []
    assert offline_page.blocked == [], offline_page.blocked
