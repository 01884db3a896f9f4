"""Tests of the app's library actions: a review is bound to the version shown; an identical run is found."""

from __future__ import annotations

from pathlib import Path

import pytest

from gisplan._errors import StoreError
from gisplan.store.versions import VersionStore
from gisplan.workflow import actions


def _versions(store: VersionStore) -> tuple[str, str]:
    r1 = store.save(scenario_name="s", scenario_text="a: 1\n", artifacts={"x": b"1"}, kpis={}, author="A", message="1")
    r2 = store.save(scenario_name="s", scenario_text="a: 2\n", artifacts={"x": b"2"}, kpis={}, author="A", message="2")
    return r1.id, r2.id


def test_review_is_written_to_the_version_given_and_refuses_stale_or_same_status(tmp_path: Path) -> None:
    store = VersionStore(tmp_path / "s.sqlite")
    r1, r2 = _versions(store)
    actions.review_version(store, r1, status="in_review", reviewer="Hà", comment="", shown_status="draft")
    assert (store.get(r1).status, store.get(r2).status) == ("in_review", "draft")
    with pytest.raises(StoreError, match="not 'draft' as shown"):  # another reviewer moved it since
        actions.review_version(store, r1, status="approved", reviewer="Hà", comment="", shown_status="draft")
    with pytest.raises(StoreError, match="already 'in_review'"):
        actions.review_version(store, r1, status="in_review", reviewer="Hà", comment="", shown_status="in_review")
    with pytest.raises(StoreError, match="full version id"):
        actions.review_version(store, r1[:12], status="approved", reviewer="Hà", comment="", shown_status="in_review")
    assert len(store.reviews(r1)) == 1 and store.reviews(r2) == []


def test_identical_version_finds_the_same_run_folder_only(tmp_path: Path) -> None:
    from gisplan.workflow.folders import RUN_FILES, run_artifacts

    run = tmp_path / "run"
    run.mkdir()
    for name in RUN_FILES:
        if name == "scenario.yaml":
            (run / name).write_text("title: t\n", encoding="utf-8")
        elif name == "kpis.json":
            (run / name).write_text('{"cost_vnd": 5}', encoding="utf-8")
    store = VersionStore(tmp_path / "s.sqlite")
    assert actions.identical_version(store, run, name="s") is None
    v = store.save(
        scenario_name="s",
        scenario_text="title: t\n",
        artifacts=run_artifacts(run),
        kpis={"cost_vnd": 5},
        author="A",
        message="m",
    )
    assert actions.identical_version(store, run, name="s") == v
    assert actions.identical_version(store, run, name="other") is None
    (run / "kpis.json").write_text('{"cost_vnd": 6}', encoding="utf-8")  # another result: not the same run
    assert actions.identical_version(store, run, name="s") is None
