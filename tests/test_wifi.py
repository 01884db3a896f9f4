"""The wifi planner on tiny hand-built layers, and on the Phú Quốc demo's under-served areas."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gisplan._errors import PlanningError
from gisplan.catalog._catalog import load_catalog
from gisplan.wifi.planner import WifiParams, plan_wifi

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0
#: The hand-built tests check costing and selection with every household on its settlement point, line-of-sight
#: reach (378 m at 2.4 GHz) and demand too small to fill an AP (capacity and reach have their own tests).
_POINT = {"spread_households": False}


def _light_catalog():
    small = {k: 0.001 for k in ("demand_household_mbps", "demand_school_mbps", "demand_health_mbps",
                                "demand_commune_hq_mbps")}  # fmt: skip
    line_of_sight = {"model": "p1411_los", "building_entry_loss_db": 0.0}  # the reach these layouts were drawn for
    return load_catalog(
        overrides={"backhaul": small, "ap_profiles": {"outdoor_2g4": line_of_sight, "sector_5g": line_of_sight}}
    )


def _layers(*, hq_fibre: bool = True, power: bool = True, coverage_everywhere: bool = False) -> dict:
    """Three hamlets 3 km apart, a school next to each, an exchange with fibre 5 km away, a commune HQ."""
    settlements = gpd.GeoDataFrame(
        {
            "settlement_id": ["S1", "S2", "S3"],
            "name": ["Ấp 1", "Ấp 2", "Ấp 3"],
            "commune_code": ["C1", "C1", "C1"],
            "population": [500, 300, 100],
            "households": [120, 70, 25],
            "kind": ["hamlet"] * 3,
            "on_island": [False] * 3,
        },
        geometry=[Point(X0 + 3_000 * k, Y0) for k in range(3)],
        crs=CRS,
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["EX", "HQ", "A", "B", "C"],
            "kind": ["exchange", "commune_hq", "community", "community", "community"],  # no institution demand
            "name": ["Exchange", "UBND xã", "School 1", "School 2", "School 3"],
            "has_fibre": [True, hq_fibre, False, False, False],
            "height_m": [30.0, 8.0, 6.0, 6.0, 20.0],
            "has_power": [True, True, True, True, power],
        },
        geometry=[
            Point(X0, Y0 + 5_000),
            Point(X0 + 1_000, Y0 + 5_000),
            Point(X0 + 50, Y0),
            Point(X0 + 3_050, Y0),
            Point(X0 + 6_050, Y0),
        ],
        crs=CRS,
    )
    where = box(X0 - 10_000, Y0 - 10_000, X0 + 20_000, Y0 + 10_000) if coverage_everywhere else box(0, 0, 1, 1)
    coverage = gpd.GeoDataFrame(
        {"technology": ["4G"], "operator": ["Viettel"], "quality": ["good"]}, geometry=[where], crs=CRS
    )
    return {"settlements": settlements, "sites": sites, "coverage": coverage}


def test_no_unserved_settlement_gives_an_empty_plan_with_an_explanation() -> None:
    plan = plan_wifi(_layers(coverage_everywhere=True), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert plan.kind == "wifi" and plan.total_vnd == 0 and plan.boq.empty
    assert plan.layers["sites"].empty and "site_id" in plan.layers["sites"].columns
    assert any("No unserved settlement" in m for m in plan.messages)
    assert any("Không có điểm dân cư" in m for m in plan.messages)


def test_cover_all_covers_everyone_with_costed_backhaul() -> None:
    plan = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    sites = plan.layers["sites"]
    assert sorted(sites["site_id"]) == ["A", "B", "C"]
    assert plan.kpis["people_newly_covered"] == 900 and plan.kpis["share_unserved_reached"] == 1.0
    assert set(sites["backhaul"]) == {"radio"}  # 5-7 km to the exchange, no road graph
    # by hand from the catalog: 3 APs (AP.OUT2G4, 15 M), 2 masts (schools A and B are 6 m high; MAST.15M, 20 M),
    # 3 radio links (PTP.5G, 60 M) = 265 M VND, plus 10 % contingency
    assert plan.total_vnd == plan.kpis["cost_vnd"] == 291_500_000
    assert plan.kpis["capex_vnd"] == 291_500_000
    # yearly opex by hand: grid power of one AP per site (20 W x 8,760 h = 175.2 kWh x 2,204 VND = 386,141 VND)
    # and 5 % maintenance of each site's capital (A, B: 15 + 20 + 60 M; C: 15 + 60 M), and IP transit at 254,000 VND
    # per Mbit/s and year on each radio site's busy-hour load (120, 70 and 25 households at 0.001 Mbit/s)
    transit = round(0.120 * 254_000) + round(0.070 * 254_000) + round(0.025 * 254_000)
    assert plan.kpis["opex_vnd_per_year"] == 3 * 386_141 + round(0.05 * 95e6) * 2 + round(0.05 * 75e6) + transit
    lines = plan.layers["opex_lines"]
    assert sorted(set(lines["year"])) == list(range(2027, 2037)) and "SAT.FEE" not in set(plan.boq["item_code"])
    unserved = plan.layers["settlements_unserved"]
    assert dict(zip(unserved["settlement_id"], unserved["covered_by"], strict=True)) == {
        "S1": "A",
        "S2": "B",
        "S3": "C",
    }
    options = plan.layers["backhaul_options"]
    assert options["chosen"].sum() == len(options["site_id"].unique())
    assert {"PTP.5G", "AP.OUT2G4", "MAST.15M", "CONTINGENCY"} <= set(plan.boq["item_code"])
    # school C is 20 m high: no mast
    masts = plan.boq.loc[plan.boq["item_code"] == "MAST.15M", "quantity"].sum()
    assert masts == 2


def test_budget_is_respected_and_covers_the_most_people() -> None:
    full = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    one_site = int(full.layers["sites"]["cost_vnd"].max())
    budget = round(one_site * 1.1) + 1_000  # the budget covers the BOQ total, 10 % contingency included
    plan = plan_wifi(_layers(), WifiParams(**_POINT, budget_vnd=budget), catalog=_light_catalog())
    assert list(plan.layers["sites"]["site_id"]) == ["A"]  # the 500-people hamlet
    assert plan.kpis["selection_cost_vnd"] <= one_site and plan.total_vnd <= budget
    assert plan.kpis["people_newly_covered"] == 500
    assert plan.kpis["selection_status"] == "optimal"


def test_budget_below_any_site_names_the_cheapest() -> None:
    with pytest.raises(PlanningError, match=r"cheapest useful site: .* costs .* VND including its radio backhaul"):
        plan_wifi(_layers(), WifiParams(**_POINT, budget_vnd=1_000_000), catalog=_light_catalog())


def test_candidate_without_power_gets_solar_or_is_excluded() -> None:
    plan = plan_wifi(_layers(power=False), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert any("no mains power" in m and "C" in m for m in plan.messages)
    assert plan.boq.loc[plan.boq["item_code"] == "POWER.SOLAR", "quantity"].sum() == 1
    strict = plan_wifi(
        _layers(power=False), WifiParams(**_POINT, cover_all=True, require_power=True), catalog=_light_catalog()
    )
    assert any("excluded (require_power): C" in m for m in strict.messages)
    assert "C" not in set(strict.layers["sites"]["site_id"])
    assert strict.kpis["people_newly_covered"] == 800  # S3 has no other candidate


def test_commune_hq_without_fibre_is_forced_in() -> None:
    full = plan_wifi(_layers(hq_fibre=False), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert "HQ" in set(full.layers["sites"]["site_id"])
    assert full.kpis["communes_hq_forced"] == "HQ"
    assert any("People's Committee" in m for m in full.messages)
    off = plan_wifi(
        _layers(hq_fibre=False),
        WifiParams(**_POINT, cover_all=True, connect_all_commune_hq=False),
        catalog=_light_catalog(),
    )
    assert "HQ" not in set(off.layers["sites"]["site_id"])
    with pytest.raises(PlanningError, match="commune People's Committees"):
        plan_wifi(_layers(hq_fibre=False), WifiParams(**_POINT, budget_vnd=10_000_000), catalog=_light_catalog())


def test_params_checked() -> None:
    with pytest.raises(PlanningError, match="budget_vnd"):
        WifiParams(**_POINT)
    with pytest.raises(PlanningError, match="weight"):
        WifiParams(**_POINT, cover_all=True, weight="people")
    with pytest.raises(PlanningError, match="unknown AP profile"):
        plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True, profiles=("nope",)))


def test_deterministic() -> None:
    a = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    b = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert a.boq.equals(b.boq) and a.kpis == b.kpis


@pytest.mark.slow
def test_demo_focus_villages_get_sites_and_islands_get_backhaul() -> None:
    from gisplan.demo.data import demo_gpkg_path, demo_wifi_focus
    from gisplan.io.layers import read_layers

    layers = read_layers(demo_gpkg_path())
    focus = demo_wifi_focus()
    params = WifiParams(cover_all=True, generate_candidates=True, focus=gpd.GeoSeries(list(focus.values()), crs=4326))
    plan = plan_wifi(layers, params, catalog=load_catalog())
    sites = plan.layers["sites"].to_crs(4326)
    for name, area in focus.items():
        assert sites.within(area).any(), f"no wifi site in {name}"
    # demand is every household of the unserved villages (a building with h households is h of them): the
    # demo's buildings carry 2.5 households each on average, and counting buildings as households cut it to a third
    unserved = plan.layers["settlements_unserved"]
    assert plan.kpis["households_total"] == int(unserved["households"].sum())
    # the capacity stage adds APs in rounds and does not yet serve every household (issue 13 stays open): the
    # plan says so rather than claiming the demand is met, and what it serves fits the airtime it has
    assert 0.75 <= plan.kpis["share_unserved_reached"] <= 1.0
    assert plan.kpis["mbps_delivered"] <= plan.kpis["demand_mbps"]
    if plan.kpis["share_unserved_reached"] < 0.99:
        assert any("Capacity" in m and "not served" in m for m in plan.messages)
    links = plan.layers["backhaul_links"].set_index("site_id")
    on_tho_chau = sites[sites.within(focus["tho_chau"])]["site_id"]
    on_hon_thom = sites[sites.within(focus["hon_thom"])]["site_id"]
    tho_chau = links.loc[on_tho_chau, "backhaul"]
    assert set(tho_chau) <= {"satellite", "submarine", "radio_long", "relay", "radio", "microwave"}
    # the Viettel BTS's microwave (150 Mbit/s in the demo) is a gateway the island's sites relay through (how many
    # depends on the satellite and transit prices: one here, two in scenarios/remote_wifi.yaml with its raster)
    assert (links["peer_id"] == "T0018").sum() >= 1
    assert links.loc[links["peer_id"] == "T0018", "load_mbps"].sum() <= 150.0
    # the island's sites share gateways: fewer satellite terminals than sites, the others relay
    assert 1 <= (tho_chau == "satellite").sum() < len(tho_chau) and (tho_chau == "relay").any()
    assert set(links.loc[on_hon_thom, "backhaul"]) <= {"radio", "radio_long", "submarine", "relay"}
    # the BOQ total against the sites' own costs (computed apart from the BOQ) plus the catalog's contingency;
    # the BOQ rounds each line and each contingency line to whole VND
    share = load_catalog().param("contingency_share")
    expected = plan.layers["sites"]["capex_vnd"].sum() * (1 + share)
    assert abs(plan.total_vnd - expected) <= 2 * len(plan.boq)


def _ridge_raster(path: str, height: float) -> str:
    import warnings

    import numpy as np
    import rasterio
    from affine import Affine

    res, n = 20.0, 1_000
    west, north = X0 - 10_000, Y0 + 10_000
    z = np.zeros((n, n), dtype="float32")
    cols = slice(int((X0 + 180 - west) / res), int((X0 + 220 - west) / res))
    rows = slice(int((north - (Y0 + 500)) / res), int((north - (Y0 - 500)) / res))
    z[rows, cols] = height
    with warnings.catch_warnings():  # rasterio 1.4 multiplies Affine objects with `*` (pending deprecation)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z, 1)
    return path


@pytest.mark.parametrize(("ridge_m", "covered"), [(0.0, 1), (300.0, 0)])
def test_line_of_sight_over_elevation(tmp_path, ridge_m: float, covered: int) -> None:
    layers = _layers()
    layers["settlements"] = layers["settlements"].iloc[[0]].set_geometry([Point(X0 + 350, Y0)], crs=CRS)
    layers["sites"] = layers["sites"].iloc[[0, 1, 2]]
    dem = _ridge_raster(str(tmp_path / f"dem{int(ridge_m)}.tif"), ridge_m)
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True, elevation=dem), catalog=_light_catalog())
    assert len(plan.layers["sites"]) == covered
    assert plan.kpis["los_checked"] is True
    assert not any("Line of sight not checked" in m for m in plan.messages)
    if covered:
        fp = plan.layers["footprints"].geometry.iloc[0]
        assert fp.area > 0


def test_unserved_settlements_before_planning():
    """The demand the wifi page highlights before a run: settlements outside good 4G/5G coverage."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from gisplan.wifi.planner import unserved_settlements

    crs = "EPSG:32648"
    sets = gpd.GeoDataFrame(
        {"settlement_id": ["A", "B", "C"], "population": [100, 200, 300]},
        geometry=[Point(400000, 1130000), Point(405000, 1130000), Point(410000, 1130000)],
        crs=crs,
    )
    cov = gpd.GeoDataFrame(
        {"technology": ["4G", "4G"], "quality": ["good", "poor"]},
        geometry=[box(399000, 1129000, 401000, 1131000), box(404000, 1129000, 406000, 1131000)],
        crs=crs,
    )
    out = unserved_settlements({"settlements": sets, "coverage": cov})
    assert list(out["settlement_id"]) == ["B", "C"]
    assert list(unserved_settlements({"settlements": sets, "coverage": cov}, min_quality="poor")["settlement_id"]) == [
        "C"
    ]
    focus = gpd.GeoDataFrame(geometry=[box(409000, 1129000, 411000, 1131000)], crs=crs)
    assert list(unserved_settlements({"settlements": sets, "coverage": cov}, focus=focus)["settlement_id"]) == ["C"]


