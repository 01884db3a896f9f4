"""The version store attacked and mishandled: crafted stores, tampered KPIs, damaged files, read-only shares,
old schemas, mixed run folders, and the one store-location rule (issues 11 and 17).

Each test is written as an attacker or a careless user would act, and fails on the code before the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _store_worker as worker_mod
import geopandas as gpd
import pandas as pd
import pytest
import yaml
from _store_worker import Raw
from shapely.geometry import LineString

from gisplan._errors import ScenarioError, StoreError
from gisplan.cli.main import main
from gisplan.store import VersionStore, store_location
from gisplan.workflow.actions import compare_versions, save_run

T0 = "2025-03-01T08:00:00+07:00"
SHA = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionStore]:
    if request.param == "sqlite":
        yield VersionStore(tmp_path / "store" / "gisplan-store.sqlite")
        return
    server = worker_mod.pg_server()
    if server is None:
        pytest.skip(worker_mod.SKIP_NO_SERVER)
    with worker_mod.new_pg_database(server) as dsn:
        yield VersionStore(dsn)


def _save(store: VersionStore, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "scenario_name": "dd",
        "scenario_text": "title: Dương Đông\n",
        "artifacts": {"boq.csv": b"item,amount\nT1,1000\n"},
        "kpis": {"cost_vnd": 1000},
        "author": "lan",
        "message": "plan",
        "created_at": T0,
    }
    kwargs.update(overrides)
    return store.save(**kwargs)


def _craft_version(store: VersionStore, artifact_name: str, blob_sha: str, size: int, scenario_sha: str) -> str:
    """Insert, with plain SQL, a version whose id is correct for its fields but whose artifact name is evil."""
    doc = {
        "format": "gisplan.version/1",
        "scenario_name": "crafted",
        "scenario_sha256": scenario_sha,
        "artifacts": {artifact_name: blob_sha},
        "kpis": {},
        "parent": None,
        "author": "mallory",
        "message": "looks harmless",
        "created_at": "2025-03-02T00:00:00Z",
    }
    vid = SHA(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    raw = Raw(store)
    raw.execute(
        "INSERT INTO versions (id, scenario_name, parent, author, message, created_at, scenario_sha256, kpis_json) "
        "VALUES (?, 'crafted', NULL, 'mallory', 'looks harmless', '2025-03-02T00:00:00Z', ?, '{}')",
        (vid, scenario_sha),
    )
    raw.execute(
        "INSERT INTO version_artifacts (version_id, name, sha256, size) VALUES (?, ?, ?, ?)",
        (vid, artifact_name, blob_sha, size),
    )
    return vid


# -- issue 11.1: a crafted store writes files anywhere --------------------------------------------------------------


def test_crafted_artifact_name_never_leaves_the_export_folder(store: VersionStore, tmp_path: Path, capsys) -> None:
    v = _save(store)
    boq = v.artifacts[0]
    victim = tmp_path / "victim"
    victim.mkdir()
    # ../ from the staging folder beside exports/<name> lands in tmp_path/victim
    evil = "../../victim/pwned.txt"
    vid = _craft_version(store, evil, boq.sha256, boq.size, v.scenario_sha256)
    assert store.get(vid).intact  # the attacker computed the id right: only the name check stops it

    with pytest.raises(StoreError, match="no gisplan saves"):
        store.export_version(vid, tmp_path / "exports" / "x")
    assert main(["show", vid, "--store", store.location, "--export", str(tmp_path / "exports" / "y")]) == 1
    assert "crafted or damaged" in capsys.readouterr().err
    assert main(["compare", vid, v.id, "--store", store.location, "--out", str(tmp_path / "cmp"), "--quiet"]) == 1
    with pytest.raises(StoreError, match="no gisplan saves"):
        compare_versions(store, vid, v.id, tmp_path / "app-session")  # the app's Compare button
    assert list(victim.iterdir()) == []
    assert not (tmp_path / "pwned.txt").exists() and not any(tmp_path.rglob("pwned.txt"))
    with pytest.raises(StoreError, match="not allowed"):
        store.verify()


def test_export_refuses_a_version_whose_kpis_were_edited(store: VersionStore, tmp_path: Path) -> None:
    v = _save(store)
    Raw(store).execute("UPDATE versions SET kpis_json = ?", ('{"cost_vnd":1}',), tamper=True)
    with pytest.raises(StoreError, match="changed outside gisplan"):
        store.export_version(v.id, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_never_replaces_a_folder_of_user_files(store: VersionStore, tmp_path: Path) -> None:
    v = _save(store)
    mine = tmp_path / "my-folder"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"two years of work")
    with pytest.raises(StoreError, match="not an earlier gisplan export"):
        store.export_version(v.id, mine, overwrite=True)
    assert (mine / "thesis.docx").read_bytes() == b"two years of work"
    # an earlier export is replaced as a whole, as before
    out = store.export_version(v.id, tmp_path / "export")
    store.export_version(v.id, out, overwrite=True)
    assert (out / "boq.csv").read_bytes() == b"item,amount\nT1,1000\n"


# -- issue 11.10: tampered KPIs shown without a warning ------------------------------------------------------------


def test_log_and_show_warn_about_tampered_kpis(store: VersionStore, capsys) -> None:
    v = _save(store)
    good = _save(store, message="untouched", parent=v.id)
    Raw(store).execute("UPDATE versions SET kpis_json = ? WHERE id = ?", ('{"cost_vnd":1}', v.id), tamper=True)
    assert main(["log", "--store", store.location]) == 0
    out, err = capsys.readouterr()
    tampered_line = next(line for line in out.splitlines() if line.startswith(v.short_id))
    good_line = next(line for line in out.splitlines() if line.startswith(good.short_id))
    assert "TAMPERED" in tampered_line and "TAMPERED" not in good_line
    assert f"version {v.short_id} was changed outside gisplan" in err and "backup" in err
    assert main(["show", v.short_id, "--store", store.location]) == 0
    out, err = capsys.readouterr()
    assert "TAMPERED" in out and "cannot be trusted" in err
    assert main(["show", v.short_id, "--store", store.location, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intact"] is False


# -- issue 11.10: a damaged store called "not a gisplan version store" ---------------------------------------------


def test_a_damaged_store_is_called_damaged_with_a_word_on_backups(tmp_path: Path, capsys) -> None:
    store = VersionStore(tmp_path / "s.sqlite")
    _save(store)
    data = bytearray(store.path.read_bytes())  # type: ignore[union-attr]
    data[100:600] = b"\xff" * 500  # the schema page's header: SQLite can no longer read the table list
    store.path.write_bytes(bytes(data))  # type: ignore[union-attr]
    with pytest.raises(StoreError) as info:
        VersionStore(store.path, create=False)  # type: ignore[arg-type]
    text = str(info.value)
    assert "damaged" in text and "backup" in text and "not a gisplan version store" not in text
    assert main(["log", "--store", str(store.path)]) == 1
    assert "bị hỏng" in capsys.readouterr().err


# -- issue 17: a store on a read-only share --------------------------------------------------------------------------


def _as_unprivileged(fn: Callable[[], int]) -> tuple[int, str]:
    """Run ``fn`` in a child process that may not write the store (user nobody when the tests run as root)."""
    fd, out_path = tempfile.mkstemp(prefix="gisplan-ro-")
    os.close(fd)
    os.chmod(out_path, 0o666)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            with open(out_path, "w", encoding="utf-8") as fh:
                sys.stdout = sys.stderr = fh  # pytest's capture objects are not the child's to use
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                try:
                    code = fn()
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    raise
                finally:
                    fh.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    text = Path(out_path).read_text(encoding="utf-8")
    os.unlink(out_path)
    return os.waitstatus_to_exitcode(status), text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_a_store_on_a_read_only_share_can_be_listed_shown_and_exported(tmp_path: Path) -> None:
    share = Path(tempfile.mkdtemp(prefix="gisplan-share-"))
    try:
        store = VersionStore(share / "gisplan-store.sqlite")
        v1 = _save(store)
        v2 = _save(store, parent=v1.id, message="second", kpis={"cost_vnd": 2000})
        run = _tiny_run(share / "run")
        os.chmod(store.path, 0o444)  # type: ignore[arg-type]
        os.chmod(share, 0o555)
        out = Path(tempfile.mkdtemp(prefix="gisplan-ro-out-"))
        os.chmod(out, 0o777)
        loc = str(store.path)
        code, text = _as_unprivileged(lambda: main(["log", "--store", loc]))
        assert code == 0 and v1.short_id in text and v2.short_id in text, text
        code, text = _as_unprivileged(lambda: main(["show", v2.short_id, "--store", loc, "--export", str(out / "e")]))
        assert code == 0 and "second" in text, text
        assert (out / "e" / "boq.csv").read_bytes() == b"item,amount\nT1,1000\n"
        code, text = _as_unprivileged(lambda: int(VersionStore(loc).read_only and VersionStore(loc).verify() == 2))
        assert code == 1, text
        code, text = _as_unprivileged(lambda: main(["save", str(run), "--store", loc, "--author", "a", "-m", "m"]))
        assert code == 1 and "read-only" in text and "chỉ đọc" in text, text
        assert sorted(p.name for p in share.iterdir()) == ["gisplan-store.sqlite", "run"]  # nothing new on the share
    finally:
        os.chmod(share, 0o755)
        shutil.rmtree(share, ignore_errors=True)
        if "out" in locals():
            shutil.rmtree(out, ignore_errors=True)


# -- issue 17: schema migrations -------------------------------------------------------------------------------------

#: The schema gisplan 0.1 created (schema version 1), frozen here: a real old store, not one made by today's code.
V1_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64), size INTEGER NOT NULL CHECK (size >= 0),
    data BLOB NOT NULL);
CREATE TABLE versions (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE CHECK (length(id) = 64),
    scenario_name TEXT NOT NULL, parent TEXT REFERENCES versions(id), author TEXT NOT NULL, message TEXT NOT NULL,
    created_at TEXT NOT NULL, scenario_sha256 TEXT NOT NULL REFERENCES blobs(sha256), kpis_json TEXT NOT NULL);
CREATE INDEX versions_by_scenario ON versions (scenario_name, seq);
CREATE TABLE version_artifacts (version_id TEXT NOT NULL REFERENCES versions(id), name TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256), size INTEGER NOT NULL, PRIMARY KEY (version_id, name));
CREATE TABLE reviews (seq INTEGER PRIMARY KEY AUTOINCREMENT, version_id TEXT NOT NULL REFERENCES versions(id),
    previous_status TEXT NOT NULL, status TEXT NOT NULL, reviewer TEXT NOT NULL, comment TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE INDEX reviews_by_version ON reviews (version_id, seq);
CREATE TRIGGER versions_no_update BEFORE UPDATE ON versions BEGIN SELECT RAISE(ABORT, 'immutable'); END;
INSERT INTO meta (key, value) VALUES ('application', 'gisplan version store');
PRAGMA application_id = 1196447315;
PRAGMA user_version = 1;
"""


