"""Validation of layers against their schemas (private; the public names are re-exported by gisplan.io.layers).

Every problem is gathered and reported at once, with file, layer, row (the feature's
id where it has one), column, value and a fix; safe repairs are made with a
:class:`RepairWarning` that says what changed.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gisplan._errors import CRSError, LayerError, Problem
from gisplan.io.crs import DISPLAY_CRS, to_metric
from gisplan.io.project import project_frame
from gisplan.io.schemas import Column, LayerSchema, get_schema

#: Plausible area (lon_min, lat_min, lon_max, lat_max) for coordinates: Vietnam and its seas, with a margin.

_TRUE = {"true", "1", "yes", "y", "t", "có", "co", "x"}
_FALSE = {"false", "0", "no", "n", "f", "không", "khong", ""}


class RepairWarning(UserWarning):
    """A layer was repaired on reading (the message says what changed)."""


@dataclass(frozen=True, kw_only=True)
class ReadLimits:
    """How much work reading one layer file (or one upload) may cost; checked before the costly step.

    Bytes bound nothing on their own: a 72 KB GeoPackage claiming 10^8 features made the reader allocate
    2.5 GB, and a 1 GB CSV took 13 GB.  These limits are checked from what a file states or what can be
    counted cheaply (file size, row and ``<Placemark>`` counts, GeoPackage table rows and geometry bytes)
    before it is parsed, and every refusal names the file, the figure and the limit.

    Attributes
    ----------
    max_features
        Features in one layer (rows of a CSV, placemarks of a KML, rows a GeoPackage table has or claims).
        A province holds a few hundred thousand poles or road edges (design.md, Scale): 2,000,000 leaves
        room for the largest layer of one province; larger data is split by district.
    max_vertices
        Coordinates in one layer, counted on the geometries (or, in a GeoPackage before reading, estimated
        from its geometry bytes at 16 bytes per x/y vertex).  Assumption: 20,000,000 vertices (320 MB as
        float64 pairs) is above any province's road network at survey detail.
    max_csv_bytes
        Size of a CSV file, read whole and parsed as text: parsing costs about 13 times the file in memory
        (issue 11: a 1 GB CSV took 13 GB), so 100 MiB keeps one read near 1.3 GB.
    max_text_bytes
        Size of a GeoJSON or KML file (or a KMZ unpacked), which GDAL parses whole: 512 MiB, above a province's
        road network as GeoJSON (about 300,000 edges, roughly 120 MB); larger files belong in a GeoPackage.
    max_memory_bytes
        Ceiling of the memory one GeoPackage upload is estimated to need before it is read (features times
        an object overhead of 200 bytes per column, plus geometry bytes times 4 for the shapely objects):
        2 GiB, a quarter of a small 8 GB server that several sessions share.
    max_layers
        Tables one GeoPackage upload may register.
    """

    max_features: int = 2_000_000
    max_vertices: int = 20_000_000
    max_csv_bytes: int = 100 * 2**20
    max_text_bytes: int = 512 * 2**20
    max_memory_bytes: int = 2 * 2**30
    max_layers: int = 100


#: The limits used when none are given.
DEFAULT_LIMITS = ReadLimits()


# ------------------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------------------
def validate_layer(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str | None = None,
    layer_name: str | None = None,
    metric_crs: str | CRS | None = None,
    bounds: tuple[float, float, float, float] | str | None = "auto",
) -> gpd.GeoDataFrame:
    """Map ``gdf`` onto the schema of ``kind``, validate, repair and reproject it.

    Parameters
    ----------
    gdf
        The layer as read; it is not modified.
    kind
        One of :data:`gisplan.io.schemas.KINDS`.
    source, layer_name
        Named in messages (file and layer).
    metric_crs
        The CRS of the returned frame; None: the project's (the UTM zone of the layer's centre, see
        :func:`gisplan.io.project.project_frame`; a whole project is framed by :func:`gisplan.io.read_layers`).
    bounds
        Plausible (lon_min, lat_min, lon_max, lat_max); coordinates outside are errors; ``"auto"``: Vietnam's
        extent for data in Vietnam, else drawn from the data (:mod:`gisplan.io.project`); None disables the check.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical columns first (extra columns kept after them), typed, in ``metric_crs``,
        with a fresh RangeIndex.

    Raises
    ------
    LayerError
        Listing every problem found.
    CRSError
        When ``gdf`` has no CRS.
    """
    schema = get_schema(kind)
    lname = layer_name or kind
    if gdf.crs is None:
        raise CRSError(
            f"{source or '<data>'} layer {lname} has no CRS: state one (e.g. EPSG:4326) "
            f"/ lớp {lname} không có hệ tọa độ: hãy khai báo (vd. EPSG:4326)"
        )
    where = {"file": source, "layer": lname}
    if len(gdf) == 0:
        raise LayerError(
            f"layer {lname} is empty / lớp {lname} rỗng",
            [
                Problem(
                    "the layer has no features / lớp không có đối tượng nào",
                    **where,
                    hint=f"add {schema.description_en.lower()} or drop it "
                    f"/ thêm {schema.description_vi.lower()} hoặc bỏ lớp này",
                )
            ],
        )
    if metric_crs is None or isinstance(bounds, str):
        if isinstance(bounds, str) and bounds != "auto":
            raise ValueError(
                f"bounds must be a (W, S, E, N) tuple, 'auto' or None, got {bounds!r} "
                f"/ bounds phải là bộ (Tây, Nam, Đông, Bắc), 'auto' hoặc None, đang là {bounds!r}"
            )
        try:
            frame = project_frame({kind: gdf}, metric_crs=metric_crs, region=None if bounds == "auto" else bounds)
        except CRSError:
            if metric_crs is not None:
                raise
            # no feature has a usable geometry: the geometry checks below report every row, and the layer is
            # refused before anything is reprojected, so no CRS is chosen
            frame = None
        metric_crs = frame.crs if frame is not None else None
        bounds = (frame.region if frame is not None else None) if bounds == "auto" else bounds
    df = _rename_to_schema(gdf, schema)
    problems: list[Problem] = []
    ids = _row_labels(df, schema)
    # ---- columns and values ----
    out: dict[str, Any] = {}
    for name, col in schema.columns.items():
        if name not in df.columns:
            if col.required:
                problems.append(
                    Problem(
                        "missing column / thiếu cột",
                        **where,
                        column=name,
                        hint=f"add column {name!r}"
                        + (f" (aliases: {', '.join(col.aliases)})" if col.aliases else "")
                        + f" / thêm cột {name!r}"
                        + (f" (tên khác: {', '.join(col.aliases)})" if col.aliases else ""),
                    )
                )
                continue
            out[name] = _typed_series([col.default] * len(df), col)
            continue
        out[name] = _coerce_column(df[name], name, col, ids, where, problems)
    if schema.kind == "cables" and "kind" in out and "fibre_count" in out and "fibre_count" in df.columns:
        no_count = (out["kind"] == "fibre").to_numpy() & out["fibre_count"].isna().to_numpy()
        for i in np.flatnonzero(no_count):
            problems.append(
                Problem(
                    "a fibre cable needs its fibre count / cáp quang cần số sợi",
                    **where,
                    row=ids[i],
                    column="fibre_count",
                    hint="give the number of fibres (12, 24, 48 ...) / ghi số sợi (12, 24, 48 ...)",
                )
            )
    elif schema.kind == "cables" and "kind" in out and (out["kind"] == "fibre").any():
        problems.append(
            Problem(
                "missing column / thiếu cột",
                **where,
                column="fibre_count",
                hint="fibre cables need their fibre count (column fibre_count or so_soi) "
                "/ cáp quang cần số sợi (cột fibre_count hoặc so_soi)",
            )
        )
    if schema.kind == "ducts" and "n_ducts" in out and "free_ducts" in out:
        too_many = (out["free_ducts"] > out["n_ducts"]).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(too_many):
            n, f = out["n_ducts"].iloc[i], out["free_ducts"].iloc[i]
            problems.append(
                Problem(
                    "more free ducts than ducts / số ống trống nhiều hơn số ống",
                    **where,
                    row=ids[i],
                    column="free_ducts",
                    value=int(f),
                    hint=f"free_ducts must be at most n_ducts ({int(n)}) / free_ducts tối đa bằng n_ducts ({int(n)})",
                )
            )
    # ---- ids ----
    if schema.id_column and schema.id_column in out:
        idcol = out[schema.id_column]
        dup = idcol[idcol.duplicated(keep=False) & idcol.notna()]
        for value, grp in dup.groupby(dup):
            rows = ", ".join(str(int(r)) for r in grp.index[:10])
            problems.append(
                Problem(
                    f"duplicate id (rows {rows}) / mã bị trùng (các dòng {rows})",
                    **where,
                    row=value,
                    column=schema.id_column,
                    value=value,
                    hint="give every feature its own id / mỗi đối tượng cần một mã riêng",
                )
            )
    # ---- geometry ----
    geom, good = _check_geometry(df.geometry, schema, ids, where, problems)
    if bounds is not None and not isinstance(bounds, str) and good.any():
        idx = np.flatnonzero(good)
        _check_bounds(gpd.GeoSeries(geom[idx], crs=gdf.crs), [ids[i] for i in idx], where, bounds, problems)
    if problems:
        raise LayerError(
            f"layer {lname}" + (f" of {source}" if source else "") + f" is invalid / lớp {lname} không hợp lệ", problems
        )
    extra = [c for c in df.columns if c not in schema.columns and c != df.geometry.name]
    result = gpd.GeoDataFrame(
        {**{k: v.to_numpy() for k, v in out.items()}, **{c: df[c].to_numpy() for c in extra}},
        geometry=gpd.GeoSeries(geom, crs=gdf.crs).to_numpy(),
        crs=gdf.crs,
    )
    if metric_crs is None:  # pragma: no cover - only layers without a valid geometry get here, and they raised
        raise LayerError(
            f"layer {lname} has no valid geometry / lớp {lname} không có hình học hợp lệ",
            [Problem("no valid geometry / không có hình học hợp lệ", **where)],
        )
    return to_metric(result, metric_crs)


def _rename_to_schema(gdf: gpd.GeoDataFrame, schema: LayerSchema) -> gpd.GeoDataFrame:
    amap = schema.alias_map()
    rename: dict[str, str] = {}
    taken = set()
    for c in gdf.columns:
        if c == gdf.geometry.name:
            continue
        target = amap.get(unicodedata.normalize("NFC", str(c)).lower().strip())
        if target and target not in taken and (target == c or target not in gdf.columns):
            rename[c] = target
            taken.add(target)
    df = gdf.rename(columns=rename)
    return df.reset_index(drop=True)


def _row_labels(df: pd.DataFrame, schema: LayerSchema) -> list[object]:
    if schema.id_column and schema.id_column in df.columns:
        vals = df[schema.id_column].tolist()
        return [v if _present(v) else f"#{i}" for i, v in enumerate(vals)]
    return [f"#{i}" for i in range(len(df))]


def _present(v: object) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    return not (isinstance(v, str) and not v.strip())


def _coerce_column(
    s: pd.Series, name: str, col: Column, ids: list[object], where: dict[str, Any], problems: list[Problem]
) -> pd.Series:
    vals = s.tolist()
    out: list[object] = []
    for i, v in enumerate(vals):
        if not _present(v) or (v is pd.NA):
            if not col.nullable and col.default is None:
                problems.append(
                    Problem(
                        "empty value / giá trị trống",
                        **where,
                        row=ids[i],
                        column=name,
                        hint=f"fill in {name} / điền {name}",
                    )
                )
            out.append(col.default if col.default is not None else None)
            continue
        try:
            conv = _convert(v, col)
        except ValueError as exc:
            problems.append(
                Problem(
                    str(exc), **where, row=ids[i], column=name, value=v, hint=f"correct {name} / sửa giá trị {name}"
                )
            )
            out.append(None)
            continue
        if col.allowed is not None and conv not in col.allowed:
            problems.append(
                Problem(
                    "value not allowed / giá trị không hợp lệ",
                    **where,
                    row=ids[i],
                    column=name,
                    value=v,
                    hint="use one of " + ", ".join(col.allowed) + " / dùng một trong " + ", ".join(col.allowed),
                )
            )
        if isinstance(conv, int | float) and not isinstance(conv, bool):
            if col.minimum is not None and conv < col.minimum:
                problems.append(
                    Problem(
                        f"value below the minimum {col.minimum:g} / giá trị nhỏ hơn mức tối thiểu {col.minimum:g}",
                        **where,
                        row=ids[i],
                        column=name,
                        value=v,
                    )
                )
            elif col.maximum is not None and conv > col.maximum:
                problems.append(
                    Problem(
                        f"value above the maximum {col.maximum:g} / giá trị lớn hơn mức tối đa {col.maximum:g}",
                        **where,
                        row=ids[i],
                        column=name,
                        value=v,
                    )
                )
        out.append(conv)
    return _typed_series(out, col)


def _typed_series(out: list[object], col: Column) -> pd.Series:
    if col.dtype == "int":
        return pd.Series(out, dtype="Int64")
    if col.dtype == "float":
        return pd.Series([np.nan if x is None else x for x in out], dtype="float64")
    if col.dtype == "bool":
        return pd.Series([bool(x) if x is not None else False for x in out], dtype="bool")
    return pd.Series(out, dtype="object")


def _convert(v: object, col: Column) -> object:
    if col.dtype == "str":
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = unicodedata.normalize("NFC", str(v)).strip()  # NFD text (macOS, some exports) matches aliases
        if col.value_aliases or col.allowed:
            key = text.lower()
            text = col.value_aliases.get(key, text)
            if col.allowed and text not in col.allowed:
                lowered = {a.lower(): a for a in col.allowed}
                text = lowered.get(text.lower(), text)
        return text
    if col.dtype == "int":
        if isinstance(v, bool):
            raise ValueError("expected a whole number, got a boolean / cần số nguyên, không phải đúng/sai")
        try:
            f = float(str(v).replace(",", "").strip()) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("expected a whole number / cần số nguyên") from None
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError("expected a whole number / cần số nguyên")
        if abs(f) > 2**53:
            raise ValueError("number too large / số quá lớn")
        return int(f)
    if col.dtype == "float":
        if isinstance(v, bool):
            raise ValueError("expected a number, got a boolean / cần một số, không phải đúng/sai")
        try:
            f = float(str(v).replace(",", ".").strip()) if isinstance(v, str) else float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("expected a number / cần một số") from None
        if not math.isfinite(f):
            raise ValueError("expected a finite number / cần một số hữu hạn")
        return f
    if col.dtype == "bool":
        if isinstance(v, bool | np.bool_):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected yes/no (true/false, 1/0, có/không) / cần có/không (true/false, 1/0)")
    raise AssertionError(f"unknown dtype {col.dtype}")


def _check_geometry(
    geoms: gpd.GeoSeries, schema: LayerSchema, ids: list[object], where: dict[str, Any], problems: list[Problem]
) -> tuple[np.ndarray, np.ndarray]:
    """Check and repair geometries; return them and a mask of the rows whose geometry is usable."""
    arr = np.asarray(geoms.to_numpy(), dtype=object).copy()
    good = np.zeros(len(arr), dtype=bool)
    repaired: dict[str, list[object]] = {}
    for i, g in enumerate(arr):
        if g is None or g.is_empty:
            problems.append(
                Problem(
                    "missing or empty geometry / thiếu hình học hoặc hình học rỗng",
                    **where,
                    row=ids[i],
                    column="geometry",
                    hint="draw the feature or remove the row / vẽ đối tượng hoặc xóa dòng này",
                )
            )
            continue
        if g.has_z:
            g = shapely.force_2d(g)
            repaired.setdefault("dropped Z values", []).append(ids[i])
        gtype = g.geom_type
        if gtype not in schema.geometry_types:
            fixed = _coerce_geometry_type(g, schema.geometry_types)
            if fixed is None:
                hint = {
                    "MultiLineString": "split the feature into separate lines, each with its own id "
                    "/ tách đối tượng thành các đường riêng, mỗi đường một mã",
                    "MultiPoint": "split the feature into separate points, each with its own id "
                    "/ tách đối tượng thành các điểm riêng, mỗi điểm một mã",
                }.get(
                    gtype,
                    f"give a {' or '.join(schema.geometry_types)} "
                    f"/ dùng hình học kiểu {' hoặc '.join(schema.geometry_types)}",
                )
                problems.append(
                    Problem(
                        f"wrong geometry type {gtype} / sai kiểu hình học {gtype}",
                        **where,
                        row=ids[i],
                        column="geometry",
                        hint=hint,
                    )
                )
                continue
            g = fixed
            repaired.setdefault(f"joined multi-part {gtype} into one", []).append(ids[i])
        if schema.geometry_types[0] in ("Polygon", "MultiPolygon") and not g.is_valid:
            fixed = shapely.make_valid(g)
            polys = [p for p in getattr(fixed, "geoms", [fixed]) if p.geom_type in ("Polygon", "MultiPolygon")]
            if not polys:
                problems.append(
                    Problem(
                        "invalid polygon that cannot be repaired / vùng (đa giác) lỗi không sửa được",
                        **where,
                        row=ids[i],
                        column="geometry",
                        value=shapely.is_valid_reason(g),
                        hint="redraw the polygon / vẽ lại vùng",
                    )
                )
                continue
            g = shapely.union_all(polys)
            repaired.setdefault("repaired invalid polygon", []).append(ids[i])
        if gtype in ("LineString", "MultiLineString") or schema.geometry_types[0] == "LineString":
            dedup = shapely.remove_repeated_points(g)
            if len(shapely.get_coordinates(dedup)) != len(shapely.get_coordinates(g)):
                g = dedup
                repaired.setdefault("removed repeated vertices", []).append(ids[i])
            if g.geom_type == "LineString" and (len(g.coords) < 2 or g.length == 0):
                problems.append(
                    Problem(
                        "line of zero length / đường có chiều dài bằng 0",
                        **where,
                        row=ids[i],
                        column="geometry",
                        hint="remove the feature or fix its vertices / xóa đối tượng hoặc sửa các đỉnh",
                    )
                )
                continue
        arr[i] = g
        good[i] = True
    for what, rows in repaired.items():
        shown = ", ".join(str(r) for r in rows[:8]) + (" ..." if len(rows) > 8 else "")
        warnings.warn(
            f"{where.get('file') or '<data>'} layer {where['layer']}: {what} in {len(rows)} feature(s): {shown}",
            RepairWarning,
            stacklevel=4,
        )
    return arr, good


def _coerce_geometry_type(g: Any, allowed: tuple[str, ...]) -> Any:
    if "LineString" in allowed and g.geom_type == "MultiLineString":
        merged = shapely.line_merge(g)
        return merged if merged.geom_type == "LineString" else None
    if "Point" in allowed and g.geom_type == "MultiPoint" and len(g.geoms) == 1:
        return g.geoms[0]
    if "MultiPolygon" in allowed and g.geom_type == "GeometryCollection":
        polys = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else None
    return None


def _check_bounds(
    geoms: gpd.GeoSeries,
    ids: list[object],
    where: dict[str, Any],
    bounds: tuple[float, float, float, float],
    problems: list[Problem],
) -> None:
    lon0, lat0, lon1, lat1 = bounds
    crs = CRS.from_user_input(geoms.crs)
    if crs.is_geographic:
        raw = geoms.bounds.to_numpy()
    else:
        with np.errstate(all="ignore"):
            raw = geoms.to_crs(DISPLAY_CRS).bounds.to_numpy()
    minx, miny, maxx, maxy = raw.T
    finite = np.isfinite(raw).all(axis=1)
    with np.errstate(invalid="ignore"):
        inside = (lon0 <= minx) & (maxx <= lon1) & (lat0 <= miny) & (maxy <= lat1)
        swapped = (lon0 <= miny) & (maxy <= lon1) & (lat0 <= minx) & (maxx <= lat1)
    bad = np.flatnonzero(~(finite & inside))
    if len(bad) and not crs.is_geographic:
        # A survey's X is the northing and its Y the easting: do the features fit with x and y exchanged?
        flipped = gpd.GeoSeries(shapely.transform(geoms.to_numpy()[bad], lambda c: c[:, ::-1]), crs=crs)
        with np.errstate(all="ignore"):
            fb = flipped.to_crs(DISPLAY_CRS).bounds.to_numpy()
            fits = (lon0 <= fb[:, 0]) & (fb[:, 2] <= lon1) & (lat0 <= fb[:, 1]) & (fb[:, 3] <= lat1)
        swapped = np.zeros(len(raw), dtype=bool)
        swapped[bad] = fits
    outside_hint = (
        "check the CRS (a VN-2000 TM-3 file read as WGS 84 lands far away) or pass other bounds "
        "/ kiểm tra hệ tọa độ (tệp VN-2000 TM-3 đọc như WGS 84 sẽ nằm rất xa) hoặc đặt vùng khác"
    )
    for i in bad:
        if not finite[i]:
            problems.append(
                Problem(
                    "coordinates cannot be placed on Earth in the layer's CRS "
                    "/ tọa độ không nằm trên Trái Đất theo hệ tọa độ của lớp",
                    **where,
                    row=ids[i],
                    column="geometry",
                    hint="check the CRS the file states / kiểm tra hệ tọa độ mà tệp khai báo",
                )
            )
        elif crs.is_geographic and swapped[i]:
            problems.append(
                Problem(
                    "latitude and longitude look swapped / vĩ độ và kinh độ có vẻ bị đảo",
                    **where,
                    row=ids[i],
                    column="geometry",
                    value=f"x={minx[i]:.5f}, y={miny[i]:.5f}",
                    hint="put longitude in x (first) and latitude in y (second) "
                    "/ đặt kinh độ vào x (trước), vĩ độ vào y (sau)",
                )
            )
        else:
            problems.append(
                Problem(
                    f"coordinates outside the plausible area lon {lon0}..{lon1}, lat {lat0}..{lat1} "
                    f"/ tọa độ nằm ngoài vùng hợp lý kinh độ {lon0}..{lon1}, vĩ độ {lat0}..{lat1}",
                    **where,
                    row=ids[i],
                    column="geometry",
                    value=f"lon {minx[i]:.5f}..{maxx[i]:.5f}, lat {miny[i]:.5f}..{maxy[i]:.5f}",
                    hint=(
                        "x and y look swapped: Vietnamese surveys write X for the northing and Y for the easting; "
                        "put the easting (the survey's Y) in x and the northing (its X) in y / x và y có vẻ bị đảo: "
                        "số liệu đo đạc Việt Nam ghi X là tọa độ bắc, Y là tọa độ đông; đặt Y vào x và X vào y"
                    )
                    if swapped[i]
                    else outside_hint,
                )
            )


def validate_layers(
    layers: Mapping[str, gpd.GeoDataFrame], *, source: str | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Checks across validated layers: cables' from/to poles exist, settlements' communes exist.

    Raises
    ------
    LayerError
        Listing every cross-layer problem.
    """
    problems: list[Problem] = []
    cables, poles = layers.get("cables"), layers.get("poles")
    if cables is not None and poles is not None:  # without a poles layer the references cannot be checked
        pole_ids = set(poles["pole_id"])
        for col in ("from_pole", "to_pole"):
            for cid, pid in zip(cables["cable_id"], cables[col], strict=True):
                if _present(pid) and pid not in pole_ids:
                    problems.append(
                        Problem(
                            "cable names a pole that does not exist / cáp ghi mã cột không tồn tại",
                            file=source,
                            layer="cables",
                            row=cid,
                            column=col,
                            value=pid,
                            hint="fix the pole id or add the pole to the poles layer "
                            "/ sửa mã cột hoặc thêm cột vào lớp cột",
                        )
                    )
    sets, bounds = layers.get("settlements"), layers.get("boundaries")
    if sets is not None and bounds is not None:
        codes = set(bounds["unit_code"].astype(str))
        if "unit_code_2025" in bounds.columns:
            codes |= {str(c) for c in bounds["unit_code_2025"] if _present(c)}
        for sid, code in zip(sets["settlement_id"], sets["commune_code"], strict=True):
            if _present(code) and str(code) not in codes:
                problems.append(
                    Problem(
                        "commune code not found in the boundaries layer / không tìm thấy mã xã trong lớp ranh giới",
                        file=source,
                        layer="settlements",
                        row=sid,
                        column="commune_code",
                        value=code,
                        hint="use a unit_code (or unit_code_2025) of the boundaries layer "
                        "/ dùng một unit_code (hoặc unit_code_2025) của lớp ranh giới",
                    )
                )
    if problems:
        raise LayerError(
            "layers do not agree with each other" + (f" in {source}" if source else "") + " / các lớp không khớp nhau",
            problems,
        )
    return dict(layers)
