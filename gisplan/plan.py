"""The Plan: what every planner returns.

A :class:`Plan` holds result layers (GeoDataFrames in the metric CRS), a bill of
quantities (BOQ) table with the columns :data:`BOQ_COLUMNS`, and key
performance indicators (KPIs).  Amounts are integers in VND.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

#: Columns of every BOQ table, in order.
BOQ_COLUMNS: tuple[str, ...] = (
    "item_code",
    "description_vi",
    "description_en",
    "unit",
    "quantity",
    "unit_price_vnd",
    "amount_vnd",
    "category",
    "phase",
    "district",
    "commune",
)


def empty_boq() -> pd.DataFrame:
    """Return an empty BOQ table with the right columns and dtypes."""
    return pd.DataFrame(
        {
            "item_code": pd.Series(dtype="str"),
            "description_vi": pd.Series(dtype="str"),
            "description_en": pd.Series(dtype="str"),
            "unit": pd.Series(dtype="str"),
            "quantity": pd.Series(dtype="float64"),
            "unit_price_vnd": pd.Series(dtype="int64"),
            "amount_vnd": pd.Series(dtype="int64"),
            "category": pd.Series(dtype="str"),
            "phase": pd.Series(dtype="str"),
            "district": pd.Series(dtype="str"),
            "commune": pd.Series(dtype="str"),
        }
    )


@dataclass(frozen=True)
class Plan:
    """The result of a planner.

    Parameters
    ----------
    kind
        ``"underground"`` or ``"wifi"``.
    layers
        Result layers by name, each a GeoDataFrame in the metric CRS.
    boq
        The bill of quantities, columns :data:`BOQ_COLUMNS`; ``amount_vnd`` is
        ``round(quantity * unit_price_vnd)`` as an integer.
    kpis
        Key figures by name (numbers or short strings).
    params
        The parameters the plan was made with (plain, YAML-able values).
    messages
        Explanations for the user (e.g. why a plan is empty), in English and Vietnamese.
    """

    kind: str
    layers: dict[str, gpd.GeoDataFrame]
    boq: pd.DataFrame
    kpis: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def total_vnd(self) -> int:
        """Total amount of the BOQ in VND."""
        return int(self.boq["amount_vnd"].sum()) if len(self.boq) else 0
