"""Tests of gisplan.wifi.siting: exactness against brute force, the spopt reproduction, budgets and errors."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from gisplan._errors import SitingError
from gisplan.wifi.siting import cover_all, maximize_coverage


def _random_instance(seed: int, n_rows: int = 12, n_sites: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    coverage = rng.random((n_rows, n_sites)) < 0.3
    weights = rng.integers(0, 20, n_rows).astype(float)
    costs = rng.integers(1, 10, n_sites).astype(float)
    return coverage, weights, costs


def _brute_max(coverage, weights, costs, budget, p):
    best = 0.0
    for k in range(coverage.shape[1] + 1):
        if p is not None and k > p:
            break
        for subset in itertools.combinations(range(coverage.shape[1]), k):
            cols = list(subset)
            if budget is not None and costs[cols].sum() > budget:
                continue
            best = max(best, float(weights[coverage[:, cols].any(axis=1)].sum()))
    return best


def _brute_cover(coverage, costs):
    coverable = coverage.any(axis=1)
    best = np.inf
    for k in range(coverage.shape[1] + 1):
        for subset in itertools.combinations(range(coverage.shape[1]), k):
            cols = list(subset)
            if np.array_equal(coverage[:, cols].any(axis=1), coverable):
                best = min(best, float(costs[cols].sum()))
    return best


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", ["auto", "heuristic"])
def test_maximize_coverage_matches_brute_force(seed: int, method: str) -> None:
    coverage, weights, costs = _random_instance(seed)
    budget = float(costs.sum() / 3)
    budget = max(budget, costs.min())
    for b, p in [(budget, None), (None, 2), (budget, 2)]:
        result = maximize_coverage(coverage, weights, budget=b, site_costs=costs if b else None, p=p, method=method)
        best = _brute_max(coverage, weights, costs if b else np.ones(coverage.shape[1]), b, p)
        # the bound is always valid; when optimal is claimed, the value is the brute-force optimum
        assert result.bound >= best - 1e-9
        assert result.covered_weight <= best + 1e-9
        if method == "auto":
            assert result.status == "optimal"
        if result.status == "optimal":
            assert result.covered_weight == pytest.approx(best)
        if b is not None:
            assert result.cost <= b
        if p is not None:
            assert len(result.selected) <= p
        assert result.covered_weight == pytest.approx(weights[coverage[:, result.selected].any(axis=1)].sum())


@pytest.mark.parametrize("seed", range(12))
def test_cover_all_matches_brute_force(seed: int) -> None:
    coverage, _, costs = _random_instance(seed, n_rows=10, n_sites=8)
    result = cover_all(coverage, site_costs=costs)
    assert result.status == "optimal"
    assert result.cost == pytest.approx(_brute_cover(coverage, costs))
    coverable = coverage.any(axis=1)
    assert np.array_equal(result.covered, coverable)
    assert np.array_equal(result.uncoverable, np.flatnonzero(~coverable))
    assert result.bound <= result.cost + 1e-9


def test_sparse_and_dense_give_the_same_answer() -> None:
    coverage, weights, costs = _random_instance(3, n_rows=40, n_sites=10)
    dense = maximize_coverage(coverage, weights, budget=12.0, site_costs=costs)
    sparse = maximize_coverage(sp.csc_matrix(coverage), weights, budget=12.0, site_costs=costs)
    assert dense.covered_weight == sparse.covered_weight
    assert dense.selected.tolist() == sparse.selected.tolist()


def test_inputs_are_not_modified() -> None:
    coverage, weights, costs = _random_instance(5)
    copies = coverage.copy(), weights.copy(), costs.copy()
    maximize_coverage(coverage, weights, budget=10.0, site_costs=costs)
    cover_all(coverage, site_costs=costs)
    assert all(np.array_equal(a, b) for a, b in zip((coverage, weights, costs), copies, strict=True))


def test_budget_is_respected_on_a_larger_instance() -> None:
    rng = np.random.default_rng(7)
    demand = rng.random((2000, 2)) * 10_000
    sites = rng.random((200, 2)) * 10_000
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    coverage = sp.csr_matrix(dist <= 900)
    weights = rng.integers(50, 500, 2000)
    costs = rng.integers(100, 400, 200) * 1_000_000.0
    budget = 3_000_000_000.0
    result = maximize_coverage(coverage, weights, budget=budget, site_costs=costs, time_limit_s=30)
    assert result.cost <= budget
    assert result.cost == pytest.approx(costs[result.selected].sum())
    assert 0.0 <= result.gap <= 0.005
    assert result.bound >= result.covered_weight
    heuristic = maximize_coverage(coverage, weights, budget=budget, site_costs=costs, method="heuristic")
    assert heuristic.cost <= budget
    assert heuristic.covered_weight <= result.bound + 1e-6
    assert heuristic.bound >= result.covered_weight - 1e-6  # each bound is valid for the other's solution


def test_time_limit_gives_feasible_with_honest_gap() -> None:
    rng = np.random.default_rng(11)
    coverage = sp.random(3000, 400, density=0.02, random_state=rng, format="csr") != 0
    weights = rng.integers(1, 100, 3000)
    costs = rng.integers(1, 50, 400).astype(float)
    result = maximize_coverage(coverage, weights, budget=200.0, site_costs=costs, time_limit_s=0.5)
    assert result.cost <= 200.0
    assert result.status in ("optimal", "feasible")
    assert result.bound >= result.covered_weight
    assert result.gap == pytest.approx((result.bound - result.covered_weight) / result.bound)


def test_uncoverable_rows_are_reported() -> None:
    coverage = np.array([[1, 0], [0, 0], [0, 1], [0, 0]], dtype=bool)
    result = maximize_coverage(coverage, [1, 5, 1, 5], p=2)
    assert result.uncoverable.tolist() == [1, 3]
    assert result.covered.tolist() == [True, False, True, False]
    assert cover_all(coverage).uncoverable.tolist() == [1, 3]


def test_useless_sites_are_not_paid_for() -> None:
    coverage = np.array([[1, 1, 0], [1, 1, 0]], dtype=bool)
    result = maximize_coverage(coverage, [1, 1], p=3, site_costs=[5, 3, 1])
    assert result.selected.tolist() == [1]
    assert result.cost == 3


def test_budget_below_cheapest_site_is_a_clear_error() -> None:
    with pytest.raises(SitingError, match="below the cheapest site"):
        maximize_coverage(np.ones((2, 2), dtype=bool), [1, 1], budget=5, site_costs=[10, 20])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": [1, 2, 3], "p": 1}, "one value per demand row"),
        ({"weights": [1, -2], "p": 1}, "non-negative"),
        ({"weights": [1, 2], "p": 1, "site_costs": [1]}, "one value per candidate site"),
        ({"weights": [1, 2], "budget": 3, "site_costs": [1, -1]}, "non-negative"),
        ({"weights": [1, 2], "p": 3}, "between 1 and the number of candidate sites"),
        ({"weights": [1, 2], "budget": 3}, "needs site_costs"),
        ({"weights": [1, 2]}, "budget, p"),
        ({"weights": [1, 2], "p": 1, "time_limit_s": 0}, "time_limit_s"),
    ],
)
def test_errors_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(SitingError, match=message):
        maximize_coverage(np.ones((2, 2), dtype=bool), **kwargs)


def test_coverage_must_be_two_dimensional() -> None:
    with pytest.raises(SitingError, match="2-D"):
        cover_all(np.ones(3, dtype=bool))


_SPOPT_DATA = None
if importlib.util.find_spec("spopt") is not None:
    _SPOPT_DATA = Path(importlib.util.find_spec("spopt").origin).parent / "tests" / "test_locate" / "data"


@pytest.mark.skipif(
    _SPOPT_DATA is None or not _SPOPT_DATA.is_dir(), reason="spopt (with its San Francisco test data) is not installed"
)
def test_reproduces_spopt_san_francisco_mclp() -> None:
    import pandas as pd

    distance = pd.read_csv(_SPOPT_DATA / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    matrix = distance.pivot_table(values="distance", index="DestinationName", columns="name").to_numpy()
    demand = pd.read_csv(_SPOPT_DATA / "SF_demand_205_centroid_uniform_weight.csv").sort_values("NAME")
    result = maximize_coverage(matrix <= 5000.0, demand["POP2000"].to_numpy(), p=4)
    assert result.status == "optimal"
    assert int((~result.covered).sum()) == 21
    assert 100.0 * result.covered.mean() == pytest.approx(89.75609756097561)


def _overlapping_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small instances where most rows are seen by two or more sites (where a double count would show)."""
    rng = np.random.default_rng(1000 + seed)
    n_rows, n_sites = int(rng.integers(3, 10)), int(rng.integers(2, 7))
    coverage = rng.random((n_rows, n_sites)) < 0.55
    weights = rng.integers(1, 30, n_rows).astype(float)
    costs = rng.integers(1, 12, n_sites).astype(float)
    return coverage, weights, costs


