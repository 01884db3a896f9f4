"""Quantities of a trench tree (private; see :mod:`gisplan.underground.planner`).

Everything here works on the Steiner tree returned by
:func:`gisplan.routing.steiner.steiner_tree`: a networkx tree whose nodes carry ``x``,
``y`` (metres) and whose edges carry ``length_m``, ``road_class``, ``surface``,
``name``, ``road_id``, ``geometry`` and, on existing duct banks, ``free_ducts``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import shapely
from shapely.geometry import LineString, Point

from gisplan.underground._phasing import Street

Edge = tuple[Hashable, Hashable]


def ekey(u: Hashable, v: Hashable) -> Edge:
    """Canonical key of an undirected edge (endpoints ordered by ``repr``, deterministic for any node ids)."""
    return (u, v) if (repr(u), str(type(u))) <= (repr(v), str(type(v))) else (v, u)


@dataclass(frozen=True)
class RootedTree:
    """A tree rooted at ``root``: parent and depth of every node."""

    root: Hashable
    parent: dict[Hashable, Hashable | None]
    depth: dict[Hashable, int]
    order: list[Hashable]

    def path(self, a: Hashable, b: Hashable) -> list[Hashable]:
        """Nodes of the unique tree path from ``a`` to ``b``."""
        left, right = [a], [b]
        x, y = a, b
        while self.depth[x] > self.depth[y]:
            x = self.parent[x]
            left.append(x)
        while self.depth[y] > self.depth[x]:
            y = self.parent[y]
            right.append(y)
        while x != y:
            x = self.parent[x]
            y = self.parent[y]
            left.append(x)
            right.append(y)
        return left + right[-2::-1]


def root_tree(T: nx.Graph, root: Hashable) -> RootedTree:
    """Parent, depth and BFS order of tree ``T`` from ``root`` (neighbours visited in sorted order)."""
    parent: dict[Hashable, Hashable | None] = {root: None}
    depth = {root: 0}
    order = [root]
    i = 0
    while i < len(order):
        n = order[i]
        i += 1
        for m in sorted(T.adj[n], key=repr):
            if m not in parent:
                parent[m] = n
                depth[m] = depth[n] + 1
                order.append(m)
    return RootedTree(root, parent, depth, order)


def edge_geometry(T: nx.Graph, u: Hashable, v: Hashable) -> LineString:
    """The edge's geometry oriented from ``u`` to ``v`` (a straight line where the edge has none)."""
    d = T.edges[u, v]
    pu = (float(T.nodes[u]["x"]), float(T.nodes[u]["y"]))
    pv = (float(T.nodes[v]["x"]), float(T.nodes[v]["y"]))
    g = d.get("geometry")
    if g is None or g.is_empty:
        return LineString([pu, pv])
    coords = list(g.coords)
    d0 = math.dist(coords[0], pu) + math.dist(coords[-1], pv)
    d1 = math.dist(coords[-1], pu) + math.dist(coords[0], pv)
    return LineString(coords if d0 <= d1 else coords[::-1])


def path_geometry(T: nx.Graph, nodes: list[Hashable]) -> LineString:
    """One LineString along a node path of ``T``."""
    coords: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(nodes):
        part = list(edge_geometry(T, a, b).coords)
        coords.extend(part if not coords else part[1:])
    if len(coords) < 2:
        p = (float(T.nodes[nodes[0]]["x"]), float(T.nodes[nodes[0]]["y"]))
        coords = [p, p]
    return LineString(coords)


