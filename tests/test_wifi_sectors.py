"""Sector antennas (wedges, azimuths, airtime per sector) and line of sight by environment over a raster."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from gisplan._errors import CatalogError, PlanningError
from gisplan.catalog._catalog import load_catalog
from gisplan.wifi._select import _coverage_matrix, _reaches
from gisplan.wifi.environment import point_environment, settlement_environment
from gisplan.wifi.planner import WifiParams, plan_wifi
from gisplan.wifi.radio import APProfile, reach_m
from gisplan.wifi.sectors import azimuths, best_rotation, sector_footprint
from gisplan.wifi.settings import WifiSettings

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0


def _profile(**kw: object) -> APProfile:
    base = {"name": "p", "freq_mhz": 2437, "eirp_dbm": 20.0, "antenna_gain_dbi": 15.0, "client_eirp_dbm": 18.0,
            "rx_sensitivity_dbm": -82.0, "client_rx_sensitivity_dbm": -82.0, "height_m": 15.0,
            "model": "p1411_nlos_residential", "building_entry_loss_db": 12.0, "los_model": "p1411_los",
            "los_clutter_m": 1.0}  # fmt: skip
    base.update(kw)
    return APProfile.from_mapping(base)


def _demand(xy: list[tuple[float, float]], *, env: str = "village", indoor: bool = False, mbps: float = 0.1,
            weight: list[float] | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    n = len(xy)
    return gpd.GeoDataFrame(
        {"indoor": [indoor] * n, "environment": [env] * n, "demand_mbps": [mbps] * n,
         "weight": weight if weight is not None else [1.0] * n},
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS,
    )  # fmt: skip


def _site() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[Point(X0, Y0)], crs=CRS)


def _covered(demand: gpd.GeoDataFrame, prof: APProfile, elevation: str | None = None) -> tuple[np.ndarray, ...]:
    cov = _coverage_matrix(demand, _site(), [("p", prof, "AP.OUT2G4", reach_m(prof))], elevation, CRS)
    return cov.matrix[:, 0].toarray().ravel(), cov.los[:, 0].toarray().ravel(), cov.azimuths[0]


def test_a_panel_points_at_its_demand_and_its_wedge_leaves_out_what_lies_behind() -> None:
    """A 90-degree panel: five households 80 m north, one 80 m south and one 15 m south.  It points north (their
    centre of mass); the south one at 80 m lies beyond the back lobe's reach (20 dB down), the one at 15 m inside."""
    prof = _profile(beamwidth_deg=90.0, front_to_back_db=20.0)
    main, back = _reaches(prof)[False, False, False], _reaches(prof)[False, False, True]
    assert 15 < back < 80 < main  # the figures the geometry below relies on
    demand = _demand([(-10, 80), (-5, 80), (0, 80), (5, 80), (10, 80), (0, -80), (0, -15)])
    covered, los, az = _covered(demand, prof)
    assert az == (0.0,)
    assert covered.tolist() == [True] * 5 + [False, True]
    assert not los.any()  # village clutter: non-line-of-sight
    # the footprint's wedge: the point along the azimuth within reach, not the one behind beyond the back lobe
    shape = sector_footprint(Point(X0, Y0), az, 90.0, main, back)
    assert shape.contains(Point(X0, Y0 + 0.9 * main)) and not shape.contains(Point(X0, Y0 + 1.1 * main))
    assert not shape.contains(Point(X0, Y0 - 80)) and shape.contains(Point(X0, Y0 - 0.9 * back))
    assert not shape.contains(Point(X0 + 0.9 * main * np.sin(np.radians(50)), Y0 + 0.9 * main * np.cos(np.radians(50))))
    # an omni profile at the same point covers all seven, with no azimuth
    covered, _, az = _covered(demand, _profile())
    assert covered.all() and az == ()


