"""Scenario files: YAML that names layers, drawn geometries, planner parameters and catalog overrides.

Parsing is strict: an unknown key is an error naming the nearest valid key, and a
bad type or value names its path (``wifi.budget_vnd``).  Every key, with its
type, default and meaning, is declared once in :data:`SPEC`;
``scenarios/template.yaml`` is rendered from it (:func:`render_template`) and a
test keeps the two in step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml

from gisplan._errors import CatalogError, CRSError, Problem, ScenarioError, did_you_mean
from gisplan._yaml import YamlInputError, load_yaml, read_utf8
from gisplan.catalog._catalog import load_catalog
from gisplan.io.layers import read_file
from gisplan.io.project import parse_region
from gisplan.io.schemas import KINDS
from gisplan.wifi.params import TECHNOLOGIES


@dataclass(frozen=True)
class Key:
    """One scenario key: its type, default and meaning (English, then Vietnamese)."""

    type: str  # str, int, float, bool, list[str], geometry, mapping, crs, path, bbox
    default: Any
    doc: str
    doc_vi: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False
    example: Any = None


_GEOM_DOC = (
    "inline GeoJSON (a FeatureCollection, Feature or geometry, WGS 84 lon/lat) or a path to a layer file "
    "(relative to the scenario file)"
)
#: The same in Vietnamese, for the fix of a geometry that cannot be read.
_GEOM_DOC_VI = (
    "GeoJSON viết trực tiếp (FeatureCollection, Feature hoặc hình học, kinh độ/vĩ độ WGS 84) hoặc đường dẫn tới tệp "
    "lớp (tính từ thư mục của tệp kịch bản)"
)

SPEC: dict[str, Any] = {
    "scenario_version": Key("int", 1, "format version of this file", "phiên bản định dạng", choices=(1,)),
    "title": Key(
        "str",
        None,
        "short title of the scenario",
        "tên kịch bản",
        required=True,
        example="Ngầm hóa trung tâm Dương Đông",
    ),
    "description": Key("str", "", "what the scenario is for", "mô tả"),
    "author": Key("str", "", "who wrote it", "người lập"),
    "layers": {
        "source": Key(
            "path",
            None,
            "GeoPackage whose layers are named by kind (roads, poles, ...), relative to the "
            "scenario file; 'demo' for the embedded Phú Quốc demo",
            "nguồn dữ liệu lớp",
            required=True,
            example="demo",
        ),
        "crs": Key(
            "crs", None, "CRS of layer files that state none (e.g. EPSG:4326, EPSG:9207)", "hệ tọa độ khi tệp không ghi"
        ),
        "files": Key(
            "mapping",
            {},
            "per-kind layer files replacing those of the source, e.g. {poles: cot.csv}",
            "tệp riêng cho từng lớp",
        ),
        "metric_crs": Key(
            "crs",
            None,
            "projected CRS in metres every length is computed in (empty: the UTM zone of the data's centre, "
            "EPSG:32648 in Kiên Giang)",
            "hệ tọa độ tính toán (mét); để trống: múi UTM của vùng dữ liệu",
        ),
        "region": Key(
            "bbox",
            None,
            "plausible extent of the data [west, south, east, north] in degrees; rows outside are errors (empty: "
            "Vietnam for data in Vietnam, else the extent of the boundaries or of the bulk of the data, with a "
            "margin)",
            "phạm vi hợp lý của dữ liệu [tây, nam, đông, bắc] (độ), ví dụ [103.4, 9.2, 104.2, 10.5]",
        ),
    },
    "geometries": {
        "zones": Key("geometry", None, "undergrounding zones (polygons): " + _GEOM_DOC, "vùng ngầm hóa"),
        "forced_corridors": Key(
            "geometry",
            None,
            "lines the trench network must follow (road edges within 15 m of them are made nearly free for the "
            "routing, their ends become terminals; the BOQ prices them in full): " + _GEOM_DOC,
            "tuyến bắt buộc",
        ),
        "forbidden_corridors": Key(
            "geometry", None, "areas or lines (buffered 10 m) where no trench may be dug: " + _GEOM_DOC, "tuyến cấm đào"
        ),
        "candidate_sites": Key(
            "geometry", None, "planner-placed wifi candidate points: " + _GEOM_DOC, "điểm lắp đặt đề xuất"
        ),
        "exclusion_areas": Key(
            "geometry",
            None,
            "areas where no wifi site may be placed (sites and drawn candidates inside are dropped): " + _GEOM_DOC,
            "vùng loại trừ",
        ),
        "focus_areas": Key(
            "geometry",
            None,
            "areas the wifi plan serves (all unserved settlements when empty): " + _GEOM_DOC,
            "vùng ưu tiên phủ sóng",
        ),
    },
    "underground": {
        "enabled": Key("bool", False, "plan undergrounding", "lập phương án ngầm hóa"),
        "budget_per_year_vnd": Key(
            "int",
            None,
            "yearly budget in VND (required when enabled)",
            "ngân sách mỗi năm",
            minimum=1,
            example=20_000_000_000,
        ),
        "start_year": Key("int", 2027, "first year of the roadmap", "năm bắt đầu", minimum=2000, maximum=2100),
        "max_years": Key("int", 20, "longest roadmap in years", "số năm tối đa", minimum=1, maximum=100),
        "manhole_spacing_m": Key(
            "float",
            None,
            "largest spacing of manholes/handholes in metres (catalog default when empty)",
            "khoảng cách tối đa giữa hố ga",
            minimum=10,
            maximum=5000,
        ),
        "exchange_ids": Key(
            "list[str]",
            [],
            "site ids of the serving exchanges/POPs (nearest with fibre when empty)",
            "tổng đài phục vụ",
        ),
        "owners": Key("list[str]", [], "move only the cables of these owners (all when empty)", "chủ sở hữu cáp"),
        "shortcuts": Key(
            "bool",
            True,
            "add short trenches that close street loops where they save more cable than they cost",
            "thêm đoạn hào nối vòng khi tiết kiệm cáp",
        ),
        "shortcut_max_m": Key(
            "float",
            400.0,
            "longest road path considered as a shortcut, in metres",
            "chiều dài tối đa của đoạn nối",
            minimum=1,
            maximum=5000,
        ),
        "max_detour_ratio": Key(
            "float",
            1.5,
            "longest underground path of a moved span as a multiple of its aerial length; trench is added where "
            "needed (empty: no limit)",
            "giới hạn đi vòng của cáp",
            minimum=1,
            maximum=100,
        ),
        "share_ducts": Key(
            "bool",
            False,
            "let operators share a duct (each operator's cables in its own ducts when false)",
            "cho phép các doanh nghiệp dùng chung ống",
        ),
        "joint_with_power": Key(
            "bool",
            False,
            "joint undergrounding with the power utility: shared trench, civil works split by power_cost_share, "
            "its poles removed",
            "ngầm hóa chung với điện lực",
        ),
        "power_cost_share": Key(
            "float",
            0.5,
            "share of the shared trench's civil works the power utility pays",
            "tỷ lệ chi phí điện lực chịu",
            minimum=0,
            maximum=0.99,
        ),
    },
    "wifi": {
        "enabled": Key("bool", False, "plan remote-area wifi", "lập phương án wifi"),
        "budget_vnd": Key(
            "int",
            None,
            "budget in VND for the BOQ total, contingency included (empty with cover_all: cover everyone at least "
            "cost)",
            "ngân sách: tổng dự toán, gồm dự phòng",
            minimum=1,
            example=5_000_000_000,
        ),
        "cover_all": Key(
            "bool",
            False,
            "cover every unserved settlement at least cost instead of a budget",
            "phủ toàn bộ với chi phí thấp nhất",
        ),
        "coverage_technologies": Key(
            "list[str]", ["4G", "5G"], "technologies that count as served", "công nghệ coi là đã phủ"
        ),
        "min_quality": Key(
            "str",
            "good",
            "least coverage quality that counts as served",
            "chất lượng tối thiểu",
            choices=("good", "fair", "poor"),
        ),
        "weight": Key(
            "str",
            "population",
            "what a settlement weighs in the selection",
            "trọng số",
            choices=("population", "households"),
        ),
        "candidate_kinds": Key(
            "list[str]",
            ["commune_hq", "school", "health", "community", "tower", "pole"],
            "site kinds that may host an access point",
            "loại điểm lắp đặt",
        ),
        "profiles": Key(
            "list[str]", [], "access-point profiles of the catalog to use (all when empty)", "cấu hình thiết bị"
        ),
        "generate_candidates": Key(
            "bool", True, "add a candidate with a mast at settlements no candidate reaches", "tự sinh điểm lắp đặt"
        ),
        "require_power": Key(
            "bool",
            False,
            "exclude candidates without mains power (else a solar kit is added)",
            "chỉ dùng điểm có điện lưới",
        ),
        "connect_all_commune_hq": Key(
            "bool", True, "connect every commune People's Committee that lacks service", "kết nối mọi UBND xã"
        ),
        "satellite_horizon_years": Key(
            "int",
            None,
            "years of satellite fees counted (catalog default when empty)",
            "số năm tính cước vệ tinh",
            minimum=1,
            maximum=50,
        ),
        "time_limit_s": Key(
            "float",
            30.0,
            "time limit of the exact site selection in seconds",
            "giới hạn thời gian tối ưu",
            minimum=0.1,
            maximum=3600,
        ),
        "elevation": Key(
            "path",
            None,
            "elevation raster (GeoTIFF) for line of sight, relative to the scenario file",
            "mô hình độ cao",
        ),
        "year": Key(
            "int", 2027, "year of the wifi investment (its BOQ phase)", "năm đầu tư", minimum=2000, maximum=2100
        ),
        "spread_households": Key(
            "bool",
            True,
            "spread each settlement's households over its area (buildings layer, else generated and seeded); false "
            "puts them on the settlement point",
            "phân bố hộ gia đình trong khu dân cư",
        ),
        "technologies": Key(
            "list[str]",
            ["public_wifi"],
            "technologies a village may be served by, the cheapest life-cycle cost that meets its demand chosen: "
            "public_wifi, small_cell_4g (operator 4G small cell), fwa (fixed wireless access from an existing "
            "tower), tower_4g (within an existing tower's reach: upgrade and backhaul only)",
            "công nghệ phục vụ thôn",
        ),
    },
    "catalog": {
        "file": Key("path", None, "a catalog YAML replacing the built-in one", "tệp đơn giá"),
        "prices": Key(
            "mapping", {}, "unit prices in VND replacing the catalog's, e.g. {MH.STD: 20000000}", "đơn giá thay thế"
        ),
        "params": Key(
            "mapping",
            {},
            "catalog parameters replacing the defaults, e.g. {contingency_share: 0.05}",
            "tham số thay thế",
        ),
    },
}


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario (immutable).

    ``values`` holds every key with defaults filled in; ``geometries`` the drawn
    geometries as GeoDataFrames in WGS 84 (missing ones are absent).
    """

    values: Mapping[str, Any]
    geometries: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    path: Path | None = None
    text: str = ""

    @property
    def title(self) -> str:
        return str(self.values["title"])

    @property
    def name(self) -> str:
        """A file-name-like name for the store: the file's stem, or a slug of the title."""
        if self.path is not None:
            return self.path.stem
        return _slug(self.title)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values[name])

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical form of the scenario (values + geometries), independent of comments/ordering."""
        payload = {
            "values": _jsonable(self.values),
            "geometries": {k: json.loads(v.to_json(sort_keys=True)) for k, v in sorted(self.geometries.items())},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def resolve(self, p: str) -> Path:
        """A path named in the scenario, relative to the scenario file."""
        q = Path(p)
        return q if q.is_absolute() else (self.base_dir() / q)


def _slug(text: str) -> str:
    import unicodedata

    t = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return "-".join("".join(c if c.isalnum() else " " for c in t).split()) or "scenario"


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


# ------------------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------------------
def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ScenarioError
        Listing every problem, each naming its key path.
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(
            f"scenario file not found: {p} / không tìm thấy tệp kịch bản {p}",
            [Problem("file not found / không tìm thấy tệp", file=str(p), hint="check the path / kiểm tra đường dẫn")],
        )
    try:
        text = read_utf8(p)
    except YamlInputError as exc:
        raise ScenarioError(
            f"scenario {p} cannot be read (không đọc được kịch bản)",
            [Problem(str(exc), file=str(p), hint="save the scenario file as UTF-8 / lưu tệp kịch bản dạng UTF-8")],
        ) from None
    return parse_scenario(text, path=p)


def parse_scenario(text: str, *, path: Path | None = None) -> Scenario:
    """Parse scenario YAML ``text`` (``path`` locates relative files and names the file in messages)."""
    fname = str(path) if path else "<scenario>"
    try:
        raw = load_yaml(text)
    except YamlInputError as exc:
        raise ScenarioError(
            f"{fname} is refused (kịch bản bị từ chối)",
            [
                Problem(
                    str(exc),
                    file=fname,
                    hint="write the values out instead of YAML aliases "
                    "/ ghi thẳng các giá trị, không dùng bí danh YAML",
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        where_vi = f" tại dòng {mark.line + 1}, cột {mark.column + 1}" if mark else ""
        raise ScenarioError(
            f"{fname} is not valid YAML{where} / kịch bản không đúng cú pháp YAML{where_vi}",
            [
                Problem(
                    str(getattr(exc, "problem", exc)) + " / lỗi cú pháp YAML",
                    file=fname,
                    hint="check indentation and quoting / kiểm tra thụt lề và dấu ngoặc kép",
                )
            ],
        ) from None
    if not isinstance(raw, Mapping):
        raise ScenarioError(
            f"{fname} must be a mapping of keys (title, layers, ...) / kịch bản phải là bảng khóa: giá trị "
            "(title, layers, ...)"
        )
    problems: list[Problem] = []
    values = _check_section(raw, SPEC, "", fname, problems)
    und, wifi = values["underground"], values["wifi"]
    raw_und: Mapping[str, Any] = raw["underground"] if isinstance(raw.get("underground"), Mapping) else {}
    if und["enabled"] and raw_und.get("budget_per_year_vnd") is None:  # a wrong value is reported already
        problems.append(
            Problem(
                "required when underground.enabled is true / bắt buộc khi underground.enabled là true",
                file=fname,
                column="underground.budget_per_year_vnd",
                hint="give the yearly budget in VND / ghi ngân sách hằng năm (VND)",
            )
        )
    bad_tech = [t for t in wifi["technologies"] if t not in TECHNOLOGIES]
    if bad_tech or not wifi["technologies"]:
        problems.append(
            Problem(
                f"unknown technology {', '.join(map(repr, bad_tech)) or '(none given)'} / công nghệ không hợp lệ",
                file=fname,
                column="wifi.technologies",
                hint=f"choose among {', '.join(TECHNOLOGIES)} / chọn trong số {', '.join(TECHNOLOGIES)}",
            )
        )
    if wifi["enabled"] and wifi["budget_vnd"] is None and not wifi["cover_all"]:
        problems.append(
            Problem(
                "give a budget or set wifi.cover_all: true / ghi ngân sách hoặc đặt wifi.cover_all: true",
                file=fname,
                column="wifi.budget_vnd",
            )
        )
    if not und["enabled"] and not wifi["enabled"] and not problems:
        problems.append(
            Problem(
                "the scenario plans nothing / kịch bản không lập phương án nào",
                file=fname,
                column="underground.enabled",
                hint="set underground.enabled or wifi.enabled to true "
                "/ đặt underground.enabled hoặc wifi.enabled là true",
            )
        )
    problems += _layer_file_kinds(values["layers"]["files"], fname)
    scen = Scenario(values=values, path=path, text=text)
    geoms: dict[str, gpd.GeoDataFrame] = {}
    for name, value in values["geometries"].items():
        if value is None:
            continue
        try:
            geoms[name] = _geometry(value, scen)
        except (ValueError, OSError) as exc:
            problems.append(_geometry_problem(exc, value, scen, fname, name))
    if und["enabled"] and values["geometries"]["zones"] is None:  # a zone that fails to load is reported already
        problems.append(
            Problem(
                "undergrounding needs at least one zone / ngầm hóa cần ít nhất một vùng",
                file=fname,
                column="geometries.zones",
                hint="draw a zone polygon in the app or give GeoJSON / vẽ vùng trong ứng dụng hoặc cho GeoJSON",
            )
        )
    if values["catalog"]["prices"] or values["catalog"]["params"] or values["catalog"]["file"]:
        try:
            scenario_catalog(
                scen, base=load_catalog(scen.resolve(values["catalog"]["file"])) if values["catalog"]["file"] else None
            )
        except CatalogError as exc:
            for pr in exc.problems or [Problem(exc.summary)]:
                problems.append(
                    Problem(pr.message, file=fname, column=f"catalog.{_catalog_path(pr)}", value=pr.value, hint=pr.hint)
                )
    if problems:
        raise ScenarioError(f"scenario {fname} is invalid (kịch bản không hợp lệ)", problems)
    return Scenario(values=values, geometries=geoms, path=path, text=text)


def _layer_file_kinds(files: Mapping[str, Any], fname: str) -> list[Problem]:
    """A problem for each ``layers.files`` key that is not a layer kind, naming the nearest kind."""

    problems = []
    for kind in files:
        if kind not in KINDS:
            problems.append(
                Problem(
                    "not a layer kind / không phải loại lớp dữ liệu",
                    file=fname,
                    column=f"layers.files.{kind}",
                    hint=did_you_mean(kind, KINDS, n=1, listing="use one of", listing_vi="dùng một trong"),
                )
            )
    return problems


def _geometry_problem(exc: Exception, value: Any, scen: Scenario, fname: str, name: str) -> Problem:
    """The problem of a geometry that failed to load: its cause in one line, and where a file was looked for."""
    summary = getattr(exc, "summary", None) or str(exc).splitlines()[0]
    if isinstance(value, str):
        where = scen.resolve(value)
        return Problem(
            f"cannot read the geometry file / không đọc được tệp hình học: {summary}",
            file=fname,
            column=f"geometries.{name}",
            value=value,
            hint=f"looked for {where.absolute()} (paths are relative to the scenario file); give a GeoJSON, "
            "GeoPackage, zipped Shapefile or KML file, or inline GeoJSON / đã tìm tệp ở đường dẫn trên (tính từ thư "
            "mục của tệp kịch bản); hãy cho tệp GeoJSON, GeoPackage, Shapefile nén ZIP hoặc KML, "
            "hoặc GeoJSON viết trực tiếp",
        )
    return Problem(summary, file=fname, column=f"geometries.{name}", hint=f"{_GEOM_DOC} / {_GEOM_DOC_VI}")


def scenario_values(text: str) -> dict[str, Any]:
    """Every key of scenario ``text`` with the defaults filled in, without reading any file it names.

    Lenient, for looking at scenarios saved with a run or a version (e.g. comparing their parameters): the
    layer, geometry and catalog files the scenario names are not opened (they are relative to a folder the
    saved text no longer sits in), geometries stay as written (inline GeoJSON or a path), and values the
    parser would refuse are kept as given.

    Raises
    ------
    ScenarioError
        When ``text`` is not YAML or not a mapping of keys.
    """
    try:
        raw = load_yaml(text)
    except YamlInputError as exc:
        raise ScenarioError(f"the saved scenario is refused (kịch bản đã lưu bị từ chối): {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"the saved scenario is not valid YAML (kịch bản không đúng cú pháp YAML): {exc}") from None
    if not isinstance(raw, Mapping):
        raise ScenarioError(
            "the saved scenario is not a mapping of keys (title, layers, ...) "
            "/ kịch bản đã lưu không phải bảng khóa: giá trị"
        )
    return _lenient(raw, SPEC)


def _lenient(raw: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in spec.items():
        value = raw.get(key)
        if isinstance(sub, dict):
            out[key] = _lenient(value if isinstance(value, Mapping) else {}, sub)
        else:
            out[key] = _copy_default(sub.default) if value is None else value
    for key in raw:  # keys this gisplan does not know are kept, so that a difference in them still shows
        if key not in spec:
            out[str(key)] = raw[key]
    return out


def _catalog_path(pr: Problem) -> str:
    layer = (pr.layer or "").replace("catalog.", "")
    return f"{layer}.{pr.row or pr.column or ''}".strip(".") if layer else str(pr.column or pr.row or "")


def _check_section(
    raw: Mapping[str, Any], spec: Mapping[str, Any], prefix: str, fname: str, problems: list[Problem]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in raw:
        if key not in spec:
            problems.append(
                Problem(
                    "unknown key / khóa không hợp lệ",
                    file=fname,
                    column=f"{prefix}{key}",
                    hint=did_you_mean(
                        key, spec, prefix=prefix, n=1, listing="valid keys here", listing_vi="các khóa hợp lệ ở đây"
                    ),
                )
            )
    for key, sub in spec.items():
        path = f"{prefix}{key}"
        if isinstance(sub, dict):
            val = raw.get(key) or {}
            if not isinstance(val, Mapping):
                problems.append(
                    Problem(
                        "must be a mapping of keys / phải là bảng khóa: giá trị", file=fname, column=path, value=val
                    )
                )
                val = {}
            out[key] = _check_section(val, sub, f"{path}.", fname, problems)
            continue
        if key not in raw or raw[key] is None:
            if sub.required:
                problems.append(
                    Problem(
                        "required key missing / thiếu khóa bắt buộc",
                        file=fname,
                        column=path,
                        hint=f"e.g. {path}: {sub.example!r} / ví dụ {path}: {sub.example!r}"
                        if sub.example is not None
                        else None,
                    )
                )
            out[key] = _copy_default(sub.default)
            continue
        try:
            out[key] = _check_value(raw[key], sub)
        except ValueError as exc:
            problems.append(
                Problem(
                    str(exc),
                    file=fname,
                    column=path,
                    value=raw[key],
                    hint=f"see {path} in scenarios/template.yaml / xem {path} trong tệp mẫu scenarios/template.yaml",
                )
            )
            out[key] = _copy_default(sub.default)
    return out


def _copy_default(v: Any) -> Any:
    return list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v


def _check_value(v: Any, k: Key) -> Any:
    t = k.type
    if t in ("str", "path"):
        if not isinstance(v, str):
            raise ValueError("expected text / cần văn bản")
        out: Any = v
    elif t == "crs":
        from pyproj import CRS
        from pyproj.exceptions import CRSError as ProjCRSError

        try:
            CRS.from_user_input(v)
        except ProjCRSError:
            raise ValueError("not a CRS pyproj knows (e.g. EPSG:4326) / hệ tọa độ không hợp lệ") from None
        out = str(v)
    elif t == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise ValueError("expected a whole number (no units, no separators) / cần số nguyên")
        out = v
    elif t == "float":
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError("expected a number / cần một số")
        out = float(v)
    elif t == "bool":
        if not isinstance(v, bool):
            raise ValueError("expected true or false / cần true hoặc false")
        out = v
    elif t == "list[str]":
        if isinstance(v, str) or not isinstance(v, list) or not all(isinstance(x, str | int) for x in v):
            raise ValueError("expected a list of names, e.g. [a, b] / cần danh sách")
        out = [str(x) for x in v]
    elif t == "bbox":
        if (
            isinstance(v, str)
            or not isinstance(v, list)
            or len(v) != 4
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        ):
            raise ValueError("expected [west, south, east, north] in degrees / cần [tây, nam, đông, bắc]")
        try:
            out = list(parse_region(v) or ())
        except CRSError:
            raise ValueError("need west < east and south < north, in degrees / tây < đông, nam < bắc") from None
    elif t == "mapping":
        if not isinstance(v, Mapping):
            raise ValueError("expected a mapping, e.g. {key: value} / cần bảng khóa: giá trị")
        out = dict(v)
    elif t == "geometry":
        if not isinstance(v, str | Mapping):
            raise ValueError("expected inline GeoJSON or a file path / cần GeoJSON viết trực tiếp hoặc đường dẫn tệp")
        out = v
    else:  # pragma: no cover - SPEC is ours
        raise AssertionError(t)
    if k.choices is not None and out not in k.choices:
        raise ValueError("not one of / không thuộc " + ", ".join(map(str, k.choices)))
    if isinstance(out, int | float) and not isinstance(out, bool):
        if k.minimum is not None and out < k.minimum:
            raise ValueError(f"must be at least / tối thiểu {k.minimum:g}")
        if k.maximum is not None and out > k.maximum:
            raise ValueError(f"must be at most / tối đa {k.maximum:g}")
    return out


def _geometry(value: str | Mapping[str, Any], scen: Scenario) -> gpd.GeoDataFrame:
    """Inline GeoJSON or a layer file -> GeoDataFrame in WGS 84."""
    if isinstance(value, str):
        gdf = read_file(scen.resolve(value))
        return gdf.to_crs("EPSG:4326")
    obj = dict(value)
    typ = obj.get("type")
    if typ == "FeatureCollection":
        feats = obj.get("features") or []
    elif typ == "Feature":
        feats = [obj]
    elif typ in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"):
        feats = [{"type": "Feature", "properties": {}, "geometry": obj}]
    else:
        raise ValueError(f"not GeoJSON: type {typ!r} / không phải GeoJSON: kiểu {typ!r}")
    if not feats:
        raise ValueError("the FeatureCollection has no features / FeatureCollection không có đối tượng nào")
    try:
        gdf = gpd.GeoDataFrame.from_features(feats, crs="EPSG:4326")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"invalid GeoJSON feature: {exc} / đối tượng GeoJSON không hợp lệ") from None
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        raise ValueError("a feature has no geometry / có đối tượng không có hình học")
    if not gdf.is_valid.all():
        raise ValueError("a geometry is invalid (self-intersecting polygon?) / hình học không hợp lệ (vùng tự cắt?)")
    return gdf


def scenario_catalog(scen: Scenario, *, base: Any = None) -> Any:
    """The cost catalog of a scenario: the built-in one (or ``catalog.file``) with the scenario's overrides."""

    cat = (
        base
        if base is not None
        else (
            load_catalog(scen.resolve(scen.values["catalog"]["file"]))
            if scen.values["catalog"]["file"]
            else load_catalog()
        )
    )
    ov = {
        k: v
        for k, v in (("prices", scen.values["catalog"]["prices"]), ("params", scen.values["catalog"]["params"]))
        if v
    }
    return cat.with_overrides(ov, origin=f"scenario {scen.name}") if ov else cat