@pytest.mark.parametrize("seed", range(60))
def test_covered_weight_counts_each_row_once_against_brute_force(seed: int) -> None:
    """The covered weight is the weight of the union of the chosen sites' rows: a row seen by two chosen sites
    counts once, and the optimum found equals the brute-force optimum of that union."""
    from gisplan.wifi import _siting_solve

    coverage, weights, costs = _overlapping_instance(seed)
    budget = max(float(costs.sum()) / 2, float(costs.min()))
    for method in ("auto", "heuristic"):
        result = maximize_coverage(coverage, weights, budget=budget, site_costs=costs, method=method)
        union = coverage[:, result.selected].any(axis=1)
        assert result.covered_weight == float(weights[union].sum())
        assert result.covered.tolist() == union.tolist()
        assert result.covered_weight <= _brute_max(coverage, weights, costs, budget, None)
    assert result.bound >= _brute_max(coverage, weights, costs, budget, None) - 1e-9
    auto = maximize_coverage(coverage, weights, budget=budget, site_costs=costs)
    assert auto.covered_weight == _brute_max(coverage, weights, costs, budget, None)
    # the solver's own counter, on every subset of sites
    a_csc = sp.csc_matrix(coverage)
    for k in range(coverage.shape[1] + 1):
        for subset in itertools.combinations(range(coverage.shape[1]), k):
            chosen = np.zeros(coverage.shape[1], dtype=bool)
            chosen[list(subset)] = True
            expected = float(weights[coverage[:, list(subset)].any(axis=1)].sum()) if subset else 0.0
            assert _siting_solve.covered_value(a_csc, weights, chosen) == expected


