"""Browser test helpers: a real `python -m streamlit run` on 127.0.0.1 and Debian's Chromium via Playwright.

Never run `playwright install`: the tests drive /usr/bin/chromium (apt-get install chromium); they skip with a
message when it is absent.  Every request that is not to the local server (or data:/blob:) is blocked and recorded,
and a test fails when any was attempted.  Screenshots go to $GISPLAN_SCREENSHOTS or a pytest tmp folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = Path("/usr/bin/chromium")
APP_DIR = Path(__file__).resolve().parents[2] / "app"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StreamlitServer:
    """A running app: its URL and process (started and stopped by the fixture)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_streamlit(project: Path, home: Path, *, timeout: float = 90.0) -> StreamlitServer:
    """Start the app on a free local port with HOME in ``home`` and wait for /_stcore/health."""
    port = free_port()
    env = {**os.environ, "HOME": str(home), "GISPLAN_PROJECT": str(project), "PYTHONUNBUFFERED": "1"}
    log = home / "streamlit.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_DIR / "streamlit_app.py"),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.enableStaticServing",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=APP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return StreamlitServer(url, proc, log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    stop_streamlit(StreamlitServer(url, proc, log))
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout} s:\n{log.read_text(errors='replace')}")


def stop_streamlit(server: StreamlitServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)


@dataclass
class OfflinePage:
    """A Playwright page whose non-local requests are blocked and recorded in ``blocked``."""

    page: Any
    blocked: list[str] = field(default_factory=list)


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return parsed.hostname in ("127.0.0.1", "localhost")


def tiny_project(path: Path) -> Path:
    """Write the tiny Dương Đông project of ``tests/tiny_project.py`` to the GeoPackage ``path``."""
    from tiny_project import tiny_frames

    from gisplan.io.layers import write_gpkg

    return write_gpkg(tiny_frames(), path)


# --------------------------------------------------------------------------- the map in a page (shared by tests)


def map_frame(page: Any, timeout: int = 60_000) -> Any:
    """The map's frame locator, once exactly one map is in the page and Leaflet and its draw toolbar are drawn."""
    page.wait_for_selector(MAP_IFRAME, timeout=timeout)
    for _ in range(timeout // 250):  # after a rerun the old map's iframe lingers a moment beside the new one
        if page.locator(MAP_IFRAME).count() == 1:
            break
        page.wait_for_timeout(250)
    frame = page.frame_locator(MAP_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=timeout)
    frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=timeout)
    return frame


def map_eval(page: Any, script: str) -> Any:
    """Evaluate ``script`` (a JS expression using ``window.map``) in the frame that holds the Leaflet map."""
    for f in page.frames:
        try:
            if f.evaluate("() => typeof window.map === 'object' && window.map !== null && !!window.map.setView"):
                return f.evaluate(f"() => {script}")
        except Exception:  # frames come and go while Streamlit renders
            continue
    raise AssertionError("no Leaflet map in the page's frames")


def map_settled(page: Any) -> None:
    """Wait until Streamlit is idle (no rerun running) and the map has kept its view for half a second: a click
    made while a rerun rebuilds the map lands on the old one."""
    for _ in range(120):
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            break
        page.wait_for_timeout(250)
    last = None
    for _ in range(20):
        view = map_eval(page, "[window.map.getZoom(), window.map.getCenter().lat, window.map.getCenter().lng]")
        if view == last:
            return
        last = view
        page.wait_for_timeout(500)


def set_map_view(page: Any, lat: float, lon: float, zoom: int) -> None:
    """Set the map's view once the app is idle, and again if a rerun rebuilt the map over it."""
    for _ in range(5):
        map_settled(page)
        map_eval(page, f"window.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
        page.wait_for_timeout(700)
        z, c_lat, c_lon = map_eval(
            page, "[window.map.getZoom(), window.map.getCenter().lat, window.map.getCenter().lng]"
        )
        if z == zoom and abs(c_lat - lat) < 1e-6 and abs(c_lon - lon) < 1e-6:
            return
    raise AssertionError(f"the map did not keep the view {lat}, {lon}, {zoom}")
