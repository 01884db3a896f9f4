"""Shared helpers of the app's pages: language, project loading, static folder, errors.

Pages stay thin: they read widgets, call gisplan, render.  Everything here is
small glue around the library.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import streamlit as st

from gisplan.i18n import DEFAULT_LANG, LANGS, display_table, million_vnd, t, value_label
from gisplan.outputs._assets import install_static_assets
from gisplan.plan import Plan

if TYPE_CHECKING:
    import folium
    from streamlit.delta_generator import DeltaGenerator

    from gisplan.store.versions import VersionStore
    from gisplan.workflow.runs import RunResult

APP_DIR = Path(__file__).resolve().parent
#: Served by Streamlit at /app/static (server.enableStaticServing).
STATIC_DIR = APP_DIR / "static"
STATIC_URL = "/app/static"
#: Environment variable naming the project GeoPackage (default: the Phú Quốc demo).
PROJECT_ENV = "GISPLAN_PROJECT"


_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def plain(value: object) -> str:
    """``value`` as text that Streamlit's Markdown shows as typed: names, titles, authors, paths.

    Every ASCII punctuation character is backslash-escaped (CommonMark allows it for all of them), so a stored
    name such as ``![x](http://host/p.png)`` shows as those characters instead of making the browser fetch an
    image; ``:red[...]``, ``:material/...:`` and ``$...$`` lose their meaning too.  Line breaks become spaces.

    Examples
    --------
    >>> print(plain("![x](http://h/p.png) **b**"))
    \\!\\[x\\]\\(http\\:\\/\\/h\\/p\\.png\\) \\*\\*b\\*\\*
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).splitlines()))


def lang() -> str:
    """The language chosen in the sidebar (Vietnamese by default)."""
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def tr(key: str, **fmt: object) -> str:
    """``gisplan.i18n.t`` in the current language."""
    return t(key, lang(), **fmt)


#: Widget keys of the pages whose values outlive a switch to another page, with their first value.
#: Streamlit forgets the value of a widget that a run does not draw (every widget of the other
#: pages); :func:`keep_widget_values` copies them into the session on every run of the entry file.
WIDGET_DEFAULTS: dict[str, object] = {
    "ug_title": "Ngầm hóa / Undergrounding",
    "ug_spacing": 200,
    "ug_budget": 12.0,
    "ug_start_year": 2027,
    "wifi_title": "Wifi vùng sâu, vùng xa / Remote wifi",
    "wifi_mode": "budget",
    "wifi_budget": 4.0,
    "wifi_year": 2027,
    "map_tiles": "offline",
    "map_upload_crs": "EPSG:4326",
    "save_author": "",
}


def keep_widget_values() -> None:
    """Give the page widgets of :data:`WIDGET_DEFAULTS` their first value, and keep the values set since.

    Widgets of those keys are made without ``value=``/``index=`` (their value comes from here).
    """
    for key, default in WIDGET_DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, default)


@st.cache_resource(show_spinner=False)
def install_assets() -> dict[str, str]:
    """Write the offline map assets under app/static/vendor once per server process."""
    return install_static_assets(STATIC_DIR)


def project_path() -> Path:
    """The project GeoPackage: ``$GISPLAN_PROJECT`` or the Phú Quốc demo."""
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env)
    from gisplan.demo.data import demo_gpkg_path

    return demo_gpkg_path()


@st.cache_resource(show_spinner=False)
def load_project(path: str, mtime_ns: int) -> dict[str, gpd.GeoDataFrame]:
    """Read and validate a project's layers (cached per file version; the frames are shared, never modified)."""
    from gisplan.io.layers import read_layers

    del mtime_ns  # part of the cache key only
    return read_layers(path)


def current_project() -> dict[str, gpd.GeoDataFrame]:
    """The current project (cached) with the layers uploaded on the Map page in place of its own.

    Raises GisplanError on invalid layers.
    """
    path = project_path()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    base = load_project(str(path), mtime)
    uploaded = st.session_state.get("uploaded_layers") or {}
    return {**base, **uploaded} if uploaded else base


