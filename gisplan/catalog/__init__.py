"""The cost catalog (unit prices in VND, each with its unit and source) and BOQ lines priced from it.

:func:`load_catalog` reads the catalog shipped in this package (``catalog.yaml``); a department replaces
prices through :meth:`Catalog.with_overrides` (a scenario's ``catalog:`` section).  :mod:`gisplan.catalog.costing`
turns quantities into BOQ rows.  Depends only on :mod:`gisplan.plan` and the errors.
"""

from __future__ import annotations

from gisplan.catalog._catalog import (
    CATEGORIES,
    ROAD_CLASSES,
    SURFACES,
    Catalog,
    CatalogItem,
    catalog_from_dict,
    load_catalog,
)
from gisplan.catalog.costing import add_contingency, boq_frame, boq_line, boq_totals

__all__ = [
    "CATEGORIES",
    "ROAD_CLASSES",
    "SURFACES",
    "Catalog",
    "CatalogItem",
    "add_contingency",
    "boq_frame",
    "boq_line",
    "boq_totals",
    "catalog_from_dict",
    "load_catalog",
]
