"""Tests that see the compiled multistart search (gisplan.routing._search), with no exact solve to repair it.

Each move is checked alone on a hand-made tree against a hand-derived better tree; the long-edge reduction on a
triangle; the whole call on instances far too large for the automatic exact solve (83-167 terminals, flow models
of 2-8 million variables) against their known optima, where the search without these moves stays far off.
"""

from __future__ import annotations

import csv
import itertools
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from gisplan.routing._arrays import GraphArrays, graph_arrays
from gisplan.routing._search import long_edges, sd_edges, search
from gisplan.routing.settings import DEFAULT_SETTINGS, THOROUGH_SETTINGS, RoutingSettings
from gisplan.routing.steiner import steiner_tree

STEINLIB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "steinlib"
#: the same call without the multistart search (what gisplan did before it)
NO_SEARCH = RoutingSettings(search_max_nodes=0)
#: the thorough search these tests are about (the default is the fast one: see test_fast_default_*)
THOROUGH = THOROUGH_SETTINGS


def weighted(edges) -> nx.Graph:
    G = nx.Graph()
    for a, b, w in edges:
        G.add_edge(a, b, cost=float(w))
    return G


def tree_of(A: GraphArrays, pairs) -> np.ndarray:
    return np.sort(A.edge_ids(np.array([A.index[a] for a, _b in pairs]), np.array([A.index[b] for _a, b in pairs])))


def improved(G: nx.Graph, terminals, start_pairs, moves: int, polish: int = 0) -> tuple[float, set[frozenset]]:
    """Cost and edges of ``start_pairs`` after the local search with only ``moves`` (no starts, no reduction), then
    the ``polish`` moves with them."""
    A = graph_arrays(G)
    idx = np.array([A.index[t] for t in terminals], dtype=np.int64)
    out, _left = search(
        A,
        idx,
        tree_of(A, start_pairs),
        starts=0,
        merges=0,
        pool_size=2,
        seed=0,
        budget=10**9,
        tol=1e-9,
        moves=moves,
        reduce=False,
        polish=polish,
    )
    return float(A.w[out].sum()), {frozenset((A.nodes[A.u[e]], A.nodes[A.v[e]])) for e in out.tolist()}


INSERTION, ELIMINATION, KEY_VERTEX, KEY_PATH = 1, 2, 4, 8


# -- each move alone ------------------------------------------------------------------------------------------------


def test_vertex_insertion_adds_the_steiner_centre():
    """Terminals a, b, c pairwise 2 apart (tree 4); centre s at 1.1 from each: 3.3."""
    G = weighted([("a", "b", 2), ("b", "c", 2), ("a", "c", 2), ("s", "a", 1.1), ("s", "b", 1.1), ("s", "c", 1.1)])
    start = [("a", "b"), ("b", "c")]
    cost, edges = improved(G, "abc", start, INSERTION)
    assert cost == pytest.approx(3.3) and edges == {frozenset("sa"), frozenset("sb"), frozenset("sc")}
    assert improved(G, "abc", start, ELIMINATION | KEY_VERTEX | KEY_PATH)[0] == 4.0  # no other move finds s
    # the default's search runs the cheap moves and polishes its best tree with the others
    assert improved(G, "abc", start, ELIMINATION | KEY_PATH, polish=INSERTION | KEY_VERTEX)[0] == pytest.approx(3.3)


def test_vertex_elimination_drops_a_dear_steiner_hub():
    """Hub s joins a, b, c at 2 each (6); the terminals' own edges a-b, b-c cost 1.5 each (3)."""
    G = weighted([("s", "a", 2), ("s", "b", 2), ("s", "c", 2), ("a", "b", 1.5), ("b", "c", 1.5)])
    start = [("s", "a"), ("s", "b"), ("s", "c")]
    cost, edges = improved(G, "abc", start, ELIMINATION)
    assert cost == 3.0 and edges == {frozenset("ab"), frozenset("bc")}
    assert improved(G, "abc", start, INSERTION)[0] == 6.0


def test_key_vertex_elimination_replaces_a_hub_and_its_key_paths():
    """Hub x reaches a, b, c by two-edge key paths (4 each, 12 in all); a-y-b and b-z-c cost 3 each (6 in all).

    No single vertex insertion or elimination leads there: y or z alone does not let the hub go.
    """
    G = weighted(
        [
            *[("x", "p", 2), ("p", "a", 2), ("x", "q", 2), ("q", "b", 2), ("x", "r", 2), ("r", "c", 2)],
            *[("a", "y", 1.5), ("y", "b", 1.5), ("b", "z", 1.5), ("z", "c", 1.5)],
        ]
    )
    start = [("x", "p"), ("p", "a"), ("x", "q"), ("q", "b"), ("x", "r"), ("r", "c")]
    cost, edges = improved(G, "abc", start, KEY_VERTEX)
    assert cost == 6.0 and edges == {frozenset("ay"), frozenset("yb"), frozenset("bz"), frozenset("zc")}


