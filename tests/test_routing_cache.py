"""The array cache of gisplan.routing cannot go stale, and bad options and weights are refused clearly."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gisplan._errors import RoutingError
from gisplan.routing._arrays import graph_arrays
from gisplan.routing.settings import RoutingSettings
from gisplan.routing.steiner import nearest_source_paths, steiner_tree


def weighted(edges) -> nx.Graph:
    G = nx.Graph()
    for a, b, w in edges:
        G.add_edge(a, b, cost=float(w))
    return G


def brute_force_optimum(G: nx.Graph, terminals: list, weight: str = "cost") -> float:
    """The cheapest Steiner tree by enumeration: the MST of the terminals plus every subset of other nodes."""
    others = [x for x in G.nodes if x not in set(terminals)]
    best = float("inf")
    for k in range(len(others) + 1):
        for extra in itertools.combinations(others, k):
            H = G.subgraph([*terminals, *extra])
            if nx.is_connected(H):
                best = min(best, sum(d[weight] for _a, _b, d in nx.minimum_spanning_edges(H, weight=weight)))
    return best


# -- every mutation of the issue, on a graph routed once before it changes ---------------------------------------


def test_swapping_one_edge_for_another_is_seen():
    """Same node and edge counts after the change: the old key missed it and returned cost 3.0 'optimal'."""
    G = weighted([(1, 2, 1), (2, 3, 1), (3, 4, 1), (4, 5, 1)])
    assert steiner_tree(G, [1, 4]).graph["cost"] == 3.0
    G.remove_edge(4, 5)
    G.add_edge(1, 4, cost=0.1)
    T = steiner_tree(G, [1, 4])
    assert T.graph["cost"] == pytest.approx(0.1) and set(map(frozenset, T.edges)) == {frozenset((1, 4))}
    assert T.graph["lower_bound"] <= 0.1 + 1e-12


def test_swapping_a_node_is_seen():
    """Remove a node and add another of the same degree: before, a KeyError."""
    G = weighted([(1, 2, 1), (2, 3, 1), (3, 4, 1)])
    steiner_tree(G, [1, 3])
    G.remove_node(4)
    G.add_edge(3, "x", cost=2.0)
    T = steiner_tree(G, [1, "x"])
    assert T.graph["cost"] == 4.0 and "x" in T
    assert nearest_source_paths(G, [1], ["x"])["x"].cost == 4.0


def test_weight_changed_in_place_is_seen_without_announcement():
    G = weighted([(1, 2, 1), (2, 3, 1), (1, 3, 5)])
    assert steiner_tree(G, [1, 3]).graph["cost"] == 2.0
    G.edges[1, 3]["cost"] = 0.5
    assert steiner_tree(G, [1, 3]).graph["cost"] == 0.5
    assert nearest_source_paths(G, [1], [3])[3].path == [1, 3]


def test_a_copy_never_shares_the_cache():
    G = weighted([(1, 2, 1), (2, 3, 1), (1, 3, 5)])
    assert steiner_tree(G, [1, 3]).graph["cost"] == 2.0
    H = G.copy()
    H.edges[1, 3]["cost"] = 0.25  # the copy's own attribute dict
    assert steiner_tree(H, [1, 3]).graph["cost"] == 0.25
    assert steiner_tree(G, [1, 3]).graph["cost"] == 2.0
    assert "_arrays" not in G.graph and "_arrays" not in H.graph  # nothing derived rides along in .graph


def test_subgraph_views_and_relabelled_graphs_get_their_own_arrays():
    G = weighted([(1, 2, 1), (2, 3, 1), (1, 3, 5), (3, 4, 1)])
    steiner_tree(G, [1, 4])
    V = G.subgraph([1, 3, 4])
    assert steiner_tree(V, [1, 4]).graph["cost"] == 6.0
    R = nx.relabel_nodes(G, {1: "a", 4: "d"})
    assert steiner_tree(R, ["a", "d"]).graph["cost"] == 3.0


def test_cached_arrays_are_reused_while_the_graph_is_unchanged():
    G = weighted([(1, 2, 1), (2, 3, 1)])
    assert graph_arrays(G) is graph_arrays(G)
    G.add_node(9)
    assert graph_arrays(G).n == 4


# -- option values -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("lower_bound", "dual-ascent", "dual_ascent"),
        ("lower_bound", "Auto", "auto"),
        ("exact", "yes", "'auto'"),
        ("exact", 1, "True, False"),
        ("effort", -1, "> 0"),
        ("effort", float("nan"), "> 0"),
        ("starts", 0, ">= 1"),
        ("starts", 2.5, ">= 1"),
        ("max_rounds", -1, ">= 0"),
        ("seed", -3, ">= 0"),
        ("weight", 3, "string"),
    ],
)
def test_unknown_option_values_raise_naming_the_valid_ones(option, value, named):
    G = weighted([(1, 2, 1), (2, 3, 1)])
    with pytest.raises(RoutingError, match=named.replace("(", r"\(")) as err:
        steiner_tree(G, [1, 3], **{option: value})
    assert repr(value) in str(err.value) or str(value) in str(err.value)


def test_nearest_source_paths_checks_its_option():
    G = weighted([(1, 2, 1)])
    with pytest.raises(RoutingError, match="'raise', 'skip'"):
        nearest_source_paths(G, [1], [2], unreachable="ignore")


def test_settings_are_checked():
    with pytest.raises(ValueError, match="starts_small"):
        RoutingSettings(starts_small=0)
    with pytest.raises(ValueError, match="zero_weight"):
        RoutingSettings(zero_weight=0.0)


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"search_moves": ()}, "search_moves must be a tuple of 'insertion', 'elimination', 'key-vertex', 'key-path'"),
        ({"search_moves": ("key-path", "swap")}, "'swap'"),
        ({"search_moves": ["key-path"]}, "search_moves"),
        ({"search_polish_moves": "insertion"}, "search_polish_moves"),
        ({"search_polish_share": 1.0}, r"search_polish_share must be a number in \[0, 1\)"),
        ({"search_polish_share": True}, "search_polish_share"),
    ],
)
def test_search_move_settings_are_checked_naming_the_valid_ones(kwargs, shown):
    with pytest.raises(ValueError, match=shown):
        RoutingSettings(**kwargs)
    assert RoutingSettings(search_polish_moves=()).search_polish_moves == ()  # no polish is valid


# -- weights -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "shown"),
    [("12", "'12'"), (None, "no 'cost' attribute"), (True, "True"), (-1.0, "-1.0"), (float("inf"), "inf")],
)
def test_bad_weights_raise_naming_the_edge(bad, shown):
    G = weighted([(1, 2, 1), (2, 3, 1)])
    G.add_edge(3, "pole-7", cost=bad)
    with pytest.raises(RoutingError, match=shown) as err:
        steiner_tree(G, [1, "pole-7"])
    assert "pole-7" in str(err.value) and "3" in str(err.value)


def test_all_string_weights_raise_a_routing_error_not_a_type_error():
    G = nx.Graph()
    G.add_edge("a", "b", cost="5")
    G.add_edge("b", "c", cost="7")
    with pytest.raises(RoutingError, match="cost="):
        steiner_tree(G, ["a", "c"])


def test_numpy_and_integer_weights_are_numbers():
    G = nx.Graph()
    G.add_edge(1, 2, cost=np.float32(1.5))
    G.add_edge(2, 3, cost=np.int64(2))
    G.add_edge(1, 3, cost=7)
    assert steiner_tree(G, [1, 3]).graph["cost"] == 3.5


@st.composite
def tiny_weight_instances(draw):
    """Graphs of up to 9 nodes whose weights are zeros and values of 1e-13 .. 1e-9."""
    n = draw(st.integers(3, 9))
    G = nx.gnp_random_graph(n, draw(st.floats(0.2, 0.8)), seed=draw(st.integers(0, 10_000)))
    G.add_edges_from((k, k + 1) for k in range(n - 1))
    scale = draw(st.sampled_from([1e-13, 1e-12, 1e-10, 1e-9]))
    m = G.number_of_edges()
    weights = draw(st.lists(st.integers(0, 9), min_size=m, max_size=m))
    for (a, b), w in zip(G.edges, weights, strict=True):
        G.edges[a, b]["cost"] = w * scale
    k = draw(st.integers(2, n))
    return G, draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_weight_instances(), st.sampled_from(["auto", "mehlhorn", "dual_ascent"]), st.booleans())
def test_tiny_weights_never_give_a_bound_above_the_optimum(case, bound, exact):
    """Before: weights of 1e-10 or less gave bounds above the optimum (the zero stand-in was 1e-9)."""
    G, terminals = case
    opt = brute_force_optimum(G, terminals)
    T = steiner_tree(G, terminals, lower_bound=bound, exact=exact)
    assert T.graph["lower_bound"] <= opt * (1 + 1e-9) + 1e-30
    assert T.graph["cost"] >= opt * (1 - 1e-9) - 1e-30
    if T.graph["optimal"]:
        assert T.graph["cost"] == pytest.approx(opt, rel=1e-9, abs=1e-30)


def test_zero_and_tiny_edge_mix_is_routed_on_true_weights():
    """Two zero edges beat one edge of 1e-10: the old stand-in (1e-9 per zero) chose the 1e-10 edge."""
    G = weighted([(1, 2, 0), (2, 3, 0), (1, 3, 1e-10)])
    T = steiner_tree(G, [1, 3], exact=False)
    assert T.graph["cost"] == 0.0 and T.graph["lower_bound"] == 0.0


def test_mehlhorn_bound_subtracts_what_the_zero_stand_ins_can_add():
    """The optimum is 0 (two zero edges); Mehlhorn's bound on the stand-in weights must not exceed it."""
    from gisplan.routing.settings import DEFAULT_SETTINGS
    from gisplan.routing.steiner import _heuristic

    G = weighted([(1, 2, 0), (2, 3, 0), (1, 3, 1e-10)])
    A = graph_arrays(G)
    assert A.zero_stand_in > 0
    idx = np.array([A.index[1], A.index[3]])
    is_term = np.zeros(A.n, dtype=bool)
    is_term[idx] = True
    _tree, bound = _heuristic(A, idx, is_term, starts=1, max_rounds=0, seed=0, moves=0, settings=DEFAULT_SETTINGS)
    assert bound == 0.0


