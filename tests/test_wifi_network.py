"""The backhaul network of the chosen wifi sites: relays, a shared island gateway, capacity limits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gisplan.wifi.network import relay_forest

KW = dict(relay_max_m=2_000.0, ptp_max_m=15_000.0, relay_cost=8.0, ptp_cost=60.0, relay_capacity_mbps=100.0,
          ptp_capacity_mbps=300.0)  # fmt: skip


def _brute(xy, direct):
    """Least cost over every parent function without cycles (each tree pays one direct backhaul)."""
    n = len(xy)
    best = np.inf
    for parents in itertools.product(range(-1, n), repeat=n):
        if any(p == i for i, p in enumerate(parents)):
            continue
        ok, cost = True, 0.0
        for i in range(n):
            seen, j = set(), i
            while parents[j] != -1 and ok:
                if j in seen:
                    ok = False
                seen.add(j)
                j = parents[j]
            if not ok:
                break
            p = parents[i]
            if p == -1:
                cost += direct[i]
            else:
                d = float(np.hypot(*(xy[i] - xy[p])))
                if d > KW["ptp_max_m"]:
                    ok = False
                    break
                cost += KW["relay_cost"] if d <= KW["relay_max_m"] else KW["ptp_cost"]
        if ok:
            best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_relay_forest_is_the_least_cost_network_against_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    xy = rng.random((n, 2)) * rng.choice([3_000.0, 20_000.0, 40_000.0])
    direct = rng.choice([0.0, 15.0, 60.0, 265.0, 450.0], size=n)
    out = relay_forest(xy, direct_cost=direct, demand_mbps=np.zeros(n), direct_capacity_mbps=np.full(n, np.inf), **KW)
    assert out["cost"].sum() == pytest.approx(_brute(xy, direct))
    roots = out["root"].to_numpy()
    assert all(out["parent"].iloc[r] == -1 for r in roots)  # every tree hangs on a site with its own backhaul


def test_an_island_shares_one_satellite_terminal() -> None:
    """Five sites 0.9-3.8 km apart on an island, each alone on satellite (terminal and ten years of fees:
    265 M VND): one terminal, relays where under 2 km (8 M), 5 GHz hops beyond (60 M)."""
    xy = np.array([[0.0, 0.0], [900.0, 0.0], [900.0, 1_500.0], [4_700.0, 0.0], [4_700.0, 1_800.0]])
    out = relay_forest(xy, direct_cost=[265.0] * 5, demand_mbps=[5.0] * 5, direct_capacity_mbps=[100.0] * 5, **KW)
    assert (out["parent"] == -1).sum() == 1
    # one terminal; 0-1 (900 m) and 1-2 (1,500 m) relays; 3-4 (1,800 m) relay; 1-3 (3,800 m) a 5 GHz hop
    assert out["cost"].sum() == pytest.approx(265.0 + 8 + 8 + 8 + 60)
    assert out.loc[out["parent"] == -1, "load_mbps"].iloc[0] == pytest.approx(25.0)


def test_links_keep_within_their_capacity() -> None:
    """Three sites 1 km apart on satellite (100 Mbit/s a terminal), 60 Mbit/s each: one shared terminal would
    carry 180; the repair gives each tree at most 100 and every relay its subtree's demand."""
    xy = np.array([[0.0, 0.0], [1_000.0, 0.0], [2_000.0, 0.0]])
    out = relay_forest(xy, direct_cost=[265.0] * 3, demand_mbps=[60.0] * 3, direct_capacity_mbps=[100.0] * 3, **KW)
    assert (out["load_mbps"] <= out["capacity_mbps"] + 1e-9).all()
    assert (out["parent"] == -1).sum() == 3  # 120 > 100: no two sites can share a terminal
    loads = np.array([60.0, 60.0, 60.0])
    for i in range(3):  # the load of a link is its subtree's demand
        j = i
        while out["parent"].iloc[j] != -1:
            j = int(out["parent"].iloc[j])
            loads[j] += 60.0
    assert out["load_mbps"].tolist() == loads.tolist()


