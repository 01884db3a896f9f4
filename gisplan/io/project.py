"""A project's frame: the metric CRS every length is computed in, and the region its data may plausibly lie in.

Kiên Giang stays the default without a word from the user: data whose centre lies in Vietnam is computed in the
UTM zone of its centre (48N, EPSG:32648, for the whole province) and checked against Vietnam's extent, as before.
Data elsewhere gets the UTM zone of its centre and a region drawn from the data itself:

- the area of use of the CRS the files state, when it is a limited one (a national or provincial grid such as
  VN-2000 / TM-3 Kiên Giang, EPSG:9207, or a UTM zone), grown by a margin: a file whose coordinates fall outside
  the area its own CRS is made for has its x and y swapped or the wrong CRS; else
- the extent of the ``boundaries`` layer when there is one, grown by a margin, else
- the extent of the bulk of the data (the 2nd to 98th percentile of every feature's position, all layers together)
  grown by half its size and at least :data:`MIN_MARGIN_KM` on every side.

A layer (or a row) far from the others therefore still falls outside the region and is reported with its row,
as a VN-2000 file read as WGS 84 is in Vietnam.  A scenario (``layers.metric_crs``, ``layers.region``), the CLI
(``--metric-crs``, ``--region``) or the Python API (:func:`project_frame`) may set either.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> helsinki = gpd.GeoDataFrame(geometry=[Point(24.94, 60.17), Point(24.95, 60.16)], crs="EPSG:4326")
>>> frame = project_frame({"poles": helsinki})
>>> frame.crs.to_epsg(), frame.inside_vietnam
(32635, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gisplan._errors import CRSError
from gisplan.io.crs import DISPLAY_CRS, is_measuring_crs, utm_crs_for

__all__ = ["MIN_MARGIN_KM", "VIETNAM_BOUNDS", "ProjectFrame", "parse_region", "project_frame"]

#: Plausible extent of data in Vietnam (lon/lat), the islands of the East Sea included.
VIETNAM_BOUNDS: tuple[float, float, float, float] = (100.0, 5.0, 118.0, 25.0)
#: Smallest margin around the data's bulk when the region is drawn from the data (kilometres).
MIN_MARGIN_KM = 20.0
#: Kilometres per degree of latitude (the margin is converted to degrees with it).
_KM_PER_DEGREE = 111.32


@dataclass(frozen=True)
class ProjectFrame:
    """The metric CRS of a project and its plausible region (lon/lat bounds, or None: no check).

    ``source`` says how each was chosen (``"data"``, ``"boundaries"``, ``"vietnam"``, ``"given"``), for the
    run's manifest and the import report.
    """

    crs: CRS
    region: tuple[float, float, float, float] | None
    centre: tuple[float, float]
    crs_source: str
    region_source: str

    @property
    def inside_vietnam(self) -> bool:
        """True when the data's centre lies in Vietnam's extent (the demo's case)."""
        lon, lat = self.centre
        w, s, e, n = VIETNAM_BOUNDS
        return w <= lon <= e and s <= lat <= n

    def describe(self) -> dict[str, object]:
        """The frame as plain values (for manifests and reports)."""
        return {
            "metric_crs": self.crs.to_string(),
            "metric_crs_chosen_by": self.crs_source,
            "region_lonlat": None if self.region is None else [round(v, 6) for v in self.region],
            "region_chosen_by": self.region_source,
            "centre_lonlat": [round(v, 6) for v in self.centre],
        }


def parse_region(value: str | Sequence[float] | None) -> tuple[float, float, float, float] | None:
    """A region given as ``"W,S,E,N"`` or ``[W, S, E, N]`` in lon/lat degrees, checked.

    Raises
    ------
    CRSError
        When it is not four numbers with W < E, S < N inside -180..180 / -90..90.
    """
    if value is None:
        return None
    parts = [p for p in value.replace(",", " ").split()] if isinstance(value, str) else list(value)
    try:
        w, s, e, n = (float(v) for v in parts)
    except (TypeError, ValueError):
        raise CRSError(
            f"a region is four numbers west, south, east, north in degrees (lon/lat), got {value!r} "
            "/ vùng gồm 4 số: tây, nam, đông, bắc, tính bằng độ (kinh độ/vĩ độ)"
        ) from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise CRSError(
            f"region {value!r}: need -180 <= west < east <= 180 and -90 <= south < north <= 90 "
            "/ vùng không hợp lệ: cần -180 <= tây < đông <= 180 và -90 <= nam < bắc <= 90"
        )
    return (w, s, e, n)


def _lonlat_points(frames: Mapping[str, gpd.GeoDataFrame]) -> np.ndarray:
    """Representative points of every feature of every layer that has a CRS, in lon/lat (n x 2)."""
    parts = []
    for gdf in frames.values():
        if gdf is None or gdf.crs is None or not len(gdf):
            continue
        geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if not len(geoms):
            continue
        pts = gpd.GeoSeries(shapely.point_on_surface(np.asarray(geoms)), crs=gdf.crs).to_crs(DISPLAY_CRS)
        xy = shapely.get_coordinates(np.asarray(pts))
        parts.append(xy[np.isfinite(xy).all(axis=1)])
    return np.concatenate(parts) if parts else np.empty((0, 2))


def project_frame(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    metric_crs: str | CRS | None = None,
    region: str | Sequence[float] | None = None,
    check_region: bool = True,
) -> ProjectFrame:
    """Choose a project's metric CRS and plausible region from its layers (as read, in their own CRS).

    Parameters
    ----------
    frames
        The project's layers by kind, each in the CRS its file states (layers without a CRS are ignored here;
        their reader reports them).
    metric_crs
        A CRS to compute in instead of the UTM zone of the data's centre; it must measure lengths
        (projected, metres, not Web Mercator).
    region
        Lon/lat bounds instead of the automatic region (see the module notes).
    check_region
        False: no region (no row is reported as far away).

    Raises
    ------
    CRSError
        For a ``metric_crs`` that cannot measure lengths, a malformed ``region``, or layers without any feature
        that has a CRS when no ``metric_crs`` is given.
    """
    given_region = parse_region(region)
    pts = _lonlat_points(frames)
    if len(pts):
        centre = (float(np.median(pts[:, 0])), float(np.median(pts[:, 1])))
    elif given_region is not None:
        centre = ((given_region[0] + given_region[2]) / 2.0, (given_region[1] + given_region[3]) / 2.0)
    elif metric_crs is None:
        raise CRSError(
            "the project has no feature with a CRS: cannot choose its metric CRS; give one (--metric-crs) "
            "/ dự án không có đối tượng nào có hệ tọa độ: hãy chọn hệ tọa độ tính toán (--metric-crs)"
        )
    else:
        centre = (0.0, 0.0)
    if metric_crs is not None:
        crs = CRS.from_user_input(metric_crs)
        if not is_measuring_crs(crs):
            raise CRSError(
                f"metric CRS {crs.to_string()} cannot measure lengths (geographic, not metres, or a Mercator); "
                "choose a projected CRS in metres such as the UTM zone of the data / hệ tọa độ tính toán không hợp lệ: "
                "hãy chọn hệ tọa độ phẳng tính bằng mét, như múi UTM của dữ liệu"
            )
        crs_source = "given"
    else:
        crs, crs_source = utm_crs_for(*centre), "data"
    frame_region: tuple[float, float, float, float] | None
    if not check_region:
        frame_region, region_source = None, "none"
    elif given_region is not None:
        frame_region, region_source = given_region, "given"
    else:
        frame_region, region_source = _auto_region(frames, pts, centre)
    return ProjectFrame(crs=crs, region=frame_region, centre=centre, crs_source=crs_source, region_source=region_source)


def _limited_area_of_use(crs: object) -> tuple[float, float, float, float] | None:
    """The lon/lat area of use of ``crs`` when it is limited (not world-wide), else None."""
    area = CRS.from_user_input(crs).area_of_use
    if area is None:
        return None
    w, s, e, n = area.bounds
    if e < w:  # crosses the antimeridian: no simple box
        return None
    if e - w >= 300.0 or n - s >= 160.0:
        return None
    return (float(w), float(s), float(e), float(n))


def _auto_region(
    frames: Mapping[str, gpd.GeoDataFrame], pts: np.ndarray, centre: tuple[float, float]
) -> tuple[tuple[float, float, float, float] | None, str]:
    w, s, e, n = VIETNAM_BOUNDS
    if w <= centre[0] <= e and s <= centre[1] <= n:
        return VIETNAM_BOUNDS, "vietnam"
    areas = [_limited_area_of_use(g.crs) for g in frames.values() if g is not None and g.crs is not None]
    limited = [a for a in areas if a is not None]
    boundaries = frames.get("boundaries")
    if limited:
        bw, bs = min(a[0] for a in limited), min(a[1] for a in limited)
        be, bn = max(a[2] for a in limited), max(a[3] for a in limited)
        source = "crs_area_of_use"
        grow = 0.1
    elif boundaries is not None and boundaries.crs is not None and len(boundaries):
        bw, bs, be, bn = boundaries.to_crs(DISPLAY_CRS).total_bounds
        source = "boundaries"
        grow = 0.1
    elif len(pts):
        bw, bs = np.percentile(pts, 2, axis=0)
        be, bn = np.percentile(pts, 98, axis=0)
        source = "data"
        grow = 0.5
    else:
        return None, "none"
    margin_lat = max((bn - bs) * grow, MIN_MARGIN_KM / _KM_PER_DEGREE)
    cos_lat = max(np.cos(np.radians(centre[1])), 0.05)
    margin_lon = max((be - bw) * grow, MIN_MARGIN_KM / (_KM_PER_DEGREE * cos_lat))
    return (
        (
            float(max(bw - margin_lon, -180.0)),
            float(max(bs - margin_lat, -90.0)),
            float(min(be + margin_lon, 180.0)),
            float(min(bn + margin_lat, 90.0)),
        ),
        source,
    )
