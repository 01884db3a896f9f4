"""Remote-area wifi page: place candidate sites, budget or cover-all, run; chosen sites, backhaul, people vs cost."""

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
    line_chart,
    plain,
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
from gisplan.i18n import column_label
from gisplan.outputs import maps, tables
from gisplan.wifi.planner import unserved_settlements
from gisplan.workflow import actions

DRAWINGS = "wifi_drawings"
KPIS = [
    ("n_sites", "kpi.n_sites", "{:d}"),
    ("people_newly_covered", "kpi.people_newly_covered", "{:,d}"),
    ("people_unserved", "kpi.people_unserved", "{:,d}"),
    ("cost_vnd", "kpi.cost_vnd", "{:,.0f}"),
    ("cost_per_person_vnd", "kpi.cost_per_person_vnd", "{:,.0f}"),
]
BASE_KINDS = ("land", "boundaries", "roads", "coverage", "settlements", "sites")

st.title(tr("app.wifi"))
st.caption(tr("app.wifi.help"))

layers = project_or_stop()

with st.sidebar:
    # first values in appkit.WIDGET_DEFAULTS (kept across pages)
    title = st.text_input(tr("app.scenario.title"), key="wifi_title")
    mode = st.radio(
        tr("app.wifi.mode"),
        options=["budget", "cover_all"],
        format_func=lambda v: tr(f"app.wifi.mode.{v}"),
        key="wifi_mode",
    )
    budget_bn = st.number_input(
        tr("app.wifi.budget"),
        min_value=0.1,
        max_value=100_000.0,
        step=0.5,
        key="wifi_budget",
        disabled=mode == "cover_all",
    )
    year = st.number_input(tr("app.wifi.year"), min_value=2000, max_value=2100, key="wifi_year")

drawn = drawings(DRAWINGS)
sites = [d for d in drawn if (d.get("geometry") or {}).get("type") == "Point"]
col1, col2 = st.columns([4, 1])
col1.caption(tr("app.wifi.sites", n=len(sites)))
if drawn and col2.button(tr("app.draw.clear"), key="wifi_clear"):
    set_drawings(DRAWINGS, [])
    st.rerun()

run = st.session_state.get("runs", {}).get("wifi")
opts = {"static_dir": STATIC_DIR, "static_url": STATIC_URL}
try:
    if run is not None:
        m = maps.plan_map(run["result"].plan, run["result"].layers, **opts)
    else:
        m = maps.layers_map(layers, kinds=[k for k in BASE_KINDS if k in layers], **opts)
        if "settlements" in layers:  # the demand, highlighted before any run
            unserved = unserved_settlements(layers)
            if len(unserved):
                maps.add_layer(m, unserved, kind="settlements_unserved", static_dir=STATIC_DIR, static_url=STATIC_URL)
except GisplanError as exc:
    show_error(exc)
    st.stop()
scope = f"run:{run['dir']}" if run is not None else f"project:{project_path()}"
show_map(m, key="wifi_map", scope=scope, drawings_key=DRAWINGS)

if st.button(tr("app.run.button"), type="primary", key="wifi_run"):
    try:
        scenario = actions.wifi_scenario(
            title=title,
            layers=layers_section(),
            year=int(year),
            cover_all=mode == "cover_all",
            budget_vnd=None if mode == "cover_all" else actions.vnd_from_billions(budget_bn),
            candidate_sites=sites,
        )
        run_scenario_text(actions.scenario_yaml(scenario), "wifi")
    except GisplanError as exc:
        show_error(exc)
        st.stop()
    st.rerun()
run_done(run)

if run is None:
    st.info(tr("app.run.none"))
    st.stop()

plan = run["result"].plan
st.subheader(plain(run["title"]))
kpi_metrics(plan.kpis, KPIS)

drawn_sites = plan.layers.get("drawn_sites")
if drawn_sites is not None and len(drawn_sites):  # the planner's own sites: used or not, and why (the library's)
    st.subheader(tr("app.wifi.drawn"))
    st.caption(tr("app.wifi.drawn.help"))
    table(
        drawn_sites,
        drop=("used", "people_in_reach", "people_served", "served_by", "cost_vnd", "budget_left_vnd", "backhaul"),
    )

curve = tables.cost_per_person_curve(plan)
if len(curve):
    st.caption(tr("app.wifi.curve"))
    c1, c2 = st.columns([2, 3])
    with c1:
        x, y = column_label("cumulative_cost_vnd", lang()), column_label("cumulative_people", lang())
        line_chart(curve.rename(columns={"cumulative_cost_vnd": x, "cumulative_people": y}), x=x, y=y)
    with c2:
        table(curve, drop=("vnd_per_person", "cumulative_cost_vnd", "cumulative_people"))

options = plan.layers.get("backhaul_options")
if options is not None and len(options):
    st.subheader(tr("app.wifi.options"))
    # peer_x/peer_y are metric coordinates and `why` repeats every option's cost: not for reading
    table(options, drop=("peer_x", "peer_y", "why"))

st.subheader(tr("app.boq"))
table(plan.boq)
boq_charts(plan.boq)
if plan.messages:
    with st.expander(tr("app.messages")):
        for msg in plan.messages:
            st.text(msg)
with st.expander(tr("app.scenario.yaml")):
    st.code(run["scenario_text"], language="yaml")
