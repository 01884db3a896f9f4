"""Unserved demand and candidate sites for the wifi planner (private helpers of :mod:`gisplan.wifi.planner`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gisplan._errors import PlanningError
from gisplan.io.crs import to_metric

#: Quality ranks: a settlement is served when inside a polygon of at least this rank.
QUALITY_RANK = {"poor": 1, "fair": 2, "good": 3}

#: Columns of the ``settlements_unserved`` layer (plus geometry).
UNSERVED_COLUMNS = (
    "settlement_id",
    "name",
    "population",
    "households",
    "commune_code",
    "land_id",
    "on_island",
    "remote_island",
    "dist_town_m",
    "dist_exchange_m",
    "near_border",
    "weight",
    "demand_mbps",
    "people_covered",
    "mbps_delivered",
    "covered_by",
)


def as_geometry(value: Any, crs: CRS, what: str) -> shapely.Geometry | None:
    """One geometry in ``crs`` from a GeoDataFrame/GeoSeries (or ``None``)."""
    if value is None:
        return None
    if isinstance(value, gpd.GeoDataFrame | gpd.GeoSeries):
        if value.crs is None:
            raise PlanningError(f"{what} has no CRS; give it one (e.g. EPSG:4326) / Vùng {what} chưa có hệ tọa độ")
        return shapely.union_all(np.asarray(value.to_crs(crs).geometry))
    raise PlanningError(
        f"{what} must be a GeoDataFrame or GeoSeries with a CRS, got {type(value).__name__} "
        f"/ Vùng {what} phải là lớp dữ liệu có hệ tọa độ"
    )


def served_mask(
    settlements: gpd.GeoDataFrame, coverage: gpd.GeoDataFrame | None, technologies: Sequence[str], min_quality: str
) -> np.ndarray:
    """True for settlements inside a coverage polygon of ``technologies`` with quality >= ``min_quality``."""
    if min_quality not in QUALITY_RANK:
        raise PlanningError(
            f"min_quality must be one of {', '.join(QUALITY_RANK)}, got {min_quality!r} "
            f"/ Chất lượng vùng phủ tối thiểu phải là một trong {', '.join(QUALITY_RANK)}"
        )
    if coverage is None or len(coverage) == 0:
        return np.zeros(len(settlements), dtype=bool)
    rank = coverage["quality"].map(QUALITY_RANK).fillna(0)
    good = coverage[coverage["technology"].isin(list(technologies)) & (rank >= QUALITY_RANK[min_quality])]
    if len(good) == 0:
        return np.zeros(len(settlements), dtype=bool)
    area = shapely.union_all(np.asarray(to_metric(good, settlements.crs).geometry))
    return np.asarray(shapely.intersects(area, np.asarray(settlements.geometry)), dtype=bool)


def _nearest_distance(points: gpd.GeoDataFrame, targets: gpd.GeoDataFrame | None) -> np.ndarray:
    if targets is None or len(targets) == 0:
        return np.full(len(points), np.nan)
    tree = shapely.STRtree(np.asarray(targets.geometry))
    _, dist = tree.query_nearest(np.asarray(points.geometry), return_distance=True, all_matches=False)
    return np.asarray(dist, dtype=float)


def classify(
    settlements: gpd.GeoDataFrame,
    *,
    land: gpd.GeoDataFrame | None,
    fibre_sites: gpd.GeoDataFrame,
    exchanges: gpd.GeoDataFrame,
    border: shapely.Geometry | None,
    border_distance_m: float,
    towns: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Demand classes per settlement: land polygon, island flags, distances to town and exchange, near border.

    ``towns`` are the settlements of kind ``town`` of the whole layer (the served ones too: the unserved demand
    rarely holds a town, which left every distance empty); default: the towns among ``settlements``.
    """
    out = pd.DataFrame(index=settlements.index)
    land_id = pd.Series("", index=settlements.index, dtype="object")
    remote = np.zeros(len(settlements), dtype=bool)
    if land is not None and len(land):
        ids = land["land_id"] if "land_id" in land.columns else pd.Series([f"L{i}" for i in range(len(land))])
        tree = shapely.STRtree(np.asarray(land.geometry))
        pi, li = tree.query(np.asarray(settlements.geometry), predicate="intersects")
        fibre_land = set()
        if len(fibre_sites):
            _, fl = tree.query(np.asarray(fibre_sites.geometry), predicate="intersects")
            fibre_land = set(fl.tolist())
        for p, g in sorted(zip(pi.tolist(), li.tolist(), strict=True), reverse=True):
            land_id.iloc[p] = str(ids.iloc[g])
            remote[p] = g not in fibre_land
    out["land_id"] = land_id
    on_island = (
        settlements["on_island"].fillna(False).astype(bool)
        if "on_island" in settlements.columns
        else pd.Series(False, index=settlements.index)
    )
    out["on_island"] = on_island.to_numpy() | remote
    out["remote_island"] = remote
    if towns is None and "kind" in settlements.columns:
        towns = settlements[settlements["kind"] == "town"]
    out["dist_town_m"] = _nearest_distance(settlements, towns).round(1)
    out["dist_exchange_m"] = _nearest_distance(settlements, exchanges).round(1)
    if border is None:
        out["near_border"] = False
    else:
        out["near_border"] = np.asarray(shapely.distance(border, np.asarray(settlements.geometry))) <= border_distance_m
    return out


def power_flags(sites: gpd.GeoDataFrame) -> np.ndarray:
    """``has_power`` as booleans; a missing value counts as no power."""
    if "has_power" not in sites.columns:
        return np.ones(len(sites), dtype=bool)
    return sites["has_power"].astype("boolean").fillna(False).to_numpy(dtype=bool)
