"""The area of the roads layer that a zone's plan needs (private; see :mod:`gisplan.underground.planner`).

Building the road graph of a whole province (a few hundred thousand road features) takes far longer than
routing one zone on it, and the trench network of a zone stays near the zone and on the way to its exchange.
So a large roads layer (more than ``settings.clip_min_roads`` features, :mod:`gisplan.underground.settings`) is
clipped before the graph is built:

- the core is the convex hull of the zone polygons, the points the cables hang from and the forced corridors;
- the margin ``M`` is ``max(settings.clip_margin_m, a quarter of the core's diagonal)``;
- the candidate exchanges kept are those given by ``exchange_ids``, or (by default) those at most
  ``settings.exchange_reach * d + M`` from the core, ``d`` being the distance of the nearest one (a farther
  exchange is never the cheapest to reach over roads whose trench prices differ by less than that factor),
  and, by the same rule among them, each operator's own exchanges/POPs (its cables are led to its own);
- the area is the core buffered by ``M`` with, for each kept exchange at distance ``d_i``, a corridor of
  half-width ``max(M, d_i / 2)`` around the straight line from the core to it;
- every road feature that meets the area is kept whole (so the graph is a subgraph of the full one).

The caller routes on the clipped graph and falls back to the whole layer when the clipped graph cannot
reach an exchange or when the trench tree comes within ``M / 2`` of the area's edge (:meth:`Clip.holds`), where
a road outside might have been cheaper.  Smaller layers are never clipped.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import nearest_points

from gisplan.underground.settings import DEFAULT_SETTINGS, UndergroundSettings


@dataclass(frozen=True)
class Clip:
    """A clipped roads layer: the area, its margin, the roads meeting it and the candidate exchanges kept."""

    area: Any
    margin_m: float
    roads: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame

    def holds(self, nodes: Iterable[Hashable], xy: Any) -> bool:
        """True when every node (``xy(node) -> (x, y)``) lies in the area, ``margin_m / 2`` or more from its edge."""
        pts = shapely.points(np.array([xy(n) for n in nodes], dtype=float).reshape(-1, 2))
        if len(pts) == 0:
            return True
        inner = self.area.buffer(-self.margin_m / 2)
        return bool(np.all(shapely.contains(inner, pts)))


def clip_roads(
    roads: gpd.GeoDataFrame,
    *,
    zones: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    explicit: bool,
    operators: Iterable[str] = (),
    extra: Iterable[Any] = (),
    settings: UndergroundSettings | None = None,
) -> Clip | None:
    """The clipped roads layer of a plan (see the module docstring), or None when the layer is small enough.

    ``zones``, ``points`` (the terminal points) and ``candidates`` (exchange sites) are in the roads' CRS;
    ``explicit`` says the candidates were named by ``exchange_ids`` (all kept); ``operators`` (operator keys,
    :func:`~gisplan.underground._inputs.operator_key`) keep, besides, each operator's own candidates (column
    ``owner``) by the same rule applied among them; ``extra`` are more
    geometries of the core (forced corridors); ``settings`` default
    :data:`~gisplan.underground.settings.DEFAULT_SETTINGS`.
    """
    st = settings or DEFAULT_SETTINGS
    if len(roads) <= st.clip_min_roads:
        return None
    parts = [*zones.geometry, *points.geometry, *[g for g in extra if g is not None and not g.is_empty]]
    core = shapely.union_all(parts).convex_hull
    x0, y0, x1, y1 = core.bounds
    margin = max(st.clip_margin_m, 0.25 * float(np.hypot(x1 - x0, y1 - y0)))
    dist = shapely.distance(np.asarray(candidates.geometry.values, dtype=object), core)
    keep = np.ones(len(candidates), dtype=bool) if explicit else dist <= st.exchange_reach * dist.min() + margin
    if not explicit and "owner" in candidates.columns:  # each operator's own exchanges/POPs, by the same rule
        owner = np.array([o.strip().casefold() if isinstance(o, str) else "" for o in candidates["owner"]])
        for op in sorted({o for o in operators if o}):
            mine = owner == op
            if mine.any():
                keep |= mine & (dist <= st.exchange_reach * dist[mine].min() + margin)
    areas = [core.buffer(margin)]
    for g, d in zip(candidates.geometry[keep], dist[keep].tolist(), strict=True):
        near = nearest_points(core, g)[0]
        areas.append(shapely.LineString([near, g]).buffer(max(margin, d / 2)) if d > 0 else g.buffer(margin))
    area = shapely.union_all(areas)
    hit = np.unique(roads.sindex.query(area, predicate="intersects"))
    return Clip(area=area, margin_m=margin, roads=roads.iloc[hit], candidates=candidates[keep])
