"""Export page: download the last run's BOQ (XLSX, CSV), plan layers (GeoPackage) and map, and the last comparison."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from appkit import plain, tr

RUN_FILES = {
    "boq.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "boq.csv": "text/csv",
    "plan.gpkg": "application/geopackage+sqlite3",
    "map.html": "text/html",
}
COMPARE_FILES = {
    "compare.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "compare.html": "text/html",
}


def _downloads(folder: Path, files: dict[str, str], prefix: str) -> None:
    cols = st.columns(len(files))
    for col, (name, mime) in zip(cols, files.items(), strict=True):
        path = folder / name
        if path.is_file():
            col.download_button(
                name,
                data=path.read_bytes,  # read on click, not on every rerun (plan.gpkg, map.html grow with the plan)
                file_name=name,
                mime=mime,
                key=f"export_{prefix}_{name}",
            )


st.title(tr("app.export"))

last = st.session_state.get("last_run")
if last is None:
    st.info(tr("app.run.none"))
else:
    st.subheader(tr("app.export.run", title=plain(last["title"])))
    _downloads(Path(last["dir"]), RUN_FILES, "run")

st.subheader(tr("app.export.compare"))
comparison = st.session_state.get("last_compare")
if comparison is None:
    st.info(tr("app.export.none_compare"))
else:
    st.caption(plain(comparison["title"]))
    _downloads(Path(comparison["files"]["compare.xlsx"]).parent, COMPARE_FILES, "compare")
