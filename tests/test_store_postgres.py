"""What only a PostgreSQL + PostGIS store does: plan layers QGIS opens, reader roles, copies to and from SQLite
with ids unchanged, savers and reviewers racing in real processes, and a server restart during a save.

Skipped with a message only when no PostgreSQL server binaries are installed (see ``_store_worker.pg_server``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import _store_worker as worker_mod
import psycopg
import pytest
from _store_worker import Raw

from gisplan._errors import StoreError
from gisplan.cli.main import main
from gisplan.store import VersionStore, copy_store
from gisplan.workflow.actions import save_run

WORKER = Path(worker_mod.__file__).resolve()


@pytest.fixture(scope="module")
def server() -> worker_mod.PgServer:
    found = worker_mod.pg_server()
    if found is None:
        pytest.skip(worker_mod.SKIP_NO_SERVER)
    return found


@pytest.fixture()
def dsn(server: worker_mod.PgServer) -> Iterator[str]:
    with worker_mod.new_pg_database(server) as url:
        yield url


def _tiny_run(folder: Path) -> Path:
    from test_store_hardening import _tiny_run as build

    return build(folder)


def test_plan_layers_are_postgis_views_qgis_can_open(dsn: str, tmp_path: Path) -> None:
    store = VersionStore(dsn)
    v = save_run(store, _tiny_run(tmp_path / "run"), author="lan", message="one trench", name="dd")
    with psycopg.connect(dsn) as conn:
        # what QGIS's PostGIS provider reads: geometry_columns, then the view itself
        cols = conn.execute(
            "SELECT f_table_schema, f_table_name, f_geometry_column FROM geometry_columns "
            "WHERE f_table_schema = 'gisplan_layers'"
        ).fetchall()
        assert ("gisplan_layers", "trenches", "geom") in cols
        row = conn.execute(
            "SELECT version_id, scenario_name, status, is_latest, attributes->>'phase', "
            "ST_GeometryType(geom), ST_SRID(geom), ST_Length(geom) FROM gisplan_layers.trenches"
        ).fetchone()
    # the trench written by _tiny_run: 386000,1130000 -> 386100,1130000 in UTM 48N, 100 m long
    assert row == (v.id, "dd", "draft", True, "2027", "ST_LineString", 32648, 100.0)
    store.review(v.id, status="in_review", reviewer="minh")
    v2 = save_run(store, tmp_path / "run", author="lan", message="again", name="dd", parent=v.id)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT short_id, status, is_latest FROM gisplan_layers.trenches ORDER BY gid").fetchall()
        assert rows == [(v.short_id, "in_review", False), (v2.short_id, "draft", True)]
        with pytest.raises(psycopg.Error, match="immutable"):
            conn.execute("DELETE FROM gisplan.plan_features")
    assert store.verify() == 2


def test_a_reader_role_lists_shows_exports_and_compares_but_never_writes(
    dsn: str, server: worker_mod.PgServer, tmp_path: Path
) -> None:
    store = VersionStore(dsn)
    run = _tiny_run(tmp_path / "run")
    v1 = save_run(store, run, author="lan", message="v1", name="dd")
    v2 = save_run(store, run, author="lan", message="v2", name="dd", parent=v1.id)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gisplan_test_reviewer') THEN "
            "CREATE ROLE gisplan_test_reviewer LOGIN IN ROLE gisplan_reader; END IF; END $$"
        )
    parts = urlsplit(dsn)
    reader = urlunsplit(parts._replace(netloc=f"gisplan_test_reviewer@{parts.hostname}:{parts.port}"))
    ro = VersionStore(reader, create=False)
    assert ro.read_only and [v.id for v in ro.log()] == [v2.id, v1.id]
    assert ro.artifact(v1.id, "boq.csv") == (run / "boq.csv").read_bytes()
    assert main(["show", v1.short_id, "--store", reader, "--export", str(tmp_path / "export")]) == 0
    assert (tmp_path / "export" / "plan.gpkg").read_bytes() == (run / "plan.gpkg").read_bytes()
    assert main(["compare", v1.id, v2.id, "--store", reader, "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    assert (tmp_path / "cmp" / "compare.html").is_file()
    with pytest.raises(StoreError, match="read-only"):
        ro.review(v1.id, status="in_review", reviewer="minh")
    with pytest.raises(StoreError, match="chỉ đọc"):
        save_run(ro, run, author="x", message="y")
    with psycopg.connect(reader) as conn:  # QGIS logged in as the reviewer reads the layers, and nothing else
        assert conn.execute("SELECT count(*) FROM gisplan_layers.trenches").fetchone()[0] == 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO gisplan.meta VALUES ('x', 'y')")
    assert [v.id for v in store.log()] == [v2.id, v1.id] and store.get(v1.id).status == "draft"


def test_copy_sqlite_to_postgresql_and_back_keeps_every_id(dsn: str, tmp_path: Path, capsys) -> None:
    source = VersionStore(tmp_path / "field.sqlite")
    run = _tiny_run(tmp_path / "run")
    v1 = save_run(source, run, author="lan", message="v1", name="dd")
    v2 = source.save(
        scenario_name="kh",
        scenario_text="title: Kiên Hải\n",
        artifacts={"boq.csv": b"x\n"},
        kpis={"n": [1, 2.5, None, "Hòn Tre"]},
        author="minh",
        message="islands",
        parent=None,
        created_at="2025-05-05T05:05:05.123456Z",
    )
    source.review(v1.id, status="in_review", reviewer="huong", comment="xem")
    source.review(v1.id, status="approved", reviewer="huong", created_at="2025-06-01T00:00:00Z")

    assert main(["store", "copy", str(source.path), dsn]) == 0
    assert "copied 2 version(s) and 2 review(s)" in capsys.readouterr().out
    pg = VersionStore(dsn)
    assert [v.id for v in pg.log()] == [v2.id, v1.id] and pg.verify() == 2
    assert [r.to_dict() for r in pg.reviews(v1.id)] == [r.to_dict() for r in source.reviews(v1.id)]
    assert pg.get(v2.id).kpis == {"n": [1, 2.5, None, "Hòn Tre"]}
    with psycopg.connect(dsn) as conn:  # copied versions get their PostGIS layers too
        assert conn.execute("SELECT count(*) FROM gisplan_layers.trenches").fetchone()[0] == 1

    back = tmp_path / "back.sqlite"
    assert main(["store", "copy", dsn, str(back)]) == 0
    returned = VersionStore(back)
    assert [v.to_dict() for v in returned.log()] == [v.to_dict() for v in source.log()]
    for a in v1.artifacts:
        assert returned.artifact(v1.id, a.name) == source.artifact(v1.id, a.name)
    capsys.readouterr()
    assert main(["store", "copy", str(source.path), dsn]) == 0  # again: nothing new
    assert "copied 0 version(s) and 0 review(s)" in capsys.readouterr().out

    Raw(pg).execute("UPDATE versions SET message = 'edited' WHERE id = ?", (v2.id,), tamper=True)
    with pytest.raises(StoreError, match="fails verification"):
        copy_store(pg, VersionStore(tmp_path / "third.sqlite"))


def _spawn(mode: str, **args: Any) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(WORKER.parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-W", "error", str(WORKER), mode, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_savers_and_reviewers_in_several_processes_at_once(dsn: str, tmp_path: Path) -> None:
    store = VersionStore(dsn)
    to_review = [
        store.save(scenario_name=f"r{k}", scenario_text=f"r{k}\n", artifacts={}, kpis={}, author="a", message="m").id
        for k in range(6)
    ]
    go = tmp_path / "go"
    savers = [
        _spawn("saver", store=dsn, worker=w, n=8, go=str(go), out=str(tmp_path / f"s{w}.jsonl")) for w in range(3)
    ]
    reviewers = [
        _spawn("reviewer", store=dsn, worker=w, versions=to_review, go=str(go), out=str(tmp_path / f"r{w}.jsonl"))
        for w in range(2)
    ]
    go.touch()
    for proc in savers + reviewers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    saved = [r for w in range(3) for r in _records(tmp_path / f"s{w}.jsonl")]
    assert len(saved) == 24 and all(r["status"] == "ok" for r in saved)
    reviews = [r for w in range(2) for r in _records(tmp_path / f"r{w}.jsonl")]
    # both reviewers race over the same versions: each transition is recorded exactly once, the loser is told why
    for k, vid in enumerate(to_review):
        history = [(r.previous_status, r.status) for r in store.reviews(vid)]
        final = "approved" if k % 2 == 0 else "rejected"
        assert history[0] == ("draft", "in_review") and history[-1] == ("in_review", final)
        assert history.count(("in_review", final)) == 1 and store.get(vid).status == final
    assert sum(r["result"] == "ok" and r["status"] != "in_review" for r in reviews) == 6
    assert all("final" in r["error"] or "a review can set it" in r["error"] for r in reviews if r["result"] != "ok")
    assert len(store.log()) == 6 + 24 and store.verify() == 30
    for r in saved:
        artifacts, kpis = worker_mod.content(r["worker"], r["i"])
        assert store.get(r["id"]).kpis == kpis
        assert store.artifact(r["id"], "layers/trench.bin") == artifacts["layers/trench.bin"]


def test_a_server_restart_during_a_save_loses_nothing_and_half_writes_nothing(
    dsn: str, server: worker_mod.PgServer, tmp_path: Path
) -> None:
    if not (server.pgdata and server.bindir):
        pytest.skip(
            f"${worker_mod.PG_ENV} is set without ${worker_mod.PGDATA_ENV}: the test cannot restart that server"
        )
    store = VersionStore(dsn)
    before = [
        store.save(
            scenario_name="kept",
            scenario_text=f"k{k}\n",
            artifacts={"a": bytes([k])},
            kpis={"k": k},
            author="a",
            message=f"kept {k}",
        ).id
        for k in range(3)
    ]
    signal, resume, out = tmp_path / "inside", tmp_path / "resume", tmp_path / "out.jsonl"
    proc = _spawn("hold", store=dsn, stage="rows_written", signal=str(signal), resume=str(resume), out=str(out))
    deadline = time.monotonic() + 120
    while not signal.exists():
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # the worker holds an open transaction with its rows written: the server dies and comes back
    server.restart()
    fresh = VersionStore(dsn, create=False)
    assert [v.id for v in fresh.log()] == list(reversed(before))  # the half-done save left nothing behind
    assert Raw(fresh).count("blobs") == 6 and fresh.verify() == 3
    resume.touch()  # the worker goes on: its connection is gone, the save is retried with the same content
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    saved = _records(out)
    assert [r["status"] for r in saved] == ["ok"]
    ids = [v.id for v in fresh.log()]
    assert ids == [saved[0]["id"], *reversed(before)] and fresh.verify() == 4  # exactly one copy of the save
    artifacts, kpis = worker_mod.content(9, 0)
    assert fresh.get(saved[0]["id"]).kpis == kpis
    assert all(fresh.artifact(saved[0]["id"], n) == d for n, d in artifacts.items())


def test_a_schema_1_database_is_migrated_with_its_ids_unchanged(dsn: str) -> None:
    from gisplan.store import _migrations

    with psycopg.connect(dsn, autocommit=True) as conn:  # the schema of a first PostgreSQL store, by hand
        for statement in _migrations.postgres_v1_statements():
            conn.execute(statement)
        scenario, boq = b"title: old\n", b"item,amount\nT1,5\n"
        sha = {d: __import__("hashlib").sha256(d).hexdigest() for d in (scenario, boq)}
        doc = {
            "format": "gisplan.version/1",
            "scenario_name": "old",
            "scenario_sha256": sha[scenario],
            "artifacts": {"boq.csv": sha[boq]},
            "kpis": {},
            "parent": None,
            "author": "lan",
            "message": "v1",
            "created_at": "2024-12-01T00:00:00Z",
        }
        vid = (
            __import__("hashlib")
            .sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
            .hexdigest()
        )
        for data in (scenario, boq):
            conn.execute("INSERT INTO gisplan.blobs VALUES (%s, %s, %s)", (sha[data], len(data), data))
        conn.execute(
            "INSERT INTO gisplan.versions (id, scenario_name, parent, author, message, created_at, scenario_sha256, "
            "kpis_json) VALUES (%s, 'old', NULL, 'lan', 'v1', '2024-12-01T00:00:00Z', %s, '{}')",
            (vid, sha[scenario]),
        )
        conn.execute("INSERT INTO gisplan.version_artifacts VALUES (%s, 'boq.csv', %s, %s)", (vid, sha[boq], len(boq)))
    store = VersionStore(dsn, create=False)
    assert store.schema_version == 2 and store.get(vid).intact and store.verify() == 1
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT value FROM gisplan.meta WHERE key = 'schema_version'").fetchone() == ("2",)
        assert conn.execute("SELECT schema_version FROM gisplan.migrations").fetchall() == [(2,)]
        assert conn.execute("SELECT to_regclass('gisplan.plan_features') IS NOT NULL").fetchone() == (True,)