# ------------------------------------------------------------------------------------------------------------
# the template
# ------------------------------------------------------------------------------------------------------------
def spec_paths(spec: Mapping[str, Any] = SPEC, prefix: str = "") -> list[str]:
    """Every key path the parser accepts, e.g. ``wifi.budget_vnd``."""
    out = []
    for k, v in spec.items():
        if isinstance(v, dict):
            out += spec_paths(v, f"{prefix}{k}.")
        else:
            out.append(f"{prefix}{k}")
    return out


def render_template() -> str:
    """The text of ``scenarios/template.yaml``: every key with its type, default and meaning."""
    lines = [
        "# gisplan scenario template: every key the parser accepts, with its type, default and meaning.",
        "# Mẫu kịch bản gisplan: mọi khóa hợp lệ, kiểu dữ liệu, giá trị mặc định và ý nghĩa.",
        "#",
        "# Generated by gisplan.workflow.scenario.render_template(); a test keeps it in step with the parser.",
        "# Unknown keys are errors (the message names the nearest valid key). Paths are relative to this file.",
        "# Geometries: inline GeoJSON in WGS 84 lon/lat, or a path to a layer file.",
        "",
    ]

    def emit(spec: Mapping[str, Any], indent: int) -> None:
        pad = "  " * indent
        for k, v in spec.items():
            if isinstance(v, dict):
                lines.append(f"{pad}{k}:")
                emit(v, indent + 1)
                continue
            default = "required" if v.required else f"default {json.dumps(v.default, ensure_ascii=False)}"
            extra = ""
            if v.choices:
                extra = "; one of " + ", ".join(map(str, v.choices))
            if v.minimum is not None or v.maximum is not None:
                lo = "" if v.minimum is None else f"{v.minimum:g}"
                hi = "" if v.maximum is None else f"{v.maximum:g}"
                extra += f"; range {lo}..{hi}"
            lines.append(f"{pad}# {v.type}, {default}{extra}: {v.doc} ({v.doc_vi})")
            value = v.example if v.example is not None else v.default
            lines.append(f"{pad}{k}: {_yaml_scalar(value)}")

    emit(SPEC, 0)
    return "\n".join(lines) + "\n"


def _yaml_scalar(v: Any) -> str:
    if v is None:
        return "null"
    return (
        yaml.safe_dump(v, allow_unicode=True, default_flow_style=True, width=1000).strip().removesuffix("...").strip()
    )
