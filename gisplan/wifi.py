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
   (:func:`gisplan.backhaul.backhaul_options`) is added to its cost, so the
   selection and the backhaul agree.
4. **Coverage matrix.** Each candidate x AP profile is one column: it covers
   the settlements within the profile's reach (:func:`gisplan.radio.reach_m`),
   and with an elevation raster only those in line of sight.  Its cost is the
   AP price + a 15 m mast when the site is lower than the profile's antenna
   height (or of unknown height) + solar kit + backhaul.
5. **Selection.** Commune People's Committee sites (``commune_hq``) without
   fibre and outside good coverage are forced in (``connect_all_commune_hq``),
   with their best-covering profile.  The rest is chosen by
   :func:`gisplan.siting.maximize_coverage` under the budget left (the budget
   is the BOQ total: site costs times 1 + the contingency share), or by
   :func:`gisplan.siting.cover_all` at least cost; status, bound and gap are KPIs.

No unserved settlement (and no commune HQ to connect) gives an empty plan with
an explanation, not an error; a budget that pays for the commune HQs and
nothing more gives a plan of the HQs that says what one more site would cost.

KPIs
----
``people_newly_covered`` counts each settlement once, however many chosen sites
reach it; ``share_unserved_reached`` divides it by ``people_unserved``.
``communes_hq_connected`` counts communes (``boundaries`` of level
``commune``; without them, commune HQ sites) of which a People's Committee site
has fibre, lies in good coverage or is chosen; ``communes_not_connected`` names
the others.  ``selection_bound`` and ``selection_gap`` are those of the whole
selection, forced HQs included: a lower bound on ``selection_cost_vnd``
(``cover_all``) or an upper bound on the weight covered (budget).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import CRSError, PlanningError
from gisplan._wifi_demand import power_flags
from gisplan._wifi_output import (
    FOOTPRINT_COLUMNS,
    LINK_COLUMNS,
    SITE_COLUMNS,
    empty_layer,
)
from gisplan.backhaul import OPTION_COLUMNS, metric_crs_of
from gisplan.catalog import Catalog, load_catalog
from gisplan.crs import to_metric
from gisplan.plan import Plan, empty_boq
from gisplan.radio import APProfile, reach_m

__all__ = ["DEFAULT_CANDIDATE_KINDS", "WifiParams", "plan_wifi"]

#: Site kinds that may carry a wifi access point by default.
DEFAULT_CANDIDATE_KINDS = ("commune_hq", "school", "health", "community", "tower", "pole")

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

    def __post_init__(self) -> None:
        if self.weight not in ("population", "households"):
            raise PlanningError(f"weight must be 'population' or 'households', got {self.weight!r}")
        if self.budget_vnd is not None and (isinstance(self.budget_vnd, bool) or self.budget_vnd < 0):
            raise PlanningError(f"budget_vnd must be a non-negative amount of VND, got {self.budget_vnd!r}")
        if self.budget_vnd is None and not self.cover_all:
            raise PlanningError("give budget_vnd (maximal covering) or cover_all=True (cover everyone at least cost)")
        if self.satellite_horizon_years is not None and not self.satellite_horizon_years > 0:
            raise PlanningError(
                f"satellite_horizon_years must be a positive number of years, got {self.satellite_horizon_years!r}"
            )
        if not self.time_limit_s > 0:
            raise PlanningError(f"time_limit_s must be positive, got {self.time_limit_s!r}")

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
    from gisplan._wifi_demand import as_geometry, served_mask

    if "settlements" not in layers:
        raise PlanningError("the wifi planner needs a 'settlements' layer")
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


def _profiles(cat: Catalog, names: tuple[str, ...] | None) -> list[tuple[str, APProfile, str, float]]:
    allowed = list(cat.ap_profiles) if names is None else list(names)
    unknown = [n for n in allowed if n not in cat.ap_profiles]
    if not allowed:
        raise PlanningError(f"no AP profile allowed (profiles is empty); choose among {', '.join(cat.ap_profiles)}")
    if unknown:
        raise PlanningError(f"unknown AP profile(s) {unknown!r}; the catalog has {', '.join(cat.ap_profiles)}")
    out = []
    for name in sorted(allowed):
        raw = dict(cat.ap_profiles[name])
        item = str(raw.pop("item_code"))
        raw.setdefault("name", name)
        prof = APProfile.from_mapping(raw)
        out.append((name, prof, item, reach_m(prof)))
    return out


