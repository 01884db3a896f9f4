"""Scale benchmark: plan_undergrounding on a province-sized synthetic network.

The roads are the seeded perturbed grid of :mod:`bench_routing_scale` (``--side 320``: about 200,000 road edges,
120 m blocks, a 38 km square), one LineString per block with a street name per grid row and column.  About 20,000
poles stand 3 m beside the streets of a sparser grid of pole lines (every third row and column, poles about every
40 m), each line a cable route of aerial spans between neighbouring poles (telecom, shared and power poles, fibre
and copper spans).  Nine exchanges with fibre on a 3 x 3 layout, a few existing duct banks, 144 communes in 4
districts and two penalty zones complete the layers.  The zone is a square of ``--zone-km`` km in the middle.

The plan is run in a fresh subprocess per variant and timed step by step through the ``progress`` callback:

- ``plan_undergrounding`` as a user calls it (a roads layer this large is clipped to the zone and the way to its
  exchanges before the graph is built, see :mod:`gisplan.underground._clip`);
- ``--no-clip``: the graph of the whole roads layer (the behaviour before the clipping), to compare;
- ``--profile``: under cProfile (top functions printed);
- ``--zones 1 3 10``: the growth table of issue 12 section 5, one fresh process per zone, one after the other:
  spans, road edges, graph + Steiner seconds, whole plan seconds, their ratio, peak memory, and the growth
  exponent of the plan time between consecutive sizes, ``log(t2 / t1) / log(n2 / n1)`` in the number of spans
  ``n``, beside that of ``n log n``; with the CPU seconds of every step (``time.process_time``, less sensitive
  than wall-clock time to the other jobs of a shared machine; the exponents are computed from CPU seconds).

Each process routes a 100-node graph before the clock starts, so that numba's import and the load (or the first
compilation) of its machine code are not counted in the Steiner step.

Usage::

    python benchmarks/bench_underground_scale.py                  # writes benchmarks/results/underground_scale.md
    python benchmarks/bench_underground_scale.py --side 120       # quick small run
    python benchmarks/bench_underground_scale.py --no-clip --label "whole layer"
    python benchmarks/bench_underground_scale.py --zones 1 3 10   # the growth table (a few minutes)
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from bench_routing_scale import synthetic_edges  # noqa: E402

CRS = "EPSG:32648"


def layers_for(side: int, *, zone_km: float, seed: int = 7) -> tuple[dict, object]:
    """The synthetic layers and the zone (a GeoDataFrame) for a grid of ``side`` x ``side`` nodes."""
    import geopandas as gpd
    import shapely

    xy, edges, diag = synthetic_edges(side, seed)
    rng = np.random.default_rng(seed + 3)
    m = len(edges)
    i0, j0 = np.divmod(edges[:, 0], side)
    i1, j1 = np.divmod(edges[:, 1], side)
    horiz = (i0 == i1) & ~diag
    vert = (j0 == j1) & ~diag
    names = np.where(horiz, np.char.add("Row ", i0.astype(str)), np.char.add("Col ", j0.astype(str))).astype(object)
    names[diag] = None
    classes = np.array(["urban", "district", "rural", "provincial", "national", "track"])[
        rng.choice(6, m, p=[0.45, 0.15, 0.2, 0.1, 0.05, 0.05])
    ]
    surfaces = np.array(["asphalt", "concrete", "gravel", "earth"])[rng.choice(4, m, p=[0.5, 0.2, 0.2, 0.1])]
    roads = gpd.GeoDataFrame(
        {"road_id": [f"R{k}" for k in range(m)], "name": names, "road_class": classes, "surface": surfaces},
        geometry=shapely.linestrings(np.stack([xy[edges[:, 0]], xy[edges[:, 1]]], axis=1)),
        crs=CRS,
    )
    # pole lines: every third row and column in the town (the middle 40 x 40 blocks), every 30th elsewhere;
    # 3 poles per block, 3 m to the side of the street
    present = {(int(a), int(b)) for a, b in edges[horiz | vert].tolist()}
    pole_xy: list[tuple[float, float]] = []
    lines: list[list[int]] = []
    town = range(side // 2 - 20, side // 2 + 20)
    for axis in (0, 1):
        for k in range(1, side - 1):
            if k % 30 != 15 and not (k in town and k % 3 == 1):
                continue
            run: list[int] = []
            for t in range(side - 1):
                a, b = (k * side + t, k * side + t + 1) if axis == 0 else (t * side + k, (t + 1) * side + k)
                if (a, b) not in present or (k % 30 != 15 and t not in town):
                    if len(run) > 1:
                        lines.append(run)
                    run = []
                    continue
                pa, pb = xy[a], xy[b]
                d = (pb - pa) / np.hypot(*(pb - pa))
                off = np.array([-d[1], d[0]]) * 3.0
                for f in (1 / 6, 1 / 2, 5 / 6):
                    run.append(len(pole_xy))
                    pole_xy.append(tuple(pa + f * (pb - pa) + off))
            if len(run) > 1:
                lines.append(run)
    n_poles = len(pole_xy)
    owners = np.array(["telecom", "shared", "power"])[rng.choice(3, n_poles, p=[0.6, 0.3, 0.1])]
    poles = gpd.GeoDataFrame(
        {"pole_id": [f"P{k:06d}" for k in range(n_poles)], "owner": owners},
        geometry=shapely.points(np.array(pole_xy)),
        crs=CRS,
    )
    rows = []
    for r, run in enumerate(lines):
        kind = "fibre" if r % 4 else "copper"
        fc = int(rng.choice([12, 24, 48, 96])) if kind == "fibre" else None
        for a, b in itertools.pairwise(run):
            rows.append((f"C{len(rows):06d}", kind, fc, f"P{a:06d}", f"P{b:06d}", f"L{r:04d}"))
    pts = np.array(pole_xy)
    cables = gpd.GeoDataFrame(
        {
            "cable_id": [x[0] for x in rows],
            "placement": ["aerial"] * len(rows),
            "kind": [x[1] for x in rows],
            "fibre_count": [x[2] for x in rows],
            "owner": ["VNPT"] * len(rows),
            "from_pole": [x[3] for x in rows],
            "to_pole": [x[4] for x in rows],
            "route_id": [x[5] for x in rows],
        },
        geometry=shapely.linestrings(
            np.stack([pts[[int(x[3][1:]) for x in rows]], pts[[int(x[4][1:]) for x in rows]]], axis=1)
        ),
        crs=CRS,
    )
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = hi - lo
    ex = [lo + span * np.array([fx, fy]) for fy in (0.2, 0.5, 0.8) for fx in (0.2, 0.5, 0.8)]
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"EX{k}" for k in range(len(ex))],
            "kind": ["exchange"] * len(ex),
            "name": [f"Exchange {k}" for k in range(len(ex))],
            "has_fibre": [True] * len(ex),
        },
        geometry=shapely.points(np.array(ex) + 30.0),
        crs=CRS,
    )
    # duct banks along a few rows near the centre
    centre = lo + span / 2
    mid = side // 2
    ducts = []
    for k, row in enumerate((mid - 4, mid + 2)):
        a, b = xy[row * side + mid - 10], xy[row * side + mid + 10]
        ducts.append((f"D{k}", 4, 2 + k, shapely.LineString([a, b])))
    ducts_gdf = gpd.GeoDataFrame(
        {"duct_id": [d[0] for d in ducts], "n_ducts": [d[1] for d in ducts], "free_ducts": [d[2] for d in ducts]},
        geometry=[d[3] for d in ducts],
        crs=CRS,
    )
    cons = gpd.GeoDataFrame(
        {"kind": ["heritage", "protected"], "rule": ["penalty", "penalty"], "penalty_factor": [3.0, 2.0]},
        geometry=[
            shapely.Point(centre + np.array([800.0, 600.0])).buffer(400),
            shapely.Point(centre - np.array([5000.0, 3000.0])).buffer(1500),
        ],
        crs=CRS,
    )
    bounds = []
    cells = 12
    w = span / cells
    for a in range(cells):
        for b in range(cells):
            x0, y0 = lo + w * np.array([a, b]) - 1.0
            d = f"D{(a * 2) // cells}{(b * 2) // cells}"
            bounds.append(
                (
                    f"C{a:02d}{b:02d}",
                    f"Commune {a}-{b}",
                    "commune",
                    d,
                    shapely.box(x0, y0, x0 + w[0] + 2, y0 + w[1] + 2),
                )
            )
    for d in sorted({x[3] for x in bounds}):
        geom = shapely.union_all([x[4] for x in bounds if x[3] == d])
        bounds.append((d, f"District {d}", "district", "KG", geom))
    boundaries = gpd.GeoDataFrame(
        {
            "unit_code": [x[0] for x in bounds],
            "name": [x[1] for x in bounds],
            "level": [x[2] for x in bounds],
            "parent_code": [x[3] for x in bounds],
        },
        geometry=[x[4] for x in bounds],
        crs=CRS,
    )
    half = zone_km * 500.0
    zone = gpd.GeoDataFrame({"name": ["centre"]}, geometry=[shapely.box(*(centre - half), *(centre + half))], crs=CRS)
    layers = {
        "roads": roads,
        "poles": poles,
        "cables": cables,
        "sites": sites,
        "ducts": ducts_gdf,
        "constraints": cons,
        "boundaries": boundaries,
    }
    return layers, zone


def _warm_up() -> None:
    """Route a 100-node graph: numba's import and compiled-code load are then paid before the clock starts."""
    import networkx as nx

    from gisplan.routing.steiner import steiner_tree

    warm = nx.convert_node_labels_to_integers(nx.grid_2d_graph(10, 10))
    nx.set_edge_attributes(warm, 1.0, "cost")
    steiner_tree(warm, [0, 55, 99])


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(side: int, zone_km: float, budget: int, profile: bool, no_clip: bool = False) -> dict:
    """Plan the zone once (meant to run in a fresh subprocess); time per step from the progress messages."""
    from gisplan.underground import UndergroundSettings
    from gisplan.underground.planner import UndergroundParams, plan_undergrounding

    # no_clip: the whole roads layer, as before the clipping
    settings = UndergroundSettings(clip_min_roads=sys.maxsize) if no_clip else None

    _warm_up()
    t0 = time.perf_counter()
    layers, zone = layers_for(side, zone_km=zone_km)
    make_s = time.perf_counter() - t0
    steps: list[tuple[float, float, str]] = []
    t0, c0 = time.perf_counter(), time.process_time()

    def progress(msg: str) -> None:
        steps.append((time.perf_counter() - t0, time.process_time() - c0, msg))

    params = UndergroundParams(budget_per_year_vnd=budget)
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        plan = prof.runcall(plan_undergrounding, layers, zone, params, progress=progress, settings=settings)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    else:
        plan = plan_undergrounding(layers, zone, params, progress=progress, settings=settings)
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    marks = [*steps, (total, total_cpu, "done")]
    step_s = {marks[k][2].split(":")[0][:60]: round(marks[k + 1][0] - marks[k][0], 2) for k in range(len(marks) - 1)}
    step_cpu = {marks[k][2].split(":")[0][:60]: round(marks[k + 1][1] - marks[k][1], 3) for k in range(len(marks) - 1)}
    k = plan.kpis
    graph = [m for m in marks if m[2].startswith("building the road graph")]
    after = [m for m in marks if m[2].startswith("shortcut trenches")] or [marks[-1]]
    return {
        "side": side,
        "spans": int(steps[0][2].split()[0]) if steps else 0,
        "graph_edges": int(next((m[2].split()[3] for m in marks if m[2].startswith("Steiner tree over")), 0)),
        "graph_steiner_s": round(after[0][0] - graph[0][0], 2) if graph else None,
        "graph_steiner_cpu_s": round(after[0][1] - graph[0][1], 3) if graph else None,
        "plan_cpu_s": round(total_cpu, 3),
        "steps_cpu_s": step_cpu,
        "road_edges": len(layers["roads"]),
        "poles": len(layers["poles"]),
        "cables": len(layers["cables"]),
        "zone_km": zone_km,
        "make_layers_s": round(make_s, 1),
        "plan_s": round(total, 2),
        "steps_s": step_s,
        "peak_rss_mb": round(_maxrss_mb()),
        "cables_moved": k["n_cables_moved"],
        "trench_km": k["trench_km"],
        "cost_vnd": k["cost_vnd"],
        "steiner_gap": k["steiner_gap"],
        "root_site": k["root_site"],
        "n_phases": k["n_phases"],
        "boq_sha256": hashlib.sha256(plan.boq.to_csv(index=False).encode()).hexdigest()[:16],
    }


