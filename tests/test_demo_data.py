"""Tests of the embedded Phú Quốc demo generator (gisplan.demo.data)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from gisplan.demo import data as demo_data
from gisplan.demo.data import (
    DEFAULT_SEED,
    LAYER_NAMES,
    demo_gpkg_path,
    demo_wifi_focus,
    demo_zone_duong_dong,
    generate_demo_layers,
    write_demo_gpkg,
)

SHIPPED = Path(__file__).resolve().parents[1] / "layers" / "phu_quoc.gpkg"
TOWNS = ("Dương Đông", "An Thới", "Hàm Ninh", "Cửa Cạn", "Cửa Dương", "Dương Tơ", "Gành Dầu", "Bãi Thơm", "Hòn Thơm",
         "Thổ Châu")  # fmt: skip


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return generate_demo_layers(seed=DEFAULT_SEED)


def _normalise(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Plain values for comparison: nulls as None, no dtype details, no geometry."""
    df = pd.DataFrame(frame.drop(columns="geometry")).astype(object)
    df = df.where(pd.notna(df), None)
    return df.reset_index(drop=True)


def _assert_same(a: dict[str, gpd.GeoDataFrame], b: dict[str, gpd.GeoDataFrame]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert str(a[name].crs) == str(b[name].crs) == "EPSG:4326", name
        pd.testing.assert_frame_equal(_normalise(a[name]), _normalise(b[name]), obj=name)
        same = shapely.equals_exact(a[name].geometry.to_numpy(), b[name].geometry.to_numpy(), tolerance=0)
        assert same.all(), f"{name}: {int((~same).sum())} geometries differ, first at row {int(np.argmin(same))}"


def _read_gpkg(path: Path) -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(path, layer=name, engine="pyogrio") for name in LAYER_NAMES}


def test_same_seed_gives_identical_layers(layers):
    _assert_same(layers, generate_demo_layers(seed=DEFAULT_SEED))


def test_other_seed_gives_other_synthetic_layers(layers):
    other = generate_demo_layers(seed=7)
    assert shapely.equals_exact(other["land"].geometry.to_numpy(), layers["land"].geometry.to_numpy(), 0).all()
    assert other["settlements"].population.sum() == layers["settlements"].population.sum()
    assert not _normalise(other["poles"]).equals(_normalise(layers["poles"]))
    assert len(other["roads"]) != len(layers["roads"]) or not other["roads"].geom_equals(layers["roads"]).all()


def test_shipped_file_equals_a_fresh_generation(layers):
    if not SHIPPED.is_file():
        pytest.skip("layers/phu_quoc.gpkg is not in this checkout")
    assert SHIPPED.stat().st_size < 8e6, "the demo file should stay a few MB"
    _assert_same(layers, _read_gpkg(SHIPPED))


def test_write_demo_gpkg_is_byte_for_byte_repeatable(tmp_path, layers, monkeypatch):
    # reuse the fixture rather than generating twice more
    monkeypatch.setattr(demo_data, "generate_demo_layers", lambda *, seed: layers)
    a = write_demo_gpkg(tmp_path / "a.gpkg")
    b = write_demo_gpkg(tmp_path / "b.gpkg")
    assert a.read_bytes() == b.read_bytes()
    _assert_same(layers, _read_gpkg(a))


def test_every_layer_kind_is_there_in_wgs84(layers):
    assert set(LAYER_NAMES) == {
        "land", "boundaries", "roads", "poles", "cables", "ducts", "coverage", "settlements", "sites", "constraints",
        "buildings",
    }  # fmt: skip
    for name, frame in layers.items():
        assert len(frame) > 0, name
        assert frame.crs.to_epsg() == 4326, name
        assert frame.geometry.is_valid.all(), name
        assert not frame.geometry.has_z.any(), name


def test_buildings_hold_each_settlements_households(layers):
    b, s = layers["buildings"], layers["settlements"]
    assert b["building_id"].is_unique and (b["households"] >= 1).all()
    per = b.groupby("settlement_id")["households"].sum()
    want = s.set_index("settlement_id")["households"]
    assert per.reindex(want.index).fillna(0).astype(int).equals(want.astype(int))
    # on land, near a road: within 30 m of the roads layer (plots are 12 m off a road's centre line)
    metric = b.to_crs("EPSG:32648")
    roads = layers["roads"].to_crs("EPSG:32648")
    d = metric.geometry.distance(shapely.union_all(list(roads.geometry)))
    assert (d <= 30.0).mean() > 0.95


