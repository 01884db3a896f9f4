"""Whether each candidate site a planner drew is used by the wifi plan, and why (private to :mod:`gisplan.wifi`).

A planner who places a candidate site wants to know what became of it.  :func:`drawn_site_verdicts` gives one row
per drawn candidate (``kind == "drawn"``: the scenario's ``candidate_sites``, the planner's ``extra_candidates``)
with ``used``, a ``decision`` code and the reason in Vietnamese and English (``reason_vi``, ``reason_en``), from
what the selection saw:

``used``
    chosen: the people it serves, its access points and its backhaul.
``no_power``
    dropped before the selection: no mains power and ``require_power`` is set.
``no_demand``
    no household or institution outside good coverage lies within reach of any of its access point profiles (a
    point in the sea, in a covered town, or far from the villages).
``served_elsewhere``
    every household within its reach is served by chosen sites (named): it would add its cost for no one.
``capacity``
    the people within its reach nobody serves are within reach of chosen sites (named) whose access points are
    full: the capacity step adds access points at chosen sites (the cheaper way to serve them) first.
``budget``
    people within its reach are not served, but its cost (with its backhaul and the contingency, as the budget
    counts it) is above what the budget has left.
``not_chosen``
    people within its reach are not served and the budget left would pay for it, yet the optimal selection spends
    the budget where it covers more people (budget), or serves them otherwise (cover everyone: the access points in
    reach are full).
``nothing_to_plan``
    no settlement in the area is unserved: the plan builds nothing.

The texts come from :mod:`gisplan.i18n` (keys ``wifi.drawn.*``), so the gettext catalogs hold their translations;
numbers are written as each language writes them (Babel's CLDR formats, as :mod:`gisplan.outputs.formatting`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gisplan.i18n import LANGS, number_text, t, value_label

__all__ = ["DECISIONS", "VERDICT_COLUMNS", "drawn_site_verdicts", "verdict_row"]

#: Decision codes, in the order of the module notes.
DECISIONS: tuple[str, ...] = (
    "used",
    "no_power",
    "no_demand",
    "served_elsewhere",
    "capacity",
    "budget",
    "not_chosen",
    "nothing_to_plan",
)
#: Columns of the ``drawn_sites`` layer of a wifi plan (plus ``geometry``).
VERDICT_COLUMNS: tuple[str, ...] = (
    "site_id",
    "name",
    "used",
    "decision",
    "people_in_reach",
    "people_served",
    "served_by",
    "cost_vnd",
    "budget_left_vnd",
    "backhaul",
    "reason_vi",
    "reason_en",
)
_VND = {"vi": "đ", "en": "VND"}


def _count(value: float, lang: str) -> str:
    return number_text(round(value), lang)


def _vnd(value: float, lang: str) -> str:
    return f"{_count(value, lang)} {_VND[lang]}"


def _names(ids: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit})" if len(ids) > limit else "")


def verdict_row(
    site_id: Any,
    name: str,
    decision: str,
    *,
    people_in_reach: float = 0,
    people_served: float = 0,
    served_by: Sequence[str] = (),
    cost_vnd: int = 0,
    budget_left_vnd: int | None = None,
    backhaul: str = "",
    cover_all: bool = False,
) -> dict[str, Any]:
    """One row of the ``drawn_sites`` layer: the figures and the reason in each language.

    ``people_served`` is what the site serves when used, else the people within its reach nobody serves.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    key = f"wifi.drawn.{decision}" + (".cover_all" if decision == "not_chosen" and cover_all else "")
    texts = {}
    for lang in LANGS:
        texts[lang] = t(
            key,
            lang,
            people=_count(people_served, lang),
            reach_people=_count(people_in_reach, lang),
            sites=_names(list(served_by)),
            cost=_vnd(cost_vnd, lang),
            left=_vnd(budget_left_vnd or 0, lang),
            backhaul=value_label("backhaul", backhaul, lang) if backhaul else "–",
        )
    return {
        "site_id": site_id,
        "name": name,
        "used": decision == "used",
        "decision": decision,
        "people_in_reach": round(people_in_reach),
        "people_served": round(people_served),
        "served_by": ", ".join(served_by),
        "cost_vnd": int(cost_vnd),
        "budget_left_vnd": budget_left_vnd,
        "backhaul": backhaul,
        "reason_vi": texts["vi"],
        "reason_en": texts["en"],
    }


def drawn_site_verdicts(rows: list[dict[str, Any]], geometry: Sequence[Any], crs: Any) -> gpd.GeoDataFrame:
    """The ``drawn_sites`` layer from :func:`verdict_row` rows (empty with its columns when no site was drawn)."""
    frame = pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))
    if len(frame):
        frame["used"] = frame["used"].astype(bool)
        frame["people_in_reach"] = frame["people_in_reach"].astype(np.int64)
        frame["people_served"] = frame["people_served"].astype(np.int64)
        frame["cost_vnd"] = frame["cost_vnd"].astype(np.int64)
        frame["budget_left_vnd"] = pd.array(frame["budget_left_vnd"], dtype="Int64")
    return gpd.GeoDataFrame(frame, geometry=list(geometry), crs=crs)
