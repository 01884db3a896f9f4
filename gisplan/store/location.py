"""Where the version store is: one rule for the CLI, the app and the Python API.

1. an explicit location (the CLI's ``--store``, an argument in Python), else
2. ``$GISPLAN_STORE``, else
3. the per-user default :func:`default_store_path`
   (``$XDG_DATA_HOME/gisplan/gisplan-store.sqlite``, i.e. ``~/.local/share/gisplan/gisplan-store.sqlite``;
   on Windows ``%APPDATA%\\gisplan\\gisplan-store.sqlite``).

A location is a file path (SQLite) or a PostgreSQL URI ``postgresql://user@host:port/database``.

Examples
--------
>>> store_location("team.sqlite")
'team.sqlite'
"""

from __future__ import annotations

import os
from pathlib import Path

from gisplan.store._postgres import is_postgres, redact
from gisplan.store.versions import DEFAULT_STORE_NAME, VersionStore

__all__ = [
    "STORE_ENV",
    "default_store_path",
    "display_location",
    "is_database_location",
    "open_store",
    "store_location",
]

#: Environment variable naming the store (a file path or a ``postgresql://`` URI).
STORE_ENV = "GISPLAN_STORE"


def default_store_path() -> Path:
    """The per-user store file: ``gisplan/gisplan-store.sqlite`` in the user's data folder."""
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "gisplan" / DEFAULT_STORE_NAME


def store_location(explicit: str | os.PathLike[str] | None = None) -> str:
    """The store to use: ``explicit``, else ``$GISPLAN_STORE``, else :func:`default_store_path`."""
    if explicit is not None and str(explicit).strip():
        return str(explicit)
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        return env
    return str(default_store_path())


def is_database_location(location: str | os.PathLike[str] | None) -> bool:
    """Whether ``location`` names a PostgreSQL store (a ``postgresql://`` URI) rather than a file."""
    return location is not None and is_postgres(str(location))


def display_location(location: str | os.PathLike[str]) -> str:
    """A location as users may see it (a PostgreSQL password hidden)."""
    return redact(str(location)) if is_postgres(str(location)) else str(location)


def open_store(
    location: str | os.PathLike[str] | None = None, *, create: bool = True, timeout: float = 30.0
) -> VersionStore:
    """The :class:`VersionStore` at :func:`store_location` ``(location)``."""
    return VersionStore(store_location(location), create=create, timeout=timeout)
