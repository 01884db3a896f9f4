"""Lower bounds and exact solutions for the Steiner tree problem (private; see :mod:`gisplan.routing.steiner`).

- :func:`dual_ascent`: Wong's dual ascent (1984) on the bidirected cut formulation.
  Every edge becomes two arcs; a root terminal is fixed; for a terminal ``t`` not
  yet reached, ``W(t)`` is the set of nodes from which ``t`` can be reached over
  arcs of zero reduced cost.  Raising the dual of the cut into ``W(t)`` by the
  smallest reduced cost on it keeps the dual feasible, so the sum of the raises
  is a valid lower bound on the cost of every Steiner tree.  Terminals are
  processed smallest cut first, as Wong proposed, with components and cuts kept
  incrementally (Polzin and Vahdati Daneshmand's root components), so the work
  follows the components' growth, not (raises x edges).
- :func:`solve_exact`: the multicommodity flow formulation (equivalent in LP
  strength to the directed cut formulation), solved by HiGHS through
  ``scipy.optimize.milp`` with a node limit (deterministic); it returns the best
  tree found and HiGHS's dual bound.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from gisplan.routing._arrays import GraphArrays
from gisplan.routing.settings import DEFAULT_SETTINGS, RoutingSettings


def dual_ascent(
    A: GraphArrays, terminals: np.ndarray, *, root: int | None = None, settings: RoutingSettings | None = None
) -> float:
    """Wong's dual ascent lower bound on the cost (true weights) of a Steiner tree spanning ``terminals``.

    Incremental: each active terminal ``t`` keeps its component ``W(t)`` (the nodes reaching ``t`` over
    saturated arcs) and a heap of its cut arcs with one lazy offset, so a raise costs a heap operation and a
    node joining ``W(t)`` costs one pass over its arcs; nothing is recomputed from scratch.  The component
    with the fewest cut arcs is raised (Wong's rule); a component is paused (its reduced costs written back)
    when its cut exceeds ``settings.dual_ascent_switch_slack`` times the next one's.  A component stops when it
    reaches a node the root reaches over saturated arcs (kept in one growing set), or when it takes in another active
    terminal (no longer a root component: that terminal's ascent connects it).  Every raised cut excludes
    the root, so the bound is valid whatever the order.  All terminals must lie in one connected component.
    """
    switch_slack = (settings or DEFAULT_SETTINGS).dual_ascent_switch_slack
    terminals = np.unique(terminals)
    if len(terminals) < 2:
        return 0.0
    n, m = A.n, len(A.u)
    tail_np = np.concatenate([A.u, A.v])  # arc a: tail -> head; arc a and a +- m are the two directions of edge
    head_np = np.concatenate([A.v, A.u])
    c = np.concatenate([A.w_true, A.w_true]).astype(np.float64)
    by_head = np.argsort(head_np, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head_np, minlength=n), out=ptr[1:])
    deg = np.diff(ptr)
    if root is None:
        root = int(terminals[np.argmax(deg[terminals])])
    # Python lists: the loops below index single items, which lists do several times faster than arrays
    in_ptr = ptr.tolist()
    in_arc = by_head.tolist()
    in_tail = tail_np[by_head].tolist()
    tail = tail_np.tolist()
    cbar = c.tolist()  # reduced costs, written back when a component pauses or stops
    tol = 1e-12 * (float(c.max()) if m else 0.0)  # relative: weights of 1e-10 are not "saturated"
    pushed_at = [0.0] * (2 * m)  # offset of the active component when the arc entered its cut
    in_r = bytearray(n)  # nodes the root reaches over saturated arcs
    in_r[root] = 1
    active = bytearray(n)
    for x in terminals.tolist():
        active[x] = 1
    active[root] = 0
    saved: dict[int, tuple[set[int], list[int]]] = {}
    queue = [(int(deg[t]), int(t)) for t in terminals.tolist() if t != root]
    heapq.heapify(queue)
    push, pop = heapq.heappush, heapq.heappop
    lb = 0.0
    while queue:
        _size, t = pop(queue)
        state = saved.pop(t, None)
        if in_r[t] or not active[t]:
            continue
        W, cut = state if state is not None else ({t}, in_arc[in_ptr[t] : in_ptr[t + 1]])
        heap = [(cbar[a], a) for a in cut]
        for a in cut:
            pushed_at[a] = 0.0
        heapq.heapify(heap)
        cnt = len(heap)
        offset = 0.0  # total raise of this component since it resumed
        hit = -1
        paused = False
        while heap:
            key, a = heap[0]
            y = tail[a]
            if y in W:  # arc went inside W
                pop(heap)
                continue
            if key > offset:
                if queue and cnt > switch_slack * queue[0][0]:
                    paused = True
                    break
                lb += key - offset
                offset = key
            pop(heap)
            W.add(y)
            for p in range(in_ptr[y], in_ptr[y + 1]):
                z = in_tail[p]
                ai = in_arc[p]
                if z in W:  # arc y -> z leaves the cut: write its reduced cost back
                    ao = ai - m if ai >= m else ai + m
                    r = cbar[ao] - (offset - pushed_at[ao])
                    cbar[ao] = r if r > 0.0 else 0.0
                    cnt -= 1
                else:
                    push(heap, (cbar[ai] + offset, ai))
                    pushed_at[ai] = offset
                    cnt += 1
            if in_r[y]:
                hit = y
                break
            if active[y]:  # another active terminal reaches t: its ascent will connect t too
                active[t] = 0
                break
        live = []
        for key, a in heap:
            if tail[a] not in W:
                r = key - offset
                cbar[a] = r if r > 0.0 else 0.0
                live.append(a)
        if paused:
            saved[t] = (W, live)
            push(queue, (cnt, t))
        elif hit >= 0:
            active[t] = 0
            _reach(hit, in_r, in_ptr, in_arc, in_tail, cbar, m, tol)
    return lb


def _reach(start: int, in_r: bytearray, in_ptr, in_arc, in_tail, cbar, m: int, tol: float) -> None:
    """Add to ``in_r`` every node ``start`` reaches over saturated arcs (out-arc x -> z is in-arc z -> x reversed)."""
    stack = [start]
    while stack:
        x = stack.pop()
        for p in range(in_ptr[x], in_ptr[x + 1]):
            z = in_tail[p]
            if in_r[z]:
                continue
            ai = in_arc[p]
            if cbar[ai - m if ai >= m else ai + m] <= tol:
                in_r[z] = 1
                stack.append(z)


def flow_model_size(A: GraphArrays, n_terminals: int) -> int:
    """Number of flow variables of the multicommodity formulation."""
    return 2 * len(A.u) * max(n_terminals - 1, 0)


def solve_exact(
    A: GraphArrays, terminals: np.ndarray, *, node_limit: int = 2000
) -> tuple[np.ndarray | None, float, bool]:
    """Solve the multicommodity flow MILP with HiGHS.

    Returns
    -------
    (edge ids of the best tree found or None, lower bound, proven optimal)
    """
    terminals = np.unique(terminals)
    root = int(terminals[0])
    others = terminals[1:]
    k = len(others)
    m = len(A.u)
    n = A.n
    na = 2 * m
    tail = np.concatenate([A.u, A.v])
    head = np.concatenate([A.v, A.u])
    # HiGHS's tolerances are absolute: scale the costs to at most 1 and the bound back
    scale = float(A.w_true.max()) if m and A.w_true.max() > 0 else 1.0
    c = np.concatenate([A.w_true, A.w_true]) / scale
    nvar = na + k * na  # y then f^1..f^k
    cost = np.concatenate([c, np.zeros(k * na)])
    rows, cols, vals = [], [], []
    lo, hi = [], []
    r = 0
    arc = np.arange(na)
    for j, t in enumerate(others.tolist()):
        off = na + j * na
        # conservation: in - out = +1 at t, -1 at root, 0 elsewhere
        rows += [head + r, tail + r]
        cols += [off + arc, off + arc]
        vals += [np.ones(na), -np.ones(na)]
        b = np.zeros(n)
        b[t] = 1.0
        b[root] = -1.0
        lo.append(b)
        hi.append(b)
        r += n
        # f <= y
        rows += [r + arc, r + arc]
        cols += [off + arc, arc]
        vals += [np.ones(na), -np.ones(na)]
        lo.append(np.full(na, -np.inf))
        hi.append(np.zeros(na))
        r += na
    # y_uv + y_vu <= 1
    e = np.arange(m)
    rows += [r + e, r + e]
    cols += [e, e + m]
    vals += [np.ones(m), np.ones(m)]
    lo.append(np.full(m, -np.inf))
    hi.append(np.ones(m))
    r += m
    mat = sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nvar))
    integrality = np.concatenate([np.ones(na), np.zeros(k * na)])
    res = milp(
        cost,
        constraints=LinearConstraint(mat, np.concatenate(lo), np.concatenate(hi)),
        integrality=integrality,
        bounds=Bounds(np.zeros(nvar), np.ones(nvar)),
        options={"node_limit": node_limit, "presolve": True, "mip_rel_gap": 0.0},
    )
    raw = getattr(res, "mip_dual_bound", None)
    bound = float(raw) * scale if raw is not None else float("nan")
    if res.x is None:
        return None, bound if np.isfinite(bound) else 0.0, False
    y = res.x[:na] > 0.5
    eids = np.unique(np.concatenate([np.flatnonzero(y[:m]), np.flatnonzero(y[m:])]))
    optimal = res.status == 0
    if optimal and not np.isfinite(bound):
        bound = float(res.fun) * scale
    return eids, bound, optimal