def _hill_raster(path: str) -> str:
    """10 m DEM over x0-1000..x0+1010, y0-1000..y0+5200: a 120 m hill between school A and hamlet S1, and a 300 m
    ridge across the paths from school D to both fibre sites.  Its east edge cuts D's footprint."""
    import warnings

    import numpy as np
    import rasterio
    from affine import Affine

    res, west, north = 10.0, X0 - 1_000, Y0 + 5_200
    width, height = int(2_010 / res), int(6_200 / res)
    xs = west + (np.arange(width) + 0.5) * res
    ys = north - (np.arange(height) + 0.5) * res
    gx, gy = np.meshgrid(xs, ys)
    z = 120.0 * np.exp(-((gx - (X0 + 200)) ** 2 + (gy - Y0) ** 2) / (2 * 40.0**2))
    z[(np.abs(gy - (Y0 + 2_500)) < 50) & (gx > X0 + 250) & (gx < X0 + 900)] = 300.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z.astype("float32"), 1)
    return path


def test_hill_between_site_and_village_end_to_end(tmp_path) -> None:
    """With a DEM: the school behind the hill does not cover the hamlet, the one in sight does; a ridge blocks its
    radio hop (satellite instead); footprints running off the raster are drawn and reported, not an error."""
    layers = _layers()
    layers["settlements"] = layers["settlements"].iloc[[0]].set_geometry([Point(X0 + 350, Y0)], crs=CRS)
    sites = layers["sites"].iloc[[0, 1, 2]]
    d = gpd.GeoDataFrame(
        {"site_id": ["D"], "kind": ["school"], "name": ["School D"], "has_fibre": [False], "height_m": [6.0],
         "has_power": [True]},
        geometry=[Point(X0 + 650, Y0)], crs=CRS,
    )  # fmt: skip
    layers["sites"] = gpd.GeoDataFrame(pd.concat([sites, d], ignore_index=True), crs=CRS)
    dem = _hill_raster(str(tmp_path / "hill.tif"))
    flat = plan_wifi(layers, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert set(flat.layers["sites"]["site_id"]) <= {"A", "D"}
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True, elevation=dem), catalog=_light_catalog())
    sites_out = plan.layers["sites"]
    assert list(sites_out["site_id"]) == ["D"]
    assert plan.kpis["people_newly_covered"] == 500 and plan.kpis["los_checked"] is True
    options = plan.layers["backhaul_options"]
    radio = options[(options["site_id"] == "D") & (options["option"] == "radio")].iloc[0]
    assert not radio["feasible"] and "no line of sight" in radio["reason"]
    assert sites_out["backhaul"].iloc[0] == "satellite"
    a_radio = options[(options["site_id"] == "A") & (options["option"] == "radio")].iloc[0]
    assert a_radio["feasible"] and "line of sight and 0.6 Fresnel zone clear" in a_radio["reason"]
    fp = plan.layers["footprints"].geometry.iloc[0]
    assert fp.area > 0 and fp.bounds[2] > X0 + 1_010  # drawn to full reach past the raster's edge
    assert any("off the elevation raster" in m for m in plan.messages)


