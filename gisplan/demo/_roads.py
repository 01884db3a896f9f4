"""Synthetic road network of the Phú Quốc demo (metric CRS, EPSG:32648).

Roads follow the real coastline and the real town positions but are invented:
a ring road about 600 m inside the coast, a north-south trunk from An Thới
through Dương Đông to Gành Dầu, roads from Dương Đông to Hàm Ninh and Bãi Thơm,
street grids in Dương Đông and An Thới (60-120 m blocks), small grids in the
commune centres, and tracks to villages.  All lines are noded (split where they
cross) so that every junction is a shared end point, and only the main island's
largest connected component is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.ops import linemerge, nearest_points, unary_union

from gisplan.demo._land import Land, to_metric_xy

#: Priority used when two synthetic roads overlap: the higher class wins.
_CLASS_RANK = {"national": 6, "provincial": 5, "district": 4, "urban": 3, "rural": 2, "track": 1}

# Trunk and main road way points (lon, lat); each is moved inland before use.
_TRUNK = [
    (104.010, 10.020),
    (104.006, 10.060),
    (103.992, 10.100),
    (103.980, 10.140),
    (103.972, 10.180),
    (103.963, 10.219),
    (103.945, 10.250),
    (103.931, 10.270),
    (103.910, 10.310),
    (103.885, 10.345),
    (103.862, 10.370),
]
_EAST = [(103.963, 10.219), (104.000, 10.230), (104.025, 10.205), (104.048, 10.180)]
_NORTH_EAST = [(104.000, 10.230), (104.005, 10.270), (104.010, 10.320), (104.015, 10.360), (104.020, 10.398)]


@dataclass(frozen=True)
class RoadSpec:
    """One synthetic road before noding (metric CRS)."""

    geom: LineString
    name: str
    road_class: str
    surface: str
    grid: str = ""  # town whose street grid the road belongs to ("" outside grids)


def _inland_line(points: list[tuple[float, float]], land: Polygon, margin: float) -> LineString:
    inner = land.buffer(-margin)
    out = []
    for lon, lat in points:
        p = Point(*to_metric_xy(lon, lat))
        if not inner.contains(p):
            p = nearest_points(inner, p)[0]
        out.append((p.x, p.y))
    return LineString(out)


def _ring_road(main: Polygon) -> LineString:
    inner = main.buffer(-600, quad_segs=4)
    parts = list(getattr(inner, "geoms", [inner]))
    big = max(parts, key=lambda g: g.area)
    ring = LineString(big.exterior.coords).simplify(120)
    return LineString(ring.coords)


def _grid(
    rng: np.random.Generator,
    centre: tuple[float, float],
    zone: Polygon,
    *,
    half_u: float,
    half_v: float,
    angle_deg: float,
    spacing: tuple[float, float],
    town: str,
    main_every: int = 5,
) -> list[RoadSpec]:
    """Street grid of a town: two families of parallel lines clipped to an ellipse and ``zone``."""
    cx, cy = centre
    ellipse = shapely.affinity.scale(Point(cx, cy).buffer(1.0, quad_segs=16), half_u, half_v)
    ellipse = shapely.affinity.rotate(ellipse, angle_deg, origin=(cx, cy))
    area = ellipse.intersection(zone)
    a = np.deg2rad(angle_deg)
    u = np.array([np.cos(a), np.sin(a)])
    v = np.array([-np.sin(a), np.cos(a)])
    reach = max(half_u, half_v) * 1.2
    specs: list[RoadSpec] = []
    for fam, (direction, normal, half) in enumerate(((u, v, half_v), (v, u, half_u))):
        offsets = [0.0]
        while offsets[-1] < half:
            offsets.append(offsets[-1] + float(rng.uniform(*spacing)))
        lows = [0.0]
        while lows[-1] > -half:
            lows.append(lows[-1] - float(rng.uniform(*spacing)))
        all_off = sorted(set(lows + offsets))
        for k, off in enumerate(all_off):
            base = np.array([cx, cy]) + normal * off
            line = LineString([tuple(base - direction * reach), tuple(base + direction * reach)])
            clipped = line.intersection(area)
            main_street = k % main_every == 0
            for piece in _lines(clipped):
                if piece.length < 30:
                    continue
                name = f"Đường nội thị {town} {'D' if fam == 0 else 'N'}{k + 1}"
                specs.append(
                    RoadSpec(
                        piece,
                        name,
                        "urban",
                        "asphalt" if main_street else ("concrete" if rng.random() < 0.8 else "gravel"),
                        grid=town,
                    )
                )
    return specs


def _lines(geom: shapely.Geometry) -> list[LineString]:
    if isinstance(geom, LineString):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiLineString) or hasattr(geom, "geoms"):
        return [g for g in geom.geoms if isinstance(g, LineString) and not g.is_empty]
    return []


def main_roads(land: Land, centres: dict[str, tuple[float, float]], rng: np.random.Generator) -> list[RoadSpec]:
    """Ring road, trunk, main roads, town grids and commune-centre grids of the main island."""
    main = land.main
    specs = [
        RoadSpec(_ring_road(main), "Đường ven biển (vòng quanh đảo)", "district", "asphalt"),
        RoadSpec(_inland_line(_TRUNK, main, 250), "Đường trục Nam - Bắc", "provincial", "asphalt"),
        RoadSpec(_inland_line(_EAST, main, 250), "Đường Dương Đông - Hàm Ninh", "provincial", "asphalt"),
        RoadSpec(_inland_line(_NORTH_EAST, main, 250), "Đường Cửa Dương - Bãi Thơm", "provincial", "asphalt"),
    ]
    zone = main.buffer(-40)
    specs += _grid(
        rng, centres["duong_dong"], zone, half_u=1700, half_v=1250, angle_deg=15.0, spacing=(60, 120), town="Dương Đông"
    )
    specs += _grid(
        rng, centres["an_thoi"], zone, half_u=950, half_v=750, angle_deg=-20.0, spacing=(60, 110), town="An Thới"
    )
    for key, name in (
        ("ham_ninh", "Hàm Ninh"),
        ("cua_can", "Cửa Cạn"),
        ("cua_duong", "Cửa Dương"),
        ("duong_to", "Dương Tơ"),
        ("ganh_dau", "Gành Dầu"),
        ("bai_thom", "Bãi Thơm"),
    ):
        specs += _grid(
            rng,
            centres[key],
            zone,
            half_u=500,
            half_v=380,
            angle_deg=float(rng.uniform(-30, 30)),
            spacing=(90, 150),
            town=name,
            main_every=3,
        )
    # connect every centre to the ring road (the centres near the coast lie outside it)
    ring = specs[0].geom
    for key, (x, y) in centres.items():
        p = Point(x, y)
        if not main.contains(p):
            continue
        q = nearest_points(ring, p)[0]
        if p.distance(q) > 30:
            link = LineString([(x, y), (q.x, q.y)])
            if link.within(main):
                specs.append(RoadSpec(link, f"Đường vào {key}", "rural", "concrete"))
    return specs


def tracks_to(
    points: list[tuple[float, float]], roads: list[LineString], land_part: Polygon, *, label: str
) -> list[RoadSpec | None]:
    """A straight track from each point to the nearest road, or ``None`` when it would leave land."""
    net = unary_union(roads)
    out: list[RoadSpec | None] = []
    for x, y in points:
        p = Point(x, y)
        q = nearest_points(net, p)[0]
        d = p.distance(q)
        if d < 20:
            out.append(RoadSpec(LineString([(x, y), (q.x, q.y)]), "", "track", "earth") if d > 1 else None)
            continue
        link = LineString([(x, y), (q.x, q.y)])
        if not link.within(land_part.buffer(-20)):
            out.append(None)
            continue
        cls, surf = ("rural", "concrete") if d < 1500 else ("track", "gravel" if d < 3000 else "earth")
        out.append(RoadSpec(link, f"Đường vào {label}", cls, surf))
    return out


def node_roads(specs: list[RoadSpec]) -> list[tuple[LineString, RoadSpec]]:
    """Split every road where it meets another; each piece keeps its parent's attributes.

    Returns
    -------
    list of (piece, parent)
        Pieces in a deterministic order (parent order, then position along the parent).
    """
    geoms = [s.geom for s in specs]
    noded = _lines(unary_union(geoms))
    tree = shapely.STRtree(geoms)
    owned: dict[int, list[tuple[float, LineString]]] = {}
    for piece in noded:
        mid = piece.interpolate(0.5, normalized=True)
        cand = tree.query(mid, predicate="dwithin", distance=1e-3)
        if len(cand) == 0:
            cand = tree.query_nearest(mid)
        best = max(sorted(int(i) for i in cand), key=lambda i: (_CLASS_RANK[specs[i].road_class], -i))
        owned.setdefault(best, []).append((geoms[best].project(mid), piece))
    out = []
    for i in sorted(owned):
        for _, piece in sorted(owned[i], key=lambda t: (t[0], t[1].coords[0])):
            out.append((piece, specs[i]))
    return out


def largest_component(pieces: list[tuple[LineString, RoadSpec]], area: Polygon) -> list[bool]:
    """Flag the pieces inside ``area`` that belong to its largest connected component."""
    g = nx.Graph()
    inside = []
    for k, (piece, _) in enumerate(pieces):
        ok = piece.intersects(area)
        inside.append(ok)
        if ok:
            c = piece.coords
            g.add_edge(tuple(c[0]), tuple(c[-1]), k=k)
    if g.number_of_nodes() == 0:
        return [False] * len(pieces)
    comp = max(nx.connected_components(g), key=lambda s: (len(s), min(s)))
    keep = [False] * len(pieces)
    for k, (piece, _) in enumerate(pieces):
        if inside[k] and tuple(piece.coords[0]) in comp:
            keep[k] = True
    return keep


def merge_by_parent(pieces: list[tuple[LineString, RoadSpec]]) -> list[tuple[LineString, RoadSpec]]:
    """Re-join the kept pieces of each parent road into continuous lines (for pole lines)."""
    groups: dict[int, tuple[RoadSpec, list[LineString]]] = {}
    for piece, spec in pieces:
        groups.setdefault(id(spec), (spec, []))[1].append(piece)
    out = []
    for spec, lines in groups.values():
        for line in _lines(linemerge(lines)):
            out.append((line, spec))
    return out
