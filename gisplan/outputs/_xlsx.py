"""XLSX workbooks of a BOQ (private; used by :mod:`gisplan.outputs.export`).

Every amount is a formula over the unit-price sheet, subtotals and totals are SUM/SUMIF
formulas, headers are bilingual; the bytes are deterministic (fixed timestamps in the
document properties and the zip entries).

Number formats, and how the reader's locale applies
---------------------------------------------------
Cells hold numbers and formulas (never text), so a reader can sum and check them; their number format says how
they show.  In a format code ``,`` means "group thousands" and ``.`` "decimal separator here", and the
spreadsheet writes them with the separators of the *reader's* locale: Excel or LibreOffice set to Vietnamese
shows ``#,##0 "đ"`` as ``6.788.298.916 đ`` and ``#,##0.0`` as ``3.740,5``; set to English, ``6,788,298,916 đ``
and ``3,740.5``.  One file thus reads right in either office, as the app writes figures in the chosen language.

- Amounts in VND (:data:`VND_FORMAT`): whole đồng, thousands grouped, followed by ``đ``.
- Quantities by their unit (:func:`quantity_format`): counts (each, link, year ...) without decimals; metres
  with one decimal (the survey's precision, 0.1 m); m² and m³ with two; km with three (a metre); kWh with one.
- Other counts (people, sites) grouped, without decimals (:data:`COUNT_FORMAT`); lengths in metres with one
  decimal, in km with three; shares as percentages.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from gisplan._atomic import atomic_write_bytes
from gisplan.catalog.costing import ESTIMATE_LINES
from gisplan.plan import category_label, kpi_label


def natural_key(value: object) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders "Phase 9" before "Phase 10" (digit runs compared as numbers)."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


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

ESTIMATE_SHEET = "Tổng mức đầu tư - Estimate"
_ESTIMATE_RATES = (
    ("estimate_pm_share", "Tỷ lệ chi phí quản lý dự án / Project management share", "0.0%"),
    ("estimate_consultancy_share", "Tỷ lệ chi phí tư vấn / Consultancy share", "0.0%"),
    ("estimate_other_share", "Tỷ lệ chi phí khác / Other costs share", "0.0%"),
    ("vat_share", "Thuế suất VAT / VAT rate", "0.0%"),
    ("contingency_share", "Dự phòng khối lượng / Contingency for quantities", "0.0%"),
    ("escalation_rate", "Chỉ số trượt giá mỗi năm / Price escalation a year", "0.0%"),
    ("price_base_year", "Năm giá gốc / Price base year", "0"),
    (
        "duct_rent_d5_vnd_per_m_month",
        "Thuê ống, cáp D <= 5 mm (VND/m/tháng) / Duct rent, cable D <= 5 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_d10_vnd_per_m_month",
        "Thuê ống, cáp 5 < D <= 10 mm (VND/m/tháng) / Duct rent, cable 5-10 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_d15_vnd_per_m_month",
        "Thuê ống, cáp 10 < D <= 15 mm (VND/m/tháng) / Duct rent, cable 10-15 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_d20_vnd_per_m_month",
        "Thuê ống, cáp 15 < D <= 20 mm (VND/m/tháng) / Duct rent, cable 15-20 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_d35_vnd_per_m_month",
        "Thuê ống, cáp 20 < D <= 35 mm (VND/m/tháng) / Duct rent, cable 20-35 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_over35_vnd_per_m_month",
        "Thuê ống, cáp D > 35 mm (VND/m/tháng) / Duct rent, cable D > 35 mm (VND per m a month)",
        '#,##0" đ"',
    ),
    (
        "duct_rent_ceiling_vnd_per_m_year",
        "Giá thuê tối đa (VND/m/năm; 0: không) / Rent ceiling (VND per m a year; 0: none)",
        '#,##0" đ"',
    ),
)
#: The rent classes of the duct-rent table, in the order of :data:`gisplan.underground._estimate.RENT_CLASSES`.
_RENT_KEYS = tuple(k for k, _label, _fmt in _ESTIMATE_RATES if k.startswith("duct_rent_") and k.endswith("_month"))
_RENT_HEADERS = ("D <= 5 mm", "5-10 mm", "10-15 mm", "15-20 mm", "20-35 mm", "D > 35 mm")

#: Columns of a BOQ line sheet: (header, source column or None, width, number format).
_LINE_COLUMNS: tuple[tuple[str, str | None, int, str | None], ...] = (
    ("STT / No.", None, 6, "0"),
    ("Mã hiệu / Item code", "item_code", 15, None),
    ("Mô tả / Description (VI)", "description_vi", 38, None),
    ("Mô tả tiếng Anh / Description (EN)", "description_en", 34, None),
    ("Đơn vị / Unit", "unit", 9, None),
    ("Khối lượng / Quantity", "quantity", 14, "#,##0.###"),
    ("Đơn giá (VND) / Unit price (VND)", "unit_price_vnd", 16, '#,##0" đ"'),
    ("Thành tiền (VND) / Amount (VND)", "amount_vnd", 18, '#,##0" đ"'),
    ("Hạng mục / Category", "category", 12, None),
    ("Giai đoạn / Phase", "phase", 11, None),
    ("Huyện / District", "district", 18, None),
    ("Xã / Commune", "commune", 18, None),
)
_PRICE_COLUMNS: tuple[tuple[str, str, int, str | None], ...] = (
    ("Mã hiệu / Item code", "item_code", 16, None),
    ("Mô tả / Description (VI)", "description_vi", 40, None),
    ("Mô tả tiếng Anh / Description (EN)", "description_en", 40, None),
    ("Đơn vị / Unit", "unit", 10, None),
    ("Đơn giá (VND) / Unit price (VND)", "unit_price_vnd", 20, '#,##0" đ"'),
)
#: Bilingual headers for known column names (used by :func:`compare_to_xlsx`).
BILINGUAL_HEADERS: dict[str, str] = {
    **{source: header for header, source, _, _ in _LINE_COLUMNS if source},
    "delta_vnd": "Chênh lệch (VND) / Difference (VND)",
    "delta_quantity": "Chênh lệch khối lượng / Quantity difference",
    "total_vnd": "Tổng (VND) / Total (VND)",
    "kpi": "Chỉ tiêu / KPI",
    "value": "Giá trị / Value",
    "item": "Mục / Item",
    "quantity_a": "Khối lượng A / Quantity A",
    "quantity_b": "Khối lượng B / Quantity B",
    "quantity_delta": "Chênh lệch khối lượng / Quantity difference",
    "amount_a_vnd": "Thành tiền A (VND) / Amount A (VND)",
    "amount_b_vnd": "Thành tiền B (VND) / Amount B (VND)",
    "amount_delta_vnd": "Chênh lệch (VND) / Difference (VND)",
    "a": "A (phương án gốc / reference)",
    "b": "B (phương án đề xuất / proposal)",
    "delta": "Chênh lệch B - A / Difference B - A",
    "changed": "Thay đổi / Changed",
    "key": "Khóa / Key",
    "layer": "Lớp / Layer",
    "change": "Thay đổi / Change",
    "detail": "Chi tiết / Detail",
}
_HEADER_ROW = 3
_FIRST_ROW = _HEADER_ROW + 1
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DDEBF7", end_color="DDEBF7")
#: Amounts in VND: whole đồng, thousands grouped (with the reader's separator), then the sign đ.
VND_FORMAT = '#,##0" đ"'
#: Counts (people, sites): thousands grouped, no decimals.
COUNT_FORMAT = "#,##0"
#: Quantity formats by BOQ unit (the decimals a reader needs; see the module notes).
_QUANTITY_FORMATS = {
    "m": "#,##0.0",
    "m2": "#,##0.00",
    "m3": "#,##0.00",
    "km": "#,##0.000",
    "kWh": "#,##0.0",
}
_THIN = Side(style="thin", color="808080")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
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


def _put_formula(
    ws: Worksheet, row: int, column: int, formula: str, number_format: str = VND_FORMAT, value: Any = None
) -> None:
    """Write a formula and remember its computed ``value``, stored as the cell's cached value when the workbook is
    saved (:func:`_with_cached_values`), so that readers that do not recalculate see the figure."""
    cell = ws.cell(row=row, column=column, value=formula)
    cell.number_format = number_format
    if value is not None:
        cached = getattr(ws, "_gisplan_values", None)
        if cached is None:
            cached = {}
            ws._gisplan_values = cached
        cached[cell.coordinate] = _python(value)


def _header(ws: Worksheet, row: int, headers: Iterable[tuple[str, int]]) -> None:
    """Bold bilingual headers on a shaded row tall enough for their two lines (Excel does not grow it itself)."""
    for column, (text, width) in enumerate(headers, start=1):
        _put(ws, row, column, text)
        cell = ws.cell(row=row, column=column)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.row_dimensions[row].height = 45


def _print_setup(ws: Worksheet, *, landscape: bool, title_rows: str | None) -> None:
    """A4, every column on one page width (as many pages down as needed), header rows on every page,
    narrow margins, "Trang 1 / 3" in the footer: how a cost estimate is printed and signed."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Trang &P / &N"


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


