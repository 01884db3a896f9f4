"""The body of :func:`gisplan.wifi.plan_wifi`: demand, candidates, backhaul, coverage matrix, selection, outputs."""

from __future__ import annotations

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
from gisplan.wifi.backhaul import backhaul_fees, backhaul_items, backhaul_options, chosen_backhaul
from gisplan.wifi.demand import UNSERVED_COLUMNS, as_geometry, classify, served_mask
from gisplan.wifi.households import INSTITUTION_KINDS, households_in_settlements, institutions_demand
from gisplan.wifi.money import horizon_years, present_value
from gisplan.wifi.network import relay_forest
from gisplan.wifi.params import Progress, WifiParams
from gisplan.wifi.radio import RadioValidityWarning, downlink_rate_mbps, line_of_sight, open_elevation, reach_m
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


def _coverage_matrix(
    demand: gpd.GeoDataFrame, cand: gpd.GeoDataFrame, profiles: list[Any], elevation: Any, crs: Any
) -> tuple[sp.csc_matrix, int]:
    """Demand x (candidate, profile) boolean matrix (column ``j * len(profiles) + q``) and the number of
    site-demand links whose line of sight could not be checked (their path leaves the elevation raster).

    A demand point is in reach within the profile's outdoor reach, or for an ``indoor`` point (a household) its
    reach with the building entry loss (:func:`indoor_reach_m`).

    Distances are in the metric CRS; with ``elevation`` every pair within reach is checked in one
    :func:`gisplan.wifi.radio.line_of_sight` call per profile (the raster opened once).  Unchecked links count as in
    range, as without a raster.
    """
    n_p = len(profiles)
    rows, cols = [], []
    unchecked: set[tuple[int, int]] = set()
    tree = shapely.STRtree(np.asarray(demand.geometry))
    cxy = shapely.get_coordinates(np.asarray(cand.geometry))
    dxy = shapely.get_coordinates(np.asarray(demand.geometry))
    indoor = demand["indoor"].to_numpy(dtype=bool) if "indoor" in demand.columns else np.zeros(len(demand), dtype=bool)
    with open_elevation(elevation) if elevation is not None else nullcontext(None) as dem:
        for q, (_, prof, _, reach) in enumerate(profiles):
            ci, di = tree.query(np.asarray(cand.geometry), predicate="dwithin", distance=reach)
            limit = np.where(indoor[di], indoor_reach_m(prof), reach)
            inside = np.hypot(*(cxy[ci] - dxy[di]).T) <= limit
            ci, di = ci[inside], di[inside]
            keep = np.ones(len(ci), dtype=bool)
            if dem is not None and len(ci):
                far = np.flatnonzero(np.hypot(*(cxy[ci] - dxy[di]).T) > 1.0)  # a client at the mast sees it
                los = line_of_sight(
                    cxy[ci[far]], dxy[di[far]], h_a_m=prof.height_m, h_b_m=prof.client_height_m, elevation=dem,
                    crs=crs,
                )  # fmt: skip
                keep[far] = los.clear | ~los.checked
                off = far[~los.checked]
                unchecked.update(zip(ci[off].tolist(), di[off].tolist(), strict=True))
            rows.append(di[keep])
            cols.append(ci[keep] * n_p + q)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    matrix = sp.csc_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(len(demand), len(cand) * n_p), dtype=bool)
    return matrix, len(unchecked)


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
    col_site: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_prof: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_cost: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    col_total: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    selected: list[int] = field(default_factory=list)
    capacity_aps: int = 0
    relay_clearance: list[float] = field(default_factory=list)
    status: str = "optimal"
    gap: float = 0.0
    bound: float | None = None
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
) -> Plan:
    """Plan wifi sites: the steps of :mod:`gisplan.wifi.planner`'s module notes, one function each."""
    cat = catalog
    crs, L = _prepare(layers, p)
    years = float(
        cat.param("satellite_horizon_years") if p.satellite_horizon_years is None else p.satellite_horizon_years
    )
    ctx = _Context(cat=cat, p=p, cfg=DEFAULT_SETTINGS if settings is None else settings, crs=crs, L=L, years=years)
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
    ctx.options = backhaul_options(
        ctx.cand, fibre_sites=_fibre_sites(L["sites"]), land=L["land"], graph=graph, catalog=cat,
        elevation=p.elevation, horizon_years=years, settings=ctx.cfg, start_year=_start_year(p),
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
    ctx.points = points.reset_index(drop=True)
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
    ap_price = np.array([cat.price(item) for _, _, item, _ in profiles], dtype=np.int64)
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
    if len(demand):
        cov, unchecked = _coverage_matrix(demand, ctx.cand, ctx.profiles, p.elevation, ctx.crs)
    ctx.cov = cov
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
    budget, the rounds or the channels run out).

    Each round takes the demand points not served (in a full AP's reach, or in nobody's) and covers them again
    (:func:`cover_all`, or :func:`maximize_coverage` within the budget left): a column at a site already chosen
    costs its AP only (mast, power and backhaul are there), and one column serves at most
    ``settings.max_aps_per_column`` APs (non-overlapping channels).  Heuristic: the coverage stage before it is
    exact, this stage is not (its figures are reported apart: ``capacity_aps``).
    """
    p, cfg, cov = ctx.p, ctx.cfg, ctx.cov
    if cov is None or not ctx.selected:
        return
    cf = 1.0 + float(ctx.cat.param("contingency_share"))
    ap_price = np.array([ctx.cat.price(item) for _, _, item, _ in ctx.profiles], dtype=np.int64)[ctx.col_prof]
    w = ctx.points["weight"].to_numpy(dtype=float)
    institution = ctx.points["kind"].to_numpy() != "household"
    for _ in range(cfg.capacity_rounds):
        site_cols = _site_columns(ctx)
        sids = [ctx.cand["site_id"].iloc[j] for j in site_cols]
        served = np.array([bool(x) for x in _assign(ctx, site_cols, sids).served_by], dtype=bool)
        short = np.flatnonzero(~served & ((w > 0) | institution) & (np.asarray(cov.sum(axis=1)).ravel() > 0))
        if len(short) == 0:
            return
        count = np.bincount(np.asarray(ctx.selected, dtype=np.int64), minlength=cov.shape[1])
        chosen_site = np.isin(ctx.col_site, list(site_cols))
        cost = np.where(chosen_site, ap_price, ctx.col_cost)
        total = np.where(chosen_site, np.ceil(ap_price * cf) + cfg.rounding_vnd_per_site, ctx.col_total)
        open_cols = np.flatnonzero(count < cfg.max_aps_per_column)
        sub = cov[short][:, open_cols]
        useful = np.asarray(sub.sum(axis=0)).ravel() > 0
        if not useful.any():
            return
        open_cols, sub = open_cols[useful], sub[:, useful]
        if p.budget_vnd is None:
            res = cover_all(sub, site_costs=cost[open_cols], time_limit_s=p.time_limit_s, settings=cfg)
        else:
            left = p.budget_vnd - _plan_total(ctx)
            if left < total[open_cols].min() or not (w[short] > 0).any():
                return
            res = maximize_coverage(
                sub, w[short], budget=float(left), site_costs=total[open_cols], time_limit_s=p.time_limit_s,
                settings=cfg,
            )  # fmt: skip
        if len(res.selected) == 0:
            return
        ctx.selected = sorted([*ctx.selected, *(int(c) for c in open_cols[res.selected])])
        ctx.capacity_aps += len(res.selected)
    ctx.messages.append(
        f"Capacity: stopped after {cfg.capacity_rounds} rounds of added APs; some demand in reach is still not "
        f"served. / Dung lượng: còn nhu cầu trong vùng phủ chưa được phục vụ sau {cfg.capacity_rounds} vòng."
    )


def _plan_total(ctx: _Context) -> int:
    """What the chosen columns add to the BOQ total: a site's first column in full, further APs at AP price."""
    cf = 1.0 + float(ctx.cat.param("contingency_share"))
    total, seen = 0, set()
    for c in ctx.selected:
        j = int(ctx.col_site[c])
        if j in seen:
            item = ctx.profiles[int(ctx.col_prof[c])][2]
            total += math.ceil(ctx.cat.price(item) * cf) + ctx.cfg.rounding_vnd_per_site
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
        "wifi_sites": wifi_sites,
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
    """Who serves each demand point within the chosen APs' airtime, and what each chosen site carries."""

    served_by: list[str]  # per demand point: the serving site ("" when none)
    in_footprint: np.ndarray  # per demand point: inside a chosen AP's reach
    rate_mbps: np.ndarray  # per demand point: throughput of its serving AP at its distance (0 when unserved)
    site_people: np.ndarray  # per chosen site
    site_demand_mbps: np.ndarray
    site_capacity_mbps: np.ndarray


