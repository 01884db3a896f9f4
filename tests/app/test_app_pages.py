"""AppTest tests of the Streamlit app: every page renders; the map component carries the layers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from gisplan.i18n import both, t

APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
PAGES = ["views/home.py", "views/map.py"]


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def _map_args(at: AppTest) -> dict:
    comps = [el for el in at.get("component_instance") if "st_folium" in el.proto.component_name]
    assert len(comps) == 1, [el.proto.component_name for el in at.get("component_instance")]
    return json.loads(comps[0].proto.json_args)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(tiny_project: Path, page: str) -> None:
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title


def test_opens_on_the_map_in_vietnamese_and_switches_to_english(tiny_project: Path) -> None:
    at = _app().run()
    assert at.title[0].value == t("app.map", "vi")
    assert at.caption[0].value == t("app.guide.short", "vi")  # the workflow in one line
    at.sidebar.radio[0].set_value("en").run()
    assert at.title[0].value == t("app.map", "en")


def test_map_component_carries_every_layer_offline(tiny_project: Path) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    args = _map_args(at)
    script = args["script"]
    for kind, n in {"land": 1, "roads": 2, "poles": 3, "settlements": 1}.items():
        assert json.dumps(f"{both('layer.' + kind)} ({n})") in script, kind
    assert "Trần Hưng Đạo" in script  # attributes travel with the features for popups
    assert args["js_links"] and all(u.startswith("/app/static/vendor/") for u in args["js_links"])
    assert args["css_links"] and all(u.startswith("/app/static/vendor/") for u in args["css_links"])
    assert not re.search(r"https?://", " ".join(args["js_links"] + args["css_links"]))
    assert set(args["returned_objects"]) == {"all_drawings"}  # no rerun on pan and zoom
    static = Path(APP).parent / "static" / "vendor"
    assert all((static / Path(u).name).is_file() for u in args["js_links"])


def test_map_keeps_a_drawing_across_reruns(tiny_project: Path) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[103.97, 10.22], [103.98, 10.22], [103.97, 10.23], [103.97, 10.22]]],
        },
    }
    at.session_state[_component_key(at)] = {
        "all_drawings": [feature],
        "last_active_drawing": feature,
    }
    at.run()
    assert at.session_state["drawings"] == [feature]
    # the map in the page keeps its script (no remount: the browser holds the drawing in its draw tool) ...
    assert json.dumps(feature["geometry"]["coordinates"]) not in _map_args(at)["script"].replace(" ", "")
    # ... and a map made anew (back from another page) puts it back into the draw tool's group
    at.switch_page("views/home.py").run()
    at.switch_page("views/map.py").run()
    script = _map_args(at)["script"]
    assert "gisplan.drawBack(" in script
    assert json.dumps(feature["geometry"]["coordinates"], separators=(",", ":")) in script


def _component_key(at: AppTest) -> str:
    """The st_folium component's session key: a 64-hex hash streamlit-folium derives from the map."""
    keys = [k for k in at.session_state if re.fullmatch(r"[0-9a-f]{64}", k)]
    assert len(keys) == 1, list(at.session_state)
    return keys[0]


def test_invalid_project_shows_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISPLAN_PROJECT", str(tmp_path / "missing.gpkg"))
    at = _app().run()
    for page in ("views/map.py", "views/underground.py", "views/wifi.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert at.error[0].value == t("app.project.missing", "vi", path=str(tmp_path / "missing.gpkg")), page


def test_launcher_command_is_local_and_offline() -> None:
    from gisplan.cli._app_launcher import app_command, app_dir

    cmd = app_command(port=8765)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(app_dir() / "streamlit_app.py")
    opts = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.port"] == "8765"
    assert opts["--server.enableStaticServing"] == "true" and opts["--browser.gatherUsageStats"] == "false"


def test_upload_crs_choices_are_named(tiny_project: Path) -> None:
    at = _app().run()
    at.switch_page("views/map.py").run()
    box = at.selectbox(key="map_upload_crs")
    assert box.value == "EPSG:4326"
    assert box.options == [
        "WGS 84 (GPS) (EPSG:4326)",
        "VN-2000 (EPSG:4756)",
        "VN-2000 / TM-3 104°30' (Kiên Giang) (EPSG:9207)",
    ]
