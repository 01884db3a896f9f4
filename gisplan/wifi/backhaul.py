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
``microwave``
    The site's own existing transmission (a BTS's microwave: ``transmission`` "microwave" with its capacity
    ``transmission_mbps`` in the sites layer, see :func:`transmission_inputs`); free, and other sites may relay
    through it within that capacity (:mod:`gisplan.wifi.network`).
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
    licensed period, ``VSAT.FEE`` after it (:mod:`gisplan.wifi.money`); always feasible.  Where a planned
    cable brings fibre to the site's island (a site of that land polygon with ``fibre_year``, or the site itself),
    fees stop that year: the island is fibre-fed from then on, the cable and its landing being the cable
    project's cost, not the plan's (column ``fibre_year`` of every option row).

Yearly lines of an option (:func:`backhaul_fees`), besides the satellite subscription:

* **IP transit** (``TRANSIT.MBPS`` per busy-hour Mbit/s and year) on the Mbit/s a site hands to the Internet over
  terrestrial transmission (fibre, an existing microwave, a radio hop, a submarine cable, a relay to a gateway
  that is not one of the plan's sites): that traffic leaves the province's network at a POP, where an upstream
  provider sells transit.  Satellite traffic pays none: the satellite operator carries it to the Internet and its
  fee includes transit.  A satellite site whose island gets fibre (``fibre_year``) pays transit from that year.
* **Satellite capacity**: within the LEO pilot's licence the flat subscription of a terminal (``SAT.FEE``) carries
  the catalog's ``satellite_included_mbps`` (backhaul section; the terminal's throughput by default: a flat-rate
  plan, so a site bonds terminals for capacity, not for cheaper Mbit/s), and any load above terminals x that figure
  pays ``SAT.MBPS``.  After the licence a GEO VSAT service is priced by capacity: ``VSAT.FEE`` per terminal (lease
  and access) plus ``VSAT.MBPS`` on every busy-hour Mbit/s (Giga's open cost model: 309.91 USD per Mbps a year).
* **Rent** of the hop's far end on a structure the plan does not own: a peer of kind ``tower`` (an operator's
  BTS, ``RENT.TOWER``) or ``pole`` (a utility pole, ``RENT.POLE``) whose own height carries the antenna (no new
  mast there: a mast the plan builds is its own and pays none).  Column ``peer_rent_code`` of every option row.
  Exchanges and POPs charge no rent: the radio end there is part of the transit contract (assumption).

The Mbit/s of a candidate come from its optional ``demand_mbps`` column (0 when missing: the option choice then
sees the subscription and rent only).

