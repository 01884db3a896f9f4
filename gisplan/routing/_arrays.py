"""Array form of a networkx graph, for the hot loops of routing.

The networkx graph stays the source of truth.  :func:`graph_arrays` derives an
immutable :class:`GraphArrays` (a symmetric CSR matrix of positive weights plus
edge arrays) and caches it in ``G.graph["_arrays"]``.  The cache is keyed on
``(number_of_nodes, sum of adjacency sizes, G.graph.get("version", 0), weight)``:
any change of the node or edge count rebuilds it.  Code that changes an edge
*attribute* in place (e.g. a cost) without adding or removing edges must bump
``G.graph["version"]`` (or call :func:`invalidate_arrays`).

scipy.sparse.csgraph treats an explicit zero as "no edge" (scipy #18892,
#18051), so weights of zero are replaced by :data:`ZERO_WEIGHT` in the array
form; reported costs always use the true weights (:attr:`GraphArrays.w_true`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from gisplan._errors import RoutingError

#: Positive stand-in for a zero edge weight in the array form (scipy drops explicit zeros).
ZERO_WEIGHT = 1e-9

_CACHE_KEY = "_arrays"


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """Arrays of an undirected simple graph.

    Attributes
    ----------
    nodes
        Node ids of the networkx graph, in array order.
    index
        Node id -> array index.
    u, v
        Endpoints (array indices) of each edge, ``u < v``; self-loops are left out.
    w
        Positive edge weights used by the algorithms (zeros replaced by ZERO_WEIGHT).
    w_true
        The graph's own weights.
    csr
        Symmetric ``n x n`` CSR matrix of ``w`` (sorted indices).
    eid
        For each stored CSR entry, the edge index into ``u``/``v``/``w``.
    keys
        ``row * n + col`` of each stored CSR entry (sorted), for edge lookup.
    """

    nodes: list[Any]
    index: dict[Any, int]
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    w_true: np.ndarray
    csr: sparse.csr_array
    eid: np.ndarray
    keys: np.ndarray

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def edge_ids(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the edge indices of node-index pairs ``(a[k], b[k])`` (which must be edges)."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        pos = np.searchsorted(self.keys, a * self.n + b)
        return self.eid[pos]


def arrays_from_edges(
    nodes: list[Any], u: np.ndarray, v: np.ndarray, w_true: np.ndarray, *, index: dict[Any, int] | None = None
) -> GraphArrays:
    """Build :class:`GraphArrays` from edge arrays (node indices into ``nodes``, no duplicate pairs).

    Raises
    ------
    RoutingError
        On a negative or non-finite weight.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w_true = np.asarray(w_true, dtype=np.float64)
    keep = u != v
    u, v, w_true = u[keep], v[keep], w_true[keep]
    bad = ~np.isfinite(w_true) | (w_true < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise RoutingError(
            f"edge ({nodes[u[k]]!r}, {nodes[v[k]]!r}) has weight {w_true[k]!r}; "
            "routing needs finite weights >= 0 (fix the cost or remove the edge)"
        )
    lo = np.minimum(u, v)
    hi = np.maximum(u, v)
    w = np.where(w_true > 0, w_true, ZERO_WEIGHT)
    n = len(nodes)
    m = len(lo)
    rows = np.concatenate([lo, hi])
    cols = np.concatenate([hi, lo])
    ids = np.concatenate([np.arange(m), np.arange(m)])
    order = np.lexsort((cols, rows))
    rows, cols, ids = rows[order], cols[order], ids[order]
    keys = rows * n + cols
    if m and np.any(keys[1:] == keys[:-1]):
        raise RoutingError("the edge list holds the same node pair twice; merge parallel edges first")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    indptr = np.cumsum(indptr)
    csr = sparse.csr_array((w[ids], cols.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    if index is None:
        index = {node: i for i, node in enumerate(nodes)}
    return GraphArrays(nodes=list(nodes), index=index, u=lo, v=hi, w=w, w_true=w_true, csr=csr, eid=ids, keys=keys)


def _cache_key(G: nx.Graph, weight: str) -> tuple[int, int, Any, str]:
    """(nodes, sum of adjacency sizes, version, weight): changes whenever a node or an edge is added or removed.

    The sum of adjacency sizes is ``2 * edges - self-loops``; it is used instead of ``G.number_of_edges()``,
    which walks a Python generator per node (a third of a second on a million edges).
    """
    adj = G._adj
    return (len(adj), sum(map(len, adj.values())), G.graph.get("version", 0), weight)


def graph_arrays(G: nx.Graph, weight: str = "cost") -> GraphArrays:
    """Return the (cached) array form of ``G`` for edge attribute ``weight``.

    Edges without the attribute raise :class:`RoutingError`.  The result is cached in
    ``G.graph["_arrays"]`` (see the module docstring for when it is rebuilt).
    """
    if G.is_directed() or G.is_multigraph():
        raise RoutingError("routing needs an undirected simple networkx.Graph; convert with nx.Graph(G)")
    key = _cache_key(G, weight)
    cached = G.graph.get(_CACHE_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    nodes = list(G.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    m = G.number_of_edges()
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    w = np.empty(m, dtype=np.float64)
    missing = None
    for k, (a, b, x) in enumerate(G.edges(data=weight)):
        if x is None:
            missing = (a, b)
            break
        u[k] = index[a]
        v[k] = index[b]
        w[k] = x
    if missing is not None:
        raise RoutingError(f"edge {missing!r} has no {weight!r} attribute; give every edge a weight")
    arrays = arrays_from_edges(nodes, u, v, w, index=index)
    G.graph[_CACHE_KEY] = (key, arrays)
    return arrays


def set_arrays(G: nx.Graph, arrays: GraphArrays, weight: str = "cost") -> None:
    """Store ``arrays`` as the cached array form of ``G`` (they must describe ``G`` exactly)."""
    G.graph[_CACHE_KEY] = (_cache_key(G, weight), arrays)


def invalidate_arrays(G: nx.Graph) -> None:
    """Drop the cached array form of ``G`` (call after changing edge weights in place)."""
    G.graph.pop(_CACHE_KEY, None)
    G.graph["version"] = G.graph.get("version", 0) + 1