@pytest.mark.parametrize("hq_fibre", [True, False])
def test_plan_total_with_contingency_never_exceeds_the_budget(hq_fibre: bool) -> None:
    """The budget is what the BOQ may total (contingency included), forced commune HQs included."""
    full = plan_wifi(_layers(hq_fibre=hq_fibre), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    reached = []
    for budget in range(80_000_000, full.total_vnd + 50_000_000, 23_000_000):
        try:
            plan = plan_wifi(
                _layers(hq_fibre=hq_fibre), WifiParams(**_POINT, budget_vnd=budget), catalog=_light_catalog()
            )
        except PlanningError as exc:
            assert "raise the budget" in str(exc) and "Ngân sách" in str(exc)
            continue
        assert plan.total_vnd <= budget, (budget, plan.total_vnd)
        reached.append(plan.kpis["people_newly_covered"])
    assert reached and reached == sorted(reached) and reached[-1] == 900
    with pytest.raises(PlanningError, match="above the budget"):
        plan_wifi(
            _layers(hq_fibre=hq_fibre),
            WifiParams(**_POINT, cover_all=True, budget_vnd=full.total_vnd - 1),
            catalog=_light_catalog(),
        )


def _boundaries() -> gpd.GeoDataFrame:
    """Two communes side by side: C1 holds every settlement and site of ``_layers``, C2 (empty) lies north."""
    return gpd.GeoDataFrame(
        {"unit_code": ["D1", "C1", "C2"], "name": ["Huyện", "Xã Một", "Xã Hai"], "level": ["district", "commune",
         "commune"], "parent_code": [None, "D1", "D1"]},
        geometry=[box(X0 - 10_000, Y0 - 10_000, X0 + 20_000, Y0 + 20_000), box(X0 - 10_000, Y0 - 10_000,
                  X0 + 20_000, Y0 + 10_000), box(X0 - 10_000, Y0 + 10_000, X0 + 20_000, Y0 + 20_000)],
        crs=CRS,
    )  # fmt: skip


def test_commune_hq_kpis_count_communes_not_sites() -> None:
    layers = _layers(hq_fibre=False)
    old_hq = gpd.GeoDataFrame(
        {"site_id": ["HQ-OLD"], "kind": ["commune_hq"], "name": ["UBND xã cũ"], "has_fibre": [True],
         "height_m": [8.0], "has_power": [True]},
        geometry=[Point(X0 + 2_000, Y0 + 5_000)], crs=CRS,
    )  # fmt: skip
    layers["sites"] = gpd.GeoDataFrame(pd.concat([layers["sites"], old_hq], ignore_index=True), crs=CRS)
    layers["boundaries"] = _boundaries()
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    k = plan.kpis
    # two HQ sites in commune C1 (one forced in, one with fibre), none in C2
    assert (k["communes_hq_connected"], k["communes_total"]) == (1, 2)
    assert k["communes_not_connected"] == "Xã Hai (C2)"
    assert k["communes_hq_connected_list"] == "HQ, HQ-OLD"
    # without the forced connection the HQ without fibre is not connected, whatever else happens
    off = plan_wifi(
        _layers(hq_fibre=False),
        WifiParams(**_POINT, cover_all=True, connect_all_commune_hq=False),
        catalog=_light_catalog(),
    )
    assert (off.kpis["communes_hq_connected"], off.kpis["communes_total"]) == (0, 1)  # no boundaries: per HQ site
    assert off.kpis["communes_not_connected"] == "HQ"
    no_power = _layers(hq_fibre=False)
    no_power["sites"] = no_power["sites"].assign(has_power=[True, False, True, True, True])
    strict = plan_wifi(no_power, WifiParams(**_POINT, cover_all=True, require_power=True), catalog=_light_catalog())
    assert strict.kpis["communes_hq_connected"] == 0
    assert any("UBND xã không có điện lưới" in m for m in strict.messages)


def test_selection_bound_and_demand_classes_cover_the_whole_plan() -> None:
    layers = _layers(hq_fibre=False)
    layers["settlements"] = layers["settlements"].assign(kind=["hamlet", "hamlet", "town"])
    layers["coverage"] = gpd.GeoDataFrame(
        {"technology": ["4G"], "operator": ["Viettel"], "quality": ["good"]},
        geometry=[box(X0 + 5_000, Y0 - 500, X0 + 7_000, Y0 + 500)],
        crs=CRS,
    )  # the town S3 is served
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    k = plan.kpis
    assert k["selection_status"] == "optimal" and k["selection_bound"] == k["selection_cost_vnd"]
    unserved = plan.layers["settlements_unserved"].set_index("settlement_id")
    assert list(unserved.index) == ["S1", "S2"]
    assert unserved["dist_town_m"].tolist() == [6_000.0, 3_000.0]  # to the served town S3
    budget = plan_wifi(
        layers, WifiParams(**_POINT, budget_vnd=plan.total_vnd + 1_000), catalog=_light_catalog()
    )  # + a reserve for the BOQ's rounding
    assert budget.kpis["selection_bound"] >= budget.kpis["people_newly_covered"] == 800


def test_budget_for_the_commune_hqs_only_gives_a_plan_that_says_so() -> None:
    plan = plan_wifi(_layers(hq_fibre=False), WifiParams(**_POINT, budget_vnd=110_000_000), catalog=_light_catalog())
    assert list(plan.layers["sites"]["site_id"]) == ["HQ"] and plan.total_vnd <= 110_000_000
    assert any("Only the commune People's Committees are connected" in m and "would add it" in m for m in plan.messages)
    assert plan.kpis["selection_status"] == "optimal" and plan.kpis["people_newly_covered"] == 0


def test_site_chosen_with_two_profiles_pays_mast_and_backhaul_once(tmp_path) -> None:
    """A 40 m AP sees over a hill to the west, a 15 m sector reaches further east: both at one site, one mast, one
    backhaul, two APs."""
    import warnings

    import numpy as np
    import rasterio
    from affine import Affine

    res, west, north = 10.0, X0 - 1_000, Y0 + 5_200
    width, height = 200, 620
    gx, gy = np.meshgrid(west + (np.arange(width) + 0.5) * res, north - (np.arange(height) + 0.5) * res)
    z = 14.0 * np.exp(-((gx - (X0 - 125)) ** 2 + (gy - Y0) ** 2) / (2 * 20.0**2))
    dem = str(tmp_path / "hill.tif")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            dem, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z.astype("float32"), 1)
    layers = _layers()
    layers["settlements"] = (
        layers["settlements"].iloc[[0, 1]].set_geometry([Point(X0 - 250, Y0), Point(X0 + 450, Y0)], crs=CRS)
    )
    layers["sites"] = (
        layers["sites"]
        .iloc[[0, 1, 2]]
        .set_geometry([Point(X0, Y0 + 5_000), Point(X0 + 1_000, Y0 + 5_000), Point(X0, Y0)], crs=CRS)
    )
    tall = {"item_code": "AP.OUT2G4", "freq_mhz": 2437, "eirp_dbm": 17.0, "antenna_gain_dbi": 8.0,
            "client_eirp_dbm": 18.0, "rx_sensitivity_dbm": -82.0, "client_rx_sensitivity_dbm": -82.0,
            "height_m": 40.0, "model": "p1411_los"}  # fmt: skip
    cat = _light_catalog().with_overrides(
        {"ap_profiles": {"tall_2g4": tall, "sector_5g": {"model": "p1411_los", "building_entry_loss_db": 0.0}}}
    )
    params = WifiParams(**_POINT, cover_all=True, elevation=dem, profiles=("sector_5g", "tall_2g4"))
    plan = plan_wifi(layers, params, catalog=cat)
    sites = plan.layers["sites"]
    assert list(sites["site_id"]) == ["A"] and sites["profile"].iloc[0] == "sector_5g + tall_2g4"
    assert plan.kpis["people_newly_covered"] == 800 and plan.kpis["n_sites"] == 1
    qty = plan.boq.groupby("item_code")["quantity"].sum()
    assert qty["AP.OUT5G"] == 1 and qty["AP.OUT2G4"] == 1 and qty["MAST.15M"] == 1 and qty["PTP.5G"] == 1
    assert sites["cost_vnd"].iloc[0] == sum(cat.price(c) for c in ("AP.OUT5G", "AP.OUT2G4", "MAST.15M", "PTP.5G"))
    assert sorted(plan.layers["footprints"]["profile"]) == ["sector_5g", "tall_2g4"]
    assert len(plan.layers["backhaul_links"]) == 1


