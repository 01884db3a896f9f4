"""The road graph: a networkx graph built from the roads layer, priced from the cost catalog.

:func:`graph_from_roads` nodes the roads (endpoints within a snap tolerance joined,
lines split where they meet, duplicates merged), prices every edge as a trench by
surface and road class, turns edges along existing ducts with free capacity into
near-free edges, and removes or penalises edges in constraint zones.
:func:`attach_points` connects poles or sites to the nearest edge,
:func:`count_crossings` counts the road crossings a trench tree needs and
:func:`components_report` reports disconnected parts of the network.

The graph (``networkx.Graph``, undirected, simple) has integer node ids with
``x``, ``y`` in the metric CRS (``G.graph["crs"]``), and edges with ``length_m``,
``cost`` (VND), ``trench_cost_per_m``, ``road_id``, ``name``, ``road_class``,
``surface``, ``level``, ``geometry`` (metric LineString), and ``free_ducts``/``duct_id``
on duct edges.  Two roads between the same two junctions are both kept: the dearer
one is split in two at its middle by a node of its own (``G.graph["parallel_split"]``),
so the graph stays simple.  Roads at different levels (a bridge over a road, a tunnel
under it: the ``level``, ``bridge`` and ``tunnel`` columns or their aliases) are not
joined where they cross, only where one ends on the other.  The array form used by
routing is derived and checked on every call (see :mod:`gisplan.routing._arrays`):
changing costs in place needs no announcement.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from gisplan._errors import CRSError, LayerError, Problem, RoutingError
from gisplan.catalog._catalog import load_catalog
from gisplan.io.crs import metric_crs_for, to_metric
from gisplan.io.schemas import get_schema
from gisplan.routing._arrays import graph_arrays
from gisplan.routing._noding import split_and_connect
from gisplan.routing.settings import DEFAULT_SETTINGS, RoutingSettings

__all__ = [
    "ComponentsReport",
    "Crossing",
    "attach_points",
    "components_report",
    "count_crossings",
    "crossings_cost",
    "graph_from_roads",
]

_ROAD_COLUMNS = ("road_id", "name", "road_class", "surface")


def _metric(
    gdf: gpd.GeoDataFrame, crs: CRS | None, what: str, max_scale_error: float = DEFAULT_SETTINGS.max_scale_error
) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs``, or when ``crs`` is None to the CRS it can be measured in
    (:func:`gisplan.io.crs.metric_crs_for`: its own unless a Mercator or more than ``max_scale_error`` off scale at
    the layer's centre, where lengths and trench costs would be inflated; then its UTM zone)."""
    if gdf.crs is None:
        raise CRSError(f"the {what} layer has no CRS; state one (e.g. EPSG:4326, or EPSG:9207 for VN-2000)")
    return to_metric(gdf, crs if crs is not None else metric_crs_for(gdf, max_scale_error=max_scale_error))


