"""A technology per village, on top of the wifi selection (private step of :func:`gisplan.wifi.plan_wifi`).

Options per village (an unserved settlement), priced from the catalog's ``technologies`` section:

``public_wifi``
    The wifi planner's access points (:mod:`gisplan.wifi._select`, run first on every village): the village's share
    of the capital and yearly cost of the sites serving its households, in proportion to the Mbps each site serves
    there; its capacity is the Mbps the selection delivers to the village.
``small_cell_4g``
    An operator's 4G small cell on a new mast at the village point, with its own cheapest backhaul
    (:func:`gisplan.wifi.backhaul.backhaul_options`); one cell, its capacity shared by the whole village.
``fwa``
    Fixed wireless access from an existing tower (sites of kind ``tower``): an FWA base station on the tower (shared
    by the villages that take it), the tower's backhaul when it has no fibre, and a rooftop terminal per household.
``tower_4g``
    The village is already within an existing tower's indoor reach: only the tower's backhaul when it has no fibre,
    and its 4G upgrade (``LTE.UPGRADE``, power) unless the tower already radiates 4G (it stands inside a 4G or 5G
    polygon of the ``coverage`` layer, of any quality: poor service there means no backhaul, not no radio); shared,
    no household equipment.

Reach comes from the link budget of each technology's radio profile (:func:`gisplan.wifi.radio.reach_m`; a tower's
own ``height_m`` replaces the profile's), capacity from carrier bandwidth x spectral efficiency x sectors, capped by
the backhaul's capacity.  An option meets a village's demand when every household lies within reach and the
capacity left for the village covers its Mbps.

A household is within reach as the wifi APs' clients are (:mod:`gisplan.wifi.environment`,
:func:`_households_in_reach`): without an elevation raster, within the profile's non-line-of-sight reach (its
``model``; nothing is line of sight).  With a raster, a household of an open or coastal class whose path from the
antenna clears 0.6 of the first Fresnel zone over the terrain, the profile's ``los_clutter_m`` and the earth bulge
(k = 4/3) is line of sight and within the ``los_model``'s reach (a household classed coastal by the coastline only on
a path that leaves over the sea); any other household is within the non-line-of-sight reach when the path clears the
bare terrain (a hill between the tower and the house blocks it; a path off the raster counts as clear, and the plan
says how many).  Households are many and towers few: the paths are checked in batches, the farthest households of
each tower-village pair first, and a pair stops at its first household out of reach (its reason then says "at
least").

Life-cycle cost = capital + yearly operating cost (maintenance share, grid power, the backhaul's lines of
:func:`gisplan.wifi.backhaul.backhaul_fees`: satellite or VSAT fees, satellite capacity above the subscription, IP
transit per Mbit/s over terrestrial backhaul, rent of a hop's far end on a tower or pole) discounted at the
catalog's ``discount_rate`` over the plan's horizon (:mod:`gisplan.wifi.money`); figures are before contingency.
The per-Mbit/s lines (transit, satellite capacity) are on the Mbps the facility carries: a small cell its village's,
a tower the villages that take it (each village pays its Mbps share).  The equipment of ``fwa`` and ``tower_4g`` is
the tower operator's own, on its own tower: no rent (the public wifi's APs on a tower or pole do pay it,
:mod:`gisplan.wifi._select`).

Shared tower equipment is split among the villages that take it in proportion to their Mbps; a tower's capacity
goes to the nearest villages first.  The choice is a fixed point: every village picks its cheapest option that meets
demand; a village that fits a tower but picks something else leaves that tower (the others' shares rise) and the
choice is made again, until no village leaves (a village never returns, so this ends).  A village no option serves
whole keeps the wifi selection's partial service when wifi is allowed (its reason says so).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import CatalogError, PlanningError, Problem
from gisplan.catalog._catalog import Catalog
from gisplan.catalog.costing import add_contingency, boq_frame, boq_line
from gisplan.plan import Plan
from gisplan.wifi._inputs import prepare
from gisplan.wifi._output import FOOTPRINT_COLUMNS, LINK_COLUMNS, SITE_COLUMNS, commune_of, footprint, link_geometry
from gisplan.wifi._select import _fibre_sites, _road_graph, _start_year, run
from gisplan.wifi.backhaul import (
    backhaul_fees,
    backhaul_items,
    backhaul_options,
    chosen_backhaul,
    included_mbps,
    transmission_inputs,
)
from gisplan.wifi.demand import served_mask
from gisplan.wifi.environment import COASTLINE, LOS_ENVIRONMENTS, Shore, leaves_over_sea, shore_of
from gisplan.wifi.money import horizon_years, present_value
from gisplan.wifi.params import TECHNOLOGIES, Progress, WifiParams
from gisplan.wifi.radio import APProfile, RadioValidityWarning, line_of_sight, open_elevation, reach_m
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings

#: Columns of the ``village_options`` layer (plus the village point as geometry).
VILLAGE_OPTION_COLUMNS = (
    "settlement_id",
    "village",
    "technology",
    "site_id",
    "feasible",
    "reason",
    "households",
    "households_in_reach",
    "capacity_mbps",
    "demand_mbps",
    "capex_vnd",
    "opex_vnd_per_year",
    "lcc_vnd",
    "chosen",
)
#: Technologies served from an existing tower.
TOWER_TECHNOLOGIES = ("fwa", "tower_4g")
_TOL = 1e-6


@dataclass(frozen=True)
class TechnologySpec:
    """A technology of the catalog: its items, capacity and radio profile (``None`` for public wifi)."""

    name: str
    label_en: str
    label_vi: str
    site_items: tuple[str, ...] = ()
    household_items: tuple[str, ...] = ()
    capacity_mbps: float = 0.0
    power_w: float = 0.0
    profile: APProfile | None = None


def technology_spec(cat: Catalog, name: str) -> TechnologySpec:
    """Read technology ``name`` from the catalog's ``technologies`` section; a missing one is a catalog error."""
    raw = cat.technologies.get(name)
    if raw is None:
        raise CatalogError(
            f"the catalog has no technology {name!r} (section 'technologies'); the plan needs "
            f"{', '.join(TECHNOLOGIES)} / danh mục đơn giá không có công nghệ {name!r} (mục 'technologies'); "
            f"phương án cần {', '.join(TECHNOLOGIES)}",
            [
                Problem(
                    f"missing technology {name!r} / thiếu công nghệ {name!r}",
                    layer="technologies",
                    hint=f"add {name!r} to the catalog's 'technologies' section "
                    f"/ thêm {name!r} vào mục 'technologies' của danh mục đơn giá",
                )
            ],
        )
    label_en, label_vi = str(raw.get("label_en", name)), str(raw.get("label_vi", name))
    if name == "public_wifi":
        return TechnologySpec(name, label_en, label_vi)
    radio = dict(raw.get("radio") or {})
    radio.setdefault("name", name)
    cap = (
        float(raw.get("sectors", 1))
        * float(raw.get("carrier_mhz", 0.0))
        * float(raw.get("spectral_efficiency_bps_hz", 0))
    )
    return TechnologySpec(
        name, label_en, label_vi, tuple(raw.get("site_items") or ()), tuple(raw.get("household_items") or ()),
        cap, float(raw.get("power_w", 0.0)), APProfile.from_mapping(radio),
    )  # fmt: skip


