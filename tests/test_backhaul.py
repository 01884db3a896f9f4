"""Backhaul choice on constructed islands: each option wins where its costs say it should."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gisplan._errors import CRSError, PlanningError
from gisplan.catalog._catalog import load_catalog
from gisplan.wifi.backhaul import BACKHAUL_OPTIONS, backhaul_items, backhaul_options, chosen_backhaul

CRS = "EPSG:32648"


def _world(gap_m: float) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A 10 km mainland with a fibre site near its east shore and a 1 km island ``gap_m`` further east."""
    land = gpd.GeoDataFrame(
        {"land_id": ["main", "isle"]},
        geometry=[box(0, 0, 10_000, 10_000), box(10_000 + gap_m, 4_500, 11_000 + gap_m, 5_500)],
        crs=CRS,
    )
    fibre = gpd.GeoDataFrame({"site_id": ["EX"]}, geometry=[Point(9_000, 5_000)], crs=CRS)
    cand = gpd.GeoDataFrame({"site_id": ["V1"]}, geometry=[Point(10_500 + gap_m, 5_000)], crs=CRS)
    return land, fibre, cand


def _winner(table: gpd.GeoDataFrame) -> str:
    return str(chosen_backhaul(table).loc["V1", "option"])


def test_near_island_radio_wins() -> None:
    land, fibre, cand = _world(5_000)
    table = backhaul_options(cand, fibre_sites=fibre, land=land)
    assert _winner(table) == "radio"
    assert list(table["option"]) == list(BACKHAUL_OPTIONS)
    assert set(table.columns) >= {"feasible", "reason", "cost_vnd", "why", "chosen"}
    why = table["why"].iloc[0]
    # 5 km over flat ground at 5.6 GHz needs 10 m clutter + 0.37 m bulge + 4.9 m (0.6 F1) = 15.3 m at mid-path:
    # two 15 m antennas do not clear, an 18 m mast at the site (28 M, replacing its 15 m AP mast of 20 M) does
    assert why.startswith("cheapest feasible: radio 68 M VND")
    radio = table[table["option"] == "radio"].iloc[0]
    assert (radio["mast_a_m"], radio["mast_b_m"], radio["mast_a_code"]) == (18.0, 15.0, "MAST.18M")
    assert "MAST.18M" in [code for code, _ in backhaul_items(radio)]
    assert "fibre (no road graph given)" in why
    sub = table.set_index("option").loc["submarine"]
    assert bool(sub["feasible"]) and sub["length_m"] == pytest.approx(5_000 * 1.3)


def test_far_island_satellite_wins_and_radio_reasons() -> None:
    land, fibre, cand = _world(100_000)
    table = backhaul_options(cand, fibre_sites=fibre, land=land).set_index("option")
    assert table["chosen"].idxmax() == "satellite"
    assert "beyond 15 km" in table.loc["radio", "reason"]
    assert "beyond 60 km" in table.loc["radio_long", "reason"]
    cat = load_catalog()
    assert table.loc["satellite", "capex_vnd"] == cat.price("SAT.TERMINAL")
    # ten years of fees from 2027, discounted at 9 % (end of year): the LEO fee (24 M) within the licence
    # (2027-2030), the VSAT fee (60 M) after it (2031-2036)
    pv = sum(24_000_000 / 1.09**k for k in range(1, 5)) + sum(60_000_000 / 1.09**k for k in range(5, 11))
    assert table.loc["satellite", "opex_vnd"] == round(pv)
    assert table.loc["satellite", "cost_vnd"] == cat.price("SAT.TERMINAL") + round(pv)


def test_submarine_wins_when_satellite_and_long_radio_are_dear() -> None:
    land, fibre, cand = _world(40_000)
    cat = load_catalog().with_overrides(
        {"prices": {"SUB.CABLE": 1_000_000, "SUB.LANDING": 5_000_000, "SAT.FEE": 500_000_000, "PTP.LONG": 900_000_000}}
    )
    table = backhaul_options(cand, fibre_sites=fibre, land=land, catalog=cat)
    assert _winner(table) == "submarine"
    row = chosen_backhaul(table).loc["V1"]
    # 40 km x 1.3 of cable, two landings, land fibre from the landing points (shore to site, shore to exchange)
    assert 1_500 <= row["land_m"] <= 1_900
    expected = round(52.0 * 1_000_000) + 2 * 5_000_000 + round(round(row["land_m"], 3) * cat.price("FO.DROP"))
    assert row["cost_vnd"] == expected
    items = dict(backhaul_items(row))
    assert items["SUB.LANDING"] == 2 and items["SUB.CABLE"] == pytest.approx(52.0)


