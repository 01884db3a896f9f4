"""Communes, settlements, boundaries and constraints of the Phú Quốc demo (metric CRS).

Real: the commune list (2 wards and 7 communes of Phú Quốc city before 2025;
the former Hòn Thơm commune was merged into An Thới ward in 2020), the
centres' positions, the total population (179,480 at the 2019 census) and the
published populations of Dương Đông ward (60,415, 2019) and An Thới ward with
Hòn Thơm (42,095, 2019).  Approximate: Thổ Châu (about 1,900-2,000 people
reported in 2025; 1,900 taken), commune codes and the 2025 codes (see
layers/README.md), commune boundaries (Voronoi cells of the centres clipped to
land).  Synthetic: the split of the remaining 75,070 people between the six
rural communes (in proportion to earlier planning weights 8.5 : 9 : 12 : 9 :
15 : 7 thousand), hamlet names, positions and sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon
from shapely.ops import unary_union

#: Phú Quốc's population at the 2019 Population and Housing Census (GSO): 179,480.
TOTAL_POPULATION = 179_480
PROVINCE_CODE = "91"  # Kiên Giang before 2025 (GSO code)
PROVINCE_CODE_2025 = "89"  # An Giang after the 2025 merger (code of the former An Giang; approximate)
DISTRICT_CODE = "911"  # Phú Quốc city (GSO code)


@dataclass(frozen=True)
class Commune:
    """One commune-level unit of Phú Quốc before 2025."""

    key: str
    name: str
    code: str  # pre-2025 code (approximate, see README)
    code_2025: str  # special zone after 2025 (approximate)
    name_2025: str
    population: int  # published (wards, 2019), reported (Thổ Châu) or a synthetic split of the rest
    n_hamlets: int
    is_ward: bool


_PQ = ("31069", "Đặc khu Phú Quốc")
_TC = ("31096", "Đặc khu Thổ Châu")

COMMUNES: tuple[Commune, ...] = (
    Commune("duong_dong", "Phường Dương Đông", "31069", *_PQ, 60_415, 16, True),
    Commune("an_thoi", "Phường An Thới", "31072", *_PQ, 42_095, 12, True),
    Commune("cua_can", "Xã Cửa Cạn", "31075", *_PQ, 10_547, 14, False),
    Commune("ganh_dau", "Xã Gành Dầu", "31078", *_PQ, 11_168, 16, False),
    Commune("cua_duong", "Xã Cửa Dương", "31081", *_PQ, 14_890, 14, False),
    Commune("ham_ninh", "Xã Hàm Ninh", "31084", *_PQ, 11_167, 16, False),
    Commune("duong_to", "Xã Dương Tơ", "31087", *_PQ, 18_612, 14, False),
    Commune("bai_thom", "Xã Bãi Thơm", "31093", *_PQ, 8_686, 16, False),
    Commune("tho_chau", "Xã Thổ Châu", "31096", *_TC, 1_900, 4, False),
)
assert sum(c.population for c in COMMUNES) == TOTAL_POPULATION


def commune_polygons(
    centres: dict[str, tuple[float, float]], land: Polygon | shapely.MultiPolygon
) -> dict[str, shapely.Geometry]:
    """Voronoi cells of the commune centres clipped to land (approximate boundaries)."""
    keys = [c.key for c in COMMUNES]
    pts = MultiPoint([centres[k] for k in keys])
    envelope = land.envelope.buffer(50_000)
    cells = shapely.voronoi_polygons(pts, extend_to=envelope)
    out: dict[str, shapely.Geometry] = {}
    for k in keys:
        p = Point(centres[k])
        cell = next(g for g in cells.geoms if g.contains(p))
        out[k] = cell.intersection(land)
    return out


def split_population(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(np.int64)
    rest = total - int(base.sum())
    order = np.lexsort((np.arange(len(raw)), -(raw - base)))
    base[order[:rest]] += 1
    return base


def sample_points(
    rng: np.random.Generator,
    area: Polygon | shapely.MultiPolygon,
    n: int,
    *,
    avoid: list[tuple[float, float]],
    min_dist: float,
    accept=None,
    max_tries: int = 4000,
) -> list[tuple[float, float]]:
    """Up to ``n`` random points in ``area``, ``min_dist`` apart from each other and from ``avoid``."""
    minx, miny, maxx, maxy = area.bounds
    prepared = shapely.prepared.prep(area)
    chosen: list[tuple[float, float]] = []
    taken = list(avoid)
    for _ in range(max_tries):
        if len(chosen) >= n:
            break
        x, y = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
        if not prepared.contains(Point(x, y)):
            continue
        if taken and min(np.hypot(x - a, y - b) for a, b in taken) < min_dist:
            continue
        if accept is not None and not accept(x, y):
            continue
        chosen.append((x, y))
        taken.append((x, y))
    return chosen


def constraint_shapes(
    centres: dict[str, tuple[float, float]], main: Polygon, roads: shapely.Geometry
) -> list[tuple[object, str, str, float | None, str]]:
    """Constraint polygons: (geometry, kind, rule, penalty_factor, name).

    The forbid zone is cut away from a 10 m corridor around every road so that
    it never disconnects the road graph.
    """
    dd = np.array(centres["duong_dong"])
    at = np.array(centres["an_thoi"])
    corridor = roads.buffer(10, quad_segs=2)
    heritage = Point(*(at + np.array([300.0, 2600.0]))).buffer(350, quad_segs=8).intersection(main)
    heritage = heritage.difference(corridor)
    park_outline = Polygon(
        [
            (main.bounds[0], dd[1] + 9_000),
            (dd[0] + 9_000, dd[1] + 9_000),
            (main.bounds[2], dd[1] + 4_000),
            (main.bounds[2], main.bounds[3]),
            (main.bounds[0], main.bounds[3]),
        ]
    )
    park = park_outline.intersection(main)
    villages = unary_union([Point(centres[k]).buffer(1_500) for k in ("ganh_dau", "bai_thom")])
    park = park.difference(villages)
    market = Point(*(dd + np.array([-150.0, 80.0]))).buffer(180, quad_segs=8).intersection(main)
    return [
        (heritage, "heritage", "forbid", None, "Di tích Nhà tù Phú Quốc (vị trí gần đúng)"),
        (park, "protected", "penalty", 3.0, "Vườn quốc gia Phú Quốc (ranh giới gần đúng)"),
        (market, "no_dig", "penalty", 2.0, "Khu chợ đêm Dương Đông (gần đúng)"),
    ]