@dataclass
class _Village:
    sid: str
    name: str
    point: Any
    hh_xy: np.ndarray
    mbps: float
    people: float
    households: int
    hh_open: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # open or coastal class
    hh_sea: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # coastal by the coastline


@dataclass
class _Facility:
    """Equipment that may serve villages: a small cell at a village, or a technology on an existing tower."""

    site_id: str
    name: str
    kind: str
    tech: str
    point: Any
    reach_m: float
    capacity_mbps: float
    capex_vnd: int  # site items and backhaul capital
    yearly: np.ndarray  # operating cost per year of the horizon (maintenance, power, fees)
    bh: Any  # its chosen backhaul row
    members: list[str] = field(default_factory=list)  # villages queued for it, nearest first
    profile: APProfile | None = None  # its radio profile at its antenna height
    reach_los_m: float = 0.0  # line-of-sight reach (m); the non-line-of-sight one without a raster
    outside: dict[str, tuple[int, bool]] = field(default_factory=dict)  # village: (households out of reach, exact)
    # per year, the lines that grow with the Mbit/s it carries (transit, satellite capacity), for a given load
    traffic: Callable[[float], np.ndarray] | None = None

    def traffic_yearly(self, mbps: float) -> np.ndarray:
        """Yearly amounts (VND) of the per-Mbit/s lines when the facility carries ``mbps``."""
        return self.traffic(mbps) if self.traffic is not None else np.zeros(len(self.yearly))


def _money(ctx: dict[str, Any]) -> tuple[list[int], float, float]:
    return ctx["years"], ctx["rate"], ctx["share"]


def _opex_per_year(cat: Catalog, capex: float, kwh: float, fees: list[tuple[int, str, float]], years: list[int],
                   share: float) -> np.ndarray:  # fmt: skip
    """Per year of ``years``: maintenance (``share`` of ``capex``), grid power (``kwh``) and the yearly lines ``fees``
    (:func:`gisplan.wifi.backhaul.backhaul_fees`: satellite fees and capacity, transit, rent), each line rounded to
    the VND as in the ``opex_lines`` layer."""
    out = np.full(len(years), share * capex + kwh * cat.price("POWER.GRID"), dtype=float)
    for y, code, qty in fees:
        out[years.index(y)] += round(qty * cat.price(code))
    return out


def _traffic_per_year(cat: Catalog, row: Any, years: list[int], licence: int) -> Callable[[float], np.ndarray]:
    """The per-Mbit/s part of a backhaul row's yearly lines (transit, satellite capacity above the subscription) as
    a function of the Mbit/s it carries: the lines at that load less those at none."""
    included = included_mbps(cat)
    fixed = _opex_per_year(cat, 0.0, 0.0, backhaul_fees(row, years, licence_end_year=licence), years, 0.0)

    def at(mbps: float) -> np.ndarray:
        fees = backhaul_fees(row, years, licence_end_year=licence, mbps=mbps, included_mbps=included)
        return _opex_per_year(cat, 0.0, 0.0, fees, years, 0.0) - fixed

    return at


def _villages(plan1: Plan) -> list[_Village]:
    """The unserved settlements with their households (the wifi selection's demand points)."""
    uns = plan1.layers["settlements_unserved"]
    pts = plan1.layers.get("demand_points")
    groups: dict[str, Any] = {}
    if pts is not None and len(pts):
        homes = pts[pts["kind"] == "household"]
        groups = dict(list(homes.groupby(homes["settlement_id"].astype(str), sort=False)))
    out = []
    for row in uns.itertuples(index=False):
        sid = str(row.settlement_id)
        grp = groups.get(sid)
        if grp is None or len(grp) == 0:
            out.append(_Village(sid, str(row.name), row.geometry, np.zeros((0, 2)), 0.0, 0.0, 0))
            continue
        xy = shapely.get_coordinates(np.asarray(grp.geometry))
        env = grp["environment"].to_numpy() if "environment" in grp.columns else np.full(len(grp), "village")
        src = grp["environment_source"].to_numpy() if "environment_source" in grp.columns else np.full(len(grp), "")
        out.append(_Village(sid, str(row.name), row.geometry, xy, float(grp["demand_mbps"].sum()),
                            float(grp["people"].sum()), len(xy), np.isin(env, LOS_ENVIRONMENTS),
                            src == COASTLINE))  # fmt: skip
    return out


def _wifi_figures(plan1: Plan, years: list[int]) -> dict[str, tuple[float, float, np.ndarray, str]]:
    """Per village: Mbps the wifi selection delivers, its share of the serving sites' capital and yearly cost (in
    proportion to the Mbps each site serves there), and the serving sites."""
    pts, sites = plan1.layers.get("demand_points"), plan1.layers["sites"]
    if pts is None or len(pts) == 0 or len(sites) == 0:
        return {}
    opex = plan1.layers.get("opex_lines")
    yearly: dict[str, np.ndarray] = {str(s): np.zeros(len(years)) for s in sites["site_id"]}
    if opex is not None and len(opex):
        for (sid, y), v in opex.groupby(["site_id", "year"])["amount_vnd"].sum().items():
            yearly[str(sid)][years.index(int(y))] += float(v)
    capex = dict(zip(sites["site_id"].astype(str), sites["capex_vnd"].astype(float), strict=True))
    served = pts[pts["served_by"].astype(str) != ""]
    total = served.groupby("served_by")["demand_mbps"].sum()
    homes = served[served["kind"] == "household"]
    out: dict[str, tuple[float, float, np.ndarray, str]] = {}
    for sid, grp in homes.groupby(homes["settlement_id"].astype(str)):
        by_site = grp.groupby("served_by")["demand_mbps"].sum()
        cap_v, year_v = 0.0, np.zeros(len(years))
        for site, mbps in by_site.items():
            share = float(mbps) / float(total[site])
            cap_v += share * capex[str(site)]
            year_v += share * yearly[str(site)]
        out[str(sid)] = (float(grp["demand_mbps"].sum()), cap_v, year_v, ", ".join(sorted(map(str, by_site.index))))
    return out


