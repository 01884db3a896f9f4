"""Lower bounds and exact solutions for the Steiner tree problem (private; see :mod:`gisplan.routing`).

- :func:`dual_ascent`: Wong's dual ascent (1984) on the bidirected cut formulation.
  Every edge becomes two arcs; a root terminal is fixed; for a terminal ``t`` not
  yet reached, ``W(t)`` is the set of nodes from which ``t`` can be reached over
  arcs of zero reduced cost.  Raising the dual of the cut into ``W(t)`` by the
  smallest reduced cost on it keeps the dual feasible, so the sum of the raises
  is a valid lower bound on the cost of every Steiner tree.  Terminals are
  processed smallest cut first, as Wong proposed.
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

from gisplan._graph import GraphArrays


def dual_ascent(A: GraphArrays, terminals: np.ndarray, *, root: int | None = None) -> float:
    """Wong's dual ascent lower bound on the cost (true weights) of a Steiner tree spanning ``terminals``.

    All terminals must lie in one connected component.
    """
    terminals = np.unique(terminals)
    if len(terminals) < 2:
        return 0.0
    m = len(A.u)
    n = A.n
    tail = np.concatenate([A.u, A.v])
    head = np.concatenate([A.v, A.u])
    cbar = np.concatenate([A.w_true, A.w_true]).astype(np.float64)
    order = np.argsort(head, kind="stable")
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(in_ptr, head + 1, 1)
    in_ptr = np.cumsum(in_ptr)
    in_arcs = order
    in_tails = tail[order]
    is_term = np.zeros(n, dtype=bool)
    is_term[terminals] = True
    if root is None:
        deg = np.diff(in_ptr)
        root = int(terminals[np.argmax(deg[terminals])])
    done = np.zeros(n, dtype=bool)
    done[root] = True
    tol = 1e-12 * max(1.0, float(cbar.max()) if m else 1.0)
    heap = [(int(in_ptr[t + 1] - in_ptr[t]), int(t)) for t in terminals if t != root]
    heapq.heapify(heap)
    lb = 0.0
    while heap:
        _key, t = heapq.heappop(heap)
        if done[t]:
            continue
        W = np.zeros(n, dtype=bool)
        W[t] = True
        hit = _grow(W, [t], in_ptr, in_arcs, in_tails, cbar, tol, done)
        if hit:
            done[t] = True
            continue
        while True:
            cut = np.flatnonzero(W[head] & ~W[tail])
            if cut.size == 0:  # t cannot be reached from the root: no finite tree
                done[t] = True
                break
            delta = float(cbar[cut].min())
            cbar[cut] -= delta
            lb += delta
            sat = cut[cbar[cut] <= tol]
            new = np.unique(tail[sat])
            W[new] = True
            if done[new].any() or _grow(W, new.tolist(), in_ptr, in_arcs, in_tails, cbar, tol, done):
                done[t] = True
                break
            if heap and cut.size > heap[0][0]:
                heapq.heappush(heap, (int(cut.size), t))
                break
    return lb


def _grow(W, stack, in_ptr, in_arcs, in_tails, cbar, tol, done) -> bool:
    """Add to W every node reaching W over saturated arcs; True when a done terminal is reached."""
    while stack:
        x = stack.pop()
        lo, hi = in_ptr[x], in_ptr[x + 1]
        tails = in_tails[lo:hi]
        ok = (cbar[in_arcs[lo:hi]] <= tol) & ~W[tails]
        if not ok.any():
            continue
        add = tails[ok]
        if done[add].any():
            return True
        W[add] = True
        stack.extend(add.tolist())
    return False


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
    c = np.concatenate([A.w_true, A.w_true])
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
    bound = float(raw) if raw is not None else float("nan")
    if res.x is None:
        return None, bound if np.isfinite(bound) else 0.0, False
    y = res.x[:na] > 0.5
    eids = np.unique(np.concatenate([np.flatnonzero(y[:m]), np.flatnonzero(y[m:])]))
    optimal = res.status == 0
    if optimal and not np.isfinite(bound):
        bound = float(res.fun)
    return eids, bound, optimal
