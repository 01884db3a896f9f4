"""Each operator's cables led to its own exchange or POP (issue 12): constructed street grids in EPSG:32648."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from gisplan._errors import PlanningError
from gisplan.io.layers import load_layer
from gisplan.underground.planner import UndergroundParams, plan_undergrounding

X0, Y0 = 400_000.0, 1_100_000.0
CRS = "EPSG:32648"
#: West exchange of VNPT, east POP of Viettel (opposite ends of the grid).
EA, EB = (-20.0, 0.0), (620.0, 100.0)


def _xy(x: float, y: float) -> tuple[float, float]:
    return (X0 + x, Y0 + y)


def _layers(owners: list[object] | None = ("VNPT", "Viettel"), *, blocks: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Two streets (y = 0 and 100, x 0..600; one street per block with ``blocks``) joined every 100 m; poles along
    y = 100 from x = 150 to 400.

    VNPT hangs cables from x 150 to 250, Viettel from 300 to 400, SCTV (no exchange of its own) 200 to 250.
    """
    roads = [("H0", LineString([_xy(0, 0), _xy(600, 0)])), ("H1", LineString([_xy(0, 100), _xy(600, 100)]))]
    if blocks:  # one street per block (phasing opens a street at once)
        roads = [
            (f"H{j}-{i}", LineString([_xy(100 * i, 100 * j), _xy(100 * i + 100, 100 * j)]))
            for j in (0, 1)
            for i in range(6)
        ]
    roads += [(f"V{i}", LineString([_xy(100 * i, 0), _xy(100 * i, 100)])) for i in range(7)]
    rd = gpd.GeoDataFrame(
        {
            "road_id": [r[0] for r in roads],
            "name": [r[0] for r in roads],
            "road_class": ["urban"] * len(roads),
            "surface": ["asphalt"] * len(roads),
        },
        geometry=[r[1] for r in roads],
        crs=CRS,
    )
    xs = [150, 200, 250, 300, 350, 400] + ([450] if blocks else [])
    poles = gpd.GeoDataFrame(
        {"pole_id": [f"P{x}" for x in xs], "owner": ["telecom"] * len(xs)},
        geometry=[Point(_xy(x, 105)) for x in xs],
        crs=CRS,
    )
    spans = [
        ("A1", "VNPT", "P150", "P200", "fibre"),
        ("A2", "VNPT", "P200", "P250", "fibre"),
        ("B1", "Viettel", "P300", "P350", "fibre"),
        ("B2", "Viettel", "P350", "P400", "fibre"),
        ("S1", "SCTV", "P200", "P250", "coax"),
    ]
    if blocks:  # a VNPT span among Viettel's, far from its own exchange
        spans.append(("A3", "VNPT", "P400", "P450", "fibre"))
    at = {p: g for p, g in zip(poles["pole_id"], poles.geometry, strict=True)}
    cables = gpd.GeoDataFrame(
        {
            "cable_id": [s[0] for s in spans],
            "placement": ["aerial"] * len(spans),
            "kind": [s[4] for s in spans],
            "fibre_count": [24 if s[4] == "fibre" else None for s in spans],
            "owner": [s[1] for s in spans],
            "from_pole": [s[2] for s in spans],
            "to_pole": [s[3] for s in spans],
        },
        geometry=[LineString([at[s[2]], at[s[3]]]) for s in spans],
        crs=CRS,
    )
    cols = {"site_id": ["EA", "EB"], "kind": ["exchange", "pop"], "name": ["A", "B"], "has_fibre": [True, True]}
    if owners is not None:
        cols["owner"] = list(owners)
    sites = gpd.GeoDataFrame(cols, geometry=[Point(_xy(*EA)), Point(_xy(*EB))], crs=CRS)
    return {"roads": rd, "poles": poles, "cables": cables, "sites": sites}


ZONE = gpd.GeoDataFrame({"name": ["grid"]}, geometry=[box(*_xy(100, 50), *_xy(450, 150))], crs=CRS)


def _plan(layers: dict[str, gpd.GeoDataFrame], **kw):
    kw.setdefault("budget_per_year_vnd", 10_000_000_000)
    params = UndergroundParams(start_year=2027, **kw)
    return plan_undergrounding(layers, ZONE, params)


def _exchange_of(plan) -> dict[str, str]:
    cr = plan.layers["cables_rerouted"]
    return dict(zip(cr["cable_id"], cr["exchange_id"], strict=True))