def _assign(ctx: _Context, site_cols: dict[int, list[int]], sids: list[Any]) -> _Assignment:
    """Serve each demand point from one chosen AP within its airtime.

    A point's throughput from an AP is the link-budget rate at its distance (:func:`downlink_rate_mbps`, indoors
    with the building entry loss); it takes ``demand / rate`` of the AP's airtime, and an AP's airtime adds up to
    1.  Points with fewest APs in reach are served first, each by the fastest AP with airtime left; a point in
    reach whose demand fits no AP is in the footprint but not served.  Every point is counted once, by one site.
    """
    pts = ctx.points
    n = len(pts) if pts is not None else 0
    k_of_site = {j: k for k, j in enumerate(site_cols)}
    cols = [c for cs in site_cols.values() for c in cs]
    people = np.zeros(len(site_cols))
    demand_site = np.zeros(len(site_cols))
    served_by, rate_pt = [""] * n, np.zeros(n)
    if ctx.cov is None or not cols or n == 0:
        return _Assignment(served_by, np.zeros(n, dtype=bool), rate_pt, people, demand_site, np.zeros(len(site_cols)))
    xy = shapely.get_coordinates(np.asarray(pts.geometry))
    indoor = pts["indoor"].to_numpy(dtype=bool)
    need_mbps = pts["demand_mbps"].to_numpy(dtype=float)
    m = ctx.cov[:, cols].toarray()
    rate = np.zeros(m.shape)
    for t, c in enumerate(cols):
        prof = ctx.profiles[int(ctx.col_prof[c])][1]
        sxy = shapely.get_coordinates(ctx.cand.geometry.iloc[int(ctx.col_site[c])])[0]
        rows = np.flatnonzero(m[:, t])
        rate[rows, t] = downlink_rate_mbps(prof, np.hypot(*(xy[rows] - sxy).T), indoor=indoor[rows])
    # in reach but below the slowest MCS after losses (LOS cut, rounding at the edge): no service from that AP
    m &= rate > 0
    airtime = np.ones(len(cols))
    used = np.zeros(len(cols))
    served_mbps = np.zeros(len(cols))
    options = m.sum(axis=1)
    household = (pts["kind"] == "household").to_numpy()
    for i in np.lexsort((np.arange(n), options, household)):  # institutions first, then the fewest options
        if options[i] == 0:
            continue
        for t in np.flatnonzero(m[i])[np.argsort(-rate[i, m[i]], kind="stable")]:
            share = need_mbps[i] / rate[i, t]
            if share <= airtime[t] + 1e-12:
                airtime[t] -= share
                used[t] += share
                served_mbps[t] += need_mbps[i]
                k = k_of_site[int(ctx.col_site[cols[t]])]
                served_by[i], rate_pt[i] = str(sids[k]), rate[i, t]
                people[k] += float(pts["people"].iloc[i])
                demand_site[k] += need_mbps[i]
                break
    capacity = np.zeros(len(site_cols))
    for t, c in enumerate(cols):
        k = k_of_site[int(ctx.col_site[c])]
        # what the AP delivers at full airtime with the mix of clients it serves (its fastest rate when idle)
        top = float(rate[m[:, t], t].max()) if m[:, t].any() else 0.0
        capacity[k] += served_mbps[t] / used[t] if used[t] > 0 else top
    return _Assignment(served_by, m.any(axis=1), rate_pt, people, demand_site, capacity)


