"""Helper process for tests/test_store.py: real writers that race, or die mid-save.

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
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gisplan.store import versions as store_mod
from gisplan._errors import ConflictError

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


MODES = {"pause": _pause, "saver": _saver, "head_race": _head_race, "expect_head": _expect_head}

if __name__ == "__main__":
    MODES[sys.argv[1]](json.loads(sys.argv[2]))
