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

import bisect
import itertools
import math
from collections import ChainMap
from collections.abc import Hashable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import cast

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
        nodes = sorted_nodes(N.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        ij = np.array([(index[a], index[b]) for a, b in N.edges], dtype=np.int64).reshape(-1, 2)
        w = np.array([max(float(d["length_m"]), 1e-9) for _a, _b, d in N.edges(data=True)])
        self._set(nodes, [_node_key(n) for n in nodes], ij[:, 0], ij[:, 1], w)

    def _set(
        self, nodes: list[Hashable], keys: list[tuple[str, str]], i: np.ndarray, j: np.ndarray, w: np.ndarray
    ) -> None:
        self.nodes, self._keys, self._i, self._j, self._w = nodes, keys, i, j, w
        self.index = {n: k for k, n in enumerate(nodes)}
        n = len(nodes)
        self.M = sparse.coo_matrix((w, (i, j)), shape=(n, n)).tocsr()

    def with_edges(self, edges: Sequence[tuple[Hashable, Hashable, float]]) -> _Matrix:
        """This matrix with ``edges`` (end, end, length) added, new nodes inserted in their sorted place (work
        linear in the network, without sorting it again)."""
        new = sorted({n for a, b, _w in edges for n in (a, b) if n not in self.index}, key=_node_key)
        pos = np.array([bisect.bisect_left(self._keys, _node_key(n)) for n in new], dtype=np.int64)
        shift = np.arange(len(self.nodes)) + np.searchsorted(pos, np.arange(len(self.nodes)), side="right")
        nodes: list[Hashable] = [None] * (len(self.nodes) + len(new))
        for k, n in zip(shift.tolist(), self.nodes, strict=True):
            nodes[k] = n
        for k, n in zip((pos + np.arange(len(new))).tolist(), new, strict=True):
            nodes[k] = n
        keys = [_node_key(n) for n in nodes] if new else self._keys
        out = object.__new__(_Matrix)
        index = {n: k for k, n in enumerate(nodes)}
        ei = np.array([index[a] for a, _b, _w in edges], dtype=np.int64)
        ej = np.array([index[b] for _a, b, _w in edges], dtype=np.int64)
        ew = np.array([max(float(w), 1e-9) for _a, _b, w in edges])
        i, j = np.concatenate([shift[self._i], ei]), np.concatenate([shift[self._j], ej])
        out._set(nodes, keys, i, j, np.concatenate([self._w, ew]))
        return out


def _node_key(n: Hashable) -> tuple[str, str]:
    """The sort key of :func:`sorted_nodes`."""
    return (str(type(n)), repr(n))


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

#: Largest ratio of two search radii routed in one block of :class:`_Bounded`.
_RADIUS_RATIO = 2.0


class _Bounded:
    """Shortest paths from sources each needed only within a radius: bounded searches, sources in blocks by radius."""

    def __init__(self, N: nx.Graph, radius: Mapping[Hashable, float], mat: _Matrix) -> None:
        order = sorted(sorted_nodes(radius), key=lambda n: radius[n])
        self.by_source: dict[Hashable, _Routing] = {}
        k0 = 0
        while k0 < len(order):
            # a block's sources have radii within a factor of _RADIUS_RATIO: a far search does not make the near
            # ones of its block search as far
            top = _RADIUS_RATIO * radius[order[k0]] + _MARGIN
            k1 = k0 + 1
            while k1 < len(order) and k1 - k0 < _BLOCK and radius[order[k1]] <= top:
                k1 += 1
            block = order[k0:k1]
            r = _Routing(N, block, mat, limit=max(radius[n] for n in block) + _MARGIN)
            self.by_source.update(dict.fromkeys(block, r))
            k0 = k1

    def path(self, s: Hashable, t: Hashable) -> list[Hashable]:
        return self.by_source[s].path(s, t)

    def d(self, s: Hashable, t: Hashable) -> float:
        return self.by_source[s].d(s, t)


def network_paths(
    N: nx.Graph, spans: Sequence[Span], bound: Mapping[str, float] | None = None
) -> dict[str, list[Hashable]]:
    """Every span's shortest path (by length) in the network ``N`` (sources routed in blocks of :data:`_BLOCK`).

    ``bound`` (per cable id, optional) is an upper bound of each span's path length (its length in a network
    ``N`` contains): the searches stop there, in blocks of similar radius; the paths are the same.
    """
    mat = _Matrix(N)
    if bound is not None:
        radius: dict[Hashable, float] = {}
        for s in spans:
            radius[s.a] = max(radius.get(s.a, 0.0), float(bound[s.cable_id]))
        r = _Bounded(N, radius, mat)
        return {s.cable_id: r.path(s.a, s.b) for s in spans}
    sources = sorted_nodes({s.a for s in spans})
    out: dict[str, list[Hashable]] = {}
    for k in range(0, len(sources), _BLOCK):
        block = sources[k : k + _BLOCK]
        rb = _Routing(N, block, mat)
        inside = set(block)
        out.update({s.cable_id: rb.path(s.a, s.b) for s in spans if s.a in inside})
    return {s.cable_id: out[s.cable_id] for s in spans}


def path_length(N: nx.Graph, p: Sequence[Hashable]) -> float:
    """Length (m) of the node path ``p`` in ``N``."""
    return float(sum(float(N.edges[a, b]["length_m"]) for a, b in itertools.pairwise(p)))


def root_paths(N: nx.Graph, root: Hashable, nodes: Sequence[Hashable]) -> dict[Hashable, list[Hashable]]:
    """Shortest path (by length) from ``root`` to each of ``nodes`` in the network ``N``."""
    r = _Routing(N, [root])
    return {n: r.path(root, n) for n in nodes}


def root_parents(N: nx.Graph, root: Hashable, nodes: Sequence[Hashable]) -> dict[Hashable, Hashable]:
    """The tree of the shortest paths from ``root`` to ``nodes`` in ``N`` (those of :func:`root_paths`), as each
    node's parent towards the root: work proportional to the tree, not to the sum of the paths."""
    r = _Routing(N, [root])
    pred = r.pred[0]
    parent: dict[Hashable, Hashable] = {}
    for n in nodes:
        j = r.index[n]
        while pred[j] >= 0 and r.nodes[j] not in parent:
            parent[r.nodes[j]] = r.nodes[int(pred[j])]
            j = int(pred[j])
    return parent


class _LazyLengths(dict[Edge, float]):
    """Lengths (m) of the road graph's edges by :func:`ekey`, read from ``G`` when first asked for: the step
    reads the edges of the network's paths only, not the whole road graph."""

    def __init__(self, G: nx.Graph) -> None:
        super().__init__()
        self._G = G

    def __missing__(self, k: Edge) -> float:
        v = float(self._G.edges[k]["length_m"])
        self[k] = v
        return v


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

    Incremental and lazy (issue 12, section 5), with the decisions of the plain greedy above:

    - the span paths are routed once (in the tree, without search); the distances from the candidates' ends to
      the span ends are computed once, each only as far as a span ending there needs (:class:`_Reach`), and
      after each addition ``u-v`` of length ``L`` updated by
      ``d'(x, y) = min(d(x, y), d(x, u) + L + d(v, y), d(x, v) + L + d(u, y))`` (exact: a shortest path uses the
      new trench at most once) where that can matter, from two bounded searches from ``u`` and ``v``;
    - the spans the addition shortens take the path through it (from those two searches; ties are routed again),
      and only their routes are re-priced;
    - a candidate's estimate is recomputed only when its ends' distances or a span it counted changed, and its
      exact evaluation is kept until the spans it shortens, their lengths through it or the paths of their routes
      change (lazy greedy: each round evaluates only the best candidates whose evaluation is stale);
    - the exact evaluation searches from the candidates' two ends, as far as the spans they shorten.
    """
    N = T.copy()
    length = _LazyLengths(G)
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
    paths, d_now = _tree_paths(N, spans, mat) if nx.is_tree(N) else _span_paths(N, spans, range(len(spans)), mat)
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
    cols = sorted_nodes({n for s in spans for n in (s.a, s.b)})
    row = {n: i for i, n in enumerate(ends)}
    col = {n: j for j, n in enumerate(cols)}
    a_col = np.array([col[s.a] for s in spans], dtype=np.int64)
    b_col = np.array([col[s.b] for s in spans], dtype=np.int64)
    reach = _Reach(len(cols), a_col, b_col, d_now)
    D = _distances_within(N, ends, cols, reach.r_col, mat)  # candidate ends x span ends, exact below the radii
    u_row = np.array([row[c.nodes[0]] for c in cands], dtype=np.int64)
    v_row = np.array([row[c.nodes[-1]] for c in cands], dtype=np.int64)
    lengths = np.array([c.length_m for c in cands])
    est = _estimates_of(D, np.arange(len(cands)), u_row, v_row, lengths, a_col, b_col, d_now, price)
    alive = np.ones(len(cands), dtype=bool)
    ch = {n for n in N.nodes if N.degree[n] >= 3}  # junction manholes already there
    cand_edges = [set(c.edges) for c in cands]
    cand_nodes = [set(c.nodes) for c in cands]
    floors: dict[int, float] = {}  # a candidate's cost with one route changes only when its ends change degree
    # exact saving and routes of a candidate, kept until an addition changes the spans it shortens or their
    # lengths through it, or re-routes a span of one of its routes (lazy: only those are evaluated again)
    exact: dict[int, _Exact] = {}
    while len(added) < max_rounds and alive.any():
        live = np.flatnonzero(alive)
        for i in live.tolist():
            if i not in floors:
                floors[i] = _cost(cands[i], 1, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
        net = est[live] - np.array([floors[i] for i in live.tolist()])
        order = [int(live[k]) for k in np.argsort(-net, kind="stable").tolist() if net[k] > 0][:evals]
        if not order:
            break
        todo = [i for i in order if i not in exact]
        vias = {i: _via_fast(D, row, cands[i], a_col, b_col) for i in todo}
        hit = {i: np.flatnonzero(np.minimum(*vias[i]) < d_now - _EPS) for i in todo}
        radius: dict[Hashable, float] = {}  # searches from the candidates' ends, as far as their spans' paths
        for i in todo:
            if len(hit[i]):
                far = float(d_now[hit[i]].max())
                for n in (cands[i].nodes[0], cands[i].nodes[-1]):
                    radius[n] = max(radius.get(n, 0.0), far)
        r = _Bounded(N, radius, mat) if radius else None
        best: tuple[float, int, float, float] | None = None  # (gain, candidate index, saving, cost)
        for i in order:
            c = cands[i]
            if i not in exact:
                saving, routes = _exact_saving_fast(
                    c, spans, by_route, (paths, keys), rcost, r, vias[i], hit[i], length
                )
                fwd_i, rev_i = vias[i]
                exact[i] = _Exact(saving, len(routes), frozenset(routes), hit[i], fwd_i[hit[i]], rev_i[hit[i]])
            saving, n_routes = exact[i].saving, exact[i].n_routes
            cost = _cost(c, n_routes, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
            gain = saving - cost
            if gain > _EPS and (best is None or gain > best[0] + _EPS):
                best = (gain, i, saving, cost)
        if best is None:
            break
        c = cands[best[1]]
        fwd, rev = _via_fast(D, row, c, a_col, b_col)
        d_uv = reach.from_ends(mat, c, ends, cols)  # distances from its ends before it is built
        for a, b in itertools.pairwise(c.nodes):
            N.add_edge(a, b, **G.edges[a, b], shortcut=True)
            for n in (a, b):
                N.nodes[n].update(G.nodes[n])
        mat = mat.with_edges([(a, b, G.edges[a, b]["length_m"]) for a, b in itertools.pairwise(c.nodes)])
        for n in (c.nodes[0], c.nodes[-1]):
            if N.degree[n] >= 3:
                ch.add(n)
        ends_c = {c.nodes[0], c.nodes[-1]}
        for i in live.tolist():  # their junction manholes may change
            if cands[i].nodes[0] in ends_c or cands[i].nodes[-1] in ends_c:
                floors.pop(i, None)
        added.append(c)
        saving_total += best[2]
        cost_total += best[3]
        # spans the shortcut shortens (ties included: re-routing them is exact, never wrong)
        moved = np.flatnonzero(np.minimum(fwd, rev) <= d_now + _TIE)
        d_old = d_now.copy()
        routes_moved: set[str] = set()
        if len(moved):
            # a span the shortcut makes shorter by more than a tie takes the path through it, built from the
            # searches from its ends (a shortest path uses it once); ties are routed again in the new network
            sure = moved[np.minimum(fwd, rev)[moved] < d_now[moved] - _EPS]
            new_paths = {}
            for k in sure.tolist():
                p, d_now[k] = d_uv.through(c, spans[k].a, spans[k].b, fwd[k] <= rev[k])
                new_paths[spans[k].cable_id] = p
            tied = np.setdiff1d(moved, sure)
            if len(tied):
                tied_paths, new_d = _span_paths(N, spans, tied.tolist(), mat, bound=d_now)
                new_paths.update(tied_paths)
                d_now[tied] = new_d[tied]
            paths.update(new_paths)
            keys.update({cid: (p, _path_edges(p)) for cid, p in new_paths.items()})
            routes_moved = {spans[k].route for k in moved.tolist()}
            rc, rm = route_cable_costs([s for rt in sorted(routes_moved) for s in by_route[rt]], paths, length, keys)
            rcost.update(rc)
            rmetres.update(rm)
        changed = reach.add(D, d_uv, c.length_m)
        used_e, used_n = cand_edges[best[1]], set(c.nodes[1:-1])
        for i in live.tolist():
            if used_e & cand_edges[i] or used_n & cand_nodes[i]:
                alive[i] = False
                exact.pop(i, None)
        live = np.flatnonzero(alive)
        # the estimates that change: a candidate end's distances changed, or a re-routed span counted in the sum
        touched = changed[u_row[live]] | changed[v_row[live]]
        if len(moved) and len(live):
            L = lengths[live][:, None]
            dm = d_old[moved][None, :]
            am, bm = a_col[moved], b_col[moved]
            u, v = u_row[live], v_row[live]
            via = np.minimum(D[np.ix_(u, am)] + L + D[np.ix_(v, bm)], D[np.ix_(v, am)] + L + D[np.ix_(u, bm)])
            touched |= (via < dm).any(axis=1)
        redo = live[touched]
        if len(redo):
            est[redo] = _estimates_of(D, redo, u_row, v_row, lengths, a_col, b_col, d_now, price)
        for i in [i for i in redo.tolist() if i in exact]:
            if not exact[i].holds(_via_fast(D, row, cands[i], a_col, b_col), d_now):
                del exact[i]
        if routes_moved:
            for i in [i for i, x in exact.items() if x.routes & routes_moved]:
                del exact[i]
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


@dataclass(frozen=True)
class _FromEnds:
    """Shortest distances and predecessors from a shortcut's two ends (rows 0 and 1) in the network before it."""

    mat: _Matrix
    dist: np.ndarray
    pred: np.ndarray
    rows_cols: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

    def _path(self, end: int, t: Hashable) -> list[Hashable]:
        row, j = self.pred[end], self.mat.index[t]
        out = [j]
        while row[j] >= 0:
            j = int(row[j])
            out.append(j)
        return [self.mat.nodes[i] for i in reversed(out)]

    def through(self, c: Shortcut, a: Hashable, b: Hashable, forward: bool) -> tuple[list[Hashable], float]:
        """The path from ``a`` to ``b`` through ``c`` (``forward``: entering at its first end) and its length."""
        ia, ib = self.mat.index[a], self.mat.index[b]
        if forward:
            p = self._path(0, a)[::-1] + list(c.nodes[1:]) + self._path(1, b)[1:]
            return p, float(self.dist[0, ia] + c.length_m + self.dist[1, ib])
        p = self._path(1, a)[::-1] + list(c.nodes[-2::-1]) + self._path(0, b)[1:]
        return p, float(self.dist[1, ia] + c.length_m + self.dist[0, ib])


