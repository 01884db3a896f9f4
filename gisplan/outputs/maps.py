"""Offline folium maps of a project's layers and of a plan.

The builders return :class:`folium.Map` objects that need no Internet: no tile
layer by default (land, boundaries and roads from the layers make the base),
third-party JavaScript/CSS served by the app or embedded in the page
(:func:`make_offline`), and a default marker icon drawn inline.  Every layer is
an overlay with a toggle (LayerControl), a row in the bilingual legend and a
popup with its attribute columns.  Small layers are embedded in the map; large
ones (more than ``static_threshold`` features) are written once as static
GeoJSON files (EPSG:4326, coordinates rounded to 5 decimals) that the browser
fetches and draws on a canvas.

Like folium itself, the ``add_*`` functions add to the map they are given and
return it; the GeoDataFrames passed in are never modified.  This module never
imports streamlit.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> poles = gpd.GeoDataFrame({"pole_id": ["P1"]}, geometry=[Point(104.0, 10.2)], crs="EPSG:4326")
>>> m = layers_map({"poles": poles})
>>> "Cột / Poles (1)" in standalone_html(m)
True
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gisplan._atomic import atomic_write_text
from gisplan._errors import CRSError, GisplanError
from gisplan.i18n import STRINGS, VALUE_LABELS, both, column_label, t, value_label
from gisplan.io.crs import DISPLAY_CRS
from gisplan.outputs._assets import DROPPED_ASSETS, asset_local_name, asset_text
from gisplan.outputs._map_elements import (
    DrawnItems,
    DrawTexts,
    InlineAssets,
    Legend,
    MapHelpers,
    VectorLayer,
    ViewKeeper,
    is_jscss,
)
from gisplan.outputs._map_styles import (
    BASE_KINDS,
    LAYER_ORDER,
    PLAN_ORDER,
    geom_family,
    layer_style,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from gisplan.plan import Plan

__all__ = [
    "STATIC_THRESHOLD",
    "add_draw_control",
    "add_layer",
    "base_map",
    "keep_view",
    "layers_map",
    "make_offline",
    "plan_map",
    "standalone_html",
    "write_map_html",
    "write_static_layer",
]

#: Layers with more features than this go to static GeoJSON files when a static folder is given.
STATIC_THRESHOLD = 2000
#: Decimals kept in static GeoJSON coordinates (about 1 m).
COORD_DECIMALS = 5
MAX_ZOOM = 19
_SEA = "#aad3df"
_PAPER = "#f2efe9"


# --------------------------------------------------------------------------- base map


def base_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tiles: str = "offline",
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
    static_dir: str | os.PathLike[str] | None = None,
    static_url: str = "/app/static",
    static_threshold: int = STATIC_THRESHOLD,
    fit: Iterable[gpd.GeoDataFrame | None] | None = None,
) -> folium.Map:
    """Return a map whose background is drawn from the layers ``land``, ``boundaries`` and ``roads``.

    Parameters
    ----------
    layers
        Layers by kind, in any CRS; only the base kinds are drawn here, all are
        used for the initial extent.
    tiles
        ``"offline"`` (default): no tile layer, the sea is a flat blue when a
        ``land`` layer is given.  ``"osm"``: OpenStreetMap tiles under the
        layers (needs Internet).
    center, zoom
        Initial view as (lat, lon) and zoom; default fits the layers.
    static_dir, static_url, static_threshold
        See :func:`add_layer`.
    fit
        Frames whose extent the map opens on (e.g. a plan's result layers, the features of a comparison);
        default: every layer of ``layers``.  Empty frames are ignored.
    """
    if tiles not in ("offline", "osm"):
        raise GisplanError(
            f"unknown tiles {tiles!r}; use 'offline' (no Internet needed) or 'osm' "
            f"/ nền bản đồ {tiles!r} không xác định; hãy dùng 'offline' (không cần Internet) hoặc 'osm'"
        )
    frames = [g for g in fit if g is not None and len(g)] if fit is not None else []
    bounds = _layers_bounds(frames) if frames else _main_area_bounds(layers) or _layers_bounds(layers.values())
    if center is None:
        center = ((bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2) if bounds else (10.2, 104.0)
    if zoom is None:
        zoom = _zoom_for(bounds) if bounds else 9
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        max_zoom=MAX_ZOOM,
        min_zoom=3,
        control_scale=True,
        prefer_canvas=True,
    )
    has_land = "land" in layers and len(layers["land"]) > 0
    m.add_child(MapHelpers(background=_SEA if has_land and tiles == "offline" else _PAPER), name="gisplan_helpers")
    if tiles == "osm":
        folium.TileLayer("OpenStreetMap", name=both("map.osm"), max_zoom=MAX_ZOOM, overlay=False, control=True).add_to(
            m
        )
    for kind in BASE_KINDS:
        if kind in layers:
            add_layer(
                m,
                layers[kind],
                kind=kind,
                static_dir=static_dir,
                static_url=static_url,
                static_threshold=static_threshold,
            )
    if bounds and center is not None and zoom is not None:
        # at once: an animated fit starts a frame later, and when the browser paints late (a map iframe still
        # 0 px high) it ends after keep_view has put the user's view back, and takes it away
        opening = folium.map.FitBounds(bounds)
        opening.options["animate"] = False
        m.add_child(opening)
    return m


def _layers_bounds(frames: Any) -> list[list[float]] | None:
    boxes = []
    for gdf in frames:
        if gdf is None or len(gdf) == 0 or gdf.crs is None:
            continue
        minx, miny, maxx, maxy = gdf.total_bounds
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            continue
        if not gdf.crs.equals(DISPLAY_CRS):  # transform the box, not every vertex (fast on 100k features)
            to_ll = Transformer.from_crs(gdf.crs, DISPLAY_CRS, always_xy=True)
            minx, miny, maxx, maxy = to_ll.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
        if all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            boxes.append((minx, miny, maxx, maxy))
    if not boxes:
        return None
    arr = np.array(boxes)
    return [[float(arr[:, 1].min()), float(arr[:, 0].min())], [float(arr[:, 3].max()), float(arr[:, 2].max())]]


#: Share of features left out on each side when the first view fits a project's main area (outlying islands,
#: the far end of a border road): the view holds the middle 90 % of the features in each direction.
MAIN_AREA_TAIL = 0.05


def _main_area_bounds(layers: Mapping[str, gpd.GeoDataFrame]) -> list[list[float]] | None:
    """Bounds ``[[south, west], [north, east]]`` of where most of a project's features are.

    The centres of the features' boxes of every layer but the base (land, boundaries: they cover the whole
    province, sea included) are reprojected to lon/lat, and the box of the middle ``1 - 2 * MAIN_AREA_TAIL``
    of them in longitude and in latitude is returned.  None when no layer has a feature.
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for kind, gdf in layers.items():
        if kind in ("land", "boundaries") or gdf is None or len(gdf) == 0 or gdf.crs is None:
            continue
        boxes = shapely.bounds(gdf.geometry.values)
        ok = np.isfinite(boxes).all(axis=1)
        if not ok.any():
            continue
        cx, cy = (boxes[ok, 0] + boxes[ok, 2]) / 2, (boxes[ok, 1] + boxes[ok, 3]) / 2
        if not gdf.crs.equals(DISPLAY_CRS):
            cx, cy = Transformer.from_crs(gdf.crs, DISPLAY_CRS, always_xy=True).transform(cx, cy)
        xs.append(np.asarray(cx, dtype=float))
        ys.append(np.asarray(cy, dtype=float))
    if not xs:
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = np.isfinite(x) & np.isfinite(y)
    if not keep.any():
        return None
    lo, hi = MAIN_AREA_TAIL, 1 - MAIN_AREA_TAIL
    west, east = np.quantile(x[keep], [lo, hi])
    south, north = np.quantile(y[keep], [lo, hi])
    pad = 0.002  # about 200 m: a single feature still gets a street-level view
    return [[float(south) - pad, float(west) - pad], [float(north) + pad, float(east) + pad]]