def _brute_rotation(bearing, d, w, share, share_back, reach_main, reach_back, n, bw) -> float:
    """Rotations 0, 10, ... by plain loops: the weight each serves, each sector taking its clients least airtime
    first while airtime lasts; the first best."""
    best, best_value = None, -1.0
    for rot in range(0, int(360 / n), 10):
        azs = [(rot + k * 360 / n) % 360 for k in range(n)]
        load: dict[int, list[tuple[float, int]]] = {k: [] for k in range(n)}
        for i in range(len(d)):
            offs = [abs((bearing[i] - a + 180) % 360 - 180) for a in azs]
            k = offs.index(min(offs))
            main = offs[k] <= bw / 2
            if d[i] <= (reach_main[i] if main else reach_back[i]):
                load[k].append((share[i] if main else share_back[i], i))
        value = 0.0
        for k in range(n):
            used = 0.0
            for s, i in sorted(load[k]):
                if used + s <= 1 + 1e-12:
                    used += s
                    value += w[i]
        if value > best_value + 1e-9:
            best, best_value = rot, value
    return float(best)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("n", "bw", "share_scale"), [(3, 60.0, 0.001), (3, 120.0, 0.15), (2, 45.0, 0.08)])
def test_the_rotation_chosen_is_the_brute_force_best(seed: int, n: int, bw: float, share_scale: float) -> None:
    rng = np.random.default_rng(seed)
    m = 40
    bearing = rng.uniform(0, 360, m)
    d = rng.uniform(10, 200, m)
    w = rng.integers(1, 6, m).astype(float)
    share = rng.uniform(0.2, 1.0, m) * share_scale * 10
    reach_main, reach_back = np.full(m, 150.0), np.full(m, 30.0)
    got = best_rotation(n, bw, bearings=bearing, dist_m=d, weight=w, reach_main_m=reach_main,
                        reach_back_m=reach_back, share_main=share, share_back=share * 3)  # fmt: skip
    assert got == _brute_rotation(bearing, d, w, share, share * 3, reach_main, reach_back, n, bw)
    assert got % 10 == 0 and 0 <= got < 360 / n


def test_the_planner_points_three_narrow_sectors_at_three_clusters() -> None:
    """Three 20-degree sectors and three clusters of households at 33-37, 153-157 and 273-277 degrees: rotations
    30 and 40 cover them all, 0 to 20 none; the smallest, 30, is chosen."""
    prof = _profile(n_sectors=3, beamwidth_deg=20.0, front_to_back_db=20.0)
    pts = []
    for b in (35.0, 155.0, 275.0):
        for k in range(5):
            a = np.radians(b + k - 2)
            pts.append((100 * np.sin(a), 100 * np.cos(a)))
    covered, _, az = _covered(_demand(pts), prof)
    assert az == azimuths(3, 30.0) == (30.0, 150.0, 270.0)
    assert covered.all()


def _raster(path, z: np.ndarray, res: float = 5.0) -> str:
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    n = z.shape[0]
    with warnings.catch_warnings():  # rasterio 1.4 multiplies Affine objects with `*` (pending deprecation)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, X0 - n * res / 2, 0.0, -res, Y0 + n * res / 2),
        ) as dst:  # fmt: skip
            dst.write(z.astype("float32"), 1)
    return str(path)


def _ridge(path, *bands: tuple[float, float, float]) -> str:
    """A flat 2 km square with north-south ridges (from, to metres east of the site, height)."""
    res, n = 5.0, 400
    z = np.zeros((n, n))
    xs = X0 - n * res / 2 + (np.arange(n) + 0.5) * res
    for x_from, x_to, height in bands:
        z[:, (xs >= X0 + x_from) & (xs <= X0 + x_to)] = height
    return _raster(path, z, res)


