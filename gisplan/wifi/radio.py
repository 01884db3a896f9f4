"""Radio: path loss models, the link budget of a wifi access point, point-to-point checks.

Every path loss model is vectorised over the distance and warns with a
:class:`RadioValidityWarning` when called outside the range it was fitted on.
Distances are in metres, frequencies in MHz, losses in dB.

Sources
-------
* Free space: Recommendation ITU-R P.525, L = 32.44 + 20 log10(d_km) + 20 log10(f_MHz).
* Site-general model below rooftop: Recommendation ITU-R P.1411 (§4.1.1, site-general
  coefficients), L = 10 a log10(d_m) + b + 10 g log10(f_GHz).
* Okumura-Hata: M. Hata, "Empirical formula for propagation loss in land mobile
  radio services", IEEE Trans. Vehicular Technology VT-29(3), 1980 (small and
  medium city mobile antenna correction).
* COST-231 Hata: COST Action 231 final report, "Digital mobile radio towards
  future generation systems", European Commission, 1999, §4.4.
* Fresnel zone and earth bulge: Recommendation ITU-R P.530 (k = 4/3 median refraction).

Examples
--------
>>> round(float(free_space_loss_db(1000.0, 2400.0)), 1)
100.0
>>> round(float(okumura_hata_loss_db(1000.0, 900.0, h_base_m=30.0, h_mobile_m=1.5)), 1)
126.4
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS, Transformer

from gisplan._errors import CatalogError, CRSError, PlanningError, Problem, did_you_mean
from gisplan.io.crs import METRIC_CRS

#: Speed of light (m/s).
SPEED_OF_LIGHT = 299_792_458.0
#: Mean earth radius (m).
EARTH_RADIUS_M = 6_371_000.0

#: ITU-R P.1411 site-general coefficients below rooftop: a, b, g, sigma, (f GHz range), (d m range).
P1411_COEFFICIENTS: dict[str, tuple[float, float, float, float, tuple[float, float], tuple[float, float]]] = {
    "los": (2.12, 29.2, 2.11, 5.06, (0.8, 73.0), (5.0, 660.0)),
    "nlos_residential": (3.01, 18.8, 2.07, 3.07, (0.8, 73.0), (30.0, 170.0)),
    "nlos_urban_high_rise": (4.00, 10.2, 2.36, 7.60, (0.8, 38.0), (30.0, 715.0)),
}


#: IEEE 802.11ax-2021 (HE SU PPDU, 20 MHz, one spatial stream, 0.8 us guard interval): minimum receiver sensitivity
#: (dBm) and PHY data rate (Mbit/s) of MCS 0-11 (the standard's Tables 27-49 to 27-51 and its minimum input
#: sensitivity table).  A receiver better or worse than the standard's MCS0 figure shifts the whole column.
HE_MCS_20MHZ_1SS: tuple[tuple[float, float], ...] = (
    (-82.0, 8.6),
    (-79.0, 17.2),
    (-77.0, 25.8),
    (-74.0, 34.4),
    (-70.0, 51.6),
    (-66.0, 68.8),
    (-65.0, 77.4),
    (-64.0, 86.0),
    (-59.0, 103.2),
    (-57.0, 114.7),
    (-54.0, 129.0),
    (-52.0, 143.4),
)


class RadioValidityWarning(UserWarning):
    """A propagation model was used outside the range it is valid for."""


ArrayLike = Any  # float or numpy array of floats


def _check_outside(model: str, quantity: str, values: ArrayLike, low: float, high: float) -> None:
    array = np.asarray(values, dtype=np.float64)
    if array.size and (array.min() < low or array.max() > high):
        warnings.warn(
            f"{model}: {quantity} {array.min():g}..{array.max():g} is outside the model's validity range "
            f"{low:g}..{high:g}; the loss is extrapolated",
            RadioValidityWarning,
            stacklevel=3,
        )


def _positive(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.size and not (np.all(np.isfinite(array)) and array.min() > 0):
        got = array.min() if array.size else array
        raise PlanningError(
            f"{name} must be positive and finite, got {got!r} / {name} phải là số dương hữu hạn, đang là {got!r}"
        )
    return array


def _result(values: np.ndarray) -> ArrayLike:
    return float(values) if values.ndim == 0 else values


def free_space_loss_db(d_m: ArrayLike, f_mhz: float) -> ArrayLike:
    """Free-space path loss (ITU-R P.525); warns closer than one wavelength (near field)."""
    d = _positive("distance d_m", d_m)
    f = float(_positive("frequency f_mhz", f_mhz))
    _check_outside("free space", "distance (m)", d, SPEED_OF_LIGHT / (f * 1e6), np.inf)
    return _result(32.44 + 20.0 * np.log10(d / 1000.0) + 20.0 * math.log10(f))


def log_distance_loss_db(
    d_m: ArrayLike, f_mhz: float, *, n: float, d0_m: float = 1.0, loss_d0_db: float | None = None
) -> ArrayLike:
    """Log-distance path loss L(d) = L(d0) + 10 n log10(d / d0).

    ``L(d0)`` defaults to the free-space loss at ``d0_m``.  Warns for ``d < d0``
    and for an exponent outside 1.6..6 (measured indoor corridors to heavy
    obstruction).
    """
    d = _positive("distance d_m", d_m)
    _positive("reference distance d0_m", d0_m)
    _check_outside("log-distance", "distance (m)", d, d0_m, np.inf)
    _check_outside("log-distance", "exponent n", n, 1.6, 6.0)
    l0 = free_space_loss_db(d0_m, f_mhz) if loss_d0_db is None else loss_d0_db
    return _result(l0 + 10.0 * n * np.log10(d / d0_m))


def p1411_site_general_loss_db(d_m: ArrayLike, f_mhz: float, *, environment: str = "los") -> ArrayLike:
    """ITU-R P.1411 site-general median loss below rooftop.

    Parameters
    ----------
    environment
        ``"los"`` (urban/suburban line of sight), ``"nlos_residential"`` or
        ``"nlos_urban_high_rise"``; see :data:`P1411_COEFFICIENTS`.
    """
    if environment not in P1411_COEFFICIENTS:
        raise PlanningError(
            f"unknown P.1411 environment {environment!r}; choose one of {sorted(P1411_COEFFICIENTS)} "
            f"/ môi trường P.1411 {environment!r} không xác định; hãy chọn một trong {sorted(P1411_COEFFICIENTS)}"
        )
    a, b, g, _, f_range, d_range = P1411_COEFFICIENTS[environment]
    d = _positive("distance d_m", d_m)
    f_ghz = float(_positive("frequency f_mhz", f_mhz)) / 1000.0
    name = f"ITU-R P.1411 site-general ({environment})"
    _check_outside(name, "frequency (GHz)", f_ghz, *f_range)
    _check_outside(name, "distance (m)", d, *d_range)
    return _result(10.0 * a * np.log10(d) + b + 10.0 * g * math.log10(f_ghz))


def _hata_common(model: str, d: np.ndarray, f: float, h_base_m: float, h_mobile_m: float) -> tuple[float, float]:
    _check_outside(model, "base antenna height (m)", h_base_m, 30.0, 200.0)
    _check_outside(model, "mobile antenna height (m)", h_mobile_m, 1.0, 10.0)
    _check_outside(model, "distance (km)", d / 1000.0, 1.0, 20.0)
    log_f = math.log10(f)
    a_hm = (1.1 * log_f - 0.7) * h_mobile_m - (1.56 * log_f - 0.8)
    return a_hm, 44.9 - 6.55 * math.log10(h_base_m)


def okumura_hata_loss_db(
    d_m: ArrayLike, f_mhz: float, *, h_base_m: float, h_mobile_m: float, environment: str = "urban"
) -> ArrayLike:
    """Okumura-Hata median loss (Hata 1980), small/medium city correction.

    Valid for 150-1500 MHz, base 30-200 m, mobile 1-10 m, 1-20 km.
    ``environment`` is ``"urban"``, ``"suburban"`` or ``"open"`` (rural open area).
    """
    d = _positive("distance d_m", d_m)
    f = float(_positive("frequency f_mhz", f_mhz))
    _positive("antenna heights", [h_base_m, h_mobile_m])
    _check_outside("Okumura-Hata", "frequency (MHz)", f, 150.0, 1500.0)
    a_hm, slope = _hata_common("Okumura-Hata", d, f, h_base_m, h_mobile_m)
    log_f = math.log10(f)
    loss = 69.55 + 26.16 * log_f - 13.82 * math.log10(h_base_m) - a_hm + slope * np.log10(d / 1000.0)
    if environment == "suburban":
        loss = loss - 2.0 * math.log10(f / 28.0) ** 2 - 5.4
    elif environment == "open":
        loss = loss - (4.78 * log_f**2 - 18.33 * log_f + 40.94)
    elif environment != "urban":
        raise PlanningError(
            f"unknown Hata environment {environment!r}; choose 'urban', 'suburban' or 'open' "
            f"/ môi trường Hata {environment!r} không xác định; hãy chọn 'urban', 'suburban' hoặc 'open'"
        )
    return _result(loss)


def cost231_hata_loss_db(
    d_m: ArrayLike, f_mhz: float, *, h_base_m: float, h_mobile_m: float, environment: str = "suburban"
) -> ArrayLike:
    """COST-231 Hata median loss: 1500-2000 MHz, base 30-200 m, mobile 1-10 m, 1-20 km.

    ``environment``: ``"suburban"`` or ``"urban"`` (medium city, C = 0 dB), ``"metropolitan"`` (C = 3 dB) or
    ``"open"``: the medium-city loss less Hata's (1980) open-area correction, 4.78 (log f)^2 - 18.33 log f + 40.94
    dB (32 dB at 1,842.5 MHz).  COST 231 gives no open-area term; carrying Hata's over to the 1,500-2,000 MHz
    extension is common rural planning practice and an assumption here (it is the model of a macro tower's
    line-of-sight reach over open ground or water, where P.1411's street-level models do not apply).
    """
    if environment not in ("suburban", "urban", "metropolitan", "open"):
        raise PlanningError(
            f"unknown COST-231 environment {environment!r}; choose 'suburban', 'urban', 'metropolitan', 'open' "
            f"/ môi trường COST-231 {environment!r} không xác định; hãy chọn 'suburban', 'urban', 'metropolitan', "
            "'open'"
        )
    d = _positive("distance d_m", d_m)
    f = float(_positive("frequency f_mhz", f_mhz))
    _positive("antenna heights", [h_base_m, h_mobile_m])
    _check_outside("COST-231 Hata", "frequency (MHz)", f, 1500.0, 2000.0)
    a_hm, slope = _hata_common("COST-231 Hata", d, f, h_base_m, h_mobile_m)
    c = 3.0 if environment == "metropolitan" else 0.0
    loss = 46.3 + 33.9 * math.log10(f) - 13.82 * math.log10(h_base_m) - a_hm + slope * np.log10(d / 1000.0) + c
    if environment == "open":
        log_f = math.log10(f)
        loss = loss - (4.78 * log_f**2 - 18.33 * log_f + 40.94)
    return _result(loss)


@dataclass(frozen=True)
class APProfile:
    """A wifi access point profile with its client, for the link budget.

    ``from_mapping`` reads the catalog's plain dicts, with exactly these keys
    (``*`` required; give ``tx_power_dbm`` or ``eirp_dbm``, not both):

    ``name``\\*, ``freq_mhz``\\*, ``tx_power_dbm``, ``eirp_dbm``, ``antenna_gain_dbi``\\*,
    ``cable_loss_db`` (0), ``client_eirp_dbm``\\* (uplink), ``client_gain_dbi`` (0),
    ``rx_sensitivity_dbm``\\* (AP side, for the target MCS),
    ``client_rx_sensitivity_dbm``\\* (client side), ``fade_margin_db`` (10),
    ``height_m``\\*, ``client_height_m`` (1.5), ``model`` ("p1411_los", see
    :data:`MODELS`), ``path_loss_exponent`` (3.0, for "log_distance"), ``price_vnd`` (0),
    ``building_entry_loss_db`` (0: loss into a building for indoor clients, ITU-R P.2109),
    ``mac_efficiency`` (0.6: share of the PHY rate left as throughput after 802.11 MAC overheads),
    ``n_sectors`` (1) and ``beamwidth_deg`` (360: omni; e.g. 3 x 120 for a three-sector site, 1 x 90 for a panel,
    ``n_sectors * beamwidth_deg`` at most 360), ``front_to_back_db`` (0: the loss of gain outside a sector's
    beamwidth; its back lobe reaches as far as the link budget less it allows),
    ``los_model`` ("p1411_los": the model where the path is found clear, see :mod:`gisplan.wifi.environment`),
    ``los_clutter_m`` (1.0: height of grass, crops and low shrubs over open ground that a line-of-sight access
    path must clear with 0.6 of its first Fresnel zone).
    """

    name: str
    freq_mhz: float
    antenna_gain_dbi: float
    client_eirp_dbm: float
    rx_sensitivity_dbm: float
    client_rx_sensitivity_dbm: float
    height_m: float
    tx_power_dbm: float | None = None
    eirp_dbm: float | None = None
    cable_loss_db: float = 0.0
    client_gain_dbi: float = 0.0
    fade_margin_db: float = 10.0
    client_height_m: float = 1.5
    model: str = "p1411_los"
    path_loss_exponent: float = 3.0
    price_vnd: int = 0
    building_entry_loss_db: float = 0.0
    mac_efficiency: float = 0.6
    n_sectors: int = 1
    beamwidth_deg: float = 360.0
    front_to_back_db: float = 0.0
    los_model: str = "p1411_los"
    los_clutter_m: float = 1.0

    @property
    def sectored(self) -> bool:
        """Whether the profile has directional antennas (a beamwidth below 360 degrees)."""
        return self.beamwidth_deg < 360.0

    def __post_init__(self) -> None:
        problems = _profile_problems(self)
        if problems:
            raise CatalogError(
                f"wifi AP profile {self.name!r} is invalid / cấu hình điểm phát wifi {self.name!r} không hợp lệ",
                problems,
            )

    @property
    def ap_eirp_dbm(self) -> float:
        """The AP's EIRP: given, or transmit power + antenna gain - cable loss."""
        if self.eirp_dbm is not None:
            return float(self.eirp_dbm)
        assert self.tx_power_dbm is not None  # checked in __post_init__
        return self.tx_power_dbm + self.antenna_gain_dbi - self.cable_loss_db

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> APProfile:
        """Build a profile from a plain dict (the catalog's form); unknown keys name the nearest valid key."""
        names = [f.name for f in fields(cls)]
        problems = []
        for key in data:
            if key not in names:
                hint = did_you_mean(key, names, n=1, listing="valid keys", listing_vi="các khóa hợp lệ")
                problems.append(Problem(f"unknown key {key!r} / khóa {key!r} không hợp lệ", column=str(key), hint=hint))
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        for key in required:
            if key not in data:
                problems.append(
                    Problem(
                        f"missing key {key!r} / thiếu khóa {key!r}",
                        column=key,
                        hint="add it to the profile / thêm khóa này vào cấu hình",
                    )
                )
        if problems:
            name = data.get("name", "?")
            raise CatalogError(
                f"wifi AP profile {name!r} is invalid / cấu hình điểm phát wifi {name!r} không hợp lệ", problems
            )
        return cls(**dict(data))


def _profile_problems(profile: APProfile) -> list[Problem]:
    problems = []
    if (profile.tx_power_dbm is None) == (profile.eirp_dbm is None):
        problems.append(
            Problem(
                "give exactly one of tx_power_dbm and eirp_dbm / cho đúng một trong hai: tx_power_dbm hoặc eirp_dbm",
                column="eirp_dbm",
            )
        )
    for key in ("freq_mhz", "height_m", "client_height_m", "path_loss_exponent"):
        value = getattr(profile, key)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            problems.append(Problem("must be a positive number / phải là số dương", column=key, value=value))
    problems += _model_problems(profile.model, "model")
    if profile.price_vnd < 0:
        problems.append(Problem("must not be negative / không được âm", column="price_vnd", value=profile.price_vnd))
    if not profile.building_entry_loss_db >= 0:
        problems.append(Problem("must not be negative / không được âm", column="building_entry_loss_db"))
    if not 0 < profile.mac_efficiency <= 1:
        problems.append(
            Problem(
                "must lie in (0, 1] / phải nằm trong khoảng (0, 1]",
                column="mac_efficiency",
                value=profile.mac_efficiency,
            )
        )
    n = profile.n_sectors
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        problems.append(
            Problem(
                "must be a whole number of sectors, 1 or more / số sector phải là số nguyên, từ 1 trở lên",
                column="n_sectors",
                value=n,
            )
        )
    bw = profile.beamwidth_deg
    if not (isinstance(bw, int | float) and 0 < bw <= 360):
        problems.append(
            Problem(
                "must lie in (0, 360] degrees / phải nằm trong khoảng (0, 360] độ", column="beamwidth_deg", value=bw
            )
        )
    elif isinstance(n, int) and n >= 1 and n * bw > 360 + 1e-9:
        problems.append(
            Problem(
                f"{n} sectors of {bw:g} degrees overlap (more than 360 degrees) "
                f"/ {n} sector rộng {bw:g} độ chồng lên nhau (tổng hơn 360 độ)",
                column="beamwidth_deg",
                value=bw,
                hint="give n_sectors * beamwidth_deg <= 360 (omni: n_sectors 1, beamwidth_deg 360) "
                "/ cần n_sectors * beamwidth_deg <= 360 (anten vô hướng: n_sectors 1, beamwidth_deg 360)",
            )
        )
    if not (isinstance(profile.front_to_back_db, int | float) and profile.front_to_back_db >= 0):
        problems.append(
            Problem("must not be negative / không được âm", column="front_to_back_db", value=profile.front_to_back_db)
        )
    problems += _model_problems(profile.los_model, "los_model")
    if not (isinstance(profile.los_clutter_m, int | float) and profile.los_clutter_m >= 0):
        problems.append(
            Problem("must not be negative / không được âm", column="los_clutter_m", value=profile.los_clutter_m)
        )
    return problems


def _model_problems(name: object, column: str) -> list[Problem]:
    """The problem of an unknown propagation model name in ``column`` (with the nearest known name), or none."""
    if isinstance(name, str) and name in MODELS:
        return []
    hint = did_you_mean(str(name), MODELS, n=1, listing="choose one of", listing_vi="chọn một trong")
    return [
        Problem("unknown propagation model / mô hình truyền sóng không xác định", column=column, value=name, hint=hint)
    ]


def _hata(env: str) -> Callable[[np.ndarray, APProfile], ArrayLike]:
    return lambda d, pr: okumura_hata_loss_db(
        d, pr.freq_mhz, h_base_m=pr.height_m, h_mobile_m=pr.client_height_m, environment=env
    )


def _cost231(env: str) -> Callable[[np.ndarray, APProfile], ArrayLike]:
    return lambda d, pr: cost231_hata_loss_db(
        d, pr.freq_mhz, h_base_m=pr.height_m, h_mobile_m=pr.client_height_m, environment=env
    )


#: Propagation models by name, as ``loss(d_m, profile)``.
MODELS: dict[str, Callable[[np.ndarray, APProfile], ArrayLike]] = {
    "free_space": lambda d, pr: free_space_loss_db(d, pr.freq_mhz),
    "log_distance": lambda d, pr: log_distance_loss_db(d, pr.freq_mhz, n=pr.path_loss_exponent),
    "p1411_los": lambda d, pr: p1411_site_general_loss_db(d, pr.freq_mhz, environment="los"),
    "p1411_nlos_residential": lambda d, pr: p1411_site_general_loss_db(d, pr.freq_mhz, environment="nlos_residential"),
    "p1411_nlos_urban_high_rise": lambda d, pr: p1411_site_general_loss_db(
        d, pr.freq_mhz, environment="nlos_urban_high_rise"
    ),
    "hata_urban": _hata("urban"),
    "hata_suburban": _hata("suburban"),
    "hata_open": _hata("open"),
    "cost231_suburban": _cost231("suburban"),
    "cost231_urban": _cost231("urban"),
    "cost231_metropolitan": _cost231("metropolitan"),
    "cost231_open": _cost231("open"),
}


@dataclass(frozen=True)
class LinkBudget:
    """A link budget solved both ways; :meth:`explain` says how the reach follows."""

    profile: str
    model: str
    eirp_dbm: float
    downlink_allowed_loss_db: float
    uplink_allowed_loss_db: float
    allowed_loss_db: float
    limiting: str
    reach_m: float

    def explain(self) -> str:
        """A one-paragraph explanation of the figures."""
        return (
            f"{self.profile}: AP EIRP {self.eirp_dbm:.1f} dBm. Downlink allows {self.downlink_allowed_loss_db:.1f} dB "
            f"of path loss, uplink {self.uplink_allowed_loss_db:.1f} dB; the {self.limiting} limits the link to "
            f"{self.allowed_loss_db:.1f} dB, which the {self.model} model reaches at {self.reach_m:,.0f} m."
        )


def link_budget(profile: APProfile, *, model: str | None = None, extra_loss_db: float = 0.0) -> LinkBudget:
    """Solve the link budget of ``profile`` (downlink and uplink) for its reach.

    Allowed loss = EIRP + receive antenna gain - receiver sensitivity - fade
    margin, each way; the smaller wins.  The reach is where the model's loss
    equals it (bisection on log distance, 1 m to 1000 km; a reach outside the
    model's validity range warns).  ``model`` overrides ``profile.model``; ``extra_loss_db`` (e.g. the
    profile's building entry loss for a client indoors) is taken off both ways.
    """
    name = profile.model if model is None else model
    if name not in MODELS:
        raise PlanningError(
            f"unknown propagation model {name!r}; choose one of {', '.join(MODELS)} "
            f"/ mô hình truyền sóng {name!r} không xác định; hãy chọn một trong {', '.join(MODELS)}"
        )
    loss = MODELS[name]
    down = profile.ap_eirp_dbm + profile.client_gain_dbi - profile.client_rx_sensitivity_dbm - profile.fade_margin_db
    up = profile.client_eirp_dbm + profile.antenna_gain_dbi - profile.rx_sensitivity_dbm - profile.fade_margin_db
    down, up = down - extra_loss_db, up - extra_loss_db
    allowed = min(down, up)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RadioValidityWarning)
        low, high = 0.0, 6.0  # log10 of metres
        if float(loss(np.asarray(10.0**low), profile)) >= allowed:
            reach = 0.0
        elif float(loss(np.asarray(10.0**high), profile)) <= allowed:
            reach = 10.0**high
        else:
            for _ in range(60):
                mid = 0.5 * (low + high)
                low, high = (mid, high) if float(loss(np.asarray(10.0**mid), profile)) < allowed else (low, mid)
            reach = 10.0 ** (0.5 * (low + high))
    if reach > 0:
        loss(np.asarray(reach), profile)  # warns once if the reach lies outside the model's range
    return LinkBudget(
        profile=profile.name,
        model=name,
        eirp_dbm=profile.ap_eirp_dbm,
        downlink_allowed_loss_db=down,
        uplink_allowed_loss_db=up,
        allowed_loss_db=allowed,
        limiting="downlink" if down <= up else "uplink",
        reach_m=float(reach),
    )


