"""The Phú Quốc demo end to end, through the same workflow a department uses.

1. load and validate every demo layer (``summary.json``);
2. run the demo scenarios of ``scenarios/`` (undergrounding of central Dương Đông in two
   versions, remote and island wifi, both combined), each into ``runs/<name>/``;
3. save the two undergrounding versions in the demo's own version store
   (:data:`DEMO_STORE_NAME`, a name no user store has: the demo never touches the CLI's
   default ``gisplan-store.sqlite``), the second as a revision of the first, and record reviews;
4. compare the two versions (``compare/compare.html`` and ``compare.xlsx``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gisplan._atomic import atomic_path, atomic_write_text
from gisplan._errors import GisplanError
from gisplan.demo.data import demo_gpkg_path
from gisplan.io.crs import DISPLAY_CRS
from gisplan.io.layers import read_layers
from gisplan.store.versions import VersionStore
from gisplan.workflow.actions import save_run
from gisplan.workflow.compare import compare_runs, write_comparison
from gisplan.workflow.runs import read_run, run_scenario, write_run
from gisplan.workflow.scenario import load_scenario

#: File name of the demo's version store in its output folder; never the CLI's default store name.
DEMO_STORE_NAME = "gisplan-demo-store.sqlite"

#: The demo scenarios, in the order they are run.
DEMO_SCENARIOS = ("duong_dong_underground", "duong_dong_underground_v2", "remote_wifi", "phu_quoc_combined")


def _noop(msg: str) -> None:
    return None


def scenarios_dir() -> Path:
    """The repository's ``scenarios/`` folder (next to the ``gisplan`` package)."""
    here = Path(__file__).resolve().parents[2] / "scenarios"
    if not (here / "duong_dong_underground.yaml").is_file():
        raise GisplanError(
            f"the demo scenarios are not at {here}: run the demo from a clone of the repository (pip install -e .) "
            f"/ không có các kịch bản mẫu tại {here}: hãy chạy bản mẫu từ một bản sao (clone) của kho mã nguồn "
            "(pip install -e .)"
        )
    return here


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


