"""BOQ, result layers and KPIs of an undergrounding plan (private; see :mod:`gisplan.underground.planner`)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Point

from gisplan.catalog._catalog import Catalog
from gisplan.catalog.costing import add_contingency, boq_frame, boq_line, boq_totals
from gisplan.plan import Plan
from gisplan.underground._estimate import estimate, rent_class
from gisplan.underground._inputs import CommuneLookup
from gisplan.underground._phasing import PhaseResult
from gisplan.underground._quantities import Work, edge_geometry, path_geometry

if TYPE_CHECKING:
    from gisplan.underground.params import UndergroundParams


def _pt(T: Any, n: Any) -> Point:
    return Point(float(T.nodes[n]["x"]), float(T.nodes[n]["y"]))


def assemble(
    w: Work,
    ph: PhaseResult,
    zones: gpd.GeoDataFrame,
    params: UndergroundParams,
    cat: Catalog,
    lookup: CommuneLookup,
    crs: Any,
) -> Plan:
    """Build the Plan from the quantities and the phases."""
    T = w.tree
    lines: list[dict[str, Any]] = []
    # trenches
    egeo = {e: edge_geometry(T, *e) for e in w.edges}
    eloc = dict(
        zip(
            w.edges,
            lookup.of(shapely.line_interpolate_point(g, 0.5, normalized=True) for g in egeo.values()),
            strict=True,
        )
    )
    trench_rows = []
    for e in w.edges:
        year = ph.street_year[w.edge_street[e]]
        district, commune = eloc[e]
        items = w.edge_items[e]
        for code, q in items:
            lines.append(boq_line(cat, code, q, phase=str(year), district=district, commune=commune))
        d = T.edges[e]
        info = w.edge_info[e]
        trench_rows.append(
            {
                "phase": str(year),
                "year": year,
                "street": w.streets[w.edge_street[e]].name,
                "street_key": w.edge_street[e],
                "road_class": str(d.get("road_class") or ""),
                "surface": str(d.get("surface") or ""),
                "length_m": round(info["length_m"], 3),
                "n_ducts": int(info["n_ducts"]),
                "ducts": int(info["n_ducts"]),
                "operators": str(info["operators"]),
                "width_m": float(info["width_m"]),
                "depth_m": float(info["depth_m"]),
                "placement": str(info["placement"]),
                "n_cables": int(info["n_cables"]),
                "reuse_duct": bool(info["reuse_duct"]),
                "shortcut": bool(d.get("shortcut", False)),
                "detour": bool(d.get("detour", False)),
                "cost_vnd": round(sum(cat.price(c) * q for c, q in items)),
                "district": district,
                "commune": commune,
                "geometry": egeo[e],
            }
        )
    # chambers and crossings (node items)
    nodes = sorted(w.node_items, key=repr)
    nloc = dict(zip(nodes, lookup.of(_pt(T, n) for n in nodes), strict=True))
    for n in nodes:
        year = ph.node_year[n]
        district, commune = nloc[n]
        for code, q in w.node_items[n]:
            lines.append(boq_line(cat, code, q, phase=str(year), district=district, commune=commune))
    chamber_rows = []
    for c in w.chambers:
        year = ph.node_year[c.node] if c.node is not None else ph.street_year[w.edge_street[c.edge]]
        chamber_rows.append(
            {
                "type": c.type,
                "reason": c.reason,
                "near_intersection": bool(c.near_intersection),
                "phase": str(year),
                "year": year,
                "geometry": c.point,
            }
        )
    # cables
    sel = w.cables
    cids = [str(c) for c in sel["cable_id"]]
    cloc = dict(
        zip(cids, lookup.of(shapely.line_interpolate_point(g, 0.5, normalized=True) for g in sel.geometry), strict=True)
    )
    cable_rows = []
    detour = {d.cable_id: d for d in w.detours}
    op_of = {
        str(c): (o.strip() if isinstance(o, str) and o.strip() else "")
        for c, o in zip(sel["cable_id"], sel["owner"], strict=True)
    }
    for cid, kind, fc, geom, ul in zip(
        cids, sel["kind"], sel["fibre_count"], sel.geometry, sel["underground_m"], strict=True
    ):
        year = ph.cable_year[cid]
        district, commune = cloc[cid]
        for code, q in w.cable_items[cid]:
            lines.append(boq_line(cat, code, q, phase=str(year), district=district, commune=commune))
        route_m = sum(float(T.edges[a, b]["length_m"]) for a, b in itertools.pairwise(w.cable_paths[cid]))
        cable_rows.append(
            {
                "cable_id": cid,
                "owner": op_of[cid],
                "exchange_id": w.cable_exchange.get(cid, w.root_site),
                "kind": str(kind),
                "fibre_count": int(fc) if pd.notna(fc) else 0,
                "aerial_m": round(float(geom.length), 3),
                "route_m": round(route_m, 3),
                "ratio": round(route_m / float(geom.length), 4) if geom.length > 0 else 0.0,
                "underground_m": round(float(ul), 3),
                "detour": detour[cid].outcome if cid in detour else "",
                "before_m": round(detour[cid].before_m, 3) if cid in detour else round(route_m, 3),
                "phase": str(year),
                "year": year,
                "geometry": path_geometry(T, w.cable_paths[cid]),
            }
        )
    # poles
    pids = sorted(w.poles_removed)
    ploc = dict(zip(pids, lookup.of(w.poles_removed[p][1] for p in pids), strict=True))
    pole_rows = []
    for p in pids:
        cab, g = w.poles_removed[p]
        year = max(ph.cable_year[c] for c in cab)
        district, commune = ploc[p]
        lines.append(boq_line(cat, "POLE.REMOVE", 1.0, phase=str(year), district=district, commune=commune))
        pole_rows.append(
            {"pole_id": p, "owner": "telecom", "removed_by": "telecom", "phase": str(year), "year": year, "geometry": g}
        )
    for p, owner, g in w.poles_by_power:
        pole_rows.append(
            {"pole_id": p, "owner": owner, "removed_by": "power utility", "phase": "", "year": None, "geometry": g}
        )
    drop_rows, far_rows = _drop_rows(w, chamber_rows)
    remaining_rows = [
        {"pole_id": pid, "owner": owner, "reason": reason, "geometry": g} for pid, owner, reason, g in w.poles_remaining
    ]
    boq = add_contingency(boq_frame(lines), cat)

    def frame(rows: list[dict[str, Any]], cols: list[str]) -> gpd.GeoDataFrame:
        if not rows:
            return gpd.GeoDataFrame({c: pd.Series(dtype="object") for c in cols}, geometry=[], crs=crs)
        return gpd.GeoDataFrame(pd.DataFrame(rows, columns=[*cols, "geometry"]), geometry="geometry", crs=crs)

    layers = {
        "trenches": frame(trench_rows, [k for k in trench_rows[0] if k != "geometry"] if trench_rows else ["phase"]),
        "chambers": frame(chamber_rows, ["type", "reason", "near_intersection", "phase", "year"]),
        "poles_removed": frame(pole_rows, ["pole_id", "owner", "removed_by", "phase", "year"]),
        "poles_remaining": frame(remaining_rows, ["pole_id", "owner", "reason"]),
        "drops": frame(drop_rows, ["building_id", "households", "operator", "length_m", "chamber", "phase", "year"]),
        "buildings_not_served": frame(far_rows, ["building_id", "households", "reason"]),
        "cables_rerouted": frame(
            cable_rows,
            [
                "cable_id",
                "owner",
                "exchange_id",
                "kind",
                "fibre_count",
                "aerial_m",
                "route_m",
                "ratio",
                "underground_m",
                "detour",
                "before_m",
                "phase",
                "year",
            ],
        ),
        "zones": zones.copy(),
    }
    kpis = _kpis(w, ph, layers, boq, cat)
    op_vnd, op_m = _operator_figures(w, cat)
    kpis.update(estimate(boq, cat, operator_vnd=op_vnd, operator_duct_m=op_m))
    years = sorted({r["year"] for r in trench_rows})
    messages = [
        f"{len(sel)} aerial spans moved underground along {kpis['trench_km']:.2f} km of new trench and "
        f"{kpis['reused_duct_km']:.2f} km of existing ducts, in {len(years)} yearly phase(s) from exchange(s) "
        f"{', '.join(kpis['root_sites'])}; Steiner gap at most {100 * kpis['steiner_gap']:.1f} % / "
        f"Ngầm hóa {len(sel)} khoảng cáp treo, {kpis['trench_km']:.2f} km rãnh mới, {len(years)} giai đoạn",
        *w.notes,
        *_intersection_notes(layers["chambers"]),
        *_detour_notes(w, params),
    ]
    return Plan(kind="underground", layers=layers, boq=boq, kpis=kpis, params=params.to_dict(), messages=messages)


def _operator_figures(w: Work, cat: Catalog) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Each operator's own cable and removal amount (its cables, drops, and the poles its cables hung from) and its
    cable-metres in the ducts by rent class (the cable's outer diameter, :func:`rent_class`)."""
    vnd: dict[str, float] = {}
    metres: dict[str, dict[str, float]] = {}
    owner = {str(c): str(o) for c, o in zip(w.cables["cable_id"], w.cables["owner"], strict=True)}
    for cid, ul, od in zip(w.cables["cable_id"].astype(str), w.cables["underground_m"], w.cables["od_mm"], strict=True):
        vnd[owner[cid]] = vnd.get(owner[cid], 0.0) + sum(cat.price(c) * q for c, q in w.cable_items[cid])
        by = metres.setdefault(owner[cid], {})
        key = rent_class(float(od))
        by[key] = by.get(key, 0.0) + float(ul)
    if w.buildings is not None:
        per = {
            "DROP.FO": float(cat.price("DROP.FO")),
            "each": float(cat.price("DROP.CONNECT") + cat.price("DROP.REMOVE")),
        }
        for d in w.drops:
            op = str(w.buildings.frame["operator"].iloc[d.row]) or "?"
            vnd[op] = vnd.get(op, 0.0) + d.length_m * per["DROP.FO"] + per["each"]
    for cids, _g in w.poles_removed.values():
        op = owner.get(cids[0], "?")
        vnd[op] = vnd.get(op, 0.0) + float(cat.price("POLE.REMOVE"))
    return vnd, metres


