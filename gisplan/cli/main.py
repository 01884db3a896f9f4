"""The ``gisplan`` command line.

Every subcommand has ``--help``. Exit codes: 0 success, 1 invalid input (the
problems are printed), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gisplan._errors import GisplanError, ProblemsError
from gisplan.cli._import import register_import


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
    from gisplan._errors import LayerError, Problem
    from gisplan.io.layers import load_layer, read_layers, skipped_layers
    from gisplan.io.schemas import KINDS

    path = Path(args.path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.kind or args.layer or path.suffix.lower() != ".gpkg":
            gdf = load_layer(
                path,
                args.kind,
                layer=args.layer,
                crs=args.crs,
                encoding=args.encoding,
                metric_crs=args.metric_crs,
                bounds=tuple(args.region) if args.region else "auto",
            )
            counts = {args.kind or args.layer or path.stem: len(gdf)}
        else:
            layers = read_layers(
                path,
                crs=args.crs,
                encoding=args.encoding,
                metric_crs=args.metric_crs,
                bounds=tuple(args.region) if args.region else "auto",
            )
            counts = {k: len(v) for k, v in layers.items()}
            skipped = skipped_layers(path)
            for name in skipped:
                print(
                    f"skipped layer {name}: its name is no layer kind (bỏ qua lớp {name}); rename it to one of "
                    f"{', '.join(KINDS)}, or validate it alone with --layer {name} --kind KIND",
                    file=sys.stderr,
                )
            if not counts:
                raise LayerError(
                    f"{path} has no layer named after a layer kind (không có lớp nào mang tên loại lớp)",
                    [
                        Problem(
                            "no layer to validate"
                            + (f" (layers: {', '.join(skipped)})" if skipped else "")
                            + " / không có lớp nào để kiểm tra"
                            + (f" (các lớp: {', '.join(skipped)})" if skipped else ""),
                            file=str(path),
                            hint=f"name the layers {', '.join(KINDS)} (or cot, duong, ...) "
                            f"/ đặt tên các lớp là {', '.join(KINDS)} (hoặc cot, duong, ...)",
                        )
                    ],
                )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    for k, n in counts.items():
        print(f"ok  {k}: {n} features")
    print(f"{path}: valid ({sum(counts.values())} features in {len(counts)} layer(s))")
    return 0


def _cmd_layers_info(args: argparse.Namespace) -> int:
    from gisplan.io.layers import layer_info

    rows = layer_info(args.path, encoding=args.encoding)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        ext = r.get("extent_lonlat")
        ext_s = f"lon {ext[0]:.4f}..{ext[2]:.4f}, lat {ext[1]:.4f}..{ext[3]:.4f}" if ext else "-"
        if r["geometry_type"] is None:  # an attribute table, e.g. boq in gisplan's plan.gpkg
            print(f"{r['layer']:<14} {'table':<17} {r['features']:>7} rows, no geometry (bảng thuộc tính)")
            continue
        print(
            f"{r['layer']:<14} kind={r.get('kind') or '?':<12} {r['features']:>7} x {r['geometry_type']:<16}"
            f" crs={r.get('crs') or 'NONE'}  {ext_s}" + (f"  ({r['error']})" if r.get("error") else "")
        )
    return 0


# ------------------------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from gisplan.workflow.demo import run_demo

    _check_out_folder(args.out)
    summary = run_demo(Path(args.out), progress=_progress(args.quiet))
    if "store" in summary:
        print(f"demo versions saved in {Path(args.out) / summary['store']} (gisplan log --store ...)")
    return 0


# ------------------------------------------------------------------------------------------------------------
# scenarios: run, save, log, show, review, compare
# ------------------------------------------------------------------------------------------------------------
_STORE_HELP = (
    "version store: a file (SQLite) or postgresql://user@host/database; default $GISPLAN_STORE, "
    "else ~/.local/share/gisplan/gisplan-store.sqlite (the app's store too)"
)


def _cmd_run(args: argparse.Namespace) -> int:
    from gisplan.workflow.programme import is_programme_file
    from gisplan.workflow.runs import run_scenario, write_run
    from gisplan.workflow.scenario import load_scenario

    say = _progress(args.quiet)
    _check_out_folder(args.out)
    if is_programme_file(args.scenario):
        return _cmd_run_programme(args, say)
    if args.workers or args.scheduler:
        print("error: --workers and --scheduler apply to programme files (a YAML with 'areas')", file=sys.stderr)
        return 2
    from gisplan.workflow.actions import with_project_frame

    scen = with_project_frame(load_scenario(args.scenario), metric_crs=args.metric_crs, region=args.region)
    say(f"scenario {scen.name}: {scen.title}")
    result = run_scenario(scen, progress=say)
    paths = write_run(result, args.out, progress=say)
    _print_kpis(result.plan.kpis, result.plan.total_vnd)
    for m in result.plan.messages:
        print(f"note: {m}")
    print(f"wrote {', '.join(sorted(p.name for p in paths.values()))} to {args.out}")
    return 0


def _check_out_folder(out: str) -> None:
    """Refuse, before any work, an ``--out`` that names an existing file or sits in a missing folder."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise GisplanError(
            f"--out {out} names a file, not a folder: give a folder name (--out phải là thư mục, không phải tệp)"
        )


