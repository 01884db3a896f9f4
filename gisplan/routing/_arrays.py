"""Array form of a networkx graph, for the hot loops of routing.

The networkx graph stays the source of truth.  :func:`graph_arrays` derives an
immutable :class:`GraphArrays` (a symmetric CSR matrix of positive weights plus
edge arrays) and caches it **outside the graph**, in a weak dictionary keyed by
the graph object itself, so ``G.copy()``, pickles and subgraphs never carry it.

The cache cannot go stale: every call compares an exact snapshot of the graph
(its node list, the neighbours of every node in adjacency order and every
weight, kept as Python lists of the graph's own objects) with the graph as it is
now, and rebuilds on any difference.  Adding, removing or swapping a node or an
edge, or changing a weight in place, is therefore always seen, with no version
counter to bump.  The comparison is a few C-level list walks (about 0.2 s on a
million edges, against seconds for a rebuild).

scipy.sparse.csgraph treats an explicit zero as "no edge" (scipy #18892,
#18051), so zero weights get a tiny positive stand-in in the array form
(:attr:`GraphArrays.zero_stand_in`, at most ``zero_weight / n`` of the smallest
positive weight); reported costs and lower bounds always use the true weights
(:attr:`GraphArrays.w_true`).
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse

from gisplan._errors import RoutingError
from gisplan.routing.settings import DEFAULT_SETTINGS, RoutingSettings

__all__ = ["GraphArrays", "IntIndex", "arrays_from_edges", "graph_arrays", "invalidate_arrays"]


@dataclass(frozen=True, eq=False)
class GraphArrays:
    """Arrays of an undirected simple graph.

    Attributes
    ----------
    nodes
        Node ids of the networkx graph, in array order.
    index
        Node id -> array index (a dict, or :class:`IntIndex` when every node id is a small non-negative int).
    u, v
        Endpoints (array indices) of each edge, ``u < v``; self-loops are left out.
    w
        Positive edge weights used by the algorithms (zeros replaced by ``zero_stand_in``).
    w_true
        The graph's own weights.
    csr
        Symmetric ``n x n`` CSR matrix of ``w`` (sorted indices).
    eid
        For each stored CSR entry, the edge index into ``u``/``v``/``w``.
    indptr, indices
        The CSR's row pointers and column indices as int64, the index type of the compiled kernels (scipy keeps
        int32 where it fits): kept beside the matrix so that no call converts them again.
    zero_stand_in
        The positive weight standing for zero in ``w`` (0.0 when the graph has no zero weight).
    """

    nodes: list[Any]
    index: Mapping[Any, int]
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    w_true: np.ndarray
    csr: sparse.csr_array
    eid: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    zero_stand_in: float = 0.0

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def max_perturbation(self) -> float:
        """Most that the zero stand-ins can add to the cost of any tree (``(n - 1) * zero_stand_in``)."""
        return max(self.n - 1, 0) * self.zero_stand_in

    @cached_property
    def keys(self) -> np.ndarray:
        """``row * n + col`` of each stored CSR entry (ascending), for edge lookup: computed on first use (the
        compiled paths never look edges up by their ends; at a million edges these are 16 MB of fresh memory)."""
        rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
        rows *= self.n
        rows += self.indices
        return rows

    def edge_ids(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the edge indices of node-index pairs ``(a[k], b[k])`` (which must be edges)."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        pos = np.searchsorted(self.keys, a * self.n + b)
        return self.eid[pos]


def _checked_weights(
    nodes: list[Any], u: np.ndarray, v: np.ndarray, w_true: np.ndarray, s: RoutingSettings
) -> tuple[np.ndarray, float]:
    """The algorithms' weights of edges ``(u, v)`` (zeros replaced by the stand-in) and the stand-in.

    Raises
    ------
    RoutingError
        On a negative or non-finite weight, naming the first such edge.
    """
    bad = ~np.isfinite(w_true) | (w_true < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise RoutingError(
            f"edge ({nodes[u[k]]!r}, {nodes[v[k]]!r}) has weight {w_true[k]!r}; "
            "routing needs finite weights >= 0 (fix the cost or remove the edge)"
        )
    positive = w_true[w_true > 0]
    zero_stand_in = 0.0
    if len(positive) < len(w_true):
        smallest = float(positive.min()) if len(positive) else 1.0
        zero_stand_in = s.zero_weight * smallest / max(len(nodes), 1)
    if zero_stand_in == 0.0:  # no zero weight: the algorithms' weights are the graph's own (one array, not two)
        return w_true, zero_stand_in
    return np.where(w_true > 0, w_true, zero_stand_in), zero_stand_in


def arrays_from_edges(
    nodes: list[Any],
    u: np.ndarray,
    v: np.ndarray,
    w_true: np.ndarray,
    *,
    index: Mapping[Any, int] | None = None,
    settings: RoutingSettings | None = None,
) -> GraphArrays:
    """Build :class:`GraphArrays` from edge arrays (node indices into ``nodes``, no duplicate pairs).

    Raises
    ------
    RoutingError
        On a negative or non-finite weight (naming the edge), or a node pair given twice.
    """
    s = settings or DEFAULT_SETTINGS
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w_true = np.asarray(w_true, dtype=np.float64)
    keep = u != v
    u, v, w_true = u[keep], v[keep], w_true[keep]
    w, zero_stand_in = _checked_weights(nodes, u, v, w_true, s)
    lo = np.minimum(u, v)
    hi = np.maximum(u, v)
    n = len(nodes)
    m = len(lo)
    rows = np.concatenate([lo, hi])
    cols = np.concatenate([hi, lo])
    ids = np.concatenate([np.arange(m), np.arange(m)])
    keys = rows * n + cols
    order = np.argsort(keys, kind="stable")
    keys, rows, cols, ids = keys[order], rows[order], cols[order], ids[order]
    if m and np.any(keys[1:] == keys[:-1]):
        raise RoutingError("the edge list holds the same node pair twice; merge parallel edges first")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    csr = sparse.csr_array((w[ids], cols.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    if index is None:
        index = {node: i for i, node in enumerate(nodes)}
    return GraphArrays(
        nodes=list(nodes),
        index=index,
        u=lo,
        v=hi,
        w=w,
        w_true=w_true,
        csr=csr,
        eid=ids,
        indptr=indptr,
        indices=cols,
        zero_stand_in=zero_stand_in,
    )


def _arrays_from_adjacency(
    nodes: list[Any], index: Mapping[Any, int], counts: np.ndarray, cols: np.ndarray, w: np.ndarray, s: RoutingSettings
) -> GraphArrays:
    """:class:`GraphArrays` from the adjacency entries of a networkx graph (``counts[r]`` neighbours of node ``r``,
    then every node's neighbours ``cols`` and their edges' weights ``w``, node after node): the same arrays as
    :func:`arrays_from_edges` on the entries with ``row < col`` in adjacency order, built by one compiled pass
    (:func:`gisplan.routing._kernels.csr_from_adjacency`) with no sort of all entries."""
    from gisplan.routing._kernels import csr_from_adjacency  # numba: imported on first use

    lo, hi, entry, indptr, indices, ids = csr_from_adjacency(counts, cols)
    w_true = w[entry]
    wpos, zero_stand_in = _checked_weights(nodes, lo, hi, w_true, s)
    n = len(nodes)
    csr = sparse.csr_array((wpos[ids], indices.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    return GraphArrays(
        nodes=nodes,
        index=index,
        u=lo,
        v=hi,
        w=wpos,
        w_true=w_true,
        csr=csr,
        eid=ids,
        indptr=indptr,
        indices=indices,
        zero_stand_in=zero_stand_in,
    )


class IntIndex(Mapping[Any, int]):
    """Node id -> array index of a graph whose node ids are all Python ints in ``[0, size)``: one int64 table.

    Road graphs number their junctions 0, 1, 2, ... (:func:`gisplan.routing.graph.graph_from_roads`); for them
    the table replaces a dict of every node and its lookups (on the benchmark grids the arrays hold 31 MB less at a
    million edges, 4 MB less at 100,000).  It answers like the dict would: other integral keys (``numpy.int64(3)``,
    ``True``, ``3.0``) find the node they equal.
    """

    __slots__ = ("_nodes", "_table")

    def __init__(self, nodes: list[int], table: np.ndarray) -> None:
        self._nodes = nodes
        self._table = table

    def __getitem__(self, key: Any) -> int:
        k = key
        if type(k) is not int:
            integral = isinstance(k, numbers.Integral) or (isinstance(k, numbers.Real) and float(k).is_integer())
            if not integral:
                raise KeyError(key)
            k = int(k)
        if 0 <= k < len(self._table):
            i = int(self._table[k])
            if i >= 0:
                return i
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except (KeyError, TypeError, ValueError, OverflowError):
            return False
        return True

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[int]:
        return iter(self._nodes)


def _int_columns(nodes: list[Any], neighbours: list[Any]) -> tuple[IntIndex, np.ndarray] | None:
    """(index, array index of every neighbour) by a table when all node ids are ints in ``[0, 4n + 1024)``, else
    None (the caller builds a dict)."""
    n = len(nodes)
    if n == 0 or set(map(type, nodes)) != {int}:
        return None
    try:
        ids = np.fromiter(nodes, dtype=np.int64, count=n)
    except OverflowError:
        return None
    if int(ids.min()) < 0 or int(ids.max()) >= 4 * n + 1024:
        return None
    table = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    table[ids] = np.arange(n, dtype=np.int64)
    cols = table[np.fromiter(neighbours, dtype=np.int64, count=len(neighbours))]
    return IntIndex(nodes, table), cols


@dataclass(eq=False)
class _Entry:
    """One cached array form and the exact snapshot of the graph it was built from."""

    nodes: list[Any]
    neighbours: list[Any]
    weights: list[Any]
    arrays: GraphArrays


#: graph object -> {weight name -> entry}; weak, so a graph's arrays go when the graph goes.
_CACHE: weakref.WeakKeyDictionary[nx.Graph, dict[tuple[str, RoutingSettings], _Entry]] = weakref.WeakKeyDictionary()


def _snapshot(G: nx.Graph, weight: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(nodes, neighbours of every node in adjacency order, their edges' weights): C-level iteration only."""
    adj = G._adj
    nodes = list(adj)
    neighbours = list(chain.from_iterable(adj.values()))
    dicts = chain.from_iterable(map(methodcaller("values"), adj.values()))
    try:  # itemgetter is twice as fast as dict.get; a missing attribute takes the slow path, which names the edge
        weights = list(map(itemgetter(weight), dicts))
    except KeyError:
        dicts = chain.from_iterable(map(methodcaller("values"), adj.values()))
        weights = list(map(methodcaller("get", weight), dicts))
    return nodes, neighbours, weights


