"""Every error a user can cause in the library says it in English and Vietnamese ("English / Tiếng Việt").

Planners read Vietnamese first.  Statically, every ``raise`` of a gisplan error (and of the ``ValueError`` /
``OSError`` family where those reach a user as a message) in the workflow, store, catalog, io, outputs, planners,
YAML, atomic-write and CLI modules, and every ``Problem`` message and hint there, holds Vietnamese; the few that
only a programming mistake can reach are listed by name in :data:`ENGLISH_ONLY`.  On bad input (an unknown
scenario key, a layer missing a column, a catalog item that does not exist, a bad version ref, an artifact name,
a programme with an unknown key, an AP profile missing a key, a BOQ missing columns, a recursive YAML alias, a
bad settings value), the error raised keeps its English first and unchanged, then gives the Vietnamese.

(tests/test_texts_vi.py and tests/test_texts_vi_io.py scan the planners' and the readers' modules; this file
scans every module a user's input, file, store or command reaches.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from source_text import literal_text, module_constants

ROOT = Path(__file__).resolve().parents[1] / "gisplan"
#: Letters only Vietnamese writes (â, ê, ô, é, à ... are left out: "Kiên Giang" in English is no translation).
VIETNAMESE = re.compile("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđơưăĩũ]", re.IGNORECASE)
#: The modules scanned: all of these packages and files (gisplan/routing is scanned by its own tests).
SCANNED = ("workflow", "store", "catalog", "io", "outputs", "underground", "wifi", "cli", "_yaml.py", "_atomic.py")
#: Error classes whose message a user reads (the gisplan family, and the built-in ones the library raises with a
#: message of its own that reaches the CLI or the app).
RAISED = {
    "GisplanError", "ProblemsError", "LayerError", "CRSError", "CatalogError", "ScenarioError", "RoutingError",
    "PlanningError", "SitingError", "StoreError", "ConflictError", "UploadError", "YamlInputError", "ValueError",
    "FileNotFoundError", "FileExistsError", "IsADirectoryError", "NotADirectoryError", "PermissionError", "_refuse",
}  # fmt: skip
#: Helpers that build one of those errors: their message is checked where they are defined.
HELPERS = {
    "busy_error", "damaged_error", "read_only_error", "_limit_error", "_bomb", "_renamed", "_unreadable",
    "_tampered_message", "_transition_message",
}  # fmt: skip
#: Errors that take (errno, message, filename) when given more than one argument.
OS_ERRORS = {"FileNotFoundError", "FileExistsError", "IsADirectoryError", "NotADirectoryError", "PermissionError"}
#: Messages that pass on a text checked where it is written (another error's text, a value check's ValueError).
PASSED_ON = {"str(exc)", "exc.summary", "pr.message", "summary", "pr.hint", "hint", "t", "fix"}
#: Errors left in English on purpose, by module and a piece of their English: only a programming mistake in
#: gisplan itself reaches them (a private helper's argument, an impossible branch), never a user's input.
ENGLISH_ONLY = {
    ("io/_validate.py", "unknown dtype"),  # schema columns are ours
    ("store/_migrations.py", "no migration from schema version"),  # the migration table is ours
    ("underground/_drops.py", "no chamber reachable along the trench"),  # every trench run has end chambers
    ("underground/_phasing.py", "internal: no street connects"),  # the Steiner tree is connected
    ("wifi/_verdicts.py", "unknown decision"),  # decisions are written by the planner
    ("outputs/export.py", "cannot hash"),  # the export hashes the files it has just written
    ("_atomic.py", "100 names taken"),  # 100 random names all taken
    ("workflow/scenario.py", "AssertionError"),  # the scenario SPEC's value types are ours
}


def _modules() -> list[Path]:
    out: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _untranslated(path: Path) -> list[tuple[int, str, str]]:
    """(line, what, source) of every user-facing error message and Problem text of ``path`` without Vietnamese."""
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    consts = module_constants(tree)
    found: list[tuple[int, str, str]] = []

    def check(node: ast.AST | None, what: str, line: int) -> None:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return
        segment = ast.get_source_segment(src, node) or ""
        if segment in PASSED_ON or (isinstance(node, ast.Call) and _name(node) in HELPERS | {"did_you_mean"}):
            return  # checked where written; did_you_mean is bilingual by construction (its doctest)
        if not VIETNAMESE.search(literal_text(node, consts)):
            found.append((line, what, " ".join(segment.split())[:100]))

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc) in RAISED:
            args = node.exc.args
            message = args[1] if _name(node.exc) in OS_ERRORS and len(args) > 1 else args[0] if args else node.exc
            check(message, f"raise {_name(node.exc)}", node.lineno)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name) and node.exc.id == "AssertionError":
            found.append((node.lineno, "raise AssertionError", "AssertionError"))
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _name(node.exc) == "AssertionError":
            found.append((node.lineno, "raise AssertionError", ast.get_source_segment(src, node.exc) or ""))
        elif isinstance(node, ast.FunctionDef) and node.name in HELPERS:
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Call) and _name(ret.value) in RAISED:
                    call = ret.value
                    check(call.args[0] if call.args else call, f"{node.name} returns", ret.lineno)
                elif isinstance(ret, ast.Return) and ret.value is not None and node.name.endswith("_message"):
                    check(ret.value, f"{node.name} returns", ret.lineno)
        elif isinstance(node, ast.Call) and _name(node) == "Problem":
            check(node.args[0] if node.args else None, "Problem message", node.lineno)
            check(next((k.value for k in node.keywords if k.arg == "hint"), None), "Problem hint", node.lineno)
    return found


def _left_in_english(module: str, source: str) -> bool:
    return any(module == m and piece in source for m, piece in ENGLISH_ONLY)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_error_a_user_can_cause_has_its_vietnamese(path: Path) -> None:
    module = str(path.relative_to(ROOT))
    missing = [
        f"{module}:{line}: {what}: {source}"
        for line, what, source in _untranslated(path)
        if not _left_in_english(module, source)
    ]
    assert not missing, "error texts without Vietnamese:\n" + "\n".join(missing)


def test_every_error_left_in_english_is_still_there() -> None:
    """The list of programmers' errors names real sites (a stale entry would excuse a future English message)."""
    sites = {(str(p.relative_to(ROOT)), s) for p in _modules() for _, _, s in _untranslated(p)}
    stale = [e for e in ENGLISH_ONLY if not any(m == e[0] and e[1] in s for m, s in sites)]
    assert not stale, stale


