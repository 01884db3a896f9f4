"""Backhaul as a network: chosen sites relay through each other, an island shares one satellite terminal or hop.

Each chosen site has a direct backhaul (its cheapest feasible option of :func:`gisplan.wifi.backhaul.backhaul_options`:
fibre, a radio hop to a fibre hub, a long hop, a sea cable, satellite).  :func:`relay_forest` lets a site take its
backhaul through another chosen site instead, over a radio relay: a ``RELAY.5G`` pair up to ``relay_max_km``, a
``PTP.5G`` pair up to ``ptp_5g_max_km``.  The cheapest such network is a minimum spanning tree of the sites plus a
virtual root, where the edge root-site costs the site's direct backhaul and a site-site edge its relay (every tree
of the forest then pays exactly one direct backhaul: the classic reduction of the "open one gateway per component"
problem to a spanning tree).  Fees are counted over the horizon in the direct costs, so a satellite shared by an
island is one terminal and one fee.

Capacity: a relay, a radio hop and a satellite terminal carry at most their catalog capacity (``*_capacity_mbps``);
a satellite gateway may bond several terminals (``bondable``), each with its price and fees.

Gateway sharing per island: the sites that reach each other by relay hops (an island, for the demo Thổ Châu or
Hòn Thơm) get their gateways and relay forest exactly when they are at most ``exact_max_sites``
(:func:`_exact_island`: a mixed-integer programme over the island's hops, solved by HiGHS with a node limit, so
deterministic), minimising the life-cycle cost: direct backhauls (a satellite gateway per bonded terminal, its fees
over the horizon included), relays with their masts and added hub sectors, subject to every link's capacity
(relay, 5 GHz hop, a gateway's terminals or microwave) and the hub sectors' limits.  Larger islands (the main
island, where most sites have fibre) keep the spanning tree with its repairs: where the demand of a subtree
exceeds a link, the subtree's top site takes its own direct backhaul instead (largest overload first), until every
link fits, then needless cuts are undone (a heuristic: a capacitated spanning tree is NP-hard; the uncapacitated
tree is optimal).  An island solved exactly takes the solver's network where it is cheaper than the heuristic's
(or less over capacity), so it never does worse; on a tie the spanning tree's stands (its tie-breaking: Kruskal's
order of the sites).  Hops the caller found
blocked over the terrain are not offered at all.

A relay's cost may include masts (``extra_cost``): the caller (:mod:`gisplan.wifi._select`) checks the relays the
forest uses over the elevation raster with every pair of catalog mast heights, bars those no pair clears, prices the
others with their cheapest clearing pair, and redoes the forest until the relays it uses are all known.

Point-to-multipoint hubs: every relay into a site ends on one of its sectors, and a sector serves at most
``sector_max_links`` links and ``sector_capacity_mbps`` (:func:`hub_sectors`).  A site relaying more adds sectors at
``sector_cost`` each (the first is part of the relay radios); where moving a relayed site to its own direct backhaul
costs less than the sectors it saves, it goes direct (the link goes elsewhere).  Also a heuristic, run after the
capacity repair; the exact islands price the sectors in their objective.

Examples
--------
>>> import numpy as np
>>> xy = np.array([[0.0, 0.0], [900.0, 0.0], [2500.0, 0.0]])
>>> out = relay_forest(xy, direct_cost=[300, 300, 300], demand_mbps=[10, 10, 10], direct_capacity_mbps=[100] * 3,
...                    relay_max_m=2000, ptp_max_m=15000, relay_cost=8, ptp_cost=60, relay_capacity_mbps=100,
...                    ptp_capacity_mbps=300)
>>> out["parent"].tolist(), out["link"].tolist(), int(out["cost"].sum())
([-1, 0, 1], ['direct', 'relay', 'relay'], 316)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["hub_sectors", "relay_forest"]

_ROOT = -1


def relay_forest(
    xy: np.ndarray,
    *,
    direct_cost: Sequence[float] | np.ndarray,
    demand_mbps: Sequence[float] | np.ndarray,
    direct_capacity_mbps: Sequence[float] | np.ndarray,
    relay_max_m: float,
    ptp_max_m: float,
    relay_cost: float,
    ptp_cost: float,
    relay_capacity_mbps: float,
    ptp_capacity_mbps: float,
    blocked: set[tuple[int, int]] | None = None,
    sector_max_links: int | None = None,
    sector_capacity_mbps: float = np.inf,
    sector_cost: float = 0.0,
    extra_cost: Mapping[tuple[int, int], float] | None = None,
    bondable: Sequence[bool] | np.ndarray | None = None,
    included_mbps: Sequence[float] | np.ndarray | None = None,
    above_cost_per_mbps: Sequence[float] | np.ndarray | None = None,
    cost_per_mbps: Sequence[float] | np.ndarray | None = None,
    max_units: int | None = None,
    exact_max_sites: int = 40,
    node_limit: int = 2_000,
    cache: dict[bytes, tuple[np.ndarray, bool] | None] | None = None,
) -> pd.DataFrame:
    """The cheapest backhaul forest of sites at ``xy`` (metres); see the module notes.

    Parameters
    ----------
    xy
        Site coordinates in a metric CRS, one row per site.
    direct_cost, demand_mbps, direct_capacity_mbps
        Per site: its direct backhaul's cost over the horizon (VND), the busy-hour demand it serves (Mbit/s), the
        capacity of its direct backhaul (Mbit/s; ``inf`` for fibre).
    relay_max_m, ptp_max_m, relay_cost, ptp_cost, relay_capacity_mbps, ptp_capacity_mbps
        The two relay kinds: reach, price and capacity.
    blocked
        Site pairs ``(i, j)`` with ``i < j`` whose path is known to be blocked (line of sight).
    sector_max_links, sector_capacity_mbps, sector_cost
        Limits of one hub sector and the price of each sector beyond the first (``None``: no sector limit).
    extra_cost
        Cost added to a relay ``(i, j)`` (``i < j``) on top of its radios: the masts it needs to clear the path.
    bondable
        Per site: its direct backhaul is a satellite terminal, of which a gateway may bond several (each of
        ``direct_capacity_mbps`` and ``direct_cost``); ``None``: none is.
    included_mbps, above_cost_per_mbps, cost_per_mbps
        Per site, what a gateway's traffic costs over the horizon: each of its terminals' subscriptions includes
        ``included_mbps`` (bondable sites), the load above terminals x that costs ``above_cost_per_mbps`` a Mbit/s,
        and every Mbit/s it carries ``cost_per_mbps`` (IP transit; satellite traffic from a planned cable's year).
        ``None``: 0.
    max_units
        Terminals one bondable gateway may bond at most (more only where its own demand needs them); ``None``: no
        limit.
    exact_max_sites, node_limit
        Islands (connected groups of sites) of at most ``exact_max_sites`` sites are solved exactly
        (:func:`_exact_island`, HiGHS with ``node_limit`` branch-and-bound nodes); larger ones by the spanning tree
        and its repairs.
    cache
        Solutions of islands by their inputs, kept by a caller that calls again with some relays barred or priced
        (an island whose inputs did not change is not solved again).

    Returns
    -------
    pandas.DataFrame
        One row per site: ``parent`` (-1: direct backhaul), ``link`` ("direct", "relay" or "ptp"), ``length_m`` of
        the relay (0 when direct), ``cost`` of its link, ``load_mbps`` it carries (its subtree's demand),
        ``capacity_mbps`` of its link, ``root`` (the site whose direct backhaul it uses), ``sectors_added``
        (sectors it adds as a hub beyond the first), ``sector_cost`` (their price), ``units`` (terminals of a
        gateway: more than 1 where a bondable gateway's load needs them, its ``cost`` and ``capacity_mbps`` that
        many times one terminal's; 1 for another gateway, 0 for a relayed site), ``exact`` (the site's island
        was solved exactly and proven optimal) and ``solved`` (its island went through the exact solver, proven or
        with the best network found within ``node_limit``).
    """
    n = len(xy)
    direct = np.asarray(direct_cost, dtype=float)
    demand = np.asarray(demand_mbps, dtype=float)
    cap_direct = np.asarray(direct_capacity_mbps, dtype=float)
    bond = np.zeros(n, dtype=bool) if bondable is None else np.asarray(bondable, dtype=bool)
    traffic = _Traffic(
        bond=bond,
        cap=cap_direct,
        included=np.zeros(n) if included_mbps is None else np.asarray(included_mbps, dtype=float),
        above=np.zeros(n) if above_cost_per_mbps is None else np.asarray(above_cost_per_mbps, dtype=float),
        per_mbps=np.zeros(n) if cost_per_mbps is None else np.asarray(cost_per_mbps, dtype=float),
        max_units=max_units,
    )
    extra = dict(extra_cost or {})
    edges = _relay_edges(xy, relay_max_m, ptp_max_m, relay_cost, ptp_cost, blocked or set(), extra)

    def final(parent: np.ndarray) -> pd.DataFrame:
        t = _loads(xy, parent, demand, direct, cap_direct, relay_max_m, relay_cost, ptp_cost,
                   relay_capacity_mbps, ptp_capacity_mbps, extra)  # fmt: skip
        return _with_units(
            _with_sectors(t, sector_max_links, sector_capacity_mbps, sector_cost), direct, traffic, demand
        )

    heuristic = _heuristic_forest(
        xy, direct, demand, cap_direct, edges, relay_max_m, relay_cost, ptp_cost, relay_capacity_mbps,
        ptp_capacity_mbps, sector_max_links, sector_capacity_mbps, sector_cost, extra,
    )  # fmt: skip
    parent = heuristic["parent"].to_numpy().copy()
    base = final(parent)
    exact = np.zeros(n, dtype=bool)
    solved = np.zeros(n, dtype=bool)
    for island in _islands(n, edges):
        if len(island) == 1:  # alone: its own backhaul (bonded as its load needs) is all it can have
            exact[island] = True
            continue
        if len(island) > exact_max_sites:
            continue
        key = _island_key(
            island,
            xy,
            direct,
            demand,
            traffic,
            edges,
            (
                relay_max_m,
                relay_capacity_mbps,
                ptp_capacity_mbps,
                sector_max_links or 0,
                sector_capacity_mbps,
                sector_cost,
                node_limit,
            ),
        )
        if cache is not None and key in cache:
            found = cache[key]
        else:
            found = _exact_island(
                island, xy, direct, demand, traffic, edges, relay_max_m, relay_capacity_mbps,
                ptp_capacity_mbps, sector_max_links, sector_capacity_mbps, sector_cost, node_limit,
            )  # fmt: skip
            if cache is not None:
                cache[key] = found
        if found is None:
            continue
        solved[island] = True
        sub_parent, proven = found
        trial = parent.copy()
        trial[island] = sub_parent
        t = final(trial)
        over, over_base = _island_excess(t, island), _island_excess(base, island)
        cost, cost_base = _island_total(t, island), _island_total(base, island)
        if over < over_base - 1e-6 or (over <= over_base + 1e-6 and cost < cost_base - 0.5):
            parent, base = trial, t
            exact[island] = proven
        elif over_base <= over + 1e-6 and cost_base <= cost + 0.5:  # a tie: the spanning tree's is optimal too
            exact[island] = proven
    return base.assign(exact=exact, solved=solved | exact)


def _islands(n: int, edges: list[tuple[int, int, float]]) -> list[list[int]]:
    """Groups of sites that reach each other by relay hops (sorted, ordered by their first site)."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, j, _ in edges)
    return sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: c[0])


def _island_key(
    island: list[int],
    xy: np.ndarray,
    direct: np.ndarray,
    demand: np.ndarray,
    traffic: _Traffic,
    edges: list[tuple[int, int, float]],
    scalars: tuple[float, ...],
) -> bytes:
    """Every input of an island's exact solution, as bytes (a cache key)."""
    members = set(island)
    hops = np.array([(i, j, c) for i, j, c in edges if i in members and j in members], dtype=float)
    parts = [np.asarray(island, dtype=np.int64), xy[island], direct[island], demand[island], traffic.bond[island],
             traffic.cap[island], traffic.included[island], traffic.above[island], traffic.per_mbps[island], hops,
             np.array([*scalars, -1 if traffic.max_units is None else traffic.max_units], dtype=float)]  # fmt: skip
    return b"|".join(np.ascontiguousarray(a).tobytes() for a in parts)


def _island_total(table: pd.DataFrame, island: list[int]) -> float:
    rows = table.iloc[island]
    return float(rows["cost"].sum() + rows["sector_cost"].sum())


def _island_excess(table: pd.DataFrame, island: list[int]) -> float:
    """Mbit/s the links of ``island`` carry beyond their capacities (a site alone over its own backhaul's)."""
    rows = table.iloc[island]
    return float(np.maximum(rows["load_mbps"].to_numpy() - rows["capacity_mbps"].to_numpy(), 0.0).sum())


@dataclass(frozen=True)
class _Traffic:
    """Per site: bondable terminals and what a gateway's traffic costs (see :func:`relay_forest`)."""

    bond: np.ndarray
    cap: np.ndarray
    included: np.ndarray
    above: np.ndarray
    per_mbps: np.ndarray
    max_units: int | None

    def unit_limit(self, own_mbps: np.ndarray, sites: list[int] | None = None) -> np.ndarray:
        """Terminals a bondable gateway (of ``sites``, default all) may bond: ``max_units``, or more where its own
        demand ``own_mbps`` needs them."""
        cap = self.cap if sites is None else self.cap[sites]
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(cap > 0, np.ceil(own_mbps / np.where(cap > 0, cap, 1.0) - 1e-9), 1.0)
        return np.maximum(need, 1.0) if self.max_units is None else np.maximum(need, float(self.max_units))


def _with_units(table: pd.DataFrame, direct: np.ndarray, traffic: _Traffic, demand: np.ndarray) -> pd.DataFrame:
    """``table`` with ``units`` per gateway and the gateways' ``cost`` (their backhaul and traffic over the horizon):
    a bondable gateway takes the number of terminals that costs least (terminals x ``direct`` plus the load above
    terminals x included at ``above``), at least those its load needs and at most :meth:`_Traffic.unit_limit` (a
    load beyond that leaves it over capacity); every gateway pays ``per_mbps`` on its load; a relayed site has 0
    units."""
    out = table.copy()
    gateway = out["parent"].to_numpy() < 0
    load = out["load_mbps"].to_numpy(dtype=float)
    bond = traffic.bond & np.isfinite(traffic.cap) & (traffic.cap > 0)
    inc = np.where(bond, traffic.included, 0.0)
    safe_cap = np.where(bond, traffic.cap, 1.0)
    safe_inc = np.where(inc > 0, inc, 1.0)
    low = np.maximum(np.where(bond, np.ceil(load / safe_cap - 1e-9), 1.0), 1.0)
    kink = np.where(inc > 0, load / safe_inc, low)  # where the terminals include the whole load
    top = traffic.unit_limit(demand) if traffic.max_units is not None else np.maximum(np.ceil(kink), low)
    low = np.minimum(low, top)  # beyond its limit a gateway is over capacity (reported), not given more terminals

    def cost_of(units: np.ndarray) -> np.ndarray:
        return units * direct + traffic.above * np.maximum(load - inc * units, 0.0)

    # the cost is convex and piecewise linear in the terminals, kinked at ``kink``: the best is among these
    tries = np.stack([low, top, np.clip(np.floor(kink), low, top), np.clip(np.ceil(kink), low, top)])
    costs = np.stack([cost_of(u) for u in tries]) + 1e-6 * tries  # ties: fewer terminals
    best = tries[np.argmin(costs, axis=0), np.arange(len(load))]
    units = np.where(gateway, np.where(bond, best, 1.0), 0.0)
    gate_cost = cost_of(np.where(bond, units, 1.0)) + traffic.per_mbps * load
    out["cost"] = np.where(gateway, gate_cost, out["cost"].to_numpy(dtype=float))
    out["capacity_mbps"] = out["capacity_mbps"].to_numpy(dtype=float) * np.where(bond & gateway, units, 1.0)
    out["units"] = units.astype(np.int64)
    return out


def _exact_island(
    island: list[int],
    xy: np.ndarray,
    direct: np.ndarray,
    demand: np.ndarray,
    traffic: _Traffic,
    edges: list[tuple[int, int, float]],
    relay_max_m: float,
    relay_cap: float,
    ptp_cap: float,
    max_links: int | None,
    sector_cap: float,
    sector_cost: float,
    node_limit: int,
) -> tuple[np.ndarray, bool] | None:
    """The least-cost backhaul of one island as a mixed-integer programme (single-commodity flow), solved by HiGHS
    (``scipy.optimize.milp``, deterministic: a node limit, no time limit).

    Variables: ``x_a`` (binary) site ``i`` takes its backhaul over arc ``a = i -> j``; ``f_a`` its flow (Mbit/s);
    ``y_i`` (binary) ``i`` is a gateway on its own direct backhaul, ``t_i`` (integer) the terminals of a bondable
    gateway (at most its :meth:`_Traffic.unit_limit`), ``g_i`` the flow leaving through it, ``e_i >= g_i -
    included_i t_i`` the part its subscriptions do not include; ``s_j`` (integer) sectors added at hub ``j``.
    Constraints: each site has one way out (``sum_a x_a + y_i = 1``); flow conservation, each site sending its
    demand (at least 1e-3 Mbit/s, so that every tree reaches a gateway); ``f_a <= capacity_a x_a`` (relay or 5 GHz
    hop); ``g_i <= capacity_i y_i`` (a non-bondable direct backhaul; never below the site's own demand, which a site
    alone on its backhaul carries even over capacity, as the repair heuristic allows) or ``g_i <= capacity_i t_i``
    with ``y_i <= t_i`` (bonded terminals); a hub's links and inflow within ``(1 + s_j)`` sectors.  Objective:
    links + direct backhauls (per terminal where bondable) + traffic (``above_i e_i + per_mbps_i g_i``) + added
    sectors.  Every feasible solution is a forest whose link loads are the subtrees' demands, so the optimum is the
    least-cost network the module describes.

    Returns the parent of each site of ``island`` (-1: gateway; indices of the whole problem) and whether HiGHS
    proved it optimal, or ``None`` when it found no solution within the node limit.
    """
    m = len(island)
    pos = {v: k for k, v in enumerate(island)}
    eps = 1e-3  # well above HiGHS's feasibility tolerance (1e-7), or a cycle of zero-demand sites passes
    slack = m * eps + 1e-6  # capacities hold the true demands; the sites' eps may add up to this
    d = np.maximum(demand[island], eps)
    total = float(d.sum())
    arcs: list[tuple[int, int, float, float]] = []
    for i, j, c in edges:
        if i in pos and j in pos:
            length = float(np.hypot(*(xy[i] - xy[j])))
            cap = min(relay_cap if length <= relay_max_m else ptp_cap, total) + slack
            arcs += [(pos[i], pos[j], c, cap), (pos[j], pos[i], c, cap)]
    na = len(arcs)
    tail = np.array([a[0] for a in arcs], dtype=np.int64)
    head = np.array([a[1] for a in arcs], dtype=np.int64)
    arc_cost = np.array([a[2] for a in arcs])
    arc_cap = np.array([a[3] for a in arcs])
    dcap = traffic.cap[island]
    bonded = traffic.bond[island] & np.isfinite(dcap) & (dcap > 0)
    inc = np.where(bonded, traffic.included[island], 0.0)
    per_unit = np.where(bonded, np.maximum(dcap, inc), 1.0)  # a terminal is worth its capacity or what it includes
    enough = np.ceil(total / per_unit) + 1
    limit = enough if traffic.max_units is None else np.minimum(traffic.unit_limit(demand[island], island), enough)
    unit_max = np.where(bonded, np.maximum(limit, 1), 0)
    # variable blocks: x (na), f (na), y (m), t (m), g (m), s (m), e (m)
    ox, of, oy, ot, og, os_, oe = 0, na, 2 * na, 2 * na + m, 2 * na + 2 * m, 2 * na + 3 * m, 2 * na + 4 * m
    nvar = 2 * na + 5 * m
    cost = np.zeros(nvar)
    cost[ox:of] = arc_cost
    cost[oy:ot] = np.where(bonded, 0.0, direct[island])
    cost[ot:og] = np.where(bonded, direct[island], 0.0)
    cost[og:os_] = traffic.per_mbps[island]
    cost[os_:oe] = sector_cost
    cost[oe:] = traffic.above[island]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []

    def constrain(count: int, lower: float | np.ndarray, upper: float | np.ndarray, *terms: tuple) -> None:
        """``count`` rows ``lower <= sum of terms <= upper``; a term ``(row in the block, variable, coefficient)``."""
        start = sum(len(x) for x in lo)
        for rr, cc, vv in terms:
            rr, cc = np.asarray(rr, dtype=np.int64), np.asarray(cc, dtype=np.int64)
            rows.append(start + rr)
            cols.append(cc)
            vals.append(np.broadcast_to(np.asarray(vv, dtype=float), cc.shape))
        lo.append(np.broadcast_to(np.asarray(lower, dtype=float), (count,)))
        hi.append(np.broadcast_to(np.asarray(upper, dtype=float), (count,)))

    e, k = np.arange(na), np.arange(m)
    # one way out per site
    constrain(m, 1.0, 1.0, (tail, ox + e, 1.0), (k, oy + k, 1.0))
    # flow conservation: out over arcs - in over arcs + out through the gateway = demand
    constrain(m, d, d, (tail, of + e, 1.0), (head, of + e, -1.0), (k, og + k, 1.0))
    # arc capacity, and at least the tail's own demand on an arc it uses (tightens the relaxation)
    constrain(na, -np.inf, 0.0, (e, of + e, 1.0), (e, ox + e, -arc_cap))
    constrain(na, 0.0, np.inf, (e, of + e, 1.0), (e, ox + e, -d[tail]))
    # no two sites relay through each other (arcs come in pairs: 2q and 2q + 1)
    pairs = np.arange(na // 2)
    constrain(na // 2, -np.inf, 1.0, (pairs, ox + 2 * pairs, 1.0), (pairs, ox + 2 * pairs + 1, 1.0))
    # direct capacity: per terminal where bondable, else the link's (at least the site's own demand)
    plain = np.minimum(np.maximum(np.where(np.isfinite(dcap), dcap, total), d), total) + slack
    per = np.where(bonded, 0.0, plain)
    constrain(m, -np.inf, 0.0, (k, og + k, 1.0), (k, oy + k, -per), (k, ot + k, -np.where(bonded, dcap + slack, 0.0)))
    # a bondable gateway has at least one terminal, and terminals only where it is a gateway
    constrain(m, -np.inf, 0.0, (k, oy + k, np.where(bonded, 1.0, 0.0)), (k, ot + k, -np.where(bonded, 1.0, 0.0)))
    constrain(m, -np.inf, 0.0, (k, ot + k, 1.0), (k, oy + k, -unit_max))
    # traffic above what the gateway's subscriptions include (a non-bondable gateway includes none)
    constrain(m, -np.inf, 0.0, (k, og + k, 1.0), (k, ot + k, -inc), (k, oe + k, -1.0))
    # hub sectors: links and inflow within (1 + added) sectors
    if max_links:
        constrain(m, -np.inf, float(max_links), (head, ox + e, 1.0), (k, os_ + k, -float(max_links)))
    if np.isfinite(sector_cap):
        constrain(m, -np.inf, float(sector_cap) + slack, (head, of + e, 1.0), (k, os_ + k, -float(sector_cap)))
    r = sum(len(x) for x in lo)
    mat = sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nvar))
    upper = np.concatenate([np.ones(na), arc_cap, np.ones(m), unit_max, np.full(m, total + slack), np.full(m, m),
                            np.full(m, total + slack)])  # fmt: skip
    integrality = np.concatenate([np.ones(na), np.zeros(na), np.ones(m), np.ones(m), np.zeros(m), np.ones(m),
                                  np.zeros(m)])  # fmt: skip
    res = milp(
        cost,
        constraints=LinearConstraint(mat, np.concatenate(lo), np.concatenate(hi)),
        integrality=integrality,
        bounds=Bounds(np.zeros(nvar), upper),
        options={"node_limit": node_limit, "presolve": True, "mip_rel_gap": 0.0},
    )
    if res.x is None:
        return None
    parent = np.full(m, _ROOT, dtype=np.int64)
    used = np.flatnonzero(res.x[ox:of] > 0.5)
    parent[tail[used]] = np.asarray(island)[head[used]]
    return parent, bool(res.status == 0)


def _heuristic_forest(
    xy: np.ndarray,
    direct: np.ndarray,
    demand: np.ndarray,
    cap_direct: np.ndarray,
    edges: list[tuple[int, int, float]],
    relay_max_m: float,
    relay_cost: float,
    ptp_cost: float,
    relay_capacity_mbps: float,
    ptp_capacity_mbps: float,
    sector_max_links: int | None,
    sector_capacity_mbps: float,
    sector_cost: float,
    extra: Mapping[tuple[int, int], float],
) -> pd.DataFrame:
    """The minimum spanning forest, its capacity repair (cuts, then undoing needless cuts) and sector repair."""
    n = len(xy)
    forced_direct: set[int] = set()
    while True:
        parent = _spanning_forest(n, direct, edges, forced_direct)

        def loads(parent: np.ndarray) -> pd.DataFrame:
            t = _loads(xy, parent, demand, direct, cap_direct, relay_max_m, relay_cost, ptp_cost,
                       relay_capacity_mbps, ptp_capacity_mbps, extra)  # fmt: skip
            return _with_sectors(t, sector_max_links, sector_capacity_mbps, sector_cost)

        table = loads(parent)
        over = table[(table["load_mbps"] > table["capacity_mbps"] + 1e-9)]
        if over.empty:
            best = _unforce(n, direct, edges, forced_direct, table, loads)
            return _sector_repair(n, direct, edges, set(forced_direct), best, loads)
        # each overloaded link (the deepest of a path first: cutting below unloads the links above): a site of its
        # subtree goes direct, the one whose subtree load just covers the excess (best fit), else the heaviest
        cuts: set[int] = set()
        load = table["load_mbps"].to_numpy()
        for worst in over.index:
            if any(parent[c] == worst for c in over.index):
                continue  # a child link is overloaded too: cut that one first
            excess = load[worst] - float(table.loc[worst, "capacity_mbps"])
            below = _subtree(parent, int(worst))
            if parent[worst] == _ROOT:
                below = [i for i in below if i != worst]
            if not below:
                continue
            fits = [i for i in below if load[i] >= excess - 1e-9]
            cuts.add(min(fits, key=lambda i: (load[i], i)) if fits else max(below, key=lambda i: (load[i], -i)))
        cuts -= forced_direct
        if not cuts:
            return table  # a site's own demand exceeds its direct backhaul: nothing left to move
        forced_direct |= cuts


def hub_sectors(
    links: Sequence[int] | np.ndarray,
    load_mbps: Sequence[float] | np.ndarray,
    *,
    max_links: int | None,
    capacity_mbps: float = np.inf,
) -> np.ndarray:
    """Sectors a hub needs beyond its first for ``links`` links carrying ``load_mbps`` (per hub): enough sectors that
    none serves more than ``max_links`` links or ``capacity_mbps``; 0 for a hub with no links.

    Examples
    --------
    >>> hub_sectors([1, 15, 16, 40, 3], [10, 100, 100, 100, 900], max_links=15, capacity_mbps=400).tolist()
    [0, 0, 1, 2, 2]
    """
    n = np.asarray(links, dtype=float)
    load = np.asarray(load_mbps, dtype=float)
    by_links = np.ceil(n / max_links) if max_links else np.minimum(n, 1)
    by_load = np.ceil(load / capacity_mbps - 1e-9) if np.isfinite(capacity_mbps) else np.zeros_like(load)
    need = np.where(n > 0, np.maximum(np.maximum(by_links, by_load), 1), 0)
    return np.maximum(need - 1, 0).astype(np.int64)


def _with_sectors(table: pd.DataFrame, max_links: int | None, capacity: float, cost: float) -> pd.DataFrame:
    """``table`` with ``sectors_added`` and ``sector_cost`` per site as a hub of the relays into it."""
    parent = table["parent"].to_numpy()
    n = len(table)
    into = parent >= 0
    links = np.bincount(parent[into], minlength=n)
    inflow = np.bincount(parent[into], weights=table["load_mbps"].to_numpy(dtype=float)[into], minlength=n)
    added = hub_sectors(links, inflow, max_links=max_links, capacity_mbps=capacity)
    return table.assign(sectors_added=added, sector_cost=added * float(cost))


def _total(table: pd.DataFrame) -> float:
    return float(table["cost"].sum() + table["sector_cost"].sum())


def _sector_repair(
    n: int,
    direct: np.ndarray,
    edges: list[tuple[int, int, float]],
    forced: set[int],
    table: pd.DataFrame,
    loads: Callable[[np.ndarray], pd.DataFrame],
) -> pd.DataFrame:
    """Where a hub adds sectors, send one of its relayed sites to its own direct backhaul when the network then
    fits its capacities and costs less (sectors included); repeat until no such move helps."""
    best = table
    while True:
        parent = best["parent"].to_numpy()
        hubs = np.flatnonzero(best["sectors_added"].to_numpy() > 0)
        moves = sorted((int(c) for h in hubs for c in np.flatnonzero(parent == h)), key=lambda i: (direct[i], i))
        for site in moves:
            trial = forced | {site}
            t = loads(_spanning_forest(n, direct, edges, trial))
            if (t["load_mbps"] <= t["capacity_mbps"] + 1e-9).all() and _total(t) < _total(best) - 1e-9:
                forced, best = trial, t
                break
        else:
            return best


def _subtree(parent: np.ndarray, top: int) -> list[int]:
    """``top`` and every site below it."""
    out, stack = [], [top]
    while stack:
        i = stack.pop()
        out.append(i)
        stack.extend(int(c) for c in np.flatnonzero(parent == i))
    return out


def _unforce(
    n: int,
    direct: np.ndarray,
    edges: list[tuple[int, int, float]],
    forced: set[int],
    table: pd.DataFrame,
    loads: Callable[[np.ndarray], pd.DataFrame],
) -> pd.DataFrame:
    """Undo the capacity repair's cuts one at a time (lightest first) where the network still fits and costs less:
    the repair cuts greedily and may leave more gateways than the capacities need."""
    best = table
    for site in sorted(forced, key=lambda i: (float(table.loc[i, "load_mbps"]), i)):
        trial = forced - {site}
        t = loads(_spanning_forest(n, direct, edges, trial))
        if (t["load_mbps"] <= t["capacity_mbps"] + 1e-9).all() and _total(t) < _total(best) - 1e-9:
            forced, best = trial, t
    return best


def _relay_edges(
    xy: np.ndarray,
    relay_max_m: float,
    ptp_max_m: float,
    relay_cost: float,
    ptp_cost: float,
    blocked: set[tuple[int, int]],
    extra: Mapping[tuple[int, int], float],
) -> list[tuple[int, int, float]]:
    """Every possible relay (i < j within ``ptp_max_m``, not blocked) with its cost."""
    n = len(xy)
    if n < 2:
        return []
    tree = shapely.STRtree(shapely.points(xy))
    a, b = tree.query(shapely.points(xy), predicate="dwithin", distance=ptp_max_m)
    keep = a < b
    a, b = a[keep], b[keep]
    d = np.hypot(*(xy[a] - xy[b]).T)
    w = np.where(d <= relay_max_m, relay_cost, ptp_cost)
    return [
        (i, j, c + extra.get((i, j), 0.0))
        for i, j, c in zip(a.tolist(), b.tolist(), w.tolist(), strict=True)
        if (i, j) not in blocked
    ]


def _spanning_forest(
    n: int, direct: np.ndarray, edges: list[tuple[int, int, float]], forced_direct: set[int]
) -> np.ndarray:
    """Parent of each site in the minimum spanning tree of the sites plus the root (-1: direct); a site in
    ``forced_direct`` keeps its direct backhaul (its root edge costs -1, so the tree always takes it)."""
    g = nx.Graph()
    g.add_nodes_from(range(-1, n))
    g.add_weighted_edges_from((_ROOT, i, -1.0 if i in forced_direct else float(direct[i])) for i in range(n))
    g.add_weighted_edges_from(edges)
    mst = nx.minimum_spanning_tree(g, weight="weight", algorithm="kruskal")
    parent = np.full(n, _ROOT, dtype=np.int64)
    for child, par in nx.bfs_predecessors(mst, _ROOT):
        parent[child] = par
    return parent


def _loads(
    xy: np.ndarray,
    parent: np.ndarray,
    demand: np.ndarray,
    direct: np.ndarray,
    cap_direct: np.ndarray,
    relay_max_m: float,
    relay_cost: float,
    ptp_cost: float,
    relay_cap: float,
    ptp_cap: float,
    extra: Mapping[tuple[int, int], float] | None = None,
) -> pd.DataFrame:
    n = len(xy)
    children: dict[int, list[int]] = {}
    for i in range(n):
        children.setdefault(int(parent[i]), []).append(i)
    load = demand.copy()
    root = np.arange(n)
    order: list[int] = []
    stack = list(children.get(_ROOT, []))
    while stack:
        i = stack.pop()
        order.append(i)
        for c in children.get(i, []):
            root[c] = root[i]
            stack.append(c)
    for i in reversed(order):  # children before parents
        if parent[i] != _ROOT:
            load[parent[i]] += load[i]
    rows = []
    for i in range(n):
        if parent[i] == _ROOT:
            rows.append(("direct", 0.0, float(direct[i]), float(cap_direct[i])))
        else:
            d = float(np.hypot(*(xy[i] - xy[parent[i]])))
            short = d <= relay_max_m
            masts = (extra or {}).get((min(i, int(parent[i])), max(i, int(parent[i]))), 0.0)
            rows.append(("relay" if short else "ptp", d, (relay_cost if short else ptp_cost) + masts,
                         relay_cap if short else ptp_cap))  # fmt: skip
    link, length, cost, cap = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pd.DataFrame(
        {"parent": parent, "link": list(link), "length_m": list(length), "cost": list(cost), "load_mbps": load,
         "capacity_mbps": list(cap), "root": root},
    )  # fmt: skip
