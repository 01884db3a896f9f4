"""Reading, validating and writing gisplan's layers.

Every layer is read once, mapped onto its schema (:mod:`gisplan.io.schemas`),
validated (every problem reported at once, with file, layer, row, column, value
and a fix), repaired where that is safe (with a warning that says what changed)
and reprojected once to the metric CRS.

Formats: GeoPackage (one or many layers), GeoJSON, zipped Shapefile (or a bare
``.shp``), CSV (lon/lat or WKT columns) and KML; GeoPackage and GeoJSON are written.
"""

from __future__ import annotations

import codecs
import glob
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gisplan._atomic import atomic_path
from gisplan._errors import CRSError, LayerError, Problem
from gisplan.io._encoding import ENCODINGS_HINT, canonical_encoding, decode_text, is_utf8, preview
from gisplan.io._validate import (
    DEFAULT_LIMITS,
    ReadLimits,
    RepairWarning,
    validate_layer,
    validate_layers,
)
from gisplan.io.crs import DISPLAY_CRS
from gisplan.io.project import VIETNAM_BOUNDS, ProjectFrame, project_frame
from gisplan.io.schemas import KINDS, SCHEMAS

__all__ = [
    "READ_SUFFIXES",
    "VIETNAM_BOUNDS",
    "RepairWarning",
    "crs_if_unstated",
    "frame_of",
    "infer_kind",
    "layer_info",
    "list_layers",
    "load_layer",
    "read_file",
    "read_layers",
    "read_project",
    "read_raw_layers",
    "skipped_layers",
    "validate_layer",
    "validate_layers",
    "validate_raw_layers",
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
def list_layers(
    path: str | Path, *, encoding: str | None = None, limits: ReadLimits | None = None
) -> list[tuple[str, str | None, int]]:
    """List the layers of a file as ``(name, geometry type, feature count)``; the type is None for a table
    without geometry (an attribute table, such as ``boq`` in gisplan's own ``plan.gpkg``).

    ``encoding`` is that of a CSV file (see :func:`read_file`); ``limits`` bound the work (:class:`ReadLimits`).

    Raises
    ------
    LayerError
        When the file is missing, not a readable vector file, or beyond ``limits``.
    """
    p = _check_path(path)
    lim = limits or DEFAULT_LIMITS
    check_text_limits(p, lim)
    if p.suffix.lower() == ".csv":
        n = len(_csv_frame(p, _encoding_option(encoding, p), lim))
        return [(p.stem, "from columns", n)]
    try:
        names = pyogrio.list_layers(_ogr_path(p))
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise LayerError(
            f"cannot read {p} / không đọc được tệp {p}",
            [Problem(f"{exc} / không đọc được tệp", file=str(p), hint=_FORMAT_HINT)],
        ) from None
    out: list[tuple[str, str | None, int]] = []
    for name, gtype in names:
        try:
            info = pyogrio.read_info(_ogr_path(p), layer=name)
        except Exception as exc:  # pyogrio's DataLayerError family
            raise LayerError(
                f"cannot read {p} layer {name!r} / không đọc được lớp {name!r} của tệp {p}",
                [Problem(f"{_first_line(exc)} / không đọc được lớp", file=str(p), layer=str(name))],
            ) from None
        out.append((str(name), None if gtype is None else str(gtype), int(info["features"])))
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _limit_error(p: Path, what: str, value: int, limit: int, hint: str, *, layer: str | None = None) -> LayerError:
    return LayerError(
        f"{p}" + (f" layer {layer}" if layer else "") + f": {what} {value:,}, more than the limit of {limit:,} "
        f"(tệp vượt giới hạn xử lý)",
        [
            Problem(
                f"{what} {value:,}, limit {limit:,} / {_LIMIT_VI.get(what, what)} {value:,}, giới hạn {limit:,}",
                file=str(p),
                layer=layer,
                hint=hint,
            )
        ],
    )


#: The Vietnamese of the figures :func:`_limit_error` names.
_LIMIT_VI = {
    "file size (bytes)": "kích thước tệp (byte)",
    "features": "số đối tượng",
    "vertices": "số đỉnh",
    "rows": "số dòng",
    "placemarks (features)": "số placemark (đối tượng)",
}
_SPLIT_EN = "split the file by district or commune (or simplify its lines) and load the parts"
_SPLIT_VI = "chia tệp theo huyện hoặc xã (hoặc giản lược các đường) rồi nạp từng phần"
_SPLIT_HINT = f"{_SPLIT_EN} / {_SPLIT_VI}"
_SPLIT_OR_GPKG_HINT = f"{_SPLIT_EN}, or convert it to a GeoPackage / {_SPLIT_VI}, hoặc chuyển sang GeoPackage"


def check_text_limits(p: Path, limits: ReadLimits) -> None:
    """Refuse, before it is parsed, a text layer file (CSV, GeoJSON, KML, KMZ) beyond ``limits``.

    Checks the file size (the unpacked size for a KMZ) and, for KML, the number of ``<Placemark>`` elements.
    """
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json", ".kml", ".kmz"):
        return
    size = p.stat().st_size
    if suffix == ".kmz":
        try:
            with zipfile.ZipFile(p) as zf:
                size = sum(i.file_size for i in zf.infolist())
        except (zipfile.BadZipFile, OSError):
            return  # GDAL reports the damaged archive
    most = limits.max_csv_bytes if suffix == ".csv" else limits.max_text_bytes
    if size > most:
        raise _limit_error(p, "file size (bytes)", size, most, _SPLIT_OR_GPKG_HINT)
    if suffix == ".kml":
        n = _count_placemarks(p)
        if n > limits.max_features:
            raise _limit_error(p, "placemarks (features)", n, limits.max_features, _SPLIT_HINT)


def _count_placemarks(p: Path) -> int:
    """``<Placemark`` start tags in a KML file, counted in chunks (case as KML writes it)."""
    n, tail = 0, b""
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            data = tail + chunk
            n += data.count(b"<Placemark")
            tail = data[-len(b"<Placemark") + 1 :]
    return n


def _check_counts(gdf: gpd.GeoDataFrame, p: Path, layer: str | None, limits: ReadLimits) -> None:
    """Refuse a layer read with more features or vertices than ``limits`` allow."""
    if len(gdf) > limits.max_features:
        raise _limit_error(p, "features", len(gdf), limits.max_features, _SPLIT_HINT, layer=layer)
    vertices = int(shapely.get_num_coordinates(gdf.geometry.values).sum()) if len(gdf) else 0
    if vertices > limits.max_vertices:
        raise _limit_error(p, "vertices", vertices, limits.max_vertices, _SPLIT_HINT, layer=layer)


_ENCODING_FIX = f"use {ENCODINGS_HINT} / dùng một trong các bảng mã: {ENCODINGS_HINT}"
_FORMAT_HINT = (
    "use GeoPackage, GeoJSON, zipped Shapefile, CSV with lon/lat or WKT columns, or KML "
    "/ dùng GeoPackage, GeoJSON, Shapefile nén ZIP, CSV có cột lon/lat hoặc WKT, hoặc KML"
)


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise LayerError(
            f"file not found: {p} / không tìm thấy tệp {p}",
            [Problem("file not found / không tìm thấy tệp", file=str(p), hint="check the path / kiểm tra đường dẫn")],
        )
    if p.suffix.lower() not in READ_SUFFIXES:
        raise LayerError(
            f"unsupported format {p.suffix!r}: {p} / định dạng {p.suffix!r} không được hỗ trợ",
            [
                Problem(
                    f"unsupported format {p.suffix!r} / định dạng {p.suffix!r} không được hỗ trợ",
                    file=str(p),
                    hint=_FORMAT_HINT,
                )
            ],
        )
    return p


def _ogr_path(p: Path) -> str:
    if p.suffix.lower() == ".zip":
        # GDAL finds Shapefiles only at the top of a zip: point it at the one folder holding them (a zipped folder)
        try:
            with zipfile.ZipFile(p) as zf:
                folders = {str(PurePosixPath(m).parent) for m in zf.namelist() if m.lower().endswith(".shp")}
        except zipfile.BadZipFile:
            return f"/vsizip/{p}"
        if len(folders) == 1 and (folder := folders.pop()) != ".":
            return f"/vsizip/{p}/{folder}"
        return f"/vsizip/{p}"
    return str(p)


def read_file(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer of a file as it is (no schema mapping, no reprojection).

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, zipped Shapefile, Shapefile, CSV or KML file.
    layer
        The layer to read where the file has several (GeoPackage, KML, a zip of Shapefiles); a file with
        several layers and no ``layer`` is an error naming them (never the first one silently).
    crs
        The CRS of the data when the file does not state one (CSV always needs it).
        A file that states a CRS different from ``crs`` is an error.
    encoding
        The text encoding of a Shapefile's ``.dbf`` or of a CSV file: ``utf-8``, ``cp1258``,
        ``tcvn3`` (ABC) or ``vni`` (or any Python codec).  Without it, a Shapefile's ``.cpg`` file is
        obeyed and text that no ``.cpg`` states must be UTF-8; a CSV must be UTF-8 (with or without a BOM)
        or UTF-16 with a BOM.  Text that is neither is an error showing it decoded each way.
        GeoPackage, GeoJSON and KML are UTF-8 by definition.
    limits
        Work allowed (:class:`ReadLimits`, default :data:`DEFAULT_LIMITS`): text files are measured before
        they are parsed, features and vertices counted once read.

    Raises
    ------
    LayerError
        The file cannot be read, has several layers and none was chosen, its encoding is unknown, a layer
        has no geometry column, or it is beyond ``limits``.
    CRSError
        The file has no CRS and none was given, or it contradicts ``crs``.
    """
    p = _check_path(path)
    suffix = p.suffix.lower()
    enc = _encoding_option(encoding, p)
    lim = limits or DEFAULT_LIMITS
    check_text_limits(p, lim)
    if suffix == ".csv":
        gdf = _read_csv(p, enc, lim)
    else:
        if enc not in (None, "utf-8") and suffix not in (".shp", ".zip"):
            raise LayerError(
                f"{p}: a text encoding can be chosen only for a Shapefile or a CSV "
                "/ chỉ chọn được bảng mã cho Shapefile hoặc CSV",
                [
                    Problem(
                        f"encoding {encoding!r} given for a {suffix} file / bảng mã {encoding!r} cho tệp {suffix}",
                        file=str(p),
                        hint="GeoPackage, GeoJSON and KML files are UTF-8: drop the encoding option "
                        "/ tệp GeoPackage, GeoJSON và KML luôn là UTF-8: bỏ tùy chọn bảng mã",
                    )
                ],
            )
        if layer is None:
            layer = _only_layer(p)
        shapefile = suffix in (".shp", ".zip")
        try:
            # Shapefile text is read as Latin-1, which keeps every byte, and decoded here: GDAL's own CP1258
            # decoding drops the last letter of every value and column name.
            gdf = gpd.read_file(
                _ogr_path(p), layer=layer, engine="pyogrio", **({"encoding": "latin1"} if shapefile else {})
            )
        except Exception as exc:
            raise LayerError(
                f"cannot read {p}" + (f" layer {layer!r}" if layer else "") + f" / không đọc được tệp {p}",
                [Problem(f"{_first_line(exc)} / không đọc được tệp", file=str(p), layer=layer, hint=_FORMAT_HINT)],
            ) from None
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise LayerError(
                f"{p}" + (f" layer {layer!r}" if layer else "") + " has no geometry column (lớp không có cột hình học)",
                [
                    Problem(
                        "a table without geometry / bảng không có hình học",
                        file=str(p),
                        layer=layer,
                        hint="give the layer point, line or polygon geometries, or rename the table so that its "
                        "name is no layer kind (attribute tables are skipped) / cho lớp hình học điểm, đường hoặc "
                        "vùng, hoặc đổi tên bảng thành tên không phải loại lớp (bảng thuộc tính được bỏ qua)",
                    )
                ],
            )
        if shapefile:
            origin = "the encoding option"
            if enc is None:
                enc, origin = _cpg_encoding(p, layer)
            gdf = _decode_frame(gdf, enc, origin, file=str(p), layer=layer)
    _check_counts(gdf, p, layer, lim)
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{p}" + (f" layer {layer}" if layer else "") + " states no CRS: give one (CLI: --crs), e.g. "
                "EPSG:4326 for WGS 84 lon/lat, EPSG:4756 for VN-2000 lon/lat or EPSG:9207 for VN-2000 / "
                "Kiên Giang TM-3 (tệp không có hệ tọa độ: hãy chọn hệ tọa độ)"
            )
        gdf = gdf.set_crs(crs)
    elif crs is not None and CRS.from_user_input(gdf.crs) != CRS.from_user_input(crs):
        raise CRSError(
            f"{p} states CRS {CRS.from_user_input(gdf.crs).to_string()} but {CRS.from_user_input(crs).to_string()}"
            " was given: drop the stated CRS (CLI --crs) or fix the file's CRS / hệ tọa độ của tệp khác hệ đã chọn"
        )
    return gdf


def _encoding_option(encoding: str | None, p: Path) -> str | None:
    if encoding is None:
        return None
    try:
        return canonical_encoding(encoding)
    except ValueError as exc:
        raise LayerError(str(exc), [Problem(str(exc), file=str(p), hint=_ENCODING_FIX)]) from None


def _only_layer(p: Path) -> str | None:
    """The one layer of a file that can hold several; several layers are an error naming them."""
    if p.suffix.lower() not in (".gpkg", ".kml", ".kmz", ".zip"):
        return None
    try:
        names = [str(name) for name, gtype in pyogrio.list_layers(_ogr_path(p)) if gtype is not None]
    except Exception as exc:
        raise LayerError(
            f"cannot read {p} / không đọc được tệp {p}",
            [Problem(f"{exc} / không đọc được tệp", file=str(p), hint=_FORMAT_HINT)],
        ) from None
    if len(names) > 1:
        raise LayerError(
            f"{p} has {len(names)} layers: choose one (tệp có nhiều lớp: hãy chọn một lớp)",
            [
                Problem(
                    f"{len(names)} layers: " + ", ".join(names) + f" / {len(names)} lớp: " + ", ".join(names),
                    file=str(p),
                    hint="name the layer to read (CLI: --layer NAME) / chọn lớp cần đọc (CLI: --layer TÊN)",
                )
            ],
        )
    return names[0] if names else None


def _cpg_encoding(p: Path, layer: str | None) -> tuple[str | None, str]:
    """The encoding a Shapefile's ``.cpg`` states, and the .cpg's name; (None, "") without one."""
    if p.suffix.lower() == ".shp":
        cpgs = [f for f in p.parent.glob(f"{glob.escape(p.stem)}.*") if f.suffix.lower() == ".cpg"]
        if not cpgs:
            return None, ""
        name, raw = cpgs[0].name, cpgs[0].read_bytes()
    else:
        with zipfile.ZipFile(p) as zf:
            members = zf.namelist()
            shps = [m for m in members if m.lower().endswith(".shp")]
            stem = layer or (PurePosixPath(shps[0]).stem if len(shps) == 1 else None)
            found = [m for m in members if m.lower().endswith(".cpg") and PurePosixPath(m).stem == stem]
            if not found:
                return None, ""
            name, raw = found[0], zf.read(found[0])
    text = raw.decode("ascii", errors="replace").strip()
    try:
        return canonical_encoding(text), name
    except ValueError:
        raise LayerError(
            f"{p}: the .cpg file {name} names an unknown encoding {text!r} "
            f"/ tệp .cpg {name} ghi bảng mã không xác định {text!r}",
            [
                Problem(
                    "unknown encoding in the .cpg file / bảng mã trong tệp .cpg không xác định",
                    file=str(p),
                    layer=layer,
                    value=text,
                    hint=f"write one of {ENCODINGS_HINT} into {name}, or give the encoding (CLI: --encoding) "
                    f"/ ghi một bảng mã trong số đó vào {name}, hoặc chọn bảng mã (CLI: --encoding)",
                )
            ],
        ) from None


def _decode_frame(
    gdf: gpd.GeoDataFrame, enc: str | None, origin: str, *, file: str, layer: str | None
) -> gpd.GeoDataFrame:
    """Decode the Latin-1-read text (column names and values) of a Shapefile with ``enc``.

    ``enc`` None means that nothing states the encoding: UTF-8 text is accepted, anything else is an error
    that shows the first such text decoded each way.
    """
    names = [c for c in gdf.columns if c != gdf.geometry.name]
    cells: list[tuple[object, str, str]] = [("header", str(c), str(c)) for c in names]
    for c in names:
        col = gdf[c]
        if col.dtype != object and not pd.api.types.is_string_dtype(col.dtype):
            continue
        vals = col.to_numpy()
        for i in range(len(vals)):
            v = vals[i]
            if isinstance(v, str) and not v.isascii():
                cells.append((f"#{i}", str(c), v))
    if not cells or all(v.isascii() for _, _, v in cells):
        return gdf
    if enc is None:
        bad = next(((r, c, v) for r, c, v in cells if not is_utf8(v.encode("latin-1"))), None)
        if bad is not None:
            row, column, value = bad
            raise LayerError(
                f"{file}: the text of the .dbf is not UTF-8 and no .cpg file states its encoding "
                "(không xác định được bảng mã của tệp .dbf)",
                [
                    Problem(
                        "text in an unstated encoding; it reads as "
                        + preview(value.encode("latin-1"))
                        + " / văn bản theo bảng mã không được khai báo",
                        file=file,
                        layer=layer,
                        row=None if row == "header" else row,
                        column=column,
                        hint=f"give the encoding (CLI: --encoding; one of {ENCODINGS_HINT}), "
                        "or put a .cpg file holding it (e.g. 1258) beside the .dbf / chọn bảng mã (CLI: --encoding; "
                        "một trong các bảng mã trên), hoặc đặt tệp .cpg ghi bảng mã (vd. 1258) cạnh tệp .dbf",
                    )
                ],
            )
        enc = "utf-8"
    cache: dict[str, str] = {}

    def dec(v: object, row: object, column: str) -> object:
        if not isinstance(v, str) or v.isascii():
            return v
        if v not in cache:
            try:
                cache[v] = decode_text(v.encode("latin-1"), str(enc))
            except UnicodeDecodeError:
                raise LayerError(
                    f"{file}: text that is not valid {enc} ({origin} states {enc}) / văn bản không đúng bảng mã {enc}",
                    [
                        Problem(
                            f"not valid {enc}; it reads as "
                            + preview(v.encode("latin-1"))
                            + f" / không đúng bảng mã {enc}",
                            file=file,
                            layer=layer,
                            row=row,
                            column=column,
                            hint=f"give the right encoding (CLI: --encoding; one of {ENCODINGS_HINT}) "
                            "/ chọn đúng bảng mã (CLI: --encoding; một trong các bảng mã trên)",
                        )
                    ],
                ) from None
        return cache[v]

    out = gdf.copy()
    for c in names:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = [dec(v, f"#{i}", str(c)) for i, v in enumerate(out[c].to_numpy())]
    return out.rename(columns={c: dec(str(c), None, str(c)) for c in names})


def _csv_frame(p: Path, encoding: str | None, limits: ReadLimits = DEFAULT_LIMITS) -> pd.DataFrame:
    """The CSV's cells as text: decoded (BOM, UTF-8 or ``encoding``), separator found from the header.

    The file's size (checked by :func:`check_text_limits`) and its number of lines are bounded by ``limits``
    before it is decoded or parsed.
    """
    size = p.stat().st_size
    if size > limits.max_csv_bytes:
        raise _limit_error(p, "file size (bytes)", size, limits.max_csv_bytes, _SPLIT_HINT)
    raw = p.read_bytes()
    n_rows = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1) - 1  # without the header
    if n_rows > limits.max_features:
        raise _limit_error(p, "rows", n_rows, limits.max_features, _SPLIT_HINT)
    if encoding is None:
        for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
            if raw.startswith(bom):
                encoding = enc
                if enc == "utf-8":
                    raw = raw[len(bom) :]
                break
        else:
            if not is_utf8(raw):
                lines = raw.splitlines()
                k = next(i for i, x in enumerate(lines) if not is_utf8(x))
                raise LayerError(
                    f"{p}: the CSV is not UTF-8; give its encoding (tệp CSV không phải UTF-8: hãy chọn bảng mã)",
                    [
                        Problem(
                            "text in another encoding; it reads as "
                            + preview(lines[k])
                            + " / văn bản theo bảng mã khác UTF-8",
                            file=str(p),
                            row=k - 1 if k else None,
                            column=None if k else "header",
                            hint=f"give the encoding (CLI: --encoding; one of {ENCODINGS_HINT}), or save the "
                            "CSV from Excel as 'CSV UTF-8' / chọn bảng mã (CLI: --encoding; một trong các bảng "
                            "mã trên), hoặc lưu CSV từ Excel dạng 'CSV UTF-8'",
                        )
                    ],
                )
            encoding = "utf-8"
    try:
        text = decode_text(raw, encoding)
    except UnicodeDecodeError as exc:
        raise LayerError(
            f"{p}: not valid {encoding} / tệp không đúng bảng mã {encoding}",
            [
                Problem(
                    f"not valid {encoding} at byte {exc.start} / không đúng bảng mã {encoding} tại byte {exc.start}",
                    file=str(p),
                    hint=_ENCODING_FIX,
                )
            ],
        ) from None
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    sep = max((",", ";", "\t"), key=header.count)  # Excel on a Vietnamese Windows writes ';' and decimal commas
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LayerError(
            f"cannot read {p} as CSV / không đọc được tệp CSV {p}",
            [
                Problem(
                    str(exc).strip().splitlines()[0] + " / không đọc được tệp CSV",
                    file=str(p),
                    hint="check the header and the separators / kiểm tra dòng tiêu đề và dấu phân cách",
                )
            ],
        ) from None
    return df


def _read_csv(p: Path, encoding: str | None, limits: ReadLimits = DEFAULT_LIMITS) -> gpd.GeoDataFrame:
    df = _csv_frame(p, encoding, limits)
    lower = {c.lower().strip(): c for c in df.columns}
    lon = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    wkt = next((lower[n] for n in _WKT_NAMES if n in lower), None)
    problems: list[Problem] = []
    if wkt is not None:
        geoms = []
        for i, w in enumerate(df[wkt]):
            try:
                geoms.append(shapely.from_wkt(w) if w.strip() else None)
            except shapely.errors.ShapelyError:
                geoms.append(None)
                problems.append(
                    Problem("not valid WKT / WKT không hợp lệ", file=str(p), row=i, column=wkt, value=w[:60])
                )
        df = df.drop(columns=[wkt])
    elif lon is not None and lat is not None:
        xs = pd.to_numeric(df[lon].str.strip().str.replace(",", ".", regex=False), errors="coerce")
        ys = pd.to_numeric(df[lat].str.strip().str.replace(",", ".", regex=False), errors="coerce")
        for i in (int(j) for j in np.flatnonzero(xs.isna().to_numpy() | ys.isna().to_numpy())):
            problems.append(
                Problem(
                    "coordinate is not a number / tọa độ không phải là số",
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
            f"{p}: no geometry columns / tệp không có cột hình học",
            [
                Problem(
                    "no lon/lat or WKT column / không có cột lon/lat hoặc WKT",
                    file=str(p),
                    hint="name the columns lon and lat (or kinh_do and vi_do), or wkt "
                    "/ đặt tên cột lon và lat (hoặc kinh_do và vi_do), hoặc wkt",
                )
            ],
        )
    if problems:
        raise LayerError(f"cannot read {p} / không đọc được tệp {p}", problems)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms), crs=None)


def infer_kind(name: str, columns: Iterable[str]) -> str | None:
    """Guess the layer kind from a layer name or, failing that, from its id column.

    Names are compared without case and diacritics (a KML folder ``Cột`` is ``cot``: poles).
    """
    key = _fold(name)
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


def _fold(name: str) -> str:
    """``name`` lower-cased, without diacritics, spaces as underscores: ``Cột điện`` -> ``cot_dien``."""
    text = unicodedata.normalize("NFD", str(name).strip().lower().replace("đ", "d"))
    return "_".join("".join(ch for ch in text if not unicodedata.combining(ch)).split())


# ------------------------------------------------------------------------------------------------------------
# loading (read + validate) and writing
# ------------------------------------------------------------------------------------------------------------
def load_layer(
    path: str | Path,
    kind: str | None = None,
    *,
    layer: str | None = None,
    crs: str | CRS | None = None,
    metric_crs: str | CRS | None = None,
    bounds: tuple[float, float, float, float] | str | None = "auto",
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read, validate and reproject one layer; ``kind`` is inferred from the layer name or id column if omitted.

    ``layer``, ``crs`` and ``encoding`` are those of :func:`read_file`; ``metric_crs`` and ``bounds`` those of
    :func:`validate_layer` (default: the project frame of this layer alone, see :mod:`gisplan.io.project`).
    """
    gdf, kind, name = _read_kind(path, kind, layer=layer, crs=crs, encoding=encoding)
    return validate_layer(gdf, kind, source=str(path), layer_name=name, metric_crs=metric_crs, bounds=bounds)


def _read_kind(
    path: str | Path, kind: str | None, *, layer: str | None, crs: str | CRS | None, encoding: str | None
) -> tuple[gpd.GeoDataFrame, str, str]:
    gdf = read_file(path, layer=layer, crs=crs, encoding=encoding)
    name = layer or Path(path).stem
    if kind is None:
        kind = infer_kind(name, gdf.columns)
        if kind is None:
            raise LayerError(
                f"cannot tell what kind of layer {name!r} is / không xác định được loại của lớp {name!r}",
                [
                    Problem(
                        "unknown layer kind / không rõ loại lớp",
                        file=str(path),
                        layer=name,
                        hint="state the kind (CLI: --kind) as one of " + ", ".join(KINDS) + " / chọn loại lớp (CLI: "
                        "--kind) trong số: " + ", ".join(KINDS),
                    )
                ],
            )
    return gdf, kind, name


def read_layers(
    path: str | Path,
    *,
    crs: str | CRS | None = None,
    kinds: Iterable[str] | None = None,
    metric_crs: str | CRS | None = None,
    bounds: tuple[float, float, float, float] | str | None = "auto",
    encoding: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read every layer of a multi-layer file (a GeoPackage) whose name is a layer kind, validated and metric.

    Layers whose names are no layer kind are skipped (:func:`skipped_layers` names them); two layers
    of one kind (``poles`` and ``cot``) are an error.  Problems of every layer are gathered and raised
    together in one :class:`LayerError`.  The project's metric CRS and plausible region are chosen once
    from all its layers (:func:`gisplan.io.project.project_frame`: the UTM zone of the data's centre and,
    outside Vietnam, the extent of its boundaries or of its data): ``metric_crs`` and ``bounds`` (a lon/lat
    ``(W, S, E, N)``, or None for no check) set them instead.
    """
    return read_project(path, crs=crs, kinds=kinds, metric_crs=metric_crs, bounds=bounds, encoding=encoding)[0]


def read_raw_layers(
    path: str | Path,
    *,
    crs: str | CRS | None = None,
    kinds: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    encoding: str | None = None,
    crs_unless_stated: bool = False,
) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """The layers of a multi-layer file named by kind, as read (each in its own CRS): ``{kind: (frame, name)}``.

    Raises one :class:`LayerError` with every problem (two layers of one kind, unreadable layers, missing
    ``kinds``); ``skip`` names kinds not to read (a scenario's ``layers.files`` replace them).  With
    ``crs_unless_stated``, ``crs`` is only used for layers whose file states no CRS (a scenario's ``layers.crs``).
    """
    p = _check_path(path)
    wanted = set(kinds) if kinds is not None else None
    skipped = set(skip)
    out: dict[str, tuple[gpd.GeoDataFrame, str]] = {}
    problems: list[Problem] = []
    by_kind: dict[str, list[str]] = {}
    for name, _gtype, _n in list_layers(p):
        kind = infer_kind(name, ())
        if kind is not None and kind not in skipped and (wanted is None or kind in wanted):
            by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        if len(names) > 1:
            problems.append(
                Problem(
                    f"{len(names)} layers of kind {kind}: "
                    + ", ".join(names)
                    + f" / {len(names)} lớp cùng loại {kind}",
                    file=str(p),
                    layer=names[1],
                    hint=f"keep one layer of kind {kind} (merge them, or rename or delete the others) "
                    f"/ chỉ giữ một lớp loại {kind} (gộp lại, hoặc đổi tên hay xóa các lớp kia)",
                )
            )
            continue
        name = names[0]
        try:
            layer_crs = crs_if_unstated(p, crs, layer=name) if crs_unless_stated else crs
            out[kind] = (read_file(p, layer=name, crs=layer_crs, encoding=encoding), name)
        except LayerError as exc:
            problems.extend(exc.problems or [Problem(exc.summary, file=str(p), layer=name)])
    if wanted:
        for k in sorted(wanted - set(by_kind)):
            if not any(pr.layer == k for pr in problems):
                problems.append(
                    Problem(
                        "layer missing / thiếu lớp",
                        file=str(p),
                        layer=k,
                        hint=f"add a layer named {k!r} / thêm lớp tên {k!r}",
                    )
                )
    if problems:
        raise LayerError(f"{p} has invalid layers / tệp {p} có lớp không hợp lệ", problems)
    return out


def crs_if_unstated(path: Path, crs: str | CRS | None, *, layer: str | None = None) -> str | CRS | None:
    """``crs`` for a file (or one of its layers) that states no CRS of its own (a CSV, a Shapefile without .prj),
    else None: a GeoPackage that states its CRS is read in that CRS even when a CSV beside it needs ``crs``.
    A file that cannot be inspected gets ``crs`` and its reader reports the error."""
    if crs is None or path.suffix.lower() == ".csv":
        return crs
    ogr = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        names = [layer] if layer is not None else [str(row[0]) for row in pyogrio.list_layers(ogr)]
        stated = all(pyogrio.read_info(ogr, layer=name).get("crs") for name in names)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return crs
    return None if names and stated else crs


def validate_raw_layers(
    raw: Mapping[str, tuple[gpd.GeoDataFrame, str, str]],
    frame: ProjectFrame,
    *,
    across: bool = True,
    source: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Validate layers as read (``{kind: (frame, file, layer name)}``) into the project's ``frame``.

    Problems of every layer are raised together; ``across`` also runs the checks across layers
    (:func:`validate_layers`).
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    problems: list[Problem] = []
    for kind, (gdf, file, name) in raw.items():
        try:
            out[kind] = validate_layer(
                gdf, kind, source=file, layer_name=name, metric_crs=frame.crs, bounds=frame.region
            )
        except LayerError as exc:
            problems.extend(exc.problems or [Problem(exc.summary, file=file, layer=name)])
    if problems:
        files = sorted({str(pr.file) for pr in problems if pr.file})
        named = ", ".join(files) or source
        raise LayerError(
            f"{named or 'the project'} has invalid layers / {named or 'dự án'} có lớp không hợp lệ", problems
        )
    return validate_layers(out, source=source) if across else out


def read_project(
    path: str | Path,
    *,
    crs: str | CRS | None = None,
    kinds: Iterable[str] | None = None,
    metric_crs: str | CRS | None = None,
    bounds: tuple[float, float, float, float] | str | None = "auto",
    encoding: str | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], ProjectFrame | None]:
    """:func:`read_layers` and the :class:`~gisplan.io.project.ProjectFrame` it chose (None: no layer read)."""
    p = _check_path(path)
    raw = read_raw_layers(p, crs=crs, kinds=kinds, encoding=encoding)
    if not raw:
        return {}, None
    frame = frame_of(raw, metric_crs=metric_crs, bounds=bounds)
    layers = validate_raw_layers({k: (g, str(p), name) for k, (g, name) in raw.items()}, frame, source=str(p))
    return layers, frame


def frame_of(
    raw: Mapping[str, tuple[Any, ...]],
    *,
    metric_crs: str | CRS | None = None,
    bounds: tuple[float, float, float, float] | str | None = "auto",
) -> ProjectFrame:
    """The project frame of layers as read (``{kind: (frame, ...)}``); see :func:`read_layers`."""
    if isinstance(bounds, str) and bounds != "auto":
        raise ValueError(
            f"bounds must be a (W, S, E, N) tuple, 'auto' or None, got {bounds!r} "
            f"/ bounds phải là bộ (Tây, Nam, Đông, Bắc), 'auto' hoặc None, đang là {bounds!r}"
        )
    frames = {k: v[0] for k, v in raw.items()}
    return project_frame(
        frames,
        metric_crs=metric_crs,
        region=None if isinstance(bounds, str) or bounds is None else bounds,
        check_region=bounds is not None,
    )


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write layers to one GeoPackage (replacing the file atomically: a failed write leaves the old file)."""

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return p


def write_geojson(gdf: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write one layer as GeoJSON in WGS 84 (RFC 7946), atomically."""

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:
        gdf.to_crs(DISPLAY_CRS).to_file(tmp, driver="GeoJSON", engine="pyogrio")
    return p


def skipped_layers(path: str | Path) -> list[str]:
    """The layers of a file that :func:`read_layers` skips because their names are no layer kind."""
    return [name for name, _gtype, _n in list_layers(path) if infer_kind(name, ()) is None]


def layer_info(path: str | Path, *, encoding: str | None = None) -> list[dict[str, Any]]:
    """Describe every layer of a file: name, inferred kind, count, geometry type, CRS and extent (lon/lat)."""
    p = _check_path(path)
    rows = []
    for name, gtype, n in list_layers(p, encoding=encoding):
        row: dict[str, Any] = {"layer": name, "geometry_type": gtype, "features": n}
        if gtype is None:  # an attribute table (gisplan's plan.gpkg holds boq and layer_styles)
            row.update(kind=None, crs=None, extent_lonlat=None, note="table without geometry")
            rows.append(row)
            continue
        try:
            gdf = read_file(p, layer=None if p.suffix.lower() == ".csv" else name, encoding=encoding)
            row["kind"] = infer_kind(name, gdf.columns)
            row["crs"] = CRS.from_user_input(gdf.crs).to_string()
            row["extent_lonlat"] = [round(float(v), 6) for v in gdf.to_crs(DISPLAY_CRS).total_bounds]
        except (CRSError, LayerError) as exc:
            row["kind"] = infer_kind(name, ())
            row["crs"] = None
            row["error"] = str(exc).splitlines()[0]
        rows.append(row)
    return rows