def _varied_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small random instances with varied costs: integer or fractional, equal or spread over two decades."""
    rng = np.random.default_rng(5000 + seed)
    n_rows, n_sites = int(rng.integers(2, 11)), int(rng.integers(2, 8))
    coverage = rng.random((n_rows, n_sites)) < rng.uniform(0.15, 0.6)
    kind = seed % 4
    if kind == 0:
        costs = rng.integers(1, 10, n_sites).astype(float)
    elif kind == 1:
        costs = np.round(rng.lognormal(np.log(300e6), 0.6, n_sites))  # VND-like
    elif kind == 2:
        costs = rng.uniform(0.5, 50.0, n_sites)
    else:
        costs = np.full(n_sites, 7.0)
    weights = rng.integers(0, 40, n_rows).astype(float) if seed % 3 else rng.uniform(0, 40, n_rows)
    return coverage, weights, costs


def _brute_cheapest_max(coverage, weights, costs, budget, p):
    """(best covered weight, least cost among the selections reaching it) by enumeration."""
    best, cheapest = -1.0, np.inf
    for k in range(coverage.shape[1] + 1):
        if p is not None and k > p:
            break
        for subset in itertools.combinations(range(coverage.shape[1]), k):
            cols = list(subset)
            cost = float(costs[cols].sum())
            if budget is not None and cost > budget:
                continue
            value = float(weights[coverage[:, cols].any(axis=1)].sum())
            if value > best + 1e-9 * max(best, 1.0):
                best, cheapest = value, cost
            elif abs(value - best) <= 1e-9 * max(best, 1.0):
                cheapest = min(cheapest, cost)
    return best, cheapest


@pytest.mark.parametrize("seed", range(300))
def test_property_against_brute_force_on_small_instances(seed: int) -> None:
    """On 300 small instances: "optimal" is claimed only for the brute-force optimum, the bound is valid, the
    covered weight is that of the union of the chosen sites, and with budget left over the selection is the
    cheapest among those of maximum coverage; cover_all finds the least-cost cover."""
    coverage, weights, costs = _varied_instance(seed)
    rng = np.random.default_rng(seed)
    budget = float(max(costs.min(), costs.sum() * rng.uniform(0.2, 0.9)))
    p = int(rng.integers(1, coverage.shape[1] + 1))
    for b, k in [(budget, None), (None, p), (budget, p)]:
        c = costs  # p-only runs price the sites too (the cheapest at the same coverage)
        best, cheapest = _brute_cheapest_max(coverage, weights, c, b, k)
        for method in ("auto", "heuristic"):
            r = maximize_coverage(coverage, weights, budget=b, site_costs=c, p=k, method=method)
            assert r.covered_weight == pytest.approx(float(weights[coverage[:, r.selected].any(axis=1)].sum()))
            assert r.bound >= best - 1e-6 * max(best, 1.0)
            assert r.covered_weight <= best + 1e-6 * max(best, 1.0)
            assert b is None or r.cost <= b
            assert k is None or len(r.selected) <= k
            if r.status == "optimal":
                assert r.covered_weight == pytest.approx(best)
            if method == "auto":
                assert r.status == "optimal", (b, k)
                assert r.cost == pytest.approx(cheapest), (b, k)
    r = cover_all(coverage, site_costs=costs)
    assert r.status == "optimal"
    assert r.cost == pytest.approx(_brute_cover(coverage, costs))
    assert np.array_equal(r.covered, coverage.any(axis=1))
    h = cover_all(coverage, site_costs=costs, method="heuristic")
    assert h.bound <= _brute_cover(coverage, costs) + 1e-6
    if h.status == "optimal":
        assert h.cost == pytest.approx(_brute_cover(coverage, costs))


def test_budget_left_over_buys_the_cheapest_selection_of_maximum_coverage() -> None:
    """Hand-made: site 0 (cost 9) and site 1 (cost 2) cover the same two rows; site 2 (cost 1) covers row 0.
    With a budget of 100 the maximum (both rows) is reached by {1} at cost 2."""
    coverage = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    for method in ("auto", "heuristic"):
        r = maximize_coverage(coverage, [3, 4], budget=100.0, site_costs=[9.0, 2.0, 1.0], method=method)
        assert r.selected.tolist() == [1] and r.cost == 2.0 and r.covered_weight == 7.0


def test_status_is_optimal_only_when_the_bound_proves_it() -> None:
    """Without HiGHS (its set-up priced above the time left) the status follows the heuristic's own bound."""
    from gisplan.wifi.settings import WifiSettings

    slow = WifiSettings(highs_setup_s_per_nonzero=1e6)
    for seed in range(40):
        coverage, weights, costs = _varied_instance(seed)
        best = (
            _brute_max(coverage, weights, costs, float(costs.sum() / 3), None)
            if costs.min() <= costs.sum() / 3
            else None
        )
        if best is None:
            continue
        r = maximize_coverage(
            coverage, weights, budget=float(costs.sum() / 3), site_costs=costs, time_limit_s=60, settings=slow
        )
        assert r.solver == "greedy+local-search"
        assert (r.status == "optimal") == (r.bound - r.covered_weight <= 1e-9 * max(r.bound, 1.0))
        assert r.bound >= best - 1e-6
        c = cover_all(coverage, site_costs=costs, time_limit_s=60, settings=slow)
        assert c.solver == "greedy+local-search"
        assert (c.status == "optimal") == (c.cost - c.bound <= 1e-9 * max(c.cost, 1.0))
        assert c.bound <= _brute_cover(coverage, costs) + 1e-6


