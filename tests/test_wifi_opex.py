"""Yearly lines of the wifi plan beyond fees, power and maintenance: IP transit per Mbit/s, satellite capacity per
Mbit/s above the subscription, rent of a tower or pole the plan does not own; in the opex_lines layer, the KPIs and
the life-cycle cost, never in the BOQ."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gisplan.catalog._catalog import load_catalog
from gisplan.wifi.backhaul import backhaul_options
from gisplan.wifi.planner import WifiParams, plan_wifi

CRS = "EPSG:32648"
X0, Y0 = 400_000.0, 1_100_000.0
YEARS = list(range(2027, 2037))  # the catalog's 10-year horizon from the plan's phase
#: The catalog's figures, read as data (the tests compute every amount by hand from them).
TRANSIT, SAT_MBPS, VSAT_MBPS = 254_000, 7_871_714, 7_871_714
RENT_TOWER, RENT_POLE = 24_000_000, 1_200_000
SAT_FEE, VSAT_FEE, INCLUDED = 24_000_000, 60_000_000, 100.0
#: the plans below take a capped LEO plan (10 Mbit/s a terminal) so that SAT.MBPS shows
CAPPED = 10.0


def _pv(amount_by_year: dict[int, float], rate: float = 0.09) -> float:
    return sum(v / (1 + rate) ** (y - 2026) for y, v in amount_by_year.items())


def _catalog(included: float = CAPPED, **overrides):
    over: dict = {
        "backhaul": {"demand_household_mbps": 3.0, "satellite_included_mbps": included},
        "ap_profiles": {"outdoor_2g4": {"model": "p1411_los"}},
    }
    if overrides:
        over["prices"] = overrides
    return load_catalog(overrides=over)


def test_catalog_holds_the_new_yearly_items_with_their_units_and_figures() -> None:
    cat = load_catalog()
    for code, price, unit in [("TRANSIT.MBPS", TRANSIT, "Mbps·year"), ("SAT.MBPS", SAT_MBPS, "Mbps·year"),
                              ("VSAT.MBPS", VSAT_MBPS, "Mbps·year"), ("RENT.TOWER", RENT_TOWER, "year"),
                              ("RENT.POLE", RENT_POLE, "year")]:  # fmt: skip
        assert cat.price(code) == price and cat.item(code).unit == unit and cat.item(code).source
    assert round(309.91 * 25_400) == SAT_MBPS  # Giga's 309.91 USD per Mbps per year at the catalog's rate
    assert cat.backhaul["satellite_included_mbps"] == INCLUDED


def test_backhaul_options_price_transit_satellite_capacity_and_tower_rent_into_the_choice() -> None:
    """One candidate 8 km from a tower with fibre (40 m: the hop needs no new mast there, so its far end rents a
    place on the tower), carrying 30 Mbit/s: the radio option's yearly lines are the tower rent and 30 Mbit/s of
    transit; the satellite option's are its flat fee (its 100 Mbit/s carry the 30) to the licence's end, then the
    GEO VSAT fee and all 30 Mbit/s of VSAT capacity, no transit."""
    cand = gpd.GeoDataFrame({"site_id": ["A"], "demand_mbps": [30.0]}, geometry=[Point(X0, Y0)], crs=CRS)
    tower = gpd.GeoDataFrame({"site_id": ["T"], "kind": ["tower"], "height_m": [40.0]},
                             geometry=[Point(X0 + 8_000, Y0)], crs=CRS)  # fmt: skip
    table = backhaul_options(cand, fibre_sites=tower, start_year=2027).set_index("option")
    radio = table.loc["radio"]
    assert radio["peer_id"] == "T" and radio["mast_b_code"] == "" and radio["peer_rent_code"] == "RENT.TOWER"
    assert radio["opex_vnd"] == round(_pv({y: RENT_TOWER + 30 * TRANSIT for y in YEARS}))
    sat = table.loc["satellite"]
    sat_years = {y: SAT_FEE if y <= 2030 else VSAT_FEE + 30 * VSAT_MBPS for y in YEARS}
    assert sat["peer_rent_code"] == "" and sat["opex_vnd"] == round(_pv(sat_years))
    assert table.loc["radio", "chosen"]
    # an exchange charges no rent; a hop that needs a new mast at the tower is on the plan's own mast
    exchange = tower.assign(kind="exchange")
    assert backhaul_options(cand, fibre_sites=exchange).set_index("option").loc["radio", "peer_rent_code"] == ""
    low = tower.assign(height_m=3.0)
    low_radio = backhaul_options(cand, fibre_sites=low).set_index("option").loc["radio"]
    assert low_radio["mast_b_code"] != "" and low_radio["peer_rent_code"] == ""
    # without a demand column only the rent and the subscription are seen
    bare = backhaul_options(cand.drop(columns="demand_mbps"), fibre_sites=tower).set_index("option")
    assert bare.loc["radio", "opex_vnd"] == round(_pv({y: RENT_TOWER for y in YEARS}))


def _mainland(kind: str = "community", height: float = 6.0) -> dict:
    """A village of 10 households (3 Mbit/s each) next to one candidate site ``A`` of ``kind`` and ``height``, 8 km
    from a 40 m tower with fibre (the only fibre hub: A's radio hop ends on it)."""
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Ấp 1"], "commune_code": ["C1"], "population": [40], "households": [10],
         "kind": ["hamlet"], "on_island": [False]},
        geometry=[Point(X0 + 20, Y0)], crs=CRS,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["T", "A"], "kind": ["tower", kind], "name": ["BTS", "site A"], "has_fibre": [True, False],
         "height_m": [40.0, height], "has_power": [True, True]},
        geometry=[Point(X0 + 8_000, Y0), Point(X0, Y0)], crs=CRS,
    )  # fmt: skip
    return {"settlements": settlements, "sites": sites}


