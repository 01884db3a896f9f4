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
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import geopandas as gpd

from gisplan._errors import LayerError, UploadError
from gisplan.io.layers import infer_kind, list_layers, read_file, read_layers, skipped_layers, validate_layer
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

    Returns
    -------
    dict
        Layer kind -> GeoDataFrame in the metric CRS (a GeoPackage, or a KML with several
        folders, gives every layer named after a kind; other files give one layer).

    Raises
    ------
    UploadError
        The upload is refused: too large, unsupported type, content not of its
        type, or an unsafe archive (absolute or ``..`` member paths, links, too
        many members, too large unpacked).
    LayerError, CRSError
        The file was read but its layers are invalid (``LayerError.problems``
        lists every problem) or its CRS is missing.
    """
    stem, suffix = _safe_name(name)
    if suffix not in ALLOWED_SUFFIXES:
        raise _refuse(
            f"Định dạng tệp không được hỗ trợ: {suffix or '(không có đuôi)'!s}; hãy dùng "
            + ", ".join(ALLOWED_SUFFIXES),
            f"unsupported file type: {name!r}; use " + ", ".join(ALLOWED_SUFFIXES),
        )
    if len(data) > max_bytes:
        raise _refuse(
            f"Tệp quá lớn: {len(data):,} byte, tối đa {max_bytes:,} byte",
            f"file too large: {len(data):,} bytes, at most {max_bytes:,} bytes; split it or load it with the CLI",
        )
    if not data:
        raise _refuse("Tệp rỗng", f"{name!r} is empty")
    if suffix == ".gpkg" and not data.startswith(_SQLITE_MAGIC):
        raise _refuse("Tệp không phải GeoPackage", f"{name!r} is not a GeoPackage (no SQLite header)")
    with tempfile.TemporaryDirectory(prefix="gisplan-upload-") as tmp:
        folder = Path(tmp)
        path = folder / f"{stem}{suffix}"
        path.write_bytes(data)
        try:
            if suffix == ".gpkg" or (suffix == ".kml" and kind is None and _n_layers(path) > 1):
                out = read_layers(path, crs=_fallback_crs(path, crs))
                if not out:
                    skipped = ", ".join(skipped_layers(path))
                    raise _refuse(
                        f"Tệp không có lớp nào mang tên loại lớp (roads, poles, cot, duong, ...); các lớp: {skipped}",
                        f"{name!r} has no layer named after a layer kind (roads, poles, ...): rename its layers"
                        f" ({skipped})",
                    )
                return out
            if suffix == ".zip":
                return _read_zipped_shapefiles(
                    path, folder / "unzipped", name, max_members, max_unzipped, max_ratio, kind, crs, encoding
                )
            return _read_single(path, name, stem, kind, crs, encoding)
        except LayerError as exc:
            raise _renamed(exc, (str(path), str(folder)), name) from None


def _fallback_crs(path: Path, crs: str | None) -> str | None:
    """The CRS chosen for an upload applies to a file that states none: a file's own CRS always wins.

    ``crs`` is returned for a CSV (it never states one) and for a file with a layer that states none; None
    (take the file's own) when every layer states a CRS.  A file that cannot be read keeps ``crs``: the reader
    reports it.
    """
    import pyogrio

    if crs is None or path.suffix.lower() == ".csv":
        return crs
    try:
        names: list[str | None] = [name for name, _gtype, _n in list_layers(path)] or [None]
        stated = [pyogrio.read_info(path, layer=name).get("crs") for name in names]
    except Exception:  # unreadable: read_file raises the error that names the file
        return crs
    return None if all(stated) else crs


def _n_layers(path: Path) -> int:

    return len(list_layers(path))


def _read_single(
    path: Path, name: str, stem: str, kind: str | None, crs: str | None, encoding: str | None
) -> dict[str, gpd.GeoDataFrame]:

    gdf = read_file(path, crs=_fallback_crs(path, crs), encoding=encoding)
    k = kind or infer_kind(stem, gdf.columns)
    if k is None:
        raise _refuse(
            f"Không xác định được loại lớp của {name!r}; đặt tên tệp theo loại lớp (vd. poles.geojson)",
            f"cannot tell what kind of layer {name!r} is: name the file after its kind ("
            + ", ".join(KINDS)
            + ") or choose the kind",
        )
    return {k: validate_layer(gdf, k, source=name, layer_name=stem)}


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
) -> dict[str, gpd.GeoDataFrame]:
    if not zipfile.is_zipfile(path):
        raise _refuse("Tệp không phải ZIP", f"{name!r} is not a ZIP archive")
    with zipfile.ZipFile(path) as zf:
        members = [i for i in zf.infolist() if not i.is_dir()]
        if len(members) > max_members:
            raise _refuse(
                f"Tệp ZIP có quá nhiều tệp: {len(members)}, tối đa {max_members}",
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
            "Tệp ZIP không chứa Shapefile (.shp)",
            f"{name!r} holds no Shapefile (.shp): zip the .shp, .shx, .dbf and .prj files of a layer",
        )
    if kind is not None and len(found) > 1:
        raise _refuse(
            "Chỉ chọn loại lớp khi ZIP chứa một Shapefile",
            f"{name!r} holds {len(found)} Shapefiles: a layer kind can be chosen only for one",
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for shp in found:
        got = _read_single(shp, f"{name}/{shp.relative_to(dest).as_posix()}", shp.stem, kind, crs, encoding)
        dup = set(got) & set(out)
        if dup:
            raise _refuse(
                f"Tệp ZIP có hai lớp cùng loại {sorted(dup)}",
                f"{name!r} holds two layers of kind {sorted(dup)}: upload them separately",
            )
        out.update(got)
    return out


def _bomb(name: str, max_unzipped: int) -> UploadError:
    return _refuse(
        f"Tệp ZIP khi giải nén vượt quá {max_unzipped:,} byte",
        f"{name!r} unpacks to more than {max_unzipped:,} bytes (refused as a possible zip bomb)",
    )


def _check_member(info: zipfile.ZipInfo, name: str, max_ratio: float) -> None:
    member = info.filename
    parts = member.replace("\\", "/").split("/")
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member) or PureWindowsPath(member).is_absolute():
        raise _refuse(
            f"Tệp ZIP chứa đường dẫn tuyệt đối: {member!r}",
            f"{name!r} holds an absolute path {member!r}: refused",
        )
    if ".." in parts:
        raise _refuse(
            f"Tệp ZIP chứa đường dẫn ra ngoài thư mục ('..'): {member!r}",
            f"{name!r} holds a path leaving its folder {member!r}: refused",
        )
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) in (stat.S_IFLNK, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        raise _refuse(
            f"Tệp ZIP chứa liên kết hoặc tệp đặc biệt: {member!r}",
            f"{name!r} holds a link or special file {member!r}: refused",
        )
    if Path(member).suffix.lower() not in SHAPEFILE_SUFFIXES:
        raise _refuse(
            f"Tệp ZIP chứa tệp không thuộc Shapefile: {member!r}",
            f"{name!r} holds {member!r}, not part of a Shapefile (" + ", ".join(SHAPEFILE_SUFFIXES) + ")",
        )
    if info.file_size > _CHUNK and info.file_size > max_ratio * max(info.compress_size, 1):
        raise _refuse(
            f"Tệp {member!r} trong ZIP bị nén bất thường (tỉ lệ > {max_ratio:g})",
            f"{name!r}: member {member!r} is compressed more than {max_ratio:g} times (refused as a possible zip bomb)",
        )


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, max_unzipped: int) -> Path:
    """Unpack one checked member under ``dest``, counting real bytes against ``max_unzipped``."""
    parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise _refuse(f"Đường dẫn không an toàn: {info.filename!r}", f"{name!r}: unsafe path {info.filename!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    with zf.open(info) as src, open(target, "wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > max_unzipped:
                raise _bomb(name, max_unzipped)
            out.write(chunk)
    return target


def _renamed(exc: LayerError, tmp_paths: tuple[str, ...], name: str) -> LayerError:
    """The same LayerError with the private temporary paths replaced by the uploaded file's name."""

    def fix(text: str) -> str:
        for tmp in tmp_paths:
            text = text.replace(tmp, name)
        return text

    problems = [dataclasses.replace(p, file=fix(p.file)) if p.file else p for p in exc.problems]
    return type(exc)(fix(exc.summary), problems)
