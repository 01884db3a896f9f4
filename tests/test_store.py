"""Tests of gisplan.store.versions: immutable versions, reviews, and writers that race or die (real processes).

Every test taking the ``store`` fixture runs twice: on an SQLite file and on a fresh PostgreSQL + PostGIS
database (``_store_worker.pg_server``; skipped with a message only when no PostgreSQL server binaries exist).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _store_worker as worker_mod
import numpy as np
import pytest
from _store_worker import Raw
from hypothesis import given, settings
from hypothesis import strategies as st

from gisplan._errors import ConflictError, StoreError
from gisplan.store import _codec as codec
from gisplan.store.versions import NO_HEAD, STATUSES, TRANSITIONS, Version, VersionStore

WORKER = Path(worker_mod.__file__).resolve()

T0 = "2025-03-01T08:00:00+07:00"


def _save(store: VersionStore, **overrides: Any) -> Version:
    kwargs: dict[str, Any] = {
        "scenario_name": "phu-quoc-duong-30-4",
        "scenario_text": "name: phu-quoc-duong-30-4\nplanner: underground\n",
        "artifacts": {"boq.csv": "mã,số tiền\nT1,1000\n".encode(), "layers/trench.geojson": b'{"type":"x"}'},
        "kpis": {"total_vnd": 1_250_000_000, "trench_m": 1234.5, "zones": ["Dương Đông"]},
        "author": "lan",
        "message": "first undergrounding plan",
        "created_at": T0,
    }
    kwargs.update(overrides)
    return store.save(**kwargs)


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store location that holds no store yet: an SQLite file path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "gisplan-store.sqlite")
        return
    server = worker_mod.pg_server()
    if server is None:
        pytest.skip(worker_mod.SKIP_NO_SERVER)
    with worker_mod.new_pg_database(server) as dsn:
        yield dsn


@pytest.fixture()
def store(location: str) -> VersionStore:
    return VersionStore(location)


def _count(store: VersionStore, table: str) -> int:
    return Raw(store).count(table)


def _documented_id(doc: dict[str, Any]) -> str:
    """The version id as the README documents it, computed here without gisplan's code."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- round trip and identity --------------------------------------------------------------------------------------


def test_save_get_artifact_round_trip(store: VersionStore) -> None:
    v = _save(store)
    assert v.status == "draft"
    assert v.created_at == "2025-03-01T01:00:00Z"  # stored in UTC
    assert len(v.id) == 64 and v.short_id == v.id[:12]
    assert v.artifact_names == ("boq.csv", "layers/trench.geojson")
    assert v.artifact_sizes["layers/trench.geojson"] == len(b'{"type":"x"}')
    assert v.kpis == {"total_vnd": 1_250_000_000, "trench_m": 1234.5, "zones": ["Dương Đông"]}

    again = VersionStore(store.location, create=False).get(v.id)
    assert again == v and again.kpis == v.kpis and again.intact
    assert store.artifact(v.short_id, "boq.csv") == "mã,số tiền\nT1,1000\n".encode()
    assert store.scenario_text(v.id) == "name: phu-quoc-duong-30-4\nplanner: underground\n"
    assert store.log() == [v]
    assert store.verify() == 1
    if store.backend == "sqlite":
        assert Raw(store).execute("PRAGMA journal_mode")[0][0] == "wal"
    with pytest.raises(StoreError, match=r"no artifact 'report.pdf'.*boq.csv"):
        store.artifact(v.id, "report.pdf")


