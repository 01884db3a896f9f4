"""The undergrounding pipeline (private; the public face is :mod:`gisplan.underground.planner`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from gisplan._errors import PlanningError
from gisplan.catalog._catalog import Catalog
from gisplan.io.crs import METRIC_CRS
from gisplan.plan import Plan
from gisplan.routing.graph import count_crossings
from gisplan.underground._chambers import Chamber, ChamberRules, intersection_points, place_chambers
from gisplan.underground._detours import Detour, limit_detours
from gisplan.underground._drops import Drop, drops_to_chambers, near_trench, remaining_poles, zone_buildings
from gisplan.underground._ductbank import count_ducts, cross_section, placement_of
from gisplan.underground._inputs import (
    CommuneLookup,
    cable_operators,
    check_zones_in_data,
    root_candidates,
    select_cables,
    sorted_nodes,
    terminal_points,
    zones_frame,
)
from gisplan.underground._output import assemble
from gisplan.underground._phasing import PhaseResult, Street, assign_phases
from gisplan.underground._quantities import (
    Edge,
    RootedTree,
    Work,
    ekey,
    root_tree,
    routes_per_edge,
    routes_per_edge_feeder_tree,
)
from gisplan.underground._route import Routed, route_trench_tree
from gisplan.underground._shortcuts import Span, add_shortcuts, network_paths, path_length, root_parents, root_paths
from gisplan.underground.params import DEFAULT_CLASS_WEIGHTS
from gisplan.underground.settings import DEFAULT_SETTINGS, UndergroundSettings

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
            raise PlanningError(f"{what} has no CRS; set one (e.g. EPSG:4326) / Lớp {what} chưa có hệ tọa độ")
        frame = obj.to_crs(crs)
    else:
        geoms = [obj] if isinstance(obj, shapely.Geometry) else list(obj)
        frame = gpd.GeoDataFrame(geometry=geoms, crs="EPSG:4326").to_crs(crs)
    geoms = [
        g.buffer(buffer_m) if buffer_m or g.geom_type not in ("Polygon", "MultiPolygon") else g for g in frame.geometry
    ]
    return shapely.union_all(geoms) if geoms else None


def build_plan(
    layers: dict[str, gpd.GeoDataFrame],
    zones_in: Any,
    params: UndergroundParams,
    cat: Catalog,
    progress: Callable[[str], None],
    settings: UndergroundSettings | None = None,
) -> Plan:
    """Run the whole pipeline (see :func:`gisplan.underground.planner.plan_undergrounding`).

    The steps, in order: check the layers, select the cables and their terminals, route the trench tree, add the
    shortcut trenches, count the cables per trench, price the trenches, place the chambers, price the cables,
    find the removable poles, phase the streets, assemble the plan.
    """
    st = settings or DEFAULT_SETTINGS
    _check_layers(layers)
    crs = layers["roads"].crs or METRIC_CRS
    zones = zones_frame(zones_in, crs)
    check_zones_in_data(zones, layers)
    sel = select_cables(layers["cables"], zones, params.owners)
    progress(f"{len(sel)} aerial cable spans in {len(zones)} zone(s)")
    points, ends = terminal_points(sel, layers.get("poles"))
    cands = root_candidates(layers.get("sites"), params.exchange_ids)
    cable_op = cable_operators(sel)
    op_tids: dict[str, set[str]] = {}
    for cid, pair in ends.items():
        op_tids.setdefault(cable_op[cid], set()).update(pair)
    routed = route_trench_tree(
        layers, zones, points, cands, params, cat, crs, progress, st, {op: sorted(t) for op, t in op_tids.items()}
    )
    rt = root_tree(routed.T, routed.root)
    _fill_road_attrs(routed.T, rt.order, rt.parent)
    route_of = _route_ids(sel)
    spacing = float(params.manhole_spacing_m or cat.param("manhole_spacing_m"))
    route_root = _route_roots(sel, route_of, cable_op, routed)
    net = _trench_network(routed, rt, sel, ends, route_of, route_root, params, cat, spacing, progress, st)
    edges = sorted(net.n_cab, key=repr)
    route_cables = _route_cables(sel, route_of, cat, st)
    edge_items, edge_info = _trench_items(net.N, edges, net.routes, route_cables, params, cat, st)
    xings = [(c.node, str(c.road_class)) for c in count_crossings(routed.G, net.N)]
    zb = None
    bframe = zone_buildings(layers.get("buildings"), zones, crs)
    if bframe is not None:
        zb = near_trench(bframe, net.N, float(cat.param("max_drop_m")))
        progress(f"{len(zb.near)} of {len(bframe)} buildings in the zone lie near the trench network")
    roles = _terminal_roles(layers, sel, ends, route_of, routed, net.N, st, poles_distribute=zb is None)
    kinds = _kinds_per_edge(sel, route_of, net.routes)
    rules = ChamberRules(
        spacing_m=spacing,
        pulling_m={k: float(cat.param(f"pulling_length_{k}_m")) for k in ("fibre", "copper", "coax")},
        clearance_m=float(cat.param("chamber_intersection_clearance_m")),
        drop_reach_m=float(cat.param("drop_reach_m")),
    )
    progress("chambers by rule: branch, exchange, splice, riser, drop and pulling points, off intersections")
    chambers = place_chambers(
        net.N,
        root=routed.root,
        roots=set(routed.root_nodes.values()),
        roles=roles,
        intersections=intersection_points(routed.roads, routed.G),
        kinds=kinds,
        rules=rules,
        points_on_edges=zb.on_edges if zb is not None else (),
    )
    drops = drops_to_chambers(zb, net.N, chambers) if zb is not None else []
    node_items = _chamber_items(chambers, xings, edge_items, cat, drops)
    cable_items, cable_len = _cable_items(net.N, sel, net.paths, route_of, cat)
    poles_removed = _removable_poles(layers, sel, st.pole_end_tolerance_m)
    named, _loose = _continuing_poles(layers, sel)
    remaining, by_power = remaining_poles(
        layers.get("poles"), zones, set(poles_removed), {p: {p} for p in named}, joint=params.joint_with_power
    )
    edge_street = _streets(net.N, rt.order)
    streets = _street_objects(net.N, edges, edge_street, edge_items, edge_info, net.n_cab, cat, params, crs)
    phases = _phase_streets(
        streets,
        frozenset({routed.root, *routed.root_nodes.values()}),
        node_items,
        cable_items,
        {c: [*net.feeds.get(c, []), *p] for c, p in net.paths.items()},
        edge_street,
        poles_removed,
        params,
        cat,
        progress,
        st,
    )
    work = Work(
        tree=net.N,
        root=routed.root,
        root_site=routed.root_site,
        roots=dict(routed.roots),
        cable_exchange={cid: routed.roots[op] for cid, op in cable_op.items()},
        edges=edges,
        edge_items=edge_items,
        edge_info=edge_info,
        edge_street=edge_street,
        node_items=node_items,
        chambers=chambers,
        crossings=xings,
        cables=sel.assign(underground_m=[cable_len[str(c)] for c in sel["cable_id"]], od_mm=_cable_ods(sel, cat, st)),
        cable_paths=net.paths,
        cable_items=cable_items,
        poles_removed=poles_removed,
        streets=streets,
        shortcut_kpis=net.shortcut_kpis,
        detours=net.detours,
        drops=drops,
        buildings=zb,
        poles_remaining=remaining,
        poles_by_power=by_power,
        street_km_freed=float(shapely.union_all(list(sel.geometry)).length) / 1000.0,
        notes=routed.notes,
    )
    lookup = CommuneLookup(layers.get("boundaries"))
    progress("bill of quantities")
    return assemble(work, phases, zones, params, cat, lookup, crs)


def _check_layers(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Raise PlanningError naming a missing layer or a missing column the planner reads."""
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