@pytest.mark.parametrize("call", ["maximize", "cover"])
def test_unknown_method_names_the_valid_ones(call: str) -> None:
    with pytest.raises(SitingError, match=r"unknown method 'exakt'.*'exact'.*auto, exact, heuristic"):
        if call == "maximize":
            maximize_coverage(np.ones((2, 2), dtype=bool), [1, 1], p=1, method="exakt")  # type: ignore[arg-type]
        else:
            cover_all(np.ones((2, 2), dtype=bool), method="exakt")  # type: ignore[arg-type]


def test_a_misled_solver_is_asked_again_without_the_warm_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS claiming "optimal" for a cover dearer than its own bound (as with a miscounted warm start) is not
    believed: cover_all solves again without the start and reports what its own bound proves."""
    from gisplan.wifi import _siting_solve

    coverage, _, costs = _random_instance(1, n_rows=10, n_sites=8)  # greedy is not optimal there
    real = _siting_solve.highs_set_cover
    calls: list[bool] = []

    def misled(a_csr, c, *, start, time_limit, mip=True):
        calls.append(start is not None)
        if start is not None:  # "optimal" for every site, with a bound of 1 (it contradicts itself)
            return _siting_solve.HighsOutcome(selected=np.ones(a_csr.shape[1], dtype=bool), bound=1.0, optimal=True)
        return real(a_csr, c, start=start, time_limit=time_limit, mip=mip)

    monkeypatch.setattr(_siting_solve, "highs_set_cover", misled)
    result = cover_all(coverage, site_costs=costs, method="exact")
    assert calls == [True, False]
    assert result.status == "optimal" and result.cost == _brute_cover(coverage, costs)