def _zoom_for(bounds: list[list[float]]) -> int:
    span = max(bounds[1][0] - bounds[0][0], bounds[1][1] - bounds[0][1], 1e-4)
    return int(max(3, min(MAX_ZOOM - 2, math.floor(math.log2(360.0 / span)))))


# --------------------------------------------------------------------------- layers


def add_layer(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    kind: str,
    name: str | None = None,
    style: Mapping[str, Any] | None = None,
    color_by: str | None = None,
    popup_columns: Sequence[str] | None = None,
    static_dir: str | os.PathLike[str] | None = None,
    static_url: str = "/app/static",
    static_threshold: int = STATIC_THRESHOLD,
    show: bool = True,
) -> folium.Map:
    """Add ``gdf`` to ``m`` as a toggleable overlay with a legend row and attribute popups.

    Parameters
    ----------
    m
        The map (from :func:`base_map` or any folium map).
    gdf
        The features, in any CRS (EPSG:32648 in gisplan); reprojected to
        EPSG:4326 for display.  Not modified.
    kind
        The layer kind (``roads``, ``poles``, ..., or a plan layer such as
        ``trenches``): chooses the default style, the labels and the popup columns.
        An unknown kind gets a plain style by geometry type.
    name
        Label in the layer control and legend; default the Vietnamese / English
        label of ``kind``.  The feature count is appended.
    style
        Leaflet path options overriding the kind's style (``color``, ``weight``,
        ``fillColor``, ``fillOpacity``, ``radius``, ``dashArray``).
    color_by
        A column whose values get their own colours (e.g. ``phase``); default per kind.
    popup_columns
        Columns shown in the popup; default the kind's columns present in ``gdf``.
    static_dir, static_url
        When ``static_dir`` is given and the layer has more than
        ``static_threshold`` features, it is written once to
        ``static_dir/layers/<kind>-<hash>.geojson`` and fetched by the browser
        from ``static_url + "/layers/..."``.  Otherwise it is embedded.
    show
        Whether the layer is on when the map opens.

    Raises
    ------
    CRSError
        When ``gdf`` has no CRS.
    GisplanError
        When a ``popup_columns`` or ``color_by`` column is missing.
    """
    if gdf.crs is None:
        raise CRSError(
            f"layer {kind!r} has no CRS; set one (e.g. gdf.set_crs('EPSG:32648')) before mapping it "
            f"/ lớp {kind!r} không có hệ tọa độ; hãy gán hệ tọa độ (ví dụ gdf.set_crs('EPSG:32648')) trước khi vẽ "
            "bản đồ"
        )
    frame = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    family = geom_family(frame.geometry) if len(frame) else geom_family(gdf.geometry)
    spec_style, by, values, default_popup = layer_style(kind, family, frame, color_by=color_by)
    if style:
        spec_style = {**spec_style, **dict(style)}
    cols = list(default_popup if popup_columns is None else popup_columns)
    missing = [c for c in [*cols, *([by] if by else [])] if c not in frame.columns]
    if popup_columns is not None and missing:
        raise GisplanError(
            f"layer {kind!r} has no column(s) {missing}; present: {list(frame.columns)} "
            f"/ lớp {kind!r} thiếu cột {missing}; các cột hiện có: {list(frame.columns)}"
        )
    cols = [c for c in cols if c in frame.columns]
    if by is not None and by not in frame.columns:
        by, values = None, {}
    label = name if name is not None else both(f"layer.{kind}")
    n = len(frame)
    title = f"{label} ({n})"
    keep = list(dict.fromkeys([*cols, *([by] if by else [])]))
    spec: dict[str, Any] = {
        "kind": kind,
        "title": label,
        "style": spec_style,
        "by": by,
        "values": values,
        "popup": cols,
        "popup_labels": [_both_column(c) for c in cols],
        "value_labels": _value_labels(frame, cols),
        "interactive": kind != "land",
        "url": None,
        "count": n,
    }
    bounds = _layers_bounds([frame]) if n else None
    data: str | None
    if static_dir is not None and n > static_threshold:
        rel = write_static_layer(frame, static_dir, kind=kind, columns=keep)
        spec["url"] = f"{static_url.rstrip('/')}/{rel}"
        data = None
    else:
        data = _feature_collection(frame, keep, decimals=7)
    _ensure_helpers(m)
    layer = VectorLayer(name=title, spec=spec, data=data, bounds=bounds, count=n, show=show)
    m.add_child(layer)
    legend = _legend(m)
    legend.add(title, family, spec_style)
    for value, override in values.items():
        legend.add(value_label(by, value, None) if by else str(value), family, {**spec_style, **override}, indent=1)
    _move_controls_last(m)
    return m