def _nlogn_exponent(n1: float, n2: float) -> float:
    """The growth exponent of ``n log n`` between ``n1`` and ``n2``: ``log(f(n2) / f(n1)) / log(n2 / n1)``."""
    return math.log((n2 * math.log(n2)) / (n1 * math.log(n1))) / math.log(n2 / n1)


def _step_name(msg: str) -> str:
    """A progress message without its figures (the same step at every size)."""
    return re.sub(r"\d[\d,.]*", "#", msg).strip()[:48]


def growth_table(rows: list[dict], command: str) -> list[str]:
    """The growth table of issue 12 section 5 (markdown lines) from one run per zone, smallest first."""
    out = [
        "| zone km | spans | road edges (graph) | graph + Steiner s | whole plan s | plan / (graph + Steiner) | "
        "peak MB | plan CPU s | growth exponent of plan CPU s | n log n's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k, r in enumerate(rows):
        if k:
            p = rows[k - 1]
            g = math.log(r["plan_cpu_s"] / p["plan_cpu_s"]) / math.log(r["spans"] / p["spans"])
            exp, ref = f"{g:.2f}", f"{_nlogn_exponent(p['spans'], r['spans']):.2f}"
        else:
            exp = ref = "-"
        out.append(
            f"| {r['zone_km']:g} | {r['spans']:,} | {r['graph_edges']:,} | {r['graph_steiner_s']} | {r['plan_s']} | "
            f"{r['plan_s'] / r['graph_steiner_s']:.1f} | {r['peak_rss_mb']:,} | {r['plan_cpu_s']:.2f} | {exp} | {ref} |"
        )
    out += ["", "CPU seconds per step (`time.process_time`; a step runs from its progress message to the next):", ""]
    names = list(dict.fromkeys(_step_name(k) for r in rows for k in r["steps_cpu_s"]))
    out.append("| step | " + " | ".join(f"{r['zone_km']:g} km" for r in rows) + " | growth exponent |")
    out.append("|---|" + "---|" * (len(rows) + 1))
    for name in names:
        vals = [sum(t for k, t in r["steps_cpu_s"].items() if _step_name(k) == name) for r in rows]
        g = (
            f"{math.log(vals[-1] / vals[-2]) / math.log(rows[-1]['spans'] / rows[-2]['spans']):.2f}"
            if len(rows) > 1 and vals[-2] >= 0.05 and vals[-1] > 0
            else "-"
        )
        out.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in vals) + f" | {g} |")
    out += ["", "(a step's growth exponent: between the last two sizes, where it takes 0.05 s or more)"]
    out += ["", f"`{command}`"]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=320, help="grid side (320 gives about 200,000 road edges)")
    ap.add_argument("--zone-km", type=float, default=3.0, help="side of the square zone in km")
    ap.add_argument("--budget", type=int, default=20_000_000_000, help="yearly budget, VND")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the plan to stderr")
    ap.add_argument("--no-clip", action="store_true", help="build the graph of the whole roads layer")
    ap.add_argument("--label", default="", help="label of this run in the results table (e.g. before/after)")
    ap.add_argument("--zones", type=float, nargs="+", help="the growth table over these zone sides (km), e.g. 1 3 10")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.side, args.zone_km, args.budget, args.profile, args.no_clip)))
        return
    if args.zones:
        _growth(args)
        return
    row = _fresh(args, args.zone_km)
    print(json.dumps(row, indent=1))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "underground_scale.md"
    head = [
        "# Undergrounding at province scale (synthetic)",
        "",
        "`python benchmarks/bench_underground_scale.py` (one fresh process per run; wall-clock seconds on a shared",
        "2-core machine: compare runs made together, not across days).",
        "",
        "| run | road edges | poles | cables | zone | cables moved | plan s | steps (s) | peak RSS MB | trench km | "
        "cost VND | gap | BOQ sha256 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    old = path.read_text(encoding="utf-8").splitlines() if path.exists() else head
    steps = "; ".join(f"{k} {v}" for k, v in row["steps_s"].items())
    line = (
        f"| {args.label or time.strftime('%Y-%m-%d %H:%M')} | {row['road_edges']:,} | {row['poles']:,} | "
        f"{row['cables']:,} | {row['zone_km']} km | {row['cables_moved']:,} | {row['plan_s']} | {steps} | "
        f"{row['peak_rss_mb']} | {row['trench_km']} | {row['cost_vnd']:,} | {row['steiner_gap']:.4f} | "
        f"`{row['boq_sha256']}` |"
    )
    path.write_text("\n".join([*old, line]) + "\n", encoding="utf-8")
    print(line)


def _fresh(args: argparse.Namespace, zone_km: float) -> dict:
    """One plan in a fresh process (its result row)."""
    cmd = [sys.executable, __file__, "--one", "--side", str(args.side), "--zone-km", str(zone_km)]
    cmd += ["--budget", str(args.budget)] + (["--profile"] if args.profile else [])
    cmd += ["--no-clip"] if args.no_clip else []
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent)
    if args.profile:
        print(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _growth(args: argparse.Namespace) -> None:
    """The growth table over ``args.zones`` (printed, appended to results/underground_scale.md, rows to a CSV)."""
    rows = []
    for z in sorted(args.zones):
        rows.append(_fresh(args, z))
        print(f"{z:g} km: {rows[-1]['spans']} spans, plan {rows[-1]['plan_s']} s", flush=True)
    load = os.getloadavg()[0]
    label = args.label or time.strftime("%Y-%m-%d %H:%M")
    command = f"python benchmarks/bench_underground_scale.py --zones {' '.join(f'{z:g}' for z in sorted(args.zones))}"
    lines = [f"### Growth with the zone: {label} (load average {load:.1f} on {os.cpu_count()} cores)", ""]
    lines += growth_table(rows, command)
    lines += ["", "BOQ sha256: " + ", ".join(f"{r['zone_km']:g} km `{r['boq_sha256']}`" for r in rows)]
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "underground_scale.md"
    old = path.read_text(encoding="utf-8").rstrip("\n").splitlines() if path.exists() else []
    path.write_text("\n".join([*old, "", *lines]) + "\n", encoding="utf-8")
    csv_path = RESULTS / "underground_scale_growth.csv"
    cols = [
        "label",
        "zone_km",
        "spans",
        "graph_edges",
        "road_edges",
        "graph_steiner_s",
        "graph_steiner_cpu_s",
        "plan_s",
    ]
    cols += ["plan_cpu_s", "peak_rss_mb", "cost_vnd", "boq_sha256"]
    new = not csv_path.exists()
    with csv_path.open("a", encoding="utf-8") as f:
        if new:
            f.write(",".join(cols) + "\n")
        for r in rows:
            f.write(",".join(str({**r, "label": label}[c]).replace(",", ";") for c in cols) + "\n")


if __name__ == "__main__":
    main()
