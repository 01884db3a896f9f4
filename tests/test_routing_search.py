"""Tests that see the local search and the bound, with no exact solve to repair them.

Every move is checked on a hand-made tree against a hand-derived better tree; the whole call is checked on
instances far too large for the automatic exact solve (``exact=False`` or a flow model far above the limit)
against known optima; the compiled dual ascent is checked against the pure-Python loop it replaced and against
the exact optimum on tree graphs (where the bound is tight).
"""

from __future__ import annotations

import heapq
import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gisplan._errors import RoutingError
from gisplan.routing._arrays import GraphArrays, graph_arrays
from gisplan.routing._bounds import dual_ascent
from gisplan.routing._heuristics import LocalSearch, tree_cost
from gisplan.routing.settings import RoutingSettings
from gisplan.routing.steiner import steiner_tree


def weighted(edges) -> nx.Graph:
    G = nx.Graph()
    for a, b, w in edges:
        G.add_edge(a, b, cost=float(w))
    return G


def tree_of(A: GraphArrays, pairs) -> np.ndarray:
    return np.sort(A.edge_ids(np.array([A.index[a] for a, _b in pairs]), np.array([A.index[b] for _a, b in pairs])))


def mask(A: GraphArrays, terminals) -> np.ndarray:
    m = np.zeros(A.n, dtype=bool)
    m[[A.index[t] for t in terminals]] = True
    return m


def names(A: GraphArrays, eids) -> set[frozenset]:
    return {frozenset((A.nodes[A.u[e]], A.nodes[A.v[e]])) for e in eids.tolist()}


# -- each move on a hand-made tree ---------------------------------------------------------------------------------


def test_key_path_exchange_replaces_a_dear_key_path_by_the_cheap_one():
    """Tree a-x-y-b-c (3 + 3 + 3 + 1): the key path a..b (9) has a replacement a-z-b (2 + 2): 5 in all."""
    G = weighted([("a", "x", 3), ("x", "y", 3), ("y", "b", 3), ("b", "c", 1), ("a", "z", 2), ("z", "b", 2)])
    A = graph_arrays(G)
    start = tree_of(A, [("a", "x"), ("x", "y"), ("y", "b"), ("b", "c")])
    ls = LocalSearch(A, mask(A, "abc"), insertion=False, elimination=False)
    out, improved = ls.key_path_exchange(start)
    assert improved and tree_cost(A, out) == 5.0
    assert names(A, out) == {frozenset("az"), frozenset("zb"), frozenset("bc")}


def test_key_path_exchange_keeps_a_tree_it_cannot_improve():
    G = weighted([("a", "x", 1), ("x", "b", 1), ("a", "z", 2), ("z", "b", 2)])
    A = graph_arrays(G)
    start = tree_of(A, [("a", "x"), ("x", "b")])
    out, improved = LocalSearch(A, mask(A, "ab")).key_path_exchange(start)
    assert not improved and names(A, out) == names(A, start)


def test_key_vertex_elimination_drops_a_dear_steiner_hub():
    """Hub s joins a, b, c at 2 each (6); the terminals' own edges a-b, b-c cost 1.5 each (3)."""
    G = weighted([("s", "a", 2), ("s", "b", 2), ("s", "c", 2), ("a", "b", 1.5), ("b", "c", 1.5)])
    A = graph_arrays(G)
    start = tree_of(A, [("s", "a"), ("s", "b"), ("s", "c")])
    out, improved = LocalSearch(A, mask(A, "abc")).key_vertex_elimination(start)
    assert improved and tree_cost(A, out) == 3.0


def test_vertex_insertion_adds_the_steiner_centre():
    """Terminals a, b, c pairwise 2 apart (tree 4); centre s at 1.1 from each: 3.3."""
    G = weighted([("a", "b", 2), ("b", "c", 2), ("a", "c", 2), ("s", "a", 1.1), ("s", "b", 1.1), ("s", "c", 1.1)])
    A = graph_arrays(G)
    start = tree_of(A, [("a", "b"), ("b", "c")])
    out, improved = LocalSearch(A, mask(A, "abc")).vertex_insertion(start)
    assert improved and tree_cost(A, out) == pytest.approx(3.3)


