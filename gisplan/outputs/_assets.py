"""Offline JavaScript and CSS for the folium maps.

folium loads Leaflet, jQuery, Bootstrap and its plugins from public CDNs; with
no Internet one failed script leaves the map blank.  gisplan does not copy
those third-party files into its repository: they come from the pinned PyPI
package ``folium-offline`` (:data:`OFFLINE_PACKAGE`), which carries the text of
every asset folium 0.20 loads in ``offlinefolium.elements._res``, keyed by CDN
URL.  This module reads them at run time, and

- :func:`asset_texts` returns them (CDN URL -> text) for inline embedding in a
  standalone ``map.html``;
- :func:`install_static_assets` writes them once under ``<static_dir>/vendor/``
  for the Streamlit app, which serves ``<app dir>/static`` at ``/app/static``.

Two style sheets folium references are dropped on purpose
(:data:`DROPPED_ASSETS`): the Font Awesome and Bootstrap 3 glyphicon sheets
point at web-font files (``../webfonts/*.woff2``, ``../fonts/*``) that the
package does not carry, so a browser would request them from wherever the page
lives.  gisplan's maps use no icon fonts (circle markers, and a default marker
icon drawn as an inline SVG), so nothing is lost.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from gisplan._atomic import atomic_write_text
from gisplan._errors import GisplanError

__all__ = [
    "DROPPED_ASSETS",
    "OFFLINE_PACKAGE",
    "asset_local_name",
    "asset_text",
    "asset_texts",
    "folium_asset_urls",
    "install_static_assets",
]

#: The PyPI package (and version read) that carries the third-party asset texts.
OFFLINE_PACKAGE = ("folium-offline", "0.20.0.2")

#: Style sheets folium references that gisplan leaves out: they load web fonts the package lacks.
DROPPED_ASSETS: frozenset[str] = frozenset(
    {
        "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    }
)

#: Sub-folder of the static folder holding the assets.
VENDOR_DIR = "vendor"


@lru_cache(maxsize=1)
def _package_assets() -> dict[str, str]:
    """Return folium-offline's CDN URL -> text table (imported once, ~0.6 s)."""
    try:
        from offlinefolium.elements import _res
    except ImportError as exc:  # the package is a declared dependency; say how to get it
        name, version = OFFLINE_PACKAGE
        raise GisplanError(
            f"the offline map assets need the PyPI package {name}=={version}; install it with "
            f"`pip install {name}=={version}` (import failed: {exc}) / tài nguyên bản đồ ngoại tuyến cần gói PyPI "
            f"{name}=={version}; hãy cài bằng `pip install {name}=={version}` (lỗi nạp gói: {exc})"
        ) from exc
    return dict(_res)


def _offline_package_version() -> str:
    try:
        return importlib.metadata.version(OFFLINE_PACKAGE[0])
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def folium_asset_urls() -> list[str]:
    """Return the CDN URLs that folium 0.20 and the plugins gisplan uses reference, in load order.

    The plugins are Draw (leaflet.draw), MarkerCluster and Fullscreen.  The URLs
    in :data:`DROPPED_ASSETS` are left out.
    """
    import folium
    import folium.plugins

    urls: list[str] = []
    for cls in (folium.Map, folium.plugins.Draw, folium.plugins.MarkerCluster, folium.plugins.Fullscreen):
        for _name, url in [*cls.default_js, *cls.default_css]:
            if url not in DROPPED_ASSETS and url not in urls:
                urls.append(url)
    return urls


def asset_text(url: str) -> str:
    """Return the text of the asset folium loads from ``url``.

    Raises
    ------
    GisplanError
        When the offline package does not carry ``url`` (e.g. a newer folium
        references an asset the pinned package predates).
    """
    table = _package_assets()
    try:
        return table[url]
    except KeyError:
        name, version = OFFLINE_PACKAGE
        raise GisplanError(
            f"the map asset {url} is not carried by {name} {_offline_package_version()} "
            f"(gisplan reads {name}=={version}); install that version, or pin folium to the version it matches "
            f"(folium 0.20.0), or drop the element that loads it / gói {name} {_offline_package_version()} không "
            f"có tài nguyên bản đồ {url} (gisplan đọc {name}=={version}); hãy cài đúng phiên bản đó, hoặc cố định "
            "folium ở phiên bản tương ứng (folium 0.20.0), hoặc bỏ thành phần nạp tài nguyên này"
        ) from None


def asset_texts(urls: Iterable[str] | None = None) -> dict[str, str]:
    """Return CDN URL -> text for ``urls`` (default: :func:`folium_asset_urls`).

    Raises
    ------
    GisplanError
        Naming the first asset the offline package does not carry.
    """
    wanted = folium_asset_urls() if urls is None else list(urls)
    return {url: asset_text(url) for url in wanted}


def asset_local_name(url: str) -> str:
    """Return the file name an asset gets under ``vendor/``: a short hash of the URL and its base name.

    Examples
    --------
    >>> asset_local_name("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    '59d28e5b-leaflet.js'
    """
    path = urlparse(url).path
    base = posixpath.basename(path) or "asset"
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base)
    if not base.endswith((".js", ".css")):
        base += ".css" if "css" in url.lower() else ".js"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:8]
    return f"{digest}-{base}"


def install_static_assets(static_dir: str | os.PathLike[str], urls: Iterable[str] | None = None) -> dict[str, str]:
    """Write the map assets under ``static_dir/vendor/`` once; return CDN URL -> relative path.

    Idempotent and cheap when the files are already there with the right
    content size: a file is (re)written atomically only when it is missing or
    differs in size.

    Parameters
    ----------
    static_dir
        The folder a web server serves (for Streamlit, ``<app dir>/static``,
        served at ``/app/static``); created when missing.
    urls
        CDN URLs to install; default :func:`folium_asset_urls`.

    Returns
    -------
    dict
        CDN URL -> path relative to ``static_dir`` in POSIX form, e.g.
        ``"vendor/f0d7d3a5-leaflet.js"``.

    Raises
    ------
    GisplanError
        When an asset is not carried by the offline package.
    """
    root = Path(static_dir)
    vendor = root / VENDOR_DIR
    vendor.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    for url, text in asset_texts(urls).items():
        name = asset_local_name(url)
        target = vendor / name
        data = text.encode("utf-8")
        if not (target.is_file() and target.stat().st_size == len(data)):
            atomic_write_text(target, text)
        out[url] = f"{VENDOR_DIR}/{name}"
    return out
