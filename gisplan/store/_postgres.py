"""The PostgreSQL + PostGIS backend of the version store.

Private to :mod:`gisplan.store.versions`.  The store lives in schema ``gisplan`` of one database (tables
as in SQLite, the same immutability enforced by triggers); plan layers of every saved GeoPackage are also
written, in the save's transaction, to the PostGIS table ``gisplan.plan_features`` and exposed as one view
per layer in schema ``gisplan_layers`` that QGIS opens directly.  Members of the role
:data:`READER_ROLE` may read everything and write nothing.

Writers of one database queue on a transaction-scoped advisory lock (``pg_advisory_xact_lock``) for at
most the store's ``timeout`` (``lock_timeout``), which gives the same order and the same stale-head checks
as SQLite's ``BEGIN IMMEDIATE``.  A save whose connection is lost (server restart) is rolled back by the
server: nothing half-written; :meth:`gisplan.store.versions.VersionStore.save` retries it with the same
content, which is idempotent.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gisplan._errors import StoreError
from gisplan.store import _migrations as migrations
from gisplan.store._sqlite import busy_error, read_only_error

#: Role whose members may read every table and layer view of the store, and write nothing.
READER_ROLE = "gisplan_reader"
#: Key of the advisory lock writers queue on ("GPVS" as an integer, as SQLite's application_id).
LOCK_KEY = int.from_bytes(b"GPVS", "big")
#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT = 10
#: Layer names that become a view name as they are (others keep their features, without a view).
_VIEW_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def is_postgres(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a PostgreSQL connection URI (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def redact(dsn: str) -> str:
    """``dsn`` without its password, for messages and captions."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise StoreError(
            "a PostgreSQL store needs the psycopg driver: pip install 'gisplan[postgres]' (or conda install psycopg) "
            "/ kho trên PostgreSQL cần trình điều khiển psycopg: pip install 'gisplan[postgres]' (hoặc conda install "
            "psycopg)"
        ) from exc
    return psycopg


