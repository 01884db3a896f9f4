"""Helpers of tests/test_store*.py: the store backends under test, and real writers that race or die mid-save.

Backends: :func:`pg_server` finds the PostgreSQL server the tests use (``$GISPLAN_TEST_PG``, as ``.ci/run``
starts it, else a throwaway cluster started here when Debian's server binaries are installed), and
:func:`new_pg_database` makes a fresh database per test from a template holding PostGIS.  :class:`Raw`
reaches under the API of either backend, as an attacker with the file or a database login would.

As a process: ``python tests/_store_worker.py MODE JSON_ARGS`` (``args["store"]`` is a file path or a
``postgresql://`` URI); results go to ``args["out"]`` as JSON lines.

Run as ``python tests/_store_worker.py MODE JSON_ARGS``; results go to ``args["out"]``
as JSON lines.  Modes:

``pause``
    Start a save with large artifacts; at ``args["stage"]`` inside the save
    transaction, create ``args["signal"]`` and sleep until killed.
``saver``
    Wait for ``args["go"]``, then make ``args["n"]`` saves of distinct content
    (see :func:`content`); log each as ok (with id) or conflict.
``head_race``
    Wait for ``args["go"]``; ``args["n"]`` times: read the head of the shared
    scenario and save a child of it with ``expected_head`` set.
``expect_head``
    Read the head now, create ``args["ready"]``, wait for ``args["go"]``, then save
    with ``expected_head`` = the head read before.
``reviewer``
    Wait for ``args["go"]``; review every version of ``args["versions"]`` to ``in_review`` and then
    ``approved`` (or ``rejected`` for odd ones), logging each as ok or error.
``hold``
    Like ``pause`` but, once ``args["signal"]`` exists, wait for ``args["resume"]`` and finish the save
    (the server may have restarted meanwhile); log the saved id.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gisplan._errors import ConflictError, StoreError
from gisplan.store import versions as store_mod

SHARED = "shared-scenario"


def content(worker: int, i: int) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Deterministic artifacts and KPIs of save ``i`` of ``worker``; part of it is shared by every save."""
    rng = random.Random(worker * 100_003 + i)
    artifacts = {
        "common.bin": bytes(range(256)) * 64,
        "boq.csv": f"item,amount\nT{worker},{i}\n".encode(),
        "layers/trench.bin": rng.randbytes(50_000 + rng.randrange(50_000)),
    }
    return artifacts, {"worker": worker, "i": i, "total_vnd": worker * 1_000_000 + i}


def _wait_for(path: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.005)


