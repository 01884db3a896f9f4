"""National programmes: many areas (provinces, districts, islands), each planned as a scenario, run as one.

A programme file (YAML) names its areas and their scenario files::

    programme_version: 1
    title: "Chương trình viễn thông công ích 2026-2030"
    areas:
      - name: kien-giang                # lower-case letters, digits, '-' and '_'; unique
        scenario: areas/kien-giang.yaml # relative to the programme file
      - name: an-giang
        scenario: areas/an-giang.yaml

:func:`run_programme` plans every area, serially or on a Dask distributed cluster (a ``LocalCluster`` of
``workers`` processes, or an existing scheduler), and writes ``OUT/areas/<name>/`` (each area's run folder,
exactly what ``gisplan run`` writes for it) and the programme's own files: ``programme-boq.csv`` (every BOQ
row with its area), ``programme-boq.xlsx`` (a summary sheet and a sheet per area), ``programme-kpis.json``
(additive KPIs summed over the areas, and each area's) and ``programme-report.json`` (status, time and peak
memory of each area, and the error of a failed one).

Each area runs in one task that returns its files as bytes: a worker needs the scenario and layer files
(a shared folder), not the output folder.  Areas are independent and deterministic, so the files of every
area are byte-identical whichever way the programme runs; the programme files list areas in the
programme's order, not in the order they finished.  A failed area is reported and the others are kept.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import resource
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gisplan._atomic import atomic_dir, atomic_write_bytes, atomic_write_text
from gisplan._errors import GisplanError, Problem, ScenarioError
from gisplan.outputs.export import FIXED_TIMESTAMP, compare_to_xlsx

__all__ = [
    "AreaOutcome",
    "Programme",
    "ProgrammeArea",
    "ProgrammeResult",
    "is_programme_file",
    "load_programme",
    "run_area",
    "run_programme",
    "synthetic_programme",
    "write_programme",
]

Progress = Callable[[str], None]

#: Largest programme file read (bytes): a national programme of a few thousand areas is far below it.
MAX_PROGRAMME_BYTES = 1 << 20
#: Most areas in one programme.
MAX_AREAS = 10_000
_AREA_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
#: KPI names that are not amounts or counts (ratios, years, gaps): reported per area, never summed.
_NOT_ADDITIVE = re.compile(r"(^|_)(gap|share|ratio|rate|pct|percent|year|bound|per)(_|$)|^cost_per_")


def _noop(msg: str) -> None:
    return None


@dataclass(frozen=True)
class ProgrammeArea:
    """One area of a programme: its name and its scenario file."""

    name: str
    scenario: Path


@dataclass(frozen=True)
class Programme:
    """A programme read from its file."""

    title: str
    path: Path
    areas: tuple[ProgrammeArea, ...]


@dataclass(frozen=True)
class AreaOutcome:
    """What planning one area gave: its files (bytes by name) or its error, and what it cost."""

    name: str
    ok: bool
    error: str = ""
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    kpis: Mapping[str, Any] = field(default_factory=dict)
    total_vnd: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""


@dataclass(frozen=True)
class ProgrammeResult:
    """The outcome of every area, in the programme's order, and the files written."""

    programme: Programme
    outcomes: tuple[AreaOutcome, ...]
    files: dict[str, Path]
    seconds: float

    @property
    def failed(self) -> list[AreaOutcome]:
        """The areas that failed."""
        return [o for o in self.outcomes if not o.ok]


# -- the programme file ----------------------------------------------------------------------------------------------