def _v1_store(path: Path) -> str:
    """A schema-1 store holding one version and one review, written with plain SQL."""
    scenario, boq = b"title: old\n", b"item,amount\nT1,5\n"
    doc = {
        "format": "gisplan.version/1",
        "scenario_name": "old",
        "scenario_sha256": SHA(scenario),
        "artifacts": {"boq.csv": SHA(boq)},
        "kpis": {"cost_vnd": 5},
        "parent": None,
        "author": "lan",
        "message": "saved by gisplan 0.1",
        "created_at": "2024-12-01T00:00:00Z",
    }
    vid = SHA(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(V1_DDL)
    for data in (scenario, boq):
        conn.execute("INSERT INTO blobs VALUES (?, ?, ?)", (SHA(data), len(data), data))
    conn.execute(
        "INSERT INTO versions (id, scenario_name, parent, author, message, created_at, scenario_sha256, kpis_json) "
        "VALUES (?, 'old', NULL, 'lan', 'saved by gisplan 0.1', '2024-12-01T00:00:00Z', ?, '{\"cost_vnd\":5}')",
        (vid, SHA(scenario)),
    )
    conn.execute("INSERT INTO version_artifacts VALUES (?, 'boq.csv', ?, ?)", (vid, SHA(boq), len(boq)))
    conn.execute(
        "INSERT INTO reviews (version_id, previous_status, status, reviewer, comment, created_at) "
        "VALUES (?, 'draft', 'in_review', 'minh', '', '2024-12-02T00:00:00Z')",
        (vid,),
    )
    conn.close()
    return vid


def test_an_old_store_is_migrated_with_its_ids_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    vid = _v1_store(path)
    store = VersionStore(path, create=False)
    assert store.schema_version == 2
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert [r[0] for r in conn.execute("SELECT schema_version FROM migrations")] == [2]
    conn.close()
    old = store.get(vid)
    assert old.id == vid and old.intact and old.status == "in_review" and old.kpis == {"cost_vnd": 5}
    assert store.artifact(vid, "boq.csv") == b"item,amount\nT1,5\n"
    new = _save(store, scenario_name="old", parent=vid, message="saved after the upgrade")
    assert store.verify() == 2 and store.get("old@latest") == new
    assert VersionStore(path, create=False).schema_version == 2  # opening again migrates nothing


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_an_old_store_on_a_read_only_share_is_read_without_migrating(tmp_path: Path) -> None:
    share = Path(tempfile.mkdtemp(prefix="gisplan-old-share-"))
    try:
        vid = _v1_store(share / "old.sqlite")
        os.chmod(share / "old.sqlite", 0o444)
        os.chmod(share, 0o555)
        loc = str(share / "old.sqlite")
        code, text = _as_unprivileged(lambda: main(["log", "--store", loc]))
        assert code == 0 and vid[:12] in text, text
        conn = sqlite3.connect(f"file:{loc}?mode=ro&immutable=1", uri=True)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        conn.close()
    finally:
        os.chmod(share, 0o755)
        shutil.rmtree(share, ignore_errors=True)


# -- issue 11.5: save refuses a mixed run folder ---------------------------------------------------------------------


def _tiny_run(folder: Path) -> Path:
    """A real run folder (export_plan writes its manifest) with one trench."""
    from gisplan.io.crs import METRIC_CRS
    from gisplan.outputs.export import export_plan
    from gisplan.plan import BOQ_COLUMNS, Plan

    boq = pd.DataFrame(
        [("TR.ASPHALT", "Đào rãnh", "Trench", "m", 100.0, 650_000, 65_000_000, "civil", "2027", "PQ", "Dương Đông")],
        columns=list(BOQ_COLUMNS),
    )
    layers = {
        "trenches": gpd.GeoDataFrame(
            {"phase": ["2027"], "length_m": [100.0]},
            geometry=[LineString([(386000.0, 1130000.0), (386100.0, 1130000.0)])],
            crs=METRIC_CRS,
        )
    }
    kpis = {"cost_vnd": 65_000_000, "trench_m": 100.0}
    text = yaml.safe_dump({"title": "tiny", "layers": {"source": "demo"}, "underground": {"enabled": True}})
    export_plan(
        Plan("underground", layers, boq, kpis),
        folder,
        scenario_text=text,
        extra_files={"kpis.json": json.dumps(kpis), "scenario.yaml": text},
    )
    return folder


def test_save_refuses_a_run_folder_that_does_not_match_its_manifest(tmp_path: Path, capsys) -> None:
    store = VersionStore(tmp_path / "s.sqlite")
    run = _tiny_run(tmp_path / "run")
    good = save_run(store, run, author="lan", message="whole run")
    assert good.artifact_names == ("boq.csv", "boq.xlsx", "kpis.json", "manifest.json", "plan.gpkg", "scenario.yaml")
    # a re-run that replaced boq.csv and failed before the rest (Excel held boq.xlsx open)
    (run / "boq.csv").write_bytes((run / "boq.csv").read_bytes().replace(b"65000000", b"99000000"))
    with pytest.raises(ScenarioError, match=r"does not match its manifest\.json") as info:
        save_run(store, run, author="lan", message="mixed")
    assert any("boq.csv" in str(p) for p in info.value.problems)
    assert main(["save", str(run), "--store", str(store.path), "--author", "lan", "-m", "mixed"]) == 1
    assert "không khớp manifest.json" in capsys.readouterr().err
    (run / "manifest.json").unlink()
    with pytest.raises(ScenarioError, match=r"no manifest\.json"):
        save_run(store, run, author="lan", message="no manifest")
    assert [v.id for v in store.log()] == [good.id]


# -- issue 17: one store rule for the CLI, the app and the API --------------------------------------------------------


def test_cli_and_app_use_the_same_store(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GISPLAN_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    run = _tiny_run(tmp_path / "run")
    assert main(["save", str(run), "--author", "lan", "-m", "from the CLI"]) == 0
    default = tmp_path / "data" / "gisplan" / "gisplan-store.sqlite"
    assert default.is_file() and not (tmp_path / "gisplan-store.sqlite").exists()  # not the current folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
    try:
        import appkit
    finally:
        sys.path.pop(0)
    assert appkit.store_path() == str(default)
    assert [v.message for v in appkit.open_store().log()] == ["from the CLI"]  # the app sees the CLI's save

    team = tmp_path / "team.sqlite"
    monkeypatch.setenv("GISPLAN_STORE", str(team))
    appkit.open_store().save(
        scenario_name="app", scenario_text="t\n", artifacts={}, kpis={}, author="minh", message="from the app"
    )
    capsys.readouterr()
    assert main(["log"]) == 0  # $GISPLAN_STORE, as its own message says
    assert "from the app" in capsys.readouterr().out
    assert store_location("other.sqlite") == "other.sqlite"  # --store wins
    monkeypatch.setenv("GISPLAN_STORE", "postgresql://planner:s3cret@db.local/gisplan")
    assert "s3cret" not in appkit.store_path() and "db.local/gisplan" in appkit.store_path()