def _both_column(column: str) -> str:
    """``"Vietnamese / English"`` label of a popup column (the name itself when it has no label)."""
    vi, en = column_label(column, "vi"), column_label(column, "en")
    return vi if vi == en else f"{vi} / {en}"


_CODED_COLUMNS = frozenset(col for col, _ in VALUE_LABELS)


def _value_labels(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """Popup text of the coded values present in ``columns`` (``national`` -> ``Quốc lộ / National road``)."""
    out: dict[str, dict[str, str]] = {}
    for col in columns:
        if col not in _CODED_COLUMNS:
            continue
        labels = {str(v): value_label(col, v, None) for v in frame[col].dropna().unique()}
        labels = {k: v for k, v in labels.items() if v != k}
        if labels:
            out[col] = labels
    return out


def write_static_layer(
    gdf: gpd.GeoDataFrame,
    static_dir: str | os.PathLike[str],
    *,
    kind: str,
    columns: Sequence[str] = (),
) -> str:
    """Write ``gdf`` once as ``static_dir/layers/<kind>-<hash>.geojson``; return that path relative to ``static_dir``.

    The file holds the geometries in EPSG:4326 with coordinates rounded to
    :data:`COORD_DECIMALS` decimals and the ``columns`` as properties.  The
    hash is taken from the input (geometries, CRS and columns), so the same
    layer maps to the same file and is serialised only the first time.
    """
    if gdf.crs is None:
        raise CRSError(
            f"layer {kind!r} has no CRS; set one before writing it for the map "
            f"/ lớp {kind!r} không có hệ tọa độ; hãy gán hệ tọa độ trước khi ghi lớp cho bản đồ"
        )
    cols = list(columns)
    digest = hashlib.sha256()
    digest.update(kind.encode())
    digest.update(gdf.crs.to_wkt().encode())
    digest.update(b"".join(shapely.to_wkb(gdf.geometry.values, hex=False)))
    digest.update(json.dumps(cols).encode())
    if cols:
        digest.update(pd.util.hash_pandas_object(gdf[cols].astype(str), index=False).values.tobytes())
    rel = f"layers/{_safe(kind)}-{digest.hexdigest()[:20]}.geojson"
    target = Path(static_dir) / rel
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, _feature_collection(gdf, cols, decimals=COORD_DECIMALS))
    return rel


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "layer"


