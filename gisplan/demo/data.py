"""The embedded Phú Quốc demo: a deterministic generator of every layer kind.

Real parts: the coastlines of Phú Quốc, the An Thới islands (Hòn Thơm) and
Thổ Châu, vectorised from the 1 km GLOBE land mask of the PyPI package
``global-land-mask``; the names and approximate positions of the towns and
commune centres; the total population (179,480, 2019 census) and the wards' published populations.
Synthetic but plausible: roads, poles, cables, ducts, towers, coverage,
public buildings, hamlets.  ``layers/README.md`` says which is which.

Examples
--------
>>> from gisplan.demo.data import demo_gpkg_path
>>> import geopandas as gpd
>>> roads = gpd.read_file(demo_gpkg_path(), layer="roads")
>>> sorted(roads.road_class.unique())[:2]
['district', 'provincial']
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon, box

from gisplan._errors import GisplanError
from gisplan.demo._admin import DISTRICT_CODE, PROVINCE_CODE, PROVINCE_CODE_2025
from gisplan.demo._build import Records, build_records
from gisplan.demo._buildings import buildings_frame
from gisplan.demo._land import PLACE_BY_KEY, build_land, geom_to_lonlat, snap_inland, to_metric_xy
from gisplan.demo.zones import demo_zone_duong_dong

#: Default seed of the shipped demo file.
DEFAULT_SEED = 20260101
#: Layer names in the order they are written.
LAYER_NAMES = (
    "land",
    "boundaries",
    "roads",
    "poles",
    "cables",
    "ducts",
    "coverage",
    "settlements",
    "sites",
    "constraints",
    "buildings",
)
_CRS = "EPSG:4326"
_FIXED_TIME = "2026-01-01T00:00:00.000Z"

__all__ = [
    "DEFAULT_SEED",
    "LAYER_NAMES",
    "demo_gpkg_path",
    "demo_wifi_focus",
    "demo_zone_duong_dong",
    "generate_demo_layers",
    "write_demo_gpkg",
]


def _to_frames(rec: Records) -> dict[str, gpd.GeoDataFrame]:
    r = rec.rows
    out: dict[str, gpd.GeoDataFrame] = {}

    land = gpd.GeoDataFrame(
        {
            "land_id": [f"L{i + 1:03d}" for i in range(len(r["land"]))],
            "name": [x["name"] for x in r["land"]],
            "source": ["GLOBE 1 km land mask (NOAA NGDC) via global-land-mask 1.0.0; smoothed"] * len(r["land"]),
        },
        geometry=[geom_to_lonlat(x["geometry"]) for x in r["land"]],
        crs=_CRS,
    )
    out["land"] = land

    communes = r["boundaries"]
    comm_geoms = [geom_to_lonlat(x["geometry"]) for x in communes]
    district = shapely.union_all(comm_geoms)
    out["boundaries"] = gpd.GeoDataFrame(
        {
            "unit_code": [PROVINCE_CODE, DISTRICT_CODE] + [x["commune"].code for x in communes],
            "name": ["Tỉnh Kiên Giang (phần Phú Quốc)", "Thành phố Phú Quốc"] + [x["commune"].name for x in communes],
            "level": ["province", "district"] + ["commune"] * len(communes),
            "parent_code": [None, PROVINCE_CODE] + [DISTRICT_CODE] * len(communes),
            "unit_code_2025": [PROVINCE_CODE_2025, None] + [x["commune"].code_2025 for x in communes],
            "name_2025": ["Tỉnh An Giang", None] + [x["commune"].name_2025 for x in communes],
            "approximate": [True, True] + [True] * len(communes),
        },
        geometry=[district, district, *comm_geoms],
        crs=_CRS,
    )

    out["roads"] = gpd.GeoDataFrame(
        {
            "road_id": [f"R{i + 1:05d}" for i in range(len(r["roads"]))],
            "name": [x["name"] for x in r["roads"]],
            "road_class": [x["road_class"] for x in r["roads"]],
            "surface": [x["surface"] for x in r["roads"]],
        },
        geometry=[geom_to_lonlat(x["geometry"]) for x in r["roads"]],
        crs=_CRS,
    )

    poles = r["poles"]
    pole_ids = [f"P{i + 1:06d}" for i in range(len(poles))]
    out["poles"] = gpd.GeoDataFrame(
        {
            "pole_id": pole_ids,
            "owner": [p["owner"] for p in poles],
            "material": [p["material"] for p in poles],
            "height_m": np.array([p["height_m"] for p in poles], dtype=float),
        },
        geometry=[geom_to_lonlat(shapely.Point(p["xy"])) for p in poles],
        crs=_CRS,
    )
    pole_geom = out["poles"].geometry.to_numpy()

    cables = r["cables"]
    geoms = []
    for c in cables:
        if c["from_pole"] is None:
            geoms.append(geom_to_lonlat(c["geometry"]))
        else:  # exactly the poles' stored coordinates
            a, b = pole_geom[c["from_pole"]], pole_geom[c["to_pole"]]
            geoms.append(shapely.LineString([a.coords[0], b.coords[0]]))
    out["cables"] = gpd.GeoDataFrame(
        {
            "cable_id": [f"C{i + 1:06d}" for i in range(len(cables))],
            "placement": [c["placement"] for c in cables],
            "kind": [c["kind"] for c in cables],
            "fibre_count": pd.array([c["fibre_count"] for c in cables], dtype="Int64"),
            "owner": [c["owner"] for c in cables],
            "from_pole": [None if c["from_pole"] is None else pole_ids[c["from_pole"]] for c in cables],
            "to_pole": [None if c["to_pole"] is None else pole_ids[c["to_pole"]] for c in cables],
            "route_id": [c["route"] for c in cables],
        },
        geometry=geoms,
        crs=_CRS,
    )

    out["ducts"] = gpd.GeoDataFrame(
        {
            "duct_id": [f"D{i + 1:04d}" for i in range(len(r["ducts"]))],
            "n_ducts": np.array([d["n_ducts"] for d in r["ducts"]], dtype=np.int64),
            "free_ducts": np.array([d["free_ducts"] for d in r["ducts"]], dtype=np.int64),
        },
        geometry=[geom_to_lonlat(d["geometry"]) for d in r["ducts"]],
        crs=_CRS,
    )

    out["coverage"] = gpd.GeoDataFrame(
        {
            "technology": ["4G"] * len(r["coverage"]),
            "operator": [c["operator"] for c in r["coverage"]],
            "quality": [c["quality"] for c in r["coverage"]],
        },
        geometry=[geom_to_lonlat(c["geometry"]) for c in r["coverage"]],
        crs=_CRS,
    )

    sett = r["settlements"]
    sgeo = [geom_to_lonlat(shapely.Point(s["xy"])) for s in sett]
    codes = _commune_codes(sgeo, out["boundaries"])
    out["settlements"] = gpd.GeoDataFrame(
        {
            "settlement_id": [f"S{i + 1:04d}" for i in range(len(sett))],
            "name": [s["name"] for s in sett],
            "commune_code": codes,
            "population": np.array([s["population"] for s in sett], dtype=np.int64),
            "households": np.array([s["households"] for s in sett], dtype=np.int64),
            "kind": [s["kind"] for s in sett],
            "on_island": np.ones(len(sett), dtype=bool),
            "island_name": [s["island_name"] for s in sett],
        },
        geometry=sgeo,
        crs=_CRS,
    )

    sites = r["sites"]
    out["sites"] = gpd.GeoDataFrame(
        {
            "site_id": [f"T{i + 1:04d}" for i in range(len(sites))],
            "kind": [s["kind"] for s in sites],
            "name": [s["name"] for s in sites],
            "has_fibre": np.array([s["has_fibre"] for s in sites], dtype=bool),
            "height_m": np.array([s["height_m"] for s in sites], dtype=float),
            "has_power": np.array([s["has_power"] for s in sites], dtype=bool),
            "owner": [s["owner"] for s in sites],
            "transmission": [s.get("transmission", "none") for s in sites],
            "transmission_mbps": np.array([s.get("transmission_mbps", np.nan) for s in sites], dtype=float),
            "fibre_year": pd.array(
                [None if not np.isfinite(s.get("fibre_year", np.nan)) else int(s["fibre_year"]) for s in sites],
                dtype="Int64",
            ),
        },
        geometry=[geom_to_lonlat(shapely.Point(s["xy"])) for s in sites],
        crs=_CRS,
    )

    cons = r["constraints"]
    out["constraints"] = gpd.GeoDataFrame(
        {
            "constraint_id": [f"K{i + 1:03d}" for i in range(len(cons))],
            "name": [c["name"] for c in cons],
            "kind": [c["kind"] for c in cons],
            "rule": [c["rule"] for c in cons],
            "penalty_factor": np.array([np.nan if c["penalty_factor"] is None else c["penalty_factor"] for c in cons]),
        },
        geometry=[geom_to_lonlat(c["geometry"]) for c in cons],
        crs=_CRS,
    )
    for name in ("boundaries", "coverage", "constraints"):
        out[name] = _as_multi(out[name])
    return {name: out[name] for name in LAYER_NAMES if name in out}


def _as_multi(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every polygon as a MultiPolygon, as a GeoPackage layer of mixed polygons stores them."""
    geoms = [shapely.MultiPolygon([g]) if isinstance(g, Polygon) else g for g in frame.geometry]
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))


