"""Schema versions of the version store and the steps between them, for SQLite and PostgreSQL.

Private to :mod:`gisplan.store`.  A store records its schema version (SQLite: ``PRAGMA user_version``;
PostgreSQL: ``gisplan.meta['schema_version']``).  A new store is created at version 1 and brought up by
the same steps an old store takes, so every step runs in every test.  Steps never change a stored
version, blob or review: version ids stay what they were.

Versions
--------
1
    ``meta``, ``blobs``, ``versions``, ``version_artifacts``, ``reviews``; triggers refuse ``UPDATE`` and
    ``DELETE`` on the last four (gisplan 0.1).
2
    ``migrations`` (which step ran when, by which gisplan), an index of artifacts by blob (copies and
    integrity checks); on PostgreSQL the PostGIS table ``plan_features`` and the schema ``gisplan_layers``
    of per-layer views QGIS opens (see the README, "Version store").
"""

from __future__ import annotations

from datetime import UTC, datetime

#: The schema version this gisplan writes; stores of a higher number are refused.
SCHEMA_VERSION = 2

_IMMUTABLE = ("blobs", "versions", "version_artifacts", "reviews")

_SQLITE_V1 = """
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
INSERT INTO meta (key, value) VALUES ('application', 'gisplan version store')
"""

_MIGRATIONS_TABLE = """
CREATE TABLE migrations (
    schema_version  INTEGER PRIMARY KEY,
    applied_at      TEXT NOT NULL,
    gisplan_version TEXT NOT NULL
)"""

_ARTIFACTS_BY_BLOB = "CREATE INDEX version_artifacts_by_blob ON version_artifacts (sha256)"


def sqlite_v1_statements() -> list[str]:
    """The statements that create a version-1 SQLite store (tables, indexes, immutability triggers)."""
    parts = [s.strip() for s in _SQLITE_V1.split(";") if s.strip()]
    for table in _IMMUTABLE:
        for op in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'gisplan store: {table} are immutable'); END"
            )
    return parts


def sqlite_steps(current: int) -> list[str]:
    """The statements that take an SQLite store from schema ``current`` to ``current + 1``."""
    if current == 1:
        return [_MIGRATIONS_TABLE, _ARTIFACTS_BY_BLOB]
    raise ValueError(f"no migration from schema version {current}")


_POSTGRES_V1 = """
CREATE SCHEMA gisplan;
CREATE TABLE gisplan.meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE gisplan.blobs (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size   BIGINT NOT NULL CHECK (size >= 0),
    data   BYTEA NOT NULL
);
CREATE TABLE gisplan.versions (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE CHECK (length(id) = 64),
    scenario_name   TEXT NOT NULL,
    parent          TEXT REFERENCES gisplan.versions(id),
    author          TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    scenario_sha256 TEXT NOT NULL REFERENCES gisplan.blobs(sha256),
    kpis_json       TEXT NOT NULL
);
CREATE INDEX versions_by_scenario ON gisplan.versions (scenario_name, seq);
CREATE TABLE gisplan.version_artifacts (
    version_id TEXT NOT NULL REFERENCES gisplan.versions(id),
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES gisplan.blobs(sha256),
    size       BIGINT NOT NULL,
    PRIMARY KEY (version_id, name)
);
CREATE TABLE gisplan.reviews (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id      TEXT NOT NULL REFERENCES gisplan.versions(id),
    previous_status TEXT NOT NULL,
    status          TEXT NOT NULL,
    reviewer        TEXT NOT NULL,
    comment         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX reviews_by_version ON gisplan.reviews (version_id, seq);
CREATE FUNCTION gisplan.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gisplan store: % are immutable', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;
INSERT INTO gisplan.meta (key, value) VALUES ('application', 'gisplan version store'), ('schema_version', '1')
"""

_POSTGRES_V2 = """
CREATE TABLE gisplan.migrations (
    schema_version  INTEGER PRIMARY KEY,
    applied_at      TEXT NOT NULL,
    gisplan_version TEXT NOT NULL
);
CREATE INDEX version_artifacts_by_blob ON gisplan.version_artifacts (sha256);
CREATE SCHEMA gisplan_layers;
CREATE TABLE gisplan.plan_features (
    gid        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id TEXT NOT NULL REFERENCES gisplan.versions(id),
    artifact   TEXT NOT NULL,
    layer      TEXT NOT NULL,
    fid        BIGINT NOT NULL,
    attributes JSONB NOT NULL,
    geom       geometry,
    UNIQUE (version_id, artifact, layer, fid)
);
CREATE INDEX plan_features_by_layer ON gisplan.plan_features (layer, version_id);
CREATE INDEX plan_features_geom ON gisplan.plan_features USING gist (geom);
CREATE TRIGGER plan_features_immutable BEFORE UPDATE OR DELETE ON gisplan.plan_features
    FOR EACH ROW EXECUTE FUNCTION gisplan.refuse_change();
CREATE TRIGGER plan_features_no_truncate BEFORE TRUNCATE ON gisplan.plan_features
    FOR EACH STATEMENT EXECUTE FUNCTION gisplan.refuse_change();
CREATE VIEW gisplan.version_status AS
SELECT v.id AS version_id, v.scenario_name, v.author, v.message, v.created_at,
       COALESCE((SELECT r.status FROM gisplan.reviews r WHERE r.version_id = v.id ORDER BY r.seq DESC LIMIT 1),
                'draft') AS status,
       v.seq = (SELECT max(w.seq) FROM gisplan.versions w WHERE w.scenario_name = v.scenario_name) AS is_latest
FROM gisplan.versions v
"""


def postgres_v1_statements() -> list[str]:
    """The statements that create a version-1 PostgreSQL store in schema ``gisplan``."""
    parts = _split(_POSTGRES_V1)
    for table in _IMMUTABLE:
        parts.append(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON gisplan.{table} "
            "FOR EACH ROW EXECUTE FUNCTION gisplan.refuse_change()"
        )
        parts.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON gisplan.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gisplan.refuse_change()"
        )
    return parts


def postgres_steps(current: int) -> list[str]:
    """The statements that take a PostgreSQL store from schema ``current`` to ``current + 1`` (PostGIS needed)."""
    if current == 1:
        return _split(_POSTGRES_V2)
    raise ValueError(f"no migration from schema version {current}")


def _split(script: str) -> list[str]:
    """Statements of ``script``; ``$$`` bodies are kept whole."""
    out, buf, in_body = [], [], False
    for line in script.strip().splitlines():
        buf.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            out.append("\n".join(buf).rstrip().rstrip(";"))
            buf = []
    if "".join(buf).strip():
        out.append("\n".join(buf))
    return out


def now_text() -> str:
    """The current UTC time as ISO 8601 text."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def gisplan_version() -> str:
    """The running gisplan's version, for the migrations table."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gisplan")
    except PackageNotFoundError:
        return "unknown"
