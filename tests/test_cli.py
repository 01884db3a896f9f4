"""The gisplan command line: help for every subcommand, validation exit codes and messages, the demo."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gisplan.cli.main import build_parser, main
from gisplan.io.layers import write_gpkg


def _subcommands(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield [name], sub
                for rest, subsub in _subcommands(sub):
                    yield [name, *rest], subsub


def test_every_subcommand_has_help(capsys):
    paths = [p for p, _ in _subcommands(build_parser())]
    assert ["layers", "validate"] in paths and ["layers", "info"] in paths and ["demo"] in paths
    for path in paths:
        with pytest.raises(SystemExit) as exc:
            main([*path, "--help"])
        assert exc.value.code == 0
        assert "usage: gisplan" in capsys.readouterr().out


def test_validate_broken_file_lists_every_problem_and_exits_1(tmp_path, capsys):
    poles = gpd.GeoDataFrame(
        {"pole_id": ["P1", "P2", "P2"], "owner": ["telecom", "alien", "power"]},
        geometry=[Point(103.96, 10.22), Point(10.22, 103.96), Point(103.97, 10.22)],
        crs="EPSG:4326",
    )
    write_gpkg({"poles": poles}, tmp_path / "bad.gpkg")
    code = main(["layers", "validate", str(tmp_path / "bad.gpkg")])
    err = capsys.readouterr().err
    assert code == 1
    assert "layer / lớp poles, row / dòng P2, column / cột owner: value not allowed" in err
    assert "row / dòng P2, column / cột geometry: latitude and longitude look swapped" in err
    assert "row / dòng P2, column / cột pole_id: duplicate id" in err
    assert "3 problem(s)" in err


def test_validate_good_file_and_info(tmp_path, capsys):
    poles = gpd.GeoDataFrame(
        {"pole_id": ["P1"], "owner": ["telecom"]}, geometry=[Point(103.96, 10.22)], crs="EPSG:4326"
    )
    write_gpkg({"poles": poles}, tmp_path / "ok.gpkg")
    assert main(["layers", "validate", str(tmp_path / "ok.gpkg")]) == 0
    assert "valid (1 features in 1 layer(s))" in capsys.readouterr().out
    assert main(["layers", "info", str(tmp_path / "ok.gpkg"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info[0]["kind"] == "poles" and info[0]["crs"] == "EPSG:4326"


def test_missing_crs_gives_clear_message(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("pole_id,owner,lon,lat\nA,telecom,103.96,10.22\n")
    assert main(["layers", "validate", str(tmp_path / "p.csv"), "--kind", "poles"]) == 1
    assert "--crs" in capsys.readouterr().err
    assert main(["layers", "validate", str(tmp_path / "p.csv"), "--kind", "poles", "--crs", "EPSG:4326"]) == 0


@pytest.mark.slow
def test_console_script_demo(tmp_path):
    out = tmp_path / "demo"
    res = subprocess.run(
        [sys.executable, "-m", "gisplan.cli.main", "demo", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    layers = summary["layers"]
    for kind in ("roads", "poles", "cables", "ducts", "coverage", "settlements", "sites", "boundaries"):
        assert layers[kind]["features"] > 0, kind
    assert 150_000 <= layers["settlements"]["population"] <= 210_000


def test_validate_names_skipped_layers_and_refuses_a_file_with_none(tmp_path, capsys):
    poles = gpd.GeoDataFrame(
        {"pole_id": ["P1"], "owner": ["telecom"]}, geometry=[Point(103.96, 10.22)], crs="EPSG:4326"
    )
    write_gpkg({"poles": poles, "cot_dien_luc": poles}, tmp_path / "p.gpkg")
    assert main(["layers", "validate", str(tmp_path / "p.gpkg")]) == 0
    assert "skipped layer cot_dien_luc" in capsys.readouterr().err
    # --layer picks that layer (it used to be ignored for a GeoPackage)
    assert main(["layers", "validate", str(tmp_path / "p.gpkg"), "--layer", "cot_dien_luc", "--kind", "poles"]) == 0
    write_gpkg({"cot_dien_luc": poles}, tmp_path / "q.gpkg")
    assert main(["layers", "validate", str(tmp_path / "q.gpkg")]) == 1  # was "valid (0 features in 0 layer(s))"
    err = capsys.readouterr().err
    assert "no layer named after a layer kind" in err and "cot_dien_luc" in err


def test_validate_and_info_take_an_encoding(tmp_path, capsys):
    text = "ma_cot,chu_so_huu,lon,lat\nC1,Viễn thông,103.96,10.22\n"
    (tmp_path / "p.csv").write_bytes(text.replace("ễ", "ê\u0303").encode("cp1258"))
    args = ["layers", "validate", str(tmp_path / "p.csv"), "--kind", "poles", "--crs", "EPSG:4326"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--encoding" in err and "cp1258: 'C1,Viễn thông,103.96,10.22'" in err
    assert main([*args, "--encoding", "cp1258"]) == 0
    capsys.readouterr()
    assert main(["layers", "info", str(tmp_path / "p.csv"), "--encoding", "cp1258"]) == 0
    assert "1 x from columns" in capsys.readouterr().out  # was a UnicodeDecodeError traceback