def _feature_collection(gdf: gpd.GeoDataFrame, columns: Sequence[str], *, decimals: int) -> str:
    """Return a GeoJSON FeatureCollection (EPSG:4326, rounded coordinates) as text."""
    frame = gdf if gdf.crs is not None and gdf.crs.equals(DISPLAY_CRS) else gdf.to_crs(DISPLAY_CRS)
    geoms = frame.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = shapely.transform(geoms[keep], lambda c: np.round(c, decimals))
    geo_texts = shapely.to_geojson(geoms)
    props = _json_records(frame.loc[keep, list(columns)]) if columns else ["{}"] * len(geo_texts)
    feats = [f'{{"type":"Feature","geometry":{g},"properties":{p}}}' for g, p in zip(geo_texts, props, strict=True)]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def _json_records(df: pd.DataFrame) -> list[str]:
    """Each row as a JSON object: numbers stay numbers, missing values become null, the rest text."""
    clean: dict[str, list[Any]] = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            clean[col] = [None if pd.isna(v) else bool(v) for v in s]
        elif pd.api.types.is_numeric_dtype(s):
            clean[col] = [None if pd.isna(v) or not math.isfinite(float(v)) else _num(v) for v in s]
        else:
            clean[col] = [None if _is_na(v) else str(v) for v in s]
    cols = list(clean)
    return [
        json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
        for row in zip(*clean.values(), strict=True)
    ]


