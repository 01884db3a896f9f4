"""Routing of an undergrounding plan (private; see :mod:`gisplan.underground.planner`).

The road graph (clipped around the zone when the roads layer is large, :mod:`gisplan.underground._clip`), the
terminal points attached to it, the serving exchange and the Steiner trench tree.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from gisplan._errors import PlanningError, RoutingError
from gisplan.catalog._catalog import Catalog
from gisplan.routing._arrays import invalidate_arrays
from gisplan.routing.graph import attach_points, graph_from_roads
from gisplan.routing.settings import THOROUGH_SETTINGS
from gisplan.routing.steiner import nearest_source_paths, steiner_tree
from gisplan.underground._clip import clip_roads
from gisplan.underground._inputs import operator_key, site_owners, sorted_nodes
from gisplan.underground.settings import UndergroundSettings

if TYPE_CHECKING:
    from gisplan.underground.params import UndergroundParams


def _choose_root(G: nx.Graph, site_nodes: dict[str, Any], term_nodes: list[Any]) -> str:

    sources = {site_nodes[s]: s for s in sorted(site_nodes)}
    paths = nearest_source_paths(G, list(sources), term_nodes, unreachable="skip")
    if not paths:
        comps = {n: i for i, c in enumerate(nx.connected_components(G)) for n in c}
        where = ", ".join(
            f"{s} (road component {comps[n]}, {len(nx.node_connected_component(G, n))} nodes)"
            for n, s in sources.items()
        )
        raise RoutingError(
            f"no exchange can be reached over the roads from the zone's poles: {where}; the poles lie in road "
            f"component {comps[term_nodes[0]]}; connect the roads or choose another exchange (exchange_ids) / "
            "Không tới được tổng đài",
            unreachable=list[object](sorted(site_nodes)),
        )
    votes: dict[str, list[float]] = {}
    for sp in paths.values():
        v = votes.setdefault(sources[sp.source], [0.0, 0.0])
        v[0] -= 1.0
        v[1] += sp.cost
    return min(votes, key=lambda s: (votes[s][0], votes[s][1], s))


def corridor_lines(corridors: Any, crs: Any) -> list[Any]:
    """The forced corridors as non-empty geometries in ``crs``."""
    if isinstance(corridors, gpd.GeoDataFrame):
        if corridors.crs is None:
            raise PlanningError(
                "forced_corridors has no CRS; set one (e.g. EPSG:4326) / Các tuyến bắt buộc chưa có hệ tọa độ"
            )
        lines = list(corridors.to_crs(crs).geometry)
    else:
        geoms = [corridors] if isinstance(corridors, shapely.Geometry) else list(corridors)
        lines = list(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(crs))
    return [g for g in lines if g is not None and not g.is_empty]


def _force_corridors(G: nx.Graph, corridors: Any, crs: Any, st: UndergroundSettings) -> list[Any]:
    """Make the edges along ``corridors`` nearly free (in place) and return the nodes nearest their ends."""

    lines = corridor_lines(corridors, crs)
    if not lines:
        return []
    area = shapely.union_all([g.buffer(st.forced_tolerance_m) for g in lines])
    shapely.prepare(area)
    changed = 0
    for _u, _v, d in G.edges(data=True):
        geom = d.get("geometry")
        if geom is None or d.get("length_m", 0) <= 0:
            continue
        if area.contains(geom) or geom.intersection(area).length >= 0.8 * geom.length:
            d["cost"] = max(float(d["cost"]) * st.forced_factor, 1e-6)
            changed += 1
    if changed == 0:
        raise PlanningError(
            "no road lies along the forced corridor(s): draw them on streets of the roads layer / "
            "Tuyến bắt buộc không nằm trên đường nào"
        )
    invalidate_arrays(G)
    nodes = list(G.nodes)
    xy = np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in nodes])
    ends = []
    for g in lines:
        for part in getattr(g, "geoms", [g]):
            coords = list(part.exterior.coords) if part.geom_type == "Polygon" else list(part.coords)
            for x, y in (coords[0], coords[-1]):
                ends.append(nodes[int(np.argmin((xy[:, 0] - x) ** 2 + (xy[:, 1] - y) ** 2))])
    return sorted_nodes(set(ends))


@dataclass
class Routed:
    """The road graph with the points attached, the exchanges chosen and the Steiner tree.

    ``root_site``/``root`` is the primary root (the common root where an operator falls back to it, else the root
    of the operator with the most terminals); ``roots`` gives each operator's exchange/POP (site id) and
    ``root_nodes`` the node of every site used.
    """

    G: nx.Graph
    node_of: dict[Hashable, Hashable]
    term_nodes: list[Hashable]
    root_site: str
    root: Hashable
    T: nx.Graph
    roads: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)
    roots: dict[str, str] = field(default_factory=dict)
    root_nodes: dict[str, Hashable] = field(default_factory=dict)
    common_site: str = ""
    fallback: dict[str, str] = field(default_factory=dict)


def _operator_roots(
    G: nx.Graph,
    site_nodes: dict[str, Any],
    owner_of: dict[str, str],
    op_nodes: dict[str, list[Hashable]],
    common: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Each operator's root: the cheapest to reach of its own candidate sites (owner = the operator, matched by
    :func:`~gisplan.underground._inputs.operator_key`), else the common root ``common``.

    Returns operator -> site id and, for the operators on the common root, operator -> the reason
    (``no_owner_column``, ``none_of_its_own``, ``unreachable``).
    """
    any_owner = any(owner_of.values())
    roots: dict[str, str] = {}
    why: dict[str, str] = {}
    for op in sorted(op_nodes):
        key = operator_key(op)
        own = {s: n for s, n in site_nodes.items() if key and owner_of.get(s) == key}
        if not own:
            roots[op] = common
            why[op] = "none_of_its_own" if any_owner else "no_owner_column"
            continue
        try:
            roots[op] = _choose_root(G, own, op_nodes[op])
        except RoutingError:
            roots[op] = common
            why[op] = "unreachable"
    return roots, why


