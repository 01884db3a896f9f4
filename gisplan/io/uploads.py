"""Reading files a user uploads (in the app): only layer formats, archives checked before anything is unpacked.

:func:`read_upload` accepts a GeoPackage, GeoJSON, zipped Shapefile, CSV or KML
given as bytes, writes it into a private temporary folder and reads it with
:mod:`gisplan.io.layers` (validated, in the metric CRS).  Nothing in an upload is
executed or unpickled.  A refused upload raises :class:`~gisplan._errors.UploadError`
with a message in Vietnamese and English; invalid layer contents raise the
:class:`~gisplan._errors.LayerError` of the layer reader, with every problem.

Examples
--------
>>> read_upload("notes.exe", b"MZ")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gisplan._errors.UploadError: Định dạng tệp không được hỗ trợ: .exe; ... / unsupported file type: 'notes.exe'; ...
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

import geopandas as gpd

from gisplan._errors import CRSError, GisplanError, LayerError, UploadError
from gisplan.io._validate import DEFAULT_LIMITS, ReadLimits
from gisplan.io.layers import (
    check_text_limits,
    crs_if_unstated,
    infer_kind,
    list_layers,
    read_file,
    read_layers,
    skipped_layers,
    validate_layer,
)
from gisplan.io.schemas import KINDS

__all__ = ["ALLOWED_SUFFIXES", "read_upload"]

#: File types an upload may have (``.json`` is read as GeoJSON, ``.zip`` must hold a Shapefile).
ALLOWED_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".zip", ".csv", ".kml")
#: Files a zipped Shapefile may contain (anything else in the archive is refused).
SHAPEFILE_SUFFIXES: tuple[str, ...] = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".xml", ".qmd")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1 << 20


def _refuse(vi: str, en: str) -> UploadError:
    return UploadError(f"{vi} / {en}")


def _safe_name(name: str) -> tuple[str, str]:
    """(stem, suffix) of an uploaded file name, with folders dropped and odd characters replaced."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    suffix = Path(base).suffix.lower()
    stem = re.sub(r"[^\w\-]+", "_", Path(base).stem).strip("_")[:80] or "upload"
    return stem, suffix