def test_open_terrain_takes_line_of_sight_reach_and_a_ridge_leaves_only_the_nlos_reach(tmp_path) -> None:
    """An omni 2.4 GHz AP 15 m high; outdoor clients 250 m west and east (beyond the 147 m NLoS reach, within the
    378 m LoS reach) and 120 m east.  A 2 m bank 100-110 m east leaves the bare ray to the client at 120 m clear,
    and 0.6 of the Fresnel zone over bare ground, but not over 1 m of clutter; a 10 m ridge 180-220 m east hides the
    client at 250 m."""
    prof = _profile(antenna_gain_dbi=8.0)
    nlos, los_reach = _reaches(prof)[False, False, False], _reaches(prof)[True, False, False]
    assert nlos < 120 * 1.3 < 250 < los_reach
    demand = _demand([(-250, 0), (250, 0), (120, 0)], env="open")
    flat = _ridge(tmp_path / "flat.tif")
    covered, los, _ = _covered(demand, prof, flat)
    assert covered.tolist() == [True, True, True] and los.tolist() == [True, True, True]
    bank = _ridge(tmp_path / "bank.tif", (100, 110, 2.0), (180, 220, 10.0))
    covered, los, _ = _covered(demand, prof, bank)
    assert covered.tolist() == [True, False, True]  # behind the bank: NLoS reach only (250 m out, 120 m in)
    assert los.tolist() == [True, False, False]
    # a village at the same places: NLoS whatever the terrain; without a raster, open ground is not assumed clear
    covered, los, _ = _covered(_demand([(-250, 0), (250, 0), (120, 0)], env="village"), prof, flat)
    assert covered.tolist() == [False, False, True] and not los.any()
    covered, los, _ = _covered(demand, prof, None)
    assert covered.tolist() == [False, False, True] and not los.any()


def _village(households: int) -> dict[str, gpd.GeoDataFrame]:
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Ấp"], "commune_code": ["C1"], "population": [households * 4],
         "households": [households], "kind": ["village"]},
        geometry=[Point(X0, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "A"], "kind": ["exchange", "community"], "name": ["Exchange", "Nhà văn hoá"],
         "has_fibre": [True, False], "height_m": [30.0, 20.0], "has_power": [True, True]},
        geometry=[Point(X0, Y0 + 2_000), Point(X0 + 5, Y0 + 5)], crs=CRS,
    )  # fmt: skip
    return {"settlements": settlements, "sites": sites}


def test_three_sectors_serve_more_households_than_one_omni_ap_when_demand_exceeds_its_airtime() -> None:
    """120 households around one site; one radio per column (settings): the omni AP's airtime runs out, the three
    sectors each share their own."""
    cat = load_catalog(overrides={"ap_profiles": {"outdoor_2g4": {"model": "p1411_los"},
                                                  "sector3_2g4": {"model": "p1411_los"}}})  # fmt: skip
    cfg = WifiSettings(max_aps_per_column=1)
    out = {}
    for name in ("outdoor_2g4", "sector3_2g4"):
        params = WifiParams(cover_all=True, profiles=(name,), connect_all_commune_hq=False)
        out[name] = plan_wifi(_village(120), params, catalog=cat, settings=cfg)
    omni, sect = out["outdoor_2g4"], out["sector3_2g4"]
    assert omni.kpis["households_served"] < omni.kpis["households_total"]  # demand beyond one AP's airtime
    assert sect.kpis["households_served"] > 2 * omni.kpis["households_served"]
    assert sect.kpis["mbps_delivered"] > 2 * omni.kpis["mbps_delivered"]
    site = sect.layers["sites"].iloc[0]
    assert site["n_sectors"] == 3 and site["beamwidth_deg"] == 120.0 and site["azimuth_deg"] % 10 == 0
    assert site["capacity_mbps"] > 2 * omni.layers["sites"].iloc[0]["capacity_mbps"]
    assert np.isnan(omni.layers["sites"].iloc[0]["azimuth_deg"])
    assert sect.boq.loc[sect.boq["item_code"] == "AP.SEC2G4", "quantity"].sum() == 3
    assert sect.kpis["n_radios"] == 3 and omni.kpis["n_radios"] == 1
    assert site["households_los"] + site["households_nlos"] == sect.kpis["households_served"]


