"""gisplan.workflow.actions and gisplan.outputs.tables: what the CLI and the app share gives one answer."""

from __future__ import annotations

import math

import pytest
import yaml
from shapely.geometry import Polygon, mapping, shape

from gisplan._errors import ScenarioError
from gisplan.demo import DUONG_DONG_ZONE, demo_zone_duong_dong, demo_zone_feature
from gisplan.outputs.tables import boq_by, cost_per_person_curve, estimate_table, phase_summary
from gisplan.store import VersionStore
from gisplan.workflow import actions
from gisplan.workflow.demo import scenarios_dir
from gisplan.workflow.runs import run_scenario, write_run
from gisplan.workflow.scenario import load_scenario, parse_scenario


def test_the_demo_zone_is_one_object_for_the_scenario_file_and_the_app():
    doc = yaml.safe_load((scenarios_dir() / "duong_dong_underground.yaml").read_text(encoding="utf-8"))
    (feature,) = doc["geometries"]["zones"]["features"]
    in_file = shape(feature["geometry"])
    assert in_file.equals_exact(demo_zone_duong_dong(), tolerance=0.0)
    assert [tuple(c) for c in feature["geometry"]["coordinates"][0]] == list(DUONG_DONG_ZONE)
    assert shape(demo_zone_feature()["geometry"]).equals(in_file)
    # a ring of 16 sides about 500 m in radius around central Dương Đông (≈ 0.78 km²), not a 33-vertex variant
    assert len(DUONG_DONG_ZONE) == 17
    assert 0.70e6 < _area_m2(in_file) < 0.80e6


def _area_m2(geom: Polygon) -> float:
    import geopandas as gpd

    return float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs("EPSG:32648").area.iloc[0])


@pytest.fixture(scope="module")
def cli_and_app_runs():
    """The demo scenario file as the CLI runs it, and the same plan made the way the app makes it."""
    cli = run_scenario(load_scenario(scenarios_dir() / "duong_dong_underground.yaml"))
    scen = actions.underground_scenario(
        title="Ngầm hóa trung tâm Dương Đông / Undergrounding central Dương Đông",
        layers={"source": "demo"},
        zones=[demo_zone_feature()],
        budget_per_year_vnd=actions.vnd_from_billions(12),
        start_year=2027,
        manhole_spacing_m=200.0,
    )
    app = run_scenario(parse_scenario(actions.scenario_yaml(scen)))
    return cli, app


@pytest.mark.slow
def test_the_app_and_the_cli_plan_the_demo_zone_alike(cli_and_app_runs):
    cli, app = cli_and_app_runs
    assert app.plan.total_vnd == cli.plan.total_vnd
    assert app.plan.kpis["trench_km"] == cli.plan.kpis["trench_km"]
    assert app.plan.boq.equals(cli.plan.boq)


@pytest.mark.slow
def test_estimate_table_is_the_decree_10_estimate_by_phase(cli_and_app_runs):
    plan = cli_and_app_runs[0].plan
    vi, en = estimate_table(plan, "vi"), estimate_table(plan, "en")
    phases = sorted(plan.kpis["phase_totals_vnd"])
    assert list(vi.columns) == ["line", *phases, "total"]
    assert vi["line"].iloc[0] == "Chi phí xây dựng" and en["line"].iloc[0] == "Construction"
    assert en["line"].iloc[-1] == "Total investment" and len(vi) == 9
    body, total = vi.iloc[:-1], vi.iloc[-1]
    for col in [*phases, "total"]:  # the lines add up to the total investment, phase by phase
        assert abs(int(body[col].sum()) - int(total[col])) <= len(body), col
    for _, row in vi.iterrows():  # and each line's phases to its total
        assert abs(sum(int(row[p]) for p in phases) - int(row["total"])) <= len(phases), row["line"]
    assert int(total["total"]) == plan.kpis["investment_total_vnd"]
    assert int(total["total"]) > plan.kpis["cost_vnd"]  # VAT, management, consultancy, contingency on top of the BOQ
    with pytest.raises(ValueError, match="lang"):
        estimate_table(plan, "fr")


@pytest.mark.slow
def test_phase_summary_agrees_with_the_kpis_of_the_same_name(cli_and_app_runs):
    plan = cli_and_app_runs[0].plan
    table = phase_summary(plan)
    assert list(table.columns) == ["phase", "trench_km", "reused_duct_km", "amount_vnd"]
    assert list(table["phase"]) == sorted(plan.kpis["phase_totals_vnd"])
    # new trench only (reused ducts apart), like the KPI: the page once added the reused ducts and disagreed
    assert math.isclose(table["trench_km"].sum(), plan.kpis["trench_km"], abs_tol=0.002)
    assert math.isclose(table["reused_duct_km"].sum(), plan.kpis["reused_duct_km"], abs_tol=0.002)
    assert int(table["amount_vnd"].sum()) == plan.kpis["cost_vnd"]
    assert dict(zip(table["phase"], table["amount_vnd"], strict=True)) == plan.kpis["phase_totals_vnd"]
    by_category = boq_by(plan.boq, "category")
    assert int(by_category["amount_vnd"].sum()) == plan.kpis["cost_vnd"]
    with pytest.raises(ValueError, match="phase, category"):
        boq_by(plan.boq, "colour")