def _plan(layers: dict, cat=None):
    params = WifiParams(cover_all=True, spread_households=False, profiles=("outdoor_2g4",), phase="2027",
                        candidate_kinds=("community", "tower", "pole"))  # fmt: skip
    return plan_wifi(layers, params, catalog=_catalog() if cat is None else cat)


def _lines(plan, code: str):
    opex = plan.layers["opex_lines"]
    return opex[opex["item_code"] == code]


@pytest.mark.parametrize(
    ("kind", "height", "own_rent"),
    [("community", 6.0, None), ("tower", 40.0, "RENT.TOWER"), ("pole", 8.0, None), ("pole", 16.0, "RENT.POLE")],
)
def test_transit_and_rent_lines_per_year_with_quantity_times_price(kind, height, own_rent) -> None:
    """Site A hands its village's 30 Mbit/s to the Internet over its radio hop: transit on 30 Mbit/s a year.  The
    hop's far end is on the tower T at its own height: a tower rent a year.  A's own AP rents its structure only
    when it is a tower or pole high enough to carry it (15 m); lower, the AP is on the plan's own mast."""
    plan = _plan(_mainland(kind, height))
    site = plan.layers["sites"].set_index("site_id").loc["A"]
    assert site["backhaul"] == "radio" and site["demand_mbps"] == pytest.approx(30.0)
    transit = _lines(plan, "TRANSIT.MBPS")
    assert transit["year"].tolist() == YEARS and (transit["site_id"] == "A").all()
    assert (transit["quantity"] == 30.0).all() and (transit["amount_vnd"] == 30 * TRANSIT).all()
    rents = plan.layers["opex_lines"]
    rents = rents[rents["item_code"].str.startswith("RENT.")]
    per_year = sorted(rents.loc[rents["year"] == 2027, "item_code"])
    assert per_year == sorted(["RENT.TOWER"] + ([own_rent] if own_rent else []))
    assert len(rents) == 10 * len(per_year) and (rents["quantity"] == 1.0).all()
    assert (rents["amount_vnd"] == rents["item_code"].map({"RENT.TOWER": RENT_TOWER, "RENT.POLE": RENT_POLE})).all()
    # yearly lines, never capital
    assert not {"TRANSIT.MBPS", "RENT.TOWER", "RENT.POLE", "SAT.MBPS"} & set(plan.boq["item_code"])


def test_lcc_moves_by_the_discounted_transit_and_rent() -> None:
    """Pricing transit and rent at 0 leaves the capital alone and lowers the first year's opex by 30 Mbit/s of
    transit and one tower rent, the life-cycle cost by their present value at 9 %."""
    with_lines = _plan(_mainland())
    without = _plan(_mainland(), _catalog(**{"TRANSIT.MBPS": 0, "RENT.TOWER": 0}))
    yearly = 30 * TRANSIT + RENT_TOWER
    assert with_lines.kpis["capex_vnd"] == without.kpis["capex_vnd"]
    assert with_lines.kpis["opex_vnd_per_year"] - without.kpis["opex_vnd_per_year"] == yearly
    assert with_lines.kpis["opex_vnd"] - without.kpis["opex_vnd"] == 10 * yearly
    assert with_lines.kpis["lcc_vnd"] - without.kpis["lcc_vnd"] == pytest.approx(_pv(dict.fromkeys(YEARS, yearly)),
                                                                                 abs=2)  # fmt: skip
    first = f"2027: {with_lines.kpis['opex_vnd_per_year']:,}"
    assert with_lines.kpis["opex_by_year_vnd"].startswith(first)