def test_environment_comes_from_the_column_then_land_cover_then_the_kind() -> None:
    s = gpd.GeoDataFrame(
        {"settlement_id": ["T", "V", "H", "X", "C"], "kind": ["town", "village", "hamlet", "island", "hamlet"],
         "environment": [None, "", None, None, "Coastal"]},
        geometry=[Point(X0 + 1000 * k, Y0) for k in range(5)], crs=CRS,
    )  # fmt: skip
    cover = gpd.GeoDataFrame({"lc_id": ["L1"], "environment": ["village"]},
                             geometry=[Point(X0 + 2000, Y0).buffer(50)], crs=CRS)  # fmt: skip
    env, src = settlement_environment(s, cover)
    assert env.tolist() == ["town", "village", "village", "village", "coastal"]
    assert src.tolist() == ["default by kind", "default by kind", "land_cover", "default by kind",
                            "settlements.environment"]  # fmt: skip
    pts = gpd.GeoDataFrame({"settlement_id": ["C", ""]}, geometry=[Point(X0, Y0), Point(X0 + 3900, Y0)], crs=CRS)
    assert point_environment(pts, s, env).tolist() == ["coastal", "coastal"]  # an institution: nearest settlement
    bad = s.assign(environment=[None, "forest", None, None, None])
    with pytest.raises(PlanningError, match=r"row 1 \(V\).*'forest'.*town, village, open, coastal"):
        settlement_environment(bad)


def test_sector_profiles_are_checked() -> None:
    with pytest.raises(CatalogError) as err:
        _profile(n_sectors=3, beamwidth_deg=150.0)
    assert "overlap" in str(err.value) or any("overlap" in p.message for p in err.value.problems)
    with pytest.raises(CatalogError):
        _profile(beamwidth_deg=0.0)
    with pytest.raises(CatalogError):
        _profile(los_model="p1411_lso")
    cat = load_catalog()
    assert cat.ap_profiles["sector3_2g4"]["n_sectors"] == 3 and cat.ap_profiles["sector_5g"]["beamwidth_deg"] == 120


@pytest.mark.parametrize("kind", ["hamlet", "village"])
def test_an_open_hamlet_is_served_on_line_of_sight_and_its_footprint_reaches_further(tmp_path, kind: str) -> None:
    """Six households 90 m from the AP (indoors: 58 m of NLoS reach, 103 m on line of sight) on flat ground: a
    hamlet (open by default) is served on line of sight and the footprint runs to the LoS reach; a village is not
    served at all."""
    layers = _village(6)
    layers["settlements"] = layers["settlements"].assign(kind=[kind]).set_geometry([Point(X0 + 90, Y0)], crs=CRS)
    dem = _ridge(tmp_path / "flat.tif")
    params = WifiParams(cover_all=True, profiles=("outdoor_2g4",), connect_all_commune_hq=False, elevation=dem)
    plan = plan_wifi(layers, params, catalog=load_catalog())
    assert any(f"{'open' if kind == 'hamlet' else 'village'} (default by kind): 1" in m for m in plan.messages)
    village = plan.layers["settlements_unserved"].iloc[0]
    assert village["environment"] == ("open" if kind == "hamlet" else "village")
    assert village["environment_source"] == "default by kind"
    if kind == "village":
        assert plan.kpis["households_served"] == 0 and len(plan.layers["sites"]) == 0
        return
    assert plan.kpis["households_served"] == plan.kpis["households_served_los"] == 6
    site = plan.layers["sites"].iloc[0]
    assert site["households_los"] == 6 and site["households_nlos"] == 0
    fp = plan.layers["footprints"].iloc[0]
    assert fp["reach_los_m"] > 300 and fp.geometry.contains(Point(X0 + 5 - 300, Y0 + 5))