def test_array_form_from_the_adjacency_equals_the_edge_list_construction():
    """graph_arrays builds its CSR from the adjacency without a full sort; it must give the very arrays the
    edge-list construction gives (edge order, CSR, edge ids, zero stand-in), self-loops and zero weights included."""
    from gisplan.routing._arrays import arrays_from_edges

    for seed in range(20):
        rng = np.random.default_rng(seed)
        G = nx.gnm_random_graph(60, 200, seed=seed)
        G = nx.relabel_nodes(G, {i: (f"n{(i * 7) % 60}" if seed % 2 else (i * 13) % 61) for i in G.nodes})
        for a, _b in list(G.edges)[:3]:
            G.add_edge(a, a)
        for a, b in G.edges:
            G.edges[a, b]["cost"] = float(rng.integers(0, 5))
        A = graph_arrays(G)
        nodes = list(G.nodes)
        index = {x: i for i, x in enumerate(nodes)}
        pairs = [(index[x], index[y], d["cost"]) for x, y, d in G.edges(data=True) if index[x] != index[y]]
        u, v, w = (np.array(c) for c in zip(*pairs, strict=True))
        B = arrays_from_edges(nodes, u, v, w, index=index)
        order_a = np.lexsort((A.v, A.u))
        order_b = np.lexsort((B.v, B.u))
        for f in ("u", "v", "w", "w_true"):
            assert np.array_equal(getattr(A, f)[order_a], getattr(B, f)[order_b]), (seed, f)
        assert np.array_equal(A.keys, B.keys) and A.zero_stand_in == B.zero_stand_in
        assert np.array_equal(A.csr.indptr, B.csr.indptr) and np.array_equal(A.csr.indices, B.csr.indices)
        assert np.array_equal(A.csr.data, B.csr.data)
        # the kernels' int64 copy of the CSR's structure is that structure, in both constructions
        for X in (A, B):
            assert X.indptr.dtype == X.indices.dtype == np.int64
            assert np.array_equal(X.indptr, X.csr.indptr) and np.array_equal(X.indices, X.csr.indices)
        # each CSR entry names the edge joining its row and column
        rows = np.repeat(np.arange(A.n), np.diff(A.csr.indptr))
        lo, hi = np.minimum(rows, A.csr.indices), np.maximum(rows, A.csr.indices)
        assert np.array_equal(A.u[A.eid], lo) and np.array_equal(A.v[A.eid], hi)


