"""Demand where people are: households spread in settlements, institutions, and capacity per AP."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from gisplan.catalog._catalog import load_catalog
from gisplan.wifi.households import households_in_settlements, settlement_radius_m
from gisplan.wifi.planner import WifiParams, plan_wifi
from gisplan.wifi.radio import HE_MCS_20MHZ_1SS, APProfile, downlink_rate_mbps, reach_m

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0


def _settlements() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"settlement_id": ["S1", "S2"], "population": [403, 10], "households": [100, 3]},
        geometry=[Point(X0, Y0), Point(X0 + 5_000, Y0)],
        crs=CRS,
    )


def test_households_add_up_lie_inside_their_settlement_area_and_are_labelled() -> None:
    homes = households_in_settlements(_settlements(), plot_m2=400.0, demand_mbps=2.0)
    per = homes.groupby("settlement_id")
    assert per.size().to_dict() == {"S1": 100, "S2": 3}
    assert per["people"].sum().round(9).to_dict() == {"S1": 403.0, "S2": 10.0}
    r1 = math.sqrt(100 * 400.0 / math.pi)  # 112.8 m: 100 plots of 400 m2
    assert settlement_radius_m(np.array([100]), 400.0)[0] == pytest.approx(r1)
    d = homes[homes["settlement_id"] == "S1"].distance(Point(X0, Y0))
    assert d.max() <= r1 + 1e-6 and d.mean() > r1 / 2  # spread, not piled on the point (uniform disc: 2r/3)
    assert set(homes["source"]) == {"generated"} and homes["indoor"].all() and (homes["demand_mbps"] == 2.0).all()
    again = households_in_settlements(_settlements(), plot_m2=400.0, demand_mbps=2.0)
    assert homes.geometry.equals(again.geometry)  # seeded
    other = households_in_settlements(_settlements(), plot_m2=400.0, demand_mbps=2.0, seed=1)
    assert not homes.geometry.equals(other.geometry)


def test_households_stay_on_land_and_use_buildings_when_given() -> None:
    land = gpd.GeoDataFrame(geometry=[box(X0 - 500, Y0 - 500, X0, Y0 + 500)], crs=CRS)  # the coast runs at x = X0
    homes = households_in_settlements(_settlements().iloc[[0]], plot_m2=400.0, demand_mbps=2.0, land=land)
    assert (homes.geometry.x <= X0).all() and len(homes) == 100
    buildings = gpd.GeoDataFrame(geometry=[Point(X0 + 10 * k, Y0).buffer(3) for k in range(150)], crs=CRS)
    homes = households_in_settlements(_settlements().iloc[[0]], plot_m2=400.0, demand_mbps=2.0, buildings=buildings)
    # the 12 buildings inside the 112.8 m settlement area (x = 0, 10, ..., 110) hold one household each (no
    # households column): the other 88 of the settlement's 100 households are generated, never dropped
    assert len(homes) == 100
    assert (homes["source"] == "buildings").sum() == 12 and (homes["source"] == "generated").sum() == 88
    assert homes["people"].sum() == pytest.approx(403.0)


def test_a_building_stands_for_its_households_and_belongs_to_its_settlement() -> None:
    """A building holding 3 households is 3 demand points; buildings naming a settlement serve it wherever they are
    (the demo's buildings carry settlement_id), nearest first."""
    sett = _settlements().iloc[[0]]  # 100 households, 403 people
    far = [Point(X0 + 5_000 + 10 * k, Y0) for k in range(40)]  # outside the settlement's disc, but named for it
    buildings = gpd.GeoDataFrame(
        {"households": [3] * 40, "settlement_id": [str(sett["settlement_id"].iloc[0])] * 40}, geometry=far, crs=CRS
    )
    homes = households_in_settlements(sett, plot_m2=400.0, demand_mbps=2.0, buildings=buildings)
    assert len(homes) == 100 and set(homes["source"]) == {"buildings"}  # 40 x 3 = 120 >= 100: the nearest 34
    assert homes.geometry.x.max() <= X0 + 5_000 + 10 * 33 + 1e-6
    assert homes["demand_mbps"].sum() == pytest.approx(200.0) and homes["people"].sum() == pytest.approx(403.0)


def _profile(**kw) -> APProfile:
    base = dict(name="p", freq_mhz=2437.0, eirp_dbm=20.0, antenna_gain_dbi=8.0, client_eirp_dbm=18.0,
                rx_sensitivity_dbm=-82.0, client_rx_sensitivity_dbm=-82.0, height_m=15.0, model="p1411_los",
                building_entry_loss_db=12.0, mac_efficiency=0.6)  # fmt: skip
    return APProfile(**{**base, **kw})


def _rate_by_hand(d_m: float, indoor: bool) -> float:
    # ITU-R P.1411 LOS: 10 * 2.12 log10(d) + 29.2 + 10 * 2.11 log10(f GHz); EIRP 20 dBm, fade margin 10 dB
    loss = 21.2 * math.log10(d_m) + 29.2 + 21.1 * math.log10(2.437) + (12.0 if indoor else 0.0)
    usable = 20.0 - loss - 10.0
    cleared = [rate for sens, rate in HE_MCS_20MHZ_1SS if usable >= sens]
    return 0.6 * cleared[-1] if cleared else 0.0


@pytest.mark.parametrize("d_m", [20.0, 80.0, 150.0, 300.0, 600.0])
def test_rate_follows_the_link_budget_and_the_mcs_table(d_m: float) -> None:
    p = _profile()
    assert downlink_rate_mbps(p, [d_m])[0] == pytest.approx(_rate_by_hand(d_m, False))
    assert downlink_rate_mbps(p, [d_m], indoor=[True])[0] == pytest.approx(_rate_by_hand(d_m, True))


def test_indoor_reach_is_shorter_by_the_building_entry_loss() -> None:
    p = _profile()
    out, inside = reach_m(p), reach_m(p, extra_loss_db=12.0)
    # P.1411 LOS slope 21.2 dB per decade: 12 dB shortens the reach by 10 ** (12 / 21.2)
    assert out / inside == pytest.approx(10 ** (12.0 / 21.2), rel=1e-6)
    assert downlink_rate_mbps(p, [inside * 0.999], indoor=[True])[0] > 0
    assert downlink_rate_mbps(p, [inside * 1.01], indoor=[True])[0] == 0


@pytest.mark.parametrize(("households", "mbps"), [(40, 2.0), (10, 2.0), (40, 0.5)])
def test_an_ap_serves_the_households_its_airtime_allows(households: int, mbps: float) -> None:
    """One site 60 m from a settlement point of N households (indoor, 2.4 GHz line of sight): each household
    takes demand / rate of an AP's airtime; up to 3 APs (channels) at the site: served = min(N, 3 * floor(rate /
    demand))."""
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Ấp"], "commune_code": ["C1"], "population": [households * 4],
         "households": [households]},
        geometry=[Point(X0 + 60, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "A"], "kind": ["exchange", "community"], "name": ["Exchange", "Nhà văn hoá"],
         "has_fibre": [True, False], "height_m": [30.0, 20.0], "has_power": [True, True]},
        geometry=[Point(X0, Y0 + 2_000), Point(X0, Y0)], crs=CRS,
    )  # fmt: skip
    cat = load_catalog(
        overrides={"backhaul": {"demand_household_mbps": mbps},
                   "ap_profiles": {"outdoor_2g4": {"model": "p1411_los"}}}
    )  # fmt: skip
    plan = plan_wifi(
        {"settlements": settlements, "sites": sites},
        WifiParams(cover_all=True, profiles=("outdoor_2g4",), spread_households=False),
        catalog=cat,
    )
    rate = _rate_by_hand(60.0, True)
    expected = min(households, 3 * math.floor(rate / mbps))
    assert plan.kpis["households_served"] == expected
    assert plan.kpis["people_newly_covered"] == expected * 4
    assert plan.kpis["people_in_footprint"] == households * 4
    assert plan.kpis["mbps_delivered"] == pytest.approx(expected * mbps)
    aps = plan.boq.loc[plan.boq["item_code"] == "AP.OUT2G4", "quantity"].sum()
    assert aps == min(3, math.ceil(households / math.floor(rate / mbps)))
    village = plan.layers["settlements_unserved"].iloc[0]
    assert village["people_covered"] == expected * 4 and village["mbps_delivered"] == pytest.approx(expected * mbps)
