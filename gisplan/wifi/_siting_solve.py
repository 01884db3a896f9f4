"""Solvers for the covering models of :mod:`gisplan.wifi.siting` (private).

Exact: HiGHS (through highspy) on the MILP, warm-started with the heuristic.
Heuristic: lazy greedy (weight per cost) plus swap local search, with bounds
that stay honest: the submodular "online" bound of Leskovec et al. (KDD 2007)
for maximal covering, a dual-feasible bound for set covering, and the LP
relaxation or HiGHS's dual bound whenever they are available.
"""

from __future__ import annotations

import heapq
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from gisplan.wifi.settings import DEFAULT_SETTINGS

_INF = highspy.kHighsInf
_TOL = DEFAULT_SETTINGS.tolerance


@dataclass(frozen=True)
class HighsOutcome:
    """What HiGHS returned: a selection (or None), the objective bound and whether it proved optimality."""

    selected: np.ndarray | None
    bound: float
    optimal: bool


def _add_budget_and_count_rows(
    blocks: list[list[Any]],
    lower: list[np.ndarray],
    upper: list[np.ndarray],
    costs: np.ndarray,
    budget: float | None,
    p: int | None,
    n_sites: int,
) -> None:
    """Append the rows sum(cost y) <= budget and sum(y) <= p (when given) over the site columns."""
    if budget is not None:
        blocks.append([sp.csr_matrix(costs.reshape(1, -1).astype(np.float64)), None])
        lower.append(np.array([-_INF]))
        upper.append(np.array([float(budget)]))
    if p is not None:
        blocks.append([sp.csr_matrix(np.ones((1, n_sites))), None])
        lower.append(np.array([-_INF]))
        upper.append(np.array([float(p)]))


def covered_value(a_csc: sp.csc_matrix, weights: np.ndarray, selected: np.ndarray) -> float:
    """Total weight of rows covered by the selected sites."""
    cols = np.flatnonzero(selected)
    if cols.size == 0:
        return 0.0
    hit = np.zeros(a_csc.shape[0], dtype=bool)
    for j in cols:
        hit[a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]] = True
    return float(weights[hit].sum())


def _cover_counts(a_csr: sp.csr_matrix, selected: np.ndarray) -> np.ndarray:
    return np.asarray(a_csr @ selected.astype(np.int32)).ravel()


def greedy_max_cover(
    a_csc: sp.csc_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    *,
    budget: float | None,
    p: int | None,
    tol: float = _TOL,
) -> np.ndarray:
    """Lazy greedy for maximal covering: best gain (per cost under a budget) first.

    Under a budget the result is also compared with the best single affordable
    site (Khuller, Moss and Naor 1999), which bounds how badly greedy can do.
    """
    n_sites = a_csc.shape[1]
    covered = np.zeros(a_csc.shape[0], dtype=bool)
    selected = np.zeros(n_sites, dtype=bool)
    indptr, indices = a_csc.indptr, a_csc.indices

    def gain(j: int) -> float:
        rows = indices[indptr[j] : indptr[j + 1]]
        return float(weights[rows][~covered[rows]].sum())

    def key(g: float, j: int) -> float:
        if budget is None:
            return g
        return g / costs[j] if costs[j] > 0 else (np.inf if g > 0 else 0.0)

    gains = np.asarray(a_csc.T @ weights).ravel()
    heap = [(-key(float(gains[j]), j), float(costs[j]), j) for j in range(n_sites)]
    heapq.heapify(heap)
    spent, count = 0.0, 0
    while heap and (p is None or count < p):
        _, cost_j, j = heapq.heappop(heap)
        if budget is not None and spent + cost_j > budget + tol:
            continue
        g = gain(j)
        if g <= 0:
            continue
        if heap and -key(g, j) > heap[0][0] + tol:
            heapq.heappush(heap, (-key(g, j), cost_j, j))
            continue
        selected[j] = True
        rows = indices[indptr[j] : indptr[j + 1]]
        covered[rows] = True
        spent += cost_j
        count += 1
    if budget is not None:
        affordable = np.flatnonzero(costs <= budget + tol)
        if affordable.size:
            best = affordable[np.argmax(gains[affordable])]
            if gains[best] > weights[covered].sum() + tol:
                selected[:] = False
                selected[best] = True
    return selected