class _Reach:
    """How far the distances ``D`` (candidate ends x span ends) must stay exact, and their update per addition.

    Column ``y`` of ``D`` is read only against the current path length of a span ending at ``y``: an entry at or
    above the longest first path of those spans (its radius, plus :data:`_MARGIN`; span paths only shorten)
    never makes a span shorter and may be left stale.  An addition ``u-v`` of length ``L`` updates
    ``D[x, y] = min(D[x, y], d(x, u) + L + d(v, y), d(x, v) + L + d(u, y))`` (exact: a shortest path uses the new
    trench at most once) only where the new value is below the radius of ``y``; ``d(., u)`` and ``d(., v)`` come
    from two searches from ``u`` and ``v`` bounded by the largest radius, so the work and the rows whose
    estimates change stay near the addition.
    """

    def __init__(self, n_cols: int, a_col: np.ndarray, b_col: np.ndarray, d_now: np.ndarray) -> None:
        r = np.zeros(n_cols)
        np.maximum.at(r, a_col, d_now)
        np.maximum.at(r, b_col, d_now)
        self.r_col = r + _MARGIN
        self.r_max = float(self.r_col.max()) if n_cols else 0.0

    def from_ends(self, mat: _Matrix, c: Shortcut, ends: Sequence[Hashable], cols: Sequence[Hashable]) -> _FromEnds:
        """Searches in ``mat`` from ``c``'s two ends, as far as the largest radius."""
        dist, pred = csgraph.dijkstra(
            mat.M,
            directed=False,
            indices=[mat.index[c.nodes[0]], mat.index[c.nodes[-1]]],
            return_predecessors=True,
            limit=self.r_max,
        )
        ri = np.array([mat.index[n] for n in ends], dtype=np.int64)
        ci = np.array([mat.index[n] for n in cols], dtype=np.int64)
        return _FromEnds(mat, dist, pred, (dist[0, ri], dist[1, ri], dist[0, ci], dist[1, ci]))

    def add(self, D: np.ndarray, d_uv: _FromEnds, length_m: float) -> np.ndarray:
        """Update ``D`` (in place) for an addition of ``length_m`` whose ends are at the distances ``d_uv``
        (:meth:`from_ends`); the rows in which an entry below its radius changed (boolean mask)."""
        cu, cv, du, dv = d_uv.rows_cols
        changed = np.zeros(D.shape[0], dtype=bool)
        for cx, dy in ((cu, dv), (cv, du)):
            rows = np.flatnonzero(cx + length_m < self.r_max)
            cols = np.flatnonzero(dy + length_m < self.r_col)
            if not len(rows) or not len(cols):
                continue
            block = np.ix_(rows, cols)
            sub = D[block]
            new = cx[rows, None] + length_m + dy[None, cols]
            better = (new < sub) & (new < self.r_col[cols][None, :])
            if better.any():
                changed[rows[better.any(axis=1)]] = True
                D[block] = np.minimum(sub, new)
        return changed


