"""The project frame: the metric CRS and plausible region come from the data, Kiên Giang unchanged."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from gisplan._errors import CRSError, LayerError
from gisplan.io import read_layers, write_gpkg
from gisplan.io.crs import is_measuring_crs
from gisplan.io.layers import read_project
from gisplan.io.project import VIETNAM_BOUNDS, parse_region, project_frame

HELSINKI = (24.94, 60.17)


def _roads(lon: float, lat: float, n: int = 5, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    lines = [LineString([(lon + 0.002 * i, lat), (lon + 0.002 * i, lat + 0.01)]) for i in range(n)]
    g = gpd.GeoDataFrame(
        {"road_id": [f"R{i}" for i in range(n)], "road_class": "urban", "surface": "asphalt"},
        geometry=lines,
        crs="EPSG:4326",
    )
    return g.to_crs(crs)


def test_kien_giang_keeps_utm48_and_vietnam_bounds():
    frame = project_frame({"roads": _roads(103.96, 10.22)})
    assert frame.crs.to_epsg() == 32648 and frame.region == VIETNAM_BOUNDS and frame.inside_vietnam


def test_a_city_outside_vietnam_gets_its_own_utm_zone_and_true_lengths(tmp_path):
    roads = _roads(*HELSINKI)
    write_gpkg({"roads": roads}, tmp_path / "hel.gpkg")
    layers, frame = read_project(tmp_path / "hel.gpkg")
    assert frame is not None and frame.crs.to_epsg() == 32635  # UTM 35N: 24°E-30°E
    geod = Geod(ellps="WGS84")
    for line, measured in zip(roads.geometry, layers["roads"].length, strict=True):
        (x0, y0), (x1, y1) = line.coords
        true = geod.inv(x0, y0, x1, y1)[2]
        assert math.isclose(measured, true, rel_tol=1e-3)  # UTM 48N would make it 30 % too long, 3857 100 %
    assert frame.region is not None and frame.region[0] < HELSINKI[0] < frame.region[2]


def test_web_mercator_input_is_reprojected_not_measured(tmp_path):
    merc = _roads(*HELSINKI, crs="EPSG:3857")
    assert not is_measuring_crs(merc.crs)
    write_gpkg({"roads": merc}, tmp_path / "merc.gpkg")
    back = read_layers(tmp_path / "merc.gpkg")["roads"]
    assert back.crs.to_epsg() == 32635
    assert merc.length.iloc[0] / back.length.iloc[0] == pytest.approx(1 / math.cos(math.radians(60.175)), rel=5e-3)


def test_a_layer_far_from_the_others_is_reported_with_its_rows(tmp_path):
    roads = _roads(*HELSINKI, n=20)
    far = _roads(2.35, 48.85, n=2)  # Paris, 1,900 km away
    far["road_id"] = ["P0", "P1"]
    poles = gpd.GeoDataFrame(
        {"pole_id": ["A", "B"], "owner": ["telecom", "power"]},
        geometry=[Point(2.35, 48.85), Point(2.351, 48.85)],
        crs="EPSG:4326",
    )
    boundaries = gpd.GeoDataFrame(
        {"unit_code": ["091"], "name": ["Helsinki"], "level": ["district"], "parent_code": [""]},
        geometry=[box(24.8, 60.1, 25.1, 60.3)],
        crs="EPSG:4326",
    )
    write_gpkg({"roads": roads, "poles": poles, "boundaries": boundaries}, tmp_path / "mixed.gpkg")
    with pytest.raises(LayerError) as exc:
        read_layers(tmp_path / "mixed.gpkg")
    outside = [(p.layer, p.row) for p in exc.value.problems if "outside the plausible area" in p.message]
    assert sorted(outside) == [("poles", "A"), ("poles", "B")]
    # the user may widen the region explicitly
    layers = read_layers(tmp_path / "mixed.gpkg", bounds=(-10, 40, 40, 70))
    assert layers["poles"].crs.to_epsg() == 32635


def test_a_file_outside_the_area_its_crs_is_made_for_is_refused():
    from gisplan.io import validate_layer

    roads = _roads(103.96, 10.22).to_crs("EPSG:9207")  # VN-2000 / TM-3 Kiên Giang
    roads["geometry"] = roads.geometry.map(lambda g: LineString([(y, x) for x, y in g.coords]))  # x and y swapped
    with pytest.raises(LayerError, match="outside the plausible area"):
        validate_layer(roads, "roads")


def test_metric_crs_and_region_are_checked():
    roads = _roads(*HELSINKI)
    assert project_frame({"roads": roads}, metric_crs="EPSG:3067").crs.to_epsg() == 3067  # ETRS-TM35FIN
    for bad in ("EPSG:4326", "EPSG:3857"):
        with pytest.raises(CRSError, match="cannot measure lengths"):
            project_frame({"roads": roads}, metric_crs=bad)
    assert parse_region("24, 60, 25, 61") == (24.0, 60.0, 25.0, 61.0)
    for bad in ("1 2 3", "25 60 24 61", [0, 0, 0, 0], "a b c d"):
        with pytest.raises(CRSError, match="region"):
            parse_region(bad)


def test_cli_metric_crs_and_region_reach_the_run_and_its_saved_scenario(tmp_path):
    """`gisplan run --metric-crs --region` set the frame and write it into the run's scenario.yaml (re-runnable)."""
    import subprocess
    import sys

    import yaml

    from gisplan.workflow.demo import scenarios_dir

    scen = scenarios_dir() / "duong_dong_underground.yaml"
    cmd = [sys.executable, "-m", "gisplan.cli", "run", str(scen), "--out", str(tmp_path / "r"), "--quiet"]
    ok = subprocess.run([*cmd, "--metric-crs", "EPSG:3405", "--region", "103.4", "9.2", "104.2", "10.5"],
                        capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    saved = yaml.safe_load((tmp_path / "r" / "scenario.yaml").read_text(encoding="utf-8"))
    assert saved["layers"]["metric_crs"] == "EPSG:3405" and saved["layers"]["region"] == [103.4, 9.2, 104.2, 10.5]
    trenches = gpd.read_file(tmp_path / "r" / "plan.gpkg", layer="trenches")
    assert trenches.crs.to_epsg() == 3405  # VN-2000 / UTM 48N
    bad = subprocess.run([*cmd[:-3], "--out", str(tmp_path / "b"), "--metric-crs", "EPSG:3857"],
                         capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert bad.returncode == 1 and "Mercator" in bad.stderr and "Traceback" not in bad.stderr
    far = subprocess.run([*cmd[:-3], "--out", str(tmp_path / "f"), "--region", "0", "40", "10", "50"],
                         capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert far.returncode == 1 and "outside the plausible area" in far.stderr


@pytest.mark.slow
def test_web_mercator_layers_passed_straight_to_the_planners_are_not_measured_in_mercator():
    """Python users may hand the planners Web Mercator frames: the plan must equal the metric one (it was x1.56 at
    50°N; 1.5 % in Kiên Giang, enough to change a BOQ)."""
    from gisplan.demo import demo_gpkg_path, demo_zone_duong_dong
    from gisplan.underground import UndergroundParams, plan_undergrounding
    from gisplan.wifi import WifiParams, plan_wifi

    layers = read_layers(demo_gpkg_path())
    merc = {k: v.to_crs("EPSG:3857") for k, v in layers.items()}
    params = UndergroundParams(budget_per_year_vnd=12_000_000_000, start_year=2027)
    a = plan_undergrounding(layers, demo_zone_duong_dong(), params)
    b = plan_undergrounding(merc, demo_zone_duong_dong(), params)
    assert b.layers["trenches"].crs.to_epsg() == 32648
    assert b.kpis["trench_km"] == pytest.approx(a.kpis["trench_km"], rel=1e-3)
    assert b.total_vnd == pytest.approx(a.total_vnd, rel=1e-3)
    focus = gpd.GeoDataFrame(geometry=[box(103.95, 10.30, 104.10, 10.45)], crs="EPSG:4326")
    wa = plan_wifi(layers, WifiParams(cover_all=True, focus=focus))
    wb = plan_wifi(merc, WifiParams(cover_all=True, focus=focus))
    assert wb.kpis["n_sites"] == wa.kpis["n_sites"]
    assert wb.total_vnd == pytest.approx(wa.total_vnd, rel=1e-3)


def test_an_upload_joins_the_project_in_the_project_crs():
    from gisplan.io.uploads import read_upload

    data = _roads(*HELSINKI).to_json().encode("utf-8")
    own = read_upload("roads.geojson", data)["roads"]
    assert own.crs.to_epsg() == 32635  # the upload's own UTM zone when no project frames it
    joined = read_upload("roads.geojson", data, metric_crs="EPSG:3067")["roads"]
    assert joined.crs.to_epsg() == 3067
    assert joined.length.sum() == pytest.approx(own.length.sum(), rel=1e-3)


def test_a_crs_far_from_its_data_is_not_measured_in():
    """Helsinki's roads stored in Kiên Giang's UTM 48N: a Transverse Mercator, but 80° of longitude from its central
    meridian the scale is 14 % off; they are measured in their own zone (35N), the issue's '30 % too long' case."""
    from gisplan.io.crs import metric_crs_for, scale_error

    far = _roads(*HELSINKI).to_crs("EPSG:32648")
    assert scale_error(far) > 0.1
    assert metric_crs_for(far).to_epsg() == 32635
    home = _roads(103.96, 10.22).to_crs("EPSG:32648")
    assert scale_error(home) < 0.001 and metric_crs_for(home).to_epsg() == 32648
    assert metric_crs_for(_roads(*HELSINKI, crs="EPSG:3857")).to_epsg() == 32635