def reach_m(profile: APProfile, *, model: str | None = None, extra_loss_db: float = 0.0) -> float:
    """The distance (m) at which ``profile``'s link budget runs out; see :func:`link_budget`."""
    return link_budget(profile, model=model, extra_loss_db=extra_loss_db).reach_m


def downlink_rate_mbps(
    profile: APProfile,
    d_m: ArrayLike,
    *,
    indoor: ArrayLike = False,
    los: ArrayLike = False,
    extra_loss_db: ArrayLike = 0.0,
) -> np.ndarray:
    """Throughput (Mbit/s) the AP can send a client at ``d_m`` metres: the fastest 802.11ax MCS whose sensitivity
    the received power clears after the fade margin (:data:`HE_MCS_20MHZ_1SS`, shifted by the client's MCS0
    sensitivity), times the profile's MAC efficiency; 0 beyond reach.  ``indoor`` clients lose the building entry
    loss; ``los`` paths (found clear) take the profile's ``los_model``; ``extra_loss_db`` (e.g. the front-to-back
    ratio behind a sector) is taken off.  The uplink limit is the reach of :func:`link_budget`; capacity is
    downlink-bound.

    Examples
    --------
    >>> p = APProfile(name="a", freq_mhz=2437, eirp_dbm=20, antenna_gain_dbi=8, client_eirp_dbm=18,
    ...               rx_sensitivity_dbm=-82, client_rx_sensitivity_dbm=-82, height_m=15, model="free_space")
    >>> [round(float(r), 1) for r in downlink_rate_mbps(p, [10.0, 1000.0])]
    [86.0, 0.0]
    """
    d = np.maximum(np.asarray(d_m, dtype=float), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RadioValidityWarning)
        loss = np.asarray(MODELS[profile.model](d, profile), dtype=float)
        clear = np.broadcast_to(np.asarray(los, dtype=bool), loss.shape)
        if clear.any():
            loss = np.where(clear, np.asarray(MODELS[profile.los_model](d, profile), dtype=float), loss)
    bel = np.where(np.asarray(indoor, dtype=bool), profile.building_entry_loss_db, 0.0)
    usable = profile.ap_eirp_dbm + profile.client_gain_dbi - loss - bel - profile.fade_margin_db
    usable = usable - np.asarray(extra_loss_db, dtype=float)
    shift = profile.client_rx_sensitivity_dbm - HE_MCS_20MHZ_1SS[0][0]
    sens = np.array([s for s, _ in HE_MCS_20MHZ_1SS]) + shift
    rates = np.array([r for _, r in HE_MCS_20MHZ_1SS])
    level = np.searchsorted(sens, usable, side="right")  # number of MCS whose sensitivity is cleared (ascending)
    phy = np.where(level > 0, rates[np.maximum(level - 1, 0)], 0.0)
    return np.asarray(phy * profile.mac_efficiency * (usable >= sens[0]), dtype=float)


