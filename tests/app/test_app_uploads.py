"""Uploads take the CRS a file states; the CRS chosen in the app applies only to files that state none."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from tiny_project import LAT, LON

from gisplan.io.crs import METRIC_CRS
from gisplan.io.uploads import read_upload


@pytest.mark.parametrize("stated", ["EPSG:32648", "EPSG:3857", "EPSG:4326"])
def test_a_file_that_states_its_crs_is_read_in_it_whatever_the_picker_says(tmp_path: Path, stated: str) -> None:
    from gisplan.io.layers import write_gpkg

    poles = gpd.GeoDataFrame({"pole_id": ["U1"], "owner": ["telecom"]}, geometry=[Point(LON, LAT)], crs="EPSG:4326")
    path = write_gpkg({"poles": poles.to_crs(stated)}, tmp_path / "poles.gpkg")
    got = read_upload("poles.gpkg", path.read_bytes(), crs="EPSG:9207")["poles"]  # the picker: VN-2000 TM-3
    back = got.to_crs("EPSG:4326").geometry.iloc[0]
    assert abs(back.x - LON) < 1e-6 and abs(back.y - LAT) < 1e-6


def test_a_csv_takes_the_picker_crs() -> None:
    text = f"pole_id,owner,lon,lat\nC1,telecom,{LON},{LAT}\n".encode()
    got = read_upload("poles.csv", text, crs="EPSG:4326")["poles"]
    assert got.crs.equals(METRIC_CRS)
    back = got.to_crs("EPSG:4326").geometry.iloc[0]
    assert abs(back.x - LON) < 1e-6 and abs(back.y - LAT) < 1e-6
