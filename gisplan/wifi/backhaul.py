"""Backhaul for wifi sites: every option costed, the cheapest feasible one chosen, and why.

For each candidate site :func:`backhaul_options` prices five options and says
why an option is infeasible:

``fibre``
    Aerial fibre (catalog ``FO.DROP``, per metre) hung on the poles along the
    roads, on the shortest road path (by ``length_m``) from the nearest site
    with fibre.  Trench is not priced: rural Vietnamese roads carry power or
    telecom poles, and a new trench would cost 10-30 times more, so a planner
    who knows a road has no poles should treat the figure as a lower bound.  A
    site that has fibre itself costs nothing.  Needs the road graph
    (:func:`gisplan.routing.graph.graph_from_roads`); without it the option is
    infeasible with the reason "no road graph given".
``radio``
    A 5 GHz point-to-point link (``PTP.5G``) to a site with fibre within
    ``catalog.backhaul["ptp_5g_max_km"]``; with an elevation raster the path
    must clear the terrain (:func:`gisplan.wifi.radio.line_of_sight`, all hops in
    one call), the five nearest fibre sites in range are tried.  Without a
    raster, or where the path leaves it, line of sight is not checked and the
    reason says so.
``radio_long``
    A licensed long-haul microwave hop (``PTP.LONG``) within ``ptp_long_max_km``.
``submarine``
    Only for a site on an island, i.e. a land polygon that holds no site with
    fibre: straight sea distance between that polygon and the nearest land
    polygon with fibre, times ``submarine_route_factor``, at ``SUB.CABLE`` per
    km, plus two ``SUB.LANDING`` and aerial fibre (straight line) from the
    landing points to the site and to the nearest fibre site on the far shore.
``satellite``
    ``SAT.TERMINAL``, then a fee a year over ``horizon_years`` from ``start_year``: ``SAT.FEE`` within the
    licensed period, ``VSAT.FEE`` after it (:mod:`gisplan.wifi.money`); always feasible.

Amounts are integer VND; ``capex_vnd`` is the investment (the BOQ's), ``opex_vnd``
the present value of the fees over the horizon at the catalog's ``discount_rate``,
``cost_vnd`` their sum (the option's life-cycle cost), and the choice minimises
``cost_vnd`` (ties broken in the option order above).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> cands = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[Point(0, 0)], crs="EPSG:32648")
>>> fibre = gpd.GeoDataFrame({"site_id": ["F"]}, geometry=[Point(8000, 0)], crs="EPSG:32648")
>>> table = backhaul_options(cands, fibre_sites=fibre)
>>> table.loc[table.chosen, "option"].tolist()
['radio']
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS

from gisplan._errors import CRSError, PlanningError, RoutingError
from gisplan.catalog._catalog import Catalog, load_catalog
from gisplan.i18n import texts
from gisplan.io.crs import metric_crs_for, to_metric
from gisplan.routing.graph import attach_points
from gisplan.routing.steiner import nearest_source_paths
from gisplan.wifi.money import horizon_years as horizon_years_list
from gisplan.wifi.money import present_value, satellite_fee_codes
from gisplan.wifi.radio import line_of_sight, radio_horizon_m
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings

__all__ = [
    "BACKHAUL_OPTIONS",
    "OPTION_COLUMNS",
    "backhaul_fees",
    "backhaul_items",
    "backhaul_options",
    "chosen_backhaul",
    "fees_present_value",
]

#: The options, in tie-breaking order.
BACKHAUL_OPTIONS: tuple[str, ...] = ("fibre", "radio", "radio_long", "submarine", "satellite")
#: Columns of the table :func:`backhaul_options` returns (plus ``geometry``: the candidate point).
OPTION_COLUMNS: tuple[str, ...] = (
    "site_id",
    "option",
    "feasible",
    "reason",
    "reason_vi",
    "peer_id",
    "peer_x",
    "peer_y",
    "length_m",
    "land_m",
    "capex_vnd",
    "opex_vnd",
    "cost_vnd",
    "chosen",
    "why",
    "clearance_m",
)


def metric_crs_of(frame: gpd.GeoDataFrame) -> CRS:
    """The CRS to compute in: ``frame``'s own when lengths can be measured in it (projected, metres, not a
    Mercator: :func:`gisplan.io.crs.is_measuring_crs`), else the UTM zone of its centre."""
    if frame.crs is None:
        raise CRSError("the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:32648) / Lớp dữ liệu chưa có hệ tọa độ")
    return metric_crs_for(frame)


def _ids(frame: gpd.GeoDataFrame, id_column: str, what: str) -> list[Hashable]:
    if id_column not in frame.columns:
        raise PlanningError(f"{what} have no {id_column!r} column; give each a unique id / Thiếu cột mã {id_column!r}")
    ids = frame[id_column].tolist()
    if len(set(ids)) != len(ids):
        dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
        raise PlanningError(f"{what} ids must be unique; {dup!r} occurs twice / Mã {dup!r} bị trùng")
    return ids


def _heights(frame: gpd.GeoDataFrame, default_m: float) -> np.ndarray:
    if "height_m" not in frame.columns:
        return np.full(len(frame), default_m)
    h = pd.to_numeric(frame["height_m"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(h), np.maximum(h, default_m), default_m)


def _price_items(catalog: Catalog, items: list[tuple[str, float]]) -> int:
    return int(sum(round(round(qty, 3) * catalog.price(code)) for code, qty in items))


def backhaul_fees(row: Any, years: list[int], *, licence_end_year: int) -> list[tuple[int, str, float]]:
    """Yearly fee lines ``(year, item code, quantity)`` of one option row: a satellite site's service fee."""
    if row["option"] != "satellite":
        return []
    return [(y, code, 1.0) for y, code in zip(years, satellite_fee_codes(years, licence_end_year=licence_end_year),
                                               strict=True)]  # fmt: skip