def _read_yaml(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError(
            f"cannot read {path}: {exc.strerror} / không đọc được tệp {path}: {exc.strerror}",
            [Problem(f"{exc.strerror} / không đọc được tệp", file=str(path))],
        ) from exc
    if size > MAX_PROGRAMME_BYTES:
        raise ScenarioError(
            f"{path} is {size:,} bytes; a programme file holds at most {MAX_PROGRAMME_BYTES:,} "
            f"/ tệp {path} có {size:,} byte; tệp chương trình chỉ được tối đa {MAX_PROGRAMME_BYTES:,} byte",
            [
                Problem(
                    "file too large / tệp quá lớn",
                    file=str(path),
                    hint="split the programme / chia chương trình thành nhiều tệp",
                )
            ],
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(
            f"{path} is not valid UTF-8 YAML (tệp YAML không hợp lệ)",
            [Problem(f"{exc} / lỗi đọc YAML", file=str(path))],
        ) from exc


def is_programme_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a programme file (a YAML mapping with ``areas``) rather than a scenario."""
    p = Path(path)
    if not p.is_file() or p.stat().st_size > MAX_PROGRAMME_BYTES:
        return False
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return False
    return isinstance(doc, dict) and "areas" in doc


def load_programme(path: str | os.PathLike[str]) -> Programme:
    """Read and check a programme file; every problem is reported at once.

    Raises
    ------
    ScenarioError
        For an unknown key, a missing or duplicate area name, or a scenario file that does not exist.
    """
    p = Path(path)
    doc = _read_yaml(p)
    fname = str(p)
    if not isinstance(doc, dict) or not isinstance(doc.get("areas"), list) or not doc["areas"]:
        raise ScenarioError(
            f"{p} is not a programme: it needs 'areas', a list of {{name, scenario}} "
            "(chương trình cần danh sách areas)",
            [
                Problem(
                    "no areas / không có khu vực nào",
                    file=fname,
                    column="areas",
                    hint="see the README, 'National programmes' / xem mục 'National programmes' trong README",
                )
            ],
        )
    problems = []
    unknown = sorted(set(doc) - {"programme_version", "title", "description", "areas"})
    for key in unknown:
        problems.append(
            Problem(
                "unknown key / khóa không hợp lệ",
                file=fname,
                column=str(key),
                hint="keys: title, description, areas / các khóa hợp lệ: title, description, areas",
            )
        )
    if doc.get("programme_version", 1) != 1:
        problems.append(
            Problem(
                "unsupported programme_version / programme_version không được hỗ trợ",
                file=fname,
                column="programme_version",
                hint="1 / chỉ hỗ trợ phiên bản 1",
            )
        )
    if len(doc["areas"]) > MAX_AREAS:
        problems.append(
            Problem(f"more than {MAX_AREAS} areas / nhiều hơn {MAX_AREAS} khu vực", file=fname, column="areas")
        )
    areas, seen = [], set()
    for i, item in enumerate(doc["areas"][:MAX_AREAS]):
        where = f"areas[{i}]"
        if not isinstance(item, dict) or set(item) - {"name", "scenario"}:
            problems.append(
                Problem(
                    "an area is {name, scenario} / mỗi khu vực gồm {name, scenario}", file=fname, row=i, column=where
                )
            )
            continue
        name, scen = item.get("name"), item.get("scenario")
        if not isinstance(name, str) or not _AREA_NAME.fullmatch(name):
            problems.append(
                Problem(
                    "area name must be lower-case letters, digits, '-' or '_' (at most 63) "
                    "/ tên khu vực chỉ gồm chữ thường, chữ số, '-' hoặc '_' (tối đa 63 ký tự)",
                    file=fname,
                    row=i,
                    column=f"{where}.name",
                    value=name,
                )
            )
            continue
        if name in seen:
            problems.append(
                Problem(
                    "duplicate area name / tên khu vực bị trùng", file=fname, row=i, column=f"{where}.name", value=name
                )
            )
            continue
        seen.add(name)
        if not isinstance(scen, str) or not scen.strip():
            problems.append(
                Problem("missing scenario file / thiếu tệp kịch bản", file=fname, row=i, column=f"{where}.scenario")
            )
            continue
        scen_path = (p.parent / scen).resolve()
        if not scen_path.is_file():
            problems.append(
                Problem(
                    "scenario file not found / không tìm thấy tệp kịch bản",
                    file=fname,
                    row=i,
                    column=f"{where}.scenario",
                    value=str(scen_path),
                )
            )
            continue
        areas.append(ProgrammeArea(name, scen_path))
    if problems:
        raise ScenarioError(f"programme {p} has {len(problems)} problem(s) (chương trình có lỗi)", problems)
    return Programme(str(doc.get("title") or p.stem), p.resolve(), tuple(areas))


# -- running ---------------------------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if os.uname().sysname != "Darwin" else peak / 1024.0 / 1024.0


def run_area(name: str, scenario_path: str) -> AreaOutcome:
    """Plan one area (its scenario, as ``gisplan run`` does) and return its run folder's files as bytes.

    Runs in a Dask worker or in the calling process.  An input error (any :class:`GisplanError`) becomes a
    failed outcome naming it; the caller reports it and keeps the other areas.
    """
    from gisplan.workflow.runs import run_scenario, write_run
    from gisplan.workflow.scenario import load_scenario

    start = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        with tempfile.TemporaryDirectory(prefix=f"gisplan-area-{name}-") as tmp:
            result = run_scenario(load_scenario(scenario_path))
            paths = write_run(result, Path(tmp) / name)
            files = {p.name: p.read_bytes() for p in paths.values()}
    except GisplanError as exc:
        return AreaOutcome(
            name, False, error=str(exc), seconds=time.perf_counter() - start, peak_rss_mb=_peak_rss_mb(), worker=worker
        )
    return AreaOutcome(
        name,
        True,
        files=files,
        kpis=json.loads(files["kpis.json"]),
        total_vnd=int(result.plan.total_vnd),
        seconds=time.perf_counter() - start,
        peak_rss_mb=_peak_rss_mb(),
        worker=worker,
    )


def run_programme(
    programme: Programme | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    workers: int = 0,
    scheduler: str | None = None,
    progress: Progress = _noop,
) -> ProgrammeResult:
    """Plan every area of ``programme`` and write the programme's folder ``out_dir``.

    Parameters
    ----------
    programme
        A :class:`Programme` or the path of a programme file.
    out_dir
        The output folder: ``areas/<name>/`` per area and the programme files (see the module docstring).
    workers
        0: plan the areas one after the other in this process.  N >= 1: on a Dask ``LocalCluster`` of N
        worker processes (one thread each) started for this run.
    scheduler
        Address of an existing Dask scheduler (``tcp://host:8786``) instead; its workers need gisplan and
        read access to the scenario and layer files at the same paths.
    progress
        Called with one line per finished area (and a few more).

    Returns
    -------
    ProgrammeResult
        Every area's outcome in the programme's order; check :attr:`ProgrammeResult.failed`.
    """
    prog = programme if isinstance(programme, Programme) else load_programme(programme)
    if workers < 0:
        raise ScenarioError(
            f"--workers must be 0 (serial) or more, got {workers} "
            f"/ --workers phải từ 0 (chạy tuần tự) trở lên, đang là {workers}",
            [],
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out} is a file; give a folder / --out {out} là một tệp; hãy cho một thư mục", [])
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tasks = [(a.name, str(a.scenario)) for a in prog.areas]
    outcomes: dict[str, AreaOutcome] = {}

    def finished(outcome: AreaOutcome) -> None:
        outcomes[outcome.name] = outcome
        _write_area(out, outcome)
        state = f"ok, {outcome.total_vnd:,} VND" if outcome.ok else f"FAILED: {outcome.error.splitlines()[0]}"
        progress(f"[{len(outcomes)}/{len(tasks)}] area {outcome.name}: {state} ({outcome.seconds:.1f} s)")

    if workers == 0 and scheduler is None:
        progress(f"programme {prog.title}: {len(tasks)} areas, serial")
        for name, scen in tasks:
            finished(run_area(name, scen))
    else:
        _run_on_dask(tasks, workers=workers, scheduler=scheduler, finished=finished, progress=progress)
    ordered = tuple(outcomes[name] for name, _ in tasks)
    files = write_programme(prog, ordered, out)
    return ProgrammeResult(prog, ordered, files, time.perf_counter() - start)


def _run_on_dask(
    tasks: Sequence[tuple[str, str]],
    *,
    workers: int,
    scheduler: str | None,
    finished: Callable[[AreaOutcome], None],
    progress: Progress,
) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ScenarioError(
            "running a programme on workers needs Dask: pip install 'gisplan[distributed]' "
            "/ chạy chương trình trên nhiều tiến trình cần Dask: pip install 'gisplan[distributed]'",
            [],
        ) from exc
    import logging

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
        progress(f"{len(tasks)} areas on a Dask LocalCluster of {workers} worker process(es)")
    else:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise ScenarioError(
                f"cannot reach the Dask scheduler {scheduler} ({exc}); check the address (tcp://host:8786) "
                f"/ không kết nối được bộ điều phối Dask {scheduler} ({exc}); hãy kiểm tra địa chỉ (tcp://host:8786)",
                [],
            ) from exc
        progress(f"{len(tasks)} areas on the Dask cluster at {scheduler}")
    try:
        futures = {
            client.submit(run_area, name, scen, key=f"gisplan-area-{name}-{os.getpid()}", pure=False): name
            for name, scen in tasks
        }
        for future in as_completed(futures):
            name = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # a worker died or the task could not run: report the area, keep the others
                outcome = AreaOutcome(name, False, error=f"the worker running this area failed: {exc!r}")
            finished(outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _write_area(out: Path, outcome: AreaOutcome) -> None:
    if not outcome.ok:
        return
    areas = out / "areas"
    areas.mkdir(exist_ok=True)
    with atomic_dir(areas / outcome.name) as staging:
        for file_name, data in outcome.files.items():
            (staging / file_name).write_bytes(data)


# -- programme files -------------------------------------------------------------------------------------------------


def _additive(key: str, value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not _NOT_ADDITIVE.search(key)


def write_programme(programme: Programme, outcomes: Sequence[AreaOutcome], out_dir: Path) -> dict[str, Path]:
    """Write the programme's BOQ (CSV, XLSX), KPIs and report from the areas' outcomes, in programme order."""
    ok = [o for o in outcomes if o.ok]
    csv_lines: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    summary_rows = []
    for o in outcomes:
        summary_rows.append(
            {
                "area": o.name,
                "status": "ok" if o.ok else "failed",
                "amount_vnd": o.total_vnd if o.ok else None,
                "error": o.error.splitlines()[0] if o.error else "",
            }
        )
    for o in ok:
        text = o.files["boq.csv"].decode("utf-8-sig")
        lines = text.splitlines()
        if not csv_lines:
            csv_lines.append("area," + lines[0])
        csv_lines += [f"{o.name},{line}" for line in lines[1:]]
        tables[o.name] = pd.read_csv(io.StringIO(text), dtype=dict.fromkeys(_TEXT_COLUMNS, str), keep_default_na=False)
    total = sum(o.total_vnd for o in ok)
    summary_rows.append({"area": "TỔNG / TOTAL", "status": f"{len(ok)}/{len(outcomes)} ok", "amount_vnd": total})
    sums: dict[str, float] = {}
    for o in ok:
        for key, value in o.kpis.items():
            if _additive(key, value):
                sums[key] = sums.get(key, 0) + value
    kpis = {
        "title": programme.title,
        "areas": len(outcomes),
        "areas_ok": len(ok),
        "total_vnd": total,
        "sum": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in sorted(sums.items())},
        "not_summed": sorted({k for o in ok for k, v in o.kpis.items() if not _additive(k, v)}),
        "by_area": {o.name: dict(o.kpis) for o in ok},
    }
    report = {
        "title": programme.title,
        "areas": [
            {
                "name": o.name,
                "status": "ok" if o.ok else "failed",
                "error": o.error,
                "total_vnd": o.total_vnd,
                "seconds": round(o.seconds, 3),
                "peak_rss_mb": round(o.peak_rss_mb, 1),
                "worker": o.worker,
            }
            for o in outcomes
        ],
    }
    files = {
        "programme-boq.csv": out_dir / "programme-boq.csv",
        "programme-boq.xlsx": out_dir / "programme-boq.xlsx",
        "programme-kpis.json": out_dir / "programme-kpis.json",
        "programme-report.json": out_dir / "programme-report.json",
    }
    atomic_write_bytes(files["programme-boq.csv"], ("\ufeff" + "\n".join(csv_lines) + "\n").encode("utf-8"))
    sheets = {"Tổng hợp - Summary": pd.DataFrame(summary_rows), **tables}
    compare_to_xlsx(sheets, files["programme-boq.xlsx"], title=programme.title, timestamp=FIXED_TIMESTAMP)
    atomic_write_text(files["programme-kpis.json"], json.dumps(kpis, ensure_ascii=False, indent=2) + "\n")
    atomic_write_text(files["programme-report.json"], json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return files


_TEXT_COLUMNS = ("item_code", "description_vi", "description_en", "unit", "category", "phase", "district", "commune")


# -- a seeded national programme -------------------------------------------------------------------------------------


def synthetic_programme(
    out_dir: str | os.PathLike[str],
    *,
    provinces: int = 34,
    seed: int = 2026,
    spacing_m: float = 80_000.0,
) -> Path:
    """Write a seeded synthetic national programme: ``provinces`` areas, each with its own layers and scenario.

    Each province is the embedded Phú Quốc demo (roads, poles, cables, ducts, settlements, sites, coverage,
    boundaries and constraints: an island district of ~590 km²) moved to its own place on a grid
    ``spacing_m`` apart and written to its own GeoPackage, with an undergrounding zone of seeded radius
    (120-260 m) centred on a seeded aerial cable of that province and a seeded yearly budget (10-40 billion
    VND: a yearly budget must cover the dearest street a zone opens, dig once; a zone on the 8.9 km trunk
    road needs 8.1 billion).  34 areas is the number of provinces after Vietnam's 2025 reorganisation.  The
    areas' plans differ by their zones and budgets, not by their networks: the generator measures how a
    programme of many province-sized inputs runs, not how provinces differ.

    Returns
    -------
    pathlib.Path
        The programme file ``out_dir/programme.yaml``.
    """
    import geopandas as gpd
    import numpy as np
    import pyogrio
    import shapely

    from gisplan.demo import demo_gpkg_path
    from gisplan.io.crs import METRIC_CRS

    if provinces < 1:
        raise ScenarioError(
            f"a programme needs at least 1 province, got {provinces} "
            f"/ chương trình cần ít nhất 1 tỉnh, đang là {provinces}",
            [],
        )
    out = Path(out_dir)
    (out / "provinces").mkdir(parents=True, exist_ok=True)
    (out / "areas").mkdir(exist_ok=True)
    source = demo_gpkg_path()
    layers = {
        str(name): gpd.read_file(source, layer=str(name)).to_crs(METRIC_CRS) for name, _ in pyogrio.list_layers(source)
    }
    cables = layers["cables"]
    aerial = cables[cables["placement"] == "aerial"].geometry.reset_index(drop=True)
    columns = max(1, math.ceil(math.sqrt(provinces)))
    areas = []
    for k in range(provinces):
        rng = np.random.default_rng([seed, k])
        dx, dy = (k % columns) * spacing_m, (k // columns) * spacing_m
        name = f"p{k + 1:02d}"
        gpkg = out / "provinces" / f"{name}.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        shift = np.array([dx, dy])
        for layer, frame in layers.items():
            moved = frame.copy()
            moved["geometry"] = shapely.transform(frame.geometry.values, lambda xy, d=shift: xy + d)
            pyogrio.write_dataframe(moved, gpkg, layer=layer, driver="GPKG")
        cable = aerial.iloc[int(rng.integers(len(aerial)))]
        centre = cable.interpolate(0.5, normalized=True)
        zone = (
            gpd.GeoSeries(
                [shapely.Point(centre.x + dx, centre.y + dy).buffer(float(rng.uniform(120, 260)), 16)], crs=METRIC_CRS
            )
            .to_crs("EPSG:4326")
            .iloc[0]
        )
        scenario = {
            "title": f"Tỉnh mô phỏng {k + 1} / synthetic province {k + 1}",
            "layers": {"source": f"../provinces/{name}.gpkg"},
            "geometries": {
                "zones": json.loads(json.dumps(shapely.geometry.mapping(shapely.set_precision(zone, 1e-7))))
            },
            "underground": {
                "enabled": True,
                "budget_per_year_vnd": int(rng.integers(10, 41)) * 1_000_000_000,
                "start_year": 2027,
            },
        }
        (out / "areas" / f"{name}.yaml").write_text(
            yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        areas.append({"name": name, "scenario": f"areas/{name}.yaml"})
    doc = {
        "programme_version": 1,
        "title": f"Chương trình mô phỏng {provinces} tỉnh / synthetic national programme (seed {seed})",
        "areas": areas,
    }
    path = out / "programme.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
