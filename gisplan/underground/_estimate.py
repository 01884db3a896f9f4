"""The investment estimate of an undergrounding plan, structured as Decree 10/2021/NĐ-CP (private).

Per phase (year) and in total, from the BOQ without its contingency lines:

1. ``construction`` (chi phí xây dựng, G_XD): the BOQ's civil, duct and removal categories;
2. ``equipment`` (chi phí thiết bị, G_TB): the cable category (cables, closures, boxes, drops, tests);
3. ``project_management`` (G_QLDA) = ``estimate_pm_share`` x (1 + 2);
4. ``consultancy`` (G_TV: survey, design, supervision) = ``estimate_consultancy_share`` x (1 + 2);
5. ``other`` (G_K) = ``estimate_other_share`` x (1 + 2);
6. ``vat`` = ``vat_share`` x (1 + ... + 5);
7. ``contingency_quantities`` (G_DP1) = ``contingency_share`` x (1 + ... + 6);
8. ``contingency_escalation`` (G_DP2) = (1 + ... + 7) x ((1 + ``escalation_rate``) ^ (year - ``price_base_year``) - 1),
   compounded by the phase's year;
9. ``total`` = 1 + ... + 8.

Every amount is rounded to whole VND (half away from zero, as Excel's ROUND) line by line, so the XLSX formulas
give the same figures.  Who pays: the province the duct network (civil and duct categories) with its share of
lines 3-8, the operators their cable work and removals with theirs; each operator's part of the latter follows
its own cables, drops and removals (items that serve several, such as closures and poles, in proportion).  Duct
rent (opex, not part of the investment): each operator's cable-metres in the ducts, by the cable's outer diameter
class (:data:`RENT_CLASSES`), x that class's yearly rate: 12 x the catalog's monthly rate
(``duct_rent_*_vnd_per_m_month``, VNPT Hải Phòng's schedule by cable diameter), at most
``duct_rent_ceiling_vnd_per_m_year`` when that is above 0 (Hanoi's ceiling); per operator, rounded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from gisplan.catalog._catalog import Catalog
from gisplan.catalog.costing import ESTIMATE_LINES as LINES

CONSTRUCTION_CATEGORIES = ("civil", "duct", "removal")
EQUIPMENT_CATEGORIES = ("cable",)
PROVINCE_CATEGORIES = ("civil", "duct")
#: Catalog parameters of the estimate.
RATES = (
    "estimate_pm_share",
    "estimate_consultancy_share",
    "estimate_other_share",
    "vat_share",
    "contingency_share",
    "escalation_rate",
    "price_base_year",
    "duct_rent_d5_vnd_per_m_month",
    "duct_rent_d10_vnd_per_m_month",
    "duct_rent_d15_vnd_per_m_month",
    "duct_rent_d20_vnd_per_m_month",
    "duct_rent_d35_vnd_per_m_month",
    "duct_rent_over35_vnd_per_m_month",
    "duct_rent_ceiling_vnd_per_m_year",
)
#: Duct-rent classes by cable outer diameter: (largest diameter in mm, inclusive; the catalog's monthly rate).
RENT_CLASSES: tuple[tuple[float, str], ...] = (
    (5.0, "duct_rent_d5_vnd_per_m_month"),
    (10.0, "duct_rent_d10_vnd_per_m_month"),
    (15.0, "duct_rent_d15_vnd_per_m_month"),
    (20.0, "duct_rent_d20_vnd_per_m_month"),
    (35.0, "duct_rent_d35_vnd_per_m_month"),
    (float("inf"), "duct_rent_over35_vnd_per_m_month"),
)


def rent_class(od_mm: float) -> str:
    """The rent class (its catalog parameter) of a cable of outer diameter ``od_mm``."""
    return next(key for most, key in RENT_CLASSES if od_mm <= most + 1e-9)


def yearly_rent_rates(rates: Mapping[str, float]) -> dict[str, float]:
    """Class -> yearly rent per metre: 12 x the monthly rate, at most the ceiling when it is above 0."""
    ceiling = float(rates["duct_rent_ceiling_vnd_per_m_year"])
    out = {}
    for _most, key in RENT_CLASSES:
        year = 12.0 * float(rates[key])
        out[key] = min(year, ceiling) if ceiling > 0 else year
    return out


def round_vnd(x: float) -> int:
    """Round to whole VND, half away from zero (Excel's ROUND(x, 0))."""
    return int(Decimal(repr(float(x))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def phase_estimate(construction: int, equipment: int, year: int, rates: Mapping[str, float]) -> dict[str, int]:
    """The estimate's lines for one phase (see the module docstring)."""
    base = construction + equipment
    out = {"construction": construction, "equipment": equipment}
    out["project_management"] = round_vnd(base * rates["estimate_pm_share"])
    out["consultancy"] = round_vnd(base * rates["estimate_consultancy_share"])
    out["other"] = round_vnd(base * rates["estimate_other_share"])
    s = sum(out.values())
    out["vat"] = round_vnd(s * rates["vat_share"])
    s += out["vat"]
    out["contingency_quantities"] = round_vnd(s * rates["contingency_share"])
    s += out["contingency_quantities"]
    years = year - int(rates["price_base_year"])
    out["contingency_escalation"] = round_vnd(s * ((1.0 + rates["escalation_rate"]) ** years - 1.0))
    out["total"] = s + out["contingency_escalation"]
    return out


def estimate(
    boq: pd.DataFrame,
    cat: Catalog,
    *,
    operator_vnd: Mapping[str, float],
    operator_duct_m: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """The estimate (KPI ``estimate_vnd``: line -> phase -> VND, with ``total``), who pays and the duct rent.

    ``operator_vnd`` is each operator's own cable and removal amount (for its share of the operators' part);
    ``operator_duct_m`` its cable-metres in the ducts by rent class (:func:`rent_class`).
    """
    rates = {k: float(cat.param(k)) for k in RATES}
    base = boq[boq["category"] != "contingency"]
    phases = sorted({str(p) for p in base["phase"]}, key=lambda p: (len(p), p))
    lines: dict[str, dict[str, int]] = {k: {} for k, _vi, _en in LINES}
    province: dict[str, int] = {}
    for ph in phases:
        part = base[base["phase"].astype(str) == ph]
        amt = part.groupby("category")["amount_vnd"].sum()
        xd = int(sum(int(amt.get(c, 0)) for c in CONSTRUCTION_CATEGORIES))
        tb = int(sum(int(amt.get(c, 0)) for c in EQUIPMENT_CATEGORIES))
        year = int(ph) if ph.isdigit() else int(rates["price_base_year"])
        for k, v in phase_estimate(xd, tb, year, rates).items():
            lines[k][ph] = v
        prov = int(sum(int(amt.get(c, 0)) for c in PROVINCE_CATEGORIES))
        province[ph] = round_vnd(lines["total"][ph] * prov / (xd + tb)) if xd + tb > 0 else 0
    for k in lines:
        lines[k]["total"] = sum(lines[k][ph] for ph in phases)
    total = lines["total"]["total"]
    prov_total = sum(province.values())
    operators_total = total - prov_total
    own = {op: float(v) for op, v in sorted(operator_vnd.items()) if v > 0}
    s = sum(own.values())
    shares = {op: round(v / s, 6) for op, v in own.items()} if s > 0 else {}  # as written in the XLSX
    payer = {"province": prov_total, **{op: round_vnd(operators_total * sh) for op, sh in shares.items()}}
    yearly = yearly_rent_rates(rates)
    by_class = {
        op: {key: round(float(by.get(key, 0.0)), 3) for _most, key in RENT_CLASSES}
        for op, by in sorted(operator_duct_m.items())
    }
    # the metres as reported (3 decimals), so the XLSX's SUMPRODUCT over them gives the same figure
    rent = {op: round_vnd(sum(m * yearly[k] for k, m in by.items())) for op, by in by_class.items()}
    return {
        "estimate_vnd": lines,
        "investment_total_vnd": total,
        "payer_vnd": payer,
        "payer_shares": shares,
        "province_by_phase_vnd": province,
        "duct_rent_vnd_per_year": rent,
        "operator_duct_m": {op: round(sum(by.values()), 3) for op, by in by_class.items()},
        "operator_duct_m_by_class": by_class,
        "duct_rent_vnd_per_m_year_by_class": {k: round(v, 3) for k, v in yearly.items()},
        "estimate_rates": rates,
    }
