"""Browser benchmark of the app against the issue's four targets, on the Phú Quốc demo.

Runs a real ``python -m streamlit run app/streamlit_app.py`` on 127.0.0.1 and Debian's Chromium (/usr/bin/chromium,
driven by Playwright; never ``playwright install``), with every non-local request blocked.

1. First interactive map (target 5 s): time from navigation to the map page (the app's first page, /)
    to a visible Leaflet map, and to every feature
   drawn (large layers are fetched from /app/static), on a fresh server (cold caches) and on a second visit.
2. Drawn zone round trip (target 3 s): on the Undergrounding page, draw a polygon with the leaflet.draw toolbar
   (polygon button, four vertices clicked ~150 ms apart, closed on the first) and time from the closing click until
   the page shows "zones: 1" (the server has the drawing and has rerun the page).
3. Planning the demo zone (target 10 s, with progress shown): on a new session of the Undergrounding page press the
   demo-zone button, then Run; time from the Run click until the KPIs are shown, checking that the progress box
   (st.status) was seen while it ran; also the time until the result map is back.
4. A layer of 100,000 poles still pans and zooms: the demo with generated poles on land added to its own, 100,000
   poles in all: load time, then pan and zoom times (from the call to the end of the canvas redraw, two animation
   frames later).

Usage: ``python benchmarks/bench_app.py [--poles 100000] [--repeats 5] [--only map,draw,plan,poles]``; prints a
table and writes benchmarks/results/app.md (the cases run; its hand-written notes are kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app" / "streamlit_app.py"
RESULTS = REPO / "benchmarks" / "results" / "app.md"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LON, LAT = 103.9607, 10.2201  # central Dương Đông in the demo data
CASES = ("map", "draw", "plan", "poles")
NOTES = "## Notes"
IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
COUNT_JS = "() => window.map ? Object.values(window.map._layers).filter(l => l.feature).length : -1"
MOVE_JS = """async (op) => {
  const m = window.map;
  const t0 = performance.now();
  await new Promise((resolve) => {
    m.once("moveend", resolve);
    if (op === "pan") { m.panBy([250, 150], {animate: false}); }
    else if (op === "in") { m.setZoom(m.getZoom() + 1, {animate: false}); }
    else { m.setZoom(m.getZoom() - 1, {animate: false}); }
  });
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(project: Path, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "HOME": str(home), "GISPLAN_PROJECT": str(project)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1"]
    cmd += ["--server.port", str(port), "--server.headless", "true", "--server.enableStaticServing", "true"]
    cmd += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed with the process below
    proc = subprocess.Popen(cmd, cwd=APP.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit did not start; see " + str(home / "streamlit.log"))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _count(page: Any) -> int:
    from playwright.sync_api import Error

    for frame in page.frames:
        try:
            n = int(frame.evaluate(COUNT_JS))
        except Error:
            continue
        if n >= 0:
            return n
    return -1


def _map_frame(page: Any) -> Any:
    for frame in page.frames:
        try:
            if frame.evaluate("() => !!window.map"):
                return frame
        except Exception:
            continue
    raise RuntimeError("no map frame")


def _visit(browser: Any, url: str, expected: int, blocked: list[str]) -> tuple[float, float, Any, Any]:
    context, page = _new_page(browser, blocked)
    t0 = time.perf_counter()
    page.goto(f"{url}/", wait_until="domcontentloaded")  # the map is the app's first page
    page.wait_for_selector(IFRAME, timeout=300_000)
    page.frame_locator(IFRAME).locator(".leaflet-container").wait_for(timeout=300_000)
    t_map = time.perf_counter() - t0
    while _count(page) < expected:
        if time.perf_counter() - t0 > 600:
            raise RuntimeError(f"only {_count(page)} of {expected} features after 600 s")
        page.wait_for_timeout(100)
    t_all = time.perf_counter() - t0
    return t_map, t_all, context, page


def _new_page(browser: Any, blocked: list[str]) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")

    def guard(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    return context, context.new_page()


def _wait_map(page: Any, *, draw: bool = False, timeout: float = 120_000) -> Any:
    page.wait_for_selector(IFRAME, timeout=timeout)
    frame = page.frame_locator(IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=timeout)
    if draw:
        frame.locator(".leaflet-draw-draw-polygon").wait_for(timeout=timeout)
    return frame


def _draw_round_trip(browser: Any, url: str, blocked: list[str]) -> tuple[float, float]:
    """Draw a square zone on the Undergrounding page; return (drawing time, closing click -> "zones: 1" shown)."""
    from gisplan.i18n import t

    context, page = _new_page(browser, blocked)
    try:
        page.goto(f"{url}/underground", wait_until="domcontentloaded")
        frame = _wait_map(page, draw=True)
        _map_frame(page).evaluate(f"() => window.map.setView([{LAT}, {LON}], 17, {{animate: false}})")
        page.wait_for_timeout(300)
        container = frame.locator(".leaflet-container")
        box = container.bounding_box()
        if box is None:
            raise RuntimeError("the map has no box")
        t_start = time.perf_counter()
        frame.locator(".leaflet-draw-draw-polygon").click()
        cx, cy = box["width"] / 2, box["height"] / 2
        pts = [(cx - 110, cy - 90), (cx + 110, cy - 90), (cx + 110, cy + 90), (cx - 110, cy + 90), (cx - 110, cy - 90)]
        for i, (x, y) in enumerate(pts):
            if i:
                page.wait_for_timeout(150)
            container.click(position={"x": x, "y": y})
        t0 = time.perf_counter()
        page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=60_000)
        t1 = time.perf_counter()
        return t0 - t_start, t1 - t0
    finally:
        context.close()


def _plan_demo_zone(browser: Any, url: str, blocked: list[str]) -> tuple[float, float, float | None]:
    """Demo zone + Run; return (Run click -> KPIs shown, -> result map visible, -> progress box seen)."""
    from gisplan.i18n import t

    context, page = _new_page(browser, blocked)
    try:
        page.goto(f"{url}/underground", wait_until="domcontentloaded")
        _wait_map(page)
        page.get_by_role("button", name=t("app.ug.demo_zone", "vi")).click()
        page.get_by_text(t("app.ug.zones", "vi", n=1)).wait_for(timeout=60_000)
        _wait_map(page)
        run = page.get_by_role("button", name=t("app.run.button", "vi"))
        run.wait_for(timeout=60_000)
        page.wait_for_function("(b) => !b.disabled", arg=run.element_handle(), timeout=60_000)
        # the progress box: "planning..." then "progress: <stage>", in Vietnamese
        running = page.get_by_text(
            re.compile(
                "^("
                + re.escape(t("app.run.running", "vi"))
                + "|"
                + re.escape(t("app.run.progress", "vi", stage=""))
                + ")"
            )
        )
        kpi = page.get_by_text(t("kpi.trench_km", "vi"))
        t0 = time.perf_counter()
        run.click()
        t_status: float | None = None
        while True:
            if t_status is None and running.count() and running.first.is_visible():
                t_status = time.perf_counter() - t0
            if kpi.count() and kpi.first.is_visible():
                break
            if time.perf_counter() - t0 > 300:
                raise RuntimeError("no KPIs 300 s after Run")
            page.wait_for_timeout(50)
        t_kpi = time.perf_counter() - t0
        _wait_map(page)
        t_map = time.perf_counter() - t0
        return t_kpi, t_map, t_status
    finally:
        context.close()


def _expected(layers: dict[str, gpd.GeoDataFrame]) -> int:
    return sum(int((~(v.geometry.isna() | v.geometry.is_empty)).sum()) for v in layers.values())


def _many_poles(layers: dict[str, gpd.GeoDataFrame], n: int, seed: int = 20260101) -> gpd.GeoDataFrame:
    land = shapely.union_all(layers["land"].geometry.values)
    minx, miny, maxx, maxy = land.bounds
    rng = np.random.default_rng(seed)
    pts: list[Any] = []
    while len(pts) < n:
        cand = shapely.points(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n))
        pts.extend(
            cand[shapely.contains_xy(land, shapely.get_coordinates(cand)[:, 0], shapely.get_coordinates(cand)[:, 1])]
        )
    owners = np.array(["telecom", "power", "shared"])[rng.integers(0, 3, n)]
    return gpd.GeoDataFrame(
        {"pole_id": [f"BP{i:06d}" for i in range(n)], "owner": owners, "material": "concrete", "height_m": 8.0},
        geometry=pts[:n],
        crs=layers["land"].crs,
    )


def _row(target: str, case: str, value: float, limit: float | None, details: str = "") -> str:
    verdict = "" if limit is None else ("met" if value <= limit else "**not met**")
    goal = "" if limit is None else f"{limit:g} s"
    return f"| {target} | {case} | {value:.1f} s | {goal} | {verdict} | {details} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}")
    opts = parser.parse_args()
    only = [c.strip() for c in opts.only.split(",") if c.strip()]
    load = os.getloadavg()[0]
    if unknown := sorted(set(only) - set(CASES)):
        sys.exit(f"unknown case(s) {unknown}; choose among {', '.join(CASES)}")
    if not Path(CHROMIUM).is_file():
        sys.exit(f"needs Debian's Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    from gisplan.demo.data import demo_gpkg_path
    from gisplan.io.layers import read_layers, write_gpkg

    demo = demo_gpkg_path()
    demo_layers = read_layers(demo)
    rows: list[str] = []
    blocked: list[str] = []

    def emit(row: str) -> None:
        rows.append(row)
        print(row, flush=True)

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        home = Path(tmp)
        n_demo = _expected(demo_layers)
        if {"map", "draw", "plan"} & set(only):
            proc, url = _start(demo, home)
            try:
                if "map" in only:  # first, while the server is fresh
                    for visit in ("fresh server", "second visit"):
                        t_map, t_all, ctx, _page = _visit(browser, url, n_demo, blocked)
                        ctx.close()
                        emit(
                            _row(
                                "first interactive map",
                                f"map page, demo ({n_demo:,} features), {visit}",
                                t_map,
                                5.0,
                                f"every feature drawn at {t_all:.1f} s",
                            )
                        )
                if "draw" in only:
                    t_draw, t_trip = _draw_round_trip(browser, url, blocked)
                    emit(
                        _row(
                            "drawn zone reaches the server",
                            "/underground, polygon of 4 vertices",
                            t_trip,
                            3.0,
                            f"from the closing click to 'zones: 1' shown (drawing itself took {t_draw:.1f} s)",
                        )
                    )
                if "plan" in only:
                    t_kpi, t_map, t_status = _plan_demo_zone(browser, url, blocked)
                    seen = "not seen" if t_status is None else f"seen at {t_status:.1f} s"
                    emit(
                        _row(
                            "planning the demo zone",
                            "/underground, demo zone, Run",
                            t_kpi,
                            10.0,
                            f"Run click to KPIs shown; progress box {seen}; result map back at {t_map:.1f} s",
                        )
                    )
            finally:
                _stop(proc)
        if "poles" in only:
            # keep the demo's poles (its cables refer to them) and add generated ones up to --poles in total
            demo_poles = demo_layers["poles"]
            extra = _many_poles(demo_layers, max(opts.poles - len(demo_poles), 0))
            big = {
                **demo_layers,
                "poles": gpd.GeoDataFrame(pd.concat([demo_poles, extra], ignore_index=True), crs=demo_poles.crs),
            }
            big_path = write_gpkg(big, home / "poles_100k.gpkg")
            n_big = _expected(big)
            proc, url = _start(big_path, home)
            try:
                t_map, t_all, ctx, page = _visit(browser, url, n_big, blocked)
                frame = _map_frame(page)
                pans = [float(frame.evaluate(MOVE_JS, "pan")) for _ in range(opts.repeats)]
                zooms = []
                for _ in range(opts.repeats):
                    zooms.append(float(frame.evaluate(MOVE_JS, "in")))
                    zooms.append(float(frame.evaluate(MOVE_JS, "out")))
                ctx.close()
                emit(
                    _row(
                        "100,000 poles pan and zoom",
                        f"map page, demo with {opts.poles:,} poles ({n_big:,} features), fresh server",
                        t_map,
                        None,
                        f"first map; every feature at {t_all:.1f} s; "
                        f"pan {statistics.median(pans):.0f} ms median / {max(pans):.0f} ms max, "
                        f"zoom {statistics.median(zooms):.0f} / {max(zooms):.0f} ms",
                    )
                )
            finally:
                _stop(proc)
        browser.close()
    if blocked:
        sys.exit(f"outside requests were attempted: {blocked}")
    cpu = platform.processor() or platform.machine()
    # hand-written notes below the table (from "## Notes" on) are kept across runs
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    notes = old[old.index(NOTES) :] if NOTES in old else ""
    text = "\n".join(
        [
            "# App benchmark (benchmarks/bench_app.py)",
            "",
            f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, Debian Chromium headless "
            "(software rendering, --disable-gpu), Playwright; streamlit on 127.0.0.1; every outside request blocked "
            "(none attempted). Each browser visit is a new browser context (empty HTTP cache, new Streamlit session). "
            f"Load average when the run started: {load:.1f} (other work on the machine slows every figure).",
            "",
            "The issue's targets, measured on the Phú Quốc demo. `map` = the Leaflet map visible in the st_folium "
            "iframe, counted from navigation; large layers are fetched from /app/static as GeoJSON and drawn on a "
            "canvas. Pan/zoom in milliseconds from the call to the end of the canvas redraw (two animation frames).",
            "",
            "| target | case | measured | target | | details |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "Reproduce: `python benchmarks/bench_app.py "
            + (f"--only {','.join(only)}" if set(only) != set(CASES) else f"--poles {opts.poles}")
            + f" --repeats {opts.repeats}`",
            "",
        ]
    )
    if notes:
        text += "\n" + notes
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