# -- the whole call where no exact solve can repair it --------------------------------------------------------------


def small_random_graph(seed: int, p: float, low: int, high: int) -> tuple[nx.Graph, np.random.Generator]:
    """A seeded connected 14-node graph (G(14, p) plus the path 0-13) with integer weights in [low, high), and the
    generator that drew them (for the caller's terminals)."""
    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(14, p, seed=seed)
    G.add_edges_from((k, k + 1) for k in range(13))
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(low, high))
    return G, rng


def brute_force_optimum(G: nx.Graph, terminals: list) -> float:
    """The cheapest Steiner tree by enumeration: the MST of the terminals plus every subset of other nodes."""
    others = [x for x in G.nodes if x not in set(terminals)]
    best = float("inf")
    for k in range(len(others) + 1):
        for extra in itertools.combinations(others, k):
            H = G.subgraph([*terminals, *extra])
            if nx.is_connected(H):
                best = min(best, sum(d["cost"] for _a, _b, d in nx.minimum_spanning_edges(H, weight="cost")))
    return best


def test_key_path_exchange_alone_reaches_brute_force_optima_that_mehlhorn_misses():
    """40 seeded 14-node graphs, 6 terminals, no exact solve, key-path exchange as the only move.

    Measured: Mehlhorn + MST-prune alone is optimal on 36 of 40 (15 over the optima in all), key-path
    exchange on 38 (11 over).  (With the scipy Mehlhorn, whose ties fall differently on these integer weights,
    it was 32 (25 over) against 37 (15 over).)  Breaking the exchange brings both back to Mehlhorn's.
    """
    kpx_only = RoutingSettings(local_neighbourhood_nodes=0, insertion_max_nodes=0, search_max_nodes=0)
    plain_hits = kpx_hits = 0
    plain_over = kpx_over = 0.0
    for seed in range(40):
        G, rng = small_random_graph(seed, 0.3, 1, 20)
        terms = rng.choice(14, 6, replace=False).tolist()
        opt = brute_force_optimum(G, terms)
        plain = steiner_tree(G, terms, exact=False, max_rounds=0).graph["cost"]
        searched = steiner_tree(G, terms, exact=False, settings=kpx_only)
        assert opt <= searched.graph["cost"] <= plain
        plain_hits += plain == opt
        kpx_hits += searched.graph["cost"] == opt
        plain_over += plain - opt
        kpx_over += searched.graph["cost"] - opt
    assert plain_hits <= 36 and kpx_hits >= 38
    assert kpx_over <= 11 < plain_over


def test_key_path_exchange_alone_reaches_the_known_optimum_on_a_big_grid():
    """A 60 x 60 grid (7,080 edges, 60 terminals: a flow model of 835,000 variables, no exact solve).

    Key-path exchange alone with ``effort=6`` (about four Voronoi passes): measured 1,055 from Mehlhorn, 726 after
    two passes, the optimum 656 after four."""
    rng = np.random.default_rng(3)
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(60, 60), ordering="sorted")
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(5, 20))
    # a planted cheap comb: a spine along row 30 and teeth up to each terminal, all at weight 1
    terms = []
    for col in range(0, 60, 4):
        for row in (10, 50):
            terms.append(row * 60 + col)
            lo, hi = sorted((row, 30))
            for r in range(lo, hi):
                G.edges[r * 60 + col, (r + 1) * 60 + col]["cost"] = 1.0
    for col in range(59):
        G.edges[30 * 60 + col, 30 * 60 + col + 1]["cost"] = 1.0
    comb = 15 * 40 + 56  # 15 teeth of 20 + 20 edges, the spine from column 0 to 56
    settings = RoutingSettings(local_neighbourhood_nodes=10, insertion_max_nodes=10, search_max_nodes=0)  # kpx only
    T = steiner_tree(G, terms, exact=False, settings=settings, effort=6)
    # every edge of weight >= 5 costs at least 4 more than any detour of the comb, so the comb is optimal
    assert T.graph["cost"] == pytest.approx(comb)
    assert nx.is_tree(T) and set(terms) <= set(T.nodes)


# -- the bound ------------------------------------------------------------------------------------------------------