def _kpi_cell(value: Any) -> Any:
    """A KPI as a cell value: numbers stay numbers; yes/no, per-year amounts and lists as readable text."""
    if isinstance(value, bool):
        return "có / yes" if value else "không / no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_kpi_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_kpi_text(v) for v in value)
    return _python(value)


def _kpi_text(value: Any) -> str:
    value = _python(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def quantity_format(unit: str) -> str:
    """The number format of a BOQ quantity in ``unit``: a count without decimals, metres with one, m² and m³
    with two, km with three (see the module notes); ``#,##0.###`` for a unit it does not know."""
    if unit in _QUANTITY_FORMATS:
        return _QUANTITY_FORMATS[unit]
    if unit in (
        "each",
        "crossing",
        "link",
        "section",
        "year",
        "site",
        "set",
        "cái",
        "cột",
        "điểm",
        "tuyến",
        "năm",
        "bộ",
    ):
        return COUNT_FORMAT
    return "#,##0.###"


def column_format(column: str) -> str | None:
    """The number format of a table column by its name's unit: ``*_vnd`` amounts, ``*_km`` and ``*_m`` lengths,
    ``*_mbps`` rates; ``None`` (general) otherwise."""
    if column.endswith("_vnd") or "_vnd_" in column:
        return VND_FORMAT
    if column.endswith("_km"):
        return "#,##0.000"
    if column.endswith("_m") or column.endswith("_mbps"):
        return "#,##0.0"
    return None


def _kpi_format(key: str, value: Any) -> str | None:
    """Money in đồng, lengths by unit, large counts grouped; years (2027) and ratios keep the general format."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if "_vnd" in key:
        return VND_FORMAT
    if key.endswith(("_km", "_m")):
        return column_format(key)
    if isinstance(value, int) and abs(value) >= 10_000:
        return COUNT_FORMAT
    return None


def _line_sheet(ws: Worksheet, heading: str, rows: pd.DataFrame) -> int:
    """Fill a sheet with BOQ lines and a total row; return the total row's number (amount in column H)."""
    _put(ws, 1, 1, heading)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    _header(ws, _HEADER_ROW, [(h, w) for h, _, w, _ in _LINE_COLUMNS])
    ws.freeze_panes = ws.cell(row=_FIRST_ROW, column=3)
    _print_setup(ws, landscape=True, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")
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
                _put_formula(ws, r, column, f"={lookup}", value=values["unit_price_vnd"])
            elif source == "amount_vnd":
                _put_formula(ws, r, column, f"=ROUND($F{r}*{lookup},0)", value=values["amount_vnd"])
            elif source == "quantity":
                _put(ws, r, column, _python(values[source]), quantity_format(str(values["unit"])))
            else:
                _put(ws, r, column, _python(values[source]), number_format)
    total = _FIRST_ROW + len(rows)
    _put(ws, total, 3, "Tổng cộng / Total")
    ws.cell(row=total, column=3).font = _BOLD
    last = max(total - 1, _FIRST_ROW)
    _put_formula(ws, total, 8, f"=SUM(H{_FIRST_ROW}:H{last})", value=int(rows["amount_vnd"].sum()))
    ws.cell(row=total, column=8).font = _BOLD
    _grid(ws, _HEADER_ROW, total, len(_LINE_COLUMNS))
    return total


def _grid(ws: Worksheet, first_row: int, last_row: int, n_columns: int) -> None:
    """Thin borders around every cell of a table, as a printed estimate has them."""
    for row in ws.iter_rows(min_row=first_row, max_row=last_row, min_col=1, max_col=n_columns):
        for cell in row:
            cell.border = _GRID


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
            _put_formula(ws, r, column, f"={lookup}", number_format or "0.###", value=values["quantity"])
        elif source == "unit_price_vnd":
            _put_formula(ws, r, column, f"=ROUND(({base})/100,0)", value=values["unit_price_vnd"])
        elif source == "amount_vnd":
            _put_formula(ws, r, column, f"=ROUND($F{r}*$G{r},0)", value=values["amount_vnd"])
        else:
            _put(ws, r, column, _python(values[source]), number_format)


def _prices_sheet(ws: Worksheet, rows: pd.DataFrame) -> None:
    """One row per item code: the first line of the code (in sorted order) gives descriptions and unit."""
    _put(ws, 1, 1, "Bảng đơn giá - Unit price list (VND)")
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    _header(ws, _HEADER_ROW, [(h, w) for h, _, w, _ in _PRICE_COLUMNS])
    ws.freeze_panes = ws.cell(row=_FIRST_ROW, column=2)
    _print_setup(ws, landscape=True, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")
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
    _grid(ws, _HEADER_ROW, _FIRST_ROW + len(codes) - 1, len(_PRICE_COLUMNS))


def _summary_block(ws: Worksheet, row: int, heading: str, lines: list[tuple[str, str, int]]) -> tuple[int, int]:
    """A two-column block (label, amount formula) with a total; return (next free row, total row)."""
    _put(ws, row, 1, heading)
    ws.cell(row=row, column=1).font = _BOLD
    ws.cell(row=row, column=1).fill = _HEADER_FILL
    _put(ws, row, 2, "Thành tiền (VND) / Amount (VND)")
    ws.cell(row=row, column=2).font = _BOLD
    ws.cell(row=row, column=2).fill = _HEADER_FILL
    first = row + 1
    for offset, (label, formula, value) in enumerate(lines):
        _put(ws, first + offset, 1, label)
        _put_formula(ws, first + offset, 2, formula, value=value)
    total = first + len(lines)
    _put(ws, total, 1, "Tổng cộng / Total")
    ws.cell(row=total, column=1).font = _BOLD
    if lines:
        _put_formula(ws, total, 2, f"=SUM(B{first}:B{total - 1})", value=sum(v for _l, _f, v in lines))
    else:
        _put(ws, total, 2, 0, VND_FORMAT)
    ws.cell(row=total, column=2).font = _BOLD
    return total + 2, total


def _estimate_sheet(ws: Worksheet, kpis: dict[str, Any], phase_totals: list[tuple[str, str, int, int]]) -> None:
    """The investment estimate (Decree 10/2021/NĐ-CP) per phase and in total, every amount a formula over the
    phase sheets and the rates above it, with the planner's figures as cached values; who pays; duct rent."""
    est, rates = kpis["estimate_vnd"], kpis["estimate_rates"]
    _put(ws, 1, 1, "Tổng mức đầu tư (NĐ 10/2021/NĐ-CP) - Investment estimate (Decree 10/2021/NĐ-CP)")
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    ws.column_dimensions["A"].width = 62
    rate_row = {}
    for k, (key, label, fmt) in enumerate(_ESTIMATE_RATES):
        r = 3 + k
        _put(ws, r, 1, label)
        _put(ws, r, 2, _python(rates[key]), fmt)
        rate_row[key] = r
    head = 3 + len(_ESTIMATE_RATES) + 1
    phases = [(p, sheet, n) for p, sheet, _total, n in phase_totals if str(p) in est["construction"]]
    cols = [(2 + j, str(p), sheet, n) for j, (p, sheet, n) in enumerate(phases)]
    total_col = 2 + len(cols)
    headers = [("Khoản mục / Item", 62)] + [(_phase_label(p), 20) for _c, p, _s, _n in cols] + [("Tổng / Total", 22)]
    _header(ws, head, headers)
    year_row = head + 1
    _put(ws, year_row, 1, "Năm / Year")
    for c, p, _s, _n in cols:
        _put(ws, year_row, c, int(p) if p.isdigit() else int(rates["price_base_year"]), "0")
    first = year_row + 1
    row_of = {key: first + k for k, (key, _vi, _en) in enumerate(ESTIMATE_LINES)}
    B = {key: f"$B${r}" for key, r in rate_row.items()}

    def sumif(sheet: str, n: int, category: str) -> str:
        rng = f"{_ref(sheet)}!$I${_FIRST_ROW}:$I${_FIRST_ROW + n - 1}"
        amounts = f"{_ref(sheet)}!$H${_FIRST_ROW}:$H${_FIRST_ROW + n - 1}"
        return f'SUMIF({rng},"{category}",{amounts})'

    for key, vi, en in ESTIMATE_LINES:
        r = row_of[key]
        _put(ws, r, 1, f"{vi} / {en}")
        for c, p, sheet, n in cols:
            L = get_column_letter(c)
            rr = {k: f"{L}{v}" for k, v in row_of.items()}
            base = f"({rr['construction']}+{rr['equipment']})"
            formula = {
                "construction": "=" + "+".join(sumif(sheet, n, cat) for cat in ("civil", "duct", "removal")),
                "equipment": "=" + sumif(sheet, n, "cable"),
                "project_management": f"=ROUND({base}*{B['estimate_pm_share']},0)",
                "consultancy": f"=ROUND({base}*{B['estimate_consultancy_share']},0)",
                "other": f"=ROUND({base}*{B['estimate_other_share']},0)",
                "vat": f"=ROUND(SUM({rr['construction']}:{rr['other']})*{B['vat_share']},0)",
                "contingency_quantities": f"=ROUND(SUM({rr['construction']}:{rr['vat']})*{B['contingency_share']},0)",
                "contingency_escalation": f"=ROUND(SUM({rr['construction']}:{rr['contingency_quantities']})*"
                f"((1+{B['escalation_rate']})^({L}{year_row}-{B['price_base_year']})-1),0)",
                "total": f"=SUM({rr['construction']}:{rr['contingency_escalation']})",
            }[key]
            _put_formula(ws, r, c, formula, value=est[key][p])
        last = get_column_letter(total_col - 1)
        _put_formula(ws, r, total_col, f"=SUM(B{r}:{last}{r})", value=est[key]["total"])
    for c in range(1, total_col + 1):
        ws.cell(row=row_of["total"], column=c).font = _BOLD
    _grid(ws, head, row_of["total"], total_col)
    # who pays
    r = row_of["total"] + 2
    _put(ws, r, 1, "Bên chi trả / Who pays")
    ws.cell(row=r, column=1).font = _BOLD
    payer = kpis.get("payer_vnd", {})
    prov = r + 1
    _put(ws, prov, 1, "Tỉnh: mạng cống bể (xây dựng, ống) / Province: the duct network (civil works, ducts)")
    for c, p, sheet, n in cols:
        L = get_column_letter(c)
        share = f"({sumif(sheet, n, 'civil')}+{sumif(sheet, n, 'duct')})"
        rr = {k: f"{L}{v}" for k, v in row_of.items()}
        value = kpis.get("province_by_phase_vnd", {}).get(p)
        _put_formula(
            ws,
            prov,
            c,
            f"=IF(({rr['construction']}+{rr['equipment']})=0,0,"
            f"ROUND({rr['total']}*{share}/({rr['construction']}+{rr['equipment']}),0))",
            value=value,
        )
    last = get_column_letter(total_col - 1)
    _put_formula(ws, prov, total_col, f"=SUM(B{prov}:{last}{prov})", value=payer.get("province"))
    ops_row = prov + 1
    tot = f"{get_column_letter(total_col)}{row_of['total']}"
    prov_tot = f"{get_column_letter(total_col)}{prov}"
    ops_value = est["total"]["total"] - int(payer.get("province", 0))
    _put(ws, ops_row, 1, "Các doanh nghiệp: cáp, thu hồi / Operators: cable work and removals")
    _put_formula(ws, ops_row, total_col, f"={tot}-{prov_tot}", value=ops_value)
    _put(ws, ops_row + 1, 1, "Doanh nghiệp / Operator")
    _put(ws, ops_row + 1, 2, "Tỷ lệ / Share")
    _put(ws, ops_row + 1, 3, "Chi trả (VND) / Pays (VND)")
    _put(ws, ops_row + 1, 4, "Cáp trong ống (m) / Cable in ducts (m)")
    _put(ws, ops_row + 1, 5, "Thuê ống mỗi năm (VND) / Duct rent a year (VND)")
    for c in range(1, 6):
        ws.cell(row=ops_row + 1, column=c).font = _BOLD
    shares = kpis.get("payer_shares", {})
    metres = kpis.get("operator_duct_m", {})
    by_class = kpis.get("operator_duct_m_by_class", {})
    rent = kpis.get("duct_rent_vnd_per_year", {})
    yearly = kpis.get("duct_rent_vnd_per_m_year_by_class", {})
    ops = sorted(set(shares) | set(metres))
    ops_cell = f"${get_column_letter(total_col)}${ops_row}"
    # duct rent by cable diameter class, below the operators: yearly rate per class, then each operator's metres
    rent_head = ops_row + 2 + len(ops) + 1
    rate_row_y = rent_head + 2
    n = len(_RENT_KEYS)
    last_col = get_column_letter(1 + n)
    for k, op in enumerate(ops):
        orow = ops_row + 2 + k
        _put(ws, orow, 1, op)
        _put(ws, orow, 2, float(shares.get(op, 0.0)), "0.0000%")
        _put_formula(ws, orow, 3, f"=ROUND({ops_cell}*B{orow},0)", value=payer.get(op, 0))
        rrow = rate_row_y + 1 + k
        _put_formula(ws, orow, 4, f"=SUM(B{rrow}:{last_col}{rrow})", value=float(metres.get(op, 0.0)))
        ws.cell(row=orow, column=4).number_format = "#,##0.0"
        _put_formula(ws, orow, 5, f"={get_column_letter(2 + n)}{rrow}", value=rent.get(op, 0))
    _put(ws, rent_head, 1, "Thuê ống mỗi năm theo đường kính cáp / Yearly duct rent by cable diameter")
    ws.cell(row=rent_head, column=1).font = _BOLD
    _put(ws, rent_head + 1, 1, "Doanh nghiệp / Operator; cáp trong ống (m) / cable in ducts (m)")
    for j, label in enumerate(_RENT_HEADERS):
        _put(ws, rent_head + 1, 2 + j, label)
    _put(ws, rent_head + 1, 2 + n, "Thuê ống mỗi năm (VND) / Duct rent a year (VND)")
    for c in range(1, 3 + n):
        ws.cell(row=rent_head + 1, column=c).font = _BOLD
    _put(ws, rate_row_y, 1, "Giá thuê mỗi năm (VND/m) / Yearly rent (VND per m)")
    ceiling = B["duct_rent_ceiling_vnd_per_m_year"]
    for j, key in enumerate(_RENT_KEYS):
        _put_formula(
            ws,
            rate_row_y,
            2 + j,
            f"=IF({ceiling}>0,MIN(12*{B[key]},{ceiling}),12*{B[key]})",
            value=yearly.get(key, 0.0),
        )
        ws.cell(row=rate_row_y, column=2 + j).number_format = "#,##0"
    rates_range = f"$B${rate_row_y}:${last_col}${rate_row_y}"
    for k, op in enumerate(ops):
        rrow = rate_row_y + 1 + k
        _put(ws, rrow, 1, op)
        for j, key in enumerate(_RENT_KEYS):
            _put(ws, rrow, 2 + j, float(by_class.get(op, {}).get(key, 0.0)), "#,##0.0")
        _put_formula(
            ws, rrow, 2 + n, f"=ROUND(SUMPRODUCT(B{rrow}:{last_col}{rrow},{rates_range}),0)", value=rent.get(op, 0)
        )
    _print_setup(ws, landscape=True, title_rows=f"{head}:{head}")


def _set_properties(workbook: Workbook, title: str, timestamp: datetime) -> None:
    workbook.properties.creator = "gisplan"
    workbook.properties.lastModifiedBy = "gisplan"
    workbook.properties.title = title or None
    workbook.properties.created = timestamp
    workbook.properties.modified = timestamp


_SUMMARY_B_WIDTH = 26
#: Order of the cost categories on the summary: works first, contingency ("dự phòng") last, as in an estimate.
_CATEGORY_ORDER = ("civil", "duct", "cable", "removal", "radio", "power", "backhaul")


def _category_key(category: str) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    if category == "contingency":
        return (len(_CATEGORY_ORDER) + 1, ())
    rank = _CATEGORY_ORDER.index(category) if category in _CATEGORY_ORDER else len(_CATEGORY_ORDER)
    return (rank, natural_key(category))


def _phase_label(phase: str) -> str:
    """``Giai đoạn 2027 / Phase 2027`` for a phase named by a number or years; a named phase as it is."""
    if not phase:
        return "không rõ / none"
    return f"Giai đoạn {phase} / Phase {phase}" if re.fullmatch(r"[\d\s./-]+", phase) else phase


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
    place_totals: list[tuple[str, str, int, int]] = []
    for district, commune in places:
        label = " - ".join(x for x in (district, commune) if x) or "Không rõ xã - No commune"
        ws = workbook.create_sheet(sheet_name(label, used))
        part = rows[(rows["district"] == district) & (rows["commune"] == commune)]
        total = _line_sheet(ws, f"Huyện / District {district or '-'}, Xã / Commune {commune or '-'}", part)
        place_totals.append((label, ws.title, total, int(part["amount_vnd"].sum())))

    _prices_sheet(workbook.create_sheet(PRICES_SHEET), rows)
    if "estimate_vnd" in kpis and "estimate_rates" in kpis:
        _estimate_sheet(workbook.create_sheet(sheet_name(ESTIMATE_SHEET, used)), kpis, phase_totals)

    _put(summary, 1, 1, title or "Bảng tổng hợp khối lượng và kinh phí - Bill of quantities summary")
    summary.cell(row=1, column=1).font = Font(bold=True, size=14)
    _put(summary, 2, 1, "Loại kế hoạch / Plan kind")
    _put(summary, 2, 2, plan_kind)
    _put(summary, 3, 1, "Tiền tệ / Currency")
    _put(summary, 3, 2, "VND")
    summary.column_dimensions["A"].width = 66
    summary.column_dimensions["B"].width = _SUMMARY_B_WIDTH
    _print_setup(summary, landscape=False, title_rows=None)
    amount = rows.assign(phase=rows["phase"].astype(str))
    by_phase = [
        (_phase_label(p), f"={_ref(sheet)}!H{total}", int(amount.loc[amount["phase"] == str(p), "amount_vnd"].sum()))
        for p, sheet, total, _ in phase_totals
    ]
    row, grand = _summary_block(summary, 5, "Theo giai đoạn / By phase", by_phase)
    _put(summary, row - 1, 1, "TỔNG CỘNG / GRAND TOTAL")
    _put_formula(summary, row - 1, 2, f"=B{grand}", value=int(rows["amount_vnd"].sum()))
    summary.cell(row=row - 1, column=1).font = _BOLD
    summary.cell(row=row - 1, column=2).font = _BOLD
    row += 1
    by_category = []
    for category in sorted(rows["category"].unique(), key=_category_key):
        terms = [
            f'SUMIF({_ref(sheet)}!$I${_FIRST_ROW}:$I${_FIRST_ROW + n - 1},"{category.replace(chr(34), chr(34) * 2)}",'
            f"{_ref(sheet)}!$H${_FIRST_ROW}:$H${_FIRST_ROW + n - 1})"
            for _, sheet, _, n in phase_totals
        ]
        value = int(rows.loc[rows["category"] == category, "amount_vnd"].sum())
        by_category.append((category_label(category) if category else "không rõ / none", "=" + "+".join(terms), value))
    row, _ = _summary_block(summary, row, "Theo hạng mục / By category", by_category)
    by_place = [(label, f"={_ref(sheet)}!H{total}", value) for label, sheet, total, value in place_totals]
    row, _ = _summary_block(summary, row, "Theo huyện - xã / By district - commune", by_place)
    _put(summary, row, 1, "Chỉ tiêu / KPI")
    _put(summary, row, 2, "Giá trị / Value")
    for column in (1, 2):
        summary.cell(row=row, column=column).font = _BOLD
        summary.cell(row=row, column=column).fill = _HEADER_FILL
    for offset, (key, value) in enumerate(kpis.items(), start=1):
        _put(summary, row + offset, 1, kpi_label(str(key)))
        cell_value = _kpi_cell(value)
        _put(summary, row + offset, 2, cell_value, _kpi_format(str(key), cell_value))
        if isinstance(cell_value, str) and len(cell_value) > _SUMMARY_B_WIDTH:
            # neither Excel nor LibreOffice grows a row for wrapped text on opening: give it its lines' height
            summary.cell(row=row + offset, column=2).alignment = Alignment(wrap_text=True, vertical="top")
            summary.cell(row=row + offset, column=1).alignment = Alignment(vertical="top")
            lines = math.ceil(len(cell_value) / (_SUMMARY_B_WIDTH - 2))
            summary.row_dimensions[row + offset].height = 15 * lines

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
        _print_setup(ws, landscape=True, title_rows=f"{_HEADER_ROW}:{_HEADER_ROW}")
        formats = [column_format(c) for c in columns]
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
    data = _with_cached_values(buffer.getvalue(), workbook)
    return atomic_write_bytes(path, _deterministic_zip(data, timestamp))


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*/>', re.S)


def _with_cached_values(data: bytes, workbook: Workbook) -> bytes:
    """The saved workbook with each formula's computed value written as its cached value (``<v>``).

    openpyxl writes formulas with an empty cached value, so a reader that does not recalculate (pandas,
    openpyxl with ``data_only=True``, viewers) sees empty cells.  The values were computed when the formulas were
    written (:func:`_put_formula`); the workbook still asks Excel and LibreOffice to recalculate on load.
    """
    per_sheet = {
        f"xl/worksheets/sheet{i}.xml": getattr(ws, "_gisplan_values", {}) for i, ws in enumerate(workbook.worksheets, 1)
    }
    if not any(per_sheet.values()):
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            cached = per_sheet.get(info.filename)
            if cached:

                def fill(m: re.Match[bytes], cached: dict[str, Any] = cached) -> bytes:
                    value = cached.get(m.group(1).decode())
                    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                        return m.group(0)
                    text = repr(int(value)) if float(value).is_integer() else repr(float(value))
                    return b'<c r="%s"%s><f>%s</f><v>%s</v>' % (m.group(1), m.group(2), m.group(3), text.encode())

                content = _FORMULA_CELL.sub(fill, content)
            target.writestr(info, content)
    return out.getvalue()