def run_demo(
    out_dir: Path, *, progress: Callable[[str], None] = _noop, scenarios: tuple[str, ...] = DEMO_SCENARIOS
) -> dict[str, Any]:
    """Run the demo on the embedded Phú Quốc layers and write its outputs to ``out_dir``.

    Returns the summary that is also written to ``out_dir/summary.json``.
    """

    if out_dir.exists() and not out_dir.is_dir():
        raise GisplanError(
            f"--out {out_dir} names a file, not a folder; give a folder name (e.g. demo-out) "
            f"/ --out {out_dir} là một tệp, không phải thư mục; hãy cho tên thư mục (ví dụ demo-out)"
        )
    previous_store = _check_demo_store(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = demo_gpkg_path()
    progress(f"reading and validating {path}")
    layers = read_layers(path)
    summary: dict[str, Any] = {"source": str(path), "layers": summarize_layers(layers), "runs": {}}
    progress(f"{sum(v['features'] for v in summary['layers'].values())} features in {len(layers)} valid layers")

    sdir = scenarios_dir()
    for name in scenarios:
        scen = load_scenario(sdir / f"{name}.yaml")
        progress(f"scenario {name}: {scen.title}")
        # the demo layers were read and validated above: the demo scenarios reuse them instead of reading again
        own_layers = scen.values["layers"]["source"] != "demo"
        result = run_scenario(scen, progress=progress, layers=None if own_layers else layers)
        write_run(result, out_dir / "runs" / name, progress=progress)
        summary["runs"][name] = {
            "title": scen.title,
            "total_vnd": result.plan.total_vnd,
            "kpis": json.loads(json.dumps(result.plan.kpis, default=str)),
            "timings_s": result.timings,
        }

    if {"duong_dong_underground", "duong_dong_underground_v2"} <= set(scenarios):
        store_path = out_dir / DEMO_STORE_NAME
        with atomic_path(store_path) as staged:  # a new store replaces the demo's previous one in one step
            versions = _demo_versions(VersionStore(staged), out_dir, progress)
            _check_demo_store(out_dir)  # again: a user may have saved into it while the demo ran
        summary["store"] = DEMO_STORE_NAME
        summary["store_sha256"] = _sha256(store_path)
        a = read_run(out_dir / "runs" / "duong_dong_underground")
        b = read_run(out_dir / "runs" / "duong_dong_underground_v2")
        comparison = compare_runs(a, b)
        write_comparison(
            comparison,
            out_dir / "compare",
            title="Dương Đông: version 1 -> version 2",
            context={k: layers[k] for k in ("land", "roads") if k in layers},
        )
        summary["versions"] = [v.short_id for v in versions]
        summary["comparison"] = comparison.summary()
        progress(f"compared versions: {comparison.summary()}")

    if "store" not in summary and previous_store is not None:  # the demo's store of an earlier run stays its own
        summary["store"], summary["store_sha256"] = DEMO_STORE_NAME, previous_store
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
    atomic_write_text(out_dir / "summary.txt", _summary_text(summary))
    progress(f"wrote {out_dir / 'summary.json'}")
    return summary


def _demo_versions(store: VersionStore, out_dir: Path, progress: Callable[[str], None]) -> list[Any]:
    """Save the two undergrounding runs as versions of one scenario, with reviews; return the versions."""
    versions: list[Any] = []
    for name, message in (
        ("duong_dong_underground", "Phương án 1 / version 1"),
        ("duong_dong_underground_v2", "Mở rộng vùng, tăng ngân sách / wider zone, larger budget"),
    ):
        v = save_run(
            store,
            out_dir / "runs" / name,
            name="duong_dong_underground",
            author="demo planner",
            message=message,
            parent=versions[-1].id if versions else None,
        )
        versions.append(v)
        progress(f"saved version {v.short_id} ({message})")
    store.review(versions[0].id, status="in_review", reviewer="demo reviewer", comment="Gửi thẩm định")
    store.review(versions[0].id, status="rejected", reviewer="demo reviewer", comment="Vùng quá hẹp / zone too narrow")
    store.review(versions[1].id, status="in_review", reviewer="demo reviewer", comment="Gửi thẩm định")
    return versions


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_demo_store(out_dir: Path) -> str | None:
    """The SHA-256 of the demo's store in ``out_dir`` (None without one), checked before any work.

    A demo store that is not exactly the one the demo wrote last in ``out_dir`` is refused.

    The demo replaces its own store on every run.  A file of that name that the last demo did not write (no
    ``summary.json`` records it) or that changed since (versions saved or reviews added by a user) is the
    user's data: the demo stops instead of replacing it.
    """
    store = out_dir / DEMO_STORE_NAME
    if not store.exists():
        return None
    try:
        recorded = json.loads((out_dir / "summary.json").read_text(encoding="utf-8")).get("store_sha256")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if recorded is None or recorded != _sha256(store):
        raise GisplanError(
            f"{store} was changed since the demo wrote it (or the demo did not write it): it may hold your own "
            f"versions, so the demo does not replace it; run the demo with another --out folder, or move that "
            f"file away first / tệp kho phương án {store} đã bị thay đổi từ khi bản mẫu ghi nó (hoặc không do bản "
            "mẫu ghi): tệp có thể chứa các phương án của bạn nên bản mẫu không ghi đè; hãy chạy bản mẫu với thư mục "
            "--out khác, hoặc chuyển tệp đó đi nơi khác trước"
        )
    return str(recorded)


def _summary_text(summary: dict[str, Any]) -> str:
    lines = [f"Phú Quốc demo: {summary['source']}", ""]
    for kind, e in summary["layers"].items():
        extra = "".join(f", {k} {e[k]}" for k in ("length_km", "aerial_km", "population") if k in e)
        lines.append(f"{kind:<12} {e['features']:>7} features{extra}")
    for name, r in summary.get("runs", {}).items():
        lines += ["", f"{name}: {r['title']}", f"  total {r['total_vnd']:,} VND"]
        for k, v in sorted(r["kpis"].items()):
            lines.append(f"  {k}: {v}")
    if "comparison" in summary:
        lines += ["", f"versions {summary['versions']}: {summary['comparison']}"]
    return "\n".join(lines) + "\n"
