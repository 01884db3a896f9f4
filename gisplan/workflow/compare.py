"""Comparing two plan versions: what changed on the map, in the BOQ, in the KPIs and in the parameters.

Both sides are run folders (:func:`gisplan.workflow.runs.read_run`): a scenario file is
run first, a stored version is exported first.  A version compared with itself
shows no difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from gisplan._atomic import atomic_write_text
from gisplan.io.crs import METRIC_CRS, is_measuring_crs, metric_crs_for
from gisplan.outputs._xlsx import BILINGUAL_HEADERS
from gisplan.outputs.export import compare_to_xlsx
from gisplan.outputs.maps import add_layer, base_map, standalone_html
from gisplan.plan import kpi_label
from gisplan.workflow.folders import RunFolder
from gisplan.workflow.scenario import scenario_values

#: Layers matched by an id column; others are matched by geometry.
_ID_COLUMNS = {
    "sites": "site_id",
    "poles_removed": "pole_id",
    "cables_rerouted": "cable_id",
    "backhaul_links": "site_id",
    "settlements_unserved": "settlement_id",
    "footprints": "site_id",
}
#: Layers shown in the difference (others are compared in counts only).
DIFF_LAYERS = ("trenches", "chambers", "poles_removed", "sites", "backhaul_links")
_GEOM_DECIMALS = 2  # centimetres in the metric CRS


@dataclass
class Comparison:
    """The differences between plan A and plan B."""

    features: gpd.GeoDataFrame  # layer, key, change (added/removed/changed), detail; geometry in METRIC_CRS
    boq_items: pd.DataFrame  # per item: quantity/amount in A and B and deltas
    boq_phases: pd.DataFrame  # per item and phase
    kpis: pd.DataFrame  # kpi, a, b, delta
    params: pd.DataFrame  # key path, a, b
    #: B's features of :data:`DIFF_LAYERS` that are the same in A (layer, key; geometry in METRIC_CRS): the plan
    #: around the differences, drawn grey under them.
    unchanged: gpd.GeoDataFrame | None = None

    @property
    def by_phase(self) -> pd.DataFrame:
        """The BOQ amount of each phase (year) in A and in B and its difference B - A, phases in order.

        A plan that only moves work between years changes nothing in its total and everything here.
        """
        return phase_differences(self.boq_phases)

    @property
    def is_empty(self) -> bool:
        """True when nothing differs."""
        return (
            self.features.empty
            and not (self.boq_phases[["quantity_delta", "amount_delta_vnd"]] != 0).any().any()
            and not (self.kpis["changed"]).any()
            and self.params.empty
        )

    def summary(self) -> dict[str, Any]:
        counts = self.features.groupby(["layer", "change"]).size() if len(self.features) else pd.Series(dtype=int)
        return {
            "features": {f"{k[0]}.{k[1]}": int(v) for k, v in counts.items()},
            "amount_delta_vnd": int(self.boq_items["amount_delta_vnd"].sum()) if len(self.boq_items) else 0,
            "phases_changed": int((self.by_phase["amount_delta_vnd"] != 0).sum()),
            "kpis_changed": int(self.kpis["changed"].sum()) if len(self.kpis) else 0,
            "params_changed": len(self.params),
        }


def compare_runs(a: RunFolder, b: RunFolder) -> Comparison:
    """Compare two run folders (A is the reference, B the proposal: deltas are B - A)."""
    unchanged: list[dict[str, Any]] = []
    return Comparison(
        features=_feature_diff(a.layers, b.layers, unchanged=unchanged),
        boq_items=_boq_diff(a.boq, b.boq, ["item_code"]),
        boq_phases=_boq_diff(a.boq, b.boq, ["item_code", "phase"]),
        kpis=_kpi_diff(a.kpis, b.kpis),
        params=_param_diff(a.scenario_text, b.scenario_text),
        unchanged=gpd.GeoDataFrame(unchanged, geometry="geometry", crs=METRIC_CRS)
        if unchanged
        else gpd.GeoDataFrame({"layer": [], "key": []}, geometry=[], crs=METRIC_CRS),
    )


def phase_differences(boq_phases: pd.DataFrame) -> pd.DataFrame:
    """Per phase (year): ``amount_a_vnd``, ``amount_b_vnd`` and ``amount_delta_vnd`` (integers, B - A) from the
    per-item-and-phase BOQ difference (:attr:`Comparison.boq_phases`)."""
    cols = ["phase", "amount_a_vnd", "amount_b_vnd", "amount_delta_vnd"]
    if boq_phases.empty or "phase" not in boq_phases.columns:
        return pd.DataFrame(columns=cols)
    frame = boq_phases.assign(phase=boq_phases["phase"].astype(str))
    out = frame.groupby("phase", sort=True)[cols[1:]].sum().reset_index()
    for c in cols[1:]:
        out[c] = out[c].astype("int64")
    return out[cols]


def _feature_diff(
    la: Mapping[str, gpd.GeoDataFrame],
    lb: Mapping[str, gpd.GeoDataFrame],
    *,
    unchanged: list[dict[str, Any]] | None = None,
) -> gpd.GeoDataFrame:
    """Features added, removed and changed per layer of :data:`DIFF_LAYERS`, keyed by id or by geometry.

    ``unchanged``, when given, receives a row (layer, key, geometry in B) per feature that is the same in both.

    Vectorised over the features (keys, attribute and geometry comparisons); Python loops only build the rows
    of the features that differ.
    """
    rows: list[dict[str, Any]] = []
    crs = _common_crs(la, lb)
    for name in DIFF_LAYERS:
        ga, gb = la.get(name), lb.get(name)
        if ga is None and gb is None:
            continue
        ga = _metric(ga, crs)
        gb = _metric(gb, crs)
        idc = _ID_COLUMNS.get(name)
        key_a, key_b = _keys(ga, idc), _keys(gb, idc)
        ia = dict(zip(key_a, range(len(ga)), strict=True))
        ib = dict(zip(key_b, range(len(gb)), strict=True))
        common = [k for k in key_a if k in ib]
        pos_a = np.array([ia[k] for k in common], dtype=np.int64)
        pos_b = np.array([ib[k] for k in common], dtype=np.int64)
        geom_a, geom_b = ga.geometry.to_numpy(), gb.geometry.to_numpy()
        attrs = [c for c in ga.columns if c in gb.columns and c != ga.geometry.name]
        common_a = {c: ga[c].iloc[pos_a] for c in attrs}
        common_b = {c: gb[c].iloc[pos_b] for c in attrs}
        differs = {c: ~_same_values(common_a[c], common_b[c]) for c in attrs}
        moved = np.zeros(len(common), dtype=bool)
        if idc and len(common):
            # a feature without geometry (a satellite backhaul link) has not moved when it has none on both sides
            missing_a, missing_b = shapely.is_missing(geom_a[pos_a]), shapely.is_missing(geom_b[pos_b])
            same = shapely.equals_exact(geom_a[pos_a], geom_b[pos_b], tolerance=10**-_GEOM_DECIMALS)
            moved = ~np.where(missing_a | missing_b, missing_a & missing_b, same)
        changed_at = {common[i]: i for i in np.flatnonzero(np.logical_or.reduce([moved, *differs.values()]))}
        shown_a = {c: common_a[c].to_numpy(dtype=object) for c in attrs if differs[c].any()}
        shown_b = {c: common_b[c].to_numpy(dtype=object) for c in attrs if differs[c].any()}
        for k in sorted(set(ia) | set(ib), key=repr):
            if k not in ib:
                rows.append(_row(name, k, "removed", "", geom_a[ia[k]]))
            elif k not in ia:
                rows.append(_row(name, k, "added", "", geom_b[ib[k]]))
            elif k in changed_at:
                i = changed_at[k]
                parts = [f"{c}: {_fmt(shown_a[c][i])} -> {_fmt(shown_b[c][i])}" for c in attrs if differs[c][i]]
                if moved[i]:
                    parts.append("geometry moved")
                rows.append(_row(name, k, "changed", "; ".join(parts), geom_b[pos_b[i]]))
            elif unchanged is not None:
                row = _row(name, k, "unchanged", "", geom_b[ib[k]])
                unchanged.append({"layer": row["layer"], "key": row["key"], "geometry": row["geometry"]})
    if not rows:
        return gpd.GeoDataFrame({"layer": [], "key": [], "change": [], "detail": []}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def _common_crs(*sides: Mapping[str, gpd.GeoDataFrame]) -> Any:
    """The metric CRS both plans were computed in: that of their first layer with one (the project's); the
    Kiên Giang default only for plans without any layer."""
    for side in sides:
        for g in side.values():
            if g is not None and g.crs is not None and is_measuring_crs(g.crs):
                return g.crs
    return METRIC_CRS


def _metric(g: gpd.GeoDataFrame | None, crs: Any = METRIC_CRS) -> gpd.GeoDataFrame:
    if g is None:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    return g.to_crs(crs) if g.crs is not None else g.set_crs(crs)


def _keys(g: gpd.GeoDataFrame, idc: str | None) -> list[Any]:
    """A key per feature: its id, or its geometry (WKB at centimetre precision) where the layer has no id;
    duplicates get a running number so that every feature is matched once."""
    if idc and idc in g.columns:
        keys: list[Any] = [str(v) for v in g[idc]]
    else:
        geoms = g.geometry.to_numpy()
        keys = list(shapely.to_wkb(shapely.normalize(shapely.set_precision(geoms, 10**-_GEOM_DECIMALS))))
    seen: dict[Any, int] = {}
    out = []
    for k in keys:
        n = seen.get(k, 0)
        seen[k] = n + 1
        out.append(k if n == 0 else (k, n))
    return out


def _row(layer: str, key: Any, change: str, detail: str, geom: Any) -> dict[str, Any]:
    if isinstance(key, str):
        label = key
    elif geom is None or geom.is_empty:
        label = f"{layer}@-"
    else:
        point = geom.representative_point()
        label = f"{layer}@{point.x:.0f},{point.y:.0f}"
    return {"layer": layer, "key": label, "change": change, "detail": detail, "geometry": geom}


def _same_values(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise :func:`_same` of two aligned columns, vectorised where both are numbers or both text."""
    both_na = a.isna().to_numpy() & b.isna().to_numpy()
    numeric = [pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x) for x in (a, b)]
    if all(numeric):
        fa, fb = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
            close = np.abs(fa - fb) <= 1e-6 * np.maximum(1.0, np.abs(fa))
        else:
            close = a.to_numpy() == b.to_numpy()
        return np.asarray(both_na | close, dtype=bool)
    kinds = {pd.api.types.infer_dtype(x, skipna=True) for x in (a, b)}
    if kinds <= {"string", "boolean", "empty"}:
        oa = a.to_numpy(dtype=object, na_value=None)
        ob = b.to_numpy(dtype=object, na_value=None)
        return np.asarray(both_na | (oa == ob), dtype=bool)
    return np.array([_same(x, y) for x, y in zip(a.array, b.array, strict=True)], dtype=bool)


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def feature_change_text(detail: str, lang: str) -> str:
    """A feature's change (the ``detail`` of :attr:`Comparison.features`, ``"phase: 2027 -> 2028; geometry
    moved"``) for a reader of ``lang``: columns and coded values labelled, ``→`` between the two values."""
    from gisplan.i18n import column_label, t, value_label

    parts = []
    for part in filter(None, (p.strip() for p in str(detail or "").split("; "))):
        if part == "geometry moved":
            parts.append(t("compare.moved", lang))
            continue
        column, sep, change = part.partition(": ")
        before, arrow, after = change.partition(" -> ")
        if not sep or not arrow:
            parts.append(part)
            continue
        parts.append(
            f"{column_label(column, lang)}: {value_label(column, before, lang)} → {value_label(column, after, lang)}"
        )
    return "; ".join(parts)


