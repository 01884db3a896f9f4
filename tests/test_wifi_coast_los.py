"""The shore from the land layer's coastline (coastal households, line of sight over the sea) and the operators' 4G
options checked for line of sight over the elevation raster."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gisplan.wifi._select import _coverage_matrix, _reaches
from gisplan.wifi.environment import COASTLINE, coastal_points, point_environment, settlement_environment, shore_of
from gisplan.wifi.planner import WifiParams, plan_wifi
from gisplan.wifi.radio import APProfile, reach_m
from gisplan.wifi.settings import WifiSettings

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0
# land: everything west of x = X0 (the sea lies east), 20 km square; an islet 1 km offshore
LAND = gpd.GeoDataFrame(
    {"name": ["Đảo", "Hòn"]},
    geometry=[box(X0 - 20_000, Y0 - 10_000, X0, Y0 + 10_000), box(X0 + 1_000, Y0 - 50, X0 + 1_100, Y0 + 50)],
    crs=CRS,
)  # fmt: skip


def _raster(path, z: np.ndarray, res: float, west: float, north: float) -> str:
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    with warnings.catch_warnings():  # rasterio 1.4 multiplies Affine objects with `*` (pending deprecation)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z.astype("float32"), 1)
    return str(path)


def _ground(path, *ridges: tuple[float, float, float]) -> str:
    """Flat ground at 0 m, 4 km x 4 km around (X0, Y0), 5 m pixels, with north-south ridges (from, to metres east
    of X0, height m)."""
    res, n = 5.0, 800
    west, north = X0 - n * res / 2, Y0 + n * res / 2
    xs = west + (np.arange(n) + 0.5) * res
    z = np.zeros((n, n))
    for x_from, x_to, height in ridges:
        z[:, (xs >= X0 + x_from) & (xs <= X0 + x_to)] = height
    return _raster(path, z, res, west, north)


# --- the shore ------------------------------------------------------------------------------------------------------


def test_households_of_a_village_on_the_shore_are_coastal_those_inland_and_hamlets_keep_their_class() -> None:
    s = gpd.GeoDataFrame(
        {"settlement_id": ["SHORE", "INLAND", "HAMLET", "SET"], "kind": ["village", "village", "hamlet", "town"],
         "environment": [None, None, None, "town"]},
        geometry=[Point(X0 - 60, Y0), Point(X0 - 3_000, Y0), Point(X0 - 30, Y0 + 2_000), Point(X0 - 20, Y0 - 2_000)],
        crs=CRS,
    )  # fmt: skip
    # households: the shore village's front row (40 m from the water) and its back row (160 m), the inland village,
    # the hamlet's house on the beach, the town's house on the beach whose class the settlements layer sets
    pts = gpd.GeoDataFrame(
        {"settlement_id": ["SHORE", "SHORE", "INLAND", "HAMLET", "SET"]},
        geometry=[Point(X0 - 40, Y0), Point(X0 - 160, Y0), Point(X0 - 3_000, Y0), Point(X0 - 10, Y0 + 2_000),
                  Point(X0 - 10, Y0 - 2_000)],
        crs=CRS,
    )  # fmt: skip
    env, src = settlement_environment(s)
    shore = shore_of(LAND, WifiSettings().coastal_band_m)
    e, w, note = coastal_points(pts, point_environment(pts, s, env), point_environment(pts, s, src), shore)
    assert e.tolist() == ["coastal", "village", "village", "open", "town"]
    assert w.tolist()[0] == COASTLINE and w.tolist()[1] == "default by kind"
    assert note is not None and "1 of 3" in note and "100 m" in note
    # a narrower band leaves the front row in the village; no land layer: nothing changes and the plan says why
    e, _, _ = coastal_points(pts, point_environment(pts, s, env), point_environment(pts, s, src), shore_of(LAND, 30))
    assert e.tolist()[0] == "village"
    e, _, note = coastal_points(pts, point_environment(pts, s, env), point_environment(pts, s, src), None)
    assert e.tolist() == ["village", "village", "village", "open", "town"]
    assert note is not None and "no land layer" in note


def _prof() -> APProfile:
    return APProfile.from_mapping(
        {"name": "p", "freq_mhz": 2437, "eirp_dbm": 20.0, "antenna_gain_dbi": 8.0, "client_eirp_dbm": 18.0,
         "rx_sensitivity_dbm": -82.0, "client_rx_sensitivity_dbm": -82.0, "height_m": 15.0,
         "model": "p1411_nlos_residential", "los_model": "p1411_los", "los_clutter_m": 1.0}
    )  # fmt: skip


def test_a_coastal_household_is_line_of_sight_over_the_sea_not_over_the_village(tmp_path) -> None:
    """The shore runs north-south at x = X0 (land west).  Households 250 m from the AP (beyond its 147 m NLoS reach,
    within its 378 m LoS reach) on flat ground: the one on the shore is reached from an AP along the shore (the path
    runs in the shore band) but not from an AP 250 m inland (the path crosses the village); the inland one, of the
    same village, from neither."""
    prof = _prof()
    nlos, los_reach = _reaches(prof)[False, False, False], _reaches(prof)[True, False, False]
    assert nlos < 250 < los_reach
    flat = _ground(tmp_path / "flat.tif")
    s = gpd.GeoDataFrame({"settlement_id": ["V"], "kind": ["village"]}, geometry=[Point(X0 - 100, Y0)], crs=CRS)
    homes = gpd.GeoDataFrame(
        {"settlement_id": ["V", "V"], "indoor": [False, False], "demand_mbps": [0.1, 0.1], "weight": [1.0, 1.0]},
        geometry=[Point(X0 - 20, Y0 + 250), Point(X0 - 500, Y0 + 250)], crs=CRS,
    )  # fmt: skip
    env, src = settlement_environment(s)
    shore = shore_of(LAND, 100.0)
    e, w, _ = coastal_points(homes, point_environment(homes, s, env), point_environment(homes, s, src), shore)
    assert e.tolist() == ["coastal", "village"]
    homes = homes.assign(environment=e, environment_source=w)
    sites = gpd.GeoDataFrame({"site_id": ["SHORE", "INLAND"]}, geometry=[Point(X0 - 20, Y0), Point(X0 - 270, Y0 + 250)],
                             crs=CRS)  # fmt: skip
    cov = _coverage_matrix(homes, sites, [("p", prof, "AP", reach_m(prof))], flat, CRS, shore)
    covered, los = cov.matrix.toarray(), cov.los.toarray()
    assert covered[0].tolist() == [True, False]  # the shore house: from the shore AP only
    assert los[0].tolist() == [True, False]
    assert not covered[1].any()  # the inland house: NLoS, 250 m and 230 m are beyond 147 m
    # the same shore house classed coastal by the settlements layer keeps the plain rule (LoS from both)
    cov = _coverage_matrix(homes.assign(environment_source="settlements.environment"), sites,
                           [("p", prof, "AP", reach_m(prof))], flat, CRS, shore)  # fmt: skip
    assert cov.matrix.toarray()[0].tolist() == [True, True]


def test_the_plan_reports_coastal_households_and_without_land_says_it_cannot(tmp_path) -> None:
    s = gpd.GeoDataFrame(
        {"settlement_id": ["V"], "name": ["Làng chài"], "commune_code": ["C1"], "population": [40], "households": [10],
         "kind": ["village"]},
        geometry=[Point(X0 - 30, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX"], "kind": ["exchange"], "name": ["Exchange"], "has_fibre": [True], "height_m": [30.0],
         "has_power": [True]},
        geometry=[Point(X0 - 2_000, Y0)], crs=CRS,
    )  # fmt: skip
    params = WifiParams(cover_all=True, generate_candidates=True, spread_households=False,
                        connect_all_commune_hq=False)  # fmt: skip
    plan = plan_wifi({"settlements": s, "sites": sites, "land": LAND}, params)
    pts = plan.layers["demand_points"]
    assert set(pts["environment"]) == {"coastal"} and set(pts["environment_source"]) == {COASTLINE}
    assert any(m.startswith("Coastal from the coastline: 10 of 10") for m in plan.messages)
    plan = plan_wifi({"settlements": s, "sites": sites}, params)
    assert set(plan.layers["demand_points"]["environment"]) == {"village"}
    assert any("no land layer" in m for m in plan.messages)


# --- the 4G options over the raster -------------------------------------------------------------------------------


def _tower_layers(dx: float, kind: str, ex_dy: float = 1_000.0) -> dict[str, gpd.GeoDataFrame]:
    """Village A (10 households on its point) ``dx`` metres east of tower T1 (40 m, no fibre, radiating 4G poorly),
    an exchange with fibre ``ex_dy`` metres north of the tower."""
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["A"], "name": ["Ấp A"], "commune_code": ["C1"], "population": [40], "households": [10],
         "kind": [kind], "on_island": [False]},
        geometry=[Point(X0 + dx, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "T1"], "kind": ["exchange", "tower"], "name": ["Exchange", "BTS 1"],
         "has_fibre": [True, False], "height_m": [30.0, 40.0], "has_power": [True, True]},
        geometry=[Point(X0, Y0 + ex_dy), Point(X0, Y0)], crs=CRS,
    )  # fmt: skip
    coverage = gpd.GeoDataFrame({"technology": ["4G"], "operator": ["Viettel"], "quality": ["poor"]},
                                geometry=[box(X0 - 1_500, Y0 - 1_500, X0 + 1_500, Y0 + 1_500)], crs=CRS)  # fmt: skip
    return {"settlements": settlements, "sites": sites, "coverage": coverage}


def _tower_4g(layers: dict, elevation: str | None) -> pd.Series:
    params = WifiParams(cover_all=True, generate_candidates=True, spread_households=False,
                        technologies=("public_wifi", "small_cell_4g", "fwa", "tower_4g"),
                        connect_all_commune_hq=False, elevation=elevation)  # fmt: skip
    vo = plan_wifi(layers, params).layers["village_options"]
    return vo[vo["technology"] == "tower_4g"].iloc[0]


@pytest.mark.parametrize(
    ("dx", "kind", "ridge", "in_reach"),
    [
        (700.0, "hamlet", None, True),  # open ground, line of sight: beyond the 0.38 km NLoS reach, within LoS
        (700.0, "hamlet", (340.0, 360.0, 60.0), False),  # behind a 60 m ridge: no line of sight, beyond NLoS reach
        (700.0, "village", None, False),  # village clutter: the NLoS reach only
        (300.0, "village", None, True),  # within the NLoS reach, the bare terrain clear
        (300.0, "village", (140.0, 160.0, 60.0), False),  # within it, but a hill between: blocked
    ],
)
def test_a_tower_reaches_a_household_on_open_ground_not_one_behind_a_ridge(tmp_path, dx, kind, ridge, in_reach):
    dem = _ground(tmp_path / "g.tif", *([ridge] if ridge else []))
    row = _tower_4g(_tower_layers(dx, kind), dem)
    assert row["site_id"] == ("T1" if in_reach else "")
    assert bool(row["feasible"]) is in_reach
    if not in_reach:
        assert "of 10 households beyond" in row["reason"] and "T1" in row["reason"]


def test_without_a_raster_a_tower_reaches_its_non_line_of_sight_range_only() -> None:
    assert not _tower_4g(_tower_layers(700.0, "hamlet"), None)["feasible"]
    assert _tower_4g(_tower_layers(300.0, "hamlet"), None)["feasible"]


@pytest.mark.parametrize(
    ("land", "feasible"),
    [
        (box(X0 - 20_000, Y0 - 20_000, X0 + 20_000, Y0 + 30), True),  # the sea north: tower and village on the shore
        (box(X0 - 20_000, Y0 - 20_000, X0 + 730, Y0 + 20_000), False),  # the sea east: the path crosses the land
    ],
)
def test_a_tower_sees_a_coastal_village_over_the_shore_only(tmp_path, land, feasible) -> None:
    """A village 700 m from the tower, its houses 30 m from the water, is coastal: on line of sight from a tower on
    the same shore (the path runs along the beach), out of the non-line-of-sight reach from a tower inland."""
    layers = _tower_layers(700.0, "village", ex_dy=-1_000.0)
    layers["land"] = gpd.GeoDataFrame({"name": ["Đảo"]}, geometry=[land], crs=CRS)
    row = _tower_4g(layers, _ground(tmp_path / "flat.tif"))
    assert bool(row["feasible"]) is feasible
