"""Scale benchmark: gisplan.routing.steiner.steiner_tree against networkx's Mehlhorn on a ~1,000,000-edge road-like graph.

The graph is a seeded perturbed grid (710 x 710 nodes, 120 m spacing, nodes jittered, 6 % of the streets deleted,
a diagonal shortcut in 12 % of the blocks, largest component kept), about 1.0 million edges.  It is measured twice,
as a user calls it:

- ``roads``: built as a roads GeoDataFrame (random surface and class) through ``graph_from_roads(noded=True)``,
  which keeps the array form beside the networkx graph; then ``steiner_tree`` vs networkx
  ``approximation.steiner_tree(method="mehlhorn")`` on that same graph.
- ``plain``: a plain ``networkx.Graph`` with a ``cost`` per edge (our conversion to arrays included).

Every (graph, method, terminal count) runs in its own subprocess; time is wall-clock of the call, peak memory is
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that subprocess after the call (whole process: graph included) and
the increase of that high-water mark during the call.

Usage::

    python benchmarks/bench_routing_scale.py                 # full run, writes benchmarks/results/routing_scale.*
    python benchmarks/bench_routing_scale.py --side 200      # quick small run
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def synthetic_edges(side: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (xy of nodes, edge endpoints (m, 2), is_diagonal) of the perturbed grid, largest component only."""
    from scipy import sparse
    from scipy.sparse import csgraph

    rng = np.random.default_rng(seed)
    spacing = 120.0
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.stack([jj.ravel() * spacing, ii.ravel() * spacing], axis=1) + rng.uniform(-25, 25, (side * side, 2))
    xy += np.array([500_000.0, 1_100_000.0])  # UTM 48N, near Phú Quốc
    idx = np.arange(side * side).reshape(side, side)
    horiz = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
    vert = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
    street = np.concatenate([horiz, vert])
    street = street[rng.random(len(street)) >= 0.06]
    cells = idx[:-1, :-1].ravel()
    pick = rng.random(len(cells)) < 0.12
    flip = rng.random(len(cells)) < 0.5
    diag = np.where(flip[:, None], np.stack([cells, cells + side + 1], 1), np.stack([cells + 1, cells + side], 1))[pick]
    edges = np.concatenate([street, diag])
    is_diag = np.concatenate([np.zeros(len(street), bool), np.ones(len(diag), bool)])
    n = side * side
    g = sparse.coo_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _k, lab = csgraph.connected_components(g, directed=False)
    main = np.argmax(np.bincount(lab))
    keep = lab[edges[:, 0]] == main
    return xy, edges[keep], is_diag[keep]