def _commune_codes(points: list[shapely.Geometry], boundaries: gpd.GeoDataFrame) -> list[str]:
    communes = boundaries[boundaries["level"] == "commune"]
    codes = []
    for p in points:
        hit = communes[communes.geometry.covers(p)]
        if hit.empty:  # on the coarse coastline's edge: the nearest commune
            hit = communes.iloc[[int(np.argmin(communes.geometry.distance(p).to_numpy()))]]
        codes.append(str(hit["unit_code"].iloc[0]))
    return codes


def generate_demo_layers(*, seed: int = DEFAULT_SEED) -> dict[str, gpd.GeoDataFrame]:
    """Generate every layer of the Phú Quốc demo.

    Parameters
    ----------
    seed
        Seed of the synthetic parts; the same seed always gives the same layers.

    Returns
    -------
    dict of str to GeoDataFrame
        One frame per name in :data:`LAYER_NAMES`, all in EPSG:4326 with
        coordinates rounded to 1e-6 degrees (about 0.1 m).
    """
    rec = build_records(int(seed))
    out = _to_frames(rec)
    out["buildings"] = buildings_frame(rec.rows["settlements"], rec.rows["roads"], rec.land.all, int(seed))
    return out


def write_demo_gpkg(path: str | os.PathLike[str], *, seed: int = DEFAULT_SEED) -> Path:
    """Write every demo layer to a GeoPackage at ``path`` (replaced if it exists).

    The write is deterministic: the same seed gives the same layer contents, and
    the GeoPackage's timestamps are set to a fixed date so that the bytes repeat
    too (with the same GDAL version).

    Returns
    -------
    Path
        The written file.
    """
    return _write_layers(path, generate_demo_layers(seed=seed))


