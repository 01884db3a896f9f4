"""A technology per village: every option's figures in ``village_options``, the cheapest life-cycle cost that meets
demand chosen, its equipment in the sites, BOQ and yearly lines."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gisplan._errors import PlanningError, ScenarioError
from gisplan.catalog._catalog import load_catalog
from gisplan.wifi.params import TECHNOLOGIES
from gisplan.wifi.planner import WifiParams, plan_wifi
from gisplan.workflow.scenario import parse_scenario

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0
ALL = TECHNOLOGIES


def _layers(*, households_b: int = 10, tower_on_air: bool = True) -> dict:
    """Village A 200 m from a tower without fibre (4G on air, poor: no backhaul), village B 20 km away; an exchange
    with fibre 5 km north of the tower.  Every household on its village point."""
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["A", "B"], "name": ["Ấp A", "Ấp B"], "commune_code": ["C1", "C1"],
         "population": [40, 4 * households_b], "households": [10, households_b], "kind": ["hamlet", "hamlet"],
         "on_island": [False, False]},
        geometry=[Point(X0 + 200, Y0), Point(X0 + 20_000, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "T1"], "kind": ["exchange", "tower"], "name": ["Exchange", "BTS 1"],
         "has_fibre": [True, False], "height_m": [30.0, 40.0], "has_power": [True, True]},
        geometry=[Point(X0, Y0 + 5_000), Point(X0, Y0)], crs=CRS,
    )  # fmt: skip
    layers = {"settlements": settlements, "sites": sites}
    if tower_on_air:  # the tower radiates 4G, poorly (no backhaul): every village is unserved
        layers["coverage"] = gpd.GeoDataFrame(
            {"technology": ["4G"], "operator": ["Viettel"], "quality": ["poor"]},
            geometry=[box(X0 - 1_000, Y0 - 1_000, X0 + 1_000, Y0 + 1_000)], crs=CRS,
        )  # fmt: skip
    return layers


def _params(**kw) -> WifiParams:
    base = {"cover_all": True, "generate_candidates": True, "spread_households": False, "technologies": ALL,
            "connect_all_commune_hq": False}  # fmt: skip
    base.update(kw)
    return WifiParams(**base)


def _row(plan, sid: str, tech: str):
    vo = plan.layers["village_options"]
    rows = vo[(vo["settlement_id"] == sid) & (vo["technology"] == tech)]
    assert len(rows) == 1
    return rows.iloc[0]


def _lcc(capex: float, yearly: float, rate: float, years: int) -> float:
    return capex + sum(yearly / (1 + rate) ** (k + 1) for k in range(years))


def test_village_within_an_existing_towers_reach_takes_the_tower():
    cat = load_catalog()
    plan = plan_wifi(_layers(), _params(), catalog=cat)
    a = _row(plan, "A", "tower_4g")
    assert a["chosen"] and a["feasible"] and a["site_id"] == "T1"
    assert a["demand_mbps"] == 20.0 and a["capacity_mbps"] >= 20.0
    # cheaper than every other feasible option of the village
    vo = plan.layers["village_options"]
    others = vo[(vo["settlement_id"] == "A") & vo["feasible"] & (vo["technology"] != "tower_4g")]
    assert (others["lcc_vnd"] > a["lcc_vnd"]).all() and len(others) >= 1
    sites = plan.layers["sites"].set_index("site_id")
    assert sites.loc["T1", "technology"] == "tower_4g" and sites.loc["T1", "backhaul"] == "radio"
    assert "GEN-A-1" not in sites.index  # no wifi site for the village the tower serves
    boq = plan.boq.set_index("item_code")
    assert boq.loc["PTP.5G", "quantity"] >= 1 and "LTE.UPGRADE" not in boq.index  # 4G on air: backhaul only
    assert plan.kpis["people_newly_covered"] >= 40
    uns = plan.layers["settlements_unserved"].set_index("settlement_id")
    assert uns.loc["A", "covered_by"] == "T1" and uns.loc["A", "people_covered"] == 40
    opex = plan.layers["opex_lines"]
    # maintenance, and IP transit on village A's 20 Mbit/s (the hop ends at the exchange: no rent there)
    assert set(opex.loc[opex["site_id"] == "T1", "item_code"]) == {"MAINTENANCE", "TRANSIT.MBPS"}
    assert "tower_4g: 1" in plan.kpis["technology_mix"]


def test_a_tower_without_4g_pays_the_upgrade_and_wifi_wins():
    plan = plan_wifi(_layers(tower_on_air=False), _params(), catalog=load_catalog())
    a = _row(plan, "A", "tower_4g")
    assert a["feasible"] and not a["chosen"]
    assert a["capex_vnd"] >= load_catalog().price("LTE.UPGRADE")
    assert _row(plan, "A", "public_wifi")["chosen"]


@pytest.mark.parametrize(("households", "picked"), [(10, True), (25, False)])
def test_demand_above_a_small_cells_capacity_does_not_take_it(households, picked):
    cat = load_catalog()
    spec = cat.technologies["small_cell_4g"]
    capacity = spec["sectors"] * spec["carrier_mhz"] * spec["spectral_efficiency_bps_hz"]  # 30 Mbit/s
    demand = households * cat.backhaul["demand_household_mbps"]
    plan = plan_wifi(_layers(households_b=households), _params(technologies=("small_cell_4g",)), catalog=cat)
    b = _row(plan, "B", "small_cell_4g")
    assert b["capacity_mbps"] == capacity and b["demand_mbps"] == demand
    assert bool(b["chosen"]) is picked and bool(b["feasible"]) is picked
    if not picked:
        assert "exceeds" in b["reason"] and " / " in b["reason"]
        assert "B" in plan.kpis["villages_without_option"]
        assert "SC-B" not in set(plan.layers["sites"]["site_id"])
    else:
        assert plan.boq.set_index("item_code").loc["SC.4G", "quantity"] >= 1


@pytest.mark.parametrize(("rate", "ptp_price"), [(None, None), (0.05, 70_000_000)])
def test_lcc_recomputes_from_catalog_prices_and_the_discount_rate(rate, ptp_price):
    over: dict = {}
    if rate is not None:
        over = {"backhaul": {"discount_rate": rate}, "prices": {"PTP.5G": ptp_price}}
    cat = load_catalog(overrides=over)
    r, share = float(cat.backhaul["discount_rate"]), float(cat.backhaul["maintenance_share_per_year"])
    years = int(cat.param("satellite_horizon_years"))
    plan = plan_wifi(_layers(), _params(), catalog=cat)
    # the tower already radiates 4G: its option is its 5 GHz hop to the exchange, maintained yearly, and IP transit on
    # the village's 10 households x 2 Mbit/s handed to the Internet at the exchange
    transit = 10 * 2.0 * cat.price("TRANSIT.MBPS")
    t = _row(plan, "A", "tower_4g")
    capex = cat.price("PTP.5G")
    assert t["capex_vnd"] == capex and t["opex_vnd_per_year"] == round(share * capex + transit)
    assert t["lcc_vnd"] == pytest.approx(_lcc(capex, share * capex + transit, r, years), abs=2)
    # a small cell on a new mast at the village, the same hop, grid power all year
    s = _row(plan, "A", "small_cell_4g")
    capex = cat.price("SC.4G") + cat.price("MAST.15M") + cat.price("PTP.5G")
    power = cat.technologies["small_cell_4g"]["power_w"] * 8760 / 1000 * cat.price("POWER.GRID")
    assert s["capex_vnd"] == capex
    assert s["opex_vnd_per_year"] == pytest.approx(share * capex + power + transit, abs=1)
    assert s["lcc_vnd"] == pytest.approx(_lcc(capex, share * capex + power + transit, r, years), abs=2)


def test_every_village_has_one_row_per_option_with_a_reason_where_infeasible():
    plan = plan_wifi(_layers(), _params(technologies=("public_wifi", "small_cell_4g", "tower_4g")),
                     catalog=load_catalog())  # fmt: skip
    vo = plan.layers["village_options"]
    assert len(vo) == 2 * len(TECHNOLOGIES)
    for _, grp in vo.groupby("settlement_id"):
        assert sorted(grp["technology"]) == sorted(TECHNOLOGIES)
        assert grp["chosen"].sum() <= 1
    bad = vo[~vo["feasible"]]
    assert len(bad) and (bad["reason"].str.len() > 0).all() and bad["reason"].str.contains(" / ").all()
    assert _row(plan, "B", "fwa")["reason"].startswith("not among the plan's technologies")
    assert "beyond" in _row(plan, "B", "tower_4g")["reason"]  # 20 km from the tower


def test_unknown_technology_names_are_refused_with_the_valid_ones():
    with pytest.raises(PlanningError) as err:
        WifiParams(cover_all=True, technologies=("public_wifi", "lte_macro"))
    assert "lte_macro" in str(err.value) and all(t in str(err.value) for t in TECHNOLOGIES)
    text = "title: t\nlayers: {source: demo}\nwifi: {enabled: true, cover_all: true, technologies: [wifi, fwa]}\n"
    with pytest.raises(ScenarioError) as err2:
        parse_scenario(text)
    message = str(err2.value) + " ".join(str(p) for p in getattr(err2.value, "problems", []))
    assert "wifi.technologies" in message and "'wifi'" in message
    assert all(t in message for t in TECHNOLOGIES)


def test_villages_sharing_a_tower_split_its_cost_by_mbps_and_the_boq_holds_it_once():
    layers = _layers()
    extra = gpd.GeoDataFrame(
        {"settlement_id": ["C"], "name": ["Ấp C"], "commune_code": ["C1"], "population": [120], "households": [30],
         "kind": ["hamlet"], "on_island": [False]},
        geometry=[Point(X0 - 250, Y0)], crs=CRS,
    )  # fmt: skip
    layers["settlements"] = gpd.GeoDataFrame(
        [*layers["settlements"].to_dict("records"), *extra.to_dict("records")], geometry="geometry", crs=CRS
    )
    cat = load_catalog()
    plan = plan_wifi(layers, _params(technologies=("tower_4g",)), catalog=cat)
    a, c = _row(plan, "A", "tower_4g"), _row(plan, "C", "tower_4g")
    assert a["chosen"] and c["chosen"]
    hop = cat.price("PTP.5G")  # the tower's backhaul, the whole shared cost (4G already on air)
    assert a["capex_vnd"] == round(hop * 20 / 80) and c["capex_vnd"] == round(hop * 60 / 80)
    assert a["capacity_mbps"] == 90.0 - 60.0 and c["capacity_mbps"] == 90.0 - 20.0  # what the other leaves
    boq = plan.boq[plan.boq["item_code"] == "PTP.5G"]
    assert boq["quantity"].sum() == 1 and boq["amount_vnd"].sum() == hop
    assert plan.kpis["technology_mix"].startswith("public_wifi: 0") and "tower_4g: 2" in plan.kpis["technology_mix"]


def test_with_a_budget_the_other_technologies_come_off_it_first():
    cat = load_catalog()
    full = plan_wifi(_layers(), _params(), catalog=cat)
    budget = full.total_vnd + 1_000
    plan = plan_wifi(_layers(), _params(cover_all=False, budget_vnd=budget), catalog=cat)
    assert _row(plan, "A", "tower_4g")["chosen"]
    assert plan.total_vnd <= budget
    assert plan.boq.set_index("item_code").loc["PTP.5G", "quantity"] >= 1