@dataclass(frozen=True)
class PointToPoint:
    """The result of :func:`point_to_point`.

    Attributes
    ----------
    distance_m
        Horizontal distance between the two ends.
    free_space_loss_db
        Free-space loss over that distance.
    fresnel_radius_m
        First Fresnel zone radius at the midpoint.
    min_clearance_m, min_clearance_ratio
        Smallest clearance of the straight ray above the ground plus earth bulge,
        in metres and as a fraction of the local first Fresnel radius (0.6 or
        more is the usual planning rule), and where it occurs (``worst_at_m``
        from ``a``).  Without an elevation raster the ground is taken as flat
        at 0 m (sea level, as over water).
    line_of_sight
        Whether the ray clears the terrain; ``None`` without an elevation raster.
    """

    distance_m: float
    free_space_loss_db: float
    fresnel_radius_m: float
    min_clearance_m: float
    min_clearance_ratio: float
    worst_at_m: float
    line_of_sight: bool | None

    @property
    def fresnel_clear(self) -> bool:
        """True when at least 60% of the first Fresnel zone is clear everywhere."""
        return self.min_clearance_ratio >= 0.6


@contextmanager
def open_elevation(elevation: Any) -> Iterator[Any]:
    """The elevation raster as an open rasterio dataset: ``elevation`` itself when already open, else opened here.

    Open it once around many line-of-sight checks (each :func:`point_to_point` given a path opens the file).

    Raises
    ------
    PlanningError
        When the file does not exist or is not a raster GDAL can read.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.io import DatasetReader

    if isinstance(elevation, DatasetReader):
        yield elevation
        return
    path = Path(elevation)
    if not path.exists():
        raise PlanningError(
            f"elevation raster {path} does not exist; give the path of a GeoTIFF of heights in metres "
            f"/ không tìm thấy tệp độ cao {path}"
        )
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as exc:
        raise PlanningError(
            f"elevation raster {path} cannot be read ({exc}); give a GeoTIFF of heights in metres "
            f"/ không đọc được tệp độ cao {path}"
        ) from exc
    with dataset:
        yield dataset


def _terrain(dataset: Any, x: np.ndarray, y: np.ndarray, crs: str | CRS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground heights at ``x, y`` (in ``crs``), interpolated bilinearly between pixel centres.

    Bilinear rather than nearest-pixel: with nearest-pixel samples a client on a uniform 10 % slope facing the AP
    was "blocked" by the next 30 m pixel, 3 m higher than its own.  Returns ``(heights, inside, valid)``: samples
    off the raster or on nodata (all four neighbours masked) are NaN and not valid; nothing is raised here.
    """
    where = getattr(dataset, "name", "the elevation raster")
    if dataset.crs is None:
        raise CRSError(
            f"elevation raster {where} has no CRS, so its pixels cannot be placed under the link; "
            f"assign one (e.g. gdal_edit.py -a_srs EPSG:4326 {where}) / lớp raster độ cao {where} không có hệ tọa "
            "độ nên không đặt được các điểm ảnh dưới tuyến liên kết; hãy gán hệ tọa độ (ví dụ gdal_edit.py -a_srs "
            f"EPSG:4326 {where})"
        )
    points_crs, raster_crs = CRS.from_user_input(crs), CRS.from_user_input(dataset.crs.to_wkt())
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if points_crs != raster_crs:
        x, y = Transformer.from_crs(points_crs, raster_crs, always_xy=True).transform(x, y)
        x, y = np.asarray(x), np.asarray(y)
    inv = ~dataset.transform  # world -> pixel, applied by hand (affine's `*` on arrays is deprecated)
    col, row = inv.a * x + inv.b * y + inv.c, inv.d * x + inv.e * y + inv.f
    height, width = dataset.height, dataset.width
    inside = (row >= 0) & (col >= 0) & (row < height) & (col < width)
    values = np.full(x.shape, np.nan)
    valid = np.zeros(x.shape, dtype=bool)
    if not inside.any():
        return values, inside, valid
    fc, fr = col[inside] - 0.5, row[inside] - 0.5  # pixel centres at +0.5
    c_floor, r_floor = np.floor(fc), np.floor(fr)
    wc, wr = fc - c_floor, fr - r_floor
    c0 = np.clip(c_floor, 0, width - 1).astype(np.int64)
    c1 = np.clip(c_floor + 1, 0, width - 1).astype(np.int64)
    r0 = np.clip(r_floor, 0, height - 1).astype(np.int64)
    r1 = np.clip(r_floor + 1, 0, height - 1).astype(np.int64)
    from rasterio.windows import Window

    rmin, cmin = int(r0.min()), int(c0.min())
    window = Window(cmin, rmin, int(c1.max()) - cmin + 1, int(r1.max()) - rmin + 1)
    band = dataset.read(1, window=window, masked=True)
    data = np.asarray(band.filled(0), dtype=np.float64)
    mask = np.ma.getmaskarray(band)
    total = np.zeros(fc.shape)
    weight = np.zeros(fc.shape)
    for rr, cc, w in (
        (r0, c0, (1 - wr) * (1 - wc)),
        (r0, c1, (1 - wr) * wc),
        (r1, c0, wr * (1 - wc)),
        (r1, c1, wr * wc),
    ):
        ok = ~mask[rr - rmin, cc - cmin]
        total += np.where(ok, w * data[rr - rmin, cc - cmin], 0.0)
        weight += np.where(ok, w, 0.0)
    good = weight > 0
    inner = np.full(fc.shape, np.nan)
    inner[good] = total[good] / weight[good]
    values[inside] = inner
    valid[inside] = good
    return values, inside, valid


