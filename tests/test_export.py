"""Tests of gisplan.outputs.export and gisplan._atomic: BOQ CSV/XLSX, plan GeoPackage, manifest, atomic writes."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from gisplan._atomic import atomic_dir, atomic_path, atomic_write_bytes, atomic_write_text
from gisplan._errors import CRSError, PlanningError
from gisplan.outputs._qgis_styles import style_qml
from gisplan.outputs.export import (
    PRICES_SHEET,
    SUMMARY_SHEET,
    boq_to_csv,
    boq_to_xlsx,
    check_boq,
    compare_to_xlsx,
    export_plan,
    plan_to_gpkg,
    sheet_name,
    write_manifest,
)
from gisplan.plan import BOQ_COLUMNS, Plan, category_label, empty_boq, kpi_label

CRS = "EPSG:32648"


def _boq() -> pd.DataFrame:
    rows = [
        (
            "T01",
            "Đào rãnh vỉa hè nhựa",
            "Trench, asphalt",
            "m",
            120.5,
            850_000,
            "trench",
            "2027",
            "Phú Quốc",
            "Dương Tơ",
        ),
        (
            "T01",
            "Đào rãnh vỉa hè nhựa",
            "Trench, asphalt",
            "m",
            80.25,
            850_000,
            "trench",
            "2028",
            "Phú Quốc",
            "Cửa Dương",
        ),
        ("M01", "Hố ga", "Manhole", "cái", 3.0, 12_000_000, "manhole", "2027", "Phú Quốc", "Dương Tơ"),
        ("C01", "Kéo cáp quang", "Fibre cable pull", "m", 1000.333, 15_000, "cable", "2028", "Phú Quốc", "Dương Tơ"),
        ("P01", "Tháo dỡ cột", "Pole removal", "cột", 7.0, 1_250_000, "poles", "2028", "Phú Quốc", "Cửa Dương"),
    ]
    columns = [c for c in BOQ_COLUMNS if c != "amount_vnd"]
    boq = pd.DataFrame(rows, columns=columns)
    boq["amount_vnd"] = (boq["quantity"] * boq["unit_price_vnd"]).round().astype("int64")
    return boq[list(BOQ_COLUMNS)]


def _plan(boq: pd.DataFrame | None = None) -> Plan:
    trenches = gpd.GeoDataFrame(
        {"trench_id": [1, 2, 3], "phase": ["2027", "2028", "2027"], "length_m": [10.0, 20.0, 14.142]},
        geometry=[
            LineString([(386000.0, 1130000.0), (386010.0, 1130000.0)]),
            LineString([(386010.0, 1130000.0), (386010.0, 1130020.0)]),
            LineString([(386010.0, 1130020.0), (386020.123, 1130030.456)]),
        ],
        crs=CRS,
    )
    manholes = gpd.GeoDataFrame(
        {"manhole_id": [1, 2]}, geometry=[Point(386000, 1130000), Point(386010, 1130020)], crs=CRS
    )
    footprints = gpd.GeoDataFrame(
        {"site_id": ["S1"]}, geometry=[Polygon([(0, 0), (100, 0), (100, 100)]).buffer(0)], crs=CRS
    )
    poles_removed = gpd.GeoDataFrame({"pole_id": pd.Series(dtype="str")}, geometry=gpd.GeoSeries([], crs=CRS))
    return Plan(
        kind="underground",
        layers={"trenches": trenches, "manholes": manholes, "poles_removed": poles_removed, "footprints": footprints},
        boq=_boq() if boq is None else boq,
        kpis={"trench_m": 200.75, "poles_removed": 7, "note": "thử nghiệm"},
    )


# --- a tiny evaluator for the formulas boq_to_xlsx writes -------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>"(?:[^"]|"")*")
  | (?P<func>[A-Z]+)\(
  | (?P<ref>(?:'(?:[^']|'')+'!|[A-Za-z0-9_]+!)?\$?[A-Z]{1,3}\$?\d*(?::\$?[A-Z]{1,3}\$?\d*)?)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<op>[-+*/(),])
)""",
    re.VERBOSE,
)


class _Range:
    def __init__(self, book: Evaluator, sheet: str, text: str) -> None:
        self.book, self.sheet = book, sheet
        parts = text.replace("$", "").split(":")
        (c1, r1), (c2, r2) = (self._split(parts[0]), self._split(parts[-1]))
        max_row = book.wb[sheet].max_row
        self.c1, self.c2 = c1, c2
        self.r1, self.r2 = (r1 or 1), (r2 or max_row)

    @staticmethod
    def _split(cell: str) -> tuple[int, int | None]:
        m = re.fullmatch(r"([A-Z]+)(\d*)", cell)
        assert m, cell
        return openpyxl.utils.column_index_from_string(m.group(1)), int(m.group(2)) if m.group(2) else None

    def cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.r1, self.r2 + 1) for c in range(self.c1, self.c2 + 1)]

    def values(self) -> list[Any]:
        return [self.book.value(self.sheet, r, c) for r, c in self.cells()]

    def scalar(self) -> Any:
        assert (self.r1, self.c1) == (self.r2, self.c2), "a range used as a single value"
        return self.book.value(self.sheet, self.r1, self.c1)


