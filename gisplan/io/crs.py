"""Coordinate reference systems: one metric CRS for every computation.

Layers are reprojected once to a metric CRS (UTM zone 48N, EPSG:32648, for
Kiên Giang; elsewhere the UTM zone of the data's centre) and every length,
area and distance is computed there.  Geographic coordinates come back only to
draw or export.
"""

from __future__ import annotations

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
        raise CRSError(f"cannot choose a UTM zone for lon={lon}, lat={lat}: outside -180..180 / -80..84")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def choose_metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Choose the metric CRS for a layer: the UTM zone of its centre.

    Raises
    ------
    CRSError
        When the layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:9207 for VN-2000 Kiên Giang)")
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
        raise CRSError("the layer has no CRS; state one (e.g. EPSG:4326 or EPSG:9207 for VN-2000 Kiên Giang)")
    target = CRS.from_user_input(crs)
    if not target.is_projected or target.axis_info[0].unit_name not in ("metre", "meter"):
        raise CRSError(f"{target.to_string()} is not a projected CRS in metres; compute in e.g. {METRIC_CRS}")
    if CRS.from_user_input(gdf.crs) == target:
        return gdf.copy()
    return gdf.to_crs(target)