def project_metric_crs() -> str | None:
    """The metric CRS of the loaded project (uploads join it in that CRS); None when no project is loaded."""
    from gisplan._errors import GisplanError

    path = project_path()
    if not path.is_file():
        return None
    try:
        base = load_project(str(path), path.stat().st_mtime_ns)
    except GisplanError:
        return None
    crs = next((g.crs for g in base.values() if g.crs is not None), None)
    return None if crs is None else str(crs.to_string())


def project_or_stop() -> dict[str, gpd.GeoDataFrame]:
    """:func:`current_project`, or an error on the page (missing file, invalid layers) and the page stops."""
    from gisplan._errors import GisplanError

    path = project_path()
    if not path.is_file():
        st.error(tr("app.project.missing", path=str(path)))
        st.stop()
    try:
        return current_project()
    except GisplanError as exc:
        show_error(exc)
        st.stop()


def remember_upload(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Keep uploaded (validated) layers for this session, each also written to a GeoPackage of the session
    folder so that scenarios made in the app name them in ``layers.files`` (a run reads files, like the CLI)."""
    from gisplan.io.layers import write_gpkg

    files: dict[str, str] = {}
    with disk_errors():
        for kind, gdf in layers.items():
            path = session_dir() / f"upload-{kind}.gpkg"
            write_gpkg({kind: gdf}, path)
            files[kind] = str(path)
    st.session_state["uploaded_layers"] = dict(layers)
    st.session_state["uploaded_files"] = files
    save_user_state()


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """Turn a failed write (full disk, a locked or unwritable file) or exhausted memory into a GisplanError that
    the pages show with :func:`show_error`, instead of a traceback."""
    from gisplan._errors import GisplanError

    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise GisplanError(
            f"không ghi được tệp / cannot write {exc.filename or 'a file'}: {reason}; free disk space or close the "
            "file in other programs, then try again"
        ) from exc
    except MemoryError:
        raise GisplanError(
            "hết bộ nhớ / out of memory: the input is too large for this server; split it by district or commune"
        ) from None


def forget_upload() -> None:
    """Drop the uploaded layers of this session."""
    st.session_state["uploaded_layers"] = {}
    st.session_state["uploaded_files"] = {}
    save_user_state()


def layers_section() -> dict[str, object]:
    """The ``layers`` section of scenarios made in the app: the project, with uploaded layers as ``files``."""
    section: dict[str, object] = {"source": layers_source()}
    files = st.session_state.get("uploaded_files") or {}
    if files:
        section["files"] = dict(files)
    return section


# --------------------------------------------------------------------------- planner pages (runs, store, drawings)

#: Environment variable naming the version store file.
STORE_ENV = "GISPLAN_STORE"


def store_path() -> str:
    """The version store as pages show it, by the rule the CLI shares (``$GISPLAN_STORE``, else the per-user file).

    A file path or a ``postgresql://`` URI with its password hidden.
    """
    from gisplan.store.location import display_location, store_location

    return display_location(store_location(None))


def open_store() -> VersionStore:
    """The version store by the same rule (an SQLite file is created on first use)."""
    from gisplan.store.location import open_store as open_at

    return open_at(None)


# --------------------------------------------------------------------------- work kept per user on disk
#
# A reload starts a new Streamlit session: what lives only in ``st.session_state`` is gone.  Each browser gets
# a user id in the page address (``?u=...``, kept by a reload and by a bookmark) and a folder next to the
# version store, ``app-users/<id>/``, holding its drawings, uploads and last runs (``state.json`` plus the
# files).  Folders not used for :data:`USER_DAYS` days are deleted when the server starts.

#: Days an unused user folder is kept.
USER_DAYS = 30
#: Run folders kept per plan kind (the newest); older ones are deleted when a run is written.
RUNS_KEPT = 2
_USER_ID = re.compile(r"[0-9a-f]{32}")
#: Session keys saved to the user's state.json.
DRAWING_KEYS = ("drawings", "ug_drawings", "wifi_drawings")


#: Name of the cookie that keeps the browser's user id (see :func:`remember_user`).
USER_COOKIE = "gisplan_u"


def _cookie_user() -> str:
    """The user id the browser's cookie holds ('' without one, or outside a browser session)."""
    try:
        value = st.context.cookies.get(USER_COOKIE, "")
    except Exception:  # no request context (a bare script run): no cookie
        return ""
    return value if isinstance(value, str) else ""


def user_id() -> str:
    """This browser's user id: from the address (``?u=``), else from the browser's cookie, else new; written back
    into the address.

    The address alone is not enough: a page loaded anew from a link without ``?u=`` (a sidebar link clicked before
    the page's scripts took it over, on a busy server) would start a new user whose work seemed gone.
    """
    import uuid

    uid = st.session_state.get("_gisplan_user")
    if uid is None:
        given = st.query_params.get("u", "")
        if not _USER_ID.fullmatch(given or ""):
            given = _cookie_user()
        uid = given if _USER_ID.fullmatch(given or "") else uuid.uuid4().hex
        st.session_state["_gisplan_user"] = uid
    if st.query_params.get("u") != uid:
        st.query_params["u"] = uid
    return str(uid)


def remember_user() -> None:
    """Keep this browser's user id in a cookie (first-party, ``SameSite=Strict``, :data:`USER_DAYS` days; it holds
    the random id only), so a page loaded anew without ``?u=`` comes back to the same work."""
    import streamlit.components.v1 as components

    uid = user_id()
    if _cookie_user() == uid:
        return
    age = USER_DAYS * 86_400
    with st.sidebar:
        components.html(
            f"<script>document.cookie = '{USER_COOKIE}={uid}; path=/; max-age={age}; SameSite=Strict';</script>",
            height=0,
        )


def users_root() -> Path:
    """Where the app keeps its users' work: beside the version store when it is a file, else in the per-user data
    folder (a PostgreSQL store has no folder)."""
    from gisplan.store.location import default_store_path, is_database_location, store_location

    location = store_location(None)
    base = default_store_path().parent if is_database_location(location) else Path(location).parent
    return base / "app-users"


def user_dir() -> Path:
    """This user's folder (created on first use): ``app-users/<id>`` next to the version store."""
    path = users_root() / user_id()
    path.mkdir(parents=True, exist_ok=True)
    return path


def session_dir() -> Path:
    """The folder for this user's run and comparison folders (inside :func:`user_dir`, pruned, not a temp dir)."""
    path = user_dir() / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


@st.cache_resource(show_spinner=False)
def clean_old_users(root: str) -> int:
    """Delete user folders under ``root`` not used for :data:`USER_DAYS` days (once per server); return how many."""
    import shutil
    import time

    base = Path(root)
    if not base.is_dir():
        return 0
    cutoff = time.time() - USER_DAYS * 86400
    gone = 0
    for folder in base.iterdir():
        state = folder / "state.json"
        used = state.stat().st_mtime if state.exists() else folder.stat().st_mtime
        if folder.is_dir() and _USER_ID.fullmatch(folder.name) and used < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def _prune_runs(kind: str, keep: Path) -> None:
    """Delete this user's older run folders of ``kind`` beyond :data:`RUNS_KEPT` (never ``keep``)."""
    import shutil

    folders = sorted(session_dir().glob(f"run-*-{kind}"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [f for f in folders if f != keep][RUNS_KEPT - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def save_user_state() -> None:
    """Write this user's drawings, uploads and runs (their folders, not their results) to ``state.json``."""
    import json

    from gisplan._atomic import atomic_write_text

    runs = {
        kind: {k: v for k, v in rec.items() if k not in ("result",)}
        for kind, rec in (st.session_state.get("runs") or {}).items()
    }
    last = st.session_state.get("last_run")
    state = {
        "drawings": {k: st.session_state.get(k, []) for k in DRAWING_KEYS},
        "uploads": st.session_state.get("uploaded_files") or {},
        "runs": runs,
        "last_run": last["kind"] if last else None,
    }
    atomic_write_text(user_dir() / "state.json", json.dumps(state, ensure_ascii=False, default=str))


def restore_user_state() -> None:
    """Once per session: bring back this user's drawings, uploads and runs from ``state.json``.

    A run whose folder is gone, or an upload that no longer reads, is left out (and said so).
    """
    import json

    from gisplan._errors import GisplanError

    if st.session_state.get("_gisplan_restored"):
        return
    st.session_state["_gisplan_restored"] = True
    clean_old_users(str(users_root()))
    path = user_dir() / "state.json"
    if not path.is_file():
        return
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for key in DRAWING_KEYS:
        st.session_state[key] = list(state.get("drawings", {}).get(key) or [])
    uploads = {k: v for k, v in (state.get("uploads") or {}).items() if Path(v).is_file()}
    if uploads:
        from gisplan.io.layers import read_layers

        try:
            layers = {k: read_layers(v)[k] for k, v in uploads.items()}
        except (GisplanError, KeyError):
            layers, uploads = {}, {}
        st.session_state["uploaded_layers"] = layers
        st.session_state["uploaded_files"] = uploads
    runs: dict = {}
    for kind, rec in (state.get("runs") or {}).items():
        try:
            runs[kind] = {**rec, "result": restored_result(rec["dir"], kind)}
        except (GisplanError, KeyError, OSError):
            continue
    st.session_state["runs"] = runs
    if state.get("last_run") in runs:
        st.session_state["last_run"] = runs[state["last_run"]]


@dataclass(frozen=True)
class RestoredResult:
    """A run read back from its folder: the plan (layers, BOQ, KPIs) and the project layers under it."""

    plan: Plan
    layers: dict[str, gpd.GeoDataFrame]


def restored_result(run_dir: str, kind: str) -> RestoredResult:
    """The result of the run folder ``run_dir`` (raises GisplanError when it is not one)."""
    from gisplan.workflow import actions

    return RestoredResult(actions.plan_of_run(run_dir, kind=kind), dict(current_project()))


def layers_source() -> str:
    """``layers.source`` of scenarios made in the app: the project file, or ``demo``."""
    return os.environ[PROJECT_ENV] if os.environ.get(PROJECT_ENV) else "demo"


def _geometry_keys(features: list[dict]) -> list[str]:
    import json

    return [json.dumps(f.get("geometry"), sort_keys=True) for f in features]


def drawings(state_key: str) -> list[dict]:
    """The user's drawings kept under ``state_key`` (GeoJSON features, lon/lat)."""
    return list(st.session_state.setdefault(state_key, []))


def set_drawings(state_key: str, features: list[dict]) -> None:
    """Replace the drawings under ``state_key`` from the app itself (a button): the map is made anew with them.

    Raising the epoch makes the next map a different one, so the browser drops what it drew on the old one
    (otherwise the map would hand the old drawings back and "clear" would bring them back).
    """
    st.session_state[state_key] = list(features)
    epochs: dict = st.session_state.setdefault("_gisplan_draw_epoch", {})
    epochs[state_key] = epochs.get(state_key, 0) + 1
    save_user_state()


def _mounted_drawings(state_key: str, scope: str) -> tuple[list[dict], int]:
    """The drawings the map is built with, and its epoch.

    They stay the same while the user draws on a map that is already in the page (the map's script, hence the
    component, stays the same: no remount, the view and the draw tool's state stay); they are taken anew when
    the page is entered again, the map shows something else (``scope``), or the app changed the drawings.
    """
    mounted: dict = st.session_state.setdefault("_gisplan_mounted", {})
    epoch = st.session_state.get("_gisplan_draw_epoch", {}).get(state_key, 0)
    token = (st.session_state.get("_gisplan_visit", 0), scope, epoch)
    rec = mounted.get(state_key)
    if rec is None or rec["token"] != token:
        rec = {"token": token, "drawings": drawings(state_key)}
        mounted[state_key] = rec
    return rec["drawings"], epoch


def show_map(
    m: folium.Map,
    *,
    key: str,
    scope: str,
    drawings_key: str | None = None,
    height: int = 560,
) -> dict | None:
    """Show map ``m`` (offline assets, the view kept per ``key`` and ``scope``) and, with ``drawings_key``, the
    draw tool holding the user's drawings; the drawings the browser returns replace the kept ones (a new, an
    edited or a deleted drawing: the page reruns once)."""
    from streamlit_folium import st_folium

    from gisplan.outputs import maps

    if drawings_key is not None:
        shown, epoch = _mounted_drawings(drawings_key, scope)
        maps.add_draw_control(m, drawings=shown, epoch=epoch, lang=lang())
    maps.keep_view(m, key=key, scope=scope)
    maps.make_offline(m, mode="static", static_url=f"{STATIC_URL}/vendor")
    out = st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=["all_drawings"] if drawings_key is not None else [],
    )
    if drawings_key is not None:
        got = (out or {}).get("all_drawings")
        if got is not None:
            features = [
                {"type": "Feature", "properties": {}, "geometry": d["geometry"]} for d in got if d.get("geometry")
            ]
            if _geometry_keys(features) != _geometry_keys(drawings(drawings_key)):
                st.session_state[drawings_key] = features
                save_user_state()
                st.rerun()
    return out


def show_error(exc: BaseException) -> None:
    """Show a gisplan error; its problems (file, layer, row, column, value, hint) one per table row."""
    summary = getattr(exc, "summary", None) or str(exc)
    st.error(f"{tr('app.error')}: {plain(summary)}")
    problems = getattr(exc, "problems", None)
    if problems:
        rows = [
            {
                "file": p.file,
                "layer": p.layer,
                "row": None if p.row is None else str(p.row),
                "column": p.column,
                "value": None if p.value is None else str(p.value),
                "problem": p.message,
                "fix": p.hint,
            }
            for p in problems
        ]
        st.caption(tr("app.error.problems"))
        table(pd.DataFrame(rows))


#: Progress messages of the library (English, for logs) -> the stage a planner reads, by message start.
_STAGES: tuple[tuple[str, str], ...] = (
    ("reading layers", "read"),
    ("planning undergrounding", "underground"),
    ("planning wifi", "wifi"),
    ("building the road graph", "graph"),
    ("the clipped road graph", "graph"),
    ("the trench tree reaches", "graph"),
    ("forced corridors", "steiner"),
    ("steiner tree", "steiner"),
    ("shortcut trenches", "shortcuts"),
    ("phasing", "phasing"),
    ("bill of quantities", "boq"),
    ("demand", "sites"),
    ("candidates", "sites"),
    ("coverage", "sites"),
    ("selection", "sites"),
    ("backhaul", "backhaul"),
    ("outputs", "boq"),
    ("writing", "write"),
    ("wrote", "done"),
)


def progress_stage(message: str) -> str:
    """The stage of a library progress ``message``, in the current language (``app.run.stage.*``)."""
    low = message.strip().lower()
    for start, stage in _STAGES:
        if low.startswith(start):
            return tr(f"app.run.stage.{stage}")
    if " aerial cable spans in " in low:
        return tr("app.run.stage.spans")
    return tr("app.run.stage.other")


def run_scenario_text(text: str, kind: str) -> RunResult:
    """Run scenario YAML ``text`` with its progress shown open where it was asked for, stage by stage in the
    user's language (:func:`gisplan.workflow.actions.run_scenario_text`), into a run folder of this session, and
    remember it as the last run.

    ``st.session_state["runs"][kind]`` and ``st.session_state["last_run"]`` hold
    ``{"dir", "kind", "name", "title", "scenario_text", "result", "stages", "seconds"}``.  Raises GisplanError.
    """
    import time

    from gisplan.outputs.formatting import VIETNAM_TIME
    from gisplan.workflow import actions

    runs: dict = st.session_state.setdefault("runs", {})
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    out_dir = session_dir() / f"run-{stamp}-{kind}"
    t0 = time.perf_counter()
    stages: list[str] = []

    with disk_errors(), st.status(tr("app.run.running"), expanded=True) as status:

        def report(message: str) -> None:
            stage = progress_stage(message)
            if not stages or stages[-1] != stage:
                stages.append(stage)
                status.write(stage)
                status.update(label=tr("app.run.progress", stage=stage))

        project = project_path()
        cached = load_project(str(project), project.stat().st_mtime_ns) if project.exists() else None
        try:
            result = actions.run_scenario_text(text, out_dir, layers=cached, progress=report)
        except Exception:
            status.update(label=tr("app.error"), state="error", expanded=True)
            raise
        seconds = time.perf_counter() - t0
        status.update(label=tr("app.run.done", s=formatting_number(seconds)), state="complete", expanded=False)
    record = {
        "dir": str(out_dir),
        "kind": kind,
        "name": result.scenario.name,
        "title": result.scenario.title,
        "scenario_text": text,
        "result": result,
        "stages": stages,
        "seconds": seconds,
        "date": datetime.now(VIETNAM_TIME).date().isoformat(),
    }
    runs[kind] = record
    st.session_state["last_run"] = record
    _prune_runs(kind, out_dir)
    save_user_state()
    return result


def formatting_number(value: float, decimals: int = 1) -> str:
    """``value`` with ``decimals`` decimals in the current language (Babel)."""
    from gisplan.outputs.formatting import number

    return number(value, lang(), decimals=decimals, fixed=True)


def run_done(run: dict | None) -> None:
    """The last run's progress, closed, where the run was asked for: it stays after the result arrives."""
    if run is None or "stages" not in run:
        return
    with st.status(tr("app.run.done", s=formatting_number(run["seconds"])), state="complete", expanded=False):
        for stage in run["stages"]:
            st.write(stage)


def streamlit_texts() -> None:
    """Streamlit's own texts (file uploader, "Press Enter to apply") in the current language, by CSS: Streamlit
    has no translation of them.  The upload limit written is the real one (``read_upload``'s)."""
    import inspect
    import json

    from gisplan.io.uploads import ALLOWED_SUFFIXES, read_upload

    limit = inspect.signature(read_upload).parameters["max_bytes"].default
    types = ", ".join(sfx.lstrip(".").upper() for sfx in ALLOWED_SUFFIXES)

    def css(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    up = '[data-testid="stFileUploaderDropzone"]'
    rules = (
        f'{up} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p{{display:none}}'
        f'{up} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"]::after'
        f"{{content:{css(tr('app.st.browse'))}}}"
        '[data-testid="stFileUploaderDropzoneInstructions"] span{display:none}'
        '[data-testid="stFileUploaderDropzoneInstructions"] > div::after'
        f"{{content:{css(tr('app.st.limit', mb=limit // 2**20, types=types))};font-size:14px}}"
        '[data-testid="InputInstructions"] > span{display:none}'
        f'[data-testid="InputInstructions"]::after{{content:{css(tr("app.st.enter"))}}}'
    )
    st.html(f"<style>{rules}</style>")


def kpi_name(key: str) -> str:
    """A plan KPI's name in the current language (:func:`gisplan.i18n.kpi_name`; the key when it has none)."""
    from gisplan.i18n import kpi_name as name_in

    return name_in(key, lang())


def table(df: pd.DataFrame, *, drop: tuple[str, ...] = (), height: int | None = None) -> None:
    """Show ``df`` for a planner: labelled columns and codes, numbers written in the current language (Babel)."""
    from gisplan.outputs.formatting import frame_text

    if isinstance(df, gpd.GeoDataFrame):  # a layer's attributes: its geometry is on the map, not in the table
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    shown = display_table(frame_text(df, lang()), lang(), drop=drop)
    opts: dict = {"height": height} if height else {}
    st.dataframe(shown, hide_index=True, width="stretch", **opts)


def bar_chart(col: DeltaGenerator, data: dict[str, list], *, x: str, y: str) -> None:
    """A bar chart whose axis and tooltips write numbers in the current language (Babel's symbols)."""
    import altair as alt

    from gisplan.outputs.formatting import vega_number_locale

    chart = (
        alt.Chart(pd.DataFrame(data))
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", sort=None, title=x),
            y=alt.Y(f"{y}:Q", title=y, axis=alt.Axis(format=",.1f")),
            tooltip=[alt.Tooltip(f"{x}:N"), alt.Tooltip(f"{y}:Q", format=",.1f")],
        )
        .configure(locale={"number": vega_number_locale(lang())})
    )
    col.altair_chart(chart, use_container_width=True)


def line_chart(data: pd.DataFrame, *, x: str, y: str) -> None:
    """A line chart (x and y numbers) written in the current language, like :func:`bar_chart`."""
    import altair as alt

    from gisplan.outputs.formatting import vega_number_locale

    chart = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x, axis=alt.Axis(format=",.0f")),
            y=alt.Y(f"{y}:Q", title=y, axis=alt.Axis(format=",.0f")),
            tooltip=[alt.Tooltip(f"{x}:Q", format=",.0f"), alt.Tooltip(f"{y}:Q", format=",.0f")],
        )
        .configure(locale={"number": vega_number_locale(lang())})
    )
    st.altair_chart(chart, use_container_width=True)


