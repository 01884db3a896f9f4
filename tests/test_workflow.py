"""Scenario runs end to end: determinism, run folders, the store CLI, and comparisons."""

from __future__ import annotations

import json
import re
import shutil

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from boq_check import catalog_prices, recompute_boq
from shapely.geometry import Point, mapping

from gisplan.cli.main import main
from gisplan.demo.data import demo_wifi_focus
from gisplan.workflow.compare import compare_runs
from gisplan.workflow.runs import read_run, run_scenario, write_run
from gisplan.workflow.scenario import parse_scenario

# a 150 m circle in central Dương Đông: a few dozen aerial spans, quick to plan
CENTRE = (103.9607, 10.2201)


def zone(radius_deg: float = 0.0014) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "test"},
                "geometry": mapping(Point(*CENTRE).buffer(radius_deg, 16)),
            }
        ],
    }


def scenario_text(*, budget: int = 5_000_000_000, radius: float = 0.0014, wifi: bool = False) -> str:
    doc: dict = {
        "title": "Test Dương Đông",
        "layers": {"source": "demo"},
        "geometries": {"zones": zone(radius)},
        "underground": {"enabled": True, "budget_per_year_vnd": budget, "start_year": 2027},
    }
    if wifi:
        doc["geometries"]["focus_areas"] = mapping(demo_wifi_focus()["hon_thom"])
        doc["wifi"] = {"enabled": True, "cover_all": True, "generate_candidates": True}
    return yaml.safe_dump(doc, allow_unicode=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, text in (
        ("a1", scenario_text()),
        ("a2", scenario_text()),
        ("b", scenario_text(budget=3_000_000_000, radius=0.0018)),
    ):
        path = base / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        scen = parse_scenario(text, path=path)
        write_run(run_scenario(scen), base / name)
        out[name] = base / name
    return out


def test_run_folder_has_every_file(runs):
    names = {p.name for p in runs["a1"].iterdir()}
    assert {"plan.gpkg", "boq.xlsx", "boq.csv", "map.html", "kpis.json", "scenario.yaml", "manifest.json"} <= names
    manifest = json.loads((runs["a1"] / "manifest.json").read_text())
    assert len(manifest["scenario_sha256"]) == 64 and manifest["layers"]
    html = (runs["a1"] / "map.html").read_text()

    outside = re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)=["']?(https?:)?//""", html)
    assert outside == [], "map.html must not load anything from the Internet"


def test_two_runs_are_identical(runs):
    assert (runs["a1"] / "boq.csv").read_bytes() == (runs["a2"] / "boq.csv").read_bytes()
    a, b = read_run(runs["a1"]), read_run(runs["a2"])
    for name in a.layers:
        ga, gb = a.layers[name], b.layers[name]
        assert len(ga) == len(gb), name
        assert ga.geometry.geom_equals_exact(gb.geometry, 0.0).all(), name


def test_boq_sums_to_the_plan_total(runs):
    a = read_run(runs["a1"])
    assert int(a.boq["amount_vnd"].sum()) == a.kpis["cost_vnd"]


def test_compare_with_itself_is_empty(runs):
    a = read_run(runs["a1"])
    c = compare_runs(a, a)
    assert c.is_empty
    assert c.summary()["amount_delta_vnd"] == 0


def test_compare_finds_the_changes(runs):
    a, b = read_run(runs["a1"]), read_run(runs["b"])
    c = compare_runs(a, b)
    assert not c.is_empty
    keys = set(c.params["key"])
    assert {"underground.budget_per_year_vnd", "geometries.zones"} <= keys
    added = c.features[(c.features["layer"] == "trenches") & (c.features["change"] == "added")]
    assert len(added) > 0  # the wider zone needs more trench
    assert c.summary()["amount_delta_vnd"] == int(b.boq["amount_vnd"].sum() - a.boq["amount_vnd"].sum())
    per_phase = c.boq_phases.groupby("phase")["amount_delta_vnd"].sum()
    assert int(per_phase.sum()) == c.summary()["amount_delta_vnd"]