def _cmd_run_programme(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from gisplan.workflow.programme import run_programme

    result = run_programme(args.scenario, args.out, workers=args.workers or 0, scheduler=args.scheduler, progress=print)
    ok = [o for o in result.outcomes if o.ok]
    print(f"programme {result.programme.title}: {len(ok)}/{len(result.outcomes)} areas planned")
    print(f"  {'BOQ total (VND)':<40} {sum(o.total_vnd for o in ok):,}")
    for o in result.failed:
        print(f"area {o.name} FAILED (khu vực lỗi): {o.error}", file=sys.stderr)
    print(f"wrote {', '.join(sorted(result.files))} and areas/ to {args.out}")
    return 1 if result.failed else 0


def _print_kpis(kpis: dict[str, Any], total: int) -> None:
    for k in sorted(kpis):
        v = kpis[k]
        if isinstance(v, float):
            v = f"{v:,.4f}" if abs(v) < 10 else f"{v:,.1f}"
        elif isinstance(v, int) and not isinstance(v, bool):
            v = f"{v:,}"
        print(f"  {k:<40} {v}")
    print(f"  {'BOQ total (VND)':<40} {total:,}")


def _cmd_save(args: argparse.Namespace) -> int:
    from gisplan.store.location import open_store
    from gisplan.workflow.actions import save_run

    store = open_store(args.store)
    v = save_run(
        store,
        args.run_dir,
        name=args.name,
        author=args.author,
        message=args.message,
        parent=args.parent,
        expected_head=args.expected_head,
    )
    print(f"saved {v.short_id} ({v.scenario_name}, {v.status}) in {store.display}")
    return 0


_TAMPERED = (
    "WARNING: version {id} was changed outside gisplan (phiên bản đã bị sửa ngoài gisplan): its KPIs, names or "
    "files no longer match its id and cannot be trusted; run `gisplan store verify` and restore the store from a backup"
)


def _cmd_log(args: argparse.Namespace) -> int:
    from gisplan.store.location import open_store

    store = open_store(args.store, create=False)
    versions = store.log(scenario_name=args.name)
    if not versions:
        print("no versions")
    for v in versions:
        parent = f" parent {v.parent[:12]}" if v.parent else ""
        mark = "" if v.intact else "  [TAMPERED / BỊ SỬA]"
        print(
            f"{v.short_id}  {v.created_at}  {v.status:<10} {v.scenario_name:<28} {v.author}: {v.message}{parent}{mark}"
        )
    for v in versions:
        if not v.intact:
            print(_TAMPERED.format(id=v.short_id), file=sys.stderr)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from gisplan.store.location import open_store

    store = open_store(args.store, create=False)
    v = store.get(args.version)
    if not v.intact:
        print(_TAMPERED.format(id=v.short_id), file=sys.stderr)
    if args.json:
        print(json.dumps(v.to_dict(), ensure_ascii=False, indent=2))
    else:
        if not v.intact:
            print(f"!! TAMPERED (bị sửa): the figures below cannot be trusted for version {v.short_id}")
        print(f"version  {v.id}\nname     {v.scenario_name}\nstatus   {v.status}\nauthor   {v.author}")
        print(f"created  {v.created_at}\nparent   {v.parent or '-'}\nmessage  {v.message}")
        print("files    " + ", ".join(f"{n} ({s:,} B)" for n, s in sorted(v.artifact_sizes.items())))
        print("kpis")
        _print_kpis(dict(v.kpis), int(v.kpis.get("cost_vnd", 0) or 0))
        for r in store.reviews(v.id):
            print(f"review   {r.created_at} {r.reviewer}: {r.status}" + (f" - {r.comment}" if r.comment else ""))
    if args.export:
        out = store.export_version(v.id, args.export)
        print(f"exported to {out}")
    return 0


def _cmd_review(args: argparse.Namespace) -> int:
    from gisplan.store.location import open_store

    store = open_store(args.store, create=False)
    v = store.review(args.version, status=args.status, reviewer=args.reviewer, comment=args.comment)
    print(f"{v.short_id}: {v.status}")
    return 0


def _cmd_store_copy(args: argparse.Namespace) -> int:
    from gisplan.store import VersionStore, copy_store

    source = VersionStore(args.source, create=False)
    target = VersionStore(args.target, create=True)
    report = copy_store(source, target)
    print(
        f"copied {report.copied} version(s) and {report.reviews_added} review(s) from {source.display} to "
        f"{target.display}; {report.present} were already there (ids unchanged)"
    )
    return 0


def _cmd_store_verify(args: argparse.Namespace) -> int:
    from gisplan.store.location import open_store

    store = open_store(args.store, create=False)
    n = store.verify()
    print(f"{store.display}: {n} version(s) verified, schema {store.schema_version}, {store.backend}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import tempfile

    from gisplan.workflow.actions import compare_refs

    say = _progress(args.quiet)
    from gisplan.store.location import store_location

    with tempfile.TemporaryDirectory(prefix="gisplan-compare-") as tmp:
        outcome = compare_refs(
            args.a, args.b, args.out, store_path=store_location(args.store), work_dir=tmp, progress=say
        )
    c, paths = outcome.comparison, outcome.files
    s = c.summary()
    if c.is_empty:
        print("no difference")
    else:
        print(
            f"amount delta (B - A): {s['amount_delta_vnd']:,} VND; KPIs changed: {s['kpis_changed']}; "
            f"parameters changed: {s['params_changed']}"
        )
        for k, n in sorted(s["features"].items()):
            print(f"  {k:<32} {n}")
    print(f"wrote {', '.join(sorted(p.name for p in paths.values()))} to {args.out}")
    return 0


def _cmd_app(args: argparse.Namespace) -> int:
    from gisplan.cli._app_launcher import run_app

    return run_app(port=args.port, open_browser=args.browser)


def _register_workflow(sub: Any) -> None:
    r = sub.add_parser(
        "run",
        help="run a scenario and write its plan, BOQ, map and manifest",
        description="Run the planners a scenario enables and write plan.gpkg, boq.xlsx, boq.csv, "
        "map.html, kpis.json, scenario.yaml and manifest.json to --out.",
    )
    r.add_argument("scenario", help="scenario YAML file (see scenarios/template.yaml), or a programme file (areas)")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument(
        "--workers", type=int, default=0, help="programme: plan the areas on a Dask LocalCluster of N processes"
    )
    r.add_argument("--scheduler", metavar="ADDRESS", help="programme: use the Dask scheduler at ADDRESS instead")
    _add_frame_options(r, "; sets layers.metric_crs / layers.region in the run's scenario.yaml")
    r.add_argument("--quiet", action="store_true", help="no progress messages")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser(
        "save",
        help="save a run folder as a new immutable version",
        description="Save a run folder (written by gisplan run) as an immutable version in the store.",
    )
    s.add_argument("run_dir")
    s.add_argument("--store", help=_STORE_HELP)
    s.add_argument("--name", help="scenario name in the store (default: the run folder's name)")
    s.add_argument("--author", required=True)
    s.add_argument("--message", "-m", required=True)
    s.add_argument("--parent", help="the version this one revises")
    s.add_argument("--expected-head", help="refuse (conflict) unless this is the newest version of the name")
    s.set_defaults(func=_cmd_save)

    lg = sub.add_parser("log", help="list versions, newest first", description="List the versions in the store.")
    lg.add_argument("--store", help=_STORE_HELP)
    lg.add_argument("--name", help="only this scenario name")
    lg.set_defaults(func=_cmd_log)

    sh = sub.add_parser("show", help="show one version", description="Show a version's metadata, KPIs and reviews.")
    sh.add_argument("version", help="version id or unique prefix")
    sh.add_argument("--store", help=_STORE_HELP)
    sh.add_argument("--json", action="store_true")
    sh.add_argument("--export", metavar="DIR", help="also write the version's files to DIR")
    sh.set_defaults(func=_cmd_show)

    rv = sub.add_parser(
        "review",
        help="record a review: status and comment",
        description="Record a reviewer's decision on a version (draft -> in_review -> approved or rejected).",
    )
    rv.add_argument("version")
    rv.add_argument("--status", required=True, choices=("draft", "in_review", "approved", "rejected"))
    rv.add_argument("--comment", default="")
    rv.add_argument("--reviewer", default=os.environ.get("USER", "reviewer"))
    rv.add_argument("--store", help=_STORE_HELP)
    rv.set_defaults(func=_cmd_review)

    c = sub.add_parser(
        "compare",
        help="compare two plans (versions, scenario files or run folders)",
        description="Compare plan A (reference) with plan B (proposal) and write compare.html and "
        "compare.xlsx. A and B are version ids, scenario files (run first) or run folders.",
    )
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--out", required=True)
    c.add_argument("--store", help=_STORE_HELP)
    c.add_argument("--quiet", action="store_true")
    c.set_defaults(func=_cmd_compare)

    st = sub.add_parser(
        "store",
        help="copy or verify a version store",
        description="Manage version stores: copy versions between SQLite and PostgreSQL, verify integrity.",
    )
    ssub = st.add_subparsers(dest="store_command", metavar="SUBCOMMAND")
    ssub.required = True
    cp = ssub.add_parser(
        "copy",
        help="copy every version (ids, files, reviews unchanged) from SRC to DST",
        description="Copy versions and their reviews from store SRC to store DST (created if missing), SQLite or "
        "PostgreSQL either way; versions already in DST are kept, their ids never change.",
    )
    cp.add_argument("source", metavar="SRC", help="store to copy from (file or postgresql:// URI)")
    cp.add_argument("target", metavar="DST", help="store to copy into (file or postgresql:// URI)")
    cp.set_defaults(func=_cmd_store_copy)
    vf = ssub.add_parser("verify", help="check every version and file of a store", description="Verify a store.")
    vf.add_argument("--store", help=_STORE_HELP)
    vf.set_defaults(func=_cmd_store_verify)

    ap = sub.add_parser("app", help="start the map app on 127.0.0.1", description="Start the Streamlit map app.")
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--browser", action="store_true", help="open a web browser")
    ap.set_defaults(func=_cmd_app)


# ------------------------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------------------------
_ENCODING_HELP = (
    "text encoding of a Shapefile's .dbf or a CSV (bảng mã): utf-8, cp1258, tcvn3 (ABC) or vni; "
    "default: the Shapefile's .cpg, else UTF-8"
)


def _add_frame_options(parser: argparse.ArgumentParser, note: str) -> None:
    """``--metric-crs`` and ``--region``: the project frame (see :mod:`gisplan.io.project`)."""
    parser.add_argument(
        "--metric-crs",
        help=f"projected CRS in metres to compute in (default: the UTM zone of the data{note})",
    )
    parser.add_argument(
        "--region",
        nargs=4,
        type=float,
        metavar=("W", "S", "E", "N"),
        help="plausible extent of the data in degrees, rows outside are errors (default: Vietnam for data in "
        "Vietnam, else drawn from the data)",
    )


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
    v.add_argument("--encoding", help=_ENCODING_HELP)
    _add_frame_options(v, "")
    v.set_defaults(func=_cmd_layers_validate)
    i = lsub.add_parser("info", help="list layers, kinds, counts, CRS and extent", description="Describe a file.")
    i.add_argument("path")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.add_argument("--encoding", help=_ENCODING_HELP)
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
_EXTRA_COMMANDS: list[Callable[[Any], None]] = [_register_workflow, register_import]


def _os_error_text(exc: OSError, args: argparse.Namespace) -> str:
    """One line for a failed file operation: what, which file (and output folder), and the fix."""
    import errno

    out = getattr(args, "out", None) or getattr(args, "export", None)
    where = f" (output folder {out})" if out else ""
    name = exc.filename or out or ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the disk while writing {name}{where}: free some space and run again; nothing "
            "half-written was left (ổ đĩa đã đầy: hãy giải phóng dung lượng rồi chạy lại)"
        )
    if isinstance(exc, PermissionError):
        reason = exc.strerror or str(exc)
        return (
            f"{reason}{'' if str(name) in reason else f': {name}'}{where}; close the file if another program "
            "(Excel, QGIS) has it open, or check that you may write there, then run again "
            "(không ghi được tệp: hãy đóng tệp đang mở hoặc kiểm tra quyền ghi)"
        )
    reason = exc.strerror or str(exc)
    if name and str(name) not in reason:
        reason = f"{reason}: {name}"
    return f"{reason}{where}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gisplan`` command; returns the exit code.

    Every failure ends in one message on stderr and exit code 1 (2 for usage errors, 130 when interrupted):
    gisplan's own errors with their problems, file-system errors (missing folder, locked output, full disk) with
    the file and the fix, memory exhaustion with the advice to split the input, and anything unexpected as a
    bug report line (``GISPLAN_DEBUG=1`` shows its traceback).
    """
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
    except OSError as exc:
        print(f"error: {_os_error_text(exc, args)}", file=sys.stderr)
        return 1
    except MemoryError:
        print(
            "error: out of memory (hết bộ nhớ); the input is too large for this machine: split it by district "
            "or commune and run each part",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted (đã dừng); outputs are either complete or untouched", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GISPLAN_DEBUG"):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (lỗi không lường trước). This is a bug in gisplan: "
            "please report it with the command you ran; set GISPLAN_DEBUG=1 to see the traceback",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