def fees_present_value(catalog: Catalog, row: Any, *, start_year: int, horizon_years: float) -> int:
    """Present value (VND, first year) of an option row's fees over the horizon at the catalog's discount rate."""
    years = horizon_years_list(start_year, round(horizon_years))
    fees = backhaul_fees(row, years, licence_end_year=int(catalog.backhaul["satellite_licence_end_year"]))
    if not fees:
        return 0
    yearly = np.zeros(len(years))
    for y, code, qty in fees:
        yearly[y - start_year] += qty * catalog.price(code)
    return round(present_value(yearly, float(catalog.backhaul["discount_rate"])))


def backhaul_items(row: Any) -> list[tuple[str, float]]:
    """Capital items and quantities of one option row of :func:`backhaul_options` (for the BOQ; fees are yearly
    lines, see :func:`backhaul_fees`)."""
    option = row["option"]
    if option == "fibre":
        return [("FO.DROP", float(row["length_m"]))] if row["length_m"] > 0 else []
    if option == "radio":
        return [("PTP.5G", 1.0)]
    if option == "radio_long":
        return [("PTP.LONG", 1.0)]
    if option == "submarine":
        out = [("SUB.CABLE", float(row["length_m"]) / 1000.0), ("SUB.LANDING", 2.0)]
        return out + ([("FO.DROP", float(row["land_m"]))] if row["land_m"] > 0 else [])
    if option == "satellite":
        return [("SAT.TERMINAL", 1.0)]
    if option == "relay":  # through another chosen site (gisplan.wifi.network)
        return [("RELAY.5G", 1.0)]
    raise PlanningError(
        f"unknown backhaul option {option!r}; expected one of {', '.join(BACKHAUL_OPTIONS)} or relay "
        f"/ Phương án truyền dẫn {option!r} không hợp lệ"
    )


