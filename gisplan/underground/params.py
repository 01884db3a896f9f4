"""Parameters of the undergrounding planner (:func:`gisplan.underground.plan_undergrounding`).

A frozen, validated parameter object; it sits below the planner so that every step imports it
without re-entering the planner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gisplan._errors import PlanningError

__all__ = ["DEFAULT_CLASS_WEIGHTS", "UndergroundParams"]

#: Road-class term of the priority score (busier roads first: their aerial cables are the most visible).
DEFAULT_CLASS_WEIGHTS: Mapping[str, float] = {
    "national": 1.0,
    "provincial": 0.8,
    "district": 0.6,
    "urban": 0.6,
    "rural": 0.3,
    "track": 0.1,
}


@dataclass(frozen=True, kw_only=True)
class UndergroundParams:
    """Parameters of an undergrounding plan.

    Parameters
    ----------
    budget_per_year_vnd
        Yearly budget in VND, contingency included (required, > 0).
    start_year
        Year of the first phase.
    max_years
        Number of years the roadmap may take; more raises :class:`PlanningError`.
    manhole_spacing_m
        Largest distance between chambers along a trench; default: the catalog's ``manhole_spacing_m``.
    exchange_ids
        Site ids that may serve as root; default: every exchange/POP with fibre.  The one
        cheapest to reach from the zone's cables is chosen.
    owners
        Move only the aerial cables of these owners (default: all).
    weight_density, weight_road_class, weight_centre, weight_works
        Weights of the street priority score

        ``score = weight_density * D + weight_road_class * C + weight_centre * A + weight_works * W``

        with D = the street's mean number of cable routes (metre-weighted) divided by the
        largest over all streets (0..1), C = :data:`DEFAULT_CLASS_WEIGHTS` of its road class
        (or ``class_weights``), A = share of its length inside ``centre_areas`` (centre,
        tourist areas), W = share of its length within 20 m of ``planned_works`` (streets with
        planned road works first: dig once).  Defaults 0.4, 0.2, 0.2, 0.2.
    class_weights
        Overrides of :data:`DEFAULT_CLASS_WEIGHTS`.
    centre_areas
        Centre or tourist polygons: a GeoDataFrame, or shapely geometries in EPSG:4326.
    planned_works
        Streets with planned road works: a GeoDataFrame of lines or polygons, or shapely
        geometries in EPSG:4326.
    steiner_starts, steiner_rounds
        Heuristic starts and local-search rounds of :func:`gisplan.routing.steiner.steiner_tree` (its
        work limit: more may lower the cost a little and takes longer; the plan reports the
        proven gap either way).
    shortcuts
        Add shortcut trenches after the Steiner tree where they save more cable than they cost
        (step 3 of the method); False keeps the pure trench tree.
    shortcut_max_m
        Longest road path considered as a shortcut, in metres.
    shortcut_rounds
        Most shortcuts added (one per greedy round; a work bound, so the plan stays deterministic).
    forced_corridors
        Lines the trench network must follow (a GeoDataFrame, or shapely lines in EPSG:4326): road edges
        lying along a corridor (within 15 m) are made nearly free for the Steiner tree and the road nodes
        nearest the corridor's ends become terminals, so the tree runs along it; the BOQ still prices them
        at their full cost.  The KPI ``steiner_cost_vnd`` is then the routing objective, not the price.
    max_detour_ratio
        Longest underground path of a moved span as a multiple of its aerial length (default 1.5; None: no
        limit).  Where the trench network sends a span farther, the plan adds the road path that keeps it within
        the limit as trench (costed, ``detour`` in the trenches layer) and reports each case
        (:mod:`gisplan.underground._detours`).
    share_ducts
        Whether operators may share a duct (default False: each operator's cables go in its own ducts; see
        :mod:`gisplan.underground._ductbank`).
    joint_with_power, power_cost_share
        Joint undergrounding with the power utility (as Ho Chi Minh City does street by street): the power cables
        share the trench, the utility pays ``power_cost_share`` (default 0.5, an assumption to agree with it) of
        the trench's excavation, reinstatement and traffic management (the BOQ holds the telecom share), and it
        removes its power and shared poles of the zone that carry no telecom cable staying aerial (listed in
        ``poles_removed`` with ``removed_by = power utility``, not in the BOQ).
    """

    budget_per_year_vnd: int
    start_year: int = 2026
    max_years: int = 20
    manhole_spacing_m: float | None = None
    exchange_ids: Sequence[str] = ()
    owners: Sequence[str] = ()
    weight_density: float = 0.4
    weight_road_class: float = 0.2
    weight_centre: float = 0.2
    weight_works: float = 0.2
    class_weights: Mapping[str, float] = field(default_factory=dict)
    centre_areas: Any = None
    planned_works: Any = None
    steiner_starts: int = 1
    steiner_rounds: int = 2
    shortcuts: bool = True
    shortcut_max_m: float = 400.0
    shortcut_rounds: int = 50
    forced_corridors: Any = None
    max_detour_ratio: float | None = 1.5
    share_ducts: bool = False
    joint_with_power: bool = False
    power_cost_share: float = 0.5

    def __post_init__(self) -> None:
        b = self.budget_per_year_vnd
        if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
            raise PlanningError(
                f"budget_per_year_vnd must be a whole number of VND > 0, got {b!r}"
                f" / Tham số budget_per_year_vnd không hợp lệ"
            )
        if not isinstance(self.start_year, int) or not 1900 <= self.start_year <= 2200:
            raise PlanningError(
                f"start_year must be a year such as 2026, got {self.start_year!r} / Tham số start_year không hợp lệ"
            )
        if not isinstance(self.max_years, int) or self.max_years < 1:
            raise PlanningError(
                f"max_years must be a whole number >= 1, got {self.max_years!r} / Tham số max_years không hợp lệ"
            )
        if self.manhole_spacing_m is not None and not self.manhole_spacing_m > 0:
            raise PlanningError(
                f"manhole_spacing_m must be > 0, got {self.manhole_spacing_m!r}"
                f" / Tham số manhole_spacing_m không hợp lệ"
            )
        for name in ("weight_density", "weight_road_class", "weight_centre", "weight_works"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise PlanningError(f"{name} must be a number >= 0, got {v!r} / Tham số {name} không hợp lệ")
        if not isinstance(self.shortcuts, bool):
            raise PlanningError(
                f"shortcuts must be true or false, got {self.shortcuts!r} / Tham số shortcuts không hợp lệ"
            )
        if isinstance(self.shortcut_max_m, bool) or not isinstance(self.shortcut_max_m, int | float):
            raise PlanningError(
                f"shortcut_max_m must be a length in metres > 0, got {self.shortcut_max_m!r}"
                f" / Tham số shortcut_max_m không hợp lệ"
            )
        if not self.shortcut_max_m > 0:
            raise PlanningError(
                f"shortcut_max_m must be a length in metres > 0, got {self.shortcut_max_m!r}"
                f" / Tham số shortcut_max_m không hợp lệ"
            )
        r = self.shortcut_rounds
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise PlanningError(
                f"shortcut_rounds must be a whole number >= 0, got {r!r} / Tham số shortcut_rounds không hợp lệ"
            )
        if not isinstance(self.joint_with_power, bool):
            raise PlanningError(
                f"joint_with_power must be true or false, got {self.joint_with_power!r}"
                f" / Tham số joint_with_power không hợp lệ"
            )
        ps = self.power_cost_share
        if isinstance(ps, bool) or not isinstance(ps, int | float) or not 0.0 <= ps < 1.0:
            raise PlanningError(
                f"power_cost_share must be a share in [0, 1), got {ps!r} / Tham số power_cost_share không hợp lệ"
            )
        if not isinstance(self.share_ducts, bool):
            raise PlanningError(
                f"share_ducts must be true or false, got {self.share_ducts!r} / Tham số share_ducts không hợp lệ"
            )
        m = self.max_detour_ratio
        if m is not None and (isinstance(m, bool) or not isinstance(m, int | float) or not m >= 1.0):
            raise PlanningError(
                f"max_detour_ratio must be a number >= 1 (or empty for no limit), got {m!r}"
                f" / Tham số max_detour_ratio không hợp lệ"
            )
        if isinstance(self.exchange_ids, str) or isinstance(self.owners, str):
            raise PlanningError(
                "exchange_ids and owners are lists of ids, e.g. ['T0001'], not a single string"
                " / exchange_ids và owners là danh sách mã, ví dụ ['T0001']"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain (YAML-able) form; geometry parameters are summarised by their count."""

        def count(v: Any) -> int:
            if v is None:
                return 0
            return len(v) if hasattr(v, "__len__") else 1

        return {
            "budget_per_year_vnd": self.budget_per_year_vnd,
            "start_year": self.start_year,
            "max_years": self.max_years,
            "manhole_spacing_m": self.manhole_spacing_m,
            "exchange_ids": list(self.exchange_ids),
            "owners": list(self.owners),
            "weight_density": self.weight_density,
            "weight_road_class": self.weight_road_class,
            "weight_centre": self.weight_centre,
            "weight_works": self.weight_works,
            "class_weights": dict(self.class_weights),
            "centre_areas": count(self.centre_areas),
            "planned_works": count(self.planned_works),
            "steiner_starts": self.steiner_starts,
            "steiner_rounds": self.steiner_rounds,
            "shortcuts": self.shortcuts,
            "shortcut_max_m": self.shortcut_max_m,
            "shortcut_rounds": self.shortcut_rounds,
            "forced_corridors": count(self.forced_corridors),
            "max_detour_ratio": self.max_detour_ratio,
            "share_ducts": self.share_ducts,
            "joint_with_power": self.joint_with_power,
            "power_cost_share": self.power_cost_share,
        }
