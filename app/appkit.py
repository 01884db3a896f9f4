"""Shared helpers of the app's pages: language, project loading, static folder, errors.

Pages stay thin: they read widgets, call gisplan, render.  Everything here is
small glue around the library.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import streamlit as st

from gisplan._assets import install_static_assets
from gisplan.i18n import DEFAULT_LANG, LANGS, t

APP_DIR = Path(__file__).resolve().parent
#: Served by Streamlit at /app/static (server.enableStaticServing).
STATIC_DIR = APP_DIR / "static"
STATIC_URL = "/app/static"
#: Environment variable naming the project GeoPackage (default: the Phú Quốc demo).
PROJECT_ENV = "GISPLAN_PROJECT"


def lang() -> str:
    """The language chosen in the sidebar (Vietnamese by default)."""
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def tr(key: str, **fmt: object) -> str:
    """``gisplan.i18n.t`` in the current language."""
    return t(key, lang(), **fmt)


@st.cache_resource(show_spinner=False)
def install_assets() -> dict[str, str]:
    """Write the offline map assets under app/static/vendor once per server process."""
    return install_static_assets(STATIC_DIR)


def project_path() -> Path:
    """The project GeoPackage: ``$GISPLAN_PROJECT`` or the Phú Quốc demo."""
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env)
    from gisplan.demo_data import demo_gpkg_path

    return demo_gpkg_path()


@st.cache_resource(show_spinner=False)
def load_project(path: str, mtime_ns: int) -> dict[str, gpd.GeoDataFrame]:
    """Read and validate a project's layers (cached per file version; the frames are shared, never modified)."""
    from gisplan.layers import read_layers

    del mtime_ns  # part of the cache key only
    return read_layers(path)


def current_project() -> dict[str, gpd.GeoDataFrame]:
    """Load the current project (cached); raises GisplanError on invalid layers."""
    path = project_path()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return load_project(str(path), mtime)