class Evaluator:
    """Evaluates the formulas of our own workbook: + - * /, SUM, SUMIF, ROUND, INDEX, MATCH, cell references."""

    def __init__(self, wb: openpyxl.Workbook) -> None:
        self.wb = wb
        self.memo: dict[tuple[str, int, int], Any] = {}

    def value(self, sheet: str, row: int, column: int) -> Any:
        key = (sheet, row, column)
        if key not in self.memo:
            cell = self.wb[sheet].cell(row=row, column=column)
            raw = cell.value
            if cell.data_type == "f":
                self.memo[key] = self.formula(sheet, str(raw))
            else:
                self.memo[key] = raw
        return self.memo[key]

    def cell(self, sheet: str, coordinate: str) -> Any:
        col, row = _Range._split(coordinate)
        assert row is not None
        return self.value(sheet, row, col)

    def formula(self, sheet: str, text: str) -> Any:
        assert text.startswith("="), text
        saved = (getattr(self, "tokens", None), getattr(self, "pos", 0), getattr(self, "sheet", None))
        self.tokens = self._tokenize(text[1:])  # re-entrant: a nested formula restores the outer parse state
        self.pos, self.sheet = 0, sheet
        result = self._scalar(self._expr())
        assert self.pos == len(self.tokens), f"trailing tokens in {text}"
        self.tokens, self.pos, self.sheet = saved  # type: ignore[assignment]
        return result

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text.rstrip()):
            m = _TOKEN.match(text, pos)
            assert m and m.end() > pos, f"cannot parse {text[pos:]!r}"
            kind = m.lastgroup
            assert kind is not None
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        assert value is None or token[1] == value, (token, value)
        self.pos += 1
        return token

    def _scalar(self, value: Any) -> Any:
        value = value.scalar() if isinstance(value, _Range) else value
        return 0 if value is None else value

    def _expr(self) -> Any:
        left = self._term()
        while self._peek() in (("op", "+"), ("op", "-")):
            op = self._take()[1]
            right = self._scalar(self._term())
            left = self._scalar(left) + right if op == "+" else self._scalar(left) - right
        return left

    def _term(self) -> Any:
        left = self._factor()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self._take()[1]
            right = self._scalar(self._factor())
            left = self._scalar(left) * right if op == "*" else self._scalar(left) / right
        return left

    def _factor(self) -> Any:
        kind, text = self._take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            if "!" in text:
                sheet, ref = text.rsplit("!", 1)
                sheet = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
            else:
                sheet, ref = self.sheet, text
            return _Range(self, sheet, ref)
        if kind == "op" and text == "(":
            value = self._expr()
            self._take(")")
            return value
        if kind == "op" and text == "-":
            return -self._scalar(self._factor())
        assert kind == "func", (kind, text)
        args = []
        while self._peek() != ("op", ")"):
            args.append(self._expr())
            if self._peek() == ("op", ","):
                self._take(",")
        self._take(")")
        return self._call(text, args)

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "SUM":
            return sum(sum(v or 0 for v in a.values()) if isinstance(a, _Range) else self._scalar(a) for a in args)
        if name == "ROUND":
            x, digits = self._scalar(args[0]), int(self._scalar(args[1]))
            scaled = abs(x) * 10**digits
            return math.copysign(math.floor(scaled + 0.5), x) / 10**digits  # Excel: half away from zero
        if name == "MATCH":
            wanted, where = self._scalar(args[0]), args[1]
            assert self._scalar(args[2]) == 0, "only exact MATCH is used"
            for i, v in enumerate(where.values(), start=1):
                if v == wanted:
                    return i
            raise AssertionError(f"MATCH did not find {wanted!r}")
        if name == "INDEX":
            rng, i = args[0], int(self._scalar(args[1]))
            return self.value(rng.sheet, rng.r1 + i - 1, rng.c1)
        if name == "SUMIF":
            crit, wanted, total = args[0].values(), self._scalar(args[1]), args[2].values()
            return sum(t or 0 for c, t in zip(crit, total, strict=True) if c == wanted)
        raise AssertionError(f"unexpected function {name}")


def _amount_cells(ws: Any) -> list[Any]:
    """The amount cells (column H) of the BOQ lines of a line sheet."""
    cells = []
    for row in range(4, ws.max_row + 1):
        if ws.cell(row=row, column=2).value not in (None, ""):
            cells.append(ws.cell(row=row, column=8))
    return cells


def _grand_total(ev: Evaluator, ws: Any) -> Any:
    for row in range(1, ws.max_row + 1):
        if ws.cell(row=row, column=1).value == "TỔNG CỘNG / GRAND TOTAL":
            return ev.value(ws.title, row, 2)
    raise AssertionError("no grand total row on the summary")


# --- CSV -----------------------------------------------------------------------------------------------------------


def test_csv_is_deterministic_sorted_and_excel_ready(tmp_path: Path) -> None:
    boq = _boq()
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    boq_to_csv(boq, first)
    boq_to_csv(boq.sample(frac=1.0, random_state=7), second)  # input order does not matter
    assert first.read_bytes() == second.read_bytes()
    raw = first.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so that Excel reads Vietnamese correctly
    back = pd.read_csv(first, encoding="utf-8-sig", dtype={"phase": str})
    assert list(back.columns) == list(BOQ_COLUMNS)
    assert list(zip(back["phase"], back["commune"], back["item_code"], strict=True)) == [
        ("2027", "Dương Tơ", "M01"),
        ("2027", "Dương Tơ", "T01"),
        ("2028", "Cửa Dương", "P01"),
        ("2028", "Cửa Dương", "T01"),
        ("2028", "Dương Tơ", "C01"),
    ]
    assert int(back["amount_vnd"].sum()) == int(boq["amount_vnd"].sum())
    text = raw.decode("utf-8-sig")
    assert "1000.333,15000,15004995," in text
    assert "\r" not in text and "Total" not in text