@pytest.mark.parametrize(("ridge_m", "b_backhaul"), [(0.0, "relay"), (3.0, "relay"), (300.0, "satellite")])
def test_relays_are_checked_over_the_terrain(tmp_path, ridge_m: float, b_backhaul: str) -> None:
    """Village B lies 1.5 km east of village A, whose site reaches the exchange 5 km west by radio. Over flat
    ground B relays through A (8 M VND instead of its own 60 M radio hop); a 300 m ridge between them blocks the
    relay (and B's own hop west), so B keeps a satellite terminal."""
    import warnings

    import geopandas as gpd
    import rasterio
    from affine import Affine
    from shapely.geometry import Point

    from gisplan.catalog._catalog import load_catalog
    from gisplan.wifi.planner import WifiParams, plan_wifi

    crs, x0, y0 = "EPSG:32648", 400_000.0, 1_100_000.0
    res, n = 20.0, 1_000
    west, north = x0 - 10_000, y0 + 10_000
    z = np.zeros((n, n), dtype="float32")
    z[
        int((north - (y0 + 500)) / res) : int((north - (y0 - 500)) / res),
        int((x0 + 700 - west) / res) : int((x0 + 760 - west) / res),
    ] = ridge_m
    dem = str(tmp_path / "ridge.tif")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            dem, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=crs,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z, 1)
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["SA", "SB"], "name": ["A", "B"], "commune_code": ["C1", "C1"], "population": [40, 40],
         "households": [10, 10]},
        geometry=[Point(x0 + 20, y0), Point(x0 + 1_520, y0)], crs=crs,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "A", "B"], "kind": ["exchange", "community", "community"], "name": ["EX", "A", "B"],
         "has_fibre": [True, False, False], "height_m": [30.0, 6.0, 6.0], "has_power": [True, True, True]},
        geometry=[Point(x0 - 5_000, y0), Point(x0, y0), Point(x0 + 1_500, y0)], crs=crs,
    )  # fmt: skip
    cat = load_catalog(overrides={"backhaul": {"demand_household_mbps": 0.01},
                                  "ap_profiles": {"outdoor_2g4": {"model": "p1411_los"}}})  # fmt: skip
    plan = plan_wifi(
        {"settlements": settlements, "sites": sites},
        WifiParams(cover_all=True, spread_households=False, profiles=("outdoor_2g4",), elevation=dem),
        catalog=cat,
    )
    links = plan.layers["backhaul_links"].set_index("site_id")
    assert links.loc["A", "backhaul"] == "radio" and links.loc["A", "los_checked"]
    assert links.loc["B", "backhaul"] == b_backhaul
    if b_backhaul == "relay":
        assert links.loc["B", "peer_id"] == "A" and links.loc["B", "los_checked"]
        assert links.loc["B", "clearance_m"] > 0
        # a 3 m ridge mid-way blocks 15 m antennas (10 m clutter + 2.7 m of 0.6 F1 over it): the relay adds the
        # cheapest mast that clears, 18 m at A, priced in full with the relay
        mast = {0.0: 15.0, 3.0: 18.0}[ridge_m]
        assert (links.loc["B", "mast_a_m"], links.loc["B", "mast_b_m"]) == (15.0, mast)
        extra = cat.price("MAST.18M") if mast == 18.0 else 0
        assert links.loc["B", "cost_vnd"] == cat.price("RELAY.5G") + extra
        assert plan.boq.loc[plan.boq["item_code"] == "MAST.18M", "quantity"].sum() == (1 if extra else 0)


def _star(n_leaves: int) -> np.ndarray:
    """A hub at the origin and ``n_leaves`` villages on a 1 km circle around it (each 1 km from the hub, farther
    from each other than the relay reach of 1.1 km when there are at most five: 1.18 km for five)."""
    angles = np.arange(n_leaves) * 2 * np.pi / n_leaves
    return np.vstack([[0.0, 0.0], np.c_[1000 * np.cos(angles), 1000 * np.sin(angles)]])


# 1.1 km: five leaves 1.18 km apart cannot chain (at 1.2 km they could, and the exact network does: 140 < 160)
SECTOR_KW = {**KW, "relay_max_m": 1_100.0, "ptp_max_m": 1_100.0}


