"""The Phú Quốc demo end to end: load and validate every demo layer, run the demo plans, write the results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gisplan.crs import DISPLAY_CRS


def _noop(msg: str) -> None:
    return None


def summarize_layers(layers: dict[str, Any]) -> dict[str, Any]:
    """Feature counts, extent and key totals of a project's layers (used in the demo summary)."""
    out: dict[str, Any] = {}
    for kind, gdf in layers.items():
        entry: dict[str, Any] = {
            "features": len(gdf),
            "crs": gdf.crs.to_string() if gdf.crs is not None else None,
            "extent_lonlat": [round(float(v), 5) for v in gdf.to_crs(DISPLAY_CRS).total_bounds],
        }
        if gdf.geom_type.isin(["LineString", "MultiLineString"]).all():
            entry["length_km"] = round(float(gdf.length.sum()) / 1000.0, 3)
        if kind == "settlements":
            entry["population"] = int(gdf["population"].sum())
        if kind == "cables":
            entry["aerial_km"] = round(float(gdf.loc[gdf["placement"] == "aerial"].length.sum()) / 1000.0, 3)
        out[kind] = entry
    return out


def run_demo(out_dir: Path, *, progress: Callable[[str], None] = _noop) -> dict[str, Any]:
    """Run the demo on the embedded Phú Quốc layers and write its outputs to ``out_dir``.

    Returns the summary that is also written to ``out_dir/summary.json``.
    """
    from gisplan.demo_data import demo_gpkg_path
    from gisplan.layers import read_layers

    out_dir.mkdir(parents=True, exist_ok=True)
    path = demo_gpkg_path()
    progress(f"reading and validating {path}")
    layers = read_layers(path)
    summary: dict[str, Any] = {"source": str(path), "layers": summarize_layers(layers)}
    progress(f"{sum(v['features'] for v in summary['layers'].values())} features in {len(layers)} valid layers")
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = [f"Phú Quốc demo: {path}", ""]
    for kind, e in summary["layers"].items():
        extra = "".join(f", {k} {e[k]}" for k in ("length_km", "aerial_km", "population") if k in e)
        lines.append(f"{kind:<12} {e['features']:>7} features{extra}")
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    progress(f"wrote {out_dir / 'summary.json'}")
    return summary