def _route_ids(sel: gpd.GeoDataFrame) -> dict[str, str]:
    """Cable id -> its route (``route_id`` where the layer has one, else the cable id itself)."""
    route_col = "route_id" if "route_id" in sel.columns else "cable_id"
    return {
        str(c): (str(r) if isinstance(r, str) and r else str(c))
        for c, r in zip(sel["cable_id"], sel[route_col], strict=True)
    }


@dataclass
class _Network:
    """The built trench network (tree plus shortcuts), each span's path in it and the routes per edge."""

    N: nx.Graph
    paths: dict[str, list[Hashable]]
    routes: dict[Edge, frozenset[str]]
    shortcut_kpis: dict[str, Any]
    detours: list[Detour]
    feeds: dict[str, list[Hashable]] = field(default_factory=dict)

    @property
    def n_cab(self) -> dict[Edge, int]:
        """Number of distinct cable routes in each trench edge."""
        return {e: len(r) for e, r in self.routes.items()}


def _trench_network(
    routed: Routed,
    rt: RootedTree,
    sel: gpd.GeoDataFrame,
    ends: dict[str, tuple[str, str]],
    route_of: dict[str, str],
    route_root: dict[str, Hashable],
    params: UndergroundParams,
    cat: Catalog,
    spacing: float,
    progress: Callable[[str], None],
    st: UndergroundSettings,
) -> _Network:
    """The tree with the shortcut trenches that pay for themselves and the trench the detour limit needs, the span
    paths and the routes per edge (a route's span ends continue to its own operator's root, ``route_root``)."""
    node_of = routed.node_of
    slack = float(cat.param("cable_slack_share"))
    spans = [
        Span(str(cid), node_of[ends[str(cid)][0]], node_of[ends[str(cid)][1]], route_of[str(cid)], p * (1.0 + slack))
        for cid, p in zip(sel["cable_id"], _cable_prices(sel, cat), strict=True)
    ]
    kpis: dict[str, Any] = {"n_shortcuts": 0, "shortcut_trench_km": 0.0, "cable_km_saved_by_shortcuts": 0.0}
    res = None
    if params.shortcuts:
        progress("shortcut trenches where the tree makes cables go round a loop")
        res = add_shortcuts(
            routed.G,
            routed.T,
            spans,
            terminal_nodes=routed.term_nodes,
            cat=cat,
            spacing_m=spacing,
            max_length_m=params.shortcut_max_m,
            max_rounds=params.shortcut_rounds,
            settings=st,
        )
    N, paths = (res.network, dict(res.paths)) if res is not None and res.added else (routed.T, {})
    if res is not None and res.added:
        kpis = {
            "n_shortcuts": len(res.added),
            "shortcut_trench_km": round(sum(c.length_m for c in res.added) / 1000.0, 3),
            "cable_km_saved_by_shortcuts": round((res.cable_m_tree - res.cable_m) / 1000.0, 3),
        }
        progress(
            f"{len(res.added)} shortcut trench(es), {kpis['shortcut_trench_km']:.2f} km, save "
            f"{kpis['cable_km_saved_by_shortcuts']:.2f} km of cable"
        )
    detours: list[Detour] = []
    if params.max_detour_ratio is not None:
        aerial = {str(c): float(g.length) for c, g in zip(sel["cable_id"], sel.geometry, strict=True)}
        # the span paths' lengths bound the searches (a network that grows only shortens them)
        now = {c: path_length(N, p) for c, p in res.paths.items()} if res is not None else None
        N2, detours = limit_detours(routed.G, N, spans, aerial, max_ratio=params.max_detour_ratio, current_m=now)
        if N2 is not N:
            N, paths = N2, network_paths(N2, spans, bound=now)
            added = sum(d.added_m for d in detours)
            progress(f"{len(detours)} span(s) above the detour limit; {added / 1000:.2f} km of trench added for them")
    if N is routed.T:
        paths = {c: rt.path(node_of[a], node_of[b]) for c, (a, b) in ends.items()}
    routes: dict[Edge, frozenset[str]] = {}
    feeds: dict[str, list[Hashable]] = {}  # span -> the way from its root to its first end (for phasing)
    for r in sorted_nodes(set(route_root.values())):
        # the spans of the routes led to root r: their paths and their ends' ways to r
        mine = {c: p for c, p in paths.items() if route_root[route_of[c]] == r}
        way = root_paths(N, r, sorted_nodes({p[0] for p in mine.values()}))
        feeds.update({c: way[p[0]] for c, p in mine.items()})
        if N is routed.T:
            part = routes_per_edge(rt if r == rt.root else root_tree(N, r), mine, route_of)
        else:
            feeders = root_parents(N, r, sorted_nodes({n for p in mine.values() for n in (p[0], p[-1])}))
            part = routes_per_edge_feeder_tree(N, mine, route_of, feeders)
        for e, rs in part.items():
            routes[e] = routes.get(e, frozenset()) | rs
    for e in (ekey(u, v) for u, v in N.edges):
        routes.setdefault(e, frozenset())
    return _Network(N, paths, routes, kpis, detours, feeds)