def test_key_path_exchange_inside_the_search():
    """Tree a-x-y-b-c (3 + 3 + 3 + 1): the key path a..b (9) has a replacement a-z-b (2 + 2): 5 in all."""
    G = weighted([("a", "x", 3), ("x", "y", 3), ("y", "b", 3), ("b", "c", 1), ("a", "z", 2), ("z", "b", 2)])
    start = [("a", "x"), ("x", "y"), ("y", "b"), ("b", "c")]
    assert improved(G, "abc", start, KEY_PATH)[0] == 5.0
    assert improved(G, "abc", start, 0)[0] == 10.0


def test_long_edge_test_removes_only_edges_another_path_matches():
    """a-c (2) equals a-b-c (1 + 1): removable; c-d (1.9) is cheaper than c-b-d (1 + 1): kept."""
    G = weighted([("a", "b", 1), ("b", "c", 1), ("a", "c", 2), ("b", "d", 1), ("c", "d", 1.9)])
    A = graph_arrays(G)
    csr = A.csr
    work = np.array([10**9], dtype=np.int64)
    drop = long_edges(csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data, A.eid, len(A.u), 32, work)
    dropped = {frozenset((A.nodes[A.u[e]], A.nodes[A.v[e]])) for e in np.flatnonzero(drop).tolist()}
    assert dropped == {frozenset("ac")}


def _sd_dropped(G: nx.Graph, terminals) -> set[frozenset]:
    A = graph_arrays(G)
    work = np.array([10**9], dtype=np.int64)
    idx = np.array([A.index[t] for t in terminals], dtype=np.int64)
    drop = sd_edges(A.indptr, A.indices, A.csr.data, A.eid, A.u, A.v, A.w, idx, work)
    return {frozenset((A.nodes[A.u[e]], A.nodes[A.v[e]])) for e in np.flatnonzero(drop).tolist()}


def test_sd_test_removes_an_edge_a_terminal_bypasses_which_the_long_edge_test_keeps():
    """u-v (3) against u-t-v through the terminal t (2 + 2): no other path is as cheap (the long-edge test keeps it),
    but a tree holding u-v can drop it and join the two sides by a path of 2, so it is in no optimal tree.  p-q (2)
    against p-t-q (2 + 2) ties with that bound and stays: the test is strict."""
    G = weighted([("u", "t", 2), ("t", "v", 2), ("u", "v", 3), ("p", "t", 2), ("t", "q", 2), ("p", "q", 2)])
    assert _sd_dropped(G, ["t", "v", "q"]) == {frozenset("uv")}
    A = graph_arrays(G)
    work = np.array([10**9], dtype=np.int64)
    assert not long_edges(A.indptr, A.indices, A.csr.data, A.eid, len(A.u), 32, work).any()


def _bottleneck_steiner_distance(G: nx.Graph, terminals, a, b) -> float:
    """Independent reference: the minimax path from a to b in the distance graph over the terminals and a, b,
    distances taken in G without the edge a-b (Duin and Volgenant's definition)."""
    H = G.copy()
    H.remove_edge(a, b)
    keys = sorted(set(terminals) | {a, b}, key=str)
    D = nx.Graph()
    for x in keys:
        dist = nx.single_source_dijkstra_path_length(H, x, weight="cost")
        D.add_edges_from((x, y, {"cost": dist[y]}) for y in keys if y != x and y in dist)
    if not nx.has_path(D, a, b):
        return float("inf")
    T = nx.minimum_spanning_tree(D, weight="cost")
    path = nx.shortest_path(T, a, b)
    return max(T.edges[p, q]["cost"] for p, q in itertools.pairwise(path))


def test_sd_test_removes_only_edges_dearer_than_their_bottleneck_steiner_distance_and_keeps_the_optimum():
    """60 seeded random graphs (14 nodes, integer weights 1-9, 3-7 terminals): every edge removed is dearer than its
    bottleneck Steiner distance computed independently, and the optimum is the same without the removed edges
    (measured: 1,091 edges removed over the 60 graphs)."""
    from test_routing_search import brute_force_optimum, small_random_graph

    removed = 0
    for seed in range(60):
        G, rng = small_random_graph(seed, 0.35, 1, 10)
        terms = rng.choice(14, int(rng.integers(3, 8)), replace=False).tolist()
        dropped = _sd_dropped(G, terms)
        for pair in dropped:
            a, b = tuple(pair)
            assert G.edges[a, b]["cost"] > _bottleneck_steiner_distance(G, terms, a, b), (seed, a, b)
        H = G.copy()
        H.remove_edges_from(tuple(p) for p in dropped)
        assert brute_force_optimum(H, terms) == pytest.approx(brute_force_optimum(G, terms)), seed
        removed += len(dropped)
    assert removed >= 1_000