def _profile_reach(spec: TechnologySpec, height_m: float | None, messages: list[str], allowed: tuple[str, ...],
                   *, los: bool = False) -> tuple[float, float, APProfile]:  # fmt: skip
    """Reach (m) of ``spec``'s profile to its clients (indoors with the building entry loss) at ``height_m``:
    non-line-of-sight (``model``), line of sight (``los_model``; with ``los`` only, else the same) and the profile."""
    prof = spec.profile
    assert prof is not None
    if height_m is not None and np.isfinite(height_m) and height_m > 0:
        prof = dataclasses.replace(prof, height_m=float(height_m))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RadioValidityWarning)
        reach = reach_m(prof, extra_loss_db=prof.building_entry_loss_db)
        reach_los = reach_m(prof, model=prof.los_model, extra_loss_db=prof.building_entry_loss_db) if los else reach
    for w in caught if spec.name in allowed else ():  # once per technology and message (towers of other heights)
        head = f"Radio ({spec.name}): {str(w.message).split(':')[0]}"
        if not any(m.startswith(head) for m in messages):
            messages.append(f"Radio ({spec.name}): {w.message}. / Mô hình truyền sóng ngoài phạm vi hợp lệ "
                            f"({spec.name}).")  # fmt: skip
    return float(reach), float(max(reach_los, reach)), prof


def _backhaul_capacity(cat: Catalog, option: str) -> float:
    b = cat.backhaul
    return {"fibre": np.inf, "submarine": np.inf, "radio": float(b["ptp_5g_capacity_mbps"]),
            "radio_long": float(b["ptp_long_capacity_mbps"]),
            "satellite": float(b["satellite_capacity_mbps"])}[option]  # fmt: skip


def _facilities(
    layers: Mapping[str, gpd.GeoDataFrame], p: WifiParams, cat: Catalog, villages: list[_Village],
    specs: dict[str, TechnologySpec], settings: WifiSettings | None, money: dict[str, Any], messages: list[str],
) -> dict[tuple[str, str], _Facility]:  # fmt: skip
    """Small cells at the villages and each tower technology on each existing tower, with backhaul and money."""
    crs, L = prepare(layers, p)
    sites = L["sites"]
    assert sites is not None
    towers = sites[sites["kind"] == "tower"]
    # Mbit/s each hands to the Internet, for its backhaul choice: a small cell its village's (at most its capacity);
    # a tower's load is known only once villages take it (0 here; the village rows add it)
    sc_cap = specs["small_cell_4g"].capacity_mbps if "small_cell_4g" in specs else 0.0
    pts = pd.DataFrame(
        {"site_id": [f"SC-{v.sid}" for v in villages] + towers["site_id"].astype(str).tolist(),
         "demand_mbps": [min(v.mbps, sc_cap) for v in villages] + [0.0] * len(towers),
         "height_m": [np.nan] * len(villages) + pd.to_numeric(towers.get("height_m"), errors="coerce").tolist(),
         "has_fibre": [False] * len(villages)
         + towers.get("has_fibre", pd.Series(False, index=towers.index)).astype("boolean").fillna(False).tolist()},
    )  # fmt: skip
    geoms = [v.point for v in villages] + list(towers.geometry)
    if not geoms:
        return {}
    cand = gpd.GeoDataFrame(pts, geometry=geoms, crs=crs)
    graph = _road_graph(L["roads"], cat, [])
    years, rate, share = money["years"], money["rate"], money["share"]
    # planned cables (fibre_year) end a satellite option's fees on their island, as for the wifi sites (a tower's
    # existing microwave is not offered here)
    planned = transmission_inputs(sites)
    planned = planned[np.isfinite(planned["fibre_year"].to_numpy(dtype=float))].assign(transmission="none")
    options = backhaul_options(
        cand, fibre_sites=_fibre_sites(sites), land=L["land"], graph=graph, catalog=cat, elevation=p.elevation,
        horizon_years=len(years), settings=settings, start_year=years[0], transmission=planned,
    )  # fmt: skip
    best = chosen_backhaul(options)
    licence = int(cat.backhaul["satellite_licence_end_year"])
    out: dict[tuple[str, str], _Facility] = {}

    # a tower already radiating 4G (inside a 4G or 5G coverage polygon of any quality) needs no upgrade: its
    # village option is its backhaul only
    on_air = served_mask(towers, L["coverage"], ("4G", "5G"), "poor") if len(towers) else np.zeros(0, dtype=bool)
    on_air_ids = set(towers.loc[on_air, "site_id"].astype(str))

    def make(sid: str, name: str, kind: str, spec: TechnologySpec, point: Any, height: float | None) -> _Facility:
        row = best.loc[sid]
        upgrade = not (spec.name == "tower_4g" and sid in on_air_ids)
        capex = upgrade * sum(cat.price(c) for c in spec.site_items) + int(row["capex_vnd"])
        fees = backhaul_fees(row, years, licence_end_year=licence)
        kwh = upgrade * spec.power_w * 8760 / 1000
        if not upgrade:
            name = f"{name} (4G on air: backhaul only)"
        cap = min(spec.capacity_mbps, _backhaul_capacity(cat, str(row["option"])))
        reach, reach_los, prof = _profile_reach(spec, height, messages, p.technologies, los=p.elevation is not None)
        return _Facility(sid, name, kind, spec.name, point, reach, cap, int(capex),
                         _opex_per_year(cat, capex, kwh, fees, years, share), row,
                         traffic=_traffic_per_year(cat, row, years, licence), profile=prof,
                         reach_los_m=reach_los)  # fmt: skip

    if "small_cell_4g" in specs:
        for v in villages:
            out[("small_cell_4g", f"SC-{v.sid}")] = make(
                f"SC-{v.sid}", f"4G small cell {v.name}", "small_cell", specs["small_cell_4g"], v.point, None
            )
    for tech in TOWER_TECHNOLOGIES:
        if tech not in specs:
            continue
        for t in towers.itertuples(index=False):
            h = pd.to_numeric(pd.Series([getattr(t, "height_m", np.nan)]), errors="coerce").iloc[0]
            out[(tech, str(t.site_id))] = make(str(t.site_id), str(t.name), "tower", specs[tech], t.geometry, h)
    del rate
    return out