def test_the_scan_finds_an_english_only_message(tmp_path: Path) -> None:
    """The scan itself: English-only raises, helper errors, Problems and hints are found; bilingual ones are not."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        'DEEP = "the YAML nests too deeply"\n'
        'OK = "too deep / lồng quá sâu"\n'
        "def f(p):\n"
        '    raise StoreError(f"cannot open {p}")\n'
        "def g(p):\n"
        '    raise StoreError(f"cannot open {p} / không mở được {p}")\n'
        "def h():\n"
        "    raise YamlInputError(DEEP)\n"
        "def i():\n"
        "    raise YamlInputError(OK)\n"
        "def busy_error(w):\n"
        '    return ConflictError(f"{w} is busy")\n'
        "def j(p):\n"
        '    raise ScenarioError("x / không hợp lệ", [Problem("no areas", hint="see the README / xem tệp README")])\n'
        "def k(p):\n"
        '    raise ScenarioError("x / không hợp lệ", [Problem("no areas / thiếu khu vực", hint="split it")])\n'
        "def m(p):\n"
        '    raise NotADirectoryError(errno.ENOTDIR, f"not a folder: {p}", str(p))\n',
        encoding="utf-8",
    )
    found = [(line, what) for line, what, _ in _untranslated(bad)]
    assert sorted(found) == [
        (4, "raise StoreError"),
        (8, "raise YamlInputError"),
        (12, "busy_error returns"),
        (14, "Problem message"),
        (16, "Problem hint"),
        (18, "raise NotADirectoryError"),
    ]


# ------------------------------------------------------------------------------------------------ on bad input


def _bilingual(exc: BaseException, english: str, vietnamese: str) -> str:
    """``exc`` says ``english`` first, unchanged, then `` / `` and ``vietnamese`` (a phrase this change wrote)."""
    text = str(exc)
    assert english in text, text
    assert vietnamese in text, text
    assert VIETNAMESE.search(vietnamese), vietnamese
    assert text.index(english) < text.index(" / ") < text.index(vietnamese), text
    return text


def test_a_scenario_with_an_unknown_key_is_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan._errors import ScenarioError
    from gisplan.workflow.scenario import parse_scenario

    with pytest.raises(ScenarioError) as exc:
        parse_scenario("title: t\nwifi:\n  enabled: true\n  cover_all: true\n  budjet_vnd: 5\n")
    (problem,) = [p for p in exc.value.problems if p.column == "wifi.budjet_vnd"]
    _bilingual(ValueError(problem.message), "unknown key", "khóa không hợp lệ")
    assert problem.hint is not None and "có phải là 'wifi.budget_vnd'" in problem.hint


def test_a_layer_missing_a_column_is_explained_in_vietnamese() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from gisplan._errors import LayerError
    from gisplan.io.layers import validate_layer

    poles = gpd.GeoDataFrame(
        {"pole_id": ["P0", "P1"], "height_m": [8.0, 8.0]},
        geometry=[Point(103.96, 10.22), Point(103.961, 10.22)],
        crs="EPSG:4326",
    )
    with pytest.raises(LayerError) as exc:
        validate_layer(poles, "poles")
    (problem,) = [p for p in exc.value.problems if p.column == "owner"]
    assert "missing" in problem.message and VIETNAMESE.search(problem.message), problem


def test_a_missing_catalog_item_and_technology_are_explained_in_vietnamese() -> None:
    from gisplan._errors import CatalogError
    from gisplan.catalog import load_catalog
    from gisplan.catalog.costing import boq_line
    from gisplan.wifi._technology import technology_spec

    cat = load_catalog()
    with pytest.raises(CatalogError) as exc:
        cat.item("MH.STX")
    assert "danh mục giá không có hạng mục 'MH.STX'" in str(exc.value)
    code = next(iter(cat.items))
    with pytest.raises(CatalogError) as exc:
        boq_line(cat, code, -1.0)
    _bilingual(exc.value, f"quantity of {code} must be a finite number >= 0", "khối lượng của hạng mục")
    with pytest.raises(CatalogError) as exc:
        technology_spec(cat, "carrier_pigeon")
    _bilingual(exc.value, "the catalog has no technology 'carrier_pigeon'", "danh mục đơn giá không có công nghệ")
    assert "thiếu công nghệ" in exc.value.problems[0].message


def test_bad_version_refs_and_names_in_the_store_are_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan._errors import StoreError
    from gisplan.store import VersionStore

    store = VersionStore(tmp_path / "store.sqlite")
    with pytest.raises(StoreError) as exc:
        store.get("not-a-ref!")
    _bilingual(exc.value, "is not a version ref", "không phải mã phương án")
    with pytest.raises(StoreError) as exc:
        store.get("nobody@latest")
    _bilingual(exc.value, "no version of scenario 'nobody'", "chưa có phương án nào")
    kwargs = {"scenario_text": "title: t\n", "kpis": {}, "author": "an", "message": "m"}
    with pytest.raises(StoreError) as exc:
        store.save(scenario_name="a@b", artifacts={}, **kwargs)
    _bilingual(exc.value, "scenario_name 'a@b' is not allowed", "không được có '@'")
    with pytest.raises(StoreError) as exc:
        store.save(scenario_name="s", artifacts={"../boq.xlsx": b"x"}, **kwargs)
    _bilingual(exc.value, "artifact name '../boq.xlsx' is not allowed", "tên tệp kết quả '../boq.xlsx' không hợp lệ")
    with pytest.raises(StoreError) as exc:
        VersionStore(tmp_path)
    _bilingual(exc.value, "is a directory", "là một thư mục")


def test_a_programme_with_an_unknown_key_is_explained_in_vietnamese(tmp_path: Path) -> None:
    from gisplan._errors import ScenarioError
    from gisplan.workflow.programme import load_programme

    (tmp_path / "a.yaml").write_text("title: a\n", encoding="utf-8")
    prog = tmp_path / "p.yaml"
    prog.write_text("titel: x\nareas:\n  - {name: a, scenario: a.yaml}\n  - {name: a, scenario: a.yaml}\n")
    with pytest.raises(ScenarioError) as exc:
        load_programme(prog)
    messages = {p.column: p for p in exc.value.problems}
    _bilingual(ValueError(messages["titel"].message), "unknown key", "khóa không hợp lệ")
    _bilingual(ValueError(messages["areas[1].name"].message), "duplicate area name", "tên khu vực bị trùng")


def test_settings_profiles_boq_yaml_and_cli_values_are_explained_in_vietnamese() -> None:
    import pandas as pd

    from gisplan._errors import CatalogError, GisplanError, PlanningError
    from gisplan._yaml import YamlInputError, load_yaml
    from gisplan.cli._app_launcher import app_command
    from gisplan.outputs.export import check_boq
    from gisplan.underground.settings import UndergroundSettings
    from gisplan.wifi.radio import APProfile

    with pytest.raises(PlanningError) as exc:
        UndergroundSettings(fill_one=1.5)
    _bilingual(exc.value, "fill_one must be a share in (0, 1], got 1.5", "phải là tỷ lệ trong khoảng (0, 1]")
    with pytest.raises(CatalogError) as exc:
        APProfile.from_mapping({"name": "ap", "freq_mhz": 2400})
    _bilingual(exc.value, "wifi AP profile 'ap' is invalid", "cấu hình điểm phát wifi 'ap' không hợp lệ")
    assert all(VIETNAMESE.search(p.message) and VIETNAMESE.search(p.hint or "ư") for p in exc.value.problems)
    with pytest.raises(PlanningError) as exc:
        check_boq(pd.DataFrame({"item_code": ["X"]}))
    _bilingual(exc.value, "the BOQ lacks column(s)", "bảng khối lượng thiếu cột")
    with pytest.raises(YamlInputError) as exc:
        load_yaml("a: &x [*x]\n")
    _bilingual(exc.value, "recursive alias", "bí danh đệ quy")
    with pytest.raises(GisplanError) as exc:
        app_command(port=70000)
    _bilingual(exc.value, "port 70000 is not a TCP port", "cổng 70000 không phải cổng TCP")


def test_a_problem_names_its_place_in_both_languages() -> None:
    """Where a problem is (file, layer, row, column) reads in English and Vietnamese, each value written once."""
    from gisplan._errors import Problem

    full = Problem(
        "value not allowed / giá trị không hợp lệ",
        file="poles.gpkg",
        layer="poles",
        row=0,
        column="owner",
        value="alien",
        hint="use one of telecom, power / dùng một trong telecom, power",
    )
    assert str(full) == (
        "file / tệp poles.gpkg, layer / lớp poles, row / dòng 0, column / cột owner: value not allowed / giá trị "
        "không hợp lệ (value / giá trị: 'alien'). Fix / Cách sửa: use one of telecom, power / dùng một trong "
        "telecom, power"
    )
    assert str(Problem("missing / thiếu", column="height_m")) == "column / cột height_m: missing / thiếu"
    assert str(Problem("empty / rỗng")) == "empty / rỗng"