def test_sd_test_removes_four_fifths_of_steinlib_d18():
    """SteinLib d18 (25,000 edges, 167 terminals): measured 19,788 edges removed (the long-edge test with 1,000
    pops a node: 17,148)."""
    G, terms, _opt = _steinlib("D", "d18.stp")
    assert len(_sd_dropped(G, terms)) >= 19_500


# -- the whole call, too large for any exact solve -------------------------------------------------------------------


def _dense_instance(seed: int) -> tuple[nx.Graph, list[int]]:
    """A SteinLib-C19-like instance: 500 nodes, 12,500 random edges of integer weight 1-10, 125 terminals."""
    rng = np.random.default_rng(seed)
    G = nx.gnm_random_graph(500, 12_500, seed=seed)
    G.add_edges_from((k, k + 1) for k in range(499))
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(1, 11))
    return G, sorted(rng.choice(500, 125, replace=False).tolist())


def test_search_proves_a_small_gap_where_the_single_start_cannot():
    """Dual ascent proves the thorough call within 2 % of the optimum; without the search it is not (measured:
    0.6 % against 4.9 %)."""
    G, terms = _dense_instance(6)
    T = steiner_tree(G, terms, exact=False, settings=THOROUGH)
    plain = steiner_tree(G, terms, exact=False, settings=NO_SEARCH)
    nxc = nx.algorithms.approximation.steiner_tree(G, terms, weight="cost").size(weight="cost")
    assert nx.is_tree(T) and set(terms) <= set(T.nodes)
    assert T.graph["cost"] <= plain.graph["cost"] and T.graph["cost"] <= nxc
    assert T.graph["gap"] <= 0.02 and plain.graph["gap"] > 0.03


def test_search_is_deterministic():
    G, terms = _dense_instance(7)
    for settings in (THOROUGH, DEFAULT_SETTINGS):
        a = steiner_tree(G, terms, exact=False, settings=settings)
        b = steiner_tree(G.copy(), terms, exact=False, settings=settings)
        assert sorted(map(sorted, a.edges)) == sorted(map(sorted, b.edges))


def _steinlib(series: str, name: str) -> tuple[nx.Graph, list[int], float]:
    if not STEINLIB.is_dir():
        pytest.skip(f"SteinLib instances not found at {STEINLIB} (../shared/benchmarks is absent)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _steinlib import read_stp

    with open(STEINLIB / "optima.csv", encoding="utf-8") as fh:
        opt = next(float(r["opt"]) for r in csv.DictReader(fh) if r["group"] == series and r["filename"] == name)
    G, terms = read_stp(STEINLIB / series / name)
    return G, terms, opt


@pytest.mark.parametrize(("series", "name"), [("C", "c18.stp"), ("D", "d18.stp")])
def test_steinlib_hardest_instances_within_3_percent(series, name):
    """c18 and d18 (83 and 167 terminals, 12,500 and 25,000 edges): within 3 % of the optimum, thorough.

    Measured without the search: c18 6.2 %, d18 8.1 % over the optimum.
    """
    G, terms, opt = _steinlib(series, name)
    T = steiner_tree(G, terms, settings=THOROUGH)
    assert T.graph["method"] == "mehlhorn+local-search"  # no exact solve repaired it
    assert opt - 1e-6 <= T.graph["cost"] <= 1.03 * opt
    plain = steiner_tree(G, terms, settings=NO_SEARCH)
    assert plain.graph["cost"] > 1.03 * opt  # the instance can see the search


def test_search_on_small_graphs_with_zero_weights_is_valid_and_reaches_brute_force_optima():
    """40 seeded 14-node graphs (weights 0-19, so no long-edge reduction), 6 terminals, no exact solve and no
    early stop at the bound: every tree spans the terminals, none costs more than without the search; measured
    39 optima of 40 (38 without the search)."""
    from test_routing_search import brute_force_optimum, small_random_graph

    hits = 0
    for seed in range(40):
        G, rng = small_random_graph(seed, 0.3, 0, 20)
        terms = rng.choice(14, 6, replace=False).tolist()
        opt = brute_force_optimum(G, terms)
        T = steiner_tree(G, terms, exact=False, lower_bound="mehlhorn", settings=THOROUGH)
        plain = steiner_tree(G, terms, exact=False, lower_bound="mehlhorn", settings=NO_SEARCH)
        assert nx.is_tree(T) and set(terms) <= set(T.nodes)
        assert opt - 1e-9 <= T.graph["cost"] <= plain.graph["cost"] + 1e-9
        hits += abs(T.graph["cost"] - opt) < 1e-9
    assert hits >= 39


# -- the fast default -----------------------------------------------------------------------------------------------


def test_fast_default_leaves_costly_exact_solves_to_the_thorough_settings():
    """A 900-node grid with 10 terminals: the Dreyfus-Wagner programme (2^9 x 2,640 = 1.4 million units, about
    0.2 s) is within the thorough budget, not the fast default's (30 x 2,640 units), and the default
    hands nothing to HiGHS; both trees span the terminals and the fast one is not cheaper than the proven one."""
    rng = np.random.default_rng(3)
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(30, 30))
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(1, 50))
    terms = sorted(rng.choice(900, 10, replace=False).tolist())
    fast = steiner_tree(G, terms)
    thorough = steiner_tree(G, terms, settings=THOROUGH)
    assert fast.graph["method"] == "mehlhorn+local-search" and fast.graph["lower_bound_method"] == "dual_ascent"
    assert not fast.graph["optimal"]  # measured gap 3.0 %: the programme would have closed it
    assert thorough.graph["optimal"] and thorough.graph["method"] in ("dreyfus-wagner", "mehlhorn+local-search")
    assert set(terms) <= set(fast.nodes) and nx.is_tree(fast)
    assert fast.graph["cost"] >= thorough.graph["cost"] - 1e-9
    assert fast.graph["lower_bound"] <= thorough.graph["cost"] + 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("series", ["C", "D"])
