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
    spans: Sequence[Span],
    paths: Mapping[str, Sequence[Hashable]],
    length: Mapping[Edge, float],
    keys: Mapping[str, tuple[Sequence[Hashable], list[Edge]]] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Cost (VND) and metres of cable per route: the union of its spans' paths, each edge charged once.

    Spans are taken in the given order; each is charged the edges of its path that earlier
    spans of its route have not claimed, at its own price per metre.  ``keys`` optionally
    gives, per cable id, a path and its edge keys, used when ``paths`` holds that same path object.
    """
    claimed: dict[str, set[Edge]] = {}
    cost: dict[str, float] = {}
    metres: dict[str, float] = {}
    for s in spans:
        seen = claimed.setdefault(s.route, set())
        m = 0.0
        p = paths[s.cable_id]
        hit = keys.get(s.cable_id) if keys is not None else None
        for k in hit[1] if hit is not None and hit[0] is p else _path_edges(p):
            if k not in seen:
                seen.add(k)
                m += length[k]
        cost[s.route] = cost.get(s.route, 0.0) + m * s.price_per_m
        metres[s.route] = metres.get(s.route, 0.0) + m
    return cost, metres


def _path_edges(p: Sequence[Hashable]) -> list[Edge]:
    return [ekey(a, b) for a, b in itertools.pairwise(p)]


class _Matrix:
    """The network ``N`` as a sparse matrix of edge lengths (nodes in :func:`sorted_nodes` order)."""

    def __init__(self, N: nx.Graph) -> None:
        self.nodes = sorted_nodes(N.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        ij = np.array([(self.index[a], self.index[b]) for a, b in N.edges], dtype=np.int64).reshape(-1, 2)
        w = np.array([max(float(d["length_m"]), 1e-9) for _a, _b, d in N.edges(data=True)])
        n = len(self.nodes)
        self.M = sparse.coo_matrix((w, (ij[:, 0], ij[:, 1])), shape=(n, n)).tocsr()


class _Routing:
    """Shortest paths (by length) from a fixed set of source nodes in a network, on scipy arrays."""

    def __init__(
        self, N: nx.Graph, sources: Sequence[Hashable], matrix: _Matrix | None = None, limit: float = np.inf
    ) -> None:
        mat = matrix or _Matrix(N)
        self.nodes, self.index, M = mat.nodes, mat.index, mat.M
        self.src = {s: k for k, s in enumerate(sources)}
        self.dist, self.pred = csgraph.dijkstra(
            M, directed=False, indices=[self.index[s] for s in sources], return_predecessors=True, limit=limit
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

#: Margin (metres) added to the search radius of a bounded Dijkstra search.
_MARGIN = 1.0


class _Bounded:
    """Shortest paths from sources each needed only within a radius: bounded searches, sources in blocks by radius."""

    def __init__(self, N: nx.Graph, radius: Mapping[Hashable, float], mat: _Matrix) -> None:
        order = sorted(sorted_nodes(radius), key=lambda n: radius[n])
        self.by_source: dict[Hashable, _Routing] = {}
        for k0 in range(0, len(order), _BLOCK):
            block = order[k0 : k0 + _BLOCK]
            r = _Routing(N, block, mat, limit=max(radius[n] for n in block) + _MARGIN)
            self.by_source.update(dict.fromkeys(block, r))

    def path(self, s: Hashable, t: Hashable) -> list[Hashable]:
        return self.by_source[s].path(s, t)

    def d(self, s: Hashable, t: Hashable) -> float:
        return self.by_source[s].d(s, t)


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

    Incremental (issue 12, section 5): the span paths are routed once; the distances from the
    candidates' ends to the span ends are computed once and, after each addition ``u-v`` of
    length ``L``, updated by ``d'(x, y) = min(d(x, y), d(x, u) + L + d(v, y), d(x, v) + L + d(u, y))``
    (exact: a shortest path uses the new trench at most once).  Only the spans the addition
    shortens (or ties) are re-routed, and only their routes re-priced; the exact evaluation
    routes only the span ends it needs.  The greedy rule is the one described above.
    """
    N = T.copy()
    length = _edge_lengths(G)
    cpd = int(cat.param("cables_per_duct"))
    spare = int(cat.param("spare_ducts"))
    duct_pm = float(cat.price("DUCT.HDPE40"))
    mh = float(cat.price("MH.STD"))
    hh = float(cat.price("HH.STD"))
    evals = (settings or DEFAULT_SETTINGS).evals_per_round
    by_route: dict[str, list[Span]] = {}
    for s in spans:
        by_route.setdefault(s.route, []).append(s)
    mat = _Matrix(N)
    paths, d_now = _span_paths(N, spans, range(len(spans)), mat)
    keys = {cid: (p, _path_edges(p)) for cid, p in paths.items()}
    rcost, rmetres = route_cable_costs(spans, paths, length, keys)
    cable_m_tree = sum(rmetres.values())
    cands = candidate_shortcuts(G, N, max_length_m=max_length_m) if max_rounds > 0 else []
    added: list[Shortcut] = []
    saving_total = cost_total = 0.0
    if not cands or not spans:
        return ShortcutResult(N, paths, added, cable_m_tree, cable_m_tree, 0.0, 0.0)
    price = np.array([s.price_per_m for s in spans])
    ends = sorted_nodes({n for c in cands for n in (c.nodes[0], c.nodes[-1])})
    cols = sorted_nodes(set(ends) | {n for s in spans for n in (s.a, s.b)})
    row = {n: i for i, n in enumerate(ends)}
    col = {n: j for j, n in enumerate(cols)}
    D = _distances(N, ends, cols, mat)  # candidate ends x (candidate ends and span ends)
    a_col = np.array([col[s.a] for s in spans], dtype=np.int64)
    b_col = np.array([col[s.b] for s in spans], dtype=np.int64)
    ch = {n for n in N.nodes if N.degree[n] >= 3}  # junction manholes already there
    cand_edges = {id(c): set(c.edges) for c in cands}
    floors: dict[int, float] = {}  # a candidate's cost with one route changes only when its ends change degree
    while len(added) < max_rounds and cands:
        est = _estimates_fast(D, row, cands, a_col, b_col, d_now, price)
        for c in cands:
            if id(c) not in floors:
                floors[id(c)] = _cost(c, 1, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
        floor = np.array([floors[id(c)] for c in cands])
        order = [i for i in np.argsort(-(est - floor), kind="stable").tolist() if est[i] - floor[i] > 0][:evals]
        if not order:
            break
        vias = {i: _via_fast(D, row, cands[i], a_col, b_col) for i in order}
        hit = {i: np.flatnonzero(np.minimum(*vias[i]) < d_now - _EPS) for i in order}
        radius: dict[Hashable, float] = {}
        for i in order:
            for k in hit[i].tolist():
                for n in (spans[k].a, spans[k].b):
                    radius[n] = max(radius.get(n, 0.0), float(d_now[k]))
        r = _Bounded(N, radius, mat) if radius else None
        best: tuple[float, int, float, float] | None = None  # (gain, candidate index, saving, cost)
        for i in order:
            c = cands[i]
            saving, n_routes = _exact_saving_fast(c, spans, by_route, (paths, keys), rcost, r, vias[i], hit[i], length)
            cost = _cost(c, n_routes, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
            gain = saving - cost
            if gain > _EPS and (best is None or gain > best[0] + _EPS):
                best = (gain, i, saving, cost)
        if best is None:
            break
        c = cands[best[1]]
        fwd, rev = _via_fast(D, row, c, a_col, b_col)
        for a, b in itertools.pairwise(c.nodes):
            N.add_edge(a, b, **G.edges[a, b], shortcut=True)
            for n in (a, b):
                N.nodes[n].update(G.nodes[n])
        mat = _Matrix(N)
        for n in (c.nodes[0], c.nodes[-1]):
            if N.degree[n] >= 3:
                ch.add(n)
        stale = {id(x) for x in _touching(cands, c)}
        floors = {k: f for k, f in floors.items() if k not in stale}
        added.append(c)
        saving_total += best[2]
        cost_total += best[3]
        # spans the shortcut shortens (ties included: re-routing them is exact, never wrong)
        moved = np.flatnonzero(np.minimum(fwd, rev) <= d_now + _TIE).tolist()
        if moved:
            new_paths, new_d = _span_paths(N, spans, moved, mat, bound=d_now)
            paths.update(new_paths)
            keys.update({cid: (p, _path_edges(p)) for cid, p in new_paths.items()})
            d_now[moved] = new_d[moved]
            routes = sorted({spans[k].route for k in moved})
            rc, rm = route_cable_costs([s for rt in routes for s in by_route[rt]], paths, length, keys)
            rcost.update(rc)
            rmetres.update(rm)
        iu, iv = row[c.nodes[0]], row[c.nodes[-1]]
        du, dv = D[iu].copy(), D[iv].copy()
        cu, cv = D[:, col[c.nodes[0]]].copy(), D[:, col[c.nodes[-1]]].copy()
        np.minimum(D, cu[:, None] + c.length_m + dv[None, :], out=D)
        np.minimum(D, cv[:, None] + c.length_m + du[None, :], out=D)
        used_e, used_n = cand_edges[id(c)], set(c.nodes[1:-1])
        cands = [k for k in cands if not (used_e & cand_edges[id(k)] or used_n & set(k.nodes))]
    return ShortcutResult(
        network=N,
        paths=paths,
        added=added,
        cable_m_tree=cable_m_tree,
        cable_m=sum(rmetres.values()),
        saving_vnd=saving_total,
        cost_vnd=cost_total,
    )


#: Slack (metres) under which a span counts as tied with a path through a new shortcut and is re-routed.
_TIE = 1e-6

#: Candidates per block of :func:`_estimates_fast` (bounds its memory to this many rows of spans).
_CAND_BLOCK = 128


def _touching(cands: Sequence[Shortcut], c: Shortcut) -> list[Shortcut]:
    """Candidates with an end at one of ``c``'s ends (their junction manholes may change)."""
    e = {c.nodes[0], c.nodes[-1]}
    return [k for k in cands if k.nodes[0] in e or k.nodes[-1] in e]


def _span_paths(
    N: nx.Graph, spans: Sequence[Span], which: Sequence[int] | range, mat: _Matrix, bound: np.ndarray | None = None
) -> tuple[dict[str, list[Hashable]], np.ndarray]:
    """Paths and lengths (the Dijkstra distance) of the spans ``which`` in ``N``, sources routed in blocks.

    ``bound`` (per span, optional) is an upper bound of each span's path length: the searches stop there.
    """
    d = np.zeros(len(spans))
    out: dict[str, list[Hashable]] = {}
    radius: dict[Hashable, float] = {}
    for k in which:
        a = spans[k].a
        radius[a] = max(radius.get(a, 0.0), np.inf if bound is None else float(bound[k]))
    r = _Bounded(N, radius, mat)
    for k in which:
        s = spans[k]
        out[s.cable_id] = r.path(s.a, s.b)
        d[k] = r.d(s.a, s.b)
    return out, d


def _distances(N: nx.Graph, sources: Sequence[Hashable], cols: Sequence[Hashable], mat: _Matrix) -> np.ndarray:
    """Shortest distances (by length) from ``sources`` to ``cols`` in ``N`` (rows routed in blocks)."""
    out = np.empty((len(sources), len(cols)))
    for k0 in range(0, len(sources), _BLOCK):
        block = sources[k0 : k0 + _BLOCK]
        r = _Routing(N, block, mat)
        j = np.array([r.index[n] for n in cols], dtype=np.int64)
        out[k0 : k0 + len(block)] = r.dist[:, j]
    return out


def _via_fast(
    D: np.ndarray, row: Mapping[Hashable, int], c: Shortcut, a_col: np.ndarray, b_col: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    u, v = row[c.nodes[0]], row[c.nodes[-1]]
    return D[u, a_col] + c.length_m + D[v, b_col], D[v, a_col] + c.length_m + D[u, b_col]


def _estimates_fast(
    D: np.ndarray,
    row: Mapping[Hashable, int],
    cands: Sequence[Shortcut],
    a_col: np.ndarray,
    b_col: np.ndarray,
    d_now: np.ndarray,
    price: np.ndarray,
) -> np.ndarray:
    """Cable saving of each candidate summed span by span (as :func:`_estimates`), candidates in blocks.

    Only spans longer than the shortest candidate can gain; the others are left out of the sums.
    """
    out = np.zeros(len(cands))
    lmin = min(c.length_m for c in cands)
    keep = np.flatnonzero(d_now > lmin)
    if not len(keep):
        return out
    # a span gains from u-v only if both its ends lie within d_now - L of the candidate's ends:
    # pairs outside that reach add exactly 0 to the sums and are left out
    reach = d_now[keep] - lmin + _TIE
    near_a, near_b = D[:, a_col[keep]] < reach, D[:, b_col[keep]] < reach
    keep = keep[near_a.any(axis=0) & near_b.any(axis=0)]
    if not len(keep):
        return out
    near = np.asarray((D[:, a_col[keep]] < d_now[keep] - lmin + _TIE).any(axis=1))
    live = np.array([bool(near[row[c.nodes[0]]] or near[row[c.nodes[-1]]]) for c in cands])
    which = np.flatnonzero(live)
    dn, pr = d_now[keep], price[keep]
    DA, DB = D[:, a_col[keep]], D[:, b_col[keep]]  # rows: candidate ends; columns: the spans' two ends
    for k0 in range(0, len(which), _CAND_BLOCK):
        idx = which[k0 : k0 + _CAND_BLOCK]
        block = [cands[i] for i in idx.tolist()]
        u = np.array([row[c.nodes[0]] for c in block], dtype=np.int64)
        v = np.array([row[c.nodes[-1]] for c in block], dtype=np.int64)
        L = np.array([c.length_m for c in block])[:, None]
        via = np.minimum(DA[u] + L + DB[v], DA[v] + L + DB[u])
        out[idx] = np.sum(pr * np.maximum(dn - via, 0.0), axis=1)
    return out


def _exact_saving_fast(
    c: Shortcut,
    spans: Sequence[Span],
    by_route: Mapping[str, list[Span]],
    current: tuple[Mapping[str, list[Hashable]], Mapping[str, tuple[Sequence[Hashable], list[Edge]]]],
    rcost: Mapping[str, float],
    r: _Bounded | None,
    via: tuple[np.ndarray, np.ndarray],
    hit: np.ndarray,
    length: Mapping[Edge, float],
) -> tuple[float, int]:
    """Cable saving (VND) of adding ``c`` with the route-union rule, and the number of routes it would carry."""
    fwd, rev = via
    if r is None or not len(hit):
        return 0.0, 0
    paths, keys = current
    new = dict(paths)
    routes: set[str] = set()
    u, v = c.nodes[0], c.nodes[-1]
    for k in hit.tolist():
        s = spans[k]
        if fwd[k] <= rev[k]:
            p = r.path(s.a, u) + list(c.nodes[1:]) + r.path(s.b, v)[::-1][1:]
        else:
            p = r.path(s.a, v) + list(c.nodes[-2::-1]) + r.path(s.b, u)[::-1][1:]
        new[s.cable_id] = p
        routes.add(s.route)
    affected = [s for rt in sorted(routes) for s in by_route[rt]]
    after, _m = route_cable_costs(affected, new, length, keys)
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
