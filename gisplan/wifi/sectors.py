"""Sector antennas: which sector sees a client, wedge footprints, azimuths chosen to serve the demand.

Azimuths are compass bearings in degrees, clockwise from grid north (the metric CRS's +y axis).  A profile with
``n_sectors`` sectors of ``beamwidth_deg`` each points them ``360 / n_sectors`` degrees apart.  A client within
half a beamwidth of a sector's azimuth is in its main lobe and gets the antenna's full gain; any other client is
served, if at all, by the nearest sector's back (and side) lobes, ``front_to_back_db`` weaker (a simplification on
the cautious side for side lobes, which are usually stronger than the back lobe).

Azimuths (deterministic):

* one panel: pointed at the weighted centre of mass of the demand within the main lobe's reach;
* two or more sectors: the rotation, in steps of :data:`ROTATION_STEP_DEG` from 0, that serves the most demand
  weight when each sector shares its own airtime (clients sorted by the airtime they need, least first); the
  smallest such rotation on a tie.

Examples
--------
>>> azimuths(3, 10.0)
(10.0, 130.0, 250.0)
>>> float(bearing_deg(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))[0])
90.0
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

__all__ = [
    "ROTATION_STEP_DEG",
    "azimuths",
    "bearing_deg",
    "best_rotation",
    "centre_azimuth",
    "nearest_sector",
    "sector_footprint",
    "served_by_rotation",
]

#: Step (degrees) of the rotations tried for a multi-sector site.
ROTATION_STEP_DEG = 10.0


def azimuths(n_sectors: int, rotation_deg: float) -> tuple[float, ...]:
    """The sectors' azimuths: ``rotation + k * 360 / n`` (mod 360)."""
    return tuple(float((rotation_deg + k * 360.0 / n_sectors) % 360.0) for k in range(n_sectors))


def bearing_deg(origin_xy: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Compass bearing (degrees, clockwise from +y) from ``origin_xy`` to each of ``xy`` (both (n, 2) or (2,))."""
    d = np.asarray(xy, dtype=float).reshape(-1, 2) - np.asarray(origin_xy, dtype=float).reshape(-1, 2)
    return np.asarray(np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0)


def _angle_off(a: np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """Smallest absolute angle (degrees) between bearings ``a`` and ``b``."""
    return np.asarray(np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0))


def nearest_sector(bearings: np.ndarray, azs: tuple[float, ...], beamwidth_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Per bearing: the index of the sector whose azimuth is nearest (the first on a tie) and whether the bearing
    lies in its main lobe (within half the beamwidth)."""
    b = np.asarray(bearings, dtype=float)
    off = np.stack([_angle_off(b, a) for a in azs], axis=1) if len(b) else np.zeros((0, len(azs)))
    k = np.argmin(off, axis=1) if len(b) else np.zeros(0, dtype=np.int64)
    main = off[np.arange(len(b)), k] <= beamwidth_deg / 2.0 + 1e-9
    return k.astype(np.int64), main


def served_by_rotation(
    bearings: np.ndarray,
    dist_m: np.ndarray,
    weight: np.ndarray,
    *,
    reach_main_m: np.ndarray,
    reach_back_m: np.ndarray,
    share_main: np.ndarray,
    share_back: np.ndarray,
    azs: tuple[float, ...],
    beamwidth_deg: float,
) -> tuple[float, np.ndarray]:
    """Demand weight the sectors at ``azs`` serve, and the served mask.

    A client is in reach of its nearest sector within ``reach_main_m`` (main lobe) or ``reach_back_m`` (outside
    it); it needs ``share_main`` or ``share_back`` of that sector's airtime.  Each sector takes its clients least
    airtime first (then in input order) while its airtime lasts.
    """
    k, main = nearest_sector(bearings, azs, beamwidth_deg)
    reach = np.where(main, reach_main_m, reach_back_m)
    share = np.where(main, share_main, share_back)
    ok = (np.asarray(dist_m) <= reach) & np.isfinite(share)
    served = np.zeros(len(k), dtype=bool)
    for s in range(len(azs)):
        idx = np.flatnonzero(ok & (k == s))
        idx = idx[np.argsort(share[idx], kind="stable")]
        fits = np.cumsum(share[idx]) <= 1.0 + 1e-12
        served[idx[fits]] = True
    return float(np.asarray(weight)[served].sum()), served


def best_rotation(
    n_sectors: int, beamwidth_deg: float, *, step_deg: float = ROTATION_STEP_DEG, **clients: np.ndarray
) -> float:
    """The rotation (0, step, 2 step, ... below ``360 / n_sectors``) whose sectors serve the most weight
    (:func:`served_by_rotation` with ``clients``); the smallest on a tie."""
    best, best_value = 0.0, -1.0
    for rotation in np.arange(0.0, 360.0 / n_sectors - 1e-9, step_deg):
        value, _ = served_by_rotation(azs=azimuths(n_sectors, float(rotation)), beamwidth_deg=beamwidth_deg, **clients)
        if value > best_value + 1e-9:
            best, best_value = float(rotation), value
    return best


def centre_azimuth(site_xy: np.ndarray, xy: np.ndarray, weight: np.ndarray) -> float:
    """Bearing (degrees, one decimal) from the site to the weighted centre of mass of ``xy`` (plain centre when
    the weights sum to 0; 0 without points or with the centre on the site)."""
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return 0.0
    w = np.asarray(weight, dtype=float)
    w = w if w.sum() > 0 else np.ones(len(pts))
    centre = (pts * w[:, None]).sum(axis=0) / w.sum()
    if np.hypot(*(centre - np.asarray(site_xy, dtype=float).ravel())) < 1e-6:
        return 0.0
    return round(float(bearing_deg(site_xy, centre)[0]), 1) % 360.0


def _wedge(x: float, y: float, azimuth: float, beamwidth: float, reach: float) -> Polygon:
    n = max(int(np.ceil(beamwidth / 3.0)), 2)  # an arc point every 3 degrees at most
    angles = np.radians(np.linspace(azimuth - beamwidth / 2.0, azimuth + beamwidth / 2.0, n + 1))
    arc = np.c_[x + reach * np.sin(angles), y + reach * np.cos(angles)]
    return Polygon([(x, y), *map(tuple, arc)])


def sector_footprint(
    point: Point, azs: tuple[float, ...], beamwidth_deg: float, reach_m: float, back_reach_m: float
) -> shapely.Geometry:
    """The union of the sectors' wedges (``reach_m`` along each azimuth, ``beamwidth_deg`` wide) and of the back
    lobes' disc of ``back_reach_m``; a disc of ``reach_m`` for an omni antenna (no azimuth)."""
    if not azs or beamwidth_deg >= 360.0:
        return point.buffer(reach_m, quad_segs=16)
    parts = [_wedge(point.x, point.y, a, beamwidth_deg, reach_m) for a in azs if reach_m > 0]
    if back_reach_m > 0:
        parts.append(point.buffer(back_reach_m, quad_segs=16))
    if not parts:
        return Polygon()
    return shapely.union_all(parts)
