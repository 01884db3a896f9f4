"""Split road-graph edges at points and connect those points (private; see :mod:`gisplan.routing.graph`).

Used to attach terminals (poles, sites) to the nearest edge and to join
near-miss dangling road ends to the road they almost touch.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Hashable

import networkx as nx
import numpy as np
import shapely
from shapely import LineString
from shapely.ops import substring

from gisplan.routing.settings import DEFAULT_SETTINGS


def edge_rate(data: dict) -> float:
    """Trench cost per metre for new digging next to this edge (spurs)."""
    rate = data.get("trench_cost_per_m")
    if rate is not None:
        return float(rate)
    length = float(data.get("length_m") or 0.0)
    return float(data["cost"]) / length if length > 0 else 0.0


def oriented_geometry(G: nx.Graph, a: Hashable, b: Hashable) -> LineString:
    """Geometry of edge (a, b) running from node a to node b (a straight line when missing)."""
    data = G.edges[a, b]
    ax, ay = G.nodes[a]["x"], G.nodes[a]["y"]
    geom = data.get("geometry")
    if geom is None:
        return LineString([(ax, ay), (G.nodes[b]["x"], G.nodes[b]["y"])])
    x0, y0 = shapely.get_coordinates(geom)[0]
    bx, by = G.nodes[b]["x"], G.nodes[b]["y"]
    if (x0 - ax) ** 2 + (y0 - ay) ** 2 <= (x0 - bx) ** 2 + (y0 - by) ** 2:
        return geom
    return geom.reverse()


def split_and_connect(
    G: nx.Graph,
    requests: list[tuple[Hashable, Hashable, float, float, Hashable | None]],
    next_id: int,
    *,
    merge_eps_m: float = DEFAULT_SETTINGS.merge_eps_m,
) -> tuple[dict[int, Hashable], int]:
    """Split edges at the projections of points and connect the points, in place on ``G``.

    Parameters
    ----------
    G
        Graph to change (the caller passes a copy).
    requests
        ``(a, b, x, y, node)``: split edge (a, b) at the projection of (x, y); when ``node`` is
        None, a new node is made at (x, y) (or the split node is used when the point lies on the
        edge); otherwise the existing ``node`` is connected to the split node by a spur.
    next_id
        First free integer node id.
    merge_eps_m
        Points closer than this (metres) to a node or to each other along the edge are merged
        (:attr:`gisplan.routing.settings.RoutingSettings.merge_eps_m`).

    Returns
    -------
    (request position -> node standing for the point, next free id)
    """
    by_edge: dict[tuple[Hashable, Hashable], list[int]] = defaultdict(list)
    for k, (a, b, *_rest) in enumerate(requests):
        by_edge[(a, b)].append(k)
    result: dict[int, Hashable] = {}
    for (a, b), ks in by_edge.items():
        data = dict(G.edges[a, b])
        geom = oriented_geometry(G, a, b)
        length = float(geom.length)
        pts = shapely.points([(requests[k][2], requests[k][3]) for k in ks])
        pos = shapely.line_locate_point(geom, pts)
        order = np.argsort(pos, kind="stable")
        # split positions -> nodes
        cuts: list[tuple[float, Hashable]] = [(0.0, a)]
        at: dict[int, Hashable] = {}
        for j in order.tolist():
            s = float(pos[j])
            if s <= merge_eps_m:
                at[j] = a
            elif s >= length - merge_eps_m:
                at[j] = b
            elif s - cuts[-1][0] <= merge_eps_m and cuts[-1][1] != a:
                at[j] = cuts[-1][1]
            else:
                p = geom.interpolate(s)
                G.add_node(next_id, x=float(p.x), y=float(p.y))
                cuts.append((s, next_id))
                at[j] = next_id
                next_id += 1
        cuts.append((length, b))
        if len(cuts) > 2:
            G.remove_edge(a, b)
            cost_per_m = float(data["cost"]) / length if length > 0 else 0.0
            for (s0, n0), (s1, n1) in itertools.pairwise(cuts):
                piece = substring(geom, s0, s1)
                attrs = dict(data)
                attrs.update(geometry=piece, length_m=float(piece.length), cost=cost_per_m * float(piece.length))
                G.add_edge(n0, n1, **attrs)
        rate = edge_rate(data)
        for j, k in enumerate(ks):
            _a, _b, x, y, node = requests[k]
            split_node = at[j]
            sx, sy = G.nodes[split_node]["x"], G.nodes[split_node]["y"]
            d = float(np.hypot(x - sx, y - sy))
            if node is None and d <= merge_eps_m:
                result[k] = split_node
                continue
            if node is None:
                node = next_id
                G.add_node(node, x=float(x), y=float(y))
                next_id += 1
            if node != split_node and not G.has_edge(node, split_node):
                G.add_edge(
                    split_node,
                    node,
                    length_m=d,
                    cost=d * rate,
                    road_id=None,
                    name=None,
                    road_class=data.get("road_class"),
                    surface=data.get("surface"),
                    kind="spur",
                    trench_cost_per_m=rate,
                    geometry=LineString([(sx, sy), (x, y)]),
                )
            result[k] = node
    return result, next_id