def test_bad_inputs_are_explained() -> None:
    layers = _layers()
    layers["settlements"] = layers["settlements"].assign(population=[500, None, 0])
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    assert any("have no population (empty or 0) and are left out" in m and "S2, S3" in m for m in plan.messages)
    assert list(plan.layers["settlements_unserved"]["settlement_id"]) == ["S1"]
    layers["settlements"] = layers["settlements"].assign(households=None)
    with pytest.raises(PlanningError, match=r"none has a households above 0.*số hộ"):  # not "all covered"
        plan_wifi(layers, WifiParams(**_POINT, cover_all=True, weight="households"), catalog=_light_catalog())
    with pytest.raises(PlanningError, match="no 'households' column"):
        plan_wifi({**layers, "settlements": layers["settlements"].drop(columns="households")},
                  WifiParams(**_POINT, cover_all=True, weight="households"), catalog=_light_catalog())  # fmt: skip
    with pytest.raises(PlanningError, match="satellite_horizon_years"):
        WifiParams(**_POINT, cover_all=True, satellite_horizon_years=0)
    with pytest.raises(PlanningError, match="profiles is empty"):
        plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True, profiles=()))
    from gisplan._errors import CRSError

    drawn = gpd.GeoDataFrame({"site_id": ["X"]}, geometry=[Point(X0, Y0)])
    with pytest.raises(CRSError, match="extra_candidates have no CRS"):
        plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True, extra_candidates=drawn), catalog=_light_catalog())
    no_fibre_column = _layers()
    no_fibre_column["sites"] = no_fibre_column["sites"].drop(columns="has_fibre")
    assert (
        plan_wifi(no_fibre_column, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog()).kpis[
            "people_newly_covered"
        ]
        == 900
    )