def test_ids_are_unique_strings(layers):
    for name, col in [("roads", "road_id"), ("poles", "pole_id"), ("cables", "cable_id"), ("ducts", "duct_id"),
                      ("settlements", "settlement_id"), ("sites", "site_id"), ("boundaries", "unit_code"),
                      ("land", "land_id")]:  # fmt: skip
        ids = layers[name][col]
        assert ids.is_unique, name
        assert all(isinstance(v, str) and v for v in ids), name


def test_allowed_values(layers):
    assert set(layers["roads"].road_class) <= {"national", "provincial", "district", "urban", "rural", "track"}
    assert set(layers["roads"].surface) <= {"asphalt", "concrete", "gravel", "earth"}
    assert set(layers["poles"].owner) == {"telecom", "power", "shared"}
    assert set(layers["cables"].kind) == {"fibre", "copper", "coax"}
    fibre = layers["cables"][layers["cables"].kind == "fibre"]
    assert (fibre.fibre_count > 0).all()
    assert layers["cables"][layers["cables"].kind != "fibre"].fibre_count.isna().all()
    assert set(layers["sites"].kind) >= {"exchange", "pop", "tower", "commune_hq", "school", "health", "community"}
    assert set(layers["coverage"].quality) == {"good", "fair", "poor"}
    assert set(layers["boundaries"].level) == {"province", "district", "commune"}
    assert (layers["ducts"].free_ducts <= layers["ducts"].n_ducts).all()
    assert set(layers["constraints"].rule) == {"forbid", "penalty"}


def test_about_ten_thousand_poles(layers):
    assert 8_000 <= len(layers["poles"]) <= 12_000


def test_towns_lie_on_land(layers):
    from global_land_mask import globe

    land = shapely.union_all(layers["land"].geometry.to_numpy())
    sett = layers["settlements"]
    for town in TOWNS:
        row = sett[sett.name == town]
        assert len(row) == 1, town
        p = row.geometry.iloc[0]
        assert land.contains(p), town
        assert globe.is_land(p.y, p.x), town
    assert land.buffer(1e-4).contains(shapely.union_all(sett.geometry.to_numpy()))


def test_population_matches_the_census_order_of_magnitude(layers):
    sett = layers["settlements"]
    assert sett.population.sum() == 179_480  # 2019 census (GSO)
    by_commune = sett.groupby("commune_code")["population"].sum()
    assert by_commune["31069"] == 60_415  # Dương Đông ward, 2019 census
    assert by_commune["31072"] == 42_095  # An Thới ward with Hòn Thơm, 2019 census
    assert 100 <= len(sett) <= 300
    ratio = sett.population.sum() / sett.households.sum()
    assert 3.5 <= ratio <= 4.5
    assert sett.on_island.all()
    assert set(sett.island_name) == {"Phú Quốc", "Hòn Thơm", "Thổ Châu"}


def test_settlements_carry_the_code_of_their_commune(layers):
    communes = layers["boundaries"][layers["boundaries"].level == "commune"]
    joined = gpd.sjoin(layers["settlements"], communes[["unit_code", "geometry"]], predicate="within")
    assert (joined.commune_code == joined.unit_code).all()
    assert len(joined) >= len(layers["settlements"]) - 2  # a point may sit on a shared edge
    assert len(communes) == 9


def test_cables_end_at_their_poles(layers):
    cables = layers["cables"]
    aerial = cables[cables.placement == "aerial"]
    poles = layers["poles"].set_index("pole_id")
    assert aerial.from_pole.isin(poles.index).all()
    assert aerial.to_pole.isin(poles.index).all()
    start = shapely.get_point(aerial.geometry.to_numpy(), 0)
    end = shapely.get_point(aerial.geometry.to_numpy(), -1)
    assert shapely.equals_exact(start, poles.geometry.loc[aerial.from_pole].to_numpy(), tolerance=0).all()
    assert shapely.equals_exact(end, poles.geometry.loc[aerial.to_pole].to_numpy(), tolerance=0).all()
    carriers = poles.owner.loc[pd.concat([aerial.from_pole, aerial.to_pole])]
    assert set(carriers) <= {"telecom", "shared"}
    assert aerial.groupby(["from_pole", "to_pole"]).size().max() >= 3  # several operators per span in town


