"""Compare page: pick two saved versions; their differences on the map, BOQ and KPI deltas, parameters."""

from __future__ import annotations

import streamlit as st
from appkit import (
    cost_metric,
    current_project,
    kpi_name,
    lang,
    open_store,
    plain,
    session_dir,
    show_error,
    show_map,
    table,
    tr,
)

from gisplan._errors import GisplanError
from gisplan.i18n import both, value_label
from gisplan.workflow import actions
from gisplan.workflow.compare import comparison_map, feature_change_text

CONTEXT_KINDS = ("land", "boundaries", "roads")

st.title(tr("app.compare"))
try:
    store = open_store()
except GisplanError as exc:
    show_error(exc)
    st.stop()
versions = store.log()
if len(versions) < 2:
    st.info(tr("app.compare.need_two"))
    st.stop()

by_id = {v.id: v for v in versions}
ids = list(by_id)


def _label(i: str) -> str:
    v = by_id[i]
    return f"{v.short_id} · {v.scenario_name} · {value_label('status', v.status, lang())} · {v.message}"


# back on this page, the pickers show the last comparison (Streamlit forgot their values on the other page)
shown = st.session_state.get("last_compare") or {}
index_a = ids.index(shown["a"]) if shown.get("a") in ids else 1
index_b = ids.index(shown["b"]) if shown.get("b") in ids else 0
c1, c2 = st.columns(2)
a = c1.selectbox(tr("app.compare.a"), options=ids, index=index_a, format_func=_label, key="compare_a")
b = c2.selectbox(tr("app.compare.b"), options=ids, index=index_b, format_func=_label, key="compare_b")

if st.button(tr("app.compare.button"), type="primary", key="compare_run"):
    try:
        try:
            project = current_project()
        except (GisplanError, FileNotFoundError):
            project = {}
        context = {k: project[k] for k in CONTEXT_KINDS if k in project}
        outcome = actions.compare_versions(store, a, b, session_dir(), context=context)
        comparison, title, files = outcome.comparison, outcome.title, outcome.files
    except GisplanError as exc:
        show_error(exc)
        st.stop()
    st.session_state["last_compare"] = {
        "a": a,
        "b": b,
        "title": title,
        "comparison": comparison,
        "context": context,
        "files": {k: str(v) for k, v in files.items()},
    }

last = st.session_state.get("last_compare")
if last is None or (last["a"], last["b"]) != (a, b):
    st.stop()

comparison = last["comparison"]
st.subheader(plain(last["title"]))
if comparison.is_empty:
    st.success(tr("app.compare.same"))
summary = comparison.summary()
m1, m2, m3, m4 = st.columns(4)
cost_metric(m1, "Δ " + tr("app.compare.cost_delta"), summary["amount_delta_vnd"], delta=True)
m2.metric(tr("app.compare.phases_changed"), summary["phases_changed"])
m3.metric(tr("app.compare.kpis_changed"), summary["kpis_changed"])
m4.metric(tr("app.compare.params"), summary["params_changed"])

m = comparison_map(comparison.features, last["context"], unchanged=comparison.unchanged)
show_map(m, key="compare_map", scope=f"compare:{last['a']}:{last['b']}", height=480)

# where the money moved: a plan that only shifts work between years has a zero total and differences here
by_phase = comparison.by_phase
if len(by_phase):
    st.subheader(tr("app.compare.by_phase"))
    table(by_phase)
if len(comparison.features):
    st.subheader(tr("app.compare.features"))
    feats = comparison.features.drop(columns=comparison.features.geometry.name)
    feats = feats.assign(
        layer=[both(f"layer.{k}") for k in feats["layer"]],
        detail=[feature_change_text(d, lang()) for d in feats["detail"]],
    )
    table(feats)
st.subheader(tr("app.compare.kpis"))
kpis = comparison.kpis.copy()
kpis["kpi"] = kpis["kpi"].map(kpi_name)
table(kpis)
st.subheader(tr("app.compare.boq"))
table(comparison.boq_items)
if len(comparison.params):
    st.subheader(tr("app.compare.params"))
    table(comparison.params.rename(columns={"key": "parameter"}))
