"""The embedded Phú Quốc demo: a seeded generator of every layer, and the demo's zones and focus areas.

:func:`demo_gpkg_path` gives ``layers/phu_quoc.gpkg`` (or generates it), :func:`demo_zone_duong_dong`
the central Dương Đông undergrounding zone that the demo scenario and the app both use.  What is real
and what is synthetic is stated in ``layers/README.md``.
"""

from __future__ import annotations

from gisplan.demo.data import (
    DEFAULT_SEED,
    LAYER_NAMES,
    demo_gpkg_path,
    demo_wifi_focus,
    generate_demo_layers,
    write_demo_gpkg,
)
from gisplan.demo.zones import DUONG_DONG_ZONE, demo_zone_duong_dong, demo_zone_feature

__all__ = [
    "DEFAULT_SEED",
    "DUONG_DONG_ZONE",
    "LAYER_NAMES",
    "demo_gpkg_path",
    "demo_wifi_focus",
    "demo_zone_duong_dong",
    "demo_zone_feature",
    "generate_demo_layers",
    "write_demo_gpkg",
]
