"""Compiled multistart local search for Steiner trees (private; see :mod:`gisplan.routing.steiner`).

Run on graphs up to ``RoutingSettings.search_max_nodes`` nodes, after the Mehlhorn start of
:func:`gisplan.routing.steiner._heuristic`, whose tree it receives as its incumbent (so the result is never
worse).  Everything is numba-compiled (``cache=True``) and deterministic (numba's own generator, seeded).

- Starts: the shortest-path heuristic of Takahashi and Matsuyama (grow a tree from a root by the path to the
  nearest unconnected terminal; one incremental Dijkstra whose distances only decrease) from seeded roots on
  seeded perturbed weights, then MST-prune.
- Local search to a local optimum of four neighbourhoods (Uchoa and Werneck, "Fast local search for Steiner
  trees in graphs", ALENEX 2010): Steiner-vertex insertion (the new MST from the tree's edges and the vertex's
  edges by one merged Kruskal, O(tree) a candidate), Steiner-vertex elimination (Kruskal over the tree nodes'
  induced edges without the vertex), key-vertex elimination (drop a Steiner key vertex with its key paths and
  reconnect the pieces by a Voronoi MST bounded by the dropped cost) and key-path exchange
  (:func:`gisplan.routing._kernels.key_path_exchange_pass`).
- Recombination (solution merging, as in Ribeiro, Uchoa and Werneck's hybrid GRASP, 2002): the union of the
  edges of a few of the best local optima is a small graph on which the shortest-path heuristic finds a tree
  that mixes their parts; it is then improved on the whole graph.
- Polish: the best tree is taken to a local optimum of more moves (the fast default searches with the two cheap
  ones, elimination and key-path exchange, and polishes with insertion and key-vertex elimination).
- Reduction first (:func:`sd_edges`): edges dearer than a bound on their bottleneck Steiner distance are in no
  optimal tree and are left out (four fifths of the edges of SteinLib's dense D instances).

Work is counted in units (a heap operation, an edge scanned, a union-find step): the search stops when its budget
is spent, so a call is deterministic and bounded whatever the machine.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from gisplan.routing._kernels import _dijkstra_rest, _hpush, key_path_exchange_pass

__all__ = [
    "compiled_mst_prune",
    "first_start",
    "mehlhorn_start",
    "mehlhorn_tree",
    "mst_prune_edges",
    "multistart_search",
    "sd_edges",
    "search",
]


@njit(cache=True)
def _find(parent: np.ndarray, x: int) -> int:  # pragma: no cover - compiled
    r = x
    while parent[r] != r:
        r = parent[r]
    while parent[x] != r:
        nx_ = parent[x]
        parent[x] = r
        x = nx_
    return r


@njit(cache=True)
def _prune(
    edges: np.ndarray, eu: np.ndarray, ev: np.ndarray, is_term: np.ndarray, deg: np.ndarray, head: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Remove non-terminal leaves of the forest ``edges`` repeatedly (``deg``, ``head``: zero / -1 scratch)."""
    k = len(edges)
    nxt = np.empty(2 * k, dtype=np.int64)
    alive = np.ones(k, dtype=np.bool_)
    for i in range(k):
        a = eu[edges[i]]
        b = ev[edges[i]]
        deg[a] += 1
        deg[b] += 1
        nxt[2 * i] = head[a]
        head[a] = 2 * i
        nxt[2 * i + 1] = head[b]
        head[b] = 2 * i + 1
    stack = np.empty(2 * k + 2, dtype=np.int64)
    top = 0
    for i in range(k):
        a = eu[edges[i]]
        b = ev[edges[i]]
        if deg[a] == 1 and not is_term[a]:
            stack[top] = a
            top += 1
        if deg[b] == 1 and not is_term[b]:
            stack[top] = b
            top += 1
    while top > 0:
        top -= 1
        x = stack[top]
        if deg[x] != 1 or is_term[x]:
            continue
        h = head[x]
        while h >= 0:
            i = h >> 1
            if alive[i]:
                alive[i] = False
                a = eu[edges[i]]
                b = ev[edges[i]]
                deg[a] -= 1
                deg[b] -= 1
                y = b if a == x else a
                if deg[y] == 1 and not is_term[y]:
                    stack[top] = y
                    top += 1
                break
            h = nxt[h]
    for i in range(k):
        a = eu[edges[i]]
        b = ev[edges[i]]
        deg[a] = 0
        deg[b] = 0
        head[a] = -1
        head[b] = -1
    return edges[alive]


@njit(cache=True)
def _cost(edges: np.ndarray, we: np.ndarray) -> float:  # pragma: no cover - compiled
    c = 0.0
    for e in edges:
        c += we[e]
    return c