def _island(fibre_year=None) -> dict:
    """The same village on an island 100 km from the mainland's exchange: satellite is its only way out."""
    layers = _mainland()
    sites = layers["sites"].copy()
    sites["kind"] = ["exchange", "community"]
    sites["geometry"] = [Point(X0 - 100_000, Y0), Point(X0, Y0)]
    if fibre_year is not None:
        sites["fibre_year"] = [None, fibre_year]
    layers["sites"] = gpd.GeoDataFrame(sites, geometry="geometry", crs=CRS)
    layers["land"] = gpd.GeoDataFrame(
        {"land_id": ["main", "isle"]},
        geometry=[box(X0 - 105_000, Y0 - 5_000, X0 - 95_000, Y0 + 5_000), box(X0 - 2_000, Y0 - 2_000, X0 + 2_000,
                                                                               Y0 + 2_000)], crs=CRS,
    )  # fmt: skip
    return layers


def test_satellite_traffic_pays_capacity_above_the_subscription_and_no_transit() -> None:
    """30 Mbit/s on one terminal whose (capped) subscription includes 10: 20 Mbit/s of SAT.MBPS a year within the
    licence (to 2030), then all 30 Mbit/s of VSAT.MBPS (GEO capacity is bought per Mbit/s), and no transit (the
    satellite operator's fee includes it)."""
    plan = _plan(_island())
    assert plan.layers["sites"].set_index("site_id").loc["A", "backhaul"] == "satellite"
    assert _lines(plan, "TRANSIT.MBPS").empty
    cap = plan.layers["opex_lines"]
    cap = cap[cap["item_code"].isin(["SAT.MBPS", "VSAT.MBPS"])].sort_values("year")
    assert cap["year"].tolist() == YEARS
    assert cap["item_code"].tolist() == ["SAT.MBPS"] * 4 + ["VSAT.MBPS"] * 6
    assert cap["quantity"].tolist() == [20.0] * 4 + [30.0] * 6
    assert cap["amount_vnd"].tolist() == [20 * SAT_MBPS] * 4 + [30 * VSAT_MBPS] * 6


def test_a_planned_cable_turns_satellite_capacity_into_transit_from_its_year() -> None:
    """The catalog's flat-rate LEO plan (the terminal's 100 Mbit/s included): the fee until the cable's year, no
    capacity line, transit on the 30 Mbit/s from then on."""
    plan = _plan(_island(fibre_year=2029), cat=_catalog(included=INCLUDED))
    opex = plan.layers["opex_lines"]
    by_code = opex.groupby("item_code")["year"].apply(sorted)
    assert by_code["SAT.FEE"] == [2027, 2028] and "SAT.MBPS" not in by_code and "VSAT.MBPS" not in by_code
    assert by_code["TRANSIT.MBPS"] == list(range(2029, 2037))
    assert (_lines(plan, "TRANSIT.MBPS")["amount_vnd"] == 30 * TRANSIT).all()


def test_a_village_small_cell_on_satellite_pays_capacity_not_transit_and_stops_at_the_planned_cable() -> None:
    """The island village on an operator's small cell (30 Mbit/s, all of its demand): its satellite terminal pays
    the fee and 20 Mbit/s above the subscription in 2027-2028, then transit on 30 Mbit/s once the planned cable
    of 2029 reaches the island; the village option's first-year opex holds them."""
    cat = _catalog()
    params = WifiParams(cover_all=True, spread_households=False, profiles=("outdoor_2g4",), phase="2027",
                        technologies=("small_cell_4g",), candidate_kinds=("community",))  # fmt: skip
    plan = plan_wifi(_island(fibre_year=2029), params, catalog=cat)
    opex = plan.layers["opex_lines"]
    sc = opex[opex["site_id"] == "SC-S1"]
    by_code = sc.groupby("item_code")["year"].apply(sorted)
    assert by_code["SAT.FEE"] == [2027, 2028] and by_code["SAT.MBPS"] == [2027, 2028]
    assert by_code["TRANSIT.MBPS"] == list(range(2029, 2037))
    assert (sc.loc[sc["item_code"] == "SAT.MBPS", "amount_vnd"] == 20 * SAT_MBPS).all()
    vo = plan.layers["village_options"]
    row = vo[vo["technology"] == "small_cell_4g"].iloc[0]
    assert row["chosen"]
    share = cat.backhaul["maintenance_share_per_year"]
    power = round(cat.technologies["small_cell_4g"]["power_w"] * 8760 / 1000 * cat.price("POWER.GRID"))
    capex = cat.price("SC.4G") + cat.price("MAST.15M") + cat.price("SAT.TERMINAL")
    assert row["opex_vnd_per_year"] == pytest.approx(share * capex + power + SAT_FEE + 20 * SAT_MBPS, abs=1)