def _write_layers(path: str | os.PathLike[str], layers: dict[str, gpd.GeoDataFrame]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.gpkg")
    if tmp.exists():
        tmp.unlink()
    for name, frame in layers.items():
        frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="NO")
    with sqlite3.connect(tmp) as con:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (_FIXED_TIME,))
        for table in ("gpkg_metadata_reference",):
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                con.execute(f"UPDATE {table} SET timestamp = ?", (_FIXED_TIME,))
    con.close()
    # VACUUM INTO writes a fresh file whose header counters do not depend on how many
    # transactions GDAL happened to run, so the bytes repeat.
    final = path.with_name(path.stem + ".vacuum.gpkg")
    if final.exists():
        final.unlink()
    con = sqlite3.connect(tmp)
    try:
        con.execute("VACUUM INTO ?", (str(final),))
    finally:
        con.close()
    tmp.unlink()
    os.replace(final, path)
    return path


def _repo_gpkg() -> Path:
    return Path(__file__).resolve().parents[2] / "layers" / "phu_quoc.gpkg"


def demo_gpkg_path(*, seed: int = DEFAULT_SEED) -> Path:
    """Path of the demo GeoPackage.

    The shipped ``layers/phu_quoc.gpkg`` next to the ``gisplan`` package (an
    editable install or a source checkout) is used when it exists and ``seed``
    is the default.  Otherwise (a non-editable install, another seed) the file is
    generated once into the cache directory ``$GISPLAN_CACHE_DIR`` or
    ``$XDG_CACHE_HOME/gisplan`` or ``~/.cache/gisplan`` and reused.
    """
    shipped = _repo_gpkg()
    if seed == DEFAULT_SEED and shipped.is_file():
        return shipped
    root = os.environ.get("GISPLAN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gisplan"
    )
    cached = Path(root) / f"phu_quoc_{seed}.gpkg"
    if not cached.is_file():
        write_demo_gpkg(cached, seed=seed)
    return cached


