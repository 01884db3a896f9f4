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
