"""Bills of quantities (BOQ) through the cost catalog, shared by every planner.

A planner collects :func:`boq_line` records (item code, quantity, phase,
district, commune), then :func:`boq_frame` aggregates them into the BOQ table
(columns :data:`gisplan.plan.BOQ_COLUMNS`) with integer VND amounts, and
:func:`add_contingency` adds one contingency line per group.

Amounts are ``quantity * unit_price_vnd`` rounded half away from zero (as Excel's ROUND does, so the XLSX
formulas give the same amounts to the dong); quantities are rounded to 3
decimals first so that a plan's BOQ is identical byte for byte between runs.

A contingency line has unit ``%``: its quantity is the percentage (e.g. 10.0)
and its unit price is the value in VND of 1 % of the group's subtotal, so the
rule ``amount = quantity x unit price`` holds for every line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gisplan._errors import CatalogError
from gisplan.catalog._catalog import Catalog
from gisplan.plan import BOQ_COLUMNS, empty_boq

_GROUP = ("phase", "district", "commune")


def _round_half_up(x: Any) -> Any:
    """Round to whole VND, halves away from zero (Excel's ROUND), on scalars or arrays."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def boq_line(
    catalog: Catalog,
    code: str,
    quantity: float,
    *,
    phase: str = "",
    district: str = "",
    commune: str = "",
) -> dict[str, Any]:
    """One BOQ record for ``quantity`` units of catalog item ``code``.

    Raises
    ------
    CatalogError
        For an unknown code or a negative or non-finite quantity.
    """
    item = catalog.item(code)
    q = float(quantity)
    if not (q >= 0.0) or q == float("inf"):
        raise CatalogError(
            f"quantity of {code} must be a finite number >= 0, got {quantity!r} "
            f"/ khối lượng của hạng mục {code} phải là số hữu hạn >= 0, đang là {quantity!r}"
        )
    return {
        "item_code": item.code,
        "description_vi": item.description_vi,
        "description_en": item.description_en,
        "unit": item.unit,
        "quantity": q,
        "unit_price_vnd": int(item.price_vnd),
        "category": item.category,
        "phase": str(phase),
        "district": str(district),
        "commune": str(commune),
    }


def boq_frame(lines: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Aggregate BOQ records into a BOQ table: same item, phase, district and commune summed; zero lines dropped.

    Rows are sorted by phase, district, commune, category and item code.
    """
    rows = list(lines)
    if not rows:
        return empty_boq()
    df = pd.DataFrame(rows)
    keys = ["item_code", *_GROUP]
    firsts = df.groupby(keys, sort=False, dropna=False).agg(
        description_vi=("description_vi", "first"),
        description_en=("description_en", "first"),
        unit=("unit", "first"),
        unit_price_vnd=("unit_price_vnd", "first"),
        category=("category", "first"),
        quantity=("quantity", "sum"),
    )
    prices = df.groupby(keys, dropna=False)["unit_price_vnd"].nunique()
    if (prices > 1).any():
        bad = prices[prices > 1].index[0]
        raise CatalogError(
            f"BOQ item {bad[0]} has two unit prices in one group {bad[1:]} "
            f"/ hạng mục {bad[0]} của bảng khối lượng có hai đơn giá trong cùng nhóm {bad[1:]}"
        )
    out = firsts.reset_index()
    out["quantity"] = out["quantity"].astype("float64").round(3)
    out = out[out["quantity"] > 0].copy()
    out["unit_price_vnd"] = out["unit_price_vnd"].astype("int64")
    out["amount_vnd"] = _round_half_up(out["quantity"] * out["unit_price_vnd"]).astype("int64")
    return _sorted(out)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    order = {c: i for i, c in enumerate(("civil", "duct", "cable", "removal", "radio", "power", "backhaul"))}
    df = df.assign(_cat=df["category"].map(lambda c: order.get(c, 99)))
    df = df.sort_values([*_GROUP, "_cat", "item_code"], kind="mergesort").drop(columns="_cat")
    return df.loc[:, list(BOQ_COLUMNS)].reset_index(drop=True)


def add_contingency(boq: pd.DataFrame, catalog: Catalog, *, share: float | None = None) -> pd.DataFrame:
    """Add one contingency line (``CONTINGENCY``, unit ``%``) per phase/district/commune group.

    The share defaults to the catalog's ``contingency_share``; 0 adds nothing.
    """
    s = catalog.param("contingency_share") if share is None else float(share)
    if s <= 0 or boq.empty:
        return boq
    base = boq[boq["category"] != "contingency"]
    item = catalog.item("CONTINGENCY")
    extra = []
    for key, grp in base.groupby(list(_GROUP), sort=True, dropna=False):
        subtotal = int(grp["amount_vnd"].sum())
        if subtotal <= 0:
            continue
        pct = round(s * 100.0, 3)
        one_pct = int(_round_half_up(np.float64(subtotal / 100.0)))
        extra.append(
            {
                "item_code": item.code,
                "description_vi": item.description_vi,
                "description_en": item.description_en,
                "unit": "%",
                "quantity": pct,
                "unit_price_vnd": int(one_pct),
                "amount_vnd": int(_round_half_up(np.float64(pct * one_pct))),
                "category": "contingency",
                **dict(zip(_GROUP, key, strict=True)),
            }
        )
    if not extra:
        return boq
    out = pd.concat([base, pd.DataFrame(extra)], ignore_index=True)
    out["unit_price_vnd"] = out["unit_price_vnd"].astype("int64")
    out["amount_vnd"] = out["amount_vnd"].astype("int64")
    order = {"contingency": 1}
    out = out.assign(_c=out["category"].map(lambda c: order.get(c, 0)))
    out = out.sort_values([*_GROUP, "_c"], kind="mergesort").drop(columns="_c")
    return out.loc[:, list(BOQ_COLUMNS)].reset_index(drop=True)


def boq_totals(boq: pd.DataFrame, by: Sequence[str] = ("phase",)) -> pd.DataFrame:
    """Totals of ``amount_vnd`` by the given columns (e.g. ``("phase",)``, ``("district", "commune")``)."""
    if boq.empty:
        return pd.DataFrame(columns=[*by, "amount_vnd"])
    return boq.groupby(list(by), sort=True, dropna=False)["amount_vnd"].sum().astype("int64").reset_index()


#: Lines of an investment estimate as Decree 10/2021/NĐ-CP structures it, in order: (key, Vietnamese, English).
#: The undergrounding planner computes them (:mod:`gisplan.underground._estimate`); the XLSX writes them.
ESTIMATE_LINES: tuple[tuple[str, str, str], ...] = (
    ("construction", "Chi phí xây dựng", "Construction"),
    ("equipment", "Chi phí thiết bị (cáp, măng xông, dây thuê bao)", "Equipment (cables, closures, drops)"),
    ("project_management", "Chi phí quản lý dự án", "Project management"),
    ("consultancy", "Chi phí tư vấn (khảo sát, thiết kế, giám sát)", "Consultancy (survey, design, supervision)"),
    ("other", "Chi phí khác", "Other costs"),
    ("vat", "Thuế giá trị gia tăng", "VAT"),
    ("contingency_quantities", "Dự phòng khối lượng phát sinh", "Contingency for quantities"),
    ("contingency_escalation", "Dự phòng trượt giá", "Contingency for price escalation"),
    ("total", "Tổng mức đầu tư", "Total investment"),
)
