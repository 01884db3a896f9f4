"""Scenarios page: save the last run as a version, list versions with their status, open one, review it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st
from appkit import open_store, show_error, store_path, tr

from gisplan._errors import GisplanError
from gisplan.store import TRANSITIONS
from gisplan.workflow import run_artifacts

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
        st.write(tr("app.save.last", title=last["title"]))
        author = st.text_input(tr("app.save.author"), key="save_author")
        message = st.text_input(tr("app.save.message"), key="save_message")
        if st.form_submit_button(tr("app.save.button"), type="primary"):
            try:
                head = store.head(last["name"])
                kpis = json.loads((Path(last["dir"]) / "kpis.json").read_text(encoding="utf-8"))
                version = store.save(
                    scenario_name=last["name"],
                    scenario_text=last["scenario_text"],
                    artifacts=run_artifacts(last["dir"]),
                    kpis=kpis,
                    author=author.strip(),
                    message=message.strip(),
                    parent=head.id if head is not None else None,
                )
            except GisplanError as exc:
                show_error(exc)
            else:
                st.session_state["open_version"] = version.id
                st.success(tr("app.save.done", id=version.short_id))

# -- versions ------------------------------------------------------------------------------------------------------
st.subheader(tr("app.versions"))
versions = store.log()
if not versions:
    st.info(tr("app.versions.none"))
    st.stop()
table = pd.DataFrame(
    [
        {
            "id": v.short_id,
            "scenario": v.scenario_name,
            "status": v.status,
            "created_at": v.created_at,
            "author": v.author,
            "message": v.message,
            "cost_vnd": v.kpis.get("cost_vnd"),
        }
        for v in versions
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

ids = [v.id for v in versions]
by_id = {v.id: v for v in versions}
chosen = st.session_state.get("open_version")
picked = st.selectbox(
    tr("app.versions.open"),
    options=ids,
    index=ids.index(chosen) if chosen in ids else 0,
    format_func=lambda i: f"{by_id[i].short_id} · {by_id[i].scenario_name} · {by_id[i].status} · {by_id[i].message}",
    key="versions_pick",
)
version = by_id[picked]

c1, c2 = st.columns(2)
with c1:
    st.write(f"**{version.scenario_name}** · {version.created_at} · {version.author}")
    kpis = {k: v for k, v in version.kpis.items() if not isinstance(v, dict | list)}
    st.dataframe(pd.DataFrame({"kpi": list(kpis), "value": [str(v) for v in kpis.values()]}), hide_index=True)
with c2:
    st.write(tr("app.versions.files"))
    for name in version.artifact_names:
        st.download_button(
            name,
            data=store.artifact(version.id, name),
            file_name=f"{version.scenario_name}-{version.short_id}-{name}",
            mime=MIME.get(Path(name).suffix, "application/octet-stream"),
            key=f"dl_{version.id}_{name}",
        )

# -- review --------------------------------------------------------------------------------------------------------
st.subheader(tr("app.review"))
reviews = store.reviews(version.id)
if reviews:
    st.dataframe(pd.DataFrame([r.to_dict() for r in reviews]).drop(columns="version_id"), hide_index=True)
allowed = TRANSITIONS[version.status]
if not allowed:
    st.info(tr("app.review.final", status=version.status))
else:
    with st.form("review_version"):
        status = st.selectbox(tr("app.review.status"), options=list(allowed), key="review_status")
        reviewer = st.text_input(tr("app.review.reviewer"), key="review_reviewer")
        comment = st.text_area(tr("app.review.comment"), key="review_comment")
        if st.form_submit_button(tr("app.review.button")):
            try:
                store.review(version.id, status=status, reviewer=reviewer.strip(), comment=comment)
            except GisplanError as exc:
                show_error(exc)
            else:
                st.rerun()
