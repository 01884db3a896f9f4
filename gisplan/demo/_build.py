"""Assemble every layer of the Phú Quốc demo in the metric CRS (EPSG:32648).

The order of the steps and of the random draws is fixed, so one seed always
gives the same layers.  :mod:`gisplan.demo.data` turns the records built here
into GeoDataFrames in WGS 84.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.prepared
from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from gisplan.demo._admin import COMMUNES, commune_polygons, constraint_shapes, sample_points, split_population
from gisplan.demo._infra import TOWERS, cable_runs, coverage_shapes, duct_pieces, place_poles, pole_attributes
from gisplan.demo._land import PLACES, Land, build_land, snap_inland, to_metric_xy
from gisplan.demo._roads import RoadSpec, largest_component, main_roads, merge_by_parent, node_roads, tracks_to

#: Radius (m) of the central Dương Đông zone (demo_zone_duong_dong) and of the ducted area inside it.
DD_ZONE_RADIUS = 500.0
DD_DUCT_RADIUS = 430.0


@dataclass
class Records:
    """Rows of every layer, metric geometries, before they become GeoDataFrames."""

    land: Land
    centres: dict[str, tuple[float, float]]
    moved: dict[str, float]
    rows: dict[str, list[dict]] = field(default_factory=dict)


def _centres(land: Land) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    centres, moved = {}, {}
    tc_main = max(land.tho_chau, key=lambda p: p.area)
    for p in PLACES:
        x, y = to_metric_xy(p.lon, p.lat)
        part, margin = land.main, 300.0
        if p.key == "hon_thom":
            part, margin = land.hon_thom, 100.0
        elif p.key == "tho_chau":
            part, margin = tc_main, 300.0
        cx, cy, d = snap_inland(x, y, part, margin_m=margin)
        centres[p.key], moved[p.key] = (cx, cy), d
    return centres, moved


def build_records(seed: int) -> Records:
    """Build every layer's rows for ``seed`` (metric CRS)."""
    rng = np.random.default_rng(seed)
    land = build_land()
    centres, moved = _centres(land)
    rec = Records(land, centres, moved)
    all_land = land.all
    communes = commune_polygons(centres, all_land)
    tc_main = max(land.tho_chau, key=lambda p: p.area)

    # --- roads: main network, then settlements with tracks, then small islands
    specs = main_roads(land, centres, rng)
    base_net = [s.geom for s in specs]
    settlements: list[dict] = []
    inner_main = land.main.buffer(-150)
    for c in COMMUNES:
        cx, cy = centres[c.key]
        kind_c = "town" if c.is_ward else "village"
        name_c = PLACES[[p.key for p in PLACES].index(c.key)].name
        settlements.append(
            dict(name=name_c, kind=kind_c, island_name=_island_of(c.key), xy=(cx, cy), weight=0.0, commune=c.key)
        )
        if c.key == "tho_chau":
            area = tc_main.buffer(-120)
        else:
            area = communes[c.key].intersection(inner_main)
            if c.is_ward:  # urban quarters stay near the town centre
                area = area.intersection(Point(cx, cy).buffer(1_600 if c.key == "duong_dong" else 1_100))
        n = c.n_hamlets
        if c.key == "an_thoi":
            n -= 3  # three of An Thới's quarters are on Hòn Thơm
        avoid = [s["xy"] for s in settlements]
        pts = sample_points(rng, area, n, avoid=avoid, min_dist=350 if c.is_ward else 700)
        for k, xy in enumerate(pts, start=1):
            label = f"Khu phố {k}" if c.is_ward else f"Ấp {k}"
            settlements.append(
                dict(
                    name=f"{label} ({name_c})",
                    kind="town" if c.is_ward else "hamlet",
                    island_name=_island_of(c.key),
                    xy=xy,
                    weight=float(rng.gamma(2.0)),
                    commune=c.key,
                )
            )
    # Hòn Thơm (part of An Thới ward since 2020)
    ht_area = land.hon_thom.buffer(-80)
    settlements.append(
        dict(
            name="Hòn Thơm",
            kind="village",
            island_name="Hòn Thơm",
            xy=centres["hon_thom"],
            weight=0.6,
            commune="an_thoi",
        )
    )
    for k, xy in enumerate(sample_points(rng, ht_area, 2, avoid=[centres["hon_thom"]], min_dist=700), start=1):
        settlements.append(
            dict(
                name=f"Ấp Hòn Thơm {k}",
                kind="hamlet",
                island_name="Hòn Thơm",
                xy=xy,
                weight=0.3 * float(rng.gamma(2.0)),
                commune="an_thoi",
            )
        )

    main_pts = [s["xy"] for s in settlements if s["island_name"] == "Phú Quốc"]
    links = tracks_to(main_pts, base_net, land.main, label="ấp")
    keep_settlement = []
    for s in settlements:
        if s["island_name"] != "Phú Quốc":
            keep_settlement.append(True)
            continue
        link = links[main_pts.index(s["xy"])]
        ok = link is not None or _near(s["xy"], base_net, 20)
        keep_settlement.append(ok)
        if link is not None:
            specs.append(link)
    settlements = [s for s, ok in zip(settlements, keep_settlement, strict=True) if ok]
    for island in ("Hòn Thơm", "Thổ Châu"):
        chain = sorted((s["xy"] for s in settlements if s["island_name"] == island), key=lambda t: (t[1], t[0]))
        part = land.hon_thom if island == "Hòn Thơm" else tc_main
        for a, b in itertools.pairwise(chain):
            seg = LineString([a, b])
            if seg.within(part):
                specs.append(RoadSpec(seg, f"Đường đảo {island}", "track", "concrete"))

    pieces = node_roads(specs)
    keep = largest_component(pieces, land.main)
    small = unary_union([land.hon_thom, tc_main])
    pieces = [pc for pc, k in zip(pieces, keep, strict=True) if k or pc[0].within(small)]
    rec.rows["roads"] = [dict(geometry=p, name=s.name, road_class=s.road_class, surface=s.surface) for p, s in pieces]
    roads_union = unary_union([p for p, _ in pieces])

    # --- settlements: population and commune
    _populate(rng, settlements)
    rec.rows["settlements"] = settlements

    # --- boundaries and constraints
    rec.rows["boundaries"] = [dict(geometry=communes[c.key], commune=c) for c in COMMUNES]
    rec.rows["constraints"] = [
        dict(geometry=g, kind=k, rule=r, penalty_factor=f, name=n)
        for g, k, r, f, n in constraint_shapes(centres, land.main, roads_union)
    ]

    # --- poles and cables
    dd = Point(centres["duong_dong"])
    cores = [(dd, 900.0), (Point(centres["an_thoi"]), 450.0)]
    pole_lines = place_poles(rng, merge_by_parent(pieces), cores, [land.hon_thom, tc_main])
    poles: list[dict] = []
    cables: list[dict] = []
    for pl in pole_lines:
        ids = []
        for xy, owner in zip(pl.xy, pl.owners, strict=True):
            material, height = pole_attributes(rng, owner)
            poles.append(dict(xy=xy, owner=owner, material=material, height_m=height))
            ids.append(len(poles) - 1)
        runs = cable_runs(rng, pl.zone)
        if all(o == "power" for o in pl.owners):
            continue
        for r, (op, kind, fibres) in enumerate(runs):
            route = f"{len(cables):06d}-{r}"
            for i in range(len(ids) - 1):
                a, b = ids[i], ids[i + 1]
                if poles[a]["owner"] == "power" or poles[b]["owner"] == "power":
                    continue
                cables.append(
                    dict(
                        geometry=LineString([poles[a]["xy"], poles[b]["xy"]]),
                        placement="aerial",
                        kind=kind,
                        fibre_count=fibres,
                        owner=op,
                        from_pole=a,
                        to_pole=b,
                        route=route,
                    )
                )
    # --- ducts (exactly on road pieces) and the cables inside them
    ducts = []
    for p in duct_pieces(rng, pieces, dd, radius=DD_DUCT_RADIUS, target=3_000):
        n = int(rng.choice([4, 6, 9]))
        free = int(rng.integers(1, n - 1))
        ducts.append(dict(geometry=p, n_ducts=n, free_ducts=free))
        for op, fibres in (("VNPT", 48), ("Viettel", 24))[: n - free]:
            cables.append(
                dict(
                    geometry=p,
                    placement="underground",
                    kind="fibre",
                    fibre_count=fibres,
                    owner=op,
                    from_pole=None,
                    to_pole=None,
                    route="duct",
                )
            )
    rec.rows["poles"] = poles
    rec.rows["cables"] = cables
    rec.rows["ducts"] = ducts
    rec.rows["coverage"] = [dict(geometry=g, operator=o, quality=q) for g, o, q in coverage_shapes(centres)]
    rec.rows["sites"] = _sites(rng, centres, settlements, roads_union, all_land)
    rec.rows["land"] = _land_rows(land)
    return rec


