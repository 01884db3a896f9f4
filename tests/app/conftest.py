"""Fixtures of the app tests: a tiny project GeoPackage built in code."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from gisplan.crs import METRIC_CRS

LON, LAT = 103.97, 10.22


def tiny_layers(n_poles: int = 3) -> dict[str, gpd.GeoDataFrame]:
    """Land, roads, poles and settlements around Dương Đông, in the metric CRS."""
    land = gpd.GeoDataFrame(
        {"name": ["Phú Quốc"]},
        geometry=[Polygon([(LON - 0.1, LAT - 0.1), (LON + 0.1, LAT - 0.1), (LON + 0.1, LAT + 0.1), (LON - 0.1, LAT)])],
        crs="EPSG:4326",
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["R1", "R2"],
            "name": ["Đường 30/4", "Trần Hưng Đạo"],
            "road_class": ["national", "urban"],
            "surface": ["asphalt", "concrete"],
        },
        geometry=[
            LineString([(LON, LAT), (LON + 0.02, LAT + 0.02)]),
            LineString([(LON, LAT), (LON - 0.02, LAT + 0.01)]),
        ],
        crs="EPSG:4326",
    )
    poles = gpd.GeoDataFrame(
        {"pole_id": [f"P{i}" for i in range(n_poles)], "owner": ["telecom"] * n_poles},
        geometry=[Point(LON + 0.0005 * (i % 100), LAT + 0.0005 * (i // 100)) for i in range(n_poles)],
        crs="EPSG:4326",
    )
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Gành Dầu"], "population": [1200]},
        geometry=[Point(LON - 0.05, LAT + 0.05)],
        crs="EPSG:4326",
    )
    frames = {"land": land, "roads": roads, "poles": poles, "settlements": settlements}
    return {k: v.to_crs(METRIC_CRS) for k, v in frames.items()}


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project GeoPackage, made the app's project through $GISPLAN_PROJECT."""
    from gisplan.layers import write_gpkg

    path = write_gpkg(tiny_layers(), tmp_path / "tiny.gpkg")
    monkeypatch.setenv("GISPLAN_PROJECT", str(path))
    return path
