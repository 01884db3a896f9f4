"""Synthetic telecom infrastructure of the Phú Quốc demo (metric CRS, EPSG:32648).

Poles along the roads (about every 40-60 m in towns, 55-80 m outside), aerial
cable spans between consecutive telecom or shared poles (more cables per span in
the town centres), a few km of duct banks along central Dương Đông streets,
exchanges, POPs, towers, public buildings, and 4G coverage around the towers.
Every number here is invented; magnitudes are documented in layers/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from gisplan.demo._roads import RoadSpec

#: Operators of the demo and the kinds of cable they hang.
OPERATORS = ("VNPT", "Viettel", "FPT", "MobiFone", "SCTV")
_FIBRES = (4, 8, 12, 24, 48, 96)


@dataclass(frozen=True)
class Tower:
    """A 4G tower and the radii (m) of its good, fair and poor coverage (0 = none)."""

    place: str
    dx: float
    dy: float
    operator: str
    has_fibre: bool
    good: float
    fair: float
    poor: float
    transmission: str = "none"  # existing transmission other than fibre ("microwave")
    transmission_mbps: float = float("nan")
    fibre_year: float = float("nan")  # the year a planned cable brings fibre


#: Towers leave the north, the east coast, Hòn Thơm and Thổ Châu without good coverage on purpose.
TOWERS: tuple[Tower, ...] = (
    Tower("duong_dong", 0, 0, "Viettel", True, 2500, 5000, 9000),
    Tower("duong_dong", 800, -600, "VinaPhone", True, 2200, 4500, 8000),
    Tower("duong_dong", -300, 900, "MobiFone", True, 2000, 4000, 7000),
    Tower("an_thoi", 0, 0, "Viettel", True, 2200, 4500, 8000),
    Tower("an_thoi", 500, 800, "VinaPhone", True, 1800, 4000, 7000),
    Tower("duong_to", 0, 0, "Viettel", True, 1800, 3500, 6000),
    Tower("cua_duong", 0, 0, "VinaPhone", True, 1500, 3500, 6000),
    Tower("cua_can", 0, 0, "Viettel", True, 1800, 3500, 6500),
    Tower("ham_ninh", 0, 0, "MobiFone", False, 0, 0, 2500),
    Tower("ganh_dau", 0, 0, "Viettel", False, 0, 1500, 4000),
    Tower("bai_thom", 0, 0, "VinaPhone", False, 0, 0, 3000),
    # Thổ Châu: Viettel's tower (since 2014, engineering notes) has its own transmission, here microwave with
    # 150 Mbit/s it could lease (assumption: spare of an STM-1-class 155 Mbit/s long hop); the national ICT
    # infrastructure plan 2021-2030 plans domestic submarine cables to large islands: a cable landing at the tower
    # in 2030 is a demo assumption, not a published date.
    Tower("tho_chau", 0, 0, "Viettel", False, 0, 0, 2500, "microwave", 150.0, 2030.0),
)


@dataclass
class PoleLine:
    """Poles placed along one road line, in order."""

    xy: list[tuple[float, float]]
    owners: list[str]
    zone: str  # "core", "town", "village", "road", "rural", "island"


def _zone(line: LineString, spec: RoadSpec, cores: list[tuple[Point, float]], island: bool) -> str:
    if island:
        return "island"
    mid = line.interpolate(0.5, normalized=True)
    if any(mid.distance(c) < r for c, r in cores):
        return "core"
    if spec.grid in ("Dương Đông", "An Thới"):
        return "town"
    if spec.grid:
        return "village"
    if spec.road_class in ("national", "provincial", "district"):
        return "road"
    return "rural"


_SPACING = {
    "core": (34, 44),
    "town": (38, 50),
    "village": (40, 52),
    "road": (44, 56),
    "rural": (48, 62),
    "island": (50, 65),
}
# probabilities of the line owner: shared, telecom, power
_OWNER_P = {
    "core": (0.6, 0.35, 0.05),
    "town": (0.55, 0.2, 0.25),
    "village": (0.5, 0.1, 0.4),
    "road": (0.6, 0.05, 0.35),
    "rural": (0.25, 0.0, 0.75),
    "island": (0.8, 0.2, 0.0),
}


def place_poles(
    rng: np.random.Generator,
    lines: list[tuple[LineString, RoadSpec]],
    cores: list[tuple[Point, float]],
    islands: list[Polygon],
) -> list[PoleLine]:
    """Poles along every road line except main-island tracks, offset 4 m to the line's left."""
    out = []
    for line, spec in lines:
        island = any(line.intersects(p) for p in islands)
        if spec.road_class == "track" and not island:
            continue
        zone = _zone(line, spec, cores, island)
        lo, hi = _SPACING[zone]
        dists = [float(rng.uniform(0, 10))]
        while dists[-1] + lo < line.length:
            dists.append(dists[-1] + float(rng.uniform(lo, hi)))
        if len(dists) < 2:
            continue
        p_shared, p_tel, _ = _OWNER_P[zone]
        r = rng.random()
        line_owner = "shared" if r < p_shared else ("telecom" if r < p_shared + p_tel else "power")
        xy, owners = [], []
        for d in dists:
            a = np.array(line.interpolate(d).coords[0])
            b = np.array(line.interpolate(min(d + 1.0, line.length)).coords[0])
            if d + 1.0 > line.length:
                b = a + (a - np.array(line.interpolate(d - 1.0).coords[0]))
            t = (b - a) / (np.hypot(*(b - a)) or 1.0)
            q = a + 4.0 * np.array([-t[1], t[0]])
            xy.append((float(q[0]), float(q[1])))
            owner = line_owner
            if line_owner == "shared" and rng.random() < 0.08:
                owner = "telecom"  # a dedicated telecom pole among shared ones
            owners.append(owner)
        out.append(PoleLine(xy, owners, zone))
    return out


