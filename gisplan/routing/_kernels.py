"""Compiled inner loops of routing (private): numba, imported on first use.

The two loops that dominate a Steiner tree call on big graphs, written over flat arrays so numba compiles
them to machine code (``cache=True``: compiled once per installation, loaded from numba's cache after):

- :func:`dual_ascent_core`: Wong's dual ascent (see :func:`gisplan.routing._bounds.dual_ascent`);
- :func:`key_path_exchange_pass`: one pass of key-path exchange, one cut path at a time (the multistart search's
  move, :mod:`gisplan.routing._search`);
- :func:`voronoi_key_path_pass`: one pass of key-path exchange over every key path at once, on the Voronoi
  regions of the tree (:meth:`gisplan.routing._heuristics.LocalSearch.key_path_exchange`).

``dual_ascent_core`` releases the GIL (``nogil=True``): :func:`gisplan.routing.steiner.steiner_tree` runs it in a
second thread beside the heuristic on graphs too big for the multistart search.

Measured on the benchmark's perturbed grids (2 shared cores): dual ascent 10x faster than the pure-Python loop
it replaces at 100,000 edges, with the identical bound (``tests/test_routing_bounds.py`` checks equality
against that loop).  ``NUMBA_DISABLE_JIT=1`` runs the same code uncompiled.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit
from numba.typed import List

__all__ = [
    "csr_from_adjacency",
    "dreyfus_wagner_core",
    "dual_ascent_core",
    "key_path_exchange_pass",
    "reverse_entries",
    "voronoi_key_path_pass",
]


@njit(cache=True, nogil=True)
def dual_ascent_core(
    in_ptr: np.ndarray,
    in_tail: np.ndarray,
    rev: np.ndarray,
    c: np.ndarray,
    terminals: np.ndarray,
    root: int,
    switch_slack: float,
    tol: float,
) -> float:  # pragma: no cover - compiled; run uncompiled with NUMBA_DISABLE_JIT=1
    """The dual ascent loop (see :func:`gisplan.routing._bounds.dual_ascent`), on arrays; returns the bound.

    The arcs are the entries of the symmetric CSR matrix (``in_ptr``, ``in_tail``): entry ``p`` of row ``y`` is
    the arc ``in_tail[p] -> y``, of cost ``c[p]``; ``rev[p]`` is the entry of the reverse arc.  An arc is named by
    its entry, so the arcs a joining node touches lie side by side, and equal keys are ordered by entry.
    """
    n = len(in_ptr) - 1
    k = len(terminals)
    cbar = c.copy()  # reduced costs, written back when a component pauses or stops
    pushed_at = np.zeros(len(in_tail))  # offset of the active component when the arc entered its cut
    in_r = np.zeros(n, dtype=np.bool_)  # nodes the root reaches over saturated arcs
    in_r[root] = True
    active = np.zeros(n, dtype=np.bool_)
    slot = np.full(n, -1, dtype=np.int64)
    for i in range(k):
        active[terminals[i]] = True
        slot[terminals[i]] = i
    active[root] = False
    stamp = np.full(n, -1, dtype=np.int64)  # node -> generation of the component holding it now
    saved = np.zeros(k, dtype=np.bool_)
    saved_w = List()
    saved_cut = List()
    saved_len = np.zeros(k, dtype=np.int64)
    for _i in range(k):
        saved_w.append(np.empty(0, dtype=np.int64))
        saved_cut.append(np.empty(0, dtype=np.int64))
    queue = [(np.int64(0), np.int64(0))]
    queue.pop()
    for i in range(k):
        t = terminals[i]
        if t != root:
            queue.append((np.int64(in_ptr[t + 1] - in_ptr[t]), np.int64(t)))
    heapq.heapify(queue)
    heap = [(0.0, np.int64(0))]
    stack = np.empty(n, dtype=np.int64)
    lb = 0.0
    gen = 0
    while len(queue) > 0:
        _size, t = heapq.heappop(queue)
        if in_r[t] or not active[t]:
            continue
        j = slot[t]
        gen += 1
        if saved[j]:
            w_nodes = saved_w[j]
            wl = saved_len[j]
            for q in range(wl):
                stamp[w_nodes[q]] = gen
            cut = saved_cut[j]
            saved[j] = False
        else:
            w_nodes = np.empty(16, dtype=np.int64)
            w_nodes[0] = t
            wl = 1
            stamp[t] = gen
            cut = np.arange(np.int64(in_ptr[t]), np.int64(in_ptr[t + 1]))
        heap.clear()
        for a in cut:
            heap.append((cbar[a], a))
            pushed_at[a] = 0.0
        heapq.heapify(heap)
        cnt = len(heap)
        offset = 0.0  # total raise of this component since it resumed
        hit = -1
        paused = False
        while len(heap) > 0:
            key, a = heap[0]
            y = in_tail[a]
            if stamp[y] == gen:  # arc went inside W
                heapq.heappop(heap)
                continue
            if key > offset:
                if len(queue) > 0 and cnt > switch_slack * queue[0][0]:
                    paused = True
                    break
                lb += key - offset
                offset = key
            heapq.heappop(heap)
            if wl == len(w_nodes):
                bigger = np.empty(2 * wl, dtype=np.int64)
                bigger[:wl] = w_nodes
                w_nodes = bigger
            w_nodes[wl] = y
            wl += 1
            stamp[y] = gen
            for p in range(in_ptr[y], in_ptr[y + 1]):
                z = in_tail[p]
                if stamp[z] == gen:  # arc y -> z leaves the cut: write its reduced cost back
                    ao = rev[p]
                    r = cbar[ao] - (offset - pushed_at[ao])
                    cbar[ao] = r if r > 0.0 else 0.0
                    cnt -= 1
                else:
                    heapq.heappush(heap, (cbar[p] + offset, np.int64(p)))
                    pushed_at[p] = offset
                    cnt += 1
            if in_r[y]:
                hit = y
                break
            if active[y]:  # another active terminal reaches t: its ascent will connect t too
                active[t] = False
                break
        live = np.empty(len(heap), dtype=np.int64)
        nl = 0
        for key, a in heap:
            if stamp[in_tail[a]] != gen:
                r = key - offset
                cbar[a] = r if r > 0.0 else 0.0
                live[nl] = a
                nl += 1
        if paused:
            saved[j] = True
            saved_w[j] = w_nodes
            saved_len[j] = wl
            saved_cut[j] = live[:nl].copy()
            heapq.heappush(queue, (cnt, t))  # type: ignore[misc]
        elif hit >= 0:
            active[t] = False
            # every node ``hit`` reaches over saturated arcs joins the root's set
            # (out-arc x -> z is in-arc z -> x reversed)
            top = 0
            stack[top] = hit
            top += 1
            while top > 0:
                top -= 1
                x = stack[top]
                for p in range(in_ptr[x], in_ptr[x + 1]):
                    z = in_tail[p]
                    if in_r[z]:
                        continue
                    if cbar[rev[p]] <= tol:
                        in_r[z] = True
                        stack[top] = z
                        top += 1
    return lb


@njit(cache=True)
def reverse_entries(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """For every entry ``p`` (row ``y``, column ``z``) of a symmetric CSR pattern with sorted rows, the entry of
    ``(z, y)``: one binary search in row ``z`` per edge."""
    rev = np.empty(len(indices), dtype=np.int64)
    for y in range(len(indptr) - 1):
        for p in range(indptr[y], indptr[y + 1]):
            z = indices[p]
            if z < y:
                continue
            lo = indptr[z]
            hi = indptr[z + 1]
            while lo < hi:
                mid = (lo + hi) >> 1
                if indices[mid] < y:
                    lo = mid + 1
                else:
                    hi = mid
            rev[p] = lo
            rev[lo] = p
    return rev


@njit(cache=True)
def _prune_leaves(
    indptr: np.ndarray,
    indices: np.ndarray,
    eid: np.ndarray,
    in_tree: np.ndarray,
    tdeg: np.ndarray,
    is_terminal: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Remove non-terminal leaves of the tree ``in_tree`` (edge mask, with node degrees ``tdeg``) repeatedly, in
    place."""
    n = len(tdeg)
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for x in range(n):
        if tdeg[x] == 1 and not is_terminal[x]:
            stack[top] = x
            top += 1
    while top > 0:
        top -= 1
        x = stack[top]
        if tdeg[x] != 1 or is_terminal[x]:
            continue
        for q in range(indptr[x], indptr[x + 1]):
            e = eid[q]
            if in_tree[e]:
                in_tree[e] = False
                y = indices[q]
                tdeg[x] -= 1
                tdeg[y] -= 1
                if tdeg[y] == 1 and not is_terminal[y]:
                    stack[top] = y
                    top += 1
                break