def _estimates_of(
    D: np.ndarray,
    which: np.ndarray,
    u_row: np.ndarray,
    v_row: np.ndarray,
    lengths: np.ndarray,
    a_col: np.ndarray,
    b_col: np.ndarray,
    d_now: np.ndarray,
    price: np.ndarray,
) -> np.ndarray:
    """Span-by-span cable saving of the candidates ``which`` (as :func:`_estimates_fast`), in blocks.

    A span counts only where both its ends lie within ``d_now - L`` of the ends of a candidate of the block
    (the others add exactly 0), so a block reads only the rows of its own candidates' ends.
    """
    out = np.zeros(len(which))
    for k0 in range(0, len(which), _CAND_BLOCK):
        idx = which[k0 : k0 + _CAND_BLOCK]
        u, v = u_row[idx], v_row[idx]
        lmin = float(lengths[idx].min())
        keep = np.flatnonzero(d_now > lmin)
        rows = np.unique(np.concatenate([u, v]))
        reach = d_now[keep] - lmin + _TIE
        keep = keep[
            (D[np.ix_(rows, a_col[keep])] < reach).any(axis=0) & (D[np.ix_(rows, b_col[keep])] < reach).any(axis=0)
        ]
        if not len(keep):
            continue
        ac, bc, dn, pr = a_col[keep], b_col[keep], d_now[keep], price[keep]
        L = lengths[idx][:, None]
        via = np.minimum(D[np.ix_(u, ac)] + L + D[np.ix_(v, bc)], D[np.ix_(v, ac)] + L + D[np.ix_(u, bc)])
        out[k0 : k0 + len(idx)] = np.sum(pr * np.maximum(dn - via, 0.0), axis=1)
    return out


