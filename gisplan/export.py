"""Plan exports: the BOQ as CSV and as an XLSX workbook with live formulas, the plan as a styled GeoPackage.

What ``gisplan run SCENARIO --out DIR`` writes (see :func:`export_plan`):

- ``plan.gpkg`` (:func:`plan_to_gpkg`): every result layer, the BOQ as the
  attribute table ``boq``, and a QGIS style per layer in the GeoPackage
  ``layer_styles`` table, so that QGIS opens the layers ready to read;
- ``boq.xlsx`` (:func:`boq_to_xlsx`): a summary sheet, one sheet per phase, one
  per district/commune and a unit-price sheet that every amount references by
  formula, headers in Vietnamese and English;
- ``boq.csv`` (:func:`boq_to_csv`): the BOQ as plain data;
- ``manifest.json`` (:func:`write_manifest`): hashes of the scenario, the input
  layers and the outputs, catalog and package versions, timings.

Every file is written atomically (:mod:`gisplan._atomic`): a failed export
leaves the previous file intact.  The same plan gives the same ``boq.csv`` and
``boq.xlsx`` byte for byte, and the same ``plan.gpkg`` geometries; only the
manifest carries run-dependent values (timings).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import re
import sqlite3
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gisplan._atomic import atomic_dir, atomic_path, atomic_write_bytes, atomic_write_text
from gisplan._errors import CRSError, PlanningError
from gisplan._qgis_styles import geometry_kind, style_qml
from gisplan.crs import METRIC_CRS
from gisplan.plan import BOQ_COLUMNS, Plan

__all__ = [
    "FIXED_TIMESTAMP",
    "boq_csv_text",
    "boq_to_csv",
    "boq_to_xlsx",
    "check_boq",
    "compare_to_xlsx",
    "export_plan",
    "plan_to_gpkg",
    "write_manifest",
]

#: Timestamp written into files that would otherwise carry the current time (XLSX, GeoPackage),
#: so that two exports of the same plan are identical.
FIXED_TIMESTAMP = datetime(2000, 1, 1)

#: Decimals of quantities in the CSV.
CSV_QUANTITY_DECIMALS = 3

_TEXT_COLUMNS = ("item_code", "description_vi", "description_en", "unit", "category", "phase", "district", "commune")
_SORT_COLUMNS = ("phase", "district", "commune", "category", "item_code")
_RESERVED_TABLES = ("boq", "layer_styles")
#: Packages whose versions the manifest records.
MANIFEST_PACKAGES = ("gisplan", "geopandas", "shapely", "networkx", "pyproj", "numpy", "scipy", "pandas", "pyogrio")


def natural_key(value: object) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders "Phase 9" before "Phase 10" (digit runs compared as numbers)."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def _rows_text(mask: pd.Series, labels: pd.Series, details: pd.Series | None = None, limit: int = 10) -> str:
    """'row 3 (T01 / 2027 / Dương Tơ), ...' for the rows where ``mask`` is true, at most ``limit`` of them."""
    positions = [i for i, bad in enumerate(mask.tolist()) if bad]
    parts = [f"row {i} ({labels.iloc[i]}{details.iloc[i] if details is not None else ''})" for i in positions[:limit]]
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return ", ".join(parts) + more


def _integral(series: pd.Series, column: str, labels: pd.Series) -> pd.Series:
    """``series`` as int64, or a PlanningError naming the rows that are missing or not whole numbers."""
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | (values.astype("float64") % 1 != 0)
    if bad.any():
        raise PlanningError(
            f"BOQ column {column!r} must hold whole VND amounts; missing or fractional at {_rows_text(bad, labels)}. "
            "Fix: round money to integer VND in the planner."
        )
    return values.astype("int64")


def check_boq(boq: pd.DataFrame) -> pd.DataFrame:
    """Return a checked, normalised and sorted copy of a BOQ table.

    Checks that every column of :data:`~gisplan.plan.BOQ_COLUMNS` is there,
    quantities are finite numbers, money columns whole VND, each
    ``amount_vnd`` is ``round(quantity * unit_price_vnd)`` (within rounding),
    and every ``item_code`` has one unit price and one unit.  Missing text
    becomes ``""``.  Rows are sorted by phase, district, commune, category and
    item code (numbers inside texts compared as numbers, ties in input order);
    the index is reset.

    Raises
    ------
    PlanningError
        Naming the missing columns, the offending rows, or the item codes with
        conflicting unit prices or units.
    """
    missing = [c for c in BOQ_COLUMNS if c not in boq.columns]
    if missing:
        raise PlanningError(
            f"the BOQ lacks column(s) {', '.join(missing)}; a BOQ needs {', '.join(BOQ_COLUMNS)}. "
            "Fix: build it from gisplan.plan.empty_boq()."
        )
    out = boq.loc[:, list(BOQ_COLUMNS)].copy().reset_index(drop=True)
    for column in _TEXT_COLUMNS:
        out[column] = out[column].fillna("").astype(str)
    labels = out["item_code"] + " / " + out["phase"] + " / " + out["commune"]
    quantity = pd.to_numeric(out["quantity"], errors="coerce").astype("float64")
    bad_q = ~quantity.map(math.isfinite)
    if bad_q.any():
        rows = _rows_text(bad_q, labels)
        raise PlanningError(f"BOQ column 'quantity' must be finite numbers; missing or not finite at {rows}")
    out["quantity"] = quantity
    out["unit_price_vnd"] = _integral(out["unit_price_vnd"], "unit_price_vnd", labels)
    out["amount_vnd"] = _integral(out["amount_vnd"], "amount_vnd", labels)
    product = out["quantity"] * out["unit_price_vnd"]
    off = (out["amount_vnd"] - product).abs() > 0.5 + 1e-9 * product.abs()
    if off.any():
        details = ": " + out["amount_vnd"].astype(str) + " != " + product.map("{:.2f}".format)
        rows = _rows_text(off, labels, details)
        raise PlanningError(
            f"BOQ amount_vnd must be round(quantity * unit_price_vnd), else the XLSX totals would not match; "
            f"wrong at {rows}"
        )
    for column, what in (("unit_price_vnd", "unit prices"), ("unit", "units")):
        # percentage lines (unit "%", e.g. contingency) price "1 % of their group's subtotal": that value
        # differs by group by design; their percentage (the quantity) must agree instead.
        pct = out["unit"] == "%"
        source = out if column == "unit" else out.assign(unit_price_vnd=out["unit_price_vnd"].where(~pct, 0))
        if column == "unit_price_vnd":
            source = source.assign(unit_price_vnd=source["unit_price_vnd"].where(~pct, out["quantity"]))
        per_code = source.groupby("item_code", sort=True)[column].unique()
        conflicts = {code: values for code, values in per_code.items() if len(values) > 1}
        if conflicts:
            text = "; ".join(f"{code}: {', '.join(map(str, sorted(v)))}" for code, v in conflicts.items())
            raise PlanningError(
                f"the BOQ gives item code(s) conflicting {what} ({text}); the unit-price sheet needs one per code. "
                "Fix: give each override its own item code (e.g. suffix the phase)."
            )
    columns = [out[c].tolist() for c in _SORT_COLUMNS]
    cache = {value: natural_key(value) for column in columns for value in set(column)}
    keys = list(zip(*([cache[v] for v in column] for column in columns), strict=True))
    order = sorted(range(len(out)), key=keys.__getitem__)
    return out.iloc[order].reset_index(drop=True)


def _format_quantity(value: float) -> str:
    text = f"{value:.{CSV_QUANTITY_DECIMALS}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def boq_csv_text(boq: pd.DataFrame) -> str:
    """Return the CSV text of a BOQ (see :func:`boq_to_csv`), without the byte-order mark."""
    rows = check_boq(boq)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(BOQ_COLUMNS)
    for record in rows.itertuples(index=False):
        values = record._asdict()
        writer.writerow(
            [
                _format_quantity(values[c])
                if c == "quantity"
                else str(int(values[c]))
                if c in ("unit_price_vnd", "amount_vnd")
                else values[c]
                for c in BOQ_COLUMNS
            ]
        )
    return buffer.getvalue()


def boq_to_csv(boq: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a BOQ as CSV, deterministically and atomically.

    The file is UTF-8 with a byte-order mark (``utf-8-sig``): Excel as set up
    in Vietnam reads UTF-8 CSV correctly (Vietnamese diacritics) only when the
    BOM is there; pandas, Python's csv and LibreOffice skip it.  Columns are
    :data:`~gisplan.plan.BOQ_COLUMNS` in order, rows sorted by phase, district,
    commune, category and item code, quantities with 3 decimals, money as
    integer VND, newlines ``\\n``.  There is no total row: the CSV is pure data
    (the totals are in the XLSX).

    Parameters
    ----------
    boq
        The BOQ table (checked with :func:`check_boq`).
    path
        The CSV file to write; its folder must exist.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    PlanningError
        When the BOQ is invalid (see :func:`check_boq`).
    """
    return atomic_write_text(path, boq_csv_text(boq), encoding="utf-8-sig")


