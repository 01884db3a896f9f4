"""SQLite schema, connections and transactions of the version store.

Private to :mod:`gisplan.store.versions`.  The store is one SQLite file in WAL mode.  Its
identity is checked on every open: ``PRAGMA application_id`` must be
:data:`APPLICATION_ID` and ``PRAGMA user_version`` at most
:data:`SCHEMA_VERSION`.  Tables are append-only: triggers refuse every
``UPDATE`` and ``DELETE`` of versions, their artifacts, blobs and reviews.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gisplan._errors import ConflictError, StoreError

#: ``PRAGMA application_id`` of a gisplan store: the ASCII bytes "GPVS" (gisplan version store).
APPLICATION_ID = int.from_bytes(b"GPVS", "big")
#: ``PRAGMA user_version`` written by this gisplan; stores of a higher number are refused.
SCHEMA_VERSION = 1

#: Seconds a reader waits at least for a transient lock (WAL recovery when several processes open the store
#: at once), whatever the store's write ``timeout``.
READ_TIMEOUT = 10.0

_TABLES = ("meta", "blobs", "versions", "version_artifacts", "reviews")

_DDL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size   INTEGER NOT NULL CHECK (size >= 0),
    data   BLOB NOT NULL
);
CREATE TABLE versions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE CHECK (length(id) = 64),
    scenario_name   TEXT NOT NULL,
    parent          TEXT REFERENCES versions(id),
    author          TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    scenario_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    kpis_json       TEXT NOT NULL
);
CREATE INDEX versions_by_scenario ON versions (scenario_name, seq);
CREATE TABLE version_artifacts (
    version_id TEXT NOT NULL REFERENCES versions(id),
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES blobs(sha256),
    size       INTEGER NOT NULL,
    PRIMARY KEY (version_id, name)
);
CREATE TABLE reviews (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id      TEXT NOT NULL REFERENCES versions(id),
    previous_status TEXT NOT NULL,
    status          TEXT NOT NULL,
    reviewer        TEXT NOT NULL,
    comment         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX reviews_by_version ON reviews (version_id, seq);
"""


def _immutable_triggers() -> list[str]:
    parts = []
    for table in ("blobs", "versions", "version_artifacts", "reviews"):
        for op in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'gisplan store: {table} are immutable'); END;"
            )
    return parts


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock we waited for in vain."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def busy_error(path: Path, timeout: float, exc: sqlite3.Error) -> ConflictError:
    """The :class:`ConflictError` for a store that stayed locked longer than ``timeout``."""
    return ConflictError(
        f"version store {path} is busy: another process held its write lock for more than {timeout:g} s "
        f"({exc}); nothing was written. Retry, or raise the store's timeout."
    )


def connect(path: Path, *, create: bool, timeout: float) -> sqlite3.Connection:
    """Open ``path`` as a gisplan store, creating the schema if allowed and needed.

    Raises
    ------
    StoreError
        If the file is missing (and ``create`` is false), is not an SQLite
        database, is another application's database, or has a newer schema.
    """
    if not path.exists() and not create:
        raise StoreError(
            f"no version store at {path} (không có kho phương án ở đường dẫn này): check the path (CLI: --store, "
            "or $GISPLAN_STORE), or save a first version there (`gisplan save RUN_DIR --store PATH ...`; "
            "in Python VersionStore(path, create=True))"
        )
    if path.exists() and path.is_dir():
        raise StoreError(f"version store path {path} is a directory; give a file path such as {path / 'store.sqlite'}")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=max(timeout, READ_TIMEOUT), isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open version store {path}: {exc}") from exc
    try:
        _set_busy_timeout(conn, max(timeout, READ_TIMEOUT))
        _check_identity(conn, path, create=create, timeout=timeout)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _check_identity(conn: sqlite3.Connection, path: Path, *, create: bool, timeout: float) -> None:
    try:
        app_id, user_version, tables = _identity(conn)
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise busy_error(path, timeout, exc) from exc
        raise StoreError(
            f"{path} is not a gisplan version store (SQLite says: {exc}); give the path of a store file "
            "or a new file name"
        ) from exc
    if app_id == 0 and user_version == 0 and not tables:
        if not create:
            raise StoreError(f"{path} is an empty SQLite file, not a gisplan version store; open it with create=True")
        _initialize(conn, path, timeout)
        return
    if app_id != APPLICATION_ID or not set(_TABLES) <= tables:
        raise StoreError(
            f"{path} is an SQLite database but not a gisplan version store (application_id {app_id:#x}, "
            f"tables {sorted(tables)[:8]}); give the path of a store file or a new file name"
        )
    if user_version > SCHEMA_VERSION:
        raise StoreError(
            f"version store {path} has schema version {user_version}, newer than the {SCHEMA_VERSION} this gisplan "
            "reads; upgrade gisplan to open it"
        )
    if user_version < 1:
        raise StoreError(f"version store {path} has an invalid schema version {user_version}; it may be damaged")


def _identity(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables.discard("sqlite_sequence")
    return int(app_id), int(user_version), tables


def _initialize(conn: sqlite3.Connection, path: Path, timeout: float) -> None:
    """Create the schema in one transaction; a concurrent creator simply wins the race."""
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise busy_error(path, timeout, exc) from exc
        raise StoreError(f"cannot create version store {path}: {exc}") from exc
    try:
        app_id, _, tables = _identity(conn)
        if app_id == 0 and not tables:  # nobody created it while we waited for the lock
            for statement in _DDL.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for trigger in _immutable_triggers():
                conn.execute(trigger)
            conn.execute("INSERT INTO meta (key, value) VALUES ('application', 'gisplan version store')")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _check_identity(conn, path, create=False, timeout=timeout)


@contextmanager
def write_transaction(conn: sqlite3.Connection, path: Path, timeout: float) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; roll back on any exception, map lock timeouts to ConflictError.

    Waiting for the write lock is limited by ``timeout``; once it is held, the
    connection waits up to :data:`READ_TIMEOUT` for transient locks again.
    """
    _set_busy_timeout(conn, timeout)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy_error(path, timeout, exc) from exc
        raise StoreError(f"cannot write to version store {path}: {exc}") from exc
    finally:
        _set_busy_timeout(conn, max(timeout, READ_TIMEOUT))
    try:
        yield conn
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        if is_busy(exc):
            raise busy_error(path, timeout, exc) from exc
        raise StoreError(f"writing to version store {path} failed, nothing was written: {exc}") from exc
    except BaseException:
        _rollback(conn)
        raise


@contextmanager
def read_transaction(conn: sqlite3.Connection, path: Path, timeout: float) -> Iterator[sqlite3.Connection]:
    """A consistent snapshot for several SELECTs."""
    try:
        conn.execute("BEGIN")
        yield conn
    except sqlite3.Error as exc:
        _rollback(conn)
        if is_busy(exc):
            raise busy_error(path, timeout, exc) from exc
        raise StoreError(f"reading version store {path} failed: {exc}") from exc
    except BaseException:
        _rollback(conn)
        raise
    else:
        conn.execute("COMMIT")


def _set_busy_timeout(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {max(int(seconds * 1000), 0)}")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
