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


def _path_edges(A: GraphArrays, pred: np.ndarray, start: int, seen: np.ndarray, out: list[int]) -> None:
    """Append to ``out`` the edges from ``start`` back to its Dijkstra source, stopping at seen nodes."""
    a = start
    steps_a: list[int] = []
    steps_b: list[int] = []
    while not seen[a]:
        seen[a] = True
        p = pred[a]
        if p < 0:
            break
        steps_a.append(p)
        steps_b.append(a)
        a = p
    if steps_a:
        out.extend(A.edge_ids(np.array(steps_a), np.array(steps_b)).tolist())


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
    seen = np.zeros(A.n, dtype=bool)
    out: list[int] = chosen.tolist()
    for e in chosen.tolist():
        _path_edges(A, pred, int(A.u[e]), seen, out)
        _path_edges(A, pred, int(A.v[e]), seen, out)
    return np.unique(np.array(out, dtype=np.int64)), k - 1 - len(chosen)


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
    sub = A.csr[nodes][:, nodes]
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
        One-element list: moves left to evaluate, shared between calls (a deterministic work limit).
    insertion
        Also try Steiner-vertex insertion (one MST per candidate vertex; for small graphs).
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
    ):
        self.budget = budget if budget is not None else [1 << 62]
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
        self.budget[0] -= 1
        nodes, labels = self._components(adj, removed, removed_nodes)
        result = mehlhorn(self.A, nodes, labels, limit=removed_cost)
        if result is None:
            return None
        added, unconnected = result
        if unconnected:
            return None
        keep = np.array([e not in removed for e in eids.tolist()], dtype=bool)
        candidate = np.union1d(eids[keep], added)
        if tree_cost(self.A, added) >= removed_cost - _TOL * removed_cost:
            return None
        better = mst_prune(self.A, tree_nodes(self.A, candidate), self.is_terminal)
        if tree_cost(self.A, better) < tree_cost(self.A, eids) - _TOL * tree_cost(self.A, eids):
            return better
        return None

    def _smaller_side(self, adj: dict[int, list[tuple[int, int]]], s: int, t: int, cut: set[int]) -> list[int]:
        """Nodes of the smaller of the two trees left when the key path s..t (edges ``cut``) is removed.

        Two breadth-first searches from ``s`` and ``t`` advance in turn; the first to finish is the
        smaller side, so the work is bounded by twice the smaller side.
        """
        sides = ([s], [t])
        seen = ({s}, {t})
        heads = [0, 0]
        while True:
            for k in (0, 1):
                nodes, mark = sides[k], seen[k]
                if heads[k] == len(nodes):
                    return nodes
                x = nodes[heads[k]]
                heads[k] += 1
                for y, e in adj[x]:
                    if e not in cut and y not in mark:
                        mark.add(y)
                        nodes.append(y)

    def _exchange(
        self,
        adj: dict[int, list[tuple[int, int]]],
        in_tree: np.ndarray,
        edges: list[int],
        s: int,
        t: int,
        inner: set[int],
    ) -> list[int] | None:
        """Cheapest path joining the two sides of the cut key path, when cheaper than the path; its edges."""
        A = self.A
        self.budget[0] -= 1
        cost = float(A.w[edges].sum())
        side = self._smaller_side(adj, s, t, set(edges))
        src = np.array(side, dtype=np.int64)
        dist, pred = csgraph.dijkstra(
            A.csr, directed=True, indices=src, min_only=True, return_predecessors=True, limit=cost
        )[:2]
        other = in_tree.copy()
        other[src] = False
        other[list(inner)] = False
        cand = np.flatnonzero(np.isfinite(dist) & other)
        if len(cand) == 0:
            return None
        best = int(cand[np.argmin(dist[cand])])
        if dist[best] >= cost - _TOL * cost:
            return None
        steps_a: list[int] = []
        steps_b: list[int] = []
        a = best
        while pred[a] >= 0:
            steps_a.append(int(pred[a]))
            steps_b.append(a)
            a = int(pred[a])
        return A.edge_ids(np.array(steps_a), np.array(steps_b)).tolist()

    def key_path_exchange(self, eids: np.ndarray) -> tuple[np.ndarray, bool]:
        """One pass of key-path exchange; return (tree, improved).

        Each key path is cut and its two sides rejoined by the cheapest path from the smaller side
        (one Dijkstra bounded by the cut path's cost), so a move costs about the smaller side plus
        the ball the Dijkstra explores, not the whole graph.
        """
        A = self.A
        improved = False
        adj = self._adjacency(eids)
        paths = self.key_paths(adj)
        paths.sort(key=lambda p: -tree_cost(A, np.array(p[0])))
        current = set(eids.tolist())
        in_tree = np.zeros(A.n, dtype=bool)
        in_tree[list(adj)] = True
        for edges, s, t in paths:
            if self.budget[0] <= 0:
                break
            if not current.issuperset(edges):
                continue
            inner = {int(x) for x in np.concatenate([A.u[edges], A.v[edges]]).tolist()} - {s, t}
            if any(x not in adj or self._is_key(adj, x) for x in inner):
                continue
            if s not in adj or t not in adj:
                continue
            new = self._exchange(adj, in_tree, edges, s, t, inner)
            if new is None:
                continue
            improved = True
            current.difference_update(edges)
            for e in edges:
                a, b = int(A.u[e]), int(A.v[e])
                adj[a] = [p for p in adj[a] if p[1] != e]
                adj[b] = [p for p in adj[b] if p[1] != e]
            for x in inner:
                if not adj[x]:
                    del adj[x]
                    in_tree[x] = False
            for e in new:
                if e in current:
                    continue
                current.add(e)
                a, b = int(A.u[e]), int(A.v[e])
                adj.setdefault(a, []).append((b, e))
                adj.setdefault(b, []).append((a, e))
                in_tree[a] = in_tree[b] = True
        if not improved:
            return eids, False
        out = np.array(sorted(current), dtype=np.int64)
        if len(out) != len(adj) - 1:  # a cycle through near-zero edges: repair
            out = mst_prune(A, tree_nodes(A, out), self.is_terminal)
        else:
            out = prune(A, out, self.is_terminal)
        return out, True

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
            self.budget[0] -= 1
            cand = mst_prune(A, np.append(nodes, x), self.is_terminal)
            c = tree_cost(A, cand)
            if c < cost - _TOL * cost:
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
