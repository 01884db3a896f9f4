"""The body of :func:`gisplan.wifi.plan_wifi`: demand, candidates, backhaul, coverage matrix, selection, outputs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from gisplan._errors import PlanningError
from gisplan.catalog._catalog import Catalog
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
from gisplan.wifi.backhaul import backhaul_items, backhaul_options, chosen_backhaul
from gisplan.wifi.demand import UNSERVED_COLUMNS, as_geometry, classify, served_mask
from gisplan.wifi.params import Progress, WifiParams
from gisplan.wifi.radio import line_of_sight, open_elevation
from gisplan.wifi.siting import cover_all, maximize_coverage

#: VND per site kept out of the budget for the BOQ's rounding (AP, mast, solar lines and the contingency line).
_ROUNDING_VND_PER_SITE = 10


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
    site-settlement links whose line of sight could not be checked (their path leaves the elevation raster).

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
    with open_elevation(elevation) if elevation is not None else nullcontext(None) as dem:
        for q, (_, prof, _, reach) in enumerate(profiles):
            ci, di = tree.query(np.asarray(cand.geometry), predicate="dwithin", distance=reach)
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


def run(layers: Mapping[str, gpd.GeoDataFrame], p: WifiParams, *, catalog: Catalog, progress: Progress | None) -> Plan:
    cat = catalog
    crs, L = _prepare(layers, p)
    settlements, sites = L["settlements"], L["sites"]
    assert settlements is not None and sites is not None
    messages: list[str] = []
    _tick(progress, 0.05, "demand")
    years = float(
        cat.param("satellite_horizon_years") if p.satellite_horizon_years is None else p.satellite_horizon_years
    )
    served = served_mask(settlements, L["coverage"], p.coverage_technologies, p.min_quality)
    focus = as_geometry(p.focus, crs, "focus")
    in_focus = (
        np.ones(len(settlements), dtype=bool)
        if focus is None
        else np.asarray(shapely.intersects(focus, np.asarray(settlements.geometry)))
    )
    word_vi = {"population": "dân số", "households": "số hộ"}[p.weight]
    if p.weight not in settlements.columns:
        raise PlanningError(
            f"the settlements layer has no {p.weight!r} column for weight={p.weight!r}; add it or choose the other "
            f"weight / Lớp điểm dân cư thiếu cột {word_vi}"
        )
    weight = pd.to_numeric(settlements[p.weight], errors="coerce").fillna(0).to_numpy(dtype=float)
    no_weight = ~served & in_focus & ~(weight > 0)
    if no_weight.any():
        ids = settlements.loc[no_weight, "settlement_id"].astype(str).tolist()
        listed = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        if not (~served & in_focus & (weight > 0)).any():
            raise PlanningError(
                f"{len(ids)} settlement(s) lie outside good coverage but none has a {p.weight} above 0 ({listed}); "
                f"fill the {p.weight!r} column or use the other weight / Các điểm dân cư chưa được phủ sóng đều "
                f"thiếu số liệu {word_vi}"
            )
        messages.append(
            f"{len(ids)} settlement(s) outside good coverage have no {p.weight} (empty or 0) and are left out of the "
            f"plan: {listed}. / {len(ids)} điểm dân cư chưa được phủ sóng không có số liệu {word_vi}, không được tính."
        )
    demand = settlements[~served & in_focus & (weight > 0)].copy()
    if "has_fibre" not in sites.columns:
        sites = sites.assign(has_fibre=False)  # an optional column of the schema (default False)
    fibre_sites = sites[sites["has_fibre"].astype("boolean").fillna(False).astype(bool)]
    classes = classify(
        demand,
        land=L["land"],
        fibre_sites=fibre_sites,
        exchanges=sites[sites["kind"] == "exchange"],
        border=as_geometry(p.border, crs, "border"),
        border_distance_m=p.border_distance_km * 1000.0,
        towns=settlements[settlements["kind"] == "town"] if "kind" in settlements.columns else None,
    )
    unserved = demand.reindex(columns=["settlement_id", "name", "population", "households", "commune_code"]).copy()
    unserved = pd.concat([unserved, classes], axis=1)
    unserved["weight"] = pd.to_numeric(demand[p.weight], errors="coerce").fillna(0).to_numpy(dtype=float)
    unserved["covered_by"] = ""
    unserved = gpd.GeoDataFrame(unserved.loc[:, list(UNSERVED_COLUMNS)], geometry=list(demand.geometry), crs=crs)
    unserved = unserved.reset_index(drop=True)
    demand = demand.reset_index(drop=True)

    # commune HQs to connect: no fibre and outside good coverage
    hq_all = sites[sites["kind"] == "commune_hq"]
    hq_ok = hq_all["has_fibre"].astype("boolean").fillna(False).astype(bool).to_numpy() | served_mask(
        hq_all, L["coverage"], p.coverage_technologies, p.min_quality
    )
    hq_needed = list(hq_all.loc[~hq_ok, "site_id"]) if p.connect_all_commune_hq else []
    if len(demand) == 0 and not hq_needed:
        where = " inside the focus area" if focus is not None else ""
        return _empty_plan(
            crs,
            unserved,
            p,
            f"No unserved settlement{where}: every settlement lies inside {'/'.join(p.coverage_technologies)} "
            f"coverage of quality '{p.min_quality}' or better, and every commune People's Committee is connected; "
            "nothing to build.",
            f"Không có điểm dân cư nào chưa được phục vụ{' trong vùng chọn' if focus is not None else ''}: mọi điểm "
            f"đều có vùng phủ {'/'.join(p.coverage_technologies)} chất lượng '{p.min_quality}' trở lên và mọi UBND xã "
            "đã được kết nối; không cần xây dựng.",
        )

    _tick(progress, 0.15, "candidates")
    profiles = _profiles(cat, p.profiles)
    max_reach = max(r for *_, r in profiles)
    cand = _candidates(sites, p, crs, demand, max_reach)
    no_power = cand.loc[~cand["has_power"], "site_id"].astype(str).tolist()
    if no_power and p.require_power:
        messages.append(
            f"{len(no_power)} candidate site(s) without mains power excluded (require_power): {', '.join(no_power)}. "
            f"/ Loại {len(no_power)} vị trí không có điện lưới: {', '.join(no_power)}."
        )
        dropped_hq = [s for s in hq_needed if s in set(no_power)]
        hq_needed = [s for s in hq_needed if s not in set(no_power)]
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

    _tick(progress, 0.3, "backhaul")
    graph = _road_graph(L["roads"], cat, messages)
    options = backhaul_options(
        cand, fibre_sites=fibre_sites, land=L["land"], graph=graph, catalog=cat, elevation=p.elevation,
        horizon_years=years,
    )  # fmt: skip
    best = chosen_backhaul(options)

    _tick(progress, 0.5, "coverage")
    n_p = len(profiles)
    heights = pd.to_numeric(cand["height_m"], errors="coerce").to_numpy(dtype=float)
    col_site = np.repeat(np.arange(len(cand)), n_p)
    col_prof = np.tile(np.arange(n_p), len(cand))
    ap_price = np.array([cat.price(item) for _, _, item, _ in profiles], dtype=np.int64)
    prof_h = np.array([pr.height_m for _, pr, _, _ in profiles])
    needs_mast = ~(heights[col_site] >= prof_h[col_prof])  # NaN height -> mast
    needs_solar = ~cand["has_power"].to_numpy(dtype=bool)[col_site]
    bh_cost = best.loc[cand["site_id"], "cost_vnd"].to_numpy(dtype=np.int64)[col_site]
    col_cost = (
        ap_price[col_prof] + needs_mast * cat.price("MAST.15M") + needs_solar * cat.price("POWER.SOLAR") + bh_cost
    ).astype(np.int64)
    cov, unchecked = _coverage_matrix(demand, cand, profiles, p.elevation, crs) if len(demand) else (None, 0)
    if unchecked:
        messages.append(
            f"Line of sight not checked for {unchecked} site-settlement link(s) whose path leaves the elevation "
            "raster (counted as in range); use a raster that covers the whole area. / Chưa kiểm tra tầm nhìn thẳng "
            f"cho {unchecked} cặp điểm phát - điểm dân cư nằm ngoài dữ liệu độ cao."
        )
    if p.elevation is None:
        messages.append(
            "Line of sight not checked (no elevation raster): coverage is range only. "
            "/ Chưa kiểm tra tầm nhìn thẳng (không có dữ liệu độ cao)."
        )
    w = unserved["weight"].to_numpy(dtype=float)

    # forced commune HQs: their best-covering column
    forced_cols: list[int] = []
    ids = cand["site_id"].tolist()
    for sid in hq_needed:
        j = ids.index(sid)
        colsj = list(range(j * n_p, (j + 1) * n_p))
        gain = [float(w[cov[:, c].nonzero()[0]].sum()) if cov is not None else 0.0 for c in colsj]
        forced_cols.append(min(colsj, key=lambda c: (-gain[c - j * n_p], col_cost[c])))
    forced_cost = int(col_cost[forced_cols].sum()) if forced_cols else 0
    if forced_cols:
        messages.append(
            f"{len(forced_cols)} commune People's Committee site(s) without fibre or good coverage are connected "
            f"(connect_all_commune_hq): {', '.join(map(str, hq_needed))}. / Kết nối {len(forced_cols)} UBND xã."
        )

    _tick(progress, 0.6, "selection")
    # The budget covers the BOQ total: each site's cost plus the catalog's contingency, and a reserve for the
    # BOQ's rounding (amounts per line and contingency per group; quantities summed per group then rounded to
    # 3 decimals, which for an item priced per km such as SUB.CABLE is worth up to 0.0005 km x its price).
    cf = 1.0 + float(cat.param("contingency_share"))
    pct = f"{(cf - 1.0) * 100:g}%"
    reserve = np.array(
        [
            _ROUNDING_VND_PER_SITE
            + sum(
                math.ceil((0.0005 * cat.price(code) + 1.0) * cf)
                for code, qty in backhaul_items(best.loc[sid], horizon_years=years)
                if qty != round(qty)
            )
            for sid in cand["site_id"]
        ],
        dtype=np.int64,
    )[col_site]
    col_total = (np.ceil(np.round(col_cost * cf, 6)) + reserve).astype(np.int64)  # what a column adds to the total
    forced_total = int(col_total[forced_cols].sum()) if forced_cols else 0
    if p.budget_vnd is not None and forced_total > p.budget_vnd:
        raise PlanningError(
            f"the budget {p.budget_vnd:,} VND is below the cost of connecting the commune People's Committees "
            f"({forced_total:,} VND with {pct} contingency, for {', '.join(map(str, hq_needed))}); raise the "
            "budget or set connect_all_commune_hq=False / Ngân sách thấp hơn chi phí kết nối các UBND xã "
            f"({forced_total:,} VND); tăng ngân sách hoặc bỏ chọn kết nối UBND xã"
        )
    selected = list(forced_cols)
    status, gap, bound = "optimal", 0.0, None
    covered = np.zeros(len(demand), dtype=bool)
    if cov is not None and forced_cols:
        covered = np.asarray(cov[:, forced_cols].sum(axis=1)).ravel() > 0
    free_cols = np.flatnonzero(~np.isin(col_site, col_site[forced_cols]))
    rest = np.flatnonzero(~covered & (w > 0))
    sub = cov[rest][:, free_cols] if cov is not None and len(rest) and len(free_cols) else None
    useful = np.asarray(sub.sum(axis=0)).ravel() > 0 if sub is not None else np.zeros(0, dtype=bool)
    chosen_free, chosen_weight = np.zeros(0, dtype=np.int64), 0.0
    if sub is not None and useful.any():
        costs = col_cost[free_cols]
        if p.cover_all:
            res = cover_all(sub, site_costs=costs, time_limit_s=p.time_limit_s)
            need = forced_total + int(col_total[free_cols[res.selected]].sum())
            if p.budget_vnd is not None and need > p.budget_vnd:
                raise PlanningError(
                    f"covering every unserved settlement costs {need:,} VND with {pct} contingency, above the budget "
                    f"{p.budget_vnd:,} VND; raise the budget or set cover_all=False to cover the most people within "
                    f"it / Phủ toàn bộ cần {need:,} VND, vượt ngân sách {p.budget_vnd:,} VND"
                )
        else:
            assert p.budget_vnd is not None
            left = p.budget_vnd - forced_total
            totals = col_total[free_cols]
            cheapest = int(np.argmin(np.where(useful, totals, np.iinfo(np.int64).max)))
            res = None
            if left < totals[cheapest]:
                c = int(free_cols[cheapest])
                sid = ids[col_site[c]]
                need = forced_total + int(col_total[c])
                why = (
                    f"the budget {p.budget_vnd:,} VND{' (after the commune HQs)' if forced_cols else ''} is below "
                    f"the cheapest useful site: {sid} ({cand['name'].iloc[col_site[c]]}) with profile "
                    f"{profiles[col_prof[c]][0]} costs {int(col_cost[c]):,} VND including its "
                    f"{best.loc[sid, 'option']} backhaul, plus {pct} contingency"
                )
                if not forced_cols:
                    raise PlanningError(
                        f"{why}; raise the budget to at least {need:,} VND / Ngân sách không đủ cho điểm rẻ nhất "
                        f"({sid}); cần ít nhất {need:,} VND"
                    )
                messages.append(
                    f"Only the commune People's Committees are connected: {why}; {need:,} VND would add it. "
                    f"/ Ngân sách chỉ đủ kết nối các UBND xã; cần {need:,} VND để thêm điểm {sid}."
                )
            else:
                res = maximize_coverage(
                    sub, w[rest], budget=float(left), site_costs=totals, time_limit_s=p.time_limit_s
                )
        if res is not None:
            chosen_free, chosen_weight = free_cols[res.selected], float(res.covered_weight)
            status, gap, bound = res.status, float(res.gap), float(res.bound)
    selected += [int(c) for c in chosen_free]
    # bound and gap of the whole selection, forced commune HQs included, in the units of its objective: a lower
    # bound on selection_cost_vnd (cover_all) or an upper bound on the weight covered (budget)
    forced_weight = float(w[covered].sum())
    if p.cover_all:
        value = float(forced_cost + col_cost[chosen_free].sum())
        bound = float(forced_cost + (bound or 0.0))
        gap = (value - bound) / value if value > 0 else 0.0
    else:
        value = forced_weight + chosen_weight
        bound = forced_weight + (bound or 0.0)
        gap = (bound - value) / bound if bound > 0 else 0.0
    selected = sorted(set(selected))
    _tick(progress, 0.8, "outputs")
    return _outputs(locals())


def _outputs(v: dict[str, Any]) -> Plan:
    (cat, crs, p, cand, cov, selected, profiles, col_site, col_prof, best, options) = (
        v[k]
        for k in ("cat", "crs", "p", "cand", "cov", "selected", "profiles", "col_site", "col_prof", "best",
                  "options")
    )  # fmt: skip
    unserved, L, messages, years = v["unserved"], v["L"], v["messages"], v["years"]
    # one entry per chosen site; a site chosen with two profiles gets both APs but its mast, solar kit and
    # backhaul once
    site_cols: dict[int, list[int]] = {}
    for c in selected:
        site_cols.setdefault(int(col_site[c]), []).append(int(c))
    sel_sites = list(site_cols)
    sids = [cand["site_id"].iloc[j] for j in sel_sites]
    fp_sids = [cand["site_id"].iloc[int(col_site[c])] for c in selected]
    people = unserved["population"].to_numpy(dtype=float)
    # settlement -> nearest chosen site covering it (each settlement counted once)
    covered_by = [""] * len(unserved)
    per_site = np.zeros(len(sel_sites))
    if cov is not None and selected:
        pts = shapely.get_coordinates(np.asarray(unserved.geometry))
        sxy = shapely.get_coordinates(np.asarray(cand.geometry.iloc[sel_sites]))
        m = np.column_stack([cov[:, cols].toarray().any(axis=1) for cols in site_cols.values()])
        d = np.hypot(pts[:, None, 0] - sxy[None, :, 0], pts[:, None, 1] - sxy[None, :, 1])
        d = np.where(m, d, np.inf)
        for i in np.flatnonzero(m.any(axis=1)):
            k = int(np.argmin(d[i]))
            covered_by[i] = str(sids[k])
            per_site[k] += people[i]
    unserved = unserved.assign(covered_by=covered_by)
    land = shapely.union_all(np.asarray(L["land"].geometry)) if L["land"] is not None and len(L["land"]) else None
    bh = best.loc[sids] if sids else best.iloc[:0]
    site_rows, fp_geoms, links = [], [], []
    for k, (j, cols) in enumerate(site_cols.items()):
        row = cand.iloc[j]
        b = bh.iloc[k]
        profs = [profiles[int(col_prof[c])] for c in cols]
        height = pd.to_numeric(row["height_m"], errors="coerce")
        needs_mast = any(not (height >= prof.height_m) for _, prof, _, _ in profs)  # NaN height -> mast
        needs_solar = not bool(row["has_power"])
        cost = (
            sum(cat.price(item) for _, _, item, _ in profs)
            + needs_mast * cat.price("MAST.15M")
            + needs_solar * cat.price("POWER.SOLAR")
            + int(b["cost_vnd"])
        )
        site_rows.append(
            {
                "site_id": row["site_id"],
                "name": row["name"],
                "kind": row["kind"],
                "profile": " + ".join(name for name, *_ in profs),
                "reach_m": round(max(float(reach) for *_, reach in profs), 1),
                "backhaul": b["option"],
                "cost_vnd": int(cost),
                "capex_vnd": int(cost - b["opex_vnd"]),
                "people_covered": int(per_site[k]),
                "ap_item": tuple(item for _, _, item, _ in profs),
                "needs_mast": needs_mast,
                "needs_solar": needs_solar,
            }
        )
        links.append(link_geometry(b, row.geometry))
    fp_unchecked = 0
    with open_elevation(p.elevation) if p.elevation is not None else nullcontext(None) as dem:
        for c in selected:
            _, prof, _, reach = profiles[int(col_prof[c])]
            shape, off = footprint(
                cand.geometry.iloc[int(col_site[c])], reach, land=land, elevation=dem, ap_height_m=prof.height_m,
                client_height_m=prof.client_height_m, crs=crs,
            )  # fmt: skip
            fp_geoms.append(shape)
            fp_unchecked += off
    if fp_unchecked:
        messages.append(
            f"Footprints: line of sight not checked at {fp_unchecked} ray point(s) off the elevation raster (drawn "
            "to full reach). / Vùng phủ: chưa kiểm tra tầm nhìn thẳng ở các điểm ngoài dữ liệu độ cao."
        )
    sites_df = pd.DataFrame(site_rows, columns=[*SITE_COLUMNS, "ap_item", "needs_mast", "needs_solar"])
    geoms = list(cand.geometry.iloc[sel_sites])
    wifi_sites = gpd.GeoDataFrame(sites_df.loc[:, list(SITE_COLUMNS)], geometry=geoms, crs=crs)
    footprints = gpd.GeoDataFrame(
        {"site_id": fp_sids, "profile": [profiles[int(col_prof[c])][0] for c in selected],
         "reach_m": [round(float(profiles[int(col_prof[c])][3]), 1) for c in selected],
         "los_checked": p.elevation is not None},
        geometry=fp_geoms, crs=crs,
    )  # fmt: skip
    link_df = pd.DataFrame(
        {"site_id": sids, "backhaul": list(bh["option"]), "peer_id": list(bh["peer_id"]),
         "length_m": list(bh["length_m"].round(1)), "cost_vnd": list(bh["cost_vnd"])},
        columns=list(LINK_COLUMNS),
    )  # fmt: skip
    backhaul_links = gpd.GeoDataFrame(link_df, geometry=links, crs=crs)
    districts, communes = commune_of(gpd.GeoSeries(geoms, crs=crs), L["boundaries"])
    boq = build_boq(
        sites_df, bh, catalog=cat, horizon_years=years, districts=districts, communes=communes, phase=p.phase
    )
    total = int(boq["amount_vnd"].sum()) if len(boq) else 0
    opex = int(bh["opex_vnd"].sum()) if len(bh) else 0
    newly = int(sum(people[i] for i, s in enumerate(covered_by) if s))
    unserved_people = int(people.sum())
    # a commune HQ is connected when it has fibre, lies in good coverage or is one of the chosen wifi sites
    hq_all = v["hq_all"]
    hq_kpis = commune_hq_kpis(hq_all, v["hq_ok"] | hq_all["site_id"].isin(sids).to_numpy(), L["boundaries"])
    kpis = {
        "people_unserved": unserved_people,
        "people_newly_covered": newly,
        "share_unserved_reached": round(newly / unserved_people, 4) if unserved_people else 0.0,
        **hq_kpis,
        "communes_hq_forced": ", ".join(map(str, v["hq_needed"])),
        "cost_vnd": total,
        "capex_vnd": total - opex,
        "opex_vnd": opex,
        "cost_per_person_vnd": round(total / newly) if newly else 0,
        "selection_cost_vnd": int(sites_df["cost_vnd"].sum()) if len(sites_df) else 0,
        "selection_status": v["status"],
        "selection_gap": round(v["gap"], 6),
        "selection_bound": v["bound"],
        "n_sites": len(sel_sites),
        "backhaul_mix": ", ".join(f"{k}: {n}" for k, n in sorted(pd.Series(list(bh["option"])).value_counts().items())),
        "los_checked": p.elevation is not None,
    }
    layers = {
        "wifi_sites": wifi_sites,
        "footprints": footprints,
        "backhaul_links": backhaul_links,
        "settlements_unserved": unserved,
        "backhaul_options": options,
    }
    return Plan(kind="wifi", layers=layers, boq=boq, kpis=kpis, params=p.to_dict(), messages=messages)
