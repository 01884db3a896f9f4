"""What the CLI and the app both do, in one place: scenarios from drawn geometries, runs, saves, comparisons.

The CLI (``gisplan run|save|compare|show``) and the Streamlit pages are faces over these functions: a page
reads its widgets, calls one of them and shows what comes back; the CLI parses its arguments and does the
same.  Nothing here reads widgets, prints or knows about Streamlit.

Examples
--------
>>> from gisplan.demo import demo_zone_duong_dong
>>> from shapely.geometry import mapping
>>> scen = underground_scenario(
...     title="Dương Đông",
...     layers={"source": "demo"},
...     zones=[mapping(demo_zone_duong_dong())],
...     budget_per_year_vnd=12_000_000_000,
...     start_year=2027,
...     manhole_spacing_m=200.0,
... )
>>> scen["underground"]["budget_per_year_vnd"]
12000000000
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml

from gisplan._errors import GisplanError, Problem, ScenarioError
from gisplan._yaml import load_yaml
from gisplan.plan import Plan
from gisplan.store.location import is_database_location
from gisplan.store.versions import Version, VersionStore
from gisplan.workflow.compare import Comparison, compare_runs, write_comparison
from gisplan.workflow.folders import RunFolder, read_run, run_artifacts
from gisplan.workflow.runs import RunResult, run_scenario, write_run
from gisplan.workflow.scenario import Scenario, load_scenario, parse_scenario, scenario_values

__all__ = [
    "CompareOutcome",
    "compare_refs",
    "compare_versions",
    "download_name",
    "feature_collection",
    "identical_version",
    "plan_of_run",
    "review_version",
    "run_scenario_text",
    "run_title",
    "save_run",
    "scenario_yaml",
    "underground_scenario",
    "vnd_from_billions",
    "wifi_scenario",
    "with_project_frame",
]

Progress = Callable[[str], None]


def _noop(msg: str) -> None:
    return None


# -- scenarios from what a planner drew ------------------------------------------------------------------------------


def vnd_from_billions(billions: float) -> int:
    """A budget typed in billions of VND (tỷ đồng) as whole VND: ``12.5`` -> ``12_500_000_000``.

    Raises
    ------
    ScenarioError
        For a value that is not a finite number at least 0.
    """
    value = float(billions)
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(
            f"a budget must be a finite number of billions of VND at least 0, got {billions!r} "
            "/ Ngân sách phải là một số (tỷ đồng) không âm",
            [],
        )
    return round(value * 1_000_000_000)


def feature_collection(features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS 84 lon/lat) of drawn features or bare geometries, properties dropped.

    Each item is a GeoJSON Feature (its ``geometry`` is taken) or a GeoJSON geometry mapping.
    """
    out = []
    for f in features:
        geometry = f.get("geometry") if f.get("type") == "Feature" else f
        if not geometry:
            raise ScenarioError("a drawn feature has no geometry / Hình đã vẽ không có tọa độ", [])
        out.append({"type": "Feature", "properties": {}, "geometry": dict(geometry)})
    return {"type": "FeatureCollection", "features": out}


def underground_scenario(
    *,
    title: str,
    layers: Mapping[str, Any],
    zones: Sequence[Mapping[str, Any]],
    budget_per_year_vnd: int,
    start_year: int,
    manhole_spacing_m: float,
) -> dict[str, Any]:
    """The scenario mapping of an undergrounding run: the drawn ``zones`` and the planner's parameters.

    ``layers`` is the scenario's ``layers`` section (``{"source": "demo"}``, a project file, uploaded ``files``).
    The result is what :func:`scenario_yaml` writes and :func:`gisplan.workflow.parse_scenario` reads.
    """
    if not zones:
        raise ScenarioError(
            "draw at least one zone (a polygon) to plan undergrounding / Hãy vẽ ít nhất một vùng ngầm hóa", []
        )
    return {
        "title": title,
        "layers": dict(layers),
        "geometries": {"zones": feature_collection(zones)},
        "underground": {
            "enabled": True,
            "budget_per_year_vnd": int(budget_per_year_vnd),
            "start_year": int(start_year),
            "manhole_spacing_m": float(manhole_spacing_m),
        },
    }


