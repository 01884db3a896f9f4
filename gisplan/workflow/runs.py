"""Running a scenario end to end: layers -> planners -> one Plan -> files on disk.

``gisplan run SCENARIO --out DIR`` writes ``plan.gpkg`` (every result layer, styled for
QGIS), ``boq.xlsx`` (formulas over a unit-price sheet), ``boq.csv``, ``map.html`` (a
standalone map that works offline), ``kpis.json``, ``scenario.yaml`` (the scenario as
run) and ``manifest.json`` (hashes, versions, timings).  A run folder is what the
version store saves and what :mod:`gisplan.workflow.compare` compares.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gisplan._errors import Problem, ScenarioError
from gisplan.catalog._catalog import Catalog
from gisplan.catalog.costing import add_contingency
from gisplan.demo.data import demo_gpkg_path
from gisplan.io.crs import METRIC_CRS
from gisplan.io.layers import (
    crs_if_unstated,
    frame_of,
    read_file,
    read_raw_layers,
    validate_layers,
    validate_raw_layers,
)
from gisplan.outputs.export import export_plan
from gisplan.outputs.maps import plan_map, standalone_html
from gisplan.plan import BOQ_COLUMNS, Plan
from gisplan.underground.planner import UndergroundParams, plan_undergrounding
from gisplan.wifi.planner import WifiParams, plan_wifi
from gisplan.workflow.folders import RUN_FILES, RunFolder, read_run, run_artifacts
from gisplan.workflow.scenario import Scenario, scenario_catalog

__all__ = [
    "RUN_FILES",
    "RunFolder",
    "RunResult",
    "combine_plans",
    "read_run",
    "run_artifacts",
    "run_scenario",
    "scenario_files",
    "scenario_layers",
    "underground_params",
    "wifi_params",
    "write_run",
]

#: Files of a run folder, in the order they are written (manifest last).


def _noop(msg: str) -> None:
    return None


@dataclass
class RunResult:
    """What running a scenario produced."""

    scenario: Scenario
    plans: dict[str, Plan]
    plan: Plan
    catalog: Catalog
    layers: dict[str, gpd.GeoDataFrame]
    layer_files: dict[str, Path]
    timings: dict[str, float] = field(default_factory=dict)


def scenario_layers(
    scen: Scenario,
    *,
    progress: Callable[[str], None] = _noop,
    loaded: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> tuple[dict[str, Any], dict]:
    """Read and validate the layers a scenario names; returns (layers, {kind or 'source': file}).

    ``loaded`` holds layers of the scenario's source already read and validated (the app keeps them in a
    cache): they are used instead of reading the source again; ``layers.files`` are still read.
    """

    src = scen.values["layers"]["source"]
    crs = scen.values["layers"]["crs"]
    if src == "demo":
        path = demo_gpkg_path()
    else:
        path = scen.resolve(src)
        if not path.exists():
            raise ScenarioError(
                f"layers.source not found: {path} (không tìm thấy tệp dữ liệu lớp)",
                [_missing_file(scen, "layers.source", src, path)],
            )
    extra: dict[str, Path] = {}
    for kind, f in (scen.values["layers"]["files"] or {}).items():
        fp = scen.resolve(str(f))
        if not fp.exists():
            raise ScenarioError(
                f"layers.files.{kind} not found: {fp} (không tìm thấy tệp lớp {kind})",
                [_missing_file(scen, f"layers.files.{kind}", str(f), fp)],
            )
        extra[str(kind)] = fp
    metric_crs = scen.values["layers"].get("metric_crs")
    region = scen.values["layers"].get("region")
    bounds = tuple(region) if region else "auto"
    raw: dict[str, tuple[gpd.GeoDataFrame, str, str]] = {}
    if loaded is not None:
        already = {k: v for k, v in loaded.items() if k not in extra}
        crs_of = {str(g.crs) for g in already.values() if g.crs is not None}
        if metric_crs is None and len(crs_of) == 1:
            metric_crs = crs_of.pop()  # the loaded project's own frame: files join it
    else:
        progress(f"reading layers from {path}")
        source = _read_source(path, crs, extra)
        raw.update({k: (g, str(path), name) for k, (g, name) in source.items()})
        already = {}
    files: dict[str, Path] = {"source": path}
    for kind, fp in extra.items():
        gdf = read_file(fp, crs=crs_if_unstated(fp, crs))
        raw[kind] = (gdf, str(fp), fp.stem)
        files[kind] = fp
    frame = frame_of({**{k: (g,) for k, g in already.items()}, **raw}, metric_crs=metric_crs, bounds=bounds)
    layers = {**already, **validate_raw_layers(raw, frame, across=False, source=str(path))}
    return validate_layers(layers, source=str(path)), files


def _read_source(path: Path, crs: str | None, extra: Mapping[str, Path]) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """The source's layers as read, ``layers.crs`` applied only to layers that state no CRS of their own."""
    return read_raw_layers(path, crs=crs, skip=set(extra), crs_unless_stated=True)