def test_hub_over_its_sector_limit_adds_a_sector() -> None:
    """Five villages relay through one hub whose sectors take at most two links: three sectors, two added and
    priced; with no limit none is added."""
    xy = _star(5)
    common = dict(direct_cost=[100] + [200] * 5, demand_mbps=[5] * 6, direct_capacity_mbps=[1000] * 6, **SECTOR_KW)
    free = relay_forest(xy, **common)
    assert (free["parent"].iloc[1:] == 0).all() and free["sectors_added"].sum() == 0
    out = relay_forest(xy, **common, sector_max_links=2, sector_cost=10)
    assert (out["parent"].iloc[1:] == 0).all()
    assert out["sectors_added"].tolist() == [2, 0, 0, 0, 0, 0]
    assert out["sector_cost"].sum() == 20
    # by capacity: 5 x 30 Mbit/s through sectors of 100 Mbit/s needs two sectors (150 Mbit/s), one added
    out = relay_forest(xy, **{**common, "demand_mbps": [5] + [30] * 5}, sector_max_links=15,
                       sector_capacity_mbps=100, sector_cost=10)  # fmt: skip
    assert out["sectors_added"].tolist()[0] == 1


def test_a_dear_sector_sends_the_link_elsewhere() -> None:
    """When an added sector costs more than a village's own backhaul, the village goes direct instead."""
    xy = _star(3)
    common = dict(direct_cost=[10, 200, 200, 20], demand_mbps=[5] * 4, direct_capacity_mbps=[1000] * 4, **SECTOR_KW)
    out = relay_forest(xy, **common, sector_max_links=2, sector_cost=50)
    assert out["sectors_added"].sum() == 0
    # the village with the cheapest own backhaul (20) goes direct and the hub relays through it: 44 instead of
    # 10 + 3 relays + an added sector (74)
    assert out["parent"].tolist() == [3, 0, 0, -1]
    assert int(out["cost"].sum() + out["sector_cost"].sum()) == 20 + 8 + 8 + 8
    cheap = relay_forest(xy, **common, sector_max_links=2, sector_cost=5)
    assert cheap["parent"].tolist() == [-1, 0, 0, 0] and cheap["sectors_added"].tolist() == [1, 0, 0, 0]


def test_hub_sectors_count_links_and_load() -> None:
    from gisplan.wifi.network import hub_sectors

    assert hub_sectors([0, 1, 15, 16, 31], [0, 1, 1, 1, 1], max_links=15).tolist() == [0, 0, 0, 1, 2]
    assert hub_sectors([2, 2], [400, 400.5], max_links=15, capacity_mbps=400).tolist() == [0, 1]


def test_fibre_hub_over_its_sector_limit_adds_a_priced_sector() -> None:
    """Three radio hops into one fibre POP whose sectors take two links: the first hop's row carries one added
    PTMP.SECTOR (in its items and its cost); a hop to another hub and a satellite site add none."""
    import pandas as pd

    from gisplan.catalog._catalog import load_catalog
    from gisplan.wifi._select import _hub_sectors
    from gisplan.wifi.backhaul import backhaul_items

    cat = load_catalog(overrides={"backhaul": {"sector_max_links": 2}})
    bh = pd.DataFrame(
        {"site_id": ["A", "B", "C", "D", "E"], "option": ["radio", "radio", "radio", "radio", "satellite"],
         "peer_id": ["POP", "POP", "POP", "EX", None], "capex_vnd": [60_000_000] * 5, "cost_vnd": [60_000_000] * 5,
         "reason": [""] * 5, "length_m": [1000.0] * 5, "land_m": [0.0] * 5},
        index=["A", "B", "C", "D", "E"],
    )  # fmt: skip
    net = pd.DataFrame({"load_mbps": [10.0] * 5})
    out = _hub_sectors(bh, net, cat)
    assert out["hub_sectors"].tolist() == [1, 0, 0, 0, 0]
    price = cat.price("PTMP.SECTOR")
    assert out.loc["A", "cost_vnd"] == 60_000_000 + price
    assert ("PTMP.SECTOR", 1.0) in backhaul_items(out.loc["A"])
    assert "adds 1 sector(s) for 3 links" in out.loc["A", "reason"]
    wide = _hub_sectors(bh, net, load_catalog())
    assert wide["hub_sectors"].sum() == 0


