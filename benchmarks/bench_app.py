"""Browser benchmark of the app's map: time to the first interactive map, and pan/zoom with 100,000 poles.

Runs a real ``python -m streamlit run app/streamlit_app.py`` on 127.0.0.1 and Debian's Chromium (/usr/bin/chromium,
driven by Playwright; never ``playwright install``), with every non-local request blocked.

1. The Phú Quốc demo: time from navigation to a visible Leaflet map, and to every feature drawn (large layers are
   fetched from /app/static), on a fresh server (cold caches) and on a second visit.
2. The demo with generated poles on land added to its own, 100,000 poles in all: load time, then pan and zoom times
   (from the call to the end of the canvas redraw, two animation frames later).

Usage: ``python benchmarks/bench_app.py [--poles 100000]``; prints a table and writes benchmarks/results/app.md.
"""

from __future__ import annotations

import argparse
import os
import platform
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
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")

    def guard(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/map", wait_until="domcontentloaded")
    page.wait_for_selector(IFRAME, timeout=300_000)
    page.frame_locator(IFRAME).locator(".leaflet-container").wait_for(timeout=300_000)
    t_map = time.perf_counter() - t0
    while _count(page) < expected:
        if time.perf_counter() - t0 > 600:
            raise RuntimeError(f"only {_count(page)} of {expected} features after 600 s")
        page.wait_for_timeout(100)
    t_all = time.perf_counter() - t0
    return t_map, t_all, context, page


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poles", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"needs Debian's Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    from gisplan.demo_data import demo_gpkg_path
    from gisplan.layers import read_layers, write_gpkg

    demo = demo_gpkg_path()
    demo_layers = read_layers(demo)
    rows: list[str] = []
    blocked: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        home = Path(tmp)
        # 1. the demo
        n_demo = _expected(demo_layers)
        proc, url = _start(demo, home)
        try:
            for visit in ("fresh server", "second visit"):
                t_map, t_all, ctx, _page = _visit(browser, url, n_demo, blocked)
                ctx.close()
                rows.append(f"| demo ({n_demo:,} features), {visit} | {t_map:.1f} | {t_all:.1f} | | |")
                print(rows[-1], flush=True)
        finally:
            _stop(proc)
        # 2. 100,000 poles
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
            pan = f"{statistics.median(pans):.0f} / {max(pans):.0f}"
            zoom = f"{statistics.median(zooms):.0f} / {max(zooms):.0f}"
            rows.append(
                f"| demo with {opts.poles:,} poles ({n_big:,} features) | {t_map:.1f} | {t_all:.1f} | {pan} | {zoom} |"
            )
            print(rows[-1], flush=True)
        finally:
            _stop(proc)
        browser.close()
    if blocked:
        sys.exit(f"outside requests were attempted: {blocked}")
    cpu = platform.processor() or platform.machine()
    text = "\n".join(
        [
            "# App map benchmark (benchmarks/bench_app.py)",
            "",
            f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, Debian Chromium headless "
            "(software rendering, --disable-gpu), Playwright; streamlit on 127.0.0.1; every outside request blocked "
            "(none attempted).",
            "",
            "Times in seconds from navigation to /map: `map` = Leaflet map visible in the st_folium iframe, "
            "`all` = every feature drawn (large layers fetched from /app/static as GeoJSON and drawn on a canvas). "
            "Pan/zoom in milliseconds, median / max over the repeats, from the call to the end of the canvas redraw.",
            "",
            "| case | map (s) | all features (s) | pan ms (median / max) | zoom ms (median / max) |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Reproduce: `python benchmarks/bench_app.py --poles {opts.poles} --repeats {opts.repeats}`",
            "",
        ]
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
