"""Styles, colours and popup columns of every layer kind on the maps (private; see :mod:`~gisplan.outputs.maps`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["BASE_KINDS", "LAYER_ORDER", "PLAN_ORDER", "geom_family", "layer_style"]

#: Input layers drawn as the offline base map, bottom first.
BASE_KINDS: tuple[str, ...] = ("land", "boundaries", "roads")
#: Drawing order of input layers, bottom first.
LAYER_ORDER: tuple[str, ...] = (
    "land",
    "boundaries",
    "coverage",
    "constraints",
    "roads",
    "buildings",
    "ducts",
    "cables",
    "poles",
    "settlements",
    "sites",
)
#: Drawing order of plan result layers, bottom first.
PLAN_ORDER: tuple[str, ...] = (
    "zones",
    "footprints",
    "cables_rerouted",
    "drops",
    "trenches",
    "settlements_unserved",
    "backhaul_links",
    "chambers",
    "poles_remaining",
    "poles_removed",
    "buildings_not_served",
    "planned_sites",
    "drawn_sites",
)

#: Colours for categories with no fixed colour (phases ...), colour-blind friendly first.
PALETTE: tuple[str, ...] = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1f78b4",
    "#b2182b",
    "#666666",
)

_POINT = {"radius": 4, "weight": 1, "color": "#333333", "fillOpacity": 0.9}
_LINE = {"weight": 2, "opacity": 0.9}
_POLY = {"weight": 1, "opacity": 0.8, "fillOpacity": 0.25}

# kind -> (style, colour-by column, {value: colour or style}, popup columns)
_KINDS: dict[str, tuple[dict[str, Any], str | None, dict[str, Any], tuple[str, ...]]] = {
    "land": ({**_POLY, "color": "#c8c2b4", "fillColor": "#f2efe9", "fillOpacity": 1.0, "weight": 0.5}, None, {}, ()),
    "boundaries": (
        {**_POLY, "color": "#7b3294", "fill": False, "weight": 1.5, "dashArray": "6 4"},
        None,
        {},
        ("unit_code", "name", "level", "parent_code"),
    ),
    "roads": (
        {**_LINE, "color": "#adb5bd", "weight": 2},
        "road_class",
        {
            "national": {"color": "#e8590c", "weight": 4},
            "provincial": {"color": "#f59f00", "weight": 3.5},
            "district": {"color": "#fab005", "weight": 3},
            "urban": {"color": "#868e96", "weight": 2.5},
            "rural": {"color": "#adb5bd", "weight": 2},
            "track": {"color": "#ced4da", "weight": 1.5, "dashArray": "4 3"},
        },
        ("road_id", "name", "road_class", "surface"),
    ),
    "poles": (
        {**_POINT, "radius": 3, "fillColor": "#1c7ed6", "color": "#1c7ed6"},
        "owner",
        {"telecom": "#1c7ed6", "power": "#e03131", "shared": "#7048e8"},
        ("pole_id", "owner", "material", "height_m"),
    ),
    "cables": (
        {**_LINE, "color": "#d6336c"},
        "placement",
        {"aerial": {"color": "#d6336c", "dashArray": "5 4"}, "underground": {"color": "#0b7285"}},
        ("cable_id", "placement", "kind", "fibre_count", "owner"),
    ),
    "ducts": (
        {**_LINE, "color": "#0b7285", "weight": 4, "opacity": 0.6},
        None,
        {},
        ("duct_id", "n_ducts", "free_ducts"),
    ),
    "coverage": (
        {**_POLY, "color": "#2b8a3e", "fillColor": "#2b8a3e", "fillOpacity": 0.15},
        "quality",
        {"good": "#2b8a3e", "fair": "#f08c00", "poor": "#c92a2a"},
        ("technology", "operator", "quality"),
    ),
    "settlements": (
        {**_POINT, "radius": 5, "fillColor": "#495057", "color": "#212529"},
        None,
        {},
        ("settlement_id", "name", "population", "households", "kind", "commune_code"),
    ),
    "sites": (
        {**_POINT, "radius": 5, "fillColor": "#228be6", "color": "#1864ab"},
        "kind",
        {
            "exchange": "#1864ab",
            "pop": "#1971c2",
            "tower": "#5f3dc4",
            "commune_hq": "#c2255c",
            "school": "#e67700",
            "health": "#2f9e44",
            "community": "#0c8599",
            "pole": "#868e96",
        },
        ("site_id", "name", "kind", "has_fibre", "height_m", "has_power"),
    ),
    "constraints": (
        {**_POLY, "color": "#c92a2a", "fillColor": "#c92a2a", "fillOpacity": 0.12, "dashArray": "3 3"},
        "kind",
        {"no_dig": "#c92a2a", "protected": "#2b8a3e", "heritage": "#845ef7", "water": "#1c7ed6"},
        ("kind", "rule", "penalty_factor"),
    ),
    # plan result layers
    "zones": (
        {**_POLY, "color": "#1864ab", "fillColor": "#1864ab", "fillOpacity": 0.04, "dashArray": "6 4"},
        None,
        {},
        ("name",),
    ),
    "cables_rerouted": (
        {**_LINE, "color": "#5c7cfa", "weight": 1.5, "opacity": 0.6},
        None,
        {},
        ("cable_id", "kind", "fibre_count", "aerial_m", "underground_m", "phase"),
    ),
    "trenches": (
        {**_LINE, "color": "#e8590c", "weight": 5},
        "phase",
        {},
        ("phase", "street", "length_m", "n_ducts", "operators", "width_m", "depth_m", "placement", "surface"),
    ),
    "chambers": (
        {**_POINT, "radius": 4, "fillColor": "#212529", "color": "#f8f9fa"},
        "type",
        {"manhole": "#212529", "handhole": "#868e96"},
        ("type", "reason", "near_intersection", "phase"),
    ),
    "drops": (
        {**_LINE, "color": "#20c997", "weight": 1, "opacity": 0.8},
        None,
        {},
        ("building_id", "households", "operator", "length_m", "chamber", "phase"),
    ),
    "poles_remaining": (
        {**_POINT, "radius": 4, "fillColor": "#adb5bd", "color": "#495057", "weight": 1.5},
        "owner",
        {"telecom": "#1c7ed6", "power": "#e03131", "shared": "#7048e8"},
        ("pole_id", "owner", "reason"),
    ),
    "buildings_not_served": (
        {**_POINT, "radius": 5, "fillColor": "#fa5252", "color": "#c92a2a", "weight": 2},
        None,
        {},
        ("building_id", "households", "reason"),
    ),
    "buildings": (
        {**_POINT, "radius": 2, "fillColor": "#868e96", "color": "#868e96", "weight": 0.5},
        None,
        {},
        ("building_id", "households", "settlement_id"),
    ),
    "poles_removed": (
        {**_POINT, "radius": 5, "fillColor": "#ffffff", "color": "#e03131", "weight": 2.5},
        None,
        {},
        ("pole_id",),
    ),
    "planned_sites": (
        {**_POINT, "radius": 7, "fillColor": "#1971c2", "color": "#ffffff", "weight": 2},
        None,
        {},
        ("site_id", "name", "kind", "profile", "reach_m", "backhaul", "cost_vnd"),
    ),
    "footprints": ({**_POLY, "color": "#4dabf7", "fillColor": "#74c0fc", "fillOpacity": 0.18}, None, {}, ("site_id",)),
    "backhaul_links": (
        {**_LINE, "color": "#495057", "weight": 3},
        "backhaul",
        {
            "fibre": {"color": "#1971c2"},
            "radio": {"color": "#f08c00", "dashArray": "8 5"},
            "p2p_radio": {"color": "#f08c00", "dashArray": "8 5"},
            "long_radio": {"color": "#e8590c", "dashArray": "2 5"},
            "submarine": {"color": "#0c8599", "weight": 4},
            "satellite": {"color": "#ae3ec9", "dashArray": "1 6"},
        },
        ("site_id", "backhaul", "length_m", "cost_vnd"),
    ),
    "settlements_unserved": (
        {**_POINT, "radius": 7, "fillColor": "#fa5252", "color": "#c92a2a", "weight": 2},
        None,
        {},
        ("settlement_id", "name", "population"),
    ),
    # the planner's own candidate sites: green when used, else by why not (the popup says why)
    "drawn_sites": (
        {**_POINT, "radius": 8, "fillColor": "#868e96", "color": "#212529", "weight": 2},
        "decision",
        {"used": "#2f9e44", "budget": "#f08c00", "no_demand": "#868e96", "served_elsewhere": "#1c7ed6"},
        ("site_id", "name", "decision", "reason_vi", "reason_en"),
    ),
    "drawings": ({**_POLY, **_POINT, "color": "#e8590c", "fillColor": "#e8590c", "radius": 6}, None, {}, ()),
}

_GENERIC = {
    "point": {**_POINT, "fillColor": "#3388ff", "color": "#1c4f9c"},
    "line": {**_LINE, "color": "#3388ff"},
    "polygon": {**_POLY, "color": "#3388ff", "fillColor": "#3388ff"},
}


def geom_family(geoms: gpd.GeoSeries) -> str:
    """Return ``"point"``, ``"line"`` or ``"polygon"``: the family of the layer's most common geometry type."""
    types = geoms.geom_type.dropna()
    if types.empty:
        return "point"
    top = str(types.value_counts().index[0])
    if "Point" in top:
        return "point"
    if "Line" in top:
        return "line"
    return "polygon"


