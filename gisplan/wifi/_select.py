"""The body of :func:`gisplan.wifi.plan_wifi`: demand, candidates, backhaul, coverage matrix, selection, outputs."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from gisplan._errors import PlanningError
from gisplan.catalog._catalog import Catalog
from gisplan.i18n import texts
from gisplan.plan import Plan
from gisplan.routing.graph import graph_from_roads
from gisplan.wifi._inputs import candidates as _candidates
from gisplan.wifi._inputs import empty_plan as _empty_plan
from gisplan.wifi._inputs import prepare as _prepare
from gisplan.wifi._inputs import profiles as _profiles
from gisplan.wifi._output import (
    LINK_COLUMNS,
    SITE_COLUMNS,
    build_boq,
    commune_hq_kpis,
    commune_of,
    footprint,
    link_geometry,
)
from gisplan.wifi._verdicts import drawn_site_verdicts, verdict_row
from gisplan.wifi.backhaul import (
    RENT_ITEMS,
    backhaul_fees,
    backhaul_items,
    backhaul_options,
    cheapest_heights,
    chosen_backhaul,
    end_options,
    fees_present_value,
    included_mbps,
    mast_options,
    peer_rent_code,
    transmission_inputs,
)
from gisplan.wifi.demand import UNSERVED_COLUMNS, as_geometry, classify, served_mask
from gisplan.wifi.environment import (
    BY_KIND,
    COASTLINE,
    LOS_ENVIRONMENTS,
    coastal_points,
    leaves_over_sea,
    point_environment,
    settlement_environment,
    shore_of,
)
from gisplan.wifi.households import INSTITUTION_KINDS, households_in_settlements, institutions_demand
from gisplan.wifi.money import horizon_years, present_value
from gisplan.wifi.network import hub_sectors, relay_forest
from gisplan.wifi.params import Progress, WifiParams
from gisplan.wifi.radio import (
    RadioValidityWarning,
    downlink_rate_mbps,
    hop_clearances,
    line_of_sight,
    open_elevation,
    reach_m,
)
from gisplan.wifi.sectors import (
    azimuths,
    bearing_deg,
    best_rotation,
    centre_azimuth,
    nearest_sector,
    sector_footprint,
)
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings
from gisplan.wifi.siting import cover_all, maximize_coverage


def _tick(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def _road_graph(roads: gpd.GeoDataFrame | None, cat: Catalog, messages: list[str]) -> Any:
    if roads is None or len(roads) == 0:
        messages.append("Fibre backhaul not evaluated: no roads layer. / Chưa xét cáp quang: không có lớp đường.")
        return None
    return graph_from_roads(roads, catalog=cat)


@dataclass(frozen=True)
class _Coverage:
    """The coverage stage's result: who each (candidate, profile) column serves and how."""

    matrix: sp.csc_matrix  # demand x column: in reach, in a lobe, path allowed
    los: sp.csc_matrix  # demand x column: among those, on a line-of-sight path (0.6 F1 clear)
    azimuths: list[tuple[float, ...]]  # per column: the sectors' azimuths (empty for an omni profile)
    unchecked: int  # site-demand links whose path leaves the elevation raster


def _reaches(prof: Any) -> dict[tuple[bool, bool, bool], float]:
    """Reach (m) of ``prof`` by (line of sight, indoor, back lobe).  A back lobe's short reach lies below the NLoS
    model's fitted range (30 m): extrapolated without a warning (the main lobe's reach is reported)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RadioValidityWarning)
        for los in (False, True):
            for indoor in (False, True):
                for back in (False, True):
                    fb = prof.front_to_back_db if back and prof.sectored else 0.0
                    extra = prof.building_entry_loss_db * indoor + fb
                    out[los, indoor, back] = reach_m(prof, model=prof.los_model if los else None, extra_loss_db=extra)
    return out


def _coverage_matrix(
    demand: gpd.GeoDataFrame, cand: gpd.GeoDataFrame, profiles: list[Any], elevation: Any, crs: Any,
    shore: Any = None,
) -> _Coverage:  # fmt: skip
    """Demand x (candidate, profile) coverage (column ``j * len(profiles) + q``), which of it is line of sight,
    each column's sector azimuths, and the number of site-demand links whose path leaves the elevation raster.

    A demand point is in reach within the link budget's reach for its path: non-line-of-sight (the profile's
    ``model``) by default; line of sight (``los_model``) for a point in an open or coastal ``environment``
    (:mod:`gisplan.wifi.environment`) whose path from the AP clears 0.6 of the first Fresnel zone over the terrain
    plus ``los_clutter_m`` (checked over ``elevation``; without a raster nothing is line of sight); a point classed
    coastal by the coastline (``environment_source``) only on a path that leaves over the sea (``shore``).  Indoor
    points (households) lose the building entry loss; outside a sector's beamwidth the front-to-back ratio
    (:mod:`gisplan.wifi.sectors`).  With a raster a non-line-of-sight path must still clear the bare terrain (a
    hill blocks what clutter only attenuates).  Unchecked links (off the raster) count as in range, as without a
    raster.  Sector azimuths are chosen per column from the points its paths allow (see
    :mod:`gisplan.wifi.sectors`).
    """
    n_p = len(profiles)
    rows, cols, los_rows, los_cols = [], [], [], []
    azs: list[tuple[float, ...]] = [() for _ in range(len(cand) * n_p)]
    unchecked: set[tuple[int, int]] = set()
    tree = shapely.STRtree(np.asarray(demand.geometry))
    cxy = shapely.get_coordinates(np.asarray(cand.geometry))
    dxy = shapely.get_coordinates(np.asarray(demand.geometry))
    indoor = demand["indoor"].to_numpy(dtype=bool) if "indoor" in demand.columns else np.zeros(len(demand), dtype=bool)
    env = demand["environment"].to_numpy() if "environment" in demand.columns else np.full(len(demand), "village")
    open_env = np.isin(env, LOS_ENVIRONMENTS) & (elevation is not None)
    by_coast = (demand["environment_source"].to_numpy() == COASTLINE) if "environment_source" in demand.columns \
        else np.zeros(len(demand), dtype=bool)  # fmt: skip
    need = demand["demand_mbps"].to_numpy(dtype=float) if "demand_mbps" in demand.columns else np.zeros(len(demand))
    weight = demand["weight"].to_numpy(dtype=float) if "weight" in demand.columns else np.ones(len(demand))
    with open_elevation(elevation) if elevation is not None else nullcontext(None) as dem:
        for q, (_, prof, _, _) in enumerate(profiles):
            r = _reaches(prof)
            widest = r[True, False, False] if open_env.any() else r[False, False, False]
            ci, di = tree.query(np.asarray(cand.geometry), predicate="dwithin", distance=widest)
            d = np.hypot(*(cxy[ci] - dxy[di]).T)
            ind = indoor[di]
            los_main = np.where(ind, r[True, True, False], r[True, False, False])
            nlos_main = np.where(ind, r[False, True, False], r[False, False, False])
            near = d <= 1.0  # a client at the mast sees it
            los = np.zeros(len(ci), dtype=bool)
            allowed = np.ones(len(ci), dtype=bool)
            if dem is not None and len(ci):
                try_los = np.flatnonzero(open_env[di] & (d <= los_main) & ~near)
                sea = by_coast[di[try_los]]
                if shore is not None and sea.any():  # the shore's houses: line of sight over the sea only
                    over = leaves_over_sea(cxy[ci[try_los[sea]]], dxy[di[try_los[sea]]], shore)
                    try_los = np.r_[try_los[~sea], try_los[sea][over]]
                if len(try_los):
                    res = line_of_sight(
                        cxy[ci[try_los]], dxy[di[try_los]], h_a_m=prof.height_m, h_b_m=prof.client_height_m,
                        elevation=dem, crs=crs, f_mhz=prof.freq_mhz, fresnel_share=0.6, clutter_m=prof.los_clutter_m,
                    )  # fmt: skip
                    los[try_los] = res.clear
                    off = try_los[~res.checked]
                    unchecked.update(zip(ci[off].tolist(), di[off].tolist(), strict=True))
                los |= open_env[di] & near
                bare = np.flatnonzero(~los & (d <= nlos_main) & ~near)
                if len(bare):
                    res = line_of_sight(
                        cxy[ci[bare]], dxy[di[bare]], h_a_m=prof.height_m, h_b_m=prof.client_height_m, elevation=dem,
                        crs=crs,
                    )  # fmt: skip
                    allowed[bare] = res.clear | ~res.checked
                    off = bare[~res.checked]
                    unchecked.update(zip(ci[off].tolist(), di[off].tolist(), strict=True))
            reach_main = np.where(los, los_main, nlos_main)
            reach_back = np.where(
                los,
                np.where(ind, r[True, True, True], r[True, False, True]),
                np.where(ind, r[False, True, True], r[False, False, True]),
            )
            keep = allowed & (d <= reach_main)
            ci, di, d, los = ci[keep], di[keep], d[keep], los[keep]
            reach_main, reach_back = reach_main[keep], reach_back[keep]
            member = np.ones(len(ci), dtype=bool)
            if prof.sectored and len(ci):
                bearing = bearing_deg(cxy[ci], dxy[di])
                with np.errstate(divide="ignore"):
                    rate_main = downlink_rate_mbps(prof, d, indoor=indoor[di], los=los)
                    rate_back = downlink_rate_mbps(
                        prof, d, indoor=indoor[di], los=los, extra_loss_db=prof.front_to_back_db
                    )
                    share_main = np.where(rate_main > 0, need[di] / np.where(rate_main > 0, rate_main, 1.0), np.inf)
                    share_back = np.where(rate_back > 0, need[di] / np.where(rate_back > 0, rate_back, 1.0), np.inf)
                order = np.argsort(ci, kind="stable")
                bounds = np.flatnonzero(np.r_[True, np.diff(ci[order]) != 0, True])
                for a, b in itertools.pairwise(bounds):
                    idx = order[a:b]
                    j = int(ci[idx[0]])
                    if prof.n_sectors == 1:
                        rot = centre_azimuth(cxy[j], dxy[di[idx]], weight[di[idx]])
                    else:
                        rot = best_rotation(
                            prof.n_sectors, prof.beamwidth_deg, bearings=bearing[idx], dist_m=d[idx],
                            weight=weight[di[idx]], reach_main_m=reach_main[idx], reach_back_m=reach_back[idx],
                            share_main=share_main[idx], share_back=share_back[idx],
                        )  # fmt: skip
                    az = azimuths(prof.n_sectors, rot)
                    azs[j * n_p + q] = az
                    _, main = nearest_sector(bearing[idx], az, prof.beamwidth_deg)
                    member[idx] = main | (d[idx] <= reach_back[idx])
            rows.append(di[member])
            cols.append(ci[member] * n_p + q)
            los_rows.append(di[member & los])
            los_cols.append(ci[member & los] * n_p + q)
    shape = (len(demand), len(cand) * n_p)

    def matrix(rr: list[np.ndarray], cc: list[np.ndarray]) -> sp.csc_matrix:
        r = np.concatenate(rr) if rr else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cc) if cc else np.zeros(0, dtype=np.int64)
        return sp.csc_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=shape, dtype=bool)

    return _Coverage(matrix(rows, cols), matrix(los_rows, los_cols), azs, len(unchecked))


@dataclass
class _Context:
    """What the steps of :func:`run` hand to each other (filled in as the plan is built)."""

    cat: Catalog
    p: WifiParams
    cfg: WifiSettings
    crs: Any
    L: dict[str, Any]
    years: float
    messages: list[str] = field(default_factory=list)
    unserved: Any = None
    points: Any = None
    hq_all: Any = None
    hq_ok: Any = None
    hq_needed: list[Any] = field(default_factory=list)
    cand: Any = None
    profiles: list[Any] = field(default_factory=list)
    options: Any = None
    best: Any = None
    cov: sp.csc_matrix | None = None
    los_cov: sp.csc_matrix | None = None
    environment: dict[str, tuple[str, str]] = field(default_factory=dict)  # settlement id: (class, where from)
    shore: Any = None  # the land layer's coast and shore band (gisplan.wifi.environment.shore_of)
    col_az: list[tuple[float, ...]] = field(default_factory=list)
    col_site: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_prof: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_cost: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_total: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    selected: list[int] = field(default_factory=list)
    capacity_aps: int = 0
    relay_clearance: list[float] = field(default_factory=list)
    transmission: Any = None  # existing microwave and planned fibre of the sites (backhaul.transmission_inputs)
    status: str = "optimal"
    gap: float = 0.0
    bound: float | None = None
    exclude: frozenset[str] = frozenset()
    no_power_drawn: Any = None  # drawn candidates dropped for want of mains power (require_power)


def indoor_reach_m(profile: Any) -> float:
    """Reach (m) of ``profile`` to a client indoors: its link budget less the building entry loss."""
    return reach_m(profile, extra_loss_db=profile.building_entry_loss_db)


def run(
    layers: Mapping[str, gpd.GeoDataFrame],
    p: WifiParams,
    *,
    catalog: Catalog,
    progress: Progress | None,
    settings: WifiSettings | None = None,
    exclude_settlements: frozenset[str] = frozenset(),
) -> Plan:
    """Plan wifi sites: the steps of :mod:`gisplan.wifi.planner`'s module notes, one function each.

    ``exclude_settlements``: settlement ids whose households another technology serves (they stay in
    ``settlements_unserved`` but carry no wifi demand)."""
    cat = catalog
    crs, L = _prepare(layers, p)
    years = float(
        cat.param("satellite_horizon_years") if p.satellite_horizon_years is None else p.satellite_horizon_years
    )
    ctx = _Context(cat=cat, p=p, cfg=DEFAULT_SETTINGS if settings is None else settings, crs=crs, L=L, years=years,
                   exclude=frozenset(exclude_settlements))  # fmt: skip
    _tick(progress, 0.05, "demand")
    demand, focus = _unserved_demand(ctx)
    _commune_hqs_to_connect(ctx)
    if len(demand) == 0 and not ctx.hq_needed:
        return _nothing_to_build(ctx, focus)
    _demand_points(ctx, demand, focus)
    _tick(progress, 0.15, "candidates")
    _load_profiles(ctx)
    _usable_candidates(ctx, ctx.points)
    _tick(progress, 0.3, "backhaul")
    graph = _road_graph(L["roads"], cat, ctx.messages)
    ctx.transmission = transmission_inputs(L["sites"])
    ctx.options = backhaul_options(
        ctx.cand, fibre_sites=_fibre_sites(L["sites"]), land=L["land"], graph=graph, catalog=cat,
        elevation=p.elevation, horizon_years=years, settings=ctx.cfg, start_year=_start_year(p),
        transmission=ctx.transmission,
    )  # fmt: skip
    ctx.best = chosen_backhaul(ctx.options)
    _tick(progress, 0.5, "coverage")
    _column_costs(ctx)
    _coverage(ctx, ctx.points)
    _tick(progress, 0.6, "selection")
    _column_totals(ctx)
    _select(ctx)
    _tick(progress, 0.7, "capacity")
    _add_aps_for_capacity(ctx)
    _tick(progress, 0.8, "outputs")
    return _outputs(ctx)


#: Site kinds that are transport nodes: with fibre, they are fibre hubs other sites may connect to.
TRANSPORT_KINDS = ("exchange", "pop", "tower")


def _start_year(p: WifiParams) -> int:
    """First year of service: the plan's phase when it is a year, else 2027 (the scenario's default year)."""
    return int(p.phase) if str(p.phase).isdigit() else 2027


def _fibre_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The fibre hubs: transport nodes (:data:`TRANSPORT_KINDS`) with fibre, or sites whose optional ``fibre_hub``
    column says so.  A school or health station with fibre has its own connection but is no hub for others."""
    if "has_fibre" not in sites.columns:
        return sites.iloc[:0]
    fibre = sites["has_fibre"].astype("boolean").fillna(False).astype(bool)
    hub = sites["kind"].isin(TRANSPORT_KINDS)
    if "fibre_hub" in sites.columns:
        hub = sites["fibre_hub"].astype("boolean").fillna(hub).astype(bool)
    return sites[fibre & hub]