def test_id_is_the_documented_content_hash(store: VersionStore, tmp_path: Path) -> None:
    v = _save(store)
    # the README's canonical form, from what _save gave (not from what the store says it stored)
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    expected = _documented_id(
        {
            "format": "gisplan.version/1",
            "scenario_name": "phu-quoc-duong-30-4",
            "scenario_sha256": sha(b"name: phu-quoc-duong-30-4\nplanner: underground\n"),
            "artifacts": {
                "boq.csv": sha("mã,số tiền\nT1,1000\n".encode()),
                "layers/trench.geojson": sha(b'{"type":"x"}'),
            },
            "kpis": {"total_vnd": 1_250_000_000, "trench_m": 1234.5, "zones": ["Dương Đông"]},
            "parent": None,
            "author": "lan",
            "message": "first undergrounding plan",
            "created_at": "2025-03-01T01:00:00Z",  # 08:00 in UTC+7
        }
    )
    assert v.id == expected
    # the same inputs give the same id in another store; any change gives another id
    other = VersionStore(tmp_path / "other.sqlite")  # and across backends
    assert _save(other).id == v.id
    assert _save(other, kpis={"total_vnd": 1}).id != v.id
    assert _save(other, artifacts={"boq.csv": b"changed"}).id != v.id


def test_saving_the_same_version_twice_returns_it(store: VersionStore) -> None:
    v = _save(store)
    blobs = _count(store, "blobs")
    assert _save(store) == v
    assert len(store.log()) == 1
    # same content, new message: a new version whose blobs are shared, not copied
    v2 = _save(store, message="resubmitted", parent=v.id)
    assert v2.id != v.id and v2.parent == v.id
    assert _count(store, "blobs") == blobs
    assert [x.id for x in store.log()] == [v2.id, v.id]


def test_log_filters_by_scenario_and_is_newest_first(store: VersionStore) -> None:
    a1 = _save(store, scenario_name="a", created_at="2025-01-02T00:00:00Z")
    b1 = _save(store, scenario_name="b")
    a2 = _save(store, scenario_name="a", parent=a1.id, created_at="2025-01-01T00:00:00Z")  # older clock, saved later
    assert [v.id for v in store.log()] == [a2.id, b1.id, a1.id]
    assert [v.id for v in store.log(scenario_name="a")] == [a2.id, a1.id]
    assert store.log(limit=1) == [a2]
    assert store.head("a") == a2 and store.head("nothing") is None
    assert store.get("a@latest") == a2
    assert store.scenario_names() == ["a", "b"]