def _in_reach(v: _Village, f: _Facility) -> int:
    """Households of ``v`` within reach of ``f`` (:func:`_households_in_reach`; a pair it did not look at is out of
    reach; a pair it stopped early, a lower bound on those out)."""
    return v.households - f.outside.get(v.sid, (v.households, True))[0]


def _households_in_reach(
    villages: list[_Village], facilities: dict[tuple[str, str], _Facility], *, elevation: Any, crs: Any,
    shore: Shore | None, batches: tuple[int, ...] = (1, 16),
) -> int:  # fmt: skip
    """Fill each facility's ``outside``: per village it may reach, the households out of its reach and whether that
    count is exact (see the module notes); returns the number of paths that left the raster.

    A small cell serves its own village only, counted exactly.  A tower is looked at for the villages whose point lies
    within its reach (line of sight when the village has open or coastal households) plus the village's spread; a
    household beyond every reach it may have is out at once, the others are checked over the raster in rounds of
    ``batches`` households per pair (the farthest first), then all; a pair stops at its first household out.
    """
    pairs: list[tuple[_Facility, _Village, bool]] = []
    for (tech, _), f in facilities.items():
        fxy = shapely.get_coordinates(f.point)[0]
        for v in villages:
            if tech == "small_cell_4g":
                if f.site_id == f"SC-{v.sid}":
                    pairs.append((f, v, True))
                continue
            if not v.households:
                continue
            spread = float(np.hypot(*(v.hh_xy - shapely.get_coordinates(v.point)[0]).T).max())
            bound = f.reach_los_m if v.hh_open.any() else f.reach_m
            if float(np.hypot(*(shapely.get_coordinates(v.point)[0] - fxy))) <= bound + spread + 1e-6:
                pairs.append((f, v, False))
    # per pair and household: 1 in reach, 0 out, 2 to check for line of sight, 3 to check the bare terrain
    state, order = [], []
    for f, v, _ in pairs:
        fxy = shapely.get_coordinates(f.point)[0]
        d = np.hypot(*(v.hh_xy - fxy).T)
        st = np.where(d <= f.reach_m + 1e-9, 1, 0)
        if elevation is not None:
            los_ok = v.hh_open & (d <= f.reach_los_m + 1e-9)
            if shore is not None and (los_ok & v.hh_sea).any():
                sea = np.flatnonzero(los_ok & v.hh_sea)
                los_ok[sea] = leaves_over_sea(np.broadcast_to(fxy, (len(sea), 2)), v.hh_xy[sea], shore)
            st = np.where(d <= f.reach_m + 1e-9, 3, np.where(los_ok, 2, 0))
            st[d <= 1.0] = 1  # a client at the mast sees it
        state.append(st)
        order.append(np.argsort(-d, kind="stable"))  # the farthest first
    alive = [exact or not (st == 0).any() for (_, _, exact), st in zip(pairs, state, strict=True)]
    unchecked = 0
    if elevation is not None:
        with open_elevation(elevation) as dem:
            for k in (*batches, None):
                todo: list[tuple[int, np.ndarray]] = []
                for i, ((_, _, exact), st) in enumerate(zip(pairs, state, strict=True)):
                    if not alive[i]:
                        continue
                    idx = order[i][st[order[i]] >= 2]
                    todo.append((i, idx if k is None or exact else idx[:k]))
                unchecked += _check_paths(pairs, state, todo, dem, crs)
                for i, _ in todo:
                    alive[i] = pairs[i][2] or not (state[i] == 0).any()
                if not any(len(idx) for _, idx in todo):
                    break
    for (f, v, _), st in zip(pairs, state, strict=True):  # households left at 2 or 3: the pair stopped early
        f.outside[v.sid] = (int((st == 0).sum()), not bool((st >= 2).any()))
    return unchecked


def _antenna_m(f: _Facility) -> float:
    assert f.profile is not None
    return float(f.profile.height_m)


def _check_paths(pairs: list[tuple[_Facility, _Village, bool]], state: list[np.ndarray],
                 todo: list[tuple[int, np.ndarray]], dem: Any, crs: Any) -> int:  # fmt: skip
    """Check the paths ``todo`` (pair, households) over the raster, one batch per technology and kind of check;
    set their state to 1 (in reach) or 0; return how many left the raster."""
    unchecked = 0
    groups: dict[tuple[str, bool], list[tuple[int, np.ndarray]]] = {}
    for i, idx in todo:
        for los in (True, False):
            sel = idx[state[i][idx] == (2 if los else 3)]
            if len(sel):
                groups.setdefault((pairs[i][0].tech, los), []).append((i, sel))
    for (_, los), items in groups.items():
        prof = pairs[items[0][0]][0].profile
        assert prof is not None
        a = np.concatenate([np.broadcast_to(shapely.get_coordinates(pairs[i][0].point)[0], (len(sel), 2))
                            for i, sel in items])  # fmt: skip
        b = np.concatenate([pairs[i][1].hh_xy[sel] for i, sel in items])
        h_a = np.concatenate([np.full(len(sel), _antenna_m(pairs[i][0])) for i, sel in items])
        if los:  # 0.6 of the first Fresnel zone over terrain, clutter and the earth bulge
            res = line_of_sight(a, b, h_a_m=h_a, h_b_m=prof.client_height_m, elevation=dem, crs=crs,
                                f_mhz=prof.freq_mhz, fresnel_share=0.6, clutter_m=prof.los_clutter_m)  # fmt: skip
            ok = res.clear
        else:  # the bare terrain and the earth bulge: a hill blocks what clutter only attenuates
            res = line_of_sight(a, b, h_a_m=h_a, h_b_m=prof.client_height_m, elevation=dem, crs=crs)
            ok = res.clear | ~res.checked
        unchecked += int((~res.checked).sum())
        pos = 0
        for i, sel in items:
            state[i][sel] = np.where(ok[pos : pos + len(sel)], 1, 0)
            pos += len(sel)
    return unchecked


def _out_of_reach(v: _Village, f: _Facility, what: str) -> str:
    """Why households of ``v`` are out of ``f``'s reach (English / Vietnamese)."""
    n_out, exact = f.outside.get(v.sid, (v.households, True))
    least = "" if exact else "at least "
    los = f" (on line of sight {f.reach_los_m:,.0f} m by the link budget)" if f.reach_los_m > f.reach_m else ""
    return (f"{least}{n_out} of {v.households} households beyond the {f.reach_m:,.0f} m reach{los} of {what} or "
            f"behind the terrain / {'ít nhất ' if not exact else ''}{n_out}/{v.households} hộ nằm ngoài vùng phủ "
            f"{f.reach_m:,.0f} m của {f.site_id} hoặc bị địa hình che khuất")  # fmt: skip