def _num(v: Any) -> int | float:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def _is_na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _ensure_helpers(m: folium.Map) -> None:
    if not any(isinstance(c, MapHelpers) for c in m._children.values()):
        items = list(m._children.items())
        m._children.clear()
        m.add_child(MapHelpers(), name="gisplan_helpers")
        m._children.update(items)


def _legend(m: folium.Map) -> Legend:
    for child in m._children.values():
        if isinstance(child, Legend):
            return child
    legend = Legend(both("map.legend"))
    m.add_child(legend, name="gisplan_legend")
    return legend


def _move_controls_last(m: folium.Map) -> None:
    """Keep the legend and the layer control after every layer (their scripts refer to the layers).

    The layer control is collapsed to its button (it opens on hover or tap): open, a
    dozen layers cover the top of a 560-pixel map and the legend under it.
    """
    if not any(isinstance(c, folium.LayerControl) for c in m._children.values()):
        m.add_child(folium.LayerControl(collapsed=True, position="topright"), name="gisplan_layer_control")
    for key in [k for k, c in m._children.items() if isinstance(c, Legend | folium.LayerControl)]:
        m._children.move_to_end(key)


# --------------------------------------------------------------------------- whole maps


def layers_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tiles: str = "offline",
    kinds: Sequence[str] | None = None,
    static_dir: str | os.PathLike[str] | None = None,
    static_url: str = "/app/static",
    static_threshold: int = STATIC_THRESHOLD,
    draw: bool = False,
    drawings: Sequence[Mapping[str, Any]] = (),
) -> folium.Map:
    """Return a map of every layer of a project, each styled for its kind.

    Parameters
    ----------
    layers
        Layers by kind (``roads``, ``poles``, ``cables``, ``ducts``, ``coverage``,
        ``settlements``, ``sites``, ``boundaries``, ``constraints``, ``land``;
        other names get a plain style).
    kinds
        Which layers to show (default all); the others are left out.
    draw, drawings
        Add the drawing toolbar; ``drawings`` (GeoJSON features from earlier
        sessions) are drawn back as a layer.
    tiles, static_dir, static_url, static_threshold
        See :func:`base_map` and :func:`add_layer`.
    """
    chosen = {k: v for k, v in layers.items() if kinds is None or k in kinds}
    opts: dict[str, Any] = {"static_dir": static_dir, "static_url": static_url, "static_threshold": static_threshold}
    m = base_map(chosen, tiles=tiles, **opts)
    order = [k for k in LAYER_ORDER if k in chosen and k not in BASE_KINDS]
    order += sorted(k for k in chosen if k not in LAYER_ORDER and k not in BASE_KINDS)
    for kind in order:
        add_layer(m, chosen[kind], kind=kind, **opts)
    if draw:
        add_draw_control(m, drawings=drawings)
    return m


#: Plan layers switched off when the map opens (dense or tabular: the user turns them on).
_PLAN_HIDDEN = frozenset({"cables_rerouted", "backhaul_options", "drops"})