@dataclass(frozen=True)
class _Exact:
    """A candidate's exact evaluation and what it depends on: the spans it shortens and their lengths through it."""

    saving: float
    n_routes: int
    routes: frozenset[str]
    hit: np.ndarray
    fwd: np.ndarray
    rev: np.ndarray

    def holds(self, via: tuple[np.ndarray, np.ndarray], d_now: np.ndarray) -> bool:
        """True when the same spans gain from the candidate, by the same lengths through it (``via`` now)."""
        fwd, rev = via
        hit = np.flatnonzero(np.minimum(fwd, rev) < d_now - _EPS)
        return (
            np.array_equal(hit, self.hit) and np.array_equal(fwd[hit], self.fwd) and np.array_equal(rev[hit], self.rev)
        )


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


def _distances_within(
    N: nx.Graph, rows: Sequence[Hashable], cols: Sequence[Hashable], radius: np.ndarray, mat: _Matrix
) -> np.ndarray:
    """Shortest distances (by length) from ``rows`` to ``cols`` in ``N``, exact where below the column's
    ``radius`` (``inf`` or exact beyond): bounded searches from the columns, in blocks of similar radius."""
    r = _Bounded(N, dict(zip(cols, radius.tolist(), strict=True)), mat)
    ri = np.array([mat.index[n] for n in rows], dtype=np.int64)
    out = np.empty((len(rows), len(cols)))
    for j, n in enumerate(cols):
        out[:, j] = r.by_source[n].dist[r.by_source[n].src[n], ri]
    return out


