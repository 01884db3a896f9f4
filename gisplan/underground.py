"""The undergrounding planner: move aerial telecom cables of a zone into ducts, street by street.

:func:`plan_undergrounding` takes the validated layers, zone polygons and
:class:`UndergroundParams` and returns a :class:`~gisplan.plan.Plan`:

1. The aerial cables whose midpoint lies in a zone are selected (optionally of some owners only).
   Their poles (``from_pole``/``to_pole``; a cable's own end where it names no known pole) are
   the terminals; the root is the serving exchange/POP (the cheapest to reach of
   ``exchange_ids``, default: every exchange/POP with fibre).  Existing duct banks are
   near-free edges of the road graph, so the tree runs through them where they help: the
   duct network acts as an extension of the root.
2. The trench network is the Steiner tree of the terminals and the root over the road graph
   (:func:`gisplan.routing.steiner_tree`, weight = trench cost in VND), with its proven gap.
3. Shortcuts (``shortcuts=True``, :mod:`gisplan._underground_shortcuts`): the tree minimises
   trench cost only, so where streets form a loop it leaves one side open and a cable route
   along that side is re-pulled all the way round.  Road paths of at most ``shortcut_max_m``
   joining two tree nodes are candidates; greedily, best first and re-evaluated after each
   addition, a candidate is added when the cable it saves (sum over the affected routes of the
   saved metres x the route's cable price x (1 + slack), with the route-union rule below)
   exceeds its trench, duct, new-junction manhole and handhole cost; at most
   ``shortcut_rounds`` are added.  The trench network is then no longer a tree.
4. Each cable span follows its shortest path (by length) in the trench network; a cable route
   (its spans share ``route_id``) is re-pulled once: the union of its spans' paths, each edge
   charged once, x (1 + ``cable_slack_share``); this may exceed its aerial span.  Each trench
   edge carries the distinct cable routes (``route_id`` where the layer has it, else
   ``cable_id``) whose span paths pass through it or whose span ends' shortest paths to the
   exchange use it (the cables continue to the exchange).  It needs
   ``ceil(routes / cables_per_duct) + spare_ducts`` ducts.  An existing duct edge whose
   ``free_ducts`` suffice is reused (``DUCT.REUSE``) instead of trenched.
5. Manholes (``MH.STD``) at junctions (degree >= 3), at terminals inside a run and at the branch
   points of terminal spurs; handholes (``HH.STD``) along runs so that no stretch between
   chambers exceeds ``manhole_spacing_m``.  Road crossings: see :func:`gisplan.network.count_crossings`.
6. Telecom poles all of whose aerial cables move are removed (``POLE.REMOVE``); power and
   shared poles stay, and so does a telecom pole still carrying an unmoved aerial cable (of any
   owner, in the zone or not; named in ``from_pole``/``to_pole``, or ending within 1 m of it
   without naming a known pole).
7. Phasing: streets (connected trench edges of one street name, or road id where unnamed; a
   shortcut edge belongs to its street like any edge) get a priority score (see
   :class:`UndergroundParams`) and are assigned to years greedily under
   ``budget_per_year_vnd``, each year growing from what is built (see
   :mod:`gisplan._underground_phasing`).  Cable re-pull, aerial removal and pole removal fall in
   the year the cable's whole path is complete.
8. The BOQ is built through :mod:`gisplan.costing` with phase = year, district and commune
   from the boundaries layer, plus contingency per group.

Examples
--------
>>> from gisplan.demo_data import demo_gpkg_path, demo_zone_duong_dong
>>> from gisplan.layers import read_layers
>>> plan = plan_undergrounding(
...     read_layers(demo_gpkg_path()), demo_zone_duong_dong(), UndergroundParams(budget_per_year_vnd=10_000_000_000)
... )  # doctest: +SKIP
>>> plan.kpis["trench_km"] > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from gisplan._errors import PlanningError
from gisplan.catalog import Catalog, load_catalog
from gisplan.plan import Plan

__all__ = ["DEFAULT_CLASS_WEIGHTS", "UndergroundParams", "plan_undergrounding"]

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
        Heuristic starts and local-search rounds of :func:`gisplan.routing.steiner_tree` (its
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

    def __post_init__(self) -> None:
        b = self.budget_per_year_vnd
        if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
            raise PlanningError(f"budget_per_year_vnd must be a whole number of VND > 0, got {b!r}")
        if not isinstance(self.start_year, int) or not 1900 <= self.start_year <= 2200:
            raise PlanningError(f"start_year must be a year such as 2026, got {self.start_year!r}")
        if not isinstance(self.max_years, int) or self.max_years < 1:
            raise PlanningError(f"max_years must be a whole number >= 1, got {self.max_years!r}")
        if self.manhole_spacing_m is not None and not self.manhole_spacing_m > 0:
            raise PlanningError(f"manhole_spacing_m must be > 0, got {self.manhole_spacing_m!r}")
        for name in ("weight_density", "weight_road_class", "weight_centre", "weight_works"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise PlanningError(f"{name} must be a number >= 0, got {v!r}")
        if not isinstance(self.shortcuts, bool):
            raise PlanningError(f"shortcuts must be true or false, got {self.shortcuts!r}")
        if isinstance(self.shortcut_max_m, bool) or not isinstance(self.shortcut_max_m, int | float):
            raise PlanningError(f"shortcut_max_m must be a length in metres > 0, got {self.shortcut_max_m!r}")
        if not self.shortcut_max_m > 0:
            raise PlanningError(f"shortcut_max_m must be a length in metres > 0, got {self.shortcut_max_m!r}")
        r = self.shortcut_rounds
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise PlanningError(f"shortcut_rounds must be a whole number >= 0, got {r!r}")
        if isinstance(self.exchange_ids, str) or isinstance(self.owners, str):
            raise PlanningError("exchange_ids and owners are lists of ids, e.g. ['T0001'], not a single string")

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
        }


def _noop(msg: str) -> None:
    return None


def plan_undergrounding(
    layers: Mapping[str, gpd.GeoDataFrame],
    zones: Any,
    params: UndergroundParams,
    *,
    catalog: Catalog | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Plan moving the aerial cables of ``zones`` underground (see the module docstring for the method).

    Parameters
    ----------
    layers
        Validated layers (:func:`gisplan.layers.read_layers`): ``roads``, ``cables``, ``poles`` and
        ``sites`` needed; ``ducts``, ``constraints`` and ``boundaries`` used when present.
    zones
        The zone polygons: a GeoDataFrame (its own CRS; a ``name`` column names the zones) or
        shapely polygon(s) in EPSG:4326 (lon/lat).
    params
        The plan's parameters.
    catalog
        Cost catalog; default :func:`gisplan.catalog.load_catalog`.
    progress
        Called with a short message at each step (for the app and the CLI).

    Returns
    -------
    Plan
        ``kind="underground"``; layers ``trenches``, ``manholes``, ``poles_removed``,
        ``cables_rerouted`` and ``zones`` (EPSG:32648); the BOQ; KPIs ``aerial_km_removed``,
        ``trench_km``, ``reused_duct_km``, ``cost_vnd``, ``cost_per_km_vnd`` (per km of trench
        network, new trench plus reused duct), ``n_phases``, ``first_year``, ``last_year``,
        ``steiner_cost_vnd``, ``steiner_lower_bound_vnd``, ``steiner_gap``, ``n_manholes``,
        ``n_handholes``, ``n_poles_removed``, ``n_crossings``, ``labour_vnd_estimate``,
        ``cable_km_repulled``, ``n_shortcuts``, ``shortcut_trench_km`` (network length of the
        shortcuts, new trench or reused duct), ``cable_km_saved_by_shortcuts`` (cable metres
        re-pulled through the tree alone minus through the built network, slack excluded), ...
        The ``steiner_*`` figures describe the tree itself (the proven figure), before shortcuts.
        The ``trenches`` layer has a boolean ``shortcut`` column.

    Raises
    ------
    PlanningError
        A zone outside the data, a zone without aerial cable, a yearly budget below the
        cheapest street, more years than ``max_years``.
    RoutingError
        The exchange or some poles cannot be reached over the roads (named in the message).
    """
    from gisplan._underground_build import build_plan

    cat = catalog if catalog is not None else load_catalog()
    return build_plan(dict(layers), zones, params, cat, progress or _noop)
