"""Output layers, footprints and BOQ of the wifi planner (private helpers of :mod:`gisplan.wifi.planner`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon

from gisplan.catalog._catalog import Catalog
from gisplan.catalog.costing import add_contingency, boq_frame, boq_line
from gisplan.plan import empty_boq
from gisplan.wifi.backhaul import backhaul_items
from gisplan.wifi.radio import line_of_sight
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings

SITE_COLUMNS = (
    "site_id",
    "name",
    "kind",
    "technology",
    "profile",
    "azimuth_deg",
    "azimuths_deg",
    "beamwidth_deg",
    "n_sectors",
    "reach_m",
    "capacity_mbps",
    "demand_mbps",
    "households_los",
    "households_nlos",
    "backhaul",
    "cost_vnd",
    "capex_vnd",
    "people_covered",
)
LINK_COLUMNS = (
    "site_id",
    "backhaul",
    "kind",
    "peer_id",
    "length_m",
    "cost_vnd",
    "clearance_m",
    "los_checked",
    "mast_a_m",
    "mast_b_m",
    "hub_sectors",
    "load_mbps",
    "capacity_mbps",
)
FOOTPRINT_COLUMNS = (
    "site_id",
    "profile",
    "reach_m",
    "azimuth_deg",
    "beamwidth_deg",
    "n_sectors",
    "reach_los_m",
    "los_checked",
)


def empty_layer(columns: tuple[str, ...], crs: Any) -> gpd.GeoDataFrame:
    """An empty GeoDataFrame with ``columns`` and a geometry column in ``crs``."""
    return gpd.GeoDataFrame({c: pd.Series(dtype="object") for c in columns}, geometry=[], crs=crs)


def footprint(
    point: Point,
    reach: float,
    *,
    land: shapely.Geometry | None,
    elevation: Any,
    ap_height_m: float,
    client_height_m: float,
    crs: Any,
    settings: WifiSettings | None = None,
    f_mhz: float | None = None,
    clutter_m: float = 0.0,
) -> tuple[shapely.Geometry, int]:
    """Coverage footprint and the number of ray points off the elevation raster.

    A disc of ``reach``; with ``elevation`` (a path or an open dataset) it is cut along ``settings.footprint_rays``
    rays at the first of ``settings.footprint_ray_steps`` steps a client cannot see the AP from (all checks in one
    :func:`gisplan.wifi.radio.line_of_sight` call).
    Ray points whose path leaves the raster are not checked (range only, as without a raster) and counted.
    With ``f_mhz`` a ray point must also clear 0.6 of the first Fresnel zone over ``clutter_m`` (the line-of-sight
    rule of open ground, :mod:`gisplan.wifi.environment`).  The shape is intersected with ``land``.
    """
    cfg = DEFAULT_SETTINGS if settings is None else settings
    n_rays, n_steps = cfg.footprint_rays, cfg.footprint_ray_steps
    unchecked = 0
    if elevation is None or reach <= 0:
        shape: shapely.Geometry = point.buffer(reach, quad_segs=16)
    else:
        angles = np.linspace(0.0, 2.0 * np.pi, n_rays, endpoint=False)
        steps = np.linspace(reach / n_steps, reach, n_steps)
        ends = np.c_[
            (point.x + np.outer(np.cos(angles), steps)).ravel(), (point.y + np.outer(np.sin(angles), steps)).ravel()
        ]
        los = line_of_sight(
            np.broadcast_to([point.x, point.y], ends.shape), ends, h_a_m=ap_height_m, h_b_m=client_height_m,
            elevation=elevation, crs=crs, f_mhz=f_mhz, clutter_m=clutter_m,
        )  # fmt: skip
        seen = (los.clear | ~los.checked).reshape(n_rays, n_steps)
        unchecked = int((~los.checked).sum())
        # the ray reaches the last step before the first blocked one
        n_clear = np.where(seen.all(axis=1), n_steps, np.argmin(seen, axis=1))
        far = np.where(n_clear > 0, steps[np.maximum(n_clear - 1, 0)], 1.0)
        shape = Polygon(np.c_[point.x + far * np.cos(angles), point.y + far * np.sin(angles)])
    if land is not None:
        shape = shape.intersection(land)
    return shape, unchecked


def commune_of(points: gpd.GeoSeries, boundaries: gpd.GeoDataFrame | None) -> tuple[list[str], list[str]]:
    """(district name, commune name) of each point from the boundaries layer ("" where unknown)."""
    n = len(points)
    if boundaries is None or len(boundaries) == 0 or "level" not in boundaries.columns:
        return [""] * n, [""] * n
    communes = boundaries[boundaries["level"] == "commune"]
    names = {str(r.unit_code): str(r.name) for r in boundaries.itertuples()}
    district, commune = [""] * n, [""] * n
    if len(communes) == 0:
        return district, commune
    tree = shapely.STRtree(np.asarray(communes.geometry))
    pi, ci = tree.query(np.asarray(points), predicate="intersects")
    for p, c in sorted(zip(pi.tolist(), ci.tolist(), strict=True), reverse=True):
        row = communes.iloc[c]
        commune[p] = str(row["name"])
        parent = row.get("parent_code")
        district[p] = names.get(str(parent), "") if parent is not None and not pd.isna(parent) else ""
    return district, commune


def commune_hq_kpis(hq: gpd.GeoDataFrame, connected: np.ndarray, boundaries: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """KPIs of the commune People's Committees, counted per commune (a commune may hold two HQ sites, e.g. an old
    and a new one after a merger; it is connected when one of them is).

    With a boundaries layer of ``level == "commune"`` polygons the communes are those polygons; without one every
    HQ site stands for one commune.
    """
    sids = hq["site_id"].astype(str).tolist()
    ok = np.asarray(connected, dtype=bool)
    communes = (
        boundaries[boundaries["level"] == "commune"]
        if boundaries is not None and len(boundaries) and "level" in boundaries.columns
        else None
    )
    if communes is None or len(communes) == 0:
        n_conn, n_total, missing = int(ok.sum()), len(sids), sorted(s for s, c in zip(sids, ok, strict=True) if not c)
    else:
        codes = communes["unit_code"].astype(str).tolist()
        names = communes["name"].astype(str).tolist() if "name" in communes.columns else codes
        holder = np.full(len(hq), -1, dtype=np.int64)
        if len(hq):
            pi, ci = shapely.STRtree(np.asarray(communes.geometry)).query(
                np.asarray(hq.geometry), predicate="intersects"
            )
            for p, c in sorted(zip(pi.tolist(), ci.tolist(), strict=True), reverse=True):
                holder[p] = c  # the first commune polygon holding the site, deterministically
        done = {int(c) for c, k in zip(holder, ok, strict=True) if k and c >= 0}
        n_conn, n_total = len(done), len(communes)
        missing = [f"{names[c]} ({codes[c]})" for c in range(len(communes)) if c not in done]
    return {
        "communes_hq_connected": n_conn,
        "communes_hq_connected_list": ", ".join(sorted(s for s, c in zip(sids, ok, strict=True) if c)),
        "communes_total": n_total,
        "communes_not_connected": ", ".join(missing),
    }


def link_geometry(row: Any, site_point: Point) -> LineString | None:
    """The backhaul link as a line from the fibre point (or radio peer, far landing) to the site.

    Satellite links have no line (``None``); fibre along roads is drawn straight (schematic).
    """
    if row["option"] == "satellite" or pd.isna(row["peer_x"]):
        return None
    peer = (float(row["peer_x"]), float(row["peer_y"]))
    if peer == (site_point.x, site_point.y):
        return None
    return LineString([peer, (site_point.x, site_point.y)])


def build_boq(
    sites: pd.DataFrame,
    bh_rows: pd.DataFrame,
    *,
    catalog: Catalog,
    districts: list[str],
    communes: list[str],
    phase: str,
) -> pd.DataFrame:
    """BOQ (capital items only) of the chosen sites: an AP per chosen profile (``ap_item``: a code or a tuple of
    codes), then the mast, solar kit and backhaul items once per site, then contingency; yearly fees are not in it
    (see the plan's ``opex_lines``)."""
    if len(sites) == 0:
        return empty_boq()
    lines = []
    for k, site in enumerate(sites.itertuples(index=False)):
        where = {"phase": phase, "district": districts[k], "commune": communes[k]}
        for item in (site.ap_item,) if isinstance(site.ap_item, str) else site.ap_item:  # one AP per profile
            lines.append(boq_line(catalog, item, 1, **where))
        row = bh_rows.loc[site.site_id]
        # a taller backhaul mast at the site carries the AP too (its price counted the AP mast it replaces)
        if site.needs_mast and not (row.get("mast_a_code", "") and int(row.get("mast_credit_vnd", 0) or 0) > 0):
            lines.append(boq_line(catalog, "MAST.15M", 1, **where))
        if site.needs_solar:
            lines.append(boq_line(catalog, "POWER.SOLAR", 1, **where))
        for code, qty in backhaul_items(row):
            lines.append(boq_line(catalog, code, qty, **where))
    return add_contingency(boq_frame(lines), catalog)