def _settlement_figures(ctx: _Context, a: _Assignment) -> pd.DataFrame:
    """Per unserved settlement: households, people and Mbps demanded, people served, Mbps delivered, sites."""
    pts = ctx.points.assign(served_by=a.served_by, served=[bool(s) for s in a.served_by])
    homes = pts[pts["kind"] == "household"]
    g = homes.groupby("settlement_id", sort=False)
    out = pd.DataFrame(
        {
            "demand_mbps": g["demand_mbps"].sum(),
            "people_covered": g.apply(lambda f: f.loc[f["served"], "people"].sum(), include_groups=False),
            "mbps_delivered": g.apply(lambda f: f.loc[f["served"], "demand_mbps"].sum(), include_groups=False),
            "covered_by": g["served_by"].agg(lambda s: ", ".join(sorted({x for x in s if x}))),
        }
    )
    ids = ctx.unserved["settlement_id"].astype(str)
    out = out.reindex(ids).reset_index(drop=True)
    out["demand_mbps"] = out["demand_mbps"].fillna(0.0).round(1)
    out["people_covered"] = out["people_covered"].fillna(0.0).round().astype(np.int64)
    out["mbps_delivered"] = out["mbps_delivered"].fillna(0.0).round(1)
    out["covered_by"] = out["covered_by"].fillna("")
    return out