def test_a_settlement_seen_by_two_chosen_sites_is_counted_once() -> None:
    """Hamlets 300 m apart, sites at the two ends (the middle one far away): both chosen sites reach S2, whose
    people count once, for one site; the per-site counts add up to the plan's figure (500 + 300 + 100 = 900)."""
    layers = _layers()
    layers["settlements"] = layers["settlements"].set_geometry([Point(X0 + 300 * k, Y0) for k in range(3)])
    sites = layers["sites"].copy()
    sites["geometry"] = sites["geometry"].astype(object)
    sites.loc[sites["site_id"] == "A", "geometry"] = Point(X0, Y0)
    sites.loc[sites["site_id"] == "B", "geometry"] = Point(X0 + 9_000, Y0)
    sites.loc[sites["site_id"] == "C", "geometry"] = Point(X0 + 600, Y0)
    layers["sites"] = gpd.GeoDataFrame(sites, geometry="geometry", crs=CRS)
    plan = plan_wifi(layers, WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    unserved = plan.layers["settlements_unserved"].set_index("settlement_id")
    chosen = plan.layers["sites"]
    assert sorted(chosen["site_id"]) == ["A", "C"]
    assert plan.kpis["people_newly_covered"] == 900
    assert chosen["people_covered"].sum() == 900
    per_site = unserved.groupby("covered_by")["population"].sum()
    assert dict(zip(chosen["site_id"], chosen["people_covered"], strict=True)) == {
        s: int(per_site.get(s, 0)) for s in chosen["site_id"]
    }


def test_life_cycle_cost_is_capital_plus_discounted_yearly_lines() -> None:
    """The LCC KPI against the plan's own yearly lines, discounted by hand (9 %, end of year, from 2027)."""
    plan = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=_light_catalog())
    lines = plan.layers["opex_lines"]
    per_year = lines.groupby("year")["amount_vnd"].sum()
    pv = sum(v / 1.09 ** (y - 2026) for y, v in per_year.items())
    assert plan.kpis["lcc_vnd"] == round(plan.total_vnd + pv)
    assert plan.kpis["opex_vnd"] == int(per_year.sum()) and len(per_year) == 10
    assert plan.kpis["lcc_per_person_vnd"] == round((plan.total_vnd + pv) / 900)