def _fibre_paths(
    graph: nx.Graph | None,
    cands: gpd.GeoDataFrame,
    fibre: gpd.GeoDataFrame,
    cand_ids: list[Hashable],
    fibre_ids: list[Hashable],
) -> dict[Hashable, tuple[Hashable, float]]:
    """Candidate id -> (fibre site id, road length in metres) for candidates the road graph connects."""
    if graph is None or len(fibre) == 0 or len(cands) == 0:
        return {}

    pts = pd.concat(
        [
            gpd.GeoDataFrame({"_bh_id": [("c", i) for i in cand_ids]}, geometry=list(cands.geometry), crs=cands.crs),
            gpd.GeoDataFrame({"_bh_id": [("f", i) for i in fibre_ids]}, geometry=list(fibre.geometry), crs=fibre.crs),
        ],
        ignore_index=True,
    )
    frame = gpd.GeoDataFrame(pts, crs=cands.crs)
    try:
        g2, nodes = attach_points(graph, frame, id_column="_bh_id")
    except RoutingError as exc:
        # Sites too far from every road (a planner-drawn point in a field, an islet without roads) get no fibre
        # option ("no road path"); the others are attached as usual.
        far = set(exc.unreachable)
        if not far:
            raise
        frame = frame[~frame["_bh_id"].isin(far)]
        if len(frame) == 0:
            return {}
        g2, nodes = attach_points(graph, frame, id_column="_bh_id")
    node_to_fibre: dict[Hashable, Hashable] = {}
    for i in fibre_ids:
        if ("f", i) in nodes:
            node_to_fibre.setdefault(nodes[("f", i)], i)
    if not node_to_fibre:
        return {}
    targets = {nodes[("c", i)]: i for i in cand_ids if ("c", i) in nodes}
    paths = nearest_source_paths(g2, list(node_to_fibre), list(targets), weight="length_m", unreachable="skip")
    out = {}
    for node, cid in targets.items():
        if node in paths:
            out[cid] = (node_to_fibre[paths[node].source], float(paths[node].length_m))
    return out


def _land_index(land: gpd.GeoDataFrame | None, points: gpd.GeoSeries) -> np.ndarray:
    """Position in ``land`` of the polygon holding each point, -1 when none does."""
    out = np.full(len(points), -1, dtype=np.int64)
    if land is None or len(land) == 0 or len(points) == 0:
        return out
    tree = shapely.STRtree(np.asarray(land.geometry))
    pi, li = tree.query(np.asarray(points.geometry if hasattr(points, "geometry") else points), predicate="intersects")
    for p, g in sorted(zip(pi.tolist(), li.tolist(), strict=True), reverse=True):
        out[p] = g  # smallest land index wins, deterministically
    return out


