"""The cost catalog: every unit price in VND, with its unit and source.

One module loads and validates the catalog for every planner.  The default
catalog ships inside the package (``gisplan/catalog/catalog.yaml``); a scenario
can override any price or parameter.

Examples
--------
>>> cat = load_catalog()
>>> cat.price("MH.STD")
18000000
>>> cat.trench_cost_per_m("asphalt", "urban") == cat.price("TR.ASPHALT") + cat.price("TM.URBAN")
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gisplan._errors import CatalogError, Problem, did_you_mean
from gisplan._yaml import YamlInputError, load_yaml, read_utf8

SURFACES = ("asphalt", "concrete", "gravel", "earth")
ROAD_CLASSES = ("national", "provincial", "district", "urban", "rural", "track")
CATEGORIES = ("civil", "duct", "cable", "removal", "radio", "power", "backhaul", "contingency")
_ITEM_KEYS = ("code", "description_vi", "description_en", "unit", "price_vnd", "category", "source")
_REQUIRED_PARAMS = {
    "contingency_share": (0.0, 1.0),
    "labour_share_civil": (0.0, 1.0),
    "spare_ducts": (0, 20),
    "cables_per_duct": (1, 50),
    "manhole_spacing_m": (10.0, 5000.0),
    "satellite_horizon_years": (1, 50),
    "cable_slack_share": (0.0, 1.0),
    # undergrounding: chambers by rule (gisplan.underground._chambers)
    "pulling_length_fibre_m": (20.0, 5000.0),
    "pulling_length_copper_m": (20.0, 5000.0),
    "pulling_length_coax_m": (20.0, 5000.0),
    "chamber_intersection_clearance_m": (0.0, 100.0),
    "drop_reach_m": (1.0, 500.0),
    "max_drop_m": (1.0, 1000.0),
    # undergrounding: the investment estimate (gisplan.underground._estimate)
    "estimate_pm_share": (0.0, 0.2),
    "estimate_consultancy_share": (0.0, 0.3),
    "estimate_other_share": (0.0, 0.2),
    "vat_share": (0.0, 0.3),
    "escalation_rate": (0.0, 0.5),
    "price_base_year": (2000, 2100),
    "duct_rent_d5_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_d10_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_d15_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_d20_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_d35_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_over35_vnd_per_m_month": (0.0, 1_000_000.0),
    "duct_rent_ceiling_vnd_per_m_year": (0.0, 10_000_000.0),
}
_FIBRE_SIZES = (12, 24, 48, 96, 144, 288)


def _unknown_name(section: str, name: str, known: Mapping[str, Any], what_en: str, what_vi: str) -> Problem:
    """The problem of an override naming no entry of the catalog's ``section``, with the nearest valid name."""
    return Problem(
        f"unknown {what_en} {name!r} / {what_vi} {name!r} không xác định",
        layer=f"catalog.{section}",
        hint=did_you_mean(name, known),
    )


@dataclass(frozen=True)
class CatalogItem:
    """One priced line of the catalog."""

    code: str
    description_vi: str
    description_en: str
    unit: str
    price_vnd: int
    category: str
    source: str