def _drawn() -> gpd.GeoDataFrame:
    """Three sites a planner drew: one at sea (8 km from every hamlet), one beside school A (no mains power: a
    solar kit makes it dearer than A), one 20 m high at hamlet S2 (no mast: cheaper than school B, 6 m high)."""
    return gpd.GeoDataFrame(
        {"site_id": ["D1", "D2", "D3"], "name": ["sea", "by A", "at S2"], "height_m": [None, None, 20.0],
         "has_power": [True, False, True]},
        geometry=[Point(X0 + 50, Y0 - 8_000), Point(X0 + 60, Y0), Point(X0 + 3_020, Y0)], crs=CRS,
    )  # fmt: skip


def test_every_drawn_site_is_said_used_or_not_and_why() -> None:
    cat = _light_catalog()
    plan = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True, extra_candidates=_drawn()), catalog=cat)
    drawn = plan.layers["drawn_sites"].set_index("site_id")
    assert sorted(drawn.index) == ["D1", "D2", "D3"]
    assert dict(drawn["decision"]) == {"D1": "no_demand", "D2": "served_elsewhere", "D3": "used"}
    assert list(drawn.index[drawn["used"]]) == ["D3"] and "D3" in set(plan.layers["sites"]["site_id"])
    # D3 serves hamlet S2 (300 people); its investment by hand: an AP (15 M) and a radio link (60 M), no mast
    assert drawn.loc["D3", "people_served"] == 300 and drawn.loc["D3", "cost_vnd"] == 75_000_000
    assert drawn.loc["D3", "reason_vi"] == "Được dùng: phục vụ 300 người; truyền dẫn: Vi ba; đầu tư 75.000.000 đ."
    assert drawn.loc["D3", "reason_en"] == "Used: serves 300 people; backhaul: Radio link; investment 75,000,000 VND."
    assert drawn.loc["D2", "served_by"] == "A" and drawn.loc["D2", "people_in_reach"] == 500
    assert "đã được điểm A phục vụ" in drawn.loc["D2", "reason_vi"]
    assert "already served by A" in drawn.loc["D2", "reason_en"]
    assert "không có hộ dân" in drawn.loc["D1", "reason_vi"] and "no household" in drawn.loc["D1", "reason_en"]


