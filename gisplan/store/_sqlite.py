"""The SQLite backend of the version store: one file in WAL mode.

Private to :mod:`gisplan.store.versions`.  The store's identity is checked on every open:
``PRAGMA application_id`` must be :data:`APPLICATION_ID` and ``PRAGMA user_version`` at most
:data:`~gisplan.store._migrations.SCHEMA_VERSION`.  Tables are append-only: triggers refuse every
``UPDATE`` and ``DELETE`` of versions, their artifacts, blobs and reviews.

A store whose file or folder cannot be written (a read-only network share) is opened read-only:
it can be listed, shown, exported and compared; saving and reviewing raise a clear
:class:`~gisplan._errors.StoreError`.  An older schema is migrated on the first writable open
(:mod:`gisplan.store._migrations`); a read-only open reads it as it is.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gisplan._errors import ConflictError, StoreError
from gisplan.store import _migrations as migrations

#: ``PRAGMA application_id`` of a gisplan store: the ASCII bytes "GPVS" (gisplan version store).
APPLICATION_ID = int.from_bytes(b"GPVS", "big")
SCHEMA_VERSION = migrations.SCHEMA_VERSION

#: Seconds a reader waits at least for a transient lock (WAL recovery when several processes open the store
#: at once), whatever the store's write ``timeout``.
READ_TIMEOUT = 10.0

_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = ("meta", "blobs", "versions", "version_artifacts", "reviews")


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock we waited for in vain."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def damaged_error(where: str, exc: BaseException | str) -> StoreError:
    """The message of a store SQLite itself finds damaged: what happened and the way back (a backup)."""
    return StoreError(
        f"version store {where} is damaged (kho phương án bị hỏng; SQLite says: {exc}). Nothing was changed. "
        "Restore the file from your latest backup (khôi phục từ bản sao lưu), or ask an administrator to try "
        "`sqlite3 FILE .recover`; keep the damaged file for them. Versions copied elsewhere with "
        f"`gisplan store copy` are safe / kho phương án {where} bị hỏng (SQLite báo: {exc}); không có gì bị thay "
        "đổi. Hãy khôi phục tệp từ bản sao lưu gần nhất, hoặc nhờ quản trị viên thử `sqlite3 FILE .recover` và giữ "
        "lại tệp hỏng cho họ. Các phương án đã chép sang nơi khác bằng `gisplan store copy` vẫn an toàn"
    )


class SQLiteBackend:
    """One store file.  Every call opens its own connection (threads and processes may share the file)."""

    kind = "sqlite"

    def __init__(self, path: Path, *, create: bool, timeout: float) -> None:
        self.path = path
        self.location = str(path)
        self.display = str(path)
        self.timeout = timeout
        self.read_only = False
        self.schema_version = SCHEMA_VERSION
        if path.exists() and not path.is_dir():
            # a file or folder we may not write: read it as it is (a read-only share); never try to create or migrate
            self.read_only = not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
        conn = self._open(create=create)
        conn.close()

    # -- connections ---------------------------------------------------------------------------------------------

    def _open(self, *, create: bool) -> sqlite3.Connection:
        path = self.path
        if not path.exists() and not create:
            raise StoreError(
                f"no version store at {path}: check the path (CLI: --store, "
                "or $GISPLAN_STORE), or save a first version there (`gisplan save RUN_DIR --store PATH ...`; "
                f"in Python VersionStore(path, create=True)) / không có kho phương án tại {path}: hãy kiểm tra đường "
                "dẫn (CLI: --store, hoặc $GISPLAN_STORE), hoặc lưu phương án đầu tiên vào đó (`gisplan save "
                "THƯ_MỤC_KẾT_QUẢ --store ĐƯỜNG_DẪN ...`; trong Python: VersionStore(path, create=True))"
            )
        if path.exists() and path.is_dir():
            raise StoreError(
                f"version store path {path} is a directory; give a file path such as {path / 'store.sqlite'} "
                f"/ đường dẫn kho phương án {path} là một thư mục; hãy cho đường dẫn tệp, ví dụ {path / 'store.sqlite'}"
            )
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        wait = max(self.timeout, READ_TIMEOUT)
        try:
            if self.read_only:
                conn = self._connect_read_only(wait)
            else:
                conn = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open version store {path}: {exc} / không mở được kho phương án {path}: {exc}"
            ) from exc
        try:
            _set_busy_timeout(conn, wait)
            self._check_identity(conn, create=create)
            conn.execute("PRAGMA foreign_keys = ON")
            if not self.read_only:
                conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_read_only(self, wait: float) -> sqlite3.Connection:
        """``mode=ro``; a WAL store whose folder refuses the ``-shm`` file is read as immutable.

        SQLite needs a shared-memory file beside a WAL database.  On a read-only folder it cannot be
        created; then no writer can have left a ``-wal`` file either (it would need the same folder), so
        reading the main file as immutable sees every committed version.
        """
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=wait, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            text = str(exc).lower()
            if "unable to open" not in text and "readonly" not in text:
                raise
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"version store {self.path} is read-only and has unfinished writes in {wal.name}; "
                "ask whoever writes the share to open it once (any gisplan command) so SQLite can finish them "
                f"/ kho phương án {self.path} chỉ đọc được và còn dữ liệu ghi dở trong {wal.name}; hãy nhờ người có "
                "quyền ghi thư mục dùng chung mở kho một lần (bằng bất kỳ lệnh gisplan nào) để SQLite ghi xong"
            )
        return sqlite3.connect(
            f"{uri}?mode=ro&immutable=1", uri=True, timeout=wait, isolation_level=None, check_same_thread=False
        )

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self._open(create=False)
        try:
            yield conn
        finally:
            conn.close()

    def _check_identity(self, conn: sqlite3.Connection, *, create: bool) -> None:
        path = self.path
        try:
            app_id, user_version, tables = _identity(conn)
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                raise busy_error(self.display, self.timeout, exc) from exc
            raise self._unreadable(exc) from exc
        if app_id == 0 and user_version == 0 and not tables:
            if not create or self.read_only:
                raise StoreError(
                    f"{path} is an empty SQLite file, not a gisplan version store; open it with create=True "
                    f"/ {path} là tệp SQLite rỗng, không phải kho phương án gisplan; hãy mở với create=True"
                )
            self._initialize(conn)
            return
        if app_id != APPLICATION_ID or not set(_TABLES) <= tables:
            if app_id == APPLICATION_ID:
                raise damaged_error(self.display, f"tables {sorted(tables)} instead of {sorted(_TABLES)}")
            raise StoreError(
                f"{path} is an SQLite database but not a gisplan version store (application_id {app_id:#x}, "
                f"tables {sorted(tables)[:8]}); give the path of a store file or a new file name "
                f"/ {path} là cơ sở dữ liệu SQLite nhưng không phải kho phương án gisplan (application_id "
                f"{app_id:#x}, các bảng {sorted(tables)[:8]}); hãy cho đường dẫn tệp kho hoặc một tên tệp mới"
            )
        if user_version > SCHEMA_VERSION:
            raise StoreError(
                f"version store {path} has schema version {user_version}, newer than the {SCHEMA_VERSION} this "
                f"gisplan reads; upgrade gisplan to open it / kho phương án {path} có phiên bản lược đồ "
                f"{user_version}, mới hơn phiên bản {SCHEMA_VERSION} mà gisplan này đọc được; hãy nâng cấp gisplan "
                "để mở kho"
            )
        if user_version < 1:
            raise damaged_error(self.display, f"invalid schema version {user_version}")
        self.schema_version = user_version
        if user_version < SCHEMA_VERSION and not self.read_only:
            self._migrate(conn)

    def _unreadable(self, exc: sqlite3.Error) -> StoreError:
        """A file SQLite cannot read: damaged if its header says it was a gisplan store (or SQLite database)."""
        try:
            with open(self.path, "rb") as fh:
                header = fh.read(100)
        except OSError:
            header = b""
        if header.startswith(_SQLITE_HEADER) and header[68:72] == b"GPVS":
            return damaged_error(self.display, exc)
        if header.startswith(_SQLITE_HEADER) or (is_corrupt(exc) and header.startswith(_SQLITE_HEADER[:6])):
            return StoreError(
                f"{self.path} is a damaged SQLite database (SQLite says: {exc}); if it was a gisplan version store "
                "(kho phương án), restore it from your latest backup; otherwise give the path of a store file "
                f"/ {self.path} là cơ sở dữ liệu SQLite bị hỏng (SQLite báo: {exc}); nếu đó là kho phương án "
                "gisplan, hãy khôi phục từ bản sao lưu gần nhất; nếu không, hãy cho đường dẫn tệp kho"
            )
        return StoreError(
            f"{self.path} is not a gisplan version store (SQLite says: {exc}); give the path of a store file "
            "or a new file name. If this file was a store, it is damaged beyond recognition: restore it from "
            f"your latest backup (khôi phục từ bản sao lưu) / {self.path} không phải kho phương án gisplan (SQLite "
            f"báo: {exc}); hãy cho đường dẫn tệp kho hoặc một tên tệp mới. Nếu tệp này từng là kho, nó đã hỏng đến "
            "mức không nhận ra được: hãy khôi phục từ bản sao lưu gần nhất"
        )

    def _initialize(self, conn: sqlite3.Connection) -> None:
        """Create the schema in one transaction; a concurrent creator simply wins the race."""
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if is_busy(exc):
                raise busy_error(self.display, self.timeout, exc) from exc
            raise StoreError(
                f"cannot create version store {self.path}: {exc} / không tạo được kho phương án {self.path}: {exc}"
            ) from exc
        try:
            app_id, _, tables = _identity(conn)
            if app_id == 0 and not tables:  # nobody created it while we waited for the lock
                for statement in migrations.sqlite_v1_statements():
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("PRAGMA user_version = 1")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        self._check_identity(conn, create=False)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring an older store to :data:`SCHEMA_VERSION`, one step per transaction."""
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if is_busy(exc):
                    raise busy_error(self.display, self.timeout, exc) from exc
                raise StoreError(
                    f"cannot migrate version store {self.path}: {exc} "
                    f"/ không nâng cấp được lược đồ của kho phương án {self.path}: {exc}"
                ) from exc
            try:
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current >= SCHEMA_VERSION:
                    conn.execute("COMMIT")
                    break
                for statement in migrations.sqlite_steps(current):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO migrations (schema_version, applied_at, gisplan_version) VALUES (?, ?, ?)",
                    (current + 1, migrations.now_text(), migrations.gisplan_version()),
                )
                conn.execute(f"PRAGMA user_version = {current + 1}")
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(
                    f"migrating version store {self.path} failed, nothing was changed: {exc} "
                    f"/ nâng cấp lược đồ của kho phương án {self.path} thất bại, không có gì bị thay đổi: {exc}"
                ) from exc
            except BaseException:
                _rollback(conn)
                raise
        self.schema_version = SCHEMA_VERSION

    # -- transactions --------------------------------------------------------------------------------------------

    @contextmanager
    def write(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; roll back on any exception, map lock timeouts to ConflictError.

        Waiting for the write lock is limited by ``timeout``; once it is held, the
        connection waits up to :data:`READ_TIMEOUT` for transient locks again.
        """
        if self.read_only:
            raise read_only_error(self.display)
        _set_busy_timeout(conn, self.timeout)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise busy_error(self.display, self.timeout, exc) from exc
            raise StoreError(
                f"cannot write to version store {self.path}: {exc} "
                f"/ không ghi được vào kho phương án {self.path}: {exc}"
            ) from exc
        finally:
            _set_busy_timeout(conn, max(self.timeout, READ_TIMEOUT))
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            if is_busy(exc):
                raise busy_error(self.display, self.timeout, exc) from exc
            if is_corrupt(exc):
                raise damaged_error(self.display, exc) from exc
            raise StoreError(
                f"writing to version store {self.path} failed, nothing was written: {exc} "
                f"/ ghi vào kho phương án {self.path} thất bại, không có gì được ghi: {exc}"
            ) from exc
        except BaseException:
            _rollback(conn)
            raise

    @contextmanager
    def read(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        try:
            conn.execute("BEGIN")
            yield conn
        except sqlite3.Error as exc:
            _rollback(conn)
            if is_busy(exc):
                raise busy_error(self.display, self.timeout, exc) from exc
            if is_corrupt(exc):
                raise damaged_error(self.display, exc) from exc
            raise StoreError(
                f"reading version store {self.path} failed: {exc} / đọc kho phương án {self.path} thất bại: {exc}"
            ) from exc
        except BaseException:
            _rollback(conn)
            raise
        else:
            conn.execute("COMMIT")

    # -- backend specifics ---------------------------------------------------------------------------------------

    def max_item_bytes(self, conn: sqlite3.Connection) -> int:
        return int(conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)) - 1

    def integrity_problems(self, conn: sqlite3.Connection) -> list[str]:
        problems = []
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems += [f"SQLite integrity: {line}" for line in result]
        problems += [f"dangling reference: {row}" for row in conn.execute("PRAGMA foreign_key_check")]
        return problems

    def after_save(self, conn: sqlite3.Connection, vid: str, artifacts: Mapping[str, bytes]) -> None:
        """Nothing: an SQLite store keeps plan layers only inside the saved GeoPackage."""

    def is_transient(self, exc: BaseException) -> bool:
        """SQLite has no connection to lose."""
        return False

    def wait_for_server(self, deadline: float) -> None:
        """Nothing to wait for."""


def busy_error(where: str, timeout: float, exc: Any) -> ConflictError:
    """The :class:`ConflictError` for a store that stayed locked longer than ``timeout``."""
    return ConflictError(
        f"version store {where} is busy: another process held its write lock for more than {timeout:g} s "
        f"({exc}); nothing was written. Retry, or raise the store's timeout. / kho phương án {where} đang bận: một "
        f"tiến trình khác giữ khóa ghi lâu hơn {timeout:g} giây ({exc}); không có gì được ghi. Hãy thử lại, hoặc "
        "tăng thời gian chờ (timeout) của kho."
    )


def read_only_error(where: str) -> StoreError:
    """A write to a store this user may only read."""
    return StoreError(
        f"version store {where} is read-only for you (kho chỉ đọc): versions can be listed, shown, exported and "
        "compared, not saved or reviewed. Save to a store you may write (--store or $GISPLAN_STORE), or ask its "
        f"administrator for write access / bạn chỉ có quyền đọc kho phương án {where}: có thể liệt kê, xem, xuất và "
        "so sánh các phương án, nhưng không thể lưu hay thẩm định. Hãy lưu vào kho bạn có quyền ghi (--store hoặc "
        "$GISPLAN_STORE), hoặc xin quản trị viên của kho cấp quyền ghi"
    )


def _identity(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    user_version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables.discard("sqlite_sequence")
    tables.discard("migrations")
    return int(app_id), int(user_version), tables


def _set_busy_timeout(conn: sqlite3.Connection, seconds: float) -> None:
    conn.execute(f"PRAGMA busy_timeout = {max(int(seconds * 1000), 0)}")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