def _island_of(key: str) -> str:
    return "Thổ Châu" if key == "tho_chau" else "Phú Quốc"


def _near(xy: tuple[float, float], lines: list[LineString], d: float) -> bool:
    p = Point(xy)
    return any(line.distance(p) <= d for line in lines)


def _populate(rng: np.random.Generator, settlements: list[dict]) -> None:
    """Split each commune's population among its settlements (centre about a third)."""
    for c in COMMUNES:
        members = [s for s in settlements if s["commune"] == c.key]
        w = np.array([s["weight"] for s in members], dtype=float)
        rest = w.sum() or 1.0
        w = np.where(w == 0.0, rest * (0.25 if c.is_ward else 0.5), w)
        pops = split_population(c.population, w)
        for s, pop in zip(members, pops, strict=True):
            s["population"] = int(pop)
            s["households"] = round(pop / float(rng.uniform(3.7, 4.3)))


def _offset_on_land(rng, xy, land, lo=40.0, hi=160.0) -> tuple[float, float]:
    prepared = shapely.prepared.prep(land)
    for _ in range(50):
        a = float(rng.uniform(0, 2 * np.pi))
        r = float(rng.uniform(lo, hi))
        q = (xy[0] + r * np.cos(a), xy[1] + r * np.sin(a))
        if prepared.contains(Point(q)):
            return q
    return xy


