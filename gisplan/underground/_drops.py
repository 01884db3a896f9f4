"""Subscriber drops and the poles that stay (private; see :mod:`gisplan.underground.planner`).

Buildings (the ``buildings`` layer: points, or footprints taken at a point inside them) in a zone are fed today by
aerial drops from the poles the plan removes.  Each one within the catalog's ``max_drop_m`` of the trench network
is a distribution point at its nearest trench point (the chamber rules give it a drop chamber within
``drop_reach_m`` along the trench) and gets an underground drop from its nearest chamber; the others are listed
with their reason.  The drop's length is the straight distance times ``drop_route_factor`` (the drop follows the
trench, then crosses to the building).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def drops_to_chambers(zb: ZoneBuildings, chamber_points: Sequence[Any], route_factor: float) -> list[Drop]:
    """Each building near the trench gets a drop from its nearest chamber."""
    if not zb.near or not chamber_points:
        return []
    tree = shapely.STRtree(list(chamber_points))
    pts = np.asarray(zb.frame.geometry.values, dtype=object)[zb.near]
    (ip, ic), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    first = dict(zip(ip.tolist(), zip(ic.tolist(), dist.tolist(), strict=True), strict=True))
    out = []
    for k, row in enumerate(zb.near):
        c, d = first[k]
        line = LineString([pts[k], chamber_points[c]])
        out.append(Drop(row=row, chamber=c, length_m=float(d) * route_factor, geometry=line))
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
