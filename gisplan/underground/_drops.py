"""Subscriber drops and the poles that stay (private; see :mod:`gisplan.underground.planner`).

Buildings (the ``buildings`` layer: points, or footprints taken at a point inside them) in a zone are fed today by
aerial drops from the poles the plan removes.  Each one within the catalog's ``max_drop_m`` of the trench network
is a distribution point at its nearest trench point (the chamber rules give it a drop chamber within
``drop_reach_m`` along the trench) and gets an underground drop from its nearest chamber; the others are listed
with their reason.  A drop is routed as it is laid: from the chamber nearest along the trench network, in the
trench (its small conduit beside the ducts) to the building's trench point, then across to the building; its length
is that route's (along the trench plus the crossing), not a straight line.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString

from gisplan.underground._quantities import Edge, edge_geometry, ekey


@dataclass(frozen=True)
class ZoneBuildings:
    """The zones' buildings: those near the trench (with their trench point) and the others with a reason."""

    frame: gpd.GeoDataFrame  # building_id, households, operator, geometry (a point), zone
    near: list[int]  # row positions within max_drop_m of the trench
    on_edges: list[tuple[Edge, float]]  # their trench points: (edge, distance from the edge key's first node)
    far_reason: dict[int, str]  # row position -> reason it is not served


def zone_buildings(buildings: gpd.GeoDataFrame | None, zones: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame | None:
    """The buildings inside a zone, as points in ``crs`` (footprints at a point inside them), or None."""
    if buildings is None or buildings.empty:
        return None
    b = buildings.to_crs(crs)
    pts = b.geometry.representative_point()
    area = shapely.union_all(list(zones.geometry))
    inside = shapely.contains(area, np.asarray(pts.values, dtype=object))
    cols = {
        "building_id": b["building_id"].astype(str).to_numpy(),
        "households": b["households"].fillna(1).astype(int).to_numpy()
        if "households" in b
        else np.ones(len(b), dtype=int),
        "operator": b["operator"].fillna("").astype(str).to_numpy() if "operator" in b else np.full(len(b), ""),
    }
    out = gpd.GeoDataFrame({k: v[inside] for k, v in cols.items()}, geometry=list(pts[inside]), crs=crs)
    return out.sort_values("building_id", kind="mergesort").reset_index(drop=True)


def near_trench(frame: gpd.GeoDataFrame, N: nx.Graph, max_drop_m: float) -> ZoneBuildings:
    """Each building's nearest trench point (spurs into buildings excluded) when within ``max_drop_m``."""
    edges = sorted((ekey(a, b) for a, b, d in N.edges(data=True) if d.get("kind") != "spur"), key=repr)
    geoms = [edge_geometry(N, *e) for e in edges]
    near: list[int] = []
    on: list[tuple[Edge, float]] = []
    far: dict[int, str] = {}
    if not edges:
        return ZoneBuildings(frame, [], [], {i: "no trench in the zone" for i in range(len(frame))})
    tree = shapely.STRtree(geoms)
    pts = np.asarray(frame.geometry.values, dtype=object)
    (ip, ie), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    best = dict(zip(ip.tolist(), zip(ie.tolist(), dist.tolist(), strict=True), strict=True))
    for i in range(len(frame)):
        e_i, d = best[i]
        if d > max_drop_m:
            far[i] = f"farther than {max_drop_m:g} m from the trench network: not fed by the moved cables"
            continue
        g = geoms[e_i]
        t = float(g.project(pts[i])) * (float(N.edges[edges[e_i]]["length_m"]) / g.length if g.length > 0 else 0.0)
        near.append(i)
        on.append((edges[e_i], t))
    return ZoneBuildings(frame, near, on, far)


@dataclass(frozen=True)
class Drop:
    """One building's underground drop from a chamber."""

    row: int
    chamber: int
    length_m: float
    geometry: LineString


def _position(N: nx.Graph, edge: Edge, point: Any) -> float:
    """Distance (m, by the edge's ``length_m``) from the edge key's first node to ``point``'s projection."""
    g = edge_geometry(N, *edge)
    scale = float(N.edges[edge]["length_m"]) / g.length if g.length > 0 else 0.0
    return float(g.project(point)) * scale


def _chamber_index(
    N: nx.Graph, chambers: Sequence[Any]
) -> tuple[dict[Hashable, list[int]], dict[Edge, list[tuple[float, int]]]]:
    """Chambers by the node they stand on, and by the edge they stand along (with their position from its key's
    first node)."""
    at_node: dict[Hashable, list[int]] = {}
    on_edge: dict[Edge, list[tuple[float, int]]] = {}
    for i, c in enumerate(chambers):
        if c.node is not None and c.node in N:
            at_node.setdefault(c.node, []).append(i)
        elif c.edge is not None and N.has_edge(*c.edge):
            e = ekey(*c.edge)
            on_edge.setdefault(e, []).append((_position(N, e, c.point), i))
    return at_node, on_edge


def _nearest_along(
    N: nx.Graph,
    start: tuple[Edge, float],
    at_node: dict[Hashable, list[int]],
    on_edge: dict[Edge, list[tuple[float, int]]],
) -> tuple[float, int, list[Hashable]]:
    """The chamber nearest along the trench network (spurs excluded) to a point ``(edge key, t)`` on it.

    Returns (distance, chamber index, the nodes passed from the start's edge to the chamber).  Dijkstra from both
    ends of the start's edge (at their distances from the point), stopped once no nearer chamber can be found;
    ties go to the lower chamber index, so the answer is deterministic.  (inf, -1, []) when none is reachable.
    """
    (a, b), t = start
    best_d, best_c, best_node = math.inf, -1, None
    for tc, i in on_edge.get((a, b), ()):
        if (abs(tc - t), i) < (best_d, best_c):
            best_d, best_c, best_node = abs(tc - t), i, None
    tentative: dict[Hashable, float] = {a: t, b: float(N.edges[a, b]["length_m"]) - t}
    prev: dict[Hashable, Hashable | None] = {a: None, b: None}
    heap = [(tentative[a], 0, a), (tentative[b], 1, b)]
    heapq.heapify(heap)
    done: set[Hashable] = set()
    order = 2
    while heap:
        d, _, n = heapq.heappop(heap)
        if d > best_d:
            break
        if n in done:
            continue
        done.add(n)
        for i in at_node.get(n, ()):
            if (d, i) < (best_d, best_c):
                best_d, best_c, best_node = d, i, n
        for m, data in N[n].items():
            if data.get("kind") == "spur":
                continue
            e = ekey(n, m)
            le = float(data["length_m"])
            for tc, i in on_edge.get(e, ()):
                along = d + (tc if e[0] == n else le - tc)
                if (along, i) < (best_d, best_c):
                    best_d, best_c, best_node = along, i, n
            nd = d + le
            if m not in done and nd < tentative.get(m, math.inf):
                tentative[m], prev[m] = nd, n
                heapq.heappush(heap, (nd, order, m))
                order += 1
    path: list[Hashable] = []
    cur = best_node
    while cur is not None:
        path.append(cur)
        cur = prev[cur]
    return best_d, best_c, path[::-1]


def drops_to_chambers(zb: ZoneBuildings, N: nx.Graph, chambers: Sequence[Any]) -> list[Drop]:
    """Each building near the trench gets a drop from the chamber nearest along the trench, routed in the trench to
    the building's trench point, then across to the building."""
    if not zb.near or not chambers:
        return []
    at_node, on_edge = _chamber_index(N, chambers)
    pts = np.asarray(zb.frame.geometry.values, dtype=object)
    out = []
    for row, (edge, t) in zip(zb.near, zb.on_edges, strict=True):
        e = ekey(*edge)
        t_key = t if e == tuple(edge) else float(N.edges[e]["length_m"]) - t
        along, c, nodes = _nearest_along(N, (e, t_key), at_node, on_edge)
        if c < 0:  # a trench piece with no chamber on it (cannot happen: every run has its end chambers)
            raise AssertionError(f"no chamber reachable along the trench from building row {row}")
        g_start = edge_geometry(N, *e)
        scale = g_start.length / float(N.edges[e]["length_m"]) if float(N.edges[e]["length_m"]) > 0 else 0.0
        tpoint = g_start.interpolate(t_key * scale)
        coords = [(pts[row].x, pts[row].y), (tpoint.x, tpoint.y)]
        coords += [(float(N.nodes[n]["x"]), float(N.nodes[n]["y"])) for n in nodes]
        cp = chambers[c].point
        coords.append((cp.x, cp.y))
        clean = [coords[0]] + [q for p, q in itertools.pairwise(coords) if q != p]
        line = LineString(clean if len(clean) > 1 else [clean[0], clean[0]])
        across = float(pts[row].distance(tpoint))
        out.append(Drop(row=row, chamber=c, length_m=along + across, geometry=line))
    return out


def remaining_poles(
    poles: gpd.GeoDataFrame | None,
    zones: gpd.GeoDataFrame,
    removed: set[str],
    carried: dict[str, set[str]],
    *,
    joint: bool = False,
) -> tuple[list[tuple[str, str, str, Any]], list[tuple[str, str, Any]]]:
    """Poles inside a zone that stay, (pole id, owner, reason, point), and with ``joint`` undergrounding with the
    power utility the power and shared poles it removes, (pole id, owner, point): those that carry no telecom
    cable that stays aerial."""
    if poles is None or poles.empty:
        return [], []
    area = shapely.union_all(list(zones.geometry.to_crs(poles.crs) if zones.crs != poles.crs else zones.geometry))
    inside = shapely.contains(area, np.asarray(poles.geometry.values, dtype=object))
    out = []
    by_power = []
    sub = poles[inside].sort_values("pole_id", kind="mergesort")
    for pid, owner, g in zip(sub["pole_id"].astype(str), sub["owner"].astype(str), sub.geometry, strict=True):
        if pid in removed:
            continue
        if joint and owner in ("power", "shared") and not carried.get(pid):
            by_power.append((pid, owner, g))
            continue
        if owner == "power":
            reason = "power pole: the power lines stay aerial"
        elif owner == "shared":
            reason = "shared pole: the power lines it carries stay aerial"
        elif carried.get(pid):
            reason = "carries an aerial cable that is not moved"
        else:
            reason = "carries no moved cable"
        out.append((pid, owner, reason, g))
    return out, by_power