def _deterministic_zip(data: bytes, timestamp: datetime) -> bytes:
    """Rewrite a zip archive with every member dated ``timestamp`` and fixed attributes."""
    date_time = (max(timestamp.year, 1980), timestamp.month, timestamp.day, timestamp.hour, timestamp.minute, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            member.create_system = 0
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps dcterms:modified with the time of saving: put the fixed timestamp back.
                stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", content
                )
            target.writestr(member, content)
    return out.getvalue()


#: Sheet names of the BOQ workbook.
SUMMARY_SHEET = "Tổng hợp - Summary"
PRICES_SHEET = "Đơn giá - Unit prices"

#: Columns of a BOQ line sheet: (header, source column or None, width, number format).
_LINE_COLUMNS: tuple[tuple[str, str | None, int, str | None], ...] = (
    ("STT / No.", None, 7, "0"),
    ("Mã hiệu / Item code", "item_code", 16, None),
    ("Mô tả / Description (VI)", "description_vi", 40, None),
    ("Mô tả tiếng Anh / Description (EN)", "description_en", 40, None),
    ("Đơn vị / Unit", "unit", 10, None),
    ("Khối lượng / Quantity", "quantity", 16, "#,##0.000"),
    ("Đơn giá (VND) / Unit price (VND)", "unit_price_vnd", 20, "#,##0"),
    ("Thành tiền (VND) / Amount (VND)", "amount_vnd", 22, "#,##0"),
    ("Hạng mục / Category", "category", 18, None),
    ("Giai đoạn / Phase", "phase", 14, None),
    ("Huyện / District", "district", 18, None),
    ("Xã / Commune", "commune", 18, None),
)
_PRICE_COLUMNS: tuple[tuple[str, str, int, str | None], ...] = (
    ("Mã hiệu / Item code", "item_code", 16, None),
    ("Mô tả / Description (VI)", "description_vi", 40, None),
    ("Mô tả tiếng Anh / Description (EN)", "description_en", 40, None),
    ("Đơn vị / Unit", "unit", 10, None),
    ("Đơn giá (VND) / Unit price (VND)", "unit_price_vnd", 20, "#,##0"),
)
#: Bilingual headers for known column names (used by :func:`compare_to_xlsx`).
BILINGUAL_HEADERS: dict[str, str] = {
    **{source: header for header, source, _, _ in _LINE_COLUMNS if source},
    "delta_vnd": "Chênh lệch (VND) / Difference (VND)",
    "delta_quantity": "Chênh lệch khối lượng / Quantity difference",
    "total_vnd": "Tổng (VND) / Total (VND)",
    "kpi": "Chỉ tiêu / KPI",
    "value": "Giá trị / Value",
}
_HEADER_ROW = 3
_FIRST_ROW = _HEADER_ROW + 1
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
_VND_FORMAT = "#,##0"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_name(text: str, used: set[str]) -> str:
    """Return a valid, unique Excel sheet name for ``text`` and add it to ``used``.

    Excel allows 31 characters, not ``[]:*?/\\``, no leading or trailing
    apostrophe, and compares names without case; a name taken already (or
    ``History``, which Excel reserves) gets a `` (2)``, `` (3)``... suffix.
    """
    base = _BAD_SHEET_CHARS.sub("-", str(text)).strip().strip("'").strip() or "Sheet"
    name = base[:31].rstrip()
    n = 1
    while name.casefold() in used or name.casefold() == "history":
        n += 1
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)].rstrip() + suffix
    used.add(name.casefold())
    return name


