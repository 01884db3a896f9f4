"""Run folders read back: the files ``gisplan run`` writes, as a :class:`RunFolder` for saving and comparing.

Below both the runner (:mod:`gisplan.workflow.runs`) and the comparison (:mod:`gisplan.workflow.compare`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from gisplan._errors import ScenarioError

__all__ = ["RUN_FILES", "RunFolder", "read_run", "run_artifacts"]

#: The files of a run folder, in the order they are written.
RUN_FILES = ("plan.gpkg", "boq.xlsx", "boq.csv", "map.html", "kpis.json", "scenario.yaml", "manifest.json")


@dataclass
class RunFolder:
    """A run folder read back (for saving and comparing)."""

    path: Path
    layers: dict[str, gpd.GeoDataFrame]
    boq: pd.DataFrame
    kpis: dict[str, Any]
    scenario_text: str


def read_run(path: str | Path) -> RunFolder:
    """Read a run folder written by :func:`gisplan.workflow.runs.write_run` or exported from the version store."""
    p = Path(path)
    missing = [n for n in ("plan.gpkg", "boq.csv", "kpis.json", "scenario.yaml") if not (p / n).is_file()]
    if missing:
        raise ScenarioError(
            f"{p} is not a gisplan run folder: missing {', '.join(missing)} "
            f"/ {p} không phải thư mục kết quả chạy của gisplan: thiếu {', '.join(missing)}",
            [],
        )
    layers = {}
    for name, _g in pyogrio.list_layers(p / "plan.gpkg"):
        if name in ("boq", "layer_styles"):
            continue
        # a wifi plan saved before the chosen sites' layer was renamed (``wifi_sites`` -> ``sites``) reads alike
        key = "sites" if name == "wifi_sites" else str(name)
        layers[key] = gpd.read_file(p / "plan.gpkg", layer=name)
    text_columns = ("item_code", "description_vi", "description_en", "unit", "category", "phase", "district", "commune")
    boq = pd.read_csv(
        p / "boq.csv",
        encoding="utf-8-sig",
        dtype=dict.fromkeys(text_columns, str),
        keep_default_na=False,
    )
    kpis = json.loads((p / "kpis.json").read_text(encoding="utf-8"))
    return RunFolder(p, layers, boq, kpis, (p / "scenario.yaml").read_text(encoding="utf-8"))


def run_artifacts(path: str | Path) -> dict[str, bytes]:
    """The files of a run folder as bytes, for :meth:`gisplan.store.versions.VersionStore.save`."""
    p = Path(path)
    out = {}
    for name in RUN_FILES:
        f = p / name
        if f.is_file():
            out[name] = f.read_bytes()
    return out
