"""The incremental shortcut step against a simple reference greedy (issue 12, section 5).

The reference below is the straightforward greedy the module describes: every round it routes every
span end over the whole network (all-sources Dijkstra), estimates each candidate span by span,
evaluates the best ``evals_per_round`` exactly and adds the best.  The fast step must take the same
decisions on random street grids (float lengths, so no ties), so a wrong incremental update of the
distances, the span paths or the route costs shows up as a different shortcut, path or figure.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Hashable, Mapping, Sequence

import networkx as nx
import numpy as np
import pytest

from gisplan.catalog._catalog import Catalog, load_catalog
from gisplan.underground._quantities import Edge
from gisplan.underground._shortcuts import (
    _EPS,
    Shortcut,
    ShortcutResult,
    Span,
    _cost,
    _edge_lengths,
    _Routing,
    add_shortcuts,
    candidate_shortcuts,
    route_cable_costs,
)
from gisplan.underground.settings import UndergroundSettings


def _reference(
    G: nx.Graph, T: nx.Graph, spans: Sequence[Span], *, cat: Catalog, spacing_m: float, max_length_m: float,
    max_rounds: int, evals: int,
) -> ShortcutResult:  # fmt: skip
    N = T.copy()
    length = _edge_lengths(G)
    cpd, spare = int(cat.param("cables_per_duct")), int(cat.param("spare_ducts"))
    duct_pm, mh, hh = float(cat.price("DUCT.HDPE40")), float(cat.price("MH.STD")), float(cat.price("HH.STD"))
    by_route: dict[str, list[Span]] = {}
    for s in spans:
        by_route.setdefault(s.route, []).append(s)
    sources = sorted({n for s in spans for n in (s.a, s.b)}, key=lambda n: (str(type(n)), repr(n)))
    cands = candidate_shortcuts(G, N, max_length_m=max_length_m)
    added: list[Shortcut] = []
    saving_total = cost_total = 0.0
    cable_m_tree = -1.0
    price = np.array([s.price_per_m for s in spans])
    while True:
        r = _Routing(N, sources)
        paths = {s.cable_id: r.path(s.a, s.b) for s in spans}
        rcost, rmetres = route_cable_costs(spans, paths, length)
        if cable_m_tree < 0:
            cable_m_tree = sum(rmetres.values())
        if len(added) >= max_rounds or not cands:
            break
        a_idx = np.array([r.src[s.a] for s in spans])
        b_idx = np.array([r.src[s.b] for s in spans])
        d_now = np.array([r.d(s.a, s.b) for s in spans])
        ch = {n for n in N.nodes if N.degree[n] >= 3}

        def via(
            c: Shortcut, r: _Routing = r, a_idx: np.ndarray = a_idx, b_idx: np.ndarray = b_idx
        ) -> tuple[np.ndarray, np.ndarray]:
            u, v = r.index[c.nodes[0]], r.index[c.nodes[-1]]
            return (
                r.dist[a_idx, u] + c.length_m + r.dist[b_idx, v],
                r.dist[a_idx, v] + c.length_m + r.dist[b_idx, u],
            )

        est = np.array([float(np.sum(price * np.maximum(d_now - np.minimum(*via(c)), 0.0))) for c in cands])
        floor = np.array([_cost(c, 1, N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m) for c in cands])
        order = [i for i in np.argsort(-(est - floor), kind="stable").tolist() if est[i] - floor[i] > 0]
        best = None
        for i in order[:evals]:
            c = cands[i]
            fwd, rev = via(c)
            new: dict[str, list[Hashable]] = dict(paths)
            routes: set[str] = set()
            for k in np.flatnonzero(np.minimum(fwd, rev) < d_now - _EPS).tolist():
                s = spans[k]
                if fwd[k] <= rev[k]:
                    new[s.cable_id] = r.path(s.a, c.nodes[0]) + list(c.nodes[1:]) + r.path(s.b, c.nodes[-1])[::-1][1:]
                else:
                    new[s.cable_id] = (
                        r.path(s.a, c.nodes[-1]) + list(c.nodes[-2::-1]) + r.path(s.b, c.nodes[0])[::-1][1:]
                    )
                routes.add(s.route)
            after, _m = route_cable_costs([s for rt in sorted(routes) for s in by_route[rt]], new, length)
            saving = sum(rcost[rt] - after[rt] for rt in routes)
            cost = _cost(c, len(routes), N, ch, G, cpd, spare, duct_pm, mh, hh, spacing_m)
            if saving - cost > _EPS and (best is None or saving - cost > best[0] + _EPS):
                best = (saving - cost, i, saving, cost)
        if best is None:
            break
        c = cands[best[1]]
        for a, b in itertools.pairwise(c.nodes):
            N.add_edge(a, b, **G.edges[a, b], shortcut=True)
        added.append(c)
        saving_total += best[2]
        cost_total += best[3]
        used_e, used_n = set(c.edges), set(c.nodes[1:-1])
        cands = [k for k in cands if not (used_e & set(k.edges) or used_n & set(k.nodes))]
    return ShortcutResult(N, paths, added, cable_m_tree, sum(rmetres.values()), saving_total, cost_total)


def _street_grid(seed: int, side: int = 9) -> tuple[nx.Graph, nx.Graph, list[Span]]:
    """A jittered street grid, a random spanning tree of most of it, and spans between nearby tree nodes."""
    rng = random.Random(seed)
    G = nx.Graph()
    pos = {
        (i, j): (i * 60.0 + rng.uniform(-12, 12), j * 60.0 + rng.uniform(-12, 12))
        for i in range(side)
        for j in range(side)
    }
    for n, (x, y) in pos.items():
        G.add_node(n, x=x, y=y)
    for (i, j), (x, y) in pos.items():
        for m in ((i + 1, j), (i, j + 1)):
            if m in pos:
                L = math.dist((x, y), pos[m])
                G.add_edge((i, j), m, length_m=L, cost=L * rng.uniform(0.8e6, 1.6e6), kind="road")
    H = G.copy()
    for a, b in H.edges:
        H.edges[a, b]["w"] = rng.random()
    T = nx.minimum_spanning_tree(H, weight="w")
    T = nx.Graph(T.subgraph(list(T.nodes)))
    for a, b in list(T.edges):
        del T.edges[a, b]["w"]
    spans: list[Span] = []
    nodes = sorted(T.nodes)
    for k in range(70):
        a = rng.choice(nodes)
        b = rng.choice([m for m in G.adj[a]] + [rng.choice(nodes)])
        if a == b:
            continue
        spans.append(Span(f"C{k:03d}", a, b, f"R{rng.randrange(12)}", rng.uniform(40e3, 900e3)))
    return G, T, spans


@pytest.mark.parametrize("seed", range(8))
def test_incremental_shortcuts_match_the_reference_greedy(seed: int) -> None:
    G, T, spans = _street_grid(seed)
    cat = load_catalog()
    kw = {"cat": cat, "spacing_m": 80.0, "max_length_m": 200.0, "max_rounds": 12}
    fast = add_shortcuts(G, T, spans, terminal_nodes=[], settings=UndergroundSettings(evals_per_round=3), **kw)
    ref = _reference(G, T, spans, evals=3, **kw)
    assert [c.nodes for c in fast.added] == [c.nodes for c in ref.added]
    assert fast.paths == ref.paths
    assert fast.cable_m_tree == pytest.approx(ref.cable_m_tree, rel=1e-12)
    assert fast.cable_m == pytest.approx(ref.cable_m, rel=1e-12)
    assert fast.saving_vnd == pytest.approx(ref.saving_vnd, rel=1e-12)
    assert fast.cost_vnd == pytest.approx(ref.cost_vnd, rel=1e-12)
    assert sorted(fast.network.edges) == sorted(ref.network.edges)


def test_the_grids_exercise_several_shortcuts() -> None:
    """The comparison above is meaningful: the random grids add several shortcuts, each paying for itself."""
    cat = load_catalog()
    n_added = []
    for seed in range(8):
        G, T, spans = _street_grid(seed)
        res = add_shortcuts(
            G, T, spans, terminal_nodes=[], cat=cat, spacing_m=80.0, max_length_m=200.0, max_rounds=12,
            settings=UndergroundSettings(evals_per_round=3),
        )  # fmt: skip
        n_added.append(len(res.added))
        assert res.saving_vnd > res.cost_vnd or not res.added
        # the reported paths are the shortest paths of the built network, and the cable metres their union
        length: Mapping[Edge, float] = _edge_lengths(G)
        for s in spans:
            want = nx.dijkstra_path_length(res.network, s.a, s.b, weight="length_m")
            got = sum(res.network.edges[a, b]["length_m"] for a, b in itertools.pairwise(res.paths[s.cable_id]))
            assert got == pytest.approx(want, rel=1e-9)
        _c, metres = route_cable_costs(spans, res.paths, length)
        assert sum(metres.values()) == pytest.approx(res.cable_m, rel=1e-12)
        assert res.cable_m < res.cable_m_tree or not res.added
    assert sum(n_added) >= 16 and min(n_added) >= 1, n_added


@pytest.mark.parametrize("seed", range(4))
def test_bounded_estimates_equal_the_span_by_span_sums(seed: int) -> None:
    """The estimate skips (candidate, span) pairs out of reach; the sums must equal the plain ones."""
    from gisplan.underground._shortcuts import _estimates_fast

    G, T, spans = _street_grid(seed)
    cands = candidate_shortcuts(G, T, max_length_m=200.0)
    nodes = sorted(T.nodes)
    dist = dict(nx.all_pairs_dijkstra_path_length(T, weight="length_m"))
    row = {n: i for i, n in enumerate(nodes)}
    D = np.array([[dist[x][y] for y in nodes] for x in nodes])
    a_col = np.array([row[s.a] for s in spans])
    b_col = np.array([row[s.b] for s in spans])
    d_now = np.array([dist[s.a][s.b] for s in spans])
    price = np.array([s.price_per_m for s in spans])
    want = [
        sum(
            s.price_per_m
            * max(
                dn
                - min(
                    dist[c.nodes[0]][s.a] + c.length_m + dist[c.nodes[-1]][s.b],
                    dist[c.nodes[-1]][s.a] + c.length_m + dist[c.nodes[0]][s.b],
                ),
                0.0,
            )
            for s, dn in zip(spans, d_now, strict=True)
        )
        for c in cands
    ]
    got = _estimates_fast(D, row, cands, a_col, b_col, d_now, price)
    assert sum(w > 0 for w in want) >= 3
    assert got == pytest.approx(want, rel=1e-9, abs=1e-3)


def _loop_grid(seed: int, side: int = 12) -> tuple[nx.Graph, nx.Graph, list[Span]]:
    """A street grid whose tree leaves every block open on one side: a comb (the first column and every row), so
    the cables along the columns go round long loops and many shortcuts compete for the same spans."""
    rng = random.Random(seed)
    G = nx.Graph()
    pos = {
        (i, j): (i * 70.0 + rng.uniform(-9, 9), j * 70.0 + rng.uniform(-9, 9)) for i in range(side) for j in range(side)
    }
    for n, (x, y) in pos.items():
        G.add_node(n, x=x, y=y)
    for (i, j), (x, y) in pos.items():
        for m in ((i + 1, j), (i, j + 1)):
            if m in pos:
                L = math.dist((x, y), pos[m])
                G.add_edge((i, j), m, length_m=L, cost=L * rng.uniform(0.6e6, 1.2e6), kind="road")
    T = nx.Graph()
    for (a, b), d in G.edges.items():
        if a[1] == b[1] or (a[0] == 0 and b[0] == 0):  # the rows, and the first column joining them
            T.add_edge(a, b, **d)
    T.add_nodes_from((n, G.nodes[n]) for n in T.nodes)
    spans: list[Span] = []
    for k in range(90):  # along the columns, each line a route of a few spans
        i, j = rng.randrange(1, side), rng.randrange(side - 1)
        spans.append(Span(f"C{k:03d}", (i, j), (i, j + 1), f"R{i}", rng.uniform(60e3, 700e3)))
    return G, T, spans


@pytest.mark.parametrize("seed", range(3))
def test_lazy_shortcuts_pick_what_the_eager_greedy_picks_on_a_loop_grid(seed: int) -> None:
    """The lazy step keeps estimates and exact savings until an addition touches them; with many evaluations a
    round (the default 40) and many additions, it must add the same shortcuts as the eager reference greedy that
    re-evaluates everything every round."""
    G, T, spans = _loop_grid(seed)
    cat = load_catalog()
    kw = {"cat": cat, "spacing_m": 80.0, "max_length_m": 160.0, "max_rounds": 40}
    lazy = add_shortcuts(G, T, spans, terminal_nodes=[], settings=UndergroundSettings(evals_per_round=40), **kw)
    ref = _reference(G, T, spans, evals=40, **kw)
    assert len(ref.added) >= 5  # the grid makes the greedy work: several rounds, candidates re-evaluated
    assert [c.nodes for c in lazy.added] == [c.nodes for c in ref.added]
    assert lazy.paths == ref.paths
    assert lazy.cable_m == pytest.approx(ref.cable_m, rel=1e-12)
    assert lazy.saving_vnd == pytest.approx(ref.saving_vnd, rel=1e-12)
    assert lazy.cost_vnd == pytest.approx(ref.cost_vnd, rel=1e-12)


def test_matrix_with_edges_equals_the_matrix_rebuilt() -> None:
    """Adding a shortcut's edges to the network's matrix gives the matrix of the grown network (same node order)."""
    from gisplan.underground._shortcuts import _Matrix

    G, T, _spans = _loop_grid(3)
    # every other row's far half left out: the shortcuts across it bring new nodes
    N = nx.Graph(T.subgraph([n for n in T.nodes if n[0] < 6 or n[1] % 2 == 0]))
    mat = _Matrix(N)
    cands = candidate_shortcuts(G, N, max_length_m=250.0)
    assert any(len(c.nodes) > 2 for c in cands)  # some bring new nodes
    for c in sorted(cands, key=lambda c: -len(c.nodes))[:5]:
        new = [(a, b, G.edges[a, b]["length_m"]) for a, b in itertools.pairwise(c.nodes) if not N.has_edge(a, b)]
        N.add_edges_from((a, b, G.edges[a, b]) for a, b, _w in new)
        mat = mat.with_edges(new)
        want = _Matrix(N)
        assert mat.nodes == want.nodes
        # the searches are undirected: each edge once, in either direction
        assert ((mat.M + mat.M.T) != (want.M + want.M.T)).nnz == 0


def test_feeder_tree_counts_equal_the_per_path_counts() -> None:
    """Gathering the routes up the root's shortest-path tree counts the same routes per edge as walking every
    span end's path to the root, on networks with loops."""
    from gisplan.underground._quantities import routes_per_edge_feeder_tree, routes_per_edge_network
    from gisplan.underground._shortcuts import network_paths, root_parents, root_paths

    for seed in range(4):
        G, T, spans = _street_grid(seed)
        N = T.copy()
        for a, b in list(G.edges)[seed::7]:  # a few loops
            N.add_edge(a, b, **G.edges[a, b])
        paths = network_paths(N, spans)
        route_of = {s.cable_id: s.route for s in spans}
        ends = sorted({n for p in paths.values() for n in (p[0], p[-1])})
        root = ends[0]
        want = routes_per_edge_network(N, root, paths, route_of, root_paths(N, root, ends))
        assert routes_per_edge_feeder_tree(N, paths, route_of, root_parents(N, root, ends)) == want
        assert sum(len(r) for r in want.values()) > len(want)  # edges carry several routes