@dataclass(frozen=True)
class Catalog:
    """A validated cost catalog (immutable).

    Use :func:`load_catalog` to build one; :meth:`with_overrides` returns a new
    catalog with some prices or parameters changed.
    """

    version: str
    items: Mapping[str, CatalogItem]
    params: Mapping[str, float]
    ap_profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    backhaul: Mapping[str, float] = field(default_factory=dict)
    technologies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    origin: str = "<built-in>"

    # ---- lookups -------------------------------------------------------------------------------------------
    def item(self, code: str) -> CatalogItem:
        """Return the catalog line ``code``; unknown codes raise :class:`CatalogError` with the nearest ones."""
        try:
            return self.items[code]
        except KeyError:
            raise CatalogError(
                f"unknown catalog item {code!r} / không có hạng mục {code!r} trong danh mục giá",
                [
                    Problem(
                        f"no item {code!r} in catalog {self.origin} / danh mục giá không có hạng mục {code!r}",
                        hint=did_you_mean(code, self.items),
                    )
                ],
            ) from None

    def price(self, code: str) -> int:
        """Unit price of ``code`` in VND."""
        return self.item(code).price_vnd

    def param(self, name: str) -> float:
        """A numeric parameter of the catalog (e.g. ``contingency_share``)."""
        try:
            return self.params[name]
        except KeyError:
            raise CatalogError(
                f"unknown catalog parameter {name!r} / danh mục giá không có tham số {name!r}",
                [Problem(f"{name} / tham số không xác định", hint=did_you_mean(name, self.params))],
            ) from None

    def trench_code(self, surface: str) -> str:
        """Catalog code of the trench item for ``surface``."""
        if surface not in SURFACES:
            raise CatalogError(
                f"unknown surface {surface!r}; expected one of {', '.join(SURFACES)} "
                f"/ loại mặt đường {surface!r} không xác định; dùng một trong {', '.join(SURFACES)}"
            )
        return f"TR.{surface.upper()}"

    def traffic_code(self, road_class: str) -> str:
        """Catalog code of the traffic-management surcharge for ``road_class``."""
        if road_class not in ROAD_CLASSES:
            raise CatalogError(
                f"unknown road class {road_class!r}; expected one of {', '.join(ROAD_CLASSES)} "
                f"/ cấp đường {road_class!r} không xác định; dùng một trong {', '.join(ROAD_CLASSES)}"
            )
        return f"TM.{road_class.upper()}"

    def crossing_code(self, road_class: str) -> str:
        """Catalog code of a crossing of a road of ``road_class``."""
        if road_class not in ROAD_CLASSES:
            raise CatalogError(
                f"unknown road class {road_class!r}; expected one of {', '.join(ROAD_CLASSES)} "
                f"/ cấp đường {road_class!r} không xác định; dùng một trong {', '.join(ROAD_CLASSES)}"
            )
        return f"XING.{road_class.upper()}"

    def trench_cost_per_m(self, surface: str, road_class: str) -> int:
        """Trench cost per metre in VND: trench and reinstatement by surface plus traffic management by class."""
        return self.price(self.trench_code(surface)) + self.price(self.traffic_code(road_class))

    def crossing_cost(self, road_class: str) -> int:
        """Cost in VND of one crossing of a road of ``road_class``."""
        return self.price(self.crossing_code(road_class))

    @property
    def duct_reuse_cost_per_m(self) -> int:
        """Cost per metre in VND of reusing an existing free duct (small but positive)."""
        return max(1, self.price("DUCT.REUSE"))

    def cable_code(self, kind: str, fibre_count: int | None = None) -> str:
        """Catalog code for re-pulling a cable of ``kind`` (fibre sizes round up to the next stocked size)."""
        if kind == "fibre":
            n = int(fibre_count or 12)
            size = next((s for s in _FIBRE_SIZES if s >= n), None)
            if size is None:
                raise CatalogError(
                    f"no stocked fibre cable with {n} fibres (largest: {_FIBRE_SIZES[-1]}) "
                    f"/ không có cáp quang {n} sợi (lớn nhất: {_FIBRE_SIZES[-1]} sợi)"
                )
            return f"CAB.FO{size}"
        if kind == "copper":
            return "CAB.CU"
        if kind == "coax":
            return "CAB.COAX"
        raise CatalogError(
            f"unknown cable kind {kind!r}; expected fibre, copper or coax "
            f"/ loại cáp {kind!r} không xác định; dùng fibre (quang), copper (đồng) hoặc coax (đồng trục)"
        )

    @property
    def digest(self) -> str:
        """A short content hash of the catalog (changes with any price or parameter)."""
        payload = {
            "items": {c: [i.unit, i.price_vnd] for c, i in sorted(self.items.items())},
            "params": dict(sorted(self.params.items())),
            "ap_profiles": {k: dict(v) for k, v in sorted(self.ap_profiles.items())},
            "backhaul": dict(sorted(self.backhaul.items())),
            "technologies": {k: dict(v) for k, v in sorted(self.technologies.items())},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]

    # ---- overrides -----------------------------------------------------------------------------------------
    def with_overrides(self, overrides: Mapping[str, Any] | None, *, origin: str = "overrides") -> Catalog:
        """Return a new catalog with prices or parameters replaced.

        ``overrides`` may hold ``prices: {code: int}``, ``params: {name: value}``,
        ``ap_profiles: {name: {key: value}}``, ``backhaul: {key: value}`` and ``technologies: {name: {key: value}}``
        (a ``radio`` value is merged key by key into the technology's radio profile).
        Unknown codes or names are errors naming the nearest valid one.
        """
        if not overrides:
            return self
        raw = self.to_dict()
        problems: list[Problem] = []
        allowed = {"prices", "params", "ap_profiles", "backhaul", "technologies", "version"}
        for key in overrides:
            if key not in allowed:
                problems.append(
                    Problem(
                        f"unknown key {key!r} / khóa {key!r} không hợp lệ",
                        layer="catalog",
                        hint=did_you_mean(key, allowed),
                    )
                )
        by_code = {it["code"]: it for it in raw["items"]}
        for code, price in (overrides.get("prices") or {}).items():
            if code not in by_code:
                problems.append(
                    Problem(
                        f"unknown item {code!r} / không có hạng mục {code!r}",
                        layer="catalog.prices",
                        hint=did_you_mean(code, by_code),
                    )
                )
            else:
                by_code[code]["price_vnd"] = price
                by_code[code]["source"] = f"override ({origin})"
        named = (("params", "parameter", "tham số"), ("backhaul", "backhaul setting", "thiết lập truyền dẫn"))
        for section, en, vi in named:
            for name, value in (overrides.get(section) or {}).items():
                if name in raw[section]:
                    raw[section][name] = value
                else:
                    problems.append(_unknown_name(section, name, raw[section], en, vi))
        for name, prof in (overrides.get("ap_profiles") or {}).items():
            base = dict(raw["ap_profiles"].get(name, {}))
            base.update(prof or {})
            raw["ap_profiles"][name] = base
        for name, tech in (overrides.get("technologies") or {}).items():
            if name not in raw["technologies"]:
                problems.append(_unknown_name("technologies", name, raw["technologies"], "technology", "công nghệ"))
                continue
            base = dict(raw["technologies"][name])
            for key, value in (tech or {}).items():
                base[key] = {**dict(base.get("radio") or {}), **dict(value)} if key == "radio" else value
            raw["technologies"][name] = base
        if problems:
            raise CatalogError("invalid catalog overrides / giá sửa đổi của danh mục không hợp lệ", problems)
        if "version" in overrides:
            raw["version"] = str(overrides["version"])
        else:
            raw["version"] = f"{self.version}+{origin}"
        return catalog_from_dict(raw, origin=f"{self.origin} + {origin}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form of the catalog (YAML-able)."""
        return {
            "version": self.version,
            "currency": "VND",
            "params": dict(self.params),
            "items": [dict(vars(i)) for i in self.items.values()],
            "ap_profiles": {k: dict(v) for k, v in self.ap_profiles.items()},
            "backhaul": dict(self.backhaul),
            "technologies": {k: dict(v) for k, v in self.technologies.items()},
        }

    def to_frame(self) -> Any:
        """The catalog's items as a pandas DataFrame (for display and the BOQ unit-price sheet)."""
        import pandas as pd

        return pd.DataFrame([vars(i) for i in self.items.values()], columns=list(_ITEM_KEYS))


def catalog_from_dict(raw: Mapping[str, Any], *, origin: str = "<dict>") -> Catalog:
    """Validate a plain catalog mapping and build a :class:`Catalog`; every problem is reported at once."""
    problems: list[Problem] = []
    if not isinstance(raw, Mapping):
        raise CatalogError(f"catalog {origin} is not a mapping / danh mục giá {origin} không phải bảng khóa: giá trị")
    if raw.get("currency", "VND") != "VND":
        problems.append(
            Problem(
                "currency must be VND / đơn vị tiền phải là VND",
                file=origin,
                column="currency",
                value=raw.get("currency"),
            )
        )
    items: dict[str, CatalogItem] = {}
    for n, it in enumerate(raw.get("items") or []):
        row = it.get("code", n) if isinstance(it, Mapping) else n
        if not isinstance(it, Mapping):
            problems.append(
                Problem(
                    "item is not a mapping / hạng mục không phải bảng khóa: giá trị", file=origin, layer="items", row=n
                )
            )
            continue
        missing = [k for k in _ITEM_KEYS if k not in it]
        for k in missing:
            problems.append(Problem("missing key / thiếu khóa", file=origin, layer="items", row=row, column=k))
        unknown = [k for k in it if k not in _ITEM_KEYS]
        for k in unknown:
            problems.append(
                Problem(
                    "unknown key / khóa không hợp lệ",
                    file=origin,
                    layer="items",
                    row=row,
                    column=k,
                    hint=did_you_mean(k, _ITEM_KEYS),
                )
            )
        if missing or unknown:
            continue
        price = it["price_vnd"]
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            problems.append(
                Problem(
                    "price must be a non-negative whole number of VND / đơn giá phải là số nguyên VND không âm",
                    file=origin,
                    layer="items",
                    row=row,
                    column="price_vnd",
                    value=price,
                )
            )
            continue
        if it["category"] not in CATEGORIES:
            problems.append(
                Problem(
                    "unknown category / nhóm hạng mục không xác định",
                    file=origin,
                    layer="items",
                    row=row,
                    column="category",
                    value=it["category"],
                    hint="one of " + ", ".join(CATEGORIES) + " / một trong " + ", ".join(CATEGORIES),
                )
            )
            continue
        if it["code"] in items:
            problems.append(
                Problem(
                    "duplicate item code / mã hạng mục bị trùng", file=origin, layer="items", row=row, column="code"
                )
            )
            continue
        items[str(it["code"])] = CatalogItem(**{k: it[k] for k in _ITEM_KEYS})
    params = dict(raw.get("params") or {})
    for name, (lo, hi) in _REQUIRED_PARAMS.items():
        if name not in params:
            problems.append(Problem("missing parameter / thiếu tham số", file=origin, layer="params", column=name))
            continue
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not (lo <= v <= hi):
            problems.append(
                Problem(
                    f"parameter must be a number in [{lo}, {hi}] / tham số phải là số trong [{lo}, {hi}]",
                    file=origin,
                    layer="params",
                    column=name,
                    value=v,
                )
            )
    for name in params:
        if name not in _REQUIRED_PARAMS:
            problems.append(
                Problem(
                    "unknown parameter / tham số không xác định",
                    file=origin,
                    layer="params",
                    column=name,
                    hint=did_you_mean(name, _REQUIRED_PARAMS),
                )
            )
    required_codes = (
        [f"TR.{s.upper()}" for s in SURFACES]
        + [f"TM.{c.upper()}" for c in ROAD_CLASSES]
        + [f"XING.{c.upper()}" for c in ROAD_CLASSES]
        + [f"CAB.FO{s}" for s in _FIBRE_SIZES]
        + ["CAB.CU", "CAB.COAX", "MH.STD", "HH.STD", "DUCT.HDPE40", "DUCT.REUSE", "POLE.REMOVE", "AERIAL.REMOVE"]
        + ["PTP.5G", "PTP.LONG", "SAT.TERMINAL", "SAT.FEE", "SUB.CABLE", "SUB.LANDING", "FO.DROP", "CONTINGENCY"]
        + ["POWER.SOLAR", "MAST.15M"]
        # yearly lines of the wifi plan (gisplan.wifi.money)
        + ["VSAT.FEE", "POWER.GRID", "TRANSIT.MBPS", "SAT.MBPS", "VSAT.MBPS", "RENT.TOWER", "RENT.POLE"]
    )
    if not problems:
        for code in required_codes:
            if code not in items:
                problems.append(
                    Problem("required item missing / thiếu hạng mục bắt buộc", file=origin, layer="items", row=code)
                )
    ap_profiles = {str(k): dict(v) for k, v in (raw.get("ap_profiles") or {}).items()}
    for name, prof in ap_profiles.items():
        profile_code = prof.get("item_code")
        if profile_code not in items:
            problems.append(
                Problem(
                    "profile names an unknown item_code / cấu hình ghi mã hạng mục không tồn tại",
                    file=origin,
                    layer="ap_profiles",
                    row=name,
                    column="item_code",
                    value=profile_code,
                )
            )
    backhaul = dict(raw.get("backhaul") or {})
    technologies = {str(k): dict(v or {}) for k, v in (raw.get("technologies") or {}).items()}
    for name, tech in technologies.items():
        for key in ("site_items", "household_items"):
            for code in tech.get(key) or []:
                if code not in items:
                    problems.append(
                        Problem("technology names an unknown item / công nghệ ghi hạng mục không tồn tại",
                                file=origin, layer="technologies", row=name, column=key, value=code)
                    )  # fmt: skip
    if problems:
        raise CatalogError(f"invalid cost catalog {origin} / danh mục giá {origin} không hợp lệ", problems)
    return Catalog(
        version=str(raw.get("version", "unversioned")),
        items=items,
        params=params,
        ap_profiles=ap_profiles,
        backhaul=backhaul,
        technologies=technologies,
        origin=origin,
    )


def load_catalog(path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None) -> Catalog:
    """Load a cost catalog (the package's default when ``path`` is None) and apply ``overrides``.

    Raises
    ------
    CatalogError
        Listing every problem of the file (missing keys, negative prices, unknown categories, ...).
    """
    if path is None:
        text = resources.files("gisplan.catalog").joinpath("catalog.yaml").read_text(encoding="utf-8")
        origin = "gisplan/catalog/catalog.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise CatalogError(f"catalog file not found: {p} / không tìm thấy tệp danh mục giá {p}")
        try:
            text = read_utf8(p)
        except YamlInputError as exc:
            raise CatalogError(
                f"catalog {p} cannot be read / không đọc được danh mục giá {p}",
                [
                    Problem(
                        str(exc), file=str(p), hint="save the catalog file as UTF-8 / lưu tệp danh mục giá dạng UTF-8"
                    )
                ],
            ) from None
        origin = str(p)
    try:
        raw = load_yaml(text)
    except YamlInputError as exc:
        raise CatalogError(
            f"catalog {origin} is refused / danh mục giá {origin} bị từ chối",
            [Problem(f"{origin}: {exc} / danh mục giá bị từ chối", file=origin)],
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogError(
            f"catalog {origin} is not valid YAML: {exc} / danh mục giá {origin} không đúng cú pháp YAML"
        ) from None
    cat = catalog_from_dict(raw, origin=origin)
    return cat.with_overrides(overrides) if overrides else cat