def test_cli_save_log_review_show_compare(runs, tmp_path, capsys):
    store = str(tmp_path / "store.sqlite")
    assert main(["save", str(runs["a1"]), "--store", store, "--name", "dd", "--author", "A", "-m", "v1"]) == 0
    v1 = capsys.readouterr().out.split()[1]
    assert (
        main(["save", str(runs["b"]), "--store", store, "--name", "dd", "--author", "A", "-m", "v2", "--parent", v1])
        == 0
    )
    v2 = capsys.readouterr().out.split()[1]
    assert main(["log", "--store", store]) == 0
    log = capsys.readouterr().out
    assert log.index(v2) < log.index(v1)  # newest first
    assert (
        main(["review", v2, "--store", store, "--status", "in_review", "--reviewer", "B", "--comment", "xem xét"]) == 0
    )
    assert main(["review", v2, "--store", store, "--status", "approved", "--reviewer", "B"]) == 0
    capsys.readouterr()
    assert main(["show", v2, "--store", store]) == 0
    shown = capsys.readouterr().out
    assert "approved" in shown and "xem xét" in shown
    out = tmp_path / "cmp"
    assert main(["compare", v1, v1, "--store", store, "--out", str(out), "--quiet"]) == 0
    assert "no difference" in capsys.readouterr().out
    assert main(["compare", v1, v2, "--store", store, "--out", str(out), "--quiet"]) == 0
    assert (out / "compare.html").is_file() and (out / "compare.xlsx").is_file()
    html = (out / "compare.html").read_text()
    assert "Thêm mới / added" in html and "BOQ" in html
    import openpyxl

    wb = openpyxl.load_workbook(out / "compare.xlsx")
    assert any("BOQ" in ws.title for ws in wb)