def backhaul_options(
    candidates: gpd.GeoDataFrame,
    *,
    fibre_sites: gpd.GeoDataFrame,
    land: gpd.GeoDataFrame | None = None,
    graph: nx.Graph | None = None,
    catalog: Catalog | None = None,
    elevation: Any = None,
    horizon_years: float | None = None,
    id_column: str = "site_id",
    settings: WifiSettings | None = None,
    start_year: int = 2027,
) -> gpd.GeoDataFrame:
    """Price every backhaul option for every candidate site and mark the cheapest feasible one.

    Parameters
    ----------
    candidates
        Points with ``id_column`` (unique), optionally ``height_m`` (antenna
        height; masts of 15 m are assumed where lower or missing) and
        ``has_fibre`` (a site with fibre needs no backhaul).
    fibre_sites
        Points where fibre is available (sites with ``has_fibre``), with ``id_column``.
    land
        Land polygons (for the submarine option); without them submarine is infeasible.
    graph
        The road graph of :func:`gisplan.routing.graph.graph_from_roads` (for fibre).
    catalog
        Cost catalog; the package default when ``None``.
    elevation
        Elevation raster (path or open rasterio dataset) for line of sight of radio hops.
    horizon_years
        Years of fees in the life-cycle cost; default the catalog's ``satellite_horizon_years``.
    id_column
        Id column of both point layers.
    settings
        Default mast height and line-of-sight tries (:class:`~gisplan.wifi.settings.WifiSettings`).
    start_year
        First year of service (fees from then on; the licence of satellite service is checked per year).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (candidate, option), columns :data:`OPTION_COLUMNS` and the
        candidate point as geometry, in the metric CRS of ``candidates``.
        ``chosen`` marks the cheapest feasible option; ``why`` explains it.

    Raises
    ------
    PlanningError
        On missing or duplicate ids, or a candidate that is not a point.
    CRSError
        When a layer has no CRS.
    """
    cat = load_catalog() if catalog is None else catalog
    cfg = DEFAULT_SETTINGS if settings is None else settings
    years = float(cat.param("satellite_horizon_years") if horizon_years is None else horizon_years)
    if not years > 0:
        raise PlanningError(f"horizon_years must be positive, got {horizon_years!r} / Số năm tính chi phí phải dương")
    net = _network(candidates, fibre_sites, land, id_column, cfg)
    bh = cat.backhaul
    ptp_max = float(bh.get("ptp_5g_max_km", 15.0)) * 1000.0
    long_max = float(bh.get("ptp_long_max_km", 60.0)) * 1000.0
    route_factor = float(bh.get("submarine_route_factor", 1.3))
    paths = _fibre_paths(graph, net.cands, net.fibre, net.cand_ids, net.fibre_ids)
    clutter = float(bh.get("clutter_m", 0.0))
    sight = {
        option: _radio_sight(
            net, limit, elevation, tries=cfg.los_tries, f_mhz=float(bh.get(f"{key}_f_mhz", 5600.0)), clutter_m=clutter
        )
        for option, limit, key in (("radio", ptp_max, "ptp_5g"), ("radio_long", long_max, "ptp_long"))
    }

    rows: list[dict[str, Any]] = []
    for k, cid in enumerate(net.cand_ids):
        base = {"site_id": cid, "peer_id": None, "peer_x": np.nan, "peer_y": np.nan, "length_m": 0.0, "land_m": 0.0}
        found = [_fibre_option(net, k, graph, paths)]
        found += [
            _radio_option(net, k, option, limit, elevation is not None, sight[option], cfg.los_tries)
            for option, limit in (("radio", ptp_max), ("radio_long", long_max))
        ]
        found.append(_submarine_option(net, k, route_factor))
        found.append(("satellite", True, texts("backhaul.satellite", years=(years, 3)), {}))
        rows += [{**base, "option": o, "feasible": f, "reason": r["en"], "reason_vi": r["vi"], **kw}
                 for o, f, r, kw in found]  # fmt: skip
    frame = pd.DataFrame(rows, columns=[c for c in OPTION_COLUMNS if c not in _MONEY])
    table = _priced(frame.astype({"clearance_m": float}), cat, years, start_year)
    table = _choose(table)
    position = {cid: k for k, cid in enumerate(net.cand_ids)}
    geom = list(net.cands.geometry.iloc[[position[s] for s in table["site_id"]]]) if len(table) else []
    return gpd.GeoDataFrame(table.loc[:, list(OPTION_COLUMNS)], geometry=geom, crs=net.crs)


_MONEY = ("capex_vnd", "opex_vnd", "cost_vnd")
#: One option of one site: (option, feasible, reason in each language, extra columns).
_Option = tuple[str, bool, dict[str, str], dict[str, Any]]


