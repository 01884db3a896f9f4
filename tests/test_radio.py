"""Tests of gisplan.wifi.radio against published reference values, and the line-of-sight checks on tiny rasters."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine

from gisplan._errors import CatalogError, CRSError, PlanningError
from gisplan.wifi.radio import (
    APProfile,
    RadioValidityWarning,
    cost231_hata_loss_db,
    free_space_loss_db,
    line_of_sight,
    link_budget,
    log_distance_loss_db,
    okumura_hata_loss_db,
    p1411_site_general_loss_db,
    point_to_point,
    reach_m,
)


@pytest.fixture(autouse=True)
def _validity_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- path loss reference values -------------------------------------------------------------------------------


def test_free_space_reference() -> None:
    # ITU-R P.525: 32.44 + 20 log10(1 km) + 20 log10(2400 MHz) = 100.04 dB
    assert free_space_loss_db(1000.0, 2400.0) == pytest.approx(100.04, abs=0.01)
    # 6 dB per doubling of distance, vectorised
    losses = free_space_loss_db(np.array([500.0, 1000.0, 2000.0]), 2400.0)
    assert np.diff(losses) == pytest.approx([6.02, 6.02], abs=0.01)


def test_hata_urban_reference() -> None:
    # Hata (1980), urban, 900 MHz, hb 30 m, hm 1.5 m: 126.4 dB at 1 km, slope 35.2 dB per decade
    assert okumura_hata_loss_db(1000.0, 900.0, h_base_m=30.0, h_mobile_m=1.5) == pytest.approx(126.4, abs=0.05)
    assert okumura_hata_loss_db(10_000.0, 900.0, h_base_m=30.0, h_mobile_m=1.5) == pytest.approx(161.6, abs=0.05)


def test_hata_environments_order() -> None:
    kwargs = {"h_base_m": 40.0, "h_mobile_m": 1.5}
    urban = okumura_hata_loss_db(5000.0, 900.0, **kwargs)
    suburban = okumura_hata_loss_db(5000.0, 900.0, environment="suburban", **kwargs)
    open_area = okumura_hata_loss_db(5000.0, 900.0, environment="open", **kwargs)
    # the suburban and open corrections at 900 MHz: 9.9 dB and 28.5 dB
    assert urban - suburban == pytest.approx(9.94, abs=0.01)
    assert urban - open_area == pytest.approx(28.51, abs=0.01)


def test_cost231_reference() -> None:
    # COST-231 Hata, 1800 MHz, hb 30 m, hm 1.5 m, 1 km, medium city: 136.2 dB; metropolitan adds 3 dB
    medium = cost231_hata_loss_db(1000.0, 1800.0, h_base_m=30.0, h_mobile_m=1.5, environment="urban")
    metro = cost231_hata_loss_db(1000.0, 1800.0, h_base_m=30.0, h_mobile_m=1.5, environment="metropolitan")
    assert medium == pytest.approx(136.2, abs=0.05)
    assert metro - medium == pytest.approx(3.0)


def test_cost231_open_area_takes_hatas_open_correction() -> None:
    # Hata's open-area correction at 1842.5 MHz: 4.78 * 3.26541^2 - 18.33 * 3.26541 + 40.94 = 32.05 dB below the
    # medium-city loss (a macro tower's line-of-sight reach over open ground or water: the 4G options' los_model)
    urban = cost231_hata_loss_db(5000.0, 1842.5, h_base_m=40.0, h_mobile_m=6.0, environment="urban")
    open_area = cost231_hata_loss_db(5000.0, 1842.5, h_base_m=40.0, h_mobile_m=6.0, environment="open")
    assert urban - open_area == pytest.approx(32.05, abs=0.01)


def test_p1411_site_general_reference() -> None:
    # ITU-R P.1411 site-general LoS: 10*2.12*log10(100) + 29.2 + 10*2.11*log10(2.4) = 79.6 dB
    assert p1411_site_general_loss_db(100.0, 2400.0) == pytest.approx(79.62, abs=0.01)
    nlos = p1411_site_general_loss_db(100.0, 2400.0, environment="nlos_residential")
    assert nlos == pytest.approx(10 * 3.01 * 2 + 18.8 + 10 * 2.07 * math.log10(2.4))
    assert p1411_site_general_loss_db(200.0, 5800.0, environment="nlos_urban_high_rise") > nlos


def test_log_distance_defaults_to_free_space_at_d0() -> None:
    assert log_distance_loss_db(1.0, 2400.0, n=3.0) == pytest.approx(free_space_loss_db(1.0, 2400.0))
    assert log_distance_loss_db(100.0, 2400.0, n=3.0) == pytest.approx(free_space_loss_db(1.0, 2400.0) + 60.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: okumura_hata_loss_db(200.0, 900.0, h_base_m=30.0, h_mobile_m=1.5),  # closer than 1 km
        lambda: okumura_hata_loss_db(2000.0, 2400.0, h_base_m=30.0, h_mobile_m=1.5),  # above 1500 MHz
        lambda: cost231_hata_loss_db(2000.0, 900.0, h_base_m=30.0, h_mobile_m=1.5),
        lambda: p1411_site_general_loss_db(2000.0, 2400.0),  # beyond 660 m
        lambda: p1411_site_general_loss_db(100.0, 50_000.0, environment="nlos_urban_high_rise"),
        lambda: log_distance_loss_db(100.0, 2400.0, n=8.0),
    ],
)
def test_outside_validity_warns(call) -> None:
    with pytest.warns(RadioValidityWarning, match="validity range"):
        call()


def test_bad_inputs_raise() -> None:
    with pytest.raises(PlanningError, match="positive"):
        free_space_loss_db(0.0, 2400.0)
    with pytest.raises(PlanningError, match="environment"):
        p1411_site_general_loss_db(100.0, 2400.0, environment="rural")


# --- link budget ---------------------------------------------------------------------------------------------

PROFILE = {
    "name": "outdoor AP 2.4 GHz",
    "freq_mhz": 2437.0,
    "tx_power_dbm": 20.0,
    "antenna_gain_dbi": 8.0,
    "client_eirp_dbm": 15.0,
    "client_gain_dbi": 0.0,
    "rx_sensitivity_dbm": -82.0,
    "client_rx_sensitivity_dbm": -80.0,
    "fade_margin_db": 10.0,
    "height_m": 12.0,
    "client_height_m": 1.5,
    "model": "free_space",
    "price_vnd": 25_000_000,
}


def test_link_budget_both_ways_and_reach() -> None:
    profile = APProfile.from_mapping(PROFILE)
    budget = link_budget(profile)
    # downlink: 28 dBm EIRP + 0 - (-80) - 10 = 98 dB; uplink: 15 + 8 - (-82) - 10 = 95 dB: the uplink limits
    assert budget.downlink_allowed_loss_db == pytest.approx(98.0)
    assert budget.uplink_allowed_loss_db == pytest.approx(95.0)
    assert budget.limiting == "uplink"
    expected = 1000.0 * 10 ** ((95.0 - 32.44 - 20 * math.log10(2437.0)) / 20)  # free-space closed form
    assert budget.reach_m == pytest.approx(expected, rel=1e-6)
    assert reach_m(profile) == pytest.approx(expected, rel=1e-6)
    assert "uplink" in budget.explain() and "95.0 dB" in budget.explain()


def test_eirp_may_be_given_instead_of_tx_power() -> None:
    data = dict(PROFILE, eirp_dbm=28.0)
    del data["tx_power_dbm"]
    assert APProfile.from_mapping(data).ap_eirp_dbm == 28.0


def test_reach_shrinks_with_harsher_model() -> None:
    profile = APProfile.from_mapping(PROFILE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RadioValidityWarning)
        reaches = [reach_m(profile, model=m) for m in ("free_space", "p1411_los", "p1411_nlos_urban_high_rise")]
    assert reaches[0] > reaches[1] > reaches[2] > 0


def test_reach_outside_model_range_warns() -> None:
    profile = APProfile.from_mapping(dict(PROFILE, model="p1411_nlos_residential"))
    with pytest.warns(RadioValidityWarning):
        reach_m(profile)


def test_profile_errors_name_the_key() -> None:
    with pytest.raises(CatalogError, match="did you mean 'freq_mhz'"):
        APProfile.from_mapping(dict(PROFILE, freq_mhzz=2400.0))
    data = dict(PROFILE)
    del data["height_m"]
    with pytest.raises(CatalogError, match="missing key 'height_m'"):
        APProfile.from_mapping(data)
    with pytest.raises(CatalogError, match="exactly one of tx_power_dbm and eirp_dbm"):
        APProfile.from_mapping(dict(PROFILE, eirp_dbm=30.0))
    with pytest.raises(CatalogError, match="unknown propagation model"):
        APProfile.from_mapping(dict(PROFILE, model="hata"))
    # the line-of-sight model is checked the same way, and a value that is not a name (a YAML list) is named too
    with pytest.raises(CatalogError) as err:
        APProfile.from_mapping(dict(PROFILE, los_model="p1411_lso"))
    (problem,) = [p for p in err.value.problems if p.column == "los_model"]
    assert "did you mean 'p1411_los'" in problem.hint and "mô hình truyền sóng" in problem.message
    with pytest.raises(CatalogError) as err:
        APProfile.from_mapping(dict(PROFILE, model=["free_space"]))
    assert [p.column for p in err.value.problems] == ["model"] and "free_space" in err.value.problems[0].hint


# --- point to point ------------------------------------------------------------------------------------------


def test_point_to_point_without_raster() -> None:
    a, b = (500_000.0, 1_120_000.0), (510_000.0, 1_120_000.0)
    result = point_to_point(a, b, f_mhz=5800.0, h_a_m=30.0, h_b_m=30.0)
    assert result.distance_m == pytest.approx(10_000.0)
    assert result.free_space_loss_db == pytest.approx(32.44 + 20 + 20 * math.log10(5800), abs=1e-6)
    assert result.fresnel_radius_m == pytest.approx(8.66 * math.sqrt(10 / 5.8), rel=1e-3)  # 11.4 m
    # over flat sea the worst point is mid-link, under the earth bulge d^2 / (8 k R) = 1.47 m
    assert result.min_clearance_m == pytest.approx(30.0 - 1e8 / (8 * 4 / 3 * 6_371_000), abs=0.01)
    assert result.worst_at_m == pytest.approx(5000.0, abs=100.0)
    assert result.line_of_sight is None
    assert result.fresnel_clear


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """rasterio's from_origin without its `*` of Affine objects (pending deprecation in affine 3.0)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def _write_raster(path, heights: np.ndarray, *, crs: str | None, transform) -> str:
    # rasterio 1.4 still multiplies Affine objects with `*`, which affine 3.0 flags as pending deprecation
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        _write(path, heights, crs=crs, transform=transform)
    return str(path)


