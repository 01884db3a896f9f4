"""Browser test fixtures (helpers in browser_support.py): Debian's Chromium, an offline page, a screenshot folder.

Never run `playwright install`: the tests drive /usr/bin/chromium and skip with a message when it is absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, OfflinePage, follow_runs, is_local


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def offline_page(chromium: Any) -> Iterator[OfflinePage]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
    page = context.new_page()
    follow_runs(page)  # the map helpers wait for the app's runs to be over
    result = OfflinePage(page)

    def guard(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            result.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    yield result
    context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    root = os.environ.get("GISPLAN_SCREENSHOTS")
    path = Path(root) if root else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
