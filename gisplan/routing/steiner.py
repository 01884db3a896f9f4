"""Routing on the road graph: Steiner trees for trench networks, cheapest paths for backhaul.

:func:`steiner_tree` connects terminals at (near) least cost and says how far from
the cheapest possible tree its answer can be at most: every result carries a
proven lower bound.  :func:`nearest_source_paths` gives each target its cheapest
source (one multi-source Dijkstra).

Both run on the array form of the graph (:mod:`gisplan.routing._arrays`), cached
outside the graph and checked against it on every call; the networkx graph stays
the source of truth.  The two loops that dominate on big graphs, dual ascent and
key-path exchange, are compiled by numba (:mod:`gisplan.routing._kernels`; the
first call of a process imports numba and loads the cached machine code, about a
second or two).  On graphs up to ``RoutingSettings.search_max_nodes`` nodes a
compiled multistart search (:mod:`gisplan.routing._search`) follows the Mehlhorn
start: seeded shortest-path-heuristic starts and recombinations of the best trees,
each taken to a local optimum of cheap moves (the best then polished with the others), after the SD
reduction test.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import numpy as np
from scipy.sparse import csgraph

from gisplan._errors import RoutingError, did_you_mean
from gisplan.routing._arrays import GraphArrays, graph_arrays
from gisplan.routing._bounds import (
    dreyfus_wagner,
    dreyfus_wagner_work,
    dual_ascent,
    flow_model_size,
    solve_exact,
)
from gisplan.routing._heuristics import LocalSearch, mehlhorn, mst_prune, shortest_path_heuristic, tree_cost, tree_nodes
from gisplan.routing.settings import DEFAULT_SETTINGS, SEARCH_MOVES, RoutingSettings

__all__ = ["SourcePath", "nearest_source_paths", "steiner_tree"]

#: The values ``exact`` and ``lower_bound`` accept.
EXACT_OPTIONS: tuple[bool | str, ...] = (True, False, "auto")
LOWER_BOUND_OPTIONS = ("auto", "dual_ascent", "mehlhorn")
UNREACHABLE_OPTIONS = ("raise", "skip")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (restored on exit).

    The routing loops allocate many small containers; with a million-edge networkx graph alive,
    each full collection walks every attribute dict (tenths of a second, several times a call).
    Reference counting still frees everything; only cycle detection waits until the call ends.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _check_terminals(G: nx.Graph, A: GraphArrays, terminals: Iterable[Hashable]) -> list[Hashable]:
    terms = list(dict.fromkeys(terminals))
    missing = [t for t in terms if t not in A.index]
    if missing:
        shown = ", ".join(repr(t) for t in missing[:20])
        raise RoutingError(
            f"{len(missing)} terminal(s) are not nodes of the graph: {shown}; "
            "attach them first (gisplan.routing.graph.attach_points)",
            unreachable=missing,
        )
    if not terms:
        raise RoutingError("steiner_tree needs at least one terminal")
    return terms


def _main_component(A: GraphArrays, idx: np.ndarray, terms: list[Hashable]) -> np.ndarray:
    """Raise RoutingError naming terminals outside the component holding most terminals."""
    _ncomp, comp = csgraph.connected_components(A.csr, directed=False)
    tc = comp[idx]
    values, counts = np.unique(tc, return_counts=True)
    best = counts.max()
    main = next(c for c in tc.tolist() if counts[np.searchsorted(values, c)] == best)
    bad = [t for t, c in zip(terms, tc.tolist(), strict=True) if c != main]
    if bad:
        shown = ", ".join(repr(t) for t in bad[:20])
        raise RoutingError(
            f"{len(bad)} of {len(terms)} terminal(s) cannot be reached from the others (different road "
            f"components): {shown}; check for gaps in the roads layer (gisplan.routing.graph.components_report) "
            "or a forbidden zone cutting the graph",
            unreachable=bad,
        )
    return comp == main


def _check_options(
    weight: object,
    exact: object,
    lower_bound: object,
    starts: object,
    max_rounds: object,
    effort: object,
    seed: object,
) -> None:
    """Raise RoutingError on an option value steiner_tree does not know, naming the valid ones."""
    if not isinstance(weight, str):
        raise RoutingError(f"weight={weight!r}: give the name of an edge attribute (a string), e.g. 'cost'")
    if not (exact is True or exact is False or (isinstance(exact, str) and exact == "auto")):
        raise RoutingError(f"exact={exact!r} is not an option; valid values: True, False, 'auto'")
    if not isinstance(lower_bound, str) or lower_bound not in LOWER_BOUND_OPTIONS:
        hint = did_you_mean(lower_bound, LOWER_BOUND_OPTIONS, listing="valid values")
        raise RoutingError(
            f"lower_bound={lower_bound!r} is not an option; {hint} (valid values: "
            + ", ".join(repr(o) for o in LOWER_BOUND_OPTIONS)
            + ")"
        )
    if starts is not None and (isinstance(starts, bool) or not isinstance(starts, int | np.integer) or starts < 1):
        raise RoutingError(f"starts={starts!r}: give None (automatic) or an integer >= 1")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int | np.integer) or max_rounds < 0:
        raise RoutingError(f"max_rounds={max_rounds!r}: give an integer >= 0 (0 turns the local search off)")
    if (
        isinstance(effort, bool)
        or not isinstance(effort, int | float | np.integer | np.floating)
        or not np.isfinite(effort)
        or effort <= 0
    ):
        raise RoutingError(f"effort={effort!r}: give a finite number > 0 (1.0 is the default work limit)")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise RoutingError(f"seed={seed!r}: give an integer >= 0")


def _improve(
    A: GraphArrays,
    eids: np.ndarray,
    is_term: np.ndarray,
    *,
    max_rounds: int,
    budget: list[int],
    settings: RoutingSettings,
    insertion: bool = False,
) -> np.ndarray:
    """Local search (see steiner_tree notes); on big graphs key-path exchange only, whose moves stay local."""
    if len(eids) == 0 or max_rounds <= 0:
        return eids
    small = A.n <= settings.local_neighbourhood_nodes
    ls = LocalSearch(
        A,
        is_term,
        max_rounds=max_rounds,
        insertion=insertion and A.n <= settings.insertion_max_nodes,
        elimination=small,
        budget=budget,
        tol=settings.improvement_tolerance,
    )
    return ls.run(eids)


def _heuristic(
    A: GraphArrays,
    idx: np.ndarray,
    is_term: np.ndarray,
    *,
    starts: int,
    max_rounds: int,
    seed: int,
    moves: int,
    settings: RoutingSettings,
    effort: float = 1.0,
    search: bool = True,
    target: float = 0.0,
    start: tuple[np.ndarray, np.ndarray, int] | None = None,
) -> tuple[np.ndarray, float]:
    """Best tree over Mehlhorn + perturbed restarts, each improved by local search; also Mehlhorn's bound.

    ``start``: Mehlhorn's tree, its MST-prune and the groups left unjoined, when the caller has them already
    (:func:`gisplan.routing._search.first_start`); otherwise they are computed here, compiled when there is one
    start (the same tree as the scipy version, faster at every size measured: on the benchmark grids, fastest of
    5, 5.4 against 8.1 ms at 15,000 nodes and 0.35 against 0.43 s at 504,000), through scipy for the perturbed
    restarts.

    On graphs up to ``settings.search_max_nodes`` nodes the starts go unimproved to the compiled multistart
    search (:mod:`gisplan.routing._search`), which stops early once a tree costs no more than ``target`` (a
    proven lower bound: the tree is then optimal).
    """
    labels = np.arange(len(idx))
    if start is None and starts == 1:
        from gisplan.routing._search import first_start  # numba: imported on first use

        start = first_start(A, idx)
    if start is None:
        result = mehlhorn(A, idx, labels)
        assert result is not None
        first, _ = result
        pruned = mst_prune(A, tree_nodes(A, first), is_term)
    else:
        first, pruned, _left = start
    # Mehlhorn's guarantee on the weights it ran on: the Voronoi MST costs at most 2(1 - 1/l) OPT_w, the paths'
    # union no more; OPT_w exceeds the true optimum by at most the zero stand-ins of one tree.
    mehlhorn_bound = max(0.0, tree_cost(A, first) / (2.0 - 2.0 / len(idx)) - A.max_perturbation)
    share = max(1, int(0.9 * moves) // starts)
    left = [moves - int(0.9 * moves)]  # reserve for the final pass

    def budget() -> list[int]:
        return [share]

    def improve(tree: np.ndarray, bud: list[int], insertion: bool = False) -> np.ndarray:
        return _improve(A, tree, is_term, max_rounds=max_rounds, budget=bud, settings=settings, insertion=insertion)

    compiled = search and A.n <= settings.search_max_nodes and max_rounds > 0
    if compiled:  # the compiled search below does all the moves: the starts go to it unimproved

        def improve(tree: np.ndarray, bud: list[int], insertion: bool = False) -> np.ndarray:
            return tree

    if starts == 1:  # one start: the whole budget in one call (a second call would resume the same tree)
        left = [moves]
        best = pruned
    else:
        best = improve(pruned, budget())
    best_cost = tree_cost(A, best)
    rng = np.random.default_rng(seed)
    for s in range(1, starts):
        noise = 0.05 + 0.25 * (s % 4) / 3.0
        factor = rng.uniform(1.0, 1.0 + noise, size=len(A.u))
        mat = A.csr.copy()
        mat.data = mat.data * factor[A.eid]
        if s % 3 == 1:
            root = int(idx[rng.integers(len(idx))])
            restart = shortest_path_heuristic(A, idx, root, csr=mat)
        else:
            r = mehlhorn(A, idx, labels, csr=mat)
            assert r is not None
            restart = r[0]
        tree = improve(mst_prune(A, tree_nodes(A, restart), is_term), budget())
        c = tree_cost(A, tree)
        if c < best_cost * (1.0 - settings.improvement_tolerance):
            best, best_cost = tree, c
    best = improve(best, left, insertion=True)
    if compiled:
        from gisplan.routing._search import search as multistart  # numba: imported on first use

        work = int(effort * max(settings.search_min_work, settings.search_work * (A.n + len(A.u))))
        moves = sum(SEARCH_MOVES[x] for x in set(settings.search_moves))
        polish = sum(SEARCH_MOVES[x] for x in set(settings.search_polish_moves)) & ~moves  # only moves it adds
        found, _left = multistart(
            A,
            idx,
            best,
            starts=max(1, round(effort * settings.search_starts)),
            merges=round(effort * settings.search_merges),
            pool_size=settings.search_pool,
            seed=seed,
            budget=work,
            tol=settings.improvement_tolerance,
            max_pops=settings.long_edge_pops,
            moves=moves,
            polish=polish,
            reserve=int(work * settings.search_polish_share) if polish else 0,
            target=target,
        )
        if tree_cost(A, found) < tree_cost(A, best) * (1.0 - settings.improvement_tolerance):
            best = found
    return best, mehlhorn_bound


def steiner_tree(
    G: nx.Graph,
    terminals: Iterable[Hashable],
    *,
    weight: str = "cost",
    exact: bool | Literal["auto"] = "auto",
    lower_bound: Literal["auto", "dual_ascent", "mehlhorn"] = "auto",
    starts: int | None = None,
    max_rounds: int | None = None,
    effort: float = 1.0,
    seed: int = 0,
    settings: RoutingSettings | None = None,
) -> nx.Graph:
    """Return a cheapest-possible subgraph of ``G`` connecting all ``terminals``, with a proven bound.

    The core runs on arrays: Mehlhorn's 2-approximation (one multi-source
    Dijkstra over the Voronoi regions of the terminals), MST-prune on the
    subgraph the tree's nodes induce, then local search by key-path exchange,
    key-vertex elimination and (small graphs) Steiner-vertex insertion, repeated
    from ``starts`` perturbed starts (Mehlhorn and shortest-path heuristic on
    randomly perturbed weights, seeded).  On graphs up to ``settings.search_max_nodes`` nodes the starts then
    go to a compiled multistart search (:mod:`gisplan.routing._search`: ``settings.search_starts`` seeded
    shortest-path-heuristic starts and ``settings.search_merges`` recombinations of the best trees, each taken to
    a local optimum of ``settings.search_moves``, the best tree polished with ``settings.search_polish_moves``, on
    the graph less the edges the SD reduction test proves to be in no optimal tree; it stops early when a tree
    meets the dual ascent bound).  A key-path exchange cuts one key path
    and rejoins the two sides by one Dijkstra from the smaller side, bounded by
    the cut path's cost, so its work follows the tree, not the graph; on big
    graphs only this move runs.  The lower bound is Wong's dual ascent.  The
    cyclic garbage collector is paused during the call.  Small instances are
    solved exactly by HiGHS (see ``exact``).

    Parameters
    ----------
    G
        Undirected simple graph; every edge needs a numeric ``weight`` >= 0.
    terminals
        Nodes of ``G`` to connect (duplicates ignored).
    weight
        Edge attribute to minimise.
    exact
        ``"auto"``: when the heuristic is not proven optimal, solve exactly by the Dreyfus-Wagner dynamic
        programme when its work (2^(terminals - 1) x (nodes + edges)) is at most
        ``settings.exact_dp_max_work`` and ``settings.exact_dp_work_per_size`` x (nodes + edges), and by the
        multicommodity flow MILP in HiGHS (node limit ``settings.exact_node_limit``) when it has at most
        ``settings.exact_max_flow_variables`` flow variables (0 in the fast default: only
        :data:`~gisplan.routing.settings.THOROUGH_SETTINGS` or ``exact=True`` run it); ``True``: the same,
        HiGHS whatever the model's size; ``False``: never.
    lower_bound
        ``"dual_ascent"`` (Wong 1984), ``"mehlhorn"`` (the 2-approximation's cost / (2 - 2/l),
        instant but weak: a gap of up to 50 %) or ``"auto"`` (dual ascent up to
        ``settings.dual_ascent_max_edges`` edges).
    starts
        Number of heuristic starts (an integer >= 1); default ``settings.starts_small`` /
        ``starts_medium`` / ``starts_large`` by graph size.
    max_rounds
        Limit on local search passes per start (deterministic work limit; 0 turns it off); default
        ``settings.max_rounds``.
    effort
        Scales the local search's work budget, ``effort * max(settings.local_search_min_work,
        settings.local_search_work * (nodes + edges))`` units in all, and the multistart search's,
        ``effort * settings.search_work * (nodes + edges)``, with ``effort`` times its starts and
        recombinations (deterministic work limits; see
        :class:`~gisplan.routing.settings.RoutingSettings`).
    seed
        Seed of the perturbations.
    settings
        Work limits and tolerances (:class:`gisplan.routing.settings.RoutingSettings`; default
        :data:`~gisplan.routing.settings.DEFAULT_SETTINGS`, fast: faster than networkx's Mehlhorn at every
        size; :data:`~gisplan.routing.settings.THOROUGH_SETTINGS` spends up to about a second more on small and
        mid-size graphs for trees within 0.5 % of the optimum on SteinLib).

    Returns
    -------
    networkx.Graph
        The tree, with node and edge attributes copied from ``G``.  ``.graph`` holds
        ``cost`` (sum of ``weight``), ``lower_bound``, ``gap`` = (cost - lower_bound) / cost
        (0 when optimal), ``optimal`` (True when proven), ``method``, ``lower_bound_method``
        and ``weight``.

    Raises
    ------
    RoutingError
        On an option value it does not know (the valid ones are named), an edge whose weight is missing,
        not a number, negative or not finite (the edge is named), a terminal that is not a node of ``G``
        or terminals in different components (``.unreachable`` lists them).

    Examples
    --------
    >>> G = nx.Graph()
    >>> G.add_weighted_edges_from([(1, 2, 1.0), (2, 3, 1.0), (1, 3, 5.0), (2, 4, 1.0)], weight="cost")
    >>> T = steiner_tree(G, [1, 3, 4])
    >>> sorted(T.edges()), T.graph["cost"], T.graph["optimal"]
    ([(1, 2), (2, 3), (2, 4)], 3.0, True)
    """
    s = settings or DEFAULT_SETTINGS
    if not isinstance(s, RoutingSettings):
        raise RoutingError(f"settings={settings!r}: give a gisplan.routing.settings.RoutingSettings or None")
    rounds = s.max_rounds if max_rounds is None else max_rounds
    _check_options(weight, exact, lower_bound, starts, rounds, effort, seed)
    with _gc_paused():
        return _steiner_tree(G, terminals, weight, exact, lower_bound, starts, int(rounds), float(effort), int(seed), s)


def _default_starts(A: GraphArrays, s: RoutingSettings) -> int:
    m = len(A.u)
    starts = (
        s.starts_small
        if m <= s.starts_small_max_edges
        else s.starts_medium
        if m <= s.starts_medium_max_edges
        else s.starts_large
    )
    return starts


def _steiner_tree(
    G: nx.Graph,
    terminals: Iterable[Hashable],
    weight: str,
    exact: bool | Literal["auto"],
    lower_bound: Literal["auto", "dual_ascent", "mehlhorn"],
    starts: int | None,
    max_rounds: int,
    effort: float,
    seed: int,
    s: RoutingSettings,
) -> nx.Graph:
    A = graph_arrays(G, weight, settings=s)
    terms = _check_terminals(G, A, terminals)
    idx = np.array([A.index[t] for t in terms], dtype=np.int64)
    if len(terms) == 1:
        return _build(G, A, np.empty(0, dtype=np.int64), weight, 0.0, "trivial", "trivial", True, single=terms[0])
    is_term = np.zeros(A.n, dtype=bool)
    is_term[idx] = True
    m = len(A.u)
    searched = A.n <= s.search_max_nodes and max_rounds > 0  # the search stops early at the bound: it needs it first
    use_da = lower_bound == "dual_ascent" or (lower_bound == "auto" and m <= s.dual_ascent_max_edges)
    threaded = use_da and not searched and m >= s.concurrent_bound_min_edges
    start = None
    if not threaded and (starts is None or starts == 1):
        # Mehlhorn's tree first: it also tells whether the terminals share one component (the scipy check below
        # names the others only when they do not)
        from gisplan.routing._search import first_start  # numba: imported on first use

        start = first_start(A, idx)
    if start is None or start[2] > 0:
        _main_component(A, idx, terms)
        start = None
    if starts is None:
        starts = _default_starts(A, s)
    moves = int(effort * max(s.local_search_min_work, s.local_search_work * (A.n + m)))

    def heuristic(target: float) -> tuple[np.ndarray, float]:
        return _heuristic(
            A,
            idx,
            is_term,
            starts=max(1, int(starts)),
            max_rounds=max_rounds,
            seed=seed,
            moves=moves,
            settings=s,
            effort=effort,
            target=target,
            start=start,
        )

    dp_work = dreyfus_wagner_work(A, len(idx))
    few = dp_work <= s.exact_dp_max_work and dp_work <= s.exact_dp_work_per_size * (A.n + m)
    run_exact = exact is True or (exact == "auto" and flow_model_size(A, len(idx)) <= s.exact_max_flow_variables)
    if exact is not False and few:
        # the programme is exact and, within its work limit, cheaper than the heuristic's search: it goes first
        # and alone (no heuristic, no dual ascent: its own bound is the optimum)
        from gisplan.routing._search import compiled_mst_prune  # numba: imported on first use

        dp_tree, bound = dreyfus_wagner(A, idx)
        dp_tree = compiled_mst_prune(A, dp_tree, idx)
        if not _spans(A, dp_tree, idx):  # pragma: no cover - a defect of the programme, never the user's input
            raise RoutingError("internal error: the Dreyfus-Wagner tree does not span the terminals; please report it")
        return _build(G, A, dp_tree, weight, bound, "dreyfus-wagner", "dreyfus-wagner", False)
    final = exact is False or not run_exact  # nothing after the heuristic can change its tree
    T: nx.Graph | None = None
    if threaded:
        # the compiled dual ascent releases the GIL: it runs in a second thread while this one builds the tree
        # (and, when no exact step can follow, its networkx graph)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gisplan-bound") as pool:
            future = pool.submit(dual_ascent, A, idx, settings=s)
            best, mb = heuristic(0.0)
            if final:
                T = _tree_graph(G, A, best)
            da = future.result()
    else:
        da = dual_ascent(A, idx, settings=s) if use_da else 0.0
        best, mb = heuristic(da)
    method = "mehlhorn+local-search"
    lb, lb_method, optimal = mb, "mehlhorn", False
    if use_da:
        lb, lb_method = max(lb, da), "dual_ascent"
    if T is not None:
        return _annotate(T, A, best, weight, lb, method, lb_method, optimal)
    if run_exact and _true_cost(A, best) > lb * (1.0 + 1e-9):
        eids, bound, proven = solve_exact(A, idx, node_limit=s.exact_node_limit)
        if bound > lb:
            lb, lb_method = bound, "highs"
        if eids is not None:
            eids = mst_prune(A, tree_nodes(A, eids), is_term) if len(eids) else eids
            if _true_cost(A, eids) < _true_cost(A, best) * (1.0 - 1e-12) and _spans(A, eids, idx):
                best, method = eids, "highs"
        optimal = proven
    return _build(G, A, best, weight, lb, method, lb_method, optimal)


def _true_cost(A: GraphArrays, eids: np.ndarray) -> float:
    return float(A.w_true[eids].sum())


def _spans(A: GraphArrays, eids: np.ndarray, idx: np.ndarray) -> bool:
    nodes = tree_nodes(A, eids) if len(eids) else np.empty(0, dtype=np.int64)
    return bool(np.isin(idx, nodes).all())


def _build(
    G: nx.Graph,
    A: GraphArrays,
    eids: np.ndarray,
    weight: str,
    lb: float,
    method: str,
    lb_method: str,
    optimal: bool,
    single: Hashable | None = None,
) -> nx.Graph:
    return _annotate(_tree_graph(G, A, eids, single), A, eids, weight, lb, method, lb_method, optimal)


def _tree_graph(G: nx.Graph, A: GraphArrays, eids: np.ndarray, single: Hashable | None = None) -> nx.Graph:
    """The tree of edges ``eids`` (or the lone node ``single``) as a networkx graph, attributes copied from ``G``."""
    T = nx.Graph()
    T.graph["crs"] = G.graph.get("crs")
    nodes = [A.nodes[i] for i in tree_nodes(A, eids).tolist()] if len(eids) else [single]
    gnode, gadj, names = G._node, G._adj, A.nodes
    # written into the new graph's own dicts, as add_nodes_from and add_edges_from would (attributes copied, one
    # dict per edge shared by its two directions), without their per-item checks: the tree's nodes and edges come
    # from G and are distinct (at a million edges 0.13 s against 0.25 s)
    tnode, tadj = T._node, T._adj
    for x in nodes:
        tnode[x] = gnode[x].copy()
        tadj[x] = {}
    for a, b in zip(A.u[eids].tolist(), A.v[eids].tolist(), strict=True):
        x, y = names[a], names[b]
        d = gadj[x][y].copy()
        tadj[x][y] = d
        tadj[y][x] = d
    return T


def _annotate(
    T: nx.Graph, A: GraphArrays, eids: np.ndarray, weight: str, lb: float, method: str, lb_method: str, optimal: bool
) -> nx.Graph:
    """Write the tree's cost, bound, gap and methods into ``T.graph``; return ``T``."""
    cost = float(sum(A.w_true[eids].tolist()))  # the graph's own weights, in the order of the edges
    lb = min(max(lb, 0.0), cost)
    gap = 0.0 if cost <= 0 else max(0.0, (cost - lb) / cost)
    if gap <= 1e-9:
        gap, optimal = 0.0, True
    T.graph.update(
        cost=cost, lower_bound=lb, gap=gap, optimal=optimal, method=method, lower_bound_method=lb_method, weight=weight
    )
    return T