def _island_plan(bts: dict, *, land: bool = True, household_mbps: float = 0.01, terminal_mbps: float | None = None):
    """A village on an island 100 km from the mainland's exchange (no radio, no fibre reach) and a BTS 1.5 km from
    it on the same island (out of the village AP's reach) with the ``bts`` columns."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    from gisplan.catalog._catalog import load_catalog
    from gisplan.wifi.planner import WifiParams, plan_wifi

    crs, x0, y0 = "EPSG:32648", 400_000.0, 1_100_000.0
    isle = (x0 + 100_000, y0)
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Ấp đảo"], "commune_code": ["C1"], "population": [40], "households": [10]},
        geometry=[Point(isle[0] + 20, isle[1])], crs=crs,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "V", "BTS"], "kind": ["exchange", "community", "tower"], "name": ["EX", "V", "BTS"],
         "has_fibre": [True, False, False], "height_m": [30.0, 6.0, 40.0], "has_power": [True, True, True],
         **{k: [None, None, v] for k, v in bts.items()}},
        geometry=[Point(x0, y0), Point(*isle), Point(isle[0] + 1_500, isle[1])], crs=crs,
    )  # fmt: skip
    layers = {"settlements": settlements, "sites": sites}
    if land:
        layers["land"] = gpd.GeoDataFrame(
            {"land_id": ["main", "isle"]},
            geometry=[box(x0 - 5_000, y0 - 5_000, x0 + 5_000, y0 + 5_000),
                      box(isle[0] - 2_000, isle[1] - 2_000, isle[0] + 2_000, isle[1] + 2_000)], crs=crs,
        )  # fmt: skip
    backhaul = {"demand_household_mbps": household_mbps}
    if terminal_mbps is not None:  # bonding for the load alone: no capacity included in the subscription
        backhaul["satellite_capacity_mbps"] = terminal_mbps
        backhaul["satellite_included_mbps"] = 0.0
    cat = load_catalog(overrides={"backhaul": backhaul,
                                  "ap_profiles": {"outdoor_2g4": {"model": "p1411_los"}}})  # fmt: skip
    params = WifiParams(cover_all=True, spread_households=False, profiles=("outdoor_2g4",), phase="2027")
    return plan_wifi(layers, params, catalog=cat)


def _fee_years(plan) -> list[int]:
    opex = plan.layers["opex_lines"]
    return sorted(opex.loc[opex["item_code"].isin(["SAT.FEE", "VSAT.FEE"]), "year"].astype(int).tolist())


def test_a_planned_cable_ends_the_islands_satellite_fees_from_its_year() -> None:
    """The village site's satellite terminal pays fees 2027-2036 without a cable; with a cable landing at the BTS
    in 2029 it pays 2027 and 2028 only, and the yearly opex drops from 2029."""
    before = _island_plan({})
    after = _island_plan({"fibre_year": 2029})
    link = after.layers["backhaul_links"].set_index("site_id").loc["V"]
    assert link["backhaul"] == "satellite"
    assert _fee_years(before) == list(range(2027, 2037))
    assert _fee_years(after) == [2027, 2028]
    by_year = after.layers["opex_lines"].groupby("year")["amount_vnd"].sum()
    assert by_year[2029] < by_year[2028]
    assert after.kpis["lcc_vnd"] < before.kpis["lcc_vnd"]
    assert after.kpis["capex_vnd"] == before.kpis["capex_vnd"]  # the cable is the cable project's, not the plan's
    assert any("planned cable" in m and "cáp quang" in m for m in after.messages)
    # without a land layer the cable reaches only its own site: the village keeps its fees
    assert _fee_years(_island_plan({"fibre_year": 2029}, land=False)) == list(range(2027, 2037))


def test_a_site_whose_load_exceeds_one_satellite_terminal_gets_bonded_terminals() -> None:
    """An island village whose only way out is satellite serves 48 Mbit/s (3 households at 16 Mbit/s on its APs);
    on 20 Mbit/s terminals that takes three bonded terminals with three fees a year, not one terminal carrying more
    than it can."""
    from gisplan.catalog._catalog import load_catalog

    plan = _island_plan({}, household_mbps=16.0, terminal_mbps=20.0)
    link = plan.layers["backhaul_links"].set_index("site_id").loc["V"]
    assert link["backhaul"] == "satellite"
    load = float(link["load_mbps"])
    assert load == pytest.approx(48.0)
    assert link["capacity_mbps"] == pytest.approx(60.0)  # three terminals of 20
    boq = plan.boq.groupby("item_code")["quantity"].sum()
    assert boq["SAT.TERMINAL"] == 3
    opex = plan.layers["opex_lines"]
    fees = opex[opex["item_code"].isin(["SAT.FEE", "VSAT.FEE"])]
    assert len(fees) == 10 and (fees["quantity"] == 3).all()
    price = load_catalog().price
    assert fees["amount_vnd"].tolist() == [round(3 * price(c)) for c in fees["item_code"]]
    assert not any("carry more than their capacity" in m for m in plan.messages)
    one = _island_plan({}, household_mbps=16.0, terminal_mbps=100.0)  # a 100 Mbit/s terminal carries 48 alone
    assert one.boq.groupby("item_code")["quantity"].sum()["SAT.TERMINAL"] == 1
    amounts = plan.boq.groupby("item_code")["amount_vnd"].sum()
    assert amounts["SAT.TERMINAL"] == 3 * price("SAT.TERMINAL")
    assert plan.kpis["capex_vnd"] > one.kpis["capex_vnd"]


def test_a_bts_with_microwave_is_a_gateway_within_its_capacity() -> None:
    """The village relays through the BTS's microwave (no satellite terminal, no fee); when its demand exceeds the
    microwave's stated capacity it keeps its satellite terminal."""
    plan = _island_plan({"transmission": "microwave", "transmission_mbps": 50.0})
    link = plan.layers["backhaul_links"].set_index("site_id").loc["V"]
    assert link["peer_id"] == "BTS" and link["backhaul"] in ("relay", "radio")
    assert _fee_years(plan) == []
    small = _island_plan({"transmission": "microwave", "transmission_mbps": 0.01})
    assert small.layers["backhaul_links"].set_index("site_id").loc["V", "backhaul"] == "satellite"