def _ref(sheet: str) -> str:
    """``sheet`` quoted for use in a formula (``'Đơn giá - Unit prices'``)."""
    return "'" + sheet.replace("'", "''") + "'"


def _put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> None:
    """Write a value; text is stored as text even when it starts with ``=`` (no formula injection)."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format


def _put_formula(ws: Worksheet, row: int, column: int, formula: str, number_format: str = _VND_FORMAT) -> None:
    cell = ws.cell(row=row, column=column, value=formula)
    cell.number_format = number_format


def _header(ws: Worksheet, row: int, headers: Iterable[tuple[str, int]]) -> None:
    for column, (text, width) in enumerate(headers, start=1):
        _put(ws, row, column, text)
        cell = ws.cell(row=row, column=column)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(column)].width = width


def _python(value: Any) -> Any:
    """A cell value from a pandas/numpy value: numbers stay numbers, missing becomes empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _line_sheet(ws: Worksheet, heading: str, rows: pd.DataFrame) -> int:
    """Fill a sheet with BOQ lines and a total row; return the total row's number (amount in column H)."""
    _put(ws, 1, 1, heading)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    _header(ws, _HEADER_ROW, [(h, w) for h, _, w, _ in _LINE_COLUMNS])
    ws.freeze_panes = ws.cell(row=_FIRST_ROW, column=3)
    prices = _ref(PRICES_SHEET)
    groups = list(zip(rows["phase"], rows["district"], rows["commune"], strict=True))
    for offset, record in enumerate(rows.itertuples(index=False)):
        r = _FIRST_ROW + offset
        values = record._asdict()
        lookup = f"INDEX({prices}!$E:$E,MATCH($B{r},{prices}!$A:$A,0))"
        if values["unit"] == "%":
            _percentage_line(ws, r, offset, values, groups, lookup)
            continue
        for column, (_, source, _, number_format) in enumerate(_LINE_COLUMNS, start=1):
            if source is None:
                _put(ws, r, column, offset + 1, number_format)
            elif source == "unit_price_vnd":
                _put_formula(ws, r, column, f"={lookup}")
            elif source == "amount_vnd":
                _put_formula(ws, r, column, f"=ROUND($F{r}*{lookup},0)")
            else:
                _put(ws, r, column, _python(values[source]), number_format)
    total = _FIRST_ROW + len(rows)
    _put(ws, total, 3, "Tổng cộng / Total")
    ws.cell(row=total, column=3).font = _BOLD
    last = max(total - 1, _FIRST_ROW)
    _put_formula(ws, total, 8, f"=SUM(H{_FIRST_ROW}:H{last})")
    ws.cell(row=total, column=8).font = _BOLD
    return total


