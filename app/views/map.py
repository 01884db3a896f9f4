"""Map page: every layer of the project on an offline map, with the drawing toolbar."""

from __future__ import annotations

import streamlit as st
from appkit import (
    STATIC_DIR,
    STATIC_URL,
    current_project,
    drawings,
    forget_upload,
    project_metric_crs,
    project_or_stop,
    project_path,
    remember_upload,
    set_drawings,
    show_error,
    show_map,
    tr,
)

from gisplan._errors import GisplanError
from gisplan.i18n import both
from gisplan.io.uploads import ALLOWED_SUFFIXES, read_upload
from gisplan.outputs import maps

#: Coordinate systems offered for files that state none: code -> name planners know.
UPLOAD_CRS = {
    "EPSG:4326": "WGS 84 (GPS)",
    "EPSG:4756": "VN-2000",
    "EPSG:9207": "VN-2000 / TM-3 104°30' (Kiên Giang)",
}
#: Text encodings offered for uploads ("" = detect: UTF-8 or the Shapefile's .cpg).
UPLOAD_ENCODINGS = {
    "": "Tự nhận / Detect (UTF-8, .cpg)",
    "cp1258": "Windows-1258",
    "tcvn3": "TCVN3 (ABC)",
    "vni": "VNI",
    "utf-8": "UTF-8",
}

st.title(tr("app.map"))
st.caption(tr("app.guide.short"))  # the workflow in one line; its steps one click away
with st.expander(tr("app.guide")):
    st.markdown(tr("app.guide.steps"))

layers = project_or_stop()

with st.expander(tr("app.upload"), expanded=bool(st.session_state.get("uploaded_layers"))):
    upload = st.file_uploader(
        tr("app.upload"),
        type=[s.lstrip(".") for s in ALLOWED_SUFFIXES],
        help=tr("app.upload.help"),
        key="map_upload",
    )
    upload_crs = st.selectbox(
        tr("app.upload.crs"),
        list(UPLOAD_CRS),
        format_func=lambda code: f"{UPLOAD_CRS[code]} ({code})",
        key="map_upload_crs",
    )
    upload_encoding = st.selectbox(
        tr("app.upload.encoding"),
        list(UPLOAD_ENCODINGS),
        format_func=lambda code: UPLOAD_ENCODINGS[code],
        key="map_upload_encoding",
        help=tr("app.upload.encoding.help"),
    )
    source = (upload.file_id, upload_crs, upload_encoding) if upload is not None else None
    if upload is not None and st.session_state.get("uploaded_from") != source:
        st.session_state["uploaded_from"] = source
        forget_upload()
        try:
            remember_upload(
                read_upload(
                    upload.name,
                    upload.getvalue(),
                    crs=upload_crs,
                    encoding=upload_encoding or None,
                    metric_crs=project_metric_crs(),
                )
            )
        except GisplanError as exc:
            st.session_state["upload_error"] = exc
        else:
            st.session_state.pop("upload_error", None)
    # uploaded layers stay until the user drops them (the uploader forgets its file on another page)
    if st.session_state.get("upload_error") is not None:
        show_error(st.session_state["upload_error"])
    uploaded = st.session_state.get("uploaded_layers") or {}
    if uploaded:
        st.success(tr("app.upload.loaded", kinds=", ".join(f"{k} ({len(v)})" for k, v in uploaded.items())))
        if st.button(tr("app.upload.clear"), key="map_upload_clear"):
            forget_upload()
            st.session_state.pop("uploaded_from", None)
            st.session_state.pop("upload_error", None)
            st.rerun()
layers = current_project()  # the upload, if any, in place of the project's own layers

st.caption(tr("app.project.loaded", n=len(layers)))
with st.sidebar:
    kinds = st.multiselect(
        tr("app.map.layers"),
        options=list(layers),
        default=list(layers),
        format_func=lambda k: f"{both('layer.' + k)} ({len(layers[k])})",
        key="map_kinds",
    )
    tiles = st.radio(
        tr("app.map.tiles"),
        options=["offline", "osm"],
        format_func=lambda v: tr(f"app.map.tiles.{v}"),
        key="map_tiles",
    )

try:
    m = maps.layers_map(layers, kinds=kinds, tiles=tiles, static_dir=STATIC_DIR, static_url=STATIC_URL)
except GisplanError as exc:
    show_error(exc)
    st.stop()
show_map(m, key="project_map", scope=f"project:{project_path()}", drawings_key="drawings", height=640)

drawn = drawings("drawings")
col1, col2 = st.columns([3, 1])
col1.caption(tr("app.map.drawings", n=len(drawn)))
if drawn and col2.button(tr("app.map.clear"), key="clear_drawings"):
    set_drawings("drawings", [])
    st.rerun()
