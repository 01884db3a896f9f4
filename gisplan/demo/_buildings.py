"""The demo's synthetic buildings layer (private; see :mod:`gisplan.demo.data`).

Synthetic, consistent with the settlements: each settlement's households are spread over building points along
the roads near it, nearest its centre first.  Building plots line both sides of a road every
:data:`FRONTAGE_M` metres, :data:`SETBACK_M` from the road's centre line; a settlement uses the plots within its
radius (growing with its number of households) that no nearer settlement took, and puts 1 to a few households on
each (more in towns, where shop-houses and small apartment buildings hold several).  Every building names an
operator and a service kind drawn from the demo cables' operators (a household's subscription; synthetic).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from gisplan.demo._land import geom_to_lonlat

#: Distance (m) between building plots along a road side.
FRONTAGE_M = 14.0
#: Distance (m) of a building point from the road's centre line.
SETBACK_M = 12.0
#: Operators and the service kind of their subscribers (the demo cables' owners; SCTV is a cable-TV operator).
OPERATORS = (("VNPT", "fibre"), ("Viettel", "fibre"), ("FPT", "fibre"), ("MobiFone", "fibre"), ("SCTV", "coax"))
_SHARES = (0.32, 0.30, 0.18, 0.08, 0.12)


def _radius_m(households: int, kind: str) -> float:
    """Radius (m) of the area a settlement's buildings take: about 12 m per square root of a household."""
    lo = 150.0 if kind == "hamlet" else 300.0
    return float(min(max(12.0 * math.sqrt(max(households, 1)), lo), 2_500.0))


def _plots(roads: list[shapely.LineString], centre: tuple[float, float], radius: float) -> np.ndarray:
    """Plot points (x, y) along both sides of the roads within ``radius`` of ``centre``, nearest first."""
    disc = shapely.Point(centre).buffer(radius, 16)
    pts = []
    for line in roads:
        if not line.intersects(disc):
            continue
        part = line.intersection(disc)
        for seg in getattr(part, "geoms", [part]):
            if seg.geom_type != "LineString" or seg.length < FRONTAGE_M:
                continue
            for side in (SETBACK_M, -SETBACK_M):
                off = seg.offset_curve(side)
                if off.is_empty or off.geom_type != "LineString":
                    continue
                n = int(off.length // FRONTAGE_M)
                d = (np.arange(n) + 0.5) * FRONTAGE_M
                pts.append(shapely.get_coordinates(shapely.line_interpolate_point(off, d)))
    if not pts:
        return np.zeros((0, 2))
    xy = np.round(np.concatenate(pts), 1)
    d = np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1])
    return xy[np.lexsort((xy[:, 1], xy[:, 0], d))]


def buildings_frame(settlements: list[dict], roads: list[dict], land: shapely.Geometry, seed: int) -> gpd.GeoDataFrame:
    """The buildings layer (EPSG:4326): ``building_id``, ``households``, ``operator``, ``service``,
    ``settlement_id``; points.  Deterministic for ``seed`` (its own random stream: the other layers do not change)."""
    rng = np.random.default_rng([int(seed), 12])
    lines = [r["geometry"] for r in roads if r["geometry"] is not None and not r["geometry"].is_empty]
    tree = shapely.STRtree(lines)
    shapely.prepare(land)
    taken: set[tuple[float, float]] = set()
    rows: list[tuple[str, int, float, float]] = []
    order = sorted(range(len(settlements)), key=lambda i: (-int(settlements[i]["households"]), i))
    for i in order:
        s = settlements[i]
        hh = int(s["households"])
        if hh <= 0:
            continue
        radius = _radius_m(hh, str(s["kind"]))
        near = [lines[k] for k in sorted(tree.query(shapely.Point(s["xy"]).buffer(radius)).tolist())]
        xy = _plots(near, s["xy"], radius)
        if len(xy):
            xy = xy[shapely.contains_xy(land, xy[:, 0], xy[:, 1])]
        free = [p for p in map(tuple, xy.tolist()) if p not in taken]
        if not free:  # no road near: one building at the settlement point
            free = [tuple(s["xy"])]
        per = 2.2 if s["kind"] == "town" else 1.2  # mean households per building
        n = max(1, min(len(free), math.ceil(hh / per)))
        base, extra = divmod(hh, n)
        counts = np.full(n, base, dtype=np.int64)
        counts[rng.permutation(n)[:extra]] += 1
        for (x, y), c in zip(free[:n], counts.tolist(), strict=True):
            taken.add((x, y))
            rows.append((f"S{i + 1:04d}", int(c), float(x), float(y)))
    ops = rng.choice(len(OPERATORS), size=len(rows), p=np.array(_SHARES) / sum(_SHARES))
    return gpd.GeoDataFrame(
        {
            "building_id": [f"B{k + 1:06d}" for k in range(len(rows))],
            "households": np.array([r[1] for r in rows], dtype=np.int64),
            "operator": [OPERATORS[o][0] for o in ops.tolist()],
            "service": [OPERATORS[o][1] for o in ops.tolist()],
            "settlement_id": [r[0] for r in rows],
        },
        geometry=[geom_to_lonlat(shapely.Point(r[2], r[3])) for r in rows],
        crs="EPSG:4326",
    )