def test_kpis_accept_numpy_and_refuse_nan(store: VersionStore) -> None:
    v = _save(store, kpis={"n": np.int64(3), "share": np.float64(0.25), "ok": np.bool_(True), "v": np.arange(2)})
    assert v.kpis == {"n": 3, "share": 0.25, "ok": True, "v": [0, 1]}
    assert type(v.kpis["n"]) is int
    with pytest.raises(StoreError, match=r"kpis\['a'\]\['ratio'\] is nan"):
        _save(store, kpis={"a": {"ratio": float("nan")}})
    with pytest.raises(StoreError, match="KPI keys must be strings"):
        _save(store, kpis={1: 2})


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(kpis=st.dictionaries(st.text(max_size=8), _json_values, max_size=5))
def test_kpis_round_trip_exactly(tmp_path_factory: pytest.TempPathFactory, kpis: dict[str, Any]) -> None:
    store = VersionStore(tmp_path_factory.mktemp("h") / "s.sqlite")
    v = _save(store, kpis=kpis)
    assert store.get(v.id).kpis == json.loads(json.dumps(kpis))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"artifacts": {"../escape.txt": b""}}, "not allowed"),
        ({"artifacts": {"/etc/passwd": b""}}, "not allowed"),
        ({"artifacts": {".hidden": b""}}, "not allowed"),
        ({"artifacts": {"a\\b.txt": b""}}, "not allowed"),
        ({"artifacts": {"gisplan-version.json": b""}}, "not allowed"),
        ({"artifacts": {"BOQ.csv": b"", "boq.csv": b""}}, "differ only by case"),
        ({"artifacts": {"boq.csv": "text"}}, "must be bytes"),
        ({"artifacts": {"layers": b"", "layers/a.gpkg": b""}}, "also the folder"),
        ({"scenario_name": "a@b"}, "no '@'"),
        ({"scenario_name": ""}, "must not be empty"),
        ({"author": "  "}, "author must not be empty"),
        ({"message": ""}, "message must not be empty"),
        ({"created_at": "2025-03-01T08:00:00"}, "no time zone"),
        ({"created_at": "yesterday"}, "not ISO 8601"),
        ({"parent": "abcdef"}, "no version 'abcdef'"),
        ({"kpis": {"x": object()}}, "cannot store"),
    ],
)
def test_invalid_saves_are_refused_and_write_nothing(store: VersionStore, overrides: dict, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        _save(store, **overrides)
    assert store.log() == [] and _count(store, "blobs") == 0


# -- refs ---------------------------------------------------------------------------------------------------------


def _two_saves_sharing_a_prefix(store: VersionStore) -> tuple[str, str]:
    """Find (by hashing alone) two messages whose version ids share 4 hex digits, and save both."""
    v = _save(store, message="probe")
    art = {a.name: a.sha256 for a in v.artifacts}
    seen: dict[str, str] = {}
    for k in range(100_000):
        vid = codec.version_id(
            scenario_name=v.scenario_name,
            scenario_sha256=v.scenario_sha256,
            artifacts=art,
            kpis_json=codec.canonical_json(v.kpis),
            parent=None,
            author=v.author,
            message=f"m{k}",
            created_at=v.created_at,
        )
        if vid[:4] in seen and vid[:5] != seen[vid[:4]][:5]:
            first, second = _save(store, message=seen[vid[:4]][64:]), _save(store, message=f"m{k}")
            assert first.id[:4] == second.id[:4] == vid[:4]
            return first.id, second.id
        seen[vid[:4]] = vid + f"m{k}"
    raise AssertionError("no shared prefix found")


def test_prefix_lookup(store: VersionStore) -> None:
    a, b = _two_saves_sharing_a_prefix(store)
    assert store.get(a[:5]).id == a and store.get(b[:12].upper()).id == b
    with pytest.raises(StoreError, match=rf"ambiguous(.|\n)*{a[:12]}(.|\n)*give more digits") as info:
        store.get(a[:4])
    assert b[:12] in str(info.value)
    with pytest.raises(StoreError, match=r"no version 'ffff0000'(.|\n)*latest versions are(.|\n)*" + a[:12]):
        store.get("ffff0000")
    with pytest.raises(StoreError, match="at least 4 hex digits"):
        store.get(a[:3])
    with pytest.raises(StoreError, match="not a version ref"):
        store.get("HEAD~1")
    with pytest.raises(StoreError, match=r"no version of scenario 'nope'.*phu-quoc-duong-30-4"):
        store.get("nope@latest")


# -- reviews --------------------------------------------------------------------------------------------------------


def test_review_workflow_and_history(store: VersionStore) -> None:
    v = _save(store)
    with pytest.raises(StoreError, match=r"is draft; a review can set it to \['draft', 'in_review'\], not 'approved'"):
        store.review(v.id, status="approved", reviewer="minh")
    assert store.review(v.id, status="draft", reviewer="lan", comment="ready soon").status == "draft"
    assert store.review(v.short_id, status="in_review", reviewer="lan").status == "in_review"
    assert store.review(v.id, status="in_review", reviewer="minh", comment="check Bãi Thơm").status == "in_review"
    approved = store.review(v.id, status="approved", reviewer="huong", comment="OK", created_at="2025-03-05T09:00Z")
    assert approved.status == "approved" and store.get(v.id).status == "approved"
    assert approved.id == v.id  # reviews never change the version's id or content
    with pytest.raises(StoreError, match="approved, which is final"):
        store.review(v.id, status="rejected", reviewer="boss")
    history = store.reviews(v.id)
    assert [(r.previous_status, r.status, r.reviewer) for r in history] == [
        ("draft", "draft", "lan"),
        ("draft", "in_review", "lan"),
        ("in_review", "in_review", "minh"),
        ("in_review", "approved", "huong"),
    ]
    assert history[-1].comment == "OK" and history[-1].created_at == "2025-03-05T09:00:00Z"
    with pytest.raises(StoreError, match="unknown review status 'done'"):
        store.review(v.id, status="done", reviewer="x")


def test_rejected_is_final_and_a_new_version_starts_as_draft(store: VersionStore) -> None:
    v = _save(store)
    store.review(v.id, status="in_review", reviewer="lan")
    store.review(v.id, status="rejected", reviewer="huong", comment="too expensive")
    with pytest.raises(StoreError, match="final"):
        store.review(v.id, status="in_review", reviewer="lan")
    v2 = _save(store, parent=v.id, message="cheaper", kpis={"total_vnd": 900_000_000})
    assert v2.status == "draft" and store.get(v.id).status == "rejected"
    assert set(TRANSITIONS) == set(STATUSES)


# -- immutability and tampering ------------------------------------------------------------------------------------


def test_versions_cannot_be_modified(store: VersionStore) -> None:
    v = _save(store)
    store.review(v.id, status="in_review", reviewer="lan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.message = "changed"  # type: ignore[misc]
    v.kpis["total_vnd"] = 0  # a copy: the stored version does not change
    assert store.get(v.id).kpis["total_vnd"] == 1_250_000_000
    public = {name for name in dir(store) if not name.startswith("_")}
    assert not {n for n in public if n.startswith(("update", "delete", "remove", "set", "edit"))}
    for sql in (
        "UPDATE versions SET message = 'x'",
        "DELETE FROM versions",
        "UPDATE blobs SET size = 0",
        "DELETE FROM reviews",
        "UPDATE version_artifacts SET size = 0",
    ):
        with pytest.raises(Exception, match="immutable"):
            Raw(store).execute(sql)
    assert store.verify() == 1 and store.get(v.id).message == "first undergrounding plan"


def test_tampered_blob_or_row_is_detected_on_read(store: VersionStore, tmp_path: Path) -> None:
    v = _save(store)
    digest = next(a.sha256 for a in v.artifacts if a.name == "boq.csv")
    # someone edits the store behind gisplan's back
    Raw(store).execute(
        "UPDATE blobs SET data = ? WHERE sha256 = ?", ("mã,số tiền\nT1,1\n".encode(), digest), tamper=True
    )
    with pytest.raises(StoreError, match="does not match its SHA-256"):
        store.artifact(v.id, "boq.csv")
    assert store.artifact(v.id, "layers/trench.geojson") == b'{"type":"x"}'
    with pytest.raises(StoreError, match=rf"blob {digest[:12]} does not match"):
        store.verify()
    with pytest.raises(StoreError, match="does not match"):
        store.export_version(v.id, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_tampered_metadata_is_found_by_verify(store: VersionStore) -> None:
    v = _save(store)
    Raw(store).execute("UPDATE versions SET author = 'mallory'", tamper=True)
    with pytest.raises(StoreError, match=rf"version {v.short_id}: its fields no longer hash to its id"):
        store.verify()


# -- export ---------------------------------------------------------------------------------------------------------


def test_export_version_writes_a_complete_folder(store: VersionStore, tmp_path: Path) -> None:
    v = _save(store)
    store.review(v.id, status="in_review", reviewer="lan", comment="xin duyệt")
    out = store.export_version(v.short_id, tmp_path / "exports" / "v1")
    assert (out / "boq.csv").read_bytes() == store.artifact(v.id, "boq.csv")
    assert (out / "layers" / "trench.geojson").read_bytes() == b'{"type":"x"}'
    assert (out / "gisplan-scenario.yaml").read_text(encoding="utf-8") == store.scenario_text(v.id)
    manifest = json.loads((out / "gisplan-version.json").read_text(encoding="utf-8"))
    assert manifest["id"] == v.id and manifest["status"] == "in_review"
    assert manifest["reviews"][0]["comment"] == "xin duyệt"
    with pytest.raises(StoreError, match="already exists"):
        store.export_version(v.id, out)
    with pytest.raises(StoreError, match="is a file"):
        store.export_version(v.id, out / "boq.csv", overwrite=True)
    (out / "stale.txt").write_text("old")
    store.export_version(v.id, out, overwrite=True)
    assert not (out / "stale.txt").exists() and (out / "boq.csv").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["v1"]  # no temporary folders left


# -- opening --------------------------------------------------------------------------------------------------------


def test_opening_something_that_is_not_a_store(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words in a file\n" * 20)
    with pytest.raises(StoreError, match="not a gisplan version store"):
        VersionStore(text)
    other = tmp_path / "other.gpkg"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE roads (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"SQLite database but not a gisplan version store.*roads"):
        VersionStore(other)
    with pytest.raises(StoreError, match="no version store at") as missing:
        VersionStore(tmp_path / "missing.sqlite", create=False)
    assert "--store" in str(missing.value) and "không có kho" in str(missing.value)  # a CLI user's way out
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(StoreError, match="is a directory"):
        VersionStore(tmp_path)


def test_opening_a_store_of_a_newer_schema(store: VersionStore) -> None:
    _save(store)
    if store.backend == "sqlite":
        Raw(store).execute("PRAGMA user_version = 99")
    else:
        Raw(store).execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than the 2 this gisplan reads; upgrade"):
        VersionStore(store.location)


# -- optimistic concurrency, in one process --------------------------------------------------------------------------


def test_expected_head(store: VersionStore) -> None:
    v1 = _save(store, expected_head=NO_HEAD)
    with pytest.raises(ConflictError, match="latest is now version " + v1.short_id):
        _save(store, message="also first", expected_head=NO_HEAD)
    v2 = _save(store, message="second", parent=v1.id, expected_head=v1.short_id)
    with pytest.raises(ConflictError, match="changed while you worked") as conflict:
        _save(store, message="stale", parent=v1.id, expected_head=v1.id)
    assert "chưa lưu gì" in str(conflict.value)  # the reviewer reads it in Vietnamese too
    assert [v.id for v in store.log()] == [v2.id, v1.id]
    assert _save(store, message="second", parent=v1.id, expected_head=v1.id) == v2  # a retry is not a conflict


# -- real processes ------------------------------------------------------------------------------------------------


def _spawn(mode: str, **args: Any) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(WORKER.parents[1]), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-W", "error", str(WORKER), mode, json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early ({proc.returncode}): {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"worker never created {path}")
        time.sleep(0.01)


def _finish(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _integrity(store: VersionStore) -> str:
    return Raw(store).integrity()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("stage", ["blobs_written", "rows_written"])
def test_writer_killed_mid_save_leaves_store_as_it_was(store: VersionStore, tmp_path: Path, stage: str) -> None:
    v1 = _save(store)
    v2 = _save(store, parent=v1.id, message="second")
    store.review(v2.id, status="in_review", reviewer="lan")
    before = ([v.to_dict() for v in store.log()], _count(store, "blobs"), _count(store, "version_artifacts"))

    signal_file, out = tmp_path / "inside-transaction", tmp_path / "out.jsonl"
    proc = _spawn("pause", store=store.location, stage=stage, signal=str(signal_file), out=str(out), size=4_000_000)
    try:
        _wait_file(signal_file, proc)
        # while the worker holds the write lock half-way: readers see the old store, a writer gets a clear conflict
        assert [v.to_dict() for v in store.log()] == before[0]
        with pytest.raises(ConflictError, match="busy"):
            _save(VersionStore(store.location, timeout=0.2), message="blocked")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not out.exists()

    reopened = VersionStore(store.location, create=False)
    assert ([v.to_dict() for v in reopened.log()], _count(store, "blobs"), _count(store, "version_artifacts")) == before
    assert _integrity(store) == "ok" and reopened.verify() == 2
    v3 = _save(reopened, parent=v2.id, message="after the crash")  # the lock died with the writer
    assert reopened.head(v3.scenario_name) == v3


def test_concurrent_saves_from_processes(store: VersionStore, tmp_path: Path) -> None:
    n_workers, n_saves = 4, 20
    go = tmp_path / "go"
    outs = [tmp_path / f"out{w}.jsonl" for w in range(n_workers)]
    procs = [
        _spawn("saver", store=store.location, worker=w, n=n_saves, go=str(go), out=str(outs[w]), timeout=30)
        for w in range(n_workers)
    ]
    go.touch()
    _finish(procs)
    records = [r for out in outs for r in _records(out)]
    assert len(records) == n_workers * n_saves
    assert {r["status"] for r in records} <= {"ok", "conflict"}
    ok = [r for r in records if r["status"] == "ok"]
    assert len(ok) == n_workers * n_saves  # with a 30 s timeout nobody waits in vain

    assert _integrity(store) == "ok" and store.verify() == len(ok)
    assert len(store.log()) == len(ok) and len({r["id"] for r in ok}) == len(ok)
    for r in ok:
        artifacts, kpis = worker_mod.content(r["worker"], r["i"])
        version = store.get(r["id"])
        assert version.kpis == kpis and version.scenario_name == f"worker-{r['worker']}"
        for name, data in artifacts.items():
            assert store.artifact(r["id"], name) == data
    assert _count(store, "blobs") == 1 + 3 * len(ok)  # common.bin once; scenario, boq, trench per save


def test_concurrent_saves_with_short_timeout_succeed_or_conflict(store: VersionStore, tmp_path: Path) -> None:
    n_workers, n_saves = 3, 10
    go = tmp_path / "go"
    outs = [tmp_path / f"out{w}.jsonl" for w in range(n_workers)]
    procs = [
        _spawn("saver", store=store.location, worker=w, n=n_saves, go=str(go), out=str(outs[w]), timeout=0.001)
        for w in range(n_workers)
    ]
    go.touch()
    _finish(procs)
    records = [r for out in outs for r in _records(out)]
    assert len(records) == n_workers * n_saves and {r["status"] for r in records} <= {"ok", "conflict"}
    ok = {r["id"] for r in records if r["status"] == "ok"}
    assert {v.id for v in store.log()} == ok  # every success is there, no failed save left a trace
    assert _integrity(store) == "ok" and store.verify() == len(ok)
    for r in records:
        if r["status"] == "conflict":
            assert "busy" in r["error"] and "nothing was written" in r["error"]


def test_expected_head_conflict_between_processes(store: VersionStore, tmp_path: Path) -> None:
    base = store.save(
        scenario_name=worker_mod.SHARED, scenario_text="x\n", artifacts={}, kpis={}, author="a", message="base"
    )
    procs, readies, gos, outs = [], [], [], []
    for w in range(2):
        readies.append(tmp_path / f"ready{w}")
        gos.append(tmp_path / f"go{w}")
        outs.append(tmp_path / f"out{w}.jsonl")
        procs.append(
            _spawn(
                "expect_head", store=store.location, worker=w, ready=str(readies[w]), go=str(gos[w]), out=str(outs[w])
            )
        )
    for w in range(2):
        _wait_file(readies[w], procs[w])  # both read the same head
    gos[0].touch()
    _finish(procs[:1])
    gos[1].touch()
    _finish(procs[1:])
    first, second = _records(outs[0])[0], _records(outs[1])[0]
    assert first["status"] == "ok" and first["head"] == base.id
    assert second["status"] == "conflict" and second["head"] == base.id
    assert first["id"][:12] in second["error"]
    assert [v.id for v in store.log()] == [first["id"], base.id]


def test_racing_edits_with_expected_head_keep_a_linear_history(store: VersionStore, tmp_path: Path) -> None:
    n_workers, n_edits = 3, 15
    go = tmp_path / "go"
    outs = [tmp_path / f"out{w}.jsonl" for w in range(n_workers)]
    procs = [
        _spawn("head_race", store=store.location, worker=w, n=n_edits, go=str(go), out=str(outs[w]))
        for w in range(n_workers)
    ]
    go.touch()
    _finish(procs)
    records = [r for out in outs for r in _records(out)]
    ok = [r for r in records if r["status"] == "ok"]
    assert len(records) == n_workers * n_edits and len(ok) + sum(r["status"] == "conflict" for r in records) == len(
        records
    )
    history = store.log(scenario_name=worker_mod.SHARED)
    assert {v.id for v in history} == {r["id"] for r in ok}
    # no lost update: every version's parent is the version saved just before it
    chain = list(reversed(history))
    assert chain[0].parent is None
    assert all(later.parent == earlier.id for earlier, later in itertools.pairwise(chain))
    assert _integrity(store) == "ok"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_killed_at_any_moment_leaves_only_whole_versions(store: VersionStore, tmp_path: Path, delay: float) -> None:
    """No hook: kill a busy writer wherever it happens to be; whatever the moment, the store stays whole."""
    go, out = tmp_path / "go", tmp_path / "out.jsonl"
    go.touch()
    proc = _spawn("saver", store=store.location, worker=0, n=10_000, go=str(go), out=str(out))
    try:
        _wait_file(out, proc)  # the first save is done; more are under way
        time.sleep(delay)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    lines = out.read_text(encoding="utf-8").split("\n")  # the last line may be cut short by the kill
    ok = [json.loads(line)["id"] for line in lines if line.endswith("}")]
    stored = [v.id for v in VersionStore(store.location, create=False).log()]
    assert set(ok) <= set(stored) and len(stored) - len(ok) in (0, 1)  # at most the save being reported
    assert _integrity(store) == "ok" and store.verify() == len(stored)
    for vid in stored:
        version = store.get(vid)
        artifacts, _ = worker_mod.content(0, version.kpis["i"])
        assert all(store.artifact(vid, name) == data for name, data in artifacts.items())


def test_errors_a_reviewer_sees_have_a_vietnamese_part(tmp_path: Path) -> None:
    store = VersionStore(tmp_path / "s.sqlite")
    v = store.save(
        scenario_name="dd",
        scenario_text="title: x\n",
        artifacts={},
        kpis={},
        author="a",
        message="m",
        created_at="2025-01-01T00:00:00Z",
    )
    assert not v.id.startswith("abcd")  # fixed time: a fixed id
    for ref, vi in (("zz", "mã phiên bản không hợp lệ"), ("abcd", "không tìm thấy phiên bản"), ("x@latest", "chưa có")):
        with pytest.raises(StoreError, match=vi):
            store.get(ref)
    with pytest.raises(StoreError, match="chuyển trạng thái không hợp lệ"):
        store.review(v.id, status="approved", reviewer="b")
    store.review(v.id, status="in_review", reviewer="b")
    store.review(v.id, status="rejected", reviewer="b")
    with pytest.raises(StoreError, match="đã kết thúc thẩm định"):
        store.review(v.id, status="in_review", reviewer="b")


def test_exported_version_folder_is_readable_by_others(tmp_path: Path) -> None:
    import stat

    store = VersionStore(tmp_path / "s.sqlite")
    v = store.save(
        scenario_name="dd",
        scenario_text="title: x\n",
        artifacts={"boq.csv": b"a\n"},
        kpis={},
        author="a",
        message="m",
        created_at="2025-01-01T00:00:00Z",
    )
    previous = os.umask(0o022)
    try:
        out = store.export_version(v.id, tmp_path / "export")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755  # as mkdir makes it, not mkdtemp's 0700
    assert (out / "boq.csv").read_bytes() == b"a\n"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("s.sqlite")] == ["export"]  # no staging left
