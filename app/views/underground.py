"""Undergrounding page: draw zones, set the parameters, run, see trenches by phase, KPIs, BOQ, roadmap."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
import yaml
from appkit import (
    STATIC_DIR,
    STATIC_URL,
    boq_charts,
    feature_collection,
    keep_drawings,
    kpi_metrics,
    layers_section,
    project_or_stop,
    run_scenario_text,
    show_error,
    table,
    tr,
)
from shapely.geometry import mapping
from streamlit_folium import st_folium

from gisplan import maps
from gisplan._errors import GisplanError

DRAWINGS = "ug_drawings"
KPIS = [
    ("trench_km", "kpi.trench_km", "{:,.2f}"),
    ("aerial_km_removed", "kpi.aerial_km_removed", "{:,.2f}"),
    ("cost_vnd", "kpi.cost_vnd", "{:,.0f}"),
    ("n_phases", "kpi.n_phases", "{:d}"),
    ("steiner_gap", "kpi.steiner_gap", "{:.1%}"),
    ("n_poles_removed", "kpi.n_poles_removed", "{:d}"),
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

drawings: list[dict] = st.session_state.setdefault(DRAWINGS, [])
zones = [d for d in drawings if (d.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]

col1, col2, col3 = st.columns([2, 2, 1])
if col1.button(tr("app.ug.demo_zone"), key="ug_demo_zone"):
    from gisplan.demo_data import demo_zone_duong_dong

    zone = {"type": "Feature", "properties": {}, "geometry": mapping(demo_zone_duong_dong())}
    st.session_state[DRAWINGS] = [*drawings, zone]
    st.rerun()
col2.caption(tr("app.ug.zones", n=len(zones)))
if drawings and col3.button(tr("app.draw.clear"), key="ug_clear"):
    st.session_state[DRAWINGS] = []
    st.rerun()

run = st.session_state.get("runs", {}).get("underground")
opts = {"static_dir": STATIC_DIR, "static_url": STATIC_URL, "draw": True, "drawings": drawings}
try:
    if run is not None:
        # the plan shows its zones itself: draw back only what was drawn since, so trenches stay visible
        used = {json.dumps(f["geometry"], sort_keys=True) for f in run.get("zones", [])}
        opts["drawings"] = [d for d in drawings if json.dumps(d["geometry"], sort_keys=True) not in used]
        m = maps.plan_map(run["result"].plan, run["result"].layers, **opts)
    else:
        m = maps.layers_map(layers, kinds=[k for k in BASE_KINDS if k in layers], **opts)
    maps.make_offline(m, mode="static", static_url=f"{STATIC_URL}/vendor")
except GisplanError as exc:
    show_error(exc)
    st.stop()
out = st_folium(m, key="ug_map", height=560, use_container_width=True, returned_objects=["all_drawings"])
keep_drawings(DRAWINGS, out)

if st.button(tr("app.run.button"), type="primary", key="ug_run", disabled=not zones):
    scenario = {
        "title": title,
        "layers": layers_section(),
        "geometries": {"zones": feature_collection(zones)},
        "underground": {
            "enabled": True,
            "budget_per_year_vnd": round(budget_bn * 1e9),
            "start_year": int(start_year),
            "manhole_spacing_m": float(spacing),
        },
    }
    try:
        run_scenario_text(yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False), "underground")
        st.session_state["runs"]["underground"]["zones"] = list(zones)
    except GisplanError as exc:
        show_error(exc)
        st.stop()
    st.rerun()
if not zones:
    st.info(tr("app.ug.need_zone"))

if run is None:
    st.info(tr("app.run.none"))
    st.stop()

plan = run["result"].plan
st.subheader(run["title"])
kpi_metrics(plan.kpis, KPIS)

trenches = plan.layers.get("trenches")
if trenches is not None and len(trenches) and "phase" in trenches.columns:
    st.caption(tr("app.ug.timeline"))
    km = trenches.groupby("phase")["length_m"].sum() / 1000.0
    cost = plan.boq.groupby("phase")["amount_vnd"].sum() / 1e6
    timeline = pd.DataFrame({"trench_km": km.round(3), "million_vnd": cost.round(1)}).fillna(0.0)
    timeline.index = timeline.index.astype(str)
    table(timeline.rename_axis("phase").reset_index())  # the chart by phase follows the BOQ

st.subheader(tr("app.boq"))
table(plan.boq)
boq_charts(plan.boq)
if plan.messages:
    with st.expander(tr("app.messages")):
        for msg in plan.messages:
            st.write(msg)
with st.expander(tr("app.scenario.yaml")):
    st.code(run["scenario_text"], language="yaml")