def _sample_elevation(elevation: Any, x: np.ndarray, y: np.ndarray, crs: str | CRS) -> np.ndarray:
    with open_elevation(elevation) as dataset:
        values, inside, valid = _terrain(dataset, x, y, crs)
        where = getattr(dataset, "name", "the elevation raster")
        if not inside.all():
            raise PlanningError(
                f"the link runs outside elevation raster {where} (raster CRS "
                f"{CRS.from_user_input(dataset.crs.to_wkt()).to_string()}, link given in "
                f"{CRS.from_user_input(crs).to_string()}); use a raster that covers both ends, or pass the points' "
                "CRS as crs= / tuyến liên kết đi ra ngoài lớp raster độ cao "
                f"{where} (hệ tọa độ raster {CRS.from_user_input(dataset.crs.to_wkt()).to_string()}, tuyến cho theo "
                f"{CRS.from_user_input(crs).to_string()}); hãy dùng raster phủ cả hai đầu tuyến, hoặc truyền hệ tọa độ "
                "của các điểm qua crs="
            )
    if not valid.all():
        missing = int((~valid).sum())
        raise PlanningError(
            f"{missing} of {valid.size} elevation samples along the link are nodata in {where}; "
            "fill the gaps (e.g. gdal_fillnodata.py, or 0 m over the sea) before checking line of sight "
            f"/ {missing} trong {valid.size} mẫu độ cao dọc tuyến liên kết không có dữ liệu (nodata) trong {where}; "
            "hãy lấp các chỗ trống (ví dụ gdal_fillnodata.py, hoặc 0 m trên biển) trước khi kiểm tra tầm nhìn thẳng"
        )
    return values