def test_int_node_ids_get_a_table_index_that_answers_like_the_dict():
    """Road graphs number their junctions 0..n-1: their node index is a table (no dict of every node), and it
    answers every lookup as the dict of the same nodes would; other node ids keep the dict."""
    from gisplan.routing._arrays import IntIndex

    G = nx.Graph()
    G.add_weighted_edges_from([(5, 2, 1.0), (2, 9, 2.0), (9, 0, 1.5), (0, 5, 4.0)], weight="cost")
    A = graph_arrays(G)
    assert isinstance(A.index, IntIndex)
    as_dict = {x: i for i, x in enumerate(G.nodes)}
    probes = [5, 2, 9, 0, np.int64(9), np.int32(2), 0.0, 9.0, True, False, 1, 3, -1, 10**30, 2.5, "5", None, (5,)]
    for key in probes:
        assert (key in A.index) == (key in as_dict), key
        if key in as_dict:
            assert A.index[key] == as_dict[key], key
        else:
            with pytest.raises(KeyError):
                A.index[key]
    assert len(A.index) == 4 and list(A.index) == list(G.nodes)
    T = steiner_tree(G, [np.int64(5), 9.0])  # terminals given as other integral types find their nodes
    assert T.graph["cost"] == pytest.approx(3.0) and set(T.nodes) == {5, 2, 9}
    for labels in ({0: -1}, {0: 10**6}, {0: "a"}, {0: 0.5}):  # negative, sparse, text, float ids: a dict
        H = nx.relabel_nodes(G, labels)
        assert isinstance(graph_arrays(H).index, dict), labels