def _route_roots(
    sel: gpd.GeoDataFrame, route_of: dict[str, str], cable_op: dict[str, str], routed: Routed
) -> dict[str, Hashable]:
    """Cable route -> the network node of its operator's root (the operator of the route's first cable)."""
    out: dict[str, Hashable] = {}
    for cid in sel["cable_id"].astype(str):
        r = route_of[cid]
        if r not in out:
            out[r] = routed.root_nodes[routed.roots[cable_op[cid]]]
    return out


def _cable_ods(sel: gpd.GeoDataFrame, cat: Catalog, st: UndergroundSettings) -> list[float]:
    """Outer diameter (mm) of each selected cable (``st.cable_od_mm`` by catalog code; the largest where unknown)."""
    out = []
    for kind, fc in zip(sel["kind"], sel["fibre_count"], strict=True):
        fcount = int(fc) if fc is not None and not (isinstance(fc, float) and math.isnan(fc)) else None
        out.append(float(st.cable_od_mm.get(cat.cable_code(str(kind), fcount), max(st.cable_od_mm.values()))))
    return out


def _route_cables(sel: gpd.GeoDataFrame, route_of: dict[str, str], cat: Catalog, st: UndergroundSettings) -> dict:
    """Route -> (operator, outer diameter in mm of its largest cable)."""
    out: dict[str, tuple[str, float]] = {}
    for cid, kind, fc, owner in zip(sel["cable_id"], sel["kind"], sel["fibre_count"], sel["owner"], strict=True):
        fcount = int(fc) if fc is not None and not (isinstance(fc, float) and math.isnan(fc)) else None
        code = cat.cable_code(str(kind), fcount)
        od = float(st.cable_od_mm.get(code, max(st.cable_od_mm.values())))
        r = route_of[str(cid)]
        op = str(owner) if isinstance(owner, str) and owner else "?"
        prev = out.get(r)
        out[r] = (prev[0] if prev else op, max(od, prev[1] if prev else 0.0))
    return out


