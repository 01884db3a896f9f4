"""Canonical encodings and input checks of the version store.

Private to :mod:`gisplan.store.versions`.  A version id is the SHA-256 of
:func:`canonical_json` of a small document (see :func:`version_id`): keys sorted,
no spaces, UTF-8, no NaN.  Any gisplan, today or later, can recompute it from the
stored fields, which is how :meth:`gisplan.store.versions.VersionStore.verify` detects
tampering.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gisplan._errors import StoreError

#: Tag inside every hashed version document; bump when the document changes.
VERSION_FORMAT = "gisplan.version/1"
#: File names :meth:`~gisplan.store.versions.VersionStore.export_version` writes beside the artifacts.
MANIFEST_NAME = "gisplan-version.json"
SCENARIO_FILE_NAME = "gisplan-scenario.yaml"
RESERVED_NAMES = frozenset({MANIFEST_NAME, SCENARIO_FILE_NAME})

_HEX = re.compile(r"[0-9a-f]+")
_NAME_PART = re.compile(r"[^\x00-\x1f\\:*?\"<>|]+")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, compact separators, no NaN, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def version_id(
    *,
    scenario_name: str,
    scenario_sha256: str,
    artifacts: Mapping[str, str],
    kpis_json: str,
    parent: str | None,
    author: str,
    message: str,
    created_at: str,
) -> str:
    """The content hash of a version: SHA-256 of the canonical JSON of all its fields.

    ``artifacts`` maps artifact names to their SHA-256; ``kpis_json`` is the
    canonical JSON of the KPIs, as stored.
    """
    doc = {
        "format": VERSION_FORMAT,
        "scenario_name": scenario_name,
        "scenario_sha256": scenario_sha256,
        "artifacts": dict(artifacts),
        "kpis": json.loads(kpis_json),
        "parent": parent,
        "author": author,
        "message": message,
        "created_at": created_at,
    }
    return sha256_hex(canonical_json(doc).encode("utf-8"))


def normalize_kpis(kpis: Mapping[str, Any]) -> Any:
    """A plain JSON copy of ``kpis``; numpy scalars and arrays become Python numbers and lists.

    Raises
    ------
    StoreError
        On a non-string key, a NaN or infinite number, or a value JSON cannot hold,
        naming where it is (``kpis['coverage']['ratio']``).
    """
    if not isinstance(kpis, Mapping):
        raise StoreError(
            f"kpis must be a dict of name -> value, got {type(kpis).__name__} "
            f"/ kpis phải là bảng tên -> giá trị, đang là {type(kpis).__name__}"
        )
    return _plain(kpis, "kpis")


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(
                f"{where} is {value!r}; JSON cannot hold it. Store None (unknown) or a finite number "
                f"/ {where} là {value!r}, JSON không lưu được giá trị này; hãy lưu None (chưa biết) hoặc một số hữu hạn"
            )
        return float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoreError(
                    f"{where} has the key {key!r} of type {type(key).__name__}; KPI keys must be strings "
                    f"/ {where} có khóa {key!r} kiểu {type(key).__name__}; khóa của chỉ tiêu (KPI) phải là chuỗi"
                )
            out[key] = _plain(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    # numpy scalars and arrays, without importing numpy
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return _plain(value.tolist(), where)
    raise StoreError(
        f"{where} is a {type(value).__name__}, which a version cannot store; use numbers, strings, booleans, None, "
        f"lists and dicts / {where} có kiểu {type(value).__name__}, phương án không lưu được kiểu này; hãy dùng số, "
        "chuỗi, true/false, None, danh sách và bảng khóa: giá trị"
    )


def check_text(value: Any, what: str, *, allow_empty: bool = False, max_len: int = 100_000) -> str:
    """``value`` if it is a string of an acceptable length, else a clear StoreError."""
    if not isinstance(value, str):
        raise StoreError(
            f"{what} must be a string, got {type(value).__name__} "
            f"/ {what} phải là chuỗi, đang là {type(value).__name__}"
        )
    if not allow_empty and not value.strip():
        raise StoreError(f"{what} must not be empty / {what} không được để trống")
    if len(value) > max_len:
        raise StoreError(
            f"{what} is {len(value)} characters long; the limit is {max_len} "
            f"/ {what} dài {len(value)} ký tự; tối đa {max_len} ký tự"
        )
    if "\x00" in value:
        raise StoreError(f"{what} contains a NUL character / {what} chứa ký tự NUL")
    return value


def check_scenario_name(name: Any) -> str:
    """A scenario name: non-empty, at most 200 characters, no ``@`` (reserved for ``name@latest``)."""
    check_text(name, "scenario_name", max_len=200)
    if "@" in name or name != name.strip():
        raise StoreError(
            f"scenario_name {name!r} is not allowed: no '@' (it marks refs such as 'name@latest') and no leading or "
            f"trailing spaces / tên kịch bản {name!r} không hợp lệ: không được có '@' (dấu này dùng để chỉ phương án, "
            "ví dụ 'name@latest') và không có dấu cách ở đầu hoặc cuối"
        )
    return str(name)


def check_artifact_name(name: Any) -> str:
    """An artifact name: a relative POSIX path (``boq.xlsx``, ``layers/trench.gpkg``) safe to export.

    No absolute paths, no ``.``/``..`` parts, no backslashes, colons or control
    characters, no hidden parts, and not one of :data:`RESERVED_NAMES`.
    """
    if not isinstance(name, str) or not name:
        raise StoreError(
            f"artifact names must be non-empty strings, got {name!r} / tên tệp kết quả phải là chuỗi khác rỗng, "
            f"đang là {name!r}"
        )
    parts = name.split("/")
    bad = (
        len(name) > 255
        or name in RESERVED_NAMES
        or any(not part or part.startswith(".") or not _NAME_PART.fullmatch(part) for part in parts)
        or any(part != part.strip() for part in parts)
    )
    if bad:
        raise StoreError(
            f"artifact name {name!r} is not allowed: use a relative path of plain file names joined by '/', "
            "such as 'boq.xlsx' or 'layers/trench.gpkg' (no '..', no leading '.', no '\\', ':' or control "
            f"characters, at most 255 characters, not {sorted(RESERVED_NAMES)}) / tên tệp kết quả {name!r} không "
            "hợp lệ: hãy dùng đường dẫn tương đối gồm các tên tệp thường nối bằng '/', ví dụ 'boq.xlsx' hoặc "
            "'layers/trench.gpkg' (không có '..', không bắt đầu bằng '.', không có '\\', ':' hay ký tự điều khiển, "
            f"tối đa 255 ký tự, không phải {sorted(RESERVED_NAMES)})"
        )
    return name


def prepare_artifacts(artifacts: Mapping[str, bytes]) -> tuple[dict[str, bytes], dict[str, tuple[str, int]]]:
    """Check artifact names and contents; return (sha256 -> bytes, name -> (sha256, size)), sorted by name.

    Raises
    ------
    StoreError
        On a name :func:`check_artifact_name` refuses, content that is not bytes,
        or names that would collide when exported (``a`` and ``a/b``; names that
        differ only by case, which collide on Windows and macOS).
    """
    if not isinstance(artifacts, Mapping):
        raise StoreError(
            f"artifacts must be a dict of name -> bytes, got {type(artifacts).__name__} "
            f"/ artifacts phải là bảng tên tệp -> bytes, đang là {type(artifacts).__name__}"
        )
    blobs: dict[str, bytes] = {}
    contents: dict[str, tuple[str, int]] = {}
    for name in sorted(artifacts):
        check_artifact_name(name)
        data = artifacts[name]
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise StoreError(
                f"artifact {name!r} must be bytes, got {type(data).__name__}; encode text first "
                f"/ tệp kết quả {name!r} phải là bytes, đang là {type(data).__name__}; hãy mã hóa văn bản trước"
            )
        data = bytes(data)
        digest = sha256_hex(data)
        blobs[digest] = data
        contents[name] = (digest, len(data))
    folded = {name.casefold(): name for name in contents}
    if len(folded) != len(contents):
        raise StoreError(
            f"artifact names {sorted(contents)} differ only by case; they would overwrite each other on export "
            f"/ các tên tệp kết quả {sorted(contents)} chỉ khác nhau chữ hoa, chữ thường; khi xuất chúng sẽ ghi đè lên "
            "nhau"
        )
    for name in contents:
        parts = name.casefold().split("/")
        for k in range(1, len(parts)):
            folder = "/".join(parts[:k])
            if folder in folded:
                raise StoreError(
                    f"artifact {folded[folder]!r} is also the folder of artifact {name!r}; rename one "
                    f"/ tệp kết quả {folded[folder]!r} trùng tên với thư mục của tệp {name!r}; hãy đổi tên một tệp"
                )
    return blobs, contents


def normalize_time(value: str | None, what: str = "created_at") -> str:
    """``value`` (ISO 8601 with a time zone) or now, as UTC text ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    if value is None:
        moment = datetime.now(UTC)
    else:
        if not isinstance(value, str):
            raise StoreError(
                f"{what} must be an ISO 8601 string such as '2025-03-01T08:00:00Z', got {value!r} "
                f"/ {what} phải là chuỗi thời gian ISO 8601, ví dụ '2025-03-01T08:00:00Z', đang là {value!r}"
            )
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise StoreError(
                f"{what} {value!r} is not ISO 8601; write e.g. '2025-03-01T08:00:00Z' "
                f"/ {what} {value!r} không đúng dạng ISO 8601; hãy ghi, ví dụ, '2025-03-01T08:00:00Z'"
            ) from exc
        if moment.tzinfo is None:
            raise StoreError(
                f"{what} {value!r} has no time zone; add one, e.g. '{value}Z' for UTC or '{value}+07:00' "
                f"/ {what} {value!r} thiếu múi giờ; hãy thêm, ví dụ '{value}Z' cho giờ UTC hoặc '{value}+07:00'"
            )
        moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def hex_prefix(ref: str) -> str | None:
    """``ref`` lower-cased if it is a hex string, else None."""
    lowered = ref.strip().lower()
    return lowered if _HEX.fullmatch(lowered) else None