def _percentage_line(
    ws: Worksheet, r: int, offset: int, values: dict[str, Any], groups: list[tuple[Any, ...]], lookup: str
) -> None:
    """A line of unit ``%`` (contingency): quantity = the percentage on the unit-price sheet, unit price =
    1 % of the other lines of its phase/district/commune group (contiguous: the sheet is sorted by group)."""
    first = last = offset
    while first > 0 and groups[first - 1] == groups[offset]:
        first -= 1
    while last + 1 < len(groups) and groups[last + 1] == groups[offset]:
        last += 1
    parts = []
    if first < offset:
        parts.append(f"SUM(H{_FIRST_ROW + first}:H{r - 1})")
    if last > offset:
        parts.append(f"SUM(H{r + 1}:H{_FIRST_ROW + last})")
    base = "+".join(parts) or "0"
    for column, (_, source, _, number_format) in enumerate(_LINE_COLUMNS, start=1):
        if source is None:
            _put(ws, r, column, offset + 1, number_format)
        elif source == "quantity":
            _put_formula(ws, r, column, f"={lookup}", number_format or "0.###")
        elif source == "unit_price_vnd":
            _put_formula(ws, r, column, f"=ROUND(({base})/100,0)")
        elif source == "amount_vnd":
            _put_formula(ws, r, column, f"=ROUND($F{r}*$G{r},0)")
        else:
            _put(ws, r, column, _python(values[source]), number_format)


def _prices_sheet(ws: Worksheet, rows: pd.DataFrame) -> None:
    """One row per item code: the first line of the code (in sorted order) gives descriptions and unit."""
    _put(ws, 1, 1, "Bảng đơn giá - Unit price list (VND)")
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    _header(ws, _HEADER_ROW, [(h, w) for h, _, w, _ in _PRICE_COLUMNS])
    ws.freeze_panes = ws.cell(row=_FIRST_ROW, column=2)
    first = rows.drop_duplicates("item_code", keep="first")
    codes = sorted(first["item_code"], key=natural_key)
    by_code = first.set_index("item_code")
    for offset, code in enumerate(codes):
        r = _FIRST_ROW + offset
        for column, (_, source, _, number_format) in enumerate(_PRICE_COLUMNS, start=1):
            value = code if source == "item_code" else _python(by_code.at[code, source])
            if source == "unit_price_vnd" and by_code.at[code, "unit"] == "%":
                value = _python(by_code.at[code, "quantity"])  # the percentage, e.g. 10
                number_format = "0.###"
            _put(ws, r, column, value, number_format)


def _summary_block(ws: Worksheet, row: int, heading: str, lines: list[tuple[str, str]]) -> tuple[int, int]:
    """A two-column block (label, amount formula) with a total; return (next free row, total row)."""
    _put(ws, row, 1, heading)
    ws.cell(row=row, column=1).font = _BOLD
    ws.cell(row=row, column=1).fill = _HEADER_FILL
    _put(ws, row, 2, "Thành tiền (VND) / Amount (VND)")
    ws.cell(row=row, column=2).font = _BOLD
    ws.cell(row=row, column=2).fill = _HEADER_FILL
    first = row + 1
    for offset, (label, formula) in enumerate(lines):
        _put(ws, first + offset, 1, label)
        _put_formula(ws, first + offset, 2, formula)
    total = first + len(lines)
    _put(ws, total, 1, "Tổng cộng / Total")
    ws.cell(row=total, column=1).font = _BOLD
    if lines:
        _put_formula(ws, total, 2, f"=SUM(B{first}:B{total - 1})")
    else:
        _put(ws, total, 2, 0, _VND_FORMAT)
    ws.cell(row=total, column=2).font = _BOLD
    return total + 2, total


def _set_properties(workbook: Workbook, title: str, timestamp: datetime) -> None:
    workbook.properties.creator = "gisplan"
    workbook.properties.lastModifiedBy = "gisplan"
    workbook.properties.title = title or None
    workbook.properties.created = timestamp
    workbook.properties.modified = timestamp


