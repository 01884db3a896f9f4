"""Reading, validating and writing gisplan's layers.

Every layer is read once, mapped onto its schema (:mod:`gisplan.schemas`),
validated (every problem reported at once, with file, layer, row, column, value
and a fix), repaired where that is safe (with a warning that says what changed)
and reprojected once to the metric CRS.

Formats: GeoPackage (one or many layers), GeoJSON, zipped Shapefile (or a bare
``.shp``), CSV (lon/lat or WKT columns) and KML; GeoPackage and GeoJSON are written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gisplan._errors import CRSError, LayerError, Problem
from gisplan._validate import VIETNAM_BOUNDS, RepairWarning, validate_layer, validate_layers
from gisplan.crs import DISPLAY_CRS, METRIC_CRS
from gisplan.schemas import KINDS, SCHEMAS

__all__ = [
    "READ_SUFFIXES",
    "VIETNAM_BOUNDS",
    "RepairWarning",
    "infer_kind",
    "layer_info",
    "list_layers",
    "load_layer",
    "read_file",
    "read_layers",
    "validate_layer",
    "validate_layers",
    "write_geojson",
    "write_gpkg",
]


READ_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".shp", ".csv", ".kml", ".kmz")

_LON_NAMES = ("lon", "lng", "long", "longitude", "x", "kinh_do", "kinh độ")
_LAT_NAMES = ("lat", "latitude", "y", "vi_do", "vĩ độ")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
# Layer names (in a GeoPackage) that map to a kind, Vietnamese ones included.
_KIND_NAMES = {
    "duong": "roads",
    "giao_thong": "roads",
    "cot": "poles",
    "cap": "cables",
    "tuyen_cap": "cables",
    "cong": "ducts",
    "cong_be": "ducts",
    "vung_phu": "coverage",
    "phu_song": "coverage",
    "dan_cu": "settlements",
    "diem_dan_cu": "settlements",
    "tram": "sites",
    "diem": "sites",
    "ranh_gioi": "boundaries",
    "dvhc": "boundaries",
    "han_che": "constraints",
    "dat_lien": "land",
}


# ------------------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------------------
def list_layers(path: str | Path) -> list[tuple[str, str, int]]:
    """List the layers of a file as ``(name, geometry type, feature count)``.

    Raises
    ------
    LayerError
        When the file is missing or not a readable vector file.
    """
    p = _check_path(path)
    if p.suffix.lower() == ".csv":
        n = len(pd.read_csv(p))
        return [(p.stem, "from columns", n)]
    try:
        names = pyogrio.list_layers(_ogr_path(p))
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise LayerError(f"cannot read {p}", [Problem(str(exc), file=str(p), hint=_FORMAT_HINT)]) from None
    out = []
    for name, gtype in names:
        info = pyogrio.read_info(_ogr_path(p), layer=name)
        out.append((str(name), str(gtype), int(info["features"])))
    return out


_FORMAT_HINT = "use GeoPackage, GeoJSON, zipped Shapefile, CSV with lon/lat or WKT columns, or KML"


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise LayerError(f"file not found: {p}", [Problem("file not found", file=str(p), hint="check the path")])
    if p.suffix.lower() not in READ_SUFFIXES:
        raise LayerError(
            f"unsupported format {p.suffix!r}: {p}",
            [Problem(f"unsupported format {p.suffix!r}", file=str(p), hint=_FORMAT_HINT)],
        )
    return p


def _ogr_path(p: Path) -> str:
    if p.suffix.lower() == ".zip":
        return f"/vsizip/{p}"
    return str(p)


def read_file(path: str | Path, *, layer: str | None = None, crs: str | CRS | None = None) -> gpd.GeoDataFrame:
    """Read one layer of a file as it is (no schema mapping, no reprojection).

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, zipped Shapefile, Shapefile, CSV or KML file.
    layer
        The layer to read where the file has several (GeoPackage, KML).
    crs
        The CRS of the data when the file does not state one (CSV always needs it).
        A file that states a CRS different from ``crs`` is an error.

    Raises
    ------
    LayerError
        The file cannot be read.
    CRSError
        The file has no CRS and none was given, or it contradicts ``crs``.
    """
    p = _check_path(path)
    if p.suffix.lower() == ".csv":
        gdf = _read_csv(p)
    else:
        try:
            gdf = gpd.read_file(_ogr_path(p), layer=layer, engine="pyogrio")
        except Exception as exc:
            raise LayerError(
                f"cannot read {p}" + (f" layer {layer!r}" if layer else ""),
                [Problem(str(exc).splitlines()[0], file=str(p), layer=layer, hint=_FORMAT_HINT)],
            ) from None
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{p}" + (f" layer {layer}" if layer else "") + " states no CRS: give one (CLI: --crs), e.g. "
                "EPSG:4326 for WGS 84 lon/lat, EPSG:4756 for VN-2000 lon/lat or EPSG:9207 for VN-2000 / "
                "Kiên Giang TM-3"
            )
        gdf = gdf.set_crs(crs)
    elif crs is not None and CRS.from_user_input(gdf.crs) != CRS.from_user_input(crs):
        raise CRSError(
            f"{p} states CRS {CRS.from_user_input(gdf.crs).to_string()} but {CRS.from_user_input(crs).to_string()}"
            " was given: remove the --crs option or fix the file's CRS"
        )
    return gdf


def _read_csv(p: Path) -> gpd.GeoDataFrame:
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lower = {c.lower().strip(): c for c in df.columns}
    lon = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    wkt = next((lower[n] for n in _WKT_NAMES if n in lower), None)
    problems: list[Problem] = []
    if wkt is not None:
        geoms = []
        for i, text in enumerate(df[wkt]):
            try:
                geoms.append(shapely.from_wkt(text) if text.strip() else None)
            except shapely.errors.ShapelyError:
                geoms.append(None)
                problems.append(Problem("not valid WKT", file=str(p), row=i, column=wkt, value=text[:60]))
        df = df.drop(columns=[wkt])
    elif lon is not None and lat is not None:
        xs = pd.to_numeric(df[lon], errors="coerce")
        ys = pd.to_numeric(df[lat], errors="coerce")
        for i in (int(j) for j in np.flatnonzero(xs.isna().to_numpy() | ys.isna().to_numpy())):
            problems.append(
                Problem(
                    "coordinate is not a number",
                    file=str(p),
                    row=int(i),
                    column=f"{lon}/{lat}",
                    value=f"{df[lon].iloc[i]}, {df[lat].iloc[i]}",
                )
            )
        geoms = list(gpd.points_from_xy(xs, ys))
        df = df.drop(columns=[lon, lat])
    else:
        raise LayerError(
            f"{p}: no geometry columns",
            [
                Problem(
                    "no lon/lat or WKT column",
                    file=str(p),
                    hint="name the columns lon and lat (or kinh_do and vi_do), or wkt",
                )
            ],
        )
    if problems:
        raise LayerError(f"cannot read {p}", problems)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms), crs=None)


def infer_kind(name: str, columns: Iterable[str]) -> str | None:
    """Guess the layer kind from a layer name or, failing that, from its id column."""
    key = name.lower().strip()
    if key in SCHEMAS:
        return key
    if key in _KIND_NAMES:
        return _KIND_NAMES[key]
    cols = {c.lower() for c in columns}
    for kind, schema in SCHEMAS.items():
        if schema.id_column is None:
            continue
        col = schema.columns[schema.id_column]
        if schema.id_column in cols or any(a.lower() in cols for a in col.aliases):
            return kind
    return None


# ------------------------------------------------------------------------------------------------------------
# loading (read + validate) and writing
# ------------------------------------------------------------------------------------------------------------
def load_layer(
    path: str | Path,
    kind: str | None = None,
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    metric_crs: str | CRS = METRIC_CRS,
    bounds: tuple[float, float, float, float] | None = VIETNAM_BOUNDS,
) -> gpd.GeoDataFrame:
    """Read, validate and reproject one layer; ``kind`` is inferred from the layer name or id column if omitted."""
    gdf = read_file(path, layer=layer, crs=crs)
    name = layer or Path(path).stem
    if kind is None:
        kind = infer_kind(name, gdf.columns)
        if kind is None:
            raise LayerError(
                f"cannot tell what kind of layer {name!r} is",
                [
                    Problem(
                        "unknown layer kind",
                        file=str(path),
                        layer=name,
                        hint="state the kind (CLI: --kind) as one of " + ", ".join(KINDS),
                    )
                ],
            )
    return validate_layer(gdf, kind, source=str(path), layer_name=name, metric_crs=metric_crs, bounds=bounds)


def read_layers(
    path: str | Path,
    *,
    crs: str | CRS | None = None,
    kinds: Iterable[str] | None = None,
    metric_crs: str | CRS = METRIC_CRS,
    bounds: tuple[float, float, float, float] | None = VIETNAM_BOUNDS,
) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer of a multi-layer file (a GeoPackage) whose name is a layer kind, validated and metric.

    Problems of every layer are gathered and raised together in one :class:`LayerError`.
    """
    p = _check_path(path)
    wanted = set(kinds) if kinds is not None else None
    out: dict[str, gpd.GeoDataFrame] = {}
    problems: list[Problem] = []
    for name, _gtype, _n in list_layers(p):
        kind = infer_kind(name, ())
        if kind is None or (wanted is not None and kind not in wanted):
            continue
        try:
            out[kind] = load_layer(p, kind, layer=name, crs=crs, metric_crs=metric_crs, bounds=bounds)
        except LayerError as exc:
            problems.extend(exc.problems or [Problem(exc.summary, file=str(p), layer=name)])
    if wanted:
        for k in sorted(wanted - set(out)):
            if not any(pr.layer == k for pr in problems):
                problems.append(Problem("layer missing", file=str(p), layer=k, hint=f"add a layer named {k!r}"))
    if problems:
        raise LayerError(f"{p} has invalid layers", problems)
    return validate_layers(out, source=str(p))


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write layers to one GeoPackage (replacing the file atomically: a failed write leaves the old file)."""
    from gisplan._atomic import atomic_path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return p


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write one layer as GeoJSON in WGS 84 (RFC 7946), atomically."""
    from gisplan._atomic import atomic_path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        gdf.to_crs(DISPLAY_CRS).to_file(tmp, driver="GeoJSON", engine="pyogrio")
    return p


def layer_info(path: str | Path) -> list[dict[str, Any]]:
    """Describe every layer of a file: name, inferred kind, count, geometry type, CRS and extent (lon/lat)."""
    p = _check_path(path)
    rows = []
    for name, gtype, n in list_layers(p):
        row: dict[str, Any] = {"layer": name, "geometry_type": gtype, "features": n}
        try:
            gdf = read_file(p, layer=None if p.suffix.lower() == ".csv" else name)
            row["kind"] = infer_kind(name, gdf.columns)
            row["crs"] = CRS.from_user_input(gdf.crs).to_string()
            row["extent_lonlat"] = [round(float(v), 6) for v in gdf.to_crs(DISPLAY_CRS).total_bounds]
        except (CRSError, LayerError) as exc:
            row["kind"] = infer_kind(name, ())
            row["crs"] = None
            row["error"] = str(exc).splitlines()[0]
        rows.append(row)
    return rows