@dataclass(frozen=True)
class LineOfSight:
    """The result of :func:`line_of_sight`, one value per link.

    Attributes
    ----------
    clear
        The straight ray between the antennas clears the ground (with the earth bulge, the clutter and the share
        of the first Fresnel zone asked for) everywhere.
    checked
        False where the path leaves the raster or crosses nodata: nothing is known there and ``clear`` is False.
    clearance_m
        The least margin (m) along the path between the ray and ground + bulge + clutter + Fresnel share; NaN
        where not checked, ``inf`` for links of zero length.
    """

    clear: np.ndarray
    checked: np.ndarray
    clearance_m: np.ndarray | None = None


def line_of_sight(
    a_xy: ArrayLike,
    b_xy: ArrayLike,
    *,
    h_a_m: ArrayLike,
    h_b_m: ArrayLike,
    elevation: Any,
    k_factor: float = 4.0 / 3.0,
    crs: str | CRS = METRIC_CRS,
    max_samples: int = 2_000_000,
    f_mhz: float | None = None,
    fresnel_share: float = 0.6,
    clutter_m: float = 0.0,
) -> LineOfSight:
    """Line of sight of many links at once, the raster opened and read once (``point_to_point``'s rule).

    The ground is sampled as in :func:`point_to_point` (one sample every 5 m, 64 to 20,000 per link) and a link
    is clear when the ray from ``h_a_m`` above the ground at ``a`` to ``h_b_m`` above the ground at ``b`` stays
    above the ground plus the earth bulge at every inner sample.  Links of zero length are clear.

    Parameters
    ----------
    a_xy, b_xy
        Arrays of shape (n, 2) of the two ends in ``crs``.
    h_a_m, h_b_m
        Antenna heights above ground (scalars or one per link).
    elevation
        Elevation raster: a path or an open rasterio dataset (see :func:`open_elevation`).
    max_samples
        Ground samples held in memory at once (links are processed in chunks).
    f_mhz, fresnel_share
        With a frequency the ray must also clear ``fresnel_share`` of the first Fresnel zone, radius
        ``sqrt(lambda d1 d2 / d)`` (ITU-R P.530: 0.6 of the first zone for k = 4/3).
    clutter_m
        Height of trees and buildings over the ground along the path (not at the ends, where the antennas are).

    Returns
    -------
    LineOfSight
        ``clear`` and ``checked`` per link; off-raster or nodata paths are reported, not raised.
    """
    _positive("k_factor", k_factor)
    a = np.asarray(a_xy, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b_xy, dtype=np.float64).reshape(-1, 2)
    if a.shape != b.shape:
        raise PlanningError(
            f"a_xy and b_xy must have the same number of points, got {len(a)} and {len(b)} "
            f"/ a_xy và b_xy phải có cùng số điểm, đang là {len(a)} và {len(b)}"
        )
    n = len(a)
    h_a = np.broadcast_to(np.asarray(h_a_m, dtype=np.float64), (n,))
    h_b = np.broadcast_to(np.asarray(h_b_m, dtype=np.float64), (n,))
    if n and (np.nanmin(h_a) < 0 or np.nanmin(h_b) < 0 or not (np.isfinite(h_a).all() and np.isfinite(h_b).all())):
        raise PlanningError("antenna heights must be finite and not negative / độ cao anten phải hữu hạn và không âm")
    if elevation is None:
        raise PlanningError("line_of_sight needs an elevation raster / Cần dữ liệu độ cao để kiểm tra tầm nhìn thẳng")
    # one pair of heights per link: hop_clearances' profile, read once (the rule lives there)
    checked, clearance = hop_clearances(
        a,
        b,
        heights_a_m=h_a[:, None],
        heights_b_m=h_b[:, None],
        elevation=elevation,
        k_factor=k_factor,
        crs=crs,
        max_samples=max_samples,
        f_mhz=f_mhz,
        fresnel_share=fresnel_share,
        clutter_m=clutter_m,
    )
    margin = clearance[:, 0, 0]
    with np.errstate(invalid="ignore"):
        clear = checked & (margin > 0)
    return LineOfSight(clear=clear, checked=checked, clearance_m=margin)