def routes_per_edge(
    rt: RootedTree, paths: Mapping[str, list[Hashable]], route_of: Mapping[str, str]
) -> dict[Edge, frozenset[str]]:
    """The distinct cable routes in each tree edge.

    An edge carries the routes of the span paths along it and every route with a span end
    in the subtree below it (the cables continue to the exchange through it), so counts
    never grow away from the root: an edge on the way to the exchange that some span also
    uses keeps the routes it feeds.
    """
    on_edge: dict[Edge, set[str]] = {}
    at_node: dict[Hashable, set[str]] = {}
    for cid, nodes in paths.items():
        r = route_of[cid]
        for a, b in itertools.pairwise(nodes):
            on_edge.setdefault(ekey(a, b), set()).add(r)
        for n in (nodes[0], nodes[-1]):
            at_node.setdefault(n, set()).add(r)
    below: dict[Hashable, set[str]] = {n: set(at_node.get(n, ())) for n in rt.order}
    counts: dict[Edge, frozenset[str]] = {}
    for n in reversed(rt.order):
        p = rt.parent[n]
        if p is None:
            continue
        k = ekey(n, p)
        counts[k] = frozenset(on_edge.get(k, set()) | below[n])
        below[p] |= below.pop(n)
    return counts


def chambers(T: nx.Graph, terminal_nodes: Iterable[Hashable]) -> set[Hashable]:
    """Manhole nodes: junctions (degree >= 3), terminals inside a run and the branch points of terminal spurs."""
    terms = set(terminal_nodes)
    out = {n for n in T.nodes if T.degree[n] >= 3}
    for t in terms:
        if t not in T:
            continue
        if T.degree[t] >= 2:
            out.add(t)
        elif T.degree[t] == 1:
            (nb,) = T.adj[t]
            if nb not in terms or T.degree[nb] >= 2:
                out.add(nb)
    return out


@dataclass(frozen=True)
class Handhole:
    """A handhole placed along a run: its point and the tree edge it lies on."""

    point: Point
    edge: Edge


def handholes(T: nx.Graph, chamber_nodes: set[Hashable], spacing_m: float) -> list[Handhole]:
    """Handholes along runs between chambers (or tree leaves) so that no stretch exceeds ``spacing_m``.

    A run of length L between two chambers gets ``ceil(L / spacing_m) - 1`` handholes at equal intervals.
    """
    ends = {n for n in T.nodes if n in chamber_nodes or T.degree[n] != 2}
    seen: set[Edge] = set()
    out: list[Handhole] = []
    for start in sorted(ends, key=repr):
        for nb in sorted(T.adj[start], key=repr):
            if ekey(start, nb) in seen:
                continue
            chain = [start, nb]
            while chain[-1] not in ends:
                nxt = next(m for m in sorted(T.adj[chain[-1]], key=repr) if m != chain[-2])
                chain.append(nxt)
            for a, b in itertools.pairwise(chain):
                seen.add(ekey(a, b))
            lengths = [float(T.edges[a, b]["length_m"]) for a, b in itertools.pairwise(chain)]
            total = sum(lengths)
            k = math.ceil(total / spacing_m - 1e-9) - 1 if total > 0 else 0
            if k <= 0:
                continue
            step = total / (k + 1)
            acc = 0.0
            j = 0
            for i in range(1, k + 1):
                target = i * step
                while j < len(lengths) - 1 and acc + lengths[j] < target:
                    acc += lengths[j]
                    j += 1
                a, b = chain[j], chain[j + 1]
                g = edge_geometry(T, a, b)
                frac = (target - acc) / lengths[j] if lengths[j] > 0 else 0.0
                pt = shapely.line_interpolate_point(g, min(max(frac, 0.0), 1.0), normalized=True)
                out.append(Handhole(point=pt, edge=ekey(a, b)))
    return out


def ducts_needed(n_cables: int, *, cables_per_duct: int, spare: int) -> int:
    """Ducts of a trench: ``ceil(n_cables / cables_per_duct) + spare``."""
    return math.ceil(n_cables / cables_per_duct) + spare if n_cables > 0 else spare