def plan_map(
    plan: Plan,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    tiles: str = "offline",
    context: Sequence[str] = ("settlements", "sites", "cables"),
    static_dir: str | os.PathLike[str] | None = None,
    static_url: str = "/app/static",
    static_threshold: int = STATIC_THRESHOLD,
    draw: bool = False,
    drawings: Sequence[Mapping[str, Any]] = (),
) -> folium.Map:
    """Return a map of a plan's result layers over the project's base layers.

    Expected result layers and columns (others are drawn with a plain style):
    ``trenches`` (phase, length_m, surface, n_ducts) coloured by phase,
    ``chambers`` (type, reason), ``poles_removed`` (pole_id), ``sites`` (the chosen sites: site_id,
    name, kind, profile, reach_m, backhaul, cost_vnd), ``footprints``
    (site_id), ``backhaul_links`` (site_id, backhaul, length_m, cost_vnd)
    coloured by backhaul type, ``settlements_unserved`` (settlement_id, name,
    population) highlighted.

    Parameters
    ----------
    plan
        A :class:`gisplan.plan.Plan`.
    layers
        The project's layers (the base is drawn from them).
    context
        Input layers drawn under the plan, switched off at first.
    """
    opts: dict[str, Any] = {"static_dir": static_dir, "static_url": static_url, "static_threshold": static_threshold}
    m = base_map({**layers, **plan.layers}, tiles=tiles, fit=plan.layers.values(), **opts)
    for kind in context:
        if kind in layers and kind not in BASE_KINDS:
            add_layer(m, layers[kind], kind=kind, show=False, **opts)
    # the plan's chosen sites are not the project's sites layer: they have their own style and name on the map
    shown = {k: ("planned_sites" if k == "sites" else k) for k in plan.layers}
    rank = {k: i for i, k in enumerate(PLAN_ORDER)}
    order = sorted(plan.layers, key=lambda k: (rank.get(shown[k], len(rank)), shown[k]))
    for kind in order:
        gdf = plan.layers[kind]
        if gdf is None:
            continue
        add_layer(m, gdf, kind=shown[kind], show=kind not in _PLAN_HIDDEN, **opts)
    if draw:
        add_draw_control(m, drawings=drawings)
    return m


#: Style of the user's drawings (new and drawn back): orange, lightly filled.
DRAWING_STYLE: dict[str, Any] = {"color": "#e8590c", "weight": 3, "fillColor": "#e8590c", "fillOpacity": 0.08}


def add_draw_control(
    m: folium.Map, *, drawings: Sequence[Mapping[str, Any]] = (), epoch: int = 0, lang: str = "vi"
) -> folium.Map:
    """Add the leaflet.draw toolbar (polygon, rectangle, marker; no circle, no line) to ``m``, its texts and
    tooltips (and the zoom buttons') in ``lang``.

    ``drawings``, GeoJSON features the user drew before (kept by the app), are put back into the toolbar's own
    group, so its edit and delete tools work on them as on new ones.  ``epoch`` (see
    :class:`~gisplan.outputs._map_elements.DrawnItems`) makes a map with the same drawings a new map.
    """
    feats = [
        {"type": "Feature", "properties": {}, "geometry": dict(f["geometry"] if f.get("type") == "Feature" else f)}
        for f in drawings
        if (f.get("geometry") if f.get("type") == "Feature" else f)
    ]
    _ensure_helpers(m)
    texts = {key.removeprefix("draw."): t(key, lang) for key in STRINGS if key.startswith("draw.")}
    m.add_child(DrawTexts(texts, (t("map.zoom_in", lang), t("map.zoom_out", lang))), name="gisplan_draw_texts")
    group = DrawnItems(feats, style=DRAWING_STYLE, epoch=epoch)
    m.add_child(group, name="gisplan_drawn_items")
    shape = dict(DRAWING_STYLE)
    folium.plugins.Draw(
        export=False,
        position="topleft",
        show_geometry_on_click=False,
        feature_group=group,
        draw_options={
            "polyline": False,
            "circle": False,
            "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": True, "shapeOptions": shape},
            "rectangle": {"shapeOptions": shape},
            "marker": True,
        },
        edit_options={"edit": True, "remove": True},
    ).add_to(m)
    _move_controls_last(m)
    return m


def keep_view(m: folium.Map, *, key: str, scope: str) -> folium.Map:
    """Make ``m`` open where the user left the map ``key`` when it showed the same ``scope``; return ``m``.

    The view is kept in the browser tab (sessionStorage), so a rerun, a rebuilt map or a reload of the page
    keeps it; a new ``scope`` (a new result, another project) opens on the map's own extent instead.
    """
    for name in [k for k, c in m._children.items() if isinstance(c, ViewKeeper)]:
        del m._children[name]
    m.add_child(ViewKeeper(key=key, scope=scope), name="gisplan_view_keeper")
    return m


