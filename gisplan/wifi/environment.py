"""The radio environment of each demand point: which propagation model its access link takes.

Classes (:data:`ENVIRONMENTS`):

* ``town`` and ``village``: houses close together; the access link is non-line-of-sight below rooftops (the
  profile's ``model``, ITU-R P.1411 site-general NLoS residential in the catalog) whatever the terrain;
* ``open`` and ``coastal``: houses apart among fields, on a beach or a shore; the link is line of sight (the
  profile's ``los_model``, ITU-R P.1411 LoS) where the path from the AP clears 0.6 of the first Fresnel zone over
  the terrain (elevation raster) plus the profile's ``los_clutter_m``, else non-line-of-sight as in a village.
  Without an elevation raster nothing is checked and the non-line-of-sight reach applies (the cautious side).

Where a settlement's class comes from, first match wins (reported per settlement in ``environment_source``):

1. its ``environment`` column, when the settlements layer has one and the row is filled;
2. a ``land_cover`` layer of polygons with an ``environment`` column, the polygon holding the settlement point;
3. the default by settlement ``kind`` (:data:`ENVIRONMENT_BY_KIND`): a town or village is built up; a hamlet's
   houses stand apart among fields and gardens (assumption: a planner who knows the hamlet is closed in by
   trees gives it ``environment: village``); any other kind counts as a village (the cautious side).

A household takes its settlement's class; an institution (school, health station, People's Committee) the class
of the nearest settlement (``environment`` and ``environment_source`` of the ``demand_points`` layer).

The shore (:func:`coastal_points`)
----------------------------------
A village or town is built up, but its front row on the water is not closed in on the sea side: a house there sees
across the beach and the water.  So, where the class is the default by kind and non-line-of-sight (a village, a
town, another kind), a household or institution standing within ``WifiSettings.coastal_band_m`` (100 m) of the
coastline is ``coastal`` (source :data:`COASTLINE`).  The coastline is the boundary of the ``land`` layer's
polygons against the sea (the demo's islands; there is no separate coastline layer); without a ``land`` layer
nothing is classed coastal from it and the plan says so.  The rule is per demand point, not per settlement: the
houses behind the front row stay in the village's clutter.

Such a point is line of sight only on a path that *leaves over the sea* (:func:`leaves_over_sea`): the straight
path from the site crosses no land farther than ``coastal_band_m`` from the coast (a site across a bay, on the
next island or along the same shore), and it must still clear 0.6 of the first Fresnel zone over the raster as any
line-of-sight path.  A path from a site inland runs over the village's roofs: non-line-of-sight.  This is how a
radio planner reads a coastal path: over water there is no clutter (ITU-R P.1546-6 Annex 5 §8, mixed land-sea
paths, and the radio-climatic zones of ITU-R P.452, sea / coastal land / inland, treat the sea part of a path apart
from its land part; the clutter and its loss belong to the land ends), and below rooftops the short-range model is
ITU-R P.1411's LoS one where the path is clear.  A settlement whose ``environment`` column or land cover says
``coastal`` keeps the plain rule of ``open`` (line of sight wherever the terrain clears): the planner who wrote it
knows the whole settlement lies on the shore.  The same rules hold for the operators' 4G options
(:mod:`gisplan.wifi._technology`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import PlanningError

__all__ = [
    "COASTLINE",
    "ENVIRONMENTS",
    "ENVIRONMENT_BY_KIND",
    "LOS_ENVIRONMENTS",
    "Shore",
    "coastal_points",
    "leaves_over_sea",
    "point_environment",
    "settlement_environment",
    "shore_of",
]

#: The environment classes.
ENVIRONMENTS = ("town", "village", "open", "coastal")
#: Classes where a clear path gives line of sight (checked over the elevation raster).
LOS_ENVIRONMENTS = ("open", "coastal")
#: Default class by settlement ``kind`` (see the module notes); other kinds: ``village``.
ENVIRONMENT_BY_KIND = {"town": "town", "village": "village", "hamlet": "open"}
#: ``environment_source`` of a demand point classed ``coastal`` by the coastline (:func:`coastal_points`).
COASTLINE = "coastline (land layer)"
#: ``environment_source`` of the default by kind.
BY_KIND = "default by kind"


def _valid(values: pd.Series, where: str, ids: pd.Series) -> None:
    filled = values.notna() & (values.astype(str).str.strip() != "")
    bad = filled & ~values.astype(str).str.strip().str.lower().isin(ENVIRONMENTS)
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise PlanningError(
            f"{where}, row {first} ({ids.iloc[first]}): environment {values.iloc[first]!r} is not one of "
            f"{', '.join(ENVIRONMENTS)}; correct it or leave it empty for the default by kind / Lớp {where}: môi "
            f"trường {values.iloc[first]!r} không hợp lệ, chọn một trong {', '.join(ENVIRONMENTS)}"
        )


def settlement_environment(
    settlements: gpd.GeoDataFrame, land_cover: gpd.GeoDataFrame | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per settlement: its environment class and where it came from (``"settlements.environment"``,
    ``"land_cover"`` or :data:`BY_KIND`).

    Raises
    ------
    PlanningError
        When a filled ``environment`` (settlements or land cover) is not one of :data:`ENVIRONMENTS`.
    """
    n = len(settlements)
    env = np.full(n, "", dtype=object)
    src = np.full(n, "", dtype=object)
    ids = settlements["settlement_id"] if "settlement_id" in settlements.columns else pd.Series(range(n))
    if "environment" in settlements.columns:
        col = settlements["environment"]
        _valid(col, "settlements layer, column 'environment'", ids)
        filled = (col.notna() & (col.astype(str).str.strip() != "")).to_numpy()
        env[filled] = col[filled].astype(str).str.strip().str.lower().to_numpy()
        src[filled] = "settlements.environment"
    if land_cover is not None and len(land_cover) and "environment" in land_cover.columns and (env == "").any():
        lc_ids = land_cover.iloc[:, 0] if len(land_cover.columns) else pd.Series(range(len(land_cover)))
        _valid(land_cover["environment"], "land_cover layer, column 'environment'", lc_ids)
        todo = np.flatnonzero(env == "")
        pts = np.asarray(settlements.geometry)[todo]
        pi, ci = shapely.STRtree(np.asarray(land_cover.geometry)).query(pts, predicate="intersects")
        for p, c in sorted(zip(pi.tolist(), ci.tolist(), strict=True), reverse=True):  # first polygon wins
            value = land_cover["environment"].iloc[c]
            if pd.notna(value) and str(value).strip():
                env[todo[p]] = str(value).strip().lower()
                src[todo[p]] = "land_cover"
    rest = env == ""
    kinds = settlements["kind"].astype(str).to_numpy() if "kind" in settlements.columns else np.full(n, "")
    env[rest] = [ENVIRONMENT_BY_KIND.get(k, "village") for k in kinds[rest]]
    src[rest] = BY_KIND
    return env, src