def _missing_file(scen: Scenario, key: str, value: str, path: Path) -> Problem:
    folder = scen.base_dir().absolute()
    where = f"the scenario file's folder {folder}" if scen.path is not None else f"the current folder {folder}"
    where_vi = f"thư mục của tệp kịch bản {folder}" if scen.path is not None else f"thư mục hiện hành {folder}"
    return Problem(
        "file not found / không tìm thấy tệp",
        file=str(scen.path) if scen.path is not None else "<scenario>",
        column=key,
        value=value,
        hint=f"relative paths are resolved against {where}; fix the path or give an absolute one "
        f"/ đường dẫn tương đối được tính từ {where_vi}; hãy sửa đường dẫn hoặc dùng đường dẫn tuyệt đối",
    )


def _forbidden_constraints(scen: Scenario, layers: dict[str, Any]) -> dict[str, Any]:
    """Add the scenario's forbidden corridors (lines buffered 10 m) to the constraints layer."""

    g = scen.geometries.get("forbidden_corridors")
    if g is None:
        return layers
    metric = g.to_crs(METRIC_CRS)
    geom = metric.geometry.apply(lambda x: x if x.geom_type.endswith("Polygon") else x.buffer(10.0))
    n = len(metric)
    extra = gpd.GeoDataFrame(
        {"kind": ["no_dig"] * n, "rule": ["forbid"] * n, "penalty_factor": [1.0] * n, "source": ["scenario"] * n},
        geometry=list(geom),
        crs=METRIC_CRS,
    )
    base = layers.get("constraints")
    out = dict(layers)
    out["constraints"] = extra if base is None else pd.concat([base, extra], ignore_index=True)
    return out


