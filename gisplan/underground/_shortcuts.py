"""Shortcut trenches: close the loops the Steiner tree breaks (private; see :mod:`gisplan.underground.planner`).

The Steiner tree minimises trench cost only.  Where streets form a loop the tree leaves one side
of it open, and a cable route running along that side is re-pulled all the way round the loop,
sometimes tens of times its aerial length.  :func:`add_shortcuts` improves the tree greedily:

1. Candidates (:func:`candidate_shortcuts`): shortest road paths of at most ``max_length_m``
   that join two tree nodes through roads outside the network (spur edges to poles and sites
   excluded); a single road edge between two tree nodes is the simplest case.
2. Each round, every span is routed by its shortest path (by length) in the current network.
   For every candidate the cable saving is estimated span by span (a span's path may run
   through the candidate), and the candidates whose estimate beats their cost are evaluated
   exactly: the affected spans are re-routed through the candidate and their routes re-priced
   with the "route re-pulled once" rule (:func:`route_cable_costs`: the union of a route's span
   paths, each edge charged at the price of the first span to use it, slack included).
3. A candidate's cost is its trench (the road graph's ``cost``: trench, reinstatement and
   traffic management, penalties of constraint zones included), its ducts for the routes that
   would use it, a manhole at each end that becomes a new junction and the handholes its
   length needs.  The candidate with the largest saving minus cost is added when that is
   positive; candidates sharing a road edge or node with it are dropped; repeat, at most
   ``max_rounds`` rounds (a work bound, not a clock, so the result is deterministic).

Duct savings on the loop sides that lose routes and road crossings are not counted: the
saving is a conservative figure.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from gisplan.catalog._catalog import Catalog
from gisplan.underground._inputs import sorted_nodes
from gisplan.underground._quantities import Edge, ducts_needed, ekey
from gisplan.underground.settings import DEFAULT_SETTINGS, UndergroundSettings

_EPS = 1e-6


@dataclass(frozen=True)
class Span:
    """One aerial span to re-pull: its cable id, end nodes, route and cable price per metre (slack included)."""

    cable_id: str
    a: Hashable
    b: Hashable
    route: str
    price_per_m: float


@dataclass(frozen=True)
class Shortcut:
    """A road path joining two network nodes: its nodes (in the road graph), length and trench cost."""

    nodes: tuple[Hashable, ...]
    length_m: float
    trench_vnd: float

    @property
    def edges(self) -> list[Edge]:
        return [ekey(a, b) for a, b in itertools.pairwise(self.nodes)]


@dataclass(frozen=True)
class ShortcutResult:
    """The built network (tree plus shortcuts), the span paths in it and the figures of the step."""

    network: nx.Graph
    paths: dict[str, list[Hashable]]
    added: list[Shortcut]
    cable_m_tree: float
    cable_m: float
    saving_vnd: float
    cost_vnd: float


def candidate_shortcuts(G: nx.Graph, N: nx.Graph, *, max_length_m: float) -> list[Shortcut]:
    """Shortest road paths (at most ``max_length_m``) joining two nodes of ``N`` outside ``N``'s edges.

    Paths run over road edges of ``G`` that are not in ``N`` (spur edges excluded) and through
    no node of ``N`` other than their ends; one path per pair of ends, deterministic.
    """
    net_nodes = set(N.nodes)

    def usable(a: Hashable, b: Hashable, d: Mapping) -> bool:
        return d.get("kind") != "spur" and not N.has_edge(a, b) and math.isfinite(float(d.get("cost", 0.0)))

    out: dict[tuple[Hashable, Hashable], Shortcut] = {}
    for u in sorted_nodes(net_nodes):
        if not any(usable(u, m, G.edges[u, m]) for m in G.adj[u]):
            continue

        def weight(a: Hashable, b: Hashable, d: Mapping, src: Hashable = u) -> float | None:
            if (a != src and a in net_nodes) or not usable(a, b, d):
                return None
            return float(d["length_m"])

        dist, paths = nx.single_source_dijkstra(G, u, cutoff=max_length_m, weight=weight)
        for v in sorted_nodes(dist):
            if v == u or v not in net_nodes:
                continue
            key = ekey(u, v)
            if key != (u, v) or key in out:  # each pair once, from its first end
                continue
            p = tuple(paths[v])
            trench = sum(float(G.edges[a, b]["cost"]) for a, b in itertools.pairwise(p))
            out[key] = Shortcut(nodes=p, length_m=float(dist[v]), trench_vnd=trench)
    return [out[k] for k in sorted(out, key=repr)]


def route_cable_costs(
    spans: Sequence[Span], paths: Mapping[str, Sequence[Hashable]], length: Mapping[Edge, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Cost (VND) and metres of cable per route: the union of its spans' paths, each edge charged once.

    Spans are taken in the given order; each is charged the edges of its path that earlier
    spans of its route have not claimed, at its own price per metre.
    """
    claimed: dict[str, set[Edge]] = {}
    cost: dict[str, float] = {}
    metres: dict[str, float] = {}
    for s in spans:
        seen = claimed.setdefault(s.route, set())
        m = 0.0
        for a, b in itertools.pairwise(paths[s.cable_id]):
            k = ekey(a, b)
            if k not in seen:
                seen.add(k)
                m += length[k]
        cost[s.route] = cost.get(s.route, 0.0) + m * s.price_per_m
        metres[s.route] = metres.get(s.route, 0.0) + m
    return cost, metres