def _near(frame: gpd.GeoDataFrame, xy: tuple[float, float], d: float) -> gpd.GeoDataFrame:
    return frame[frame.distance(Point(_xy(*xy))) <= d]


def test_each_operator_is_led_to_its_own_exchange_and_the_trench_reaches_both():
    plan = _plan(_layers())
    ex = _exchange_of(plan)
    assert ex["A1"] == ex["A2"] == "EA"
    assert ex["B1"] == ex["B2"] == "EB"
    assert plan.kpis["roots_by_operator"]["VNPT"] == "EA"
    assert plan.kpis["roots_by_operator"]["Viettel"] == "EB"
    assert plan.kpis["n_roots"] == 2 and plan.kpis["root_sites"] == ["EA", "EB"]
    tr = plan.layers["trenches"]
    # the lead-in reaches each site (the spur's far end is the site itself)
    assert len(_near(tr, EA, 1.0)) >= 1
    assert len(_near(tr, EB, 1.0)) >= 1
    # an exchange chamber where each site's lead-in joins the street
    ch = plan.layers["chambers"]
    exch = ch[ch["reason"] == "exchange"]
    assert len(_near(exch, (0, 0), 25.0)) == 1
    assert len(_near(exch, (600, 100), 25.0)) == 1


def test_ducts_near_each_exchange_carry_only_the_cables_led_to_it():
    plan = _plan(_layers())
    tr = plan.layers["trenches"]
    west = _near(tr, EA, 1.0)  # VNPT's lead-in
    east = _near(tr, EB, 1.0)  # Viettel's, and SCTV's (EB is the common root: see the next test)
    assert len(west) and all(ops == "VNPT:1" for ops in west["operators"])
    assert len(east) and all(ops == "SCTV:1, Viettel:1" for ops in east["operators"])
    # the street between the two groups carries each operator towards its own root only
    mid = tr[tr.intersects(Point(_xy(275, 100)).buffer(1.0))]
    assert len(mid) and all("VNPT" not in ops or "Viettel" not in ops for ops in mid["operators"])


def test_operator_without_an_exchange_falls_back_to_the_common_root_and_is_named():
    plan = _plan(_layers())
    common = plan.kpis["root_site"]
    # the common root is the one most terminals reach first: poles at x 300..400 are nearer EB, 150..200 EA
    assert common == "EB"
    assert _exchange_of(plan)["S1"] == common
    assert plan.kpis["roots_by_operator"]["SCTV"] == common
    notes = [m for m in plan.messages if "SCTV" in m]
    assert len(notes) == 1
    assert "operator SCTV" in notes[0] and "Nhà mạng SCTV" in notes[0] and common in notes[0]
    assert not any("operator VNPT:" in m or "operator Viettel:" in m for m in plan.messages)


def test_owner_is_matched_whatever_the_case_and_spaces():
    plan = _plan(_layers([" vnpt", "VIETTEL "]))
    ex = _exchange_of(plan)
    assert ex["A1"] == "EA" and ex["B1"] == "EB"


def test_exchange_ids_still_restrict_the_choice():
    plan = _plan(_layers(), exchange_ids=("EA",))
    assert set(_exchange_of(plan).values()) == {"EA"}
    assert plan.kpis["n_roots"] == 1
    assert any("operator Viettel" in m for m in plan.messages)
    tr = plan.layers["trenches"]
    assert len(_near(tr, EB, 50.0)) == 0


def test_sites_without_owner_work_as_before():
    plan = _plan(_layers(owners=None))
    ex = _exchange_of(plan)
    assert len(set(ex.values())) == 1 and set(ex.values()) == {plan.kpis["root_site"]}
    assert plan.kpis["n_roots"] == 1
    # one common root: the trench does not go to the other site
    other = EB if plan.kpis["root_site"] == "EA" else EA
    assert len(_near(plan.layers["trenches"], other, 50.0)) == 0
    assert sum("names no owner" in m for m in plan.messages) == 3  # one per operator
    # the same plan as with an empty owner column
    same = _plan(_layers(["", ""]))
    assert same.kpis["trench_km"] == plan.kpis["trench_km"] and same.total_vnd == plan.total_vnd


def test_a_non_text_owner_is_refused_with_row_and_column():
    with pytest.raises(
        PlanningError, match=r"layer sites, row EB, column owner.*Tiếng|layer sites, row EB, column owner"
    ):
        _plan(_layers(["VNPT", 7]))
    with pytest.raises(PlanningError) as exc:
        _plan(_layers(["VNPT", 7]))
    assert "owner" in str(exc.value) and "tên nhà mạng" in str(exc.value)