# --------------------------------------------------------------------------- offline assets and HTML


def make_offline(m: folium.Map, *, mode: str = "inline", static_url: str = "/app/static/vendor") -> folium.Map:
    """Point every JS/CSS asset of ``m`` and its children away from the CDNs; return ``m``.

    Call it after the last element is added.

    Parameters
    ----------
    mode
        ``"inline"``: the asset texts are embedded in the page header (for a
        standalone ``map.html`` that works with no network).  ``"static"``:
        assets are loaded from ``static_url`` (the app's
        ``<app dir>/static/vendor``, filled by
        :func:`gisplan.outputs._assets.install_static_assets`).
    static_url
        URL of the vendor folder in static mode.

    Raises
    ------
    GisplanError
        When an element loads an asset the offline package does not carry.
    """
    if mode not in ("inline", "static"):
        raise GisplanError(
            f"unknown offline mode {mode!r}; use 'inline' or 'static' "
            f"/ chế độ ngoại tuyến {mode!r} không xác định; hãy dùng 'inline' hoặc 'static'"
        )
    inline: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    # gisplan's own elements need none of the scripts folium.Map loads for its markers and icons
    lean = all(isinstance(el, _LEAN_ELEMENTS) for el in _walk(m))
    for el in _walk(m):
        if not is_jscss(el):
            continue
        js = el.__dict__.get("_gisplan_cdn_js", list(el.default_js))
        css = el.__dict__.get("_gisplan_cdn_css", list(el.default_css))
        el._gisplan_cdn_js, el._gisplan_cdn_css = js, css
        if lean and isinstance(el, folium.Map):
            js = [(name, url) for name, url in js if name not in _MARKER_SCRIPTS]
        new_js: list[tuple[str, str]] = []
        new_css: list[tuple[str, str]] = []
        for kind, pairs, out in (("js", js, new_js), ("css", css, new_css)):
            for name, url in pairs:
                if url in DROPPED_ASSETS:
                    continue
                text = asset_text(url)  # raises GisplanError naming a missing asset
                if mode == "static":
                    out.append((name, f"{static_url.rstrip('/')}/{asset_local_name(url)}"))
                elif url not in seen:
                    seen.add(url)
                    inline.append((name, kind, text))
        el.default_js, el.default_css = new_js, new_css
    for key in [k for k, c in m._children.items() if isinstance(c, InlineAssets)]:
        del m._children[key]
    if mode == "inline":
        assets = InlineAssets(inline)
        m.add_child(assets, name="gisplan_inline_assets")
        m._children.move_to_end("gisplan_inline_assets", last=False)
    return m


#: Scripts of folium.Map used only by folium's markers, icons and popups (jQuery, Bootstrap, awesome-markers).
_MARKER_SCRIPTS = frozenset({"jquery", "bootstrap", "awesome_markers"})
#: Elements that need none of them: a map made only of these loads Leaflet (and leaflet.draw) alone.
_LEAN_ELEMENTS = (
    folium.Map,
    folium.LayerControl,
    folium.TileLayer,
    folium.map.FitBounds,
    folium.plugins.Draw,
    MapHelpers,
    VectorLayer,
    Legend,
    InlineAssets,
    ViewKeeper,
    DrawnItems,
    DrawTexts,
)


def _walk(el: Any) -> Any:
    yield el
    for child in list(getattr(el, "_children", {}).values()):
        yield from _walk(child)


def standalone_html(m: folium.Map) -> str:
    """Return a self-contained HTML page of ``m`` that needs no network (assets inlined); ``m`` is not changed."""
    copy_m = copy.deepcopy(m)
    make_offline(copy_m, mode="inline")
    return str(copy_m.get_root().render())


def write_map_html(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write :func:`standalone_html` of ``m`` to ``path`` atomically (temp file, then :func:`os.replace`)."""
    return atomic_write_text(path, standalone_html(m))
