"""Summary tables of a plan, as the app, the CLI and reports show them: by phase, by category, cost per person.

Every figure comes from the plan's own layers and BOQ with the same rule as its KPIs (new trench excludes
reused ducts, exactly as ``kpis["trench_km"]``), so a table never disagrees with the KPI of the same name.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gisplan.catalog.costing import ESTIMATE_LINES, boq_totals
from gisplan.plan import Plan

__all__ = ["boq_by", "cost_per_person_curve", "estimate_table", "phase_summary"]


def phase_summary(plan: Plan) -> pd.DataFrame:
    """One row per phase (year) of an undergrounding plan: new trench km, reused duct km and BOQ amount (VND).

    Columns ``phase`` (text), ``trench_km`` (new trench, reused ducts excluded, as the ``trench_km`` KPI),
    ``reused_duct_km`` and ``amount_vnd`` (the phase's BOQ total, integer).  The column sums equal the KPIs
    ``trench_km``, ``reused_duct_km`` and ``cost_vnd`` up to the KPIs' rounding to metres.
    An empty frame with these columns for a plan without phases.
    """
    columns = ["phase", "trench_km", "reused_duct_km", "amount_vnd"]
    trenches = plan.layers.get("trenches")
    amounts = boq_totals(plan.boq, by=("phase",)) if len(plan.boq) else pd.DataFrame(columns=["phase", "amount_vnd"])
    trench_m: dict[str, float] = {}
    reused_m: dict[str, float] = {}
    amount: dict[str, int] = {str(p): int(a) for p, a in zip(amounts["phase"], amounts["amount_vnd"], strict=True)}
    if trenches is not None and len(trenches) and {"phase", "length_m"} <= set(trenches.columns):
        reuse = (
            trenches["reuse_duct"].astype(bool)
            if "reuse_duct" in trenches.columns
            else pd.Series(False, index=trenches.index)
        )
        metres_by = trenches.groupby([trenches["phase"].astype(str), reuse])["length_m"].sum()
        for (phase, reused), metres in metres_by.items():
            target = reused_m if reused else trench_m
            target[str(phase)] = target.get(str(phase), 0.0) + float(metres)
    phases = sorted(set(amount) | set(trench_m) | set(reused_m))
    rows = [
        {
            "phase": p,
            "trench_km": trench_m.get(p, 0.0) / 1000.0,
            "reused_duct_km": reused_m.get(p, 0.0) / 1000.0,
            "amount_vnd": amount.get(p, 0),
        }
        for p in phases
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows, columns=columns)
    out["trench_km"] = out["trench_km"].round(3)
    out["reused_duct_km"] = out["reused_duct_km"].round(3)
    out["amount_vnd"] = out["amount_vnd"].astype("int64")
    return out


def estimate_table(plan: Plan, lang: str = "vi") -> pd.DataFrame:
    """The investment estimate of an undergrounding plan (Decree 10/2021/NĐ-CP), one row per line.

    Columns ``line`` (the line's name in ``lang``), one integer VND column per phase (year, as text) and
    ``total``; rows in the decree's order, ``total`` last.  The figures are the plan's own
    ``kpis["estimate_vnd"]`` (the same as the XLSX's estimate sheet), never recomputed here.  An empty frame for
    a plan without an estimate (a wifi plan).
    """
    if lang not in ("vi", "en"):
        raise ValueError(
            f"estimate_table: lang must be 'vi' or 'en', got {lang!r} "
            f"/ estimate_table: ngôn ngữ phải là 'vi' hoặc 'en', đang là {lang!r}"
        )
    est = plan.kpis.get("estimate_vnd")
    if not isinstance(est, dict) or not est:
        return pd.DataFrame(columns=["line", "total"])
    phases = sorted({str(k) for line in est.values() if isinstance(line, dict) for k in line} - {"total"})
    rows = []
    for code, vi, en in ESTIMATE_LINES:
        line = est.get(code)
        if not isinstance(line, dict):
            continue
        amounts = {p: int(line.get(p, 0)) for p in phases}
        rows.append({"line": vi if lang == "vi" else en, **amounts, "total": int(line["total"])})
    return pd.DataFrame(rows, columns=["line", *phases, "total"])


def boq_by(boq: pd.DataFrame, by: str) -> pd.DataFrame:
    """A BOQ's total amount (integer VND) per ``phase``, ``category``, ``district`` or ``commune``."""
    if by not in ("phase", "category", "district", "commune"):
        raise ValueError(
            f"boq_by: by must be phase, category, district or commune, got {by!r} "
            f"/ boq_by: by phải là phase (giai đoạn), category (nhóm hạng mục), district (huyện) hoặc commune (xã), "
            f"đang là {by!r}"
        )
    if boq.empty:
        return pd.DataFrame(columns=[by, "amount_vnd"])
    totals = boq_totals(boq, by=(by,))
    return totals[[by, "amount_vnd"]].reset_index(drop=True)


def cost_per_person_curve(plan: Plan) -> pd.DataFrame:
    """The wifi plan's sites from the cheapest per person covered to the dearest, with running totals.

    Columns: the ``sites`` attributes (geometry dropped), ``vnd_per_person`` and the running
    ``cumulative_cost_vnd`` and ``cumulative_people``: the curve of people covered against cost that a
    planner reads to see where money stops buying coverage.  Ties are broken by ``site_id``.
    """
    sites = plan.layers.get("sites")
    if sites is None or not len(sites) or not {"people_covered", "cost_vnd", "site_id"} <= set(sites.columns):
        return pd.DataFrame(columns=["site_id", "vnd_per_person", "cumulative_cost_vnd", "cumulative_people"])
    frame = pd.DataFrame(sites.drop(columns=sites.geometry.name) if isinstance(sites, gpd.GeoDataFrame) else sites)
    frame["vnd_per_person"] = frame["cost_vnd"] / frame["people_covered"].clip(lower=1)
    frame = frame.sort_values(["vnd_per_person", "site_id"], kind="mergesort").reset_index(drop=True)
    frame["cumulative_cost_vnd"] = frame["cost_vnd"].cumsum().astype("int64")
    frame["cumulative_people"] = frame["people_covered"].cumsum().astype("int64")
    return frame
