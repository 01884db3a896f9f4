"""Site selection: maximal covering under a budget, and covering everyone at least cost.

Both models take a boolean coverage matrix, demand rows x candidate sites
(``coverage[i, j]`` is True when site ``j`` serves demand ``i``), dense or
scipy.sparse.  They are solved exactly with HiGHS (open source, through
highspy) when it finishes within the time limit; otherwise the best of a lazy
greedy plus swap local search and HiGHS's incumbent is returned together with
an upper (or lower) bound, so the reported gap is honest.  ``status`` is
``"optimal"`` only when the bound proves it.

A site's cost must include its backhaul (fibre, radio hop, satellite), so that
the sites chosen here are the ones whose backhaul the plan can pay for.

Models
------
Maximal covering (Church and ReVelle 1974)::

    maximise   sum_i w_i x_i
    subject to x_i <= sum_{j covers i} y_j      for every demand i
               sum_j c_j y_j <= budget           (when a budget is given)
               sum_j y_j <= p                    (when p is given)
               y_j in {0, 1}, 0 <= x_i <= 1

spopt's ``MCLP`` asks for exactly ``p`` sites; gisplan asks for *at most* ``p``.
Without a budget the best covered weight is the same (adding a site never
uncovers anyone); gisplan then leaves out sites that add nothing, so it never
pays for a useless site.  On spopt's San Francisco data (radius 5000 m, p = 4)
both leave 21 of 205 tracts uncovered.

Set covering (Toregas et al. 1971)::

    minimise   sum_j c_j y_j
    subject to sum_{j covers i} y_j >= 1        for every coverable demand i

Demand rows that no site covers are reported in ``uncoverable``, never dropped
silently.

Examples
--------
>>> import numpy as np
>>> coverage = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
>>> result = maximize_coverage(coverage, [5, 1, 1, 4], p=2)
>>> result.selected.tolist(), result.covered_weight, result.status
([0, 2], 11.0, 'optimal')
>>> cover_all(coverage).selected.tolist()
[0, 2]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from gisplan._errors import SitingError, did_you_mean
from gisplan.wifi import _siting_solve as _solve
from gisplan.wifi._siting_reduce import Reduced, reduce_instance
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings

Method = Literal["auto", "exact", "heuristic"]
#: The values of ``method``.
METHODS: tuple[str, ...] = ("auto", "exact", "heuristic")


@dataclass(frozen=True)
class SitingResult:
    """The outcome of a site selection.

    Attributes
    ----------
    selected
        Column indices of the chosen sites, ascending.
    covered_weight
        Weight of the demand rows the chosen sites cover (for :func:`cover_all`,
        the number of covered rows).
    cost
        Sum of the chosen sites' costs.
    status
        ``"optimal"`` when proven optimal, otherwise ``"feasible"``.
    bound
        For :func:`maximize_coverage` an upper bound on the covered weight; for
        :func:`cover_all` a lower bound on the cost.
    gap
        Relative gap between the value and the bound: ``(bound - value) / bound``
        for maximisation, ``(cost - bound) / cost`` for :func:`cover_all`.
    solver
        ``"highs"`` (the MILP gave the answer) or ``"greedy+local-search"``.
    time_s
        Wall-clock seconds spent.
    covered
        Boolean per demand row: covered by a chosen site.
    uncoverable
        Demand rows that no candidate site covers at all.
    """

    selected: np.ndarray
    covered_weight: float
    cost: float
    status: str
    bound: float
    gap: float
    solver: str
    time_s: float
    covered: np.ndarray = field(repr=False)
    uncoverable: np.ndarray = field(repr=False)


def _as_csr(coverage: object) -> sp.csr_matrix:
    if sp.issparse(coverage):
        matrix = sp.csr_matrix(coverage, dtype=bool)
    else:
        array = np.asarray(coverage)
        if array.ndim != 2:
            raise SitingError(
                f"coverage must be a 2-D demand x site matrix, got an array of shape {array.shape}; "
                "build it with one row per demand point and one column per candidate site / coverage phải là ma "
                f"trận 2 chiều điểm nhu cầu x trạm, đang là mảng có kích thước {array.shape}; hãy tạo ma trận với "
                "mỗi điểm nhu cầu một hàng và mỗi trạm ứng viên một cột"
            )
        if array.dtype != bool and not np.issubdtype(array.dtype, np.number):
            raise SitingError(
                f"coverage must be boolean or 0/1, got dtype {array.dtype} "
                f"/ coverage phải là kiểu logic hoặc 0/1, đang là kiểu {array.dtype}"
            )
        matrix = sp.csr_matrix(array != 0)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    if matrix.shape[1] == 0:
        raise SitingError(
            "coverage has no candidate sites (0 columns); add candidate sites "
            "/ coverage không có trạm ứng viên nào (0 cột); hãy thêm trạm ứng viên"
        )
    return matrix


#: The Vietnamese of the things ``_vector`` counts.
_WHAT_VI = {"demand row": "hàng nhu cầu", "candidate site": "trạm ứng viên"}


def _vector(values: object, length: int, name: str, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] != length:
        raise SitingError(
            f"{name} must have one value per {what} ({length}), got shape {array.shape}; "
            f"check that {name} and the coverage matrix come from the same {what}s in the same order "
            f"/ {name} phải có một giá trị cho mỗi {_WHAT_VI.get(what, what)} ({length}), đang có kích thước "
            f"{array.shape}; hãy kiểm tra {name} và ma trận coverage lấy từ cùng các {_WHAT_VI.get(what, what)} "
            "theo cùng thứ tự"
        )
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
    if bad.size:
        raise SitingError(
            f"{name} must be finite and non-negative; {bad.size} value(s) are not, first at index {bad[0]} "
            f"({array[bad[0]]!r}) / {name} phải hữu hạn và không âm; có {bad.size} giá trị không đạt, giá trị đầu "
            f"tiên ở vị trí {bad[0]} ({array[bad[0]]!r})"
        )
    return array


def _check_time_limit(time_limit_s: float | None) -> None:
    if time_limit_s is not None and not time_limit_s > 0:
        raise SitingError(
            f"time_limit_s must be positive or None (no limit), got {time_limit_s!r} "
            f"/ time_limit_s phải dương hoặc None (không giới hạn), đang là {time_limit_s!r}"
        )


def _remaining(start: float, time_limit_s: float | None) -> float | None:
    if time_limit_s is None:
        return None
    return time_limit_s - (time.perf_counter() - start)


def _gap(numerator: float, denominator: float) -> float:
    return max(numerator, 0.0) / denominator if denominator > 0 else 0.0


def maximize_coverage(
    coverage: object,
    weights: object,
    *,
    budget: float | None = None,
    site_costs: object | None = None,
    p: int | None = None,
    time_limit_s: float | None = None,
    method: Method = "auto",
    settings: WifiSettings | None = None,
) -> SitingResult:
    """Choose sites that cover the most demand weight within a budget and/or a number of sites.

    Parameters
    ----------
    coverage
        Boolean (or 0/1) demand x site matrix, dense or scipy.sparse.
    weights
        Non-negative weight per demand row (e.g. population).
    budget
        Maximum total cost of the chosen sites (VND); needs ``site_costs``.
    site_costs
        Non-negative cost per site, backhaul included (VND).  Defaults to 1 per site.
    p
        Maximum number of sites (spopt's MCLP uses exactly ``p``; see the module notes).
    time_limit_s
        Wall-clock limit for the whole call; ``None`` for no limit.  When the
        exact solver does not finish in time the best solution found is returned
        with status ``"feasible"`` and its bound.
    method
        ``"auto"`` (exact unless the instance is huge), ``"exact"`` (always try
        the MILP) or ``"heuristic"`` (greedy + local search + LP bound only).
    settings
        Solver limits and tolerance (:class:`~gisplan.wifi.settings.WifiSettings`); the defaults when ``None``.

    Returns
    -------
    SitingResult

    Raises
    ------
    SitingError
        On mismatched shapes, negative or non-finite weights or costs, a budget
        without costs or below the cheapest site, ``p`` outside 1..number of
        sites, or neither ``budget`` nor ``p``.
    """
    start = time.perf_counter()
    cfg = DEFAULT_SETTINGS if settings is None else settings
    matrix = _as_csr(coverage)
    n_rows, n_sites = matrix.shape
    w = _vector(weights, n_rows, "weights", "demand row")
    _check_time_limit(time_limit_s)
    _check_method(method)
    if site_costs is None:
        if budget is not None:
            raise SitingError(
                "a budget needs site_costs (one cost per candidate site, backhaul included) "
                "/ ngân sách cần site_costs (mỗi trạm ứng viên một chi phí, kể cả truyền dẫn backhaul)"
            )
        costs = np.ones(n_sites)
    else:
        costs = _vector(site_costs, n_sites, "site_costs", "candidate site")
    if budget is None and p is None:
        raise SitingError(
            "give a budget, p (the number of sites) or both; without either every site is chosen "
            "/ hãy cho ngân sách, p (số trạm) hoặc cả hai; thiếu cả hai thì mọi trạm đều được chọn"
        )
    if budget is not None:
        if not np.isfinite(budget) or budget < 0:
            raise SitingError(
                f"budget must be a finite non-negative amount, got {budget!r} "
                f"/ ngân sách phải là số tiền hữu hạn, không âm, đang là {budget!r}"
            )
        cheapest = int(np.argmin(costs))
        if budget < costs[cheapest]:
            raise SitingError(
                f"the budget {budget:,.0f} is below the cheapest site's cost {costs[cheapest]:,.0f} "
                f"(site column {cheapest}); no site can be built: raise the budget or add cheaper sites "
                f"/ ngân sách {budget:,.0f} thấp hơn chi phí của trạm rẻ nhất {costs[cheapest]:,.0f} (cột trạm "
                f"{cheapest}); không xây được trạm nào: hãy tăng ngân sách hoặc thêm trạm rẻ hơn"
            )
    if p is not None and (int(p) != p or not 1 <= int(p) <= n_sites):
        raise SitingError(
            f"p must be an integer between 1 and the number of candidate sites ({n_sites}), got {p!r} "
            f"/ p phải là số nguyên từ 1 đến số trạm ứng viên ({n_sites}), đang là {p!r}"
        )
    p = None if p is None else int(p)

    red = reduce_instance(matrix, w, costs, budget=budget, max_dominance_work=cfg.max_dominance_work)
    chosen = np.zeros(red.matrix.shape[1], dtype=bool)
    bound, solver = 0.0, "greedy+local-search"
    if red.matrix.shape[1] > 0 and red.matrix.shape[0] > 0:
        chosen, bound, solver = _solve_max_cover(
            red, budget=budget, p=p, start=start, limit=time_limit_s, method=method, cfg=cfg
        )
    selected = np.sort(red.sites[chosen])
    covered = np.asarray(matrix[:, selected].sum(axis=1)).ravel() > 0
    value = float(w[covered].sum())
    bound = max(bound, value)
    gap = _gap(bound - value, bound)
    return SitingResult(
        selected=selected,
        covered_weight=value,
        cost=float(costs[selected].sum()),
        status="optimal" if _proved_max(value, bound, cfg.tolerance) else "feasible",
        bound=bound,
        gap=gap,
        solver=solver,
        time_s=time.perf_counter() - start,
        covered=covered,
        uncoverable=red.uncoverable,
    )


def _solve_max_cover(
    red: Reduced,
    *,
    budget: float | None,
    p: int | None,
    start: float,
    limit: float | None,
    method: Method,
    cfg: WifiSettings,
) -> tuple[np.ndarray, float, str]:
    """The maximum-coverage selection of a reduced instance, its upper bound and the solver that found it.

    Then, with room in the budget (or the count), the cheapest selection of that coverage.
    """
    a_csr, w, c = red.matrix, red.weights, red.costs
    a_csc = a_csr.tocsc()
    tol = cfg.tolerance
    integral = bool(np.all(w == np.round(w)))

    def rounded(b: float) -> float:
        return float(np.floor(b + 1e-6)) if integral else b

    chosen = _solve.greedy_max_cover(a_csc, w, c, budget=budget, p=p, tol=tol)
    rest = _remaining(start, limit)
    ls_budget = cfg.local_search_s if rest is None else max(cfg.local_search_share * rest, 0.05)
    chosen = _solve.local_search_max_cover(
        a_csr, a_csc, w, c, chosen, budget=budget, p=p, deadline=time.perf_counter() + ls_budget, tol=tol
    )
    chosen = _solve.drop_redundant(a_csc, c, chosen)
    value = _solve.covered_value(a_csc, w, chosen)
    bound = rounded(_solve.online_bound_max_cover(a_csr, a_csc, w, c, chosen, budget=budget, p=p))
    solver = "greedy+local-search"
    exact = _exact(method, a_csr.nnz, cfg)
    if not _proved_max(value, bound, tol) and _highs_fits(a_csr.nnz, start, limit, cfg):

        def solve(warm: np.ndarray | None) -> _solve.HighsOutcome:
            return _solve.highs_max_cover(
                a_csr, w, c, budget=budget, p=p, start=warm, time_limit=_remaining(start, limit), mip=exact
            )

        def disagrees(out: _solve.HighsOutcome) -> bool:
            # a bound below a selection we hold, or "optimal" for an incumbent that by our count misses the bound
            if rounded(out.bound) < value - tol * max(value, 1.0):
                return True
            got = None if out.selected is None else _solve.covered_value(a_csc, w, out.selected)
            return out.optimal and got is not None and got < rounded(out.bound) - tol * max(got, 1.0)

        outcome = solve(chosen)
        if disagrees(outcome) and _highs_fits(a_csr.nnz, start, limit, cfg):
            outcome = solve(None)  # the warm start misled it: again from scratch
        if not disagrees(outcome):
            bound = min(bound, rounded(outcome.bound))
        if exact and outcome.selected is not None and _fits(outcome.selected, c, budget, p, tol):
            mip_value = _solve.covered_value(a_csc, w, outcome.selected)
            if mip_value > value + tol * max(value, 1.0):
                chosen, value, solver = _solve.drop_redundant(a_csc, c, outcome.selected), mip_value, "highs"
    if budget is not None or p is not None:
        chosen = _cheapest_at_value(a_csr, a_csc, w, c, chosen, value, budget, p, start, limit, exact, cfg)
    return chosen, bound, solver


def _cheapest_at_value(
    a_csr: sp.csr_matrix,
    a_csc: sp.csc_matrix,
    w: np.ndarray,
    c: np.ndarray,
    chosen: np.ndarray,
    value: float,
    budget: float | None,
    p: int | None,
    start: float,
    limit: float | None,
    exact: bool,
    cfg: WifiSettings,
) -> np.ndarray:
    """The cheapest selection found that covers ``value``: cheaper swaps, then (exact) a MILP warm-started with
    them; budget left over buys nothing more."""
    tol = cfg.tolerance
    rest = _remaining(start, limit)
    deadline = time.perf_counter() + (cfg.local_search_s if rest is None else max(cfg.local_search_share * rest, 0.0))
    chosen = _solve.cheaper_swaps(a_csc, w, c, chosen, value=value, deadline=deadline, tol=tol)
    cost = float(c[chosen].sum())
    cheapest_possible = float(np.min(c)) if len(c) else 0.0
    if not exact or cost <= cheapest_possible + tol or not _highs_fits(a_csr.nnz, start, limit, cfg):
        return chosen
    out = _solve.highs_min_cost_at_value(
        a_csr, w, c, value=value, budget=budget, p=p, start=chosen, time_limit=_remaining(start, limit)
    )
    if out.selected is None or not _fits(out.selected, c, budget, p, tol):
        return chosen
    if _solve.covered_value(a_csc, w, out.selected) < value - tol * max(value, 1.0):
        return chosen
    better = _solve.drop_redundant(a_csc, c, out.selected)
    return better if float(c[better].sum()) < cost - tol * max(cost, 1.0) else chosen


def _fits(selected: np.ndarray, c: np.ndarray, budget: float | None, p: int | None, tol: float) -> bool:
    """Whether a selection keeps within the budget and the count."""
    if budget is not None and float(c[selected].sum()) > budget + tol * max(budget, 1.0):
        return False
    return p is None or int(selected.sum()) <= p


def _proved_max(value: float, bound: float, tol: float) -> bool:
    return bound - value <= tol * max(bound, 1.0)


def _exact(method: Method, nnz: int, cfg: WifiSettings) -> bool:
    """Whether the MILP is attempted (otherwise HiGHS gives the LP bound only)."""
    return method == "exact" or (method == "auto" and nnz <= cfg.max_exact_nonzeros)


def _highs_fits(nnz: int, start: float, limit: float | None, cfg: WifiSettings) -> bool:
    """Whether HiGHS may start: no time limit, or its set-up (which ignores the limit) fits in the time left."""
    rest = _remaining(start, limit)
    return rest is None or (rest > 0.01 and nnz * cfg.highs_setup_s_per_nonzero <= rest)


def _check_method(method: object) -> None:
    if method not in METHODS:
        raise SitingError(
            f"unknown method {method!r} ({did_you_mean(method, METHODS)}); valid methods: {', '.join(METHODS)} "
            f"/ phương pháp {method!r} không xác định; các phương pháp hợp lệ: {', '.join(METHODS)}"
        )


def cover_all(
    coverage: object,
    *,
    site_costs: object | None = None,
    time_limit_s: float | None = None,
    method: Method = "auto",
    settings: WifiSettings | None = None,
) -> SitingResult:
    """Choose the cheapest set of sites that covers every coverable demand row.

    Parameters
    ----------
    coverage
        Boolean (or 0/1) demand x site matrix, dense or scipy.sparse.
    site_costs
        Non-negative cost per site, backhaul included (VND).  Defaults to 1 per
        site (fewest sites, spopt's LSCP).
    time_limit_s
        Wall-clock limit for the whole call; ``None`` for no limit.
    method
        ``"auto"``, ``"exact"`` or ``"heuristic"`` as in :func:`maximize_coverage`.
    settings
        As in :func:`maximize_coverage`.

    Returns
    -------
    SitingResult
        ``bound`` is a lower bound on the cost; ``uncoverable`` lists the rows no
        site covers (they are left out of the model, not an error).

    Raises
    ------
    SitingError
        On a malformed matrix or costs.
    """
    start = time.perf_counter()
    cfg = DEFAULT_SETTINGS if settings is None else settings
    matrix = _as_csr(coverage)
    n_rows, n_sites = matrix.shape
    _check_time_limit(time_limit_s)
    _check_method(method)
    costs = np.ones(n_sites) if site_costs is None else _vector(site_costs, n_sites, "site_costs", "candidate site")
    red = reduce_instance(
        matrix, np.ones(n_rows), costs, drop_zero_weight=False, max_dominance_work=cfg.max_dominance_work
    )
    chosen = np.zeros(red.matrix.shape[1], dtype=bool)
    bound, solver = 0.0, "greedy+local-search"
    if red.matrix.shape[0] > 0:
        chosen, bound, solver = _solve_set_cover(red, start=start, limit=time_limit_s, method=method, cfg=cfg)
    selected = np.sort(red.sites[chosen])
    covered = np.asarray(matrix[:, selected].sum(axis=1)).ravel() > 0
    cost = float(costs[selected].sum())
    proved = cost - bound <= cfg.tolerance * max(cost, 1.0)
    bound = min(bound, cost)
    gap = _gap(cost - bound, cost)
    return SitingResult(
        selected=selected,
        covered_weight=float(covered.sum()),
        cost=cost,
        status="optimal" if proved else "feasible",
        bound=bound,
        gap=gap,
        solver=solver,
        time_s=time.perf_counter() - start,
        covered=covered,
        uncoverable=red.uncoverable,
    )


def _solve_set_cover(
    red: Reduced, *, start: float, limit: float | None, method: Method, cfg: WifiSettings
) -> tuple[np.ndarray, float, str]:
    """The cheapest cover found of a reduced instance, a lower bound on its cost and the solver that found it.

    HiGHS's answer is checked against our own count: a bound above a cover we hold, or "optimal" for a selection
    that does not cover every row or costs more than its bound, makes it solve again without the warm start, and
    a bound that still disagrees is not used.
    """
    a_csr, c, tol = red.matrix, red.costs, cfg.tolerance
    a_csc = a_csr.tocsc()
    integral = bool(np.all(c == np.round(c)))

    def rounded(b: float) -> float:
        return float(np.ceil(b - 1e-6)) if integral else b

    chosen = _solve.greedy_set_cover(a_csc, c, tol=tol)
    cost = float(c[chosen].sum())
    bound = rounded(_solve.dual_bound_set_cover(a_csr, c))
    solver = "greedy+local-search"
    if cost - bound <= tol * max(cost, 1.0) or not _highs_fits(a_csr.nnz, start, limit, cfg):
        return chosen, bound, solver
    exact = _exact(method, a_csr.nnz, cfg)

    def covers(sel: np.ndarray | None) -> bool:
        return sel is not None and bool(_solve._cover_counts(a_csr, sel).min() >= 1)

    def disagrees(out: _solve.HighsOutcome) -> bool:
        if rounded(out.bound) > cost + tol * max(cost, 1.0):
            return True
        if not out.optimal or out.selected is None:
            return False
        return not covers(out.selected) or float(c[out.selected].sum()) > rounded(out.bound) + tol * max(cost, 1.0)

    def solve(warm: np.ndarray | None) -> _solve.HighsOutcome:
        return _solve.highs_set_cover(a_csr, c, start=warm, time_limit=_remaining(start, limit), mip=exact)

    outcome = solve(chosen)
    if disagrees(outcome) and _highs_fits(a_csr.nnz, start, limit, cfg):
        outcome = solve(None)  # the warm start misled it: again from scratch
    if not disagrees(outcome):
        bound = max(bound, rounded(outcome.bound))
    if exact and covers(outcome.selected):
        assert outcome.selected is not None
        better = _solve.drop_redundant(a_csc, c, outcome.selected)
        if float(c[better].sum()) < cost - tol * max(cost, 1.0):
            chosen, solver = better, "highs"
    return chosen, bound, solver
