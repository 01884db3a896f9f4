"""The detour limit per moved span (private; see :mod:`gisplan.underground.planner`).

A cable moved underground follows the trench network; where the network sends a span much farther than its
aerial length (round a block the tree leaves open), copper and coax lose too much and fibre is re-pulled over
long distances.  :func:`limit_detours` keeps every span's underground path within ``max_ratio`` times its aerial
length where the roads allow it:

1. every span is routed by its shortest path (by length) in the network;
2. the spans above the limit are taken in order of their excess (largest first, then cable id); for each one
   still above the limit in the current network, the shortest road path between its two ends is looked up in the
   road graph (spurs to poles and sites excluded; a search bounded by the span's limit);
3. where that road path keeps the span within the limit, its edges that are not yet trench are added to the
   network (road attributes from the road graph, ``detour=True``): a costed trench like any other;
4. where no road path does, nothing is added and the span is reported as over the limit.

Each case is reported (:class:`Detour`).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from gisplan.underground._quantities import ekey
from gisplan.underground._shortcuts import Span


@dataclass(frozen=True)
class Detour:
    """One span whose path in the trench network was above the limit.

    Attributes
    ----------
    cable_id
        The span.
    aerial_m
        Its aerial length.
    before_m
        Its path length in the network before this step.
    after_m
        Its path length after (through the added trench where one was added).
    added_m
        Metres of trench added for it (0 where none was added, or where an earlier addition already served it).
    within_limit
        Whether it is now within the limit.
    """

    cable_id: str
    aerial_m: float
    before_m: float
    after_m: float
    added_m: float
    within_limit: bool

    @property
    def outcome(self) -> str:
        """``trench_added``, ``served_by_other`` (trench added for another span serves it) or ``over_limit``."""
        if self.added_m > 0:
            return "trench_added"
        return "served_by_other" if self.within_limit else "over_limit"


#: Metres added to a known path length used as a search bound (rounding of sums in another order).
_SLACK_M = 1.0


def _road_weight(a: Hashable, b: Hashable, d: Mapping) -> float | None:
    if d.get("kind") == "spur":
        return None
    c = float(d.get("cost", 0.0))
    if c != c or c == float("inf"):  # forbidden edges carry an infinite cost
        return None
    return float(d["length_m"])


def limit_detours(
    G: nx.Graph,
    N: nx.Graph,
    spans: Sequence[Span],
    aerial_m: Mapping[str, float],
    *,
    max_ratio: float,
    current_m: Mapping[str, float] | None = None,
) -> tuple[nx.Graph, list[Detour]]:
    """The network with the trench that keeps each span within ``max_ratio`` x its aerial length, and the cases.

    ``N`` is not modified; the returned network is ``N`` itself when nothing is added, else a copy with the added
    edges (``detour=True``).  Spans shorter than 1 m in the air are not checked.  ``current_m`` (per cable id,
    optional): an upper bound of each span's path length in ``N`` (the length of a path it has there), which
    bounds the searches for its length before and after (the figures are the same).
    """

    def length(n: nx.Graph, a: Hashable, b: Hashable, cutoff: float | None) -> float:
        """Shortest path length from ``a`` to ``b`` in ``n``, infinity above ``cutoff`` (a bounded search)."""
        if a == b:
            return 0.0
        try:
            return float(nx.single_source_dijkstra(n, a, b, cutoff=cutoff, weight="length_m")[0])
        except nx.NetworkXNoPath:
            return float("inf")

    # a search bounded by each span's limit finds the spans above it without routing every span in full
    checked = [s for s in spans if aerial_m[s.cable_id] >= 1.0]
    over = [s for s in checked if length(N, s.a, s.b, max_ratio * aerial_m[s.cable_id]) == float("inf")]
    if not over:
        return N, []

    def bound(s: Span) -> float | None:
        return None if current_m is None else float(current_m[s.cable_id]) + _SLACK_M

    now = {s.cable_id: length(N, s.a, s.b, bound(s)) for s in over}
    over.sort(key=lambda s: (-(now[s.cable_id] - max_ratio * aerial_m[s.cable_id]), s.cable_id))
    out = N.copy()

    added_for: dict[str, float] = {}
    for s in over:
        limit = max_ratio * aerial_m[s.cable_id]
        added = 0.0
        if length(out, s.a, s.b, limit) > limit:
            try:
                dist, path = nx.single_source_dijkstra(G, s.a, s.b, cutoff=limit, weight=_road_weight)
            except nx.NetworkXNoPath:
                path = None
            if path is not None and dist <= limit:
                for a, b in itertools.pairwise(path):
                    if not out.has_edge(a, b):
                        out.add_edge(a, b, **G.edges[a, b], detour=True)
                        for n in (a, b):
                            out.nodes[n].update(G.nodes[n])
                        added += float(G.edges[a, b]["length_m"])
        added_for[s.cable_id] = added
    if not any(added_for.values()):
        out = N
    cases = []
    for s in over:
        after = length(out, s.a, s.b, now[s.cable_id] + _SLACK_M)  # the network only grew
        limit = max_ratio * aerial_m[s.cable_id]
        ok = after <= limit + 1e-6
        cases.append(Detour(s.cable_id, aerial_m[s.cable_id], now[s.cable_id], after, added_for[s.cable_id], ok))
    return out, cases


def detour_edges(N: nx.Graph) -> set[tuple[Hashable, Hashable]]:
    """The network edges added by :func:`limit_detours`."""
    return {ekey(a, b) for a, b, d in N.edges(data=True) if d.get("detour")}
