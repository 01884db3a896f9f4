"""Fixtures of the app tests: a tiny project GeoPackage built in code."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from tiny_project import LAT, LON, tiny_frames


def tiny_layers(n_poles: int = 3) -> dict[str, gpd.GeoDataFrame]:
    """Land, roads, ``n_poles`` telecom poles and a settlement around Dương Đông, in the metric CRS."""
    poles = gpd.GeoDataFrame(
        {"pole_id": [f"P{i}" for i in range(n_poles)], "owner": ["telecom"] * n_poles},
        geometry=[Point(LON + 0.0005 * (i % 100), LAT + 0.0005 * (i // 100)) for i in range(n_poles)],
        crs="EPSG:4326",
    )
    return tiny_frames(poles)


@pytest.fixture
def tiny_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny project GeoPackage, made the app's project through $GISPLAN_PROJECT."""
    from gisplan.io.layers import write_gpkg

    path = write_gpkg(tiny_layers(), tmp_path / "tiny.gpkg")
    monkeypatch.setenv("GISPLAN_PROJECT", str(path))
    return path


@pytest.fixture(autouse=True)
def _private_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app test has its own version store and user folders (never the tester's own)."""
    monkeypatch.setenv("GISPLAN_STORE", str(tmp_path / "autouse-store" / "store.sqlite"))