def _lines(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Single-part, non-empty lines (the input's own geometry objects when it holds no multi-part line)."""
    kinds = shapely.get_type_id(gdf.geometry.values)
    if np.any(kinds == shapely.GeometryType.MULTILINESTRING) or np.any(
        kinds == shapely.GeometryType.GEOMETRYCOLLECTION
    ):
        out = gdf.explode(index_parts=False, ignore_index=True)
    else:
        out = gdf
    return out[~(out.geometry.is_empty | out.geometry.isna())].reset_index(drop=True)


def _snap_endpoints(geoms: np.ndarray, tol: float) -> tuple[np.ndarray, int]:
    """Move line endpoints within ``tol`` of each other to their cluster's mean; return (lines, n moved)."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    if tol <= 0 or len(geoms) == 0:
        return geoms, 0
    starts = np.searchsorted(owner, np.arange(len(geoms)))
    ends = np.append(starts[1:], len(owner)) - 1
    idx = np.concatenate([starts, ends])
    pts = coords[idx]
    pairs = cKDTree(pts).query_pairs(tol, output_type="ndarray")
    if len(pairs) == 0:
        return geoms, 0
    k = len(pts)
    g = sparse.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
    _n, lab = csgraph.connected_components(g, directed=False)
    sums = np.zeros((lab.max() + 1, 2))
    np.add.at(sums, lab, pts)
    mean = sums / np.bincount(lab)[:, None]
    new = mean[lab]
    moved = np.any(np.abs(new - pts) > 0, axis=1)
    coords = coords.copy()
    coords[idx] = new
    return shapely.linestrings(coords, indices=owner), int(moved.sum())


class _Pieces(NamedTuple):
    geoms: np.ndarray
    source: np.ndarray  # row of the roads frame each piece comes from
    duplicates: dict[int, list[Any]]  # piece -> other road_ids lying on it (pieces with none left out)


def _node_lines(
    geoms: np.ndarray, rate: np.ndarray, road_ids: np.ndarray, level: np.ndarray, *, noded: bool
) -> _Pieces:
    """Split lines where they meet and merge duplicates; map each piece to its cheapest source road.

    Lines meet where they cross only at the same ``level``; a line of one level is split where a line of
    another level ends on it (a ramp joining a bridge), so levels connect at line ends only.
    """
    if noded:
        return _Pieces(geoms, np.arange(len(geoms)), {})
    all_pieces, all_source = [], []
    dups: dict[int, list[Any]] = {}
    offset = 0
    levels = np.unique(level)
    for lv in levels.tolist():
        rows = np.flatnonzero(level == lv)
        pieces = shapely.get_parts(shapely.union_all(geoms[rows]))
        pieces = pieces[shapely.length(pieces) > 0]
        if len(levels) > 1:
            other = geoms[level != lv]
            ends = np.concatenate([shapely.get_point(other, 0), shapely.get_point(other, -1)])
            pieces = _split_at_points(pieces, ends)
        source, piece_dups = _sources(pieces, geoms[rows], rate[rows], road_ids[rows])
        all_pieces.append(pieces)
        all_source.append(rows[source])
        dups.update({p + offset: ids for p, ids in piece_dups.items()})
        offset += len(pieces)
    return _Pieces(np.concatenate(all_pieces), np.concatenate(all_source), dups)


def _split_at_points(pieces: np.ndarray, points: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Split ``pieces`` at the ``points`` lying on their interior (within ``eps`` metres)."""
    if len(pieces) == 0 or len(points) == 0:
        return pieces
    pi, qi = shapely.STRtree(pieces).query(points, predicate="dwithin", distance=eps)
    if len(pi) == 0:
        return pieces
    from shapely.ops import substring

    cuts: dict[int, list[float]] = {}
    pos = shapely.line_locate_point(pieces[qi], points[pi])
    length = shapely.length(pieces[qi])
    for q, s, total in zip(qi.tolist(), pos.tolist(), length.tolist(), strict=True):
        if eps < s < total - eps:
            cuts.setdefault(q, []).append(s)
    if not cuts:
        return pieces
    out = [g for k, g in enumerate(pieces.tolist()) if k not in cuts]
    for q, where in cuts.items():
        g = pieces[q]
        marks = [0.0, *sorted(set(where)), float(g.length)]
        out.extend(substring(g, a, b) for a, b in itertools.pairwise(marks) if b - a > eps)
    return np.array(out, dtype=object)


def _sources(
    pieces: np.ndarray, geoms: np.ndarray, rate: np.ndarray, road_ids: np.ndarray
) -> tuple[np.ndarray, dict[int, list[Any]]]:
    """Per piece: the cheapest line of ``geoms`` it lies on, and the other road ids lying on it."""
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    tree = shapely.STRtree(geoms)
    pi, li = tree.query(mid, predicate="dwithin", distance=1e-3)
    missing = np.setdiff1d(np.arange(len(pieces)), pi)
    if len(missing):
        mi, ml = tree.query_nearest(mid[missing])
        pi = np.concatenate([pi, missing[mi]])
        li = np.concatenate([li, ml])
    order = np.lexsort((li, rate[li], pi))
    pi, li = pi[order], li[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    source = np.empty(len(pieces), dtype=np.int64)
    source[pi[first]] = li[first]
    dups: dict[int, list[Any]] = {}
    for p, line in zip(pi[~first].tolist(), li[~first].tolist(), strict=True):
        rid = road_ids[line]
        if rid != road_ids[source[p]] and rid not in dups.get(p, ()):
            dups.setdefault(p, []).append(rid)
    return source, dups


_FALSE_WORDS = frozenset({"", "no", "false", "0", "none", "nan", "không", "khong", "k", "n", "f"})


def _flag(values: pd.Series) -> np.ndarray:
    """Yes/no column as booleans: empty, 'no', 'false', '0', 'không' are no; anything else (OSM 'viaduct') yes."""
    out = np.zeros(len(values), dtype=bool)
    for k, x in enumerate(values.tolist()):
        if x is None or (isinstance(x, float) and not np.isfinite(x)):
            continue
        out[k] = (
            bool(x) if isinstance(x, bool | np.bool_ | int | np.integer) else str(x).strip().lower() not in _FALSE_WORDS
        )
    return out


def _find_column(frame: pd.DataFrame, name: str) -> str | None:
    """The column of ``frame`` holding schema column ``name`` of the roads layer (by name or alias)."""
    wanted = {name.lower(), *(a.lower() for a in get_schema("roads").columns[name].aliases)}
    return next((c for c in frame.columns if isinstance(c, str) and c.lower() in wanted), None)


def _levels(r: gpd.GeoDataFrame) -> np.ndarray:
    """Vertical level of each road: ``level`` where given, else 1 on a bridge, -1 in a tunnel, else 0.

    Raises
    ------
    LayerError
        Naming the roads whose level is not a whole number.
    """
    n = len(r)
    level = np.zeros(n, dtype=np.int64)
    col = _find_column(r, "bridge")
    if col is not None:
        level[_flag(r[col])] = 1
    col = _find_column(r, "tunnel")
    if col is not None:
        level[_flag(r[col])] = -1
    col = _find_column(r, "level")
    if col is not None:
        raw = r[col]
        given = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
        num = pd.to_numeric(raw.where(given), errors="coerce").to_numpy(dtype=float)
        bad = given & ~(np.isfinite(num) & (num == np.round(num)))
        if bad.any():
            ids = r["road_id"].to_numpy(dtype=object)
            raise LayerError(
                "roads layer has levels that are not whole numbers / cao độ không phải số nguyên",
                [
                    Problem(
                        f"road {ids[k]!r}: level {raw.iloc[k]!r} is not a whole number",
                        layer="roads",
                        column=col,
                        row=int(k),
                        value=raw.iloc[k],
                        hint="0 on the ground, 1 on a bridge, -1 in a tunnel (OSM layer=*) / 0 mặt đất, 1 cầu, -1 hầm",
                    )
                    for k in np.flatnonzero(bad)[:20].tolist()
                ],
            )
        level[given] = num[given].astype(np.int64)
    return level


def _zone_factors(
    pieces: np.ndarray, constraints: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray, dict[int, list[str]]]:
    """Per piece: forbidden?, cost multiplier, and the constraint kinds touched."""
    n = len(pieces)
    forbid = np.zeros(n, dtype=bool)
    mult = np.ones(n)
    kinds: dict[int, list[str]] = {}
    if constraints is None or len(constraints) == 0:
        return forbid, mult, kinds
    polys = constraints.geometry.values
    rule = constraints["rule"].astype(str).to_numpy()
    factor = pd.to_numeric(constraints.get("penalty_factor", 1.0), errors="coerce")
    factor = np.asarray(np.broadcast_to(factor, (len(constraints),)), dtype=float)
    kind = constraints["kind"].astype(str).to_numpy() if "kind" in constraints else np.full(len(polys), "zone")
    pi, ci = shapely.STRtree(polys).query(pieces, predicate="intersects")
    inside = shapely.length(shapely.intersection(pieces[pi], polys[ci]))
    length = shapely.length(pieces[pi])
    ok = inside > 0
    for p, c, frac in zip(pi[ok].tolist(), ci[ok].tolist(), (inside[ok] / length[ok]).tolist(), strict=True):
        kinds.setdefault(p, []).append(kind[c])
        if rule[c] == "forbid":
            forbid[p] = True
        elif rule[c] == "penalty":
            f = factor[c] if np.isfinite(factor[c]) else 1.0
            mult[p] = max(mult[p], 1.0 + (max(f, 1.0) - 1.0) * frac)
    return forbid, mult, kinds


def _duct_cover(
    pieces: np.ndarray, ducts: gpd.GeoDataFrame | None, tol: float
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Per piece: is it along a duct with free capacity (>= 90 % of its length within ``tol``)?"""
    n = len(pieces)
    free = np.zeros(n, dtype=np.int64)
    is_duct = np.zeros(n, dtype=bool)
    duct_id: list[Any] = [None] * n
    if ducts is None or len(ducts) == 0:
        return is_duct, free, duct_id
    fd = pd.to_numeric(ducts["free_ducts"], errors="coerce").fillna(0).astype(int).to_numpy()
    usable = fd > 0
    if not usable.any():
        return is_duct, free, duct_id
    d = ducts[usable]
    fd = fd[usable]
    ids = d["duct_id"].tolist() if "duct_id" in d else list(range(len(d)))
    buf = shapely.buffer(d.geometry.values, tol, cap_style="flat")
    pi, di = shapely.STRtree(buf).query(pieces, predicate="intersects")
    frac = shapely.length(shapely.intersection(pieces[pi], buf[di])) / shapely.length(pieces[pi])
    for p, k, f in zip(pi.tolist(), di.tolist(), frac.tolist(), strict=True):
        if f >= 0.9 and fd[k] > free[p]:
            free[p] = fd[k]
            is_duct[p] = True
            duct_id[p] = ids[k]
    return is_duct, free, duct_id


def graph_from_roads(
    roads: gpd.GeoDataFrame,
    *,
    catalog: Any = None,
    ducts: gpd.GeoDataFrame | None = None,
    constraints: gpd.GeoDataFrame | None = None,
    snap_tolerance_m: float = 2.0,
    duct_tolerance_m: float = 5.0,
    noded: bool = False,
    settings: RoutingSettings | None = None,
) -> nx.Graph:
    """Build the priced road graph from a roads layer.

    Parameters
    ----------
    roads
        Roads layer (road_id, name, road_class, surface, (Multi)LineString; optional ``level``,
        ``bridge``, ``tunnel`` or their aliases such as ``cao_do``, ``cau``, ``ham``) in any CRS;
        reprojected to its metric UTM zone when its CRS is geographic, or projected but not true to
        scale at the layer (Web Mercator, EPSG:3857).
    catalog
        Cost catalog (``gisplan.catalog._catalog.load_catalog()`` when None): trench cost per metre by surface
        and road class, duct reuse cost per metre.
    ducts
        Existing duct banks (duct_id, free_ducts): road pieces with at least 90 % of their length within
        ``duct_tolerance_m`` of a duct with ``free_ducts > 0`` cost ``duct_reuse_cost_per_m`` per metre
        and carry ``free_ducts`` and ``duct_id``.  Reusing a duct digs nothing, so duct edges are neither
        forbidden nor penalised by constraint zones.
    constraints
        Zones (kind, rule, penalty_factor): ``rule == "forbid"`` removes every edge running inside
        (listed as road ids in ``G.graph["removed_forbidden"]``); ``"penalty"`` multiplies the cost of
        the part inside by ``penalty_factor`` (the highest factor where zones overlap).
    snap_tolerance_m
        Line endpoints closer than this are joined at their mean; a dangling end within this distance
        of another road is joined to it by a short edge at its projection.
    duct_tolerance_m
        How far from a duct centreline a road may run and still use it.
    noded
        True when the lines already meet only at their endpoints (e.g. an OSM export split at
        junctions): skips the noding and duplicate merging (much faster on large layers).
    settings
        Routing settings (``merge_eps_m``; default :data:`gisplan.routing.settings.DEFAULT_SETTINGS`).

    Returns
    -------
    networkx.Graph
        See the module docstring; ``G.graph`` also holds ``crs``, ``removed_forbidden``,
        ``parallel_split`` (road ids of roads running beside a cheaper one between the same two
        junctions, kept by a node at their middle), ``parallel_dropped`` (always empty; kept for
        readers of older graphs), ``snapped_endpoints``, ``joined_dangling`` and ``n_components``.

    Raises
    ------
    CRSError
        When a layer has no CRS.
    LayerError
        When the roads layer lacks a column or holds a value the catalog cannot price.
    """
    s_ = settings or DEFAULT_SETTINGS
    if catalog is None:
        catalog = load_catalog()
    missing = [c for c in (*_ROAD_COLUMNS, "geometry") if c not in roads.columns]
    if missing:
        raise LayerError(
            "roads layer cannot be made into a graph",
            [Problem(f"missing column {c!r}", layer="roads", column=c, hint="add it or map an alias") for c in missing],
        )
    r = _lines(_metric(roads, None, "roads", s_.max_scale_error))
    crs = CRS.from_user_input(r.crs)
    rates, problems = {}, []
    for key in set(zip(r["surface"].astype(str), r["road_class"].astype(str), strict=True)):
        try:
            rates[key] = float(catalog.trench_cost_per_m(key[0], key[1]))
        except Exception as exc:  # the catalog's own error, turned into a layer problem
            problems.append(Problem(str(exc), layer="roads", column="surface/road_class", value=key))
    if problems:
        raise LayerError("roads layer has values the cost catalog cannot price", problems)
    rate = np.array([rates[k] for k in zip(r["surface"].astype(str), r["road_class"].astype(str), strict=True)])
    road_ids = r["road_id"].to_numpy(dtype=object)
    level = _levels(r)
    geoms, n_snapped = _snap_endpoints(np.asarray(r.geometry.values, dtype=object), snap_tolerance_m)
    pieces = _node_lines(geoms, rate, road_ids, level, noded=noded)
    d = None if ducts is None else _lines(_metric(ducts, crs, "ducts"))
    c = None if constraints is None else _metric(constraints, crs, "constraints")
    is_duct, free, duct_id = _duct_cover(pieces.geoms, d, duct_tolerance_m)
    forbid, mult, kinds = _zone_factors(pieces.geoms, c)
    forbid &= ~is_duct
    mult[is_duct] = 1.0
    length = shapely.length(pieces.geoms)
    src = pieces.source
    trench = rate[src]
    cost = np.where(is_duct, float(catalog.duct_reuse_cost_per_m), trench * mult) * length
    removed = [road_ids[s] for s in src[forbid].tolist()]
    keep = np.flatnonzero(~forbid & (length > 0))
    # nodes from piece endpoints
    coords, owner = shapely.get_coordinates(pieces.geoms[keep], return_index=True)
    starts = np.searchsorted(owner, np.arange(len(keep)))
    ends = np.append(starts[1:], len(owner)) - 1
    ends_xy = np.round(np.concatenate([coords[starts], coords[ends]]), 6)
    uniq, inv = np.unique(ends_xy, axis=0, return_inverse=True)
    inv = inv.ravel()
    u, v = inv[: len(keep)], inv[len(keep) :]
    G = nx.Graph(crs=crs.to_string(), removed_forbidden=removed, snapped_endpoints=n_snapped)
    G.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(uniq.tolist()))
    next_id = len(uniq)
    split: list[Any] = []
    cols = {col: _shared(r[col].to_numpy(dtype=object)) for col in ("road_id", "name", "road_class", "surface")}
    del r
    order = np.argsort(cost[keep], kind="stable")  # cheapest first, so parallels keep the cheapest
    extra_geoms = []
    for j in order.tolist():
        p = int(keep[j])
        a, b = int(u[j]), int(v[j])
        s = int(src[p])
        attrs = {col: cols[col][s] for col in cols}
        attrs.update(
            length_m=float(length[p]),
            cost=float(cost[p]),
            trench_cost_per_m=float(trench[p]),
            level=int(level[s]),
            geometry=pieces.geoms[p],
        )
        if p in pieces.duplicates:
            attrs["duplicates"] = list(pieces.duplicates[p])
        if p in kinds:
            attrs["zones"] = sorted(set(kinds[p]))
        if is_duct[p]:
            attrs.update(free_ducts=int(free[p]), duct_id=duct_id[p])
        if a == b:
            extra_geoms.append(attrs)  # a closed ring: split in three below
            continue
        if G.has_edge(a, b):  # a second road between the same junctions: keep it, split by a node of its own
            split.append(attrs["road_id"])
            next_id = _add_split(G, a, b, attrs, next_id)
            continue
        G.add_edge(a, b, **attrs)
    for attrs in extra_geoms:
        next_id = _add_ring(G, attrs, next_id)
    G.graph["parallel_split"] = split
    G.graph["parallel_dropped"] = []
    G, joined = _join_dangling(G, snap_tolerance_m, next_id, s_.merge_eps_m)
    G.graph["joined_dangling"] = joined
    G.graph["n_components"] = nx.number_connected_components(G)
    _cache_arrays(G)
    return G


def _shared(values: np.ndarray) -> np.ndarray:
    """The same values with equal strings as one object each (a million edges share a few class names)."""
    pool: dict[Any, Any] = {}
    out = np.empty(len(values), dtype=object)
    out[:] = [pool.setdefault(x, x) if isinstance(x, str) else x for x in values.tolist()]
    return out


def _add_split(G: nx.Graph, a: int, b: int, attrs: dict, next_id: int) -> int:
    """Add edge (a, b) beside an existing one as two edges meeting at a new node at its middle."""
    from shapely.ops import substring

    geom = attrs["geometry"]
    total = float(geom.length)
    x0, y0 = shapely.get_coordinates(geom)[0]
    da = (x0 - G.nodes[a]["x"]) ** 2 + (y0 - G.nodes[a]["y"]) ** 2
    db = (x0 - G.nodes[b]["x"]) ** 2 + (y0 - G.nodes[b]["y"]) ** 2
    if db < da:
        a, b = b, a  # the geometry runs from b to a
    mid = geom.interpolate(total / 2)
    G.add_node(next_id, x=float(mid.x), y=float(mid.y))
    for (n0, n1), (s0, s1) in (((a, next_id), (0.0, total / 2)), ((next_id, b), (total / 2, total))):
        piece = dict(attrs)
        piece.update(geometry=substring(geom, s0, s1), length_m=total / 2, cost=float(attrs["cost"]) / 2)
        G.add_edge(n0, n1, **piece)
    return next_id + 1


def _add_ring(G: nx.Graph, attrs: dict, next_id: int) -> int:
    """Add a closed ring as three edges (keeps the graph simple)."""
    geom = attrs["geometry"]
    total = float(geom.length)
    x0, y0 = shapely.get_coordinates(geom)[0]
    start = next(n for n, d in G.nodes(data=True) if d["x"] == round(x0, 6) and d["y"] == round(y0, 6))
    from shapely.ops import substring

    ids = [start, next_id, next_id + 1, start]
    for k, s in ((1, total / 3), (2, 2 * total / 3)):
        p = geom.interpolate(s)
        G.add_node(ids[k], x=float(p.x), y=float(p.y))
    for k in range(3):
        piece = substring(geom, k * total / 3, (k + 1) * total / 3)
        a = dict(attrs)
        a.update(geometry=piece, length_m=total / 3, cost=attrs["cost"] / 3)
        G.add_edge(ids[k], ids[k + 1], **a)
    return next_id + 2


def _join_dangling(G: nx.Graph, tol: float, next_id: int, eps: float) -> tuple[nx.Graph, int]:
    """Join dangling ends within ``tol`` of another edge to it (split at the projection)."""
    if tol <= 0 or G.number_of_edges() == 0:
        return G, 0
    ends = [n for n in G.nodes if G.degree(n) == 1]
    if not ends:
        return G, 0
    edges = list(G.edges)
    tree = shapely.STRtree([G.edges[e]["geometry"] for e in edges])
    pts = shapely.points([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in ends])
    pi, ei = tree.query(pts, predicate="dwithin", distance=tol)
    best: dict[int, tuple[float, int]] = {}
    dist = shapely.distance(pts[pi], np.asarray([G.edges[edges[k]]["geometry"] for k in ei], dtype=object))
    for p, k, dd in zip(pi.tolist(), ei.tolist(), dist.tolist(), strict=True):
        if ends[p] in edges[k]:
            continue
        if p not in best or dd < best[p][0]:
            best[p] = (dd, k)
    if not best:
        return G, 0
    requests = []
    for p, (_dd, k) in sorted(best.items()):
        a, b = edges[k]
        requests.append((a, b, float(pts[p].x), float(pts[p].y), ends[p]))
    H = G.copy()
    src = {req[4]: dict(next(iter(G.edges(req[4], data=True)))[2]) for req in requests}
    _res, next_id = split_and_connect(H, requests, next_id, merge_eps_m=eps)
    for node, attrs in src.items():
        for y in H.neighbors(node):
            d = H.edges[node, y]
            if d.get("kind") == "spur":  # the join continues the dangling road
                rate = float(attrs.get("trench_cost_per_m", 0.0))
                d.update({c: attrs.get(c) for c in _ROAD_COLUMNS}, kind="join", trench_cost_per_m=rate)
                d["cost"] = rate * float(d["length_m"])
    done = len(requests)
    return H, done


def _cache_arrays(G: nx.Graph) -> None:
    """Build the array form now, so the first routing call does not pay for it."""
    graph_arrays(G, "cost")


def attach_points(
    G: nx.Graph,
    points: gpd.GeoDataFrame,
    *,
    id_column: str,
    max_distance_m: float = 250.0,
    settings: RoutingSettings | None = None,
) -> tuple[nx.Graph, dict[Hashable, Hashable]]:
    """Attach points (poles, sites) to the nearest edge of the road graph.

    The nearest edge (shapely STRtree) is split at the point's projection and the point is
    joined to the split node by a spur edge of its real length, priced at the split edge's
    trench rate (``kind="spur"``).  A point lying on the edge (within 1 mm) becomes the split
    node itself; a projection within 1 mm of an end uses that node.

    Parameters
    ----------
    G
        Road graph from :func:`graph_from_roads` (not modified).
    points
        Point layer in any CRS (reprojected to ``G.graph["crs"]``).
    id_column
        Column with a unique id per point.
    max_distance_m
        Points farther than this from every edge raise an error (see below).
    settings
        Routing settings (``merge_eps_m``; default :data:`gisplan.routing.settings.DEFAULT_SETTINGS`).

    Returns
    -------
    (new graph, {point id: node id})

    Raises
    ------
    LayerError
        On a missing id column, duplicate ids or non-point geometries.
    RoutingError
        Naming the points farther than ``max_distance_m`` from every edge (``.unreachable``);
        drop them, raise ``max_distance_m`` or complete the roads layer.
    """
    if id_column not in points.columns:
        raise LayerError("cannot attach points", [Problem(f"missing id column {id_column!r}", column=id_column)])
    ids = points[id_column].tolist()
    dup = sorted({str(x) for x in ids if ids.count(x) > 1}) if len(set(ids)) != len(ids) else []
    if dup:
        raise LayerError("cannot attach points", [Problem("duplicate ids", column=id_column, value=dup[:20])])
    crs = G.graph.get("crs")
    pts = _metric(points, CRS.from_user_input(crs) if crs else None, "points")
    geoms = np.asarray(pts.geometry.values, dtype=object)
    bad = [ids[k] for k, g in enumerate(geoms) if g is None or g.is_empty or g.geom_type != "Point"]
    if bad:
        raise LayerError("cannot attach points", [Problem("not a point geometry", value=bad[:20])])
    H = G.copy()
    if len(ids) == 0:
        return H, {}
    edges = list(G.edges)
    egeoms = np.array([_edge_geom(G, a, b) for a, b in edges], dtype=object)
    tree = shapely.STRtree(egeoms)
    (pi, ei), _d = tree.query_nearest(geoms, max_distance=max_distance_m, return_distance=True, all_matches=False)
    found = np.zeros(len(ids), dtype=bool)
    found[pi] = True
    if not found.all():
        far = [ids[k] for k in np.flatnonzero(~found).tolist()]
        raise RoutingError(
            f"{len(far)} point(s) lie farther than {max_distance_m} m from every road: {far[:20]!r}; "
            "drop them, raise max_distance_m or complete the roads layer",
            unreachable=far,
        )
    _uniq, first = np.unique(pi, return_index=True)
    pi, ei = pi[first], ei[first]
    xy = shapely.get_coordinates(geoms)
    requests: list[tuple[Hashable, Hashable, float, float, Hashable | None]] = [
        (edges[e][0], edges[e][1], float(xy[p, 0]), float(xy[p, 1]), None) for p, e in zip(pi, ei, strict=True)
    ]
    next_id = max((n for n in H.nodes if isinstance(n, int | np.integer)), default=-1) + 1
    eps = (settings or DEFAULT_SETTINGS).merge_eps_m
    res, _next = split_and_connect(H, requests, int(next_id), merge_eps_m=eps)
    return H, {ids[int(p)]: res[k] for k, p in enumerate(pi.tolist())}


def _edge_geom(G: nx.Graph, a: Hashable, b: Hashable) -> shapely.Geometry:
    g = G.edges[a, b].get("geometry")
    if g is None:
        g = shapely.linestrings([[G.nodes[a]["x"], G.nodes[a]["y"]], [G.nodes[b]["x"], G.nodes[b]["y"]]])
    return g


class Crossing(NamedTuple):
    """One road crossing of a trench: at ``node``, across road ``road_id`` of ``road_class``."""

    node: Hashable
    road_id: Any
    road_class: Any


def count_crossings(G: nx.Graph, tree: nx.Graph) -> list[Crossing]:
    """Road crossings a trench tree needs, by this rule.

    At every node where the trench passes through or branches (tree degree >= 2), each road
    that meets the node in ``G`` but that the trench does not follow there (none of that road's
    edges at the node is a tree edge) is crossed once.  So a trench running along a street past
    a side street crosses the side street once (which side the trench is on is not known, so the
    count is conservative), a trench turning from one street into another at a crossroads crosses
    nothing, and trench ends (tree degree 1) cross nothing.  Spur edges (``kind="spur"``) and
    edges without a ``road_id`` are not roads.  Duct edges count as the road they run along.

    Returns
    -------
    list of Crossing, sorted by node then road id (as strings).
    """
    out: list[Crossing] = []
    for x in tree.nodes:
        if tree.degree(x) < 2 or x not in G:
            continue
        used = {tree.edges[x, y].get("road_id") for y in tree.neighbors(x)}
        seen: dict[Any, Any] = {}
        for y in G.neighbors(x):
            d = G.edges[x, y]
            rid = d.get("road_id")
            if rid is None or d.get("kind") == "spur" or rid in used or tree.has_edge(x, y):
                continue
            seen.setdefault(rid, d.get("road_class"))
        out.extend(Crossing(x, rid, cls) for rid, cls in seen.items())
    return sorted(out, key=lambda c: (str(c.node), str(c.road_id)))


def crossings_cost(G: nx.Graph, tree: nx.Graph, *, catalog: Any = None) -> int:
    """Cost in VND of the crossings of :func:`count_crossings`, priced by ``catalog.crossing_cost``."""
    if catalog is None:
        catalog = load_catalog()
    return int(sum(int(catalog.crossing_cost(str(c.road_class))) for c in count_crossings(G, tree)))


@dataclass(frozen=True)
class ComponentsReport:
    """Connected components of a road graph.

    Attributes
    ----------
    count
        Number of components.
    table
        One row per component (largest first): component, n_nodes, n_edges, length_m, small.
    component_of
        Node -> component number (0 is the largest).
    """

    count: int
    table: pd.DataFrame
    component_of: dict[Hashable, int]

    @property
    def small(self) -> list[int]:
        """Component numbers flagged small."""
        return self.table.loc[self.table["small"], "component"].tolist()


def components_report(G: nx.Graph, *, small_fraction: float = 0.01) -> ComponentsReport:
    """Report the disconnected components of ``G``.

    A component is ``small`` when its total edge length is below ``small_fraction`` of the
    largest component's (typically a road fragment the snap tolerance did not join).
    """
    comps = sorted(nx.connected_components(G), key=lambda c: (-len(c), min(str(n) for n in c)))
    rows = []
    component_of: dict[Hashable, int] = {}
    for k, nodes in enumerate(comps):
        sub = G.subgraph(nodes)
        length = float(sum(float(d.get("length_m", 0.0)) for _a, _b, d in sub.edges(data=True)))
        rows.append({"component": k, "n_nodes": len(nodes), "n_edges": sub.number_of_edges(), "length_m": length})
        component_of.update(dict.fromkeys(nodes, k))
    table = pd.DataFrame(rows, columns=["component", "n_nodes", "n_edges", "length_m"])
    if len(table):
        biggest = float(table["length_m"].max())
        table["small"] = (table["length_m"] < small_fraction * biggest) & (table["component"] != 0)
    else:
        table["small"] = pd.Series(dtype=bool)
    return ComponentsReport(count=len(comps), table=table, component_of=component_of)