def boq_workbook(
    rows: pd.DataFrame, *, title: str, kpis: dict[str, Any], plan_kind: str, timestamp: datetime
) -> Workbook:
    """Build the BOQ workbook of :func:`boq_to_xlsx` from a checked, sorted BOQ (see :func:`check_boq`)."""
    workbook = Workbook()
    used: set[str] = set()
    summary = workbook.active
    summary.title = sheet_name(SUMMARY_SHEET, used)
    used.add(PRICES_SHEET.casefold())

    phases = sorted(rows["phase"].unique(), key=natural_key)
    phase_totals: list[tuple[str, str, int, int]] = []
    for phase in phases:
        label = phase or "không rõ / none"
        # A bare number or year range gets the bilingual prefix; a named phase keeps its name.
        named = f"Giai đoạn {label} - Phase {label}" if re.fullmatch(r"[\d\s./-]+", label) else label
        ws = workbook.create_sheet(sheet_name(named, used))
        part = rows[rows["phase"] == phase]
        total = _line_sheet(ws, f"{title + ' - ' if title else ''}Giai đoạn / Phase {label}", part)
        phase_totals.append((phase, ws.title, total, len(part)))

    pairs = set(zip(rows["district"], rows["commune"], strict=True))
    places = sorted(pairs, key=lambda p: (natural_key(p[0]), natural_key(p[1])))
    place_totals: list[tuple[str, str, int]] = []
    for district, commune in places:
        label = " - ".join(x for x in (district, commune) if x) or "Không rõ xã - No commune"
        ws = workbook.create_sheet(sheet_name(label, used))
        part = rows[(rows["district"] == district) & (rows["commune"] == commune)]
        total = _line_sheet(ws, f"Huyện / District {district or '-'}, Xã / Commune {commune or '-'}", part)
        place_totals.append((label, ws.title, total))

    _prices_sheet(workbook.create_sheet(PRICES_SHEET), rows)

    _put(summary, 1, 1, title or "Bảng tổng hợp khối lượng và kinh phí - Bill of quantities summary")
    summary.cell(row=1, column=1).font = Font(bold=True, size=14)
    _put(summary, 2, 1, "Loại kế hoạch / Plan kind")
    _put(summary, 2, 2, plan_kind)
    _put(summary, 3, 1, "Tiền tệ / Currency")
    _put(summary, 3, 2, "VND")
    summary.column_dimensions["A"].width = 48
    summary.column_dimensions["B"].width = 26
    by_phase = [(p or "không rõ / none", f"={_ref(sheet)}!H{total}") for p, sheet, total, _ in phase_totals]
    row, grand = _summary_block(summary, 5, "Theo giai đoạn / By phase", by_phase)
    _put(summary, row - 1, 1, "TỔNG CỘNG / GRAND TOTAL")
    _put_formula(summary, row - 1, 2, f"=B{grand}")
    summary.cell(row=row - 1, column=1).font = _BOLD
    summary.cell(row=row - 1, column=2).font = _BOLD
    row += 1
    by_category = []
    for category in sorted(rows["category"].unique(), key=natural_key):
        terms = [
            f'SUMIF({_ref(sheet)}!$I${_FIRST_ROW}:$I${_FIRST_ROW + n - 1},"{category.replace(chr(34), chr(34) * 2)}",'
            f"{_ref(sheet)}!$H${_FIRST_ROW}:$H${_FIRST_ROW + n - 1})"
            for _, sheet, _, n in phase_totals
        ]
        by_category.append((category or "không rõ / none", "=" + "+".join(terms)))
    row, _ = _summary_block(summary, row, "Theo hạng mục / By category", by_category)
    by_place = [(label, f"={_ref(sheet)}!H{total}") for label, sheet, total in place_totals]
    row, _ = _summary_block(summary, row, "Theo huyện - xã / By district - commune", by_place)
    _put(summary, row, 1, "Chỉ tiêu / KPI")
    _put(summary, row, 2, "Giá trị / Value")
    for column in (1, 2):
        summary.cell(row=row, column=column).font = _BOLD
        summary.cell(row=row, column=column).fill = _HEADER_FILL
    for offset, (key, value) in enumerate(kpis.items(), start=1):
        _put(summary, row + offset, 1, str(key))
        cell_value = _python(value)
        _put(summary, row + offset, 2, cell_value, _VND_FORMAT if str(key).endswith("_vnd") else None)

    workbook.calculation.fullCalcOnLoad = True
    _set_properties(workbook, title, timestamp)
    return workbook


