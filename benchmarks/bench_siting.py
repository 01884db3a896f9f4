"""Site selection side by side with spopt (PuLP + CBC).

Run from the repository root::

    python benchmarks/bench_siting.py            # everything (a few minutes)
    python benchmarks/bench_siting.py --quick    # SF reproduction and the small synthetic sizes

Prints a table and writes ``benchmarks/results/siting.md``.

1. spopt's San Francisco data (205 tracts x 16 stores, network distances, in
   spopt's wheel): MCLP with radius 5000 m and p = 4; both tools must leave 21
   tracts uncovered.
2. Synthetic seeded instances (clustered demand points in a plane, coverage =
   within a radius, weights = populations, costs varying): with p (spopt's
   MCLP, exactly p sites) at sizes both solve; and with a budget, up to
   20,000 demand points x 2,000 candidates.  spopt has no budgeted MCLP, so the
   budget rows are compared with PuLP + CBC on spopt's formulation with a budget
   row in place of the p row.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gisplan.wifi.siting import cover_all, maximize_coverage  # noqa: E402

CBC_TIME_LIMIT_S = 300
#: CBC is run up to this many demand rows (spopt needs a dense cost matrix; 20,000 x 2,000 took more than
#: 8 minutes just to build its PuLP model here, before CBC started).
CBC_MAX_DEMAND = 10_000


def synthetic(n_demand: int, n_sites: int, *, seed: int, radius_m: float = 2000.0, side_m: float = 60_000.0):
    """Clustered demand points, uniform candidate sites, coverage within ``radius_m``."""
    rng = np.random.default_rng(seed)
    n_towns = max(n_demand // 200, 5)
    towns = rng.random((n_towns, 2)) * side_m
    which = rng.integers(0, n_towns, n_demand)
    spread = rng.uniform(500, 3000, n_towns)[which]
    demand = np.clip(towns[which] + rng.normal(size=(n_demand, 2)) * spread[:, None], 0, side_m)
    sites = rng.random((n_sites, 2)) * side_m
    weights = rng.lognormal(mean=4.0, sigma=1.0, size=n_demand).round().astype(np.int64) + 1
    costs = (rng.lognormal(mean=np.log(300), sigma=0.4, size=n_sites).round() * 1_000_000).astype(np.float64)
    pairs = cKDTree(demand).query_ball_tree(cKDTree(sites), r=radius_m)
    rows = np.repeat(np.arange(n_demand), [len(p) for p in pairs])
    cols = np.fromiter((j for p in pairs for j in p), dtype=np.int64, count=rows.size)
    coverage = sp.csr_matrix((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n_demand, n_sites))
    return coverage, weights, costs


def spopt_mclp(coverage: sp.csr_matrix, weights: np.ndarray, p: int) -> tuple[float, float]:
    """spopt's MCLP (exactly p sites), CBC; returns (covered weight, seconds incl. model building)."""
    import pulp
    from spopt.locate import MCLP

    start = time.perf_counter()
    distance = np.where(coverage.toarray(), 0.0, 2.0)  # covered iff distance <= 1
    model = MCLP.from_cost_matrix(distance, weights, service_radius=1.0, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=CBC_TIME_LIMIT_S), results=False)
    seconds = time.perf_counter() - start
    value = float(pulp.value(model.problem.objective))
    return value, seconds


def pulp_budget_mclp(coverage: sp.csr_matrix, weights: np.ndarray, costs: np.ndarray, budget: float):
    """spopt's MCLP formulation with a budget row instead of the p row, PuLP + CBC."""
    import pulp

    start = time.perf_counter()
    n_rows, n_sites = coverage.shape
    problem = pulp.LpProblem("mclp_budget", pulp.LpMaximize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(n_sites)]
    x = [pulp.LpVariable(f"x{i}", cat="Binary") for i in range(n_rows)]
    problem += pulp.lpSum(float(weights[i]) * x[i] for i in range(n_rows))
    for i in range(n_rows):
        cols = coverage.indices[coverage.indptr[i] : coverage.indptr[i + 1]]
        problem += pulp.lpSum(y[j] for j in cols) >= x[i]
    problem += pulp.lpSum(float(costs[j]) * y[j] for j in range(n_sites)) <= budget
    problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=CBC_TIME_LIMIT_S))
    seconds = time.perf_counter() - start
    status = pulp.LpStatus[problem.status]
    return float(pulp.value(problem.objective)), seconds, status