def run_scenario(
    scen: Scenario,
    *,
    progress: Callable[[str], None] = _noop,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> RunResult:
    """Run every planner a scenario enables and combine their plans.

    ``layers``: the scenario source's layers, already read and validated (see :func:`scenario_layers`).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    layers, files = scenario_layers(scen, progress=progress, loaded=layers)
    timings["layers_s"] = round(time.perf_counter() - t0, 3)
    catalog = scenario_catalog(scen)
    plans: dict[str, Plan] = {}
    if scen.values["underground"]["enabled"]:
        t = time.perf_counter()
        params = underground_params(scen, catalog)
        progress("planning undergrounding")
        plans["underground"] = plan_undergrounding(
            _forbidden_constraints(scen, layers),
            scen.geometries["zones"],
            params,
            catalog=catalog,
            progress=progress,
        )
        timings["underground_s"] = round(time.perf_counter() - t, 3)
    if scen.values["wifi"]["enabled"]:
        t = time.perf_counter()
        progress("planning wifi")
        plans["wifi"] = plan_wifi(
            _exclude_sites(layers, scen),
            wifi_params(scen, catalog),
            catalog=catalog,
            progress=lambda fraction, msg: progress(msg),
        )
        timings["wifi_s"] = round(time.perf_counter() - t, 3)
    plan = combine_plans(plans, catalog)
    timings["total_s"] = round(time.perf_counter() - t0, 3)
    return RunResult(scen, plans, plan, catalog, layers, files, timings)


def underground_params(scen: Scenario, catalog: Catalog) -> Any:
    """The scenario's ``underground`` section as :class:`gisplan.underground.planner.UndergroundParams`."""

    u = scen.section("underground")
    kwargs: dict[str, Any] = {
        "budget_per_year_vnd": u["budget_per_year_vnd"],
        "start_year": u["start_year"],
        "max_years": u["max_years"],
    }
    if u["manhole_spacing_m"] is not None:
        kwargs["manhole_spacing_m"] = u["manhole_spacing_m"]
    if u["exchange_ids"]:
        kwargs["exchange_ids"] = tuple(u["exchange_ids"])
    if u["owners"]:
        kwargs["owners"] = tuple(u["owners"])
    kwargs["shortcuts"] = u["shortcuts"]
    kwargs["shortcut_max_m"] = u["shortcut_max_m"]
    kwargs["max_detour_ratio"] = u["max_detour_ratio"]
    kwargs["share_ducts"] = u["share_ducts"]
    kwargs["joint_with_power"] = u["joint_with_power"]
    kwargs["power_cost_share"] = u["power_cost_share"]
    forced = scen.geometries.get("forced_corridors")
    if forced is not None:
        kwargs["forced_corridors"] = forced
    return UndergroundParams(**kwargs)


def wifi_params(scen: Scenario, catalog: Catalog) -> Any:
    """The scenario's ``wifi`` section (and its geometries) as :class:`gisplan.wifi.planner.WifiParams`."""

    w = scen.section("wifi")
    kwargs: dict[str, Any] = {
        k: w[k]
        for k in (
            "budget_vnd",
            "cover_all",
            "min_quality",
            "weight",
            "generate_candidates",
            "require_power",
            "connect_all_commune_hq",
            "time_limit_s",
            "spread_households",
        )
    }
    kwargs["coverage_technologies"] = tuple(w["coverage_technologies"])
    kwargs["candidate_kinds"] = tuple(w["candidate_kinds"])
    kwargs["technologies"] = tuple(w["technologies"])
    if w["profiles"]:
        kwargs["profiles"] = tuple(w["profiles"])
    if w["satellite_horizon_years"] is not None:
        kwargs["satellite_horizon_years"] = w["satellite_horizon_years"]
    if w["elevation"]:
        kwargs["elevation"] = str(scen.resolve(w["elevation"]))
    kwargs["phase"] = str(w["year"])
    geoms = scen.geometries
    if "candidate_sites" in geoms:
        extra = geoms["candidate_sites"].copy()
        if "site_id" not in extra.columns:
            extra["site_id"] = [f"DRAWN{i + 1:03d}" for i in range(len(extra))]
        if "name" not in extra.columns:
            extra["name"] = [f"Điểm đề xuất / drawn site {i + 1}" for i in range(len(extra))]
        kwargs["extra_candidates"] = _outside(extra, geoms.get("exclusion_areas"))
    if "focus_areas" in geoms:
        kwargs["focus"] = geoms["focus_areas"]
    return WifiParams(**kwargs)


def _outside(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The points of ``points`` outside ``areas`` (exclusion areas: no wifi site there)."""
    if areas is None or len(points) == 0:
        return points
    zone = areas.to_crs(points.crs).union_all()
    return points[~points.intersects(zone)]


def _exclude_sites(layers: dict[str, Any], scen: Scenario) -> dict[str, Any]:
    """Drop candidate sites inside the scenario's exclusion areas (sites with fibre stay: they feed backhaul)."""
    areas = scen.geometries.get("exclusion_areas")
    if areas is None or "sites" not in layers:
        return layers
    sites = layers["sites"]
    inside = sites.intersects(areas.to_crs(sites.crs).union_all()) & ~sites["has_fibre"].astype(bool)
    out = dict(layers)
    out["sites"] = sites[~inside]
    return out


def combine_plans(plans: Mapping[str, Plan], catalog: Catalog) -> Plan:
    """One Plan from the planners' plans: layers side by side, BOQs stacked, KPIs prefixed by planner."""
    if not plans:
        raise ScenarioError("the scenario plans nothing / kịch bản không lập phương án nào", [])
    if len(plans) == 1:
        return next(iter(plans.values()))
    layers: dict[str, gpd.GeoDataFrame] = {}
    kpis: dict[str, Any] = {}
    boqs = []
    messages: list[str] = []
    for name, p in plans.items():
        for lname, gdf in p.layers.items():
            layers[lname if lname not in layers else f"{name}_{lname}"] = gdf
        kpis.update({f"{name}.{k}": v for k, v in p.kpis.items()})
        base = p.boq[p.boq["category"] != "contingency"]
        boqs.append(base)
        messages += p.messages
    boq = pd.concat(boqs, ignore_index=True).loc[:, list(BOQ_COLUMNS)]
    boq = add_contingency(boq, catalog)
    kpis["cost_vnd"] = int(boq["amount_vnd"].sum())
    return Plan("combined", layers, boq, kpis, params={k: p.params for k, p in plans.items()}, messages=messages)


def write_run(result: RunResult, out_dir: str | Path, *, progress: Callable[[str], None] = _noop) -> dict[str, Path]:
    """Write a run folder (see the module docstring) in one step, the manifest hashing every other file.

    Published all-or-nothing (:func:`gisplan._atomic.atomic_dir`): the complete new folder is swapped in for the
    old one, never file by file over it, so a failed re-run (an output locked by Excel, a full disk) leaves the
    old folder whole and consistent with its manifest; the user's own files in the folder are kept.
    """

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    scen = result.scenario
    progress(f"writing {out}")
    t = time.perf_counter()
    m = plan_map(result.plan, result.layers)
    extra = {
        "map.html": standalone_html(m),
        "kpis.json": json.dumps(_plain(result.plan.kpis), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
        "scenario.yaml": scen.text,
    }
    inputs = {k: str(v) for k, v in result.layer_files.items()}
    inputs.update({k: str(v) for k, v in scenario_files(scen).items()})
    paths = export_plan(
        result.plan,
        out,
        title=scen.title,
        scenario_text=scen.text,
        layer_files=inputs,
        catalog_version=f"{result.catalog.version} ({result.catalog.digest})",
        timings=result.timings,
        extra_files=extra,
    )
    progress(f"wrote {len(paths)} files in {time.perf_counter() - t:.1f} s")
    return {name: paths[name] for name in RUN_FILES}


def scenario_files(scen: Scenario) -> dict[str, Path]:
    """The files a scenario names besides its layers (geometry files, catalog file, elevation), by key path."""
    files: dict[str, Path] = {}
    for name, value in scen.values["geometries"].items():
        if isinstance(value, str):
            files[f"geometries.{name}"] = scen.resolve(value)
    if scen.values["catalog"]["file"]:
        files["catalog.file"] = scen.resolve(scen.values["catalog"]["file"])
    if scen.values["wifi"]["enabled"] and scen.values["wifi"]["elevation"]:
        files["wifi.elevation"] = scen.resolve(scen.values["wifi"]["elevation"])
    return files


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v