def _components(roads: gpd.GeoDataFrame) -> list[set]:
    g = nx.Graph()
    for geom in roads.geometry:
        c = geom.coords
        g.add_edge(tuple(c[0]), tuple(c[-1]))
    return list(nx.connected_components(g))


def test_main_island_roads_form_one_connected_network(layers):
    land = layers["land"]
    main = land[land.name == "Đảo Phú Quốc"].geometry.iloc[0]
    roads = layers["roads"]
    on_main = roads[roads.intersects(main)]
    assert len(_components(on_main)) == 1
    assert roads.within(shapely.union_all(land.geometry.to_numpy()).buffer(1e-3)).all()


def test_ducts_lie_exactly_on_road_pieces_in_the_central_zone(layers):
    roads = set(shapely.to_wkb(layers["roads"].geometry.to_numpy()))
    ducts = layers["ducts"]
    assert all(w in roads for w in shapely.to_wkb(ducts.geometry.to_numpy()))
    length = ducts.to_crs("EPSG:32648").length.sum()
    assert 2_000 <= length <= 8_000
    zone = demo_zone_duong_dong()
    assert ducts.within(zone).all()
    aerial = layers["cables"][layers["cables"].placement == "aerial"]
    assert 200 <= aerial.within(zone).sum() <= 5_000


def test_under_served_areas_lack_good_coverage(layers):
    cov = layers["coverage"]
    good = shapely.union_all(cov[cov.quality == "good"].geometry.to_numpy())
    focus = demo_wifi_focus()
    assert set(focus) == {"north", "east_coast", "hon_thom", "tho_chau"}
    for name, area in focus.items():
        assert area.area > 0, name
        assert not good.intersects(area), name
    sett = layers["settlements"]
    centre = sett[sett.name.isin(["Dương Đông", "An Thới"])]
    assert centre.within(good).all()
    served = sett.within(good)
    assert 0.2 < (sett.population * ~served).sum() / sett.population.sum() < 0.6


def test_sites_required_by_the_demo(layers):
    sites = layers["sites"]
    exchanges = sites[sites.kind == "exchange"]
    assert exchanges.has_fibre.all() and len(exchanges) >= 2
    assert {"Dương Đông", "An Thới"} <= {n.split()[-2] + " " + n.split()[-1] for n in exchanges.name}
    assert len(sites[sites.kind == "pop"]) == 6
    # owners (synthetic, issue 12): every exchange/POP has one among the demo cables' operators; in Dương Đông at
    # least two operators have their own, and at least one operator hanging cables there has none (the fallback)
    roots = sites[sites.kind.isin(["exchange", "pop"])]
    cable_ops = set(layers["cables"]["owner"])
    assert set(roots["owner"]) <= cable_ops and (roots["owner"] != "").all()
    dd = roots[roots["name"].str.endswith("Dương Đông")]
    assert len(set(dd["owner"])) >= 2
    assert cable_ops - set(roots["owner"])
    assert (sites.loc[~sites.kind.isin(["exchange", "pop", "tower"]), "owner"] == "").all()
    towers = sites[sites.kind == "tower"]
    assert towers.has_fibre.any() and not towers.has_fibre.all()
    hq = sites[sites.kind == "commune_hq"].name.str.cat(sep="|")
    for name in ("Dương Đông", "An Thới", "Hòn Thơm", "Thổ Châu", "Gành Dầu", "Bãi Thơm", "Hàm Ninh"):
        assert name in hq


def test_constraints_do_not_cut_the_road_network(layers):
    cons = layers["constraints"]
    forbid = shapely.union_all(cons[cons.rule == "forbid"].geometry.to_numpy())
    assert not layers["roads"].intersects(forbid).any()
    assert np.isnan(cons[cons.rule == "forbid"].penalty_factor).all()
    assert (cons[cons.rule == "penalty"].penalty_factor > 1).all()


def test_demo_gpkg_path_finds_the_shipped_file():
    if not SHIPPED.is_file():
        pytest.skip("layers/phu_quoc.gpkg is not in this checkout")
    assert demo_gpkg_path() == SHIPPED