def _trench_items(
    N: nx.Graph,
    edges: list[Edge],
    routes: dict[Edge, frozenset[str]],
    route_cables: dict[str, tuple[str, float]],
    params: UndergroundParams,
    cat: Catalog,
    st: UndergroundSettings,
) -> tuple[dict[Edge, list[tuple[str, float]]], dict[Edge, dict[str, Any]]]:
    """BOQ items and figures of every trench edge (see :mod:`gisplan.underground._ductbank`).

    A new trench is priced by its cross-section: excavation (m3), reinstatement of the surface it breaks (m2:
    the sidewalk's paving where it runs under a paved street's sidewalk, else the road surface), traffic
    management (m) and ducts (m).  An existing duct bank with enough free ducts is reused instead.
    """
    spare = int(cat.param("spare_ducts"))
    edge_items: dict[Edge, list[tuple[str, float]]] = {}
    edge_info: dict[Edge, dict[str, Any]] = {}
    for e in edges:
        d = N.edges[e]
        length = float(d["length_m"])
        rs = sorted(routes[e])
        count = count_ducts([route_cables[r] for r in rs], share=params.share_ducts, spare=spare, st=st)
        need = count.total - count.spare
        free = int(d.get("free_ducts") or 0)
        reuse = free > 0 and need <= free
        road_class, surface = str(d["road_class"]), str(d["surface"])
        placement = placement_of(road_class, st)
        nd = max(need, 1) if reuse else count.total
        width, depth, _cols, _layers = cross_section(nd, placement, st)
        if reuse:
            edge_items[e] = [("DUCT.REUSE", nd * length)]
        else:
            paved = surface in ("asphalt", "concrete")
            reinst = "REINST.SIDEWALK" if placement == "sidewalk" and paved else f"REINST.{surface.upper()}"
            # joint undergrounding: the power utility shares the trench and pays its share of the civil works
            ours = 1.0 - params.power_cost_share if params.joint_with_power else 1.0
            edge_items[e] = [
                ("EXC.TRENCH", width * depth * length * ours),
                (reinst, (width + st.cut_margin_m) * length * ours),
                (cat.traffic_code(road_class), length * ours),
                ("DUCT.HDPE40", nd * length),
            ]
        edge_info[e] = {
            "length_m": length,
            "n_cables": len(rs),
            "n_ducts": nd,
            "reuse_duct": reuse,
            "operators": ", ".join(f"{op}:{k}" for op, k in count.by_operator.items()),
            "width_m": 0.0 if reuse else width,
            "depth_m": 0.0 if reuse else depth,
            "placement": "existing_duct" if reuse else placement,
            "oversize_cables": count.oversize,
        }
    return edge_items, edge_info