def test_a_drawn_site_beyond_the_budget_left_says_so_with_the_figures() -> None:
    cat = _light_catalog()
    full = plan_wifi(_layers(), WifiParams(**_POINT, cover_all=True), catalog=cat)
    budget = round(int(full.layers["sites"]["cost_vnd"].max()) * 1.1) + 1_000  # one site: A, for S1
    plan = plan_wifi(_layers(), WifiParams(**_POINT, budget_vnd=budget, extra_candidates=_drawn()), catalog=cat)
    d3 = plan.layers["drawn_sites"].set_index("site_id").loc["D3"]
    assert d3["decision"] == "budget" and not d3["used"]
    assert d3["budget_left_vnd"] == budget - plan.total_vnd
    # what it adds to the BOQ total: 75 M with 10 % contingency (plus the budget's small rounding reserve)
    assert 82_500_000 <= d3["cost_vnd"] <= 82_500_000 + 100 and d3["cost_vnd"] > d3["budget_left_vnd"]
    assert d3["people_served"] == 300  # the people within its reach nobody serves
    assert "hết ngân sách" in d3["reason_vi"] and "82.500.0" in d3["reason_vi"] and "300 người" in d3["reason_vi"]
    assert "budget exhausted" in d3["reason_en"] and "82,500,0" in d3["reason_en"]
    strict = plan_wifi(
        _layers(), WifiParams(**_POINT, cover_all=True, require_power=True, extra_candidates=_drawn()), catalog=cat
    )
    d2 = strict.layers["drawn_sites"].set_index("site_id").loc["D2"]
    assert d2["decision"] == "no_power" and "không có điện lưới" in d2["reason_vi"]


def test_drawn_sites_of_a_plan_with_nothing_to_build_say_so() -> None:
    plan = plan_wifi(
        _layers(coverage_everywhere=True), WifiParams(**_POINT, cover_all=True, extra_candidates=_drawn()),
        catalog=_light_catalog(),
    )  # fmt: skip
    drawn = plan.layers["drawn_sites"]
    assert set(drawn["decision"]) == {"nothing_to_plan"} and len(drawn) == 3 and not drawn["used"].any()