def test_csv_of_empty_boq_has_header_only(tmp_path: Path) -> None:
    path = boq_to_csv(empty_boq(), tmp_path / "boq.csv")
    assert path.read_text(encoding="utf-8-sig") == ",".join(BOQ_COLUMNS) + "\n"


# --- XLSX ----------------------------------------------------------------------------------------------------------


def test_xlsx_amounts_are_formulas_over_the_unit_price_sheet(tmp_path: Path) -> None:
    boq = _boq()
    path = boq_to_xlsx(boq, tmp_path / "boq.xlsx", title="Ngầm hóa Phú Quốc", kpis={"trench_m": 200.75})
    wb = openpyxl.load_workbook(path, data_only=False)
    assert wb.sheetnames[0] == SUMMARY_SHEET and wb.sheetnames[-1] == PRICES_SHEET
    assert "Giai đoạn 2027 - Phase 2027" in wb.sheetnames and "Giai đoạn 2028 - Phase 2028" in wb.sheetnames
    assert "Phú Quốc - Dương Tơ" in wb.sheetnames and "Phú Quốc - Cửa Dương" in wb.sheetnames
    ev = Evaluator(wb)
    prices = f"'{PRICES_SHEET}'!"
    line_sheets = [n for n in wb.sheetnames if n not in (SUMMARY_SHEET, PRICES_SHEET)]
    n_lines = 0
    for name in line_sheets:
        ws = wb[name]
        assert ws.cell(row=3, column=6).value == "Khối lượng / Quantity"
        for cell in _amount_cells(ws):
            n_lines += 1
            assert cell.data_type == "f", f"{name}!{cell.coordinate} is not a formula"
            formula = str(cell.value)
            assert formula.startswith(f"=ROUND($F{cell.row}*INDEX({prices}$E:$E,MATCH($B{cell.row},{prices}")
            code, quantity = ws.cell(row=cell.row, column=2).value, ws.cell(row=cell.row, column=6).value
            phase, commune = ws.cell(row=cell.row, column=10).value, ws.cell(row=cell.row, column=12).value
            expected = boq[(boq.item_code == code) & (boq.phase == phase) & (boq.commune == commune)]
            assert len(expected) == 1 and quantity == expected["quantity"].iloc[0]
            assert ev.value(name, cell.row, 8) == expected["amount_vnd"].iloc[0]
            assert cell.number_format == '#,##0" đ"'
    assert n_lines == 2 * len(boq)  # every line once by phase, once by commune
    assert _grand_total(ev, wb[SUMMARY_SHEET]) == boq["amount_vnd"].sum()
    # Every phase, category and commune total on the summary matches the BOQ.
    summary = wb[SUMMARY_SHEET]
    labels = {summary.cell(row=r, column=1).value: r for r in range(1, summary.max_row + 1)}
    for phase, amount in boq.groupby("phase")["amount_vnd"].sum().items():
        assert ev.value(SUMMARY_SHEET, labels[f"Giai đoạn {phase} / Phase {phase}"], 2) == amount
    for category, amount in boq.groupby("category")["amount_vnd"].sum().items():
        assert ev.value(SUMMARY_SHEET, labels[category_label(category)], 2) == amount
    assert (
        ev.value(SUMMARY_SHEET, labels["Phú Quốc - Cửa Dương"], 2)
        == boq.loc[boq.commune == "Cửa Dương", "amount_vnd"].sum()
    )
    assert ev.value(SUMMARY_SHEET, labels["trench_m"], 2) == 200.75


def test_xlsx_cells_are_numbers_shown_in_vnd_and_lengths_with_their_decimals(tmp_path: Path) -> None:
    """Amounts stay numbers or formulas; their format writes whole đồng, grouped, with đ (the reader's office
    supplies the separators: 6.788.298.916 đ in Vietnamese); quantities have the decimals of their unit."""
    boq = _boq()
    path = boq_to_xlsx(boq, tmp_path / "boq.xlsx", title="t", kpis={"trench_m": 200.75, "people": 53_981})
    wb = openpyxl.load_workbook(path, data_only=False)
    vnd = '#,##0" đ"'
    ws = wb["Giai đoạn 2027 - Phase 2027"]
    rows = {ws.cell(row=r, column=2).value: r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=2).value}
    for code, r in rows.items():
        price, amount, quantity = (ws.cell(row=r, column=c) for c in (7, 8, 6))
        assert price.data_type == amount.data_type == "f" and amount.number_format == price.number_format == vnd
        assert isinstance(quantity.value, float | int)
        assert quantity.number_format == {"T01": "#,##0.0", "M01": "#,##0"}[code]  # metres: 0.1 m; a count: none
    total = next(ws.cell(row=r, column=8) for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=3).value
                 == "Tổng cộng / Total")  # fmt: skip
    assert str(total.value).startswith("=SUM(") and total.number_format == vnd
    prices = wb[PRICES_SHEET]
    assert {prices.cell(row=r, column=5).number_format for r in range(4, prices.max_row + 1)} == {vnd}
    summary = wb[SUMMARY_SHEET]
    cells = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2) for r in range(1, summary.max_row + 1)}
    grand = cells["TỔNG CỘNG / GRAND TOTAL"]
    assert grand.data_type == "f" and grand.number_format == vnd
    assert cells[kpi_label("trench_m")].number_format == "#,##0.0" and cells[kpi_label("trench_m")].value == 200.75
    assert cells[kpi_label("people")].number_format == "#,##0"  # a count: no đ
    diff = compare_to_xlsx({"boq": pd.DataFrame({"item_code": ["T01"], "delta_vnd": [-1_500_000],
                                                 "length_m": [12.25]})}, tmp_path / "c.xlsx")  # fmt: skip
    sheet = openpyxl.load_workbook(diff).worksheets[0]
    assert sheet.cell(row=4, column=2).value == -1_500_000 and sheet.cell(row=4, column=2).number_format == vnd
    assert sheet.cell(row=4, column=3).number_format == "#,##0.0"


