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
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from gisplan._atomic import atomic_dir, atomic_path, atomic_write_text
from gisplan._errors import CRSError, PlanningError
from gisplan.outputs._qgis_styles import geometry_kind, style_qml
from gisplan.outputs._xlsx import (
    PRICES_SHEET,
    SUMMARY_SHEET,
    _save_workbook,
    boq_workbook,
    frames_workbook,
    natural_key,
    sheet_name,
)
from gisplan.plan import BOQ_COLUMNS, Plan

__all__ = [
    "FIXED_TIMESTAMP",
    "PRICES_SHEET",
    "SUMMARY_SHEET",
    "boq_csv_text",
    "boq_to_csv",
    "boq_to_xlsx",
    "check_boq",
    "compare_to_xlsx",
    "export_plan",
    "plan_to_gpkg",
    "sheet_name",
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


def _rows_text(
    mask: pd.Series, labels: pd.Series, details: pd.Series | None = None, limit: int = 10, *, vi: bool = False
) -> str:
    """'row 3 (T01 / 2027 / Dương Tơ), ...' for the rows where ``mask`` is true, at most ``limit`` of them.

    ``vi`` writes the same in Vietnamese ('hàng 3 (...), ... và 2 hàng khác').
    """
    positions = [i for i, bad in enumerate(mask.tolist()) if bad]
    row, more_text = ("hàng", " và {} hàng khác") if vi else ("row", " and {} more")
    parts = [f"{row} {i} ({labels.iloc[i]}{details.iloc[i] if details is not None else ''})" for i in positions[:limit]]
    more = more_text.format(len(positions) - limit) if len(positions) > limit else ""
    return ", ".join(parts) + more


def _integral(series: pd.Series, column: str, labels: pd.Series) -> pd.Series:
    """``series`` as int64, or a PlanningError naming the rows that are missing or not whole numbers."""
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() | (values.astype("float64") % 1 != 0)
    if bad.any():
        raise PlanningError(
            f"BOQ column {column!r} must hold whole VND amounts; missing or fractional at {_rows_text(bad, labels)}. "
            f"Fix: round money to integer VND in the planner. / cột {column!r} của bảng khối lượng phải chứa số tiền "
            f"VND nguyên; thiếu hoặc có phần lẻ tại {_rows_text(bad, labels, vi=True)}. Cách sửa: làm tròn tiền thành "
            "số nguyên VND trong bộ lập phương án."
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
            f"Fix: build it from gisplan.plan.empty_boq(). / bảng khối lượng thiếu cột {', '.join(missing)}; bảng "
            f"khối lượng cần các cột {', '.join(BOQ_COLUMNS)}. Cách sửa: tạo bảng từ gisplan.plan.empty_boq()."
        )
    out = boq.loc[:, list(BOQ_COLUMNS)].copy().reset_index(drop=True)
    for column in _TEXT_COLUMNS:
        out[column] = out[column].fillna("").astype(str)
    labels = out["item_code"] + " / " + out["phase"] + " / " + out["commune"]
    quantity = pd.to_numeric(out["quantity"], errors="coerce").astype("float64")
    bad_q = ~quantity.map(math.isfinite)
    if bad_q.any():
        rows, rows_vi = _rows_text(bad_q, labels), _rows_text(bad_q, labels, vi=True)
        raise PlanningError(
            f"BOQ column 'quantity' must be finite numbers; missing or not finite at {rows} "
            f"/ cột 'quantity' (khối lượng) của bảng khối lượng phải là số hữu hạn; thiếu hoặc không hữu hạn tại "
            f"{rows_vi}"
        )
    out["quantity"] = quantity
    out["unit_price_vnd"] = _integral(out["unit_price_vnd"], "unit_price_vnd", labels)
    out["amount_vnd"] = _integral(out["amount_vnd"], "amount_vnd", labels)
    product = out["quantity"] * out["unit_price_vnd"]
    off = (out["amount_vnd"] - product).abs() > 0.5 + 1e-9 * product.abs()
    if off.any():
        details = ": " + out["amount_vnd"].astype(str) + " != " + product.map("{:.2f}".format)
        rows, rows_vi = _rows_text(off, labels, details), _rows_text(off, labels, details, vi=True)
        raise PlanningError(
            f"BOQ amount_vnd must be round(quantity * unit_price_vnd), else the XLSX totals would not match; "
            f"wrong at {rows} / thành tiền amount_vnd của bảng khối lượng phải bằng round(quantity * unit_price_vnd), "
            f"nếu không các tổng trong tệp XLSX sẽ không khớp; sai tại {rows_vi}"
        )
    for column, what, what_vi in (("unit_price_vnd", "unit prices", "đơn giá"), ("unit", "units", "đơn vị tính")):
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
                "Fix: give each override its own item code (e.g. suffix the phase). / bảng khối lượng có mã hạng mục "
                f"mang {what_vi} khác nhau ({text}); bảng đơn giá cần một giá trị cho mỗi mã. Cách sửa: đặt cho mỗi "
                "giá sửa đổi một mã hạng mục riêng (ví dụ thêm hậu tố giai đoạn)."
            )
    columns = [out[c].tolist() for c in _SORT_COLUMNS]
    cache = {value: natural_key(value) for column in columns for value in set(column)}
    keys = list(zip(*([cache[v] for v in column] for column in columns), strict=True))
    order = sorted(range(len(out)), key=keys.__getitem__)
    return out.iloc[order].reset_index(drop=True)