def _emit(out: str, record: dict[str, Any]) -> None:
    with open(out, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()


def _pause(args: dict[str, Any]) -> None:
    def hook(stage: str) -> None:
        if stage == args["stage"]:
            Path(args["signal"]).touch()
            time.sleep(3600)

    store_mod._save_hook = hook
    store = store_mod.VersionStore(args["store"], create=False)
    rng = random.Random(7)
    size = int(args["size"])
    artifacts = {f"big{k}.bin": rng.randbytes(size) for k in range(3)}
    store.save(
        scenario_name="killed",
        scenario_text="name: killed\n",
        artifacts=artifacts,
        kpis={"n": 1},
        author="worker",
        message="this save is killed half-way",
    )
    _emit(args["out"], {"status": "finished"})  # only if the hook never fired


def _saver(args: dict[str, Any]) -> None:
    store = store_mod.VersionStore(args["store"], create=False, timeout=float(args.get("timeout", 30.0)))
    worker = int(args["worker"])
    _wait_for(args["go"])
    for i in range(int(args["n"])):
        artifacts, kpis = content(worker, i)
        try:
            version = store.save(
                scenario_name=f"worker-{worker}",
                scenario_text=f"name: worker-{worker}\nrun: {i}\n",
                artifacts=artifacts,
                kpis=kpis,
                author=f"worker{worker}",
                message=f"save {i}",
            )
        except ConflictError as exc:
            _emit(args["out"], {"worker": worker, "i": i, "status": "conflict", "error": str(exc)})
        else:
            _emit(args["out"], {"worker": worker, "i": i, "status": "ok", "id": version.id})


def _save_child(store: store_mod.VersionStore, head: str | None, worker: int, i: int) -> dict[str, Any]:
    try:
        version = store.save(
            scenario_name=SHARED,
            scenario_text=f"name: {SHARED}\nedit: {worker}-{i}\n",
            artifacts={"boq.csv": f"{worker},{i}\n".encode()},
            kpis={"worker": worker, "i": i},
            author=f"worker{worker}",
            message=f"edit {i} by worker {worker}",
            parent=head,
            expected_head=head if head is not None else store_mod.NO_HEAD,
        )
    except ConflictError as exc:
        return {"worker": worker, "i": i, "status": "conflict", "head": head, "error": str(exc)}
    return {"worker": worker, "i": i, "status": "ok", "head": head, "id": version.id}


def _head_race(args: dict[str, Any]) -> None:
    store = store_mod.VersionStore(args["store"], create=False)
    worker = int(args["worker"])
    _wait_for(args["go"])
    for i in range(int(args["n"])):
        head = store.head(SHARED)
        _emit(args["out"], _save_child(store, head.id if head else None, worker, i))


def _expect_head(args: dict[str, Any]) -> None:
    store = store_mod.VersionStore(args["store"], create=False)
    head = store.head(SHARED)
    Path(args["ready"]).touch()
    _wait_for(args["go"])
    _emit(args["out"], _save_child(store, head.id if head else None, int(args["worker"]), 0))


def _reviewer(args: dict[str, Any]) -> None:
    store = store_mod.VersionStore(args["store"], create=False)
    _wait_for(args["go"])
    for k, vid in enumerate(args["versions"]):
        for status in ("in_review", "approved" if k % 2 == 0 else "rejected"):
            try:
                store.review(vid, status=status, reviewer=f"reviewer{args['worker']}")
            except StoreError as exc:
                _emit(args["out"], {"version": vid, "status": status, "result": "error", "error": str(exc)})
            else:
                _emit(args["out"], {"version": vid, "status": status, "result": "ok"})


def _hold(args: dict[str, Any]) -> None:
    def hook(stage: str) -> None:
        if stage == args["stage"] and not Path(args["signal"]).exists():
            Path(args["signal"]).touch()
            _wait_for(args["resume"])

    store_mod._save_hook = hook
    store = store_mod.VersionStore(args["store"], create=False, timeout=60.0)
    artifacts, kpis = content(9, 0)
    version = store.save(
        scenario_name="held",
        scenario_text="name: held\n",
        artifacts=artifacts,
        kpis=kpis,
        author="worker",
        message="a save across a server restart",
        created_at="2025-03-01T00:00:00Z",
    )
    _emit(args["out"], {"status": "ok", "id": version.id})


MODES = {
    "pause": _pause,
    "saver": _saver,
    "head_race": _head_race,
    "expect_head": _expect_head,
    "reviewer": _reviewer,
    "hold": _hold,
}


# -- the PostgreSQL server of the tests ------------------------------------------------------------------------------

PG_ENV = "GISPLAN_TEST_PG"
PGDATA_ENV = "GISPLAN_TEST_PGDATA"
PGUSER_ENV = "GISPLAN_TEST_PG_OSUSER"


@dataclass
class PgServer:
    """A PostgreSQL server the tests may use: an admin URI, and (if known) how to restart it."""

    admin_dsn: str
    pgdata: str | None
    os_user: str | None
    bindir: str | None
    postgis: bool
    template: str = ""

    def restart(self) -> None:
        """Stop the server as a crash would (``-m immediate``) and start it again."""
        assert self.pgdata and self.bindir
        cmd = [os.path.join(self.bindir, "pg_ctl"), "-D", self.pgdata, "-w", "-m", "immediate", "restart"]
        cmd += ["-l", os.path.join(self.pgdata, "..", "server.log")]
        subprocess.run(cmd, check=True, capture_output=True, user=self.os_user, timeout=120)


def find_pg_bindir() -> str | None:
    """Debian's PostgreSQL server binaries (``/usr/lib/postgresql/N/bin``), or those on PATH."""
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / "initdb").is_file() and (base / "pg_ctl").is_file() and (base / "postgres").is_file():
            return str(base)
    found = shutil.which("initdb")
    return str(Path(found).resolve().parent) if found and shutil.which("pg_ctl") else None


def start_pg_cluster() -> PgServer | None:
    """Start a throwaway cluster on 127.0.0.1 as an unprivileged user; None if the binaries are absent."""
    bindir = find_pg_bindir()
    if bindir is None:
        return None
    os_user = None
    if os.geteuid() == 0:  # initdb refuses root
        os_user = "nobody"
    root = tempfile.mkdtemp(prefix="gisplan-test-pg-")
    os.chmod(root, 0o755)
    if os_user:
        shutil.chown(root, user=os_user)
    data, port = os.path.join(root, "data"), _free_port()
    run = {"check": True, "capture_output": True, "user": os_user, "timeout": 300}
    subprocess.run(
        [os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        **run,  # type: ignore[call-overload]
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            os.path.join(bindir, "pg_ctl"),
            "-D",
            data,
            "-l",
            os.path.join(root, "server.log"),
            "-w",
            "-o",
            options,
            "start",
        ],
        **run,  # type: ignore[call-overload]
    )
    server = PgServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", data, os_user, bindir, _has_postgis())
    return server