@njit(cache=True)
def key_path_exchange_pass(
    indptr: np.ndarray,
    indices: np.ndarray,
    w: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    in_tree: np.ndarray,
    tdeg: np.ndarray,
    is_terminal: np.ndarray,
    budget: int,
    tol: float,
) -> tuple[bool, int]:  # pragma: no cover - compiled; run uncompiled with NUMBA_DISABLE_JIT=1
    """One pass of key-path exchange on the tree ``in_tree`` (edge mask), changed in place with ``tdeg``.

    Returns (improved, budget left); every Dijkstra pop and breadth-first step costs one unit of budget.
    The tree is pruned of non-terminal leaves at the end.
    """
    n = len(tdeg)
    # -- the key paths of the tree: (edges, inner nodes, cost), walked from every key node
    p_start = [0]
    p_edges = [np.int64(0)]
    p_edges.pop()
    p_cost = [0.0]
    p_cost.pop()
    p_s = [np.int64(0)]
    p_s.pop()
    p_t = [np.int64(0)]
    p_t.pop()
    seen = np.zeros(len(in_tree), dtype=np.bool_)
    for x in range(n):
        if tdeg[x] == 0 or not (is_terminal[x] or tdeg[x] >= 3):
            continue
        for q in range(indptr[x], indptr[x + 1]):
            e = eid[q]
            if not in_tree[e] or seen[e]:
                continue
            prev = x
            y = indices[q]
            cost = w[q]
            seen[e] = True
            p_edges.append(e)
            while not (is_terminal[y] or tdeg[y] != 2):
                for r in range(indptr[y], indptr[y + 1]):
                    f = eid[r]
                    if in_tree[f] and not seen[f]:
                        seen[f] = True
                        p_edges.append(f)
                        cost += w[r]
                        prev = y
                        y = indices[r]
                        break
                else:
                    break
            _ = prev
            p_start.append(len(p_edges))
            p_cost.append(cost)
            p_s.append(x)  # type: ignore[arg-type]
            p_t.append(y)
    order = np.argsort(-np.array(p_cost))
    mark = np.zeros(n, dtype=np.int64)  # 2g: side of s in move g; 2g + 1: side of t
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    pred_e = np.full(n, -1, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    side_a = np.empty(n, dtype=np.int64)
    side_b = np.empty(n, dtype=np.int64)
    heap = [(0.0, np.int64(0))]
    improved = False
    g = 0
    for k in order:
        if budget <= 0:
            break
        lo, hi = p_start[k], p_start[k + 1]
        s, t = p_s[k], p_t[k]
        ok = tdeg[s] > 0 and tdeg[t] > 0 and s != t
        for j in range(lo, hi):
            e = p_edges[j]
            if not in_tree[e]:
                ok = False
                break
            # inner nodes: every endpoint other than s and t must still be a plain path node
            for x in (eu[e], ev[e]):
                if x != s and x != t and (tdeg[x] != 2 or is_terminal[x]):
                    ok = False
        if not ok:
            continue
        cost = p_cost[k]
        for j in range(lo, hi):
            e = p_edges[j]
            in_tree[e] = False
            tdeg[eu[e]] -= 1
            tdeg[ev[e]] -= 1
        # the two sides, by breadth-first searches from s and t run in turn: the first to end is smaller
        g += 1
        ma, mb = 2 * g, 2 * g + 1
        mark[s] = ma
        mark[t] = mb
        side_a[0] = s
        side_b[0] = t
        na, nb_, ha, hb = 1, 1, 0, 0
        small = side_a
        n_small = 0
        small_mark = ma
        while True:
            if ha == na:
                small, n_small, small_mark = side_a, na, ma
                break
            x = side_a[ha]
            ha += 1
            budget -= 1
            for q in range(indptr[x], indptr[x + 1]):
                if in_tree[eid[q]] and mark[indices[q]] != ma:
                    mark[indices[q]] = ma
                    side_a[na] = indices[q]
                    na += 1
            if hb == nb_:
                small, n_small, small_mark = side_b, nb_, mb
                break
            x = side_b[hb]
            hb += 1
            budget -= 1
            for q in range(indptr[x], indptr[x + 1]):
                if in_tree[eid[q]] and mark[indices[q]] != mb:
                    mark[indices[q]] = mb
                    side_b[nb_] = indices[q]
                    nb_ += 1
        # Dijkstra from the smaller side, bounded by the cut path's cost
        limit = cost - tol * cost
        heap.clear()
        nt = 0
        for i in range(n_small):
            x = small[i]
            dist[x] = 0.0
            touched[nt] = x
            nt += 1
            heap.append((0.0, x))
        heapq.heapify(heap)
        target = -1
        while len(heap) > 0:
            d, x = heapq.heappop(heap)  # type: ignore[assignment]
            if d > dist[x]:
                continue
            budget -= 1
            if d >= limit:
                break
            if (tdeg[x] > 0 or x == s or x == t) and mark[x] != small_mark:  # noqa: SIM109 (numba)
                target = x
                break
            for q in range(indptr[x], indptr[x + 1]):
                y = indices[q]
                nd = d + w[q]
                if nd < dist[y] and nd < limit:
                    if dist[y] == np.inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = nd
                    pred[y] = x
                    pred_e[y] = eid[q]
                    heapq.heappush(heap, (nd, y))
        if target >= 0:
            x = target
            while pred_e[x] >= 0:  # back to the source (sources have no predecessor)
                e = pred_e[x]
                in_tree[e] = True
                tdeg[eu[e]] += 1
                tdeg[ev[e]] += 1
                x = pred[x]
            improved = True
        else:
            for j in range(lo, hi):
                e = p_edges[j]
                in_tree[e] = True
                tdeg[eu[e]] += 1
                tdeg[ev[e]] += 1
        for i in range(nt):
            x = touched[i]
            dist[x] = np.inf
            pred[x] = -1
            pred_e[x] = -1
    _prune_leaves(indptr, indices, eid, in_tree, tdeg, is_terminal)
    return improved, budget


@njit(inline="always")
def _hpush(hk: np.ndarray, hv: np.ndarray, size: int, key: float, val: int) -> int:  # pragma: no cover
    """Push (key, val) on the binary heap in arrays ``hk``/``hv`` of ``size`` entries; return the new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] < key or (hk[p] == key and hv[p] <= val):
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = val
    return size + 1


@njit(inline="always")
def _hpop(hk: np.ndarray, hv: np.ndarray, size: int) -> int:  # pragma: no cover
    """Remove the top of that heap; return the new size."""
    size -= 1
    if size == 0:
        return 0
    key = hk[size]
    val = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        r = c + 1
        if r < size and (hk[r] < hk[c] or (hk[r] == hk[c] and hv[r] < hv[c])):
            c = r
        if hk[c] > key or (hk[c] == key and hv[c] >= val):
            break
        hk[i] = hk[c]
        hv[i] = hv[c]
        i = c
    hk[i] = key
    hv[i] = val
    return size


@njit(inline="always")
def _dijkstra_rest(
    indptr: np.ndarray,
    indices: np.ndarray,
    w: np.ndarray,
    eid: np.ndarray,
    dist: np.ndarray,
    label: np.ndarray,
    pred: np.ndarray,
    pred_e: np.ndarray,
    hk: np.ndarray,
    hv: np.ndarray,
    hn: int,
) -> int:  # pragma: no cover - compiled
    """Run Dijkstra to its end from the entries already in the binary heap ``hk``/``hv`` (``hn`` of them, room
    for one more per CSR entry); returns the number of nodes settled.

    ``w``/``eid``: weight and edge id of every CSR entry.  Each node reached by a shorter path gets its
    distance, its predecessor and the edge to it (``pred``, ``pred_e``), and the ``label`` of that predecessor
    (its nearest source, for Voronoi regions).  Ties pop by node, so the result does not depend on the heap.
    """
    settled = 0
    while hn > 0:
        d = hk[0]
        x = hv[0]
        hn = _hpop(hk, hv, hn)
        if d > dist[x]:
            continue
        settled += 1
        for q in range(indptr[x], indptr[x + 1]):
            y = indices[q]
            nd = d + w[q]
            if nd < dist[y]:
                dist[y] = nd
                label[y] = label[x]
                pred[y] = x
                pred_e[y] = eid[q]
                hn = _hpush(hk, hv, hn, nd, y)
    return settled


#: scratch entries of a leftist-heap merge: two right spines of at most 64 entries each
_SPINE = 128


@njit(cache=True)
def _lmerge(
    a: int,
    b: int,
    key: np.ndarray,
    ent: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    npl: np.ndarray,
    stack: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Merge two leftist heaps (roots a, b; -1 empty) of entries ordered by (key, ent); return the root.

    ``stack``: scratch of :data:`_SPINE` entries, enough for any merge: the walk follows the right spines of
    both heaps, and a leftist heap of N entries has a right spine of at most log2(N + 1) entries (below 64 each
    for any N that fits in memory).  It is passed in because an allocation per merge cost more than the merge
    (the pass at 30,000 edges: 15 ms with one, 9-11 ms without).
    """
    if a < 0:
        return b
    if b < 0:
        return a
    # iterative merge along right spines
    top = 0
    root = -1
    while a >= 0 and b >= 0:
        if key[b] < key[a] or (key[b] == key[a] and ent[b] < ent[a]):
            a, b = b, a
        stack[top] = a
        top += 1
        nxt = right[a]
        a = nxt
    rest = a if a >= 0 else b
    # rebuild upward
    child = rest
    while top > 0:
        top -= 1
        x = stack[top]
        right[x] = child
        lx = left[x]
        nl = npl[lx] if lx >= 0 else -1
        nr = npl[child] if child >= 0 else -1
        if nl < nr:
            left[x] = child
            right[x] = lx
            npl[x] = nl + 1
        else:
            npl[x] = nr + 1
        child = x
    root = child
    return root


@njit(cache=True)
def _lpop(
    h: int,
    key: np.ndarray,
    ent: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    npl: np.ndarray,
    stack: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Remove the top of the leftist heap rooted at ``h``; return the new root."""
    return _lmerge(left[h], right[h], key, ent, left, right, npl, stack)


@njit(cache=True, nogil=True)
def voronoi_key_path_pass(
    indptr: np.ndarray,
    indices: np.ndarray,
    w: np.ndarray,
    we: np.ndarray,
    eid: np.ndarray,
    eu: np.ndarray,
    ev: np.ndarray,
    in_tree: np.ndarray,
    tdeg: np.ndarray,
    is_terminal: np.ndarray,
    budget: int,
    tol: float,
) -> tuple[bool, int]:  # pragma: no cover - compiled; run uncompiled with NUMBA_DISABLE_JIT=1
    """One pass of key-path exchange over every key path at once, on Voronoi regions (Uchoa and Werneck 2012).

    ``w`` are the weights of the CSR entries, ``we`` the same by edge id.  The tree ``in_tree`` (edge mask) is
    changed in place with ``tdeg``; returns (improved, budget left).

    1. Voronoi regions of all tree nodes (one multi-source Dijkstra): each graph node's nearest tree node
       (its base), distance and path to it.
    2. Every boundary edge (ends in two regions) is a reconnection candidate of cost dist + weight + dist,
       kept in a leftist heap at both bases.  The tree is rooted at a terminal; key paths are visited bottom-up
       and each node's heap is merged into its parent's, so the heap of key node ``x`` holds the candidates of
       its subtree ``S(x)``; candidates whose other end lies in ``S(x)`` or on the key path are popped for good
       (they stay inside every larger subtree).
    3. The regions of the key path's inner nodes are freed when the path is cut: one Dijkstra inside them
       from their neighbours on each side, with candidates across them (a detour beside the cut path).
    4. The cheapest candidate replaces the key path when it costs less (relative margin ``tol``).  Several
       exchanges are made in one pass: a candidate with an end in a subtree moved earlier in the pass or on a
       removed path is not taken, so every moved subtree hangs on a node that stays; key nodes are judged on
       the current degrees, so a node something hangs on (degree 3 or more) is never the inner node of a cut
       path.  The new paths run inside Voronoi regions, which are disjoint: the result stays a tree.
    No non-terminal leaf appears (a cut takes one edge from a terminal or from a node of degree 3 or more, and a new
    path ends at two tree nodes), so nothing is pruned.  Work: every Dijkstra pop and heap entry costs one unit; a pass,
    once started, runs to its end (about 1.4 units per node and edge of the graph).
    """
    n = len(tdeg)
    # -- tree nodes, root
    root = -1
    ntree = 0
    for x in range(n):
        if tdeg[x] > 0:
            ntree += 1
            if root < 0 and is_terminal[x]:
                root = x
    if ntree < 3 or root < 0:
        return False, budget
    # -- Voronoi regions of the tree nodes (multi-source Dijkstra)
    dist = np.full(n, np.inf)
    base = np.full(n, -1, dtype=np.int64)
    vpred_e = np.full(n, -1, dtype=np.int64)
    vpred = np.full(n, -1, dtype=np.int64)
    hk = np.empty(len(indices) + ntree + 1)
    hv = np.empty(len(indices) + ntree + 1, dtype=np.int64)
    hn = 0
    for x in range(n):
        if tdeg[x] > 0:
            dist[x] = 0.0
            base[x] = x
            hn = _hpush(hk, hv, hn, 0.0, x)
    budget -= _dijkstra_rest(indptr, indices, w, eid, dist, base, vpred, vpred_e, hk, hv, hn)
    # -- root the tree: parent, parent edge, pre-order, subtree ranges
    parent = np.full(n, -1, dtype=np.int64)
    pedge = np.full(n, -1, dtype=np.int64)
    pw = np.zeros(n)
    pre = np.full(n, -1, dtype=np.int64)
    order = np.empty(ntree, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    stack = np.empty(ntree, dtype=np.int64)
    top = 0
    stack[top] = root
    top += 1
    cnt = 0
    pre[root] = 0
    while top > 0:
        top -= 1
        x = stack[top]
        pre[x] = cnt
        order[cnt] = x
        cnt += 1
        for q in range(indptr[x], indptr[x + 1]):
            e = eid[q]
            y = indices[q]
            if in_tree[e] and pre[y] == -1 and y != root:
                parent[y] = x
                pedge[y] = e
                pw[y] = w[q]
                pre[y] = -2  # queued
                stack[top] = y
                top += 1
    if cnt != ntree:
        return False, budget  # not a tree: leave it
    for k in range(ntree - 1, -1, -1):
        x = order[k]
        if last[x] < pre[x]:
            last[x] = pre[x]
        p = parent[x]
        if p >= 0 and last[p] < last[x]:
            last[p] = last[x]
    # -- boundary edges into leftist heaps of their two bases
    m = len(eu)
    nb = 0
    for e in range(m):
        a = eu[e]
        b = ev[e]
        if base[a] >= 0 and base[b] >= 0 and base[a] != base[b]:
            nb += 1
    key = np.empty(2 * nb)
    ent = np.empty(2 * nb, dtype=np.int64)  # 2 * edge + side
    other = np.empty(2 * nb, dtype=np.int64)
    left = np.full(2 * nb, -1, dtype=np.int64)
    right = np.full(2 * nb, -1, dtype=np.int64)
    npl = np.zeros(2 * nb, dtype=np.int64)
    heap = np.full(n, -1, dtype=np.int64)
    spine = np.empty(_SPINE, dtype=np.int64)
    k = 0
    for e in range(m):
        a = eu[e]
        b = ev[e]
        if base[a] >= 0 and base[b] >= 0 and base[a] != base[b]:
            c = dist[a] + we[e] + dist[b]
            key[k] = c
            ent[k] = 2 * e
            other[k] = base[b]
            heap[base[a]] = _lmerge(heap[base[a]], k, key, ent, left, right, npl, spine)
            key[k + 1] = c
            ent[k + 1] = 2 * e + 1
            other[k + 1] = base[a]
            heap[base[b]] = _lmerge(heap[base[b]], k + 1, key, ent, left, right, npl, spine)
            k += 2
            budget -= 2
    # -- each tree node's Voronoi region as a list (nodes grouped by base)
    rptr = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        if base[v] >= 0:
            rptr[base[v] + 1] += 1
    for v in range(n):
        rptr[v + 1] += rptr[v]
    fill = rptr[:-1].copy()
    rnodes = np.empty(rptr[n], dtype=np.int64)
    for v in range(n):
        b = base[v]
        if b >= 0:
            rnodes[fill[b]] = v
            fill[b] += 1
    # -- key paths bottom-up
    inp = np.full(n, -1, dtype=np.int64)  # inner node of the key path being evaluated (stamp: its lower end)
    removed = np.zeros(n, dtype=np.bool_)
    moved = np.zeros(n, dtype=np.bool_)
    inF = np.full(n, -1, dtype=np.int64)  # stamp: node lies in the freed regions of the key path at x
    d2 = np.full(n, np.inf)
    side2 = np.zeros(n, dtype=np.int64)  # 1: joined to the lower side S(x), 2: to the rest
    pred2 = np.full(n, -1, dtype=np.int64)
    pe2 = np.full(n, -1, dtype=np.int64)
    fl = np.empty(n, dtype=np.int64)
    lk = np.empty(len(indices) + 1)
    lv = np.empty(len(indices) + 1, dtype=np.int64)
    improved = False
    for kk in range(ntree - 1, 0, -1):
        x = order[kk]
        is_key = is_terminal[x] or tdeg[x] >= 3
        if is_key:
            # walk the key path up to the next key node
            y = parent[x]
            cost = pw[x]
            while not (is_terminal[y] or tdeg[y] >= 3 or y == root):
                inp[y] = x
                cost += pw[y]
                y = parent[y]
            h = heap[x]
            while h >= 0:
                o = other[h]
                if (pre[x] <= pre[o] and pre[o] <= last[x]) or inp[o] == x:
                    h = _lpop(h, key, ent, left, right, npl, spine)
                    budget -= 1
                    continue
                break
            heap[x] = h
            best = np.inf
            use_heap = False
            if h >= 0:
                eh = ent[h] // 2
                own = base[eu[eh]] if ent[h] % 2 == 0 else base[ev[eh]]
                o = other[h]
                if not (moved[o] or removed[o] or moved[own] or removed[own]):
                    best = key[h]
                    use_heap = True
            # the freed regions of the path's inner nodes, joined again from their stable neighbours, by side
            fb_v = -1
            fb_y = -1
            nf = 0
            z = parent[x]
            while z != y:
                for r in range(rptr[z], rptr[z + 1]):
                    v = rnodes[r]
                    inF[v] = x
                    d2[v] = np.inf
                    pred2[v] = -1
                    pe2[v] = -1
                    side2[v] = 0
                    fl[nf] = v
                    nf += 1
                z = parent[z]
            ln = 0
            for i in range(nf):
                v = fl[i]
                for q in range(indptr[v], indptr[v + 1]):
                    u = indices[q]
                    bu = base[u]
                    if inF[u] == x or bu < 0 or moved[bu] or removed[bu]:
                        continue
                    sd = 1 if (pre[x] <= pre[bu] and pre[bu] <= last[x]) else 2
                    nd = dist[u] + w[q]
                    if nd < d2[v]:
                        d2[v] = nd
                        side2[v] = sd
                        pred2[v] = u
                        pe2[v] = eid[q]
                        ln = _hpush(lk, lv, ln, nd, v)
            while ln > 0:
                dv = lk[0]
                v = lv[0]
                ln = _hpop(lk, lv, ln)
                if dv > d2[v]:
                    continue
                budget -= 1
                for q in range(indptr[v], indptr[v + 1]):
                    u = indices[q]
                    if inF[u] != x:
                        continue
                    nd = dv + w[q]
                    if nd < d2[u]:
                        d2[u] = nd
                        side2[u] = side2[v]
                        pred2[u] = v
                        pe2[u] = eid[q]
                        ln = _hpush(lk, lv, ln, nd, u)
            for i in range(nf):
                v = fl[i]
                if side2[v] == 0:
                    continue
                for q in range(indptr[v], indptr[v + 1]):
                    u = indices[q]
                    if inF[u] == x:
                        if side2[u] == 0 or side2[u] == side2[v]:
                            continue
                        c = d2[v] + w[q] + d2[u]
                    else:
                        bu = base[u]
                        if bu < 0 or moved[bu] or removed[bu]:
                            continue
                        sd = 1 if (pre[x] <= pre[bu] and pre[bu] <= last[x]) else 2
                        if sd == side2[v]:
                            continue
                        c = d2[v] + w[q] + dist[u]
                    if c < best:
                        best = c
                        fb_v = v
                        fb_y = u
                        use_heap = False
            if (use_heap or fb_v >= 0) and best < cost - tol * cost:
                # apply: cut the key path
                z = x
                while z != y:
                    e = pedge[z]
                    in_tree[e] = False
                    tdeg[eu[e]] -= 1
                    tdeg[ev[e]] -= 1
                    if z != x:
                        removed[z] = True
                    z = parent[z]
                # join: the new edge, then from each end back to its base (repaired paths inside the freed regions)
                if use_heap:
                    e = ent[h] // 2
                    ea = eu[e]
                    eb = ev[e]
                else:
                    e = -1
                    for q in range(indptr[fb_v], indptr[fb_v + 1]):
                        if indices[q] == fb_y:
                            e = eid[q]
                    ea = fb_v
                    eb = fb_y
                for end in (ea, eb):
                    z = end
                    while inF[z] == x and pe2[z] >= 0:
                        f = pe2[z]
                        if not in_tree[f]:
                            in_tree[f] = True
                            tdeg[eu[f]] += 1
                            tdeg[ev[f]] += 1
                        z = pred2[z]
                    while vpred_e[z] >= 0:
                        f = vpred_e[z]
                        if not in_tree[f]:
                            in_tree[f] = True
                            tdeg[eu[f]] += 1
                            tdeg[ev[f]] += 1
                        z = vpred[z]
                if not in_tree[e]:
                    in_tree[e] = True
                    tdeg[eu[e]] += 1
                    tdeg[ev[e]] += 1
                for r in range(pre[x], last[x] + 1):
                    moved[order[r]] = True
                improved = True
        p = parent[x]
        heap[p] = _lmerge(heap[p], heap[x], key, ent, left, right, npl, spine)
        heap[x] = -1
    return improved, budget


@njit(cache=True)
def dreyfus_wagner_core(
    indptr: np.ndarray, indices: np.ndarray, wc: np.ndarray, eid: np.ndarray, others: np.ndarray, root: int
) -> tuple[np.ndarray, float]:  # pragma: no cover - compiled
    """Dreyfus and Wagner's dynamic programme (see :func:`gisplan.routing._bounds.dreyfus_wagner`), compiled.

    ``dp[S, v]``: the cheapest tree joining the terminals of subset ``S`` of ``others`` and node ``v``.  A
    singleton's row is one Dijkstra from its terminal; a larger subset's row starts at its best split at each
    node (``3^q`` row minima in all) and one Dijkstra seeded with those values relaxes it.  Returns (edge ids of
    an optimal tree joining ``others`` and ``root``, its cost), the tree traced back through the splits and the
    Dijkstras' predecessors.
    """
    n = len(indptr) - 1
    q = len(others)
    full = (1 << q) - 1
    dp = np.full((full + 1, n), np.inf)
    split = np.zeros((full + 1, n), dtype=np.int64)
    pred = np.full((full + 1, n), -1, dtype=np.int64)
    pe = np.full((full + 1, n), -1, dtype=np.int64)
    # one binary heap on two arrays for every Dijkstra (a heapq list of tuples took 3-5 times longer): at most
    # every node seeded plus one entry per arc relaxed
    hk = np.empty(n + len(indices) + 1)
    hv = np.empty(n + len(indices) + 1, dtype=np.int64)
    scratch = np.zeros(n, dtype=np.int64)  # the Dijkstras' labels, unused here
    for S in range(1, full + 1):
        row = dp[S]
        hn = 0
        if S & (S - 1) == 0:  # a singleton: Dijkstra from its terminal
            i = 0
            while (1 << i) != S:
                i += 1
            t = others[i]
            row[t] = 0.0
            hn = _hpush(hk, hv, hn, 0.0, t)
        else:
            low = S & -S
            D = (S - 1) & S
            while D > 0:
                if D & low:
                    a = dp[D]
                    b = dp[S ^ D]
                    for v in range(n):
                        val = a[v] + b[v]
                        if val < row[v]:
                            row[v] = val
                            split[S, v] = D
                D = (D - 1) & S
            for v in range(n):
                if row[v] < np.inf:
                    hn = _hpush(hk, hv, hn, row[v], v)
        _dijkstra_rest(indptr, indices, wc, eid, row, scratch, pred[S], pe[S], hk, hv, hn)
    out = np.empty((2 * q + 1) * n + 1, dtype=np.int64)  # at most 2q - 1 traced paths of n - 1 edges
    no = 0
    st_s = np.empty(2 * q + 2, dtype=np.int64)
    st_v = np.empty(2 * q + 2, dtype=np.int64)
    top = 0
    st_s[0] = full
    st_v[0] = root
    top = 1
    while top > 0:
        top -= 1
        S = st_s[top]
        x = st_v[top]
        while pred[S, x] >= 0:
            out[no] = pe[S, x]
            no += 1
            x = pred[S, x]
        if S & (S - 1) != 0:
            D = split[S, x]
            st_s[top] = D
            st_v[top] = x
            st_s[top + 1] = S ^ D
            st_v[top + 1] = x
            top += 2
    return np.unique(out[:no]), dp[full, root]


@njit(cache=True)
def csr_from_adjacency(
    counts: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """The symmetric CSR of a networkx adjacency, in one pass and a sort within rows.

    ``counts[r]``: number of neighbours of node ``r``; ``cols``: every node's neighbours (array indices), node
    after node, in adjacency order.  Self-loops are dropped; each edge is numbered once, in the order of its
    entries with row < column.  Returns ``(lo, hi, entry, indptr, indices, eid)``: the edges' ends, the
    adjacency entry holding each edge's attributes, the CSR (columns sorted within rows) and each CSR entry's
    edge.  The same arrays as sorting every entry by ``row * n + column``, without the
    sort's temporaries (fresh memory is slow on the machines this runs on: a few ms per MB).
    """
    n = len(counts)
    m = 0
    deg = np.zeros(n, dtype=np.int64)
    p = 0
    for r in range(n):
        for _ in range(counts[r]):
            c = cols[p]
            if r < c:
                m += 1
                deg[r] += 1
                deg[c] += 1
            p += 1
    lo = np.empty(m, dtype=np.int64)
    hi = np.empty(m, dtype=np.int64)
    entry = np.empty(m, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for r in range(n):
        indptr[r + 1] = indptr[r] + deg[r]
    fill = indptr[:-1].copy()
    indices = np.empty(2 * m, dtype=np.int64)
    eid = np.empty(2 * m, dtype=np.int64)
    k = 0
    p = 0
    for r in range(n):
        for _ in range(counts[r]):
            c = cols[p]
            if r < c:
                lo[k] = r
                hi[k] = c
                entry[k] = p
                indices[fill[r]] = c
                eid[fill[r]] = k
                fill[r] += 1
                indices[fill[c]] = r
                eid[fill[c]] = k
                fill[c] += 1
                k += 1
            p += 1
    for r in range(n):
        a = indptr[r]
        b = indptr[r + 1]
        if b - a > 32:
            order = np.argsort(indices[a:b])
            indices[a:b] = indices[a:b][order]
            eid[a:b] = eid[a:b][order]
        else:  # insertion sort: rows of a road graph hold a few entries
            for i in range(a + 1, b):
                ci = indices[i]
                ei = eid[i]
                j = i - 1
                while j >= a and indices[j] > ci:
                    indices[j + 1] = indices[j]
                    eid[j + 1] = eid[j]
                    j -= 1
                indices[j + 1] = ci
                eid[j + 1] = ei
    return lo, hi, entry, indptr, indices, eid
