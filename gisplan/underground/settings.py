"""Tunable numeric settings of the undergrounding planner, in one typed place.

Engineering figures that a department would replace with its own (prices, pulling lengths, clearances) live in the
cost catalog (:mod:`gisplan.catalog`); the settings here are the planner's own work limits and tolerances.  Pass an
:class:`UndergroundSettings` to :func:`gisplan.underground.plan_undergrounding` (``settings=``) to change them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gisplan._errors import PlanningError

__all__ = ["DEFAULT_SETTINGS", "UndergroundSettings"]


@dataclass(frozen=True, kw_only=True)
class UndergroundSettings:
    """Work limits and tolerances of the undergrounding planner.

    Parameters
    ----------
    clip_min_roads
        Road layers with more features than this are clipped to the area the plan needs before the road graph is
        built (see :mod:`gisplan.underground._clip`).  Assumption: below 20,000 features the whole graph builds in
        about a second, so clipping gains nothing.
    clip_margin_m
        Smallest margin (metres) kept around the zone and along the way to each exchange when clipping.
        Assumption: 2 km, about a quarter of a town's diagonal.
    exchange_reach
        A default candidate exchange farther than this factor times the nearest one's distance (plus the margin) is
        left out of a clipped plan (dimensionless).  Assumption: trench prices per metre differ by less than three
        times between road classes, so a farther exchange is never the cheapest to reach.
    budget_headroom
        Share of the yearly budget kept free by the greedy phasing for rounding in the BOQ (dimensionless).
    forced_factor
        Cost factor of road edges along a forced corridor (nearly free, but > 0: scipy drops zero weights).
    forced_tolerance_m
        How close (metres) a road edge must lie to a forced corridor to follow it.  Assumption: half a street's
        width plus digitising error.
    pole_end_tolerance_m
        An aerial cable end naming no known pole that lies this close (metres) to a pole hangs from it.
    evals_per_round
        Shortcut candidates evaluated exactly per greedy round (the best by estimated net saving); a work bound.
    cable_od_mm
        Outer diameter (mm) of each re-pulled cable, by catalog code.  Assumption from typical duct-cable
        datasheets (loose-tube fibre 12-48 fibres about 10-11 mm, 96 about 13 mm, 144 about 15 mm, 288 about
        19 mm; a 50-pair copper cable about 22 mm; an RG-11/QR-540 class trunk coax about 15 mm); replace them with
        the operators' own cable data.
    duct_inner_mm
        Inner diameter (mm) of one duct: the catalog's ``DUCT.HDPE40`` is HDPE 40/34 (34 mm inside).
    fill_one, fill_two, fill_more
        Largest share of a duct's inner cross-section that one, two, or three and more cables may fill: 53 %,
        31 % and 40 % (NFPA 70 / NEC Chapter 9 Table 1, the usual duct-fill rule; the "40 % for several cables"
        guideline of the engineering notes).
    bank_layouts
        Duct-bank layouts (largest number of ducts, ducts per layer, trench width in metres), smallest first.
        TCVN 8700:2011: a 450 mm trench holds 2-4 ducts, a 750 mm trench up to 20 (5 layers of 4); 6 ducts in
        3 columns in a 600 mm trench is an interpolation (assumption).  More ducts than the last layout: layers of
        5 at most, columns added at ``column_pitch_m`` each.
    column_pitch_m, layer_pitch_m
        Horizontal and vertical pitch (m) of the ducts in a bank (assumption: 40 mm duct plus spacer and
        concrete or sand between, about 0.15 m and 0.10 m).
    bedding_m
        Sand bedding under the bottom layer (m), assumption.
    cover_sidewalk_m, cover_carriageway_m
        Least cover above the top duct layer (m): 0.5 under sidewalks, 0.7 under carriageways (TCVN 8700:2011).
    sidewalk_classes
        Road classes whose trench runs under the sidewalk (vỉa hè); the others under the carriageway or its
        verge.  Assumption: national, provincial, district and urban roads in a town have sidewalks; rural roads
        and tracks have none.
    cut_margin_m
        Width (m) of the surface broken and reinstated beyond the trench width (both sides together), assumption.
    """

    clip_min_roads: int = 20_000
    clip_margin_m: float = 2_000.0
    exchange_reach: float = 3.0
    budget_headroom: float = 1e-4
    forced_factor: float = 1e-3
    forced_tolerance_m: float = 15.0
    pole_end_tolerance_m: float = 1.0
    evals_per_round: int = 40
    cable_od_mm: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "CAB.FO12": 10.0,
                "CAB.FO24": 10.0,
                "CAB.FO48": 11.0,
                "CAB.FO96": 13.0,
                "CAB.FO144": 15.0,
                "CAB.FO288": 19.0,
                "CAB.CU": 22.0,
                "CAB.COAX": 15.0,
            }
        )
    )
    duct_inner_mm: float = 34.0
    fill_one: float = 0.53
    fill_two: float = 0.31
    fill_more: float = 0.40
    bank_layouts: tuple[tuple[int, int, float], ...] = ((4, 2, 0.45), (6, 3, 0.60), (20, 4, 0.75))
    column_pitch_m: float = 0.15
    layer_pitch_m: float = 0.10
    bedding_m: float = 0.10
    cover_sidewalk_m: float = 0.5
    cover_carriageway_m: float = 0.7
    sidewalk_classes: tuple[str, ...] = ("national", "provincial", "district", "urban")
    cut_margin_m: float = 0.2

    def __post_init__(self) -> None:
        for name in ("clip_min_roads", "evals_per_round"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise PlanningError(
                    f"{name} must be a whole number >= 0, got {v!r} / {name} phải là số nguyên >= 0, đang là {v!r}"
                )
        for name in ("clip_margin_m", "exchange_reach", "forced_factor", "forced_tolerance_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise PlanningError(f"{name} must be a number > 0, got {v!r} / {name} phải là số > 0, đang là {v!r}")
        for name in ("budget_headroom", "pole_end_tolerance_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise PlanningError(f"{name} must be a number >= 0, got {v!r} / {name} phải là số >= 0, đang là {v!r}")
        for name in ("fill_one", "fill_two", "fill_more"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise PlanningError(
                    f"{name} must be a share in (0, 1], got {v!r} / {name} phải là tỷ lệ trong khoảng (0, 1], "
                    f"đang là {v!r}"
                )
        if not self.bank_layouts or any(n < 1 or c < 1 or w <= 0 for n, c, w in self.bank_layouts):
            raise PlanningError(
                f"bank_layouts must list (ducts, columns, width_m) > 0, got {self.bank_layouts!r} "
                f"/ bank_layouts phải liệt kê các bộ (số ống, số cột, bề rộng m) > 0, đang là {self.bank_layouts!r}"
            )
        if not self.budget_headroom < 1:
            raise PlanningError(
                f"budget_headroom must be below 1, got {self.budget_headroom!r} "
                f"/ budget_headroom phải nhỏ hơn 1, đang là {self.budget_headroom!r}"
            )


#: The settings used when none are given.
DEFAULT_SETTINGS = UndergroundSettings()
