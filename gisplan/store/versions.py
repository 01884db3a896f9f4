"""The version store: immutable, reviewed versions of scenario runs, in one SQLite file or a PostgreSQL database.

Saving a run makes a :class:`Version`: the scenario text, the run's artifacts
(BOQ workbook, result layers, report ... as bytes by name) and its KPIs, with
parent, author, message and time.  Its id is a content hash, so a version can
never change without changing its id.  Reviews are appended to a version and
move its status along :data:`TRANSITIONS`.

Guarantees
----------
- **Immutable.** There is no API to change or delete a version, its artifacts or
  its reviews, and triggers (SQLite and PostgreSQL) refuse ``UPDATE`` and ``DELETE`` on them.
  Artifact blobs are stored once per SHA-256 and checked against it on every
  read: a blob changed on disk raises :class:`~gisplan._errors.StoreError`.  Every
  version read is checked against its id (:attr:`Version.intact`); an export refuses
  a version that fails, and any artifact name no gisplan would save.
- **Atomic.** A save is one transaction (SQLite: ``BEGIN IMMEDIATE`` in WAL mode;
  PostgreSQL: under an advisory lock): a writer killed half-way, or a PostgreSQL
  server restarting under it, leaves the store exactly as it was; a PostgreSQL save
  whose connection was lost is retried with the same content (idempotent, below).
- **Concurrent.** Writers queue on the store's lock for up to ``timeout``
  seconds; a writer that waits longer gets :class:`~gisplan._errors.ConflictError`
  and wrote nothing.  ``save(..., expected_head=...)`` refuses, with
  ``ConflictError``, to save when someone else saved the same scenario since.
- **Idempotent.** Saving exactly the same version again (same content, parent,
  author, message and ``created_at``) returns the existing version instead of a
  copy; so a save retried after an unclear failure never duplicates.  Saving the
  same content with another time or message makes a new version (its blobs are
  shared): that is how a rejected or approved version is resubmitted.

Examples
--------
>>> import tempfile, pathlib
>>> store = VersionStore(pathlib.Path(tempfile.mkdtemp()) / "gisplan-store.sqlite")
>>> v1 = store.save(scenario_name="phu-quoc-duong-30-4", scenario_text="name: demo\\n",
...                 artifacts={"boq.csv": b"item,amount\\nT1,1000\\n"}, kpis={"total_vnd": 1000},
...                 author="lan", message="first plan", created_at="2025-03-01T08:00:00+07:00")
>>> v1.status, v1.created_at
('draft', '2025-03-01T01:00:00Z')
>>> store.review(v1.short_id, status="in_review", reviewer="minh").status
'in_review'
>>> store.artifact("phu-quoc-duong-30-4@latest", "boq.csv")
b'item,amount\\nT1,1000\\n'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gisplan._atomic import _staging_dir
from gisplan._errors import ConflictError, StoreError
from gisplan.store import _codec as codec
from gisplan.store._postgres import PostgresBackend, is_postgres
from gisplan.store._records import ArtifactInfo, Review, Version
from gisplan.store._sqlite import SQLiteBackend

__all__ = [
    "DEFAULT_STORE_NAME",
    "NO_HEAD",
    "STATUSES",
    "TRANSITIONS",
    "ArtifactInfo",
    "Review",
    "Version",
    "VersionStore",
]

#: File name of the store the CLI and the app use by default.
DEFAULT_STORE_NAME = "gisplan-store.sqlite"
#: Review statuses, in workflow order; a new version is ``"draft"``.
STATUSES: tuple[str, ...] = ("draft", "in_review", "approved", "rejected")
#: Allowed review transitions: status -> statuses a review may set next.  A review
#: that keeps the status adds a comment.  ``approved`` and ``rejected`` are final:
#: to change an approved or rejected plan, save a new version.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "draft": ("draft", "in_review"),
    "in_review": ("in_review", "approved", "rejected"),
    "approved": (),
    "rejected": (),
}
#: Pass as ``expected_head`` to require that the scenario has no version yet.
NO_HEAD = ""
#: Shortest accepted id prefix.
MIN_PREFIX = 4

#: Testing only: called with a stage name ("blobs_written", "rows_written") inside the
#: save transaction, so tests can kill a writer half-way deterministically.
_save_hook: Callable[[str], None] | None = None

_VERSION_SELECT = """
SELECT v.id, v.scenario_name, v.parent, v.author, v.message, v.created_at, v.scenario_sha256, v.kpis_json,
       COALESCE((SELECT r.status FROM reviews r WHERE r.version_id = v.id ORDER BY r.seq DESC LIMIT 1), 'draft')
