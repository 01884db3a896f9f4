"""National programmes: areas planned serially and on a Dask LocalCluster give the same bytes; a failed area is
reported without losing the others; the programme BOQ and KPIs are the sums of the areas'."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from shapely.geometry import Point, mapping

from gisplan._errors import ScenarioError
from gisplan.cli.main import main
from gisplan.workflow.programme import is_programme_file, load_programme, run_programme, synthetic_programme

CENTRE = (103.9607, 10.2201)  # central Dương Đông, as tests/test_workflow.py: a few dozen spans, quick to plan


def _scenario(radius_deg: float, budget: int) -> str:
    zone = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": mapping(Point(*CENTRE).buffer(radius_deg, 16))}],
    }
    doc = {
        "title": f"Khu {radius_deg}",
        "layers": {"source": "demo"},
        "geometries": {"zones": zone},
        "underground": {"enabled": True, "budget_per_year_vnd": budget, "start_year": 2027},
    }
    return yaml.safe_dump(doc, allow_unicode=True)


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("programme")
    (base / "areas").mkdir()
    (base / "areas" / "duong-dong.yaml").write_text(_scenario(0.0014, 5_000_000_000), encoding="utf-8")
    (base / "areas" / "an-thoi.yaml").write_text(_scenario(0.0010, 3_000_000_000), encoding="utf-8")
    # a broken area: its layer file does not exist
    broken = yaml.safe_load(_scenario(0.0010, 3_000_000_000))
    broken["layers"]["source"] = "missing.gpkg"
    (base / "areas" / "broken.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    doc = {
        "programme_version": 1,
        "title": "Chương trình thử / test programme",
        "areas": [
            {"name": "duong-dong", "scenario": "areas/duong-dong.yaml"},
            {"name": "broken", "scenario": "areas/broken.yaml"},
            {"name": "an-thoi", "scenario": "areas/an-thoi.yaml"},
        ],
    }
    path = base / "programme.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def serial(programme: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    assert main(["run", str(programme), "--out", str(out), "--quiet"]) == 1  # one area failed
    return out


def test_serial_and_local_cluster_give_the_same_bytes(programme: Path, serial: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "dask"
    lines: list[str] = []
    result = run_programme(programme, out, workers=2, progress=lines.append)
    assert [o.name for o in result.outcomes] == ["duong-dong", "broken", "an-thoi"]  # programme order
    assert [o.name for o in result.failed] == ["broken"]
    assert sum("area " in line for line in lines) == 3  # progress per area
    assert len({o.worker for o in result.outcomes if o.worker}) >= 1
    for name in ("duong-dong", "an-thoi"):
        for file_name in ("boq.csv", "boq.xlsx", "plan.gpkg", "kpis.json", "scenario.yaml"):
            assert (out / "areas" / name / file_name).read_bytes() == (serial / "areas" / name / file_name).read_bytes()
        # the same as a plain `gisplan run` of that area's scenario
    for file_name in ("programme-boq.csv", "programme-boq.xlsx", "programme-kpis.json"):
        assert (out / file_name).read_bytes() == (serial / file_name).read_bytes(), file_name
    assert not (out / "areas" / "broken").exists()


def test_one_area_alone_is_what_gisplan_run_writes(programme: Path, serial: Path, tmp_path: Path) -> None:
    assert main(["run", str(programme.parent / "areas" / "an-thoi.yaml"), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    for file_name in ("boq.csv", "boq.xlsx", "kpis.json"):
        assert (tmp_path / "a" / file_name).read_bytes() == (serial / "areas" / "an-thoi" / file_name).read_bytes()


def test_the_failed_area_is_reported_and_the_others_kept(serial: Path) -> None:
    report = json.loads((serial / "programme-report.json").read_text(encoding="utf-8"))
    status = {a["name"]: a["status"] for a in report["areas"]}
    assert status == {"duong-dong": "ok", "broken": "failed", "an-thoi": "ok"}
    broken = next(a for a in report["areas"] if a["name"] == "broken")
    assert "missing.gpkg" in broken["error"] and "không tìm thấy" in broken["error"]
    assert all(a["peak_rss_mb"] > 0 for a in report["areas"])


def test_programme_boq_and_kpis_are_the_sums_of_the_areas(serial: Path) -> None:
    areas = ["duong-dong", "an-thoi"]
    boqs = {
        a: list(csv.DictReader(io.StringIO((serial / "areas" / a / "boq.csv").read_text(encoding="utf-8-sig"))))
        for a in areas
    }
    rows = list(csv.DictReader(io.StringIO((serial / "programme-boq.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == sum(len(b) for b in boqs.values())
    assert [r["area"] for r in rows] == [a for a in areas for _ in boqs[a]]
    expected_total = sum(int(r["amount_vnd"]) for b in boqs.values() for r in b)
    area_kpis = {a: json.loads((serial / "areas" / a / "kpis.json").read_text(encoding="utf-8")) for a in areas}
    kpis = json.loads((serial / "programme-kpis.json").read_text(encoding="utf-8"))
    assert kpis["total_vnd"] == expected_total == sum(k["cost_vnd"] for k in area_kpis.values())
    assert kpis["sum"]["n_manholes"] == sum(k["n_manholes"] for k in area_kpis.values())
    assert kpis["sum"]["trench_km"] == pytest.approx(sum(k["trench_km"] for k in area_kpis.values()))
    assert "steiner_gap" not in kpis["sum"] and "first_year" not in kpis["sum"]  # ratios and years are not summed
    assert kpis["areas"] == 3 and kpis["areas_ok"] == 2
    book = openpyxl.load_workbook(serial / "programme-boq.xlsx", read_only=True)
    assert book.sheetnames == ["Tổng hợp - Summary", "duong-dong", "an-thoi"]  # a sheet per area
    summary = [r for r in book["Tổng hợp - Summary"].iter_rows(values_only=True) if r and r[0]]
    assert summary[-1][0] == "TỔNG / TOTAL" and summary[-1][2] == expected_total
    book.close()


def test_bad_programmes_are_refused_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("title: x\n", encoding="utf-8")
    doc = {
        "title": "x",
        "arreas": 1,
        "areas": [
            {"name": "Bad Name", "scenario": "a.yaml"},
            {"name": "ok", "scenario": "nowhere.yaml"},
            {"name": "dup", "scenario": "a.yaml"},
            {"name": "dup", "scenario": "a.yaml"},
        ],
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert is_programme_file(path) and not is_programme_file(tmp_path / "a.yaml")
    with pytest.raises(ScenarioError) as info:
        load_programme(path)
    text = str(info.value)
    for part in ("arreas", "Bad Name", "nowhere.yaml", "duplicate area name"):
        assert part in text
    assert main(["run", str(tmp_path / "a.yaml"), "--out", str(tmp_path / "o"), "--workers", "2"]) == 2


def test_synthetic_programme_is_seeded(tmp_path: Path) -> None:
    first = synthetic_programme(tmp_path / "one", provinces=2, seed=7)
    again = synthetic_programme(tmp_path / "two", provinces=1, seed=7)  # a province depends on (seed, its number)
    prog = load_programme(first)
    assert [a.name for a in prog.areas] == ["p01", "p02"]
    p01, p02 = ((first.parent / "areas" / f"{n}.yaml").read_text(encoding="utf-8") for n in ("p01", "p02"))
    assert p01 == (again.parent / "areas" / "p01.yaml").read_text(encoding="utf-8") and p01 != p02
    import geopandas as gpd

    a = gpd.read_file(first.parent / "provinces" / "p01.gpkg", layer="roads")
    b = gpd.read_file(first.parent / "provinces" / "p02.gpkg", layer="roads")
    shift = b.geometry.iloc[0].coords[0][0] - a.geometry.iloc[0].coords[0][0]
    assert shift == pytest.approx(80_000.0) and len(a) == len(b)  # the second province is 80 km east


def test_an_existing_scheduler_runs_the_areas(programme: Path, serial: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    one = tmp_path / "one.yaml"
    areas = programme.parent / "areas"
    one.write_text(
        yaml.safe_dump({"title": "một khu", "areas": [{"name": "an-thoi", "scenario": str(areas / "an-thoi.yaml")}]})
    )
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main(
            ["run", str(one), "--out", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address, "--quiet"]
        )
    assert code == 0
    for file_name in ("boq.csv", "boq.xlsx"):
        assert (tmp_path / "out" / "areas" / "an-thoi" / file_name).read_bytes() == (
            serial / "areas" / "an-thoi" / file_name
        ).read_bytes()
    assert main(["run", str(one), "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:1", "--quiet"]) == 1