def test_bounded_network_paths_and_detours_equal_the_unbounded_ones() -> None:
    """Searches bounded by the span paths' lengths in a smaller network give the same paths and detour cases."""
    from gisplan.underground._detours import limit_detours
    from gisplan.underground._shortcuts import network_paths, path_length

    for seed in range(4):
        G, T, spans = _street_grid(seed)
        tree_paths = network_paths(T, spans)
        now = {c: path_length(T, p) for c, p in tree_paths.items()}
        xy = {n: (G.nodes[n]["x"], G.nodes[n]["y"]) for n in G.nodes}
        aerial = {s.cable_id: 0.8 * math.dist(xy[s.a], xy[s.b]) + 1.0 for s in spans}
        N1, cases1 = limit_detours(G, T, spans, aerial, max_ratio=1.5)
        N2, cases2 = limit_detours(G, T, spans, aerial, max_ratio=1.5, current_m=now)
        assert cases1 and cases1 == cases2
        assert sorted(N1.edges) == sorted(N2.edges)
        assert network_paths(N1, spans, bound=now) == network_paths(N1, spans)
        # a span over the limit that no road can bring within it: no trench, its length the same before and after
        far = max(spans, key=lambda s: now[s.cable_id])
        only = {s.cable_id: (0.01 if s is far else 100.0) * now[s.cable_id] for s in spans}
        N3, cases3 = limit_detours(G, T, spans, only, max_ratio=1.5, current_m=now)
        assert N3 is T and len(cases3) == 1 and not cases3[0].within_limit
        assert cases3[0].after_m == cases3[0].before_m == pytest.approx(now[far.cable_id], rel=1e-9)
