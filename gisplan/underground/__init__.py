"""The undergrounding planner: move a zone's aerial telecom cables into ducts, phased by year under a budget.

:func:`plan_undergrounding` (layers, zones, :class:`UndergroundParams`, catalog) returns a :class:`~gisplan.plan.Plan`.
The steps are private modules beside it: inputs, road clipping, the Steiner trench tree, shortcuts,
quantities, phasing, outputs.  Never imports the wifi planner, the outputs or the store.
"""

from __future__ import annotations

from gisplan.underground.params import DEFAULT_CLASS_WEIGHTS, UndergroundParams
from gisplan.underground.planner import plan_undergrounding
from gisplan.underground.settings import DEFAULT_SETTINGS, UndergroundSettings

__all__ = [
    "DEFAULT_CLASS_WEIGHTS",
    "DEFAULT_SETTINGS",
    "UndergroundParams",
    "UndergroundSettings",
    "plan_undergrounding",
]