def _write(path, heights: np.ndarray, *, crs: str | None, transform) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=heights.shape[0],
        width=heights.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
    ) as dst:
        dst.write(heights.astype("float32"), 1)


A, B = (500_100.0, 1_120_500.0), (504_900.0, 1_120_500.0)  # a 4.8 km link in EPSG:32648


def _utm_raster(tmp_path, ridge_m: float) -> str:
    heights = np.full((10, 50), 5.0)  # 100 m pixels over 500,000..505,000 x 1,120,000..1,121,000
    heights[:, 24:26] = ridge_m
    return _write_raster(
        tmp_path / "dem.tif", heights, crs="EPSG:32648", transform=from_origin(500_000, 1_121_000, 100, 100)
    )


def test_ridge_blocks_line_of_sight(tmp_path) -> None:
    result = point_to_point(A, B, f_mhz=5800.0, h_a_m=20.0, h_b_m=20.0, elevation=_utm_raster(tmp_path, 60.0))
    assert result.line_of_sight is False
    assert result.min_clearance_m < 0
    assert 2300.0 < result.worst_at_m < 2600.0


def test_flat_ground_clears(tmp_path) -> None:
    with rasterio.open(_utm_raster(tmp_path, 5.0)) as dataset:  # an open dataset works too
        result = point_to_point(A, B, f_mhz=5800.0, h_a_m=20.0, h_b_m=20.0, elevation=dataset)
    assert result.line_of_sight is True
    assert result.fresnel_clear
    assert result.min_clearance_m == pytest.approx(20.0 - 4800.0**2 / (8 * 4 / 3 * 6_371_000), abs=0.01)


