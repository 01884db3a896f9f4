"""The records the version store returns: :class:`Version`, :class:`ArtifactInfo`, :class:`Review`.

Private to :mod:`gisplan.store.versions`, which re-exports them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtifactInfo:
    """One artifact of a version: its name, size in bytes and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Version:
    """An immutable saved run.

    Attributes
    ----------
    id
        Content hash: hex SHA-256 of the canonical JSON of scenario name,
        scenario text hash, artifact hashes, KPIs, parent, author, message and
        ``created_at`` (see :func:`gisplan.store._codec.version_id`).
    scenario_name, parent, author, message
        As saved; ``parent`` is a full id or None.
    created_at
        ISO 8601 UTC, e.g. ``"2025-03-01T01:00:00Z"``.
    status
        The latest review's status, ``"draft"`` before any review.
    kpis
        The KPIs as plain JSON values (a copy; changing it changes nothing stored).
    artifacts
        Name, size and SHA-256 of every artifact, sorted by name.
    scenario_sha256
        SHA-256 of the scenario text (UTF-8).
    intact
        Whether the stored fields still hash to :attr:`id`; False means the store was changed outside
        gisplan (e.g. KPIs edited by hand): show the version with a warning and never trust it.
    """

    id: str
    scenario_name: str
    parent: str | None
    author: str
    message: str
    created_at: str
    status: str
    kpis: dict[str, Any] = field(hash=False, compare=False)
    artifacts: tuple[ArtifactInfo, ...] = ()
    scenario_sha256: str = ""
    intact: bool = field(default=True, compare=False)

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of :attr:`id`."""
        return self.id[:12]

    @property
    def artifact_names(self) -> tuple[str, ...]:
        """Artifact names, sorted."""
        return tuple(a.name for a in self.artifacts)

    @property
    def artifact_sizes(self) -> dict[str, int]:
        """Artifact name -> size in bytes."""
        return {a.name: a.size for a in self.artifacts}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``gisplan show`` and by exports)."""
        return {
            "id": self.id,
            "short_id": self.short_id,
            "scenario_name": self.scenario_name,
            "parent": self.parent,
            "author": self.author,
            "message": self.message,
            "created_at": self.created_at,
            "status": self.status,
            "kpis": json.loads(json.dumps(self.kpis)),
            "scenario_sha256": self.scenario_sha256,
            "intact": self.intact,
            "artifacts": [{"name": a.name, "size": a.size, "sha256": a.sha256} for a in self.artifacts],
        }


@dataclass(frozen=True)
class Review:
    """One review appended to a version: who set which status when, and why."""

    version_id: str
    seq: int
    previous_status: str
    status: str
    reviewer: str
    comment: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "version_id": self.version_id,
            "previous_status": self.previous_status,
            "status": self.status,
            "reviewer": self.reviewer,
            "comment": self.comment,
            "created_at": self.created_at,
        }
