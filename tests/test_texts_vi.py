"""No user-facing note, reason or planning error of the library lacks its Vietnamese.

Planners read Vietnamese first: a plan's messages, the reasons of its backhaul options and of its drawn sites, and
the errors a scenario can run into are shown to them as the library writes them.  Statically, every
``messages.append(...)`` of the library and every error the planners raise on a user's input holds
Vietnamese text (the "English / Tiếng Việt" the code writes elsewhere); on a run, every message and reason does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from gisplan import i18n

ROOT = Path(__file__).resolve().parents[1] / "gisplan"
#: Letters only Vietnamese uses among the library's languages (English has none of them).
VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
#: Modules whose errors a planner meets through a scenario or the app (the models' own argument checks, e.g.
#: gisplan.wifi.radio and gisplan.wifi.siting used as a library, are for programmers and stay in English).
USER_ERRORS = ["wifi/planner.py", "wifi/params.py", "wifi/_inputs.py", "wifi/_select.py", "wifi/backhaul.py",
               "wifi/demand.py", "underground/params.py", "underground/_inputs.py", "underground/_route.py",
               "underground/_build.py", "underground/planner.py"]  # fmt: skip
ERRORS = ("PlanningError", "CRSError", "LayerError", "ScenarioError")


def _literal_text(node: ast.AST) -> str:
    return " ".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def _calls(path: Path, *, messages: bool, errors: bool) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if errors and isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) in ERRORS:
                found.append((node.lineno, _literal_text(node.exc)))
        if messages and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if node.func.attr == "append" and name == "messages":
                found.append((node.lineno, _literal_text(node)))
    return found


def test_every_plan_message_of_the_library_has_its_vietnamese() -> None:
    missing = [
        f"{path.relative_to(ROOT)}:{line}: {text[:80]}"
        for path in sorted(ROOT.rglob("*.py"))
        for line, text in _calls(path, messages=True, errors=False)
        if text.strip() and not VIETNAMESE.search(text)
    ]
    assert not missing, "plan messages without Vietnamese:\n" + "\n".join(missing)


@pytest.mark.parametrize("module", USER_ERRORS)
def test_every_error_a_planning_scenario_can_meet_has_its_vietnamese(module: str) -> None:
    calls = _calls(ROOT / module, messages=False, errors=True)
    missing = [f"{module}:{line}: {text[:80]}" for line, text in calls if not VIETNAMESE.search(text)]
    assert not missing, "errors without Vietnamese:\n" + "\n".join(missing)


def test_a_wifi_run_writes_every_message_and_reason_in_vietnamese_too() -> None:
    from test_wifi import _POINT, _drawn, _layers, _light_catalog

    from gisplan.i18n import display_table
    from gisplan.wifi.planner import WifiParams, plan_wifi

    plan = plan_wifi(
        _layers(power=False), WifiParams(**_POINT, cover_all=True, extra_candidates=_drawn()), catalog=_light_catalog()
    )
    assert plan.messages and all(VIETNAMESE.search(m) for m in plan.messages), plan.messages
    options = plan.layers["backhaul_options"]
    assert len(options) and options["reason_vi"].map(lambda s: bool(VIETNAMESE.search(s))).all()
    assert (options["reason_vi"] != options["reason"]).all()  # a translation, not the English copied
    # the fibre and submarine options are infeasible here (no roads, no land): their reasons say why, in Vietnamese
    by_option = options[options["site_id"] == "A"].set_index("option")["reason_vi"]
    assert by_option["fibre"] == "không có lớp đường để tính tuyến cáp quang"
    assert by_option["submarine"] == "không có lớp đất liền"
    # a table of them in Vietnamese shows the Vietnamese reasons under the column's name, not the English
    shown = display_table(options.drop(columns="geometry"), "vi")
    assert list(shown["Lý do"]) == list(options["reason_vi"]) and "Reason" not in shown.columns
    assert list(display_table(options.drop(columns="geometry"), "en")["Reason"]) == list(options["reason"])
    drawn = plan.layers["drawn_sites"]
    assert len(drawn) == 3 and drawn["reason_vi"].map(lambda s: bool(VIETNAMESE.search(s))).all()


@pytest.mark.parametrize(
    "call",
    [
        lambda lang: i18n.t("km", lang),
        lambda lang: i18n.column_label("cost_vnd", lang),
        lambda lang: i18n.value_label("kind", "exchange", lang),
        lambda lang: i18n.kpi_name("trench_km", lang),
        lambda lang: i18n.display_table(pd.DataFrame({"a": [1]}), lang),
    ],
)
def test_an_unknown_language_is_refused_in_both_languages(call) -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'; use one of vi, en") as err:
        call("fr")
    assert "ngôn ngữ 'fr' không được hỗ trợ" in str(err.value)
    call("vi")  # the known ones work
    call("en")