def frames_workbook(tables: dict[str, pd.DataFrame], *, title: str, timestamp: datetime) -> Workbook:
    """Build the workbook of :func:`compare_to_xlsx`: one sheet per table, bilingual headers, values only."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for key, frame in tables.items():
        ws = workbook.create_sheet(sheet_name(key, used))
        _put(ws, 1, 1, f"{title} - {key}" if title else str(key))
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        columns = [str(c) for c in frame.columns]
        widths = [max(12, min(45, len(BILINGUAL_HEADERS.get(c, c)) + 2)) for c in columns]
        _header(ws, _HEADER_ROW, [(BILINGUAL_HEADERS.get(c, c), w) for c, w in zip(columns, widths, strict=True)])
        ws.freeze_panes = ws.cell(row=_FIRST_ROW, column=1)
        formats = [_VND_FORMAT if c.endswith("_vnd") else None for c in columns]
        for offset, record in enumerate(frame.itertuples(index=False, name=None)):
            for column, value in enumerate(record, start=1):
                _put(ws, _FIRST_ROW + offset, column, _python(value), formats[column - 1])
    if not tables:
        _put(workbook.create_sheet("Trống - Empty"), 1, 1, "Không có bảng / No tables")
    _set_properties(workbook, title, timestamp)
    return workbook


def _save_workbook(workbook: Workbook, path: str | os.PathLike[str], timestamp: datetime) -> Path:
    """Save ``workbook`` to ``path`` atomically, with deterministic bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return atomic_write_bytes(path, _deterministic_zip(buffer.getvalue(), timestamp))


def boq_to_xlsx(
    boq: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    kpis: Mapping[str, Any] | None = None,
    plan_kind: str = "",
    timestamp: datetime = FIXED_TIMESTAMP,
) -> Path:
    """Write a BOQ as an XLSX workbook whose amounts are live formulas over a unit-price sheet.

    Sheets, in order:

    - ``Tổng hợp - Summary``: totals per phase, per category and per commune,
      the grand total, then the KPIs;
    - one per phase (``Giai đoạn 2027 - Phase 2027`` for a phase named by a
      number or years, the phase's own name otherwise) and one per district and
      commune (``Phú Quốc - Dương Tơ``), each listing its BOQ lines and a total;
    - ``Đơn giá - Unit prices``: one row per item code (code, descriptions,
      unit, unit price).

    Every line's unit price is ``INDEX/MATCH`` of its item code in the
    unit-price sheet and every amount is ``ROUND(quantity * that price, 0)``;
    totals are ``SUM``/``SUMIF`` formulas.  An engineer who edits a price in
    the unit-price sheet sees every amount and total follow.  openpyxl writes
    formulas without cached values, so the workbook asks Excel/LibreOffice to
    recalculate on load (``fullCalcOnLoad``); a program reading the file with
    ``data_only=True`` sees empty cells.  Sheet names are cut to Excel's 31
    characters, ``[]:*?/\\`` replaced by ``-``, and kept unique.

    The file is byte-for-byte the same for the same inputs: document
    properties and zip entries carry ``timestamp``, not the current time.

    Parameters
    ----------
    boq
        The BOQ table (checked with :func:`check_boq`).
    path
        The XLSX file to write; its folder must exist.
    title
        A title written at the top of the summary and as document title.
    kpis
        Key figures of the plan, listed on the summary sheet (numbers stay numbers).
    plan_kind
        ``"underground"`` or ``"wifi"``, shown on the summary.
    timestamp
        Creation and modification time stored in the file.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    PlanningError
        When the BOQ is invalid (see :func:`check_boq`), e.g. an item code with
        two different unit prices.
    """
    rows = check_boq(boq)
    workbook = boq_workbook(rows, title=title, kpis=dict(kpis or {}), plan_kind=plan_kind, timestamp=timestamp)
    return _save_workbook(workbook, path, timestamp)


def compare_to_xlsx(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    timestamp: datetime = FIXED_TIMESTAMP,
) -> Path:
    """Write a few tables (e.g. the differences between two plan versions) as sheets of one XLSX file.

    Each table becomes a sheet named after its key (cut to 31 characters, kept
    unique), with bilingual headers for the known column names (BOQ columns,
    ``delta_vnd``...; others as given) and ``#,##0`` number formats for
    ``*_vnd`` columns.  Values are written as values, not formulas.  Deterministic
    bytes, like :func:`boq_to_xlsx`.

    Parameters
    ----------
    tables
        Sheet title -> DataFrame, in the order the sheets should appear.
    path
        The XLSX file to write.
    title
        A title written above each table.
    timestamp
        Creation and modification time stored in the file.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    workbook = frames_workbook(dict(tables), title=title, timestamp=timestamp)
    return _save_workbook(workbook, path, timestamp)


def _check_layer_name(name: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", name):
        raise PlanningError(
            f"plan layer name {name!r} cannot be a GeoPackage table; use letters, digits and _ (e.g. 'trenches')"
        )
    if name.lower() in _RESERVED_TABLES or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
        raise PlanningError(f"plan layer name {name!r} is reserved in the exported GeoPackage; rename the layer")


def _layer_for_export(name: str, gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise PlanningError(f"plan layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame")
    if gdf.crs is None:
        raise CRSError(f"plan layer {name!r} has no CRS; planners return layers in {METRIC_CRS}")
    out = gdf.reset_index(drop=True)
    return out.to_crs(crs) if out.crs != crs else out.copy()


class _GdalTimestamp:
    """Context manager setting GDAL's OGR_CURRENT_DATE (GeoPackage last_change) and restoring it."""

    def __init__(self, timestamp: datetime) -> None:
        self.value = timestamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.previous: str | None = None

    def __enter__(self) -> _GdalTimestamp:
        self.previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": self.value})
        return self

    def __exit__(self, *exc: object) -> None:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": self.previous})