def wifi_scenario(
    *,
    title: str,
    layers: Mapping[str, Any],
    year: int,
    cover_all: bool,
    budget_vnd: int | None = None,
    candidate_sites: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The scenario mapping of a wifi run: cover every unserved village, or the most people within ``budget_vnd``.

    ``candidate_sites`` are points a planner drew (GeoJSON features or geometries, lon/lat).
    """
    wifi: dict[str, Any] = {"enabled": True, "year": int(year)}
    if cover_all:
        wifi["cover_all"] = True
    else:
        if budget_vnd is None:
            raise ScenarioError(
                "a wifi plan needs a budget unless it covers every unserved village "
                "/ Phương án wifi cần ngân sách, trừ khi phủ toàn bộ các thôn chưa được phục vụ",
                [],
            )
        wifi["budget_vnd"] = int(budget_vnd)
    scenario: dict[str, Any] = {"title": title, "layers": dict(layers), "wifi": wifi}
    if candidate_sites:
        scenario["geometries"] = {"candidate_sites": feature_collection(candidate_sites)}
    return scenario


def scenario_yaml(scenario: Mapping[str, Any]) -> str:
    """A scenario mapping as the YAML text a scenario file holds (UTF-8 Vietnamese kept, key order kept)."""
    return yaml.safe_dump(dict(scenario), allow_unicode=True, sort_keys=False)


def run_scenario_text(
    text: str,
    out_dir: str | Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    progress: Progress = _noop,
) -> RunResult:
    """Parse scenario YAML ``text``, plan it and write its run folder ``out_dir`` (see ``gisplan run``).

    ``layers`` are already-validated project layers to use for ``layers.source`` (the app's cached project);
    default: read them.  Raises :class:`~gisplan.GisplanError` subclasses on bad input.
    """
    scen = parse_scenario(text)
    result = run_scenario(scen, progress=progress, layers=None if layers is None else dict(layers))
    write_run(result, out_dir, progress=progress)
    return result


def with_project_frame(
    scen: Scenario, *, metric_crs: str | None = None, region: Sequence[float] | None = None
) -> Scenario:
    """The scenario with ``layers.metric_crs`` / ``layers.region`` set (the CLI's ``--metric-crs``, ``--region``).

    The override is written into the scenario's text, so the run folder's ``scenario.yaml`` (and a version saved from
    it) re-runs with the same frame.
    """
    if metric_crs is None and region is None:
        return scen
    doc = load_yaml(scen.text) if scen.text else dict(scen.values)
    layers = dict(doc.get("layers") or {})
    if metric_crs is not None:
        layers["metric_crs"] = str(metric_crs)
    if region is not None:
        layers["region"] = [float(v) for v in region]
    doc["layers"] = layers
    return parse_scenario(scenario_yaml(doc), path=scen.path)


# -- versions ----------------------------------------------------------------------------------------------------------


def save_run(
    store: VersionStore,
    run_dir: str | Path,
    *,
    author: str,
    message: str,
    name: str | None = None,
    parent: str | None = None,
    on_head: bool = False,
    expected_head: str | None = None,
) -> Version:
    """Save a run folder as a version of scenario ``name`` (default: the folder's name).

    ``parent`` names the version this one revises; ``on_head=True`` takes the scenario's current head as the
    parent (what the app does: a planner saving again revises the last saved version).  The KPIs saved are the
    run folder's own ``kpis.json``.

    Raises
    ------
    ScenarioError
        If the folder's files do not match its ``manifest.json`` (a re-run that failed half-way, a file edited
        or replaced by hand): a mixed folder is never saved.
    """
    files = run_artifacts(run_dir)
    _check_manifest(Path(run_dir), files)
    run = read_run(run_dir)
    scenario_name = name or Path(run_dir).resolve().name
    if on_head and parent is None:
        head = store.head(scenario_name)
        parent = head.id if head is not None else None
    return store.save(
        scenario_name=scenario_name,
        scenario_text=run.scenario_text,
        artifacts=files,
        kpis=run.kpis,
        author=author.strip(),
        message=message.strip(),
        parent=parent,
        expected_head=expected_head,
    )


def _check_manifest(run_dir: Path, files: Mapping[str, bytes]) -> None:
    """Every file of the run folder is the one its ``manifest.json`` hashed, and every hashed file is there."""
    fix = (
        "run the scenario again (`gisplan run SCENARIO --out FOLDER`) and save the new folder "
        "/ chạy lại kịch bản (`gisplan run KỊCH_BẢN --out THƯ_MỤC`) rồi lưu thư mục mới"
    )
    manifest_path = run_dir / "manifest.json"
    if "manifest.json" not in files:
        raise ScenarioError(
            f"{run_dir} has no manifest.json, so its files cannot be checked (thiếu manifest.json); nothing was saved "
            f"/ thư mục {run_dir} không có manifest.json nên không kiểm tra được các tệp; chưa lưu gì",
            [Problem("missing manifest.json / thiếu manifest.json", file=str(manifest_path), hint=fix)],
        )
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
        outputs = manifest["outputs"]
        listed = {str(n): (str(e["sha256"]), int(e["bytes"])) for n, e in outputs.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScenarioError(
            f"{manifest_path} is not a gisplan run manifest ({exc}); nothing was saved "
            f"/ Tệp kê khai {manifest_path} không phải manifest của một lần chạy gisplan ({exc}): chưa lưu",
            [Problem("unreadable manifest / không đọc được tệp kê khai", file=str(manifest_path), hint=fix)],
        ) from exc
    problems = []
    for file_name, data in sorted(files.items()):
        if file_name == "manifest.json":
            continue
        if file_name not in listed:
            problems.append(
                Problem(
                    "file not listed in manifest.json / tệp không có trong manifest.json",
                    file=str(run_dir / file_name),
                    hint=fix,
                )
            )
        elif hashlib.sha256(data).hexdigest() != listed[file_name][0] or len(data) != listed[file_name][1]:
            problems.append(
                Problem(
                    "file differs from the one manifest.json hashed (tệp khác với tệp đã ghi trong manifest.json)",
                    file=str(run_dir / file_name),
                    hint=fix,
                )
            )
    for file_name in sorted(set(listed) - set(files)):
        problems.append(
            Problem(
                "file listed in manifest.json is missing / thiếu tệp đã ghi trong manifest.json",
                file=str(run_dir / file_name),
                hint=fix,
            )
        )
    scenario = files.get("scenario.yaml")
    if scenario is not None and hashlib.sha256(scenario).hexdigest() != manifest.get("scenario_sha256"):
        problems.append(
            Problem(
                "scenario.yaml is not the scenario the run was made from "
                "/ scenario.yaml không phải kịch bản đã dùng cho lần chạy này",
                file=str(run_dir / "scenario.yaml"),
                hint=fix,
            )
        )
    if problems:
        raise ScenarioError(
            f"run folder {run_dir} does not match its manifest.json (thư mục kết quả không khớp manifest.json): "
            "a re-run failed half-way or a file was changed; nothing was saved "
            "/ một lần chạy lại bị dừng giữa chừng hoặc có tệp đã bị sửa; chưa lưu gì",
            problems,
        )


def identical_version(store: VersionStore, run_dir: str | Path, *, name: str) -> Version | None:
    """The saved version of scenario ``name`` holding exactly this run (same scenario text, same artifact bytes).

    Runs are byte-identical for the same input (fixed timestamps in every export), so saving the same run folder
    twice, or a rerun of an unchanged scenario, finds the version saved the first time.  None when there is none.
    """
    import hashlib

    files = run_artifacts(run_dir)
    if "scenario.yaml" not in files:
        raise GisplanError(
            f"{run_dir} is not a run folder: it has no scenario.yaml "
            f"/ {run_dir} không phải thư mục kết quả chạy: thiếu tệp scenario.yaml"
        )
    # the text as save_run stores it (read as UTF-8 text, so line endings are those of the file)
    scenario_sha = hashlib.sha256(files["scenario.yaml"].decode("utf-8").encode("utf-8")).hexdigest()
    artifacts = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    for version in store.log(scenario_name=name):
        if version.scenario_sha256 == scenario_sha and {a.name: a.sha256 for a in version.artifacts} == artifacts:
            return version
    return None


def review_version(
    store: VersionStore, version_id: str, *, status: str, reviewer: str, comment: str, shown_status: str
) -> Version:
    """Record a review of the version ``version_id`` a reviewer sees, whose status they see as ``shown_status``.

    The review is bound to that version: a full id (not a prefix, not ``name@latest``), a status that has not
    moved since the page showed it (another reviewer may have reviewed it meanwhile), and a status that changes
    (a review that keeps the status is refused: a comment alone is not a decision).

    Raises
    ------
    StoreError
        When the id is unknown, the status moved since it was shown, ``status`` equals the current status, or
        :data:`~gisplan.store.versions.TRANSITIONS` does not allow the change.
    """
    from gisplan._errors import StoreError

    version = store.get(version_id)
    if version.id != version_id:
        raise StoreError(
            f"review needs the full version id, got {version_id!r} "
            f"/ thẩm định cần mã phương án đầy đủ, đang là {version_id!r}"
        )
    if version.status != shown_status:
        raise StoreError(
            f"version {version.short_id} is now {version.status!r}, not {shown_status!r} as shown: "
            "someone reviewed it meanwhile; reload the page "
            f"(phiên bản {version.short_id} đã đổi trạng thái; hãy tải lại trang)"
        )
    if status == version.status:
        raise StoreError(
            f"version {version.short_id} is already {status!r}; choose another status "
            f"(phiên bản {version.short_id} đã ở trạng thái này; hãy chọn trạng thái khác)"
        )
    return store.review(version.id, status=status, reviewer=reviewer.strip(), comment=comment.strip())


def run_title(run: RunFolder, ref: str) -> str:
    """A short label of a compared side: the scenario's title and the reference given (version id or file)."""
    try:
        title = str(scenario_values(run.scenario_text).get("title") or "")
    except GisplanError:
        title = ""
    name = Path(ref).name if (Path(ref).exists() or "/" in ref) else ref[:12]
    return f"{title} ({name})" if title else name


@dataclass(frozen=True)
class CompareOutcome:
    """A comparison and the files written for it (``compare.html``, ``compare.xlsx``)."""

    comparison: Comparison
    title: str
    files: dict[str, Path]


def _resolve_side(ref: str, store_path: str | Path | None, tmp: Path, label: str, progress: Progress) -> Path:
    """A compared side as a run folder: a run folder, a scenario file (run now) or a stored version (exported)."""
    p = Path(ref)
    if p.is_dir():
        return p
    if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
        progress(f"running {p} for side {label}")
        out = tmp / label
        write_run(run_scenario(load_scenario(p), progress=progress), out, progress=progress)
        return out
    if store_path is None or not (is_database_location(store_path) or Path(store_path).is_file()):
        raise GisplanError(
            f"{ref!r} is neither a run folder, a scenario file nor a version (no store at {store_path}) "
            f"/ {ref!r} không phải thư mục kết quả, tệp kịch bản hay phiên bản"
        )
    return VersionStore(store_path, create=False).export_version(ref, tmp / label)


def compare_refs(
    a: str,
    b: str,
    out_dir: str | Path,
    *,
    store_path: str | Path | None,
    work_dir: str | Path,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    progress: Progress = _noop,
) -> CompareOutcome:
    """Compare two sides given as run folders, scenario files or version ids; write the report to ``out_dir``.

    ``work_dir`` receives the sides' run folders (scenario files run, versions exported).
    """
    tmp = Path(work_dir)
    run_a = read_run(_resolve_side(a, store_path, tmp, "A", progress))
    run_b = read_run(_resolve_side(b, store_path, tmp, "B", progress))
    comparison = compare_runs(run_a, run_b)
    title = f"{run_title(run_a, a)} → {run_title(run_b, b)}"
    files = write_comparison(comparison, out_dir, title=title, context=dict(context or {}))
    return CompareOutcome(comparison, title, files)


def compare_versions(
    store: VersionStore,
    a: str,
    b: str,
    work_dir: str | Path,
    *,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> CompareOutcome:
    """Compare two saved versions (ids or unique prefixes): export both under ``work_dir`` and write the report.

    The report goes to ``work_dir/compare-<a>-<b>``; ``context`` layers (land, roads, ...) are drawn under it.
    """
    va, vb = store.get(a), store.get(b)
    base = Path(work_dir)
    run_a = read_run(store.export_version(va.id, base / f"version-{va.id[:12]}", overwrite=True))
    run_b = read_run(store.export_version(vb.id, base / f"version-{vb.id[:12]}", overwrite=True))
    comparison = compare_runs(run_a, run_b)
    title = f"{va.scenario_name} {va.id[:12]} → {vb.scenario_name} {vb.id[:12]}"
    files = write_comparison(
        comparison, base / f"compare-{va.id[:12]}-{vb.id[:12]}", title=title, context=dict(context or {})
    )
    return CompareOutcome(comparison, title, files)


def plan_of_run(run_dir: str | Path, *, kind: str) -> Plan:
    """The plan a run folder holds (its layers, BOQ and KPIs), as :func:`run_scenario_text` returned it.

    What the app shows again after a reload, without planning again.  ``kind`` is ``"underground"`` or
    ``"wifi"``; the plan's messages are not in the folder and come back empty.
    """
    run = read_run(run_dir)
    return Plan(kind=kind, layers=dict(run.layers), boq=run.boq, kpis=dict(run.kpis))


def download_name(prefix: str, name: str) -> str:
    """A download's file name: ``prefix`` (scenario, date, version) then the file's own name, e.g.
    ``duong-dong-2026-12-02-boq.xlsx``; characters a file system refuses become ``-``.

    >>> download_name("Ngầm hóa/Dương Đông 2026-12-02", "boq.xlsx")
    'Ngầm-hóa-Dương-Đông-2026-12-02-boq.xlsx'
    """
    import re

    stem = re.sub(r'[\\/:*?"<>|\s]+', "-", f"{prefix}-{name}".strip()).strip("-.")
    return re.sub(r"-{2,}", "-", stem) or name
