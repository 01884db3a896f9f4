"""The routing model: the road graph (networkx) and Steiner trees over it with a proven lower bound.

:func:`graph_from_roads` turns a roads layer (plus ducts and constraints) into a graph whose edges carry
``length_m`` and a trench ``cost`` from the catalog; :func:`steiner_tree` connects terminals over it and
reports ``cost``, ``lower_bound`` and ``gap``.  Used by both planners; imports neither.
Work limits and tolerances live in :class:`RoutingSettings` (:mod:`gisplan.routing.settings`).
"""

from __future__ import annotations

from gisplan.routing.graph import (
    ComponentsReport,
    Crossing,
    attach_points,
    components_report,
    count_crossings,
    crossings_cost,
    graph_from_roads,
)
from gisplan.routing.settings import DEFAULT_SETTINGS, RoutingSettings
from gisplan.routing.steiner import SourcePath, nearest_source_paths, steiner_tree

__all__ = [
    "DEFAULT_SETTINGS",
    "ComponentsReport",
    "Crossing",
    "RoutingSettings",
    "SourcePath",
    "attach_points",
    "components_report",
    "count_crossings",
    "crossings_cost",
    "graph_from_roads",
    "nearest_source_paths",
    "steiner_tree",
]