def _lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    return geom_to_lonlat(geom)


@functools.lru_cache(maxsize=1)
def _land_and_centres():
    land = build_land()
    return land


def _centre(key: str) -> tuple[float, float]:
    land = _land_and_centres()
    p = PLACE_BY_KEY[key]
    x, y = to_metric_xy(p.lon, p.lat)
    part = land.main
    if key == "hon_thom":
        part = land.hon_thom
    elif key == "tho_chau":
        part = max(land.tho_chau, key=lambda g: g.area)
    cx, cy, _ = snap_inland(x, y, part, margin_m=100.0 if key == "hon_thom" else 300.0)
    return cx, cy


def demo_wifi_focus() -> dict[str, Polygon]:
    """Named under-served areas of the demo for the wifi planner (EPSG:4326).

    Returns
    -------
    dict
        ``north`` (Gành Dầu, Bãi Thơm: the main island north of 10.33°N),
        ``east_coast`` (the main island east of 104.03°E between 10.10°N and
        10.33°N, Hàm Ninh's coast), ``hon_thom`` and ``tho_chau`` (the islands
        with a 500 m margin).  Each is a Polygon; none has good 4G coverage.
    """
    land = _land_and_centres()
    main = _lonlat(land.main)
    north = main.intersection(box(103.0, 10.33, 105.0, 11.0))
    east = main.intersection(box(104.03, 10.10, 105.0, 10.33))
    hon_thom = _lonlat(land.hon_thom.buffer(500))
    tho_chau = _lonlat(shapely.union_all(land.tho_chau).convex_hull.buffer(500))
    out = {"north": north, "east_coast": east, "hon_thom": hon_thom, "tho_chau": tho_chau}
    for name, g in out.items():
        if not isinstance(g, Polygon):
            raise GisplanError(
                f"demo focus area {name!r} is not one polygon; the coastline data changed "
                f"/ vùng trọng tâm {name!r} của dữ liệu mẫu không còn là một đa giác; dữ liệu đường bờ biển đã thay đổi"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m gisplan.demo.data --out layers/phu_quoc.gpkg [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m gisplan.demo.data", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(_repo_gpkg()), help="GeoPackage to write (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default: %(default)s)")
    args = parser.parse_args(argv)
    layers = generate_demo_layers(seed=args.seed)
    path = _write_layers(args.out, layers)
    for name, frame in layers.items():
        print(f"{name:12s} {len(frame):6d} rows")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