@pytest.mark.slow
def test_cost_per_person_curve_runs_from_cheapest_to_dearest():
    scen = load_scenario(scenarios_dir() / "remote_wifi.yaml")
    plan = run_scenario(scen).plan
    curve = cost_per_person_curve(plan)
    sites = plan.layers["sites"]
    assert len(curve) == len(sites)
    assert curve["vnd_per_person"].is_monotonic_increasing
    assert int(curve["cumulative_cost_vnd"].iloc[-1]) == int(sites["cost_vnd"].sum())
    assert int(curve["cumulative_people"].iloc[-1]) == int(sites["people_covered"].sum())
    first = curve.iloc[0]
    cheapest = min(sites.itertuples(), key=lambda s: (s.cost_vnd / max(s.people_covered, 1), s.site_id))
    assert first["site_id"] == cheapest.site_id


def test_budget_in_billions_becomes_whole_vnd():
    assert actions.vnd_from_billions(12) == 12_000_000_000
    assert actions.vnd_from_billions(0.1) == 100_000_000
    assert actions.vnd_from_billions(12.345678901) == 12_345_678_901
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ScenarioError, match="billions of VND"):
            actions.vnd_from_billions(bad)


def test_scenarios_from_drawings_are_valid_scenarios():
    square = Polygon([(103.96, 10.21), (103.97, 10.21), (103.97, 10.22), (103.96, 10.21)])
    ug = actions.underground_scenario(
        title="t",
        layers={"source": "demo"},
        zones=[mapping(square)],  # a bare geometry is taken as well as a drawn Feature
        budget_per_year_vnd=5_000_000_000,
        start_year=2028,
        manhole_spacing_m=150,
    )
    scen = parse_scenario(actions.scenario_yaml(ug))
    assert scen.values["underground"]["start_year"] == 2028
    assert scen.values["underground"]["manhole_spacing_m"] == 150.0
    with pytest.raises(ScenarioError, match="draw at least one zone"):
        actions.underground_scenario(
            title="t", layers={}, zones=[], budget_per_year_vnd=1, start_year=2027, manhole_spacing_m=100
        )
    site = {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Point", "coordinates": [104, 10.3]}}
    wifi = actions.wifi_scenario(
        title="w", layers={"source": "demo"}, year=2027, cover_all=False, budget_vnd=900_000_000, candidate_sites=[site]
    )
    values = parse_scenario(actions.scenario_yaml(wifi)).values
    assert values["wifi"]["budget_vnd"] == 900_000_000 and not values["wifi"].get("cover_all")
    assert wifi["geometries"]["candidate_sites"]["features"][0]["properties"] == {}
    with pytest.raises(ScenarioError, match="needs a budget"):
        actions.wifi_scenario(title="w", layers={}, year=2027, cover_all=False)


@pytest.mark.slow
def test_save_run_chains_versions_on_the_head_and_keeps_the_run_kpis(tmp_path, cli_and_app_runs):
    cli, app = cli_and_app_runs
    run_dir = tmp_path / "dd"
    write_run(cli, run_dir)
    store = VersionStore(tmp_path / "store.sqlite")
    first = actions.save_run(store, run_dir, author=" A ", message=" m1 ", on_head=True)
    assert first.scenario_name == "dd" and first.parent is None and first.author == "A"
    assert first.kpis["cost_vnd"] == cli.plan.total_vnd
    revised = tmp_path / "dd-app"
    write_run(app, revised)  # the same plan drawn in the app: another scenario text, so another version
    second = actions.save_run(store, revised, name="dd", author="A", message="m2", on_head=True)
    assert second.parent == first.id
    with pytest.raises(ScenarioError, match=r"manifest\.json"):  # a folder that is no run folder saves nothing
        actions.save_run(store, tmp_path, author="A", message="m")
    assert [v.id for v in store.log()] == [second.id, first.id]


def test_the_errors_a_planner_meets_in_the_app_say_it_in_vietnamese_too(tmp_path):
    from gisplan.store import VersionStore

    with pytest.raises(ScenarioError, match="finite number") as budget:
        actions.vnd_from_billions(-1)
    with pytest.raises(ScenarioError, match="draw at least one zone") as zones:
        actions.underground_scenario(
            title="x", layers={"source": "demo"}, zones=[], budget_per_year_vnd=1, start_year=2027, manhole_spacing_m=50
        )
    store = VersionStore(tmp_path / "store.sqlite")
    v = store.save(
        scenario_name="s", scenario_text="x: 1\n", artifacts={"a.txt": b"a"}, kpis={}, author="lan", message="m"
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine", encoding="utf-8")
    from gisplan._errors import StoreError

    with pytest.raises(StoreError, match="already exists") as exported:
        store.export_version(v.id, tmp_path / "out")
    for exc in (budget, zones, exported):
        assert " / " in str(exc.value) and any(ch in str(exc.value) for ch in "ạảấầậắằẵặẹẻếềểễệịọỏốồổộớờởợụủứừửữựđ")
    assert (tmp_path / "out" / "keep.txt").read_text(encoding="utf-8") == "mine"