def _drop_rows(w: Work, chamber_rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of the drops layer and of the zone's buildings that get no drop (with the reason)."""
    zb = w.buildings
    if zb is None:
        return [], []
    f = zb.frame
    drops = [
        {
            "building_id": str(f["building_id"].iloc[d.row]),
            "households": int(f["households"].iloc[d.row]),
            "operator": str(f["operator"].iloc[d.row]),
            "length_m": round(d.length_m, 3),
            "chamber": f"{chamber_rows[d.chamber]['type']}:{chamber_rows[d.chamber]['reason']}",
            "phase": chamber_rows[d.chamber]["phase"],
            "year": chamber_rows[d.chamber]["year"],
            "geometry": d.geometry,
        }
        for d in w.drops
    ]
    far = [
        {
            "building_id": str(f["building_id"].iloc[i]),
            "households": int(f["households"].iloc[i]),
            "reason": reason,
            "geometry": f.geometry.iloc[i],
        }
        for i, reason in sorted(zb.far_reason.items())
    ]
    return drops, far


def _detour_notes(w: Work, params: UndergroundParams) -> list[str]:
    """A summary of the detour limit, and one message per span still above it (every case is in the layer)."""
    if not w.detours:
        return []
    added = [d for d in w.detours if d.added_m > 0]
    over = [d for d in w.detours if not d.within_limit]
    out = [
        f"{len(w.detours)} moved span(s) ran more than {params.max_detour_ratio} x their aerial length through the "
        f"trench network: {sum(d.added_m for d in added) / 1000:.2f} km of trench added for {len(added)} of them, "
        f"{len(w.detours) - len(added) - len(over)} served by that trench, {len(over)} with no road path within "
        f"the limit (column detour of cables_rerouted) / {len(w.detours)} khoảng cáp đi vòng quá giới hạn"
    ]
    out += [
        f"cable span {d.cable_id}: {d.aerial_m:.0f} m aerial, {d.after_m:.0f} m underground: no road path within "
        f"{params.max_detour_ratio} x / Khoảng cáp {d.cable_id} vẫn đi vòng quá giới hạn (không có đường)"
        for d in over
    ]
    return out


def _intersection_notes(ch: gpd.GeoDataFrame) -> list[str]:
    """One message per chamber left near a road intersection because no other place exists."""
    if not len(ch):
        return []
    near = ch[ch["near_intersection"].astype(bool)]
    pts = gpd.GeoSeries(list(near.geometry), crs=ch.crs).to_crs("EPSG:4326")
    return [
        f"{t} ({r}) at {p.x:.5f}, {p.y:.5f} stays near a road intersection: no other place on its trench / "
        f"Hố cáp gần giao lộ do không còn vị trí khác"
        for t, r, p in zip(near["type"], near["reason"], pts, strict=True)
    ]


def _kpis(
    w: Work, ph: PhaseResult, layers: dict[str, gpd.GeoDataFrame], boq: pd.DataFrame, cat: Catalog
) -> dict[str, Any]:
    tr = layers["trenches"]
    trench_m = float(tr.loc[~tr["reuse_duct"].astype(bool), "length_m"].sum()) if len(tr) else 0.0
    reuse_m = float(tr.loc[tr["reuse_duct"].astype(bool), "length_m"].sum()) if len(tr) else 0.0
    total = int(boq["amount_vnd"].sum()) if len(boq) else 0
    civil = int(boq.loc[boq["category"] == "civil", "amount_vnd"].sum()) if len(boq) else 0
    by_phase = boq_totals(boq, ("phase",))
    years = sorted(int(p) for p in by_phase["phase"]) if len(by_phase) else []
    aerial_m = float(layers["cables_rerouted"]["aerial_m"].sum()) if len(layers["cables_rerouted"]) else 0.0
    net_km = (trench_m + reuse_m) / 1000.0
    mh = layers["chambers"]
    cr = layers["cables_rerouted"]
    dr = layers["drops"]
    base = boq[boq["category"] != "contingency"] if len(boq) else boq
    base_total = float(base["amount_vnd"].sum()) if len(base) else 0.0
    is_chamber = base["item_code"].isin(["MH.STD", "HH.STD"]) if len(base) else None
    chamber_vnd = float(base.loc[is_chamber, "amount_vnd"].sum()) if len(base) else 0.0
    pr = layers["poles_remaining"]
    ratio = cr.loc[cr["aerial_m"] >= 1.0, "ratio"] if len(cr) else pd.Series(dtype=float)
    return {
        "aerial_km_removed": round(aerial_m / 1000.0, 3),
        "cable_km_repulled": round(float(layers["cables_rerouted"]["underground_m"].sum()) / 1000.0, 3),
        "trench_km": round(trench_m / 1000.0, 3),
        "reused_duct_km": round(reuse_m / 1000.0, 3),
        "cost_vnd": total,
        "cost_per_km_vnd": round(total / net_km) if net_km > 0 else 0,
        "cost_per_aerial_km_vnd": round(total / (aerial_m / 1000.0)) if aerial_m > 0 else 0,
        "n_phases": len(years),
        "first_year": years[0] if years else None,
        "last_year": years[-1] if years else None,
        "phase_totals_vnd": {str(p): int(a) for p, a in zip(by_phase["phase"], by_phase["amount_vnd"], strict=True)},
        "steiner_cost_vnd": round(float(w.tree.graph.get("cost", 0.0))),
        "steiner_lower_bound_vnd": round(float(w.tree.graph.get("lower_bound", 0.0))),
        "steiner_gap": round(float(w.tree.graph.get("gap", 0.0)), 6),
        "steiner_method": str(w.tree.graph.get("method", "")),
        "n_streets": len(w.streets),
        "n_manholes": int((mh["type"] == "manhole").sum()) if len(mh) else 0,
        "n_handholes": int((mh["type"] == "handhole").sum()) if len(mh) else 0,
        "chambers_by_reason": {str(r): int(n) for r, n in mh.groupby("reason").size().items()} if len(mh) else {},
        "n_chambers_near_intersection": int(mh["near_intersection"].astype(bool).sum()) if len(mh) else 0,
        "n_poles_removed": int((layers["poles_removed"]["removed_by"] == "telecom").sum())
        if len(layers["poles_removed"])
        else 0,
        "n_crossings": len(w.crossings),
        "n_cables_moved": len(layers["cables_rerouted"]),
        "labour_vnd_estimate": round(civil * float(cat.param("labour_share_civil"))),
        "root_site": w.root_site,
        "roots_by_operator": dict(sorted(w.roots.items())),
        "root_sites": sorted(set(w.roots.values()) or {w.root_site}),
        "n_roots": len(set(w.roots.values()) or {w.root_site}),
        "street_km_freed": round(w.street_km_freed, 3),
        "cost_per_street_km_freed_vnd": round(total / w.street_km_freed) if w.street_km_freed > 0 else 0,
        "n_drops": len(dr),
        "households_migrated": int(dr["households"].sum()) if len(dr) else 0,
        "n_buildings_not_served": len(layers["buildings_not_served"]),
        "chambers_per_km": round(len(mh) / net_km, 2) if net_km > 0 else 0.0,
        "chamber_cost_share": round(chamber_vnd / base_total, 4) if base_total > 0 else 0.0,
        "poles_removed_by_owner": {str(o): int(n) for o, n in layers["poles_removed"].groupby("owner").size().items()}
        if len(layers["poles_removed"])
        else {},
        "poles_remaining_by_owner": {str(o): int(n) for o, n in pr.groupby("owner").size().items()} if len(pr) else {},
        "repull_ratio_mean": round(float(ratio.mean()), 3) if len(ratio) else 0.0,
        "repull_ratio_max": round(float(ratio.max()), 3) if len(ratio) else 0.0,
        "n_detours": len(w.detours),
        "detour_trench_km": round(sum(d.added_m for d in w.detours) / 1000.0, 3),
        "n_detours_over_limit": sum(1 for d in w.detours if not d.within_limit),
        **w.shortcut_kpis,
    }