def boq_charts(boq: pd.DataFrame) -> None:
    """Bar charts of a BOQ's cost by phase and by category (million VND), categories labelled."""
    from gisplan.outputs.tables import boq_by

    if boq.empty:
        return
    money = tr("app.chart.million_vnd")
    col1, col2 = st.columns(2)
    for col, by, key in ((col1, "phase", "app.chart.by_phase"), (col2, "category", "app.chart.by_category")):
        totals = boq_by(boq, by)
        name = tr(f"app.chart.{by}")
        chart = {
            name: [value_label(by, v, lang()) for v in totals[by]],
            money: [million_vnd(v) for v in totals["amount_vnd"]],
        }
        col.caption(tr(key))
        bar_chart(col, chart, x=name, y=money)


def cost_metric(col: DeltaGenerator, label: str, vnd: int | float, *, delta: bool = False) -> None:
    """A total in VND as a metric in billions (it fits the column), the exact amount in its help; with ``delta``
    the sign is always written."""
    from gisplan.outputs.formatting import billions
    from gisplan.outputs.formatting import vnd as vnd_text

    text = billions(vnd, lang())
    exact = vnd_text(vnd, lang())
    if delta and vnd > 0:
        text, exact = f"+{text}", f"+{exact}"
    col.metric(label, text, help=tr("app.cost_exact", vnd=exact))


