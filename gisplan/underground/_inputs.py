"""Inputs of the undergrounding planner (private; see :mod:`gisplan.underground.planner`).

Zones to metric polygons, the aerial cables a plan moves, the terminal points
they attach to, the candidate exchanges, and the commune lookup for BOQ rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gisplan._errors import PlanningError
from gisplan.io._validate import RepairWarning
from gisplan.io.crs import DISPLAY_CRS, METRIC_CRS, to_metric

ROOT_KINDS = ("exchange", "pop")


def zones_frame(zones: Any, crs: Any = METRIC_CRS) -> gpd.GeoDataFrame:
    """Zones as a GeoDataFrame (columns ``name``, ``geometry``) in the metric ``crs``.

    ``zones`` is a GeoDataFrame (its own CRS is used), one shapely (Multi)Polygon or a
    sequence of them; bare shapely geometries are taken to be in EPSG:4326 (lon/lat).
    """
    if isinstance(zones, gpd.GeoDataFrame):
        if zones.crs is None:
            raise PlanningError(
                "the zones GeoDataFrame has no CRS; set one (e.g. zones.set_crs('EPSG:4326')) "
                "/ Các vùng ngầm hóa chưa có hệ tọa độ"
            )
        gdf = to_metric(zones, crs)
        names = (
            [str(v) if pd.notna(v) and str(v) else f"zone {i + 1}" for i, v in enumerate(gdf["name"])]
            if "name" in gdf.columns
            else [f"zone {i + 1}" for i in range(len(gdf))]
        )
        out = gpd.GeoDataFrame({"name": names}, geometry=list(gdf.geometry), crs=gdf.crs)
    else:
        geoms = [zones] if isinstance(zones, BaseGeometry) else list(zones)
        for g in geoms:
            if not isinstance(g, BaseGeometry):
                raise PlanningError(
                    f"a zone must be a shapely polygon or a GeoDataFrame, got {type(g).__name__} "
                    "/ Vùng ngầm hóa phải là đa giác"
                )
        for i, g in enumerate(geoms):
            x0, y0, x1, y1 = g.bounds if not g.is_empty else (0.0, 0.0, 0.0, 0.0)
            if not (-180.0 <= x0 <= x1 <= 180.0 and -90.0 <= y0 <= y1 <= 90.0):
                raise PlanningError(
                    f"zone {i + 1} has coordinates that are not longitude/latitude (x {x0:.1f}..{x1:.1f}, "
                    f"y {y0:.1f}..{y1:.1f}): shapely zones are read as EPSG:4326; pass a GeoDataFrame with its CRS "
                    "for projected coordinates / Tọa độ vùng chọn không phải kinh độ, vĩ độ"
                )
        out = gpd.GeoDataFrame(
            {"name": [f"zone {i + 1}" for i in range(len(geoms))]}, geometry=geoms, crs=DISPLAY_CRS
        ).to_crs(crs)
    if out.empty:
        raise PlanningError("no zone given: draw at least one polygon / Chưa chọn vùng nào")
    out = _repair_zones(out)
    bad = [n for n, g in zip(out["name"], out.geometry, strict=True) if g is None or g.is_empty or g.area <= 0]
    if bad:
        raise PlanningError(f"zone(s) {', '.join(bad)} have no area; draw polygons / Vùng chọn không có diện tích")
    return out.reset_index(drop=True)


def _polygonal(g: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of ``shapely.make_valid(g)`` (a self-intersecting ring becomes its lobes)."""
    if g is None or g.is_empty:
        return g
    fixed = shapely.make_valid(g)
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _repair_zones(zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Zones with invalid polygons (e.g. a drawn outline crossing itself) repaired, with a RepairWarning."""
    bad = [i for i, g in enumerate(zones.geometry) if g is not None and not g.is_empty and not g.is_valid]
    if not bad:
        return zones

    geoms = list(zones.geometry)
    for i in bad:
        geoms[i] = _polygonal(geoms[i])
    names = ", ".join(repr(zones["name"].iloc[i]) for i in bad)
    warnings.warn(
        f"zone(s) {names}: invalid polygon (its outline crosses itself) repaired into valid parts / "
        "Đã sửa vùng chọn có đường biên tự cắt",
        RepairWarning,
        stacklevel=5,
    )
    return zones.set_geometry(geoms, crs=zones.crs)


def check_zones_in_data(zones: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Raise PlanningError for a zone that overlaps neither the roads nor the cables."""
    parts = [layers[k].total_bounds for k in ("roads", "cables") if k in layers and not layers[k].empty]
    if not parts:
        raise PlanningError(
            "the layers hold no roads and no cables; undergrounding needs both / Dữ liệu không có lớp đường và lớp "
            "cáp; ngầm hóa cần cả hai"
        )
    boxes = [shapely.box(*b) for b in parts]
    for name, g in zip(zones["name"], zones.geometry, strict=True):
        if not any(g.intersects(b) for b in boxes):
            lon, lat = gpd.GeoSeries([g.centroid], crs=zones.crs).to_crs(DISPLAY_CRS).iloc[0].coords[0]
            raise PlanningError(
                f"zone {name!r} (centre {lon:.4f}, {lat:.4f}) lies outside the data (no roads or cables there); "
                "draw it over the layers' extent / Vùng chọn nằm ngoài dữ liệu"
            )


def select_cables(cables: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, owners: Sequence[str]) -> gpd.GeoDataFrame:
    """Aerial cables (of ``owners`` when given) whose midpoint lies in a zone; column ``zone`` added."""
    aerial = cables[cables["placement"] == "aerial"]
    if owners:
        aerial = aerial[aerial["owner"].isin(list(owners))]
    mids = shapely.line_interpolate_point(aerial.geometry.values, 0.5, normalized=True)
    zone_of = pd.Series([""] * len(aerial), index=aerial.index, dtype="object")
    for name, g in zip(zones["name"], zones.geometry, strict=True):
        inside = shapely.contains(g, mids) & (zone_of == "").to_numpy()
        zone_of[inside] = name
    sel = aerial[zone_of != ""].assign(zone=zone_of[zone_of != ""])
    for name in zones["name"]:
        if not (sel["zone"] == name).any():
            who = f" of owner(s) {', '.join(owners)}" if owners else ""
            raise PlanningError(
                f"zone {name!r} holds no aerial cable{who}: nothing to move underground; "
                "check the cables layer (placement = aerial) or the zone / Không có cáp treo trong vùng chọn"
            )
    return sel.sort_values("cable_id", kind="mergesort")


def terminal_points(sel: gpd.GeoDataFrame, poles: gpd.GeoDataFrame | None) -> tuple[gpd.GeoDataFrame, dict]:
    """Points to attach: the poles the cables hang from, or a cable's own end where it names no known pole.

    Returns the points (column ``tid``: ``pole:<id>`` or ``end:<cable_id>:a|b``) and, per cable,
    the two terminal ids of its ends.
    """
    pole_xy: dict[str, BaseGeometry] = {}
    if poles is not None and not poles.empty:
        pole_xy = dict(zip(poles["pole_id"].astype(str), poles.geometry, strict=True))
    ends: dict[str, tuple[str, str]] = {}
    pts: dict[str, BaseGeometry] = {}
    for cid, fp, tp, geom in zip(sel["cable_id"], sel["from_pole"], sel["to_pole"], sel.geometry, strict=True):
        coords = list(geom.coords) if geom.geom_type == "LineString" else list(geom.geoms[0].coords)
        pair = []
        for side, pid, xy in (("a", fp, coords[0]), ("b", tp, coords[-1])):
            if isinstance(pid, str) and pid in pole_xy:
                tid = f"pole:{pid}"
                pts[tid] = pole_xy[pid]
            else:
                tid = f"end:{cid}:{side}"
                pts[tid] = Point(xy)
            pair.append(tid)
        ends[str(cid)] = (pair[0], pair[1])
    ids = sorted(pts)
    frame = gpd.GeoDataFrame({"tid": ids}, geometry=[pts[i] for i in ids], crs=sel.crs)
    return frame, ends


def root_candidates(sites: gpd.GeoDataFrame | None, exchange_ids: Sequence[str]) -> gpd.GeoDataFrame:
    """The sites that may serve as root: ``exchange_ids`` if given, else exchanges/POPs with fibre."""
    if sites is None or sites.empty:
        raise PlanningError(
            "no sites layer: the plan needs the serving exchange or POP (a site of kind exchange/pop) / "
            "Thiếu lớp trạm (tổng đài)"
        )
    if exchange_ids:
        ids = [str(s) for s in exchange_ids]
        missing = [s for s in ids if s not in set(sites["site_id"].astype(str))]
        if missing:
            raise PlanningError(
                f"exchange_ids {missing} are not in the sites layer; valid exchange/POP ids: "
                f"{sorted(sites.loc[sites['kind'].isin(ROOT_KINDS), 'site_id'].astype(str))[:20]} "
                f"/ Mã tổng đài {missing} không có trong lớp vị trí"
            )
        cand = sites[sites["site_id"].astype(str).isin(ids)]
    else:
        cand = sites[sites["kind"].isin(ROOT_KINDS) & sites["has_fibre"].astype(bool)]
        if cand.empty:
            raise PlanningError(
                "no exchange or POP with fibre in the sites layer; give exchange_ids / Không có tổng đài có cáp quang"
            )
    if "owner" in cand.columns:
        bad = [
            (sid, o)
            for sid, o in zip(cand["site_id"].astype(str), cand["owner"], strict=True)
            if o is not None and not (isinstance(o, float) and o != o) and not isinstance(o, str)
        ]
        if bad:
            sid, o = bad[0]
            raise PlanningError(
                f"layer sites, row {sid}, column owner: {o!r} ({type(o).__name__}) is not an operator name; write the "
                "operator as text (e.g. VNPT) or leave it empty, or read the layer with gisplan.io.layers.read_layers "
                f"({len(bad)} such row(s)) / Lớp sites, dòng {sid}, cột owner: tên nhà mạng phải là chữ"
            )
    return cand.sort_values("site_id", kind="mergesort")


def operator_key(owner: object) -> str:
    """The key an operator is matched by between the cables and the sites: its name stripped and case-folded
    (``""`` for none)."""
    return owner.strip().casefold() if isinstance(owner, str) else ""


def site_owners(cands: gpd.GeoDataFrame) -> dict[str, str]:
    """Site id -> operator key of its owner (:func:`operator_key`; ``""`` where the layer has no ``owner``)."""
    if "owner" not in cands.columns:
        return {str(s): "" for s in cands["site_id"]}
    return {str(s): operator_key(o) for s, o in zip(cands["site_id"], cands["owner"], strict=True)}


def cable_operators(sel: gpd.GeoDataFrame) -> dict[str, str]:
    """Cable id -> its operator's name as the cables layer writes it (stripped; ``"?"`` where it names none)."""
    return {
        str(c): (o.strip() if isinstance(o, str) and o.strip() else "?")
        for c, o in zip(sel["cable_id"], sel["owner"], strict=True)
    }


class CommuneLookup:
    """Commune and district names of points from a boundaries layer (empty strings without one)."""

    def __init__(self, boundaries: gpd.GeoDataFrame | None) -> None:
        self._geoms: list[BaseGeometry] = []
        self._names: list[tuple[str, str]] = []
        if boundaries is None or boundaries.empty:
            self._tree = None
            return
        b = boundaries
        label = {
            str(c): (str(n) if isinstance(n, str) and n else str(c))
            for c, n in zip(b["unit_code"], b["name"], strict=True)
        }
        com = b[b["level"] == "commune"].sort_values("unit_code", kind="mergesort")
        for code, parent, g in zip(com["unit_code"], com["parent_code"], com.geometry, strict=True):
            district = label.get(str(parent), "") if isinstance(parent, str) and parent else ""
            self._geoms.append(g)
            self._names.append((district, label[str(code)]))
        self._tree = shapely.STRtree(self._geoms) if self._geoms else None

    def of(self, pts: Iterable[BaseGeometry]) -> list[tuple[str, str]]:
        """(district, commune) of each point; ("", "") outside every commune."""
        pts = list(pts)
        out = [("", "")] * len(pts)
        if self._tree is None or not pts:
            return out
        ip, ig = self._tree.query(pts, predicate="intersects")
        best: dict[int, int] = {}
        for i, g in zip(ip.tolist(), ig.tolist(), strict=True):
            best[i] = min(best.get(i, g), g)
        for i, g in best.items():
            out[i] = self._names[g]
        return out


def sorted_nodes(nodes: Iterable[Hashable]) -> list[Hashable]:
    """Nodes in a deterministic order."""
    return sorted(nodes, key=lambda n: (str(type(n)), repr(n)))