def _check_weights(G: nx.Graph, nodes: list[Any], neighbours: list[Any], weights: list[Any], weight: str) -> None:
    """Raise RoutingError naming the first edge whose weight is missing or not a real number."""
    kinds = set(map(type, weights))
    if all(issubclass(k, numbers.Real) and not issubclass(k, bool | np.bool_) for k in kinds):
        return
    counts = [len(nbrs) for nbrs in G._adj.values()]
    owner = np.repeat(np.arange(len(nodes)), counts)
    for k, x in enumerate(weights):
        if x is None or isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Real):
            a, b = nodes[int(owner[k])], neighbours[k]
            if x is None:
                raise RoutingError(
                    f"edge ({a!r}, {b!r}) has no {weight!r} attribute; give every edge a numeric {weight!r} "
                    "(or pass weight= the attribute that holds the cost)"
                )
            raise RoutingError(
                f"edge ({a!r}, {b!r}) has {weight}={x!r} ({type(x).__name__}); routing needs a number >= 0 "
                f"(convert the {weight!r} attribute, e.g. float(value))"
            )


def graph_arrays(G: nx.Graph, weight: str = "cost", *, settings: RoutingSettings | None = None) -> GraphArrays:
    """Return the (cached) array form of ``G`` for edge attribute ``weight``.

    Raises
    ------
    RoutingError
        When ``G`` is directed or a multigraph, or an edge's weight is missing, not a number, negative or
        not finite (the edge is named).
    """
    if not isinstance(G, nx.Graph):
        raise RoutingError(f"routing needs a networkx.Graph, not {type(G).__name__}")
    if G.is_directed() or G.is_multigraph():
        raise RoutingError(
            "routing needs an undirected simple networkx.Graph; convert with nx.Graph(G) "
            "(a multigraph: keep the cheapest of parallel edges, or split one of them by a node)"
        )
    s = settings or DEFAULT_SETTINGS
    nodes, neighbours, weights = _snapshot(G, weight)
    per_graph = _CACHE.get(G)
    entry = per_graph.get((weight, s)) if per_graph is not None else None
    if entry is not None and entry.nodes == nodes and entry.neighbours == neighbours and entry.weights == weights:
        return entry.arrays
    _check_weights(G, nodes, neighbours, weights, weight)
    n = len(nodes)
    counts = np.fromiter(map(len, G._adj.values()), dtype=np.int64, count=n)
    by_table = _int_columns(nodes, neighbours)
    index: Mapping[Any, int]
    if by_table is not None:
        index, cols = by_table
    else:
        index = {node: i for i, node in enumerate(nodes)}
        cols = np.fromiter(map(index.__getitem__, neighbours), dtype=np.int64, count=len(neighbours))
    w = np.fromiter(weights, dtype=np.float64, count=len(weights))
    arrays = _arrays_from_adjacency(nodes, index, counts, cols, w, s)
    if per_graph is None:
        per_graph = {}
        _CACHE[G] = per_graph
    per_graph[(weight, s)] = _Entry(nodes=nodes, neighbours=neighbours, weights=weights, arrays=arrays)
    return arrays


def invalidate_arrays(G: nx.Graph) -> None:
    """Drop the cached array form of ``G``.

    Not needed for correctness any more (every call checks the graph against its snapshot); it frees the
    memory of the arrays, and is kept for callers written when in-place weight changes had to be announced.
    """
    _CACHE.pop(G, None)
