"""Yearly phasing of an undergrounding plan (private; see :mod:`gisplan.underground.planner`).

Streets (connected runs of trench edges of one named street) are opened once,
in one year.  :func:`assign_phases` fills years greedily: in each year it takes,
among the streets that touch the root or what is already built (in earlier years
or earlier in the same year), the one with the highest priority score whose
*incremental* cost still fits the year's budget; it repeats until nothing fits,
then moves to the next year.  The incremental cost of a street is

- its own items (trench, traffic management, ducts or duct reuse, handholes on it),
- the node items (junction manholes, road crossings) it is the first to reach,
- the cables whose whole path becomes complete with it (re-pull and aerial removal),
- the poles whose last cable becomes complete with it (pole removal),

all multiplied by ``cost_factor`` (1 + contingency share).  A street whose
incremental cost exceeds a whole year's budget raises :class:`PlanningError`
naming it, its cost and the minimum budget needed: splitting it across years
would open the street twice (against "dig once").
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from gisplan._errors import PlanningError


@dataclass(frozen=True)
class Street:
    """One street to open: a connected set of tree edges sharing a street key."""

    key: str
    name: str
    nodes: frozenset[Hashable]
    own_cost: float
    score: float
    length_m: float


@dataclass(frozen=True)
class PhaseResult:
    """Year of every street, node item, cable and pole."""

    street_year: dict[str, int]
    node_year: dict[Hashable, int]
    cable_year: dict[str, int]
    pole_year: dict[str, int]
    year_cost: dict[int, float] = field(default_factory=dict)


def _fmt(v: float) -> str:
    return f"{round(v):,} VND"


def assign_phases(
    streets: Sequence[Street],
    *,
    root_nodes: frozenset[Hashable],
    node_costs: Mapping[Hashable, float],
    cable_needs: Mapping[str, tuple[frozenset[str], float]],
    pole_needs: Mapping[str, tuple[frozenset[str], float]],
    budget: float,
    start_year: int,
    max_years: int,
    cost_factor: float,
) -> PhaseResult:
    """Assign every street a year (see the module docstring for the rule).

    Parameters
    ----------
    streets
        The streets; every street must be reachable from ``root_nodes`` through other streets.
    root_nodes
        Nodes built from the start (the exchange or the existing duct network).
    node_costs
        Cost of the items at a node (manholes, crossings), charged to the first street reaching it.
    cable_needs
        cable id -> (keys of the streets its path uses, cost of re-pulling it and removing its aerial span).
    pole_needs
        pole id -> (ids of the cables it carries, removal cost); removed with its last cable.
    budget
        Budget per year in VND (contingency included).
    start_year, max_years
        First year and the number of years allowed.
    cost_factor
        Multiplier of every cost (1 + contingency share).

    Raises
    ------
    PlanningError
        When a street alone costs more than the yearly budget, or the streets need more than
        ``max_years`` years.
    """
    by_key = {s.key: s for s in streets}
    node_streets: dict[Hashable, list[str]] = {}
    for s in streets:
        for n in s.nodes:
            node_streets.setdefault(n, []).append(s.key)
    cable_left = {c: set(keys) for c, (keys, _) in cable_needs.items()}
    street_cables: dict[str, list[str]] = {}
    for c in sorted(cable_needs):
        for k in sorted(cable_needs[c][0]):
            street_cables.setdefault(k, []).append(c)
    pole_left = {p: set(cids) for p, (cids, _) in pole_needs.items()}
    cable_poles: dict[str, list[str]] = {}
    for p in sorted(pole_needs):
        for c in sorted(pole_needs[p][0]):
            cable_poles.setdefault(c, []).append(p)
    # cables that need no street at all (both ends on one node) complete in the first year, with their poles
    built_nodes: set[Hashable] = set(root_nodes)
    street_year: dict[str, int] = {}
    node_year: dict[Hashable, int] = {}
    cable_year: dict[str, int] = {}
    pole_year: dict[str, int] = {}
    year_cost: dict[int, float] = {}

    def increment(key: str) -> tuple[float, list[Hashable], list[str], list[str]]:
        s = by_key[key]
        cost = s.own_cost
        new_nodes = sorted((n for n in s.nodes if n not in node_year), key=repr)
        cost += sum(node_costs.get(n, 0.0) for n in new_nodes)
        done = [c for c in street_cables.get(key, []) if cable_left[c] == {key}]
        cost += sum(cable_needs[c][1] for c in done)
        done_set = set(done)
        poles = [
            p
            for p in sorted({p for c in done for p in cable_poles.get(c, [])})
            if p not in pole_year and pole_left[p] <= done_set
        ]  # pole_left only holds the cables not yet complete
        cost += sum(pole_needs[p][1] for p in poles)
        return cost * cost_factor, new_nodes, done, poles

    def frontier() -> list[str]:
        keys = {k for n in built_nodes for k in node_streets.get(n, []) if k not in street_year}
        return sorted(keys, key=lambda k: (-by_key[k].score, k))

    year = start_year
    zero_cables = [c for c, keys in cable_left.items() if not keys]
    while len(street_year) < len(by_key) or zero_cables:
        if year >= start_year + max_years:
            left = sum(by_key[k].own_cost for k in by_key if k not in street_year) * cost_factor
            raise PlanningError(
                f"the plan needs more than max_years={max_years} years at {_fmt(budget)} a year: "
                f"{len(by_key) - len(street_year)} street(s) worth about {_fmt(left)} are left after {year - 1}; "
                "raise budget_per_year_vnd or max_years / Kế hoạch cần nhiều hơn số năm cho phép"
            )
        spent = 0.0
        if zero_cables:
            for c in sorted(zero_cables):
                cable_year[c] = year
                spent += cable_needs[c][1] * cost_factor
                for p in cable_poles.get(c, []):
                    pole_left[p].discard(c)
            for p in sorted({p for c in zero_cables for p in cable_poles.get(c, [])}):
                if not pole_left[p]:
                    pole_year[p] = year
                    spent += pole_needs[p][1] * cost_factor
            zero_cables = []
        progress = True
        while progress:
            progress = False
            for key in frontier():
                cost, new_nodes, done, poles = increment(key)
                if spent + cost > budget:
                    continue
                spent += cost
                street_year[key] = year
                for n in new_nodes:
                    node_year[n] = year
                built_nodes.update(by_key[key].nodes)
                for c in street_cables.get(key, []):
                    cable_left[c].discard(key)
                for c in done:
                    cable_year[c] = year
                    for p in cable_poles.get(c, []):
                        pole_left[p].discard(c)
                for p in poles:
                    pole_year[p] = year
                progress = True
                break
        if spent == 0.0 and len(street_year) < len(by_key):
            cands = frontier()
            if not cands:
                raise PlanningError("internal: no street connects to the built network (the tree is disconnected)")
            costs = {k: increment(k)[0] for k in cands}
            cheapest = min(cands, key=lambda k: (costs[k], k))
            s = by_key[cheapest]
            raise PlanningError(
                f"budget_per_year_vnd={_fmt(budget)} is below the cost of street {s.name or s.key!r} "
                f"({s.length_m:.0f} m, {_fmt(costs[cheapest])} with its chambers, cables and contingency), the "
                f"cheapest street that can be built next; a street is opened once (dig once), so the yearly budget "
                f"must be at least {_fmt(costs[cheapest])} / Ngân sách năm thấp hơn chi phí tuyến phố rẻ nhất"
            )
        year_cost[year] = spent
        year += 1
    return PhaseResult(street_year, node_year, cable_year, pole_year, year_cost)