def _fmt(v: Any) -> str:
    return f"{v:,.2f}" if isinstance(v, float) else str(v)


def _boq_diff(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    def agg(df: pd.DataFrame) -> pd.DataFrame:
        if df.empty:
            return pd.DataFrame(columns=[*keys, "description_vi", "description_en", "unit", "quantity", "amount_vnd"])
        out = (
            df.groupby(keys, dropna=False)
            .agg(
                description_vi=("description_vi", "first"),
                description_en=("description_en", "first"),
                unit=("unit", "first"),
                quantity=("quantity", "sum"),
                pct=("quantity", "max"),
                amount_vnd=("amount_vnd", "sum"),
            )
            .reset_index()
        )
        # a line of unit % (contingency) holds a percentage of its group: summed over groups it means nothing,
        # so the item shows its percentage (the largest, where groups differ)
        out["quantity"] = out["quantity"].where(out["unit"] != "%", out["pct"])
        return out.drop(columns="pct")

    ga, gb = agg(a), agg(b)
    m = ga.merge(gb, on=keys, how="outer", suffixes=("_a", "_b"))
    for c in ("description_vi", "description_en", "unit"):
        m[c] = m[f"{c}_a"].fillna(m[f"{c}_b"])
    out = pd.DataFrame({k: m[k] for k in keys})
    for c in ("description_vi", "description_en", "unit"):
        out[c] = m[c]
    out["quantity_a"] = m["quantity_a"].fillna(0.0).astype(float).round(3)
    out["quantity_b"] = m["quantity_b"].fillna(0.0).astype(float).round(3)
    out["quantity_delta"] = (out["quantity_b"] - out["quantity_a"]).round(3)
    out["amount_a_vnd"] = m["amount_vnd_a"].fillna(0).astype("int64")
    out["amount_b_vnd"] = m["amount_vnd_b"].fillna(0).astype("int64")
    out["amount_delta_vnd"] = out["amount_b_vnd"] - out["amount_a_vnd"]
    return out.sort_values(keys, kind="mergesort").reset_index(drop=True)


def _kpi_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        num = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
        delta = (vb - va) if num else None  # type: ignore[operator]
        rows.append({"kpi": k, "a": _show(va), "b": _show(vb), "delta": delta, "changed": not _same_kpi(va, vb)})
    return pd.DataFrame(rows, columns=["kpi", "a", "b", "delta", "changed"])


def _same_kpi(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return _same(a, b) if a is not None and b is not None else a is b
    return a == b


def _show(v: Any) -> Any:
    return v if isinstance(v, int | float | str | bool) or v is None else str(v)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    out[prefix.rstrip(".")] = d
    return out


def _param_diff(ta: str, tb: str) -> pd.DataFrame:

    def flat(text: str) -> dict[str, Any]:
        vals = scenario_values(text)
        geometries = vals.pop("geometries", {}) or {}
        out = _flatten(vals)
        for name, value in geometries.items():
            if value is not None:
                out[f"geometries.{name}"] = _geometry_text(value)
        return out

    fa, fb = flat(ta), flat(tb)
    rows = [
        {"key": k, "a": _yaml(fa.get(k)), "b": _yaml(fb.get(k))}
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]
    return pd.DataFrame(rows, columns=["key", "a", "b"])


def _geometry_text(value: Any) -> str:
    """A scenario geometry for the parameter table: a file by its path, inline GeoJSON by size and content hash.

    Files are not opened: a saved scenario's relative paths point next to a scenario file that is not there.
    """
    import hashlib
    import json

    if not isinstance(value, Mapping):
        return f"tệp / file {value}"
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:10]
    try:
        g = gpd.GeoDataFrame.from_features(_features(value), crs="EPSG:4326")
    except (KeyError, TypeError, AttributeError, ValueError):
        return f"GeoJSON [{digest}]"
    area = float(g.to_crs(metric_crs_for(g)).area.sum())
    size = f"{len(g)} feature(s), {area / 1e6:.3f} km²" if area > 0 else f"{len(g)} feature(s)"
    return f"{size} [{digest}]"


def _features(value: Mapping[str, Any]) -> list[Any]:
    kind = value.get("type")
    if kind == "FeatureCollection":
        return list(value.get("features") or [])
    if kind == "Feature":
        return [value]
    return [{"type": "Feature", "properties": {}, "geometry": dict(value)}]


def _yaml(v: Any) -> str:
    if isinstance(v, str):
        return v
    return yaml.safe_dump(v, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


# ------------------------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------------------------
CHANGE_COLOURS = {"added": "#1a9641", "removed": "#d7191c", "changed": "#fdae61"}
_CHANGE_LABELS = {
    "added": "Thêm mới / added",
    "removed": "Bỏ đi / removed",
    "changed": "Thay đổi / changed",
    "unchanged": "Không đổi / unchanged",
}


def comparison_tables(c: Comparison) -> dict[str, pd.DataFrame]:
    """The comparison as bilingual tables (sheet title -> frame) for XLSX and HTML."""
    feats = (
        pd.DataFrame(c.features.drop(columns="geometry"))
        if len(c.features)
        else pd.DataFrame(columns=["layer", "key", "change", "detail"])
    )
    summary = c.summary()
    rows = [{"item": f"{_SUMMARY_LABELS['features']}: {k}", "value": v} for k, v in summary["features"].items()]
    rows += [{"item": _SUMMARY_LABELS[k], "value": v} for k, v in summary.items() if k != "features"]
    kpis = c.kpis.assign(kpi=[kpi_label(str(k)) for k in c.kpis["kpi"]])
    return {
        "Tóm tắt - Summary": pd.DataFrame(rows, columns=["item", "value"]),
        "KPI": kpis,
        "BOQ theo hạng mục - by item": c.boq_items,
        "Theo năm - by year": c.by_phase,
        "BOQ theo giai đoạn - by phase": c.boq_phases,
        "Tham số - Parameters": c.params,
        "Đối tượng - Features": feats,
    }


_SUMMARY_LABELS = {
    "features": "Đối tượng / Features",
    "amount_delta_vnd": "Chênh lệch kinh phí (VND) / Cost difference (VND)",
    "phases_changed": "Số năm có chi phí thay đổi / Years whose cost changed",
    "kpis_changed": "Số chỉ tiêu thay đổi / KPIs changed",
    "params_changed": "Số tham số thay đổi / Parameters changed",
}


def comparison_map(
    features: gpd.GeoDataFrame,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    unchanged: gpd.GeoDataFrame | None = None,
) -> Any:
    """A folium map of the differences: added green, removed red, changed orange, over the context layers and
    the ``unchanged`` part of the plan (grey)."""

    m = base_map(dict(context or {}), fit=[features])  # open on what changed
    if unchanged is not None and len(unchanged):
        add_layer(
            m,
            unchanged,
            kind="diff",
            name=_CHANGE_LABELS["unchanged"],
            style={"color": "#868e96", "fillColor": "#868e96", "weight": 3, "radius": 3, "fillOpacity": 0.5},
            popup_columns=["layer", "key"],
        )
    for change, colour in CHANGE_COLOURS.items():
        part = features[features["change"] == change] if len(features) else features
        if len(part) == 0:
            continue
        label = _CHANGE_LABELS[change]
        add_layer(
            m,
            part,
            kind="diff",
            name=label,
            style={"color": colour, "fillColor": colour, "weight": 4, "radius": 3, "fillOpacity": 0.7},
            popup_columns=["layer", "key", "change", "detail"],
        )
    return m


def write_comparison(
    c: Comparison, out_dir: Any, *, title: str = "", context: Mapping[str, gpd.GeoDataFrame] | None = None
) -> dict[str, Any]:
    """Write ``compare.xlsx`` and ``compare.html`` (map of the differences + tables, offline)."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = comparison_tables(c)
    compare_to_xlsx(tables, out / "compare.xlsx", title=title)
    m = comparison_map(c.features, context, unchanged=c.unchanged)
    body = [
        f"<h1>{_esc(title or 'So sánh phương án / Plan comparison')}</h1>",
        "<p>A = phương án gốc / reference, B = phương án đề xuất / proposal; chênh lệch = B - A. "
        "Các bảng ở dưới bản đồ / the tables are below the map.</p>",
    ]
    html = standalone_html(m)
    tables_html = "".join(
        f"<h2>{_esc(name)}</h2>" + (_table_html(df) if len(df) else "<p>Không có khác biệt / no difference</p>")
        for name, df in tables.items()
    )
    style = (
        "<style>.cmp{border-collapse:collapse;font:13px sans-serif}.cmp td,.cmp th{padding:2px 8px;"
        "border-bottom:1px solid #ddd;text-align:right}.cmp td:first-child{text-align:left}"
        ".gp-report{font:14px sans-serif;margin:12px}"
        # the map leaves room for the tables: at full height the wheel zooms the map and never reaches them
        ".folium-map{height:65vh !important}</style>"
    )
    report = f'{style}<div class="gp-report">{"".join(body)}</div>'
    html = html.replace("<body>", "<body>" + report, 1).replace(
        "</body>", f'<div class="gp-report">{tables_html}</div></body>', 1
    )
    atomic_write_text(out / "compare.html", html)
    return {"compare.xlsx": out / "compare.xlsx", "compare.html": out / "compare.html"}


def _table_html(df: pd.DataFrame) -> str:
    """A table as HTML: bilingual headers, numbers with thousands separators (no 9.037e+01), empty for missing."""

    shown = pd.DataFrame({BILINGUAL_HEADERS.get(str(c), str(c)): df[c].map(_cell_text) for c in df.columns})
    return shown.to_html(index=False, border=0, classes="cmp")


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return "có / yes" if v else "không / no"
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        v = int(v)  # a whole number in a float column (KPI values mixed with NaN)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)  # years stay 2027
    if isinstance(v, float):
        if abs(v) < 1:
            return f"{v:.6g}"  # ratios and gaps keep their digits (0.000365)
        return f"{v:,.3f}".rstrip("0").rstrip(".")
    return str(v)


def _esc(s: str) -> str:
    import html

    return html.escape(s)
