"""``gisplan import osm``: a gisplan project from an OpenStreetMap extract (see :mod:`gisplan.io.osm`)."""

from __future__ import annotations

import argparse
from typing import Any


def _cmd_import_osm(args: argparse.Namespace) -> int:
    import time

    from gisplan.io.osm import OsmSettings, check_project_out, import_osm, write_osm_project

    check_project_out(args.out, overwrite=args.overwrite)  # before the reading, which may take long

    settings = OsmSettings(
        m2_per_household=args.m2_per_household,
        persons_per_household=args.persons_per_household,
    )
    t0 = time.perf_counter()
    layers, report, _frame = import_osm(
        args.path,
        bbox=args.bbox,
        area=args.area,
        metric_crs=args.metric_crs,
        settings=settings,
    )
    gpkg, rep = write_osm_project(layers, report, args.out, overwrite=args.overwrite)
    if not args.quiet:
        print(report.text())
    print(f"wrote {gpkg} ({', '.join(f'{k} {len(v)}' for k, v in layers.items())}) and {rep.name} "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return 0


def register_import(sub: Any) -> None:
    """Add ``gisplan import osm`` to the CLI."""
    imp = sub.add_parser(
        "import",
        help="bring outside data in as a gisplan project",
        description="Bring outside data in as a gisplan project (a GeoPackage whose layers are named by kind).",
    )
    isub = imp.add_subparsers(dest="import_command", metavar="SOURCE")
    isub.required = True
    o = isub.add_parser(
        "osm",
        help="an OpenStreetMap extract (.osm.pbf) -> roads, buildings, sites, poles, settlements, boundaries, land",
        description="Read an OpenStreetMap extract and write a gisplan project: roads (class, surface, bridges and "
        "tunnels), buildings with estimated households, sites (schools, clinics, town halls and People's "
        "Committees, post offices, telecom exchanges and towers, utility poles), poles, settlements (population "
        "tagged or estimated from buildings), administrative boundaries and land from the coastline. A report of "
        "what was found, mapped and left out is printed and written beside the project (PROJECT.gpkg.import.json).",
    )
    o.add_argument("path", help="the extract (.osm.pbf, .osm or .osm.bz2)")
    o.add_argument("--out", required=True, help="the project GeoPackage to write (*.gpkg)")
    area = o.add_mutually_exclusive_group()
    area.add_argument("--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"), help="keep what lies in this box")
    area.add_argument("--area", help="keep what lies in the polygon(s) of this layer file (GeoJSON, GeoPackage, ...)")
    o.add_argument("--metric-crs", help="metric CRS of the project (default: the UTM zone of the data's centre)")
    o.add_argument(
        "--m2-per-household",
        type=float,
        default=80.0,
        help="floor area of one household, to estimate households from footprints and levels (default 80 m²)",
    )
    o.add_argument(
        "--persons-per-household",
        type=float,
        default=3.5,
        help="persons per household, to estimate a place's population from its buildings (default 3.5)",
    )
    o.add_argument("--overwrite", action="store_true", help="replace --out if it exists (refused otherwise)")
    o.add_argument("--quiet", action="store_true", help="print only the last line, not the report")
    o.set_defaults(func=_cmd_import_osm)
