"""Home page: what gisplan does, in the chosen language."""

from __future__ import annotations

import streamlit as st
from appkit import tr

st.title(tr("app.title"))
st.write(tr("app.home.intro"))
st.info(tr("app.home.pages"))