def point_environment(
    points: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame, env: np.ndarray, *, default: str = "village"
) -> np.ndarray:
    """Per demand point: its settlement's value of ``env`` (``settlement_id``), else the nearest settlement's
    (``default`` without settlements).  ``env`` is one value per settlement: its class, or where it comes from."""
    n = len(points)
    out = np.full(n, default, dtype=object)
    if n == 0 or len(settlements) == 0:
        return out
    by_id: dict[Any, str] = dict(zip(settlements["settlement_id"].astype(str), env, strict=True))
    sid = points["settlement_id"].astype(str).to_numpy() if "settlement_id" in points.columns else np.full(n, "")
    known = np.array([s in by_id for s in sid], dtype=bool)
    out[known] = [by_id[s] for s in sid[known]]
    if (~known).any():
        tree = shapely.STRtree(np.asarray(settlements.geometry))
        nearest = tree.nearest(np.asarray(points.geometry)[~known])
        out[~known] = np.asarray(env, dtype=object)[nearest]
    return out


@dataclass(frozen=True)
class Shore:
    """The coastline of the ``land`` layer and the land behind the shore band.

    Attributes
    ----------
    coast
        The boundary of the land polygons (lines, metric CRS).
    inland
        The land farther than ``band_m`` from the coast (prepared for many intersection tests; may be empty).
    band_m
        Width (m) of the shore band (``WifiSettings.coastal_band_m``).
    """

    coast: Any
    inland: Any
    band_m: float


