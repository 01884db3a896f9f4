"""The undergrounding pipeline (private; the public face is :mod:`gisplan.underground.planner`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from gisplan._errors import PlanningError, RoutingError
from gisplan.catalog._catalog import Catalog
from gisplan.io.crs import METRIC_CRS
from gisplan.plan import Plan
from gisplan.routing._arrays import invalidate_arrays
from gisplan.routing.graph import attach_points, count_crossings, graph_from_roads
from gisplan.routing.steiner import nearest_source_paths, steiner_tree
from gisplan.underground._clip import clip_roads
from gisplan.underground._inputs import (
    CommuneLookup,
    check_zones_in_data,
    root_candidates,
    select_cables,
    sorted_nodes,
    terminal_points,
    zones_frame,
)
from gisplan.underground._output import assemble
from gisplan.underground._phasing import Street, assign_phases
from gisplan.underground._quantities import (
    Edge,
    Work,
    cables_per_edge,
    cables_per_edge_network,
    chambers,
    ducts_needed,
    ekey,
    handholes,
    root_tree,
)
from gisplan.underground._shortcuts import Span, add_shortcuts, root_paths
from gisplan.underground.params import DEFAULT_CLASS_WEIGHTS

if TYPE_CHECKING:
    from gisplan.underground.params import UndergroundParams

_ROAD_ATTRS = ("road_class", "surface", "name", "road_id")
#: Columns the planner reads, by layer (validated layers always have them).
_NEEDED_COLUMNS = {
    "cables": ("cable_id", "placement", "kind", "fibre_count", "owner", "from_pole", "to_pole"),
    "poles": ("pole_id", "owner"),
    "sites": ("site_id", "kind", "has_fibre"),
    "boundaries": ("unit_code", "name", "level", "parent_code"),
}
#: Budget headroom kept by the greedy phasing for rounding in the BOQ (share of the yearly budget).
_BUDGET_HEADROOM = 1e-4


def _price(cat: Catalog, items: list[tuple[str, float]]) -> float:
    return float(sum(cat.price(c) * q for c, q in items))


def _fill_road_attrs(T: nx.Graph, rt_order: list[Hashable], parent: dict) -> None:
    """Edges without road attributes (spurs to poles or sites) take them from a neighbouring tree edge."""
    missing = [ekey(u, v) for u, v in T.edges if T.edges[u, v].get("road_id") is None]
    for _ in range(len(missing) + 1):
        left = []
        for u, v in sorted(missing, key=repr):
            d = T.edges[u, v]
            for n in (u, v):
                nbs = [ekey(n, m) for m in sorted(T.adj[n], key=repr) if ekey(n, m) != (u, v)]
                src = next((T.edges[e] for e in nbs if T.edges[e].get("road_id") is not None), None)
                if src is not None:
                    for a in _ROAD_ATTRS:
                        if d.get(a) is None:
                            d[a] = src.get(a)
                    break
            else:
                left.append((u, v))
        if not left:
            return
        missing = left
    for u, v in missing:  # a tree of spurs only (no road at all): default to a rural earth street
        d = T.edges[u, v]
        d.update(
            road_class=d.get("road_class") or "rural", surface=d.get("surface") or "earth", name="", road_id="spur"
        )


def _streets(T: nx.Graph, rt_order: list[Hashable]) -> dict[Edge, str]:
    """Street key of every tree edge: connected runs of one name (road id where unnamed)."""
    label: dict[Edge, str] = {}
    for u, v in T.edges:
        d = T.edges[u, v]
        label[ekey(u, v)] = str(d.get("name") or d.get("road_id") or "?")
    out: dict[Edge, str] = {}
    count: dict[str, int] = {}
    for e in sorted(label, key=repr):
        if e in out:
            continue
        base = label[e]
        count[base] = count.get(base, 0) + 1
        key = f"{base}#{count[base]}"
        stack = [e]
        out[e] = key
        while stack:
            a, b = stack.pop()
            for n in (a, b):
                for m in sorted(T.adj[n], key=repr):
                    f = ekey(n, m)
                    if f not in out and label[f] == base:
                        out[f] = key
                        stack.append(f)
    return out


def _share_within(geoms: list[Any], area: Any) -> np.ndarray:
    if area is None:
        return np.zeros(len(geoms))
    lengths = np.array([g.length for g in geoms])
    inside = shapely.length(shapely.intersection(np.array(geoms, dtype=object), area))
    return np.where(lengths > 0, inside / np.maximum(lengths, 1e-9), 0.0)


def _area(obj: Any, crs: Any, what: str, buffer_m: float = 0.0) -> Any:
    """Union of the geometries of ``obj`` (a GeoDataFrame or shapely geometries in EPSG:4326) in ``crs``."""
    if obj is None:
        return None
    if isinstance(obj, gpd.GeoDataFrame):
        if obj.crs is None:
            raise PlanningError(f"{what} has no CRS; set one (e.g. EPSG:4326)")
        frame = obj.to_crs(crs)
    else:
        geoms = [obj] if isinstance(obj, shapely.Geometry) else list(obj)
        frame = gpd.GeoDataFrame(geometry=geoms, crs="EPSG:4326").to_crs(crs)
    geoms = [
        g.buffer(buffer_m) if buffer_m or g.geom_type not in ("Polygon", "MultiPolygon") else g for g in frame.geometry
    ]
    return shapely.union_all(geoms) if geoms else None


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


#: Cost factor of road edges along a forced corridor (nearly free, but > 0: scipy drops zero weights).
_FORCED_FACTOR = 1e-3
#: How close (metres) an edge must lie to a forced corridor to follow it.
_FORCED_TOLERANCE_M = 15.0


def _corridor_lines(corridors: Any, crs: Any) -> list[Any]:
    """The forced corridors as non-empty geometries in ``crs``."""
    if isinstance(corridors, gpd.GeoDataFrame):
        if corridors.crs is None:
            raise PlanningError("forced_corridors has no CRS; set one (e.g. EPSG:4326)")
        lines = list(corridors.to_crs(crs).geometry)
    else:
        geoms = [corridors] if isinstance(corridors, shapely.Geometry) else list(corridors)
        lines = list(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(crs))
    return [g for g in lines if g is not None and not g.is_empty]


def _force_corridors(G: nx.Graph, corridors: Any, crs: Any) -> list[Any]:
    """Make the edges along ``corridors`` nearly free (in place) and return the nodes nearest their ends."""

    lines = _corridor_lines(corridors, crs)
    if not lines:
        return []
    area = shapely.union_all([g.buffer(_FORCED_TOLERANCE_M) for g in lines])
    shapely.prepare(area)
    changed = 0
    for _u, _v, d in G.edges(data=True):
        geom = d.get("geometry")
        if geom is None or d.get("length_m", 0) <= 0:
            continue
        if area.contains(geom) or geom.intersection(area).length >= 0.8 * geom.length:
            d["cost"] = max(float(d["cost"]) * _FORCED_FACTOR, 1e-6)
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
class _Routed:
    """The road graph with the points attached, the chosen exchange and the Steiner tree."""

    G: nx.Graph
    node_of: dict[Hashable, Hashable]
    term_nodes: list[Hashable]
    root_site: str
    root: Hashable
    T: nx.Graph


def _route(
    roads: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    params: UndergroundParams,
    cat: Catalog,
    crs: Any,
    progress: Callable[[str], None],
) -> _Routed:
    """Build the road graph of ``roads``, attach the poles and the candidate exchanges, choose the root, route."""

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
    root = site_nodes[root_site]
    forced_terms = _force_corridors(G, params.forced_corridors, crs) if params.forced_corridors is not None else []
    if forced_terms:
        progress(f"forced corridors: {len(forced_terms)} corridor end(s) added as terminals")
    progress(f"Steiner tree over {G.number_of_edges()} road edges: {len(term_nodes)} poles, root {root_site}")
    T = steiner_tree(
        G,
        sorted_nodes({root, *term_nodes, *forced_terms}),
        weight="cost",
        starts=params.steiner_starts,
        max_rounds=params.steiner_rounds,
    )
    return _Routed(G=G, node_of=node_of, term_nodes=term_nodes, root_site=root_site, root=root, T=T)


def build_plan(
    layers: dict[str, gpd.GeoDataFrame],
    zones_in: Any,
    params: UndergroundParams,
    cat: Catalog,
    progress: Callable[[str], None],
) -> Plan:
    """Run the whole pipeline (see :func:`gisplan.underground.planner.plan_undergrounding`)."""

    for k in ("roads", "cables"):
        if k not in layers or layers[k].empty:
            raise PlanningError(f"undergrounding needs a {k} layer with features / Thiếu lớp {k}")
    for k, cols in _NEEDED_COLUMNS.items():
        missing = [c for c in cols if k in layers and c not in layers[k].columns]
        if missing:
            raise PlanningError(
                f"layer {k} lacks column(s) {', '.join(missing)}; read the layers with gisplan.io.layers.read_layers, "
                f"which maps aliases and fills optional columns / Lớp {k} thiếu cột {', '.join(missing)}"
            )
    crs = layers["roads"].crs or METRIC_CRS
    zones = zones_frame(zones_in, crs)
    check_zones_in_data(zones, layers)
    sel = select_cables(layers["cables"], zones, params.owners)
    progress(f"{len(sel)} aerial cable spans in {len(zones)} zone(s)")
    points, ends = terminal_points(sel, layers.get("poles"))
    cands = root_candidates(layers.get("sites"), params.exchange_ids)
    clip = clip_roads(
        layers["roads"],
        zones=zones,
        points=points,
        candidates=cands.to_crs(crs),
        explicit=bool(params.exchange_ids),
        extra=_corridor_lines(params.forced_corridors, crs) if params.forced_corridors is not None else (),
    )
    routed = None
    if clip is not None:
        progress(
            f"road graph clipped to {len(clip.roads)} of {len(layers['roads'])} roads around the zone and "
            f"{len(clip.candidates)} exchange(s)"
        )
        try:
            routed = _route(clip.roads, clip.candidates, points, layers, params, cat, crs, progress)
        except RoutingError as exc:
            progress(f"the clipped road graph is not enough ({str(exc)[:120]}); using the whole roads layer")
        else:
            g = routed.G
            if not clip.holds(routed.T.nodes, lambda n: (g.nodes[n]["x"], g.nodes[n]["y"])):
                progress("the trench tree reaches the edge of the clipped road graph; using the whole roads layer")
                routed = None
    notes = []
    if routed is None:
        routed = _route(layers["roads"], cands, points, layers, params, cat, crs, progress)
    elif clip is not None:
        notes.append(
            f"road graph clipped to {len(clip.roads)} of {len(layers['roads'])} roads around the zone and its "
            "exchanges; the Steiner gap is proven on that graph / Mạng đường được giới hạn quanh vùng chọn"
        )
    G, node_of, term_nodes, root_site, root, T = (
        routed.G,
        routed.node_of,
        routed.term_nodes,
        routed.root_site,
        routed.root,
        routed.T,
    )
    rt = root_tree(T, root)
    _fill_road_attrs(T, rt.order, rt.parent)
    route_col = "route_id" if "route_id" in sel.columns else "cable_id"
    route_of = {
        str(c): (str(r) if isinstance(r, str) and r else str(c))
        for c, r in zip(sel["cable_id"], sel[route_col], strict=True)
    }
    spacing = float(params.manhole_spacing_m or cat.param("manhole_spacing_m"))
    slack = float(cat.param("cable_slack_share"))
    spans = [
        Span(str(cid), node_of[ends[str(cid)][0]], node_of[ends[str(cid)][1]], route_of[str(cid)], p * (1.0 + slack))
        for cid, p in zip(sel["cable_id"], _cable_prices(sel, cat), strict=True)
    ]
    shortcut_kpis = {"n_shortcuts": 0, "shortcut_trench_km": 0.0, "cable_km_saved_by_shortcuts": 0.0}
    N = T
    if params.shortcuts:
        progress("shortcut trenches where the tree makes cables go round a loop")
        res = add_shortcuts(
            G,
            T,
            spans,
            terminal_nodes=term_nodes,
            cat=cat,
            spacing_m=spacing,
            max_length_m=params.shortcut_max_m,
            max_rounds=params.shortcut_rounds,
        )
        if res.added:
            N = res.network
            shortcut_kpis = {
                "n_shortcuts": len(res.added),
                "shortcut_trench_km": round(sum(c.length_m for c in res.added) / 1000.0, 3),
                "cable_km_saved_by_shortcuts": round((res.cable_m_tree - res.cable_m) / 1000.0, 3),
            }
            progress(
                f"{len(res.added)} shortcut trench(es), {shortcut_kpis['shortcut_trench_km']:.2f} km, save "
                f"{shortcut_kpis['cable_km_saved_by_shortcuts']:.2f} km of cable"
            )
    xings = [(c.node, str(c.road_class)) for c in count_crossings(G, N)]
    edge_street = _streets(N, rt.order)
    # cable paths and duct counts
    if N is T:
        paths = {c: rt.path(node_of[a], node_of[b]) for c, (a, b) in ends.items()}
        n_cab = cables_per_edge(rt, paths, route_of)
    else:
        paths = dict(res.paths)
        feeders = root_paths(N, root, sorted_nodes({n for p in paths.values() for n in (p[0], p[-1])}))
        n_cab = cables_per_edge_network(N, root, paths, route_of, feeders)
    cpd = int(cat.param("cables_per_duct"))
    spare = int(cat.param("spare_ducts"))
    edges = sorted(n_cab, key=repr)
    edge_items: dict[Edge, list[tuple[str, float]]] = {}
    edge_info: dict[Edge, dict[str, Any]] = {}
    for e in edges:
        d = N.edges[e]
        length = float(d["length_m"])
        n = n_cab[e]
        need = math.ceil(n / cpd) if n else 0
        free = int(d.get("free_ducts") or 0)
        reuse = free > 0 and need <= free
        nd = max(need, 1) if reuse else ducts_needed(n, cables_per_duct=cpd, spare=spare)
        if reuse:
            items = [("DUCT.REUSE", nd * length)]
        else:
            items = [
                (cat.trench_code(str(d["surface"])), length),
                (cat.traffic_code(str(d["road_class"])), length),
                ("DUCT.HDPE40", nd * length),
            ]
        edge_items[e] = items
        edge_info[e] = {"length_m": length, "n_cables": n, "n_ducts": nd, "reuse_duct": reuse}
    # chambers, handholes and crossings
    ch = sorted_nodes(chambers(N, term_nodes))
    hh = handholes(N, set(ch), spacing)
    node_items: dict[Hashable, list[tuple[str, float]]] = {n: [("MH.STD", 1.0)] for n in ch}
    for xn, rc in xings:
        node_items.setdefault(xn, []).append((cat.crossing_code(rc), 1.0))
    for h in hh:
        edge_items[h.edge] = [*edge_items[h.edge], ("HH.STD", 1.0)]
    # cables and poles
    cable_items: dict[str, list[tuple[str, float]]] = {}
    cable_len: dict[str, float] = {}
    # A cable route (its spans share a route_id) is re-pulled once through the trench network: the union of its
    # spans' paths, not their sum (neighbouring spans' paths overlap where the tree joins their poles from
    # the same branch).  Each span is charged the edges of its path that earlier spans of its route have not.
    claimed: dict[str, set[Edge]] = {}
    for cid, kind, fc, geom in zip(sel["cable_id"], sel["kind"], sel["fibre_count"], sel.geometry, strict=True):
        p = paths[str(cid)]
        seen = claimed.setdefault(route_of[str(cid)], set())
        ul = 0.0
        for a, b in itertools.pairwise(p):
            ek = ekey(a, b)
            if ek not in seen:
                seen.add(ek)
                ul += float(N.edges[a, b]["length_m"])
        cable_len[str(cid)] = ul
        fcount = int(fc) if fc is not None and not (isinstance(fc, float) and math.isnan(fc)) else None
        cable_items[str(cid)] = [
            (cat.cable_code(str(kind), fcount), ul * (1.0 + slack)),
            ("AERIAL.REMOVE", float(geom.length)),
        ]
    poles_removed = _removable_poles(layers, sel)
    # streets and their scores
    streets = _street_objects(N, edges, edge_street, edge_items, edge_info, n_cab, cat, params, crs)
    cf = 1.0 + float(cat.param("contingency_share"))
    node_cost = {n: _price(cat, its) for n, its in node_items.items()}
    cable_needs = {
        c: (frozenset(edge_street[ekey(a, b)] for a, b in itertools.pairwise(p)), _price(cat, cable_items[c]))
        for c, p in paths.items()
    }
    pole_needs = {p: (frozenset(cids), float(cat.price("POLE.REMOVE"))) for p, (cids, _g) in poles_removed.items()}
    progress(f"phasing {len(streets)} streets under {params.budget_per_year_vnd:,} VND a year")
    phases = assign_phases(
        list(streets.values()),
        root_nodes=frozenset({root}),
        node_costs=node_cost,
        cable_needs=cable_needs,
        pole_needs=pole_needs,
        budget=params.budget_per_year_vnd * (1.0 - _BUDGET_HEADROOM),
        start_year=params.start_year,
        max_years=params.max_years,
        cost_factor=cf,
    )
    work = Work(
        tree=N,
        root=root,
        root_site=root_site,
        edges=edges,
        edge_items=edge_items,
        edge_info=edge_info,
        edge_street=edge_street,
        node_items=node_items,
        chamber_nodes=ch,
        hh=hh,
        crossings=xings,
        cables=sel.assign(underground_m=[cable_len[str(c)] for c in sel["cable_id"]]),
        cable_paths=paths,
        cable_items=cable_items,
        poles_removed=poles_removed,
        streets=streets,
        shortcut_kpis=shortcut_kpis,
        notes=notes,
    )
    lookup = CommuneLookup(layers.get("boundaries"))
    progress("bill of quantities")
    return assemble(work, phases, zones, params, cat, lookup, crs)


def _cable_prices(sel: gpd.GeoDataFrame, cat: Catalog) -> list[float]:
    """Price per metre (VND, without slack) of re-pulling each selected cable."""
    out = []
    for kind, fc in zip(sel["kind"], sel["fibre_count"], strict=True):
        fcount = int(fc) if fc is not None and not (isinstance(fc, float) and math.isnan(fc)) else None
        out.append(float(cat.price(cat.cable_code(str(kind), fcount))))
    return out


#: An aerial cable end naming no known pole that lies this close (metres) to a pole hangs from it.
_POLE_END_TOLERANCE_M = 1.0


def _removable_poles(layers: dict[str, gpd.GeoDataFrame], sel: gpd.GeoDataFrame) -> dict[str, tuple[list[str], Any]]:
    """Telecom poles all of whose aerial cables are moved: pole id -> (its cables, its point).

    A pole carries the aerial cables (of the whole layer, any owner, in the zone or not) that name it in
    ``from_pole``/``to_pole``; a pole within :data:`_POLE_END_TOLERANCE_M` of an unmoved aerial cable end
    that names no known pole stays too (the cable may hang from it).
    """
    poles = layers.get("poles")
    if poles is None or poles.empty:
        return {}
    cables = layers["cables"]
    aerial = cables[cables["placement"] == "aerial"]
    known = set(poles["pole_id"].astype(str))
    moved = set(sel["cable_id"].astype(str))
    carried: dict[str, set[str]] = {}
    loose: list[Any] = []  # ends of unmoved cables that name no known pole
    for cid, fp, tp, g in zip(aerial["cable_id"], aerial["from_pole"], aerial["to_pole"], aerial.geometry, strict=True):
        for k, p in enumerate((fp, tp)):
            if isinstance(p, str) and p in known:
                carried.setdefault(p, set()).add(str(cid))
            elif str(cid) not in moved and g is not None and not g.is_empty:
                loose.append(shapely.get_point(g, -k))
    out: dict[str, tuple[list[str], Any]] = {}
    tele = poles[poles["owner"] == "telecom"].sort_values("pole_id", kind="mergesort")
    for pid, g in zip(tele["pole_id"].astype(str), tele.geometry, strict=True):
        cids = carried.get(pid)
        if cids and cids <= moved:
            out[pid] = (sorted(cids), g)
    if out and loose:
        ids = list(out)
        tree = shapely.STRtree([out[p][1] for p in ids])
        _i, hit = tree.query(np.asarray(loose, dtype=object), predicate="dwithin", distance=_POLE_END_TOLERANCE_M)
        for k in set(hit.tolist()):
            del out[ids[k]]
    return out


def _street_objects(
    T: nx.Graph,
    edges: list[Edge],
    edge_street: dict[Edge, str],
    edge_items: dict[Edge, list[tuple[str, float]]],
    edge_info: dict[Edge, dict[str, Any]],
    n_cab: dict[Edge, int],
    cat: Catalog,
    params: UndergroundParams,
    crs: Any,
) -> dict[str, Street]:

    weights = {**DEFAULT_CLASS_WEIGHTS, **dict(params.class_weights)}
    by: dict[str, list[Edge]] = {}
    for e in edges:
        by.setdefault(edge_street[e], []).append(e)
    keys = sorted(by)
    geoms = [
        shapely.union_all(
            [T.edges[e]["geometry"] for e in by[k] if T.edges[e].get("geometry") is not None]
            or [
                shapely.LineString(
                    [
                        (T.nodes[by[k][0][0]]["x"], T.nodes[by[k][0][0]]["y"]),
                        (T.nodes[by[k][0][1]]["x"], T.nodes[by[k][0][1]]["y"]),
                    ]
                )
            ]
        )
        for k in keys
    ]
    centre = _share_within(geoms, _area(params.centre_areas, crs, "centre_areas"))
    works = _share_within(geoms, _area(params.planned_works, crs, "planned_works", 20.0))
    dens = []
    for k in keys:
        length = sum(edge_info[e]["length_m"] for e in by[k])
        dens.append(sum(n_cab[e] * edge_info[e]["length_m"] for e in by[k]) / length if length > 0 else 0.0)
    dmax = max(dens) if dens and max(dens) > 0 else 1.0
    out: dict[str, Street] = {}
    for i, k in enumerate(keys):
        es = by[k]
        length = sum(edge_info[e]["length_m"] for e in es)
        main = max(es, key=lambda e: (edge_info[e]["length_m"], repr(e)))
        rc = str(T.edges[main].get("road_class") or "")
        score = (
            params.weight_density * dens[i] / dmax
            + params.weight_road_class * float(weights.get(rc, 0.0))
            + params.weight_centre * float(centre[i])
            + params.weight_works * float(works[i])
        )
        out[k] = Street(
            key=k,
            name=str(T.edges[main].get("name") or k),
            nodes=frozenset(n for e in es for n in e),
            own_cost=sum(_price(cat, edge_items[e]) for e in es),
            score=round(score, 12),
            length_m=length,
        )
    return out