def stop_pg_cluster(server: PgServer) -> None:
    """Stop a cluster :func:`start_pg_cluster` started and remove its folder."""
    assert server.pgdata and server.bindir
    subprocess.run(
        [os.path.join(server.bindir, "pg_ctl"), "-D", server.pgdata, "-m", "fast", "-w", "stop"],
        capture_output=True,
        user=server.os_user,
        timeout=120,
    )
    shutil.rmtree(os.path.dirname(server.pgdata), ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_postgis() -> bool:
    return any(Path("/usr/share/postgresql").glob("*/extension/postgis.control"))


def prepare_template(server: PgServer) -> None:
    """A template database with PostGIS, so each test's database is a fast copy."""
    import psycopg

    name = f"gisplan_test_tmpl_{os.getpid()}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(_with_db(server.admin_dsn, name), autocommit=True) as conn:
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
        server.postgis = available is not None
        if available:
            conn.execute("CREATE EXTENSION postgis")
    server.template = name


def drop_template(server: PgServer) -> None:
    import psycopg

    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {server.template} WITH (FORCE)")


_counter = iter(range(1_000_000))
_server: PgServer | None = None
_server_checked = False

SKIP_NO_SERVER = (
    "PostgreSQL server binaries not found (initdb and pg_ctl under /usr/lib/postgresql/*/bin or on PATH): "
    "install Debian's postgresql and postgresql-15-postgis-3 (as .ci/run does), or set GISPLAN_TEST_PG to a "
    "postgresql:// URI of a superuser on a throwaway server"
)


def pg_server() -> PgServer | None:
    """The server of this test process: ``$GISPLAN_TEST_PG``, else a cluster started once; None if impossible."""
    global _server, _server_checked
    if _server_checked:
        return _server
    _server_checked = True
    dsn = os.environ.get(PG_ENV, "").strip()
    if dsn:
        _server = PgServer(dsn, os.environ.get(PGDATA_ENV), os.environ.get(PGUSER_ENV), find_pg_bindir(), True)
        started = False
    else:
        _server = start_pg_cluster()
        started = True
    if _server is None:
        return None
    prepare_template(_server)
    server = _server

    def cleanup() -> None:
        try:
            import psycopg

            with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
                for name in _created:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            drop_template(server)
        finally:
            if started:
                stop_pg_cluster(server)

    import atexit

    atexit.register(cleanup)
    return _server


@contextmanager
def new_pg_database(server: PgServer) -> Iterator[str]:
    """A database holding no store (PostGIS installed) for one test.

    One database per test process is reused: emptied (its store schemas dropped) before each test, which is
    several times faster than creating a database from a template each time.
    """
    import psycopg

    name = f"gisplan_t_{os.getpid()}"
    dsn = _with_db(server.admin_dsn, name)
    if name not in _created:
        with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {server.template} STRATEGY FILE_COPY")
        _created.add(name)
    else:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            conn.execute("DROP SCHEMA IF EXISTS gisplan, gisplan_layers CASCADE")
    yield dsn


_created: set[str] = set()


def _with_db(dsn: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(dsn)._replace(path="/" + database))


class Raw:
    """Under the API: plain SQL on a store's file or database, as someone with direct access would do."""

    def __init__(self, store: store_mod.VersionStore) -> None:
        self.store = store

    def execute(self, sql: str, params: tuple[Any, ...] = (), *, tamper: bool = False) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) and return its rows; ``tamper`` first disables the store's triggers."""
        if self.store.backend == "sqlite":
            import sqlite3

            conn = sqlite3.connect(str(self.store.path), isolation_level=None)
            try:
                if tamper:
                    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                        conn.execute(f"DROP TRIGGER {name}")
                cur = conn.execute(sql, params)
                return cur.fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.store.location, autocommit=True) as pg:
            pg.execute("SET search_path TO gisplan, public")
            if tamper:
                pg.execute("SET session_replication_role = replica")  # superuser: triggers off
            cur = pg.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def count(self, table: str) -> int:
        return int(self.execute(f"SELECT count(*) FROM {table}")[0][0])

    def integrity(self) -> str:
        if self.store.backend == "sqlite":
            return str(self.execute("PRAGMA integrity_check")[0][0])
        return "ok"  # PostgreSQL checks its own pages; the store's checks are in verify()


if __name__ == "__main__":
    MODES[sys.argv[1]](json.loads(sys.argv[2]))
