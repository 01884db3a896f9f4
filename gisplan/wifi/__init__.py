"""The remote-area wifi planner and its models: radio, demand, site selection (siting) and backhaul.

:func:`plan_wifi` (layers, :class:`WifiParams`, catalog) returns a :class:`~gisplan.plan.Plan`;
:mod:`gisplan.wifi.radio` (path loss, link budgets, line of sight), :mod:`gisplan.wifi.siting`
(exact covering with HiGHS) and :mod:`gisplan.wifi.backhaul` (the cheapest backhaul per site) are
usable on their own.  Never imports the undergrounding planner, the outputs or the store.
"""

from __future__ import annotations

from gisplan.wifi.backhaul import BACKHAUL_OPTIONS, OPTION_COLUMNS, backhaul_items, backhaul_options, chosen_backhaul
from gisplan.wifi.params import DEFAULT_CANDIDATE_KINDS, WifiParams
from gisplan.wifi.planner import plan_wifi, unserved_settlements
from gisplan.wifi.radio import (
    APProfile,
    LineOfSight,
    LinkBudget,
    PointToPoint,
    line_of_sight,
    link_budget,
    open_elevation,
    point_to_point,
    reach_m,
)
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings
from gisplan.wifi.siting import SitingResult, cover_all, maximize_coverage

__all__ = [
    "BACKHAUL_OPTIONS",
    "DEFAULT_CANDIDATE_KINDS",
    "DEFAULT_SETTINGS",
    "OPTION_COLUMNS",
    "APProfile",
    "LineOfSight",
    "LinkBudget",
    "PointToPoint",
    "SitingResult",
    "WifiParams",
    "WifiSettings",
    "backhaul_items",
    "backhaul_options",
    "chosen_backhaul",
    "cover_all",
    "line_of_sight",
    "link_budget",
    "maximize_coverage",
    "open_elevation",
    "plan_wifi",
    "point_to_point",
    "reach_m",
    "unserved_settlements",
]