def _fill(
    a_csc: sp.csc_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    selected: np.ndarray,
    *,
    budget: float | None,
    p: int | None,
    tol: float = _TOL,
) -> np.ndarray:
    """Add sites while one fits and gains something (after a swap freed budget)."""
    selected = selected.copy()
    counts = _cover_counts(a_csc.tocsr(), selected)
    while p is None or selected.sum() < p:
        u = weights * (counts == 0)
        gains = np.asarray(a_csc.T @ u).ravel()
        ok = ~selected & (gains > tol)
        if budget is not None:
            ok &= costs <= budget - costs[selected].sum() + tol
        if not ok.any():
            break
        score = gains / np.where(costs > 0, costs, 1e-12) if budget is not None else gains
        j = int(np.flatnonzero(ok)[np.argmax(score[ok])])
        selected[j] = True
        counts[a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]] += 1
    return selected


def local_search_max_cover(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    selected: np.ndarray,
    *,
    budget: float | None,
    p: int | None,
    deadline: float,
    tol: float = _TOL,
) -> np.ndarray:
    """Improve a selection by first-improvement swaps (drop one site, add one) and refills."""
    selected = _fill(a_csc, weights, costs, selected, budget=budget, p=p, tol=tol)
    scale = max(float(weights.sum()), 1.0)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        counts = _cover_counts(a_csr, selected)
        base = np.asarray(a_csc.T @ (weights * (counts == 0))).ravel()
        spent = float(costs[selected].sum())
        for s in np.flatnonzero(selected):
            if time.perf_counter() >= deadline:
                break
            rows = a_csc.indices[a_csc.indptr[s] : a_csc.indptr[s + 1]]
            unique = rows[counts[rows] == 1]
            loss = float(weights[unique].sum())
            extra = np.asarray(a_csr[unique].T @ weights[unique]).ravel() if unique.size else 0.0
            delta = base + extra - loss
            ok = ~selected
            if budget is not None:
                ok &= costs <= budget - spent + costs[s] + tol
            if not ok.any():
                continue
            cand = np.flatnonzero(ok)
            t = int(cand[np.argmax(delta[cand])])
            if delta[t] > tol * scale:
                selected[s], selected[t] = False, True
                selected = _fill(a_csc, weights, costs, selected, budget=budget, p=p, tol=tol)
                improved = True
                break
    return selected


def online_bound_max_cover(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    selected: np.ndarray,
    *,
    budget: float | None,
    p: int | None,
) -> float:
    """Upper bound on the optimum from any selection S (submodularity).

    OPT <= f(S) + sum over OPT's sites of their marginal gain over S; the sum is
    bounded by the top-p gains and by a fractional knapsack under the budget.
    """
    counts = _cover_counts(a_csr, selected)
    value = float(weights[counts > 0].sum())
    gains = np.asarray(a_csc.T @ (weights * (counts == 0))).ravel()
    gains[selected] = 0.0
    bounds = [float(weights.sum())]
    if p is not None:
        bounds.append(value + float(np.sort(gains)[::-1][:p].sum()))
    if budget is not None:
        free = costs <= 0
        extra = float(gains[free].sum())
        paid = np.flatnonzero(~free & (gains > 0))
        order = paid[np.argsort(-gains[paid] / costs[paid], kind="stable")]
        room = float(budget)
        for j in order:
            if costs[j] <= room:
                extra += gains[j]
                room -= costs[j]
            else:
                extra += gains[j] * room / costs[j]
                break
        bounds.append(value + extra)
    return min(bounds)


def greedy_set_cover(a_csc: sp.csc_matrix, costs: np.ndarray, *, tol: float = _TOL) -> np.ndarray:
    """Chvátal's lazy greedy for set covering (cost per newly covered row), then redundant sites dropped."""
    n_rows, n_sites = a_csc.shape
    covered = np.zeros(n_rows, dtype=bool)
    selected = np.zeros(n_sites, dtype=bool)
    indptr, indices = a_csc.indptr, a_csc.indices

    def key(g: int, j: int) -> float:
        return g / costs[j] if costs[j] > 0 else np.inf

    degrees = np.diff(indptr)
    heap = [(-key(int(degrees[j]), j), j) for j in range(n_sites)]
    heapq.heapify(heap)
    left = n_rows
    while heap and left > 0:
        _, j = heapq.heappop(heap)
        rows = indices[indptr[j] : indptr[j + 1]]
        g = int((~covered[rows]).sum())
        if g == 0:
            continue
        if heap and -key(g, j) > heap[0][0] + tol:
            heapq.heappush(heap, (-key(g, j), j))
            continue
        selected[j] = True
        covered[rows] = True
        left -= g
    return drop_redundant(a_csc, costs, selected)