def test_fast_default_meets_the_quality_floor_on_steinlib(series):
    """Issue 14's quality floor for the default call: on every SteinLib C and D instance its tree costs no more
    than networkx's Mehlhorn approximation, its lower bound never exceeds the known optimum, and the gaps to the
    optima stay within a mean of 0.5 % and a maximum of 3 % (measured with seed 0: C 0.27 % / 1.77 %, D 0.46 % /
    2.24 %; before the SD test and the cheaper moves: C 0.57 % / 4.11 %, D 0.72 % / 4.48 %)."""
    if not STEINLIB.is_dir():
        pytest.skip(f"SteinLib instances not found at {STEINLIB} (../shared/benchmarks is absent)")
    with open(STEINLIB / "optima.csv", encoding="utf-8") as fh:
        names = [r["filename"] for r in csv.DictReader(fh) if r["group"] == series]
    assert len(names) == 20
    gaps = {}
    for name in names:
        G, terms, opt = _steinlib(series, name)
        T = steiner_tree(G, terms)
        nxc = nx.algorithms.approximation.steiner_tree(G, terms, weight="cost", method="mehlhorn").size(weight="cost")
        assert T.graph["cost"] <= nxc + 1e-9, name
        assert T.graph["lower_bound"] <= opt + 1e-6 <= T.graph["cost"] + 2e-6, name
        gaps[name] = (T.graph["cost"] - opt) / opt
    assert max(gaps.values()) <= 0.03, gaps
    assert sum(gaps.values()) / len(gaps) <= 0.005, gaps


def test_fast_default_reaches_steinlib_b_optima_with_its_minimum_search_work():
    """On graphs of a hundred nodes the default search gets ``search_min_work`` units, not 100 per node and edge:
    with the latter alone b13 and b16 stayed 3.0 % and 3.9 % above their optima (B mean 0.44 %); measured with the
    floor: mean 0.05 %, max 0.92 % (b18)."""
    if not STEINLIB.is_dir():
        pytest.skip(f"SteinLib instances not found at {STEINLIB} (../shared/benchmarks is absent)")
    with open(STEINLIB / "optima.csv", encoding="utf-8") as fh:
        names = [r["filename"] for r in csv.DictReader(fh) if r["group"] == "B"]
    assert len(names) == 18
    gaps = {}
    for name in names:
        G, terms, opt = _steinlib("B", name)
        T = steiner_tree(G, terms)
        assert T.graph["lower_bound"] <= opt + 1e-6 <= T.graph["cost"] + 2e-6, name
        gaps[name] = (T.graph["cost"] - opt) / opt
    assert gaps["b13.stp"] == gaps["b16.stp"] == 0.0
    assert max(gaps.values()) <= 0.01 and sum(gaps.values()) / len(gaps) <= 0.001