def test_xlsx_prints_like_an_estimate(tmp_path: Path) -> None:
    """A4, all columns on one page width, the header row on every page, page numbers; readable KPIs;
    categories in the order of an estimate with contingency ("dự phòng") last."""
    boq = pd.concat(
        [
            _boq(),
            pd.DataFrame(
                [("CONT", "Dự phòng", "Contingency", "%", 10.0, 10, 100, "contingency", "2027", "Phú Quốc", "")],
                columns=list(BOQ_COLUMNS),
            ),
            pd.DataFrame(
                [("D01", "Ống HDPE", "Duct", "m", 2.0, 50, 100, "duct", "2027", "Phú Quốc", "")],
                columns=list(BOQ_COLUMNS),
            ),
        ],
        ignore_index=True,
    )
    boq["category"] = boq["category"].replace({"trench": "civil"})
    kpis = {"phase_totals_vnd": {"2027": 1_234_567, "2028": 7}, "first_year": 2027, "people": 29428, "los": False}
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, tmp_path / "boq.xlsx", kpis=kpis), data_only=False)
    for ws in wb:
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0  # as many pages down as needed
        assert "&P" in ws.oddFooter.right.text
        if ws.title != SUMMARY_SHEET:
            assert ws.page_setup.orientation == "landscape"
            assert ws.print_title_rows.replace("$", "") == "3:3" and ws.freeze_panes in ("C4", "B4")
            assert ws.row_dimensions[3].height >= 30  # two-line bilingual headers are not cut
            assert ws.cell(row=4, column=1).border.left.style == "thin"
    summary = wb[SUMMARY_SHEET]
    labels = [summary.cell(row=r, column=1).value for r in range(1, summary.max_row + 1)]
    values = {labels[r - 1]: summary.cell(row=r, column=2) for r in range(1, summary.max_row + 1)}
    start = labels.index("Theo hạng mục / By category") + 1
    categories = labels[start : labels.index("Tổng cộng / Total", start)]
    assert categories[:2] == [category_label("civil"), category_label("duct")]
    assert categories[-1] == category_label("contingency")
    assert values[kpi_label("phase_totals_vnd")].value == "2027: 1,234,567; 2028: 7"
    first_year = values[kpi_label("first_year")]
    assert first_year.value == 2027 and first_year.number_format == "General"
    assert values["people"].number_format == "#,##0" and values["los"].value == "không / no"


def test_xlsx_totals_follow_a_changed_unit_price(tmp_path: Path) -> None:
    boq = _boq()
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, tmp_path / "boq.xlsx"), data_only=False)
    prices = wb[PRICES_SHEET]
    row = next(r for r in range(4, prices.max_row + 1) if prices.cell(row=r, column=1).value == "T01")
    assert prices.cell(row=row, column=5).value == 850_000
    prices.cell(row=row, column=5).value = 900_000
    trench_q = boq.loc[boq.item_code == "T01", "quantity"]
    expected = boq["amount_vnd"].sum() + sum(round(q * 50_000) for q in trench_q)
    assert _grand_total(Evaluator(wb), wb[SUMMARY_SHEET]) == expected


def test_xlsx_bytes_are_identical_between_runs(tmp_path: Path) -> None:
    boq = _boq()
    a = boq_to_xlsx(boq, tmp_path / "a.xlsx", title="T", kpis={"k": 1}, plan_kind="underground")
    b = boq_to_xlsx(boq.iloc[::-1], tmp_path / "b.xlsx", title="T", kpis={"k": 1}, plan_kind="underground")
    assert a.read_bytes() == b.read_bytes()
    wb = openpyxl.load_workbook(a)
    assert wb.properties.created.year == 2000 and wb.properties.modified.year == 2000


def test_xlsx_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    boq = _boq()
    boq.loc[0, "description_vi"] = '=HYPERLINK("http://x")'
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, tmp_path / "boq.xlsx"))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value == boq.loc[0, "description_vi"]]
    assert cells and all(c.data_type == "s" for c in cells)


def test_sheet_names_are_valid_and_unique() -> None:
    used: set[str] = set()
    long_name = "Giai đoạn 2027-2030 [ưu tiên]: khu du lịch/Bãi Trường - Phase"
    names = [sheet_name(long_name, used) for _ in range(3)]
    assert len({n.casefold() for n in names}) == 3
    for name in names:
        assert len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name)
    assert sheet_name("'quoted'", used) == "quoted"