def _candidates(
    sites: gpd.GeoDataFrame, p: WifiParams, crs: Any, demand: gpd.GeoDataFrame, max_reach: float
) -> gpd.GeoDataFrame:
    cols = ["site_id", "name", "kind", "has_fibre", "height_m", "has_power", "geometry"]
    kinds = set(p.candidate_kinds) | ({"commune_hq"} if p.connect_all_commune_hq else set())
    base = sites[sites["kind"].isin(kinds)].copy()
    base["has_power"] = power_flags(base)
    parts = [base.reindex(columns=cols)]
    if p.extra_candidates is not None and len(p.extra_candidates):
        if p.extra_candidates.crs is None:
            raise CRSError(
                "extra_candidates have no CRS; give the drawn points one (e.g. EPSG:4326) "
                "/ Các vị trí vẽ thêm chưa có hệ tọa độ"
            )
        extra = to_metric(p.extra_candidates, crs)
        if "site_id" not in extra.columns:
            raise PlanningError("extra_candidates need a site_id column")
        extra = extra.assign(
            kind="drawn",
            has_fibre=extra["has_fibre"].fillna(False) if "has_fibre" in extra.columns else False,
            has_power=power_flags(extra),
        )
        parts.append(extra.reindex(columns=cols))
    cand = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    if p.generate_candidates and len(demand):
        d = np.asarray(
            shapely.STRtree(np.asarray(cand.geometry)).query_nearest(
                np.asarray(demand.geometry), return_distance=True, all_matches=False
            )[1]
            if len(cand)
            else np.full(len(demand), np.inf)
        )
        far = demand[d > max_reach]
        gen = gpd.GeoDataFrame(
            {
                "site_id": "GEN-" + far["settlement_id"].astype(str),
                "name": far["name"].astype(str),
                "kind": "generated",
                "has_fibre": False,
                "height_m": np.nan,
                "has_power": False,
            },
            geometry=list(far.geometry),
            crs=crs,
        )
        cand = gpd.GeoDataFrame(pd.concat([cand, gen], ignore_index=True), geometry="geometry", crs=crs)
    cand["has_fibre"] = cand["has_fibre"].astype("boolean").fillna(False).astype(bool)
    cand["has_power"] = cand["has_power"].astype(bool)
    cand["name"] = cand["name"].fillna("").astype(str)
    if cand["site_id"].duplicated().any():
        dup = cand.loc[cand["site_id"].duplicated(), "site_id"].iloc[0]
        raise PlanningError(f"candidate site id {dup!r} occurs twice (sites and extra_candidates must not share ids)")
    return cand.reset_index(drop=True)


def _empty_plan(crs: Any, unserved: gpd.GeoDataFrame, params: WifiParams, why_en: str, why_vi: str) -> Plan:
    layers = {
        "wifi_sites": empty_layer(SITE_COLUMNS, crs),
        "footprints": empty_layer(FOOTPRINT_COLUMNS, crs),
        "backhaul_links": empty_layer(LINK_COLUMNS, crs),
        "settlements_unserved": unserved,
        "backhaul_options": empty_layer(OPTION_COLUMNS, crs),
    }
    kpis = {
        "people_unserved": int(unserved["population"].sum()) if len(unserved) else 0,
        "people_newly_covered": 0,
        "share_unserved_reached": 0.0,
        "n_sites": 0,
        "cost_vnd": 0,
        "capex_vnd": 0,
        "opex_vnd": 0,
        "cost_per_person_vnd": 0,
        "selection_status": "empty",
        "selection_gap": 0.0,
    }
    return Plan(kind="wifi", layers=layers, boq=empty_boq(), kpis=kpis, params=params.to_dict(),
                messages=[why_en, why_vi])  # fmt: skip


def plan_wifi(
    layers: Mapping[str, gpd.GeoDataFrame],
    params: WifiParams,
    *,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
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

    Returns
    -------
    Plan
        Layers ``wifi_sites``, ``footprints``, ``backhaul_links``,
        ``settlements_unserved`` and ``backhaul_options``; the BOQ; KPIs.

    Raises
    ------
    PlanningError
        On missing layers, unknown profiles, a budget below the forced commune
        HQs, or (no HQ forced) below every useful site's cost; the message says
        the budget needed.
    """
    from gisplan._wifi_select import run

    return run(layers, params, catalog=load_catalog() if catalog is None else catalog, progress=progress)


def _prepare(
    layers: Mapping[str, gpd.GeoDataFrame], params: WifiParams
) -> tuple[Any, dict[str, gpd.GeoDataFrame | None]]:
    for name in ("settlements", "sites"):
        if name not in layers:
            raise PlanningError(f"the wifi planner needs a {name!r} layer; add it to the scenario")
    crs = metric_crs_of(layers["settlements"])
    out: dict[str, gpd.GeoDataFrame | None] = {}
    for name in ("settlements", "sites", "coverage", "land", "boundaries", "roads"):
        frame = layers.get(name)
        out[name] = None if frame is None else to_metric(frame, crs)
    return crs, out
