"""Export page: download the last run's files and any saved version's, named by scenario and date."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from appkit import lang, open_store, plain, show_error, tr

from gisplan._errors import GisplanError
from gisplan.outputs import formatting
from gisplan.workflow import actions

MIME = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".gpkg": "application/geopackage+sqlite3",
    ".html": "text/html",
    ".json": "application/json",
    ".yaml": "application/yaml",
}
RUN_FILES = ("boq.xlsx", "boq.csv", "plan.gpkg", "map.html")
COMPARE_FILES = ("compare.xlsx", "compare.html")


def _buttons(files: dict[str, object], prefix: str, key: str) -> None:
    """One download button per file: ``files`` maps a file name to its bytes or a callable reading them."""
    cols = st.columns(max(1, min(len(files), 4)))
    for i, (name, data) in enumerate(files.items()):
        cols[i % len(cols)].download_button(
            name,
            data=data,  # a callable is read on click, not on every rerun (plan.gpkg, map.html grow with the plan)
            file_name=actions.download_name(prefix, name),
            mime=MIME.get(Path(name).suffix, "application/octet-stream"),
            key=f"export_{key}_{name}",
            on_click="ignore",  # no rerun: its end-of-run cleanup could drop the file the click is fetching
        )


st.title(tr("app.export"))

last = st.session_state.get("last_run")
if last is None:
    st.info(tr("app.run.none"))
else:
    st.subheader(tr("app.export.run", title=plain(last["title"])))
    folder = Path(last["dir"])
    present = {n: (folder / n).read_bytes for n in RUN_FILES if (folder / n).is_file()}
    _buttons(present, f"{last['name']}-{last.get('date', '')}", "run")

st.subheader(tr("app.export.version"))
try:
    versions = open_store().log()
except GisplanError as exc:
    show_error(exc)
    versions = []
if not versions:
    st.info(tr("app.versions.none"))
else:
    by_id = {v.id: v for v in versions}
    picked = st.selectbox(
        tr("app.versions.open"),
        options=list(by_id),
        format_func=lambda i: (
            f"{by_id[i].short_id} · {by_id[i].scenario_name} · "
            f"{formatting.when(by_id[i].created_at, lang())} · {by_id[i].message}"
        ),
        key="export_version",
    )
    version = by_id[picked]
    store = open_store()
    _buttons(
        {n: (lambda vid=version.id, n=n: store.artifact(vid, n)) for n in version.artifact_names},
        f"{version.scenario_name}-{formatting.local_date(version.created_at)}-{version.short_id}",
        f"v_{version.id}",
    )

st.subheader(tr("app.export.compare"))
comparison = st.session_state.get("last_compare")
if comparison is None:
    st.info(tr("app.export.none_compare"))
else:
    st.caption(plain(comparison["title"]))
    folder = Path(comparison["files"]["compare.xlsx"]).parent
    present = {n: (folder / n).read_bytes for n in COMPARE_FILES if (folder / n).is_file()}
    _buttons(present, "compare", "compare")
