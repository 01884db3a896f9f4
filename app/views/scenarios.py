"""Scenarios page: save the last run as a version, list versions with their status, open one, review it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from appkit import kpi_name, lang, open_store, plain, show_error, store_path, table, tr

from gisplan._errors import GisplanError
from gisplan.i18n import value_label
from gisplan.outputs import formatting
from gisplan.store.versions import TRANSITIONS
from gisplan.workflow import actions

MIME = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".gpkg": "application/geopackage+sqlite3",
    ".html": "text/html",
    ".json": "application/json",
    ".yaml": "application/yaml",
}

st.title(tr("app.scenarios"))
st.caption(str(store_path()))
try:
    store = open_store()
except GisplanError as exc:
    show_error(exc)
    st.stop()

# -- save the last run ---------------------------------------------------------------------------------------------
last = st.session_state.get("last_run")
if last is None:
    st.info(tr("app.save.none"))
else:
    with st.form("save_version"):
        st.write(tr("app.save.last", title=plain(last["title"])))
        author = st.text_input(tr("app.save.author"), key="save_author")
        message = st.text_input(tr("app.save.message"), key="save_message")
        if st.form_submit_button(tr("app.save.button"), type="primary"):
            try:
                same = actions.identical_version(store, last["dir"], name=last["name"])
                if same is None:
                    version = actions.save_run(
                        store, last["dir"], name=last["name"], author=author, message=message, on_head=True
                    )
            except GisplanError as exc:
                show_error(exc)
            else:
                if same is not None:
                    st.session_state["open_version"] = same.id
                    st.warning(tr("app.save.identical", id=same.short_id))
                else:
                    st.session_state["open_version"] = version.id
                    st.success(tr("app.save.done", id=version.short_id))

# -- versions ------------------------------------------------------------------------------------------------------
st.subheader(tr("app.versions"))
versions = store.log()
if not versions:
    st.info(tr("app.versions.none"))
    st.stop()


def _value(key: str, v: object) -> str:
    """A KPI value as text in the current language (Babel formats, by the KPI's unit)."""
    return formatting.kpi_value(key, v, lang())


def _when(created_at: str) -> str:
    """A stored UTC time in Vietnam's time, written as the current language writes it."""
    return formatting.when(created_at, lang()) if created_at else created_at


def _status(status: str) -> str:
    return value_label("status", status, lang())


table(
    pd.DataFrame(
        [
            {
                "id": v.short_id,
                "scenario": v.scenario_name,
                "status": v.status,
                "created_at": _when(v.created_at),
                "author": v.author,
                "message": v.message,
                "cost_vnd": v.kpis.get("cost_vnd"),
            }
            for v in versions
        ]
    )
)

ids = [v.id for v in versions]
by_id = {v.id: v for v in versions}
# The version on screen is ``open_version`` (the one just saved, or the last picked): the picker is set from it
# before it is drawn, so a rerun never swaps the version under a reviewer.  Its labels leave out the status
# (a label that changes after a review would make Streamlit drop the choice and fall back to the newest).
if st.session_state.get("open_version") not in ids:
    st.session_state["open_version"] = ids[0]
st.session_state["versions_pick"] = st.session_state["open_version"]


def _picked() -> None:
    st.session_state["open_version"] = st.session_state["versions_pick"]


picked = st.selectbox(
    tr("app.versions.open"),
    options=ids,
    format_func=lambda i: (
        f"{by_id[i].short_id} · {by_id[i].scenario_name} · {_when(by_id[i].created_at)} · {by_id[i].message}"
    ),
    key="versions_pick",
    on_change=_picked,
)
version = by_id[picked]
st.info(tr("app.versions.current", status=_status(version.status)))

c1, c2 = st.columns(2)
with c1:
    st.markdown(f"**{plain(version.scenario_name)}** · {_when(version.created_at)} · {plain(version.author)}")
    kpis = {k: v for k, v in version.kpis.items() if not isinstance(v, dict | list)}
    table(pd.DataFrame({"kpi": [kpi_name(k) for k in kpis], "value": [_value(k, v) for k, v in kpis.items()]}))
with c2:
    st.write(tr("app.versions.files"))
    for name in version.artifact_names:
        st.download_button(
            plain(name),
            data=lambda vid=version.id, n=name: store.artifact(vid, n),  # read on click, not on every rerun
            file_name=actions.download_name(
                f"{version.scenario_name}-{formatting.local_date(version.created_at)}-{version.short_id}", name
            ),
            mime=MIME.get(Path(name).suffix, "application/octet-stream"),
            key=f"dl_{version.id}_{name}",
            on_click="ignore",  # no rerun: its end-of-run cleanup could drop the file the click is fetching
        )

# -- review --------------------------------------------------------------------------------------------------------
st.subheader(tr("app.review"))
reviews = store.reviews(version.id)
if reviews:
    rows = pd.DataFrame([r.to_dict() for r in reviews])
    rows["created_at"] = rows["created_at"].map(_when)
    table(rows, drop=("version_id",))
done = st.session_state.pop("review_done", None)
if done:
    st.success(tr("app.review.done", id=done["id"], old=_status(done["old"]), new=_status(done["new"])))
# a review changes the status: the current one is not offered (a comment alone is not a decision)
allowed = [s for s in TRANSITIONS[version.status] if s != version.status]
if not allowed:
    st.info(tr("app.review.final", status=_status(version.status)))
else:
    # the form is keyed by the version and its status: its fields belong to this version as it is shown now
    form_key = f"review_{version.id}_{version.status}"
    with st.form(form_key, clear_on_submit=True):
        status = st.selectbox(tr("app.review.status"), options=allowed, format_func=_status, key=f"{form_key}_status")
        reviewer = st.text_input(tr("app.review.reviewer"), key=f"{form_key}_reviewer")
        comment = st.text_area(tr("app.review.comment"), key=f"{form_key}_comment")
        if st.form_submit_button(tr("app.review.for", id=version.short_id)):
            try:
                reviewed = actions.review_version(
                    store, version.id, status=status, reviewer=reviewer, comment=comment, shown_status=version.status
                )
            except GisplanError as exc:
                show_error(exc)
            else:
                st.session_state["review_done"] = {"id": reviewed.short_id, "old": version.status, "new": status}
                st.rerun()
