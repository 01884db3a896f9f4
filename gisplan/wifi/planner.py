"""The remote-area wifi planner: unserved demand, candidate sites, backhaul, site selection, the Plan.

:func:`plan_wifi` takes validated layers (``settlements`` and ``sites`` required;
``coverage``, ``land``, ``boundaries``, ``roads`` used when present), a
:class:`WifiParams` and the cost catalog, and returns a :class:`gisplan.plan.Plan`
of kind ``"wifi"``.

How it works
------------
1. **Demand.** A settlement is served when it lies inside a coverage polygon of
   one of ``coverage_technologies`` with quality at least ``min_quality``; the
   others (inside ``focus`` when given) are the unserved demand, weighted by
   population or households, each classed: land polygon, ``on_island``,
   ``remote_island`` (its land holds no site with fibre), distance to the
   nearest town and exchange, and ``near_border`` (within
   ``border_distance_km`` of the optional ``border`` geometry: the demo has no
   land border; Cambodia's coast lies about 15 km north of Phú Quốc, so pass
   that coastline as ``border`` to flag the north).
2. **Candidates.** Sites of ``candidate_kinds``, the planner's
   ``extra_candidates``, and (``generate_candidates``) a new mast at each
   unserved settlement that no candidate reaches.  A site without mains power
   gets a solar kit (``POWER.SOLAR``) and the plan's messages name it;
   ``require_power=True`` drops such sites instead, again by name.
3. **Backhaul first.** Every candidate's cheapest feasible backhaul
   (:func:`gisplan.wifi.backhaul.backhaul_options`) is added to its cost, so the
   selection and the backhaul agree.
4. **Coverage matrix.** Each candidate x AP profile is one column: it covers
   the settlements within the profile's reach (:func:`gisplan.wifi.radio.reach_m`),
   and with an elevation raster only those in line of sight.  Its cost is the
   AP price + a 15 m mast when the site is lower than the profile's antenna
   height (or of unknown height) + solar kit + backhaul.
5. **Selection.** Commune People's Committee sites (``commune_hq``) without
   fibre and outside good coverage are forced in (``connect_all_commune_hq``),
   with their best-covering profile.  The rest is chosen by
   :func:`gisplan.wifi.siting.maximize_coverage` under the budget left (the budget
   is the BOQ total: site costs times 1 + the contingency share), or by
   :func:`gisplan.wifi.siting.cover_all` at least cost; status, bound and gap are KPIs.

No unserved settlement (and no commune HQ to connect) gives an empty plan with
an explanation, not an error; a budget that pays for the commune HQs and
nothing more gives a plan of the HQs that says what one more site would cost.

6. **Demand where people are.** Each unserved settlement's households are spread over its area
   (:mod:`gisplan.wifi.households`: a ``buildings`` layer, else generated, seeded, labelled), each with the
   catalog's busy-hour Mbps; schools, health stations and (with ``connect_all_commune_hq``) People's Committees
   without fibre add their own Mbps.  The coverage matrix has one row per household or institution; households
   are indoors (the profile's building entry loss), the profiles' model is village clutter (P.1411 NLOS).  Where
   the ``land`` layer gives a coastline, households and institutions within ``WifiSettings.coastal_band_m`` of
   it are ``coastal`` (line of sight on a path that leaves over the sea); ``demand_points.environment_source``
   says where each point's class came from (:mod:`gisplan.wifi.environment`).
7. **Capacity.** Every demand point is served by one AP within its airtime: it takes ``demand / rate`` of it, the
   rate being the 802.11ax MCS its link budget allows at its distance (:func:`gisplan.wifi.radio.downlink_rate_mbps`).
   Where APs lack airtime, APs are added in rounds (a second or third AP at a chosen site costs the AP only); a
   round that serves no more is undone, and the demand left in reach is named per village with its reason.
8. **Backhaul as a network** (:mod:`gisplan.wifi.network`): chosen sites relay through each other within link
   capacities; an island (sites that reach each other by relay hops, up to ``backhaul_exact_max_sites``) gets its
   least-cost gateways, bonded satellite terminals and relays exactly, larger groups a minimum spanning forest with
   repairs; hops and relays are checked over the elevation raster for 0.6 of the first Fresnel zone over terrain,
   clutter and the earth bulge.
9. **Money** (:mod:`gisplan.wifi.money`): the BOQ holds capital items only; fees (satellite within its licence,
   VSAT after, each with its capacity per Mbps above the subscription), IP transit per Mbps handed to the Internet
   over terrestrial backhaul, rent of a tower or pole the plan does not own, power and maintenance are yearly
   ``opex_lines``; the life-cycle cost discounts them.
10. **A technology per village** (:mod:`gisplan.wifi._technology`, ``technologies``): steps 1-9 run first on every
    village (the wifi selection is the engine of the ``public_wifi`` option).  Then every village (unserved
    settlement) gets one row per technology in ``village_options``: public wifi (its share of the sites serving it,
    by Mbps), an operator 4G small cell at the village, fixed wireless access from an existing tower (rooftop
    terminal per household), or an existing tower's reach (backhaul, and the 4G upgrade unless the tower already
    radiates 4G); feasibility (reach from each technology's link budget, checked for line of sight, 0.6 of the
    first Fresnel zone and terrain over the elevation raster like the wifi APs, capacity against the village's Mbps),
    capex, yearly opex and life-cycle cost.  Each village takes the cheapest life-cycle cost that meets its demand
    among the allowed technologies; one that no option serves whole keeps wifi's partial service.  Villages taken
    by another technology take no wifi site: steps 1-9 run again without their households (institutions and forced
    commune HQs stay with wifi; with a budget, the other technologies' BOQ is taken off it first), and the chosen
    towers and small cells join ``sites`` (column ``technology``), the backhaul links, footprints, BOQ and
    yearly lines.  With ``technologies=("public_wifi",)`` (the default) the plan is the wifi selection alone, and
    ``village_options`` still shows what the others would cost.

KPIs
----
``people_newly_covered`` counts the people of the households whose demand an AP serves (each once, by one site);
``people_in_footprint`` those inside a chosen AP's reach; ``mbps_delivered`` against ``demand_mbps``;
``share_unserved_reached`` divides people served by ``people_unserved``.
``communes_hq_connected`` counts communes (``boundaries`` of level
``commune``; without them, commune HQ sites) of which a People's Committee site
has fibre, lies in good coverage or is chosen; ``communes_not_connected`` names
the others.  ``selection_bound`` and ``selection_gap`` are those of the coverage selection (step 5), forced HQs
included: a lower bound on its cost (``cover_all``) or an upper bound on the weight covered (budget); the
capacity rounds after it are a heuristic (``capacity_aps``).  ``capex_vnd`` is the BOQ total,
``opex_vnd_per_year`` the first year's operating cost, ``lcc_vnd`` and ``lcc_per_person_vnd`` the life-cycle cost.
``technology_mix`` counts villages per technology; ``wifi_only_lcc_vnd`` and ``wifi_only_people_newly_covered`` are
those of the wifi selection on every village (step 10's first run), for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gisplan._errors import PlanningError
from gisplan.catalog._catalog import Catalog, load_catalog
from gisplan.io.crs import to_metric
from gisplan.plan import Plan
from gisplan.wifi._technology import plan_with_technologies
from gisplan.wifi.backhaul import metric_crs_of
from gisplan.wifi.demand import as_geometry, served_mask
from gisplan.wifi.params import Progress, WifiParams
from gisplan.wifi.settings import WifiSettings

__all__ = ["plan_wifi", "unserved_settlements"]


def unserved_settlements(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    coverage_technologies: Sequence[str] = ("4G", "5G"),
    min_quality: str = "good",
    focus: Any = None,
) -> gpd.GeoDataFrame:
    """The settlements outside good coverage (the wifi planner's demand), before any planning.

    Parameters
    ----------
    layers
        Validated layers with ``settlements`` (and ``coverage`` when there is any).
    coverage_technologies, min_quality, focus
        As in :class:`WifiParams`; ``focus`` polygons (a GeoDataFrame or GeoSeries with a CRS) limit the
        result.

    Returns
    -------
    geopandas.GeoDataFrame
        The unserved settlements with their columns, in the settlements' CRS.
    """
    if "settlements" not in layers:
        raise PlanningError("the wifi planner needs a 'settlements' layer / Phương án wifi cần lớp khu dân cư")
    sets = layers["settlements"]
    crs = metric_crs_of(sets)
    metric = to_metric(sets, crs)
    cov = layers.get("coverage")
    served = served_mask(metric, None if cov is None else to_metric(cov, crs), coverage_technologies, min_quality)
    keep = ~served
    area = as_geometry(focus, crs, "focus")
    if area is not None:
        keep &= np.asarray(shapely.intersects(area, np.asarray(metric.geometry)), dtype=bool)
    return sets[keep].copy()


def plan_wifi(
    layers: Mapping[str, gpd.GeoDataFrame],
    params: WifiParams,
    *,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    settings: WifiSettings | None = None,
) -> Plan:
    """Plan wifi sites for the settlements existing coverage misses; see the module notes.

    Parameters
    ----------
    layers
        Validated layers by kind (``settlements`` and ``sites`` required).
    params
        The planner's parameters.
    catalog
        Cost catalog; the package default when ``None``.
    progress
        Called as ``progress(fraction, message)`` between stages.
    settings
        The planner's tunable constants (:class:`~gisplan.wifi.settings.WifiSettings`); the defaults when ``None``.

    Returns
    -------
    Plan
        Layers ``sites`` (every chosen site, its ``technology``), ``footprints``, ``backhaul_links``,
        ``settlements_unserved``, ``backhaul_options``, ``demand_points``, ``opex_lines`` and ``village_options``
        (one row per village and technology); the BOQ; KPIs.

    Raises
    ------
    PlanningError
        On missing layers, unknown profiles, a budget below the forced commune
        HQs, or (no HQ forced) below every useful site's cost; the message says
        the budget needed.
    """
    cat = load_catalog() if catalog is None else catalog
    return plan_with_technologies(layers, params, catalog=cat, progress=progress, settings=settings)
