"""Undergrounding page: draw zones, set the parameters, run, see trenches by phase, KPIs, BOQ, roadmap."""

from __future__ import annotations

import streamlit as st
from appkit import (
    STATIC_DIR,
    STATIC_URL,
    boq_charts,
    drawings,
    kpi_metrics,
    lang,
    layers_section,
    plain,
    plan_kpi_metrics,
    project_or_stop,
    project_path,
    run_done,
    run_scenario_text,
    set_drawings,
    show_error,
    show_map,
    table,
    tr,
)

from gisplan._errors import GisplanError
from gisplan.demo import demo_zone_feature
from gisplan.outputs import maps, tables
from gisplan.workflow import actions

DRAWINGS = "ug_drawings"
KPIS = [
    ("trench_km", "kpi.trench_km", "{:,.2f}"),
    ("aerial_km_removed", "kpi.aerial_km_removed", "{:,.2f}"),
    ("cost_vnd", "kpi.cost_vnd", "{:,.0f}"),
    ("n_phases", "kpi.n_phases", "{:d}"),
    ("steiner_gap", "kpi.steiner_gap", "{:.1%}"),
    ("n_poles_removed", "kpi.n_poles_removed", "{:d}"),
]
#: What an outside-plant engineer checks before signing (issue 12): the money per street freed, the households
#: moved, the chambers' density and share, how far cables are re-pulled.
ENGINEER_KPIS = [
    "investment_total_vnd",
    "cost_per_street_km_freed_vnd",
    "households_migrated",
    "n_drops",
    "chambers_per_km",
    "chamber_cost_share",
    "repull_ratio_mean",
    "repull_ratio_max",
]
BASE_KINDS = ("land", "boundaries", "roads", "ducts", "cables", "sites")

st.title(tr("app.underground"))
st.caption(tr("app.ug.help"))

layers = project_or_stop()

with st.sidebar:
    # first values in appkit.WIDGET_DEFAULTS (kept across pages)
    title = st.text_input(tr("app.scenario.title"), key="ug_title")
    spacing = st.number_input(tr("app.ug.spacing"), min_value=10, max_value=5000, step=10, key="ug_spacing")
    budget_bn = st.number_input(tr("app.ug.budget"), min_value=0.1, max_value=10_000.0, step=1.0, key="ug_budget")
    start_year = st.number_input(tr("app.ug.start_year"), min_value=2000, max_value=2100, key="ug_start_year")

drawn = drawings(DRAWINGS)
zones = [d for d in drawn if (d.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]

col1, col2, col3 = st.columns([2, 2, 1])
if col1.button(tr("app.ug.demo_zone"), key="ug_demo_zone"):
    set_drawings(DRAWINGS, [*drawn, demo_zone_feature()])
    st.rerun()
col2.caption(tr("app.ug.zones", n=len(zones)))
if drawn and col3.button(tr("app.draw.clear"), key="ug_clear"):
    set_drawings(DRAWINGS, [])
    st.rerun()

run = st.session_state.get("runs", {}).get("underground")
opts = {"static_dir": STATIC_DIR, "static_url": STATIC_URL}
try:
    if run is not None:
        m = maps.plan_map(run["result"].plan, run["result"].layers, **opts)
    else:
        m = maps.layers_map(layers, kinds=[k for k in BASE_KINDS if k in layers], **opts)
except GisplanError as exc:
    show_error(exc)
    st.stop()
scope = f"run:{run['dir']}" if run is not None else f"project:{project_path()}"
show_map(m, key="ug_map", scope=scope, drawings_key=DRAWINGS)

if st.button(tr("app.run.button"), type="primary", key="ug_run", disabled=not zones):
    try:
        scenario = actions.underground_scenario(
            title=title,
            layers=layers_section(),
            zones=zones,
            budget_per_year_vnd=actions.vnd_from_billions(budget_bn),
            start_year=int(start_year),
            manhole_spacing_m=float(spacing),
        )
        run_scenario_text(actions.scenario_yaml(scenario), "underground")
        st.session_state["runs"]["underground"]["zones"] = list(zones)
    except GisplanError as exc:
        show_error(exc)
        st.stop()
    st.rerun()
run_done(run)
if not zones:
    st.info(tr("app.ug.need_zone"))

if run is None:
    st.info(tr("app.run.none"))
    st.stop()

plan = run["result"].plan
st.subheader(plain(run["title"]))
kpi_metrics(plan.kpis, KPIS)
plan_kpi_metrics(plan.kpis, ENGINEER_KPIS)

estimate = tables.estimate_table(plan, lang())
if len(estimate):
    st.caption(tr("app.ug.estimate"))
    table(estimate)

timeline = tables.phase_summary(plan)
if len(timeline):
    st.caption(tr("app.ug.timeline"))
    table(timeline)  # the chart by phase follows the BOQ; the figures are the plan's own (as its KPIs)

st.subheader(tr("app.boq"))
table(plan.boq)
boq_charts(plan.boq)
if plan.messages:
    with st.expander(tr("app.messages")):
        for msg in plan.messages:
            st.text(msg)
with st.expander(tr("app.scenario.yaml")):
    st.code(run["scenario_text"], language="yaml")
