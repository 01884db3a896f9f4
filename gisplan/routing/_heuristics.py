"""Steiner tree heuristics on arrays (private; see :mod:`gisplan.routing.steiner`).

Trees are numpy arrays of edge indices into a :class:`~gisplan.routing._arrays.GraphArrays`.

- :func:`mehlhorn` builds the 2-approximation of Mehlhorn (1988) from one
  multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra(min_only=True)``): the
  Voronoi regions of the terminals, the cheapest boundary edge between each pair
  of regions, their minimum spanning tree, expanded back into paths.
- :func:`mst_prune` replaces a tree by the minimum spanning tree of the subgraph
  its nodes induce, then prunes non-terminal leaves.
- :class:`LocalSearch` improves a tree by key-path exchange, key-vertex
  elimination and Steiner-vertex insertion (Uchoa and Werneck, "Fast local search
  for Steiner trees in graphs", ALENEX 2010).  A key-path exchange rejoins the
  two sides of the cut by one Dijkstra from the smaller side (found by two
  breadth-first searches run in turn), bounded by the cut path's cost; key-vertex
  elimination reconnects its pieces by the Voronoi construction restricted by a
  distance ``limit``.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from gisplan.routing._arrays import GraphArrays

_TOL = 1e-9


def tree_cost(A: GraphArrays, eids: np.ndarray) -> float:
    """Sum of the (algorithm) weights of edges ``eids``."""
    return float(A.w[eids].sum())


def _path_steps(pred: list[int], start: int, seen: bytearray, steps_a: list[int], steps_b: list[int]) -> None:
    """Append the steps (predecessor, node) from ``start`` back to its Dijkstra source, stopping at seen nodes."""
    a = start
    while not seen[a]:
        seen[a] = 1
        p = pred[a]
        if p < 0:
            break
        steps_a.append(p)
        steps_b.append(a)
        a = p


def mehlhorn(
    A: GraphArrays,
    sources: np.ndarray,
    labels: np.ndarray,
    *,
    csr: sparse.csr_array | None = None,
    limit: float = np.inf,
) -> tuple[np.ndarray, int] | None:
    """Connect groups of source nodes by Mehlhorn's Voronoi construction.

    Parameters
    ----------
    A
        The graph.
    sources
        Node indices; every node of a group is a source.
    labels
        Group label (0..k-1) of each source.
    csr
        Weights to use (defaults to ``A.csr``; perturbed weights may be passed).
    limit
        Dijkstra radius; boundary paths longer than ``2 * limit`` are not seen.

    Returns
    -------
    (edge ids of the added paths, number of groups left unconnected) or None when k < 2.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    if k < 2:
        return None
    mat = A.csr if csr is None else csr
    dist, pred, src = csgraph.dijkstra(
        mat, directed=True, indices=sources, min_only=True, return_predecessors=True, limit=limit
    )
    label_of = np.full(A.n, -1, dtype=np.int64)
    label_of[sources] = labels
    lab = np.where(src >= 0, label_of[np.maximum(src, 0)], -1)
    if np.isfinite(limit):
        reached = np.flatnonzero(lab >= 0)
        rows = A.csr.indptr
        starts, stops = rows[reached], rows[reached + 1]
        counts = stops - starts
        pos = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
        seen_edge = np.zeros(len(A.u), dtype=bool)
        seen_edge[A.eid[pos]] = True
        cand = np.flatnonzero(seen_edge)
        lu = lab[A.u[cand]]
        lv = lab[A.v[cand]]
        eidx = cand[(lu >= 0) & (lv >= 0) & (lu != lv)]
    else:
        lu = lab[A.u]
        lv = lab[A.v]
        eidx = np.flatnonzero((lu >= 0) & (lv >= 0) & (lu != lv))
    if eidx.size == 0:
        return np.empty(0, dtype=np.int64), k - 1
    w = A.w if csr is None else _weights_of(A, mat)
    d = dist[A.u[eidx]] + w[eidx] + dist[A.v[eidx]]
    la, lb = lab[A.u[eidx]], lab[A.v[eidx]]
    a = np.minimum(la, lb)
    b = np.maximum(la, lb)
    order = np.lexsort((d, b, a))
    a, b, d, eidx = a[order], b[order], d[order], eidx[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    a, b, d, eidx = a[first], b[first], d[first], eidx[first]
    g = sparse.coo_array((d, (a, b)), shape=(k, k)).tocsr()
    mst = csgraph.minimum_spanning_tree(g).tocoo()
    pair_key = a * k + b
    chosen_keys = np.minimum(mst.row, mst.col).astype(np.int64) * k + np.maximum(mst.row, mst.col)
    chosen = eidx[np.searchsorted(pair_key, np.sort(chosen_keys))]
    seen = bytearray(A.n)
    pred_list = pred.tolist()
    steps_a: list[int] = []
    steps_b: list[int] = []
    for a_, b_ in zip(A.u[chosen].tolist(), A.v[chosen].tolist(), strict=True):
        _path_steps(pred_list, a_, seen, steps_a, steps_b)
        _path_steps(pred_list, b_, seen, steps_a, steps_b)
    paths = A.edge_ids(np.array(steps_a, dtype=np.int64), np.array(steps_b, dtype=np.int64))
    return np.unique(np.concatenate([chosen, paths]).astype(np.int64)), k - 1 - len(chosen)


def _weights_of(A: GraphArrays, mat: sparse.csr_array) -> np.ndarray:
    """Per-edge weights of a CSR with the same structure as ``A.csr``."""
    w = np.empty(len(A.u), dtype=np.float64)
    w[A.eid] = mat.data
    return w


def prune(A: GraphArrays, eids: np.ndarray, is_terminal: np.ndarray) -> np.ndarray:
    """Remove non-terminal leaves of the forest ``eids`` repeatedly."""
    if len(eids) == 0:
        return eids
    adj: dict[int, list[tuple[int, int]]] = {}
    for e, a, b in zip(eids.tolist(), A.u[eids].tolist(), A.v[eids].tolist(), strict=True):
        adj.setdefault(a, []).append((b, e))
        adj.setdefault(b, []).append((a, e))
    deg = {x: len(nb) for x, nb in adj.items()}
    removed: set[int] = set()
    queue = deque(x for x, dg in deg.items() if dg == 1 and not is_terminal[x])
    dead: set[int] = set()
    while queue:
        x = queue.popleft()
        if x in dead or deg[x] != 1:
            continue
        dead.add(x)
        for y, e in adj[x]:
            if e in removed:
                continue
            removed.add(e)
            deg[x] -= 1
            deg[y] -= 1
            if deg[y] == 1 and not is_terminal[y]:
                queue.append(y)
    if not removed:
        return eids
    keep = np.array([e not in removed for e in eids.tolist()], dtype=bool)
    return eids[keep]


def mst_prune(A: GraphArrays, nodes: np.ndarray, is_terminal: np.ndarray) -> np.ndarray:
    """Minimum spanning forest of the subgraph induced by ``nodes``, pruned of non-terminal leaves."""
    nodes = np.unique(nodes)
    if len(nodes) < 2:
        return np.empty(0, dtype=np.int64)
    if 20 * len(nodes) < A.n:  # a small tree in a big graph: slice its rows and columns
        sub = A.csr[nodes][:, nodes]
        mst = csgraph.minimum_spanning_tree(sub).tocoo()
        eids = A.edge_ids(nodes[mst.row], nodes[mst.col])
        return prune(A, np.sort(eids), is_terminal)
    inside = np.zeros(A.n, dtype=bool)
    inside[nodes] = True
    cand = np.flatnonzero(inside[A.u] & inside[A.v])  # one vectorised pass: faster than slicing the CSR twice
    k = len(nodes)
    sub = sparse.coo_array(
        (A.w[cand], (np.searchsorted(nodes, A.u[cand]), np.searchsorted(nodes, A.v[cand]))), shape=(k, k)
    ).tocsr()
    mst = csgraph.minimum_spanning_tree(sub).tocoo()
    eids = A.edge_ids(nodes[mst.row], nodes[mst.col])
    return prune(A, np.sort(eids), is_terminal)


def tree_nodes(A: GraphArrays, eids: np.ndarray) -> np.ndarray:
    """Nodes touched by edges ``eids``."""
    return np.unique(np.concatenate([A.u[eids], A.v[eids]]))


class LocalSearch:
    """Improve Steiner trees of one terminal set by local search.

    Parameters
    ----------
    A
        The graph.
    is_terminal
        Boolean mask of terminals.
    max_rounds
        Upper bound on passes over the three neighbourhoods (a deterministic work limit).
    budget
        One-element list: work units left, shared between calls (a deterministic work limit): a Dijkstra pop
        or breadth-first step of key-path exchange costs one, a Python move ``(nodes + edges) / 20``.
    insertion
        Also try Steiner-vertex insertion (one MST per candidate vertex; for small graphs).
    tol
        Relative margin a move must gain (``RoutingSettings.improvement_tolerance``).
    elimination
        Also try key-vertex elimination (each move a bounded Dijkstra from the whole tree; for graphs
        where that ball stays small).
    """

    def __init__(
        self,
        A: GraphArrays,
        is_terminal: np.ndarray,
        *,
        max_rounds: int = 20,
        insertion: bool = True,
        elimination: bool = True,
        budget: list[int] | None = None,
        tol: float = _TOL,
    ):
        self.budget = budget if budget is not None else [1 << 62]
        self.tol = tol
        #: budget units one Python move (elimination, insertion) costs: about a bounded search of the graph
        self.move_cost = max(1, (A.n + len(A.u)) // 20)
        self.A = A
        self.is_terminal = is_terminal
        self.max_rounds = max_rounds
        self.insertion = insertion
        self.elimination = elimination

    # -- tree structure -------------------------------------------------------------------------
    def _adjacency(self, eids: np.ndarray) -> dict[int, list[tuple[int, int]]]:
        A = self.A
        adj: dict[int, list[tuple[int, int]]] = {}
        for e, a, b in zip(eids.tolist(), A.u[eids].tolist(), A.v[eids].tolist(), strict=True):
            adj.setdefault(a, []).append((b, e))
            adj.setdefault(b, []).append((a, e))
        return adj

    def _is_key(self, adj: dict[int, list[tuple[int, int]]], x: int) -> bool:
        return bool(self.is_terminal[x]) or len(adj[x]) >= 3

    def _walk(self, adj: dict[int, list[tuple[int, int]]], start: int, first: tuple[int, int]) -> tuple[list[int], int]:
        """Walk a key path from key node ``start`` over ``first``; return its edges and end key node."""
        edges = [first[1]]
        prev, x = start, first[0]
        while not self._is_key(adj, x):
            nxt = adj[x][0] if adj[x][0][0] != prev else adj[x][1]
            edges.append(nxt[1])
            prev, x = x, nxt[0]
        return edges, x

    def key_paths(self, adj: dict[int, list[tuple[int, int]]]) -> list[tuple[list[int], int, int]]:
        """Key paths of the tree: (edges, start key node, end key node), each once."""
        out = []
        seen: set[int] = set()
        for x in sorted(adj):
            if not self._is_key(adj, x):
                continue
            for nb in adj[x]:
                if nb[1] in seen:
                    continue
                edges, end = self._walk(adj, x, nb)
                seen.update(edges)
                out.append((edges, x, end))
        return out

    def _components(self, adj: dict[int, list[tuple[int, int]]], removed_edges: set[int], removed_nodes: set[int]):
        """Label the tree nodes left after removing edges/nodes; return (nodes, labels) arrays."""
        A = self.A
        nodes = np.fromiter((x for x in adj if x not in removed_nodes), dtype=np.int64)
        nodes.sort()
        eids = np.fromiter({e for x in nodes.tolist() for _y, e in adj[x] if e not in removed_edges}, dtype=np.int64)
        local_u = np.searchsorted(nodes, A.u[eids])
        local_v = np.searchsorted(nodes, A.v[eids])
        k = len(nodes)
        g = sparse.coo_array((np.ones(len(eids)), (local_u, local_v)), shape=(k, k))
        _n, labels = csgraph.connected_components(g, directed=False)
        return nodes, labels.astype(np.int64)

    # -- moves ----------------------------------------------------------------------------------
    def _reconnect(self, eids: np.ndarray, removed: set[int], removed_nodes: set[int], removed_cost: float, adj):
        """Try to replace ``removed`` edges by cheaper connections; return a better tree or None."""
        self.budget[0] -= self.move_cost
        nodes, labels = self._components(adj, removed, removed_nodes)
        result = mehlhorn(self.A, nodes, labels, limit=removed_cost)
        if result is None:
            return None
        added, unconnected = result
        if unconnected:
            return None
        keep = np.array([e not in removed for e in eids.tolist()], dtype=bool)
        candidate = np.union1d(eids[keep], added)
        if tree_cost(self.A, added) >= removed_cost - self.tol * removed_cost:
            return None
        better = mst_prune(self.A, tree_nodes(self.A, candidate), self.is_terminal)
        if tree_cost(self.A, better) < tree_cost(self.A, eids) - self.tol * tree_cost(self.A, eids):
            return better
        return None

    def key_path_exchange(self, eids: np.ndarray) -> tuple[np.ndarray, bool]:
        """One pass of key-path exchange over every key path at once; return (tree, improved).

        Each key path may be replaced by the cheapest path joining its two sides, found for all key paths
        together on the Voronoi regions of the tree's nodes (Uchoa and Werneck 2012; compiled,
        :func:`gisplan.routing._kernels.voronoi_key_path_pass`), so a pass costs about one Dijkstra over the
        graph whatever the tree's size.  Every Dijkstra pop and heap entry costs one unit of the budget.
        """
        A = self.A
        if len(eids) == 0:
            return eids, False
        in_tree = np.zeros(len(A.u), dtype=np.bool_)
        in_tree[eids] = True
        tdeg = np.bincount(np.concatenate([A.u[eids], A.v[eids]]), minlength=A.n).astype(np.int64)
        csr = A.csr
        from gisplan.routing._kernels import voronoi_key_path_pass  # numba: imported on first use

        improved, left = voronoi_key_path_pass(
            A.indptr,
            A.indices,
            csr.data,
            A.w,
            A.eid,
            A.u,
            A.v,
            in_tree,
            tdeg,
            self.is_terminal.astype(np.bool_),
            int(self.budget[0]),
            self.tol,
        )
        self.budget[0] = left
        if not improved:
            return eids, False
        return np.flatnonzero(in_tree), True

    def key_vertex_elimination(self, eids: np.ndarray) -> tuple[np.ndarray, bool]:
        """One pass of key-vertex elimination (Steiner nodes of degree >= 3); return (tree, improved)."""
        A = self.A
        improved = False
        adj = self._adjacency(eids)
        candidates = [x for x in sorted(adj) if not self.is_terminal[x] and len(adj[x]) >= 3]
        for x in candidates:
            if self.budget[0] <= 0:
                break
            if x not in adj or self.is_terminal[x] or len(adj[x]) < 3:
                continue
            removed: set[int] = set()
            removed_nodes = {x}
            for nb in adj[x]:
                edges, _end = self._walk(adj, x, nb)
                removed.update(edges)
                for e in edges:
                    removed_nodes.update((int(A.u[e]), int(A.v[e])))
                removed_nodes.discard(_end)
            removed_nodes.add(x)
            cost = tree_cost(A, np.fromiter(removed, dtype=np.int64))
            new = self._reconnect(eids, removed, removed_nodes, cost, adj)
            if new is not None:
                eids = new
                improved = True
                adj = self._adjacency(eids)
        return eids, improved

    def vertex_insertion(self, eids: np.ndarray) -> tuple[np.ndarray, bool]:
        """One pass of Steiner-vertex insertion (MST-prune with one more vertex); return (tree, improved)."""
        A = self.A
        improved = False
        nodes = tree_nodes(A, eids)
        in_tree = np.zeros(A.n, dtype=bool)
        in_tree[nodes] = True
        touch = np.bincount(
            np.concatenate([A.v[in_tree[A.u] & ~in_tree[A.v]], A.u[in_tree[A.v] & ~in_tree[A.u]]]), minlength=A.n
        )
        cost = tree_cost(A, eids)
        for x in np.flatnonzero(touch >= 2).tolist():
            if self.budget[0] <= 0:
                break
            self.budget[0] -= self.move_cost
            cand = mst_prune(A, np.append(nodes, x), self.is_terminal)
            c = tree_cost(A, cand)
            if c < cost - self.tol * cost:
                eids, cost, improved = cand, c, True
                nodes = tree_nodes(A, eids)
        return eids, improved

    def run(self, eids: np.ndarray) -> np.ndarray:
        """Apply the moves until none improves or ``max_rounds`` passes are done."""
        for _ in range(self.max_rounds):
            if self.budget[0] <= 0:
                break
            eids, a = self.key_path_exchange(eids)
            b = False
            if self.elimination:
                eids, b = self.key_vertex_elimination(eids)
            c = False
            if self.insertion:
                eids, c = self.vertex_insertion(eids)
            if not (a or b or c):
                break
        return eids


def shortest_path_heuristic(A: GraphArrays, terminals: np.ndarray, root: int, *, csr=None) -> np.ndarray:
    """Takahashi-Matsuyama: grow a tree from ``root`` by the path to the nearest unconnected terminal."""
    mat = A.csr if csr is None else csr
    in_tree = np.zeros(A.n, dtype=bool)
    in_tree[root] = True
    todo = np.zeros(A.n, dtype=bool)
    todo[terminals] = True
    todo[root] = False
    edges: list[int] = []
    while todo.any():
        dist, pred = csgraph.dijkstra(
            mat, directed=True, indices=np.flatnonzero(in_tree), min_only=True, return_predecessors=True
        )[:2]
        cand = np.flatnonzero(todo)
        t = int(cand[np.argmin(dist[cand])])
        if not np.isfinite(dist[t]):
            break
        a = t
        steps_a, steps_b = [], []
        while not in_tree[a]:
            in_tree[a] = True
            todo[a] = False
            steps_a.append(pred[a])
            steps_b.append(a)
            a = pred[a]
        edges.extend(A.edge_ids(np.array(steps_a), np.array(steps_b)).tolist())
    return np.unique(np.array(edges, dtype=np.int64))