FROM versions v
"""


class VersionStore:
    """Versions of scenario runs in one SQLite file or one PostgreSQL + PostGIS database.

    Parameters
    ----------
    path
        The store: a file such as ``"gisplan-store.sqlite"``, or a PostgreSQL URI such as
        ``"postgresql://planner@db.so-tttt.local/gisplan"`` (PostGIS needed; see the README).
        :func:`gisplan.store.store_location` gives the one rule every entry point uses.
    create
        Create the store (SQLite: the file and its folder; PostgreSQL: schema ``gisplan`` in the
        database) if it does not exist; otherwise a missing store is a :class:`~gisplan._errors.StoreError`.
    timeout
        Seconds a writer waits for another writer before
        :class:`~gisplan._errors.ConflictError`.

    Raises
    ------
    StoreError
        If ``path`` is not a gisplan store (another SQLite database, or not a
        database at all), is damaged, or was written by a newer gisplan (schema version).

    Notes
    -----
    The object holds only the location: every call opens its own connection, so a
    store may be used from several threads and processes at once.  Both backends give the
    same API, the same ids and the same guarantees; a store this user may only read
    (a file on a read-only share, a PostgreSQL reader role) is opened read-only
    (:attr:`read_only`): listing, showing, exporting and comparing work, writes raise StoreError.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0) -> None:
        if timeout < 0:
            raise StoreError(
                f"timeout must be >= 0 seconds, got {timeout} "
                f"/ thời gian chờ (timeout) phải >= 0 giây, đang là {timeout}"
            )
        self.timeout = float(timeout)
        self._backend: SQLiteBackend | PostgresBackend
        if is_postgres(path):
            self._backend = PostgresBackend(str(path), create=create, timeout=self.timeout)
        else:
            self._backend = SQLiteBackend(Path(path), create=create, timeout=self.timeout)
        #: The store file (None for a PostgreSQL store).
        self.path: Path | None = self._backend.path
        #: The location as given: a file path or a PostgreSQL URI.
        self.location: str = self._backend.location

    def __repr__(self) -> str:
        return f"VersionStore({self._backend.display!r})"

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._backend.kind

    @property
    def display(self) -> str:
        """The location for messages and captions (a PostgreSQL password hidden)."""
        return self._backend.display

    @property
    def read_only(self) -> bool:
        """Whether this user may only read the store."""
        return self._backend.read_only

    @property
    def schema_version(self) -> int:
        """The store's schema version (see :mod:`gisplan.store._migrations`)."""
        return self._backend.schema_version

    # -- writing -------------------------------------------------------------------------------------------------

    def save(
        self,
        *,
        scenario_name: str,
        scenario_text: str,
        artifacts: Mapping[str, bytes],
        kpis: Mapping[str, Any],
        author: str,
        message: str,
        parent: str | None = None,
        created_at: str | None = None,
        expected_head: str | None = None,
    ) -> Version:
        """Save a run as a new immutable version, in one transaction.

        Parameters
        ----------
        scenario_name
            Name that groups a scenario's versions (no ``@``).
        scenario_text
            The scenario file's text (YAML).
        artifacts
            Artifact name (relative path such as ``"boq.xlsx"``) -> content.
        kpis
            Key figures; plain JSON values (numpy numbers are converted; NaN is refused).
        author, message
            Who saved it and why; both required.
        parent
            Ref of the version this one derives from (id, unique prefix, ``name@latest``); must exist.
        created_at
            ISO 8601 time with a zone; default now.  Stored in UTC.
        expected_head
            If given, the ref of the version the caller believes is the latest of
            ``scenario_name`` (or :data:`NO_HEAD` for "none yet"); when another
            version was saved since, nothing is written and ConflictError is raised.

        Returns
        -------
        Version
            The new version, or the existing one if exactly this version was saved before.

        Raises
        ------
        StoreError
            On invalid input or an unknown parent; nothing is written.
        ConflictError
            If ``expected_head`` is stale, or the store stayed locked by another
            writer for longer than ``timeout``; nothing is written.
        """
        name = codec.check_scenario_name(scenario_name)
        text = codec.check_text(scenario_text, "scenario_text", max_len=1 << 30)
        author = codec.check_text(author, "author", max_len=200)
        message = codec.check_text(message, "message")
        when = codec.normalize_time(created_at)
        kpis_json = codec.canonical_json(codec.normalize_kpis(kpis))
        blobs, contents = codec.prepare_artifacts(artifacts)
        scenario_bytes = text.encode("utf-8")
        scenario_sha = codec.sha256_hex(scenario_bytes)
        blobs[scenario_sha] = scenario_bytes

        deadline = time.monotonic() + max(self.timeout, 60.0)
        while True:
            try:
                return self._save_once(
                    name,
                    text,
                    author,
                    message,
                    when,
                    kpis_json,
                    blobs,
                    contents,
                    scenario_sha,
                    parent,
                    expected_head,
                    dict(artifacts),
                )
            except StoreError as exc:
                # a PostgreSQL connection lost mid-save (server restart): the server rolled the transaction back,
                # and the same fields give the same id, so saving again is idempotent
                if not self._backend.is_transient(exc) or time.monotonic() > deadline:
                    raise
                self._backend.wait_for_server(deadline)

    def _save_once(
        self,
        name: str,
        text: str,
        author: str,
        message: str,
        when: str,
        kpis_json: str,
        blobs: dict[str, bytes],
        contents: dict[str, tuple[str, int]],
        scenario_sha: str,
        parent: str | None,
        expected_head: str | None,
        artifacts: Mapping[str, bytes],
    ) -> Version:
        with self._connection() as conn:
            limit = self._backend.max_item_bytes(conn)
            for digest, data in blobs.items():
                if len(data) > limit:
                    what = [n for n, (d, _) in contents.items() if d == digest] or ["scenario_text"]
                    raise StoreError(
                        f"{what[0]} is {len(data)} bytes; the store keeps at most {limit} per item "
                        f"/ {what[0]} có {len(data)} byte; kho chỉ lưu tối đa {limit} byte cho mỗi mục"
                    )
            with self._backend.write(conn):
                parent_id = self._resolve(conn, parent) if parent is not None else None
                vid = codec.version_id(
                    scenario_name=name,
                    scenario_sha256=scenario_sha,
                    artifacts={n: d for n, (d, _) in contents.items()},
                    kpis_json=kpis_json,
                    parent=parent_id,
                    author=author,
                    message=message,
                    created_at=when,
                )
                if conn.execute("SELECT 1 FROM versions WHERE id = ?", (vid,)).fetchone() is None:
                    if expected_head is not None:
                        self._check_head(conn, name, expected_head)
                    self._insert_blobs(conn, blobs)
                    _run_hook("blobs_written")
                    self._insert(conn, vid, name, parent_id, author, message, when, scenario_sha, kpis_json)
                    conn.executemany(
                        "INSERT INTO version_artifacts (version_id, name, sha256, size) VALUES (?, ?, ?, ?)",
                        [(vid, n, d, s) for n, (d, s) in contents.items()],
                    )
                    self._backend.after_save(conn, vid, artifacts)
                    _run_hook("rows_written")
                # read back before COMMIT: once committed, nothing may fail and disguise a success as an error
                saved = self._load(conn, [vid])[0]
            return saved

    def review(
        self, ref: str, *, status: str, reviewer: str, comment: str = "", created_at: str | None = None
    ) -> Version:
        """Append a review that sets ``status`` (see :data:`TRANSITIONS`); return the version as it is now.

        Raises
        ------
        StoreError
            On an unknown status, a transition :data:`TRANSITIONS` does not allow
            (e.g. any review of an approved version), or an unknown ref.
        """
        if status not in STATUSES:
            raise StoreError(
                f"unknown review status {status!r} (trạng thái không hợp lệ); use one of {list(STATUSES)} "
                f"/ trạng thái thẩm định {status!r} không xác định; hãy dùng một trong {list(STATUSES)}"
            )
        reviewer = codec.check_text(reviewer, "reviewer", max_len=200)
        comment = codec.check_text(comment, "comment", allow_empty=True)
        when = codec.normalize_time(created_at)
        with self._connection() as conn:
            with self._backend.write(conn):
                vid = self._resolve(conn, ref)
                current = self._load(conn, [vid])[0].status
                if status not in TRANSITIONS[current]:
                    raise StoreError(_transition_message(vid, current, status))
                conn.execute(
                    "INSERT INTO reviews (version_id, previous_status, status, reviewer, comment, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (vid, current, status, reviewer, comment, when),
                )
                reviewed = self._load(conn, [vid])[0]
            return reviewed

    # -- reading -------------------------------------------------------------------------------------------------

    def get(self, ref: str) -> Version:
        """The version ``ref`` names: a full id, a unique prefix of at least 4 hex digits, or ``name@latest``.

        Raises
        ------
        StoreError
            If no version matches, or a prefix matches several (the message lists them).
        """
        with self._reading() as conn:
            return self._load(conn, [self._resolve(conn, ref)])[0]

    def log(self, *, scenario_name: str | None = None, limit: int | None = None) -> list[Version]:
        """Versions, newest saved first; only ``scenario_name``'s if given; at most ``limit``."""
        sql = "SELECT id FROM versions" + (" WHERE scenario_name = ?" if scenario_name is not None else "")
        sql += " ORDER BY seq DESC"
        args: tuple[Any, ...] = (scenario_name,) if scenario_name is not None else ()
        if limit is not None:
            if limit < 0:
                raise StoreError(f"limit must be >= 0, got {limit} / limit phải >= 0, đang là {limit}")
            sql += " LIMIT ?"
            args += (int(limit),)
        with self._reading() as conn:
            ids = [row[0] for row in conn.execute(sql, args)]
            return self._load(conn, ids)

    def head(self, scenario_name: str) -> Version | None:
        """The latest version of ``scenario_name``, or None if it has none."""
        found = self.log(scenario_name=scenario_name, limit=1)
        return found[0] if found else None

    def scenario_names(self) -> list[str]:
        """Names of the scenarios with at least one version, sorted."""
        with self._reading() as conn:
            return [row[0] for row in conn.execute("SELECT DISTINCT scenario_name FROM versions ORDER BY 1")]

    def artifact(self, ref: str, name: str) -> bytes:
        """The content of artifact ``name`` of version ``ref``, checked against its SHA-256.

        Raises
        ------
        StoreError
            If the version has no such artifact (the message lists those it has),
            or the stored bytes do not match their hash (the store was tampered with).
        """
        with self._reading() as conn:
            vid = self._resolve(conn, ref)
            row = conn.execute(
                "SELECT sha256 FROM version_artifacts WHERE version_id = ? AND name = ?", (vid, name)
            ).fetchone()
            if row is None:
                names = [r[0] for r in conn.execute("SELECT name FROM version_artifacts WHERE version_id = ?", (vid,))]
                raise StoreError(
                    f"version {vid[:12]} has no artifact {name!r}; it has {sorted(names)} "
                    f"/ Phiên bản {vid[:12]} không có tệp {name!r}"
                )
            return self._blob(conn, row[0], f"artifact {name!r} of version {vid[:12]}")

    def scenario_text(self, ref: str) -> str:
        """The scenario text saved with version ``ref``, checked against its SHA-256."""
        with self._reading() as conn:
            version = self._load(conn, [self._resolve(conn, ref)])[0]
            data = self._blob(conn, version.scenario_sha256, f"scenario text of version {version.short_id}")
        return data.decode("utf-8")

    def reviews(self, ref: str) -> list[Review]:
        """The reviews of version ``ref``, oldest first."""
        with self._reading() as conn:
            return self._reviews(conn, self._resolve(conn, ref))

    @staticmethod
    def _reviews(conn: Any, vid: str) -> list[Review]:
        rows = conn.execute(
            "SELECT version_id, seq, previous_status, status, reviewer, comment, created_at FROM reviews "
            "WHERE version_id = ? ORDER BY seq",
            (vid,),
        ).fetchall()
        return [Review(*row) for row in rows]

    def export_version(self, ref: str, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write version ``ref``'s artifacts into folder ``out_dir``, atomically, after verifying the version.

        Beside the artifacts go ``gisplan-scenario.yaml`` (the scenario text) and
        ``gisplan-version.json`` (the version's metadata and reviews).  Everything
        is written to a temporary folder next to ``out_dir`` and renamed into
        place, so ``out_dir`` is either complete or absent.  With ``overwrite``,
        an existing ``out_dir`` that is an earlier export (it holds ``gisplan-version.json``)
        or empty is replaced as a whole, by renames, so it is never half-written; any other
        folder is refused, so an export never deletes a user's files.

        Every artifact name is checked again (a crafted store may hold any name) and every
        path stays inside the export folder; the version's fields must still hash to its id
        and every blob to its SHA-256.

        Raises
        ------
        StoreError
            If ``out_dir`` exists and ``overwrite`` is false or it is not an earlier export, if the
            version fails verification, or if an artifact name would leave the folder.
        """
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise StoreError(
                f"export folder {out} is a file; choose a folder path / Nơi xuất {out} là một tệp: hãy chọn thư mục"
            )
        if out.exists() and not overwrite:
            raise StoreError(
                f"export folder {out} already exists; choose another folder or pass overwrite=True "
                f"/ Thư mục xuất {out} đã có: hãy chọn thư mục khác"
            )
        if out.exists() and not (out / codec.MANIFEST_NAME).is_file() and any(out.iterdir()):
            raise StoreError(
                f"export folder {out} holds files that are not an earlier gisplan export (no {codec.MANIFEST_NAME}); "
                "nothing was written. Choose an empty or new folder (thư mục đã có tệp khác) "
                f"/ thư mục xuất {out} chứa tệp không phải bản xuất trước đó của gisplan (không có "
                f"{codec.MANIFEST_NAME}); không có gì được ghi. Hãy chọn thư mục trống hoặc thư mục mới"
            )
        with self._reading() as conn:
            version = self._load(conn, [self._resolve(conn, ref)])[0]
            if not version.intact:
                raise StoreError(_tampered_message(version, self.display) + "; nothing was exported / không xuất gì")
            for a in version.artifacts:
                _check_stored_name(a.name, version)
            files = {a.name: self._blob(conn, a.sha256, f"artifact {a.name!r}") for a in version.artifacts}
            scenario = self._blob(conn, version.scenario_sha256, "scenario text")
            reviews = self._reviews(conn, version.id)
        manifest = version.to_dict()
        manifest["reviews"] = [r.to_dict() for r in reviews]
        files[codec.SCENARIO_FILE_NAME] = scenario
        files[codec.MANIFEST_NAME] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = _staging_dir(out)  # the mode of any new folder, not mkdtemp's private 0700
        try:
            root = tmp.resolve()
            for rel, data in files.items():
                target = tmp.joinpath(*rel.split("/"))
                if not target.resolve().is_relative_to(root):
                    raise StoreError(
                        f"artifact {rel!r} of version {version.short_id} would be written outside {out} "
                        f"/ Tệp {rel!r} sẽ bị ghi ra ngoài thư mục {out}: không xuất"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "xb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            _move_into_place(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out

    def verify(self) -> int:
        """Check the whole store: the database's integrity, every blob's hash, every version's id.

        Returns
        -------
        int
            The number of versions checked.

        Raises
        ------
        StoreError
            Listing every problem found.
        """
        problems: list[str] = []
        with self._reading() as conn:
            problems += self._backend.integrity_problems(conn)
            for digest, size, data in conn.execute("SELECT sha256, size, data FROM blobs"):
                if codec.sha256_hex(bytes(data)) != digest or len(data) != size:
                    problems.append(f"blob {digest[:12]} does not match its hash or size")
            ids = [row[0] for row in conn.execute("SELECT id FROM versions ORDER BY seq")]
            for version in self._load(conn, ids):
                if not version.intact:
                    problems.append(f"version {version.short_id}: its fields no longer hash to its id")
                for a in version.artifacts:
                    try:
                        codec.check_artifact_name(a.name)
                    except StoreError:
                        problems.append(f"version {version.short_id}: artifact name {a.name!r} is not allowed")
        if problems:
            raise StoreError(
                f"version store {self.display} failed verification (kho phương án đã bị sửa hoặc hỏng); restore it "
                "from a backup / hãy khôi phục kho từ bản sao lưu:\n  - " + "\n  - ".join(problems)
            )
        return len(ids)

    # -- internals -----------------------------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        with self._backend.connection() as conn:
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self._connection() as conn, self._backend.read(conn):
            yield conn

    def _resolve(self, conn: Any, ref: str) -> str:
        if not isinstance(ref, str) or not ref.strip():
            raise StoreError(
                f"a version ref must be a non-empty string, got {ref!r} "
                f"/ mã phương án phải là chuỗi khác rỗng, đang là {ref!r}"
            )
        if ref.endswith("@latest"):
            name = ref[: -len("@latest")]
            row = conn.execute(
                "SELECT id FROM versions WHERE scenario_name = ? ORDER BY seq DESC LIMIT 1", (name,)
            ).fetchone()
            if row is None:
                names = [r[0] for r in conn.execute("SELECT DISTINCT scenario_name FROM versions ORDER BY 1")]
                raise StoreError(
                    f"no version of scenario {name!r} in {self.display} (kịch bản chưa có phiên bản nào); "
                    f"scenarios with versions: {names} / kịch bản {name!r} chưa có phương án nào trong "
                    f"{self.display}; các kịch bản đã có phương án: {names}"
                )
            return str(row[0])
        prefix = codec.hex_prefix(ref)
        if prefix is None or len(prefix) < MIN_PREFIX or len(prefix) > 64:
            raise StoreError(
                f"{ref!r} is not a version ref (mã phiên bản không hợp lệ); give a version id, a unique prefix of "
                f"at least {MIN_PREFIX} hex "
                "digits (as `gisplan log` shows), or 'SCENARIO@latest' / "
                f"{ref!r} không phải mã phương án; hãy cho mã phương án, một tiền tố duy nhất của mã gồm ít nhất "
                f"{MIN_PREFIX} chữ số hệ 16 (như `gisplan log` hiển thị), hoặc 'KỊCH_BẢN@latest'"
            )
        rows = conn.execute(
            "SELECT id, scenario_name, message FROM versions WHERE id >= ? AND id < ? ORDER BY seq DESC LIMIT 21",
            (prefix, prefix + "g"),  # ids are lower-case hex, all below "g": a range scan of the id index
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if not rows:
            recent = conn.execute(
                "SELECT id, scenario_name, message FROM versions ORDER BY seq DESC LIMIT 10"
            ).fetchall()
            listing = _listing(recent) if recent else "  (the store is empty)"
            raise StoreError(
                f"no version {ref!r} in {self.display} (không tìm thấy phiên bản); the latest versions are:\n{listing}"
                f"\n/ không tìm thấy phương án {ref!r} trong {self.display}; các phương án mới nhất được liệt kê ở trên"
            )
        more = " (first 20 shown)" if len(rows) > 20 else ""
        raise StoreError(
            f"version prefix {ref!r} is ambiguous (mã trùng nhiều phiên bản); it matches{more}:\n"
            f"{_listing(rows[:20])}\ngive more digits / tiền tố {ref!r} trùng với nhiều phương án (liệt kê ở trên); "
            "hãy cho thêm chữ số"
        )

    def _check_head(self, conn: Any, name: str, expected: str) -> None:
        row = conn.execute(
            "SELECT id FROM versions WHERE scenario_name = ? ORDER BY seq DESC LIMIT 1", (name,)
        ).fetchone()
        actual = row[0] if row else None
        wanted = None if expected == NO_HEAD else self._resolve(conn, expected)
        if actual != wanted:
            now = f"version {actual[:12]}" if actual else "no version"
            raise ConflictError(
                f"scenario {name!r} changed while you worked: its latest is now {now}, not "
                f"{wanted[:12] if wanted else 'none'} as expected; nothing was saved. Look at `gisplan log`, "
                "merge if needed and save again with the new head as parent / Phương án đã được người khác lưu "
                "phiên bản mới trong lúc bạn làm việc; chưa lưu gì: hãy xem phiên bản mới nhất rồi lưu lại"
            )

    @staticmethod
    def _insert(conn: Any, *row: Any) -> None:
        conn.execute(
            "INSERT INTO versions (id, scenario_name, parent, author, message, created_at, scenario_sha256, kpis_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    @staticmethod
    def _insert_blobs(conn: Any, blobs: Mapping[str, bytes]) -> None:
        for digest, data in blobs.items():
            conn.execute(
                "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
                (digest, len(data), data),
            )

    def _blob(self, conn: Any, digest: str, what: str) -> bytes:
        row = conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (digest,)).fetchone()
        if row is None:
            raise StoreError(
                f"{what} is missing from {self.display} (blob {digest[:12]}); the store is damaged "
                "/ Kho phương án bị hỏng: thiếu dữ liệu"
            )
        data = bytes(row[0])
        if codec.sha256_hex(data) != digest:
            raise StoreError(
                f"{what} in {self.display} does not match its SHA-256 {digest[:12]}: the file was changed outside "
                "gisplan. Restore the store from a backup; `VersionStore.verify()` lists every damaged item "
                "/ Dữ liệu bị sửa ngoài gisplan: hãy khôi phục kho từ bản sao lưu"
            )
        return data

    def _load(self, conn: Any, ids: list[str]) -> list[Version]:
        out = []
        for vid in ids:
            row = conn.execute(_VERSION_SELECT + " WHERE v.id = ?", (vid,)).fetchone()
            if row is None:
                raise StoreError(
                    f"version {vid[:12]} vanished from {self.display}; the store is damaged "
                    "/ Kho phương án bị hỏng: mất phiên bản"
                )
            arts = conn.execute(
                "SELECT name, size, sha256 FROM version_artifacts WHERE version_id = ? ORDER BY name", (vid,)
            ).fetchall()
            try:
                intact = row[0] == codec.version_id(
                    scenario_name=row[1],
                    scenario_sha256=row[6],
                    artifacts={a[0]: a[2] for a in arts},
                    kpis_json=row[7],
                    parent=row[2],
                    author=row[3],
                    message=row[4],
                    created_at=row[5],
                )
                kpis = json.loads(row[7])
            except ValueError:  # KPIs that are not JSON any more
                intact, kpis = False, {}
            out.append(
                Version(
                    id=row[0],
                    scenario_name=row[1],
                    parent=row[2],
                    author=row[3],
                    message=row[4],
                    created_at=row[5],
                    scenario_sha256=row[6],
                    kpis=kpis,
                    status=row[8],
                    artifacts=tuple(ArtifactInfo(*a) for a in arts),
                    intact=intact,
                )
            )
        return out


def _tampered_message(version: Version, where: str) -> str:
    return (
        f"version {version.short_id} in {where} was changed outside gisplan (phiên bản đã bị sửa ngoài gisplan): "
        "its fields no longer hash to its id, so its KPIs, names or files cannot be trusted. Restore the store "
        f"from a backup; `gisplan store verify` lists every damaged item / phương án {version.short_id} trong "
        f"{where} đã bị sửa ngoài gisplan: các trường của nó không còn khớp mã băm với mã định danh, nên không thể tin "
        "các chỉ tiêu, tên hay tệp của nó. Hãy khôi phục kho từ bản sao lưu; `gisplan store verify` liệt kê mọi mục "
        "bị hỏng"
    )


def _check_stored_name(name: str, version: Version) -> None:
    try:
        codec.check_artifact_name(name)
    except StoreError as exc:
        raise StoreError(
            f"version {version.short_id} holds an artifact named {name!r}, which no gisplan saves: the store was "
            f"crafted or damaged; nothing was exported. {exc} / Kho chứa tệp lạ hoặc bị hỏng: không xuất gì"
        ) from exc


def _run_hook(stage: str) -> None:
    if _save_hook is not None:
        _save_hook(stage)


def _listing(rows: list[Any]) -> str:
    return "\n".join(
        f"  {vid[:12]}  {name}  {message.splitlines()[0][:60] if message else ''}" for vid, name, message in rows
    )


def _transition_message(vid: str, current: str, status: str) -> str:
    if not TRANSITIONS[current]:
        return (
            f"version {vid[:12]} is {current}, which is final (đã kết thúc thẩm định); it cannot be reviewed again. "
            "Save a new version "
            f"(e.g. with this one as parent) and review that / phương án {vid[:12]} đang ở trạng thái {current}, "
            "trạng thái cuối cùng; không thể thẩm định lại. Hãy lưu một phương án mới (ví dụ lấy phương án này làm "
            "phương án gốc) rồi thẩm định phương án mới"
        )
    return (
        f"version {vid[:12]} is {current}; a review can set it to "
        f"{list(TRANSITIONS[current])}, not {status!r} (chuyển trạng thái không hợp lệ) "
        f"(workflow: draft -> in_review -> approved | rejected) / phương án {vid[:12]} đang ở trạng thái "
        f"{current}; lượt thẩm định chỉ có thể chuyển sang {list(TRANSITIONS[current])}, không sang {status!r} "
        "(quy trình: draft -> in_review -> approved | rejected)"
    )


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is swapped aside first and removed after."""
    if not out.exists():
        os.replace(tmp, out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    aside.rmdir()
    os.replace(out, aside)
    try:
        os.replace(tmp, out)
    except OSError:
        os.replace(aside, out)
        raise
    shutil.rmtree(aside, ignore_errors=True)
