"""The undergrounding planner: move aerial telecom cables of a zone into ducts, street by street.

:func:`plan_undergrounding` takes the validated layers, zone polygons and
:class:`UndergroundParams` and returns a :class:`~gisplan.plan.Plan`:

1. The aerial cables whose midpoint lies in a zone are selected (optionally of some owners only).
   The road points nearest their poles (``from_pole``/``to_pole``; a cable's own end where it names
   no known pole) are the terminals: a removed pole gets no trench of its own.  The roots (issue 12):
   each operator (``owner`` of its cables) is led to its own exchange or POP, the cheapest to reach
   from its own terminals of the candidate sites whose ``owner`` is that operator (matched without
   case or surrounding spaces); the candidates are ``exchange_ids`` if given, else every
   exchange/POP with fibre.  Fallback: an operator with no candidate of its own (or none it can
   reach over the roads, or a sites layer without ``owner``) is led to the common root, the
   candidate that most of all the zone's terminals reach first (as before issue 12), and the
   plan's messages say so for that operator, in English and Vietnamese.  The primary root
   (KPI ``root_site``) is the common root where an operator falls back to it, else the root of
   the operator with the most terminals.  Existing duct banks are near-free edges of the road
   graph, so the tree runs through them where they help: the duct network acts as an extension
   of the roots.
2. The trench network is the Steiner tree of the terminals and every root used over the road graph
   (:func:`gisplan.routing.steiner.steiner_tree`, weight = trench cost in VND), with its proven gap.
   One tree for all operators, not one per operator: trench is shared (one dig, one duct bank, each
   operator in its own ducts), so the network minimises the trench for all of them together.  The
   consequence: an operator's cables reach its root along the shared tree, which may be longer than
   its own shortest road path (the detour limit of step 4 bounds only the spans), and the tree may
   join two roots through the zone; the trench from the zone to each root used is part of the plan,
   so a root far from the zone adds its whole lead.
3. Shortcuts (``shortcuts=True``, :mod:`gisplan.underground._shortcuts`): the tree minimises
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
   route's own root (its operator's exchange or POP, step 1) use it: the cables continue to their
   operator's exchange, so near a root the ducts hold only the operators led to it.  The detour limit
   (``max_detour_ratio``, :mod:`gisplan.underground._detours`) adds the road path that keeps a span
   within it as trench.  Ducts per operator, fill by cable diameter, the duct bank's cross-section
   (TCVN 8700:2011) and the trench's price by excavation and reinstatement:
   :mod:`gisplan.underground._ductbank`.  An existing duct edge whose ``free_ducts`` suffice is
   reused (``DUCT.REUSE``) instead of trenched.
5. Chambers by what they are for, each with a reason, off road intersections
   (:mod:`gisplan.underground._chambers`); the buildings of a zone get drops from their nearest
   chamber (:mod:`gisplan.underground._drops`).  Road crossings: see
   :func:`gisplan.routing.graph.count_crossings`.
6. Telecom poles all of whose aerial cables move are removed (``POLE.REMOVE``); power and
   shared poles stay, and so does a telecom pole still carrying an unmoved aerial cable (of any
   owner, in the zone or not; named in ``from_pole``/``to_pole``, or ending within 1 m of it
   without naming a known pole).
7. Phasing: streets (connected trench edges of one street name, or road id where unnamed; a
   shortcut edge belongs to its street like any edge) get a priority score (see
   :class:`UndergroundParams`) and are assigned to years greedily under
   ``budget_per_year_vnd``, each year growing from what is built (see
   :mod:`gisplan.underground._phasing`).  Cable re-pull, aerial removal and pole removal fall in
   the year the cable's whole path is complete.
8. The BOQ is built through :mod:`gisplan.catalog.costing` with phase = year, district and commune
   from the boundaries layer, plus contingency per group; the investment estimate follows Decree
   10/2021/NĐ-CP (:mod:`gisplan.underground._estimate`).

Examples
--------
>>> from gisplan.demo.data import demo_gpkg_path, demo_zone_duong_dong
>>> from gisplan.io.layers import read_layers
>>> plan = plan_undergrounding(
...     read_layers(demo_gpkg_path()), demo_zone_duong_dong(), UndergroundParams(budget_per_year_vnd=10_000_000_000)
... )  # doctest: +SKIP
>>> plan.kpis["trench_km"] > 0  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd

from gisplan.catalog._catalog import Catalog, load_catalog
from gisplan.io.crs import metric_crs_for, to_metric
from gisplan.plan import Plan
from gisplan.underground._build import build_plan
from gisplan.underground.params import UndergroundParams
from gisplan.underground.settings import UndergroundSettings

__all__ = ["plan_undergrounding"]


def _noop(msg: str) -> None:
    return None


def plan_undergrounding(
    layers: Mapping[str, gpd.GeoDataFrame],
    zones: Any,
    params: UndergroundParams,
    *,
    catalog: Catalog | None = None,
    progress: Callable[[str], None] | None = None,
    settings: UndergroundSettings | None = None,
) -> Plan:
    """Plan moving the aerial cables of ``zones`` underground (see the module docstring for the method).

    Parameters
    ----------
    layers
        Validated layers (:func:`gisplan.io.layers.read_layers`): ``roads``, ``cables``, ``poles`` and
        ``sites`` needed; ``ducts``, ``constraints`` and ``boundaries`` used when present.
    zones
        The zone polygons: a GeoDataFrame (its own CRS; a ``name`` column names the zones) or
        shapely polygon(s) in EPSG:4326 (lon/lat).
    params
        The plan's parameters.
    catalog
        Cost catalog; default :func:`gisplan.catalog._catalog.load_catalog`.
    progress
        Called with a short message at each step (for the app and the CLI).
    settings
        Work limits and tolerances (:class:`~gisplan.underground.settings.UndergroundSettings`); default
        :data:`~gisplan.underground.settings.DEFAULT_SETTINGS`.

    Returns
    -------
    Plan
        ``kind="underground"``; layers ``trenches`` (ducts, operators, width_m, depth_m, placement,
        phase, ...), ``chambers`` (type, reason, near_intersection), ``drops``, ``buildings_not_served``,
        ``poles_removed``, ``poles_remaining``, ``cables_rerouted`` (owner, exchange_id: the site
        its cable is led to, aerial_m, route_m, ratio, detour)
        and ``zones`` (EPSG:32648); the BOQ; KPIs ``aerial_km_removed``,
        ``trench_km``, ``reused_duct_km``, ``cost_vnd``, ``cost_per_km_vnd`` (per km of trench
        network, new trench plus reused duct), ``n_phases``, ``first_year``, ``last_year``,
        ``steiner_cost_vnd``, ``steiner_lower_bound_vnd``, ``steiner_gap``, ``root_site`` (the primary
        root), ``roots_by_operator`` (operator -> site id), ``root_sites``, ``n_roots``, ``n_manholes``,
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
    cat = catalog if catalog is not None else load_catalog()
    return build_plan(_measuring(layers), zones, params, cat, progress or _noop, settings)


def _measuring(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """The layers in one CRS lengths can be measured in: the roads' own when it measures (the project's metric CRS,
    as :func:`gisplan.io.read_layers` gives them), else the UTM zone of the roads (geographic or Web Mercator
    layers passed straight from Python would otherwise be measured in degrees or stretched by 1/cos(latitude))."""
    roads = layers.get("roads")
    if roads is None or roads.crs is None:
        return dict(layers)  # build_plan names the missing layer or CRS
    crs = metric_crs_for(roads)
    return {k: v if v is None or v.crs is None or v.crs == crs else to_metric(v, crs) for k, v in layers.items()}
