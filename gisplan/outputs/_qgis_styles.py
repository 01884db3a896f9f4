"""QGIS styles (QML) for the result layers of a plan.

:func:`style_qml` returns a QGIS 3 layer style document for one result layer,
chosen from the layer's name and columns:

=====================  ===========================================================
layer name contains    style
=====================  ===========================================================
``trench``             lines, one colour per ``phase`` (categorized renderer)
``chamber``, ``manhole`` dark blue squares
``pole`` + ``remov``   red crosses (poles to remove)
``pole``               grey circles
``cable``              orange dashed lines (aerial cables moved underground)
``backhaul``           by the backhaul type (column ``backhaul``, ``option``, ``type``
                       or ``kind``): fibre orange, radio blue dashed, long radio
                       hop blue dash-dot, submarine navy, satellite purple dotted;
                       lines for links, circles of those colours for points
                       (the per-site backhaul options)
``footprint``,         semi-transparent green polygons (coverage of a site)
``coverage``
``wifi``, ``site``     green circles with a dark outline
``settlement``,        small red circles (unserved demand)
``unserved``,
``demand``
``zone``, ``boundar``  outlines without fill
anything else          a plain symbol for its geometry type
=====================  ===========================================================

The documents are written with the property ``<Option type="Map">`` blocks of
QGIS >= 3.26 and the ``<prop k= v=>`` pairs older QGIS 3 releases read, so one
file opens in every QGIS 3.  They are deterministic: the same layer gives the
same text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["geometry_kind", "style_qml"]

#: QGIS version written in the QML header (the format is stable across QGIS 3).
QGIS_VERSION = "3.34.0-Prizren"

#: Colours of successive phases, as "r,g,b,a": colour-blind-safe (Okabe-Ito) order.
PHASE_COLOURS: tuple[str, ...] = (
    "230,159,0,255",
    "86,180,233,255",
    "0,158,115,255",
    "213,94,0,255",
    "0,114,178,255",
    "204,121,167,255",
    "240,228,66,255",
    "0,0,0,255",
)

#: Backhaul types and (colour, line style, width in mm).
BACKHAUL_STYLES: dict[str, tuple[str, str, float]] = {
    "fibre": ("230,120,0,255", "solid", 1.0),
    "fiber": ("230,120,0,255", "solid", 1.0),
    "radio": ("0,114,178,255", "dash", 0.8),
    "radio_long": ("0,114,178,255", "dash dot", 0.8),
    "ptp": ("0,114,178,255", "dash", 0.8),
    "microwave": ("0,114,178,255", "dash", 0.8),
    "submarine": ("20,30,120,255", "solid", 1.4),
    "satellite": ("140,60,170,255", "dot", 0.6),
}
_OTHER_COLOUR = "150,150,150,255"
#: Columns naming a backhaul type, first found wins (the wifi planner writes ``backhaul`` on its links and
#: ``option`` on the per-site options).
_BACKHAUL_COLUMNS = ("backhaul", "option", "type", "backhaul_type", "kind", "technology", "medium")

_GEOMETRY_TYPE_CODE = {"point": "0", "line": "1", "polygon": "2"}

Props = Sequence[tuple[str, str]]


def geometry_kind(gdf: gpd.GeoDataFrame | None, name: str = "") -> str:
    """Return ``"point"``, ``"line"`` or ``"polygon"`` for a layer.

    Taken from the first non-empty geometry; for an empty layer, guessed from its
    name (``"line"`` when the name says nothing).
    """
    if gdf is not None and len(gdf):
        types = gdf.geometry.dropna()
        types = types[~types.is_empty].geom_type
        if len(types):
            first = str(types.iloc[0])
            if "Point" in first:
                return "point"
            if "Polygon" in first:
                return "polygon"
            return "line"
    low = name.lower()
    if any(word in low for word in ("chamber", "manhole", "pole", "site", "wifi", "settlement", "unserved", "demand")):
        return "point"
    if any(word in low for word in ("footprint", "coverage", "zone", "boundar", "area")):
        return "polygon"
    return "line"


def _natural_key(value: object) -> tuple[object, ...]:
    """Sort key putting "Phase 9" before "Phase 10"."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _symbol_layer(parent: ET.Element, cls: str, props: Props) -> None:
    layer = ET.SubElement(parent, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    option_map = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props:
        ET.SubElement(option_map, "Option", {"name": key, "type": "QString", "value": value})
    for key, value in props:
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _symbol(parent: ET.Element, name: str, kind: str, cls: str, props: Props) -> None:
    symbol_type = {"point": "marker", "line": "line", "polygon": "fill"}[kind]
    symbol = ET.SubElement(
        parent,
        "symbol",
        {"type": symbol_type, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    _symbol_layer(symbol, cls, props)


def _line(colour: str, width: float, style: str = "solid") -> tuple[str, Props]:
    return "SimpleLine", (
        ("line_color", colour),
        ("line_width", f"{width:g}"),
        ("line_width_unit", "MM"),
        ("line_style", style),
        ("capstyle", "round"),
        ("joinstyle", "round"),
    )


def _marker(shape: str, colour: str, outline: str, size: float, outline_width: float = 0.3) -> tuple[str, Props]:
    return "SimpleMarker", (
        ("name", shape),
        ("color", colour),
        ("outline_color", outline),
        ("outline_width", f"{outline_width:g}"),
        ("outline_width_unit", "MM"),
        ("size", f"{size:g}"),
        ("size_unit", "MM"),
    )


def _fill(colour: str, outline: str, outline_width: float = 0.4, style: str = "solid") -> tuple[str, Props]:
    return "SimpleFill", (
        ("color", colour),
        ("style", style),
        ("outline_color", outline),
        ("outline_width", f"{outline_width:g}"),
        ("outline_width_unit", "MM"),
        ("outline_style", "solid"),
    )


def _default_symbol(kind: str) -> tuple[str, Props]:
    if kind == "point":
        return _marker("circle", "120,120,120,255", "50,50,50,255", 2.0)
    if kind == "polygon":
        return _fill("120,120,120,80", "80,80,80,255")
    return _line("120,120,120,255", 0.6)


def _single_symbol(name: str, kind: str) -> tuple[str, Props]:
    """The single symbol of a layer whose style does not depend on an attribute."""
    low = name.lower()
    if "chamber" in low or "manhole" in low:
        return _marker("square", "0,70,140,255", "255,255,255,255", 2.2)
    if "pole" in low and "remov" in low:
        return _marker("cross2", "220,0,0,255", "220,0,0,255", 3.2, outline_width=0.7)
    if "pole" in low:
        return _marker("circle", "140,140,140,255", "60,60,60,255", 1.6)
    if "cable" in low:
        return _line("230,120,0,255", 0.6, "dash")
    if "footprint" in low or "coverage" in low:
        return _fill("0,158,115,70", "0,120,90,255", 0.3)
    if "wifi" in low or "site" in low:
        return _marker("circle", "0,158,115,255", "0,60,40,255", 3.0, outline_width=0.5)
    if any(word in low for word in ("settlement", "unserved", "demand")):
        return _marker("circle", "220,40,40,255", "120,0,0,255", 1.8)
    if "zone" in low or "boundar" in low:
        return _fill("0,0,0,0", "200,0,0,255", 0.6, style="no")
    return _default_symbol(kind)


def _category_style(name: str, kind: str, value: str, index: int) -> tuple[str, Props]:
    """The symbol of one category of a categorized layer."""
    low = name.lower()
    if "backhaul" in low:
        colour, style, width = BACKHAUL_STYLES.get(value.lower(), (_OTHER_COLOUR, "solid", 0.8))
        if kind == "point":
            return _marker("circle", colour, "40,40,40,255", 2.4)
        if kind == "polygon":
            return _fill(colour.rsplit(",", 1)[0] + ",90", colour, 0.4)
        return _line(colour, width, style)
    colour = PHASE_COLOURS[index % len(PHASE_COLOURS)]
    if kind == "point":
        return _marker("circle", colour, "40,40,40,255", 2.4)
    if kind == "polygon":
        return _fill(colour.rsplit(",", 1)[0] + ",90", colour, 0.4)
    return _line(colour, 1.0)


def _category_column(name: str, gdf: gpd.GeoDataFrame | None) -> str | None:
    """The column that categorizes the layer, or ``None`` for a single symbol."""
    if gdf is None:
        return None
    low = name.lower()
    if "trench" in low and "phase" in gdf.columns:
        return "phase"
    if "backhaul" in low:
        return next((c for c in _BACKHAUL_COLUMNS if c in gdf.columns), None)
    return None


def _value_type(gdf: gpd.GeoDataFrame, column: str) -> str:
    kind = gdf[column].dtype.kind
    return {"i": "integer", "u": "integer", "f": "double", "b": "bool"}.get(kind, "string")


def _renderer(root: ET.Element, name: str, kind: str, gdf: gpd.GeoDataFrame | None) -> None:
    column = _category_column(name, gdf)
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0", "referencescale": "-1"}
    if column is None or gdf is None:
        renderer = ET.SubElement(root, "renderer-v2", {"type": "singleSymbol", **common})
        symbols = ET.SubElement(renderer, "symbols")
        _symbol(symbols, "0", kind, *_single_symbol(name, kind))
        return
    values = sorted({str(v) for v in gdf[column].dropna()}, key=_natural_key)
    renderer = ET.SubElement(root, "renderer-v2", {"type": "categorizedSymbol", "attr": column, **common})
    categories = ET.SubElement(renderer, "categories")
    value_type = _value_type(gdf, column)
    for i, value in enumerate(values):
        attrs = {"value": value, "label": value, "symbol": str(i), "render": "true", "type": value_type}
        ET.SubElement(categories, "category", attrs)
    # The empty value is QGIS's "all other values" category.
    other = {"value": "", "label": "khác / other", "symbol": str(len(values)), "render": "true", "type": "string"}
    ET.SubElement(categories, "category", other)
    symbols = ET.SubElement(renderer, "symbols")
    for i, value in enumerate(values):
        _symbol(symbols, str(i), kind, *_category_style(name, kind, value, i))
    other_symbol = _line(_OTHER_COLOUR, 0.6) if kind == "line" else _default_symbol(kind)
    _symbol(symbols, str(len(values)), kind, *other_symbol)


def style_qml(name: str, gdf: gpd.GeoDataFrame | None = None) -> str:
    """Return the QGIS style (QML text) of the result layer ``name``.

    Parameters
    ----------
    name
        The layer's name in the plan (e.g. ``"trenches"``); it chooses the style
        (see the module docstring).
    gdf
        The layer, used for its geometry type and its category values (phases,
        backhaul types); ``None`` or an empty layer gives a style from the name
        alone.

    Returns
    -------
    str
        A QML document (``<!DOCTYPE qgis ...><qgis ...>``), UTF-8 text.

    Examples
    --------
    >>> style_qml("poles_removed").count('value="cross2"')
    1
    """
    kind = geometry_kind(gdf, name)
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology"})
    _renderer(root, name, kind, gdf)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = "1"
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPE_CODE[kind]
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"