@dataclass(frozen=True)
class SourcePath:
    """The cheapest way from any source to one target."""

    source: Hashable
    cost: float
    length_m: float
    path: list[Any]


def nearest_source_paths(
    G: nx.Graph,
    sources: Iterable[Hashable],
    targets: Iterable[Hashable],
    *,
    weight: str = "cost",
    unreachable: Literal["raise", "skip"] = "raise",
    settings: RoutingSettings | None = None,
) -> dict[Hashable, SourcePath]:
    """For each target, its cheapest source, the path's cost, its length in metres and its nodes.

    One multi-source Dijkstra on the array form of ``G``.

    Parameters
    ----------
    G
        The graph; edges need ``weight`` (and ``length_m`` for the length; 0 where absent).
    sources, targets
        Nodes of ``G``.
    weight
        Edge attribute to minimise.
    unreachable
        ``"raise"``: a target no source reaches raises :class:`RoutingError` naming it;
        ``"skip"``: such targets are left out of the result (e.g. islands, for radio backhaul).
    settings
        Tolerances (:class:`gisplan.routing.settings.RoutingSettings`; default ``DEFAULT_SETTINGS``).

    Returns
    -------
    dict
        target -> :class:`SourcePath` (path from the source to the target).
    """
    if not isinstance(unreachable, str) or unreachable not in UNREACHABLE_OPTIONS:
        raise RoutingError(f"unreachable={unreachable!r} is not an option; valid values: 'raise', 'skip'")
    if not isinstance(weight, str):
        raise RoutingError(f"weight={weight!r}: give the name of an edge attribute (a string), e.g. 'cost'")
    A = graph_arrays(G, weight, settings=settings)
    src = list(dict.fromkeys(sources))
    tgt = list(dict.fromkeys(targets))
    missing = [x for x in src + tgt if x not in A.index]
    if missing:
        raise RoutingError(f"not nodes of the graph: {missing[:20]!r}; attach them first", unreachable=missing)
    if not src:
        raise RoutingError("nearest_source_paths needs at least one source")
    sidx = np.array([A.index[s] for s in src], dtype=np.int64)
    dist, pred, origin = csgraph.dijkstra(A.csr, directed=True, indices=sidx, min_only=True, return_predecessors=True)
    out: dict[Hashable, SourcePath] = {}
    lost = []
    for t in tgt:
        i = A.index[t]
        if not np.isfinite(dist[i]):
            lost.append(t)
            continue
        path = [i]
        while pred[path[-1]] >= 0:
            path.append(int(pred[path[-1]]))
        path.reverse()
        ids = [A.nodes[k] for k in path]
        cost = 0.0
        length = 0.0
        for a, b in itertools.pairwise(ids):
            d = G.edges[a, b]
            cost += float(d[weight])
            length += float(d.get("length_m", 0.0))
        out[t] = SourcePath(source=A.nodes[int(origin[i])], cost=cost, length_m=length, path=ids)
    if lost and unreachable == "raise":
        raise RoutingError(f"{len(lost)} target(s) cannot be reached from any source: {lost[:20]!r}", unreachable=lost)
    return out
