"""Reductions of covering instances before they are solved (private to :mod:`gisplan.wifi.siting`).

The reductions keep every optimal value:

* demand rows that no site covers are set aside (reported as ``uncoverable``);
* identical demand rows are merged, their weights summed (a large speed-up on
  real data, where many settlements see the same few sites);
* a site whose covered rows are a subset of another site's and that costs no
  less is dropped (any solution using it can use the other site instead);
* sites that cost more than the budget are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gisplan.wifi.settings import DEFAULT_SETTINGS


@dataclass(frozen=True)
class Reduced:
    """A reduced covering instance.

    Attributes
    ----------
    matrix
        Boolean CSR matrix, reduced rows x kept sites.
    weights
        Weight of each reduced row (sum of the merged original rows).
    costs
        Cost of each kept site.
    sites
        Original column index of each kept site.
    uncoverable
        Original row indices that no site covers.
    """

    matrix: sp.csr_matrix
    weights: np.ndarray
    costs: np.ndarray
    sites: np.ndarray
    uncoverable: np.ndarray


def merge_identical_rows(matrix: sp.csr_matrix, weights: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Merge identical rows of a CSR matrix with sorted indices, summing their weights.

    Rows come out in order of first appearance, so the result is deterministic.
    """
    indptr, indices = matrix.indptr, matrix.indices
    first: dict[bytes, int] = {}
    group = np.empty(matrix.shape[0], dtype=np.int64)
    for i in range(matrix.shape[0]):
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        group[i] = first.setdefault(key, len(first))
    if len(first) == matrix.shape[0]:
        return matrix, weights.astype(np.float64)
    _, keep = np.unique(group, return_index=True)  # groups are numbered in order of first appearance
    merged_weights = np.bincount(group, weights=weights.astype(np.float64), minlength=len(first))
    return matrix[keep], merged_weights


def dominated_sites(
    matrix: sp.csr_matrix, costs: np.ndarray, *, max_work: int = DEFAULT_SETTINGS.max_dominance_work
) -> np.ndarray:
    """Return a boolean mask of sites dominated by another site.

    Site ``j`` is dominated by ``k`` when every row ``j`` covers is covered by
    ``k`` and ``k`` costs no more; among identical sites of equal cost the one
    with the lowest index is kept.  Returns all False when the test would be too
    costly: ``A^T A`` would hold more than ``max_work`` entries
    (:attr:`gisplan.wifi.settings.WifiSettings.max_dominance_work`).
    """
    n_sites = matrix.shape[1]
    row_deg = np.diff(matrix.indptr).astype(np.int64)
    if int((row_deg**2).sum()) > max_work:
        return np.zeros(n_sites, dtype=bool)
    a = matrix.astype(np.int32)
    overlap = (a.T @ a).tocoo()
    col_deg = np.asarray(a.sum(axis=0)).ravel()
    j, k, shared = overlap.row, overlap.col, overlap.data
    # j is a subset of k, k no more costly, and not the same site
    cand = (j != k) & (shared == col_deg[j]) & (costs[k] <= costs[j])
    j, k = j[cand], k[cand]
    identical = (col_deg[k] == col_deg[j]) & (costs[k] == costs[j])
    # an identical twin dominates only when it has the lower index (keeps one of each class)
    dominates = ~identical | (k < j)
    mask = np.zeros(n_sites, dtype=bool)
    mask[j[dominates]] = True
    return mask


def reduce_instance(
    matrix: sp.csr_matrix,
    weights: np.ndarray,
    costs: np.ndarray,
    *,
    budget: float | None = None,
    drop_zero_weight: bool = True,
    max_dominance_work: int = DEFAULT_SETTINGS.max_dominance_work,
) -> Reduced:
    """Apply the reductions and return the reduced instance.

    Parameters
    ----------
    matrix
        Boolean CSR coverage matrix, demand rows x sites, sorted indices.
    weights
        Row weights (ones for set covering).
    costs
        Site costs.
    budget
        Sites costing more are dropped.
    drop_zero_weight
        Drop rows of zero weight (maximal covering); keep them for set covering.
    max_dominance_work
        Work limit of the dominated-site test (see :func:`dominated_sites`).
    """
    row_deg = np.diff(matrix.indptr)
    uncoverable = np.flatnonzero(row_deg == 0)
    sites = np.arange(matrix.shape[1])
    if budget is not None:
        affordable = costs <= budget
        matrix = matrix[:, affordable].tocsr()
        sites = sites[affordable]
        costs = costs[affordable]
        row_deg = np.diff(matrix.indptr)
    rows = row_deg > 0
    if drop_zero_weight:
        rows &= weights > 0
    matrix = matrix[rows]
    weights = weights[rows]
    matrix.sort_indices()
    matrix, weights = merge_identical_rows(matrix, weights)
    useful = np.diff(matrix.tocsc().indptr) > 0
    matrix, sites, costs = matrix[:, useful].tocsr(), sites[useful], costs[useful]
    dominated = dominated_sites(matrix, costs, max_work=max_dominance_work)
    if dominated.any():
        keep = ~dominated
        matrix, sites, costs = matrix[:, keep].tocsr(), sites[keep], costs[keep]
        matrix.sort_indices()
        matrix, weights = merge_identical_rows(matrix, weights)
    return Reduced(matrix=matrix, weights=weights, costs=costs, sites=sites, uncoverable=uncoverable)