def _tree_paths(N: nx.Graph, spans: Sequence[Span], mat: _Matrix) -> tuple[dict[str, list[Hashable]], np.ndarray]:
    """Paths and lengths of the spans in a tree ``N`` (the one path between the ends; length summed from the
    first end, as a search from it would): parent pointers from a root, no search."""
    parent: dict[Hashable, Hashable | None] = {}
    depth: dict[Hashable, int] = {}
    for root in mat.nodes:  # sorted order: deterministic roots
        if root in parent:
            continue
        parent[root], depth[root] = None, 0
        stack = [root]
        while stack:
            x = stack.pop()
            for y in N.adj[x]:
                if y not in parent:
                    parent[y], depth[y] = x, depth[x] + 1
                    stack.append(y)
    out: dict[str, list[Hashable]] = {}
    d = np.zeros(len(spans))
    for k, s in enumerate(spans):
        x, y = s.a, s.b
        up: list[Hashable] = [x]
        down: list[Hashable] = [y]
        while x != y:
            if depth[x] >= depth[y]:
                x = parent[x]
                up.append(x)
            else:
                y = parent[y]
                down.append(y)
        p = up + down[-2::-1]
        total = 0.0
        for a, b in itertools.pairwise(p):
            total += max(float(N.edges[a, b]["length_m"]), 1e-9)
        out[s.cable_id], d[k] = p, total
    return out, d


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
) -> tuple[float, set[str]]:
    """Cable saving (VND) of adding ``c`` with the route-union rule, and the routes it would carry.

    ``r`` holds searches from ``c``'s two ends reaching the ends of the spans ``hit`` (those it shortens): a
    span's new path is its shortest path to one end of ``c``, ``c`` and the shortest path from the other end.
    """
    fwd, rev = via
    if r is None or not len(hit):
        return 0.0, set()
    paths, keys = current
    changed: dict[str, list[Hashable]] = {}
    new = ChainMap(changed, cast("MutableMapping[str, list[Hashable]]", paths))  # read only
    routes: set[str] = set()
    u, v = c.nodes[0], c.nodes[-1]
    for k in hit.tolist():
        s = spans[k]
        if fwd[k] <= rev[k]:
            p = r.path(u, s.a)[::-1] + list(c.nodes[1:]) + r.path(v, s.b)[1:]
        else:
            p = r.path(v, s.a)[::-1] + list(c.nodes[-2::-1]) + r.path(u, s.b)[1:]
        changed[s.cable_id] = p
        routes.add(s.route)
    affected = [s for rt in sorted(routes) for s in by_route[rt]]
    after, _m = route_cable_costs(affected, new, length, keys)
    return sum(rcost[rt] - after[rt] for rt in routes), routes


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