_EMPTY_GEOMETRY_TYPES = {"point": "Point", "line": "LineString", "polygon": "Polygon"}
_STYLE_DESCRIPTION = "gisplan default style / kiểu mặc định"
_LAYER_STYLES_DDL = (
    "CREATE TABLE layer_styles ("
    "id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
    "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
    "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
    "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"
)


def _add_layer_styles(path: Path, styles: list[tuple[str, str, str]], timestamp: datetime) -> None:
    """Add the QGIS ``layer_styles`` table (rows: table, geometry column, QML) and register it as attributes."""
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(_LAYER_STYLES_DDL)
            con.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', ?)",
                [
                    (table, geom, table, qml, "gisplan default style / kiểu mặc định", stamp)
                    for table, geom, qml in styles
                ],
            )
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)",
                (stamp,),
            )
            has_counts = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_ogr_contents'"
            ).fetchone()[0]
            if has_counts:
                con.execute(
                    "INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES ('layer_styles', ?)",
                    (len(styles),),
                )
    finally:
        con.close()


def plan_to_gpkg(
    plan: Plan,
    path: str | os.PathLike[str],
    *,
    crs: str = METRIC_CRS,
    timestamp: datetime = FIXED_TIMESTAMP,
) -> Path:
    """Write a plan's layers, BOQ and QGIS styles to one GeoPackage, atomically.

    - one feature table per plan layer, reprojected to ``crs``, in the plan's
      layer order, index dropped; an empty layer is written too, with its
      columns and the geometry type its name suggests (``poles_removed``:
      Point, ``footprints``: Polygon, otherwise LineString; see
      :func:`gisplan._qgis_styles.geometry_kind`), so that QGIS shows the
      layer exists and is empty rather than hiding that it was planned;
    - the BOQ (checked and sorted as in :func:`check_boq`) as the attribute
      table ``boq``, present even when empty;
    - the table ``layer_styles`` as QGIS creates it, one default style (QML
      from :mod:`gisplan._qgis_styles`) per layer, registered in
      ``gpkg_contents`` as attributes.

    Two exports of the same plan have the same geometries and attributes;
    GeoPackage timestamps are set to ``timestamp``.

    Parameters
    ----------
    plan
        The plan; layer names must be letters, digits and ``_`` and not
        ``boq`` or ``layer_styles``.
    path
        The ``.gpkg`` file to write (replaced if it exists).
    crs
        CRS of the exported layers (the metric CRS by default; ``"EPSG:4326"``
        for tools that want longitude/latitude).
    timestamp
        Written as ``last_change``/``update_time``.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    PlanningError
        When a layer name is unusable, a layer is not a GeoDataFrame or GDAL
        cannot write it, or the BOQ is invalid.
    CRSError
        When a layer has no CRS.
    """
    target = Path(path)
    layers: list[tuple[str, gpd.GeoDataFrame]] = []
    for name, gdf in plan.layers.items():
        _check_layer_name(name)
        layers.append((name, _layer_for_export(name, gdf, crs)))
    boq = check_boq(plan.boq)
    with atomic_path(target) as tmp, _GdalTimestamp(timestamp):
        styles: list[tuple[str, str, str]] = []
        for name, gdf in layers:
            try:
                geometry_type = None if len(gdf) else _EMPTY_GEOMETRY_TYPES[geometry_kind(None, name)]
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", geometry_type=geometry_type)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, TypeError, ValueError) as exc:
                raise PlanningError(f"cannot write plan layer {name!r} to {target.name}: {exc}") from exc
            styles.append((name, "geom", style_qml(name, gdf)))
        pyogrio.write_dataframe(pd.DataFrame(boq), tmp, layer="boq", driver="GPKG")
        _add_layer_styles(tmp, styles, timestamp)
    return target


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_entries(files: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]]) -> dict[str, Any]:
    pairs: Iterator[tuple[str, str | os.PathLike[str]]]
    pairs = iter(files.items()) if isinstance(files, Mapping) else ((Path(p).name, p) for p in files)
    entries: dict[str, Any] = {}
    for name, file in pairs:
        file_path = Path(file)
        if not file_path.is_file():
            raise FileNotFoundError(f"cannot hash {name!r}: {file_path} is not a file")
        entries[str(name)] = {
            "file": file_path.name,
            "bytes": file_path.stat().st_size,
            "sha256": _sha256_file(file_path),
        }
    return dict(sorted(entries.items()))


