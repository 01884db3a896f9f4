"""gisplan: a telecom infrastructure planner.

Plans the undergrounding of aerial telecom cables and remote-area wifi with
costed backhaul, from GeoPandas layers, priced in VND.
"""

from __future__ import annotations

from gisplan._errors import (
    CatalogError,
    ConflictError,
    CRSError,
    GisplanError,
    LayerError,
    PlanningError,
    Problem,
    RoutingError,
    ScenarioError,
    SitingError,
    StoreError,
    UploadError,
)

__version__ = "0.1.0"

__all__ = [
    "CRSError",
    "CatalogError",
    "ConflictError",
    "GisplanError",
    "LayerError",
    "PlanningError",
    "Problem",
    "RoutingError",
    "ScenarioError",
    "SitingError",
    "StoreError",
    "UploadError",
    "__version__",
]
