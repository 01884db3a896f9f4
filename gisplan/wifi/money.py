"""Money of the wifi plan: capital cost apart from yearly operating cost, and life-cycle cost with a discount rate.

Vietnamese public finance keeps investment capital (vốn đầu tư) apart from recurrent spending (chi thường xuyên):
the BOQ holds the capital items only; fees, power, maintenance and rent are yearly lines.  Capital is spent in the
first year (``start_year``); operating costs fall in each year of the horizon ``start_year .. start_year + H - 1``
and are discounted to the first year: year ``k`` (0-based) by ``(1 + rate) ** -(k + 1)`` (end-of-year payments).

Satellite service runs only within its licensed period (Vietnam's LEO pilot, QĐ 659/QĐ-TTg, ends before 2031: the
catalog's ``satellite_licence_end_year``); after it a site on satellite pays the catalog's ``VSAT.FEE`` (a GEO VSAT
service of a licensed Vietnamese operator) instead of ``SAT.FEE``.  Within the licence the flat fee of a LEO
terminal carries the catalog's ``satellite_included_mbps`` (its throughput: a flat-rate plan) and the load above
pays ``SAT.MBPS``; after it GEO capacity is bought per Mbit/s, ``VSAT.MBPS`` on the whole load
(:data:`CAPACITY_CODES`).

Yearly lines of the plan (:func:`gisplan.wifi.backhaul.backhaul_fees` and :mod:`gisplan.wifi._select`): satellite or
VSAT fees and capacity, IP transit per Mbit/s handed to the Internet over terrestrial transmission
(``TRANSIT.MBPS``; satellite traffic pays none, the operator's fee includes it), rent of equipment on a tower or pole
the plan does not own (``RENT.TOWER``, ``RENT.POLE``), grid power (``POWER.GRID``) and maintenance (a share of the
capital).  None of them is in the BOQ.

Examples
--------
>>> years = horizon_years(2027, 3)
>>> years
[2027, 2028, 2029]
>>> [round(float(f), 4) for f in discount_factors(3, 0.10)]
[0.9091, 0.8264, 0.7513]
>>> satellite_fee_codes(years, licence_end_year=2028)
['SAT.FEE', 'SAT.FEE', 'VSAT.FEE']
"""

from __future__ import annotations

import numpy as np

__all__ = ["CAPACITY_CODES", "discount_factors", "horizon_years", "present_value", "satellite_fee_codes"]

#: The per-Mbit/s capacity item of each satellite fee item (the load above what the subscription includes).
CAPACITY_CODES: dict[str, str] = {"SAT.FEE": "SAT.MBPS", "VSAT.FEE": "VSAT.MBPS"}


def horizon_years(start_year: int, years: int) -> list[int]:
    """The calendar years of the horizon."""
    return [start_year + k for k in range(int(years))]


def discount_factors(years: int, rate: float) -> np.ndarray:
    """End-of-year discount factors of years 0 .. ``years`` - 1 to the start of year 0."""
    return np.power(1.0 + float(rate), -(np.arange(int(years)) + 1.0))


def present_value(yearly: np.ndarray, rate: float) -> float:
    """Present value of a stream of yearly amounts (year 0 first)."""
    yearly = np.asarray(yearly, dtype=float)
    return float((yearly * discount_factors(len(yearly), rate)).sum())


def satellite_fee_codes(years: list[int], *, licence_end_year: int) -> list[str]:
    """The fee item of a satellite site in each year: ``SAT.FEE`` within the licence, ``VSAT.FEE`` after it."""
    return ["SAT.FEE" if y <= licence_end_year else "VSAT.FEE" for y in years]