def test_long_radio_wins_between_15_and_60_km() -> None:
    land, fibre, cand = _world(30_000)
    cat = load_catalog().with_overrides({"prices": {"SAT.FEE": 100_000_000}})
    # 31.5 km over flat ground at 7 GHz needs 10 m clutter + 14.6 m bulge + 11 m (0.6 F1) at mid-path: no pair of
    # catalog masts (30 m at most) reaches it from 15 m ground equipment ...
    table = backhaul_options(cand, fibre_sites=fibre, land=land, catalog=cat).set_index("option")
    assert table.loc["radio_long", "reason"].startswith("no line of sight with any pair of masts up to 30 m")
    # ... a 45 m tower at the fibre end with the tallest mast at the site does
    fibre["height_m"] = 45.0
    table = backhaul_options(cand, fibre_sites=fibre, land=land, catalog=cat)
    assert _winner(table) == "radio_long"
    hop = table[table["option"] == "radio_long"].iloc[0]
    assert (hop["mast_a_m"], hop["mast_b_m"], hop["mast_b_code"]) == (30.0, 45.0, "")
    assert hop["capex_vnd"] == cat.price("PTP.LONG") + cat.price("MAST.30M") - cat.price("MAST.15M")


def test_same_land_is_not_an_island_and_own_fibre_is_free() -> None:
    land, fibre, _ = _world(5_000)
    cand = gpd.GeoDataFrame(
        {"site_id": ["V1", "V2"], "has_fibre": [False, True]}, geometry=[Point(2_000, 2_000), Point(1, 1)], crs=CRS
    )
    table = backhaul_options(cand, fibre_sites=fibre, land=land)
    sub = table[(table.site_id == "V1") & (table.option == "submarine")].iloc[0]
    assert not sub["feasible"] and sub["reason"].startswith("not an island")
    v2 = chosen_backhaul(table).loc["V2"]
    assert v2["option"] == "fibre" and v2["cost_vnd"] == 0


def test_inputs_checked() -> None:
    _land, fibre, cand = _world(5_000)
    with pytest.raises(PlanningError, match="unique"):
        backhaul_options(gpd.GeoDataFrame(cand.iloc[[0, 0]], crs=CRS), fibre_sites=fibre)
    with pytest.raises(CRSError):
        backhaul_options(gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[Point(0, 0)]), fibre_sites=fibre)
    with pytest.raises(PlanningError, match="horizon"):
        backhaul_options(cand, fibre_sites=fibre, horizon_years=0)


def test_geographic_input_is_projected() -> None:
    cand = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[Point(104.0, 10.2)], crs="EPSG:4326")
    fibre = gpd.GeoDataFrame({"site_id": ["F"]}, geometry=[Point(104.05, 10.2)], crs="EPSG:4326")
    table = backhaul_options(cand, fibre_sites=fibre)
    assert table.crs.to_epsg() == 32648
    row = chosen_backhaul(table).loc["A"]
    assert row["option"] == "radio" and 5_400 < row["length_m"] < 5_600


def test_fibre_along_roads_when_network_exists() -> None:
    network = pytest.importorskip("gisplan.routing.graph", reason="gisplan.routing.graph (road graph) not there yet")
    from shapely.geometry import LineString

    roads = gpd.GeoDataFrame(
        {"road_id": ["r1"], "name": ["a"], "road_class": ["rural"], "surface": ["gravel"]},
        geometry=[LineString([(0, 0), (3_000, 0)])],
        crs=CRS,
    )
    G = network.graph_from_roads(roads, catalog=load_catalog())
    fibre = gpd.GeoDataFrame({"site_id": ["EX"]}, geometry=[Point(0, 10)], crs=CRS)
    cand = gpd.GeoDataFrame({"site_id": ["V1"]}, geometry=[Point(3_000, 10)], crs=CRS)
    table = backhaul_options(cand, fibre_sites=fibre, graph=G).set_index("option")
    assert bool(table.loc["fibre", "feasible"])
    assert 3_000 <= table.loc["fibre", "length_m"] < 3_100
    assert table["chosen"].idxmax() == "fibre"