_FIBRE_HQ = {"duong_dong", "an_thoi", "cua_duong", "duong_to", "cua_can"}
_POPS = (
    ("ham_ninh", "POP Viettel Hàm Ninh", "Viettel"),
    ("cua_can", "POP VNPT Cửa Cạn", "VNPT"),
    ("bai_thom", "POP Viettel Bãi Thơm", "Viettel"),
    ("ganh_dau", "POP VNPT Gành Dầu", "VNPT"),
)
#: Synthetic POPs of two more demo cable operators in Dương Đông (issue 12: each operator's cables go to its own
#: exchange or POP): operator, bearing from the town centre (degrees from north) and distance (m), on opposite sides
#: of the centre so their lead-ins leave the undergrounding zone by different streets.  MobiFone and SCTV, which also
#: hang cables there, get none on purpose: their cables exercise the planner's fallback to the common exchange.
_DD_POPS = (("Viettel", 35.0, 750.0), ("FPT", 145.0, 750.0))
#: Owner of the sites of a mobile brand: VinaPhone is VNPT's mobile network.
_BRAND_OWNER = {"VinaPhone": "VNPT"}


def _sites(rng, centres, settlements, roads, land) -> list[dict]:
    names = {p.key: p.name for p in PLACES}
    sites: list[dict] = []

    def add(kind, name, xy, fibre, height, power=True, owner="", **transmission):
        sites.append(dict(xy=xy, kind=kind, name=name, has_fibre=fibre, height_m=height, has_power=power,
                          owner=owner, **transmission))  # fmt: skip

    for key in ("duong_dong", "an_thoi"):
        xy = _offset_on_land(rng, centres[key], land, 60, 120)
        add("exchange", f"Tổng đài VNPT {names[key]}", xy, True, 15.0, owner="VNPT")
    for key, name, op in _POPS:
        add("pop", name, _offset_on_land(rng, centres[key], land, 60, 150), True, 6.0, owner=op)
    counts: dict[str, int] = {}
    for t in TOWERS:
        x, y = centres[t.place]
        counts[t.place] = counts.get(t.place, 0) + 1
        add(
            "tower",
            f"BTS {t.operator} {names[t.place]} {counts[t.place]}",
            (x + t.dx, y + t.dy),
            t.has_fibre,
            float(rng.choice([30.0, 36.0, 42.0, 45.0])),
            owner=_BRAND_OWNER.get(t.operator, t.operator),
            transmission=t.transmission,
            transmission_mbps=t.transmission_mbps,
            fibre_year=t.fibre_year,
        )
    for c in COMMUNES:
        add(
            "commune_hq", f"UBND {c.name}", _offset_on_land(rng, centres[c.key], land, 30, 90), c.key in _FIBRE_HQ, 10.0
        )
    add(
        "commune_hq",
        "Trụ sở UBND xã Hòn Thơm cũ (nay thuộc phường An Thới)",
        _offset_on_land(rng, centres["hon_thom"], land, 30, 80),
        False,
        8.0,
    )
    for c in COMMUNES:
        members = [s for s in settlements if s["commune"] == c.key]
        add(
            "health",
            f"Trạm y tế {c.name}",
            _offset_on_land(rng, centres[c.key], land, 80, 200),
            c.key in _FIBRE_HQ,
            8.0,
        )
        n_schools = 4 if c.is_ward else (1 if c.key == "tho_chau" else 3)
        for k in range(n_schools):
            s = members[int(rng.integers(len(members)))] if k else members[0]
            level = ("Tiểu học", "THCS", "Mầm non", "THPT")[k % 4]
            add(
                "school",
                f"Trường {level} {c.name.split(' ', 1)[1]} {k + 1}",
                _offset_on_land(rng, s["xy"], land, 60, 200),
                c.key in _FIBRE_HQ and k == 0,
                10.0,
            )
        for s in members[1:]:
            if s["kind"] == "hamlet" and rng.random() < 0.35:
                add(
                    "community",
                    f"Nhà văn hóa {s['name']}",
                    _offset_on_land(rng, s["xy"], land, 30, 120),
                    False,
                    6.0,
                    bool(rng.random() < 0.85),
                )
    # appended last and placed without the random stream, so every other site keeps its id and place
    for op, bearing, dist in _DD_POPS:
        xy = _at_bearing(centres["duong_dong"], land, bearing, dist)
        add("pop", f"POP {op} {names['duong_dong']}", xy, True, 6.0, owner=op)
    return sites


def _at_bearing(xy, land, bearing_deg: float, dist: float) -> tuple[float, float]:
    """The first point on land at ``dist`` (then 50 m farther, up to 10 times) from ``xy`` towards ``bearing_deg``."""
    prepared = shapely.prepared.prep(land)
    a = np.radians(bearing_deg)
    for k in range(11):
        r = dist + 50.0 * k
        q = (xy[0] + r * float(np.sin(a)), xy[1] + r * float(np.cos(a)))
        if prepared.contains(Point(q)):
            return q
    return xy


def _land_rows(land: Land) -> list[dict]:
    rows = [dict(geometry=land.main, name="Đảo Phú Quốc")]
    for p in land.an_thoi:
        rows.append(dict(geometry=p, name="Hòn Thơm" if p is land.hon_thom else "Quần đảo An Thới (đảo nhỏ)"))
    tc_main = max(land.tho_chau, key=lambda p: p.area)
    for p in land.tho_chau:
        rows.append(dict(geometry=p, name="Hòn Thổ Chu (Thổ Châu)" if p is tc_main else "Quần đảo Thổ Châu (đảo nhỏ)"))
    return rows
