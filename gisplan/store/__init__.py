"""The version store: immutable, content-addressed plan versions with a review workflow.

:class:`VersionStore` saves a run folder's files as a version, lists and exports versions, and records
reviews along :data:`TRANSITIONS`, in one SQLite file or a PostgreSQL + PostGIS database (same API,
same ids).  :func:`store_location` is the one rule saying which store to use; :func:`copy_store`
moves versions between stores with their ids unchanged.
"""

from __future__ import annotations

from gisplan.store.copy import CopyReport, copy_store
from gisplan.store.location import STORE_ENV, default_store_path, display_location, open_store, store_location
from gisplan.store.versions import (
    DEFAULT_STORE_NAME,
    STATUSES,
    TRANSITIONS,
    ArtifactInfo,
    Review,
    Version,
    VersionStore,
)

__all__ = [
    "DEFAULT_STORE_NAME",
    "STATUSES",
    "STORE_ENV",
    "TRANSITIONS",
    "ArtifactInfo",
    "CopyReport",
    "Review",
    "Version",
    "VersionStore",
    "copy_store",
    "default_store_path",
    "display_location",
    "open_store",
    "store_location",
]