def test_site_far_from_every_road_gets_no_fibre_option_but_still_a_backhaul():
    """A planner-drawn site in a field (far from roads) must not fail the plan: fibre is infeasible, others remain."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from gisplan.routing.graph import graph_from_roads
    from gisplan.wifi.backhaul import backhaul_options

    crs = "EPSG:32648"
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1"], "name": [""], "road_class": ["rural"], "surface": ["earth"]},
        geometry=[LineString([(400000, 1130000), (403000, 1130000)])],
        crs=crs,
    )
    graph = graph_from_roads(roads)
    fibre = gpd.GeoDataFrame({"site_id": ["F1"]}, geometry=[Point(400000, 1130010)], crs=crs)
    cands = gpd.GeoDataFrame(
        {"site_id": ["NEAR", "FIELD"]}, geometry=[Point(403000, 1130020), Point(401500, 1132500)], crs=crs
    )
    opts = backhaul_options(cands, fibre_sites=fibre, graph=graph)
    fib = opts[opts["option"] == "fibre"].set_index("site_id")
    assert bool(fib.loc["NEAR", "feasible"]) and not bool(fib.loc["FIELD", "feasible"])
    chosen = opts[opts["chosen"]].set_index("site_id")
    assert set(chosen.index) == {"NEAR", "FIELD"}


def test_many_sites_each_get_their_own_cheapest_feasible_option() -> None:
    """One table for many sites: each site has exactly one chosen row, its cheapest feasible one, and its own why."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    fibre = gpd.GeoDataFrame({"site_id": ["EX"]}, geometry=[Point(0, 0)], crs=CRS)

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.floats(0, 120_000), min_size=1, max_size=12))
    def check(distances: list[float]) -> None:
        cand = gpd.GeoDataFrame(
            {"site_id": [f"V{k}" for k in range(len(distances))]},
            geometry=[Point(d, 1.0) for d in distances],
            crs=CRS,
        )
        table = backhaul_options(cand, fibre_sites=fibre)
        assert table.groupby("site_id")["chosen"].sum().eq(1).all()
        for sid, grp in table.groupby("site_id"):
            feasible = grp[grp["feasible"]]
            best = feasible.sort_values("cost_vnd", kind="mergesort").iloc[0]
            row = grp[grp["chosen"]].iloc[0]
            assert row["option"] == best["option"] and row["cost_vnd"] == feasible["cost_vnd"].min()
            assert grp["why"].nunique() == 1
            assert grp["why"].iloc[0].split(":")[0] in ("cheapest feasible", "only feasible")
            assert (grp["geometry"].x == cand.set_index("site_id").loc[sid].geometry.x).all()

    check()


def _ridge_raster(path, ridge_x: float, ridge_m: float, x0: float = 400_000.0, y0: float = 1_100_000.0) -> str:
    """Flat ground at 0 m with a north-south ridge 60 m wide at ``ridge_x`` (EPSG:32648, 20 m pixels)."""
    import warnings

    import numpy as np
    import rasterio
    from affine import Affine

    res, n = 20.0, 600
    west, north = x0 - 2_000, y0 + 6_000
    z = np.zeros((n, n), dtype="float32")
    z[:, int((ridge_x - 30 - west) / res) : int((ridge_x + 30 - west) / res)] = ridge_m
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=CRS,
            transform=Affine(res, 0.0, west, 0.0, -res, north),
        ) as dst:  # fmt: skip
            dst.write(z, 1)
    return str(path)


