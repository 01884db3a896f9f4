"""A synthetic elevation raster of the demo area (Phú Quốc, Hòn Thơm, Thổ Châu), labelled synthetic.

No real elevation model of Phú Quốc installs offline from a package: the PyPI packages that handle DEMs
(``elevation``, ``demloader``, ``bmi-topography``, ...) download SRTM or Copernicus tiles from the Internet at run
time, and ``global-land-mask`` (which the demo's coastlines come from) ships only the GLOBE land/sea mask, not its
heights.  So the demo's raster is generated, seeded, from what is published:

* Núi Chúa, Phú Quốc's highest summit, 603 m (published height; its position, about 10.377°N 104.034°E, read
  from public maps to about a kilometre), modelled as a Gaussian massif of 2.5 km standard deviation;
* every other hill: ``n_hills`` seeded Gaussian hills of 20-150 m (assumption: the island's other ranges and the
  small islands' hills are of that order), on land only;
* land at least 2 m above the sea, rising over the first kilometre from the shore; sea 0 m.

Heights are whole metres (int16) on a 100 m grid in UTM 48N (EPSG:32648); the GeoTIFF's tags say
``SYNTHETIC=yes`` with the seed and the sources.  ``python -m gisplan.demo._elevation --out layers/phu_quoc_dem.tif``
writes it next to the demo layers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np

from gisplan._atomic import atomic_path

__all__ = ["SUMMITS", "synthetic_elevation", "write_demo_elevation"]

#: Published summits: (name, longitude, latitude, height m, source).
SUMMITS: tuple[tuple[str, float, float, float, str], ...] = (
    ("Núi Chúa", 104.034, 10.377, 603.0, "published summit height of Phú Quốc; position from public maps, ±1 km"),
)
CRS = "EPSG:32648"
RES_M = 100.0
DEFAULT_SEED = 20260101


def synthetic_elevation(
    land: gpd.GeoDataFrame, *, seed: int = DEFAULT_SEED, res_m: float = RES_M, n_hills: int = 60
) -> tuple[np.ndarray, tuple[float, float, float, float, float, float]]:
    """Heights (int16, metres) and the affine transform ``(a, b, c, d, e, f)`` of the synthetic raster over
    ``land`` (with 2 km of sea around it), in EPSG:32648; see the module notes."""
    from affine import Affine
    from rasterio.features import geometry_mask
    from scipy.ndimage import distance_transform_edt

    metric = land.to_crs(CRS)
    west, south, east, north = metric.total_bounds + np.array([-2000.0, -2000.0, 2000.0, 2000.0])
    width, height = int(np.ceil((east - west) / res_m)), int(np.ceil((north - south) / res_m))
    transform = Affine(res_m, 0.0, west, 0.0, -res_m, north)
    on_land = ~geometry_mask(list(metric.geometry), out_shape=(height, width), transform=transform)
    xs = west + (np.arange(width) + 0.5) * res_m
    ys = north - (np.arange(height) + 0.5) * res_m
    gx, gy = np.meshgrid(xs, ys)
    z = np.zeros((height, width))
    summits = gpd.GeoSeries(gpd.points_from_xy([s[1] for s in SUMMITS], [s[2] for s in SUMMITS]), crs=4326).to_crs(CRS)
    for (_, _, _, h, _), pt in zip(SUMMITS, summits, strict=True):
        z = np.maximum(z, h * np.exp(-((gx - pt.x) ** 2 + (gy - pt.y) ** 2) / (2 * 2500.0**2)))
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(on_land)
    picks = rng.choice(len(rows), size=min(n_hills, len(rows)), replace=False) if len(rows) else np.zeros(0, int)
    for k in picks:
        h, sigma = rng.uniform(20.0, 150.0), rng.uniform(400.0, 1500.0)
        cx, cy = xs[cols[k]], ys[rows[k]]
        z = np.maximum(z, h * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * sigma**2)))
    shore = np.minimum(distance_transform_edt(on_land) * res_m / 1000.0, 1.0)  # 0 at the shore, 1 inland of 1 km
    z = np.where(on_land, 2.0 + z * shore, 0.0)
    return np.round(z).astype(np.int16), tuple(transform)[:6]


def write_demo_elevation(path: str | Path, *, land: gpd.GeoDataFrame | None = None, seed: int = DEFAULT_SEED) -> Path:
    """Write the synthetic raster as a compressed GeoTIFF (atomically); ``land`` defaults to the demo's."""
    import rasterio
    from affine import Affine

    if land is None:
        from gisplan.demo.data import demo_gpkg_path

        land = gpd.read_file(demo_gpkg_path(), layer="land")
    z, t = synthetic_elevation(land, seed=seed)
    target = Path(path)
    with atomic_path(target) as tmp, rasterio.open(
        tmp, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1, dtype="int16", crs=CRS,
        transform=Affine(*t), compress="deflate", predictor=2, nodata=None,
    ) as dst:  # fmt: skip
        dst.write(z, 1)
        dst.update_tags(
            SYNTHETIC="yes",
            SEED=str(seed),
            SOURCE="gisplan.demo._elevation: Núi Chúa 603 m (published) + seeded hills 20-150 m (assumption) "
            "on the demo's GLOBE land mask; not a survey, do not use for engineering",
        )
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the demo's synthetic elevation raster (GeoTIFF).")
    parser.add_argument("--out", required=True, help="output GeoTIFF, e.g. layers/phu_quoc_dem.tif")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(write_demo_elevation(args.out, seed=args.seed))


if __name__ == "__main__":
    main()