def test_cli_run_reports_bad_scenario_path(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nlayers: {source: demo}\nunderground: {enabled: true, budget_per_yaer_vnd: 5}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "underground.budget_per_yaer_vnd" in err and "budget_per_year_vnd" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_combined_run_with_wifi(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(scenario_text(wifi=True), encoding="utf-8")
    scen = parse_scenario(path.read_text(), path=path)
    result = run_scenario(scen)
    assert result.plan.kind == "combined"
    assert {"trenches", "sites"} <= set(result.plan.layers)
    boq = result.plan.boq
    assert (boq["unit"] == "%").sum() >= 1
    # every amount recomputed from the catalog file and the quantities: the combined plan prices both planners' lines
    check = recompute_boq(boq, catalog_prices())
    assert check["mismatches"] == []
    assert result.plan.kpis["cost_vnd"] == check["total"]
    assert {"civil", "duct", "radio"} <= set(boq["category"])  # both planners' lines
    write_run(result, tmp_path / "out")
    back = pd.read_csv(tmp_path / "out" / "boq.csv", encoding="utf-8-sig")
    # the CSV an engineer opens has the same lines and the same total
    assert recompute_boq(back, catalog_prices())["total"] == check["total"]
    assert isinstance(gpd.read_file(tmp_path / "out" / "plan.gpkg", layer="sites"), gpd.GeoDataFrame)


def test_scenario_corridors_reach_the_planner(tmp_path):
    """forced and forbidden corridors drawn in a scenario change the trench network."""
    doc = yaml.safe_load(scenario_text())
    base = run_scenario(parse_scenario(yaml.safe_dump(doc)))
    trenches = base.plan.layers["trenches"].to_crs("EPSG:4326")
    # forbid the street carrying the longest new trench run (existing ducts stay usable): the plan must avoid it
    dug = trenches[~trenches["reuse_duct"].astype(bool)]
    street = dug.groupby("street")["length_m"].sum().idxmax()
    line = trenches[trenches["street"] == street].union_all()
    doc["geometries"]["forbidden_corridors"] = mapping(line)
    forbidden = run_scenario(parse_scenario(yaml.safe_dump(doc)))
    after = forbidden.plan.layers["trenches"]
    assert (
        after.loc[after["street"] == street, "length_m"].sum()
        < 0.5 * trenches.loc[trenches["street"] == street, "length_m"].sum()
    )
    assert forbidden.plan.total_vnd != base.plan.total_vnd


def test_run_with_layers_already_loaded_gives_the_same_plan(runs):
    """The app passes its cached project layers: the plan must not change."""
    from gisplan.demo.data import demo_gpkg_path
    from gisplan.io.layers import read_layers

    text = (runs["a1"] / "scenario.yaml").read_text(encoding="utf-8")
    result = run_scenario(parse_scenario(text), layers=read_layers(demo_gpkg_path()))
    assert "layers_s" in result.timings
    a = read_run(runs["a1"])
    assert result.plan.total_vnd == int(a.boq["amount_vnd"].sum())


@pytest.fixture(scope="module")
def user_project(tmp_path_factory):
    """A planner's own project: a GeoPackage in VN-2000 / Kiên Giang TM-3 (EPSG:9207) without poles, the poles
    as a lon/lat CSV with Vietnamese column names, the zone as a GeoJSON file; the scenario in another folder."""
    import pyogrio

    from gisplan.demo.data import demo_gpkg_path

    root = tmp_path_factory.mktemp("user")
    (root / "data").mkdir()
    (root / "plans").mkdir()
    src = demo_gpkg_path()
    for name, _ in pyogrio.list_layers(src):
        g = gpd.read_file(src, layer=name)
        if name == "poles":
            table = g.drop(columns="geometry").rename(columns={"pole_id": "ma_cot"})
            table["kinh_do"], table["vi_do"] = g.geometry.x, g.geometry.y
            table.to_csv(root / "data" / "cot.csv", index=False)
        else:
            g.to_crs("EPSG:9207").to_file(root / "data" / "net.gpkg", layer=name, driver="GPKG")
    (root / "plans" / "zone.geojson").write_text(json.dumps(zone()), encoding="utf-8")
    doc = {
        "title": "Dự án của Sở / own project",
        "layers": {"source": "../data/net.gpkg", "crs": "EPSG:4326", "files": {"poles": "../data/cot.csv"}},
        "geometries": {"zones": "zone.geojson"},
        "underground": {"enabled": True, "budget_per_year_vnd": 5_000_000_000, "start_year": 2027},
    }
    path = root / "plans" / "own.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_run_on_a_user_geopackage_with_per_kind_files_and_a_crs(user_project, runs, tmp_path, monkeypatch):
    """layers.crs is for files that state none (the CSV); the GeoPackage keeps its own CRS; the source may lack
    a layer a file provides; relative paths follow the scenario file, not the working folder."""
    from gisplan.workflow.scenario import load_scenario

    monkeypatch.chdir(tmp_path)
    result = run_scenario(load_scenario(user_project))
    demo = read_run(runs["a1"])
    assert len(result.layers["poles"]) == 9715
    # the same zone over the same network (reprojected through VN-2000) costs the same within 0.1 %
    assert abs(result.plan.total_vnd - demo.kpis["cost_vnd"]) <= 1e-3 * demo.kpis["cost_vnd"]
    out = write_run(result, tmp_path / "run")
    manifest = json.loads(out["manifest.json"].read_text(encoding="utf-8"))
    assert set(manifest["layers"]) == {"source", "poles", "geometries.zones"}
    # the saved scenario names its zone by a relative path: comparing the run folders must not open it
    c = compare_runs(read_run(out["plan.gpkg"].parent), read_run(out["plan.gpkg"].parent))
    assert c.is_empty
    c = compare_runs(demo, read_run(out["plan.gpkg"].parent))
    assert "tệp / file zone.geojson" in set(c.params["b"])


def test_run_names_a_missing_layer_file(user_project, tmp_path):
    from gisplan._errors import ScenarioError

    text = user_project.read_text(encoding="utf-8").replace("../data/cot.csv", "../data/cot_khong_co.csv")
    path = user_project.parent / "missing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"layers\.files\.poles not found") as info:
        run_scenario(parse_scenario(text, path=path))
    assert "không tìm thấy" in str(info.value) and str(user_project.parent) in str(info.value)


def test_manifest_hashes_every_file_of_the_run_folder(runs):
    import hashlib

    manifest = json.loads((runs["a1"] / "manifest.json").read_text(encoding="utf-8"))
    files = {p.name for p in runs["a1"].iterdir() if p.name != "manifest.json"}
    assert set(manifest["outputs"]) == files
    for name, entry in manifest["outputs"].items():
        data = (runs["a1"] / name).read_bytes()
        assert entry["file"] == name and entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    scenario = (runs["a1"] / "scenario.yaml").read_bytes()
    assert manifest["scenario_sha256"] == hashlib.sha256(scenario).hexdigest()
    from gisplan.demo.data import demo_gpkg_path

    assert manifest["layers"]["source"]["sha256"] == hashlib.sha256(demo_gpkg_path().read_bytes()).hexdigest()


def test_run_folder_is_readable_by_others(runs):
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    mode = stat.S_IMODE(os.stat(runs["a1"]).st_mode)
    assert mode == 0o777 & ~umask  # as mkdir makes it, not mkdtemp's private 0700


def test_read_run_keeps_item_codes_as_text(runs, tmp_path):
    import shutil

    folder = tmp_path / "r"
    shutil.copytree(runs["a1"], folder)
    boq = pd.read_csv(folder / "boq.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    codes = {code: f"{i + 1:04d}" for i, code in enumerate(sorted(set(boq["item_code"])))}
    boq["item_code"] = boq["item_code"].map(codes)  # a department's numeric norm codes
    boq.to_csv(folder / "boq.csv", index=False, encoding="utf-8-sig")
    back = read_run(folder).boq
    assert back["item_code"].tolist() == boq["item_code"].tolist() and back.loc[0, "item_code"].startswith("0")


def _tiny_run(folder, kind: str, *, contingency_groups: int = 2):
    """A run folder written in code: an underground-like or wifi-like plan with a contingency line per group."""
    from shapely.geometry import LineString

    from gisplan.io.crs import METRIC_CRS
    from gisplan.outputs.export import export_plan
    from gisplan.plan import BOQ_COLUMNS, Plan, empty_boq

    rows = []
    for g in range(contingency_groups):
        commune = f"Xã {g}"
        rows.append(
            ("TR.ASPHALT", "Đào rãnh", "Trench", "m", 100.0, 650_000, 65_000_000, "civil", "2027", "PQ", commune)
        )
        rows.append(
            (
                "CONTINGENCY",
                "Dự phòng",
                "Contingency",
                "%",
                10.0,
                650_000,
                6_500_000,
                "contingency",
                "2027",
                "PQ",
                commune,
            )
        )
    boq = pd.DataFrame(rows, columns=list(BOQ_COLUMNS)) if rows else empty_boq()
    if kind == "underground":
        layers = {
            "trenches": gpd.GeoDataFrame(
                {"phase": ["2027"], "length_m": [100.0]},
                geometry=[LineString([(386000.0, 1130000.0), (386100.0, 1130000.0)])],
                crs=METRIC_CRS,
            )
        }
    else:
        layers = {
            "sites": gpd.GeoDataFrame(
                {"site_id": ["S1"], "profile": ["AP.OUT2G4"]}, geometry=[Point(386000.0, 1130000.0)], crs=METRIC_CRS
            )
        }
    kpis = {"cost_vnd": int(boq["amount_vnd"].sum()), "first_year": 2027, "steiner_gap": 0.000365}
    text = yaml.safe_dump({"title": kind, "layers": {"source": "demo"}, f"{kind}": {"enabled": True}})
    export_plan(
        Plan(kind, layers, boq, kpis),
        folder,
        scenario_text=text,
        extra_files={"kpis.json": json.dumps(kpis), "scenario.yaml": text},
    )
    return read_run(folder)


def test_compare_plans_of_different_kinds_and_empty_plans(tmp_path):
    from gisplan.workflow.compare import comparison_tables, write_comparison

    under = _tiny_run(tmp_path / "u", "underground")
    wifi = _tiny_run(tmp_path / "w", "wifi", contingency_groups=1)
    empty = _tiny_run(tmp_path / "e", "wifi", contingency_groups=0)
    assert compare_runs(empty, empty).is_empty
    c = compare_runs(under, wifi)
    changes = set(zip(c.features["layer"], c.features["change"], strict=True))
    assert changes == {("trenches", "removed"), ("sites", "added")}
    contingency = c.boq_items.set_index("item_code").loc["CONTINGENCY"]
    assert contingency["quantity_a"] == 10.0 and contingency["quantity_b"] == 10.0  # a percentage, not 2 x 10 %
    assert contingency["amount_delta_vnd"] == -6_500_000
    c2 = compare_runs(empty, under)
    assert c2.summary()["amount_delta_vnd"] == int(under.boq["amount_vnd"].sum())
    tables = comparison_tables(c)
    summary = tables["Tóm tắt - Summary"]
    assert "Đối tượng / Features: trenches.removed" in set(summary["item"])
    assert all(isinstance(v, int) for v in summary["value"])
    paths = write_comparison(c, tmp_path / "cmp", title="U -> W")
    html = paths["compare.html"].read_text(encoding="utf-8")
    tables_html = html[html.index('<div class="gp-report"><h2') :]
    assert not re.search(r"\de[+-]\d", tables_html) and "2,027" not in tables_html and "0.000365" in tables_html
    assert "Chênh lệch (VND) / Difference (VND)" in tables_html and "65vh" in html
    import openpyxl

    wb = openpyxl.load_workbook(paths["compare.xlsx"])
    ws = wb["BOQ theo hạng mục - by item"]
    headers = [cell.value for cell in ws[3]]
    assert "Thành tiền A (VND) / Amount A (VND)" in headers and "amount_a_vnd" not in headers


def test_compare_links_without_geometry_and_attribute_changes():
    """A satellite backhaul link has no line: the same link on both sides is no change (this crashed compare),
    a link that gains a line has moved; attribute changes are listed with both values."""
    from shapely.geometry import LineString

    from gisplan.io.crs import METRIC_CRS
    from gisplan.workflow.compare import _feature_diff

    line = LineString([(386000.0, 1130000.0), (386500.0, 1130000.0)])
    a = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"], "backhaul": ["satellite", "satellite", "radio"], "cost_vnd": [1, 2, 3]},
        geometry=[None, None, line],
        crs=METRIC_CRS,
    )
    b = a.copy()
    b.loc[1, "geometry"] = line
    b.loc[2, "cost_vnd"] = 4
    diff = _feature_diff({"backhaul_links": a}, {"backhaul_links": b})
    assert diff[["key", "change", "detail"]].values.tolist() == [
        ["S2", "changed", "geometry moved"],
        ["S3", "changed", "cost_vnd: 3 -> 4"],
    ]
    assert _feature_diff({"backhaul_links": a}, {"backhaul_links": a.copy()}).empty


def test_demo_reads_the_demo_layers_once(tmp_path, monkeypatch):
    import gisplan.workflow.runs as workflow
    from gisplan.workflow.demo import run_demo

    calls = []
    original = workflow._read_source
    monkeypatch.setattr(workflow, "_read_source", lambda *a, **k: calls.append(a) or original(*a, **k))
    summary = run_demo(tmp_path / "demo", scenarios=("remote_wifi",))
    assert calls == []  # the scenario's layers came from the demo's own read, not a second one
    assert summary["runs"]["remote_wifi"]["kpis"]["n_sites"] > 0
    assert (tmp_path / "demo" / "runs" / "remote_wifi" / "manifest.json").is_file()


def test_a_wifi_run_saved_before_the_sites_rename_reads_and_compares_alike(tmp_path):
    """Plans saved before the chosen sites' layer was named ``sites`` (it was ``wifi_sites``) still compare with a
    new one: the same site is unchanged, not removed and added."""
    import pyogrio

    new = _tiny_run(tmp_path / "new", "wifi", contingency_groups=1)
    old_dir = tmp_path / "old"
    shutil.copytree(tmp_path / "new", old_dir)
    gpkg = old_dir / "plan.gpkg"
    sites = gpd.read_file(gpkg, layer="sites")
    staged = tmp_path / "staged.gpkg"
    for name, _g in pyogrio.list_layers(gpkg):
        if name in ("sites", "layer_styles"):
            continue
        pyogrio.write_dataframe(pyogrio.read_dataframe(gpkg, layer=name), staged, layer=str(name))
    pyogrio.write_dataframe(sites, staged, layer="wifi_sites")
    staged.replace(gpkg)
    old = read_run(old_dir)
    assert "sites" in old.layers and "wifi_sites" not in old.layers
    c = compare_runs(old, new)
    assert c.features.empty or not set(c.features["layer"]) & {"sites", "wifi_sites"}