@pytest.mark.parametrize(("ridge_at", "ridge_m"), [(0.1, 4.0), (0.5, 3.0), (0.85, 5.0), (0.5, 30.0)])
def test_a_ridge_forces_the_cheapest_pair_of_masts_that_clears(tmp_path, ridge_at: float, ridge_m: float) -> None:
    """A 6 km hop from a wifi site to a fibre POP 12 m high over flat ground with a ridge: the heights chosen are
    the cheapest pair of catalog masts (each end's own height free) whose path clears 0.6 F1 + clutter + bulge,
    checked against brute force over every pair with :func:`gisplan.wifi.radio.line_of_sight`."""
    import itertools

    from gisplan.wifi.backhaul import mast_options
    from gisplan.wifi.radio import line_of_sight

    x0, y0, length = 400_000.0, 1_100_000.0, 6_000.0
    dem = _ridge_raster(tmp_path / "ridge.tif", x0 + ridge_at * length, ridge_m)
    fibre = gpd.GeoDataFrame({"site_id": ["POP"], "height_m": [12.0]}, geometry=[Point(x0, y0)], crs=CRS)
    cand = gpd.GeoDataFrame({"site_id": ["V1"]}, geometry=[Point(x0 + length, y0)], crs=CRS)
    cat = load_catalog()
    table = backhaul_options(cand, fibre_sites=fibre, catalog=cat, elevation=dem)
    radio = table[table["option"] == "radio"].iloc[0]

    credit = cat.price("MAST.15M")  # the wifi site's own AP mast, replaced by a taller one
    site = [(15.0, 0)] + [(h, p - credit) for h, _, p in mast_options(cat) if h > 15.0]
    pop = [(12.0, 0)] + [(h, p) for h, _, p in mast_options(cat) if h > 12.0]
    pairs = list(itertools.product(site, pop))
    los = line_of_sight(
        [[x0 + length, y0]] * len(pairs), [[x0, y0]] * len(pairs), h_a_m=[a for (a, _), _ in pairs],
        h_b_m=[b for _, (b, _) in pairs], elevation=dem, crs=CRS, f_mhz=float(cat.backhaul["ptp_5g_f_mhz"]),
        clutter_m=float(cat.backhaul["clutter_m"]),
    )  # fmt: skip
    clear = [(ca + cb, a + b, (a, b)) for ((a, ca), (b, cb)), ok in zip(pairs, los.clear, strict=True) if ok]
    if not clear:
        assert not radio["feasible"] and radio["reason"].startswith("no line of sight with any pair of masts")
        return
    cost, _, (h_site, h_pop) = min(clear)
    assert (h_site, h_pop) != (15.0, 12.0), "the ridge must force a taller mast"
    assert radio["feasible"] and (radio["mast_a_m"], radio["mast_b_m"]) == (h_site, h_pop)
    assert radio["capex_vnd"] == cat.price("PTP.5G") + cost
    assert radio["clearance_m"] > 0
    assert f"{h_site:g} m" in radio["reason"] and f"{h_pop:g} m" in radio["reason"]


def test_ridge_position_decides_which_end_gets_the_mast(tmp_path) -> None:
    """A ridge next to one end is cleared most cheaply by raising that end."""
    x0, y0 = 400_000.0, 1_100_000.0
    fibre = gpd.GeoDataFrame({"site_id": ["POP"], "height_m": [12.0]}, geometry=[Point(x0, y0)], crs=CRS)
    cand = gpd.GeoDataFrame({"site_id": ["V1"]}, geometry=[Point(x0 + 6_000, y0)], crs=CRS)
    near_pop = backhaul_options(cand, fibre_sites=fibre, elevation=_ridge_raster(tmp_path / "a.tif", x0 + 300, 4.0))
    near_site = backhaul_options(cand, fibre_sites=fibre, elevation=_ridge_raster(tmp_path / "b.tif", x0 + 5_700, 4.0))
    a = near_pop[near_pop["option"] == "radio"].iloc[0]
    b = near_site[near_site["option"] == "radio"].iloc[0]
    assert (a["mast_a_m"], a["mast_b_m"], a["mast_b_code"]) == (15.0, 18.0, "MAST.18M")
    assert (b["mast_a_m"], b["mast_a_code"]) == (18.0, "MAST.18M") and b["mast_b_m"] <= 15.0


def test_own_microwave_is_free_and_a_planned_cable_shortens_the_satellite_fees() -> None:
    """A far island (satellite only): V1 with its own microwave takes it at no cost; with a cable landing on the
    island in 2029 the satellite option pays the fees of 2027 and 2028 only (its reason says so)."""
    from gisplan.wifi.backhaul import transmission_inputs

    land, fibre, cand = _world(100_000)
    sites = cand.assign(transmission=["microwave"], transmission_mbps=[150.0])
    table = backhaul_options(cand, fibre_sites=fibre, land=land, transmission=transmission_inputs(sites))
    assert _winner(table) == "microwave"
    row = table[table["option"] == "microwave"].iloc[0]
    assert row["cost_vnd"] == 0 and "150 Mbit/s" in row["reason"]
    assert backhaul_items(row) == []

    landing = gpd.GeoDataFrame({"site_id": ["L"], "fibre_year": [2029]}, geometry=[Point(110_800, 5_000)], crs=CRS)
    table = backhaul_options(cand, fibre_sites=fibre, land=land, transmission=transmission_inputs(landing))
    sat = table[table["option"] == "satellite"].iloc[0]
    assert sat["opex_vnd"] == round(24_000_000 / 1.09 + 24_000_000 / 1.09**2)
    assert sat["fibre_year"] == 2029 and "fees until 2028 (fibre from 2029" in sat["reason"]
    assert "microwave" not in sat["why"]  # no own microwave: not listed among the infeasible options