def plan_kpi_metrics(kpis: dict, keys: list[str], per_row: int = 4) -> None:
    """``st.metric`` for the plan KPIs named in ``keys`` that the plan has, labelled by their own names
    (:func:`gisplan.i18n.kpi_name`) and written by :func:`gisplan.outputs.formatting.kpi_value`, ``per_row``
    to a row."""
    from gisplan.i18n import kpi_name
    from gisplan.outputs.formatting import kpi_value

    present = [k for k in keys if k in kpis]
    for start in range(0, len(present), per_row):
        row = present[start : start + per_row]
        for col, k in zip(st.columns(per_row), row, strict=False):
            col.metric(kpi_name(k, lang()), kpi_value(k, kpis[k], lang()))


def kpi_metrics(kpis: dict, keys: list[tuple[str, str, str]]) -> None:
    """``st.metric`` for the KPIs named by ``(kpi, i18n label key, unused)`` that the plan has, written by
    :func:`gisplan.outputs.formatting.kpi_value` in the current language.

    ``cost_vnd`` is shown in billions of VND (see :func:`cost_metric`).
    """
    from gisplan.outputs.formatting import kpi_value

    present = [(k, label) for k, label, _fmt in keys if k in kpis]
    if not present:
        return
    cols = st.columns(len(present))
    for col, (k, label) in zip(cols, present, strict=True):
        value = kpis[k]
        if k == "cost_vnd" and isinstance(value, int | float):
            cost_metric(col, tr("app.cost_bn"), value)
        else:
            col.metric(tr(label), kpi_value(k, value, lang()))