def test_xlsx_of_long_phase_and_missing_commune(tmp_path: Path) -> None:
    boq = _boq()
    boq["phase"] = boq["phase"].map({"2027": "Giai đoạn ưu tiên 2027-2028 (khu trung tâm)", "2028": "2029"})
    boq.loc[boq.commune == "Cửa Dương", ["district", "commune"]] = ""
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, tmp_path / "boq.xlsx"))
    assert all(len(n) <= 31 for n in wb.sheetnames)
    assert "Giai đoạn 2029 - Phase 2029" in wb.sheetnames and "Giai đoạn ưu tiên 2027-2028 (kh" in wb.sheetnames
    assert "Không rõ xã - No commune" in wb.sheetnames
    assert _grand_total(Evaluator(wb), wb[SUMMARY_SHEET]) == boq["amount_vnd"].sum()


def test_xlsx_of_empty_boq(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(boq_to_xlsx(empty_boq(), tmp_path / "boq.xlsx"))
    assert wb.sheetnames == [SUMMARY_SHEET, PRICES_SHEET]
    assert _grand_total(Evaluator(wb), wb[SUMMARY_SHEET]) == 0


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("contingency", [False, True], ids=["plain", "with-contingency"])
def test_libreoffice_recomputes_the_same_totals(tmp_path: Path, contingency: bool) -> None:
    boq = _boq()
    if contingency:  # percentage lines: their unit price is a formula over their group's lines
        from gisplan.catalog._catalog import load_catalog
        from gisplan.catalog.costing import add_contingency

        boq = add_contingency(boq, load_catalog(), share=0.1)
        assert (boq["unit"] == "%").sum() == 3
    boq_to_xlsx(boq, tmp_path / "boq.xlsx")
    out = tmp_path / "lo"
    env = {**os.environ, "HOME": str(tmp_path)}  # a private LibreOffice profile
    subprocess.run(
        ["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(out), str(tmp_path / "boq.xlsx")],
        check=True,
        capture_output=True,
        env=env,
        timeout=180,
    )
    wb = openpyxl.load_workbook(out / "boq.xlsx", data_only=True)  # values cached by LibreOffice
    summary = wb[SUMMARY_SHEET]
    row = next(
        r for r in range(1, summary.max_row + 1) if summary.cell(row=r, column=1).value == "TỔNG CỘNG / GRAND TOTAL"
    )
    assert summary.cell(row=row, column=2).value == boq["amount_vnd"].sum()
    for ws in wb:
        if ws.title not in (SUMMARY_SHEET, PRICES_SHEET):
            for cell in _amount_cells(ws):
                code, phase, commune = (ws.cell(row=cell.row, column=c).value for c in (2, 10, 12))
                match = boq[(boq.item_code == code) & (boq.phase == phase) & (boq.commune == commune)]
                assert cell.value == match["amount_vnd"].iloc[0]


_PRICES = {"T01": 850_000, "M01": 12_000_000, "C01": 15_001, "P01": 1_250_000}


@st.composite
def _random_boqs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=12))
    rows = []
    for _ in range(n):
        code = draw(st.sampled_from(sorted(_PRICES)))
        quantity = draw(st.integers(min_value=0, max_value=2_000_000)) / 1000
        price = _PRICES[code]
        amount = math.floor(quantity * price + 0.5)  # half away from zero, as Excel's ROUND
        phase = draw(st.sampled_from(["2027", "2028", "Giai đoạn 10"]))
        commune = draw(st.sampled_from(["Dương Tơ", "Cửa Dương", ""]))
        rows.append(
            (
                code,
                f"Hạng mục {code}",
                f"Item {code}",
                "m",
                quantity,
                price,
                amount,
                "c" + code[0],
                phase,
                "Phú Quốc",
                commune,
            )
        )
    return pd.DataFrame(rows, columns=list(BOQ_COLUMNS))


