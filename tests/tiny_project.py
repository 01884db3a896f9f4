"""A tiny Dương Đông project built in code (land, two roads, poles, one settlement), shared by map and app tests."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon

from gisplan.io.crs import METRIC_CRS

LON, LAT = 103.97, 10.22  # Phú Quốc


def tiny_frames(poles: gpd.GeoDataFrame | None = None, *, settlement_kind: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Layers by kind in the metric CRS; ``poles`` (in EPSG:4326) replaces the three default telecom poles."""
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
    if poles is None:
        poles = gpd.GeoDataFrame(
            {"pole_id": ["P0", "P1", "P2"], "owner": ["telecom"] * 3},
            geometry=[Point(LON + 0.0005 * i, LAT) for i in range(3)],
            crs="EPSG:4326",
        )
    settlement = {"settlement_id": ["S1"], "name": ["Gành Dầu"], "population": [1200]}
    if settlement_kind:
        settlement["kind"] = ["village"]
    settlements = gpd.GeoDataFrame(settlement, geometry=[Point(LON - 0.05, LAT + 0.05)], crs="EPSG:4326")
    frames = {"land": land, "roads": roads, "poles": poles, "settlements": settlements}
    return {k: v.to_crs(METRIC_CRS) for k, v in frames.items()}