class _Conn:
    """A psycopg connection that takes SQLite's ``?`` placeholders (gisplan's SQL has no other ``?`` or ``%``)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.raw.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Any) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), list(rows))


class PostgresBackend:
    """One store in a PostgreSQL database; every call opens its own connection."""

    kind = "postgresql"

    def __init__(self, dsn: str, *, create: bool, timeout: float) -> None:
        self.psycopg = _psycopg()
        self.location = dsn
        self.display = redact(dsn)
        self.path = None
        self.timeout = timeout
        self.read_only = False
        self.schema_version = migrations.SCHEMA_VERSION
        with self.connection(check=False) as conn:
            self._check_identity(conn, create=create)

    # -- connections ---------------------------------------------------------------------------------------------

    @contextmanager
    def connection(self, *, check: bool = True) -> Iterator[_Conn]:
        psycopg = self.psycopg
        try:
            raw = psycopg.connect(self.location, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the version store {self.display} (không kết nối được máy chủ kho phương án): "
                f"{str(exc).strip()}. Check that the PostgreSQL server runs and the address, database, user and "
                "password are right (--store or $GISPLAN_STORE) / không kết nối được kho phương án "
                f"{self.display}: {str(exc).strip()}. Hãy kiểm tra máy chủ PostgreSQL đang chạy và địa chỉ, cơ sở dữ "
                "liệu, người dùng, mật khẩu đúng (--store hoặc $GISPLAN_STORE)"
            ) from exc
        try:
            raw.execute("SET search_path TO gisplan, public")
            yield _Conn(raw)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"the connection to the version store {self.display} was lost ({str(exc).strip()}); nothing "
                "was written by the interrupted operation. Retry when the server is back "
                f"/ mất kết nối đến kho phương án {self.display} ({str(exc).strip()}); thao tác bị gián đoạn không "
                "ghi gì. Hãy thử lại khi máy chủ hoạt động trở lại"
            ) from exc
        finally:
            raw.close()

    def _check_identity(self, conn: _Conn, *, create: bool) -> None:
        exists = conn.execute("SELECT to_regclass('gisplan.meta') IS NOT NULL").fetchone()[0]
        if not exists:
            if not create:
                raise StoreError(
                    f"no version store in database {self.display} (không có kho phương án; schema 'gisplan' "
                    "missing): check the address, or save a first version there / cơ sở dữ liệu "
                    f"{self.display} chưa có kho phương án (thiếu lược đồ 'gisplan'): hãy kiểm tra địa chỉ, hoặc lưu "
                    "phương án đầu tiên vào đó"
                )
            self._initialize(conn)
        meta = dict(conn.execute("SELECT key, value FROM gisplan.meta").fetchall())
        if meta.get("application") != "gisplan version store":
            raise StoreError(
                f"database {self.display} has a schema 'gisplan' that is not a gisplan version store; "
                f"give another database / cơ sở dữ liệu {self.display} có lược đồ 'gisplan' nhưng không phải kho "
                "phương án gisplan; hãy chọn cơ sở dữ liệu khác"
            )
        version = int(meta.get("schema_version", "0"))
        if version > migrations.SCHEMA_VERSION:
            raise StoreError(
                f"version store {self.display} has schema version {version}, newer than the "
                f"{migrations.SCHEMA_VERSION} this gisplan reads; upgrade gisplan to open it / kho phương án "
                f"{self.display} có phiên bản lược đồ {version}, mới hơn phiên bản {migrations.SCHEMA_VERSION} mà "
                "gisplan này đọc được; hãy nâng cấp gisplan để mở kho"
            )
        self.read_only = not conn.execute("SELECT has_table_privilege('gisplan.versions', 'INSERT')").fetchone()[0]
        self.schema_version = version
        if version < migrations.SCHEMA_VERSION and not self.read_only:
            self._migrate(conn)

    def _initialize(self, conn: _Conn) -> None:
        psycopg = self.psycopg
        try:
            with conn.raw.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
                if conn.execute("SELECT to_regclass('gisplan.meta') IS NULL").fetchone()[0]:
                    for statement in migrations.postgres_v1_statements():
                        conn.raw.execute(statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StoreError(
                f"cannot create a version store in {self.display}: {str(exc).strip()}. Ask the database's owner "
                "to create it once (`gisplan store copy` or any save as a user with CREATE on the database) "
                f"/ không tạo được kho phương án trong {self.display}: {str(exc).strip()}. Hãy nhờ chủ sở hữu cơ sở "
                "dữ liệu tạo kho một lần (`gisplan store copy` hoặc lưu một phương án bằng người dùng có quyền "
                "CREATE trên cơ sở dữ liệu)"
            ) from exc

    def _migrate(self, conn: _Conn) -> None:
        psycopg = self.psycopg
        while True:
            try:
                with conn.raw.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
                    current = int(
                        conn.execute("SELECT value FROM gisplan.meta WHERE key = 'schema_version'").fetchone()[0]
                    )
                    if current >= migrations.SCHEMA_VERSION:
                        break
                    if current == 1:
                        self._require_postgis(conn)
                    for statement in migrations.postgres_steps(current):
                        conn.raw.execute(statement)
                    conn.execute(
                        "INSERT INTO gisplan.migrations (schema_version, applied_at, gisplan_version) VALUES (?, ?, ?)",
                        (current + 1, migrations.now_text(), migrations.gisplan_version()),
                    )
                    conn.execute("UPDATE gisplan.meta SET value = ? WHERE key = 'schema_version'", (str(current + 1),))
                    self._grant_readers(conn)
            except psycopg.errors.InsufficientPrivilege as exc:
                raise StoreError(
                    f"version store {self.display} needs a schema upgrade that your database user may not run "
                    f"({str(exc).strip()}); nothing was changed. Ask the store's owner to open it once "
                    f"/ kho phương án {self.display} cần nâng cấp lược đồ nhưng người dùng cơ sở dữ liệu của bạn "
                    f"không có quyền chạy ({str(exc).strip()}); không có gì bị thay đổi. Hãy nhờ chủ sở hữu kho mở "
                    "kho một lần"
                ) from exc
        self.schema_version = migrations.SCHEMA_VERSION

    def _require_postgis(self, conn: _Conn) -> None:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        psycopg = self.psycopg
        try:
            with conn.raw.transaction():
                conn.raw.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise StoreError(
                f"the version store {self.display} needs the PostGIS extension, which is not installed in this "
                f"database and your user may not add it ({str(exc).strip()}). Ask the database administrator to run "
                "CREATE EXTENSION postgis; (Debian: apt-get install postgresql-15-postgis-3) "
                f"/ kho phương án {self.display} cần phần mở rộng PostGIS, chưa được cài trong cơ sở dữ liệu này và "
                f"người dùng của bạn không có quyền thêm ({str(exc).strip()}). Hãy nhờ quản trị viên cơ sở dữ liệu "
                "chạy CREATE EXTENSION postgis; (Debian: apt-get install postgresql-15-postgis-3)"
            ) from exc

    def _grant_readers(self, conn: _Conn) -> None:
        """Create :data:`READER_ROLE` when allowed and grant it read access; else leave it to the administrator."""
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (READER_ROLE,)).fetchone()
        if not exists:
            may_create = conn.execute(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
            ).fetchone()[0]
            if not may_create:
                return
            conn.raw.execute(f"CREATE ROLE {READER_ROLE} NOLOGIN")
        for schema in ("gisplan", "gisplan_layers"):
            conn.raw.execute(f"GRANT USAGE ON SCHEMA {schema} TO {READER_ROLE}")
            conn.raw.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {READER_ROLE}")
            conn.raw.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {READER_ROLE}")

    # -- transactions --------------------------------------------------------------------------------------------

    @contextmanager
    def write(self, conn: _Conn) -> Iterator[_Conn]:
        """One transaction holding the store's write lock; lock waits beyond ``timeout`` are a ConflictError."""
        if self.read_only:
            raise read_only_error(self.display)
        psycopg = self.psycopg
        try:
            with conn.raw.transaction():
                conn.raw.execute(f"SET LOCAL lock_timeout = {max(int(self.timeout * 1000), 1)}")
                conn.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))
                conn.raw.execute("SET LOCAL lock_timeout = 0")
                yield conn
        except psycopg.errors.LockNotAvailable as exc:
            raise busy_error(self.display, self.timeout, str(exc).strip()) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise read_only_error(self.display) from exc
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            raise StoreError(
                f"writing to version store {self.display} failed, nothing was written: {str(exc).strip()} "
                f"/ ghi vào kho phương án {self.display} thất bại, không có gì được ghi: {str(exc).strip()}"
            ) from exc

    @contextmanager
    def read(self, conn: _Conn) -> Iterator[_Conn]:
        """A consistent snapshot (REPEATABLE READ, READ ONLY) for several SELECTs."""
        psycopg = self.psycopg
        try:
            with conn.raw.transaction():
                conn.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            raise StoreError(
                f"reading version store {self.display} failed: {str(exc).strip()} "
                f"/ đọc kho phương án {self.display} thất bại: {str(exc).strip()}"
            ) from exc

    # -- backend specifics ---------------------------------------------------------------------------------------

    def max_item_bytes(self, conn: _Conn) -> int:
        return (1 << 30) - 1  # a bytea value holds at most 1 GB

    def integrity_problems(self, conn: _Conn) -> list[str]:
        problems = []
        for vid, name in conn.execute(
            "SELECT a.version_id, a.name FROM version_artifacts a LEFT JOIN blobs b ON b.sha256 = a.sha256 "
            "WHERE b.sha256 IS NULL"
        ):
            problems.append(f"artifact {name!r} of version {vid[:12]} has no blob")
        if self.schema_version >= 2:
            for (vid,) in conn.execute(
                "SELECT DISTINCT f.version_id FROM plan_features f "
                "WHERE NOT EXISTS (SELECT 1 FROM version_artifacts a WHERE a.version_id = f.version_id "
                "AND a.name = f.artifact)"
            ):
                problems.append(f"plan layers of version {vid[:12]} name an artifact it does not have")
        return problems

    def is_transient(self, exc: BaseException) -> bool:
        """A lost connection or a server shutting down: the transaction was rolled back; retrying is safe."""
        psycopg = self.psycopg
        cause = exc.__cause__ if isinstance(exc, StoreError) else exc
        return isinstance(cause, psycopg.OperationalError) and not isinstance(cause, psycopg.errors.LockNotAvailable)

    def wait_for_server(self, deadline: float) -> None:
        """Sleep a little (the server is restarting) unless ``deadline`` (monotonic) has passed."""
        if time.monotonic() < deadline:
            time.sleep(0.5)

    # -- plan layers ---------------------------------------------------------------------------------------------

    def after_save(self, conn: _Conn, vid: str, artifacts: Mapping[str, bytes]) -> None:
        """Write the layers of every GeoPackage artifact to ``plan_features``, with a view per layer name."""
        if self.schema_version < 2:
            return
        for name in sorted(artifacts):
            if name.lower().endswith(".gpkg"):
                self._write_layers(conn, vid, name, artifacts[name])

    def _write_layers(self, conn: _Conn, vid: str, artifact: str, data: bytes) -> None:
        import pyogrio
        import shapely

        with tempfile.TemporaryDirectory(prefix="gisplan-layers-") as tmp:
            path = Path(tmp) / "plan.gpkg"
            path.write_bytes(data)
            try:
                listed = pyogrio.list_layers(path)
            except Exception as exc:  # GDAL raises several types for a file it cannot read
                raise StoreError(
                    f"artifact {artifact!r} is not a readable GeoPackage ({exc}); nothing was saved "
                    f"/ tệp kết quả {artifact!r} không phải GeoPackage đọc được ({exc}); không có gì được lưu"
                ) from exc
            for layer, _geometry_type in listed:
                layer = str(layer)
                if layer in ("layer_styles",) or layer.startswith("gpkg_"):
                    continue
                frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
                srid = 0
                geoms: list[bytes | None] = [None] * len(frame)
                if "geometry" in frame.columns and hasattr(frame, "crs"):
                    srid = int(frame.crs.to_epsg() or 0) if frame.crs is not None else 0
                    geoms = [None if g is None else bytes(shapely.to_wkb(g)) for g in frame.geometry]
                    attrs = frame.drop(columns="geometry")
                else:
                    attrs = frame
                records = json.loads(attrs.to_json(orient="records", date_format="iso", force_ascii=False))
                conn.executemany(
                    "INSERT INTO plan_features (version_id, artifact, layer, fid, attributes, geom) "
                    "VALUES (?, ?, ?, ?, ?::jsonb, ST_SetSRID(ST_GeomFromWKB(?), ?))",
                    [
                        (vid, artifact, layer, int(fid), json.dumps(rec, ensure_ascii=False), geom, srid)
                        for fid, rec, geom in zip(frame.index, records, geoms, strict=True)
                    ],
                )
                self._ensure_view(conn, layer)

    def _ensure_view(self, conn: _Conn, layer: str) -> None:
        if not _VIEW_NAME.fullmatch(layer):
            return
        if conn.execute("SELECT to_regclass(?) IS NOT NULL", (f"gisplan_layers.{layer}",)).fetchone()[0]:
            return
        sql = self.psycopg.sql
        view = sql.SQL(
            "CREATE VIEW gisplan_layers.{} AS SELECT f.gid, f.version_id, left(f.version_id, 12) AS short_id, "
            "s.scenario_name, s.status, s.is_latest, s.created_at, s.author, f.artifact, f.fid, f.attributes, f.geom "
            "FROM gisplan.plan_features f JOIN gisplan.version_status s ON s.version_id = f.version_id "
            "WHERE f.layer = {}"
        ).format(sql.Identifier(layer), sql.Literal(layer))
        conn.raw.execute(view)
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = ?", (READER_ROLE,)).fetchone():
            conn.raw.execute(
                sql.SQL("GRANT SELECT ON gisplan_layers.{} TO {}").format(
                    sql.Identifier(layer), sql.Identifier(READER_ROLE)
                )
            )