def test_raster_in_another_crs_is_reprojected(tmp_path) -> None:
    # the same ridge in a geographic raster (EPSG:4326) around lon 105.0, lat 10.13
    from pyproj import Transformer

    to_geo = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    (lon_a, lat_a), (lon_b, _) = to_geo.transform(*A), to_geo.transform(*B)
    lon0, lat0, step = lon_a - 0.005, lat_a + 0.005, 0.0005
    n_cols = int((lon_b - lon0 + 0.005) / step) + 1
    lons = lon0 + (np.arange(n_cols) + 0.5) * step
    mid_lon = to_geo.transform(502_500.0, 1_120_500.0)[0]
    heights = np.full((20, n_cols), 5.0)
    heights[:, np.abs(lons - mid_lon) < 0.001] = 60.0
    path = _write_raster(
        tmp_path / "dem4326.tif", heights, crs="EPSG:4326", transform=from_origin(lon0, lat0, step, step)
    )
    result = point_to_point(A, B, f_mhz=5800.0, h_a_m=20.0, h_b_m=20.0, elevation=path)
    assert result.line_of_sight is False
    assert result.worst_at_m == pytest.approx(2400.0, abs=150.0)


def test_raster_without_crs_is_a_clear_error(tmp_path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio warns about the missing georeference when writing
        path = _write_raster(
            tmp_path / "nocrs.tif", np.zeros((10, 50)), crs=None, transform=from_origin(500_000, 1_121_000, 100, 100)
        )
    with pytest.raises(CRSError, match="has no CRS"):
        point_to_point(A, B, f_mhz=5800.0, h_a_m=20.0, h_b_m=20.0, elevation=path)


def test_link_outside_raster_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(PlanningError, match="outside elevation raster"):
        point_to_point(
            A, (520_000.0, 1_120_500.0), f_mhz=5800.0, h_a_m=20.0, h_b_m=20.0, elevation=_utm_raster(tmp_path, 5.0)
        )


def _ramp_raster(tmp_path) -> str:
    """A 10 % slope rising east, 30 m pixels (heights at pixel centres) over 1.8 km x 300 m."""
    res, n = 30.0, 60
    heights = np.tile(0.1 * (np.arange(n) + 0.5) * res, (10, 1))
    return _write_raster(
        tmp_path / "ramp.tif", heights, crs="EPSG:32648", transform=from_origin(500_000, 1_120_300, res, res)
    )


def test_client_down_a_uniform_slope_sees_the_ap(tmp_path) -> None:
    # nearest-pixel ground made the next pixel uphill (3 m higher) block 8 of these 30 clients
    dem = _ramp_raster(tmp_path)
    ap = (501_500.0, 1_120_150.0)
    for offset in np.linspace(0.0, 29.0, 30):
        client = (501_200.0 + offset, 1_120_150.0)
        link = point_to_point(ap, client, f_mhz=2437.0, h_a_m=15.0, h_b_m=1.5, elevation=dem)
        assert link.line_of_sight, f"client at +{offset} m blocked"


def test_line_of_sight_of_many_links_matches_point_to_point(tmp_path) -> None:
    rng = np.random.default_rng(3)
    heights = rng.uniform(0.0, 40.0, size=(10, 50))
    dem = _write_raster(
        tmp_path / "rough.tif", heights, crs="EPSG:32648", transform=from_origin(500_000, 1_121_000, 100, 100)
    )
    a = np.c_[rng.uniform(500_000, 505_000, 60), rng.uniform(1_120_000, 1_121_000, 60)]
    b = np.c_[rng.uniform(500_000, 505_000, 60), rng.uniform(1_120_000, 1_121_000, 60)]
    h_a = rng.uniform(5.0, 60.0, 60)
    result = line_of_sight(a, b, h_a_m=h_a, h_b_m=2.0, elevation=dem, max_samples=1_000)  # many small chunks
    expected = [
        point_to_point(tuple(a[i]), tuple(b[i]), f_mhz=5800.0, h_a_m=h_a[i], h_b_m=2.0, elevation=dem).line_of_sight
        for i in range(60)
    ]
    assert result.checked.all()
    assert result.clear.tolist() == expected
    assert 0 < sum(expected) < 60  # both outcomes occur


def test_line_of_sight_reports_links_off_the_raster_instead_of_failing(tmp_path) -> None:
    dem = _utm_raster(tmp_path, 5.0)
    out = line_of_sight([A, A, A], [B, (520_000.0, 1_120_500.0), A], h_a_m=20.0, h_b_m=20.0, elevation=dem)
    assert out.checked.tolist() == [True, False, True]
    assert out.clear.tolist() == [True, False, True]  # a zero-length link is clear
    with pytest.raises(PlanningError, match="does not exist"):
        line_of_sight([A], [B], h_a_m=20.0, h_b_m=20.0, elevation=str(tmp_path / "missing.tif"))
    (tmp_path / "not_a_raster.tif").write_text("hello")
    with pytest.raises(PlanningError, match="cannot be read"):
        line_of_sight([A], [B], h_a_m=20.0, h_b_m=20.0, elevation=str(tmp_path / "not_a_raster.tif"))


def test_clearance_counts_the_fresnel_zone_the_bulge_and_the_clutter(tmp_path) -> None:
    """A 2 km hop over flat ground, 15 m masts, 5.6 GHz, 10 m clutter: the least margin is at mid-path,
    15 - bulge (1000 * 1000 / (2 * 4/3 * 6,371 km) = 0.059 m) - 10 - 0.6 * sqrt(lambda * 1000 * 1000 / 2000) with
    lambda = c / 5.6 GHz (0.6 * 5.174 = 3.104 m) = 1.837 m; 12 m of clutter blocks it."""
    from gisplan.wifi.radio import line_of_sight, radio_horizon_m

    path = str(tmp_path / "flat.tif")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=300, height=10, count=1, dtype="float32", crs="EPSG:32648",
            transform=Affine(10.0, 0.0, 399_500.0, 0.0, -10.0, 1_100_050.0),
        ) as dst:  # fmt: skip
            dst.write(np.zeros((10, 300), dtype="float32"), 1)
    a, b = [[400_000.0, 1_100_000.0]], [[402_000.0, 1_100_000.0]]
    lam = 299_792_458.0 / 5.6e9
    expected = 15.0 - 1e6 / (2 * 4 / 3 * 6_371_000.0) - 10.0 - 0.6 * math.sqrt(lam * 1e6 / 2000.0)
    los = line_of_sight(a, b, h_a_m=15.0, h_b_m=15.0, elevation=path, f_mhz=5600.0, clutter_m=10.0)
    assert los.clear[0] and los.clearance_m[0] == pytest.approx(expected, abs=2e-3)
    assert not line_of_sight(a, b, h_a_m=15.0, h_b_m=15.0, elevation=path, f_mhz=5600.0, clutter_m=12.0).clear[0]
    bare = line_of_sight(a, b, h_a_m=15.0, h_b_m=15.0, elevation=path)  # no Fresnel zone, no clutter
    assert bare.clearance_m[0] == pytest.approx(15.0 - 1e6 / (2 * 4 / 3 * 6_371_000.0), abs=2e-3)
    # radio horizon, k = 4/3: 4.12 km x (sqrt 15 + sqrt 72) for a 15 m mast and Thổ Châu's 72 m tower
    assert radio_horizon_m(15.0, 72.0) / 1000 == pytest.approx(4.1224 * (math.sqrt(15) + math.sqrt(72)), rel=1e-3)