def layer_style(
    kind: str, family: str, gdf: gpd.GeoDataFrame, *, color_by: str | None = None
) -> tuple[dict[str, Any], str | None, dict[str, dict[str, Any]], tuple[str, ...]]:
    """Return (style, colour-by column, value -> style override, popup columns) for a layer.

    Values of the colour-by column present in ``gdf`` get an override: the
    kind's fixed colour when it has one (listed in the kind's order, e.g. national
    road first), else a palette colour in sorted order (so phases ``2026 < 2027 < ...``
    keep their colours from map to map).
    """
    if kind in _KINDS:
        style, by, fixed, popup = _KINDS[kind]
    else:
        style, by, fixed, popup = _GENERIC[family], None, {}, tuple(c for c in gdf.columns if c != "geometry")[:8]
    style = dict(style)
    if color_by is not None:
        by, fixed = color_by, (fixed if color_by == _KINDS.get(kind, (None, None))[1] else {})
    values: dict[str, dict[str, Any]] = {}
    if by is not None and by in gdf.columns:
        found = {str(v) for v in gdf[by].dropna().unique()}
        # the kind's own order first (national, provincial, ... track), then other values sorted
        present = [v for v in fixed if v in found] + sorted(found - set(fixed))
        for i, value in enumerate(present):
            over = fixed.get(value, PALETTE[i % len(PALETTE)])
            over = {"color": over, "fillColor": over} if isinstance(over, str) else dict(over)
            if family == "point" and "fillColor" not in over:
                over["fillColor"] = over["color"]
            if family == "point" and kind in _KINDS and _KINDS[kind][0].get("color") in ("#ffffff", "#f8f9fa"):
                over.pop("color", None)
            values[value] = over
    return style, by, values, popup
