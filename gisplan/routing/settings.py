"""Tunable constants of the routing engine in one typed place (the settings pattern of issue 10).

:func:`gisplan.routing.steiner.steiner_tree` and the helpers below it take ``settings: RoutingSettings | None``;
``None`` means :data:`DEFAULT_SETTINGS`.  Tests pass their own settings object instead of monkeypatching module
constants.  Every figure below is a deterministic work limit or a numerical tolerance; none changes what a valid
answer is (the tree always spans the terminals, the bound is always a proven lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass

from gisplan.io.crs import MAX_SCALE_ERROR

#: The local-search moves of the compiled multistart search, by name, with the bit each has in its kernel.
SEARCH_MOVES = {"insertion": 1, "elimination": 2, "key-vertex": 4, "key-path": 8}

__all__ = ["DEFAULT_SETTINGS", "THOROUGH_SETTINGS", "RoutingSettings"]


@dataclass(frozen=True, kw_only=True)
class RoutingSettings:
    """Work limits and tolerances of the Steiner tree engine.

    Attributes
    ----------
    exact_max_flow_variables
        Largest multicommodity flow model (arcs x (terminals - 1), a count) that ``exact="auto"`` hands to HiGHS:
        the budget of the automatic exact solve.  Measured on SteinLib (2 shared cores, load 7): c01 5,000
        variables 0.7 s, d01 10,000 1.3 s, c02 11,250 1.3 s, d06 16,000 2.8 s, c11 20,000 5.5 s, d11 40,000
        9.3 s, c16 100,000 224 s.  HiGHS takes 5 ms or more even on a tiny model, longer than networkx's whole
        approximation on graphs of a few hundred edges, so the fast default is 0 (no automatic MILP; ``exact=True``
        still runs it); :data:`THOROUGH_SETTINGS` has 10,000, near a second.
    exact_dp_max_work
        Largest work (2^(terminals - 1) x (nodes + edges), a count) for which ``exact="auto"`` (and ``True``)
        solves the instance exactly by the Dreyfus-Wagner dynamic programme (one Dijkstra per subset of
        terminals): with few terminals it is exact in well under a second where the flow model is too big for
        HiGHS.
    exact_dp_work_per_size
        A second limit on that work, per node and edge of the graph (dimensionless; ``inf`` for none): the
        programme runs when its work is at most ``exact_dp_work_per_size * (nodes + edges)`` too.  A work unit
        takes about 0.1 microseconds and networkx's Mehlhorn about 4 microseconds per edge, so the default 30
        keeps the automatic exact solve within the time networkx takes for its approximation.
    exact_node_limit
        Branch-and-bound node limit of the automatic exact solve (a count; deterministic work limit).
    dual_ascent_max_edges
        ``lower_bound="auto"`` runs dual ascent up to this many edges (a count).  The compiled dual ascent takes
        about a second at a million edges, so every size gets it.
    concurrent_bound_min_edges
        On graphs with at least this many edges (a count) and too many nodes for the multistart search, dual ascent
        runs in a second thread while the heuristic builds the tree (the compiled loop releases the GIL; the
        bound is the same, only the wall-clock time changes).  Below it a thread is not worth starting.
    dual_ascent_switch_slack
        The raised component of dual ascent pauses only when its cut has this many times more arcs than the next
        one's (dimensionless; each switch costs one pass over the cut).  On a 180,000-edge grid 1.25 gave the
        bound of 1.0 within 0.1 % with 4x fewer switches.
    dual_ascent_large_edges, dual_ascent_large_slack
        On graphs with at least ``dual_ascent_large_edges`` edges (a count) the switch slack is
        ``dual_ascent_large_slack`` instead (dimensionless, >= 1).  Dual ascent is the call's longest stage there
        (it runs beside the whole heuristic); measured on the benchmark grids (``bench_routing_scale.py``), 4.0
        against 1.25 takes 25 % less time at 1M edges (1.18 s against 1.56 s, fastest of 3) and 12 % less at 300k
        for a bound 0.35 % and 0.27 % lower, and gains nothing at 100k (hence the threshold).
    local_neighbourhood_nodes
        Graphs with more nodes than this run key-path exchange only (a count): its moves explore a bounded ball
        each, where key-vertex elimination runs a Dijkstra from the whole tree.
    insertion_max_nodes
        Steiner-vertex insertion (one MST per candidate vertex) runs on graphs up to this many nodes (a count).
    local_search_work
        Work units of the local search per node and edge of the graph (dimensionless; the budget is
        ``effort * max(local_search_min_work, local_search_work * (nodes + edges))``; a unit is one Dijkstra pop
        or heap entry of key-path exchange; a pass, once started, runs to its end).  A Voronoi pass costs about
        1.3-1.4 units per node and edge, so the default 1.0 is one pass: measured on the benchmark's grids with 1 %
        terminals, one pass lowers the Mehlhorn tree by 3.1 % (100,000 edges, 0.035 s), two by 4.2 %, five by
        4.8 % (the former one-path-at-a-time exchange: 2.8 % with 4 units, 4.7 % unbounded in 1.1 s).
    local_search_min_work
        Work units the local search gets however small the graph (a count): enough for key-path exchange to
        converge on 10,000-edge graphs (134,000 units measured with 50 terminals).
    starts_small, starts_medium, starts_large
        Heuristic starts (Mehlhorn and perturbed restarts) on graphs up to ``starts_small_max_edges``, up to
        ``starts_medium_max_edges``, and above (counts).
    starts_small_max_edges, starts_medium_max_edges
        Edge counts separating the three start counts.
    max_rounds
        Default limit on local-search passes per start (a count).
    zero_weight
        Relative stand-in for a zero edge weight in the array form (dimensionless): zeros become
        ``zero_weight * smallest positive weight / nodes``, because scipy.sparse.csgraph treats an explicit zero
        as "no edge" (scipy #18892, #18051).  Bounds subtract the most this can add, so they stay valid.
    max_scale_error
        Largest scale error (|scale factor - 1|, dimensionless) of a projected CRS in metres that
        :func:`~gisplan.routing.graph.graph_from_roads` takes as metres at the layer's centre; beyond it the layer
        is reprojected to its UTM zone.  UTM stays within 0.1 % inside its zone and VN-2000 TM-3 within 0.01 %;
        Web Mercator (EPSG:3857) is 1.5 % off at Phú Quốc (10° N) and 56 % at 50° N.
    search_max_nodes
        Graphs up to this many nodes (a count) also get the compiled multistart search
        (:mod:`gisplan.routing._search`): seeded shortest-path-heuristic starts and recombinations of the best
        trees, each taken to a local optimum of ``search_moves``, the best then polished with
        ``search_polish_moves``, on the graph less the edges the SD reduction test (and, when
        ``long_edge_pops`` > 0, the long-edge test) proves needless.
    search_starts, search_merges
        Shortest-path-heuristic starts and recombinations of that search (counts).  Recombination finds what
        starts do not: on SteinLib d18 the local optima of 20 starts lie 3.6-7.6 % above the optimum, and the
        default's 8 starts and 56 recombinations end at 2.2-3.1 % over seeds 0-7.
    search_pool
        Number of distinct best trees kept for recombination (a count).
    search_work
        Work units of that search per node and edge of the graph (dimensionless; scaled by ``effort``; a unit is
        a heap operation, an edge scanned or a union-find step, about 10-40 nanoseconds compiled).  Measured on
        SteinLib d18 (1,000 nodes, 25,000 edges, 167 terminals), before the SD test: 16 starts and 16
        recombinations with all four moves took about 6e7 units; after it, one start to a local optimum of
        ``search_moves``' default costs about 1e5 units (of all four moves: 7.6e5-8.6e5).  The fast default, 100,
        costs about as much as the rest of the call (a few microseconds per edge: the call stays faster than
        networkx's Mehlhorn); :data:`THOROUGH_SETTINGS` has 3,000 (the SteinLib figures in
        ``benchmarks/results/steiner.md``).  150 would keep SteinLib C and D within 3 % over seeds 0-7 (100:
        d18 3.14 % with seed 1; c17, 19 against an optimum of 18, misses by one unit, 5.56 %, with seeds 3 and 4
        at any budget measured), but makes the call slower than networkx's on sparse
        grids of 1,000-2,500 edges (0.88-0.90x measured).
    search_min_work
        Work units that search gets however small the graph (a count; scaled by ``effort``): the budget is
        ``effort * max(search_min_work, search_work * (nodes + edges))``.  On graphs of a few hundred nodes and
        edges ``search_work`` alone gives too few starts: SteinLib b13 and b16 (100 nodes) stayed 3.0 % and 3.9 %
        above their optimum with 20,000-30,000 units and reach it with 50,000 (the default), in about 0.7 ms
        (B series: mean gap 0.44 % -> 0.05 %; the call about as fast as networkx's there: b16 0.88x-1.05x over
        two runs, the other B instances faster; with today's ``search_moves`` every B optimum is reached;
        ``benchmarks/results/steiner_default.md``).
    long_edge_pops
        Nodes each Dijkstra of the long-edge test settles at most (a count; a shorter search removes fewer
        edges, never a needed one; 0, the default, skips the test).  The SD test the search always runs removes
        almost every edge it would (SteinLib d18: 19,788 edges, 96 more with both) at a fraction of its work (the
        long-edge test with 32 pops took 1.66 million of the default's 2.6 million units there).
    search_moves
        Local-search moves of the search's starts and recombinations, by name: ``"insertion"`` (Steiner-vertex
        insertion), ``"elimination"`` (Steiner-vertex elimination), ``"key-vertex"`` (key-vertex elimination),
        ``"key-path"`` (key-path exchange).  The default, vertex elimination and key-path exchange, takes a
        start to its local optimum 7x cheaper than all four on d18 (about 1e5 units against 7.6e5-8.6e5), so
        the budget buys 7x the starts and recombinations: SteinLib C mean / max gap 0.57 / 4.11 % -> 0.27 /
        1.77 %, D 0.72 / 4.48 % -> 0.46 / 2.24 % (seed 0, with the SD test and the polish;
        ``benchmarks/results/steiner_default.md``).
    search_polish_moves
        Moves added to ``search_moves`` for one last local search of the best tree (names as above; empty: no
        polish).
    search_polish_share
        Share of the search's budget kept for that polish (dimensionless, in [0, 1)).
    improvement_tolerance
        Relative margin (dimensionless) by which a local-search move must lower the cost to be taken: moves
        that gain less are float noise and could cycle.
    merge_eps_m
        Points closer than this (metres) to a node or to each other along an edge are merged when edges are
        split (attaching poles, joining dangling ends, splitting parallel roads).
    """

    exact_max_flow_variables: int = 0
    exact_dp_max_work: int = 2_000_000
    exact_dp_work_per_size: float = 30.0
    exact_node_limit: int = 2_000
    dual_ascent_max_edges: int = 5_000_000
    dual_ascent_switch_slack: float = 1.25
    dual_ascent_large_edges: int = 250_000
    dual_ascent_large_slack: float = 4.0
    concurrent_bound_min_edges: int = 20_000
    local_neighbourhood_nodes: int = 5_000
    insertion_max_nodes: int = 5_000
    local_search_work: float = 1.0
    local_search_min_work: int = 0
    starts_small: int = 1
    starts_medium: int = 1
    starts_large: int = 1
    starts_small_max_edges: int = 30_000
    starts_medium_max_edges: int = 300_000
    max_rounds: int = 20
    zero_weight: float = 1e-6
    max_scale_error: float = MAX_SCALE_ERROR
    search_max_nodes: int = 5_000
    search_starts: int = 8
    search_merges: int = 56
    search_pool: int = 8
    search_work: float = 100.0
    search_min_work: int = 50_000
    long_edge_pops: int = 0
    search_moves: tuple[str, ...] = ("elimination", "key-path")
    search_polish_moves: tuple[str, ...] = ("insertion", "key-vertex")
    search_polish_share: float = 0.2
    improvement_tolerance: float = 1e-9
    merge_eps_m: float = 1e-3

    def __post_init__(self) -> None:
        for name in (
            "exact_max_flow_variables",
            "exact_dp_max_work",
            "exact_node_limit",
            "dual_ascent_max_edges",
            "dual_ascent_large_edges",
            "concurrent_bound_min_edges",
            "local_neighbourhood_nodes",
            "insertion_max_nodes",
            "starts_small_max_edges",
            "starts_medium_max_edges",
            "max_rounds",
            "local_search_min_work",
            "search_max_nodes",
            "search_starts",
            "search_merges",
            "search_min_work",
            "long_edge_pops",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"RoutingSettings.{name} must be an integer >= 0, not {value!r}")
        for name in ("starts_small", "starts_medium", "starts_large", "search_pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RoutingSettings.{name} must be an integer >= 1, not {value!r}")
        for name in (
            "local_search_work",
            "search_work",
            "zero_weight",
            "merge_eps_m",
            "max_scale_error",
            "improvement_tolerance",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not value > 0 or value == float("inf"):
                raise ValueError(f"RoutingSettings.{name} must be a finite number > 0, not {value!r}")
        value = self.exact_dp_work_per_size
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ValueError(
                f"RoutingSettings.exact_dp_work_per_size must be a number >= 0 (inf: no limit), not {value!r}"
            )
        for name in ("dual_ascent_switch_slack", "dual_ascent_large_slack"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1.0:
                raise ValueError(f"RoutingSettings.{name} must be a number >= 1, not {value!r}")
        for name in ("search_moves", "search_polish_moves"):
            moves = getattr(self, name)
            if (
                not isinstance(moves, tuple)
                or (not moves and name == "search_moves")
                or any(not isinstance(x, str) or x not in SEARCH_MOVES for x in moves)
            ):
                raise ValueError(
                    f"RoutingSettings.{name} must be a tuple of {', '.join(map(repr, SEARCH_MOVES))}"
                    f"{' (at least one)' if name == 'search_moves' else ''}, not {moves!r}"
                )
        value = self.search_polish_share
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
            raise ValueError(f"RoutingSettings.search_polish_share must be a number in [0, 1), not {value!r}")
        if self.zero_weight >= 1.0:
            raise ValueError(f"RoutingSettings.zero_weight must be < 1, not {self.zero_weight!r}")


#: The settings used when a function is given ``settings=None``: fast (the call stays faster than networkx's
#: Mehlhorn approximation at every size; ``benchmarks/results/routing_scale.md``).
DEFAULT_SETTINGS = RoutingSettings()

#: Thorough settings for callers to whom the tree's cost matters more than a second (the undergrounding planner,
#: the SteinLib benchmark): 30x the multistart search's work, the automatic exact solves of up to 10,000 flow
#: variables in HiGHS and any Dreyfus-Wagner programme up to ``exact_dp_max_work``, and about four passes of
#: key-path exchange on graphs too big for the search (one by default), and dual ascent's tighter switch slack
#: at every size.
THOROUGH_SETTINGS = RoutingSettings(
    search_work=3_000.0,
    exact_max_flow_variables=10_000,
    exact_dp_work_per_size=float("inf"),
    local_search_work=6.0,
    dual_ascent_large_slack=1.25,
)