@pytest.mark.parametrize(
    ("bts", "column", "words"),
    [
        ({"transmission": "microwave"}, "transmission_mbps", "needs its capacity"),
        ({"transmission": "fibre optic"}, "transmission", "unknown value"),
        ({"transmission": "microwave", "transmission_mbps": "fast"}, "transmission_mbps", "not a number"),
        ({"fibre_year": 29}, "fibre_year", "not a year"),
    ],
)
def test_bad_transmission_inputs_name_the_row_and_column(bts: dict, column: str, words: str) -> None:
    from gisplan._errors import PlanningError

    with pytest.raises(PlanningError, match=f"row BTS, column {column}: .*{words}") as err:
        _island_plan(bts)
    assert f"dòng BTS, cột {column}" in str(err.value)


def test_hops_into_one_hub_share_its_tallest_new_mast() -> None:
    """Two hops each priced a new mast at the POP (18 m and 15 m): the POP gets one 18 m mast, the other hop drops
    its mast from its items and cost; a hop to another hub keeps its own."""
    import pandas as pd

    from gisplan.catalog._catalog import load_catalog
    from gisplan.wifi._select import _share_hub_masts
    from gisplan.wifi.backhaul import backhaul_items

    cat = load_catalog()
    cost = [60_000_000 + cat.price(c) for c in ("MAST.18M", "MAST.15M", "MAST.15M")]
    bh = pd.DataFrame(
        {"site_id": ["A", "B", "C"], "option": ["radio"] * 3, "peer_id": ["POP", "POP", "EX"],
         "mast_a_code": [""] * 3, "mast_b_code": ["MAST.18M", "MAST.15M", "MAST.15M"],
         "mast_b_m": [18.0, 15.0, 15.0], "capex_vnd": cost, "cost_vnd": cost, "reason": [""] * 3,
         "length_m": [1000.0] * 3, "land_m": [0.0] * 3},
        index=["A", "B", "C"],
    )  # fmt: skip
    out = _share_hub_masts(bh, cat)
    assert out["mast_b_code"].tolist() == ["MAST.18M", "", "MAST.15M"]
    assert out["mast_b_m"].tolist() == [18.0, 18.0, 15.0]
    assert out.loc["B", "cost_vnd"] == 60_000_000 and out.loc["A", "cost_vnd"] == cost[0]
    assert [c for c, _ in backhaul_items(out.loc["B"])] == ["PTP.5G"]
    assert "shares the 18 m mast at POP" in out.loc["B", "reason"]
