"""gisplan's Streamlit app: the entry file (language switch, navigation over thin pages).

Run it with ``gisplan app`` (or ``python -m streamlit run app/streamlit_app.py``).
To add a page: write ``app/pages/<name>.py`` (read widgets, call gisplan, render;
use ``appkit.tr`` for labels) and add one line to ``PAGES`` below with its i18n
title key (in ``gisplan/i18n.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
if str(APP_DIR) not in sys.path:  # pages import appkit
    sys.path.insert(0, str(APP_DIR))

import appkit  # noqa: E402

from gisplan.i18n import LANGS, t  # noqa: E402

#: (page file under app/, i18n key of its title, icon). Add planner pages here.
PAGES: list[tuple[str, str, str]] = [
    ("pages/home.py", "app.home", ":material/home:"),
    ("pages/map.py", "app.map", ":material/map:"),
]

st.set_page_config(page_title="gisplan", page_icon=":material/cell_tower:", layout="wide")
appkit.install_assets()

with st.sidebar:
    st.radio(
        t("app.language", appkit.lang()) + " / Language",
        options=list(LANGS),
        format_func=lambda code: {"vi": "Tiếng Việt", "en": "English"}[code],
        key="lang",
        horizontal=True,
    )

pages = [
    st.Page(str(APP_DIR / path), title=appkit.tr(key), icon=icon, default=(i == 0))
    for i, (path, key, icon) in enumerate(PAGES)
]
st.navigation(pages).run()