def _unserved_demand(ctx: _Context) -> tuple[gpd.GeoDataFrame, Any]:
    """The settlements outside good coverage, inside the focus, with a weight: the demand (index reset) and the
    ``settlements_unserved`` layer (``ctx.unserved``) with their classes; returns (demand, focus)."""
    p, L, crs = ctx.p, ctx.L, ctx.crs
    settlements, sites = L["settlements"], L["sites"]
    served = served_mask(settlements, L["coverage"], p.coverage_technologies, p.min_quality)
    focus = as_geometry(p.focus, crs, "focus")
    in_focus = (
        np.ones(len(settlements), dtype=bool)
        if focus is None
        else np.asarray(shapely.intersects(focus, np.asarray(settlements.geometry)))
    )
    weight = _weights(settlements, p.weight)
    _check_weights(ctx, settlements, ~served & in_focus, weight)
    demand = settlements[~served & in_focus & (weight > 0)].copy()
    classes = classify(
        demand,
        land=L["land"],
        fibre_sites=_fibre_sites(sites),
        exchanges=sites[sites["kind"] == "exchange"],
        border=as_geometry(p.border, crs, "border"),
        border_distance_m=p.border_distance_km * 1000.0,
        towns=settlements[settlements["kind"] == "town"] if "kind" in settlements.columns else None,
    )
    unserved = demand.reindex(columns=["settlement_id", "name", "population", "households", "commune_code"]).copy()
    unserved = pd.concat([unserved, classes], axis=1)
    unserved["weight"] = pd.to_numeric(demand[p.weight], errors="coerce").fillna(0).to_numpy(dtype=float)
    unserved["covered_by"] = ""
    unserved["demand_mbps"] = 0.0
    unserved["people_covered"] = 0
    unserved["mbps_delivered"] = 0.0
    unserved = gpd.GeoDataFrame(unserved.loc[:, list(UNSERVED_COLUMNS)], geometry=list(demand.geometry), crs=crs)
    ctx.unserved = unserved.reset_index(drop=True)
    return demand.reset_index(drop=True), focus


def _load_profiles(ctx: _Context) -> None:
    """The allowed AP profiles with their reach; a reach outside its model's validity range becomes a message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RadioValidityWarning)
        ctx.profiles = _profiles(ctx.cat, ctx.p.profiles)
        for _, prof, _, _ in ctx.profiles:
            indoor_reach_m(prof)
    for text in dict.fromkeys(str(w.message) for w in caught):
        ctx.messages.append(f"Radio: {text}. / Mô hình truyền sóng được dùng ngoài phạm vi hợp lệ: {text}.")


def _demand_points(ctx: _Context, demand: gpd.GeoDataFrame, focus: Any) -> None:
    """Households spread inside the unserved settlements and the unserved institutions (``ctx.points``), each
    with its Mbps (catalog) and its weight (people, or 1 per household with ``weight="households"``)."""
    bh, L, p = ctx.cat.backhaul, ctx.L, ctx.p
    homes = households_in_settlements(
        demand, plot_m2=float(bh["household_plot_m2"]), demand_mbps=float(bh["demand_household_mbps"]),
        land=L["land"], buildings=L.get("buildings"), spread=p.spread_households,
    )  # fmt: skip
    if ctx.exclude and len(homes):  # villages another technology serves
        homes = homes[~homes["settlement_id"].astype(str).isin(ctx.exclude)]
    sites = L["sites"]
    if "has_fibre" in sites.columns:  # an institution with fibre has its connection
        sites = sites[~sites["has_fibre"].astype("boolean").fillna(False).astype(bool)]
    if not p.connect_all_commune_hq:  # the People's Committees are then left to the planner
        sites = sites[sites["kind"] != "commune_hq"]
    inst = institutions_demand(sites, {k: float(bh[key]) for k, key in INSTITUTION_KINDS.items()})
    if len(inst):
        out = ~served_mask(inst, L["coverage"], p.coverage_technologies, p.min_quality)
        if focus is not None:
            out &= np.asarray(shapely.intersects(focus, np.asarray(inst.geometry)), dtype=bool)
        inst = inst[out]
    points = gpd.GeoDataFrame(pd.concat([homes, inst], ignore_index=True), geometry="geometry", crs=ctx.crs)
    points["weight"] = points["people"] if p.weight == "population" else (points["kind"] == "household") * 1.0
    env, src = settlement_environment(L["settlements"], L.get("land_cover"))
    ctx.environment = dict(zip(L["settlements"]["settlement_id"].astype(str), zip(env, src, strict=True), strict=True))
    ctx.shore = shore_of(L["land"], ctx.cfg.coastal_band_m)
    env_pt, src_pt, note = coastal_points(
        points, point_environment(points, L["settlements"], env),
        point_environment(points, L["settlements"], src, default=BY_KIND), ctx.shore,
    )  # fmt: skip
    points["environment"], points["environment_source"] = env_pt, src_pt
    ctx.points = points.reset_index(drop=True)
    in_demand = L["settlements"]["settlement_id"].astype(str).isin(set(demand["settlement_id"].astype(str)))
    counts = pd.Series(
        [f"{e} ({s})" for e, s in zip(env[in_demand.to_numpy()], src[in_demand.to_numpy()], strict=True)]
    ).value_counts()
    if len(counts):
        listed = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        ctx.messages.append(
            f"Radio environment of the unserved settlements (class and where it comes from): {listed}. "
            f"/ Môi trường truyền sóng của các điểm dân cư (loại và nguồn): {listed}."
        )
    if note:
        ctx.messages.append(note)
    if len(homes) and (homes["source"] == "generated").any():
        n = int((homes["source"] == "generated").sum())
        ctx.messages.append(
            f"{n:,} household location(s) generated inside the settlements (no buildings layer; seeded, labelled "
            f"'generated'). / {n:,} vị trí hộ gia đình được tạo trong khu dân cư (không có lớp nhà)."
        )


def _weights(settlements: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """The weight column as floats (empty or non-numeric: 0); an error naming it when it is missing."""
    if column not in settlements.columns:
        word_vi = {"population": "dân số", "households": "số hộ"}[column]
        raise PlanningError(
            f"the settlements layer has no {column!r} column for weight={column!r}; add it or choose the other "
            f"weight / Lớp điểm dân cư thiếu cột {word_vi}"
        )
    return pd.to_numeric(settlements[column], errors="coerce").fillna(0).to_numpy(dtype=float)


def _check_weights(ctx: _Context, settlements: gpd.GeoDataFrame, wanted: np.ndarray, weight: np.ndarray) -> None:
    """Unserved settlements without a weight: named in a message, or an error when no unserved one has one."""
    p = ctx.p
    word_vi = {"population": "dân số", "households": "số hộ"}[p.weight]
    no_weight = wanted & ~(weight > 0)
    if not no_weight.any():
        return
    ids = settlements.loc[no_weight, "settlement_id"].astype(str).tolist()
    listed = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    if not (wanted & (weight > 0)).any():
        raise PlanningError(
            f"{len(ids)} settlement(s) lie outside good coverage but none has a {p.weight} above 0 ({listed}); "
            f"fill the {p.weight!r} column or use the other weight / Các điểm dân cư chưa được phủ sóng đều "
            f"thiếu số liệu {word_vi}"
        )
    ctx.messages.append(
        f"{len(ids)} settlement(s) outside good coverage have no {p.weight} (empty or 0) and are left out of the "
        f"plan: {listed}. / {len(ids)} điểm dân cư chưa được phủ sóng không có số liệu {word_vi}, không được tính."
    )


def _commune_hqs_to_connect(ctx: _Context) -> None:
    """Commune People's Committee sites without fibre and outside good coverage (``ctx.hq_needed``)."""
    p, L = ctx.p, ctx.L
    hq_all = L["sites"][L["sites"]["kind"] == "commune_hq"]
    has_fibre = (
        hq_all["has_fibre"].astype("boolean").fillna(False).astype(bool).to_numpy()
        if "has_fibre" in hq_all.columns
        else np.zeros(len(hq_all), dtype=bool)
    )
    ctx.hq_all = hq_all
    ctx.hq_ok = has_fibre | served_mask(hq_all, L["coverage"], p.coverage_technologies, p.min_quality)
    ctx.hq_needed = list(hq_all.loc[~ctx.hq_ok, "site_id"]) if p.connect_all_commune_hq else []


