"""Tests of gisplan.routing.graph: building the road graph, attaching points, crossings, components."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pytest
from shapely import LineString, Point, Polygon

from gisplan._errors import CRSError, LayerError, RoutingError
from gisplan.routing.graph import (
    attach_points,
    components_report,
    count_crossings,
    crossings_cost,
    graph_from_roads,
)
from gisplan.routing.steiner import steiner_tree

CRS = "EPSG:32648"


class StandInCatalog:
    """Round prices so costs can be checked by hand."""

    duct_reuse_cost_per_m = 1

    def trench_cost_per_m(self, surface: str, road_class: str) -> int:
        return {"asphalt": 100, "gravel": 50, "earth": 20, "concrete": 120}[surface] + (
            10 if road_class == "national" else 0
        )

    def crossing_cost(self, road_class: str) -> int:
        return {"national": 5000, "urban": 1000}.get(road_class, 500)


CAT = StandInCatalog()


def roads(geoms, **cols) -> gpd.GeoDataFrame:
    n = len(geoms)
    data = {
        "road_id": cols.get("road_id", [f"r{k}" for k in range(n)]),
        "name": cols.get("name", [f"Road {k}" for k in range(n)]),
        "road_class": cols.get("road_class", ["urban"] * n),
        "surface": cols.get("surface", ["asphalt"] * n),
    }
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=cols.get("crs", CRS))


def test_edges_carry_length_cost_and_attributes():
    G = graph_from_roads(roads([LineString([(0, 0), (100, 0)])], surface=["gravel"]), catalog=CAT)
    assert G.number_of_edges() == 1
    ((_a, _b, d),) = G.edges(data=True)
    assert d["length_m"] == pytest.approx(100.0)
    assert d["cost"] == pytest.approx(5000.0)
    assert d["road_id"] == "r0" and d["surface"] == "gravel" and d["road_class"] == "urban"
    assert d["geometry"].length == pytest.approx(100.0)
    assert all(isinstance(n, int) and "x" in a and "y" in a for n, a in G.nodes(data=True))
    assert G.graph["crs"] == CRS


def test_near_miss_endpoints_are_joined():
    G = graph_from_roads(
        roads([LineString([(0, 0), (100, 0)]), LineString([(100.8, 0.5), (200, 0)])]), catalog=CAT, snap_tolerance_m=2
    )
    assert nx.is_connected(G)
    assert G.number_of_nodes() == 3


def test_dangling_end_near_a_road_is_joined_to_it():
    G = graph_from_roads(
        roads([LineString([(0, 0), (100, 0)]), LineString([(50, 1.5), (50, 80)])]), catalog=CAT, snap_tolerance_m=2
    )
    assert nx.is_connected(G)
    joins = [d for _a, _b, d in G.edges(data=True) if d.get("kind") == "join"]
    assert len(joins) == 1 and joins[0]["length_m"] == pytest.approx(1.5)


def test_crossing_lines_are_split():
    G = graph_from_roads(roads([LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])]), catalog=CAT)
    assert G.number_of_nodes() == 5 and G.number_of_edges() == 4
    centre = next(n for n, a in G.nodes(data=True) if (a["x"], a["y"]) == (50.0, 0.0))
    assert G.degree(centre) == 4
    assert sum(d["length_m"] for _a, _b, d in G.edges(data=True)) == pytest.approx(200.0)


def test_duplicates_are_merged_keeping_the_cheapest():
    layer = roads(
        [LineString([(0, 0), (100, 0)]), LineString([(0, 0), (100, 0)]), LineString([(100, 0), (0, 0)])],
        surface=["asphalt", "earth", "gravel"],
    )
    G = graph_from_roads(layer, catalog=CAT)
    assert G.number_of_edges() == 1
    ((_a, _b, d),) = G.edges(data=True)
    assert d["surface"] == "earth" and d["cost"] == pytest.approx(2000.0)
    assert sorted(d["duplicates"]) == ["r0", "r2"]


def test_reprojects_geographic_roads_and_needs_a_crs():
    layer = roads([LineString([(104.0, 10.2), (104.001, 10.2)])], crs="EPSG:4326")
    G = graph_from_roads(layer, catalog=CAT)
    assert G.graph["crs"] == CRS
    ((_a, _b, d),) = G.edges(data=True)
    assert d["length_m"] == pytest.approx(109.5, abs=1.0)
    with pytest.raises(CRSError):
        graph_from_roads(layer.set_crs(None, allow_override=True), catalog=CAT)


def test_missing_column_is_a_layer_error():
    layer = roads([LineString([(0, 0), (1, 0)])]).drop(columns="surface")
    with pytest.raises(LayerError, match="surface"):
        graph_from_roads(layer, catalog=CAT)


def test_forbidden_zone_cuts_the_graph_and_penalty_multiplies():
    layer = roads([LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)]), LineString([(200, 0), (300, 0)])])
    zones = gpd.GeoDataFrame(
        {"kind": ["no_dig", "heritage"], "rule": ["forbid", "penalty"], "penalty_factor": [1.0, 3.0]},
        geometry=[
            Polygon([(120, -5), (180, -5), (180, 5), (120, 5)]),
            Polygon([(200, -5), (250, -5), (250, 5), (200, 5)]),
        ],
        crs=CRS,
    )
    G = graph_from_roads(layer, catalog=CAT, constraints=zones)
    assert G.graph["removed_forbidden"] == ["r1"]
    assert not nx.is_connected(G)
    pen = next(d for _a, _b, d in G.edges(data=True) if d["road_id"] == "r2")
    assert pen["cost"] == pytest.approx(100 * (50 * 3 + 50))
    report = components_report(G)
    assert report.count == 2
    ends = [n for n, a in G.nodes(data=True) if a["x"] in (0.0, 300.0)]
    with pytest.raises(RoutingError) as err:
        steiner_tree(G, ends)
    assert err.value.unreachable and set(err.value.unreachable) <= set(ends)


def test_duct_edges_are_near_free_and_carry_free_ducts():
    layer = roads([LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])])
    ducts = gpd.GeoDataFrame(
        {"duct_id": ["D1", "D2"], "n_ducts": [4, 2], "free_ducts": [2, 0]},
        geometry=[LineString([(0, 2), (100, 2)]), LineString([(100, 2), (200, 2)])],
        crs=CRS,
    )
    G = graph_from_roads(layer, catalog=CAT, ducts=ducts)
    by_road = {d["road_id"]: d for _a, _b, d in G.edges(data=True)}
    assert by_road["r0"]["free_ducts"] == 2 and by_road["r0"]["duct_id"] == "D1"
    assert by_road["r0"]["cost"] == pytest.approx(100.0)
    assert "free_ducts" not in by_road["r1"] and by_road["r1"]["cost"] == pytest.approx(10000.0)


def test_terminal_splits_the_nearest_edge():
    G = graph_from_roads(roads([LineString([(0, 0), (100, 0)])]), catalog=CAT)
    pts = gpd.GeoDataFrame({"pole_id": ["p1", "p2"]}, geometry=[Point(30, 4), Point(70, 0)], crs=CRS)
    H, nodes = attach_points(G, pts, id_column="pole_id")
    assert G.number_of_edges() == 1  # input untouched
    assert H.number_of_edges() == 4  # three road pieces and one spur
    spur = H.edges[nodes["p1"], next(iter(H.neighbors(nodes["p1"])))]
    assert spur["kind"] == "spur" and spur["length_m"] == pytest.approx(4.0)
    road_len = sum(d["length_m"] for _a, _b, d in H.edges(data=True) if d.get("kind") != "spur")
    assert road_len == pytest.approx(100.0)
    assert H.degree(nodes["p2"]) == 2  # lies on the road: the split node itself
    far = gpd.GeoDataFrame({"pole_id": ["x"]}, geometry=[Point(50, 900)], crs=CRS)
    with pytest.raises(RoutingError) as err:
        attach_points(G, far, id_column="pole_id", max_distance_m=100)
    assert err.value.unreachable == ["x"]


def test_attach_scales_and_is_consistent():
    layer = roads([LineString([(0, y), (1000, y)]) for y in range(0, 1000, 100)])
    G = graph_from_roads(layer, catalog=CAT)
    pts = gpd.GeoDataFrame(
        {"pid": range(500)}, geometry=[Point(2 * k, (k % 10) * 100 + 3) for k in range(500)], crs=CRS
    )
    H, nodes = attach_points(G, pts, id_column="pid")
    assert len(set(nodes.values())) == 500
    assert H.number_of_nodes() >= G.number_of_nodes() + 500


def test_crossings_rule():
    # a street (r0) with a side street (r1) at x=50, and a crossroads with r2 at x=150
    layer = roads(
        [LineString([(0, 0), (200, 0)]), LineString([(50, 0), (50, 100)]), LineString([(150, -100), (150, 100)])],
        road_class=["urban", "national", "urban"],
    )
    G = graph_from_roads(layer, catalog=CAT)
    node = {(a["x"], a["y"]): n for n, a in G.nodes(data=True)}
    straight = steiner_tree(G, [node[(0.0, 0.0)], node[(200.0, 0.0)]])
    assert [(c.road_id, c.road_class) for c in count_crossings(G, straight)] == [("r1", "national"), ("r2", "urban")]
    assert crossings_cost(G, straight, catalog=CAT) == 6000
    turn = steiner_tree(G, [node[(0.0, 0.0)], node[(50.0, 100.0)]])
    assert count_crossings(G, turn) == []


def test_single_part_roads_keep_their_geometries_and_multi_part_roads_are_split():
    line = LineString([(0, 0), (100, 0)])
    frame = roads([line], surface=["gravel"])
    G = graph_from_roads(frame, catalog=CAT, noded=True, snap_tolerance_m=0.0)
    ((_a, _b, d),) = G.edges(data=True)
    assert d["geometry"].equals(line)
    from shapely import MultiLineString

    multi = roads([MultiLineString([[(0, 0), (100, 0)], [(0, 50), (100, 50)]])], road_class=["national"])
    H = graph_from_roads(multi, catalog=CAT, noded=True, snap_tolerance_m=0.0)
    assert H.number_of_edges() == 2
    assert {d["road_class"] for *_e, d in H.edges(data=True)} == {"national"}
    assert sorted(d["cost"] for *_e, d in H.edges(data=True)) == pytest.approx([11000.0, 11000.0])


# -- faithful to real roads (issue 14) -----------------------------------------------------------------------------


def test_parallel_roads_between_the_same_junctions_are_both_kept():
    """A straight asphalt road and a bent concrete lane both join (0, 0) and (100, 0): both stay in the graph."""
    lane = LineString([(0, 0), (50, 40), (100, 0)])  # 2 x 64.03 m
    layer = roads([LineString([(0, 0), (100, 0)]), lane], surface=["asphalt", "concrete"])
    G = graph_from_roads(layer, catalog=CAT)
    assert G.graph["parallel_split"] == ["r1"]
    by_road: dict[str, list[dict]] = {}
    for _a, _b, d in G.edges(data=True):
        by_road.setdefault(d["road_id"], []).append(d)
    assert len(by_road["r0"]) == 1 and len(by_road["r1"]) == 2
    assert sum(d["length_m"] for d in by_road["r1"]) == pytest.approx(lane.length)
    assert sum(d["cost"] for d in by_road["r1"]) == pytest.approx(120 * lane.length)
    assert sum(d["length_m"] for *_e, d in G.edges(data=True)) == pytest.approx(100 + lane.length)
    # a pole 5 m from the lane gets a 5 m spur, not a 45 m one to the straight road
    pts = gpd.GeoDataFrame({"pid": ["p"]}, geometry=[Point(50, 45)], crs=CRS)
    H, nodes = attach_points(G, pts, id_column="pid")
    ((_p, _q, spur),) = list(H.edges(nodes["p"], data=True))
    assert spur["length_m"] == pytest.approx(5.0, abs=1e-6)


def test_a_bridge_over_a_road_is_not_a_junction():
    """A bridge (level 1) crosses a street at (50, 0): no node there, so no path turns at the crossing."""
    layer = roads([LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])], road_id=["street", "bridge"])
    layer["bridge"] = ["no", "yes"]
    G = graph_from_roads(layer, catalog=CAT)
    assert G.number_of_nodes() == 4 and G.number_of_edges() == 2
    assert {d["level"] for *_e, d in G.edges(data=True)} == {0, 1}
    assert not nx.is_connected(G)
    flat = graph_from_roads(layer.drop(columns="bridge"), catalog=CAT)
    assert flat.number_of_nodes() == 5 and nx.is_connected(flat)


def test_levels_join_where_a_road_ends_on_another_and_aliases_are_read():
    """A ramp (ground) ending on the middle of a flyover (cao_do 1) joins it there; the crossing street does not."""
    layer = roads(
        [LineString([(0, 0), (200, 0)]), LineString([(100, 0), (100, 80)]), LineString([(150, -50), (150, 50)])],
        road_id=["flyover", "ramp", "street"],
    )
    layer["cao_do"] = [1, 0, None]
    G = graph_from_roads(layer, catalog=CAT)
    at = {(a["x"], a["y"]): n for n, a in G.nodes(data=True)}
    assert G.degree(at[(100.0, 0.0)]) == 3  # the ramp joins the flyover, at one node (no zero-length join)
    assert sum((a["x"], a["y"]) == (100.0, 0.0) for _n, a in G.nodes(data=True)) == 1
    assert G.graph["joined_dangling"] == 0
    assert (150.0, 0.0) not in at  # the street passes under it
    tunnel = roads([LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])])
    tunnel["ham"] = [False, True]
    assert graph_from_roads(tunnel, catalog=CAT).number_of_nodes() == 4


def test_a_level_that_is_not_a_whole_number_is_a_layer_error():
    layer = roads([LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])])
    layer["level"] = [0, "high"]
    with pytest.raises(LayerError, match="r1") as err:
        graph_from_roads(layer, catalog=CAT)
    assert err.value.problems[0].column == "level"


def test_web_mercator_roads_are_reprojected_not_taken_as_metres():
    """1 km east-west at 50 N measures 1,556 m in EPSG:3857; the graph must say 1,000 m."""
    geo = roads([LineString([(10.0, 50.0), (10.0 + 1000 / 71_695.8, 50.0)])], crs="EPSG:4326")
    merc = geo.to_crs("EPSG:3857")
    assert merc.geometry.length.iloc[0] == pytest.approx(1556, rel=0.01)
    G = graph_from_roads(merc, catalog=CAT)
    assert G.graph["crs"] == "EPSG:32632"
    ((_a, _b, d),) = G.edges(data=True)
    assert d["length_m"] == pytest.approx(1000.0, rel=0.003)
    assert d["cost"] == pytest.approx(100 * d["length_m"])
    pts = gpd.GeoDataFrame({"pid": ["p"]}, geometry=[Point(10.005, 50.0)], crs="EPSG:4326").to_crs("EPSG:3857")
    _H, nodes = attach_points(G, pts, id_column="pid")
    assert "p" in nodes
