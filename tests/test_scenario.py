"""Scenario files: strict parsing with key paths in messages, the template in step with the parser, demo scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gisplan._errors import ScenarioError
from gisplan.workflow.scenario import load_scenario, parse_scenario, render_template, scenario_catalog, spec_paths

ROOT = Path(__file__).resolve().parents[1]
ZONE = {
    "type": "Polygon",
    "coordinates": [[[103.958, 10.217], [103.963, 10.217], [103.963, 10.222], [103.958, 10.222], [103.958, 10.217]]],
}


def minimal(**extra) -> str:
    doc = {
        "title": "t",
        "layers": {"source": "demo"},
        "geometries": {"zones": ZONE},
        "underground": {"enabled": True, "budget_per_year_vnd": 10_000_000_000},
    }
    for k, v in extra.items():
        doc.setdefault(k, {})
        if isinstance(v, dict):
            doc[k].update(v)
        else:
            doc[k] = v
    return yaml.safe_dump(doc, allow_unicode=True)


def paths_of(exc) -> set[str]:
    return {p.column for p in exc.value.problems}


def _yaml_paths(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and f"{prefix}{k}" in {"layers", "geometries", "underground", "wifi", "catalog"}:
            yield from _yaml_paths(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_template_is_rendered_from_the_parser_spec():
    text = (ROOT / "scenarios" / "template.yaml").read_text(encoding="utf-8")
    assert text == render_template(), "scenarios/template.yaml is stale: write render_template() to it"
    assert sorted(_yaml_paths(yaml.safe_load(text))) == sorted(spec_paths())
    for path in spec_paths():
        key = path.split(".")[-1]
        assert f"{key}:" in text


def test_defaults_are_filled_and_geometry_parsed():
    s = parse_scenario(minimal())
    assert s.values["underground"]["start_year"] == 2027
    assert s.values["wifi"]["enabled"] is False
    assert s.geometries["zones"].crs.to_epsg() == 4326
    assert len(s.geometries["zones"]) == 1


def test_unknown_key_names_the_nearest_valid_key():
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(minimal(underground={"budget_per_yaer_vnd": 5}))
    (p,) = [p for p in exc.value.problems if p.column == "underground.budget_per_yaer_vnd"]
    assert "budget_per_year_vnd" in p.hint


def test_bad_types_and_values_name_their_path():
    text = minimal(
        wifi={"enabled": True, "budget_vnd": "lots", "min_quality": "great"},
        underground={"start_year": 1800, "manhole_spacing_m": "far"},
    )
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text)
    assert {"wifi.budget_vnd", "wifi.min_quality", "underground.start_year", "underground.manhole_spacing_m"} <= (
        paths_of(exc)
    )
    assert "wifi.budget_vnd: expected a whole number" in str(exc.value)


def test_missing_required_and_cross_key_rules():
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(yaml.safe_dump({"layers": {"source": "demo"}, "underground": {"enabled": True}}))
    assert {"title", "underground.budget_per_year_vnd", "geometries.zones"} <= paths_of(exc)
    with pytest.raises(ScenarioError, match="plans nothing"):
        parse_scenario(yaml.safe_dump({"title": "x", "layers": {"source": "demo"}}))


def test_bad_geojson_and_yaml_syntax():
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(minimal(geometries={"zones": {"type": "Polygn", "coordinates": []}}))
    assert "geometries.zones" in paths_of(exc)
    with pytest.raises(ScenarioError, match="line 2"):
        parse_scenario("title: x\n  bad: : indent\n")


def test_catalog_overrides_are_checked_with_the_scenario():
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(minimal(catalog={"prices": {"MH.STX": 1}}))
    (p,) = exc.value.problems
    assert p.column.startswith("catalog.") and "MH.STD" in p.hint
    s = parse_scenario(minimal(catalog={"prices": {"MH.STD": 21_000_000}}))
    assert scenario_catalog(s).price("MH.STD") == 21_000_000


def test_digest_ignores_comments_and_key_order():
    a = parse_scenario(minimal())
    b = parse_scenario("# a comment\n" + minimal())
    assert a.digest == b.digest
    c = parse_scenario(minimal(underground={"start_year": 2028}))
    assert c.digest != a.digest


@pytest.mark.parametrize(
    "name", ["duong_dong_underground", "duong_dong_underground_v2", "remote_wifi", "phu_quoc_combined"]
)
def test_demo_scenarios_parse(name):
    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert s.name == name and s.title


def test_demo_v2_changes_zone_and_budget():
    a = load_scenario(ROOT / "scenarios" / "duong_dong_underground.yaml")
    b = load_scenario(ROOT / "scenarios" / "duong_dong_underground_v2.yaml")
    assert b.values["underground"]["budget_per_year_vnd"] > a.values["underground"]["budget_per_year_vnd"]
    za, zb = a.geometries["zones"].union_all(), b.geometries["zones"].union_all()
    assert zb.contains(za) and zb.area > za.area


def test_layer_file_kinds_are_checked_when_parsing():
    """A typo in a layers.files kind is a scenario problem naming the nearest kind (it was a traceback at run)."""
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(minimal(layers={"source": "demo", "files": {"pole": "cot.csv"}}))
    (p,) = exc.value.problems
    assert p.column == "layers.files.pole" and "'poles'" in p.hint and "không" in p.message


def test_a_geometry_file_that_fails_says_where_it_was_looked_for(tmp_path):
    path = tmp_path / "plans" / "s.yaml"
    path.parent.mkdir()
    text = minimal(geometries={"zones": "vung.geojson"}, underground={"budget_per_year_vnd": "12 tỷ"})
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, path=path)
    by_path = {p.column: p for p in exc.value.problems}
    assert set(by_path) == {"geometries.zones", "underground.budget_per_year_vnd"}  # no follow-up noise
    assert str(tmp_path / "plans" / "vung.geojson") in by_path["geometries.zones"].hint
    assert "problem(s)" not in by_path["geometries.zones"].message
    assert "cần số nguyên" in by_path["underground.budget_per_year_vnd"].message


def test_saved_scenario_values_do_not_open_files():
    from gisplan.workflow.scenario import scenario_values

    values = scenario_values(minimal(geometries={"zones": "nowhere.geojson"}, catalog={"file": "gia.yaml"}))
    assert values["geometries"]["zones"] == "nowhere.geojson" and values["catalog"]["file"] == "gia.yaml"
    assert values["wifi"]["time_limit_s"] == 30.0  # defaults filled in
    with pytest.raises(ScenarioError):
        scenario_values("- a\n- b\n")


@pytest.mark.parametrize("name", ["remote_wifi", "phu_quoc_combined"])
def test_demo_wifi_scenarios_check_their_hops_over_the_demo_raster(name):
    """Both demo scenarios that plan wifi name the demo's elevation raster, and it is there: without it every radio
    hop would be taken on trust."""
    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert s.values["wifi"]["enabled"]
    raster = s.resolve(s.values["wifi"]["elevation"])
    assert raster.name == "phu_quoc_dem.tif" and raster.is_file()