def fallback_notes(fallback: dict[str, str], common: str, roots: dict[str, str]) -> list[str]:
    """One note per operator whose cables go to the common root, saying why (English / Vietnamese)."""
    reason = {
        "no_owner_column": (
            "the sites layer names no owner (column owner empty or absent)",
            "lớp trạm không ghi chủ sở hữu",
        ),
        "none_of_its_own": (
            "it has no exchange or POP with fibre of its own in the sites layer (column owner)",
            "nhà mạng không có tổng đài/POP có cáp quang riêng trong lớp trạm",
        ),
        "unreachable": (
            "none of its own exchanges or POPs can be reached over the roads",
            "không tới được tổng đài/POP riêng qua mạng đường",
        ),
    }
    out = []
    for op in sorted(fallback):
        en, vi = reason[fallback[op]]
        out.append(
            f"operator {op}: {en}; its cables are led to the common root, exchange {common} / "
            f"Nhà mạng {op}: {vi}; cáp được dẫn về tổng đài chung {common}"
        )
    own = {op: s for op, s in roots.items() if op not in fallback}
    if own:
        listed = ", ".join(f"{op} -> {s}" for op, s in sorted(own.items()))
        out.append(
            f"operators led to their own exchange or POP: {listed} / Cáp của nhà mạng dẫn về tổng đài/POP riêng: "
            f"{listed}"
        )
    return out


def _on_the_road(G: nx.Graph, node_of: dict[Hashable, Hashable], tids: Any) -> dict[Hashable, Hashable]:
    """``node_of`` with each pole or cable end moved from its spur's far end to the road point the spur joins.

    A removed pole gets no trench of its own: the duct runs along the street and the point of the street nearest
    the pole is where its cables (and the drops it carried) are served.  Sites (the exchange) keep their spur: it
    is the lead-in duct into the building.
    """
    out = dict(node_of)
    for t in tids:
        n = node_of[t]
        spur = [m for m in G.adj[n] if G.edges[n, m].get("kind") == "spur"]
        if len(spur) == 1 and G.degree[n] == 1:
            out[t] = spur[0]
    return out