def _backhaul_network(
    ctx: _Context, bh: pd.DataFrame, sel_sites: list[int], a: _Assignment
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chosen sites' backhaul as a network (:func:`gisplan.wifi.network.relay_forest`): a site relays through
    another where that is cheaper than its own backhaul, within the links' capacities; returns the backhaul rows
    (relayed sites rewritten as "relay" or "radio" to their parent) and the forest table."""
    cat, b = ctx.cat, ctx.cat.backhaul
    if len(bh) == 0:
        return bh, pd.DataFrame(columns=["parent", "link", "length_m", "cost", "load_mbps", "capacity_mbps", "root"])
    cap = {"fibre": np.inf, "submarine": np.inf, "radio": float(b["ptp_5g_capacity_mbps"]),
           "radio_long": float(b["ptp_long_capacity_mbps"]),
           "satellite": float(b["satellite_capacity_mbps"])}  # fmt: skip
    xy = shapely.get_coordinates(np.asarray(ctx.cand.geometry.iloc[sel_sites]))
    heights = pd.to_numeric(ctx.cand["height_m"].iloc[sel_sites], errors="coerce").to_numpy(dtype=float)
    heights = np.where(np.isfinite(heights), np.maximum(heights, ctx.cfg.default_mast_m), ctx.cfg.default_mast_m)
    blocked: set[tuple[int, int]] = set()
    margins: dict[tuple[int, int], float] = {}
    relay_max_m = float(b["relay_max_km"]) * 1000.0

    def check(todo: list[tuple[int, int]]) -> set[tuple[int, int]]:
        """Check ``todo`` pairs over the raster; record their clearance; return those found blocked."""
        i, j = np.array(todo).T
        los = line_of_sight(
            xy[i], xy[j], h_a_m=heights[i], h_b_m=heights[j], elevation=ctx.p.elevation, crs=ctx.crs,
            f_mhz=float(b["ptp_5g_f_mhz"]), clutter_m=float(b["clutter_m"]),
        )  # fmt: skip
        margin = np.where(los.checked, los.clearance_m if los.clearance_m is not None else np.nan, np.nan)
        margins.update(zip(todo, margin.tolist(), strict=True))
        return {pq for pq, ok, seen in zip(todo, los.clear, los.checked, strict=True) if seen and not ok}

    if ctx.p.elevation is not None and len(xy) > 1:  # every short relay at once (few samples each)
        a_i, b_j = shapely.STRtree(shapely.points(xy)).query(
            shapely.points(xy), predicate="dwithin", distance=relay_max_m
        )
        short = [(int(i), int(j)) for i, j in zip(a_i, b_j, strict=True) if i < j]
        if short:
            blocked |= check(short)
    while True:  # the relays the forest uses are checked over the raster; a blocked one is barred and the forest redone
        net = relay_forest(
            xy, direct_cost=bh["cost_vnd"].to_numpy(dtype=float), demand_mbps=a.site_demand_mbps,
            direct_capacity_mbps=[cap[o] for o in bh["option"]], relay_max_m=float(b["relay_max_km"]) * 1000.0,
            ptp_max_m=float(b["ptp_5g_max_km"]) * 1000.0, relay_cost=float(cat.price("RELAY.5G")),
            ptp_cost=float(cat.price("PTP.5G")), relay_capacity_mbps=float(b["relay_capacity_mbps"]),
            ptp_capacity_mbps=float(b["ptp_5g_capacity_mbps"]), blocked=blocked,
        )  # fmt: skip
        if ctx.p.elevation is None:
            break
        pairs = [(min(k, int(q)), max(k, int(q))) for k, q in enumerate(net["parent"]) if q >= 0]
        todo = [pq for pq in pairs if pq not in margins]
        if not todo:
            break
        newly = check(todo)
        if not newly:
            break
        blocked |= newly
    ctx.relay_clearance = [
        margins.get((min(k, int(q)), max(k, int(q))), np.nan) if q >= 0 else np.nan for k, q in enumerate(net["parent"])
    ]
    out = bh.copy()
    ids = out["site_id"].tolist()
    for k in np.flatnonzero(net["parent"].to_numpy() >= 0):
        par = int(net["parent"].iloc[k])
        option = "relay" if net["link"].iloc[k] == "relay" else "radio"
        price = int(cat.price("RELAY.5G" if option == "relay" else "PTP.5G"))
        idx = out.index[k]
        why = texts("backhaul.relay", peer=ids[par])
        out.loc[idx, ["option", "peer_id", "reason", "reason_vi"]] = [option, ids[par], why["en"], why["vi"]]
        out.loc[idx, ["peer_x", "peer_y", "length_m", "land_m"]] = [*xy[par], float(net["length_m"].iloc[k]), 0.0]
        out.loc[idx, ["capex_vnd", "opex_vnd", "cost_vnd"]] = [price, 0, price]
    over = net[net["load_mbps"] > net["capacity_mbps"] + 1e-9]
    if len(over):
        listed = ", ".join(str(ids[i]) for i in over.index[:20])
        ctx.messages.append(
            f"Backhaul: {len(over)} link(s) carry more than their capacity even on their own backhaul: {listed}. / "
            f"{len(over)} tuyến truyền dẫn vượt dung lượng."
        )
    return out, net


def _opex_lines(
    ctx: _Context, sites_df: pd.DataFrame, bh: pd.DataFrame, net: pd.DataFrame, geoms: list[Any]
) -> gpd.GeoDataFrame:
    """Yearly operating cost lines per chosen site over the horizon: satellite or VSAT fee (sites with their own
    satellite terminal), grid power of its APs and relay radios, maintenance as a share of its capital cost."""
    cat, b = ctx.cat, ctx.cat.backhaul
    start = _start_year(ctx.p)
    years = horizon_years(start, round(ctx.years))
    share = float(b["maintenance_share_per_year"])
    rows: list[dict[str, Any]] = []
    for k, site in enumerate(sites_df.itertuples(index=False)):
        row = bh.iloc[k]
        fees = backhaul_fees(row, years, licence_end_year=int(b["satellite_licence_end_year"]))
        watts = len(site.ap_item) * float(b["ap_power_w"]) + (float(b["relay_power_w"]) * 2 if row["option"] == "relay"
                                                              else 0.0)  # fmt: skip
        kwh = 0.0 if site.needs_solar else round(watts * 8760 / 1000, 3)
        for y in years:
            lines = [(code, qty) for fy, code, qty in fees if fy == y]
            if kwh:
                lines.append(("POWER.GRID", kwh))
            for code, qty in lines:
                price = cat.price(code)
                rows.append({"site_id": site.site_id, "year": y, "item_code": code, "quantity": qty,
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
        cost = (
            sum(cat.price(item) for _, _, item, _ in profs)
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
                "azimuth_deg": np.nan,  # omni antennas: no azimuth
                "capacity_mbps": round(float(a.site_capacity_mbps[k]), 1),
                "demand_mbps": round(float(a.site_demand_mbps[k]), 1),
                "ap_item": tuple(item for _, _, item, _ in profs),
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
    fp_geoms, fp_unchecked = [], 0
    sel = sorted(set(ctx.selected))  # a column with two APs (two channels) has one footprint
    with open_elevation(p.elevation) if p.elevation is not None else nullcontext(None) as dem:
        for c in sel:
            _, prof, _, reach = profiles[int(ctx.col_prof[c])]
            shape, off = footprint(
                cand.geometry.iloc[int(ctx.col_site[c])], reach, land=land, elevation=dem, ap_height_m=prof.height_m,
                client_height_m=prof.client_height_m, crs=ctx.crs, settings=ctx.cfg,
            )  # fmt: skip
            fp_geoms.append(shape)
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
        "capacity_aps": ctx.capacity_aps,
        "backhaul_mix": ", ".join(f"{k}: {n}" for k, n in sorted(mix.items())),
        "los_checked": ctx.p.elevation is not None,
    }
