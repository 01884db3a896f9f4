"""Ducts per operator and duct-bank cross-sections (private; see :mod:`gisplan.underground.planner`).

- Each operator's cables go in its own ducts (``share_ducts=False``, the default: operators do not share a
  duct); with ``share_ducts=True`` all cables of a trench are packed together.
- A duct takes cables while their cross-sections stay within the fill limit for their number (one cable 53 %,
  two 31 %, three or more 40 % of the duct's inner cross-section; :class:`UndergroundSettings`).  Cables are packed
  first-fit, largest first (deterministic; an upper bound on the fewest ducts, equal to it in the usual cases
  of few cable sizes).  A cable larger than one duct's single-cable limit gets a duct of its own and is reported.
- The trench holds the ducts of every operator plus the catalog's ``spare_ducts`` (the province's reserve).
- The bank is laid out as in TCVN 8700:2011 (:func:`cross_section`): width by the number of ducts, depth =
  cover (0.5 m under sidewalks, 0.7 m under carriageways) + the duct layers + bedding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gisplan.underground.settings import UndergroundSettings


def ducts_for_cables(ods_mm: Sequence[float], st: UndergroundSettings) -> tuple[int, int]:
    """Ducts needed for cables of outer diameters ``ods_mm`` and how many cables exceed a whole duct.

    First-fit decreasing by cross-section; a duct with ``k`` cables may fill ``fill_one``, ``fill_two`` or
    ``fill_more`` of its inner cross-section.
    """
    inner = math.pi * (st.duct_inner_mm / 2) ** 2
    limits = {1: st.fill_one * inner, 2: st.fill_two * inner}

    def cap(k: int) -> float:
        return limits.get(k, st.fill_more * inner)

    ducts: list[list[float]] = []
    too_big = 0
    for a in sorted((math.pi * (d / 2) ** 2 for d in ods_mm), reverse=True):
        if a > cap(1) + 1e-9:
            ducts.append([a, math.inf])  # a duct of its own, closed to others
            too_big += 1
            continue
        for d in ducts:
            if sum(d) + a <= cap(len(d) + 1) + 1e-9:
                d.append(a)
                break
        else:
            ducts.append([a])
    return len(ducts), too_big


@dataclass(frozen=True)
class DuctCount:
    """Ducts of one trench edge: per operator (or ``*`` when shared), the spare, and oversize cables."""

    by_operator: Mapping[str, int]
    spare: int
    oversize: int

    @property
    def total(self) -> int:
        return sum(self.by_operator.values()) + self.spare


def count_ducts(cables: Sequence[tuple[str, float]], *, share: bool, spare: int, st: UndergroundSettings) -> DuctCount:
    """Ducts of a trench carrying ``cables`` (operator, outer diameter in mm), one operator per duct unless
    ``share``."""
    groups: dict[str, list[float]] = {}
    for op, od in cables:
        groups.setdefault("*" if share else op, []).append(od)
    by: dict[str, int] = {}
    oversize = 0
    for op in sorted(groups):
        n, big = ducts_for_cables(groups[op], st)
        by[op] = n
        oversize += big
    return DuctCount(by_operator=by, spare=spare, oversize=oversize)


def placement_of(road_class: str, st: UndergroundSettings) -> str:
    """``sidewalk`` or ``carriageway``: where the trench of a street of ``road_class`` runs."""
    return "sidewalk" if road_class in st.sidewalk_classes else "carriageway"


def cross_section(n_ducts: int, placement: str, st: UndergroundSettings) -> tuple[float, float, int, int]:
    """Width and depth (m) of the trench for a bank of ``n_ducts``, and its columns and layers.

    The first layout of ``st.bank_layouts`` that holds the ducts gives the columns and the width; beyond the last,
    layers of 5 at most and one more column per ``column_pitch_m``.  Depth = cover + layers x ``layer_pitch_m`` +
    ``bedding_m``.
    """
    n = max(int(n_ducts), 1)
    fit = [(c, w) for most, c, w in st.bank_layouts if n <= most]
    if fit:
        cols, width = fit[0]
    else:
        _most, cols, width = st.bank_layouts[-1]
        extra = max(math.ceil(n / 5) - cols, 0)
        cols, width = cols + extra, width + extra * st.column_pitch_m
    layers = math.ceil(n / cols)
    cover = st.cover_sidewalk_m if placement == "sidewalk" else st.cover_carriageway_m
    depth = cover + layers * st.layer_pitch_m + st.bedding_m
    return round(width, 3), round(depth, 3), cols, layers