def dual_ascent_reference(A: GraphArrays, terminals: np.ndarray, root: int, switch_slack: float = 1.25) -> float:
    """The pure-Python dual ascent gisplan ran before it was compiled, its arcs named as the compiled loop names
    them: by CSR entry (entry p of row y is the arc indices[p] -> y; equal keys ordered by entry)."""
    terminals = np.unique(terminals)
    n, m = A.n, len(A.u)
    ptr_np, tails_np = A.csr.indptr, A.csr.indices
    heads_np = np.repeat(np.arange(n), np.diff(ptr_np))
    entry = {(int(h), int(t)): p for p, (h, t) in enumerate(zip(heads_np, tails_np, strict=True))}
    rev = [entry[(int(t), int(h))] for h, t in zip(heads_np, tails_np, strict=True)]
    c = A.w_true[A.eid].astype(np.float64)
    deg = np.diff(ptr_np)
    in_ptr, in_tail = ptr_np.tolist(), tails_np.tolist()
    in_arc = list(range(len(in_tail)))
    tail = in_tail
    cbar = c.tolist()
    tol = 1e-12 * float(c.max())
    pushed_at = [0.0] * (2 * m)
    in_r = bytearray(n)
    in_r[root] = 1
    active = bytearray(n)
    for x in terminals.tolist():
        active[x] = 1
    active[root] = 0
    saved: dict[int, tuple[set[int], list[int]]] = {}
    queue = [(int(deg[t]), int(t)) for t in terminals.tolist() if t != root]
    heapq.heapify(queue)
    lb = 0.0
    while queue:
        _size, t = heapq.heappop(queue)
        state = saved.pop(t, None)
        if in_r[t] or not active[t]:
            continue
        W, cut = state if state is not None else ({t}, in_arc[in_ptr[t] : in_ptr[t + 1]])
        heap = [(cbar[a], a) for a in cut]
        for a in cut:
            pushed_at[a] = 0.0
        heapq.heapify(heap)
        cnt, offset, hit, paused = len(heap), 0.0, -1, False
        while heap:
            key, a = heap[0]
            y = tail[a]
            if y in W:
                heapq.heappop(heap)
                continue
            if key > offset:
                if queue and cnt > switch_slack * queue[0][0]:
                    paused = True
                    break
                lb += key - offset
                offset = key
            heapq.heappop(heap)
            W.add(y)
            for p in range(in_ptr[y], in_ptr[y + 1]):
                z, ai = in_tail[p], in_arc[p]
                if z in W:
                    ao = rev[ai]
                    cbar[ao] = max(cbar[ao] - (offset - pushed_at[ao]), 0.0)
                    cnt -= 1
                else:
                    heapq.heappush(heap, (cbar[ai] + offset, ai))
                    pushed_at[ai] = offset
                    cnt += 1
            if in_r[y]:
                hit = y
                break
            if active[y]:
                active[t] = 0
                break
        live = []
        for key, a in heap:
            if tail[a] not in W:
                cbar[a] = max(key - offset, 0.0)
                live.append(a)
        if paused:
            saved[t] = (W, live)
            heapq.heappush(queue, (cnt, t))
        elif hit >= 0:
            active[t] = 0
            stack = [hit]
            while stack:
                x = stack.pop()
                for p in range(in_ptr[x], in_ptr[x + 1]):
                    z = in_tail[p]
                    if not in_r[z] and cbar[rev[in_arc[p]]] <= tol:
                        in_r[z] = 1
                        stack.append(z)
    return lb


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_compiled_dual_ascent_equals_the_python_loop(seed):
    """Seeds 4 and 5 draw integer weights 1-3: keys tie all the time, so the tie order is checked too."""
    rng = np.random.default_rng(seed)
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(45, 45))
    G.add_edges_from((int(a), int(b)) for a, b in rng.integers(0, 2025, (300, 2)) if a != b)
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(1, 4)) if seed > 3 else float(rng.uniform(1, 50))
    A = graph_arrays(G)
    idx = np.unique(rng.choice(A.n, 80, replace=False))
    deg = np.diff(A.csr.indptr)
    root = int(idx[np.argmax(deg[idx])])
    assert dual_ascent(A, idx) == dual_ascent_reference(A, idx, root)