@settings(max_examples=15, deadline=None)
@given(boq=_random_boqs())
def test_xlsx_totals_equal_boq_sums_for_any_boq(tmp_path_factory: pytest.TempPathFactory, boq: pd.DataFrame) -> None:
    folder = tmp_path_factory.mktemp("h")
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, folder / "boq.xlsx"))
    ev = Evaluator(wb)
    assert _grand_total(ev, wb[SUMMARY_SHEET]) == boq["amount_vnd"].sum()
    back = pd.read_csv(boq_to_csv(boq, folder / "boq.csv"), encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert sorted(back["amount_vnd"].astype(int)) == sorted(boq["amount_vnd"])
    assert back["quantity"].astype(float).sum() == pytest.approx(boq["quantity"].sum(), abs=1e-6)


# --- BOQ validation ------------------------------------------------------------------------------------------------


def test_missing_boq_column_is_named() -> None:
    with pytest.raises(PlanningError, match="unit_price_vnd"):
        check_boq(_boq().drop(columns=["unit_price_vnd"]))


def test_conflicting_unit_prices_are_refused(tmp_path: Path) -> None:
    boq = _boq()
    boq.loc[1, "unit_price_vnd"] = 900_000
    boq.loc[1, "amount_vnd"] = round(boq.loc[1, "quantity"] * 900_000)
    with pytest.raises(PlanningError, match=r"T01: 850000, 900000"):
        boq_to_xlsx(boq, tmp_path / "boq.xlsx")
    assert not (tmp_path / "boq.xlsx").exists()


def test_amount_that_is_not_quantity_times_price_is_refused() -> None:
    boq = _boq()
    boq.loc[2, "amount_vnd"] += 1000
    with pytest.raises(PlanningError, match="M01"):
        check_boq(boq)


def test_fractional_money_and_missing_quantity_are_refused() -> None:
    boq = _boq()
    boq["unit_price_vnd"] = boq["unit_price_vnd"].astype("float64")
    boq.loc[0, "unit_price_vnd"] = 850_000.5
    with pytest.raises(PlanningError, match="unit_price_vnd"):
        check_boq(boq)
    boq = _boq()
    boq.loc[3, "quantity"] = float("nan")
    with pytest.raises(PlanningError, match=r"quantity.*C01"):
        check_boq(boq)


def test_check_boq_does_not_modify_its_argument() -> None:
    boq = _boq()
    before = boq.copy()
    check_boq(boq)
    pd.testing.assert_frame_equal(boq, before)


# --- GeoPackage ----------------------------------------------------------------------------------------------------


def test_gpkg_layers_boq_and_styles(tmp_path: Path) -> None:
    plan = _plan()
    path = plan_to_gpkg(plan, tmp_path / "plan.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert set(layers) == {"trenches", "manholes", "poles_removed", "footprints", "boq", "layer_styles"}
    assert layers["poles_removed"] == "Point" and layers["boq"] is None
    for name, original in plan.layers.items():
        back = gpd.read_file(path, layer=name)
        assert back.crs == original.crs
        assert len(back) == len(original)
        assert list(back.geometry.to_wkb()) == list(original.geometry.to_wkb())
    trenches = gpd.read_file(path, layer="trenches")
    assert list(trenches["phase"]) == ["2027", "2028", "2027"]
    boq = pyogrio.read_dataframe(path, layer="boq")
    assert int(boq["amount_vnd"].sum()) == plan.total_vnd
    with sqlite3.connect(path) as con:
        styles = con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault, f_table_schema FROM layer_styles"
        ).fetchall()
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    con.close()
    assert kinds["layer_styles"] == "attributes" and kinds["boq"] == "attributes"
    assert sorted(s[0] for s in styles) == sorted(plan.layers)
    for table, geom, qml, default, schema in styles:
        assert geom == "geom" and default == 1 and schema == ""
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2") is not None, table
    trench_qml = next(s[2] for s in styles if s[0] == "trenches")
    assert 'type="categorizedSymbol"' in trench_qml and 'attr="phase"' in trench_qml
    assert 'value="2027"' in trench_qml and 'value="2028"' in trench_qml
    assert 'value="cross2"' in next(s[2] for s in styles if s[0] == "poles_removed")


def test_gpkg_geometry_is_identical_between_runs(tmp_path: Path) -> None:
    a = plan_to_gpkg(_plan(), tmp_path / "a.gpkg")
    b = plan_to_gpkg(_plan(), tmp_path / "b.gpkg")
    for layer in ("trenches", "manholes", "footprints"):
        ga, gb = gpd.read_file(a, layer=layer), gpd.read_file(b, layer=layer)
        assert list(ga.geometry.to_wkb()) == list(gb.geometry.to_wkb())
        pd.testing.assert_frame_equal(
            pd.DataFrame(ga.drop(columns="geometry")), pd.DataFrame(gb.drop(columns="geometry"))
        )


def test_gpkg_reprojects_on_request(tmp_path: Path) -> None:
    path = plan_to_gpkg(_plan(), tmp_path / "plan.gpkg", crs="EPSG:4326")
    back = gpd.read_file(path, layer="manholes")
    assert back.crs.to_epsg() == 4326
    assert back.geometry.x.between(103.0, 104.0).all() and back.geometry.y.between(10.0, 10.5).all()


def test_gpkg_refuses_bad_layers(tmp_path: Path) -> None:
    plan = _plan()
    no_crs = Plan("wifi", {"sites": gpd.GeoDataFrame(geometry=[Point(0, 0)])}, plan.boq, {})
    with pytest.raises(CRSError, match="sites"):
        plan_to_gpkg(no_crs, tmp_path / "x.gpkg")
    reserved = Plan("wifi", {"boq": plan.layers["manholes"]}, plan.boq, {})
    with pytest.raises(PlanningError, match="reserved"):
        plan_to_gpkg(reserved, tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()
    assert list(tmp_path.iterdir()) == []


def test_style_of_backhaul_by_type() -> None:
    links = gpd.GeoDataFrame(
        {"type": ["fibre", "radio", "satellite"]}, geometry=[LineString([(0, 0), (1, 1)])] * 3, crs=CRS
    )
    qml = style_qml("backhaul", links)
    root = ET.fromstring(qml.split("\n", 1)[1])
    assert root.find("renderer-v2").get("attr") == "type"  # type: ignore[union-attr]
    assert [c.get("value") for c in root.iter("category")] == ["fibre", "radio", "satellite", ""]
    assert 'value="dot"' in qml and 'value="dash"' in qml
    assert style_qml("backhaul", links) == qml


_SYMBOL_CLASS = {"marker": "SimpleMarker", "line": "SimpleLine", "fill": "SimpleFill"}
_GEOMETRY_CODE = {"Point": "0", "LineString": "1", "Polygon": "2"}


def test_every_gpkg_style_is_valid_qml_over_existing_columns(tmp_path: Path) -> None:
    """The wifi planner's layers (links with a ``backhaul`` column, per-site options as points with ``option``)
    get a style by backhaul type; every style parses, its symbols suit the layer's geometry, and a
    categorized style's attribute is a column of the written layer."""
    line = LineString([(386000.0, 1130000.0), (386500.0, 1130400.0)])
    links = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3"], "backhaul": ["fibre", "radio", "satellite"], "cost_vnd": [1, 2, 3]},
        geometry=[line] * 3,
        crs=CRS,
    )
    options = gpd.GeoDataFrame(
        {"site_id": ["S1"] * 5, "option": ["fibre", "radio", "radio_long", "submarine", "satellite"]},
        geometry=[Point(386000.0, 1130000.0)] * 5,
        crs=CRS,
    )
    plan = _plan()
    plan = Plan("wifi", {**plan.layers, "backhaul_links": links, "backhaul_options": options}, plan.boq, {})
    path = plan_to_gpkg(plan, tmp_path / "plan.gpkg")
    with sqlite3.connect(path) as con:
        styles = con.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall()
    con.close()
    layer_types = dict(pyogrio.list_layers(path))
    for table, qml in styles:
        assert qml.startswith("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n")
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.tag == "qgis" and root.get("version", "").startswith("3.")
        assert root.findtext("layerGeometryType") == _GEOMETRY_CODE[layer_types[table]], table
        renderer = root.find("renderer-v2")
        assert renderer is not None, table
        symbols = {sym.get("name"): sym for sym in renderer.iter("symbol")}
        for sym in symbols.values():
            layers = sym.findall("layer")
            assert layers and all(lay.get("class") == _SYMBOL_CLASS[sym.get("type", "")] for lay in layers), table
            assert sym.get("type") == {"Point": "marker", "LineString": "line", "Polygon": "fill"}[layer_types[table]]
            for lay in layers:  # the Option map and the old prop pairs say the same
                options_map = {o.get("name"): o.get("value") for o in lay.findall("Option/Option")}
                assert options_map == {p.get("k"): p.get("v") for p in lay.findall("prop")}
        if renderer.get("type") == "categorizedSymbol":
            columns = pyogrio.read_info(path, layer=table)["fields"]
            assert renderer.get("attr") in columns, table
            assert {c.get("symbol") for c in renderer.iter("category")} == set(symbols), table
    qml = dict(styles)
    links_root = ET.fromstring(qml["backhaul_links"].split("\n", 1)[1])
    assert links_root.find("renderer-v2").get("attr") == "backhaul"  # type: ignore[union-attr]
    options_root = ET.fromstring(qml["backhaul_options"].split("\n", 1)[1])
    assert options_root.find("renderer-v2").get("attr") == "option"  # type: ignore[union-attr]
    assert 'value="radio_long"' in qml["backhaul_options"] and 'value="dash"' in qml["backhaul_links"]


# --- atomic writes -------------------------------------------------------------------------------------------------


def test_failed_writer_keeps_previous_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "boq.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError, match="midway"), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("writer failed midway")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["boq.csv"]
    atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["boq.csv"]


def test_failed_export_keeps_previous_xlsx(tmp_path: Path) -> None:
    target = tmp_path / "boq.xlsx"
    boq_to_xlsx(_boq(), target)
    before = target.read_bytes()
    bad = _boq().drop(columns=["unit"])
    with pytest.raises(PlanningError, match="unit"):
        boq_to_xlsx(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["boq.xlsx"]


def test_atomic_dir_new_folder_and_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="boom"), atomic_dir(out) as staging:
        (staging / "a.txt").write_text("a")
        raise ValueError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(out) as staging:
        (staging / "a.txt").write_text("a1")
    assert (out / "a.txt").read_text() == "a1"
    (out / "mine.txt").write_text("user file")
    with atomic_dir(out) as staging:
        (staging / "a.txt").write_text("a2")
    assert (out / "a.txt").read_text() == "a2" and (out / "mine.txt").read_text() == "user file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_makes_a_folder_others_can_read(tmp_path: Path) -> None:
    """The published folder has the mode of any new folder (umask), not the private 0700 of a temp folder."""
    import stat

    previous = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "out") as staging:
            (staging / "a.txt").write_text("a")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "a.txt").stat().st_mode) == 0o644


