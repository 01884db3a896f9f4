"""Parameters of the wifi planner (:func:`gisplan.wifi.plan_wifi`).

A frozen, validated parameter object below the planner and its steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import geopandas as gpd

from gisplan._errors import PlanningError

__all__ = ["DEFAULT_CANDIDATE_KINDS", "TECHNOLOGIES", "Progress", "WifiParams"]

#: Site kinds that may carry a wifi access point by default.
DEFAULT_CANDIDATE_KINDS = ("commune_hq", "school", "health", "community", "tower", "pole")

#: The technologies a village may be served by (:mod:`gisplan.wifi._technology`): the wifi planner's public
#: access points, an operator's 4G small cell at the village, fixed wireless access from an existing tower with a
#: rooftop terminal per household, and an existing tower's 4G upgrade for a village already within its reach.
TECHNOLOGIES = ("public_wifi", "small_cell_4g", "fwa", "tower_4g")

Progress = Callable[[float, str], None]


@dataclass(frozen=True, kw_only=True, eq=False)
class WifiParams:
    """Parameters of :func:`plan_wifi` (all keyword-only).

    Parameters
    ----------
    budget_vnd
        Total budget (VND): the plan's BOQ total (sites, backhaul, forced commune HQs and the catalog's
        contingency) stays within it; ``None`` with ``cover_all``.
    cover_all
        Cover every coverable unserved settlement at least cost (the budget, when
        given, must then suffice).
    coverage_technologies, min_quality
        Existing coverage that counts as service: these technologies at this
        quality (``good`` > ``fair`` > ``poor``) or better.
    weight
        ``"population"`` or ``"households"``.
    candidate_kinds
        Site kinds considered as candidates.
    profiles
        Names of catalog AP profiles allowed (``None``: all).
    extra_candidates
        Planner-drawn candidate points (``site_id``, optional ``name``, ``height_m``, ``has_power``).
    generate_candidates
        Add a new mast at each unserved settlement that no candidate reaches.
    require_power
        Drop candidates without mains power instead of adding a solar kit.
    connect_all_commune_hq
        Force every commune HQ without fibre or good coverage into the plan.
    focus
        Polygons (GeoDataFrame/GeoSeries with a CRS) that limit the demand.
    border, border_distance_km
        Border line or polygon (GeoDataFrame/GeoSeries) and the distance that makes a settlement "near the border".
    satellite_horizon_years
        Years of satellite fees counted; default the catalog's.
    time_limit_s
        Time limit of the site selection.
    elevation
        Elevation raster path for line of sight (coverage, footprints, radio backhaul).
    phase
        Phase label of the BOQ lines.
    spread_households
        Spread each settlement's households over its settlement area (generated, seeded; or the ``buildings``
        layer's buildings); ``False`` puts them all on the settlement point (a register with nothing better).
    technologies
        The technologies a village may be served by, among :data:`TECHNOLOGIES`; the plan picks per village the
        cheapest life-cycle cost that meets its demand (``("public_wifi",)``: the wifi planner alone).
    """

    budget_vnd: int | None = None
    cover_all: bool = False
    coverage_technologies: tuple[str, ...] = ("4G", "5G")
    min_quality: str = "good"
    weight: str = "population"
    candidate_kinds: tuple[str, ...] = DEFAULT_CANDIDATE_KINDS
    profiles: tuple[str, ...] | None = None
    extra_candidates: gpd.GeoDataFrame | None = None
    generate_candidates: bool = False
    require_power: bool = False
    connect_all_commune_hq: bool = True
    focus: Any = None
    border: Any = None
    border_distance_km: float = 20.0
    satellite_horizon_years: float | None = None
    time_limit_s: float = 30.0
    elevation: str | None = None
    phase: str = ""
    spread_households: bool = True
    technologies: tuple[str, ...] = ("public_wifi",)

    def __post_init__(self) -> None:
        if self.weight not in ("population", "households"):
            raise PlanningError(
                f"weight must be 'population' or 'households', got {self.weight!r} "
                "/ Trọng số phải là dân số (population) hoặc số hộ (households)"
            )
        if self.budget_vnd is not None and (isinstance(self.budget_vnd, bool) or self.budget_vnd < 0):
            raise PlanningError(
                f"budget_vnd must be a non-negative amount of VND, got {self.budget_vnd!r} / Ngân sách phải là số tiền "
                "không âm (đồng)"
            )
        if self.budget_vnd is None and not self.cover_all:
            raise PlanningError(
                "give budget_vnd (maximal covering) or cover_all=True (cover everyone at least cost) / Nhập ngân sách "
                "hoặc chọn phủ toàn bộ với chi phí thấp nhất"
            )
        if self.satellite_horizon_years is not None and not self.satellite_horizon_years > 0:
            raise PlanningError(
                f"satellite_horizon_years must be a positive number of years, got {self.satellite_horizon_years!r} "
                "/ Số năm thuê vệ tinh phải dương"
            )
        unknown = [t for t in self.technologies if t not in TECHNOLOGIES]
        if unknown or not self.technologies or isinstance(self.technologies, str):
            raise PlanningError(
                f"unknown technology name(s) {', '.join(map(repr, unknown)) or repr(self.technologies)}; choose "
                f"among {', '.join(TECHNOLOGIES)} / Công nghệ không hợp lệ; chọn trong {', '.join(TECHNOLOGIES)}"
            )
        if not self.time_limit_s > 0:
            raise PlanningError(
                f"time_limit_s must be positive, got {self.time_limit_s!r} / Thời gian giải tối đa phải dương"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain, YAML-able values (geometries summarised by their feature count)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, gpd.GeoDataFrame | gpd.GeoSeries):
                v = f"<{len(v)} features>"
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out