def drop_redundant(a_csc: sp.csc_matrix, costs: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Drop selected sites whose rows are all covered twice or more, most expensive first."""
    selected = selected.copy()
    counts = _cover_counts(a_csc.tocsr(), selected)
    chosen = np.flatnonzero(selected)
    for j in chosen[np.argsort(-costs[chosen], kind="stable")]:
        rows = a_csc.indices[a_csc.indptr[j] : a_csc.indptr[j + 1]]
        if np.all(counts[rows] >= 2):
            selected[j] = False
            counts[rows] -= 1
    return selected


def dual_bound_set_cover(a_csr: sp.csr_matrix, costs: np.ndarray) -> float:
    """Lower bound for set covering from a dual-feasible point u_i = min over sites j covering i of c_j / |j|."""
    degrees = np.diff(a_csr.tocsc().indptr)
    ratio = costs / np.maximum(degrees, 1)
    per_row = np.minimum.reduceat(ratio[a_csr.indices], a_csr.indptr[:-1])
    return float(per_row.sum())


def _quiet_highs() -> highspy.Highs:
    """A ``highspy.Highs`` without the banner its constructor prints to standard output (HiGHS issue #1932).

    The banner is written by C++ straight to file descriptor 1 before any option can be set, so descriptor 1 is
    pointed at /dev/null for the constructor only.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 (embedded interpreters): nothing to protect
        return highspy.Highs()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _highs(time_limit: float | None, *, abs_gap: float) -> highspy.Highs:
    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", abs_gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    return h


def _pass_model(
    h: highspy.Highs,
    matrix: sp.csr_matrix,
    col_cost: np.ndarray,
    col_upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    integer: np.ndarray,
    *,
    maximize: bool,
) -> None:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
    lp.col_cost_ = col_cost.astype(np.float64)
    lp.col_lower_ = np.zeros(matrix.shape[1])
    lp.col_upper_ = col_upper.astype(np.float64)
    lp.row_lower_ = row_lower.astype(np.float64)
    lp.row_upper_ = row_upper.astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)


def _run(h: highspy.Highs, n_sites: int, start: np.ndarray | None, *, mip: bool, maximize: bool) -> HighsOutcome:
    if start is not None:
        h.setSolution(start.size, np.arange(start.size, dtype=np.int32), start.astype(np.float64))
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    optimal = status == highspy.HighsModelStatus.kOptimal
    if not mip:
        bound = info.objective_function_value if optimal else (_INF if maximize else -_INF)
        return HighsOutcome(selected=None, bound=float(bound), optimal=optimal)
    selected = None
    if info.primal_solution_status == 2:  # feasible
        values = np.asarray(h.getSolution().col_value)[:n_sites]
        selected = values > 0.5
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = _INF if maximize else -_INF
    return HighsOutcome(selected=selected, bound=bound, optimal=optimal)


def highs_max_cover(
    a_csr: sp.csr_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    *,
    budget: float | None,
    p: int | None,
    start: np.ndarray | None,
    time_limit: float | None,
    mip: bool = True,
) -> HighsOutcome:
    """Solve max sum w x s.t. x_i <= sum_{j covers i} y_j, budget and count rows; x continuous, y binary."""
    n_rows, n_sites = a_csr.shape
    blocks = [[-a_csr.astype(np.float64), sp.identity(n_rows, format="csr")]]
    lower, upper = [np.full(n_rows, -_INF)], [np.zeros(n_rows)]
    _add_budget_and_count_rows(blocks, lower, upper, costs, budget, p, n_sites)
    matrix = sp.bmat(blocks, format="csr")
    integral = bool(np.all(weights == np.round(weights)))
    h = _highs(time_limit, abs_gap=0.999 if integral else 1e-7 * max(float(weights.sum()), 1.0))
    integer = np.r_[np.full(n_sites, mip), np.zeros(n_rows, dtype=bool)]
    _pass_model(
        h,
        matrix,
        np.r_[np.zeros(n_sites), weights],
        np.ones(n_sites + n_rows),
        np.concatenate(lower),
        np.concatenate(upper),
        integer,
        maximize=True,
    )
    if start is not None:
        start = np.r_[start.astype(np.float64), np.minimum(_cover_counts(a_csr, start), 1)]
    return _run(h, n_sites, start, mip=mip, maximize=True)


def highs_set_cover(
    a_csr: sp.csr_matrix,
    costs: np.ndarray,
    *,
    start: np.ndarray | None,
    time_limit: float | None,
    mip: bool = True,
) -> HighsOutcome:
    """Solve min sum c y s.t. sum_{j covers i} y_j >= 1 for every row; y binary."""
    n_rows, n_sites = a_csr.shape
    integral = bool(np.all(costs == np.round(costs)))
    h = _highs(time_limit, abs_gap=0.999 if integral else 1e-7 * max(float(costs.sum()), 1.0))
    _pass_model(
        h,
        a_csr.astype(np.float64),
        costs,
        np.ones(n_sites),
        np.ones(n_rows),
        np.full(n_rows, _INF),
        np.full(n_sites, mip),
        maximize=False,
    )
    return _run(h, n_sites, start, mip=mip, maximize=False)


def highs_min_cost_at_value(
    a_csr: sp.csr_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    *,
    value: float,
    budget: float | None,
    p: int | None,
    start: np.ndarray | None,
    time_limit: float | None,
) -> HighsOutcome:
    """Solve min sum c y s.t. x_i <= sum_{j covers i} y_j, sum w x >= value, budget and count rows; y binary.

    The second stage of maximal covering: among the selections that cover ``value`` (the maximum), the cheapest.
    """
    n_rows, n_sites = a_csr.shape
    integral_w = bool(np.all(weights == np.round(weights)))
    need = value - 0.5 if integral_w else value * (1.0 - 1e-9)
    blocks = [
        [-a_csr.astype(np.float64), sp.identity(n_rows, format="csr")],
        [None, sp.csr_matrix(weights.reshape(1, -1).astype(np.float64))],
    ]
    lower, upper = [np.full(n_rows, -_INF), np.array([need])], [np.zeros(n_rows), np.array([_INF])]
    _add_budget_and_count_rows(blocks, lower, upper, costs, budget, p, n_sites)
    matrix = sp.bmat(blocks, format="csr")
    integral_c = bool(np.all(costs == np.round(costs)))
    h = _highs(time_limit, abs_gap=0.999 if integral_c else 1e-7 * max(float(costs.sum()), 1.0))
    _pass_model(
        h,
        matrix,
        np.r_[costs, np.zeros(n_rows)],
        np.ones(n_sites + n_rows),
        np.concatenate(lower),
        np.concatenate(upper),
        np.r_[np.ones(n_sites, dtype=bool), np.zeros(n_rows, dtype=bool)],
        maximize=False,
    )
    if start is not None:
        start = np.r_[start.astype(np.float64), np.minimum(_cover_counts(a_csr, start), 1)]
    return _run(h, n_sites, start, mip=True, maximize=False)


def cheaper_swaps(
    a_csc: sp.csc_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    selected: np.ndarray,
    *,
    value: float,
    deadline: float,
    tol: float = _TOL,
) -> np.ndarray:
    """Swap a chosen site for a cheaper one while the covered weight stays at least ``value`` (first improvement,
    cheapest replacement first), then drop sites that add nothing."""
    selected = drop_redundant(a_csc, costs, selected)
    floor = value - tol * max(abs(value), 1.0)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for s in np.flatnonzero(selected)[np.argsort(-costs[selected], kind="stable")]:
            cheaper = np.flatnonzero(~selected & (costs < costs[s] - tol))
            for t in cheaper[np.argsort(costs[cheaper], kind="stable")]:
                if time.perf_counter() >= deadline:
                    return selected
                trial = selected.copy()
                trial[s], trial[t] = False, True
                if covered_value(a_csc, weights, trial) >= floor:
                    selected, improved = drop_redundant(a_csc, costs, trial), True
                    break
            if improved:
                break
    return selected
