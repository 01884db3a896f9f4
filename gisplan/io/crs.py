"""Coordinate reference systems: one metric CRS for every computation.

Layers are reprojected once to a metric CRS (UTM zone 48N, EPSG:32648, for
Kiên Giang; elsewhere the UTM zone of the data's centre, see
:mod:`gisplan.io.project`) and every length, area and distance is computed
there.  Geographic coordinates come back only to draw or export.

A CRS whose unit is the metre is not always a metric CRS to measure in: Web
Mercator (EPSG:3857 and its aliases) stretches lengths by 1/cos(latitude)
(1.5 % in Kiên Giang, 56 % at 50°N), so it is refused as a computing CRS and
reprojected like a geographic one (:func:`is_measuring_crs`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pyproj import CRS

from gisplan._errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

#: The metric CRS of the Kiên Giang demo: WGS 84 / UTM zone 48N.
METRIC_CRS = "EPSG:32648"
#: Geographic CRS used for display and export.
DISPLAY_CRS = "EPSG:4326"
#: VN-2000 geographic and Kiên Giang's provincial TM-3 projection (central meridian 104°30').
VN2000_GEOGRAPHIC = "EPSG:4756"
VN2000_KIEN_GIANG_TM3 = "EPSG:9207"


def utm_crs_for(lon: float, lat: float) -> CRS:
    """Return the WGS 84 UTM CRS whose zone contains (``lon``, ``lat``).

    Examples
    --------
    >>> utm_crs_for(104.0, 10.2).to_epsg()
    32648
    """
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        raise CRSError(
            f"cannot choose a UTM zone for lon={lon}, lat={lat}: outside -180..180 / -80..84 "
            f"/ không chọn được múi UTM cho kinh độ {lon}, vĩ độ {lat}: ngoài phạm vi"
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def is_measuring_crs(crs: str | CRS | None) -> bool:
    """True when lengths and areas can be measured in ``crs``: projected, in metres, not a (pseudo-)Mercator.

    Mercator projections keep angles, not lengths: their scale grows as 1/cos(latitude), so measuring in Web
    Mercator (EPSG:3857) inflates a 1 km cable in Kiên Giang to 1.016 km and in Europe to 1.5 km.

    Examples
    --------
    >>> is_measuring_crs("EPSG:32648"), is_measuring_crs("EPSG:3857"), is_measuring_crs("EPSG:4326")
    (True, False, False)
    """
    if crs is None:
        return False
    c = CRS.from_user_input(crs)
    if not c.is_projected or c.axis_info[0].unit_name not in ("metre", "meter"):
        return False
    method = ""
    if c.coordinate_operation is not None:
        method = c.coordinate_operation.method_name.lower()
    # "Mercator (variant A/B)", "Popular Visualisation Pseudo Mercator" stretch lengths; "Transverse Mercator" (UTM,
    # VN-2000 TM-3) does not.
    return not (method.startswith("mercator") or "pseudo mercator" in method)


#: Largest scale error (|scale factor - 1|) at the data's centre for a CRS to be measured in as it is: UTM stays
#: within 0.1 % inside its zone and VN-2000 TM-3 within 0.01 %; Web Mercator is 1.5 % off at Phú Quốc (10° N) and
#: 56 % at 50° N, and a UTM zone 80° of longitude away from the data (Helsinki in zone 48N) 14 %.
MAX_SCALE_ERROR = 0.005


def scale_error(gdf: gpd.GeoDataFrame, crs: str | CRS | None = None) -> float:
    """|scale factor - 1| of the projected ``crs`` (default: the layer's own) at the centre of ``gdf``, the worse of
    the two directions; 0 for an empty layer."""
    from pyproj import Proj, Transformer

    own = CRS.from_user_input(crs if crs is not None else gdf.crs)
    if len(gdf) == 0:
        return 0.0
    minx, miny, maxx, maxy = gdf.to_crs(own).total_bounds if gdf.crs != own else gdf.total_bounds
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))):
        return 0.0
    lon, lat = Transformer.from_crs(own, DISPLAY_CRS, always_xy=True).transform((minx + maxx) / 2, (miny + maxy) / 2)
    f = Proj(own).get_factors(lon, lat)
    return float(max(abs(f.meridional_scale - 1.0), abs(f.parallel_scale - 1.0)))


def metric_crs_for(gdf: gpd.GeoDataFrame, *, max_scale_error: float = MAX_SCALE_ERROR) -> CRS:
    """The CRS to measure ``gdf`` in: its own when lengths can be measured in it *there* (projected, metres, not a
    Mercator, and within ``max_scale_error`` of true scale at the data's centre), else the UTM zone of its centre.

    Raises
    ------
    CRSError
        When ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:9207 for VN-2000 Kiên Giang) "
            "/ lớp không có hệ tọa độ: hãy khai báo (vd. EPSG:4326, hoặc EPSG:9207 cho VN-2000 Kiên Giang)"
        )
    own = CRS.from_user_input(gdf.crs)
    if is_measuring_crs(own) and scale_error(gdf, own) <= max_scale_error:
        return own
    return choose_metric_crs(gdf)


def choose_metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose the metric CRS for a layer: the UTM zone of its centre.

    Raises
    ------
    CRSError
        When the layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:9207 for VN-2000 Kiên Giang) "
            "/ lớp không có hệ tọa độ: hãy khai báo (vd. EPSG:4326, hoặc EPSG:9207 cho VN-2000 Kiên Giang)"
        )
    minx, miny, maxx, maxy = gdf.to_crs(DISPLAY_CRS).total_bounds
    return utm_crs_for((minx + maxx) / 2.0, (miny + maxy) / 2.0)


def to_metric(gdf: gpd.GeoDataFrame, crs: str | CRS = METRIC_CRS) -> gpd.GeoDataFrame:
    """Return ``gdf`` reprojected to the metric ``crs`` (a copy; the input is untouched).

    Raises
    ------
    CRSError
        When ``gdf`` has no CRS, or ``crs`` is not a projected CRS in metres.
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:9207 for VN-2000 Kiên Giang) "
            "/ lớp không có hệ tọa độ: hãy khai báo (vd. EPSG:4326, hoặc EPSG:9207 cho VN-2000 Kiên Giang)"
        )
    target = CRS.from_user_input(crs)
    if not is_measuring_crs(target):
        raise CRSError(
            f"{target.to_string()} is not a CRS to measure lengths in (geographic, not in metres, or a Mercator that "
            f"stretches lengths by 1/cos(latitude)); compute in the UTM zone of the data, e.g. {METRIC_CRS} in Kiên "
            "Giang / hệ tọa độ này không dùng để đo chiều dài (hệ địa lý, không tính bằng mét, hoặc Mercator); "
            f"hãy tính trong múi UTM của dữ liệu, vd. {METRIC_CRS} ở Kiên Giang"
        )
    if CRS.from_user_input(gdf.crs) == target:
        return gdf.copy()
    return gdf.to_crs(target)