class _Routing:
    """Shortest paths (by length) from a fixed set of source nodes in a network, on scipy arrays."""

    def __init__(self, N: nx.Graph, sources: Sequence[Hashable]) -> None:
        self.nodes = sorted_nodes(N.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        ij = np.array([(self.index[a], self.index[b]) for a, b in N.edges], dtype=np.int64).reshape(-1, 2)
        w = np.array([max(float(d["length_m"]), 1e-9) for _a, _b, d in N.edges(data=True)])
        n = len(self.nodes)
        M = sparse.coo_matrix((w, (ij[:, 0], ij[:, 1])), shape=(n, n)).tocsr()
        self.src = {s: k for k, s in enumerate(sources)}
        self.dist, self.pred = csgraph.dijkstra(
            M, directed=False, indices=[self.index[s] for s in sources], return_predecessors=True
        )

    def d(self, s: Hashable, t: Hashable) -> float:
        return float(self.dist[self.src[s], self.index[t]])

    def path(self, s: Hashable, t: Hashable) -> list[Hashable]:
        """Nodes of the shortest path from source ``s`` to ``t``."""
        row = self.pred[self.src[s]]
        j = self.index[t]
        out = [j]
        while row[j] >= 0:
            j = int(row[j])
            out.append(j)
        return [self.nodes[i] for i in reversed(out)]


#: Sources per block of :func:`network_paths` (bounds its memory to this many rows of distances).
_BLOCK = 256


def network_paths(N: nx.Graph, spans: Sequence[Span]) -> dict[str, list[Hashable]]:
    """Every span's shortest path (by length) in the network ``N`` (sources routed in blocks of :data:`_BLOCK`)."""
    sources = sorted_nodes({s.a for s in spans})
    out: dict[str, list[Hashable]] = {}
    for k in range(0, len(sources), _BLOCK):
        block = sources[k : k + _BLOCK]
        r = _Routing(N, block)
        inside = set(block)
        out.update({s.cable_id: r.path(s.a, s.b) for s in spans if s.a in inside})
    return {s.cable_id: out[s.cable_id] for s in spans}


def root_paths(N: nx.Graph, root: Hashable, nodes: Sequence[Hashable]) -> dict[Hashable, list[Hashable]]:
    """Shortest path (by length) from ``root`` to each of ``nodes`` in the network ``N``."""
    r = _Routing(N, [root])
    return {n: r.path(root, n) for n in nodes}


def _edge_lengths(G: nx.Graph) -> dict[Edge, float]:
    return {ekey(a, b): float(d["length_m"]) for a, b, d in G.edges(data=True)}


def add_shortcuts(
    G: nx.Graph,
    T: nx.Graph,
    spans: Sequence[Span],
    *,
    terminal_nodes: Sequence[Hashable],
    cat: Catalog,
    spacing_m: float,
    max_length_m: float,
    max_rounds: int,
    settings: UndergroundSettings | None = None,
) -> ShortcutResult:
    """Add shortcut trenches to the tree ``T`` while each saves more cable than it costs (see the module docstring).

    ``spans`` must be in the order the BOQ charges them (cable id).  ``T`` is not modified; the
    returned network is a copy with the shortcut edges (their road attributes from ``G``, plus
    ``shortcut=True``) and ``T``'s graph attributes.
    """
    N = T.copy()
    length = _edge_lengths(G)
    cpd = int(cat.param("cables_per_duct"))
    spare = int(cat.param("spare_ducts"))
    duct_pm = float(cat.price("DUCT.HDPE40"))
    mh = float(cat.price("MH.STD"))
    hh = float(cat.price("HH.STD"))
    by_route: dict[str, list[Span]] = {}
    for s in spans:
        by_route.setdefault(s.route, []).append(s)
    sources = sorted_nodes({n for s in spans for n in (s.a, s.b)})
    cands = candidate_shortcuts(G, N, max_length_m=max_length_m) if max_rounds > 0 else []
    added: list[Shortcut] = []
    saving_total = cost_total = 0.0
    cable_m_tree = -1.0
    price = np.array([s.price_per_m for s in spans])
    while True:
        r = _Routing(N, sources)
        paths = {s.cable_id: r.path(s.a, s.b) for s in spans}
        rcost, rmetres = route_cable_costs(spans, paths, length)
        if cable_m_tree < 0:
            cable_m_tree = sum(rmetres.values())
        if len(added) >= max_rounds or not cands:
            break
        a_idx = np.array([r.src[s.a] for s in spans], dtype=np.int64)
        b_idx = np.array([r.src[s.b] for s in spans], dtype=np.int64)
        d_now = r.dist[a_idx, np.array([r.index[s.b] for s in spans])]
        ch = {n for n in N.nodes if N.degree[n] >= 3}  # junction manholes already there
        best: tuple[float, int, float, float] | None = None  # (gain, candidate index, saving, cost)
        est = _estimates(r, cands, a_idx, b_idx, d_now, price)
        floor = np.array([_cost(c, 1, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m) for c in cands])
        order = [i for i in np.argsort(-(est - floor), kind="stable").tolist() if est[i] - floor[i] > 0]
        for i in order[: (settings or DEFAULT_SETTINGS).evals_per_round]:
            c = cands[i]
            saving, n_routes = _exact_saving(c, spans, by_route, paths, rcost, r, (a_idx, b_idx, d_now), length)
            cost = _cost(c, n_routes, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
            gain = saving - cost
            if gain > _EPS and (best is None or gain > best[0] + _EPS):
                best = (gain, i, saving, cost)
        if best is None:
            break
        c = cands[best[1]]
        for a, b in itertools.pairwise(c.nodes):
            N.add_edge(a, b, **G.edges[a, b], shortcut=True)
            for n in (a, b):
                N.nodes[n].update(G.nodes[n])
        added.append(c)
        saving_total += best[2]
        cost_total += best[3]
        used_e, used_n = set(c.edges), set(c.nodes[1:-1])
        cands = [k for k in cands if not (used_e & set(k.edges) or used_n & set(k.nodes))]
    return ShortcutResult(
        network=N,
        paths=paths,
        added=added,
        cable_m_tree=cable_m_tree,
        cable_m=sum(rmetres.values()),
        saving_vnd=saving_total,
        cost_vnd=cost_total,
    )


def _via(r: _Routing, c: Shortcut, a_idx: np.ndarray, b_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, v = r.index[c.nodes[0]], r.index[c.nodes[-1]]
    fwd = r.dist[a_idx, u] + c.length_m + r.dist[b_idx, v]
    rev = r.dist[a_idx, v] + c.length_m + r.dist[b_idx, u]
    return fwd, rev


def _estimates(
    r: _Routing, cands: Sequence[Shortcut], a_idx: np.ndarray, b_idx: np.ndarray, d_now: np.ndarray, price: np.ndarray
) -> np.ndarray:
    """Cable saving of each candidate summed span by span (an estimate: routes share edges)."""
    out = np.zeros(len(cands))
    for i, c in enumerate(cands):
        fwd, rev = _via(r, c, a_idx, b_idx)
        out[i] = float(np.sum(price * np.maximum(d_now - np.minimum(fwd, rev), 0.0)))
    return out


def _exact_saving(
    c: Shortcut,
    spans: Sequence[Span],
    by_route: Mapping[str, list[Span]],
    paths: Mapping[str, list[Hashable]],
    rcost: Mapping[str, float],
    r: _Routing,
    now: tuple[np.ndarray, np.ndarray, np.ndarray],
    length: Mapping[Edge, float],
) -> tuple[float, int]:
    """Cable saving (VND) of adding ``c`` with the route-union rule, and the number of routes it would carry."""
    a_idx, b_idx, d_now = now
    fwd, rev = _via(r, c, a_idx, b_idx)
    new = dict(paths)
    routes: set[str] = set()
    u, v = c.nodes[0], c.nodes[-1]
    for k in np.flatnonzero(np.minimum(fwd, rev) < d_now - _EPS).tolist():
        s = spans[k]
        if fwd[k] <= rev[k]:
            p = r.path(s.a, u) + list(c.nodes[1:]) + r.path(s.b, v)[::-1][1:]
        else:
            p = r.path(s.a, v) + list(c.nodes[-2::-1]) + r.path(s.b, u)[::-1][1:]
        new[s.cable_id] = p
        routes.add(s.route)
    if not routes:
        return 0.0, 0
    affected = [s for rt in sorted(routes) for s in by_route[rt]]
    after, _m = route_cable_costs(affected, new, length)
    return sum(rcost[rt] - after[rt] for rt in routes), len(routes)


def _cost(
    c: Shortcut,
    n_routes: int,
    N: nx.Graph,
    ch: set[Hashable],
    G: nx.Graph,
    cpd: int,
    spare: int,
    duct_pm: float,
    mh: float,
    hh: float,
    spacing_m: float,
) -> float:
    """Trench, ducts, new junction manholes and handholes of a shortcut carrying ``n_routes`` routes."""
    need = math.ceil(n_routes / cpd) if n_routes else 0
    nd = ducts_needed(n_routes, cables_per_duct=cpd, spare=spare)
    duct = 0.0
    for a, b in itertools.pairwise(c.nodes):
        d = G.edges[a, b]
        free = int(d.get("free_ducts") or 0)
        if not (free > 0 and need <= free):  # an existing duct with room is reused at its (graph) cost
            duct += nd * duct_pm * float(d["length_m"])
    chambers_vnd = sum(mh for n in (c.nodes[0], c.nodes[-1]) if n not in ch and N.degree[n] + 1 >= 3)
    handholes_vnd = hh * max(math.ceil(c.length_m / spacing_m - 1e-9) - 1, 0)
    return c.trench_vnd + duct + chambers_vnd + handholes_vnd