def test_big_graphs_switch_dual_ascent_components_less_often():
    """From ``dual_ascent_large_edges`` edges on, the switch slack is ``dual_ascent_large_slack`` (the Python loop
    with that slack gives the same bound; with the small-graph slack a different one)."""
    rng = np.random.default_rng(8)
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(45, 45))
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.uniform(1, 50))
    A = graph_arrays(G)
    idx = np.unique(rng.choice(A.n, 80, replace=False))
    root = int(idx[np.argmax(np.diff(A.csr.indptr)[idx])])
    big = RoutingSettings(dual_ascent_large_edges=len(A.u), dual_ascent_large_slack=4.0)
    assert dual_ascent(A, idx, settings=big) == dual_ascent_reference(A, idx, root, switch_slack=4.0)
    assert dual_ascent(A, idx, settings=big) != dual_ascent_reference(A, idx, root, switch_slack=1.25)
    small = RoutingSettings(dual_ascent_large_edges=len(A.u) + 1, dual_ascent_large_slack=4.0)
    assert dual_ascent(A, idx, settings=small) == dual_ascent_reference(A, idx, root, switch_slack=1.25)


def test_dual_ascent_is_the_optimum_on_a_tree_graph():
    """On a tree the cheapest Steiner tree is the subtree the terminals span, and dual ascent reaches it."""
    rng = np.random.default_rng(9)
    G = nx.random_labeled_tree(3000, seed=9)
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(1, 100))
    terms = rng.choice(3000, 60, replace=False).tolist()
    H = G.copy()
    leaves = [x for x in H if H.degree(x) == 1 and x not in set(terms)]
    while leaves:  # prune non-terminal leaves: what is left is the optimum
        H.remove_nodes_from(leaves)
        leaves = [x for x in H if H.degree(x) == 1 and x not in set(terms)]
    opt = H.size(weight="cost")
    A = graph_arrays(G)
    assert dual_ascent(A, np.array([A.index[t] for t in terms])) == pytest.approx(opt, rel=1e-12)
    T = steiner_tree(G, terms, exact=False)
    assert T.graph["cost"] == pytest.approx(opt) and T.graph["optimal"]
    assert T.graph["lower_bound_method"] == "dual_ascent"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(6, 11), st.integers(2, 6))
def test_dreyfus_wagner_is_the_brute_force_optimum(seed, n, k):
    from gisplan.routing._bounds import dreyfus_wagner

    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(n, 0.4, seed=seed)
    G.add_edges_from((i, i + 1) for i in range(n - 1))
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(0, 15))
    terms = rng.choice(n, min(k, n), replace=False).tolist()
    A = graph_arrays(G)
    eids, bound = dreyfus_wagner(A, np.array([A.index[t] for t in terms]))
    opt = brute_force_optimum(G, terms)
    assert float(A.w_true[eids].sum()) == pytest.approx(opt, abs=1e-6)
    assert bound <= opt + 1e-9 and bound == pytest.approx(opt, abs=1e-5)  # less the zero stand-ins
    H = nx.Graph([(A.nodes[A.u[e]], A.nodes[A.v[e]]) for e in eids.tolist()])
    assert set(terms) <= set(H.nodes) | ({terms[0]} if len(terms) == 1 else set()) and nx.is_connected(H)


def test_few_terminals_on_a_big_graph_are_solved_exactly_by_the_dynamic_programme():
    """5 terminals on a 60 x 60 grid: a flow model of 56,640 variables (too big for HiGHS by default)."""
    rng = np.random.default_rng(4)
    G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(60, 60), ordering="sorted")
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.integers(1, 30))
    terms = [0, 59, 3540, 3599, 1830]
    T = steiner_tree(G, terms)
    assert T.graph["optimal"] and T.graph["gap"] == 0.0
    assert T.graph["lower_bound_method"] in ("dreyfus-wagner", "dual_ascent")
    plain = steiner_tree(G, terms, exact=False)
    assert T.graph["cost"] <= plain.graph["cost"]


