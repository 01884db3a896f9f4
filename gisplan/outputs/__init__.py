"""What a plan becomes: GeoPackage with QGIS styles, BOQ in XLSX and CSV, manifests, folium maps.

:func:`export_plan` writes a plan's files; :mod:`gisplan.outputs.maps` builds the folium maps that the
app, ``map.html`` and ``compare.html`` show (offline).  Reads plans, never plans anything.
"""

from __future__ import annotations

from gisplan.outputs.export import (
    boq_csv_text,
    boq_to_csv,
    boq_to_xlsx,
    check_boq,
    compare_to_xlsx,
    export_plan,
    plan_to_gpkg,
    write_manifest,
)
from gisplan.outputs.maps import (
    add_layer,
    base_map,
    layers_map,
    make_offline,
    plan_map,
    standalone_html,
    write_map_html,
)

__all__ = [
    "add_layer",
    "base_map",
    "boq_csv_text",
    "boq_to_csv",
    "boq_to_xlsx",
    "check_boq",
    "compare_to_xlsx",
    "export_plan",
    "layers_map",
    "make_offline",
    "plan_map",
    "plan_to_gpkg",
    "standalone_html",
    "write_manifest",
    "write_map_html",
]