def hop_clearances(
    a_xy: ArrayLike,
    b_xy: ArrayLike,
    *,
    heights_a_m: ArrayLike,
    heights_b_m: ArrayLike,
    elevation: Any = None,
    k_factor: float = 4.0 / 3.0,
    crs: str | CRS = METRIC_CRS,
    max_samples: int = 250_000,
    f_mhz: float | None = None,
    fresnel_share: float = 0.6,
    clutter_m: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Clearance of many hops for every pair of candidate antenna heights, the ground profile read once per hop.

    The rule is :func:`line_of_sight`'s (ground + earth bulge + clutter + ``fresnel_share`` of the first Fresnel
    zone under the ray at every inner sample); the ray's height is linear in the two antenna heights, so one
    profile gives the clearance of every pair.  Without ``elevation`` the ground is taken flat at the ends' level
    (0 m): the least any terrain needs (bulge, clutter and Fresnel zone), and ``checked`` is False.

    Parameters
    ----------
    a_xy, b_xy
        Arrays of shape (n, 2) of the two ends in ``crs``.
    heights_a_m, heights_b_m
        Arrays of shape (n, ka) and (n, kb): candidate antenna heights above the ground at each end (NaN pads a
        shorter list; its clearances are NaN).

    Returns
    -------
    (checked, clearance)
        ``checked`` (n,): the path lies on the raster without nodata; ``clearance`` (n, ka, kb): least margin (m)
        along the path for each pair of heights (NaN where not checked against a raster, except without one;
        ``inf`` for hops of zero length).
    """
    _positive("k_factor", k_factor)
    a = np.asarray(a_xy, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b_xy, dtype=np.float64).reshape(-1, 2)
    n = len(a)
    ha = np.asarray(heights_a_m, dtype=np.float64).reshape(n, -1)
    hb = np.asarray(heights_b_m, dtype=np.float64).reshape(n, -1)
    if a.shape != b.shape:
        raise PlanningError(
            f"a_xy and b_xy must have the same number of points, got {len(a)} and {len(b)} "
            f"/ a_xy và b_xy phải có cùng số điểm, đang là {len(a)} và {len(b)}"
        )
    if (np.nan_to_num(ha) < 0).any() or (np.nan_to_num(hb) < 0).any():
        raise PlanningError("antenna heights must not be negative / độ cao anten không được âm")
    ka, kb = ha.shape[1], hb.shape[1]
    out = np.full((n, ka, kb), np.inf)
    checked = np.full(n, elevation is not None)
    dist = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])
    links = np.flatnonzero(dist > 0)
    if links.size == 0:
        return checked, out
    wavelength = SPEED_OF_LIGHT / (f_mhz * 1e6) if f_mhz is not None else 0.0
    counts = np.clip(np.ceil(dist[links] / 5.0), 64, 20_000).astype(np.int64)
    ends = np.cumsum(counts)
    with open_elevation(elevation) if elevation is not None else _no_raster() as dataset:
        lo = 0
        while lo < links.size:
            base = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + max_samples, side="right")))
            sel, cnt = links[lo:hi], counts[lo:hi]
            starts = np.r_[0, np.cumsum(cnt)[:-1]]
            pair = np.repeat(np.arange(sel.size), cnt)
            k = np.arange(int(cnt.sum())) - np.repeat(starts, cnt)
            t = k / np.repeat(cnt - 1, cnt)
            ax, ay, bx, by = a[sel, 0][pair], a[sel, 1][pair], b[sel, 0][pair], b[sel, 1][pair]
            if dataset is None:
                ground, valid = np.zeros(t.shape), np.ones(t.shape, dtype=bool)
            else:
                ground, _, valid = _terrain(dataset, ax + (bx - ax) * t, ay + (by - ay) * t, crs)
            d = dist[sel][pair]
            d1 = d * t
            bulge = d1 * (d - d1) / (2.0 * k_factor * EARTH_RADIUS_M)
            g0, g1 = ground[starts][pair], ground[starts + cnt - 1][pair]
            fresnel = fresnel_share * np.sqrt(wavelength * d1 * (d - d1) / d)
            inner = (k != 0) & (k != np.repeat(cnt - 1, cnt))
            floor = np.where(inner, g0 + (g1 - g0) * t - (ground + bulge + clutter_m + fresnel), np.inf)
            ok = np.logical_and.reduceat(valid, starts)
            for i in range(ka):
                for j in range(kb):
                    ray = ha[sel, i][pair] * (1.0 - t) + hb[sel, j][pair] * t
                    with np.errstate(invalid="ignore"):
                        least = np.minimum.reduceat(np.where(inner, floor + ray, np.inf), starts)
                    least = np.where(np.isfinite(ha[sel, i]) & np.isfinite(hb[sel, j]), least, np.nan)
                    out[sel, i, j] = np.where(ok, least, np.nan)
            if dataset is not None:
                checked[sel] = ok
            lo = hi
    return checked, out


@contextmanager
def _no_raster() -> Iterator[None]:
    yield None


def radio_horizon_m(h_a_m: ArrayLike, h_b_m: ArrayLike, *, k_factor: float = 4.0 / 3.0) -> np.ndarray:
    """Longest line-of-sight path (m) over a smooth earth between antennas ``h_a_m`` and ``h_b_m`` high:
    ``sqrt(2 k R h_a) + sqrt(2 k R h_b)`` (4.12 (sqrt h_a + sqrt h_b) km for k = 4/3).

    Examples
    --------
    >>> round(float(radio_horizon_m(15.0, 15.0)) / 1000, 1)
    31.9
    """
    two_kr = 2.0 * k_factor * EARTH_RADIUS_M
    return np.sqrt(two_kr * np.asarray(h_a_m, dtype=float)) + np.sqrt(two_kr * np.asarray(h_b_m, dtype=float))


def point_to_point(
    a_xy: tuple[float, float],
    b_xy: tuple[float, float],
    *,
    f_mhz: float,
    h_a_m: float,
    h_b_m: float,
    elevation: Any = None,
    k_factor: float = 4.0 / 3.0,
    samples: int | None = None,
    crs: str | CRS = METRIC_CRS,
) -> PointToPoint:
    """Check a point-to-point radio link: distance, loss, Fresnel clearance, line of sight.

    Parameters
    ----------
    a_xy, b_xy
        The two ends in the metric CRS ``crs`` (default EPSG:32648).
    f_mhz
        Frequency.
    h_a_m, h_b_m
        Antenna heights above ground at each end.
    elevation
        Optional elevation raster (path to a GeoTIFF or an open rasterio
        dataset), metres above sea level, in any CRS: the sample points are
        reprojected to it.
    k_factor
        Effective earth radius factor (4/3 for standard refraction).
    samples
        Points sampled along the path; default one every 5 m (64 to 20,000).
    crs
        CRS of ``a_xy`` and ``b_xy``.

    Raises
    ------
    CRSError
        When the raster has no CRS.
    PlanningError
        When the link leaves the raster or crosses nodata, or on non-positive inputs.
    """
    _positive("frequency f_mhz", f_mhz)
    _positive("k_factor", k_factor)
    if min(h_a_m, h_b_m) < 0:
        raise PlanningError(
            f"antenna heights must not be negative, got {h_a_m} and {h_b_m} "
            f"/ độ cao anten không được âm, đang là {h_a_m} và {h_b_m}"
        )
    ax, ay = map(float, a_xy)
    bx, by = map(float, b_xy)
    distance = math.hypot(bx - ax, by - ay)
    if distance <= 0:
        raise PlanningError(
            f"the two ends of the link are at the same place ({ax}, {ay}) "
            f"/ hai đầu tuyến liên kết trùng một vị trí ({ax}, {ay})"
        )
    n = int(np.clip(math.ceil(distance / 5.0), 64, 20_000)) if samples is None else int(samples)
    if n < 3:
        raise PlanningError(f"samples must be at least 3, got {samples} / samples phải ít nhất là 3, đang là {samples}")
    t = np.linspace(0.0, 1.0, n)
    xs, ys = ax + (bx - ax) * t, ay + (by - ay) * t
    ground = np.zeros(n) if elevation is None else _sample_elevation(elevation, xs, ys, crs)
    d1 = distance * t
    d2 = distance - d1
    wavelength = SPEED_OF_LIGHT / (f_mhz * 1e6)
    bulge = d1 * d2 / (2.0 * k_factor * EARTH_RADIUS_M)
    ray = ground[0] + h_a_m + (ground[-1] + h_b_m - ground[0] - h_a_m) * t
    clearance = (ray - ground - bulge)[1:-1]
    fresnel = np.sqrt(wavelength * d1 * d2 / distance)[1:-1]
    ratio = clearance / fresnel
    worst = int(np.argmin(ratio))
    return PointToPoint(
        distance_m=distance,
        free_space_loss_db=float(free_space_loss_db(distance, f_mhz)),
        fresnel_radius_m=0.5 * math.sqrt(wavelength * distance),
        min_clearance_m=float(clearance.min()),
        min_clearance_ratio=float(ratio[worst]),
        worst_at_m=float(d1[1:-1][worst]),
        line_of_sight=None if elevation is None else bool(clearance.min() > 0),
    )
