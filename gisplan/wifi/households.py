"""Demand where people are: households spread inside settlements, institutions, each with its Mbps.

A settlement in the demo (and in most provincial registers) is one point with a population and a number of
households.  :func:`households_in_settlements` turns it into one point per household:

* with a ``buildings`` layer, the buildings nearest to the settlement point (as many as it has households, within
  its settlement area) stand for its households (``source = "buildings"``);
* otherwise the households are generated uniformly at random inside the settlement area, on land
  (``source = "generated"``), with a generator seeded by the settlement id, so a run is repeatable and two
  settlements never share a stream.

The settlement area is a disc around the point holding ``households x plot_m2`` square metres (the catalog's
``household_plot_m2``, an assumption for rural Vietnamese villages).  Each household carries ``people``
(population / households of its settlement, so the people add up exactly) and ``demand_mbps`` (the catalog's
busy-hour demand per household).  Institutions (schools, health stations, commune People's Committees) carry the
catalog's demand for their kind.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> s = gpd.GeoDataFrame({"settlement_id": ["S1"], "population": [10], "households": [4]},
...                      geometry=[Point(0, 0)], crs="EPSG:32648")
>>> h = households_in_settlements(s, plot_m2=400.0, demand_mbps=2.0)
>>> len(h), float(h["people"].sum()), h["source"].unique().tolist()
(4, 10.0, ['generated'])
"""

from __future__ import annotations

import zlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gisplan._errors import PlanningError

__all__ = ["DEMAND_COLUMNS", "INSTITUTION_KINDS", "households_in_settlements", "institutions_demand"]

#: Columns of a demand-point frame (plus geometry).
DEMAND_COLUMNS = ("demand_id", "settlement_id", "kind", "people", "demand_mbps", "indoor", "source")
#: Site kinds that are institutions with their own demand, and the catalog key of their Mbps.
INSTITUTION_KINDS = {
    "school": "demand_school_mbps",
    "health": "demand_health_mbps",
    "commune_hq": "demand_commune_hq_mbps",
}
_MAX_DRAWS = 50


def settlement_radius_m(households: np.ndarray, plot_m2: float) -> np.ndarray:
    """Radius (m) of the disc holding ``households`` plots of ``plot_m2`` square metres (at least 10 m)."""
    return np.maximum(np.sqrt(np.maximum(households, 1) * plot_m2 / np.pi), 10.0)


def households_in_settlements(
    settlements: gpd.GeoDataFrame,
    *,
    plot_m2: float,
    demand_mbps: float,
    land: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    seed: int = 0,
    spread: bool = True,
) -> gpd.GeoDataFrame:
    """One point per household of each settlement (see the module notes).

    Parameters
    ----------
    settlements
        Points in a metric CRS with ``settlement_id``, ``population`` and ``households`` (empty households:
        population / 4, the demo's mean household size, rounded up).
    plot_m2
        Square metres per household in the settlement area.
    demand_mbps
        Busy-hour demand per household (Mbit/s).
    land
        Land polygons: generated households stay on land (a coastal village's disc is clipped to its shore).
    buildings
        Building polygons or points; when given, they stand for the households.
    seed
        Seed of the generator (combined with a checksum of each settlement id).
    spread
        ``False`` puts every household on its settlement point (``source = "settlement_point"``).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`DEMAND_COLUMNS`, kind ``"household"``, ``indoor`` True, in the settlements' CRS.
    """
    if not plot_m2 > 0 or not demand_mbps >= 0:
        raise PlanningError(
            f"plot_m2 must be positive and demand_mbps non-negative, got {plot_m2!r}, {demand_mbps!r} "
            f"/ plot_m2 phải dương và demand_mbps không âm, đang là {plot_m2!r}, {demand_mbps!r}"
        )
    pop = pd.to_numeric(settlements["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
    hh_col = settlements["households"] if "households" in settlements.columns else pd.Series(np.nan, settlements.index)
    hh = pd.to_numeric(hh_col, errors="coerce").to_numpy(dtype=float)
    hh = np.where(np.isfinite(hh) & (hh > 0), hh, np.ceil(pop / 4.0)).astype(np.int64)
    hh = np.where(pop > 0, np.maximum(hh, 1), 0)
    radius = settlement_radius_m(hh, plot_m2)
    ground = shapely.union_all(np.asarray(land.geometry)) if land is not None and len(land) else None
    if ground is not None:
        shapely.prepare(ground)
    homes_in = _BuildingHomes(buildings)
    frames = []
    ids = settlements["settlement_id"].astype(str).tolist()
    centres = shapely.get_coordinates(np.asarray(settlements.geometry))
    for k, sid in enumerate(ids):
        if hh[k] == 0:
            continue
        n_hh = int(hh[k])
        if not spread:
            xy, source = np.repeat(centres[k][None, :], n_hh, axis=0), np.full(n_hh, "settlement_point")
        else:
            xy = homes_in.settlement(sid, centres[k], radius[k], n_hh)
            source = np.full(len(xy), "buildings")
            if len(xy) < n_hh:  # fewer households in the buildings than the settlement has: the rest generated
                rng = np.random.default_rng([seed, zlib.crc32(sid.encode("utf-8"))])
                rest = _scatter(rng, centres[k], radius[k], n_hh - len(xy), ground)
                xy = np.vstack([xy, rest])
                source = np.r_[source, np.full(len(rest), "generated")]
        n = len(xy)
        frames.append(
            pd.DataFrame(
                {
                    "demand_id": [f"{sid}-H{i + 1:04d}" for i in range(n)],
                    "settlement_id": sid,
                    "kind": "household",
                    "people": pop[k] / n,
                    "demand_mbps": float(demand_mbps),
                    "indoor": True,
                    "source": source,
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                }
            )
        )
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in DEMAND_COLUMNS}, geometry=[], crs=settlements.crs)
    out = pd.concat(frames, ignore_index=True)
    geom = shapely.points(out[["x", "y"]].to_numpy())
    return gpd.GeoDataFrame(out.loc[:, list(DEMAND_COLUMNS)], geometry=geom, crs=settlements.crs)


