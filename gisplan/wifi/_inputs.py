"""Inputs of the wifi planner: layers in the metric CRS, AP profiles, candidate sites, the empty plan.

Private helpers of :func:`gisplan.wifi.plan_wifi` (steps of :mod:`gisplan.wifi._select`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import CRSError, PlanningError
from gisplan.catalog._catalog import Catalog
from gisplan.io.crs import to_metric
from gisplan.plan import Plan, empty_boq
from gisplan.wifi._output import FOOTPRINT_COLUMNS, LINK_COLUMNS, SITE_COLUMNS, empty_layer
from gisplan.wifi._verdicts import VERDICT_COLUMNS
from gisplan.wifi.backhaul import OPTION_COLUMNS, metric_crs_of
from gisplan.wifi.demand import power_flags
from gisplan.wifi.params import WifiParams
from gisplan.wifi.radio import APProfile, reach_m


def profiles(cat: Catalog, names: tuple[str, ...] | None) -> list[tuple[str, APProfile, str, float]]:
    allowed = list(cat.ap_profiles) if names is None else list(names)
    unknown = [n for n in allowed if n not in cat.ap_profiles]
    if not allowed:
        raise PlanningError(
            f"no AP profile allowed (profiles is empty); choose among {', '.join(cat.ap_profiles)} "
            "/ Chưa cho phép cấu hình điểm phát nào; chọn trong danh mục"
        )
    if unknown:
        raise PlanningError(
            f"unknown AP profile(s) {unknown!r}; the catalog has {', '.join(cat.ap_profiles)} "
            f"/ Cấu hình điểm phát {unknown!r} không có trong danh mục"
        )
    out = []
    for name in sorted(allowed):
        raw = dict(cat.ap_profiles[name])
        item = str(raw.pop("item_code"))
        raw.setdefault("name", name)
        prof = APProfile.from_mapping(raw)
        out.append((name, prof, item, reach_m(prof)))
    return out


def candidates(
    sites: gpd.GeoDataFrame, p: WifiParams, crs: Any, demand: gpd.GeoDataFrame, max_reach: float
) -> gpd.GeoDataFrame:
    cols = ["site_id", "name", "kind", "has_fibre", "height_m", "has_power", "geometry"]
    kinds = set(p.candidate_kinds) | ({"commune_hq"} if p.connect_all_commune_hq else set())
    base = sites[sites["kind"].isin(kinds)].copy()
    base["has_power"] = power_flags(base)
    parts = [base.reindex(columns=cols)]
    if p.extra_candidates is not None and len(p.extra_candidates):
        if p.extra_candidates.crs is None:
            raise CRSError(
                "extra_candidates have no CRS; give the drawn points one (e.g. EPSG:4326) "
                "/ Các vị trí vẽ thêm chưa có hệ tọa độ"
            )
        extra = to_metric(p.extra_candidates, crs)
        if "site_id" not in extra.columns:
            raise PlanningError(
                "extra_candidates need a site_id column / Các vị trí vẽ thêm thiếu cột mã điểm (site_id)"
            )
        extra = extra.assign(
            kind="drawn",
            has_fibre=extra["has_fibre"].fillna(False) if "has_fibre" in extra.columns else False,
            has_power=power_flags(extra),
        )
        parts.append(extra.reindex(columns=cols))
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    if p.generate_candidates and len(demand):
        gen = generated_candidates(demand, cand, max_reach, crs)
        cand = gpd.GeoDataFrame(pd.concat([cand, gen], ignore_index=True), geometry="geometry", crs=crs)
    cand["has_fibre"] = cand["has_fibre"].astype("boolean").fillna(False).astype(bool)
    cand["has_power"] = cand["has_power"].astype(bool)
    cand["name"] = cand["name"].fillna("").astype(str)
    if cand["site_id"].duplicated().any():
        dup = cand.loc[cand["site_id"].duplicated(), "site_id"].iloc[0]
        raise PlanningError(
            f"candidate site id {dup!r} occurs twice (sites and extra_candidates must not share ids) "
            f"/ Mã vị trí {dup!r} bị trùng giữa lớp vị trí và các vị trí vẽ thêm"
        )
    return cand.reset_index(drop=True)


def generated_candidates(demand: gpd.GeoDataFrame, cand: gpd.GeoDataFrame, reach: float, crs: Any) -> gpd.GeoDataFrame:
    """New masts where no candidate reaches the demand: one per grid cell of side ``reach * sqrt(2)`` (every point
    of a cell lies within ``reach`` of its centre) at the demand point nearest the cell's centre, then one at each
    point still out of reach.  Ids ``GEN-<settlement>-<n>`` (or ``GEN-<demand id>``), ordered, so repeatable."""
    xy = shapely.get_coordinates(np.asarray(demand.geometry))
    far = _out_of_reach(xy, cand, reach)
    if not far.any():
        return gpd.GeoDataFrame(columns=["site_id", "name", "kind", "has_fibre", "height_m", "has_power"],
                                geometry=[], crs=crs)  # fmt: skip
    side = max(reach * np.sqrt(2.0), 1.0)
    idx = np.flatnonzero(far)
    cells = np.floor(xy[idx] / side).astype(np.int64)
    picks: list[int] = []
    for cell in np.unique(cells, axis=0):
        members = idx[(cells == cell).all(axis=1)]
        centre = (cell + 0.5) * side
        picks.append(int(members[np.argmin(np.hypot(*(xy[members] - centre).T))]))
    placed = xy[picks]
    left = idx[_out_of_reach(xy[idx], None, reach, extra=placed)]
    picks += [int(i) for i in left]
    picks = sorted(set(picks))
    sid = demand["settlement_id"].astype(str).to_numpy() if "settlement_id" in demand.columns else None
    did = demand["demand_id"].astype(str).to_numpy() if "demand_id" in demand.columns else None
    names: list[str] = []
    ids: list[str] = []
    count: dict[str, int] = {}
    for i in picks:
        key = sid[i] if sid is not None and sid[i] else (did[i] if did is not None else str(i))
        count[key] = count.get(key, 0) + 1
        ids.append(f"GEN-{key}-{count[key]}")
        names.append(f"{key} #{count[key]}")
    return gpd.GeoDataFrame(
        {"site_id": ids, "name": names, "kind": "generated", "has_fibre": False, "height_m": np.nan,
         "has_power": False},
        geometry=list(shapely.points(xy[picks])), crs=crs,
    )  # fmt: skip


def _out_of_reach(
    xy: np.ndarray, cand: gpd.GeoDataFrame | None, reach: float, *, extra: np.ndarray | None = None
) -> np.ndarray:
    """True for points farther than ``reach`` from every candidate (and every ``extra`` point)."""
    sources = [] if cand is None or len(cand) == 0 else [shapely.get_coordinates(np.asarray(cand.geometry))]
    if extra is not None and len(extra):
        sources.append(extra)
    if not sources:
        return np.ones(len(xy), dtype=bool)
    tree = shapely.STRtree(shapely.points(np.vstack(sources)))
    _, d = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    return np.asarray(d) > reach


def empty_plan(
    crs: Any,
    unserved: gpd.GeoDataFrame,
    params: WifiParams,
    why_en: str,
    why_vi: str,
    *,
    drawn_sites: gpd.GeoDataFrame | None = None,
) -> Plan:
    layers = {
        "sites": empty_layer(SITE_COLUMNS, crs),
        "footprints": empty_layer(FOOTPRINT_COLUMNS, crs),
        "backhaul_links": empty_layer(LINK_COLUMNS, crs),
        "settlements_unserved": unserved,
        "backhaul_options": empty_layer(OPTION_COLUMNS, crs),
        "drawn_sites": empty_layer(VERDICT_COLUMNS, crs) if drawn_sites is None else drawn_sites,
    }
    kpis = {
        "people_unserved": int(unserved["population"].sum()) if len(unserved) else 0,
        "people_newly_covered": 0,
        "share_unserved_reached": 0.0,
        "n_sites": 0,
        "cost_vnd": 0,
        "capex_vnd": 0,
        "opex_vnd": 0,
        "cost_per_person_vnd": 0,
        "selection_status": "empty",
        "selection_gap": 0.0,
    }
    return Plan(kind="wifi", layers=layers, boq=empty_boq(), kpis=kpis, params=params.to_dict(),
                messages=[why_en, why_vi])  # fmt: skip


def prepare(
    layers: Mapping[str, gpd.GeoDataFrame], params: WifiParams
) -> tuple[Any, dict[str, gpd.GeoDataFrame | None]]:
    for name in ("settlements", "sites"):
        if name not in layers:
            vi = {"settlements": "khu dân cư", "sites": "vị trí"}[name]
            raise PlanningError(
                f"the wifi planner needs a {name!r} layer; add it to the scenario / Phương án wifi cần lớp {vi}"
            )
    crs = metric_crs_of(layers["settlements"])
    out: dict[str, gpd.GeoDataFrame | None] = {}
    for name in ("settlements", "sites", "coverage", "land", "boundaries", "roads", "buildings", "land_cover"):
        frame = layers.get(name)
        out[name] = None if frame is None else to_metric(frame, crs)
    return crs, out
