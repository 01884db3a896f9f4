"""Vietnamese and English strings of the maps and the app.

A tiny table: :func:`t` returns the string of a key in a language; Vietnamese
is the default, English the second language.  Pages and map builders take
every label from here, so a translation is fixed in one place.

Examples
--------
>>> t("layer.poles", "vi")
'Cột'
>>> t("layer.poles", "en")
'Poles'
>>> both("layer.poles")
'Cột / Poles'
"""

from __future__ import annotations

__all__ = ["DEFAULT_LANG", "LANGS", "STRINGS", "both", "t"]

#: Languages, default first.
LANGS: tuple[str, ...] = ("vi", "en")
DEFAULT_LANG = "vi"

#: key -> (Vietnamese, English).
STRINGS: dict[str, tuple[str, str]] = {
    # input layers
    "layer.roads": ("Đường", "Roads"),
    "layer.poles": ("Cột", "Poles"),
    "layer.cables": ("Cáp", "Cables"),
    "layer.ducts": ("Cống bể hiện có", "Existing ducts"),
    "layer.coverage": ("Vùng phủ sóng", "Coverage"),
    "layer.settlements": ("Khu dân cư", "Settlements"),
    "layer.sites": ("Vị trí", "Sites"),
    "layer.boundaries": ("Địa giới hành chính", "Boundaries"),
    "layer.constraints": ("Vùng hạn chế", "Constraints"),
    "layer.land": ("Đất liền, đảo", "Land"),
    # plan result layers
    "layer.trenches": ("Tuyến hào ngầm", "Trenches"),
    "layer.manholes": ("Hố ga", "Manholes"),
    "layer.poles_removed": ("Cột được thu hồi", "Poles removed"),
    "layer.wifi_sites": ("Điểm wifi được chọn", "Chosen wifi sites"),
    "layer.footprints": ("Vùng phủ wifi", "Wifi footprints"),
    "layer.backhaul_links": ("Đường truyền dẫn", "Backhaul links"),
    "layer.settlements_unserved": ("Khu dân cư chưa được phục vụ", "Unserved settlements"),
    "layer.drawings": ("Hình đã vẽ", "Drawings"),
    # map furniture
    "map.legend": ("Chú giải", "Legend"),
    "map.phase": ("Giai đoạn", "Phase"),
    "map.backhaul": ("Truyền dẫn", "Backhaul"),
    "map.osm": ("Bản đồ nền OpenStreetMap (cần Internet)", "OpenStreetMap tiles (needs Internet)"),
    # app
    "app.title": ("gisplan: quy hoạch hạ tầng viễn thông", "gisplan: telecom infrastructure planner"),
    "app.language": ("Ngôn ngữ", "Language"),
    "app.home": ("Trang chủ", "Home"),
    "app.map": ("Bản đồ", "Map"),
    "app.home.intro": (
        "Công cụ mã nguồn mở quy hoạch ngầm hóa cáp viễn thông và phát triển Internet, wifi cho vùng sâu, "
        "vùng xa, biên giới, hải đảo.",
        "An open-source planner for undergrounding telecom cables and for Internet and wifi in remote, "
        "border and island areas.",
    ),
    "app.home.pages": ("Chọn một trang ở thanh bên.", "Choose a page in the sidebar."),
    "app.project": ("Dự án", "Project"),
    "app.project.demo": ("Dữ liệu mẫu Phú Quốc", "Phú Quốc demo data"),
    "app.project.loaded": ("Đã nạp {n} lớp dữ liệu", "{n} layers loaded"),
    "app.project.missing": (
        "Chưa có dữ liệu mẫu; hãy chạy `gisplan demo` hoặc chọn tệp dự án.",
        "The demo data is missing; run `gisplan demo` or choose a project file.",
    ),
    "app.map.layers": ("Lớp hiển thị", "Layers shown"),
    "app.map.tiles": ("Nền bản đồ", "Base map"),
    "app.map.tiles.offline": ("Ngoại tuyến (từ các lớp dữ liệu)", "Offline (drawn from the layers)"),
    "app.map.tiles.osm": ("OpenStreetMap (cần Internet)", "OpenStreetMap (needs Internet)"),
    "app.map.drawings": ("Số hình đã vẽ: {n}", "Drawings: {n}"),
    "app.map.clear": ("Xóa hình đã vẽ", "Clear drawings"),
    "app.map.features": ("{layer}: {n} đối tượng", "{layer}: {n} features"),
    "app.error": ("Lỗi", "Error"),
}


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """Return the string of ``key`` in ``lang`` (``"vi"`` or ``"en"``), formatted with ``fmt``.

    An unknown key returns the key itself (so a missing translation shows, it
    does not crash a page); an unknown language raises ``ValueError``.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    pair = STRINGS.get(key)
    text = key if pair is None else pair[LANGS.index(lang)]
    return text.format(**fmt) if fmt else text


def both(key: str, sep: str = " / ", **fmt: object) -> str:
    """Return ``"<Vietnamese><sep><English>"`` for ``key`` (one string when both are the same)."""
    vi, en = t(key, "vi", **fmt), t(key, "en", **fmt)
    return vi if vi == en else f"{vi}{sep}{en}"