def shore_of(land: gpd.GeoDataFrame | None, band_m: float) -> Shore | None:
    """The shore of ``land`` (polygons in a metric CRS) with a band ``band_m`` wide; ``None`` without land
    polygons or with ``band_m <= 0`` (no point is then classed coastal from the coastline)."""
    if land is None or len(land) == 0 or not band_m > 0:
        return None
    geoms = np.asarray(land.geometry)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    union = shapely.union_all(shapely.make_valid(geoms)) if len(geoms) else None
    if union is None or union.is_empty or union.area <= 0:
        return None
    inland = union.buffer(-float(band_m))
    shapely.prepare(inland)
    return Shore(coast=union.boundary, inland=inland, band_m=float(band_m))


def coastal_points(
    points: gpd.GeoDataFrame, env: np.ndarray, src: np.ndarray, shore: Shore | None
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The demand points' classes with the shore rule of the module notes, and a message for the plan.

    Parameters
    ----------
    points
        Demand points (households, institutions) in the metric CRS of ``shore``.
    env, src
        Per point: its class and where it comes from (:func:`point_environment` of the settlements' values).
    shore
        :func:`shore_of` the ``land`` layer; ``None`` keeps every class (and the message says why).

    Returns
    -------
    (env, src, message)
        Copies of ``env`` and ``src`` where the points of a non-line-of-sight class by default within the shore
        band are ``coastal`` from :data:`COASTLINE`; the message (English / Vietnamese) is ``None`` when no point
        could be coastal (no village or town points by default).
    """
    env = np.asarray(env, dtype=object).copy()
    src = np.asarray(src, dtype=object).copy()
    todo = np.flatnonzero((src == BY_KIND) & ~np.isin(env, LOS_ENVIRONMENTS))
    if len(todo) == 0:
        return env, src, None
    if shore is None:
        return (
            env,
            src,
            (
                f"Coastal households not derived: no land layer (or coastal_band_m = 0), so the coastline is unknown; "
                f"the {len(todo):,} household(s) and institution(s) of villages and towns keep the non-line-of-sight "
                "class of their kind. / Không có lớp đất liền nên không xác định được đường bờ biển: "
                f"{len(todo):,} điểm nhu cầu ở thôn, thị trấn giữ loại không nhìn thẳng."
            ),
        )
    near = shapely.distance(shore.coast, np.asarray(points.geometry)[todo]) <= shore.band_m
    env[todo[near]] = "coastal"
    src[todo[near]] = COASTLINE
    n = int(near.sum())
    return (
        env,
        src,
        (
            f"Coastal from the coastline: {n:,} of {len(todo):,} household(s) and institution(s) of villages and towns "
            f"stand within {shore.band_m:,.0f} m of the coast (land layer, coastal_band_m); they are line of sight "
            "where the path from the site leaves over the sea and clears the terrain. / Ven biển theo đường bờ: "
            f"{n:,}/{len(todo):,} điểm nhu cầu ở thôn, thị trấn cách bờ không quá {shore.band_m:,.0f} m, nhìn "
            "thẳng khi đường truyền đi qua mặt biển."
        ),
    )


def leaves_over_sea(a_xy: np.ndarray, b_xy: np.ndarray, shore: Shore) -> np.ndarray:
    """Per path from ``a_xy`` to ``b_xy`` (arrays (n, 2), metric): it crosses no land farther than the shore band
    from the coast, i.e. it runs over the sea, the beach or the front row only (see the module notes)."""
    a = np.asarray(a_xy, dtype=float).reshape(-1, 2)
    b = np.asarray(b_xy, dtype=float).reshape(-1, 2)
    if len(a) == 0 or shore.inland.is_empty:
        return np.ones(len(a), dtype=bool)
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    return ~np.asarray(shapely.intersects(shore.inland, lines), dtype=bool)