def _nothing_to_build(ctx: _Context, focus: Any) -> Plan:
    p = ctx.p
    where = " inside the focus area" if focus is not None else ""
    drawn = _drawn_points(ctx)
    verdicts = drawn_site_verdicts(
        [verdict_row(r.site_id, r.name, "nothing_to_plan") for r in drawn.itertuples()], drawn.geometry, ctx.crs
    )
    return _empty_plan(
        ctx.crs,
        ctx.unserved,
        p,
        f"No unserved settlement{where}: every settlement lies inside {'/'.join(p.coverage_technologies)} "
        f"coverage of quality '{p.min_quality}' or better, and every commune People's Committee is connected; "
        "nothing to build.",
        f"Không có điểm dân cư nào chưa được phục vụ{' trong vùng chọn' if focus is not None else ''}: mọi điểm "
        f"đều có vùng phủ {'/'.join(p.coverage_technologies)} chất lượng '{p.min_quality}' trở lên và mọi UBND xã "
        "đã được kết nối; không cần xây dựng.",
        drawn_sites=verdicts,
    )


def _drawn_points(ctx: _Context) -> gpd.GeoDataFrame:
    """The planner's drawn candidates (``extra_candidates``) in the metric CRS, with ``site_id`` and ``name``."""
    extra = ctx.p.extra_candidates
    if extra is None or len(extra) == 0 or extra.crs is None or "site_id" not in extra.columns:
        return gpd.GeoDataFrame({"site_id": [], "name": []}, geometry=[], crs=ctx.crs)
    out = extra.to_crs(ctx.crs)
    names = out["name"].fillna("").astype(str) if "name" in out.columns else pd.Series([""] * len(out), index=out.index)
    return gpd.GeoDataFrame({"site_id": list(out["site_id"]), "name": list(names)}, geometry=list(out.geometry),
                            crs=ctx.crs)  # fmt: skip


def _usable_candidates(ctx: _Context, demand: gpd.GeoDataFrame) -> None:
    """Candidate sites (``ctx.cand``), those without mains power dropped (``require_power``) or given solar."""
    p, messages = ctx.p, ctx.messages
    # generated masts are placed for the hardest case: the longest reach to a client indoors
    max_reach = max(indoor_reach_m(prof) for _, prof, _, _ in ctx.profiles)
    cand = _candidates(ctx.L["sites"], p, ctx.crs, demand, max_reach)
    no_power = cand.loc[~cand["has_power"], "site_id"].astype(str).tolist()
    if no_power and p.require_power:
        messages.append(
            f"{len(no_power)} candidate site(s) without mains power excluded (require_power): {', '.join(no_power)}. "
            f"/ Loại {len(no_power)} vị trí không có điện lưới: {', '.join(no_power)}."
        )
        ctx.no_power_drawn = cand[~cand["has_power"] & (cand["kind"] == "drawn")]
        dropped_hq = [s for s in ctx.hq_needed if s in set(no_power)]
        ctx.hq_needed = [s for s in ctx.hq_needed if s not in set(no_power)]
        if dropped_hq:
            messages.append(
                f"Commune HQ site(s) without power not connected (require_power): {', '.join(map(str, dropped_hq))}. "
                f"/ UBND xã không có điện lưới, chưa được kết nối: {', '.join(map(str, dropped_hq))}."
            )
        cand = cand[cand["has_power"]].reset_index(drop=True)
    elif no_power:
        messages.append(
            f"{len(no_power)} candidate site(s) have no mains power; a solar power kit (POWER.SOLAR) is added to "
            f"each: {', '.join(no_power)}. / {len(no_power)} vị trí không có điện lưới, thêm bộ nguồn mặt trời."
        )
    if len(cand) == 0:
        raise PlanningError(
            "no candidate site left for the wifi plan; allow more site kinds (candidate_kinds), "
            "add extra_candidates or set generate_candidates=True / Không còn vị trí ứng viên nào: thêm loại vị trí, "
            "vẽ thêm vị trí hoặc cho phép tạo cột mới"
        )
    ctx.cand = cand


def _column_costs(ctx: _Context) -> None:
    """One column per (candidate, profile): its site, profile and cost (AP, mast if too low, solar, backhaul)."""
    cat, cand, profiles = ctx.cat, ctx.cand, ctx.profiles
    n_p = len(profiles)
    heights = pd.to_numeric(cand["height_m"], errors="coerce").to_numpy(dtype=float)
    col_site = np.repeat(np.arange(len(cand)), n_p)
    col_prof = np.tile(np.arange(n_p), len(cand))
    ap_price = np.array([cat.price(item) * pr.n_sectors for _, pr, item, _ in profiles], dtype=np.int64)
    prof_h = np.array([pr.height_m for _, pr, _, _ in profiles])
    needs_mast = ~(heights[col_site] >= prof_h[col_prof])  # NaN height -> mast
    needs_solar = ~cand["has_power"].to_numpy(dtype=bool)[col_site]
    bh_cost = ctx.best.loc[cand["site_id"], "cost_vnd"].to_numpy(dtype=np.int64)[col_site]
    ctx.col_site, ctx.col_prof = col_site, col_prof
    ctx.col_cost = (
        ap_price[col_prof] + needs_mast * cat.price("MAST.15M") + needs_solar * cat.price("POWER.SOLAR") + bh_cost
    ).astype(np.int64)


def _coverage(ctx: _Context, demand: gpd.GeoDataFrame) -> None:
    """The coverage matrix (``ctx.cov``, None without demand) and messages on what line of sight checked."""
    p = ctx.p
    cov, unchecked = (None, 0)
    ctx.col_az = [() for _ in range(len(ctx.cand) * len(ctx.profiles))]
    if len(demand):
        got = _coverage_matrix(demand, ctx.cand, ctx.profiles, p.elevation, ctx.crs, ctx.shore)
        cov, unchecked, ctx.los_cov, ctx.col_az = got.matrix, got.unchecked, got.los, got.azimuths
    ctx.cov = cov
    if p.elevation is None and len(demand) and np.isin(demand["environment"], LOS_ENVIRONMENTS).any():
        n_open = int(np.isin(demand["environment"], LOS_ENVIRONMENTS).sum())
        ctx.messages.append(
            f"Radio: {n_open:,} demand point(s) lie in open or coastal settlements, but without an elevation raster "
            "their line of sight is not checked: the non-line-of-sight reach applies. / Chưa có dữ liệu độ cao: "
            f"{n_open:,} điểm nhu cầu ở vùng trống trải được tính theo tầm không nhìn thẳng."
        )
    if unchecked:
        ctx.messages.append(
            f"Line of sight not checked for {unchecked} site-settlement link(s) whose path leaves the elevation "
            "raster (counted as in range); use a raster that covers the whole area. / Chưa kiểm tra tầm nhìn thẳng "
            f"cho {unchecked} cặp điểm phát - điểm dân cư nằm ngoài dữ liệu độ cao."
        )
    if p.elevation is None:
        ctx.messages.append(
            "Line of sight not checked (no elevation raster): coverage is range only. "
            "/ Chưa kiểm tra tầm nhìn thẳng (không có dữ liệu độ cao)."
        )


def _column_totals(ctx: _Context) -> None:
    """What each column adds to the BOQ total (``ctx.col_total``): its cost plus the catalog's contingency and a
    reserve for the BOQ's rounding (amounts per line and contingency per group; quantities summed per group then
    rounded to 3 decimals, which for an item priced per km such as SUB.CABLE is worth up to 0.0005 km x its price).
    """
    cat, cf = ctx.cat, 1.0 + float(ctx.cat.param("contingency_share"))
    reserve = np.array(
        [
            ctx.cfg.rounding_vnd_per_site
            + sum(
                math.ceil((0.0005 * cat.price(code) + 1.0) * cf)
                for code, qty in backhaul_items(ctx.best.loc[sid])
                if qty != round(qty)
            )
            for sid in ctx.cand["site_id"]
        ],
        dtype=np.int64,
    )[ctx.col_site]
    # the budget holds the BOQ (capital) total: the backhaul's fees are yearly lines, not in it
    fees = ctx.best.loc[ctx.cand["site_id"], "opex_vnd"].to_numpy(dtype=np.int64)[ctx.col_site]
    ctx.col_total = (np.ceil(np.round((ctx.col_cost - fees) * cf, 6)) + reserve).astype(np.int64)


def _forced_columns(ctx: _Context, w: np.ndarray) -> list[int]:
    """The best-covering column (then the cheapest) of each commune HQ to connect."""
    n_p, cov = len(ctx.profiles), ctx.cov
    ids = ctx.cand["site_id"].tolist()
    forced: list[int] = []
    for sid in ctx.hq_needed:
        j = ids.index(sid)
        colsj = list(range(j * n_p, (j + 1) * n_p))
        gain = [float(w[cov[:, c].nonzero()[0]].sum()) if cov is not None else 0.0 for c in colsj]
        forced.append(min(colsj, key=lambda c: (-gain[c - j * n_p], ctx.col_cost[c])))
    if forced:
        ctx.messages.append(
            f"{len(forced)} commune People's Committee site(s) without fibre or good coverage are connected "
            f"(connect_all_commune_hq): {', '.join(map(str, ctx.hq_needed))}. / Kết nối {len(forced)} UBND xã."
        )
    return forced


def _pct(ctx: _Context) -> str:
    return f"{float(ctx.cat.param('contingency_share')) * 100:g}%"


def _select(ctx: _Context) -> None:
    """Forced commune HQs, then the rest by :func:`cover_all` or :func:`maximize_coverage` under the budget left;
    ``ctx.selected``, and status, bound and gap of the whole selection in the units of its objective: a lower bound
    on ``selection_cost_vnd`` (cover_all) or an upper bound on the weight covered (budget)."""
    p, cov = ctx.p, ctx.cov
    w = ctx.points["weight"].to_numpy(dtype=float) if ctx.points is not None else np.zeros(0)
    forced = _forced_columns(ctx, w)
    forced_total = int(ctx.col_total[forced].sum()) if forced else 0
    if p.budget_vnd is not None and forced_total > p.budget_vnd:
        raise PlanningError(
            f"the budget {p.budget_vnd:,} VND is below the cost of connecting the commune People's Committees "
            f"({forced_total:,} VND with {_pct(ctx)} contingency, for {', '.join(map(str, ctx.hq_needed))}); raise "
            "the budget or set connect_all_commune_hq=False / Ngân sách thấp hơn chi phí kết nối các UBND xã "
            f"({forced_total:,} VND); tăng ngân sách hoặc bỏ chọn kết nối UBND xã"
        )
    covered = np.zeros(len(w), dtype=bool)
    if cov is not None and forced:
        covered = np.asarray(cov[:, forced].sum(axis=1)).ravel() > 0
    free_cols = np.flatnonzero(~np.isin(ctx.col_site, ctx.col_site[forced]))
    institution = ctx.points["kind"].to_numpy() != "household"
    rest = np.flatnonzero(~covered & ((w > 0) | (institution & p.cover_all)))
    sub = cov[rest][:, free_cols] if cov is not None and len(rest) and len(free_cols) else None
    useful = np.asarray(sub.sum(axis=0)).ravel() > 0 if sub is not None else np.zeros(0, dtype=bool)
    chosen_free, chosen_weight, status, bound = np.zeros(0, dtype=np.int64), 0.0, "optimal", 0.0
    if sub is not None and useful.any():
        if p.cover_all:
            res = _cover_everyone(ctx, sub, free_cols, forced_total)
        else:
            res = _best_within_budget(ctx, sub, w[rest], free_cols, useful, forced, forced_total)
        if res is not None:
            chosen_free, chosen_weight = free_cols[res.selected], float(res.covered_weight)
            status, bound = res.status, float(res.bound)
    ctx.selected = sorted({*forced, *(int(c) for c in chosen_free)})
    ctx.status = status
    if p.cover_all:
        forced_cost = int(ctx.col_cost[forced].sum()) if forced else 0
        value = float(forced_cost + ctx.col_cost[chosen_free].sum())
        ctx.bound = float(forced_cost + bound)
        ctx.gap = (value - ctx.bound) / value if value > 0 else 0.0
    else:
        forced_weight = float(w[covered].sum())
        value = forced_weight + chosen_weight
        ctx.bound = forced_weight + bound
        ctx.gap = (ctx.bound - value) / ctx.bound if ctx.bound > 0 else 0.0


