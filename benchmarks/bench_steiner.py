"""SteinLib benchmark: gisplan.routing.steiner.steiner_tree against networkx's approximation, side by side.

For every instance of the chosen series (B, C, D, E in ``../shared/benchmarks/steinlib``) it reports the cost of
both, their gap to the known optimum, gisplan's proven gap (from its own lower bound, i.e. without knowing the
optimum) and the wall-clock times.  Results go to ``benchmarks/results/steiner_<series>.csv`` and
``benchmarks/results/steiner.md``.

``--settings thorough`` (the default here) runs ``steiner_tree(G, terminals, settings=THOROUGH_SETTINGS)``, the
quality the undergrounding planner asks for; ``--settings default`` runs the library's fast default call (CSVs
``steiner_default_<series>.csv``).

Usage::

    python benchmarks/bench_steiner.py --series B C D
    python benchmarks/bench_steiner.py --series B C D --settings default --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _steinlib import STEINLIB_DIR, read_optima, read_stp  # noqa: E402

from gisplan.routing.settings import DEFAULT_SETTINGS, THOROUGH_SETTINGS  # noqa: E402
from gisplan.routing.steiner import steiner_tree  # noqa: E402

SETTINGS = {"thorough": THOROUGH_SETTINGS, "default": DEFAULT_SETTINGS}

RESULTS = HERE / "results"


def warm_up(options: dict) -> None:
    """Load numba's compiled kernels (once per process; not counted): a graph small enough for the
    Dreyfus-Wagner programme, one for the multistart search, and one for the key-path exchange alone."""
    for side, terms in ((10, [0, 55, 99]), (10, list(range(0, 100, 9))), (75, list(range(0, 5625, 470)))):
        G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(side, side))
        nx.set_edge_attributes(G, 1.0, "cost")
        steiner_tree(G, terms, **options)


def run_series(
    series: str,
    optima: dict[tuple[str, str], float],
    options: dict,
    only: list[str] | None = None,
    repeat: int = 1,
) -> pd.DataFrame:
    rows = []
    for path in sorted((STEINLIB_DIR / series).glob("*.stp")):
        if only and path.stem not in only:
            continue
        G, terms = read_stp(path)
        opt = optima[(series, path.name)]
        nx_s = s = float("inf")
        for _ in range(repeat):  # alternating; the fastest of each side
            t0 = time.perf_counter()
            nx_tree = nx.algorithms.approximation.steiner_tree(G, terms, weight="cost")
            nx_s = min(nx_s, time.perf_counter() - t0)
            t0 = time.perf_counter()
            T = steiner_tree(G, terms, **options)
            s = min(s, time.perf_counter() - t0)
        nx_cost = float(nx_tree.size(weight="cost"))
        row = {
            "series": series,
            "instance": path.stem,
            "nodes": G.number_of_nodes(),
            "edges": G.number_of_edges(),
            "terminals": len(terms),
            "optimum": opt,
            "gisplan_cost": T.graph["cost"],
            "gisplan_gap": (T.graph["cost"] - opt) / opt,
            "lower_bound": T.graph["lower_bound"],
            "proven_gap": T.graph["gap"],
            "method": T.graph["method"],
            "bound_method": T.graph["lower_bound_method"],
            "gisplan_s": round(s, 4),
            "networkx_cost": nx_cost,
            "networkx_gap": (nx_cost - opt) / opt,
            "networkx_s": round(nx_s, 4),
        }
        rows.append(row)
        print(
            f"{series} {path.stem:>4} n={row['nodes']:>5} m={row['edges']:>6} t={row['terminals']:>4} opt={opt:>7g} "
            f"gisplan={row['gisplan_cost']:>7g} ({row['gisplan_gap']:6.2%}, proven <= {row['proven_gap']:6.2%}, "
            f"{s:6.2f} s)  networkx={nx_cost:>7g} ({row['networkx_gap']:6.2%}, {nx_s:5.2f} s)",
            flush=True,
        )
    return pd.DataFrame(rows)


def summary(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("series")
    return pd.DataFrame(
        {
            "instances": g.size(),
            "gisplan_mean_gap": g.gisplan_gap.mean(),
            "gisplan_max_gap": g.gisplan_gap.max(),
            "gisplan_optimal": g.apply(lambda x: int((x.gisplan_gap <= 1e-9).sum()), include_groups=False),
            "proven_mean_gap": g.proven_gap.mean(),
            "proven_max_gap": g.proven_gap.max(),
            "networkx_mean_gap": g.networkx_gap.mean(),
            "networkx_max_gap": g.networkx_gap.max(),
            "networkx_optimal": g.apply(lambda x: int((x.networkx_gap <= 1e-9).sum()), include_groups=False),
            "worse_than_networkx": g.apply(
                lambda x: int((x.gisplan_cost > x.networkx_cost + 1e-9).sum()), include_groups=False
            ),
            "slower_than_networkx": g.apply(
                lambda x: (
                    ", ".join(
                        f"{r.instance} {r.networkx_s / r.gisplan_s:.2f}x"
                        for r in x.itertuples()
                        if r.gisplan_s > r.networkx_s
                    )
                    or "none"
                ),
                include_groups=False,
            ),
            "min_time_ratio": g.apply(lambda x: (x.networkx_s / x.gisplan_s).min(), include_groups=False),
            "gisplan_s_total": g.gisplan_s.sum(),
            "gisplan_s_max": g.gisplan_s.max(),
            "networkx_s_total": g.networkx_s.sum(),
        }
    ).reset_index()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", nargs="+", default=["B", "C", "D"])
    ap.add_argument("--effort", type=float, help="steiner_tree(effort=...); default: the function's default")
    ap.add_argument("--starts", type=int, help="steiner_tree(starts=...); default: the function's default")
    ap.add_argument("--only", nargs="+", help="instance names (e.g. d05 d10) for a quick run; no files written")
    ap.add_argument("--settings", choices=sorted(SETTINGS), default="thorough", help="RoutingSettings preset")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per instance and side, alternating; the fastest is kept"
    )
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error(f"--repeat must be at least 1, not {args.repeat}")
    options = {k: v for k, v in (("effort", args.effort), ("starts", args.starts)) if v is not None}
    prefix = "steiner_" if args.settings == "thorough" else f"steiner_{args.settings}_"
    if not STEINLIB_DIR.is_dir():
        sys.exit(f"SteinLib instances not found at {STEINLIB_DIR}; ../shared/benchmarks is needed")
    optima = read_optima()
    RESULTS.mkdir(exist_ok=True)
    frames = []
    call = {**options, "settings": SETTINGS[args.settings]}
    warm_up(call)
    for series in args.series:
        df = run_series(series, optima, call, args.only, args.repeat)
        if args.only:
            print(summary(df).to_string())
            continue
        df.to_csv(RESULTS / f"{prefix}{series}.csv", index=False)
        frames.append(df)
    if args.only:
        return
    every = [pd.read_csv(p) for p in sorted(RESULTS.glob(f"{prefix}[A-Z].csv"))]
    summ = summary(pd.concat(every, ignore_index=True))
    lines = ["# SteinLib: gisplan.routing.steiner.steiner_tree vs networkx approximation.steiner_tree (Mehlhorn)", ""]
    lines.append(
        "| series | n | gisplan mean / max gap | optimal | proven gap mean / max | networkx mean / max gap | "
        "nx optimal | worse than nx | gisplan s total (max) | networkx s total | lowest time ratio | "
        "slower than nx (time ratio) |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in summ.itertuples():
        lines.append(
            f"| {r.series} | {r.instances} | {r.gisplan_mean_gap:.2%} / {r.gisplan_max_gap:.2%} | "
            f"{r.gisplan_optimal} | {r.proven_mean_gap:.2%} / {r.proven_max_gap:.2%} | "
            f"{r.networkx_mean_gap:.2%} / {r.networkx_max_gap:.2%} | "
            f"{r.networkx_optimal} | {r.worse_than_networkx} | {r.gisplan_s_total:.3f} ({r.gisplan_s_max:.3f}) | "
            f"{r.networkx_s_total:.3f} | {r.min_time_ratio:.2f}x | {r.slower_than_networkx} |"
        )
    lines += [
        "",
        "Gaps are (cost - optimum) / optimum; proven gap is (cost - lower bound) / cost, known without the",
        "optimum. Times are wall-clock on the machine that ran the benchmark (shared, 2 cores), the fastest of "
        f"{args.repeat} alternating run(s) per instance and side, after a warm-up that loads the compiled kernels; "
        "time ratio: networkx's time / gisplan's.",
        f"steiner_tree options: settings={args.settings} {options or ''}.  Command: "
        f"`python benchmarks/bench_steiner.py --series {' '.join(args.series)} --settings {args.settings}"
        f" --repeat {args.repeat}" + "".join(f" --{k} {v}" for k, v in options.items()) + "`.",
    ]
    (RESULTS / f"{prefix.rstrip('_')}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
