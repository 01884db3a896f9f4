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
of the nearest settlement.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import PlanningError

__all__ = ["ENVIRONMENTS", "ENVIRONMENT_BY_KIND", "LOS_ENVIRONMENTS", "point_environment", "settlement_environment"]

#: The environment classes.
ENVIRONMENTS = ("town", "village", "open", "coastal")
#: Classes where a clear path gives line of sight (checked over the elevation raster).
LOS_ENVIRONMENTS = ("open", "coastal")
#: Default class by settlement ``kind`` (see the module notes); other kinds: ``village``.
ENVIRONMENT_BY_KIND = {"town": "town", "village": "village", "hamlet": "open"}


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
    ``"land_cover"`` or ``"default by kind"``).

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
    src[rest] = "default by kind"
    return env, src


def point_environment(points: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame, env: np.ndarray) -> np.ndarray:
    """Per demand point: its settlement's class (``settlement_id``), else the nearest settlement's."""
    n = len(points)
    out = np.full(n, "village", dtype=object)
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
