"""gisplan's Streamlit app: the entry file (language switch, navigation over thin pages).

Run it with ``gisplan app`` (or ``python -m streamlit run app/streamlit_app.py``).
To add a page: write ``app/views/<name>.py`` (read widgets, call gisplan, render;
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

from gisplan.i18n import LANGS, both  # noqa: E402

#: (page file under app/, i18n key of its title). Add planner pages here.
#: No page icons: Streamlit turns a page's icon into the favicon, fetched from a Google font server (offline: fails).
PAGES: list[tuple[str, str]] = [
    ("views/map.py", "app.map"),  # the default page (at "/"): the app opens on the project's map, with a guide
    ("views/home.py", "app.home"),
    ("views/underground.py", "app.underground"),
    ("views/wifi.py", "app.wifi"),
    ("views/scenarios.py", "app.scenarios"),
    ("views/compare.py", "app.compare"),
    ("views/export.py", "app.export"),
]

# No page_icon: a material favicon is fetched from a Google font server (the browser tests catch it).
st.set_page_config(page_title="gisplan", layout="wide")
appkit.install_assets()
appkit.keep_widget_values()  # the pages' parameters survive a visit to another page
appkit.streamlit_texts()
appkit.restore_user_state()  # a reload keeps the drawings, uploads and last results (per user, on disk)
appkit.remember_user()  # ... and so does a page loaded from a link without the user's id in it

with st.sidebar:
    st.radio(
        both("app.language"),  # the same in both languages: findable by whoever does not read the current one
        options=list(LANGS),
        format_func=lambda code: {"vi": "Tiếng Việt", "en": "English"}[code],
        key="lang",
        horizontal=True,
    )

pages = [st.Page(str(APP_DIR / path), title=appkit.tr(key), default=(i == 0)) for i, (path, key) in enumerate(PAGES)]
page = st.navigation(pages)
# a visit to another page: maps there are built anew with the drawings kept (appkit.show_map)
if st.session_state.get("_gisplan_page") != page.url_path:
    st.session_state["_gisplan_page"] = page.url_path
    st.session_state["_gisplan_visit"] = st.session_state.get("_gisplan_visit", 0) + 1
page.run()