def read_upload(
    name: str,
    data: bytes,
    *,
    max_bytes: int = 50 * 2**20,
    max_members: int = 200,
    max_unzipped: int = 500 * 2**20,
    max_ratio: float = 200.0,
    kind: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
    metric_crs: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Read an uploaded layer file into validated layers by kind.

    Parameters
    ----------
    name
        The file name the user gave (only its last part and suffix are used).
    data
        The file's content.
    max_bytes
        Largest upload accepted.
    max_members, max_unzipped, max_ratio
        Limits of a ``.zip``: number of members, total uncompressed bytes (counted
        while unpacking, so a lying header does not help), and compression ratio of
        any member larger than 1 MiB (zip bombs).
    kind
        The layer kind of a single-layer file; inferred from its name or id column if omitted.
    crs
        CRS of a file that states none (CSV always needs one), e.g. ``"EPSG:4326"``.
    encoding
        Text encoding of a Shapefile's ``.dbf`` or a CSV (``utf-8``, ``cp1258``, ``tcvn3``, ``vni``); by
        default a Shapefile's ``.cpg`` is obeyed and other text must be UTF-8 (see
        :func:`gisplan.io.layers.read_file`).
    metric_crs
        The project's metric CRS: the layers come back in it, to join the project's own (default: the UTM zone
        of the upload's data, see :mod:`gisplan.io.project`).
    limits
        Work one upload may cost (:class:`~gisplan.io._validate.ReadLimits`): a GeoPackage is inspected with
        SQLite before GDAL opens it (views and foreign triggers refused; features claimed and held, geometry
        bytes and the estimated memory bounded); text files are measured before they are parsed.

    Returns
    -------
    dict
        Layer kind -> GeoDataFrame in the metric CRS (a GeoPackage, or a KML with several
        folders, gives every layer named after a kind; other files give one layer).

    Raises
    ------
    UploadError
        The upload is refused: too large, unsupported type, content not of its
        type, an unsafe archive (absolute or ``..`` member paths, links, too
        many members, too large unpacked, damaged members), a GeoPackage with views,
        foreign triggers or more work than ``limits`` allow, or a file the readers fail on.
        No message names the server's temporary folder.
    LayerError, CRSError
        The file was read but its layers are invalid (``LayerError.problems``
        lists every problem) or its CRS is missing.
    """
    stem, suffix = _safe_name(name)
    if suffix not in ALLOWED_SUFFIXES:
        raise _refuse(
            f"Định dạng tệp {name!r} không được hỗ trợ: {suffix or '(không có đuôi)'!s}; hãy dùng "
            + ", ".join(ALLOWED_SUFFIXES),
            f"unsupported file type: {name!r}; use " + ", ".join(ALLOWED_SUFFIXES),
        )
    if len(data) > max_bytes:
        raise _refuse(
            f"Tệp quá lớn: {len(data):,} byte, tối đa {max_bytes:,} byte; hãy chia nhỏ tệp hoặc nạp bằng dòng lệnh "
            "(CLI)",
            f"file too large: {len(data):,} bytes, at most {max_bytes:,} bytes; split it or load it with the CLI",
        )
    if not data:
        raise _refuse(f"Tệp {name!r} rỗng", f"{name!r} is empty")
    if suffix == ".gpkg" and not data.startswith(_SQLITE_MAGIC):
        raise _refuse(
            f"Tệp {name!r} không phải GeoPackage (không có phần đầu SQLite)",
            f"{name!r} is not a GeoPackage (no SQLite header)",
        )
    lim = limits or DEFAULT_LIMITS
    with tempfile.TemporaryDirectory(prefix="gisplan-upload-") as tmp:
        folder = Path(tmp)
        path = folder / f"{stem}{suffix}"
        path.write_bytes(data)
        try:
            if suffix == ".gpkg":
                _check_geopackage(path, name, lim)
            check_text_limits(path, lim)
            if suffix == ".gpkg" or (suffix == ".kml" and kind is None and _n_layers(path, lim) > 1):
                # measured above (_check_geopackage, check_text_limits); the picker's CRS only for layers stating none
                out = read_layers(path, crs=crs_if_unstated(path, crs), metric_crs=metric_crs)
                if not out:
                    skipped = ", ".join(skipped_layers(path))
                    raise _refuse(
                        f"Tệp {name!r} không có lớp nào mang tên loại lớp (roads, poles, cot, duong, ...): hãy đổi "
                        f"tên các lớp; các lớp: {skipped}",
                        f"{name!r} has no layer named after a layer kind (roads, poles, ...): rename its layers"
                        f" ({skipped})",
                    )
                return out
            if suffix == ".zip":
                return _read_zipped_shapefiles(
                    path, folder / "unzipped", name, max_members, max_unzipped, max_ratio, kind, crs, encoding, lim,
                    metric_crs,
                )  # fmt: skip
            return _read_single(path, name, stem, kind, crs, encoding, lim, metric_crs)
        except (LayerError, CRSError, UploadError) as exc:
            raise _renamed(exc, (str(path), str(folder)), name) from None
        except GisplanError:
            raise
        except (OSError, ValueError, sqlite3.Error, zipfile.BadZipFile, zlib.error, EOFError, MemoryError) as exc:
            text = _hide(f"{type(exc).__name__}: {exc}", (str(path), str(folder)), name)
            raise _refuse(
                f"Không đọc được tệp {name!r}: {text}; hãy kiểm tra tệp hoặc xuất lại",
                f"cannot read {name!r}: {text}; check the file or export it again",
            ) from None


def _n_layers(path: Path, limits: ReadLimits) -> int:

    return len(list_layers(path, limits=limits))


#: Triggers a GeoPackage may hold as GDAL and QGIS write them (spatial index, feature counts, tile matrix checks).
_STANDARD_TRIGGER = re.compile(
    r"^(rtree_.+_(insert\d*|update\d*|delete)|trigger_(insert|delete)_feature_count_.+|gpkg_.+)$"
)
#: SQLite virtual-machine steps the inspection of one GeoPackage may take (a row count costs a few per row).
_INSPECT_STEPS = 2 * 10**8


def _check_geopackage(path: Path, name: str, limits: ReadLimits) -> None:
    """Inspect an uploaded GeoPackage with SQLite (read-only) before GDAL reads it; refuse what costs too much.

    Refused: views (a view can run an unbounded recursive query when read), triggers other than the standard
    ones (:data:`_STANDARD_TRIGGER`), more than ``limits.max_layers`` tables, a table holding or claiming
    (``gpkg_ogr_contents``, which GDAL uses to size its arrays) more than ``limits.max_features`` rows, geometry
    bytes implying more than ``limits.max_vertices`` vertices (16 bytes per x/y vertex), and an estimated
    memory need above ``limits.max_memory_bytes``.
    """
    steps = 0

    def budget() -> int:
        nonlocal steps
        steps += 10_000
        return 1 if steps > _INSPECT_STEPS else 0

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise _refuse(
            f"Tệp GeoPackage {name!r} bị hỏng, không đọc được ({exc})",
            f"{name!r} is not a readable GeoPackage ({exc})",
        ) from None
    try:
        conn.set_progress_handler(budget, 10_000)
        objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger')")
        for typ, obj, table in objects.fetchall():
            if typ == "view":
                raise _refuse(
                    f"Tệp GeoPackage {name!r} chứa khung nhìn (view) {obj!r}; chỉ nhận bảng (khung nhìn có thể chạy "
                    "truy vấn không dừng); hãy xuất lớp thành bảng (QGIS: Export, Save Features As GeoPackage)",
                    f"{name!r} holds a view {obj!r}: views are refused in uploads (one can run an endless query); "
                    "export the layer as a table (QGIS: Export, Save Features As GeoPackage)",
                )
            if not _STANDARD_TRIGGER.match(str(obj)):
                raise _refuse(
                    f"Tệp GeoPackage {name!r} chứa trigger lạ {obj!r} (bảng {table!r}) mà không phần mềm ghi "
                    "GeoPackage nào tạo ra: bị từ chối; hãy xuất lại các lớp từ QGIS",
                    f"{name!r} holds a trigger {obj!r} on {table!r} that no GeoPackage writer makes: refused; "
                    "export the layers again from QGIS",
                )
        tables = [str(r[0]) for r in conn.execute("SELECT table_name FROM gpkg_contents").fetchall()]
        if len(tables) > limits.max_layers:
            raise _refuse(
                f"Tệp GeoPackage {name!r} có {len(tables):,} bảng, tối đa {limits.max_layers:,}",
                f"{name!r} registers {len(tables):,} tables, at most {limits.max_layers:,}",
            )
        claimed = dict(_rows(conn, "SELECT table_name, feature_count FROM gpkg_ogr_contents"))
        geometry_columns = dict(_rows(conn, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
        memory = 0
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            held = int(conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0])
            said = claimed.get(table)
            features = max(held, int(said) if isinstance(said, int) else 0)
            if features > limits.max_features:
                raise _refuse(
                    f"Tệp {name!r}: lớp {table!r} có (hoặc khai báo) {features:,} đối tượng (thực có {held:,}), "
                    f"tối đa {limits.max_features:,}; hãy chia lớp theo huyện hoặc xã",
                    f"{name!r}: layer {table!r} holds or claims {features:,} features (it holds {held:,}), more than "
                    f"the limit of {limits.max_features:,}; split it by district or commune",
                )
            columns = len(conn.execute(f"PRAGMA table_info({quoted})").fetchall())
            geom_bytes = 0
            if table in geometry_columns:
                gcol = '"' + str(geometry_columns[table]).replace('"', '""') + '"'
                geom_bytes = int(conn.execute(f"SELECT total(length({gcol})) FROM {quoted}").fetchone()[0])
                vertices = geom_bytes // 16
                if vertices > limits.max_vertices:
                    raise _refuse(
                        f"Tệp {name!r}: lớp {table!r} có khoảng {vertices:,} đỉnh, tối đa {limits.max_vertices:,}; "
                        "hãy đơn giản hóa các đường hoặc chia lớp theo huyện",
                        f"{name!r}: layer {table!r} holds about {vertices:,} vertices, more than the limit of "
                        f"{limits.max_vertices:,}; simplify its lines or split it by district",
                    )
            memory += features * 200 * max(columns, 1) + 4 * geom_bytes
        if memory > limits.max_memory_bytes:
            raise _refuse(
                f"Tệp GeoPackage {name!r} cần khoảng {memory:,} byte bộ nhớ để đọc, tối đa "
                f"{limits.max_memory_bytes:,} cho một lần tải lên; hãy chia nhỏ tệp hoặc nạp bằng dòng lệnh (CLI)",
                f"{name!r} would need about {memory:,} bytes of memory to read, more than the ceiling of "
                f"{limits.max_memory_bytes:,} for one upload; split it or load it with the CLI",
            )
    except sqlite3.OperationalError as exc:
        if steps > _INSPECT_STEPS:
            raise _refuse(
                f"Tệp GeoPackage {name!r} quá tốn để kiểm tra: bị từ chối",
                f"{name!r} is too costly to inspect: refused",
            ) from None
        raise _refuse(
            f"Tệp GeoPackage {name!r} không hợp lệ ({exc})", f"{name!r} is not a valid GeoPackage ({exc})"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise _refuse(f"Tệp GeoPackage {name!r} bị hỏng ({exc})", f"{name!r} is a damaged GeoPackage ({exc})") from None
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[object, object]]:
    """Rows of an optional GeoPackage table (``gpkg_ogr_contents`` is a GDAL extension): none when it is absent."""
    try:
        return [(str(a), b) for a, b in conn.execute(sql).fetchall()]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _read_single(
    path: Path,
    name: str,
    stem: str,
    kind: str | None,
    crs: str | None,
    encoding: str | None,
    limits: ReadLimits = DEFAULT_LIMITS,
    metric_crs: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    gdf = read_file(path, crs=crs_if_unstated(path, crs), encoding=encoding, limits=limits)
    k = kind or infer_kind(stem, gdf.columns)
    if k is None:
        raise _refuse(
            f"Không xác định được loại lớp của {name!r}; đặt tên tệp theo loại lớp (vd. poles.geojson; các loại: "
            + ", ".join(KINDS)
            + ") hoặc chọn loại lớp",
            f"cannot tell what kind of layer {name!r} is: name the file after its kind ("
            + ", ".join(KINDS)
            + ") or choose the kind",
        )
    return {k: validate_layer(gdf, k, source=name, layer_name=stem, metric_crs=metric_crs)}


def _read_zipped_shapefiles(
    path: Path,
    dest: Path,
    name: str,
    max_members: int,
    max_unzipped: int,
    max_ratio: float,
    kind: str | None,
    crs: str | None,
    encoding: str | None,
    limits: ReadLimits = DEFAULT_LIMITS,
    metric_crs: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    if not zipfile.is_zipfile(path):
        raise _refuse(f"Tệp {name!r} không phải tệp nén ZIP", f"{name!r} is not a ZIP archive")
    with zipfile.ZipFile(path) as zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) > max_members:
            raise _refuse(
                f"Tệp ZIP {name!r} có quá nhiều tệp: {len(members)}, tối đa {max_members}",
                f"{name!r} holds {len(members)} files, at most {max_members}",
            )
        for info in members:
            _check_member(info, name, max_ratio)
        if sum(i.file_size for i in members) > max_unzipped:
            raise _bomb(name, max_unzipped)
        files = [_extract(zf, info, dest, name, max_unzipped) for info in members]
    found = sorted(p for p in files if p.suffix.lower() == ".shp")
    if not found:
        raise _refuse(
            f"Tệp ZIP {name!r} không chứa Shapefile (.shp): hãy nén các tệp .shp, .shx, .dbf và .prj của một lớp",
            f"{name!r} holds no Shapefile (.shp): zip the .shp, .shx, .dbf and .prj files of a layer",
        )
    if kind is not None and len(found) > 1:
        raise _refuse(
            f"Tệp ZIP {name!r} chứa {len(found)} Shapefile: chỉ chọn được loại lớp khi ZIP chứa một Shapefile",
            f"{name!r} holds {len(found)} Shapefiles: a layer kind can be chosen only for one",
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for shp in found:
        label = f"{name}/{shp.relative_to(dest).as_posix()}"
        got = _read_single(shp, label, shp.stem, kind, crs, encoding, limits, metric_crs)
        dup = set(got) & set(out)
        if dup:
            raise _refuse(
                f"Tệp ZIP {name!r} có hai lớp cùng loại {sorted(dup)}: hãy tải lên riêng từng lớp",
                f"{name!r} holds two layers of kind {sorted(dup)}: upload them separately",
            )
        out.update(got)
    return out


def _bomb(name: str, max_unzipped: int) -> UploadError:
    return _refuse(
        f"Tệp ZIP {name!r} khi giải nén vượt quá {max_unzipped:,} byte (bị từ chối vì có thể là 'bom ZIP')",
        f"{name!r} unpacks to more than {max_unzipped:,} bytes (refused as a possible zip bomb)",
    )


def _check_member(info: zipfile.ZipInfo, name: str, max_ratio: float) -> None:
    member = info.filename
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or PureWindowsPath(member).is_absolute():
        raise _refuse(
            f"Tệp ZIP {name!r} chứa đường dẫn tuyệt đối {member!r}: bị từ chối",
            f"{name!r} holds an absolute path {member!r}: refused",
        )
    if ".." in parts:
        raise _refuse(
            f"Tệp ZIP {name!r} chứa đường dẫn ra ngoài thư mục ('..') {member!r}: bị từ chối",
            f"{name!r} holds a path leaving its folder {member!r}: refused",
        )
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) in (stat.S_IFLNK, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        raise _refuse(
            f"Tệp ZIP {name!r} chứa liên kết hoặc tệp đặc biệt {member!r}: bị từ chối",
            f"{name!r} holds a link or special file {member!r}: refused",
        )
    if Path(member).suffix.lower() not in SHAPEFILE_SUFFIXES:
        raise _refuse(
            f"Tệp ZIP {name!r} chứa tệp {member!r} không thuộc Shapefile (" + ", ".join(SHAPEFILE_SUFFIXES) + ")",
            f"{name!r} holds {member!r}, not part of a Shapefile (" + ", ".join(SHAPEFILE_SUFFIXES) + ")",
        )
    if info.file_size > _CHUNK and info.file_size > max_ratio * max(info.compress_size, 1):
        raise _refuse(
            f"Tệp {member!r} trong ZIP {name!r} bị nén bất thường (tỉ lệ > {max_ratio:g}, bị từ chối vì có thể là "
            "'bom ZIP')",
            f"{name!r}: member {member!r} is compressed more than {max_ratio:g} times (refused as a possible zip bomb)",
        )


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, max_unzipped: int) -> Path:
    """Unpack one checked member under ``dest``, counting real bytes against ``max_unzipped``."""
    parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise _refuse(
            f"Tệp {name!r}: đường dẫn không an toàn {info.filename!r}", f"{name!r}: unsafe path {info.filename!r}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > max_unzipped:
                    raise _bomb(name, max_unzipped)
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _refuse(
            f"Tệp {info.filename!r} trong ZIP {name!r} bị hỏng ({exc}); hãy nén lại các tệp của lớp",
            f"{name!r}: member {info.filename!r} is damaged ({exc}); zip the layer's files again",
        ) from None
    return target


def _hide(text: str, tmp_paths: tuple[str, ...], name: str) -> str:
    """``text`` with the private temporary paths replaced by the uploaded file's name (GDAL quotes paths)."""
    for tmp in tmp_paths:
        text = text.replace(tmp, name)
    return re.sub(r"[^\s'\"]*gisplan-upload-[^\s'\"]*", name, text)


def _renamed(
    exc: LayerError | CRSError | UploadError, tmp_paths: tuple[str, ...], name: str
) -> LayerError | CRSError | UploadError:
    """The same error with the private temporary paths replaced by the uploaded file's name, everywhere."""

    def fix(value: str | None) -> str | None:
        return None if value is None else _hide(value, tmp_paths, name)

    if isinstance(exc, LayerError):
        problems = [
            dataclasses.replace(
                p,
                file=fix(p.file),
                message=_hide(p.message, tmp_paths, name),
                hint=fix(p.hint),
                value=_hide(p.value, tmp_paths, name) if isinstance(p.value, str) else p.value,
            )
            for p in exc.problems
        ]
        return type(exc)(_hide(exc.summary, tmp_paths, name), problems)
    return type(exc)(_hide(str(exc), tmp_paths, name))
