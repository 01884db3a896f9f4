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
where the demand of a subtree exceeds a link, the subtree's top site takes its own direct backhaul instead (largest
overload first), until every link fits.  That repair is a heuristic (a capacitated spanning tree is NP-hard); the
uncapacitated tree is optimal.

A relay's cost may include masts (``extra_cost``): the caller (:mod:`gisplan.wifi._select`) checks the relays the
forest uses over the elevation raster with every pair of catalog mast heights, bars those no pair clears, prices the
others with their cheapest clearing pair, and redoes the forest until the relays it uses are all known.

Point-to-multipoint hubs: every relay into a site ends on one of its sectors, and a sector serves at most
``sector_max_links`` links and ``sector_capacity_mbps`` (:func:`hub_sectors`).  A site relaying more adds sectors at
``sector_cost`` each (the first is part of the relay radios); where moving a relayed site to its own direct backhaul
costs less than the sectors it saves, it goes direct (the link goes elsewhere).  Also a heuristic, run after the
capacity repair.

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

import networkx as nx
import numpy as np
import pandas as pd
import shapely

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

    Returns
    -------
    pandas.DataFrame
        One row per site: ``parent`` (-1: direct backhaul), ``link`` ("direct", "relay" or "ptp"), ``length_m`` of
        the relay (0 when direct), ``cost`` of its link, ``load_mbps`` it carries (its subtree's demand),
        ``capacity_mbps`` of its link, ``root`` (the site whose direct backhaul it uses), ``sectors_added``
        (sectors it adds as a hub beyond the first) and ``sector_cost`` (their price).
    """
    n = len(xy)
    direct = np.asarray(direct_cost, dtype=float)
    demand = np.asarray(demand_mbps, dtype=float)
    cap_direct = np.asarray(direct_capacity_mbps, dtype=float)
    extra = dict(extra_cost or {})
    edges = _relay_edges(xy, relay_max_m, ptp_max_m, relay_cost, ptp_cost, blocked or set(), extra)
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