def _route(
    roads: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    params: UndergroundParams,
    cat: Catalog,
    crs: Any,
    progress: Callable[[str], None],
    st: UndergroundSettings,
    op_tids: dict[str, list[str]],
) -> Routed:
    """Build the road graph of ``roads``, attach the poles and the candidate exchanges, choose the roots (the
    common root and each operator's own, ``op_tids``: operator -> the terminal ids of its cables), route."""

    site_pts = gpd.GeoDataFrame(
        {"tid": [f"site:{s}" for s in cands["site_id"]]}, geometry=list(cands.geometry), crs=cands.crs
    )
    allpts = gpd.GeoDataFrame(gpd.pd.concat([points, site_pts.to_crs(points.crs)], ignore_index=True), crs=points.crs)
    progress("building the road graph")
    G0 = graph_from_roads(roads, catalog=cat, ducts=layers.get("ducts"), constraints=layers.get("constraints"))
    try:
        G, node_of = attach_points(G0, allpts, id_column="tid")
    except RoutingError as exc:
        raise RoutingError(
            f"{exc} (pole:<id> is a pole of the zone's cables, end:<cable id> a cable end naming no known pole, "
            "site:<id> an exchange) / Có cột hoặc trạm nằm quá xa mạng đường: bổ sung đường hoặc sửa vị trí",
            unreachable=list(exc.unreachable),
        ) from exc
    node_of = _on_the_road(G, node_of, points["tid"])
    term_nodes = sorted_nodes({node_of[t] for t in points["tid"]})
    site_nodes = {t[5:]: node_of[t] for t in site_pts["tid"]}
    if params.exchange_ids and len(params.exchange_ids) == 1:
        root_site = str(params.exchange_ids[0])
        comp = nx.node_connected_component(G, site_nodes[root_site])
        lost = [t for t in term_nodes if t not in comp]
        if lost:
            raise RoutingError(
                f"exchange {root_site} cannot be reached over the roads: it lies in a road component of "
                f"{len(comp)} nodes that holds none of {len(lost)} of the zone's poles; connect the roads or "
                "choose another exchange / Không tới được tổng đài",
                unreachable=[root_site],
            )
    else:
        root_site = _choose_root(G, site_nodes, term_nodes)
    common = root_site
    op_nodes = {op: sorted_nodes({node_of[t] for t in ts}) for op, ts in op_tids.items()}
    roots, why = _operator_roots(G, site_nodes, site_owners(cands), op_nodes, common)
    used = sorted(set(roots.values())) or [common]
    if common not in used:  # every operator has its own: the primary root is the one serving the most terminals
        load = {s: sum(len(op_nodes[op]) for op, r in roots.items() if r == s) for s in used}
        root_site = min(used, key=lambda s: (-load[s], s))
    root = site_nodes[root_site]
    root_nodes = {s: site_nodes[s] for s in used}
    forced_terms = _force_corridors(G, params.forced_corridors, crs, st) if params.forced_corridors is not None else []
    if forced_terms:
        progress(f"forced corridors: {len(forced_terms)} corridor end(s) added as terminals")
    progress(
        f"Steiner tree over {G.number_of_edges()} road edges: {len(term_nodes)} road points, root(s) {', '.join(used)}"
    )
    T = steiner_tree(
        G,
        sorted_nodes({root, *root_nodes.values(), *term_nodes, *forced_terms}),
        weight="cost",
        starts=params.steiner_starts,
        max_rounds=params.steiner_rounds,
        settings=THOROUGH_SETTINGS,  # a zone's trench tree is worth a second of search; the plan is priced on it
    )
    return Routed(
        G=G,
        node_of=node_of,
        term_nodes=term_nodes,
        root_site=root_site,
        root=root,
        T=T,
        roads=roads,
        notes=fallback_notes(why, common, roots),
        roots=roots,
        root_nodes=root_nodes,
        common_site=common,
        fallback=why,
    )


def route_trench_tree(
    layers: dict[str, gpd.GeoDataFrame],
    zones: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    params: UndergroundParams,
    cat: Catalog,
    crs: Any,
    progress: Callable[[str], None],
    st: UndergroundSettings,
    op_tids: dict[str, list[str]] | None = None,
) -> Routed:
    """The Steiner trench tree, on the road graph clipped around the zone where that is enough, else the whole one.

    The clipped graph is used when it reaches an exchange and the tree stays clear of the clipped area's edge
    (:meth:`gisplan.underground._clip.Clip.holds`); ``notes`` of the result then say so.
    """
    ops = op_tids if op_tids is not None else {"?": sorted(points["tid"])}
    clip = clip_roads(
        layers["roads"],
        zones=zones,
        points=points,
        candidates=cands.to_crs(crs),
        explicit=bool(params.exchange_ids),
        operators=[operator_key(op) for op in ops],
        extra=corridor_lines(params.forced_corridors, crs) if params.forced_corridors is not None else (),
        settings=st,
    )
    if clip is not None:
        progress(
            f"road graph clipped to {len(clip.roads)} of {len(layers['roads'])} roads around the zone and "
            f"{len(clip.candidates)} exchange(s)"
        )
        try:
            routed = _route(clip.roads, clip.candidates, points, layers, params, cat, crs, progress, st, ops)
        except RoutingError as exc:
            progress(f"the clipped road graph is not enough ({str(exc)[:120]}); using the whole roads layer")
        else:
            g = routed.G
            if clip.holds(routed.T.nodes, lambda n: (g.nodes[n]["x"], g.nodes[n]["y"])):
                routed.notes.append(
                    f"road graph clipped to {len(clip.roads)} of {len(layers['roads'])} roads around the zone and "
                    "its exchanges; the Steiner gap is proven on that graph / Mạng đường được giới hạn quanh vùng chọn"
                )
                return routed
            progress("the trench tree reaches the edge of the clipped road graph; using the whole roads layer")
    return _route(layers["roads"], cands, points, layers, params, cat, crs, progress, st, ops)