def _format_quantity(value: float) -> str:
    text = f"{value:.{CSV_QUANTITY_DECIMALS}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"): = + - @, tab, CR.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: a leading ``'`` before a formula start, as OWASP advises;
    carriage returns become newlines (so that the cell is quoted).

    Excel and LibreOffice show such a cell as the text after the quote; a program reading the CSV sees the quote
    (the BOQ's numbers are written as numbers and never prefixed).

    Examples
    --------
    >>> csv_safe("=HYPERLINK(\"http://x\")"), csv_safe("Dương Đông")
    ('\'=HYPERLINK("http://x")', 'Dương Đông')
    """
    text = "'" + text if text.startswith(FORMULA_STARTS) else text
    # Python's csv module quotes a cell holding the line terminator ("\n") but not a bare CR, which would split
    # the row in Excel: a line break inside a cell is written as "\n" (quoted)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def boq_csv_text(boq: pd.DataFrame) -> str:
    """Return the CSV text of a BOQ (see :func:`boq_to_csv`), without the byte-order mark.

    Text cells starting with a formula character (:data:`FORMULA_STARTS`) are prefixed with ``'``
    (:func:`csv_safe`): a boundary name or catalog text never runs as a formula in Excel.
    """
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
                else csv_safe(str(values[c]))
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
    integer VND, newlines ``\\n``; text that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR
    first) gets a leading ``'`` (OWASP).  There is no total row: the CSV is pure data
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
    the unit-price sheet sees every amount and total follow.  Every formula also
    carries its computed value as the cell's cached value, so a program that
    does not recalculate (openpyxl with ``data_only=True``, a viewer) sees the
    figures; Excel/LibreOffice recalculate on load (``fullCalcOnLoad``).  Sheet names are cut to Excel's 31
    characters, ``[]:*?/\\`` replaced by ``-``, and kept unique.

    Sheets print as an estimate does: A4 (line sheets landscape, the summary
    portrait), every column on one page width, the header row repeated on
    every page, page numbers in the footer, thin borders around the tables;
    panes are frozen below the headers.  The summary lists the categories in
    the order of the works with contingency last, and KPIs as readable values
    (yearly amounts as ``2027: 1,234,567; ...``, yes/no in both languages).

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
            f"plan layer name {name!r} cannot be a GeoPackage table; use letters, digits and _ (e.g. 'trenches') "
            f"/ tên lớp {name!r} của phương án không dùng được làm bảng GeoPackage; hãy dùng chữ cái, chữ số và _ "
            "(ví dụ 'trenches')"
        )
    if name.lower() in _RESERVED_TABLES or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
        raise PlanningError(
            f"plan layer name {name!r} is reserved in the exported GeoPackage; rename the layer "
            f"/ tên lớp {name!r} của phương án đã được GeoPackage dành riêng; hãy đổi tên lớp"
        )


def _layer_for_export(name: str, gdf: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise PlanningError(
            f"plan layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame "
            f"/ lớp {name!r} của phương án có kiểu {type(gdf).__name__}, không phải GeoDataFrame"
        )
    if gdf.crs is None:
        raise CRSError(
            f"plan layer {name!r} has no CRS; planners return layers in the project's metric CRS "
            f"/ lớp {name!r} của phương án không có hệ tọa độ; bộ lập phương án phải trả các lớp theo hệ tọa độ mét "
            "của dự án"
        )
    out = gdf.reset_index(drop=True)
    return out.to_crs(crs) if crs is not None and out.crs != crs else out.copy()


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
                [(table, geom, table, qml, _STYLE_DESCRIPTION, stamp) for table, geom, qml in styles],
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
    crs: str | None = None,
    timestamp: datetime = FIXED_TIMESTAMP,
) -> Path:
    """Write a plan's layers, BOQ and QGIS styles to one GeoPackage, atomically.

    - one feature table per plan layer, in the plan's own (the project's metric) CRS or reprojected to ``crs``, in
      the plan's
      layer order, index dropped; an empty layer is written too, with its
      columns and the geometry type its name suggests (``poles_removed``:
      Point, ``footprints``: Polygon, otherwise LineString; see
      :func:`gisplan.outputs._qgis_styles.geometry_kind`), so that QGIS shows the
      layer exists and is empty rather than hiding that it was planned;
    - the BOQ (checked and sorted as in :func:`check_boq`) as the attribute
      table ``boq``, present even when empty;
    - the table ``layer_styles`` as QGIS creates it, one default style (QML
      from :mod:`gisplan.outputs._qgis_styles`) per layer, registered in
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
                raise PlanningError(
                    f"cannot write plan layer {name!r} to {target.name}: {exc} "
                    f"/ không ghi được lớp {name!r} của phương án vào {target.name}: {exc}"
                ) from exc
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
    extra_files: Mapping[str, str | bytes] | None = None,
) -> dict[str, Path]:
    """Write ``plan.gpkg``, ``boq.xlsx``, ``boq.csv``, ``extra_files`` and ``manifest.json`` into ``out_dir``.

    The folder is written through :func:`gisplan._atomic.atomic_dir`: it is
    published all-or-nothing (a complete new folder swapped in for the old one),
    and the user's own files in an existing folder are kept.
    The manifest hashes every file written with it.

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
    extra_files
        More files of the folder, file name -> content (text is written as UTF-8), e.g. ``map.html``.

    Returns
    -------
    dict
        ``{"plan.gpkg": path, "boq.xlsx": path, "boq.csv": path, ..., "manifest.json": path}`` in ``out_dir``.
    """
    target = Path(out_dir)
    extra = dict(extra_files or {})
    for name in extra:
        if name in ("plan.gpkg", "boq.xlsx", "boq.csv", "manifest.json") or Path(name).name != name or name[:1] == ".":
            raise PlanningError(
                f"extra file name {name!r} is not a plain file name the export may write "
                f"/ tên tệp bổ sung {name!r} không phải tên tệp thường mà bản xuất được phép ghi"
            )
    names = ("plan.gpkg", "boq.xlsx", "boq.csv", *extra, "manifest.json")
    with atomic_dir(target) as staging:
        plan_to_gpkg(plan, staging / "plan.gpkg", timestamp=timestamp)
        boq_to_xlsx(
            plan.boq, staging / "boq.xlsx", title=title, kpis=plan.kpis, plan_kind=plan.kind, timestamp=timestamp
        )
        boq_to_csv(plan.boq, staging / "boq.csv")
        for name, content in extra.items():
            (staging / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else bytes(content))
        write_manifest(
            staging / "manifest.json",
            scenario_text=scenario_text,
            layer_files=layer_files,
            catalog_version=catalog_version,
            timings=dict(timings or {}),
            outputs={n: staging / n for n in names[:-1]},
            extra={"plan_kind": plan.kind, "total_vnd": plan.total_vnd, "boq_rows": len(plan.boq)},
        )
    return {n: target / n for n in names}