def _chamber_items(
    chambers: list[Chamber],
    xings: list[tuple[Hashable, str]],
    edge_items: dict[Edge, list[tuple[str, float]]],
    cat: Catalog,
    drops: list[Drop],
) -> dict[Hashable, list[tuple[str, float]]]:
    """Node items (chambers at nodes, road crossings); chambers along edges are added to ``edge_items`` in place.

    What a chamber holds comes with it: a riser on its pole (``RISER.POLE``), a splice closure in a branch or
    splice manhole (``SPLICE.CLOSURE``), a distribution box in a drop chamber (``DIST.BOX``), and the drops it
    feeds: drop cable (``DROP.FO``, m), its connection at the building (``DROP.CONNECT``) and the removal of the
    building's aerial drop (``DROP.REMOVE``).
    """
    extra = {"riser": "RISER.POLE", "branch": "SPLICE.CLOSURE", "splice": "SPLICE.CLOSURE", "drop": "DIST.BOX"}
    fed: dict[int, list[Drop]] = {}
    for d in drops:
        fed.setdefault(d.chamber, []).append(d)
    node_items: dict[Hashable, list[tuple[str, float]]] = {}
    for k, c in enumerate(chambers):
        items = [(c.code, 1.0)] + ([(extra[c.reason], 1.0)] if c.reason in extra else [])
        ds = fed.get(k, [])
        if ds:
            items += [
                ("DROP.FO", sum(d.length_m for d in ds)),
                ("DROP.CONNECT", float(len(ds))),
                ("DROP.REMOVE", float(len(ds))),
            ]
        if c.node is not None:
            node_items.setdefault(c.node, []).extend(items)
        else:
            assert c.edge is not None
            edge_items[c.edge] = [*edge_items[c.edge], *items]
    for xn, rc in xings:
        node_items.setdefault(xn, []).append((cat.crossing_code(rc), 1.0))
    return node_items


def _kinds_per_edge(
    sel: gpd.GeoDataFrame, route_of: dict[str, str], routes: dict[Edge, frozenset[str]]
) -> dict[Edge, set[str]]:
    """The cable kinds (fibre, copper, coax) each trench edge carries."""
    kind_of: dict[str, set[str]] = {}
    for cid, kind in zip(sel["cable_id"], sel["kind"], strict=True):
        kind_of.setdefault(route_of[str(cid)], set()).add(str(kind))
    return {e: set().union(*(kind_of.get(r, set()) for r in rs)) for e, rs in routes.items()}