def routes_per_edge_network(
    N: nx.Graph,
    root: Hashable,
    paths: Mapping[str, list[Hashable]],
    route_of: Mapping[str, str],
    feeders: Mapping[Hashable, list[Hashable]],
) -> dict[Edge, frozenset[str]]:
    """The distinct cable routes in each edge of a trench network that may hold loops.

    As :func:`routes_per_edge`: an edge carries the routes of the span paths along it and the
    routes whose span ends' paths to the root (``feeders``: node -> its shortest path from
    ``root`` in ``N``) run through it.  On a tree this gives the same counts as
    :func:`routes_per_edge`.
    """
    on_edge: dict[Edge, set[str]] = {}
    feed: dict[Edge, set[str]] = {}
    for cid in sorted(paths):
        nodes = paths[cid]
        r = route_of[cid]
        for a, b in itertools.pairwise(nodes):
            on_edge.setdefault(ekey(a, b), set()).add(r)
        for n in (nodes[0], nodes[-1]):
            for a, b in itertools.pairwise(feeders[n]):
                feed.setdefault(ekey(a, b), set()).add(r)
    out: dict[Edge, frozenset[str]] = {}
    for u, v in N.edges:
        k = ekey(u, v)
        out[k] = frozenset(on_edge.get(k, set()) | feed.get(k, set()))
    return out


def routes_per_edge_feeder_tree(
    N: nx.Graph,
    paths: Mapping[str, list[Hashable]],
    route_of: Mapping[str, str],
    parent: Mapping[Hashable, Hashable],
) -> dict[Edge, frozenset[str]]:
    """:func:`routes_per_edge_network` with the feeders given as one tree (``parent``: each node's parent towards
    the root, :func:`gisplan.underground._shortcuts.root_parents`): the routes feeding an edge are those of the
    span ends below it, gathered once up the tree instead of along every span end's whole path to the root."""
    on_edge: dict[Edge, set[str]] = {}
    below: dict[Hashable, set[str]] = {}
    for cid in sorted(paths):
        nodes = paths[cid]
        r = route_of[cid]
        for a, b in itertools.pairwise(nodes):
            on_edge.setdefault(ekey(a, b), set()).add(r)
        for n in (nodes[0], nodes[-1]):
            below.setdefault(n, set()).add(r)
    depth: dict[Hashable, int] = {}
    for n in parent:
        chain = []
        x = n
        while x in parent and x not in depth:
            chain.append(x)
            x = parent[x]
        d = depth.get(x, 0)
        for y in reversed(chain):
            d += 1
            depth[y] = d
    feed: dict[Edge, set[str]] = {}
    for x in sorted(parent, key=lambda n: -depth[n]):  # children before their parents
        routes = below.get(x)
        if routes:
            feed[ekey(parent[x], x)] = routes
            below.setdefault(parent[x], set()).update(routes)
    out: dict[Edge, frozenset[str]] = {}
    for u, v in N.edges:
        k = ekey(u, v)
        out[k] = frozenset(on_edge.get(k, set()) | feed.get(k, set()))
    return out


@dataclass
class Work:
    """Everything the BOQ and the layers are built from."""

    tree: nx.Graph
    root: Hashable
    root_site: str
    roots: dict[str, str]
    cable_exchange: dict[str, str]
    edges: list[Edge]
    edge_items: dict[Edge, list[tuple[str, float]]]
    edge_info: dict[Edge, dict[str, Any]]
    edge_street: dict[Edge, str]
    node_items: dict[Hashable, list[tuple[str, float]]]
    chambers: list[Any]
    crossings: list[tuple[Hashable, str]]
    cables: gpd.GeoDataFrame
    cable_paths: dict[str, list[Hashable]]
    cable_items: dict[str, list[tuple[str, float]]]
    poles_removed: dict[str, Any]
    streets: dict[str, Street]
    shortcut_kpis: dict[str, Any]
    detours: list[Any] = field(default_factory=list)
    drops: list[Any] = field(default_factory=list)
    buildings: Any = None
    poles_remaining: list[Any] = field(default_factory=list)
    poles_by_power: list[Any] = field(default_factory=list)
    street_km_freed: float = 0.0
    notes: list[str] = field(default_factory=list)