def package_versions() -> dict[str, str]:
    """Versions of the packages a plan depends on; ``"not installed"`` for a missing one."""
    versions: dict[str, str] = {}
    for name in MANIFEST_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "gisplan":
                from gisplan import __version__

                versions[name] = f"{__version__} (source tree, not installed)"
            else:
                versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def write_manifest(
    path: str | os.PathLike[str],
    *,
    scenario_text: str,
    layer_files: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]],
    catalog_version: str,
    timings: Mapping[str, float],
    outputs: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``manifest.json``: what a run was made from, to reproduce and check it.

    Keys: ``scenario_sha256`` (of the scenario text, UTF-8), ``layers`` and
    ``outputs`` (name -> file name, size and sha256), ``catalog_version``,
    ``packages`` (versions of gisplan, geopandas, shapely, networkx, pyproj,
    numpy, scipy, pandas, pyogrio, python), ``timings_s`` (seconds per step)
    and the items of ``extra``.  Only file names are stored, not folders, so
    manifests of the same run on two machines differ only in their timings.
    The manifest is the one export that is not byte-identical between runs:
    keep timings out of everything else.

    Parameters
    ----------
    path
        The JSON file to write (atomically).
    scenario_text
        The scenario file's text as read.
    layer_files
        The input layer files, by layer name or as a list (named by file name).
    catalog_version
        The version string of the cost catalog used.
    timings
        Seconds per step (e.g. ``{"read": 0.4, "plan": 2.1}``).
    outputs
        Output files to hash (e.g. boq.csv, boq.xlsx, plan.gpkg).
    extra
        More JSON-able items (e.g. the plan kind and total).

    Returns
    -------
    dict
        The manifest as written.

    Raises
    ------
    FileNotFoundError
        When a layer or output file does not exist.
    """
    manifest: dict[str, Any] = {
        "format": "gisplan-manifest/1",
        "scenario_sha256": hashlib.sha256(scenario_text.encode("utf-8")).hexdigest(),
        "layers": _file_entries(layer_files),
        "catalog_version": catalog_version,
        "outputs": _file_entries(outputs),
        "packages": package_versions(),
        "timings_s": {k: round(float(v), 3) for k, v in timings.items()},
    }
    manifest.update(dict(extra or {}))
    atomic_write_text(path, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    return manifest


def export_plan(
    plan: Plan,
    out_dir: str | os.PathLike[str],
    *,
    title: str = "",
    scenario_text: str = "",
    layer_files: Mapping[str, str | os.PathLike[str]] | Iterable[str | os.PathLike[str]] = (),
    catalog_version: str = "",
    timings: Mapping[str, float] | None = None,
    timestamp: datetime = FIXED_TIMESTAMP,
) -> dict[str, Path]:
    """Write ``plan.gpkg``, ``boq.xlsx``, ``boq.csv`` and ``manifest.json`` into ``out_dir``.

    The folder is written through :func:`gisplan._atomic.atomic_dir`: a new
    folder appears complete or not at all; in an existing folder each file is
    replaced whole, ``manifest.json`` last, and other files are left alone.

    Parameters
    ----------
    plan
        The plan to export.
    out_dir
        The output folder (created if missing; its parent must exist).
    title
        Title of the workbook.
    scenario_text, layer_files, catalog_version, timings
        Recorded in the manifest (see :func:`write_manifest`).
    timestamp
        Stored in the XLSX and GeoPackage instead of the current time.

    Returns
    -------
    dict
        ``{"plan.gpkg": path, "boq.xlsx": path, "boq.csv": path, "manifest.json": path}`` in ``out_dir``.
    """
    target = Path(out_dir)
    names = ("plan.gpkg", "boq.xlsx", "boq.csv", "manifest.json")
    with atomic_dir(target) as staging:
        plan_to_gpkg(plan, staging / "plan.gpkg", timestamp=timestamp)
        boq_to_xlsx(
            plan.boq, staging / "boq.xlsx", title=title, kpis=plan.kpis, plan_kind=plan.kind, timestamp=timestamp
        )
        boq_to_csv(plan.boq, staging / "boq.csv")
        write_manifest(
            staging / "manifest.json",
            scenario_text=scenario_text,
            layer_files=layer_files,
            catalog_version=catalog_version,
            timings=dict(timings or {}),
            outputs={n: staging / n for n in names[:3]},
            extra={"plan_kind": plan.kind, "total_vnd": plan.total_vnd, "boq_rows": len(plan.boq)},
        )
    return {n: target / n for n in names}
