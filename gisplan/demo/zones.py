"""The demo's drawn areas, defined once: the scenario files and the app both use these objects.

``scenarios/duong_dong_underground.yaml`` holds :data:`DUONG_DONG_ZONE` as inline GeoJSON (a test checks that the
file and this module agree), and the app's "demo zone" button draws the same polygon, so the CLI and the app plan
the same zone and give the same BOQ.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import Polygon, mapping

__all__ = ["DUONG_DONG_ZONE", "DUONG_DONG_ZONE_NAME", "demo_zone_duong_dong", "demo_zone_feature"]

#: Central Dương Đông (EPSG:4326 lon/lat, 5 decimals): a 500 m circle of 16 sides around the town centre of the
#: demo, holding a few hundred aerial spans and every existing duct of the demo.
DUONG_DONG_ZONE: tuple[tuple[float, float], ...] = (
    (103.96494, 10.21843),
    (103.96396, 10.21696),
    (103.96248, 10.21597),
    (103.96074, 10.21562),
    (103.95899, 10.21596),
    (103.9575, 10.21693),
    (103.95651, 10.2184),
    (103.95616, 10.22013),
    (103.9565, 10.22186),
    (103.95748, 10.22333),
    (103.95896, 10.22431),
    (103.96071, 10.22466),
    (103.96245, 10.22432),
    (103.96394, 10.22335),
    (103.96493, 10.22189),
    (103.96529, 10.22016),
    (103.96494, 10.21843),
)
DUONG_DONG_ZONE_NAME = "Trung tâm Dương Đông"


def demo_zone_duong_dong() -> Polygon:
    """Central Dương Đông (EPSG:4326): the undergrounding zone of the demo scenario ``duong_dong_underground``."""
    return Polygon(DUONG_DONG_ZONE)


def demo_zone_feature() -> dict[str, Any]:
    """:func:`demo_zone_duong_dong` as a GeoJSON Feature with its name, as a planner's drawing would arrive."""
    return {
        "type": "Feature",
        "properties": {"name": DUONG_DONG_ZONE_NAME},
        "geometry": mapping(demo_zone_duong_dong()),
    }