def san_francisco() -> list[str]:
    import pandas as pd
    import pulp
    from spopt.locate import MCLP

    data = Path(importlib.util.find_spec("spopt").origin).parent / "tests" / "test_locate" / "data"
    distance = pd.read_csv(data / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    matrix = distance.pivot_table(values="distance", index="DestinationName", columns="name").to_numpy()
    weights = pd.read_csv(data / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")["POP2000"].to_numpy()
    start = time.perf_counter()
    spopt_model = MCLP.from_cost_matrix(matrix, weights, service_radius=5000.0, p_facilities=4)
    spopt_model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_s = time.perf_counter() - start
    ours = maximize_coverage(matrix <= 5000.0, weights, p=4)
    return [
        "| tool | uncovered tracts | covered % | covered population | sites | seconds |",
        "|---|---|---|---|---|---|",
        f"| spopt MCLP (PuLP + CBC) | {spopt_model.n_cli_uncov} | {spopt_model.perc_cov:.3f} | "
        f"{pulp.value(spopt_model.problem.objective):,.0f} | 4 | {spopt_s:.3f} |",
        f"| gisplan maximize_coverage ({ours.solver}, {ours.status}) | {int((~ours.covered).sum())} | "
        f"{100 * ours.covered.mean():.3f} | {ours.covered_weight:,.0f} | {len(ours.selected)} | {ours.time_s:.3f} |",
    ]


def time_limit_rows(n: int = 200_000, m: int = 20_000, limit_s: float = 10.0) -> list[str]:
    """Wall time of both models under ``time_limit_s`` on an instance whose HiGHS set-up alone outlasts the limit
    (HiGHS 1.16 spent 25-31 s in its set-up here, ignoring the limit; gisplan then does not start it)."""
    import time

    coverage, weights, costs = synthetic(n, m, seed=1)
    out = [
        "",
        f"## Time limit ({n:,} x {m:,}, {coverage.nnz:,} non-zeros, time_limit_s = {limit_s:g})",
        "",
        "| model | wall s | status | gap | solver |",
        "|---|---|---|---|---|",
    ]
    for name, call in (
        ("cover_all", lambda: cover_all(coverage, site_costs=costs, time_limit_s=limit_s)),
        (
            "maximize_coverage (budget 1/50 of all sites)",
            lambda: maximize_coverage(
                coverage, weights, budget=float(costs.sum() / 50), site_costs=costs, time_limit_s=limit_s
            ),
        ),
    ):
        start = time.perf_counter()
        res = call()
        wall = time.perf_counter() - start
        row = f"| {name} | {wall:.1f} | {res.status} | {100 * res.gap:.2f}% | {res.solver} |"
        out.append(row)
        print(row, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the large sizes")
    args = parser.parse_args()
    have_spopt = importlib.util.find_spec("spopt") is not None
    quick = " --quick" if args.quick else ""
    lines = ["# Site selection benchmark (gisplan vs spopt)", ""]
    lines += [
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; "
        f"CBC time limit {CBC_TIME_LIMIT_S} s. Command: `python benchmarks/bench_siting.py{quick}`.",
        "",
    ]
    if have_spopt:
        lines += ["## spopt's San Francisco MCLP (radius 5000 m, p = 4)", "", *san_francisco(), ""]
    else:
        lines += ["spopt is not installed: San Francisco reproduction and CBC columns skipped.", ""]

    lines += [
        "## Synthetic, p sites (spopt's MCLP asks for exactly p; gisplan for at most p)",
        "",
        "| demand x sites | nnz | p | spopt s | gisplan s | speed-up | spopt value | gisplan value | equal | "
        "status | gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    p_sizes = [(2000, 200, 20), (5000, 500, 40), (10000, 1000, 60)]
    if not args.quick:
        p_sizes.append((20000, 2000, 100))
    for n, m, p in p_sizes:
        coverage, weights, _ = synthetic(n, m, seed=n + m)
        ours = maximize_coverage(coverage, weights, p=p, time_limit_s=60)
        if have_spopt and n <= CBC_MAX_DEMAND:
            value, seconds = spopt_mclp(coverage, weights, p)
            cells = f"{seconds:.2f} | {ours.time_s:.2f} | {seconds / ours.time_s:.1f}x | {value:,.0f}"
            equal = "yes" if abs(value - ours.covered_weight) < 0.5 else "no"
        else:
            cells, equal = f"- | {ours.time_s:.2f} | - | -", "-"
        row = (
            f"| {n:,} x {m:,} | {coverage.nnz:,} | {p} | {cells} | {ours.covered_weight:,.0f} | {equal} | "
            f"{ours.status} | {100 * ours.gap:.3f}% |"
        )
        lines.append(row)
        print(row, flush=True)

    lines += [
        "",
        "## Synthetic, budget (spopt's formulation with a budget row, PuLP + CBC)",
        "",
        "| demand x sites | nnz | budget (M VND) | CBC s | gisplan s | speed-up | CBC value | gisplan value | "
        "equal | status | gap | sites | cost (M VND) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    b_sizes = [(2000, 200), (5000, 500), (10000, 1000), (20000, 2000)]
    for n, m in b_sizes:
        coverage, weights, costs = synthetic(n, m, seed=n * 7 + m)
        budget = float(np.sort(costs)[: m // 20].sum())  # about one site in twenty
        ours = maximize_coverage(coverage, weights, budget=budget, site_costs=costs, time_limit_s=60)
        if have_spopt and n <= (5000 if args.quick else CBC_MAX_DEMAND):
            value, seconds, status = pulp_budget_mclp(coverage, weights, costs, budget)
            cells = f"{seconds:.2f} ({status}) | {ours.time_s:.2f} | {seconds / ours.time_s:.1f}x | {value:,.0f}"
            equal = "yes" if abs(value - ours.covered_weight) < 0.5 else "no"
        else:
            cells, equal = f"- | {ours.time_s:.2f} | - | -", "-"
        row = (
            f"| {n:,} x {m:,} | {coverage.nnz:,} | {budget / 1e6:,.0f} | {cells} | {ours.covered_weight:,.0f} | "
            f"{equal} | {ours.status} | {100 * ours.gap:.3f}% | {len(ours.selected)} | {ours.cost / 1e6:,.0f} |"
        )
        lines.append(row)
        print(row, flush=True)

    lines += time_limit_rows()
    lines += [
        "",
        f"CBC columns are filled up to {CBC_MAX_DEMAND:,} demand rows: spopt builds its PuLP model from a dense cost "
        "matrix, and for 20,000 x 2,000 that took more than 8 minutes here before CBC started. Times include model "
        "building for both tools; gisplan's include reduction, greedy + local search and HiGHS. "
        "gisplan runs with time_limit_s=60.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "results" / "siting.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