def pole_attributes(rng: np.random.Generator, owner: str) -> tuple[str, float]:
    """Material and height of a pole of ``owner``."""
    if owner == "telecom":
        material = str(rng.choice(["concrete", "steel", "wood"], p=[0.6, 0.3, 0.1]))
        height = float(rng.choice([6.5, 7.5, 8.0]))
    else:
        material = str(rng.choice(["concrete", "steel"], p=[0.93, 0.07]))
        height = float(rng.choice([8.5, 10.0, 12.0, 14.0], p=[0.35, 0.35, 0.2, 0.1]))
    return material, height


_N_RUNS = {"core": (2, 5), "town": (1, 3), "village": (1, 2), "road": (1, 2), "rural": (1, 1), "island": (1, 1)}


def cable_runs(rng: np.random.Generator, zone: str) -> list[tuple[str, str, int | None]]:
    """The cables (operator, kind, fibre_count) hung along one pole line."""
    lo, hi = _N_RUNS[zone]
    n = int(rng.integers(lo, hi + 1))
    ops = ["VNPT", "Viettel", "FPT", "MobiFone", "SCTV"]
    if zone in ("road", "rural", "island"):
        ops = ["VNPT", "Viettel"]
    picked = [ops[i] for i in sorted(rng.choice(len(ops), size=min(n, len(ops)), replace=False))]
    runs: list[tuple[str, str, int | None]] = []
    for op in picked:
        if op == "SCTV":
            runs.append((op, "coax", None))
        elif op == "VNPT" and zone in ("core", "town") and rng.random() < 0.4:
            runs.append((op, "copper", None))
        else:
            big = zone in ("core", "road")
            runs.append((op, "fibre", int(rng.choice(_FIBRES[2:] if big else _FIBRES[:4]))))
    return runs


def duct_pieces(
    rng: np.random.Generator, pieces: list[tuple[LineString, RoadSpec]], centre: Point, *, radius: float, target: float
) -> list[LineString]:
    """Road pieces of central Dương Đông's main streets that carry existing ducts (about ``target`` m)."""
    cand = [
        p
        for p, s in pieces
        if (s.road_class == "provincial" or (s.grid == "Dương Đông" and s.surface == "asphalt"))
        and p.distance(centre) < radius
        and p.interpolate(0.5, normalized=True).distance(centre) < radius * 0.9
    ]
    cand.sort(key=lambda p: (round(p.interpolate(0.5, normalized=True).distance(centre), 3), p.coords[0]))
    out, total = [], 0.0
    for p in cand:
        if total >= target:
            break
        if p.buffer(0.5).within(centre.buffer(radius)):
            out.append(p)
            total += p.length
    return out


def coverage_shapes(centres: dict[str, tuple[float, float]]) -> list[tuple[object, str, str]]:
    """Dissolved 4G coverage per operator and quality: (geometry, operator, quality)."""
    by_op: dict[str, dict[str, list]] = {}
    for t in TOWERS:
        x, y = centres[t.place]
        p = Point(x + t.dx, y + t.dy)
        q = by_op.setdefault(t.operator, {"good": [], "fair": [], "poor": []})
        for quality in ("good", "fair", "poor"):
            r = getattr(t, quality)
            if r > 0:
                q[quality].append(p.buffer(r, quad_segs=16))
    out = []
    for op in sorted(by_op):
        done = None
        for quality in ("good", "fair", "poor"):
            shapes = by_op[op][quality]
            if not shapes:
                continue
            geom = unary_union(shapes)
            if done is not None:
                geom = geom.difference(done)
            done = geom if done is None else unary_union([done, geom])
            if not geom.is_empty:
                out.append((geom, op, quality))
    return out