@dataclass(frozen=True)
class _Network:
    """Candidates and fibre sites in one metric CRS, with what every option needs of them."""

    crs: CRS
    cands: gpd.GeoDataFrame
    fibre: gpd.GeoDataFrame
    land: gpd.GeoDataFrame | None
    cand_ids: list[Hashable]
    fibre_ids: list[Hashable]
    cxy: np.ndarray
    fxy: np.ndarray
    c_h: np.ndarray
    f_h: np.ndarray
    own_fibre: np.ndarray
    c_land: np.ndarray
    f_land: np.ndarray
    fibre_lands: list[int]

    def distances(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances (m) from candidate ``k`` to every fibre site, and their order, nearest first."""
        x, y = self.cxy[k]
        d = np.hypot(self.fxy[:, 0] - x, self.fxy[:, 1] - y) if len(self.fxy) else np.zeros(0)
        return d, np.argsort(d, kind="stable")

    def peer(self, j: int) -> dict[str, Any]:
        """The peer columns of fibre site ``j``."""
        return {"peer_id": self.fibre_ids[j], "peer_x": float(self.fxy[j, 0]), "peer_y": float(self.fxy[j, 1])}


def _network(
    candidates: gpd.GeoDataFrame,
    fibre_sites: gpd.GeoDataFrame,
    land: gpd.GeoDataFrame | None,
    id_column: str,
    cfg: WifiSettings,
) -> _Network:
    """Project and check the inputs: point candidates, unique ids, heights, land polygon of every site."""
    crs = metric_crs_of(candidates)
    cands = to_metric(candidates, crs)
    fibre = to_metric(fibre_sites, crs)
    land_m = None if land is None else to_metric(land, crs)
    if len(cands) and not (cands.geom_type == "Point").all():
        bad = cands.loc[cands.geom_type != "Point", id_column].astype(str).tolist() if id_column in cands else []
        raise PlanningError(
            f"backhaul candidates must be points; {', '.join(bad[:10]) or 'some rows'} "
            f"{'are' if len(bad) != 1 else 'is'} not (empty or another geometry); take each site's location "
            "/ Các vị trí ứng viên phải là điểm"
        )
    own_fibre = (
        cands["has_fibre"].fillna(False).astype(bool).to_numpy()
        if "has_fibre" in cands.columns
        else np.zeros(len(cands), dtype=bool)
    )
    f_land = _land_index(land_m, fibre.geometry)
    return _Network(
        crs=crs,
        cands=cands,
        fibre=fibre,
        land=land_m,
        cand_ids=_ids(cands, id_column, "candidate sites"),
        fibre_ids=_ids(fibre, id_column, "fibre sites"),
        cxy=shapely.get_coordinates(np.asarray(cands.geometry)) if len(cands) else np.zeros((0, 2)),
        fxy=shapely.get_coordinates(np.asarray(fibre.geometry)) if len(fibre) else np.zeros((0, 2)),
        c_h=_heights(cands, cfg.default_mast_m),
        f_h=_heights(fibre, cfg.default_mast_m),
        own_fibre=own_fibre,
        c_land=_land_index(land_m, cands.geometry),
        f_land=f_land,
        fibre_lands=sorted({int(i) for i in f_land if i >= 0}),
    )


def _fibre_option(
    net: _Network, k: int, graph: nx.Graph | None, paths: dict[Hashable, tuple[Hashable, float]]
) -> _Option:
    """Aerial fibre along the roads from the nearest site with fibre (free when the site has fibre)."""
    cid = net.cand_ids[k]
    if net.own_fibre[k]:
        x, y = net.cxy[k]
        return "fibre", True, texts("backhaul.own_fibre"), {"peer_id": cid, "peer_x": x, "peer_y": y}
    if graph is None:
        return "fibre", False, texts("backhaul.no_graph"), {}
    if len(net.fibre_ids) == 0:
        return "fibre", False, texts("backhaul.no_fibre_site"), {}
    if cid not in paths:
        return "fibre", False, texts("backhaul.no_road_path"), {}
    src, length = paths[cid]
    j = net.fibre_ids.index(src)
    why = texts("backhaul.fibre", m=(length, 0), peer=src)
    return "fibre", True, why, {"length_m": length, **net.peer(j)}


def _radio_option(
    net: _Network,
    k: int,
    option: str,
    limit: float,
    checked: bool,
    sight: dict[tuple[int, int], tuple[str, float]],
    tries: int,
) -> _Option:
    """A radio hop to the nearest fibre site within reach that is not known to be blocked: within ``limit`` (the
    equipment's) and the radio horizon of the two antenna heights (k = 4/3)."""
    d, order = net.distances(k)
    horizon = radio_horizon_m(net.c_h[k], net.f_h) if len(net.f_h) else np.zeros(0)
    reach = np.minimum(limit, horizon)
    in_range = [int(j) for j in order if d[j] <= reach[j]]
    if not in_range:
        near = texts("backhaul.nearest", km=(d[order[0]] / 1000, 1)) if len(order) else {"vi": "", "en": ""}
        if len(order) and d[order[0]] <= limit:
            j = int(order[0])
            horizon_km, h_a, h_b = (horizon[j] / 1000, 1), (net.c_h[k], 1), (net.f_h[j], 1)
            why = {lang: texts("backhaul.beyond_horizon", km=horizon_km, h_a=h_a, h_b=h_b, nearest=near[lang])[lang]
                   for lang in near}  # fmt: skip
            return option, False, why, {}
        return option, False, {lang: texts("backhaul.beyond", limit=(limit / 1000, 3), nearest=near[lang])[lang]
                               for lang in near}, {}  # fmt: skip
    if not checked:
        j = in_range[0]
        reason = texts("backhaul.radio_unchecked", km=(d[j] / 1000, 1), peer=net.fibre_ids[j])
        return option, True, reason, {"length_m": float(d[j]), **net.peer(j)}
    unknown = ("clear", np.inf)
    hit = next((j for j in in_range[:tries] if d[j] <= 0 or sight.get((k, j), unknown)[0] != "blocked"), None)
    if hit is None:
        return option, False, texts("backhaul.no_sight", n=min(tries, len(in_range))), {}
    state, margin = sight.get((k, hit), unknown)
    hop = {"km": (d[hit] / 1000, 1), "peer": net.fibre_ids[hit]}
    if state == "clear":
        reason = texts("backhaul.radio_clear", margin=(margin, 1), **hop)
    else:
        reason = texts("backhaul.radio_off_raster", **hop)
    extra = {"clearance_m": float(margin) if state == "clear" and np.isfinite(margin) else np.nan}
    return option, True, reason, {"length_m": float(d[hit]), **net.peer(hit), **extra}


def _submarine_option(net: _Network, k: int, route_factor: float) -> _Option:
    """Sea cable from the island's nearest shore to the nearest land with fibre, landings and land fibre."""
    if net.land is None:
        return "submarine", False, texts("backhaul.no_land"), {}
    if net.c_land[k] < 0:
        return "submarine", False, texts("backhaul.off_land"), {}
    if net.c_land[k] in net.fibre_lands:
        return "submarine", False, texts("backhaul.not_island"), {}
    if not net.fibre_lands:
        return "submarine", False, texts("backhaul.no_fibre_land"), {}
    lands = net.land.geometry
    here = lands.iloc[net.c_land[k]]
    sea, far = min((here.distance(lands.iloc[i]), i) for i in net.fibre_lands)
    near_pt, far_pt = shapely.ops.nearest_points(here, lands.iloc[far])
    on_far = [j for j in range(len(net.fibre_ids)) if net.f_land[j] == far]
    far_land, j = min((far_pt.distance(shapely.Point(net.fxy[j])), j) for j in on_far)
    land_len = float(near_pt.distance(shapely.Point(*net.cxy[k])) + far_land)
    route = float(sea * route_factor)
    reason = texts(
        "backhaul.submarine", km=(route / 1000, 1), sea=(sea / 1000, 1), factor=(route_factor, 3), peer=net.fibre_ids[j]
    )
    return "submarine", True, reason, {"length_m": route, "land_m": land_len, **net.peer(j)}


def _priced(table: pd.DataFrame, cat: Catalog, years: float, start_year: int) -> pd.DataFrame:
    """``table`` with ``capex_vnd``, ``opex_vnd`` (present value of the fees) and ``cost_vnd`` of every feasible
    option (0 when infeasible)."""
    capex, opex = [], []
    for r in table.loc[:, ["option", "feasible", "length_m", "land_m"]].to_dict("records"):
        feasible = bool(r["feasible"])
        capex.append(_price_items(cat, backhaul_items(r)) if feasible else 0)
        opex.append(fees_present_value(cat, r, start_year=start_year, horizon_years=years) if feasible else 0)
    table = table.copy()
    table["capex_vnd"] = pd.Series(capex, dtype="int64", index=table.index)
    table["opex_vnd"] = pd.Series(opex, dtype="int64", index=table.index)
    table["cost_vnd"] = table["capex_vnd"] + table["opex_vnd"]
    return table


def _radio_sight(
    net: _Network, limit: float, elevation: Any, *, tries: int, f_mhz: float, clutter_m: float
) -> dict[tuple[int, int], tuple[str, float]]:
    """(candidate, fibre site) -> ("clear" | "blocked" | "unchecked", clearance in m) for the radio hops that may be
    tried: 0.6 of the first Fresnel zone at ``f_mhz`` over the terrain, the earth bulge (k = 4/3) and ``clutter_m``.

    Those are each candidate's ``tries`` nearest fibre sites within ``limit``, checked in one
    :func:`gisplan.wifi.radio.line_of_sight` call.
    """
    cxy, fxy, c_h, f_h, crs = net.cxy, net.fxy, net.c_h, net.f_h, net.crs
    if elevation is None or len(cxy) == 0 or len(fxy) == 0:
        return {}

    pairs: list[tuple[int, int]] = []
    for k in range(len(cxy)):
        d = np.hypot(fxy[:, 0] - cxy[k, 0], fxy[:, 1] - cxy[k, 1])
        order = np.argsort(d, kind="stable")
        pairs += [(k, int(j)) for j in order[d[order] <= limit][:tries] if d[j] > 0]
    if not pairs:
        return {}
    ci, fi = np.array(pairs).T
    los = line_of_sight(
        cxy[ci], fxy[fi], h_a_m=c_h[ci], h_b_m=f_h[fi], elevation=elevation, crs=crs, f_mhz=f_mhz, clutter_m=clutter_m
    )
    state = np.where(~los.checked, "unchecked", np.where(los.clear, "clear", "blocked"))
    margin = los.clearance_m if los.clearance_m is not None else np.full(len(pairs), np.nan)
    return {pair: (str(st), float(m)) for pair, st, m in zip(pairs, state.tolist(), margin.tolist(), strict=True)}


def _m(v: int) -> str:
    return f"{v / 1e6:,.0f} M VND" if v >= 1e6 else f"{v:,} VND"


def _choose(table: pd.DataFrame) -> pd.DataFrame:
    """Mark each site's cheapest feasible option (ties: the order of :data:`BACKHAUL_OPTIONS`) and explain it.

    One sort over the whole table (a per-site pandas group loop took 20 s for 3,000 sites).
    """
    table = table.copy()
    n = len(table)
    chosen = np.zeros(n, dtype=bool)
    why = [""] * n
    if n:
        rank = table["option"].map({o: i for i, o in enumerate(BACKHAUL_OPTIONS)}).to_numpy()
        feasible = table["feasible"].to_numpy(dtype=bool)
        cost = table["cost_vnd"].to_numpy(dtype=np.int64)
        site, _ = pd.factorize(table["site_id"], sort=False)
        options, reasons = table["option"].tolist(), table["reason"].tolist()
        order = np.lexsort((rank, cost, ~feasible, site))  # by site, feasible first, then cost, then option order
        starts = np.flatnonzero(np.r_[True, site[order][1:] != site[order][:-1]])
        for group in np.split(order, starts[1:]):
            feas = [int(i) for i in group if feasible[i]]
            if not feas:
                continue  # satellite is always feasible; kept for safety, the site then has no chosen row
            chosen[feas[0]] = True
            parts = " < ".join(f"{options[i]} {_m(int(cost[i]))}" for i in feas)
            text = f"cheapest feasible: {parts}" if len(feas) > 1 else f"only feasible: {parts}"
            bad = sorted(int(i) for i in group if not feasible[i])
            if bad:
                text += "; infeasible: " + "; ".join(f"{options[i]} ({reasons[i]})" for i in bad)
            for i in group:
                why[int(i)] = text
    table["chosen"] = chosen
    table["why"] = why
    return table


def chosen_backhaul(options: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The chosen row per candidate of a :func:`backhaul_options` table, indexed by ``site_id``."""
    out = options[options["chosen"]].set_index("site_id", drop=False)
    out.index.name = None
    return out
