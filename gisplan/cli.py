"""The ``gisplan`` command line.

Every subcommand has ``--help``. Exit codes: 0 success, 1 invalid input (the
problems are printed), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gisplan._errors import GisplanError, ProblemsError


def _progress(quiet: bool) -> Callable[[str], None]:
    start = time.perf_counter()

    def say(msg: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return say


# ------------------------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------------------------
def _cmd_layers_validate(args: argparse.Namespace) -> int:
    from gisplan.layers import load_layer, read_layers

    path = Path(args.path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.kind or path.suffix.lower() != ".gpkg":
            gdf = load_layer(path, args.kind, layer=args.layer, crs=args.crs)
            counts = {args.kind or args.layer or path.stem: len(gdf)}
        else:
            layers = read_layers(path, crs=args.crs)
            counts = {k: len(v) for k, v in layers.items()}
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for k, n in counts.items():
        print(f"ok  {k}: {n} features")
    print(f"{path}: valid ({sum(counts.values())} features in {len(counts)} layer(s))")
    return 0


def _cmd_layers_info(args: argparse.Namespace) -> int:
    from gisplan.layers import layer_info

    rows = layer_info(args.path)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        ext = r.get("extent_lonlat")
        ext_s = f"lon {ext[0]:.4f}..{ext[2]:.4f}, lat {ext[1]:.4f}..{ext[3]:.4f}" if ext else "-"
        print(
            f"{r['layer']:<14} kind={r.get('kind') or '?':<12} {r['features']:>7} x {r['geometry_type']:<16}"
            f" crs={r.get('crs') or 'NONE'}  {ext_s}" + (f"  ({r['error']})" if r.get("error") else "")
        )
    return 0


# ------------------------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from gisplan.demo import run_demo

    run_demo(Path(args.out), progress=_progress(args.quiet))
    return 0


# ------------------------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``gisplan`` command."""
    p = argparse.ArgumentParser(
        prog="gisplan",
        description="Telecom infrastructure planner: cable undergrounding and remote-area wifi "
        "(Quy hoạch ngầm hóa cáp viễn thông và wifi vùng sâu, vùng xa, hải đảo).",
    )
    from gisplan import __version__

    p.add_argument("--version", action="version", version=f"gisplan {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    lay = sub.add_parser("layers", help="inspect and validate layer files", description="Inspect and validate layers.")
    lsub = lay.add_subparsers(dest="layers_command", metavar="SUBCOMMAND")
    lsub.required = True
    v = lsub.add_parser(
        "validate",
        help="validate a layer file; lists every problem with row ids and exits 1 if any",
        description="Validate a layer file against gisplan's schemas. A GeoPackage is validated layer by layer "
        "(layers named by kind: roads, poles, cables, ...) and across layers. Every problem is listed with file, "
        "layer, row, column and a fix; the exit code is 1 when there is any.",
    )
    v.add_argument("path", help="GeoPackage, GeoJSON, zipped Shapefile, CSV (lon/lat or WKT) or KML")
    v.add_argument(
        "--kind",
        help="layer kind (roads, poles, cables, ducts, coverage, settlements, sites, "
        "boundaries, constraints, land); inferred when omitted",
    )
    v.add_argument("--layer", help="layer name inside a multi-layer file")
    v.add_argument("--crs", help="CRS of a file that states none, e.g. EPSG:4326, EPSG:4756 (VN-2000), EPSG:9207")
    v.set_defaults(func=_cmd_layers_validate)
    i = lsub.add_parser("info", help="list layers, kinds, counts, CRS and extent", description="Describe a file.")
    i.add_argument("path")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=_cmd_layers_info)

    d = sub.add_parser(
        "demo",
        help="run the Phú Quốc demo end to end",
        description="Load and validate every layer of the embedded Phú Quốc demo, run the demo plans and write "
        "their results and a summary to --out.",
    )
    d.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    d.add_argument("--quiet", action="store_true", help="no progress messages")
    d.set_defaults(func=_cmd_demo)
    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


#: Functions that add further subcommands (scenario runs, the version store, the app).
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gisplan`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ProblemsError as exc:
        print(f"error: {exc.summary}", file=sys.stderr)
        for prob in exc.problems:
            print(f"  - {prob}", file=sys.stderr)
        if exc.problems:
            print(f"{len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    except GisplanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