def _continuing_poles(layers: dict[str, gpd.GeoDataFrame], sel: gpd.GeoDataFrame) -> tuple[set[str], list[Any]]:
    """Poles named by aerial cables that are not moved, and the ends of those cables that name no known pole."""
    cables = layers["cables"]
    aerial = cables[cables["placement"] == "aerial"]
    moved = set(sel["cable_id"].astype(str))
    poles = layers.get("poles")
    known = set(poles["pole_id"].astype(str)) if poles is not None and not poles.empty else set()
    named: set[str] = set()
    loose: list[Any] = []
    for cid, fp, tp, g in zip(aerial["cable_id"], aerial["from_pole"], aerial["to_pole"], aerial.geometry, strict=True):
        if str(cid) in moved:
            continue
        for k, p in enumerate((fp, tp)):
            if isinstance(p, str) and p in known:
                named.add(p)
            elif g is not None and not g.is_empty:
                loose.append(shapely.get_point(g, -k))
    return named, loose


def _terminal_roles(
    layers: dict[str, gpd.GeoDataFrame],
    sel: gpd.GeoDataFrame,
    ends: dict[str, tuple[str, str]],
    route_of: dict[str, str],
    routed: Routed,
    N: nx.Graph,
    st: UndergroundSettings,
    *,
    poles_distribute: bool,
) -> dict[Hashable, set[str]]:
    """Roles of the network nodes for the chamber rules (see :mod:`gisplan.underground._chambers`).

    - ``exchange``: the road point where each root's (every operator's exchange or POP) lead-in joins the trench
      network;
    - ``riser``: the road point of a moved span's end pole that still carries an aerial cable that is not moved
      (the cable goes on aerially from a riser on that pole);
    - ``splice``: the road point where a moved cable route ends (its end appears in one span of the route only)
      and does not go on aerially;
    - ``distribution`` (``poles_distribute``, when there is no buildings layer): the road point of every other
      end pole of a moved span: the poles the moved cables hang from stand for the distribution points, the
      subscriber drops hang from them.  With buildings, the buildings' trench points are the distribution points.
    """
    named, loose = _continuing_poles(layers, sel)
    pts = {}
    tids = sorted({t for pair in ends.values() for t in pair})
    riser: set[str] = {t for t in tids if t.startswith("pole:") and t[5:] in named}
    if loose:
        poles = layers.get("poles")
        xy = dict(zip(poles["pole_id"].astype(str), poles.geometry, strict=True)) if poles is not None else {}
        for t in tids:
            if t.startswith("pole:") and t[5:] in xy:
                pts[t] = xy[t[5:]]
        end_pts = {
            f"end:{cid}:{side}": shapely.get_point(g, k)
            for cid, g in zip(sel["cable_id"].astype(str), sel.geometry, strict=True)
            for k, side in ((0, "a"), (-1, "b"))
        }
        pts.update({t: end_pts[t] for t in tids if t in end_pts})
        ids = sorted(pts)
        tree = shapely.STRtree([pts[t] for t in ids])
        _i, hit = tree.query(np.asarray(loose, dtype=object), predicate="dwithin", distance=st.pole_end_tolerance_m)
        riser |= {ids[k] for k in set(hit.tolist())}
    count: dict[tuple[str, str], int] = {}
    for cid, (a, b) in ends.items():
        for t in (a, b):
            count[(route_of[cid], t)] = count.get((route_of[cid], t), 0) + 1
    route_end = {t for (_r, t), k in count.items() if k == 1}
    roles: dict[Hashable, set[str]] = {}
    for t in tids:
        n = routed.node_of[t]
        role = "riser" if t in riser else ("splice" if t in route_end else "distribution")
        if role != "distribution" or poles_distribute:
            roles.setdefault(n, set()).add(role)
    for root in sorted_nodes({routed.root, *routed.root_nodes.values()}):  # every operator's root
        entry = root
        if N.degree[root] == 1:
            (nb,) = N.adj[root]
            if N.edges[root, nb].get("kind") == "spur":
                entry = nb
        roles.setdefault(entry, set()).add("exchange")
    return roles