def roads_frame(xy: np.ndarray, edges: np.ndarray, seed: int = 7):
    """A roads GeoDataFrame with one LineString per edge (random surface and class, seeded)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed + 1)
    m = len(edges)
    lines = shapely.linestrings(np.stack([xy[edges[:, 0]], xy[edges[:, 1]]], axis=1))
    classes = np.array(["urban", "district", "rural", "provincial", "track"])[
        rng.choice(5, m, p=[0.4, 0.2, 0.2, 0.1, 0.1])
    ]
    surfaces = np.array(["asphalt", "concrete", "gravel", "earth"])[rng.choice(4, m, p=[0.5, 0.2, 0.2, 0.1])]
    return gpd.GeoDataFrame(
        {"road_id": np.arange(m), "name": [None] * m, "road_class": classes, "surface": surfaces},
        geometry=lines,
        crs="EPSG:32648",
    )


def plain_graph(xy: np.ndarray, edges: np.ndarray, seed: int = 7):
    import networkx as nx

    rng = np.random.default_rng(seed + 2)
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    cost = length * rng.choice([250_000.0, 400_000.0, 770_000.0, 900_000.0], len(edges))
    G = nx.Graph()
    G.add_weighted_edges_from(
        zip(edges[:, 0].tolist(), edges[:, 1].tolist(), cost.tolist(), strict=True), weight="cost"
    )
    return G


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_one(graph: str, method: str, n_terms: int, side: int) -> dict:
    """One measurement (meant to run in a fresh subprocess)."""
    import networkx as nx

    from gisplan.routing.graph import graph_from_roads
    from gisplan.routing.steiner import steiner_tree

    xy, edges, _diag = synthetic_edges(side)
    t0 = time.perf_counter()
    if graph == "roads":
        G = graph_from_roads(roads_frame(xy, edges), noded=True, snap_tolerance_m=0.0)
    else:
        G = plain_graph(xy, edges)
    build_s = time.perf_counter() - t0
    nodes = sorted(G.nodes)
    rng = np.random.default_rng(11 + n_terms)
    terms = [nodes[k] for k in rng.choice(len(nodes), n_terms, replace=False)]
    before = _maxrss_mb()
    t0 = time.perf_counter()
    if method == "gisplan":
        T = steiner_tree(G, terms)
        cost, extra = T.graph["cost"], {"lower_bound": T.graph["lower_bound"], "gap": T.graph["gap"]}
        seconds = time.perf_counter() - t0
        after = _maxrss_mb()
        # the dual ascent bound on its own (lower_bound="auto" keeps Mehlhorn's above 300,000 edges)
        from gisplan.routing._arrays import graph_arrays
        from gisplan.routing._bounds import dual_ascent

        A = graph_arrays(G, "cost")
        t1 = time.perf_counter()
        lb = dual_ascent(A, np.array([A.index[t] for t in terms]))
        extra |= {"da_seconds": round(time.perf_counter() - t1, 2), "da_gap": (cost - lb) / cost}
        extra |= {"da_peak_rss_mb": round(_maxrss_mb(), 1)}
    else:
        T = nx.algorithms.approximation.steiner_tree(G, terms, weight="cost", method="mehlhorn")
        cost, extra = float(T.size(weight="cost")), {}
        seconds = time.perf_counter() - t0
        after = _maxrss_mb()
    return {
        "graph": graph,
        "method": method,
        "terminals": n_terms,
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "build_s": round(build_s, 2),
        "seconds": round(seconds, 3),
        "cost": cost,
        "peak_rss_mb": round(after, 1),
        "call_rss_increase_mb": round(after - before, 1),
        **extra,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=710, help="grid side (710 gives about 1.0 M edges)")
    ap.add_argument("--terminals", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--graphs", nargs="+", default=["roads", "plain"])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        graph, method, n = args.one.split(",")
        print(json.dumps(run_one(graph, method, int(n), args.side)))
        return
    rows = []
    for graph in args.graphs:
        for n in args.terminals:
            for method in ("gisplan", "networkx"):
                cmd = [sys.executable, __file__, "--side", str(args.side), "--one", f"{graph},{method},{n}"]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE.parent)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    import pandas as pd

    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "routing_scale.csv", index=False)
    lines = [
        f"# Steiner tree at scale (grid side {args.side}: {rows[0]['edges']:,} edges)",
        "",
        "| graph | terminals | gisplan s | networkx s | speed-up | cost ratio (gisplan / networkx) | proven gap | "
        "gisplan peak RSS MB (call +) | networkx peak RSS MB (call +) | graph build s | dual ascent gap | "
        "dual ascent s | peak RSS MB after dual ascent |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (graph, n), grp in df.groupby(["graph", "terminals"], sort=False):
        ours = grp[grp.method == "gisplan"].iloc[0]
        nxr = grp[grp.method == "networkx"].iloc[0]
        lines.append(
            f"| {graph} | {n} | {ours.seconds:.2f} | {nxr.seconds:.2f} | {nxr.seconds / ours.seconds:.1f}x | "
            f"{ours.cost / nxr.cost:.4f} | {ours.gap:.2%} | "
            f"{ours.peak_rss_mb:.0f} (+{ours.call_rss_increase_mb:.0f}) | "
            f"{nxr.peak_rss_mb:.0f} (+{nxr.call_rss_increase_mb:.0f}) | {ours.build_s:.1f} | "
            f"{ours.da_gap:.2%} | {ours.da_seconds:.1f} | {ours.da_peak_rss_mb:.0f} |"
        )
    lines += [
        "",
        "proven gap: steiner_tree's own (lower_bound=\"auto\": Mehlhorn's cost / (2 - 2/l) above 300,000 edges).",
        "dual ascent gap / s: gisplan.routing._bounds.dual_ascent run on the same graph and terminals after the call",
        '(what lower_bound="dual_ascent" adds), gap against gisplan\'s tree.',
    ]
    (RESULTS / "routing_scale.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
