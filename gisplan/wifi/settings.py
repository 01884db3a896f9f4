"""Tunable numeric settings of the wifi planner, in one typed place.

Engineering figures with a price or a standard behind them live in the catalog (``catalog.yaml``); what is here
are the planner's own knobs: how hard the solvers try, how finely footprints are drawn, what is assumed when a
layer is silent.  Functions that use them take ``settings: WifiSettings | None = None`` (keyword-only); ``None``
means :data:`DEFAULT_SETTINGS`.  Tests pass a settings object instead of patching module constants.

Examples
--------
>>> from gisplan.wifi.settings import DEFAULT_SETTINGS, WifiSettings
>>> DEFAULT_SETTINGS.default_mast_m
15.0
>>> WifiSettings(footprint_rays=8).footprint_rays
8
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from gisplan._errors import PlanningError

__all__ = ["DEFAULT_SETTINGS", "WifiSettings"]


@dataclass(frozen=True, kw_only=True)
class WifiSettings:
    """The wifi planner's tunable constants.

    Attributes
    ----------
    rounding_vnd_per_site
        VND per chosen site kept out of the budget for the BOQ's rounding (its AP, mast and solar lines and the
        contingency line are each rounded to whole VND: at most 0.5 VND each, so 10 VND is a safe margin).
        Assumption derived from the rounding rule of :func:`gisplan.catalog.costing.boq_line`.
    default_mast_m
        Antenna height (m) of a wifi site's AP mast (the catalog's ``MAST.15M``), which a backhaul hop from the
        site may use at no cost where the site is lower or of unknown height; also the height assumed for a fibre
        site of unknown height.  A fibre site's known ``height_m`` (e.g. a 6 m POP) is taken as it is, and a hop
        that needs more adds a catalog mast (:func:`gisplan.wifi.backhaul.mast_options`).  Assumption (the
        catalog's cheapest mast that clears village roofs).
    los_tries
        Fibre sites tried, nearest first, for a radio hop when line of sight is checked; a hop to a farther site
        costs the same radio, so more tries only cost time.  Assumption.
    footprint_rays
        Rays along which a footprint is cut where line of sight ends (angular step 360 / rays degrees).
        Assumption: 24 rays (15 degrees) resolve a hill the size of a village at 150 m reach.
    footprint_ray_steps
        Points checked along each ray (radial step reach / steps).  Assumption.
    max_exact_nonzeros
        Above this many non-zeros in the reduced coverage matrix ``method="auto"`` does not attempt the MILP
        (HiGHS needs about 1 kB per non-zero in presolve; 30 million keeps within 32 GB).  Measured in
        ``benchmarks/bench_siting.py``.
    max_dominance_work
        The dominated-site reduction is skipped when ``A^T A`` would hold more than this many entries (memory
        and time of the sparse product).  Measured in ``benchmarks/bench_siting.py``.
    tolerance
        Relative tolerance of the covering solvers: when a value and a bound are equal, when a gain counts, when
        a cost fits a budget.  Numerical assumption (well above float rounding of sums of VND amounts).
    local_search_share
        Share of the remaining time limit given to the swap local search before the MILP (the rest goes to
        HiGHS).  Assumption.
    local_search_s
        Seconds of local search when there is no time limit.  Assumption.
    highs_setup_s_per_nonzero
        Seconds HiGHS spends per non-zero of the covering matrix before it first looks at its time limit (its MIP
        set-up and presolve do not check it).  Under a time limit HiGHS is only started when the non-zeros times
        this figure fit in the time left, so that ``time_limit_s`` holds.  Measured: 25-31 s for 12.0 million
        non-zeros (200,000 x 20,000 synthetic instance of ``benchmarks/bench_siting.py``, HiGHS 1.16, 2 cores),
        rounded up to 2.5e-6 s.
    capacity_rounds
        Rounds of APs added where the chosen ones lack airtime (see the wifi planner's capacity stage).  Measured on
        ``scenarios/remote_wifi.yaml`` with the demo's elevation raster: 6 rounds served 7,099 of the 9,682
        households (nearly all in reach; line of sight lets fewer sites cover the hamlets, so more airtime is added
        afterwards), 20 rounds 9,342, 40 rounds no more (9,325 before a round that serves no more was undone;
        9,342 since: round 22 is undone and the stage stops).
    max_aps_per_column
        APs of one profile at one site, each on its own channel: 3, the non-overlapping 20 MHz channels at
        2.4 GHz in Europe and Vietnam (1, 6, 11 of ETSI EN 300 328); at 5 GHz there are more, 3 is kept as the
        mounting limit of one pole (assumption).
    coastal_band_m
        Width (m) of the shore band, measured inland from the coastline (the boundary of the ``land`` layer's
        polygons against the sea): a household or institution of a village or town (by its kind, with no
        ``environment`` column or land cover saying otherwise) that stands within it is ``coastal``, line of sight
        where its path from the site leaves over the sea (see :mod:`gisplan.wifi.environment`).  Assumption: the
        beach or mangrove edge, the shore road and the first row of houses facing the water; behind them the
        village's roofs close the path.  Widen it with a coarse coastline (the demo's is drawn from a 1 km land
        mask); 0 turns the rule off.
    backhaul_exact_max_sites
        Islands of the backhaul network (chosen sites that reach each other by relay hops) of at most this many
        sites get the least-cost gateways and relays exactly (:func:`gisplan.wifi.network.relay_forest`, a
        mixed-integer programme); larger ones the spanning tree and its repairs.  Measured on
        ``scenarios/remote_wifi.yaml``: Thổ Châu's 20 sites, with the catalog's satellite traffic fees, take about
        10 s for ``backhaul_node_limit`` nodes (solved once per plan: the relays' terrain checks reuse it).
    backhaul_node_limit
        Branch-and-bound nodes HiGHS may explore per island (deterministic, unlike a time limit); an island not
        proven optimal within it keeps the better of the solver's best and the spanning tree's.  Measured on the
        demo's Thổ Châu: 200 and 2,000 nodes found the same network (9 s and 22 s), neither proven.
    max_bonded_terminals
        Satellite terminals one gateway site may bond (its router's WAN ports); more only where the site's own demand
        needs them.  Assumption: a small-site multi-WAN bonding router with four WAN ports.
    """

    rounding_vnd_per_site: int = 10
    default_mast_m: float = 15.0
    los_tries: int = 5
    footprint_rays: int = 24
    footprint_ray_steps: int = 8
    max_exact_nonzeros: int = 30_000_000
    max_dominance_work: int = 40_000_000
    tolerance: float = 1e-9
    local_search_share: float = 0.2
    local_search_s: float = 10.0
    highs_setup_s_per_nonzero: float = 2.5e-6
    capacity_rounds: int = 20
    max_aps_per_column: int = 3
    coastal_band_m: float = 100.0
    backhaul_exact_max_sites: int = 40
    backhaul_node_limit: int = 500
    max_bonded_terminals: int = 4

    def __post_init__(self) -> None:
        bad = [f.name for f in fields(self) if not getattr(self, f.name) >= 0]
        if self.los_tries < 1 or self.footprint_rays < 3 or self.footprint_ray_steps < 1:
            bad += ["los_tries >= 1, footprint_rays >= 3, footprint_ray_steps >= 1"]
        if not 0 < self.local_search_share < 1:
            bad.append("0 < local_search_share < 1")
        if bad:
            raise PlanningError(f"invalid wifi settings: {', '.join(bad)} / Thiết lập wifi không hợp lệ")


#: The settings used when a function is given none.
DEFAULT_SETTINGS = WifiSettings()
