"""Tunable numeric settings of the undergrounding planner, in one typed place.

Engineering figures that a department would replace with its own (prices, pulling lengths, clearances) live in the
cost catalog (:mod:`gisplan.catalog`); the settings here are the planner's own work limits and tolerances.  Pass an
:class:`UndergroundSettings` to :func:`gisplan.underground.plan_undergrounding` (``settings=``) to change them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """

    clip_min_roads: int = 20_000
    clip_margin_m: float = 2_000.0
    exchange_reach: float = 3.0
    budget_headroom: float = 1e-4
    forced_factor: float = 1e-3
    forced_tolerance_m: float = 15.0
    pole_end_tolerance_m: float = 1.0
    evals_per_round: int = 40

    def __post_init__(self) -> None:
        for name in ("clip_min_roads", "evals_per_round"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise PlanningError(f"{name} must be a whole number >= 0, got {v!r}")
        for name in ("clip_margin_m", "exchange_reach", "forced_factor", "forced_tolerance_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise PlanningError(f"{name} must be a number > 0, got {v!r}")
        for name in ("budget_headroom", "pole_end_tolerance_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                raise PlanningError(f"{name} must be a number >= 0, got {v!r}")
        if not self.budget_headroom < 1:
            raise PlanningError(f"budget_headroom must be below 1, got {self.budget_headroom!r}")


#: The settings used when none are given.
DEFAULT_SETTINGS = UndergroundSettings()
