"""The demo's synthetic elevation raster: repeatable, labelled, the published summit where it belongs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")

SHIPPED = Path(__file__).resolve().parents[1] / "layers" / "phu_quoc_dem.tif"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="the demo raster is not in this checkout")
def test_shipped_raster_is_a_fresh_generation_labelled_synthetic(tmp_path) -> None:
    from gisplan.demo._elevation import write_demo_elevation

    fresh = write_demo_elevation(tmp_path / "dem.tif")
    with rasterio.open(SHIPPED) as a, rasterio.open(fresh) as b, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        assert np.array_equal(a.read(1), b.read(1)) and a.transform == b.transform and a.crs == b.crs
        assert a.tags()["SYNTHETIC"] == "yes"
        z = a.read(1)
        # Núi Chúa: 603 m above the 2 m land base at its published position (104.034 E, 10.377 N)
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, a.crs, always_xy=True).transform(104.034, 10.377)
        inv = ~a.transform  # world -> pixel by hand (rasterio's index() multiplies Affine objects with `*`)
        col, row = int(inv.a * x + inv.b * y + inv.c), int(inv.d * x + inv.e * y + inv.f)
        assert z.max() == 605 and z[row, col] >= 600
        assert SHIPPED.stat().st_size < 5_000_000
        assert z[0, 0] == 0  # sea at the corner