def test_voronoi_key_path_exchange_keeps_a_spanning_tree_on_random_graphs():
    """300 seeded graphs of three shapes (grids, random geometric, preferential attachment) with integer weights
    0-5 (ties and zeros), up to eight passes each from the Mehlhorn tree: every pass leaves a tree (edges = nodes
    - 1, connected) spanning the terminals and never dearer.  Several exchanges are made per pass; breaking the
    rules that keep them apart (moved subtrees, removed paths, the nodes others hang on) breaks the tree."""
    from scipy import sparse
    from scipy.sparse import csgraph

    from gisplan.routing._heuristics import mehlhorn, mst_prune, tree_cost, tree_nodes

    exchanges = 0
    for seed in range(300):
        rng = np.random.default_rng(1000 + seed)
        kind = seed % 3
        if kind == 0:
            side = int(rng.integers(4, 25))
            G = nx.convert_node_labels_to_integers(nx.grid_2d_graph(side, side))
        elif kind == 1:
            G = nx.random_geometric_graph(int(rng.integers(20, 300)), 0.15, seed=seed)
            G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
        else:
            G = nx.barabasi_albert_graph(int(rng.integers(10, 200)), 2, seed=seed)
        for a, b in G.edges:
            G.edges[a, b]["cost"] = float(rng.integers(0, 6))
        A = graph_arrays(G)
        if A.n < 4:
            continue
        terms = rng.choice(list(G.nodes), int(rng.integers(2, max(3, A.n // 3))), replace=False)
        is_term = mask(A, terms)
        idx = np.flatnonzero(is_term)
        start = mehlhorn(A, idx, np.arange(len(idx)))
        assert start is not None
        tree = mst_prune(A, tree_nodes(A, start[0]), is_term)
        for _ in range(8):
            out, improved = LocalSearch(A, is_term, insertion=False, elimination=False).key_path_exchange(tree)
            nodes = tree_nodes(A, out)
            assert len(out) == len(nodes) - 1 and np.isin(idx, nodes).all(), seed
            g = sparse.coo_array(
                (np.ones(len(out)), (np.searchsorted(nodes, A.u[out]), np.searchsorted(nodes, A.v[out]))),
                shape=(len(nodes), len(nodes)),
            )
            assert csgraph.connected_components(g, directed=False)[0] == 1, seed
            degree = np.bincount(np.concatenate([A.u[out], A.v[out]]), minlength=A.n)
            assert is_term[degree == 1].all(), seed  # no dangling non-terminal leaf
            assert tree_cost(A, out) <= tree_cost(A, tree) + 1e-9, seed
            if not improved:
                break
            exchanges += 1
            tree = out
    assert exchanges >= 200  # measured 222 improving passes


@pytest.mark.parametrize("seed", range(6))
def test_compiled_first_start_is_mehlhorns_tree_with_its_guarantee(seed):
    """The compiled Mehlhorn start against networkx's Mehlhorn on random weights (no ties): the same cost, the
    MST-prune no dearer, every terminal spanned; and terminals in two components are reported as not joined."""
    from gisplan.routing._search import first_start

    rng = np.random.default_rng(seed)
    G = nx.connected_watts_strogatz_graph(300, 4, 0.2, seed=seed)
    for a, b in G.edges:
        G.edges[a, b]["cost"] = float(rng.uniform(1.0, 10.0))
    terms = rng.choice(300, 12, replace=False).tolist()
    A = graph_arrays(G, "cost")
    idx = np.array([A.index[t] for t in terms])
    first, pruned, left = first_start(A, idx)
    expected = nx.algorithms.approximation.steiner_tree(G, terms, weight="cost", method="mehlhorn")
    assert left == 0
    assert tree_cost(A, first) == pytest.approx(expected.size(weight="cost"), rel=1e-12)
    assert tree_cost(A, pruned) <= tree_cost(A, first) + 1e-9
    T = nx.Graph([(int(A.u[e]), int(A.v[e])) for e in pruned])
    assert nx.is_tree(T) and set(idx.tolist()) <= set(T.nodes)
    # a second component holding two terminals: one group is left unjoined, and the call names them
    G.add_edge("x", "y", cost=1.0)
    A2 = graph_arrays(G, "cost")
    idx2 = np.array([A2.index[t] for t in [*terms, "x", "y"]])
    assert first_start(A2, idx2)[2] == 1
    with pytest.raises(RoutingError, match="cannot be reached"):
        steiner_tree(G, [*terms, "x", "y"])
