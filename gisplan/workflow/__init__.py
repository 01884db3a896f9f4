"""Scenarios, runs and comparisons: what the CLI and the app both do, in one place.

A scenario file (:func:`load_scenario`) names layers, drawn geometries, parameters and catalog
overrides; :func:`run_scenario` plans it and :func:`write_run` writes a run folder;
:func:`compare_runs` compares two run folders or versions.  :mod:`gisplan.workflow.actions` holds the
operations both faces offer (a scenario from drawn geometries, saving a run as a version, comparing
versions).  The top of the library: it may import every stage below it.
"""

from __future__ import annotations

from gisplan.workflow.compare import Comparison, compare_runs, comparison_map, comparison_tables, write_comparison
from gisplan.workflow.folders import RUN_FILES, RunFolder, read_run, run_artifacts
from gisplan.workflow.runs import RunResult, run_scenario, write_run
from gisplan.workflow.scenario import Scenario, load_scenario, parse_scenario, render_template, scenario_values

__all__ = [
    "RUN_FILES",
    "Comparison",
    "RunFolder",
    "RunResult",
    "Scenario",
    "compare_runs",
    "comparison_map",
    "comparison_tables",
    "load_scenario",
    "parse_scenario",
    "read_run",
    "render_template",
    "run_artifacts",
    "run_scenario",
    "scenario_values",
    "write_comparison",
    "write_run",
]