# --- manifest and the whole export ---------------------------------------------------------------------------------


def test_manifest_hashes_inputs(tmp_path: Path) -> None:
    layer = tmp_path / "roads.geojson"
    layer.write_bytes(b'{"type": "FeatureCollection", "features": []}')
    manifest = write_manifest(
        tmp_path / "manifest.json",
        scenario_text="name: demo\n",
        layer_files={"roads": layer},
        catalog_version="2025.1",
        timings={"plan": 1.23456},
    )
    back = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert back == manifest
    assert back["layers"]["roads"]["sha256"] == hashlib.sha256(layer.read_bytes()).hexdigest()
    assert back["scenario_sha256"] == hashlib.sha256(b"name: demo\n").hexdigest()
    assert set(back["packages"]) >= {"gisplan", "geopandas", "shapely", "networkx", "pyproj", "numpy", "scipy"}
    assert back["timings_s"] == {"plan": 1.235}
    with pytest.raises(FileNotFoundError, match="ducts"):
        write_manifest(
            tmp_path / "m2.json",
            scenario_text="",
            layer_files={"ducts": tmp_path / "no.gpkg"},
            catalog_version="",
            timings={},
        )


def test_export_plan_twice_gives_identical_boq_and_geometry(tmp_path: Path) -> None:
    plan = _plan()
    a = export_plan(plan, tmp_path / "a", title="Demo", scenario_text="x: 1", timings={"plan": 0.1})
    b = export_plan(plan, tmp_path / "b", title="Demo", scenario_text="x: 1", timings={"plan": 0.2})
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["boq.csv", "boq.xlsx", "manifest.json", "plan.gpkg"]
    assert a["boq.csv"].read_bytes() == b["boq.csv"].read_bytes()
    assert a["boq.xlsx"].read_bytes() == b["boq.xlsx"].read_bytes()
    ga = gpd.read_file(a["plan.gpkg"], layer="trenches")
    gb = gpd.read_file(b["plan.gpkg"], layer="trenches")
    assert list(ga.geometry.to_wkb()) == list(gb.geometry.to_wkb())
    manifest = json.loads(a["manifest.json"].read_text(encoding="utf-8"))
    assert manifest["total_vnd"] == plan.total_vnd
    assert set(manifest["outputs"]) == {"boq.csv", "boq.xlsx", "plan.gpkg"}