def _cable_items(
    N: nx.Graph,
    sel: gpd.GeoDataFrame,
    paths: dict[str, list[Hashable]],
    route_of: dict[str, str],
    cat: Catalog,
) -> tuple[dict[str, list[tuple[str, float]]], dict[str, float]]:
    """BOQ items (re-pull with slack, aerial removal) and underground metres of every moved cable.

    A cable route (its spans share a route_id) is re-pulled once through the trench network: the union of its
    spans' paths, not their sum (neighbouring spans' paths overlap where the tree joins their poles from the same
    branch).  Each span is charged the edges of its path that earlier spans of its route have not.
    """
    slack = float(cat.param("cable_slack_share"))
    cable_items: dict[str, list[tuple[str, float]]] = {}
    cable_len: dict[str, float] = {}
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
    # fibre testing (OTDR and loss) per section of each fibre route: its spans' union path cut at the junctions
    first: dict[str, str] = {}
    for cid, kind in zip(sel["cable_id"], sel["kind"], strict=True):
        if str(kind) == "fibre":
            first.setdefault(route_of[str(cid)], str(cid))
    for route, cid in first.items():
        nodes = {n for a, b in claimed[route] for n in (a, b)}
        sections = 1 + sum(1 for n in nodes if N.degree[n] >= 3)
        cable_items[cid] = [*cable_items[cid], ("TEST.FO", float(sections))]
    return cable_items, cable_len


def _phase_streets(
    streets: dict[str, Street],
    roots: frozenset[Hashable],
    node_items: dict[Hashable, list[tuple[str, float]]],
    cable_items: dict[str, list[tuple[str, float]]],
    paths: dict[str, list[Hashable]],
    edge_street: dict[Edge, str],
    poles_removed: dict[str, tuple[list[str], Any]],
    params: UndergroundParams,
    cat: Catalog,
    progress: Callable[[str], None],
    st: UndergroundSettings,
) -> PhaseResult:
    """Years of the streets, chambers, cables and poles under the yearly budget (:func:`assign_phases`).

    ``paths``: each span's nodes from its root (its operator's exchange/POP) along its way to its first end, then
    along its own path: a cable is re-pulled in the year its path and its way to its own exchange are built (with
    several roots, what is built grows from each of them, so a span's path may be complete before its way home).
    """
    cable_needs = {
        c: (
            frozenset(edge_street[ekey(a, b)] for a, b in itertools.pairwise(p) if a != b),
            _price(cat, cable_items[c]),
        )
        for c, p in paths.items()
    }
    pole_needs = {p: (frozenset(cids), float(cat.price("POLE.REMOVE"))) for p, (cids, _g) in poles_removed.items()}
    progress(f"phasing {len(streets)} streets under {params.budget_per_year_vnd:,} VND a year")
    return assign_phases(
        list(streets.values()),
        root_nodes=roots,
        node_costs={n: _price(cat, its) for n, its in node_items.items()},
        cable_needs=cable_needs,
        pole_needs=pole_needs,
        budget=params.budget_per_year_vnd * (1.0 - st.budget_headroom),
        start_year=params.start_year,
        max_years=params.max_years,
        cost_factor=1.0 + float(cat.param("contingency_share")),
    )


def _cable_prices(sel: gpd.GeoDataFrame, cat: Catalog) -> list[float]:
    """Price per metre (VND, without slack) of re-pulling each selected cable."""
    out = []
    for kind, fc in zip(sel["kind"], sel["fibre_count"], strict=True):
        fcount = int(fc) if fc is not None and not (isinstance(fc, float) and math.isnan(fc)) else None
        out.append(float(cat.price(cat.cable_code(str(kind), fcount))))
    return out


def _removable_poles(
    layers: dict[str, gpd.GeoDataFrame], sel: gpd.GeoDataFrame, tolerance_m: float
) -> dict[str, tuple[list[str], Any]]:
    """Telecom poles all of whose aerial cables are moved: pole id -> (its cables, its point).

    A pole carries the aerial cables (of the whole layer, any owner, in the zone or not) that name it in
    ``from_pole``/``to_pole``; a pole within ``tolerance_m`` of an unmoved aerial cable end
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
        _i, hit = tree.query(np.asarray(loose, dtype=object), predicate="dwithin", distance=tolerance_m)
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