def test_sites_owner_aliases_are_read_and_missing_owner_is_filled_empty(tmp_path):
    sites = _layers()["sites"].rename(columns={"owner": "nha_mang"}).to_crs("EPSG:4326")
    p = tmp_path / "sites.geojson"
    sites.to_file(p, driver="GeoJSON")
    got = load_layer(p, "sites")
    assert list(got.sort_values("site_id")["owner"]) == ["VNPT", "Viettel"]
    p2 = tmp_path / "bare.geojson"
    sites.drop(columns=["nha_mang"]).to_file(p2, driver="GeoJSON")
    assert list(load_layer(p2, "sites")["owner"]) == ["", ""]


# ---- duct rent per operator by cable diameter -------------------------------------------------------------------


def _yaml_params() -> dict[str, float]:
    """The catalog's params read straight from the file (not through gisplan.catalog)."""
    import importlib.resources

    import yaml

    raw = yaml.safe_load(importlib.resources.files("gisplan.catalog").joinpath("catalog.yaml").read_text("utf-8"))
    return dict(raw["params"])


def _copper_layers() -> dict[str, gpd.GeoDataFrame]:
    """As :func:`_layers`, with one of VNPT's spans a copper cable (22 mm: the 20-35 mm rent class)."""
    layers = _layers()
    cab = layers["cables"].copy()
    cab.loc[cab["cable_id"] == "A2", ["kind", "fibre_count"]] = ["copper", None]
    layers["cables"] = cab
    return layers


def test_duct_rent_per_operator_recomputes_from_the_unit_prices():
    par = _yaml_params()
    plan = _plan(_copper_layers())
    cr = plan.layers["cables_rerouted"].set_index("cable_id")
    ceiling = par["duct_rent_ceiling_vnd_per_m_year"]
    # fibre 24 is 10 mm (5-10 mm class), coax 15 mm (10-15 mm), copper 22 mm (20-35 mm, capped by the ceiling)
    fibre = 12 * par["duct_rent_d10_vnd_per_m_month"]
    coax = 12 * par["duct_rent_d15_vnd_per_m_month"]
    copper = min(12 * par["duct_rent_d35_vnd_per_m_month"], ceiling)
    assert copper == ceiling < 12 * par["duct_rent_d35_vnd_per_m_month"]  # the ceiling binds for this class
    want = {
        "VNPT": cr.loc["A1", "underground_m"] * fibre + cr.loc["A2", "underground_m"] * copper,
        "Viettel": (cr.loc["B1", "underground_m"] + cr.loc["B2", "underground_m"]) * fibre,
        "SCTV": cr.loc["S1", "underground_m"] * coax,
    }
    got = plan.kpis["duct_rent_vnd_per_year"]
    assert set(got) == set(want)
    for op, v in want.items():
        assert v > 0 and abs(got[op] - v) <= 1, op
    assert plan.kpis["operator_duct_m_by_class"]["VNPT"]["duct_rent_d35_vnd_per_m_month"] == pytest.approx(
        cr.loc["A2", "underground_m"], abs=1e-3
    )


def test_duct_rent_without_a_ceiling_and_with_another_schedule():
    from gisplan.catalog._catalog import load_catalog

    cat = load_catalog(
        overrides={"params": {"duct_rent_ceiling_vnd_per_m_year": 0, "duct_rent_d35_vnd_per_m_month": 10_000}}
    )
    params = UndergroundParams(budget_per_year_vnd=10_000_000_000, start_year=2027)
    plan = plan_undergrounding(_copper_layers(), ZONE, params, catalog=cat)
    cr = plan.layers["cables_rerouted"].set_index("cable_id")
    fibre = 12 * _yaml_params()["duct_rent_d10_vnd_per_m_month"]
    want = cr.loc["A1", "underground_m"] * fibre + cr.loc["A2", "underground_m"] * 120_000
    assert abs(plan.kpis["duct_rent_vnd_per_year"]["VNPT"] - want) <= 1


