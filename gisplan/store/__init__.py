"""The version store: immutable, content-addressed plan versions with a review workflow (SQLite).

:class:`VersionStore` saves a run folder's files as a version, lists and exports versions, and records
reviews along :data:`TRANSITIONS`.  Depends on nothing but the errors and atomic file writes.
"""

from __future__ import annotations

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
    "TRANSITIONS",
    "ArtifactInfo",
    "Review",
    "Version",
    "VersionStore",
]