Every radio hop chooses its antenna heights: each end may keep its own height (a tower's or building's
``height_m``; a wifi site's 15 m AP mast) or add one of the catalog's masts (items ``MAST.<h>M``,
:func:`mast_options`); the cheapest pair whose path clears 0.6 of the first Fresnel zone over terrain, clutter and
the earth bulge (over flat ground without a raster) is taken and priced with the hop (columns ``mast_a_m`` at the
site, ``mast_b_m`` at the peer, their item codes; a taller mast at a wifi site replaces its AP mast, whose price
``mast_credit_vnd`` is deducted).

Amounts are integer VND; ``capex_vnd`` is the investment (the BOQ's), ``opex_vnd``
the present value of the yearly lines over the horizon at the catalog's ``discount_rate``,
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

import re
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
from gisplan.wifi.money import CAPACITY_CODES, present_value, satellite_fee_codes
from gisplan.wifi.money import horizon_years as horizon_years_list
from gisplan.wifi.radio import hop_clearances, radio_horizon_m
from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings

__all__ = [
    "BACKHAUL_OPTIONS",
    "OPTION_COLUMNS",
    "backhaul_fees",
    "backhaul_items",
    "backhaul_options",
    "cheapest_heights",
    "chosen_backhaul",
    "end_options",
    "fees_present_value",
    "included_mbps",
    "mast_options",
    "peer_rent_code",
    "transmission_inputs",
]

#: The options, in tie-breaking order.
BACKHAUL_OPTIONS: tuple[str, ...] = ("fibre", "microwave", "radio", "radio_long", "submarine", "satellite")
#: Values of the sites layer's optional ``transmission`` column (:func:`transmission_inputs`).
TRANSMISSION_KINDS: tuple[str, ...] = ("none", "microwave")
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
    "fibre_year",
    "mast_a_m",
    "mast_b_m",
    "mast_a_code",
    "mast_b_code",
    "mast_credit_vnd",
    "demand_mbps",
    "peer_rent_code",
)
#: Yearly rent of equipment on a structure the plan does not own, by the structure's site kind.
RENT_ITEMS: dict[str, str] = {"tower": "RENT.TOWER", "pole": "RENT.POLE"}
#: Options whose far end is an antenna on the peer's structure.
_HOP_OPTIONS = ("radio", "radio_long", "relay")


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


def _heights(frame: gpd.GeoDataFrame, default_m: float, *, at_least: bool) -> np.ndarray:
    """Antenna height an end has without a new mast: its ``height_m`` (``default_m`` where missing); with
    ``at_least`` never below ``default_m`` (a wifi site gets its AP's mast of that height anyway)."""
    if "height_m" not in frame.columns:
        return np.full(len(frame), default_m)
    h = pd.to_numeric(frame["height_m"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(h), np.maximum(h, default_m) if at_least else h, default_m)


def _ap_mast_credit(frame: gpd.GeoDataFrame, default_m: float, ap_mast_vnd: int) -> np.ndarray:
    """Per candidate: what a taller backhaul mast saves by carrying the AP too (the AP's own mast, where the site
    is lower than ``default_m`` or of unknown height), else 0."""
    if "height_m" not in frame.columns:
        return np.full(len(frame), ap_mast_vnd)
    h = pd.to_numeric(frame["height_m"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(h) & (h >= default_m), 0, ap_mast_vnd)


def _price_items(catalog: Catalog, items: list[tuple[str, float]]) -> int:
    return int(sum(round(round(qty, 3) * catalog.price(code)) for code, qty in items))


def peer_rent_code(option: str, kind: Any, structure_m: float, antenna_m: float) -> str:
    """The rent item of a hop's far end (:data:`RENT_ITEMS`): a radio hop (``radio``, ``radio_long``, ``relay``)
    whose peer is a tower or pole and whose antenna there (``antenna_m``) is no higher than the structure
    (``structure_m``; a higher antenna is on a mast the plan builds, its own); else "".

    Examples
    --------
    >>> peer_rent_code("radio", "tower", 30.0, 30.0), peer_rent_code("radio", "tower", 30.0, 36.0)
    ('RENT.TOWER', '')
    >>> peer_rent_code("fibre", "tower", 30.0, 30.0), peer_rent_code("radio", "exchange", 30.0, 15.0)
    ('', '')
    """
    code = RENT_ITEMS.get(str(kind).strip().lower(), "") if isinstance(kind, str) else ""
    if option not in _HOP_OPTIONS or not code:
        return ""
    a, h = float(antenna_m), float(structure_m)
    return code if not (np.isfinite(a) and np.isfinite(h)) or a <= h + 1e-6 else ""


def backhaul_fees(
    row: Any, years: list[int], *, licence_end_year: int, mbps: float = 0.0, included_mbps: float = 0.0
) -> list[tuple[int, str, float]]:
    """Yearly lines ``(year, item code, quantity)`` of one option row (see the module notes).

    ``mbps`` is the busy-hour Mbit/s the row hands to the Internet (0 for a site whose traffic another of the
    plan's sites carries: that site pays).  A satellite row: its flat fee per terminal (``terminals``, 1 when the
    row has none), ``SAT.MBPS`` on ``mbps`` above ``terminals x included_mbps`` within the licence and ``VSAT.MBPS``
    on all of ``mbps`` after it (GEO capacity is sold per Mbit/s), until the row's
    ``fibre_year`` (a planned cable), from which it pays ``TRANSIT.MBPS`` on ``mbps``; any other row
    ``TRANSIT.MBPS`` on ``mbps``.  A row with a ``peer_rent_code`` pays that rent once a year.

    Examples
    --------
    >>> row = {"option": "satellite", "terminals": 2, "fibre_year": 2029}
    >>> backhaul_fees(row, [2027, 2028, 2029], licence_end_year=2027, mbps=150.0, included_mbps=10.0)
    ... # doctest: +NORMALIZE_WHITESPACE
    [(2027, 'SAT.FEE', 2.0), (2027, 'SAT.MBPS', 130.0), (2028, 'VSAT.FEE', 2.0), (2028, 'VSAT.MBPS', 150.0),
     (2029, 'TRANSIT.MBPS', 150.0)]
    >>> backhaul_fees({"option": "radio", "peer_rent_code": "RENT.TOWER"}, [2027], licence_end_year=2030, mbps=8.0)
    [(2027, 'TRANSIT.MBPS', 8.0), (2027, 'RENT.TOWER', 1.0)]
    """
    mbps = round(max(float(mbps), 0.0), 3)
    rent = str(_get(row, "peer_rent_code") or "")
    if row["option"] != "satellite":
        return [line for y in years for line in ([(y, "TRANSIT.MBPS", mbps)] if mbps > 0 else [])
                + ([(y, rent, 1.0)] if rent else [])]  # fmt: skip
    until = _get(row, "fibre_year")
    count = float(_get(row, "terminals") or 1)  # bonded terminals (gisplan.wifi._select), each with its fee
    above = round(max(mbps - count * float(included_mbps), 0.0), 3)
    out: list[tuple[int, str, float]] = []
    for y, code in zip(years, satellite_fee_codes(years, licence_end_year=licence_end_year), strict=True):
        if until == "" or y < int(until):
            paid = above if code == "SAT.FEE" else mbps  # GEO VSAT: every Mbit/s is bought
            out += [(y, code, count)] + ([(y, CAPACITY_CODES[code], paid)] if paid > 0 else [])
        elif mbps > 0:  # the island is fibre-fed from then on
            out.append((y, "TRANSIT.MBPS", mbps))
    return out


def fees_present_value(catalog: Catalog, row: Any, *, start_year: int, horizon_years: float, mbps: float = 0.0) -> int:
    """Present value (VND, first year) of an option row's yearly lines (:func:`backhaul_fees`, carrying ``mbps``)
    over the horizon at the catalog's discount rate."""
    years = horizon_years_list(start_year, round(horizon_years))
    fees = backhaul_fees(
        row, years, licence_end_year=int(catalog.backhaul["satellite_licence_end_year"]), mbps=mbps,
        included_mbps=included_mbps(catalog),
    )  # fmt: skip
    if not fees:
        return 0
    yearly = np.zeros(len(years))
    for y, code, qty in fees:
        yearly[y - start_year] += round(qty * catalog.price(code))
    return round(present_value(yearly, float(catalog.backhaul["discount_rate"])))


def included_mbps(catalog: Catalog) -> float:
    """Busy-hour Mbit/s one satellite terminal's subscription includes (catalog ``satellite_included_mbps``, 0 when
    a catalog does not state it)."""
    return float(catalog.backhaul.get("satellite_included_mbps", 0.0))


def backhaul_items(row: Any) -> list[tuple[str, float]]:
    """Capital items and quantities of one option row of :func:`backhaul_options` (for the BOQ; fees are yearly
    lines, see :func:`backhaul_fees`)."""
    option = row["option"]
    masts = [(str(code), 1.0) for code in (_get(row, "mast_a_code"), _get(row, "mast_b_code")) if code]
    sectors = int(_get(row, "hub_sectors") or 0)  # sectors this row adds at a hub (gisplan.wifi.network.hub_sectors)
    return _option_items(row, option, masts) + ([("PTMP.SECTOR", float(sectors))] if sectors > 0 else [])


def _option_items(row: Any, option: str, masts: list[tuple[str, float]]) -> list[tuple[str, float]]:
    if option == "fibre":
        return [("FO.DROP", float(row["length_m"]))] if row["length_m"] > 0 else []
    if option == "microwave":  # the site's existing transmission
        return []
    if option == "radio":
        return [("PTP.5G", 1.0), *masts]
    if option == "radio_long":
        return [("PTP.LONG", 1.0), *masts]
    if option == "submarine":
        out = [("SUB.CABLE", float(row["length_m"]) / 1000.0), ("SUB.LANDING", 2.0)]
        return out + ([("FO.DROP", float(row["land_m"]))] if row["land_m"] > 0 else [])
    if option == "satellite":
        return [("SAT.TERMINAL", float(_get(row, "terminals") or 1))]
    if option == "relay":  # through another chosen site (gisplan.wifi.network)
        return [("RELAY.5G", 1.0), *masts]
    raise PlanningError(
        f"unknown backhaul option {option!r}; expected one of {', '.join(BACKHAUL_OPTIONS)} or relay "
        f"/ Phương án truyền dẫn {option!r} không hợp lệ"
    )


def _get(row: Any, key: str) -> Any:
    """``row[key]``, or "" when the row has no such field or it is empty (NaN, None)."""
    try:
        v = row[key]
    except (KeyError, IndexError):
        return ""
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else v


#: A mast item code: MAST.<height>M.
_MAST_CODE = re.compile(r"^MAST\.(\d+(?:\.\d+)?)M$")


def mast_options(catalog: Catalog) -> list[tuple[float, str, int]]:
    """``(height_m, item code, price)`` of every mast a radio hop may add at an end, lowest first: the catalog
    items coded ``MAST.<height>M``.

    Examples
    --------
    >>> [h for h, _, _ in mast_options(load_catalog())]
    [6.0, 12.0, 15.0, 18.0, 24.0, 30.0]
    """
    out = []
    for code in catalog.items:
        m = _MAST_CODE.match(code)
        if m:
            out.append((float(m.group(1)), code, int(catalog.price(code))))
    return sorted(out)


def end_options(
    free_m: np.ndarray, credit_vnd: np.ndarray, masts: list[tuple[float, str, int]]
) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Per end: the antenna heights it may have (its own structure's, free, then each taller catalog mast) padded
    with NaN, their costs (a mast's price less ``credit_vnd``: the AP mast it replaces) and item codes."""
    n, k = len(free_m), 1 + len(masts)
    heights = np.full((n, k), np.nan)
    costs = np.full((n, k), np.inf)
    codes: list[list[str]] = []
    for i in range(n):
        opts = [(float(free_m[i]), "", 0)] + [
            (h, code, max(price - int(credit_vnd[i]), 0)) for h, code, price in masts if h > free_m[i]
        ]
        heights[i, : len(opts)] = [h for h, _, _ in opts]
        costs[i, : len(opts)] = [c for _, _, c in opts]
        codes.append([code for _, code, _ in opts])
    return heights, costs, codes


def _bad(sid: Any, column: str, en: str, vi: str) -> PlanningError:
    return PlanningError(f"layer sites, row {sid}, column {column}: {en} / lớp sites, dòng {sid}, cột {column}: {vi}")


def _missing(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v))) or (isinstance(v, str) and not v.strip())


def transmission_inputs(sites: gpd.GeoDataFrame, *, id_column: str = "site_id") -> gpd.GeoDataFrame:
    """Existing and planned transmission of the sites layer, checked: the sites whose optional ``transmission`` is
    "microwave" (with ``transmission_mbps``, its capacity in Mbit/s) or with a ``fibre_year`` (the year a planned
    cable, e.g. a submarine cable to an island, brings them fibre).

    Returns the rows concerned with columns ``id_column``, ``transmission``, ``transmission_mbps``, ``fibre_year``
    and geometry (empty when the layer has none of these columns).

    Raises
    ------
    PlanningError
        Naming the row and column, in English and Vietnamese: an unknown ``transmission``, microwave without a
        capacity above 0, a capacity that is not a number, a ``fibre_year`` that is not a year between 2000 and
        2100, or a ``fibre_year`` on a site that has fibre already.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> s = gpd.GeoDataFrame({"site_id": ["B"], "transmission": ["microwave"], "transmission_mbps": [None]},
    ...                      geometry=[Point(0, 0)], crs="EPSG:32648")
    >>> try:
    ...     transmission_inputs(s)
    ... except PlanningError as exc:
    ...     print(str(exc)[:99])
    layer sites, row B, column transmission_mbps: a site with microwave transmission needs its capacity
    """
    cols = [id_column, "transmission", "transmission_mbps", "fibre_year"]
    n = len(sites)
    ids = sites[id_column].tolist() if id_column in sites.columns else list(range(n))
    kind = (
        sites["transmission"].astype("string").fillna("none").str.strip().str.lower().replace("", "none")
        if "transmission" in sites.columns
        else pd.Series(["none"] * n, index=sites.index, dtype="string")
    )
    mbps_raw = sites["transmission_mbps"] if "transmission_mbps" in sites.columns else pd.Series([None] * n)
    year_raw = sites["fibre_year"] if "fibre_year" in sites.columns else pd.Series([None] * n)
    has_fibre = (
        sites["has_fibre"].astype("boolean").fillna(False).astype(bool).tolist()
        if "has_fibre" in sites.columns
        else [False] * n
    )
    mbps, years = [], []
    for i, (sid, k, m, y) in enumerate(zip(ids, kind.tolist(), mbps_raw.tolist(), year_raw.tolist(), strict=True)):
        if k not in TRANSMISSION_KINDS:
            raise _bad(sid, "transmission", f"unknown value {k!r}; use one of {', '.join(TRANSMISSION_KINDS)}",
                       f"giá trị {k!r} không hợp lệ; dùng một trong {', '.join(TRANSMISSION_KINDS)}")  # fmt: skip
        value = float(pd.to_numeric(pd.Series([m], dtype=object), errors="coerce").iloc[0])
        if not _missing(m) and not np.isfinite(value):
            raise _bad(sid, "transmission_mbps", f"{m!r} is not a number of Mbit/s", f"{m!r} không phải là số Mbit/s")
        if k == "microwave" and not value > 0:
            raise _bad(sid, "transmission_mbps",
                       f"a site with microwave transmission needs its capacity in Mbit/s (a number above 0), got "
                       f"{m!r}; fill it in",
                       "trạm có truyền dẫn vi ba cần dung lượng (Mbit/s, lớn hơn 0); hãy điền vào")  # fmt: skip
        mbps.append(float(value) if np.isfinite(value) else np.nan)
        year = float(pd.to_numeric(pd.Series([y], dtype=object), errors="coerce").iloc[0])
        given = not _missing(y)
        if given and not (np.isfinite(year) and float(year).is_integer() and 2000 <= year <= 2100):
            raise _bad(
                sid,
                "fibre_year",
                f"{y!r} is not a year between 2000 and 2100 (the year a planned cable brings fibre)",
                f"{y!r} không phải là năm từ 2000 đến 2100 (năm có cáp quang theo quy hoạch)",
            )
        if given and has_fibre[i]:
            raise _bad(sid, "fibre_year", "the site has fibre already; clear fibre_year or has_fibre",
                       "trạm đã có cáp quang; xóa fibre_year hoặc has_fibre")  # fmt: skip
        years.append(float(year) if given else np.nan)
    out = sites.assign(
        transmission=kind.to_numpy(), transmission_mbps=mbps, fibre_year=years, **{id_column: ids}
    ).reindex(columns=[*cols, "geometry"])
    keep = (out["transmission"] == "microwave").to_numpy() | np.isfinite(np.asarray(years, dtype=float))
    return gpd.GeoDataFrame(out[keep], geometry="geometry", crs=sites.crs)


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
    transmission: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Price every backhaul option for every candidate site and mark the cheapest feasible one.

    Parameters
    ----------
    candidates
        Points with ``id_column`` (unique), optionally ``height_m`` (antenna
        height; masts of 15 m are assumed where lower or missing),
        ``has_fibre`` (a site with fibre needs no backhaul) and ``demand_mbps``
        (busy-hour Mbit/s the site hands to the Internet: IP transit or satellite capacity; 0 when missing).
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
    transmission
        Existing and planned transmission (:func:`transmission_inputs` of the sites layer): a candidate with
        microwave gets the free ``microwave`` option; a planned cable's ``fibre_year`` ends the satellite fees of
        the candidates on its land polygon (or of that site alone without ``land``).

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
    net = _network(candidates, fibre_sites, land, id_column, cfg, cat)
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
    no_mast = {"mast_a_m": np.nan, "mast_b_m": np.nan, "mast_a_code": "", "mast_b_code": "", "mast_credit_vnd": 0}

    microwave, fibre_year = _transmission_of(net, transmission, id_column)
    demand = (
        pd.to_numeric(net.cands["demand_mbps"], errors="coerce").fillna(0.0).clip(lower=0.0).to_numpy(dtype=float)
        if "demand_mbps" in net.cands.columns
        else np.zeros(len(net.cand_ids))
    )
    peer_kind = dict(zip(net.fibre_ids, net.fibre["kind"] if "kind" in net.fibre.columns else [""] * len(net.fibre_ids),
                         strict=True))  # fmt: skip
    peer_height = dict(zip(net.fibre_ids, net.f_h.tolist(), strict=True))
    rows: list[dict[str, Any]] = []
    for k, cid in enumerate(net.cand_ids):
        base = {
            "site_id": cid,
            "peer_id": None,
            "peer_x": np.nan,
            "peer_y": np.nan,
            "length_m": 0.0,
            "land_m": 0.0,
            "fibre_year": fibre_year[k],
            "demand_mbps": float(demand[k]),
            "peer_rent_code": "",
            **no_mast,
        }
        found = [_fibre_option(net, k, graph, paths)]
        if cid in microwave:
            found.append(("microwave", True, texts("backhaul.own_microwave", mbps=(microwave[cid], 0)), {}))
        else:
            found.append(("microwave", False, texts("backhaul.no_microwave"), {}))
        found += [
            _radio_option(net, k, option, limit, elevation is not None, sight[option])
            for option, limit in (("radio", ptp_max), ("radio_long", long_max))
        ]
        found.append(_submarine_option(net, k, route_factor))
        if np.isfinite(fibre_year[k]):
            year = int(fibre_year[k])
            found.append(("satellite", True, texts("backhaul.satellite_until", last=year - 1, year=year), {}))
        else:
            found.append(("satellite", True, texts("backhaul.satellite", years=(years, 3)), {}))
        for o, f, r, kw in found:
            rent = peer_rent_code(o, peer_kind.get(kw.get("peer_id"), ""), peer_height.get(kw.get("peer_id"), np.nan),
                                  kw.get("mast_b_m", np.nan)) if f else ""  # fmt: skip
            rows.append({**base, "option": o, "feasible": f, "reason": r["en"], "reason_vi": r["vi"], **kw,
                         "peer_rent_code": rent})  # fmt: skip
    frame = pd.DataFrame(rows, columns=[c for c in OPTION_COLUMNS if c not in _MONEY])
    numeric = {"clearance_m": float, "fibre_year": float, "mast_a_m": float, "mast_b_m": float, "demand_mbps": float}
    frame = frame.astype({**numeric, "mast_credit_vnd": "int64"})
    table = _priced(frame, cat, years, start_year)
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
    c_h: np.ndarray  # antenna height without a new mast (m)
    f_h: np.ndarray
    c_opt: tuple[np.ndarray, np.ndarray, list[list[str]]]  # per end: heights it may have, their costs, item codes
    f_opt: tuple[np.ndarray, np.ndarray, list[list[str]]]
    c_credit: np.ndarray  # per candidate: the AP mast a taller backhaul mast replaces (VND)
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
    cat: Catalog,
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
    masts = mast_options(cat)
    c_h = _heights(cands, cfg.default_mast_m, at_least=True)
    f_h = _heights(fibre, cfg.default_mast_m, at_least=False)
    ap_mast = int(cat.price("MAST.15M"))
    c_credit = _ap_mast_credit(cands, cfg.default_mast_m, ap_mast)
    return _Network(
        crs=crs,
        cands=cands,
        fibre=fibre,
        land=land_m,
        cand_ids=_ids(cands, id_column, "candidate sites"),
        fibre_ids=_ids(fibre, id_column, "fibre sites"),
        cxy=shapely.get_coordinates(np.asarray(cands.geometry)) if len(cands) else np.zeros((0, 2)),
        fxy=shapely.get_coordinates(np.asarray(fibre.geometry)) if len(fibre) else np.zeros((0, 2)),
        c_h=c_h,
        f_h=f_h,
        c_opt=end_options(c_h, c_credit, masts),
        f_opt=end_options(f_h, np.zeros(len(f_h)), masts),
        c_credit=c_credit,
        own_fibre=own_fibre,
        c_land=_land_index(land_m, cands.geometry),
        f_land=f_land,
        fibre_lands=sorted({int(i) for i in f_land if i >= 0}),
    )


def _transmission_of(
    net: _Network, transmission: gpd.GeoDataFrame | None, id_column: str
) -> tuple[dict[Hashable, float], np.ndarray]:
    """Candidate id -> capacity (Mbit/s) of its own microwave; per candidate the year a planned cable brings fibre
    (its own ``fibre_year``, else the earliest on its land polygon; NaN when none)."""
    years = np.full(len(net.cand_ids), np.nan)
    if transmission is None or len(transmission) == 0:
        return {}, years
    t = to_metric(transmission, net.crs)
    mw = t[t["transmission"] == "microwave"]
    microwave = dict(zip(mw[id_column], mw["transmission_mbps"].astype(float), strict=True))
    planned = t[np.isfinite(t["fibre_year"].to_numpy(dtype=float))]
    if len(planned):
        own = dict(zip(planned[id_column], planned["fibre_year"].astype(float), strict=True))
        lands = _land_index(net.land, planned.geometry)
        by_land: dict[int, float] = {}
        for li, y in zip(lands.tolist(), planned["fibre_year"].astype(float).tolist(), strict=True):
            if li >= 0:
                by_land[li] = min(y, by_land.get(li, np.inf))
        for k, cid in enumerate(net.cand_ids):
            mine = [v for v in (own.get(cid), by_land.get(int(net.c_land[k]))) if v is not None]
            years[k] = min(mine) if mine else np.nan
    return microwave, years


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


def _reach(net: _Network, k: int, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances from candidate ``k`` to every fibre site, their order (nearest first) and each hop's reach: the
    equipment's ``limit`` and the radio horizon (k = 4/3) of the tallest antennas the two ends may have."""
    d, order = net.distances(k)
    if not len(d):
        return d, order, np.zeros(0)
    top_c = float(np.nanmax(net.c_opt[0][k]))
    top_f = np.nanmax(net.f_opt[0], axis=1)
    return d, order, np.minimum(limit, radio_horizon_m(top_c, top_f))


def _mast_text(h: float, code: str) -> dict[str, str]:
    return texts("backhaul.mast_new", h=(h, 1), code=code) if code else texts("backhaul.mast_existing", h=(h, 1))


def _radio_option(
    net: _Network,
    k: int,
    option: str,
    limit: float,
    checked: bool,
    sight: dict[tuple[int, int], _Hop],
) -> _Option:
    """A radio hop to the fibre site within reach (``limit`` and the radio horizon of the tallest masts) whose
    cheapest pair of mast heights clears the path (the nearest on ties), among the ``los_tries`` nearest."""
    d, order, reach = _reach(net, k, limit)
    in_range = [int(j) for j in order if d[j] <= reach[j]]
    if not in_range:
        near = texts("backhaul.nearest", km=(d[order[0]] / 1000, 1)) if len(order) else {"vi": "", "en": ""}
        if len(order) and d[order[0]] <= limit:
            j = int(order[0])
            top_c, top_f = float(np.nanmax(net.c_opt[0][k])), float(np.nanmax(net.f_opt[0][j]))
            figures = {"km": (reach[j] / 1000, 1), "h_a": (top_c, 1), "h_b": (top_f, 1)}
            why = {lang: texts("backhaul.beyond_horizon", **figures, nearest=near[lang])[lang] for lang in near}
            return option, False, why, {}
        return option, False, {lang: texts("backhaul.beyond", limit=(limit / 1000, 3), nearest=near[lang])[lang]
                               for lang in near}, {}  # fmt: skip
    tried = [j for j in in_range if d[j] <= 0 or (k, j) in sight]
    usable = [j for j in tried if d[j] <= 0 or sight[(k, j)].state != "blocked"]
    if not usable:
        tallest = float(np.nanmax(net.c_opt[0][k]))
        return option, False, texts("backhaul.no_sight_masts", h=(tallest, 1), n=len(tried)), {}
    hit = min(usable, key=lambda j: (0 if d[j] <= 0 else sight[(k, j)].cost, d[j]))
    same_place = _Hop("clear", np.inf, float(net.c_h[k]), float(net.f_h[hit]), "", "", 0)
    hop = same_place if d[hit] <= 0 else sight[(k, hit)]
    mast_a, mast_b = _mast_text(hop.h_a, hop.code_a), _mast_text(hop.h_b, hop.code_b)
    where = {"km": (d[hit] / 1000, 1), "peer": net.fibre_ids[hit]}
    if hop.state == "clear":
        seen = texts("backhaul.radio_clear", margin=(hop.clearance, 1), **where)
    elif hop.state == "unchecked":
        seen = texts("backhaul.radio_off_raster", **where)
    else:
        seen = texts("backhaul.radio_flat", **where)
    reason = {lang: f"{seen[lang]}; " + texts("backhaul.masts", a=mast_a[lang], b=mast_b[lang])[lang] for lang in seen}
    extra = {
        "clearance_m": float(hop.clearance) if hop.state == "clear" and np.isfinite(hop.clearance) else np.nan,
        "mast_a_m": float(hop.h_a),
        "mast_b_m": float(hop.h_b),
        "mast_a_code": hop.code_a,
        "mast_b_code": hop.code_b,
        "mast_credit_vnd": int(net.c_credit[k]) if hop.code_a else 0,
    }
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
    """``table`` with ``capex_vnd``, ``opex_vnd`` (present value of the yearly lines, :func:`backhaul_fees` on the
    candidate's ``demand_mbps``) and ``cost_vnd`` of every feasible option (0 when infeasible)."""
    capex, opex = [], []
    cols = ["option", "feasible", "length_m", "land_m", "mast_a_code", "mast_b_code", "mast_credit_vnd", "fibre_year",
            "demand_mbps", "peer_rent_code"]  # fmt: skip
    for r in table.loc[:, cols].to_dict("records"):
        feasible = bool(r["feasible"])
        capex.append(_price_items(cat, backhaul_items(r)) - int(r["mast_credit_vnd"]) if feasible else 0)
        opex.append(fees_present_value(cat, r, start_year=start_year, horizon_years=years, mbps=r["demand_mbps"])
                    if feasible else 0)  # fmt: skip
    table = table.copy()
    table["capex_vnd"] = pd.Series(capex, dtype="int64", index=table.index)
    table["opex_vnd"] = pd.Series(opex, dtype="int64", index=table.index)
    table["cost_vnd"] = table["capex_vnd"] + table["opex_vnd"]
    return table


@dataclass(frozen=True)
class _Hop:
    """A radio hop's cheapest pair of antenna heights that clears it, or "blocked" when none does."""

    state: str  # "clear" (checked over the raster), "blocked", "unchecked" (off the raster), "flat" (no raster)
    clearance: float  # least margin (m) with the chosen heights
    h_a: float  # antenna height at the candidate (m)
    h_b: float  # at the fibre site
    code_a: str  # mast item added at the candidate ("" when its own height is used)
    code_b: str
    cost: int  # the masts' cost (VND, the AP mast a candidate's taller mast replaces deducted)


def cheapest_heights(
    clearance: np.ndarray, cost_a: np.ndarray, cost_b: np.ndarray, h_a: np.ndarray, h_b: np.ndarray
) -> tuple[int, int] | None:
    """Indices ``(i, j)`` of the cheapest pair of heights whose ``clearance[i, j]`` is positive (ties: the lower
    pair, then the larger clearance), ``None`` when no pair clears.

    Examples
    --------
    >>> c = np.array([[-1.0, 0.5], [0.2, 3.0]])
    >>> cheapest_heights(c, np.array([0, 10]), np.array([0, 25]), np.array([15.0, 18.0]), np.array([6.0, 12.0]))
    (1, 0)
    """
    ok = np.nan_to_num(clearance, nan=-1.0) > 0
    if not ok.any():
        return None
    total = cost_a[:, None] + cost_b[None, :]
    height = np.nan_to_num(h_a)[:, None] + np.nan_to_num(h_b)[None, :]
    i, j = np.nonzero(ok)
    best = np.lexsort((-clearance[i, j], height[i, j], total[i, j]))[0]
    return int(i[best]), int(j[best])


def _radio_sight(
    net: _Network, limit: float, elevation: Any, *, tries: int, f_mhz: float, clutter_m: float
) -> dict[tuple[int, int], _Hop]:
    """(candidate, fibre site) -> the cheapest pair of mast heights (:func:`cheapest_heights`) that clears 0.6 of the
    first Fresnel zone at ``f_mhz`` over the terrain, the earth bulge (k = 4/3) and ``clutter_m``, for the hops that
    may be tried: each candidate's ``tries`` nearest fibre sites within reach, all profiles read in one
    :func:`gisplan.wifi.radio.hop_clearances` call.  Without a raster (or where a path leaves it) the heights are
    sized over flat ground.
    """
    cxy, fxy, crs = net.cxy, net.fxy, net.crs
    if len(cxy) == 0 or len(fxy) == 0:
        return {}
    pairs: list[tuple[int, int]] = []
    for k in range(len(cxy)):
        d, order, reach = _reach(net, k, limit)
        pairs += [(k, int(j)) for j in order[d[order] <= reach[order]][:tries] if d[j] > 0]
    if not pairs:
        return {}
    ci, fi = np.array(pairs).T
    (ha, ca, codes_a), (hb, cb, codes_b) = net.c_opt, net.f_opt

    def profile(sel: np.ndarray, raster: Any) -> tuple[np.ndarray, np.ndarray]:
        return hop_clearances(
            cxy[ci[sel]], fxy[fi[sel]], heights_a_m=ha[ci[sel]], heights_b_m=hb[fi[sel]], elevation=raster, crs=crs,
            f_mhz=f_mhz, clutter_m=clutter_m,
        )  # fmt: skip

    checked, grid = profile(np.arange(len(pairs)), elevation)
    off = np.flatnonzero(~checked) if elevation is not None else np.zeros(0, dtype=np.int64)
    if off.size:  # paths off the raster: sized over flat ground, reported unchecked
        _, grid[off] = profile(off, None)
    out: dict[tuple[int, int], _Hop] = {}
    for t, (k, j) in enumerate(pairs):
        state = "clear" if checked[t] else ("unchecked" if elevation is not None else "flat")
        best = cheapest_heights(grid[t], ca[k], cb[j], ha[k], hb[j])
        if best is None:
            out[(k, j)] = _Hop("blocked", float(np.nanmax(grid[t])), np.nan, np.nan, "", "", 0)
            continue
        a, b = best
        cost = int(ca[k, a] + cb[j, b])
        out[(k, j)] = _Hop(state, float(grid[t, a, b]), float(ha[k, a]), float(hb[j, b]), codes_a[k][a],
                           codes_b[j][b], cost)  # fmt: skip
    return out


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
            # a site without microwave of its own is the rule: its "microwave" row stays in the table, not in why
            bad = sorted(int(i) for i in group if not feasible[i] and options[i] != "microwave")
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
