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
import weakref
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


# --------------------------------------------------------------------------- the app's script runs


class ScriptRuns:
    """The app's script runs as Streamlit's own websocket messages tell them (see :func:`follow_runs`).

    ``idle`` is True once the last run that started finished on its own (not cut short for a rerun: ``st.rerun``
    or a widget's new value) and the page asked for no rerun since.  Between two runs of a chain (``st.rerun``
    after a button, a drawing that comes back) the page looks idle for a moment, and while a rerun replaces the
    map by a new one (a new component key) Streamlit keeps the old map beside it until the run finishes: the
    messages, not the page's looks, say when the app is done.
    """

    def __init__(self) -> None:
        self.idle = False
        self.log: list[str] = []  # the last messages, for a failure's message

    def _note(self, text: str) -> None:
        self.log = [*self.log[-11:], text]

    def on_websocket(self, ws: Any) -> None:
        if not ws.url.endswith("/_stcore/stream"):
            return
        self.idle = False  # a new page (goto, reload): its first run is still to come
        self._note("websocket opened")
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)
        ws.on("close", lambda *_: self._closed())

    def _closed(self) -> None:
        self.idle = False
        self._note("websocket closed")

    def _received(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.idle = False
            self._note("run started")
        elif kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
            self.idle = msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
            self._note(f"run finished: {status}")

    def _sent(self, payload: bytes | str) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            self.idle = False
            self._note("rerun asked")


_RUNS: weakref.WeakKeyDictionary[Any, ScriptRuns] = weakref.WeakKeyDictionary()

#: the page shows one finished run: no element of an older run kept (stale, or retained beside its successor)
_PAGE_IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && !document.querySelector('[data-testid="stElementContainer"][data-retained]')
    && !document.querySelector('[data-testid="stElementContainer"][data-stale="true"]');
}"""


_PAGE_STATE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const all = (sel) => document.querySelectorAll(sel).length;
  return {script: app && app.getAttribute('data-test-script-state'),
          connection: app && app.getAttribute('data-test-connection-state'),
          retained: all('[data-testid="stElementContainer"][data-retained]'),
          stale: all('[data-testid="stElementContainer"][data-stale="true"]'),
          maps: all('iframe[title="streamlit_folium.st_folium"]')};
}"""


def follow_runs(page: Any) -> ScriptRuns:
    """Follow the app's script runs in ``page`` (call it before the page opens the app)."""
    runs = _RUNS.get(page)
    if runs is None:
        runs = _RUNS[page] = ScriptRuns()
        page.on("websocket", runs.on_websocket)
    return runs


def _page_idle(page: Any) -> bool:
    from playwright.sync_api import Error

    try:
        return bool(page.evaluate(_PAGE_IDLE))
    except Error as exc:  # the page is being replaced (a reload): not idle yet
        if "context was destroyed" in str(exc):
            return False
        raise


def wait_idle(page: Any, timeout: int = 60_000) -> None:
    """Wait until the app's runs are over (:class:`ScriptRuns`) and the page shows the last one."""
    runs = _RUNS.get(page)
    if runs is None:
        raise RuntimeError("call follow_runs(page) before the page opens the app")
    deadline = time.monotonic() + timeout / 1000
    while True:
        if runs.idle and _page_idle(page) and runs.idle:
            return
        if time.monotonic() > deadline:
            seen = page.evaluate(_PAGE_STATE)
            raise AssertionError(
                f"the app did not finish its runs within {timeout / 1000:.0f} s; page: {seen}; runs: {runs.log}"
            )
        page.wait_for_timeout(100)


# --------------------------------------------------------------------------- the map in a page (shared by tests)

#: the map of the app's current run; while a rerun replaces a map by a new one, Streamlit keeps the old one
#: beside it (its element container marked ``data-retained``) until the run finishes
LIVE_MAP_IFRAME = f'[data-testid="stElementContainer"]:not([data-retained]) {MAP_IFRAME}'


def map_frame(page: Any, timeout: int = 60_000) -> Any:
    """The frame locator of the map the app shows once its runs are over, with Leaflet and its draw toolbar
    drawn."""
    wait_idle(page, timeout)
    page.locator(LIVE_MAP_IFRAME).wait_for(timeout=timeout)  # one map: a second one fails here (strict)
    frame = page.frame_locator(LIVE_MAP_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=timeout)
    frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=timeout)
    return frame


def map_eval(page: Any, script: str, timeout: int = 60_000) -> Any:
    """Evaluate ``script`` (a JS expression using ``window.map``) in the map the app shows once its runs are
    over."""
    wait_idle(page, timeout)
    handle = page.locator(LIVE_MAP_IFRAME).element_handle(timeout=timeout)
    frame = handle.content_frame()
    assert frame is not None, "the map's iframe has no document"
    frame.wait_for_function("() => !!(window.map && window.map.setView)", timeout=timeout)
    return frame.evaluate(f"() => {script}")


def map_settled(page: Any) -> None:
    """Wait until the app's runs are over and the map has kept its view for half a second (its first view: the
    extent's fit, then the kept view)."""
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