def _scatter(
    rng: np.random.Generator, centre: np.ndarray, radius: float, n: int, ground: shapely.Geometry | None
) -> np.ndarray:
    """``n`` points uniform in the disc, on ``ground`` when given (the disc's land part; the centre when the disc
    holds no land after many draws)."""
    out = np.zeros((0, 2))
    for _ in range(_MAX_DRAWS):
        r = radius * np.sqrt(rng.random(2 * n))
        a = 2.0 * np.pi * rng.random(2 * n)
        pts = centre + np.c_[r * np.cos(a), r * np.sin(a)]
        if ground is not None:
            pts = pts[shapely.contains_xy(ground, pts[:, 0], pts[:, 1])]
        out = np.vstack([out, pts])[:n]
        if len(out) == n:
            return out
    return np.vstack([out, np.repeat(centre[None, :], n - len(out), axis=0)])


class _BuildingHomes:
    """The households of a ``buildings`` layer as points: a building holding h households stands for h of them.

    A settlement's households are the buildings that name it (``settlement_id``) when the layer says, else the
    buildings inside its area; nearest first."""

    def __init__(self, buildings: gpd.GeoDataFrame | None) -> None:
        self.xy = np.zeros((0, 2))
        self.households = np.zeros(0, dtype=np.int64)
        self.by_id: dict[str, np.ndarray] = {}
        if buildings is None or len(buildings) == 0:
            return
        self.xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(buildings.geometry)))
        hh = buildings["households"] if "households" in buildings.columns else pd.Series(1, index=buildings.index)
        self.households = pd.to_numeric(hh, errors="coerce").fillna(1).clip(lower=1).to_numpy(dtype=np.int64)
        if "settlement_id" in buildings.columns:
            sids = buildings["settlement_id"].astype("string").fillna("").to_numpy(dtype=object)
            order = np.argsort(sids, kind="stable")
            uniq, first = np.unique(sids[order], return_index=True)
            self.by_id = dict(zip(uniq, np.split(order, first[1:]), strict=True))

    def settlement(self, sid: str, centre: np.ndarray, radius: float, n: int) -> np.ndarray:
        """Up to ``n`` household points of settlement ``sid`` (centre and area radius in the metric CRS)."""
        d = np.hypot(self.xy[:, 0] - centre[0], self.xy[:, 1] - centre[1])
        idx = self.by_id[sid] if sid in self.by_id else np.flatnonzero(d <= radius)
        idx = idx[np.argsort(d[idx], kind="stable")]
        return np.repeat(self.xy[idx], self.households[idx], axis=0)[:n]


def institutions_demand(sites: gpd.GeoDataFrame, mbps: dict[str, float]) -> gpd.GeoDataFrame:
    """Demand points of the institutions among ``sites`` (kinds of :data:`INSTITUTION_KINDS`).

    ``mbps`` maps each kind to its demand (Mbit/s); institutions are served by an outdoor unit (``indoor`` False)
    and count no people (their users are counted in their households).
    """
    inst = sites[sites["kind"].isin(list(INSTITUTION_KINDS))]
    return gpd.GeoDataFrame(
        {
            "demand_id": inst["site_id"].astype(str).tolist(),
            "settlement_id": "",
            "kind": inst["kind"].tolist(),
            "people": 0.0,
            "demand_mbps": [float(mbps[k]) for k in inst["kind"]],
            "indoor": False,
            "source": "sites",
        },
        geometry=list(inst.geometry),
        crs=sites.crs,
    )