def test_export_plan_hashes_its_extra_files(tmp_path: Path) -> None:
    paths = export_plan(_plan(), tmp_path / "a", extra_files={"kpis.json": "{}\n", "map.html": b"<html></html>"})
    manifest = json.loads(paths["manifest.json"].read_text(encoding="utf-8"))
    assert set(manifest["outputs"]) == {"boq.csv", "boq.xlsx", "plan.gpkg", "kpis.json", "map.html"}
    assert manifest["outputs"]["map.html"]["sha256"] == hashlib.sha256(b"<html></html>").hexdigest()
    with pytest.raises(PlanningError, match="plain file name"):
        export_plan(_plan(), tmp_path / "b", extra_files={"../x.txt": "x"})
    assert not (tmp_path / "b").exists()


# --- compare helper ------------------------------------------------------------------------------------------------


def test_compare_to_xlsx_writes_bilingual_sheets(tmp_path: Path) -> None:
    diff = pd.DataFrame({"item_code": ["T01", "M01"], "delta_vnd": [1_000_000, -5], "note": ["=x", None]})
    path = compare_to_xlsx(
        {"Khác biệt - Differences": diff, "KPI": pd.DataFrame({"kpi": ["a"], "value": [1.5]})},
        tmp_path / "cmp.xlsx",
        title="v1 vs v2",
    )
    again = compare_to_xlsx(
        {"Khác biệt - Differences": diff, "KPI": pd.DataFrame({"kpi": ["a"], "value": [1.5]})},
        tmp_path / "cmp2.xlsx",
        title="v1 vs v2",
    )
    assert path.read_bytes() == again.read_bytes()
    wb = openpyxl.load_workbook(path)
    ws = wb["Khác biệt - Differences"]
    assert ws.cell(row=3, column=1).value == "Mã hiệu / Item code"
    assert ws.cell(row=3, column=2).value == "Chênh lệch (VND) / Difference (VND)"
    assert ws.cell(row=5, column=2).value == -5 and ws.cell(row=4, column=3).data_type == "s"
    assert wb["KPI"].cell(row=4, column=2).value == 1.5


def _boq_with_contingency() -> pd.DataFrame:
    from gisplan.catalog._catalog import load_catalog
    from gisplan.catalog.costing import add_contingency, boq_frame, boq_line

    cat = load_catalog()
    lines = [
        boq_line(cat, "TR.ASPHALT", 120.5, phase="2027", district="911", commune="Dương Đông"),
        boq_line(cat, "MH.STD", 3, phase="2027", district="911", commune="Dương Đông"),
        boq_line(cat, "TR.EARTH", 80, phase="2027", district="911", commune="Dương Tơ"),
        boq_line(cat, "CAB.FO24", 400, phase="2028", district="911", commune="Dương Đông"),
    ]
    return add_contingency(boq_frame(lines), cat)


def test_contingency_lines_are_formulas_of_their_group(tmp_path: Path) -> None:
    boq = _boq_with_contingency()
    assert (boq["unit"] == "%").sum() == 3  # one per phase/district/commune group
    boq_to_csv(boq, tmp_path / "boq.csv")  # percentage lines pass the unit-price check
    wb = openpyxl.load_workbook(boq_to_xlsx(boq, tmp_path / "boq.xlsx"), data_only=False)
    ev = Evaluator(wb)
    assert _grand_total(ev, wb[SUMMARY_SHEET]) == boq["amount_vnd"].sum()
    for ws in wb:
        if ws.title in (SUMMARY_SHEET, PRICES_SHEET):
            continue
        for cell in _amount_cells(ws):
            code, phase, commune = (ws.cell(row=cell.row, column=c).value for c in (2, 10, 12))
            match = boq[(boq.item_code == code) & (boq.phase == phase) & (boq.commune == commune)]
            assert ev.value(ws.title, cell.row, 8) == match["amount_vnd"].iloc[0], (ws.title, code, phase, commune)
    # the engineer changes the contingency from 10 % to 5 % on the unit-price sheet: every total follows
    prices = wb[PRICES_SHEET]
    row = next(r for r in range(4, prices.max_row + 1) if prices.cell(row=r, column=1).value == "CONTINGENCY")
    assert prices.cell(row=row, column=5).value == 10
    prices.cell(row=row, column=5).value = 5
    base = boq.loc[boq["unit"] != "%"]
    expected = base["amount_vnd"].sum() + sum(
        round(5 * round(g["amount_vnd"].sum() / 100)) for _, g in base.groupby(["phase", "district", "commune"])
    )
    assert _grand_total(Evaluator(wb), wb[SUMMARY_SHEET]) == expected