def _dist(v: _Village, f: _Facility) -> float:
    return float(shapely.distance(v.point, f.point))


def evaluate(
    villages: list[_Village],
    facilities: dict[tuple[str, str], _Facility],
    wifi: dict[str, tuple[float, float, np.ndarray, str]] | None,
    *,
    cat: Catalog,
    allowed: tuple[str, ...],
    money: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Every village x technology row and the choice: ``(rows, {settlement_id: (technology, site_id)})``."""
    years, rate, share = money["years"], money["rate"], money["share"]
    # each village's tower per tower technology: the nearest whose reach holds every household
    tower_of: dict[tuple[str, str], tuple[_Facility | None, str]] = {}
    for tech in TOWER_TECHNOLOGIES:
        facs = [f for (t, _), f in facilities.items() if t == tech]
        for v in villages:
            # the towers _households_in_reach looked at for the village (its point within reach plus its spread)
            ok = sorted((f for f in facs if v.households and v.sid in f.outside and _in_reach(v, f) == v.households),
                        key=lambda f: (_dist(v, f), f.site_id))  # fmt: skip
            if ok:
                tower_of[(tech, v.sid)] = (ok[0], "")
                ok[0].members.append(v.sid)
            elif not facs:
                tower_of[(tech, v.sid)] = (None, "no existing tower / không có trạm BTS")
            else:
                near = min(facs, key=lambda f: (_dist(v, f), f.site_id))
                tower_of[(tech, v.sid)] = (None, _out_of_reach(v, near, f"the nearest tower {near.site_id} "
                                                               f"({_dist(v, near) / 1000:.1f} km away)"))  # fmt: skip
    by_sid = {v.sid: v for v in villages}
    for f in facilities.values():
        f.members.sort(key=lambda s: (_dist(by_sid[s], f), s))
    cpe = {t: sum(cat.price(c) for c in technology_spec(cat, t).household_items) for t in TOWER_TECHNOLOGIES}
    cpe["small_cell_4g"] = 0
    while True:
        fit: dict[int, list[str]] = {}
        for f in facilities.values():
            if f.tech in TOWER_TECHNOLOGIES:
                used, keep = 0.0, []
                for s in f.members:
                    if used + by_sid[s].mbps <= f.capacity_mbps + _TOL:
                        keep.append(s)
                        used += by_sid[s].mbps
                fit[id(f)] = keep
        rows: list[dict[str, Any]] = []
        choice: dict[str, tuple[str, str]] = {}
        for v in villages:
            vrows = [_wifi_row(v, wifi, allowed, years, rate)]
            sc = facilities.get(("small_cell_4g", f"SC-{v.sid}"))
            vrows.append(_small_cell_row(v, sc, years, rate, allowed))
            for tech in TOWER_TECHNOLOGIES:
                tf, why = tower_of.get((tech, v.sid), (None, "not evaluated"))
                vrows.append(_tower_row(v, tech, tf, why, fit, by_sid, cpe[tech], share, years, rate, allowed))
            pick = _pick(v, vrows, allowed)
            for r in vrows:
                r["chosen"] = pick is not None and r["technology"] == pick
            if pick is not None:
                choice[v.sid] = (pick, next(r["site_id"] for r in vrows if r["technology"] == pick))
            rows += vrows
        leaving = [(f, s) for f in facilities.values() if f.tech in TOWER_TECHNOLOGIES for s in fit.get(id(f), [])
                   if choice.get(s, ("", ""))[0] != f.tech]  # fmt: skip
        if not leaving:
            return pd.DataFrame(rows), choice
        for f, s in leaving:
            f.members.remove(s)


def _row(v: _Village, tech: str, site: str, feasible: bool, reason: str, in_reach: int, cap: float, capex: float,
         yearly: np.ndarray, rate: float) -> dict[str, Any]:  # fmt: skip
    return {
        "settlement_id": v.sid, "village": v.name, "technology": tech, "site_id": site, "feasible": bool(feasible),
        "reason": reason, "households": v.households, "households_in_reach": int(in_reach),
        "capacity_mbps": round(float(cap), 1) if np.isfinite(cap) else float("inf"),
        "demand_mbps": round(v.mbps, 1), "capex_vnd": round(capex),
        "opex_vnd_per_year": round(float(yearly[0])) if len(yearly) else 0,
        "lcc_vnd": round(capex + present_value(yearly, rate)),
    }  # fmt: skip


def _not_allowed(tech: str) -> str:
    return f"not among the plan's technologies (wifi.technologies) / không thuộc các công nghệ được chọn ({tech})"


def _wifi_row(v: _Village, wifi: Any, allowed: tuple[str, ...], years: list[int], rate: float) -> dict[str, Any]:
    zero = np.zeros(len(years))
    if wifi is None:
        return _row(v, "public_wifi", "", False, _not_allowed("public_wifi"), 0, 0.0, 0.0, zero, rate)
    mbps, capex, yearly, sites = wifi.get(v.sid, (0.0, 0.0, zero, ""))
    ok = v.households > 0 and mbps >= v.mbps - _TOL
    why = "" if ok else (
        f"the wifi selection serves {mbps:,.0f} of {v.mbps:,.0f} Mbps (households out of every AP's reach or "
        f"airtime) / wifi chỉ đáp ứng {mbps:,.0f}/{v.mbps:,.0f} Mbps"
    )  # fmt: skip
    if "public_wifi" not in allowed:
        ok, why = False, _not_allowed("public_wifi")
    return _row(v, "public_wifi", sites, ok, why, v.households if mbps else 0, mbps, capex, yearly, rate)


def _small_cell_row(v: _Village, f: _Facility | None, years: list[int], rate: float, allowed: tuple[str, ...]
                    ) -> dict[str, Any]:  # fmt: skip
    if f is None:
        return _row(v, "small_cell_4g", "", False, _not_allowed("small_cell_4g"), 0, 0.0, 0.0, np.zeros(len(years)),
                    rate)  # fmt: skip
    n_in = _in_reach(v, f)
    why = []
    if n_in < v.households:
        why.append(_out_of_reach(v, f, "the small cell (indoors)"))
    if v.mbps > f.capacity_mbps + _TOL:
        why.append(f"demand {v.mbps:,.0f} Mbps exceeds the small cell's {f.capacity_mbps:,.0f} Mbps / nhu cầu "
                   f"{v.mbps:,.0f} Mbps vượt dung lượng {f.capacity_mbps:,.0f} Mbps")  # fmt: skip
    if not v.households:
        why.append("no households / không có hộ")
    if "small_cell_4g" not in allowed:
        why = [_not_allowed("small_cell_4g")]
    yearly = f.yearly + f.traffic_yearly(min(v.mbps, f.capacity_mbps))
    return _row(v, "small_cell_4g", f.site_id, not why, "; ".join(why), n_in, f.capacity_mbps, f.capex_vnd,
                yearly, rate)  # fmt: skip


def _tower_row(v: _Village, tech: str, f: _Facility | None, why: str, fit: dict[int, list[str]],
               by_sid: dict[str, _Village], cpe: int, share: float, years: list[int], rate: float,
               allowed: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    if tech not in allowed:
        return _row(v, tech, "" if f is None else f.site_id, False, _not_allowed(tech), 0, 0.0, 0.0,
                    np.zeros(len(years)), rate)  # fmt: skip
    if f is None:
        return _row(v, tech, "", False, why, 0, 0.0, 0.0, np.zeros(len(years)), rate)
    members = fit.get(id(f), [])
    others = sum(by_sid[s].mbps for s in members if s != v.sid)
    left = f.capacity_mbps - others
    # its share of the shared equipment among the villages that take the tower (with it)
    part = v.mbps / (others + v.mbps) if others + v.mbps > 0 else 1.0
    own = v.households * cpe
    capex = part * f.capex_vnd + own
    # with its share of the lines on the Mbit/s the tower then carries (transit or satellite capacity)
    yearly = part * (f.yearly + f.traffic_yearly(min(others + v.mbps, f.capacity_mbps))) + share * own
    reasons = []
    if v.mbps > f.capacity_mbps + _TOL:
        reasons.append(f"demand {v.mbps:,.0f} Mbps exceeds the {f.capacity_mbps:,.0f} Mbps of tower {f.site_id} "
                       f"(equipment and backhaul) / nhu cầu {v.mbps:,.0f} Mbps vượt dung lượng trạm "
                       f"{f.capacity_mbps:,.0f} Mbps")  # fmt: skip
    elif v.mbps > left + _TOL:
        reasons.append(f"the tower's {f.capacity_mbps:,.0f} Mbps are taken by nearer villages ({left:,.0f} Mbps left "
                       f"for {v.mbps:,.0f}) / dung lượng trạm đã dành cho các thôn gần hơn")  # fmt: skip
    return _row(v, tech, f.site_id, not reasons, "; ".join(reasons), v.households, max(left, 0.0), capex, yearly,
                rate)  # fmt: skip


def _pick(v: _Village, rows: list[dict[str, Any]], allowed: tuple[str, ...]) -> str | None:
    """The cheapest life-cycle cost among the options that meet demand (ties: :data:`TECHNOLOGIES` order); none
    meeting it, public wifi's partial service when wifi is allowed and serves some of the village."""
    ok = [r for r in rows if r["feasible"]]
    if ok:
        return str(min(ok, key=lambda r: (r["lcc_vnd"], TECHNOLOGIES.index(r["technology"])))["technology"])
    wifi = rows[0]
    if "public_wifi" in allowed and wifi["capacity_mbps"] > 0:
        wifi["reason"] = (f"no option meets the demand; chosen for its partial service: {wifi['reason']} / không có "
                          "phương án nào đáp ứng đủ nhu cầu; giữ wifi phục vụ một phần")  # fmt: skip
        return "public_wifi"
    return None


def _horizon(cat: Catalog, p: WifiParams) -> dict[str, Any]:
    n = round(float(cat.param("satellite_horizon_years") if p.satellite_horizon_years is None
                    else p.satellite_horizon_years))  # fmt: skip
    return {
        "years": horizon_years(_start_year(p), n),
        "rate": float(cat.backhaul["discount_rate"]),
        "share": float(cat.backhaul["maintenance_share_per_year"]),
    }


def plan_with_technologies(
    layers: Mapping[str, gpd.GeoDataFrame],
    p: WifiParams,
    *,
    catalog: Catalog,
    progress: Progress | None = None,
    settings: WifiSettings | None = None,
) -> Plan:
    """The wifi selection on every village, the technology per village on top, the wifi selection again on the
    villages that keep wifi; one Plan with the ``village_options`` layer (see the module notes)."""
    cat = catalog
    specs = {t: technology_spec(cat, t) for t in TECHNOLOGIES}
    money = _horizon(cat, p)
    plan1 = run(layers, p, catalog=cat, progress=progress, settings=settings)
    if "demand_points" not in plan1.layers:  # nothing to build
        plan1.layers["village_options"] = gpd.GeoDataFrame(
            {c: pd.Series(dtype="object") for c in VILLAGE_OPTION_COLUMNS}, geometry=[],
            crs=plan1.layers["settlements_unserved"].crs,
        )  # fmt: skip
        return plan1
    villages = _villages(plan1)
    messages: list[str] = []
    crs, L = prepare(layers, p)
    facilities = _facilities(layers, p, cat, villages, specs, settings, money, messages)
    cfg = DEFAULT_SETTINGS if settings is None else settings
    unchecked = _households_in_reach(villages, facilities, elevation=p.elevation, crs=crs,
                                     shore=shore_of(L["land"], cfg.coastal_band_m))  # fmt: skip
    if unchecked:
        messages.append(
            f"4G options: {unchecked:,} tower-household path(s) leave the elevation raster: there a line-of-sight path "
            "is not counted clear, a non-line-of-sight one within its reach is counted in range. / Phương án 4G: "
            f"{unchecked:,} đường truyền trạm - hộ nằm ngoài dữ liệu độ cao."
        )
    wifi = _wifi_figures(plan1, money["years"]) if "public_wifi" in p.technologies else None
    rows, choice = evaluate(villages, facilities, wifi, cat=cat, allowed=p.technologies, money=money)
    options = gpd.GeoDataFrame(
        rows.loc[:, list(VILLAGE_OPTION_COLUMNS)],
        geometry=[v.point for v in villages for _ in range(len(rows) // max(len(villages), 1))], crs=crs,
    )  # fmt: skip
    # villages another technology serves leave the wifi selection; those nothing serves stay in it (wifi's partial
    # service or budget decides) unless wifi is not allowed
    wifi_ok = "public_wifi" in p.technologies
    exclude = frozenset(
        v.sid
        for v in villages
        if (v.sid in choice and choice[v.sid][0] != "public_wifi") or (not wifi_ok and v.sid not in choice)
    )
    used: dict[tuple[str, str], list[str]] = {}
    for sid, (tech, site) in sorted(choice.items()):
        if tech != "public_wifi":
            used.setdefault((tech, site), []).append(sid)
    by_sid = {v.sid: v for v in villages}
    extra = _extra_outputs(cat, p, crs, L, facilities, used, by_sid, money, settings)
    p2 = p
    if p.budget_vnd is not None and exclude:
        need = int(add_contingency(boq_frame(extra["boq_lines"]), cat)["amount_vnd"].sum()) if extra["boq_lines"] else 0
        need += 10 * len(used)  # rounding of the contingency lines when the BOQs are merged
        if need > p.budget_vnd:
            raise PlanningError(
                f"the technologies chosen per village cost {need:,} VND with contingency, above the budget "
                f"{p.budget_vnd:,} VND; raise the budget or allow fewer technologies / Chi phí các công nghệ đã chọn "
                f"({need:,} VND) vượt ngân sách {p.budget_vnd:,} VND"
            )
        p2 = dataclasses.replace(p, budget_vnd=p.budget_vnd - need)
    plan2 = run(layers, p2, catalog=cat, progress=progress, settings=settings, exclude_settlements=exclude) if exclude \
        else plan1  # fmt: skip
    return _merge(plan1, plan2, p, cat, options, used, by_sid, extra, money, messages, choice)


def _extra_outputs(
    cat: Catalog, p: WifiParams, crs: Any, L: Mapping[str, Any], facilities: dict[tuple[str, str], _Facility],
    used: dict[tuple[str, str], list[str]], by_sid: dict[str, _Village], money: dict[str, Any],
    settings: WifiSettings | None,
) -> dict[str, Any]:  # fmt: skip
    """Sites, backhaul links, footprints, BOQ lines and yearly lines of the non-wifi equipment chosen."""
    years, share = money["years"], money["share"]
    keys = list(used)
    facs = [facilities[k] for k in keys]
    districts, communes = commune_of(gpd.GeoSeries([f.point for f in facs], crs=crs), L["boundaries"])
    land_layer = L["land"]
    land = shapely.union_all(np.asarray(land_layer.geometry)) if land_layer is not None and len(land_layer) else None
    licence = int(cat.backhaul["satellite_licence_end_year"])
    spec_of = {t: technology_spec(cat, t) for t in ("small_cell_4g", *TOWER_TECHNOLOGIES)}
    sites, links, fps, lines, opex = [], [], [], [], []
    for k, (key, f) in enumerate(zip(keys, facs, strict=True)):
        spec = spec_of[f.tech]
        members = [by_sid[s] for s in used[key]]
        households = sum(v.households for v in members)
        where = {"phase": p.phase, "district": districts[k], "commune": communes[k]}
        upgrade = not f.name.endswith("(4G on air: backhaul only)")
        items = [(c, 1.0) for c in spec.site_items if upgrade]
        items += [(c, float(households)) for c in spec.household_items]
        items += backhaul_items(f.bh)
        lines += [boq_line(cat, code, qty, **where) for code, qty in items if qty]
        capex = int(f.capex_vnd + households * sum(cat.price(c) for c in spec.household_items))
        demand = sum(v.mbps for v in members)
        fees = backhaul_fees(f.bh, years, licence_end_year=licence, mbps=min(demand, f.capacity_mbps),
                             included_mbps=included_mbps(cat))  # fmt: skip
        kwh = round(upgrade * spec.power_w * 8760 / 1000, 3)
        for y in years:
            yl = [(code, qty) for fy, code, qty in fees if fy == y] + ([("POWER.GRID", kwh)] if kwh else [])
            for code, qty in yl:
                price = cat.price(code)
                opex.append({"site_id": f.site_id, "year": y, "item_code": code, "quantity": qty,
                             "unit_price_vnd": price, "amount_vnd": round(qty * price)})  # fmt: skip
            opex.append({"site_id": f.site_id, "year": y, "item_code": "MAINTENANCE", "quantity": share,
                         "unit_price_vnd": capex, "amount_vnd": round(share * capex)})  # fmt: skip
        sites.append({
            "site_id": f.site_id, "name": f.name, "kind": f.kind, "technology": f.tech, "profile": f.tech,
            "azimuth_deg": np.nan, "reach_m": round(f.reach_m, 1), "capacity_mbps": round(f.capacity_mbps, 1)
            if np.isfinite(f.capacity_mbps) else float("inf"), "demand_mbps": round(demand, 1),
            "backhaul": str(f.bh["option"]), "cost_vnd": int(capex + int(f.bh["opex_vnd"])), "capex_vnd": capex,
            "people_covered": round(sum(v.people for v in members)),
        })  # fmt: skip
        bh_len = float(f.bh["length_m"]) if pd.notna(f.bh["length_m"]) else 0.0
        option = str(f.bh["option"])
        links.append({"site_id": f.site_id, "backhaul": option, "kind": option,
                      "peer_id": f.bh["peer_id"], "length_m": round(bh_len, 1), "cost_vnd": int(f.bh["cost_vnd"]),
                      "clearance_m": pd.to_numeric(f.bh["clearance_m"], errors="coerce"),
                      "load_mbps": round(demand, 1), "capacity_mbps": _backhaul_capacity(cat, option)})  # fmt: skip
        links[-1]["los_checked"] = bool(np.isfinite(links[-1]["clearance_m"]))
        shape, _ = footprint(f.point, f.reach_m, land=land, elevation=None, ap_height_m=15.0, client_height_m=1.5,
                             crs=crs, settings=settings)  # fmt: skip
        fps.append({"site_id": f.site_id, "profile": f.tech, "reach_m": round(f.reach_m, 1), "los_checked": False,
                    "geometry": shape})  # fmt: skip
    return {
        "sites": gpd.GeoDataFrame(pd.DataFrame(sites, columns=list(SITE_COLUMNS)), geometry=[f.point for f in facs],
                                  crs=crs),
        "links": gpd.GeoDataFrame(pd.DataFrame(links, columns=list(LINK_COLUMNS)),
                                  geometry=[link_geometry(f.bh, f.point) for f in facs], crs=crs),
        "footprints": gpd.GeoDataFrame(pd.DataFrame(fps, columns=[*FOOTPRINT_COLUMNS, "geometry"]),
                                       geometry="geometry", crs=crs),
        "boq_lines": lines,
        "opex": gpd.GeoDataFrame(pd.DataFrame(opex, columns=["site_id", "year", "item_code", "quantity",
                                                             "unit_price_vnd", "amount_vnd"]),
                                 geometry=[next(f.point for f in facs if f.site_id == r["site_id"]) for r in opex],
                                 crs=crs),
    }  # fmt: skip


def _concat(a: gpd.GeoDataFrame | None, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if a is None or len(a) == 0:
        return b if len(b) or a is None else a
    if len(b) == 0:
        return a
    return gpd.GeoDataFrame(pd.concat([a, b.reindex(columns=a.columns)], ignore_index=True), geometry="geometry",
                            crs=a.crs)  # fmt: skip


def _merge(
    plan1: Plan, plan2: Plan, p: WifiParams, cat: Catalog, options: gpd.GeoDataFrame,
    used: dict[tuple[str, str], list[str]], by_sid: dict[str, _Village], extra: dict[str, Any],
    money: dict[str, Any], messages: list[str], choice: dict[str, tuple[str, str]],
) -> Plan:  # fmt: skip
    """Plan 2 (wifi on the villages that keep it) with the other technologies' equipment, money and KPIs."""
    layers = dict(plan2.layers)
    layers["sites"] = _concat(plan2.layers["sites"], extra["sites"])
    layers["backhaul_links"] = _concat(plan2.layers["backhaul_links"], extra["links"])
    layers["footprints"] = _concat(plan2.layers["footprints"], extra["footprints"])
    layers["opex_lines"] = _concat(plan2.layers.get("opex_lines"), extra["opex"])
    served_by = {s: site for (tech, site), sids in used.items() for s in sids}
    pts1 = plan1.layers["demand_points"]
    moved = pts1[(pts1["kind"] == "household") & pts1["settlement_id"].astype(str).isin(set(served_by))].copy()
    moved["served_by"] = moved["settlement_id"].astype(str).map(served_by)
    moved["in_footprint"] = True
    moved["rate_mbps"] = np.nan
    layers["demand_points"] = _concat(plan2.layers.get("demand_points"), moved)
    uns = plan2.layers["settlements_unserved"].copy()
    for i, sid in enumerate(uns["settlement_id"].astype(str)):
        if sid in served_by:
            v = by_sid[sid]
            uns.loc[uns.index[i], ["people_covered", "mbps_delivered", "covered_by"]] = [
                round(v.people), round(v.mbps, 1), served_by[sid]]  # fmt: skip
    layers["settlements_unserved"] = uns
    layers["village_options"] = options
    base = plan2.boq[plan2.boq["category"] != "contingency"]
    boq = add_contingency(boq_frame([*base.to_dict("records"), *extra["boq_lines"]]), cat)
    kpis = dict(plan2.kpis)
    add_people = round(float(moved["people"].sum()))
    add_mbps = float(moved["demand_mbps"].sum())
    kpis["people_newly_covered"] = int(kpis.get("people_newly_covered", 0)) + add_people
    kpis["people_in_footprint"] = int(kpis.get("people_in_footprint", 0)) + add_people
    kpis["households_served"] = int(kpis.get("households_served", 0)) + len(moved)
    kpis["households_total"] = int(kpis.get("households_total", 0)) + len(moved)
    kpis["demand_mbps"] = round(float(kpis.get("demand_mbps", 0.0)) + add_mbps, 1)
    kpis["mbps_delivered"] = round(float(kpis.get("mbps_delivered", 0.0)) + add_mbps, 1)
    unserved = int(kpis.get("people_unserved", 0))
    kpis["share_unserved_reached"] = round(kpis["people_newly_covered"] / unserved, 4) if unserved else 0.0
    total = int(boq["amount_vnd"].sum()) if len(boq) else 0
    kpis["cost_vnd"] = kpis["capex_vnd"] = total
    newly = kpis["people_newly_covered"]
    kpis["cost_per_person_vnd"] = round(total / newly) if newly else 0
    years, rate = money["years"], money["rate"]
    yearly = np.zeros(len(years))
    opex = layers["opex_lines"]
    if opex is not None and len(opex):
        for y, v in opex.groupby("year")["amount_vnd"].sum().items():
            yearly[years.index(int(y))] += float(v)
    lcc = total + present_value(yearly, rate)
    kpis.update({
        "opex_vnd_per_year": round(yearly[0]) if len(years) else 0, "opex_vnd": round(yearly.sum()),
        "opex_by_year_vnd": ", ".join(f"{y}: {int(v):,}" for y, v in zip(years, yearly, strict=True)),
        "lcc_vnd": round(lcc), "lcc_per_person_vnd": round(lcc / newly) if newly else 0,
        "n_sites": len(layers["sites"]),
    })  # fmt: skip
    mix = pd.Series([choice[v][0] for v in sorted(choice)], dtype="object").value_counts()
    kpis["technology_mix"] = ", ".join(f"{t}: {int(mix.get(t, 0))}" for t in TECHNOLOGIES)
    kpis["villages_without_option"] = ", ".join(sorted(s for s in by_sid if s not in choice))
    kpis["wifi_only_lcc_vnd"] = plan1.kpis.get("lcc_vnd", 0)
    kpis["wifi_only_people_newly_covered"] = plan1.kpis.get("people_newly_covered", 0)
    msgs = list(plan2.messages) + messages
    partial = [s for s, (t, _) in sorted(choice.items())
               if t == "public_wifi" and not options.loc[(options["settlement_id"] == s)
                                                         & (options["technology"] == t), "feasible"].all()]  # fmt: skip
    if used or partial:
        msgs.append(
            f"Technology per village: {kpis['technology_mix']} (village_options has every option's figures). "
            f"{len(partial)} village(s) no option serves whole keep wifi's partial service. / Công nghệ theo thôn: "
            f"{kpis['technology_mix']}; {len(partial)} thôn chưa có phương án đáp ứng đủ, giữ wifi."
        )
    none = kpis["villages_without_option"]
    if none:
        msgs.append(f"No allowed technology serves these villages, whole or in part: {none}. / Không công nghệ nào "
                    f"phục vụ được: {none}.")  # fmt: skip
    return Plan(kind="wifi", layers=layers, boq=boq, kpis=kpis, params=p.to_dict(), messages=msgs)
