"""An independent recomputation of a BOQ from the catalog file, for tests.

A plan's total is the sum of its BOQ amounts by construction, so asserting ``boq.sum() == kpis["cost_vnd"]`` proves
nothing.  This module recomputes every amount from the *catalog file* (read here with PyYAML, not through
``gisplan.catalog``) and the quantities, with the rounding an estimator uses (Excel's ROUND, halves away from zero),
and each contingency line from its group's subtotal; a test then compares the plan's figures with these.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

import pandas as pd
import yaml


def catalog_prices(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Unit prices (VND) by item code, read from the shipped ``catalog.yaml`` (plus scenario price overrides)."""
    raw = yaml.safe_load(resources.files("gisplan.catalog").joinpath("catalog.yaml").read_text(encoding="utf-8"))
    prices = {str(item["code"]): int(item["price_vnd"]) for item in raw["items"]}
    prices.update(overrides or {})
    return prices


def excel_round(x: float) -> int:
    """ROUND(x, 0) as Excel does it: halves away from zero."""
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def recompute_boq(boq: pd.DataFrame, prices: dict[str, int]) -> dict[str, Any]:
    """Recompute a BOQ: every priced line from the catalog price, every contingency line from its group.

    Returns ``{"total": int, "mismatches": [...]}`` where a mismatch names the line, the amount in the BOQ and the
    amount recomputed (a line priced otherwise than the catalog says, or a contingency not equal to its share).
    """
    mismatches: list[str] = []
    subtotal: dict[tuple[str, str, str], int] = defaultdict(int)
    total = 0
    for row in boq.itertuples(index=False):
        if row.unit == "%":
            continue
        expected_price = prices[row.item_code]
        amount = excel_round(round(float(row.quantity), 3) * expected_price)
        if int(row.unit_price_vnd) != expected_price or int(row.amount_vnd) != amount:
            mismatches.append(f"{row.item_code} {row.phase}: {row.amount_vnd} in the BOQ, {amount} recomputed")
        group = (str(row.phase), str(row.district), str(row.commune))
        subtotal[group] += amount
        total += amount
    for row in boq.itertuples(index=False):
        if row.unit != "%":
            continue
        group = (str(row.phase), str(row.district), str(row.commune))
        # the estimate's rule (and the XLSX formula): 1 % of the group's subtotal rounded to the dong, times the %
        one_pct = excel_round(subtotal[group] / 100.0)
        expected = excel_round(float(row.quantity) * one_pct)
        if int(row.unit_price_vnd) != one_pct or int(row.amount_vnd) != expected:
            mismatches.append(f"{row.item_code} {group}: {row.amount_vnd} in the BOQ, {expected} recomputed")
        total += int(row.amount_vnd)
    return {"total": total, "mismatches": mismatches}
