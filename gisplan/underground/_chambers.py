"""Chambers placed and typed by what they are for (private; see :mod:`gisplan.underground.planner`).

Every chamber of the trench network has a ``type`` (``manhole``: a cable chamber large enough for splice
closures; ``handhole``: a small pulling or drop chamber) and a ``reason``:

``branch`` (manhole)
    A junction of the trench network (three or more trench directions): cables branch and are spliced there.
``exchange`` (manhole)
    The entry chamber in front of the serving exchange or POP, where the lead-in duct enters the building.
``splice`` (manhole)
    A moved cable route ends underground: its end closure sits there.
``riser`` (handhole)
    The foot of a riser pole at the zone edge, where a cable that continues beyond the moved spans goes up
    the pole and on aerially.
``drop`` (handhole)
    Serves the distribution points (the places the subscriber drops are handed on) within ``drop_reach_m``
    along the trench; placed greedily so that every distribution point is served by some chamber.
``pulling`` (handhole)
    Along runs, so that no stretch between chambers exceeds the pulling length of the cables in the run
    (the catalog's ``pulling_length_<kind>_m``) nor ``spacing_m`` (the scenario's ``manhole_spacing_m``).
    A trench ending at a distribution point needs no chamber at its very end: a drop chamber within
    ``drop_reach_m`` serves it.
``duct_end`` (handhole)
    The end of a trench that no other rule gives a chamber.

No chamber stands within ``clearance_m`` of a road intersection (QCVN 33:2011/BTTTT §2.2.3.1: cable chambers
are not built at road intersections): a chamber the rules would put there is moved along the trench to the
nearest place at least ``clearance_m`` from every intersection (a node chamber at most ``2 * clearance_m`` into
one of its runs, the run towards the exchange first, so that a branch chamber stays beside its junction); where
no such place exists the chamber stays and is reported (``near_intersection``).  Distances along the trench are
measured on the trench's road geometry; the distance of a point to an intersection is straight-line.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, Point

from gisplan.underground._quantities import Edge, ekey, path_geometry

#: Type of the chamber of each reason.
CHAMBER_TYPE = {
    "branch": "manhole",
    "exchange": "manhole",
    "splice": "manhole",
    "riser": "handhole",
    "drop": "handhole",
    "pulling": "handhole",
    "duct_end": "handhole",
}
#: BOQ item of each chamber type.
CHAMBER_CODE = {"manhole": "MH.STD", "handhole": "HH.STD"}
_TOL = 1e-6
#: Kept beyond the clearance (metres) so that a chamber placed at the edge of a forbidden stretch is not a rounding
#: error inside it (distances along a bent run are approximate).
_MARGIN = 0.05


@dataclass(frozen=True)
class ChamberRules:
    """The figures the rules use (metres).

    Attributes
    ----------
    spacing_m
        Longest stretch between chambers along a trench (the scenario's ``manhole_spacing_m``, default the
        catalog's).
    pulling_m
        Longest pull per cable kind (``fibre``, ``copper``, ``coax``); a run holding several kinds takes the
        shortest.
    clearance_m
        Smallest distance from a chamber to a road intersection.
    drop_reach_m
        Largest distance along the trench from a drop chamber to a distribution point it serves.
    """

    spacing_m: float
    pulling_m: Mapping[str, float]
    clearance_m: float
    drop_reach_m: float


@dataclass(frozen=True)
class Chamber:
    """One chamber: its type, reason, point and where it stands (a network node, or along a trench edge)."""

    type: str
    reason: str
    point: Point
    node: Hashable | None
    edge: Edge | None
    near_intersection: bool

    @property
    def code(self) -> str:
        """Its BOQ item code."""
        return CHAMBER_CODE[self.type]


@dataclass
class _Run:
    """A chain of trench edges between two run ends (junctions, leaves or node chambers)."""

    nodes: list[Hashable]
    cum: list[float]
    geom: LineString
    forbidden: list[tuple[float, float]]

    @property
    def length(self) -> float:
        return self.cum[-1]

    def allowed(self, s: float) -> bool:
        return not any(a + _TOL < s < b - _TOL for a, b in self.forbidden)

    def nearest_allowed(self, target: float, lo: float, hi: float) -> float | None:
        """The allowed position in ``[lo, hi]`` (clipped to the run) closest to ``target``, or None."""
        lo, hi = max(lo, 0.0), min(hi, self.length)
        if lo > hi + _TOL:
            return None
        target = min(max(target, lo), hi)
        cands = [target, lo, hi, *(x for a, b in self.forbidden for x in (a, b))]
        ok = [c for c in cands if lo - _TOL <= c <= hi + _TOL and self.allowed(c)]
        return min(ok, key=lambda c: (abs(c - target), c)) if ok else None

    def edge_at(self, s: float) -> Edge:
        j = int(np.searchsorted(np.asarray(self.cum), s, side="right")) - 1
        j = min(max(j, 0), len(self.nodes) - 2)
        return ekey(self.nodes[j], self.nodes[j + 1])

    def point_at(self, s: float) -> Point:
        return shapely.line_interpolate_point(self.geom, min(max(s, 0.0), self.length))


def intersection_points(roads: Any, G: nx.Graph | None = None) -> np.ndarray:
    """(x, y) of the road intersections (metric CRS): where three or more road arms meet.

    Two sources, united: the roads layer itself (a road's end counts one arm, a vertex inside a road two; a place,
    rounded to 1 cm, with three arms or more), which keeps the junctions of roads that may not be dug (a no-dig
    road is still a road); and the nodes of the road graph ``G`` with three or more road edges (spurs to poles and
    sites excluded), which adds the T-junctions where a road ends on another one between its vertices.
    """
    parts = shapely.get_parts(np.asarray(roads.geometry.values, dtype=object))
    parts = parts[~shapely.is_empty(parts)]
    found = [np.zeros((0, 2))]
    if len(parts):
        xy, owner = shapely.get_coordinates(parts, return_index=True)
        first = np.r_[True, owner[1:] != owner[:-1]]
        last = np.r_[owner[1:] != owner[:-1], True]
        arms = np.where(first | last, 1, 2)
        keys, inv = np.unique(np.round(xy, 2), axis=0, return_inverse=True)
        total = np.bincount(inv.ravel(), weights=arms, minlength=len(keys))
        found.append(keys[total >= 3])
    if G is not None:
        nodes = [
            (float(G.nodes[n]["x"]), float(G.nodes[n]["y"]))
            for n, deg in G.degree
            if deg >= 3 and sum(1 for m in G.adj[n] if G.edges[n, m].get("kind") != "spur") >= 3
        ]
        found.append(np.round(np.array(nodes, dtype=float).reshape(-1, 2), 2))
    return np.unique(np.concatenate(found), axis=0)


def _node_reasons(N: nx.Graph, roles: Mapping[Hashable, set[str]], roots: Collection[Hashable]) -> dict[Hashable, str]:
    """The chamber reason of every network node that gets one (one chamber per node, the first reason wins)."""
    out: dict[Hashable, str] = {}
    for n in N.nodes:
        r = roles.get(n, set())
        if n in roots and N.degree[n] == 1 and "exchange" not in r:
            continue  # the lead-in ends inside the exchange building
        if N.degree[n] >= 3:
            out[n] = "branch"
        elif "exchange" in r:
            out[n] = "exchange"
        elif "splice" in r:
            out[n] = "splice"
        elif "riser" in r:
            out[n] = "riser"
        elif N.degree[n] == 1 and "distribution" not in r:
            out[n] = "duct_end"
    return out


def _runs(N: nx.Graph, ends: set[Hashable], tree: shapely.STRtree | None, xy: np.ndarray, c: float) -> list[_Run]:
    """The runs of ``N`` between ``ends`` (every node of degree != 2 must be in ``ends``), deterministic."""
    seen: set[Edge] = set()
    out: list[_Run] = []
    starts = sorted(ends, key=repr)
    loops = [n for n in sorted(N.nodes, key=repr) if n not in ends]  # a pure cycle has no end: cut it anywhere
    for start in [*starts, *loops[:1]]:
        for nb in sorted(N.adj[start], key=repr):
            if ekey(start, nb) in seen:
                continue
            chain = [start, nb]
            seen.add(ekey(start, nb))
            while chain[-1] not in ends and chain[-1] != start:
                nxt = next(
                    (m for m in sorted(N.adj[chain[-1]], key=repr) if ekey(chain[-1], m) not in seen),
                    None,
                )
                if nxt is None:
                    break
                seen.add(ekey(chain[-1], nxt))
                chain.append(nxt)
            cum = [0.0]
            for a, b in itertools.pairwise(chain):
                cum.append(cum[-1] + float(N.edges[a, b]["length_m"]))
            geom = path_geometry(N, chain)
            forbidden: list[tuple[float, float]] = []
            if tree is not None and c > 0:
                for k in tree.query(geom, predicate="dwithin", distance=c).tolist():
                    p = Point(xy[k])
                    d = float(geom.distance(p))
                    half = math.sqrt(max((c + _MARGIN) ** 2 - d * d, 0.0))
                    s0 = float(geom.project(p)) * (cum[-1] / geom.length if geom.length > 0 else 0.0)
                    forbidden.append((s0 - half, s0 + half))
            out.append(_Run(nodes=chain, cum=cum, geom=geom, forbidden=sorted(forbidden)))
    return out


def _bfs_parent(N: nx.Graph, root: Hashable) -> dict[Hashable, Hashable | None]:
    parent: dict[Hashable, Hashable | None] = {root: None}
    order = [root]
    for n in order:
        for m in sorted(N.adj[n], key=repr):
            if m not in parent:
                parent[m] = n
                order.append(m)
    return parent


def place_chambers(
    N: nx.Graph,
    *,
    root: Hashable,
    roots: Collection[Hashable] = (),
    roles: Mapping[Hashable, set[str]],
    intersections: np.ndarray,
    kinds: Mapping[Edge, set[str]],
    rules: ChamberRules,
    points_on_edges: Sequence[tuple[Edge, float]] = (),
) -> list[Chamber]:
    """Every chamber of the trench network ``N`` by the rules of the module docstring, in a deterministic order.

    Parameters
    ----------
    N
        The trench network (tree plus shortcuts): nodes with ``x``, ``y``; edges with ``length_m`` and geometry.
    root
        The exchange node (the lead-in spur's far end); chambers are ordered from it.
    roots
        More exchange/POP nodes (each operator's own root): like ``root``, a lead-in ends in the building.
    roles
        Node -> roles among ``exchange`` (the exchange's entry point on the road), ``splice``, ``riser`` and
        ``distribution``.
    intersections
        (x, y) of the road intersections (:func:`intersection_points`).
    kinds
        Trench edge -> the cable kinds it carries (for the pulling length).
    rules
        The figures.
    points_on_edges
        More distribution points along the trench (the buildings' nearest trench points): (edge key, distance
        from the edge key's first node).
    """
    c = rules.clearance_m
    tree = shapely.STRtree(shapely.points(intersections)) if len(intersections) else None
    reasons = _node_reasons(N, roles, {root, *roots})
    ends = {n for n in N.nodes if N.degree[n] != 2} | set(reasons)
    runs = _runs(N, ends, tree, intersections, c)
    at_node: dict[Hashable, list[tuple[int, bool]]] = {}  # node -> (run index, node is the run's start)
    for i, r in enumerate(runs):
        at_node.setdefault(r.nodes[0], []).append((i, True))
        at_node.setdefault(r.nodes[-1], []).append((i, False))
    parent = _bfs_parent(N, root)
    out: list[Chamber] = []
    placed: dict[int, list[float]] = {i: [] for i in range(len(runs))}  # chamber positions in each run
    offset: dict[Hashable, float] = {}  # node chamber -> its distance from the node (0: at the node)
    host: dict[Hashable, int] = {}  # moved node chamber -> the run it was moved into

    def near(p: Point) -> bool:
        return tree is not None and len(tree.query(p, predicate="dwithin", distance=c - _TOL)) > 0

    # 1. node chambers, moved off intersections where a run allows
    for n in sorted(reasons, key=repr):
        p = Point(float(N.nodes[n]["x"]), float(N.nodes[n]["y"]))
        reason = reasons[n]
        if not near(p):
            out.append(Chamber(CHAMBER_TYPE[reason], reason, p, n, None, False))
            offset[n] = 0.0
            continue
        cands = sorted(
            at_node.get(n, []),
            key=lambda ir: (runs[ir[0]].nodes[1 if ir[1] else -2] != parent.get(n), ir[0]),
        )
        moved = False
        for i, first in cands:
            r = runs[i]
            L = r.length
            s = r.nearest_allowed(0.0, 0.0, min(2 * c, L)) if first else r.nearest_allowed(L, max(L - 2 * c, 0.0), L)
            if s is None or (first and s <= _TOL) or (not first and s >= L - _TOL):
                continue
            out.append(Chamber(CHAMBER_TYPE[reason], reason, r.point_at(s), None, r.edge_at(s), False))
            placed[i].append(s)
            offset[n] = s if first else L - s
            host[n] = i
            moved = True
            break
        if not moved:
            out.append(Chamber(CHAMBER_TYPE[reason], reason, p, n, None, True))
            offset[n] = 0.0

    def positions(i: int) -> list[float]:
        """Chamber positions seen from run ``i``: its own, and its end nodes' chambers (moved ones beyond its ends)."""
        r = runs[i]
        ps = list(placed[i])
        for n, at, sign in ((r.nodes[0], 0.0, -1.0), (r.nodes[-1], r.length, 1.0)):
            if n in offset and host.get(n) != i:
                ps.append(at + sign * offset[n])
        return ps

    # 2. drop chambers: every distribution point within drop_reach_m of a chamber
    reach = rules.drop_reach_m
    covered: set[Hashable] = set()
    on_edge: dict[Edge, tuple[int, float, Hashable]] = {}  # edge -> (run, position of its start, start node)
    for i, r in enumerate(runs):
        for j, (a, b) in enumerate(itertools.pairwise(r.nodes)):
            on_edge[ekey(a, b)] = (i, r.cum[j], a)
    extra: dict[int, list[tuple[float, Hashable]]] = {}
    for k, (e, t) in enumerate(points_on_edges):
        i, base, start = on_edge[e]
        length = float(N.edges[e]["length_m"])
        extra.setdefault(i, []).append((base + (t if start == e[0] else length - t), ("point", k)))
    for i, r in enumerate(runs):
        dps = [(s, n) for s, n in zip(r.cum, r.nodes, strict=True) if "distribution" in roles.get(n, set())]
        dps = sorted([*dps, *extra.get(i, [])], key=lambda sn: (sn[0], repr(sn[1])))
        for s, n in dps:
            if n in covered:
                continue
            if any(abs(p - s) <= reach + _TOL for p in positions(i)):
                covered.add(n)
                continue
            target = min(s + reach, r.length)
            pos = r.nearest_allowed(target, s - reach, s + reach)
            flag = pos is None
            pos = target if pos is None else pos
            out.append(Chamber("handhole", "drop", r.point_at(pos), None, r.edge_at(pos), flag))
            placed[i].append(pos)
            covered.update(m for t, m in dps if abs(t - pos) <= reach + _TOL)
    # 3. pulling chambers: no stretch longer than the run's limit
    for i, r in enumerate(runs):
        ks = set().union(*(kinds.get(ekey(a, b), set()) for a, b in itertools.pairwise(r.nodes)))
        limit = min([rules.spacing_m, *(rules.pulling_m[k] for k in ks if k in rules.pulling_m)])
        bounds = sorted({0.0, r.length, *(p for p in positions(i) if 0.0 <= p <= r.length)})
        for a, b in itertools.pairwise(bounds):
            for s, flag in _pulling_positions(r, a, b, limit):
                out.append(Chamber("handhole", "pulling", r.point_at(s), None, r.edge_at(s), flag))
    return out


def _pulling_positions(r: _Run, a: float, b: float, limit: float) -> list[tuple[float, bool]]:
    """Positions in ``(a, b)`` splitting it into stretches of at most ``limit``, off intersections where possible."""
    gap = b - a
    if gap <= limit + _TOL:
        return []
    k = math.ceil(gap / limit - 1e-9) - 1
    k_max = k + max(8, math.ceil(gap / max(r.length, 1.0)))
    while k <= k_max:
        step = gap / (k + 1)
        slack = (limit - step) / 2
        got = [r.nearest_allowed(a + j * step, a + j * step - slack, a + j * step + slack) for j in range(1, k + 1)]
        if all(g is not None for g in got):
            return [(float(g), False) for g in got if g is not None]
        k += 1
    k = math.ceil(gap / limit - 1e-9) - 1
    step = gap / (k + 1)
    return [(a + j * step, not r.allowed(a + j * step)) for j in range(1, k + 1)]