def _site_columns(ctx: _Context) -> dict[int, list[int]]:
    """Chosen columns by site (a column chosen twice is two APs: the second on another channel)."""
    site_cols: dict[int, list[int]] = {}
    for c in ctx.selected:
        site_cols.setdefault(int(ctx.col_site[c]), []).append(int(c))
    return site_cols


def _add_aps_for_capacity(ctx: _Context) -> None:
    """Add APs where the chosen ones lack airtime, in rounds, until every demand point in reach is served (or the
    budget, the rounds or the channels run out, or a round serves no more).

    Each round takes the demand points not served (in a full AP's reach, or in nobody's) and covers them again
    (:func:`cover_all`, or :func:`maximize_coverage` within the budget left): a column at a site already chosen
    costs its AP only (mast, power and backhaul are there), and one column serves at most
    ``settings.max_aps_per_column`` APs (non-overlapping channels).  A round after which no fewer points are short
    is undone and the stage stops: the assignment of points to radios (:func:`_assign`) is greedy, and near the
    channel limit an added AP can draw points from radios they shared well and leave more unserved (on the demo,
    rounds 22-27 did; 9,342 households served after 20 rounds, 9,325 after 27).  Whatever stays short is named
    per village with its reason (:func:`_short_message`).  Heuristic: the coverage stage before it is exact, this
    stage is not (its figures are reported apart: ``capacity_aps``).
    """
    p, cfg, cov = ctx.p, ctx.cfg, ctx.cov
    if cov is None or not ctx.selected:
        return
    cf = 1.0 + float(ctx.cat.param("contingency_share"))
    ap_price = np.array([ctx.cat.price(item) * pr.n_sectors for _, pr, item, _ in ctx.profiles], dtype=np.int64)[
        ctx.col_prof
    ]
    # one column holds at most max_aps_per_column radios on their own channels: omni APs, or whole sectored sets
    per_profile = [max(1, cfg.max_aps_per_column // pr.n_sectors) for _, pr, _, _ in ctx.profiles]
    per_column = np.array(per_profile)[ctx.col_prof]
    w = ctx.points["weight"].to_numpy(dtype=float)
    institution = ctx.points["kind"].to_numpy() != "household"
    in_reach = np.asarray(cov.sum(axis=1)).ravel() > 0
    before: tuple[list[int], int, int] | None = None  # the last round's selection, its short points, APs added

    def short_points() -> np.ndarray:
        site_cols = _site_columns(ctx)
        sids = [ctx.cand["site_id"].iloc[j] for j in site_cols]
        served = np.array([bool(x) for x in _assign(ctx, site_cols, sids).served_by], dtype=bool)
        return np.flatnonzero(~served & ((w > 0) | institution) & in_reach)

    for _ in range(cfg.capacity_rounds):
        short = short_points()
        if len(short) == 0:
            return
        if before is not None and len(short) >= before[1]:
            ctx.selected, ctx.capacity_aps = before[0], ctx.capacity_aps - before[2]
            _short_message(ctx, short_points(), per_column, "no_gain")
            return
        count = np.bincount(np.asarray(ctx.selected, dtype=np.int64), minlength=cov.shape[1])
        chosen_site = np.isin(ctx.col_site, list(_site_columns(ctx)))
        cost = np.where(chosen_site, ap_price, ctx.col_cost)
        total = np.where(chosen_site, np.ceil(ap_price * cf) + cfg.rounding_vnd_per_site, ctx.col_total)
        open_cols = np.flatnonzero(count < per_column)
        sub = cov[short][:, open_cols]
        useful = np.asarray(sub.sum(axis=0)).ravel() > 0
        if not useful.any():
            _short_message(ctx, short, per_column, "channels")
            return
        open_cols, sub = open_cols[useful], sub[:, useful]
        if p.budget_vnd is None:
            res = cover_all(sub, site_costs=cost[open_cols], time_limit_s=p.time_limit_s, settings=cfg)
        else:
            left = p.budget_vnd - _plan_total(ctx)
            if left < total[open_cols].min() or not (w[short] > 0).any():
                _short_message(ctx, short, per_column, "budget", left=max(left, 0))
                return
            res = maximize_coverage(
                sub, w[short], budget=float(left), site_costs=total[open_cols], time_limit_s=p.time_limit_s,
                settings=cfg,
            )  # fmt: skip
        if len(res.selected) == 0:
            _short_message(ctx, short, per_column, "no_gain")
            return
        before = (list(ctx.selected), len(short), len(res.selected))
        ctx.selected = sorted([*ctx.selected, *(int(c) for c in open_cols[res.selected])])
        ctx.capacity_aps += len(res.selected)
    short = short_points()
    if len(short) and before is not None and len(short) >= before[1]:
        ctx.selected, ctx.capacity_aps = before[0], ctx.capacity_aps - before[2]
        _short_message(ctx, short_points(), per_column, "no_gain")
    elif len(short):
        _short_message(ctx, short, per_column, "rounds")


#: Why demand in reach stays unserved after the capacity rounds (English, Vietnamese); "channels" is also given per
#: village where every column reaching its short points holds its radios.
_SHORT_WHY: dict[str, tuple[str, str]] = {
    "channels": (
        "every site in their reach already carries {k} radios per profile (one per channel)",
        "các điểm phát trong tầm đã dùng hết {k} kênh",
    ),
    "budget": (
        "the budget left ({left:,} VND) buys no further AP",
        "ngân sách còn lại ({left:,} VND) không đủ thêm điểm phát",
    ),
    "rounds": (
        "the capacity stage stopped after {rounds} rounds (settings.capacity_rounds) with channels left",
        "giai đoạn dung lượng dừng sau {rounds} vòng, vẫn còn kênh",
    ),
    "no_gain": (
        "a further round of APs served no more (airtime of the radios in reach is full; the added APs were undone)",
        "thêm điểm phát không phục vụ thêm được (đã bỏ các điểm phát thêm)",
    ),
}


def _short_message(ctx: _Context, short: np.ndarray, per_column: np.ndarray, why: str, *, left: int = 0) -> None:
    """Say which villages keep demand in reach unserved after the capacity stage, how many points each, and why:
    ``why`` for the stage, or per village "channels" where every column reaching its short points is full."""
    if not len(short) or ctx.cov is None:
        return
    cov = ctx.cov
    count = np.bincount(np.asarray(ctx.selected, dtype=np.int64), minlength=cov.shape[1])
    full = count >= per_column
    sid = ctx.points["settlement_id"].astype(str).to_numpy()
    hh = (ctx.points["kind"] == "household").to_numpy()
    names: dict[str, str] = {}
    if ctx.unserved is not None and "name" in ctx.unserved.columns:
        names = dict(zip(ctx.unserved["settlement_id"].astype(str), ctx.unserved["name"].astype(str), strict=True))
    k = ctx.cfg.max_aps_per_column
    fill = {"k": k, "left": left, "rounds": ctx.cfg.capacity_rounds}
    parts_en, parts_vi = [], []
    villages = pd.Series(sid[short]).value_counts(sort=False)
    for village, _ in sorted(villages.items(), key=lambda kv: (-kv[1], kv[0])):
        rows = short[sid[short] == village]
        reach = np.flatnonzero(np.asarray(cov[rows].sum(axis=0)).ravel() > 0)
        reason = "channels" if len(reach) and full[reach].all() else why
        households = int(hh[rows].sum())
        label = f"{village} {names[village]}" if village in names else str(village)
        en, vi = (t.format(**fill) for t in _SHORT_WHY[reason])
        parts_en.append(f"{label}: {households} household(s), {len(rows) - households} institution(s): {en}")
        parts_vi.append(f"{label}: {households} hộ, {len(rows) - households} cơ quan: {vi}")
    ctx.messages.append(
        f"Capacity: {len(short):,} demand point(s) in reach are not served; by village: {'; '.join(parts_en)}. / "
        f"Dung lượng: {len(short):,} điểm nhu cầu trong vùng phủ chưa được phục vụ; theo thôn: {'; '.join(parts_vi)}."
    )


def _plan_total(ctx: _Context) -> int:
    """What the chosen columns add to the BOQ total: a site's first column in full, further APs at AP price."""
    cf = 1.0 + float(ctx.cat.param("contingency_share"))
    total, seen = 0, set()
    for c in ctx.selected:
        j = int(ctx.col_site[c])
        if j in seen:
            _, prof, item, _ = ctx.profiles[int(ctx.col_prof[c])]
            total += math.ceil(ctx.cat.price(item) * prof.n_sectors * cf) + ctx.cfg.rounding_vnd_per_site
        else:
            total += int(ctx.col_total[c])
            seen.add(j)
    return total


def _cover_everyone(ctx: _Context, sub: sp.csc_matrix, free_cols: np.ndarray, forced_total: int) -> Any:
    """:func:`cover_all` on the free columns; an error when its total exceeds the budget."""
    p = ctx.p
    res = cover_all(sub, site_costs=ctx.col_cost[free_cols], time_limit_s=p.time_limit_s, settings=ctx.cfg)
    need = forced_total + int(ctx.col_total[free_cols[res.selected]].sum())
    if p.budget_vnd is not None and need > p.budget_vnd:
        raise PlanningError(
            f"covering every unserved settlement costs {need:,} VND with {_pct(ctx)} contingency, above the budget "
            f"{p.budget_vnd:,} VND; raise the budget or set cover_all=False to cover the most people within "
            f"it / Phủ toàn bộ cần {need:,} VND, vượt ngân sách {p.budget_vnd:,} VND"
        )
    return res


def _best_within_budget(
    ctx: _Context,
    sub: sp.csc_matrix,
    weights: np.ndarray,
    free_cols: np.ndarray,
    useful: np.ndarray,
    forced: list[int],
    forced_total: int,
) -> Any:
    """:func:`maximize_coverage` under the budget left after the forced HQs; ``None`` (with a message, or an
    error when nothing is forced) when the budget left is below the cheapest useful column."""
    p = ctx.p
    assert p.budget_vnd is not None
    left = p.budget_vnd - forced_total
    totals = ctx.col_total[free_cols]
    cheapest = int(np.argmin(np.where(useful, totals, np.iinfo(np.int64).max)))
    if left >= totals[cheapest]:
        return maximize_coverage(
            sub, weights, budget=float(left), site_costs=totals, time_limit_s=p.time_limit_s, settings=ctx.cfg
        )
    c = int(free_cols[cheapest])
    j = int(ctx.col_site[c])
    sid = ctx.cand["site_id"].iloc[j]
    need = forced_total + int(ctx.col_total[c])
    why = (
        f"the budget {p.budget_vnd:,} VND{' (after the commune HQs)' if forced else ''} is below "
        f"the cheapest useful site: {sid} ({ctx.cand['name'].iloc[j]}) with profile "
        f"{ctx.profiles[ctx.col_prof[c]][0]} costs {int(ctx.col_cost[c]):,} VND including its "
        f"{ctx.best.loc[sid, 'option']} backhaul, plus {_pct(ctx)} contingency"
    )
    if not forced:
        raise PlanningError(
            f"{why}; raise the budget to at least {need:,} VND / Ngân sách không đủ cho điểm rẻ nhất "
            f"({sid}); cần ít nhất {need:,} VND"
        )
    ctx.messages.append(
        f"Only the commune People's Committees are connected: {why}; {need:,} VND would add it. "
        f"/ Ngân sách chỉ đủ kết nối các UBND xã; cần {need:,} VND để thêm điểm {sid}."
    )
    return None


def _outputs(ctx: _Context) -> Plan:
    """The plan: sites, footprints, backhaul links, the unserved settlements with who covers them, BOQ and KPIs."""
    cat, crs, p, cand = ctx.cat, ctx.crs, ctx.p, ctx.cand
    # one entry per chosen site; a site chosen with two profiles gets both APs but its mast, solar kit and
    # backhaul once
    site_cols = _site_columns(ctx)
    sel_sites = list(site_cols)
    sids = [cand["site_id"].iloc[j] for j in sel_sites]
    assignment = _assign(ctx, site_cols, sids)
    figures = _settlement_figures(ctx, assignment)
    unserved = ctx.unserved.assign(**{c: figures[c].to_numpy() for c in figures.columns})
    where = [ctx.environment.get(str(sid), ("", "")) for sid in unserved["settlement_id"]]
    unserved = unserved.assign(environment=[e for e, _ in where], environment_source=[s for _, s in where])
    bh = ctx.best.loc[sids] if sids else ctx.best.iloc[:0]
    bh, net = _backhaul_network(ctx, bh, sel_sites, assignment)
    sites_df = _site_rows(ctx, site_cols, bh, assignment)
    geoms = list(cand.geometry.iloc[sel_sites])
    wifi_sites = gpd.GeoDataFrame(sites_df.loc[:, list(SITE_COLUMNS)], geometry=geoms, crs=crs)
    links = [link_geometry(bh.iloc[k], cand.geometry.iloc[j]) for k, j in enumerate(sel_sites)]
    # hops checked over the elevation raster: direct radio hops (their option row) and relays (the network step)
    direct = (net["link"] == "direct").to_numpy() if len(net) else np.zeros(0, dtype=bool)
    own = pd.to_numeric(bh["clearance_m"], errors="coerce").to_numpy(dtype=float)
    clearance = np.where(direct, own, np.asarray(ctx.relay_clearance, dtype=float)) if len(net) else own
    link_df = pd.DataFrame(
        {"site_id": sids, "backhaul": list(bh["option"]), "kind": list(bh["option"]), "peer_id": list(bh["peer_id"]),
         "length_m": list(bh["length_m"].round(1)), "cost_vnd": list(bh["cost_vnd"]),
         "clearance_m": clearance,  # 0.6 Fresnel zone over terrain, clutter and bulge; NaN where not checked
         "los_checked": np.isfinite(clearance),
         "mast_a_m": pd.to_numeric(bh["mast_a_m"], errors="coerce").to_numpy(dtype=float),
         "mast_b_m": pd.to_numeric(bh["mast_b_m"], errors="coerce").to_numpy(dtype=float),
         "hub_sectors": bh["hub_sectors"].to_numpy(dtype=np.int64) if "hub_sectors" in bh else 0,
         "load_mbps": net["load_mbps"].round(1).to_numpy(), "capacity_mbps": net["capacity_mbps"].to_numpy()},
        columns=list(LINK_COLUMNS),
    )  # fmt: skip
    districts, communes = commune_of(gpd.GeoSeries(geoms, crs=crs), ctx.L["boundaries"])
    boq = build_boq(sites_df, bh, catalog=cat, districts=districts, communes=communes, phase=p.phase)
    opex = _opex_lines(ctx, sites_df, bh, net, geoms)
    kpis = _kpis(ctx, boq, bh, sites_df, sids, assignment)
    kpis.update(_money_kpis(ctx, boq, opex, kpis["people_newly_covered"]))
    points = ctx.points.assign(
        served_by=assignment.served_by,
        in_footprint=assignment.in_footprint,
        rate_mbps=assignment.rate_mbps.round(1),
    )
    layers = {
        "sites": wifi_sites,
        "footprints": _footprints(ctx),
        "backhaul_links": gpd.GeoDataFrame(link_df, geometry=links, crs=crs),
        "settlements_unserved": unserved,
        "demand_points": points,
        "opex_lines": opex,
        "backhaul_options": ctx.options,
        "drawn_sites": _drawn_site_layer(ctx, site_cols, sites_df, assignment, int(kpis["capex_vnd"])),
    }
    return Plan(kind="wifi", layers=layers, boq=boq, kpis=kpis, params=p.to_dict(), messages=ctx.messages)


def _drawn_site_layer(
    ctx: _Context, site_cols: dict[int, list[int]], sites_df: pd.DataFrame, a: _Assignment, capex_vnd: int
) -> gpd.GeoDataFrame:
    """Each drawn candidate used or not, and why (:mod:`gisplan.wifi._verdicts`): chosen; nothing unserved in
    reach; everyone in reach served by other chosen sites; above the budget left; or left out by the optimum."""
    p, cand, pts = ctx.p, ctx.cand, ctx.points
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    if ctx.no_power_drawn is not None:
        for r in ctx.no_power_drawn.itertuples():
            rows.append(verdict_row(r.site_id, r.name, "no_power"))
            geoms.append(r.geometry)
    left = None if p.budget_vnd is None else int(p.budget_vnd - capex_vnd)
    n_p = len(ctx.profiles)
    w = pts["weight"].to_numpy(dtype=float)
    wanted = (w > 0) | (pts["kind"].to_numpy() != "household")
    people = pts["people"].to_numpy(dtype=float)
    served_by = np.asarray(a.served_by, dtype=object)
    position = {j: k for k, j in enumerate(site_cols)}
    for j in (int(x) for x in np.flatnonzero((cand["kind"] == "drawn").to_numpy())):
        sid, name = cand["site_id"].iloc[j], str(cand["name"].iloc[j])
        cols = np.arange(j * n_p, (j + 1) * n_p)
        geoms.append(cand.geometry.iloc[j])
        reach = np.zeros(len(pts), dtype=bool)
        if ctx.cov is not None:
            reach = (np.asarray(ctx.cov[:, cols].sum(axis=1)).ravel() > 0) & wanted
        in_reach = float(people[reach].sum())
        if j in position:
            k = position[j]
            site = sites_df.iloc[k]
            rows.append(verdict_row(sid, name, "used", people_in_reach=in_reach, people_served=a.site_people[k],
                                    cost_vnd=int(site["capex_vnd"]), budget_left_vnd=left,
                                    backhaul=str(site["backhaul"])))  # fmt: skip
            continue
        option = str(ctx.best.loc[sid, "option"])
        if ctx.cov is None or not reach.any():
            rows.append(verdict_row(sid, name, "no_demand", backhaul=option, budget_left_vnd=left))
            continue
        # what it would add to the BOQ total (contingency included, as the budget counts it): its cheapest
        # column that reaches someone
        useful = cols[np.asarray(ctx.cov[:, cols][reach].sum(axis=0)).ravel() > 0]
        cost = int(ctx.col_total[useful].min())
        alone = reach & (served_by == "")
        full = _chosen_reaching(ctx, alone)
        served_by_them: list[str] = []
        if not alone.any():
            decision, served_by_them = "served_elsewhere", sorted({str(x) for x in served_by[reach] if x})
        elif full is not None:
            decision, served_by_them = "capacity", full
        else:
            decision = "budget" if left is not None and cost > left else "not_chosen"
        rows.append(
            verdict_row(
                sid, name, decision, people_in_reach=in_reach, people_served=float(people[alone].sum()),
                served_by=served_by_them, cost_vnd=cost, budget_left_vnd=left, backhaul=option,
                cover_all=p.cover_all,
            )
        )  # fmt: skip
    return drawn_site_verdicts(rows, geoms, ctx.crs)


def _chosen_reaching(ctx: _Context, rows: np.ndarray) -> list[str] | None:
    """The chosen sites whose access points reach every one of ``rows`` (demand points nobody serves: their APs
    are full), or ``None`` when some of them lie within no chosen AP's reach."""
    if ctx.cov is None or not rows.any() or not ctx.selected:
        return None
    sel = np.asarray(sorted(set(ctx.selected)), dtype=np.int64)
    sub = ctx.cov[rows][:, sel]
    if not (np.asarray(sub.sum(axis=1)).ravel() > 0).all():
        return None
    hit = sel[np.asarray(sub.sum(axis=0)).ravel() > 0]
    return sorted({str(ctx.cand["site_id"].iloc[int(ctx.col_site[c])]) for c in hit})


@dataclass(frozen=True)
class _Assignment:
    """Who serves each demand point within the chosen radios' airtime, and what each chosen site carries."""

    served_by: list[str]  # per demand point: the serving site ("" when none)
    in_footprint: np.ndarray  # per demand point: inside a chosen AP's reach
    rate_mbps: np.ndarray  # per demand point: throughput of its serving AP at its distance (0 when unserved)
    site_people: np.ndarray  # per chosen site
    site_demand_mbps: np.ndarray
    site_capacity_mbps: np.ndarray
    los: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per point: served on a LOS path
    site_households_los: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per chosen site
    site_households_nlos: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _radios(ctx: _Context, cols: list[int]) -> tuple[np.ndarray, np.ndarray, list[int], np.ndarray]:
    """The radios of the chosen columns ``cols`` (one per sector of a sectored profile): per demand point x radio
    whether it serves the point (in reach, in its sector, above the slowest MCS) and at what rate (Mbit/s); each
    radio's column position in ``cols``; per point x column whether the path is in line of sight."""
    pts, cov = ctx.points, ctx.cov
    assert pts is not None and cov is not None  # the caller checks
    n = len(pts)
    xy = shapely.get_coordinates(np.asarray(pts.geometry))
    indoor = pts["indoor"].to_numpy(dtype=bool)
    cov_cols = cov[:, cols].toarray()
    los_cols = ctx.los_cov[:, cols].toarray() if ctx.los_cov is not None else np.zeros_like(cov_cols)
    # radios: (column position t, member mask, rate per point)
    masks, rates, radio_col = [], [], []
    for t, c in enumerate(cols):
        prof = ctx.profiles[int(ctx.col_prof[c])][1]
        sxy = shapely.get_coordinates(ctx.cand.geometry.iloc[int(ctx.col_site[c])])[0]
        rows = np.flatnonzero(cov_cols[:, t])
        dist = np.hypot(*(xy[rows] - sxy).T)
        az = ctx.col_az[c] if ctx.col_az else ()
        if prof.sectored and az:
            sector, main = nearest_sector(bearing_deg(sxy, xy[rows]), az, prof.beamwidth_deg)
        else:
            sector, main = np.zeros(len(rows), dtype=np.int64), np.ones(len(rows), dtype=bool)
        extra = np.where(main, 0.0, prof.front_to_back_db)
        r = downlink_rate_mbps(prof, dist, indoor=indoor[rows], los=los_cols[rows, t], extra_loss_db=extra)
        for k in range(len(az) if prof.sectored and az else 1):
            mask = np.zeros(n, dtype=bool)
            rate = np.zeros(n)
            mine = sector == k
            mask[rows[mine]] = True
            rate[rows[mine]] = r[mine]
            masks.append(mask & (rate > 0))  # in reach but below the slowest MCS: no service from that radio
            rates.append(rate)
            radio_col.append(t)
    return np.stack(masks, axis=1), np.stack(rates, axis=1), radio_col, los_cols


def _assign(ctx: _Context, site_cols: dict[int, list[int]], sids: list[Any]) -> _Assignment:
    """Serve each demand point from one chosen radio within its airtime.

    A chosen column is one radio per sector (one for an omni AP); a point belongs to the sector whose azimuth is
    nearest its bearing, behind the beamwidth with the front-to-back loss.  Its throughput is the link-budget rate
    at its distance (:func:`downlink_rate_mbps`: indoors with the building entry loss, on a line-of-sight path with
    the line-of-sight model); it takes ``demand / rate`` of that radio's airtime, and a radio's airtime adds up to 1.
    Points with fewest radios in reach are served first, each by the fastest radio with airtime left; a point in
    reach whose demand fits no radio is in the footprint but not served.  Every point is counted once, by one site.
    """
    pts = ctx.points
    n = len(pts) if pts is not None else 0
    n_sites = len(site_cols)
    k_of_site = {j: k for k, j in enumerate(site_cols)}
    cols = [c for cs in site_cols.values() for c in cs]
    people = np.zeros(n_sites)
    demand_site = np.zeros(n_sites)
    hh_los, hh_nlos = np.zeros(n_sites), np.zeros(n_sites)
    served_by, rate_pt, los_pt = [""] * n, np.zeros(n), np.zeros(n, dtype=bool)
    if ctx.cov is None or not cols or n == 0:
        return _Assignment(
            served_by, np.zeros(n, dtype=bool), rate_pt, people, demand_site, np.zeros(n_sites), los_pt, hh_los, hh_nlos
        )
    need_mbps = pts["demand_mbps"].to_numpy(dtype=float)
    m, rate, radio_col, los_cols = _radios(ctx, cols)
    airtime = np.ones(len(radio_col))
    used = np.zeros(len(radio_col))
    served_mbps = np.zeros(len(radio_col))
    options = m.sum(axis=1)
    household = (pts["kind"] == "household").to_numpy()
    for i in np.lexsort((np.arange(n), options, household)):  # institutions first, then the fewest options
        if options[i] == 0:
            continue
        for u in np.flatnonzero(m[i])[np.argsort(-rate[i, m[i]], kind="stable")]:
            share = need_mbps[i] / rate[i, u]
            if share <= airtime[u] + 1e-12:
                airtime[u] -= share
                used[u] += share
                served_mbps[u] += need_mbps[i]
                t = radio_col[u]
                k = k_of_site[int(ctx.col_site[cols[t]])]
                served_by[i], rate_pt[i], los_pt[i] = str(sids[k]), rate[i, u], bool(los_cols[i, t])
                people[k] += float(pts["people"].iloc[i])
                demand_site[k] += need_mbps[i]
                if household[i]:
                    hh_los[k] += los_pt[i]
                    hh_nlos[k] += not los_pt[i]
                break
    capacity = np.zeros(n_sites)
    for u, t in enumerate(radio_col):
        k = k_of_site[int(ctx.col_site[cols[t]])]
        # what the radio delivers at full airtime with the mix of clients it serves (its fastest rate when idle)
        top = float(rate[m[:, u], u].max()) if m[:, u].any() else 0.0
        capacity[k] += served_mbps[u] / used[u] if used[u] > 0 else top
    reach = np.asarray(m.any(axis=1), dtype=bool)
    return _Assignment(served_by, reach, rate_pt, people, demand_site, capacity, los_pt, hh_los, hh_nlos)


def _settlement_figures(ctx: _Context, a: _Assignment) -> pd.DataFrame:
    """Per unserved settlement: households, people and Mbps demanded, people served, Mbps delivered, sites."""
    pts = ctx.points.assign(served_by=a.served_by, served=[bool(s) for s in a.served_by])
    homes = pts[pts["kind"] == "household"]
    # served figures as plain column sums (a groupby.apply over no served household returned a frame, not a Series)
    homes = homes.assign(
        served_people=np.where(homes["served"], homes["people"], 0.0),
        served_mbps=np.where(homes["served"], homes["demand_mbps"], 0.0),
    )
    g = homes.groupby("settlement_id", sort=False)
    out = pd.DataFrame(
        {
            "demand_mbps": g["demand_mbps"].sum(),
            "people_covered": g["served_people"].sum(),
            "mbps_delivered": g["served_mbps"].sum(),
            "covered_by": g["served_by"].agg(lambda s: ", ".join(sorted({x for x in s if x}))),
        }
    )
    ids = ctx.unserved["settlement_id"].astype(str)
    out = out.reindex(ids).reset_index(drop=True)
    out["demand_mbps"] = out["demand_mbps"].fillna(0.0).round(1)
    out["people_covered"] = out["people_covered"].fillna(0.0).round().astype(np.int64)
    out["mbps_delivered"] = out["mbps_delivered"].fillna(0.0).round(1)
    covered = out["covered_by"].astype(object)  # float when no household is left (all served by other technologies)
    out["covered_by"] = covered.where(covered.notna(), "")
    return out


def _backhaul_network(
    ctx: _Context, bh: pd.DataFrame, sel_sites: list[int], a: _Assignment
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chosen sites' backhaul as a network (:func:`gisplan.wifi.network.relay_forest`): a site relays through
    another where that is cheaper than its own backhaul, within the links' capacities; returns the backhaul rows
    (relayed sites rewritten as "relay" or "radio" to their parent) and the forest table.

    Sites with existing microwave (``ctx.transmission``) that are not chosen join the forest as free gateways of
    their stated capacity (no demand of their own), so chosen sites may relay through them."""
    cat, b = ctx.cat, ctx.cat.backhaul
    if len(bh) == 0:
        return bh, pd.DataFrame(columns=["parent", "link", "length_m", "cost", "load_mbps", "capacity_mbps", "root"])
    cap = {"fibre": np.inf, "submarine": np.inf, "radio": float(b["ptp_5g_capacity_mbps"]),
           "radio_long": float(b["ptp_long_capacity_mbps"]),
           "satellite": float(b["satellite_capacity_mbps"])}  # fmt: skip
    trans = ctx.transmission if ctx.transmission is not None else pd.DataFrame(columns=["site_id", "transmission"])
    mw = trans[trans["transmission"] == "microwave"]
    mw_mbps = dict(zip(mw["site_id"], mw["transmission_mbps"].astype(float), strict=True))
    direct_cap = [mw_mbps[s] if o == "microwave" else cap[o] for s, o in zip(bh["site_id"], bh["option"], strict=True)]
    xy = shapely.get_coordinates(np.asarray(ctx.cand.geometry.iloc[sel_sites]))
    heights = pd.to_numeric(ctx.cand["height_m"].iloc[sel_sites], errors="coerce").to_numpy(dtype=float)
    heights = np.where(np.isfinite(heights), np.maximum(heights, ctx.cfg.default_mast_m), ctx.cfg.default_mast_m)
    n_sel = len(xy)
    hubs = mw[~mw["site_id"].isin(set(bh["site_id"]))]
    if len(hubs):  # existing microwave sites not chosen: free gateways of their capacity
        sites = ctx.L["sites"].set_index("site_id")
        hub_h = (
            pd.to_numeric(sites.loc[hubs["site_id"], "height_m"], errors="coerce").to_numpy(dtype=float)
            if "height_m" in sites.columns
            else np.full(len(hubs), np.nan)
        )
        xy = np.vstack([xy, shapely.get_coordinates(np.asarray(hubs.to_crs(ctx.crs).geometry))])
        heights = np.r_[heights, np.where(np.isfinite(hub_h), hub_h, ctx.cfg.default_mast_m)]
        direct_cap += hubs["transmission_mbps"].astype(float).tolist()
    all_ids = bh["site_id"].tolist() + hubs["site_id"].tolist()
    # a satellite gateway may bond terminals (each with its fee); the network chooses how many with its gateways
    bondable = np.r_[bh["option"].to_numpy() == "satellite", np.zeros(len(hubs), dtype=bool)]
    life = _gateway_costs(ctx, bh, len(hubs))
    direct_cost = life.unit
    demand = np.r_[a.site_demand_mbps, np.zeros(len(hubs))]
    blocked: set[tuple[int, int]] = set()
    margins: dict[tuple[int, int], float] = {}
    relay_max_m = float(b["relay_max_km"]) * 1000.0

    # a relay's ends may add catalog masts (priced in full: the AP masts stay), the cheapest pair that clears
    opt_h, opt_cost, opt_code = end_options(heights, np.zeros(len(heights)), mast_options(cat))
    masts: dict[tuple[int, int], tuple[int, int]] = {}
    extra: dict[tuple[int, int], float] = {}

    def check(todo: list[tuple[int, int]]) -> tuple[set[tuple[int, int]], bool]:
        """Check ``todo`` pairs over the raster with every pair of mast heights; record the cheapest pair that clears
        and its clearance; return the pairs no heights clear, and whether any needs a new mast."""
        i, j = np.array(todo).T
        seen, grid = hop_clearances(
            xy[i], xy[j], heights_a_m=opt_h[i], heights_b_m=opt_h[j], elevation=ctx.p.elevation, crs=ctx.crs,
            f_mhz=float(b["ptp_5g_f_mhz"]), clutter_m=float(b["clutter_m"]),
        )  # fmt: skip
        bad, priced = set(), False
        for t, (p, q) in enumerate(todo):
            if not seen[t]:  # off the raster: not checked, allowed at the sites' own heights
                margins[(p, q)], masts[(p, q)] = np.nan, (0, 0)
                continue
            best = cheapest_heights(grid[t], opt_cost[p], opt_cost[q], opt_h[p], opt_h[q])
            if best is None:
                margins[(p, q)] = float(np.nanmax(grid[t]))
                bad.add((p, q))
                continue
            masts[(p, q)], margins[(p, q)] = best, float(grid[t][best])
            cost = float(opt_cost[p, best[0]] + opt_cost[q, best[1]])
            if cost > 0:
                extra[(p, q)], priced = cost, True
        return bad, priced

    if ctx.p.elevation is not None and len(xy) > 1:  # every short relay at once (few samples each)
        a_i, b_j = shapely.STRtree(shapely.points(xy)).query(
            shapely.points(xy), predicate="dwithin", distance=relay_max_m
        )
        short = [(int(i), int(j)) for i, j in zip(a_i, b_j, strict=True) if i < j]
        if short:
            blocked |= check(short)[0]
    island_cache: dict[bytes, Any] = {}  # islands solved exactly, by their inputs (unchanged ones: not again)
    while True:  # the relays the forest uses are checked over the raster; a blocked one is barred, one that needs
        # masts is priced with them, and the forest redone
        net = relay_forest(
            xy, direct_cost=direct_cost, demand_mbps=demand,
            direct_capacity_mbps=direct_cap, relay_max_m=float(b["relay_max_km"]) * 1000.0,
            ptp_max_m=float(b["ptp_5g_max_km"]) * 1000.0,
            relay_cost=float(cat.price("RELAY.5G")) * life.keep + life.relay_energy,
            ptp_cost=float(cat.price("PTP.5G")) * life.keep, relay_capacity_mbps=float(b["relay_capacity_mbps"]),
            ptp_capacity_mbps=float(b["ptp_5g_capacity_mbps"]), blocked=blocked,
            sector_max_links=int(b["sector_max_links"]), sector_capacity_mbps=float(b["sector_capacity_mbps"]),
            sector_cost=float(cat.price("PTMP.SECTOR")) * life.keep,
            extra_cost={pq: v * life.keep for pq, v in extra.items()}, bondable=bondable,
            included_mbps=life.included, above_cost_per_mbps=life.above, cost_per_mbps=life.per_mbps,
            max_units=ctx.cfg.max_bonded_terminals, exact_max_sites=ctx.cfg.backhaul_exact_max_sites,
            node_limit=ctx.cfg.backhaul_node_limit, cache=island_cache,
        )  # fmt: skip
        if ctx.p.elevation is None:
            break
        pairs = [(min(k, int(q)), max(k, int(q))) for k, q in enumerate(net["parent"]) if q >= 0]
        todo = [pq for pq in pairs if pq not in margins]
        if not todo:
            break
        newly, priced = check(todo)
        if not newly and not priced:
            break
        blocked |= newly
    units = net["units"].to_numpy()[:n_sel]
    exact = int(net["exact"].to_numpy()[:n_sel].sum())
    solved = int(net["solved"].to_numpy()[:n_sel].sum())
    if solved:
        ctx.messages.append(
            f"Backhaul: the gateways, terminals and relays of {solved} site(s) on islands of at most "
            f"{ctx.cfg.backhaul_exact_max_sites} sites minimise their life-cycle cost by an exact solver ({exact} "
            f"proven optimal, the others the best found within {ctx.cfg.backhaul_node_limit} nodes); the other "
            f"sites follow the spanning tree and its repairs. / Cổng, trạm vệ tinh và trạm chuyển tiếp của {solved} "
            f"điểm trên các đảo tối đa {ctx.cfg.backhaul_exact_max_sites} điểm được tối ưu chi phí vòng đời ({exact} "
            "điểm đã chứng minh tối ưu)."
        )
    terminals = {k: int(units[k]) for k in range(n_sel) if bondable[k] and units[k] > 1}
    over = net[net["load_mbps"] > net["capacity_mbps"] + 1e-9]
    net = net.iloc[:n_sel]
    ctx.relay_clearance = [
        margins.get((min(k, int(q)), max(k, int(q))), np.nan) if q >= 0 else np.nan for k, q in enumerate(net["parent"])
    ]
    out = bh.copy()
    out["terminals"] = np.where(out["option"].to_numpy() == "satellite", 1, 0)
    for pos, count in terminals.items():  # bonded terminals where one site's load exceeds one terminal
        idx = out.index[pos]
        extra_capex = (count - 1) * int(cat.price("SAT.TERMINAL"))
        out.loc[idx, "terminals"] = count
        out.loc[idx, "capex_vnd"] = int(out.loc[idx, "capex_vnd"]) + extra_capex
        out.loc[idx, "opex_vnd"] = int(out.loc[idx, "opex_vnd"]) * count
        out.loc[idx, "cost_vnd"] = int(out.loc[idx, "capex_vnd"]) + int(out.loc[idx, "opex_vnd"])
    ids = all_ids
    for k in np.flatnonzero(net["parent"].to_numpy() >= 0):
        par = int(net["parent"].iloc[k])
        option = "relay" if net["link"].iloc[k] == "relay" else "radio"
        pq = (min(int(k), par), max(int(k), par))
        price = int(cat.price("RELAY.5G" if option == "relay" else "PTP.5G") + extra.get(pq, 0.0))
        ia, ib = masts.get(pq, (0, 0))
        mine, theirs = (ia, ib) if k < par else (ib, ia)
        idx = out.index[k]
        why = texts("backhaul.relay", peer=ids[par])
        out.loc[idx, ["option", "peer_id", "reason", "reason_vi"]] = [option, ids[par], why["en"], why["vi"]]
        out.loc[idx, ["peer_x", "peer_y", "length_m", "land_m"]] = [*xy[par], float(net["length_m"].iloc[k]), 0.0]
        out.loc[idx, ["capex_vnd", "opex_vnd", "cost_vnd"]] = [price, 0, price]
        # the relay's heights: the sites' own (AP masts or structures) or the new masts it needs, in full price
        out.loc[idx, ["mast_a_m", "mast_b_m", "mast_credit_vnd"]] = [opt_h[k, mine], opt_h[par, theirs], 0]
        out.loc[idx, ["mast_a_code", "mast_b_code"]] = [opt_code[k][mine], opt_code[par][theirs]]
    out = _share_hub_masts(out, cat)
    out = _hub_sectors(out, net, cat)
    planned = out[(out["option"] == "satellite") & np.isfinite(pd.to_numeric(out["fibre_year"], errors="coerce"))]
    if len(planned):
        first = int(planned["fibre_year"].min())
        ctx.messages.append(
            f"Backhaul: {len(planned)} satellite terminal(s) serve only until a planned cable brings fibre (from "
            f"{first}); the cable and its landing are that project's cost, not this plan's. / {len(planned)} trạm vệ "
            f"tinh chỉ dùng đến khi có cáp quang theo quy hoạch (từ năm {first}); chi phí tuyến cáp không tính vào "
            "phương án này."
        )
    if len(over):
        listed = ", ".join(str(ids[i]) for i in over.index[:20])
        ctx.messages.append(
            f"Backhaul: {len(over)} link(s) carry more than their capacity even on their own backhaul: {listed}. / "
            f"{len(over)} tuyến truyền dẫn vượt dung lượng."
        )
    return out, net


@dataclass(frozen=True)
class _GatewayCosts:
    """Life-cycle costs (VND over the horizon, discounted) the backhaul network weighs, per gateway candidate (the
    chosen sites, then the microwave sites not chosen)."""

    unit: np.ndarray  # one direct backhaul (a satellite row: one terminal): capital, maintenance, flat fees, rent
    included: np.ndarray  # Mbit/s one terminal's subscription includes (satellite; 0 otherwise)
    above: np.ndarray  # a busy-hour Mbit/s above what the terminals include (SAT.MBPS, VSAT.MBPS)
    per_mbps: np.ndarray  # every busy-hour Mbit/s (IP transit; a satellite site's from its island's fibre year)
    keep: float  # capital cost -> capital plus its maintenance over the horizon
    relay_energy: float  # grid power of a relay's two radios over the horizon


def _gateway_costs(ctx: _Context, bh: pd.DataFrame, n_hubs: int) -> _GatewayCosts:
    """What a gateway, its terminals and its traffic cost over the horizon, from the same yearly lines the plan's
    ``opex_lines`` carry (:func:`gisplan.wifi.backhaul.fees_present_value`: the fee is linear in the Mbit/s above
    the terminals' inclusion and in the Mbit/s handed to transit, so two probes give each slope), and maintenance
    (``maintenance_share_per_year`` of the capital cost each year)."""
    cat, b = ctx.cat, ctx.cat.backhaul
    start, years = _start_year(ctx.p), ctx.years
    pv1 = present_value(np.ones(round(years)), float(b["discount_rate"]))
    keep = 1.0 + float(b["maintenance_share_per_year"]) * pv1
    inc, probe = included_mbps(cat), 1000.0
    unit, included, above, per = [], [], [], []
    for row in bh.to_dict("records"):

        def pv(mbps: float, row: dict[str, Any] = row) -> float:
            return float(fees_present_value(cat, {**row, "terminals": 1}, start_year=start, horizon_years=years,
                                            mbps=mbps))  # fmt: skip

        flat = pv(0.0)
        unit.append(float(row["capex_vnd"]) * keep + flat)
        if row["option"] == "satellite":
            after = (pv(inc) - flat) / inc if inc > 0 else 0.0  # transit from a planned cable's year
            included.append(inc)
            above.append((pv(inc + probe) - pv(inc)) / probe - after)
            per.append(after)
        else:
            included.append(0.0)
            above.append(0.0)
            per.append((pv(probe) - flat) / probe)
    transit = float(fees_present_value(cat, {"option": "microwave"}, start_year=start, horizon_years=years,
                                       mbps=probe)) / probe  # fmt: skip
    energy = 2 * float(b["relay_power_w"]) * 8760 / 1000 * float(cat.price("POWER.GRID")) * pv1
    return _GatewayCosts(
        unit=np.r_[unit, np.zeros(n_hubs)], included=np.r_[included, np.zeros(n_hubs)],
        above=np.r_[above, np.zeros(n_hubs)], per_mbps=np.r_[per, np.full(n_hubs, transit)], keep=keep,
        relay_energy=energy,
    )  # fmt: skip


def _hub_sectors(bh: pd.DataFrame, net: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    """Sectors each point-to-multipoint hub adds (:func:`gisplan.wifi.network.hub_sectors`): every 5 GHz hop
    (``radio``, ``relay``) ends on a sector of its peer, a sector serving at most the catalog's ``sector_max_links``
    and ``sector_capacity_mbps``.  A hub's added sectors (``hub_sectors``, priced ``PTMP.SECTOR``) go on its own row
    when it is a chosen site, else on the first hop into it."""
    b = cat.backhaul
    out = bh.copy()
    out["hub_sectors"] = 0
    into = out["option"].isin(["radio", "relay"]).to_numpy()
    if not into.any():
        return out
    ids = [str(i) for i in out["site_id"]]
    peers = out["peer_id"].astype(str).to_numpy()
    load = net["load_mbps"].to_numpy(dtype=float)
    hubs = sorted(set(peers[into]), key=lambda h: int(np.flatnonzero(into & (peers == h))[0]))
    links = [int((into & (peers == h)).sum()) for h in hubs]
    inflow = [float(load[into & (peers == h)].sum()) for h in hubs]
    added = hub_sectors(links, inflow, max_links=int(b["sector_max_links"]),
                        capacity_mbps=float(b["sector_capacity_mbps"]))  # fmt: skip
    price = int(cat.price("PTMP.SECTOR"))
    for hub, n_links, mbps, extra in zip(hubs, links, inflow, added.tolist(), strict=True):
        if extra <= 0:
            continue
        k = ids.index(hub) if hub in ids else int(np.flatnonzero(into & (peers == hub))[0])
        idx = out.index[k]
        out.loc[idx, "hub_sectors"] = int(extra)
        out.loc[idx, ["capex_vnd", "cost_vnd"]] = [int(out.loc[idx, "capex_vnd"]) + extra * price,
                                                   int(out.loc[idx, "cost_vnd"]) + extra * price]  # fmt: skip
        out.loc[idx, "reason"] = (
            f"{out.loc[idx, 'reason']}; hub {hub} adds {extra} sector(s) for {n_links} links, {mbps:,.0f} Mbit/s"
        )
    return out


def _share_hub_masts(bh: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    """One mast per hub: hops that each priced a new mast at the same peer share the tallest of them (a taller
    antenna at one end only raises the ray, so every hop still clears); the others' hub mast is dropped from their
    items and cost, and their ``mast_b_m`` set to the shared height."""
    out = bh.copy()
    has = out["mast_b_code"].fillna("").astype(str) != ""
    if not has.any():
        return out
    for _, group in out[has].groupby(out.loc[has, "peer_id"].astype(str), sort=False):
        if len(group) < 2:
            continue
        keep = group["mast_b_m"].astype(float).idxmax()
        tall = float(group.loc[keep, "mast_b_m"])
        for idx in group.index:
            if idx == keep:
                continue
            saved = int(cat.price(str(out.loc[idx, "mast_b_code"])))
            out.loc[idx, ["mast_b_code"]] = [""]
            out.loc[idx, ["mast_b_m"]] = [tall]
            out.loc[idx, ["capex_vnd", "cost_vnd"]] = [
                int(out.loc[idx, "capex_vnd"]) - saved,
                int(out.loc[idx, "cost_vnd"]) - saved,
            ]
            out.loc[idx, "reason"] = (
                f"{out.loc[idx, 'reason']}; shares the {tall:g} m mast at {out.loc[idx, 'peer_id']}"
            )
    return out


def _opex_lines(
    ctx: _Context, sites_df: pd.DataFrame, bh: pd.DataFrame, net: pd.DataFrame, geoms: list[Any]
) -> gpd.GeoDataFrame:
    """Yearly operating cost lines per chosen site over the horizon (:mod:`gisplan.wifi.money`; none is in the BOQ).

    * The backhaul's lines (:func:`gisplan.wifi.backhaul.backhaul_fees`) on the busy-hour Mbit/s the site hands to
      the Internet: a gateway's load (its own demand and that of the sites relaying through it; a site relaying
      through another of the plan's sites hands none, its gateway pays).  Satellite: the fee per terminal and the
      capacity above what the subscriptions include; any other backhaul: IP transit (``TRANSIT.MBPS``) at the POP.
    * Rent (``RENT.TOWER``, ``RENT.POLE``) of a structure the plan does not own: the site's own tower or pole when
      its APs need no new mast, and the tower or pole at the far end of its hop when that is not one of the plan's
      sites and carries the antenna at its own height (:func:`gisplan.wifi.backhaul.peer_rent_code`).  One tenancy
      per structure, on the first site that uses it.
    * Grid power of its APs and relay radios; maintenance as a share of its capital cost.
    """
    cat, b = ctx.cat, ctx.cat.backhaul
    start = _start_year(ctx.p)
    years = horizon_years(start, round(ctx.years))
    share = float(b["maintenance_share_per_year"])
    n = len(bh)
    parent = net["parent"].to_numpy(dtype=np.int64)[:n] if len(net) else np.full(n, -1)
    load = net["load_mbps"].to_numpy(dtype=float)[:n] if len(net) else np.zeros(n)
    # a gateway hands its load to the Internet; a site whose parent is one of the plan's sites hands none
    handed = np.where((parent < 0) | (parent >= n), load, 0.0)
    structures = ctx.L["sites"].drop_duplicates("site_id").set_index("site_id")
    chosen = set(sites_df["site_id"])
    rented: set[Any] = set()
    rows: list[dict[str, Any]] = []
    for k, site in enumerate(sites_df.itertuples(index=False)):
        row = bh.iloc[k].to_dict()
        own = RENT_ITEMS.get(str(site.kind), "") if not site.needs_mast and site.site_id not in rented else ""
        if own:
            rented.add(site.site_id)
        peer = row.get("peer_id")
        code = ""
        if peer is not None and peer not in chosen and peer not in rented and peer in structures.index:
            s_row = structures.loc[peer]
            height = pd.to_numeric(pd.Series([s_row.get("height_m", np.nan)]), errors="coerce").iloc[0]
            structure_m = float(height) if np.isfinite(height) else ctx.cfg.default_mast_m
            code = peer_rent_code(str(row["option"]), s_row.get("kind", ""), structure_m,
                                  float(pd.to_numeric(row.get("mast_b_m"), errors="coerce")))  # fmt: skip
            if code:
                rented.add(peer)
        row["peer_rent_code"] = code
        fees = backhaul_fees(row, years, licence_end_year=int(b["satellite_licence_end_year"]),
                             mbps=float(handed[k]), included_mbps=included_mbps(cat))  # fmt: skip
        watts = len(site.ap_item) * float(b["ap_power_w"]) + (float(b["relay_power_w"]) * 2 if row["option"] == "relay"
                                                              else 0.0)  # fmt: skip
        kwh = 0.0 if site.needs_solar else round(watts * 8760 / 1000, 3)
        for y in years:
            lines = [(c, qty) for fy, c, qty in fees if fy == y] + ([(own, 1.0)] if own else [])
            if kwh:
                lines.append(("POWER.GRID", kwh))
            for c, qty in lines:
                price = cat.price(c)
                rows.append({"site_id": site.site_id, "year": y, "item_code": c, "quantity": qty,
                             "unit_price_vnd": price, "amount_vnd": round(qty * price)})  # fmt: skip
            capex = int(site.capex_vnd)
            rows.append({"site_id": site.site_id, "year": y, "item_code": "MAINTENANCE", "quantity": share,
                         "unit_price_vnd": capex, "amount_vnd": round(share * capex)})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["site_id", "year", "item_code", "quantity", "unit_price_vnd", "amount_vnd"])
    where = dict(zip(sites_df["site_id"], geoms, strict=True))
    return gpd.GeoDataFrame(frame, geometry=[where[s] for s in frame["site_id"]], crs=ctx.crs)


def _money_kpis(ctx: _Context, boq: pd.DataFrame, opex: gpd.GeoDataFrame, people: int) -> dict[str, Any]:
    """Capital (the BOQ), yearly operating cost, and the life-cycle cost: capital plus operating cost discounted to
    the first year at the catalog's rate."""
    rate = float(ctx.cat.backhaul["discount_rate"])
    start = _start_year(ctx.p)
    n = round(ctx.years)
    yearly = np.zeros(n)
    if len(opex):
        per_year = opex.groupby("year")["amount_vnd"].sum()
        for y, v in per_year.items():
            yearly[int(y) - start] = float(v)
    capex = int(boq["amount_vnd"].sum()) if len(boq) else 0
    lcc = capex + present_value(yearly, rate)
    return {
        "capex_vnd": capex,
        "opex_vnd_per_year": round(yearly[0]) if n else 0,
        "opex_vnd": round(yearly.sum()),
        "opex_by_year_vnd": ", ".join(f"{start + k}: {int(v):,}" for k, v in enumerate(yearly)),
        "lcc_vnd": round(lcc),
        "lcc_per_person_vnd": round(lcc / people) if people else 0,
        "lcc_years": n,
        "discount_rate": rate,
    }


def _site_rows(ctx: _Context, site_cols: dict[int, list[int]], bh: pd.DataFrame, a: _Assignment) -> pd.DataFrame:
    """One row per chosen site: profiles, reach, backhaul, cost (AP per profile; mast, solar, backhaul once)."""
    cat, rows = ctx.cat, []
    for k, (j, cols) in enumerate(site_cols.items()):
        row = ctx.cand.iloc[j]
        b = bh.iloc[k]
        profs = [ctx.profiles[int(ctx.col_prof[c])] for c in cols]
        height = pd.to_numeric(row["height_m"], errors="coerce")
        needs_mast = any(not (height >= prof.height_m) for _, prof, _, _ in profs)  # NaN height -> mast
        needs_solar = not bool(row["has_power"])
        sectored = [(prof, ctx.col_az[c]) for c, (_, prof, _, _) in zip(cols, profs, strict=True) if prof.sectored]
        azs = sectored[0][1] if sectored else ()
        cost = (
            sum(cat.price(item) * prof.n_sectors for _, prof, item, _ in profs)
            + needs_mast * cat.price("MAST.15M")
            + needs_solar * cat.price("POWER.SOLAR")
            + int(b["cost_vnd"])
        )
        rows.append(
            {
                "site_id": row["site_id"],
                "name": row["name"],
                "kind": row["kind"],
                "profile": " + ".join(name for name, *_ in profs),
                "reach_m": round(max(float(reach) for *_, reach in profs), 1),
                "backhaul": b["option"],
                "cost_vnd": int(cost),
                "capex_vnd": int(cost - b["opex_vnd"]),
                "people_covered": round(float(a.site_people[k])),
                "technology": "public_wifi",
                # the first sectored profile's sectors (omni: no azimuth)
                "azimuth_deg": azs[0] if azs else np.nan,
                "azimuths_deg": ", ".join(f"{x:g}" for x in azs),
                "beamwidth_deg": sectored[0][0].beamwidth_deg if sectored else 360.0,
                "n_sectors": sum(prof.n_sectors for _, prof, _, _ in profs),
                "capacity_mbps": round(float(a.site_capacity_mbps[k]), 1),
                "demand_mbps": round(float(a.site_demand_mbps[k]), 1),
                "households_los": int(a.site_households_los[k]),
                "households_nlos": int(a.site_households_nlos[k]),
                "ap_item": tuple(item for _, prof, item, _ in profs for _ in range(prof.n_sectors)),
                "needs_mast": needs_mast,
                "needs_solar": needs_solar,
            }
        )
    return pd.DataFrame(rows, columns=[*SITE_COLUMNS, "ap_item", "needs_mast", "needs_solar"])


def _footprints(ctx: _Context) -> gpd.GeoDataFrame:
    """One footprint per chosen column, cut by line of sight over the elevation raster when there is one."""
    p, cand, profiles = ctx.p, ctx.cand, ctx.profiles
    land_layer = ctx.L["land"]
    land = shapely.union_all(np.asarray(land_layer.geometry)) if land_layer is not None and len(land_layer) else None
    fp_geoms, fp_unchecked, fp_los = [], 0, []
    sel = sorted(set(ctx.selected))  # a column with two APs (two channels) has one footprint
    with open_elevation(p.elevation) if p.elevation is not None else nullcontext(None) as dem:
        for c in sel:
            _, prof, _, reach = profiles[int(ctx.col_prof[c])]
            site = cand.geometry.iloc[int(ctx.col_site[c])]
            shape, off = footprint(
                site, reach, land=land, elevation=dem, ap_height_m=prof.height_m,
                client_height_m=prof.client_height_m, crs=ctx.crs, settings=ctx.cfg,
            )  # fmt: skip
            r = _reaches(prof)
            if prof.sectored and ctx.col_az[c]:  # the wedges: main lobes to the reach, back lobes to theirs
                shape = shape.intersection(
                    sector_footprint(site, ctx.col_az[c], prof.beamwidth_deg, reach, r[False, False, True])
                )
            serves_los = ctx.los_cov is not None and ctx.los_cov[:, c].nnz > 0
            if serves_los and dem is not None:  # open ground: line of sight as far as the terrain and clutter allow
                far, off_los = footprint(
                    site, r[True, False, False], land=land, elevation=dem, ap_height_m=prof.height_m,
                    client_height_m=prof.client_height_m, crs=ctx.crs, settings=ctx.cfg, f_mhz=prof.freq_mhz,
                    clutter_m=prof.los_clutter_m,
                )  # fmt: skip
                if prof.sectored and ctx.col_az[c]:
                    far = far.intersection(
                        sector_footprint(
                            site, ctx.col_az[c], prof.beamwidth_deg, r[True, False, False], r[True, False, True]
                        )
                    )
                shape = shape.union(far)
                off += off_los
            fp_geoms.append(shape)
            fp_los.append(serves_los)
            fp_unchecked += off
    if fp_unchecked:
        ctx.messages.append(
            f"Footprints: line of sight not checked at {fp_unchecked} ray point(s) off the elevation raster (drawn "
            "to full reach). / Vùng phủ: chưa kiểm tra tầm nhìn thẳng ở các điểm ngoài dữ liệu độ cao."
        )
    return gpd.GeoDataFrame(
        {"site_id": [cand["site_id"].iloc[int(ctx.col_site[c])] for c in sel],
         "profile": [profiles[int(ctx.col_prof[c])][0] for c in sel],
         "reach_m": [round(float(profiles[int(ctx.col_prof[c])][3]), 1) for c in sel],
         "azimuth_deg": [ctx.col_az[c][0] if ctx.col_az[c] else np.nan for c in sel],
         "beamwidth_deg": [profiles[int(ctx.col_prof[c])][1].beamwidth_deg for c in sel],
         "n_sectors": [profiles[int(ctx.col_prof[c])][1].n_sectors for c in sel],
         # the reach on line of sight where the footprint serves open ground on it (NaN: non-line-of-sight only)
         "reach_los_m": [round(_reaches(profiles[int(ctx.col_prof[c])][1])[True, False, False], 1) if los else np.nan
                         for c, los in zip(sel, fp_los, strict=True)],
         "los_checked": p.elevation is not None},
        geometry=fp_geoms, crs=ctx.crs,
    )  # fmt: skip


def _kpis(
    ctx: _Context, boq: pd.DataFrame, bh: pd.DataFrame, sites_df: pd.DataFrame, sids: list[Any], a: _Assignment
) -> dict[str, Any]:
    """The plan's KPIs: people served (households whose demand fits an AP, each once), Mbps, communes connected,
    money, the selection's proof."""
    pts = ctx.points
    served = np.array([bool(s) for s in a.served_by], dtype=bool)
    homes = (pts["kind"] == "household").to_numpy()
    people = pts["people"].to_numpy(dtype=float)
    total = int(boq["amount_vnd"].sum()) if len(boq) else 0
    newly = round(float(people[served].sum()))
    unserved_people = int(ctx.unserved["population"].sum())
    mbps = pts["demand_mbps"].to_numpy(dtype=float)
    # a commune HQ is connected when it has fibre, lies in good coverage or is one of the chosen wifi sites
    hq_all = ctx.hq_all
    hq_kpis = commune_hq_kpis(hq_all, ctx.hq_ok | hq_all["site_id"].isin(sids).to_numpy(), ctx.L["boundaries"])
    mix = pd.Series(list(bh["option"])).value_counts()
    return {
        "people_unserved": unserved_people,
        "people_newly_covered": newly,
        "people_in_footprint": round(float(people[a.in_footprint].sum())),
        "households_served": int((served & homes).sum()),
        "households_total": int(homes.sum()),
        "institutions_served": int((served & ~homes).sum()),
        "institutions_total": int((~homes).sum()),
        "demand_mbps": round(float(mbps.sum()), 1),
        "mbps_delivered": round(float(mbps[served].sum()), 1),
        "share_unserved_reached": round(newly / unserved_people, 4) if unserved_people else 0.0,
        **hq_kpis,
        "communes_hq_forced": ", ".join(map(str, ctx.hq_needed)),
        "cost_vnd": total,
        "cost_per_person_vnd": round(total / newly) if newly else 0,
        "selection_cost_vnd": int(sites_df["cost_vnd"].sum()) if len(sites_df) else 0,
        "selection_status": ctx.status,
        "selection_gap": round(ctx.gap, 6),
        "selection_bound": ctx.bound,
        "n_sites": len(sids),
        "n_aps": len(ctx.selected),
        # radios: an omni AP is one, a sectored set one per sector
        "n_radios": int(sum(ctx.profiles[int(ctx.col_prof[c])][1].n_sectors for c in ctx.selected)),
        "households_served_los": int(a.site_households_los.sum()),
        "households_served_nlos": int(a.site_households_nlos.sum()),
        "capacity_aps": ctx.capacity_aps,
        "backhaul_mix": ", ".join(f"{k}: {n}" for k, n in sorted(mix.items())),
        "los_checked": ctx.p.elevation is not None,
    }