@njit(cache=True)
def _nodes_of(edges: np.ndarray, eu: np.ndarray, ev: np.ndarray, mark: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Distinct endpoints of ``edges`` (``mark``: all-False scratch, restored)."""
    out = np.empty(2 * len(edges), dtype=np.int64)
    k = 0
    for e in edges:
        for x in (eu[e], ev[e]):
            if not mark[x]:
                mark[x] = True
                out[k] = x
                k += 1
    for i in range(k):
        mark[out[i]] = False
    return out[:k]


@njit(cache=True)
def _mst_of_nodes(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    nodes: np.ndarray,
    in_s: np.ndarray,
    key: np.ndarray,
    pe: np.ndarray,
    done: np.ndarray,
    work: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Prim's MST of the subgraph induced by ``nodes`` (``in_s`` marks them); empty if it is disconnected.

    ``key`` (inf), ``pe`` (-1) and ``done`` (False) are scratch arrays of the graph's size, restored.
    """
    k = len(nodes)
    out = np.empty(max(k - 1, 0), dtype=np.int64)
    if k < 2:
        return out
    heap = [(0.0, nodes[0])]
    key[nodes[0]] = 0.0
    got = 0
    settled = 0
    while len(heap) > 0:
        d, x = heapq.heappop(heap)
        work[0] -= 1
        if done[x] or d > key[x]:
            continue
        done[x] = True
        settled += 1
        if pe[x] >= 0:
            out[got] = pe[x]
            got += 1
        for q in range(indptr[x], indptr[x + 1]):
            y = indices[q]
            if in_s[y] and not done[y] and wc[q] < key[y]:
                key[y] = wc[q]
                pe[y] = eid[q]
                heapq.heappush(heap, (wc[q], y))
        work[0] -= indptr[x + 1] - indptr[x]
    for i in range(k):
        x = nodes[i]
        key[x] = np.inf
        pe[x] = -1
        done[x] = False
    if settled < k:
        return np.empty(0, dtype=np.int64)
    return out


@njit(cache=True)
def _mst_prune(
    indptr, indices, wc, eid, eu, ev, is_term, nodes, in_s, key, pe, done, deg, head, work
) -> np.ndarray:  # pragma: no cover - compiled
    for x in nodes:
        in_s[x] = True
    t = _mst_of_nodes(indptr, indices, wc, eid, nodes, in_s, key, pe, done, work)
    for x in nodes:
        in_s[x] = False
    if len(t) == 0:
        return t
    return _prune(t, eu, ev, is_term, deg, head)


@njit(cache=True)
def _sph(
    indptr: np.ndarray,
    indices: np.ndarray,
    wp: np.ndarray,
    eid: np.ndarray,
    allowed: np.ndarray,
    terms: np.ndarray,
    is_term: np.ndarray,
    root: int,
    work: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Shortest-path heuristic from ``root`` on weights ``wp`` over edges ``allowed``; returns the tree's nodes."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    in_t = np.zeros(n, dtype=np.bool_)
    in_t[root] = True
    dist[root] = 0.0
    nodes = [root]
    heap = [(0.0, root)]
    left = 0
    for t in terms:
        if t != root:
            left += 1
    while True:
        while len(heap) > 0:
            d, x = heapq.heappop(heap)
            work[0] -= 1
            if d > dist[x]:
                continue
            for q in range(indptr[x], indptr[x + 1]):
                if not allowed[eid[q]]:
                    continue
                y = indices[q]
                nd = d + wp[q]
                if nd < dist[y]:
                    dist[y] = nd
                    pred[y] = x
                    heapq.heappush(heap, (nd, y))
            work[0] -= indptr[x + 1] - indptr[x]
        if left == 0:
            break
        best = -1
        bd = np.inf
        for t in terms:
            if not in_t[t] and dist[t] < bd:
                bd = dist[t]
                best = t
        if best < 0:
            break
        x = best
        while not in_t[x]:
            in_t[x] = True
            nodes.append(x)
            if is_term[x]:
                left -= 1
            dist[x] = 0.0
            heap.append((0.0, x))
            x = pred[x]
        heapq.heapify(heap)
    return np.array(nodes, dtype=np.int64)


@njit(cache=True, nogil=True)
def _voronoi_boundary(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    we: np.ndarray,
    terms: np.ndarray,
):  # pragma: no cover - compiled
    """The terminals' Voronoi regions and the edges between them, in the order of Mehlhorn's Kruskal.

    Returns ``(dist, src, pe, pv, cand, ck, order)``: each node's distance to its nearest terminal, that
    terminal's position in ``terms`` (-1: unreached), the edge to and the node before it on that shortest path;
    the boundary edges ``cand`` (ends in two regions), their distance-graph lengths ``dist[a] + w + dist[b]``,
    and the permutation sorting them by length (ties by edge id).
    """
    n = len(indptr) - 1
    m = len(eu)
    k = len(terms)
    dist = np.full(n, np.inf)
    src = np.full(n, -1, dtype=np.int64)  # position in ``terms`` of the node's nearest terminal
    pe = np.full(n, -1, dtype=np.int64)  # edge to the predecessor on the shortest path to it
    pv = np.full(n, -1, dtype=np.int64)  # the predecessor
    hk = np.empty(n + len(indices) + 1)
    hv = np.empty(n + len(indices) + 1, dtype=np.int64)
    hn = 0
    for i in range(k):
        t = terms[i]
        if src[t] < 0:
            dist[t] = 0.0
            src[t] = i
            hn = _hpush(hk, hv, hn, 0.0, t)
    _dijkstra_rest(indptr, indices, wc, eid, dist, src, pv, pe, hk, hv, hn)
    nb = 0
    for e in range(m):
        a = src[eu[e]]
        b = src[ev[e]]
        if a >= 0 and b >= 0 and a != b:
            nb += 1
    cand = np.empty(nb, dtype=np.int64)
    ck = np.empty(nb)
    j = 0
    for e in range(m):
        a = src[eu[e]]
        b = src[ev[e]]
        if a >= 0 and b >= 0 and a != b:
            cand[j] = e
            ck[j] = dist[eu[e]] + we[e] + dist[ev[e]]
            j += 1
    order = np.argsort(ck, kind="mergesort")
    return dist, src, pe, pv, cand, ck, order


@njit(cache=True, nogil=True)
def mehlhorn_tree(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    we: np.ndarray,
    terms: np.ndarray,
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Mehlhorn's 2-approximation (edge ids) and the number of terminal groups it could not join.

    The compiled twin of :func:`gisplan.routing._heuristics.mehlhorn` for the whole terminal set: one
    multi-source Dijkstra gives each node its nearest terminal (the Voronoi regions), every boundary edge
    ``(a, b)`` joins two regions at ``dist[a] + w + dist[b]``, Kruskal over those edges in that order (ties by
    edge id) picks the distance graph's minimum spanning tree, and each picked edge is expanded into the
    shortest paths from its two ends back to their terminals.  Nothing goes through scipy or Python objects,
    so on a graph of a few hundred edges it takes microseconds where the scipy version takes about a
    millisecond (``benchmarks/results/routing_scale.md``).  A result with groups left over means some
    terminals share no component.
    """
    n = len(indptr) - 1
    k = len(terms)
    _dist, src, pe, pv, cand, _ck, order = _voronoi_boundary(indptr, indices, wc, eid, eu, ev, we, terms)
    nb = len(cand)
    uf = np.arange(k, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    out = np.empty(n, dtype=np.int64)
    no = 0
    joined = 0
    for r in range(nb):
        if joined == k - 1:
            break
        e = cand[order[r]]
        ra = _find(uf, src[eu[e]])
        rb = _find(uf, src[ev[e]])
        if ra == rb:
            continue
        uf[ra] = rb
        joined += 1
        out[no] = e
        no += 1
        for x0 in (eu[e], ev[e]):
            x = x0
            while not seen[x]:
                seen[x] = True
                if pe[x] < 0:
                    break
                out[no] = pe[x]
                no += 1
                x = pv[x]
    # distinct terminals that are the same node count once: they need no joining
    distinct = 0
    for i in range(k):
        if src[terms[i]] == i:
            distinct += 1
    return np.unique(out[:no]), distinct - 1 - joined


@njit(cache=True, nogil=True)
def mehlhorn_start(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    we: np.ndarray,
    terms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled
    """(Mehlhorn's tree, its MST-prune, terminal groups left unjoined): the whole first start, compiled."""
    first, left = mehlhorn_tree(indptr, indices, wc, eid, eu, ev, we, terms)
    if left > 0 or len(first) == 0:
        return first, first, left
    return first, mst_prune_edges(indptr, indices, wc, eid, eu, ev, terms, first), left


@njit(cache=True, nogil=True)
def mst_prune_edges(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    terms: np.ndarray,
    first: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """MST-prune of the edges ``first`` (sorted edge ids): the minimum spanning tree of the subgraph their nodes
    induce, less its non-terminal leaves; empty when that subgraph is disconnected."""
    n = len(indptr) - 1
    is_term = np.zeros(n, dtype=np.bool_)
    for t in terms:
        is_term[t] = True
    mark = np.zeros(n, dtype=np.bool_)
    nodes = _nodes_of(first, eu, ev, mark)
    work = np.array([np.int64(1) << 62])
    pruned = _mst_prune(
        indptr,
        indices,
        wc,
        eid,
        eu,
        ev,
        is_term,
        nodes,
        mark,
        np.full(n, np.inf),
        np.full(n, -1, dtype=np.int64),
        np.zeros(n, dtype=np.bool_),
        np.zeros(n, dtype=np.int64),
        np.full(n, -1, dtype=np.int64),
        work,
    )
    return np.sort(pruned)


@njit(cache=True)
def _sorted_by_weight(edges: np.ndarray, we: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    return edges[np.argsort(we[edges], kind="mergesort")]


@njit(cache=True)
def _insertion_pass(
    indptr, indices, wc, eid, eu, ev, we, is_term, tree, in_s, parent, deg, head, work, tol, mark
):  # pragma: no cover - compiled
    """Steiner-vertex insertion, first improvement, over every vertex outside the tree; returns (tree, improved)."""
    n = len(indptr) - 1
    cost = _cost(tree, we)
    nodes = _nodes_of(tree, eu, ev, mark)
    for x in nodes:
        in_s[x] = True
    ts = _sorted_by_weight(tree, we)
    improved = False
    cw = np.empty(64, dtype=np.float64)
    ce = np.empty(64, dtype=np.int64)
    for v in range(n):
        if work[0] <= 0:
            break
        if in_s[v]:
            continue
        c = 0
        for q in range(indptr[v], indptr[v + 1]):
            if in_s[indices[q]]:
                if c == len(cw):
                    cw2 = np.empty(2 * c, dtype=np.float64)
                    ce2 = np.empty(2 * c, dtype=np.int64)
                    cw2[:c] = cw
                    ce2[:c] = ce
                    cw, ce = cw2, ce2
                cw[c] = wc[q]
                ce[c] = eid[q]
                c += 1
        work[0] -= indptr[v + 1] - indptr[v]
        if c < 2:
            continue
        # v gains only if an edge of v other than its cheapest undercuts the dearest tree edge (ties keep the tree)
        lo1 = np.inf
        lo2 = np.inf
        for j in range(c):
            if cw[j] < lo1:
                lo2 = lo1
                lo1 = cw[j]
            elif cw[j] < lo2:
                lo2 = cw[j]
        if len(ts) == 0 or lo2 >= we[ts[len(ts) - 1]]:
            continue
        order = np.argsort(cw[:c])
        # merged Kruskal over the tree's edges (sorted) and v's edges into the tree
        for x in nodes:
            parent[x] = x
        parent[v] = v
        chosen = np.empty(len(nodes), dtype=np.int64)
        got = 0
        i = 0
        j = 0
        total = 0.0
        while got < len(nodes) and (i < len(ts) or j < c):
            if j >= c or (i < len(ts) and we[ts[i]] <= cw[order[j]]):
                e = ts[i]
                i += 1
            else:
                e = ce[order[j]]
                j += 1
            ra = _find(parent, eu[e])
            rb = _find(parent, ev[e])
            if ra != rb:
                parent[ra] = rb
                chosen[got] = e
                got += 1
                total += we[e]
        work[0] -= i + j + len(nodes)
        pruned = _prune(chosen[:got], eu, ev, is_term, deg, head)
        pc = _cost(pruned, we)
        if pc < cost - tol * cost:
            for x in nodes:
                in_s[x] = False
            tree = pruned
            cost = pc
            nodes = _nodes_of(tree, eu, ev, mark)
            for x in nodes:
                in_s[x] = True
            ts = _sorted_by_weight(tree, we)
            improved = True
    for x in nodes:
        in_s[x] = False
    return tree, improved


@njit(cache=True)
def _induced_sorted(indptr, indices, wc, eid, nodes, in_s, we):  # pragma: no cover - compiled
    """Edges of the subgraph induced by ``nodes`` (``in_s`` set), sorted by weight."""
    cnt = 0
    for x in nodes:
        for q in range(indptr[x], indptr[x + 1]):
            if in_s[indices[q]] and indices[q] > x:
                cnt += 1
    out = np.empty(cnt, dtype=np.int64)
    k = 0
    for x in nodes:
        for q in range(indptr[x], indptr[x + 1]):
            if in_s[indices[q]] and indices[q] > x:
                out[k] = eid[q]
                k += 1
    return _sorted_by_weight(out, we)


@njit(cache=True)
def _elimination_pass(
    indptr, indices, wc, eid, eu, ev, we, is_term, tree, in_s, parent, deg, head, work, tol, mark
):  # pragma: no cover - compiled
    """Steiner-vertex elimination, first improvement: MST of the tree's nodes less one Steiner node."""
    cost = _cost(tree, we)
    nodes = _nodes_of(tree, eu, ev, mark)
    for x in nodes:
        in_s[x] = True
    ind = _induced_sorted(indptr, indices, wc, eid, nodes, in_s, we)
    work[0] -= len(ind)
    improved = False
    k = 0
    while k < len(nodes):
        if work[0] <= 0:
            break
        x = nodes[k]
        k += 1
        if is_term[x]:
            continue
        for y in nodes:
            parent[y] = y
        need = len(nodes) - 2
        chosen = np.empty(max(need, 0), dtype=np.int64)
        got = 0
        i = 0
        while got < need and i < len(ind):
            e = ind[i]
            i += 1
            a = eu[e]
            b = ev[e]
            if a == x or b == x:
                continue
            ra = _find(parent, a)
            rb = _find(parent, b)
            if ra != rb:
                parent[ra] = rb
                chosen[got] = e
                got += 1
        work[0] -= i + len(nodes)
        if got < need:
            continue
        pruned = _prune(chosen, eu, ev, is_term, deg, head)
        pc = _cost(pruned, we)
        if pc < cost - tol * cost:
            for y in nodes:
                in_s[y] = False
            tree = pruned
            cost = pc
            nodes = _nodes_of(tree, eu, ev, mark)
            for y in nodes:
                in_s[y] = True
            ind = _induced_sorted(indptr, indices, wc, eid, nodes, in_s, we)
            work[0] -= len(ind)
            improved = True
            k = 0
    for y in nodes:
        in_s[y] = False
    return tree, improved


@njit(cache=True)
def _tree_adj(tree: np.ndarray, eu: np.ndarray, ev: np.ndarray, n: int):  # pragma: no cover - compiled
    """Adjacency of the tree's edges: (ptr (n + 1), neighbour, edge id)."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for e in tree:
        ptr[eu[e] + 1] += 1
        ptr[ev[e] + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    adj = np.empty(2 * len(tree), dtype=np.int64)
    adj_e = np.empty(2 * len(tree), dtype=np.int64)
    for e in tree:
        a = eu[e]
        b = ev[e]
        adj[fill[a]] = b
        adj_e[fill[a]] = e
        fill[a] += 1
        adj[fill[b]] = a
        adj_e[fill[b]] = e
        fill[b] += 1
    return ptr, adj, adj_e


@njit(cache=True)
def _key_vertex_pass(
    indptr, indices, wc, eid, eu, ev, we, is_term, tree, parent, deg, head, work, tol, mark, dist, lab, pe
):  # pragma: no cover - compiled
    """Key-vertex elimination, first improvement: drop a Steiner key vertex (tree degree >= 3) and its key paths,
    reconnect the pieces by the MST of a Voronoi diagram of the pieces bounded by the dropped cost."""
    n = len(indptr) - 1
    m = len(eu)
    improved = False
    cost = _cost(tree, we)
    in_tree = np.zeros(m, dtype=np.bool_)
    tdeg = np.zeros(n, dtype=np.int64)
    for e in tree:
        in_tree[e] = True
        tdeg[eu[e]] += 1
        tdeg[ev[e]] += 1
    nodes = _nodes_of(tree, eu, ev, mark)
    tptr, tadj, tadj_e = _tree_adj(tree, eu, ev, n)
    scan = nodes.copy()
    for _pass in range(1):
        for x in scan:
            if work[0] <= 0:
                break
            if is_term[x] or tdeg[x] < 3:
                continue
            # remove x's key paths: walk each branch until a key node (terminal or degree >= 3)
            removed_cost = 0.0
            dropped = [x]
            drop_e = []
            for q in range(indptr[x], indptr[x + 1]):
                e = eid[q]
                if not in_tree[e]:
                    continue
                prev = x
                y = indices[q]
                drop_e.append(e)
                removed_cost += we[e]
                while not is_term[y] and tdeg[y] == 2:
                    dropped.append(y)
                    for r in range(indptr[y], indptr[y + 1]):
                        f = eid[r]
                        if in_tree[f] and indices[r] != prev:
                            drop_e.append(f)
                            removed_cost += we[f]
                            prev = y
                            y = indices[r]
                            break
            for e in drop_e:
                in_tree[e] = False
            for y in dropped:
                mark[y] = True
            # label the pieces: tree nodes left, by DFS over tree edges
            n_lab = 0
            sources = []
            sizes = []
            for y in nodes:
                if mark[y] or lab[y] >= 0:
                    continue
                stack = [y]
                lab[y] = n_lab
                size = 0
                while len(stack) > 0:
                    z = stack.pop()
                    sources.append(z)
                    size += 1
                    for r in range(tptr[z], tptr[z + 1]):
                        if in_tree[tadj_e[r]]:
                            t = tadj[r]
                            if lab[t] < 0:
                                lab[t] = n_lab
                                stack.append(t)
                sizes.append(size)
                n_lab += 1
            work[0] -= len(nodes)
            big = 0
            for i in range(n_lab):
                if sizes[i] > sizes[big]:
                    big = i
            # bounded multi-source Dijkstra from the pieces but the biggest, whose nodes are targets at distance 0;
            # dropped nodes are free to reuse
            limit = removed_cost
            heap = [(0.0, np.int64(0))]
            heap.pop()
            touched = []
            for z in sources:
                dist[z] = 0.0
                if lab[z] != big:
                    heap.append((0.0, z))
            while len(heap) > 0:
                d, z = heapq.heappop(heap)
                work[0] -= 1
                if d > dist[z] or d >= limit:
                    continue
                for r in range(indptr[z], indptr[z + 1]):
                    t = indices[r]
                    nd = d + wc[r]
                    if nd < dist[t] and nd < limit:
                        if dist[t] == np.inf:
                            touched.append(t)
                        dist[t] = nd
                        lab[t] = lab[z]
                        pe[t] = eid[r]
                        heapq.heappush(heap, (nd, t))
                work[0] -= indptr[z + 1] - indptr[z]
            # boundary edges between different pieces, cheapest per pair, then Kruskal on the pieces
            bw = []
            be = []
            reached = touched
            for z in sources:
                if lab[z] != big:
                    reached.append(z)
            for z in reached:
                for r in range(indptr[z], indptr[z + 1]):
                    t = indices[r]
                    if lab[t] >= 0 and lab[t] != lab[z] and (z < t or lab[t] == big):
                        d = dist[z] + wc[r] + dist[t]
                        if d < limit:
                            bw.append(d)
                            be.append(eid[r])
                work[0] -= indptr[z + 1] - indptr[z]
            ok = False
            new_e = []
            if n_lab >= 2 and len(bw) >= n_lab - 1:
                order = np.argsort(np.array(bw))
                for i in range(n_lab):
                    parent[i] = i
                got = 0
                total = 0.0
                chosen_b = []
                for oi in order:
                    e = be[oi]
                    ra = _find(parent, lab[eu[e]])
                    rb = _find(parent, lab[ev[e]])
                    if ra != rb:
                        parent[ra] = rb
                        got += 1
                        total += bw[oi]
                        chosen_b.append(e)
                        if got == n_lab - 1:
                            break
                if got == n_lab - 1 and total < removed_cost - tol * removed_cost:
                    ok = True
                    for e in chosen_b:
                        new_e.append(e)
                        for z0 in (eu[e], ev[e]):
                            z = z0
                            while dist[z] > 0.0:
                                f = pe[z]
                                new_e.append(f)
                                z = eu[f] if ev[f] == z else ev[f]
            for z in sources:
                dist[z] = np.inf
                lab[z] = -1
            for z in touched:
                dist[z] = np.inf
                lab[z] = -1
                pe[z] = -1
            for y in dropped:
                mark[y] = False
            if ok:
                for e in new_e:
                    in_tree[e] = True
                cand = np.flatnonzero(in_tree).astype(np.int64)
                cand_nodes = _nodes_of(cand, eu, ev, mark)
                # the union may hold cycles where paths meet: MST of its nodes, pruned
                cand = _mst_prune_edges(cand, cand_nodes, eu, ev, we, is_term, parent, deg, head)
                cc = _cost(cand, we)
                if cc < cost - tol * cost:
                    tree = cand
                    cost = cc
                    improved = True
                    in_tree[:] = False
                    tdeg[:] = 0
                    for e in tree:
                        in_tree[e] = True
                        tdeg[eu[e]] += 1
                        tdeg[ev[e]] += 1
                    nodes = _nodes_of(tree, eu, ev, mark)
                    tptr, tadj, tadj_e = _tree_adj(tree, eu, ev, n)
                    work[0] -= m
                    continue
                for e in new_e:
                    in_tree[e] = False
            for e in drop_e:
                in_tree[e] = True
    return tree, improved


@njit(cache=True)
def _mst_prune_edges(edges, nodes, eu, ev, we, is_term, parent, deg, head):  # pragma: no cover - compiled
    """Minimum spanning forest of the edge set ``edges`` (Kruskal), pruned."""
    for x in nodes:
        parent[x] = x
    srt = _sorted_by_weight(edges, we)
    out = np.empty(len(edges), dtype=np.int64)
    got = 0
    for e in srt:
        ra = _find(parent, eu[e])
        rb = _find(parent, ev[e])
        if ra != rb:
            parent[ra] = rb
            out[got] = e
            got += 1
    return _prune(out[:got], eu, ev, is_term, deg, head)


@njit(cache=True)
def _local_search(
    indptr,
    indices,
    wc,
    eid,
    eu,
    ev,
    we,
    is_term,
    tree,
    s_in,
    parent,
    deg,
    head,
    key,
    pe,
    done,
    work,
    tol,
    mark,
    dist,
    lab,
    moves,
):  # pragma: no cover - compiled
    """Apply the enabled moves (bit 1 insertion, 2 elimination, 4 key-vertex, 8 key-path) to a local optimum."""
    n = len(indptr) - 1
    m = len(eu)
    for _round in range(1000):
        if work[0] <= 0:
            break
        any_ = False
        if moves & 8:
            in_tree = np.zeros(m, dtype=np.bool_)
            tdeg = np.zeros(n, dtype=np.int64)
            for e in tree:
                in_tree[e] = True
                tdeg[eu[e]] += 1
                tdeg[ev[e]] += 1
            imp, left = key_path_exchange_pass(indptr, indices, wc, eid, eu, ev, in_tree, tdeg, is_term, work[0], tol)
            work[0] = left
            if imp:
                cand = np.flatnonzero(in_tree).astype(np.int64)
                nodes = _nodes_of(cand, eu, ev, mark)
                cand2 = _mst_prune(
                    indptr, indices, wc, eid, eu, ev, is_term, nodes, s_in, key, pe, done, deg, head, work
                )
                if len(cand2) > 0 and _cost(cand2, we) < _cost(cand, we):
                    cand = cand2
                if _cost(cand, we) < _cost(tree, we) * (1.0 - tol):
                    tree = cand
                    any_ = True
        if moves & 2:
            tree, imp = _elimination_pass(
                indptr, indices, wc, eid, eu, ev, we, is_term, tree, s_in, parent, deg, head, work, tol, mark
            )
            any_ = any_ or imp
        if moves & 1:
            tree, imp = _insertion_pass(
                indptr, indices, wc, eid, eu, ev, we, is_term, tree, s_in, parent, deg, head, work, tol, mark
            )
            any_ = any_ or imp
        if any_:
            continue
        # the dearest move last: key-vertex elimination only at a local optimum of the others
        if moves & 4:
            tree, imp = _key_vertex_pass(
                indptr, indices, wc, eid, eu, ev, we, is_term, tree, parent, deg, head, work, tol, mark, dist, lab, pe
            )
            if imp:
                nodes = _nodes_of(tree, eu, ev, mark)
                cand2 = _mst_prune(
                    indptr, indices, wc, eid, eu, ev, is_term, nodes, s_in, key, pe, done, deg, head, work
                )
                if len(cand2) > 0 and _cost(cand2, we) < _cost(tree, we):
                    tree = cand2
                continue
        break
    return tree


@njit(cache=True)
def multistart_search(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    we: np.ndarray,
    terms: np.ndarray,
    incumbent: np.ndarray,
    starts: int,
    merges: int,
    pool_size: int,
    seed: int,
    budget: int,
    tol: float,
    moves: int,
    target: float,
    polish: int = 0,
    reserve: int = 0,
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Best tree (edge ids) over the incumbent, ``starts`` SPH starts and ``merges`` recombinations, each improved
    by local search; returns (tree, budget left).

    ``wc``/``eid``: weight and edge id of every CSR entry; ``eu``/``ev``/``we``: the edges.  ``moves``: bit mask
    of the local search's moves (see :func:`_local_search`).  Stops once the best tree costs at most
    ``target`` (a proven lower bound, 0 for none).  ``polish``: moves added for a last local search of the best
    tree, for which the starts leave ``reserve`` units of the budget.
    """
    np.random.seed(seed)
    n = len(indptr) - 1
    m = len(eu)
    is_term = np.zeros(n, dtype=np.bool_)
    for t in terms:
        is_term[t] = True
    s_in = np.zeros(n, dtype=np.bool_)
    mark = np.zeros(n, dtype=np.bool_)
    done = np.zeros(n, dtype=np.bool_)
    key = np.full(n, np.inf)
    dist = np.full(n, np.inf)
    pe = np.full(n, -1, dtype=np.int64)
    lab = np.full(n, -1, dtype=np.int64)
    deg = np.zeros(n, dtype=np.int64)
    head = np.full(n, -1, dtype=np.int64)
    parent = np.arange(n, dtype=np.int64)
    work = np.array([budget], dtype=np.int64)

    best = _local_search(
        indptr,
        indices,
        wc,
        eid,
        eu,
        ev,
        we,
        is_term,
        incumbent,
        s_in,
        parent,
        deg,
        head,
        key,
        pe,
        done,
        work,
        tol,
        mark,
        dist,
        lab,
        moves,
    )
    best_cost = _cost(best, we)
    # the pool of distinct local optima: edge masks and costs
    pool = np.zeros((pool_size, m), dtype=np.bool_)
    pool_cost = np.full(pool_size, np.inf)
    for e in best:
        pool[0, e] = True
    pool_cost[0] = best_cost
    n_pool = 1
    wp = np.empty(len(wc), dtype=np.float64)
    allowed = np.ones(m, dtype=np.bool_)
    k = len(terms)
    for s in range(starts + merges):
        if work[0] <= reserve or best_cost <= target * (1.0 + 1e-12):
            break
        allowed[:] = True
        noise = 0.02 + 0.18 * (s % 5) / 4.0
        if s >= starts:  # recombination: the best tree and a random half of the others
            if n_pool < 2:
                break
            allowed[:] = False
            for e in best:
                allowed[e] = True
            for i in range(n_pool):
                if np.random.random() < 0.5:
                    allowed |= pool[i]
            allowed |= pool[np.random.randint(n_pool)]
            noise = 0.02
        r = np.random.random(m)
        for q in range(len(wc)):
            wp[q] = wc[q] * (1.0 + noise * r[eid[q]])
        root = terms[np.random.randint(k)]
        nodes = _sph(indptr, indices, wp, eid, allowed, terms, is_term, root, work)
        tree = _mst_prune(indptr, indices, wc, eid, eu, ev, is_term, nodes, s_in, key, pe, done, deg, head, work)
        if len(tree) == 0:
            continue
        tree = _local_search(
            indptr,
            indices,
            wc,
            eid,
            eu,
            ev,
            we,
            is_term,
            tree,
            s_in,
            parent,
            deg,
            head,
            key,
            pe,
            done,
            work,
            tol,
            mark,
            dist,
            lab,
            moves,
        )
        c = _cost(tree, we)
        if c < best_cost * (1.0 - tol):
            best, best_cost = tree, c
        fresh = True
        for i in range(n_pool):
            if abs(pool_cost[i] - c) <= tol * max(c, 1.0):
                fresh = False
        if fresh:
            slot = n_pool
            if n_pool == pool_size:
                slot = int(np.argmax(pool_cost))
                if pool_cost[slot] <= c:
                    slot = -1
            else:
                n_pool += 1
            if slot >= 0:
                pool[slot, :] = False
                for e in tree:
                    pool[slot, e] = True
                pool_cost[slot] = c
    if polish & ~moves and best_cost > target * (1.0 + 1e-12):
        best = _local_search(
            indptr,
            indices,
            wc,
            eid,
            eu,
            ev,
            we,
            is_term,
            best,
            s_in,
            parent,
            deg,
            head,
            key,
            pe,
            done,
            work,
            tol,
            mark,
            dist,
            lab,
            moves | polish,
        )
    return best, work[0]


@njit(cache=True)
def long_edges(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    m: int,
    max_pops: int,
    work: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Edges some other path of two or more edges joins at no more cost (a mask over the ``m`` edges).

    The long-edge test of the reduction literature (Duin and Volgenant 1989): with every weight positive,
    such an edge can be left out, because each path replacing it is made of strictly lighter edges (so
    replacements of replacements end) and costs no more, so some optimal tree avoids all of them at once.
    One Dijkstra per node, bounded by the node's dearest edge and by ``max_pops`` settled nodes (a shorter
    search misses some long edges, never removes a needed one).
    """
    n = len(indptr) - 1
    out = np.zeros(m, dtype=np.bool_)
    dist = np.full(n, np.inf)
    dw = np.full(n, np.inf)
    de = np.full(n, -1, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    heap = [(0.0, np.int64(0))]
    for u in range(n):
        if work[0] <= 0:
            break
        limit = 0.0
        for q in range(indptr[u], indptr[u + 1]):
            dw[indices[q]] = wc[q]
            de[indices[q]] = eid[q]
            if wc[q] > limit:
                limit = wc[q]
        heap.clear()
        heap.append((0.0, np.int64(u)))
        dist[u] = 0.0
        touched[0] = u
        nt = 1
        pops = 0
        while len(heap) > 0 and pops < max_pops:
            d, x = heapq.heappop(heap)
            work[0] -= 1
            if d > dist[x]:
                continue
            pops += 1
            for q in range(indptr[x], indptr[x + 1]):
                y = indices[q]
                nd = d + wc[q]
                if x != u and y != u and nd <= dw[y] and de[y] >= 0:
                    out[de[y]] = True
                if nd < dist[y] and nd <= limit:
                    if dist[y] == np.inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = nd
                    heapq.heappush(heap, (nd, y))
            work[0] -= indptr[x + 1] - indptr[x]
        for i in range(nt):
            dist[touched[i]] = np.inf
        for q in range(indptr[u], indptr[u + 1]):
            dw[indices[q]] = np.inf
            de[indices[q]] = -1
    return out


@njit(cache=True)
def sd_edges(
    indptr: np.ndarray,
    indices: np.ndarray,
    wc: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    we: np.ndarray,
    terms: np.ndarray,
    work: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Edges dearer than a bound on their bottleneck Steiner distance (a mask over the edges): in no optimal tree.

    The special-distance (SD) test of the reduction literature (Duin and Volgenant 1989; Polzin and Vahdati
    Daneshmand 2001, "Improved algorithms for the Steiner problem in networks"): an edge ``(u, v)`` dearer than
    the bottleneck Steiner distance ``s(u, v)`` (the least, over sequences ``u, z1, ..., zk, v`` of terminals
    ``zi``, of the longest shortest-path distance between neighbours in the sequence) is in no optimal tree:
    in a tree holding it, some neighbours of the sequence lie on the two sides of the edge, and the path joining
    them is cheaper than the edge.  The bound used, ``max(d(u, base u), B(base u, base v), d(v, base v))``, takes
    each end's nearest terminal (one multi-source Dijkstra: the Voronoi regions) and the bottleneck ``B`` between
    the two terminals in Mehlhorn's minimum spanning tree of the distance graph (which is a minimum spanning tree
    of the whole distance graph, so ``B`` is the terminals' own bottleneck distance).  ``B < w`` is answered for
    every edge at once, offline: the edges by weight, the tree's edges joined into a union-find as long as they
    are shorter.  Strict comparisons with a relative margin of 1e-9 keep every optimal tree (float sums).  On
    SteinLib d18 (1,000 nodes, 25,000 edges, 167 terminals) it removes 19,788 edges, where the long-edge test,
    given 1,000 pops a node, removes 17,148.
    """
    n = len(indptr) - 1
    m = len(eu)
    k = len(terms)
    out = np.zeros(m, dtype=np.bool_)
    dist, src, _pe, _pv, cand, ck, order = _voronoi_boundary(indptr, indices, wc, eid, eu, ev, we, terms)
    nb = len(cand)
    work[0] -= n + len(indices) + nb + m
    # Kruskal over the boundary edges: the distance graph's minimum spanning tree, its edges in length order
    uf = np.arange(k, dtype=np.int64)
    ta = np.empty(k, dtype=np.int64)
    tb = np.empty(k, dtype=np.int64)
    tl = np.empty(k)
    nt = 0
    for r in range(nb):
        if nt == k - 1:
            break
        e = cand[order[r]]
        ra = _find(uf, src[eu[e]])
        rb = _find(uf, src[ev[e]])
        if ra == rb:
            continue
        uf[ra] = rb
        ta[nt] = src[eu[e]]
        tb[nt] = src[ev[e]]
        tl[nt] = ck[order[r]]
        nt += 1
    # the queries, by weight: B(base u, base v) < w iff the tree's edges shorter than w join the two terminals
    byw = np.argsort(we, kind="mergesort")
    for i in range(k):
        uf[i] = i
    j = 0
    for r in range(m):
        e = byw[r]
        a = src[eu[e]]
        b = src[ev[e]]
        if a < 0 or b < 0:
            continue
        lim = we[e] - 1e-9 * we[e]
        while j < nt and tl[j] < lim:
            ra = _find(uf, ta[j])
            rb = _find(uf, tb[j])
            if ra != rb:
                uf[ra] = rb
            j += 1
        if dist[eu[e]] < lim and dist[ev[e]] < lim and (a == b or _find(uf, a) == _find(uf, b)):
            out[e] = True
    return out


def first_start(A, terminals: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Run :func:`mehlhorn_start` on ``A`` (a GraphArrays): (Mehlhorn's tree, its MST-prune, terminal groups left
    unjoined; more than 0 when some terminals lie in another component)."""
    return mehlhorn_start(
        A.indptr,
        A.indices,
        A.csr.data,
        A.eid,
        A.u,
        A.v,
        A.w,
        np.asarray(terminals, dtype=np.int64),
    )


def compiled_mst_prune(A, eids: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """:func:`mst_prune_edges` on ``A`` (a GraphArrays): the compiled MST-prune of the tree ``eids`` (about 0.05 ms on
    SteinLib c01 where the scipy one, :func:`gisplan.routing._heuristics.mst_prune`, takes 0.5 ms)."""
    return mst_prune_edges(
        A.indptr,
        A.indices,
        A.csr.data,
        A.eid,
        A.u,
        A.v,
        np.asarray(terminals, dtype=np.int64),
        np.asarray(eids, dtype=np.int64),
    )


def search(
    A,
    terminals: np.ndarray,
    incumbent: np.ndarray,
    *,
    starts: int,
    merges: int,
    pool_size: int,
    seed: int,
    budget: int,
    tol: float,
    moves: int = 15,
    reduce: bool = True,
    max_pops: int = 32,
    target: float = 0.0,
    polish: int = 0,
    reserve: int = 0,
) -> tuple[np.ndarray, int]:
    """Run :func:`multistart_search` on ``A`` (a GraphArrays), after the SD test (:func:`sd_edges`) and, when
    ``max_pops`` > 0, the long-edge test (:func:`long_edges`), both only when every weight is positive; return
    (tree edge ids of ``A``, budget left).  The incumbent's edges are always kept.  ``moves``/``polish``: bit masks
    of the moves (see :func:`_local_search`); ``reserve``: work units the starts leave to the polish."""
    csr = A.csr
    indptr, indices = A.indptr, A.indices
    m = len(A.u)
    work = np.array([budget], dtype=np.int64)
    if reduce and A.zero_stand_in == 0.0:
        drop = sd_edges(indptr, indices, csr.data, A.eid, A.u, A.v, A.w, np.asarray(terminals, dtype=np.int64), work)
        if max_pops > 0:
            drop |= long_edges(indptr, indices, csr.data, A.eid, m, max_pops, work)
        drop[incumbent] = False
    else:
        drop = np.zeros(m, dtype=bool)
    keep_e = np.flatnonzero(~drop)
    remap = np.full(m, -1, dtype=np.int64)
    remap[keep_e] = np.arange(len(keep_e))
    entry = ~drop[A.eid]
    rows = np.repeat(np.arange(A.n, dtype=np.int64), np.diff(indptr))
    counts = np.bincount(rows[entry], minlength=A.n)
    r_ptr = np.zeros(A.n + 1, dtype=np.int64)
    np.cumsum(counts, out=r_ptr[1:])
    best, left = multistart_search(
        r_ptr,
        indices[entry],
        csr.data[entry],
        remap[A.eid[entry]],
        A.u[keep_e],
        A.v[keep_e],
        A.w[keep_e],
        np.asarray(terminals, dtype=np.int64),
        remap[incumbent],
        int(starts),
        int(merges),
        int(pool_size),
        int(seed),
        int(work[0]),
        float(tol),
        int(moves),
        float(target),
        int(polish),
        int(reserve),
    )
    return np.sort(keep_e[best]), int(left)
