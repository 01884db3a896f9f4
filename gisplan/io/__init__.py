"""Layers in: schemas, readers, validation, the metric CRS, uploads.

The first stage of the flow.  Every layer is read once (:func:`read_layers`, :func:`read_file`,
:func:`read_upload`), validated against its schema (:mod:`gisplan.io.schemas`) with every problem
gathered into one :class:`~gisplan.LayerError`, and projected once to the metric CRS
(:mod:`gisplan.io.crs`).  Nothing here knows about planners, outputs or the store.
"""

from __future__ import annotations

from gisplan.io.crs import DISPLAY_CRS, METRIC_CRS, choose_metric_crs, to_metric, utm_crs_for
from gisplan.io.layers import (
    READ_SUFFIXES,
    VIETNAM_BOUNDS,
    RepairWarning,
    infer_kind,
    layer_info,
    list_layers,
    load_layer,
    read_file,
    read_layers,
    skipped_layers,
    validate_layer,
    validate_layers,
    write_geojson,
    write_gpkg,
)
from gisplan.io.schemas import KINDS, SCHEMAS, Column, LayerSchema, get_schema
from gisplan.io.uploads import ALLOWED_SUFFIXES, read_upload

__all__ = [
    "ALLOWED_SUFFIXES",
    "DISPLAY_CRS",
    "KINDS",
    "METRIC_CRS",
    "READ_SUFFIXES",
    "SCHEMAS",
    "VIETNAM_BOUNDS",
    "Column",
    "LayerSchema",
    "RepairWarning",
    "choose_metric_crs",
    "get_schema",
    "infer_kind",
    "layer_info",
    "list_layers",
    "load_layer",
    "read_file",
    "read_layers",
    "read_upload",
    "skipped_layers",
    "to_metric",
    "utm_crs_for",
    "validate_layer",
    "validate_layers",
    "write_geojson",
    "write_gpkg",
]