def test_duct_rent_in_the_xlsx_is_a_formula_over_the_rates_with_its_figure(tmp_path):
    import openpyxl

    from gisplan.outputs.export import boq_to_xlsx

    plan = _plan(_copper_layers())
    path = boq_to_xlsx(plan.boq, tmp_path / "boq.xlsx", kpis=plan.kpis, plan_kind="underground")
    f = openpyxl.load_workbook(path)["Tổng mức đầu tư - Estimate"]
    v = openpyxl.load_workbook(path, data_only=True)["Tổng mức đầu tư - Estimate"]
    rows = {str(r[0].value): r[0].row for r in f.iter_rows(min_col=1, max_col=1) if r[0].value}
    head = next(r for label, r in rows.items() if label.endswith("Yearly duct rent by cable diameter"))
    rates = head + 2
    # the yearly rate of each class: 12 x the monthly rate above, capped by the ceiling, computed by the formula
    assert "MIN(12*$B$" in str(f.cell(row=rates, column=2).value)
    n = 6
    for k in range(3):
        r = rates + 1 + k
        op = f.cell(row=r, column=1).value
        formula = str(f.cell(row=r, column=2 + n).value)
        assert formula.startswith("=ROUND(SUMPRODUCT(")
        metres = [float(v.cell(row=r, column=2 + j).value) for j in range(n)]
        yearly = [float(v.cell(row=rates, column=2 + j).value) for j in range(n)]
        recomputed = round(sum(m * y for m, y in zip(metres, yearly, strict=True)))
        assert v.cell(row=r, column=2 + n).value == plan.kpis["duct_rent_vnd_per_year"][op]
        assert abs(recomputed - plan.kpis["duct_rent_vnd_per_year"][op]) <= 1


def test_a_far_own_pop_is_kept_when_the_road_graph_is_clipped():
    from gisplan.underground.settings import UndergroundSettings

    # Viettel's only POP 3 km east, beyond the clip's reach from the nearest exchange (3 x 120 m + the 2 km margin)
    layers = _layers()
    far = gpd.GeoDataFrame(
        {"road_id": ["E"], "name": ["E"], "road_class": ["urban"], "surface": ["asphalt"]},
        geometry=[LineString([_xy(600, 100), _xy(3600, 100)])],
        crs=CRS,
    )
    layers["roads"] = gpd.GeoDataFrame(gpd.pd.concat([layers["roads"], far], ignore_index=True), crs=CRS)
    layers["sites"] = layers["sites"].set_geometry([Point(_xy(*EA)), Point(_xy(3620, 100))], crs=CRS)
    params = UndergroundParams(budget_per_year_vnd=50_000_000_000, start_year=2027)
    clipped = plan_undergrounding(layers, ZONE, params, settings=UndergroundSettings(clip_min_roads=1))
    whole = plan_undergrounding(layers, ZONE, params)
    assert clipped.kpis["roots_by_operator"]["Viettel"] == whole.kpis["roots_by_operator"]["Viettel"] == "EB"
    assert clipped.kpis["trench_km"] == whole.kpis["trench_km"] > 3.0
    assert any("clipped" in m for m in clipped.messages)


def _way_home_years(plan, sites: gpd.GeoDataFrame) -> list[tuple[str, int, int]]:
    """(cable, its year, the latest year of the trench on its way from its route's start to its own exchange)."""
    import networkx as nx

    tr = plan.layers["trenches"]
    G = nx.Graph()
    for g, year in zip(tr.geometry, tr["year"], strict=True):
        a, b = (tuple(round(c, 2) for c in g.coords[k]) for k in (0, -1))
        G.add_edge(a, b, length=g.length, year=int(year))
    nodes = list(G.nodes)

    def nearest(p: Point):
        return min(nodes, key=lambda n: Point(n).distance(p))

    at = dict(zip(sites["site_id"], sites.geometry, strict=True))
    out = []
    cr = plan.layers["cables_rerouted"]
    for cid, ex, year, g in zip(cr["cable_id"], cr["exchange_id"], cr["year"], cr.geometry, strict=True):
        way = nx.shortest_path(G, nearest(Point(g.coords[0])), nearest(at[ex]), weight="length")
        latest = max((G.edges[a, b]["year"] for a, b in itertools.pairwise(way)), default=int(year))
        out.append((cid, int(year), latest))
    return out


def test_a_cable_moves_in_the_year_its_way_to_its_own_exchange_is_built():
    layers = _layers(blocks=True)
    full = _plan(layers)
    plan = _plan(layers, budget_per_year_vnd=int(full.total_vnd * 0.3))
    assert plan.kpis["n_phases"] >= 3
    years = _way_home_years(plan, layers["sites"])
    assert all(latest <= year for _c, year, latest in years), years
