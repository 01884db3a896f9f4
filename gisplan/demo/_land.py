"""Real parts of the Phú Quốc demo: coastline polygons and named places.

The coastline comes from the 1 km GLOBE land mask shipped in the PyPI package
``global-land-mask`` 1.0.0 (MIT licence; data: NOAA NGDC GLOBE, Global Land
One-km Base Elevation).  Every land cell of the mask over the demo area becomes
a box exactly where :func:`global_land_mask.globe.is_land` answers ``True``; the
boxes are merged and their staircase edges are simplified (350 m tolerance) and
cut three times (Chaikin corner cutting) in the metric CRS.  Nothing here is random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.ops import nearest_points, unary_union

from gisplan._errors import GisplanError
from gisplan.io.crs import METRIC_CRS

#: Area scanned in the land mask: (west, south, east, north) in degrees.
SCAN_BBOX = (103.40, 9.20, 104.20, 10.50)
#: Source label written into the ``land`` layer.
LAND_SOURCE = "GLOBE 1 km land mask (NOAA NGDC) via PyPI global-land-mask 1.0.0, smoothed"

_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class Place:
    """A named place of Phú Quốc with its approximate public position.

    Parameters
    ----------
    key
        Short ASCII key used in the code.
    name
        Vietnamese name.
    lon, lat
        Approximate position from public maps (degrees, WGS 84).
    """

    key: str
    name: str
    lon: float
    lat: float


#: Towns and commune centres; positions are public facts, rounded to ~1 km.
PLACES: tuple[Place, ...] = (
    Place("duong_dong", "Dương Đông", 103.96, 10.22),
    Place("an_thoi", "An Thới", 104.01, 10.02),
    Place("ham_ninh", "Hàm Ninh", 104.05, 10.18),
    Place("cua_can", "Cửa Cạn", 103.93, 10.27),
    Place("cua_duong", "Cửa Dương", 104.00, 10.23),
    Place("duong_to", "Dương Tơ", 103.98, 10.14),
    Place("ganh_dau", "Gành Dầu", 103.86, 10.37),
    Place("bai_thom", "Bãi Thơm", 104.02, 10.40),
    Place("hon_thom", "Hòn Thơm", 104.03, 9.95),
    Place("tho_chau", "Thổ Châu", 103.46, 9.30),
)
PLACE_BY_KEY = {p.key: p for p in PLACES}


def to_metric_xy(lon: float, lat: float) -> tuple[float, float]:
    """Project one WGS 84 position to the metric CRS (EPSG:32648)."""
    x, y = _TO_METRIC.transform(lon, lat)
    return float(x), float(y)


def geom_to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    """Project a WGS 84 geometry to the metric CRS."""
    return shapely.transform(geom, lambda c: np.column_stack(_TO_METRIC.transform(c[:, 0], c[:, 1])))


def geom_to_lonlat(geom: shapely.Geometry, *, decimals: int = 6) -> shapely.Geometry:
    """Project a metric geometry to WGS 84 and round coordinates to ``decimals`` places.

    Rounding is a pure function of each coordinate, so vertices shared before
    the projection stay shared after it.
    """

    def _f(c: np.ndarray) -> np.ndarray:
        lon, lat = _TO_LONLAT.transform(c[:, 0], c[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return shapely.transform(geom, _f)


def _land_cells(bbox: tuple[float, float, float, float]) -> list[Polygon]:
    """Boxes (degrees) of the land cells of the GLOBE mask inside ``bbox``."""
    try:
        from global_land_mask import globe
    except ImportError as exc:
        raise GisplanError(
            "generating the Phú Quốc demo needs the package global-land-mask; "
            "install it with `pip install gisplan[demo]` (or `pip install global-land-mask==1.0.0`)"
        ) from exc

    west, south, east, north = bbox
    lat = np.asarray(globe._lat)  # the package exposes its grid only as private module attributes
    lon = np.asarray(globe._lon)
    d = float(lon[1] - lon[0])
    rows = np.where((lat >= south) & (lat <= north + d))[0]
    cols = np.where((lon >= west - d) & (lon <= east))[0]
    land = ~np.asarray(globe._mask)[np.ix_(rows, cols)]  # the mask stores water as True
    cells = []
    for r, c in zip(*np.nonzero(land), strict=True):
        # globe.is_land truncates: cell (i, j) answers for lat in (lat_i - d, lat_i], lon in [lon_j, lon_j + d).
        # Edges are taken from the grid itself, rounded, so neighbouring boxes share them exactly.
        i, j = rows[r], cols[c]
        top, bottom = round(float(lat[i]), 9), round(float(lat[i + 1]), 9)
        left, right = round(float(lon[j]), 9), round(float(lon[j + 1]), 9)
        cells.append(box(left, bottom, right, top))
    return cells


def _chaikin_ring(coords: np.ndarray, iterations: int) -> np.ndarray:
    pts = np.asarray(coords)[:-1]
    for _ in range(iterations):
        nxt = np.roll(pts, -1, axis=0)
        q = 0.75 * pts + 0.25 * nxt
        r = 0.25 * pts + 0.75 * nxt
        pts = np.empty((2 * len(q), 2))
        pts[0::2] = q
        pts[1::2] = r
    return np.vstack([pts, pts[:1]])


def _smooth(poly: Polygon, iterations: int = 3) -> Polygon:
    # a light simplification turns the 1 km staircase into diagonals; corner cutting rounds them
    poly = poly.simplify(350)
    shell = _chaikin_ring(np.asarray(poly.exterior.coords), iterations)
    holes = [_chaikin_ring(np.asarray(h.coords), iterations) for h in poly.interiors]
    out = Polygon(shell, holes)
    if not out.is_valid:
        out = shapely.make_valid(out)
        parts = [g for g in getattr(out, "geoms", [out]) if isinstance(g, Polygon)]
        out = max(parts, key=lambda g: g.area)
    return out


def _parts(geom: shapely.Geometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]


@dataclass(frozen=True)
class Land:
    """The demo's land polygons in the metric CRS.

    Attributes
    ----------
    main
        Phú Quốc main island.
    an_thoi
        The An Thới islands south of the main island (Hòn Thơm is the largest).
    hon_thom
        The Hòn Thơm polygon alone.
    tho_chau
        The Thổ Châu islands (about 100 km south-west).
    """

    main: Polygon
    an_thoi: list[Polygon]
    hon_thom: Polygon
    tho_chau: list[Polygon]

    @property
    def all(self) -> MultiPolygon:
        """Every kept land polygon as one MultiPolygon."""
        return MultiPolygon([self.main, *self.an_thoi, *self.tho_chau])


def build_land() -> Land:
    """Vectorise the GLOBE land cells over Phú Quốc into smoothed metric polygons.

    Returns
    -------
    Land
        The main island, the An Thới islands and the Thổ Châu islands.  Land cells
        of Cambodia's coast and islets at the scan's northern edge are dropped.

    Raises
    ------
    GisplanError
        If the mask does not contain the expected islands (a changed package).
    """
    cells = _land_cells(SCAN_BBOX)
    merged = _parts(unary_union(cells))
    metric = [geom_to_metric(p) for p in merged]
    smooth = [_smooth(p) for p in metric]
    dd = Point(*to_metric_xy(PLACE_BY_KEY["duong_dong"].lon, PLACE_BY_KEY["duong_dong"].lat))
    main = [p for p in smooth if p.distance(dd) < 2_000]
    if not main:
        raise GisplanError("global-land-mask has no land at Dương Đông; the package data changed")
    main_island = max(main, key=lambda p: p.area)
    _, ymin_main, _, _ = main_island.bounds
    an_thoi: list[Polygon] = []
    tho_chau: list[Polygon] = []
    tc = Point(*to_metric_xy(PLACE_BY_KEY["tho_chau"].lon, PLACE_BY_KEY["tho_chau"].lat))
    for p in smooth:
        if p is main_island:
            continue
        c = p.centroid
        if c.distance(tc) < 15_000:
            tho_chau.append(p)
        elif c.y < ymin_main + 3_000 and c.distance(main_island) < 12_000:
            an_thoi.append(p)
    ht = Point(*to_metric_xy(PLACE_BY_KEY["hon_thom"].lon, PLACE_BY_KEY["hon_thom"].lat))
    if not an_thoi or not tho_chau:
        raise GisplanError("global-land-mask misses the An Thới or Thổ Châu islands; the package data changed")
    hon_thom = min(an_thoi, key=lambda p: p.distance(ht))
    key = _poly_sort_key
    return Land(main_island, sorted(an_thoi, key=key), hon_thom, sorted(tho_chau, key=key))


def _poly_sort_key(p: Polygon) -> tuple[float, float]:
    c = p.centroid
    return (round(-c.y, 3), round(c.x, 3))


def snap_inland(x: float, y: float, land: Polygon, *, margin_m: float = 300.0) -> tuple[float, float, float]:
    """Move (x, y) to the nearest point at least ``margin_m`` inside ``land``.

    Returns
    -------
    tuple
        The new x, y and the distance moved in metres (0 when already inland).
    """
    inner = land.buffer(-margin_m)
    if inner.is_empty:
        inner = land.buffer(-margin_m / 4)
    p = Point(x, y)
    if inner.contains(p):
        return x, y, 0.0
    q = nearest_points(inner, p)[0]
    # step a little further inside so rounding never leaves the polygon
    v = np.array([q.x - x, q.y - y])
    n = float(np.hypot(*v)) or 1.0
    qx, qy = q.x + 20 * v[0] / n, q.y + 20 * v[1] / n
    if not inner.contains(Point(qx, qy)):
        qx, qy = q.x, q.y
    return float(qx), float(qy), float(np.hypot(qx - x, qy - y))
