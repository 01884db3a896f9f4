"""Vietnamese and English strings of the maps and the app, kept as gettext catalogs.

:func:`t` returns the string of a key in a language; Vietnamese is the default, English the second language.
Pages and map builders take every label from here, so a translation is fixed in one place.

How the strings are kept (for contributors and translators)
-----------------------------------------------------------
- **Developers** add a string in the Python tables below (:data:`STRINGS`, :data:`COLUMN_LABELS`,
  :data:`VALUE_LABELS`, and ``KPI_LABELS`` in :mod:`gisplan.plan`): a key and its (Vietnamese, English) pair.
  That is all a change needs to work: a key the catalogs do not have yet is shown from the table.
- **The catalogs** are ``gisplan/locale/<lang>/LC_MESSAGES/gisplan.po`` (``vi`` and ``en``), one message per
  key: ``msgctxt`` the key (``app.run.button``; ``column:<name>``, ``value:<column>:<code>``, ``kpi:<name>`` for
  the other tables), ``msgid`` the English text, ``msgstr`` the text shown in that language.  After adding or
  changing strings in the tables, update them with ``python -m gisplan.i18n`` (new keys get the table's text,
  existing translations are kept unless their English changed, removed keys are dropped); the test
  ``tests/app/test_app_i18n.py`` fails until the catalogs hold every key with a Vietnamese text.
- **Translators** edit the ``.po`` files with the usual tools (Poedit, Lokalize, Weblate): the app shows the
  catalogs' ``msgstr``, so a corrected translation needs no code change.
- The ``.po`` files are compiled with Babel when first used (in memory, no ``.mo`` file and no build step).

Examples
--------
>>> t("layer.poles", "vi")
'Cột'
>>> t("layer.poles", "en")
'Poles'
>>> both("layer.poles")
'Cột / Poles'
>>> value_label("road_class", "national", "vi")
'Quốc lộ'
>>> column_label("amount_vnd", "en")
'Amount (VND)'
"""

from __future__ import annotations

import functools
import gettext
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gisplan.plan import CATEGORY_LABELS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMN_LABELS",
    "DEFAULT_LANG",
    "LANGS",
    "LOCALE_DIR",
    "STRINGS",
    "VALUE_LABELS",
    "both",
    "catalog_entries",
    "column_label",
    "display_table",
    "kpi_name",
    "million_vnd",
    "number_text",
    "t",
    "texts",
    "update_catalogs",
    "value_label",
]

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
    "layer.buildings": ("Công trình, nhà ở", "Buildings"),
    # plan result layers
    "layer.trenches": ("Tuyến hào ngầm", "Trenches"),
    "layer.manholes": ("Hố ga", "Manholes"),
    "layer.chambers": ("Hố cáp (bể cáp)", "Cable chambers"),
    "layer.poles_removed": ("Cột được thu hồi", "Poles removed"),
    "layer.poles_remaining": ("Cột còn lại (có lý do)", "Poles remaining (with reason)"),
    "layer.drops": ("Dây thuê bao ngầm", "Subscriber drops"),
    "layer.buildings_not_served": ("Công trình chưa có dây thuê bao", "Buildings without a drop"),
    "layer.zones": ("Vùng ngầm hóa", "Undergrounding zones"),
    "layer.cables_rerouted": ("Cáp chuyển ngầm", "Cables moved underground"),
    "layer.backhaul_options": ("Các phương án truyền dẫn", "Backhaul options"),
    "layer.planned_sites": ("Trạm được chọn (wifi, 4G)", "Chosen sites (wifi, 4G)"),
    "layer.footprints": ("Vùng phủ wifi", "Wifi footprints"),
    "layer.backhaul_links": ("Đường truyền dẫn", "Backhaul links"),
    "layer.settlements_unserved": ("Khu dân cư chưa được phục vụ", "Unserved settlements"),
    "layer.drawn_sites": ("Điểm đề xuất đã vẽ", "Drawn candidate sites"),
    "layer.drawings": ("Hình đã vẽ", "Drawings"),
    # map furniture
    "map.legend": ("Chú giải", "Legend"),
    "map.zoom_in": ("Phóng to", "Zoom in"),
    "map.zoom_out": ("Thu nhỏ", "Zoom out"),
    # leaflet.draw's own texts (L.drawLocal), by their path there
    "draw.draw.toolbar.actions.title": ("Hủy vẽ", "Cancel drawing"),
    "draw.draw.toolbar.actions.text": ("Hủy", "Cancel"),
    "draw.draw.toolbar.finish.title": ("Kết thúc vẽ", "Finish drawing"),
    "draw.draw.toolbar.finish.text": ("Xong", "Finish"),
    "draw.draw.toolbar.undo.title": ("Xóa điểm vừa vẽ", "Delete last point drawn"),
    "draw.draw.toolbar.undo.text": ("Xóa điểm cuối", "Delete last point"),
    "draw.draw.toolbar.buttons.polygon": ("Vẽ vùng (đa giác)", "Draw a polygon"),
    "draw.draw.toolbar.buttons.rectangle": ("Vẽ hình chữ nhật", "Draw a rectangle"),
    "draw.draw.toolbar.buttons.marker": ("Đặt điểm", "Place a point"),
    "draw.draw.handlers.marker.tooltip.start": ("Bấm lên bản đồ để đặt điểm.", "Click the map to place a point."),
    "draw.draw.handlers.polygon.tooltip.start": ("Bấm để bắt đầu vẽ vùng.", "Click to start drawing the area."),
    "draw.draw.handlers.polygon.tooltip.cont": ("Bấm để vẽ tiếp.", "Click to continue drawing."),
    "draw.draw.handlers.polygon.tooltip.end": (
        "Bấm vào điểm đầu tiên để khép vùng.",
        "Click the first point to close the area.",
    ),
    "draw.draw.handlers.polyline.error": (
        "<strong>Lỗi:</strong> các cạnh không được cắt nhau!",
        "<strong>Error:</strong> edges cannot cross!",
    ),
    "draw.draw.handlers.rectangle.tooltip.start": ("Bấm và kéo để vẽ hình chữ nhật.", "Click and drag to draw."),
    "draw.draw.handlers.simpleshape.tooltip.end": ("Thả chuột để kết thúc.", "Release the mouse to finish."),
    "draw.edit.toolbar.actions.save.title": ("Lưu thay đổi", "Save changes"),
    "draw.edit.toolbar.actions.save.text": ("Lưu", "Save"),
    "draw.edit.toolbar.actions.cancel.title": ("Hủy sửa, bỏ mọi thay đổi", "Cancel editing, discard all changes"),
    "draw.edit.toolbar.actions.cancel.text": ("Hủy", "Cancel"),
    "draw.edit.toolbar.actions.clearAll.title": ("Xóa mọi hình đã vẽ", "Delete every drawing"),
    "draw.edit.toolbar.actions.clearAll.text": ("Xóa hết", "Clear all"),
    "draw.edit.toolbar.buttons.edit": ("Sửa hình đã vẽ", "Edit drawings"),
    "draw.edit.toolbar.buttons.editDisabled": ("Chưa có hình để sửa", "No drawing to edit"),
    "draw.edit.toolbar.buttons.remove": ("Xóa hình đã vẽ", "Delete drawings"),
    "draw.edit.toolbar.buttons.removeDisabled": ("Chưa có hình để xóa", "No drawing to delete"),
    "draw.edit.handlers.edit.tooltip.text": ("Kéo các điểm để sửa hình.", "Drag the handles to edit."),
    "draw.edit.handlers.edit.tooltip.subtext": ("Bấm Hủy để bỏ thay đổi.", "Click Cancel to undo the changes."),
    "draw.edit.handlers.remove.tooltip.text": ("Bấm vào hình để xóa.", "Click a drawing to delete it."),
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
    "app.guide": ("Cách dùng", "How it works"),
    "app.guide.short": (
        "Bản đồ → vẽ vùng (Ngầm hóa cáp) hoặc điểm (Wifi), bấm Lập phương án → lưu, thẩm định (Phương án và phiên "
        "bản) → So sánh phương án, Xuất kết quả.",
        "Map → draw zones (Undergrounding) or sites (Remote wifi), press Run the plan → save and review (Scenarios "
        "and versions) → Compare, Export.",
    ),
    "app.guide.steps": (
        "1. **Bản đồ**: xem các lớp dữ liệu của dự án, nạp thêm tệp nếu cần.  \n"
        "2. **Ngầm hóa cáp** hoặc **Wifi vùng sâu, vùng xa**: vẽ vùng hoặc điểm trên bản đồ, đặt tham số, bấm "
        "*Lập phương án*.  \n"
        "3. **Phương án và phiên bản**: lưu kết quả thành phiên bản, thẩm định.  \n"
        "4. **So sánh phương án** giữa hai phiên bản; **Xuất kết quả** (BOQ Excel, GeoPackage, bản đồ).",
        "1. **Map**: the project's layers; upload a file if needed.  \n"
        "2. **Undergrounding** or **Remote wifi**: draw zones or sites on the map, set the parameters, press "
        "*Run the plan*.  \n"
        "3. **Scenarios and versions**: save the result as a version, review it.  \n"
        "4. **Compare** two versions; **Export** (BOQ in Excel, GeoPackage, map).",
    ),
    "app.st.browse": ("Chọn tệp", "Browse files"),
    "app.st.limit": ("Tối đa {mb} MB mỗi tệp • {types}", "Up to {mb} MB per file • {types}"),
    "app.st.enter": ("Nhấn Enter để áp dụng", "Press Enter to apply"),
    "app.run.progress": ("Tiến độ: {stage}", "Progress: {stage}"),
    "app.run.stage.read": ("Đọc và kiểm tra dữ liệu", "Reading and checking the layers"),
    "app.run.stage.underground": ("Lập phương án ngầm hóa", "Planning undergrounding"),
    "app.run.stage.wifi": ("Lập phương án wifi", "Planning wifi"),
    "app.run.stage.graph": ("Dựng đồ thị mạng đường", "Building the road graph"),
    "app.run.stage.spans": ("Chọn các khoảng cáp treo trong vùng", "Selecting the aerial spans in the zones"),
    "app.run.stage.steiner": ("Tìm mạng hào ngắn nhất (cây Steiner)", "Finding the shortest trench network"),
    "app.run.stage.shortcuts": ("Thêm hào nối vòng", "Adding shortcut trenches"),
    "app.run.stage.phasing": ("Phân kỳ đầu tư theo ngân sách năm", "Phasing by the yearly budget"),
    "app.run.stage.boq": ("Lập bảng khối lượng và dự toán", "Bill of quantities"),
    "app.run.stage.sites": ("Chọn điểm đặt wifi", "Choosing the wifi sites"),
    "app.run.stage.backhaul": ("Chọn phương án truyền dẫn", "Choosing the backhaul"),
    "app.run.stage.write": ("Ghi kết quả (Excel, GeoPackage, bản đồ)", "Writing the results (Excel, GeoPackage, map)"),
    "app.run.stage.done": ("Đã ghi kết quả", "Results written"),
    "app.run.stage.other": ("Đang tính toán", "Computing"),
    "app.project": ("Dự án", "Project"),
    "app.project.demo": ("Dữ liệu mẫu Phú Quốc", "Phú Quốc demo data"),
    "app.project.loaded": ("Đã nạp {n} lớp dữ liệu", "{n} layers loaded"),
    "app.project.missing": (
        "Không tìm thấy tệp dự án {path}. Sửa biến môi trường GISPLAN_PROJECT cho đúng đường dẫn tệp GeoPackage, "
        "hoặc bỏ biến này để dùng dữ liệu mẫu Phú Quốc, rồi khởi động lại ứng dụng.",
        "The project file {path} is not there. Point the environment variable GISPLAN_PROJECT at the project's "
        "GeoPackage, or unset it to use the Phú Quốc demo, then restart the app.",
    ),
    "app.map.layers": ("Lớp hiển thị", "Layers shown"),
    "app.map.tiles": ("Nền bản đồ", "Base map"),
    "app.map.tiles.offline": ("Ngoại tuyến (từ các lớp dữ liệu)", "Offline (drawn from the layers)"),
    "app.map.tiles.osm": ("OpenStreetMap (cần Internet)", "OpenStreetMap (needs Internet)"),
    "app.map.drawings": ("Số hình đã vẽ: {n}", "Drawings: {n}"),
    "app.map.clear": ("Xóa hình đã vẽ", "Clear drawings"),
    "app.map.features": ("{layer}: {n} đối tượng", "{layer}: {n} features"),
    "app.error": ("Lỗi", "Error"),
    "app.error.problems": (
        "Mỗi dòng dưới đây là một vấn đề, kèm cách sửa: sửa tệp rồi nạp lại.",
        "Each row below is one problem with how to fix it: fix the file and load it again.",
    ),
    # planner pages
    "app.underground": ("Ngầm hóa cáp", "Undergrounding"),
    "app.wifi": ("Wifi vùng sâu, vùng xa", "Remote-area wifi"),
    "app.scenarios": ("Phương án và phiên bản", "Scenarios and versions"),
    "app.compare": ("So sánh phương án", "Compare versions"),
    "app.export": ("Xuất kết quả", "Export"),
    "app.run.running": ("Đang lập phương án...", "Planning..."),
    "app.run.done": ("Đã lập phương án trong {s} giây", "Planned in {s} s"),
    "app.run.button": ("Lập phương án", "Run the plan"),
    "app.run.none": ("Chưa có kết quả: hãy lập phương án.", "No result yet: run the plan."),
    "app.scenario.title": ("Tên phương án", "Scenario title"),
    "app.scenario.yaml": ("Tệp kịch bản (YAML)", "Scenario file (YAML)"),
    "app.draw.clear": ("Xóa hình đã vẽ", "Clear drawings"),
    "app.ug.estimate": (
        "Tổng mức đầu tư theo Nghị định 10/2021/NĐ-CP, theo giai đoạn (đồng)",
        "Investment estimate per Decree 10/2021/NĐ-CP, by phase (VND)",
    ),
    "app.ug.help": (
        "Vẽ vùng ngầm hóa bằng công cụ đa giác (hoặc chọn vùng mẫu), đặt tham số rồi lập phương án.",
        "Draw undergrounding zones with the polygon tool (or pick the demo zone), set the parameters, run.",
    ),
    "app.ug.demo_zone": ("Dùng vùng mẫu trung tâm Dương Đông", "Use the central Dương Đông demo zone"),
    "app.ug.zones": ("Số vùng ngầm hóa: {n}", "Zones: {n}"),
    "app.ug.spacing": ("Khoảng cách tối đa giữa hố ga (m)", "Largest manhole spacing (m)"),
    "app.ug.budget": ("Ngân sách mỗi năm (tỷ đồng)", "Yearly budget (billion VND)"),
    "app.ug.start_year": ("Năm bắt đầu", "Start year"),
    "app.ug.need_zone": ("Hãy vẽ ít nhất một vùng (đa giác).", "Draw at least one zone (a polygon)."),
    "app.ug.timeline": ("Lộ trình theo năm (triệu đồng)", "Roadmap by year (million VND)"),
    "app.wifi.help": (
        "Khu dân cư chưa được phục vụ được tô đỏ trên bản đồ. Đặt điểm lắp đặt đề xuất bằng công cụ "
        "đánh dấu; chọn ngân sách hoặc phủ toàn bộ.",
        "Unserved settlements are highlighted in red on the map. Place candidate sites with the marker tool; "
        "choose a budget or cover everyone.",
    ),
    "app.wifi.sites": ("Số điểm đề xuất đã đặt: {n}", "Candidate sites placed: {n}"),
    "app.wifi.mode": ("Mục tiêu", "Objective"),
    "app.wifi.mode.budget": ("Trong ngân sách", "Within a budget"),
    "app.wifi.mode.cover_all": ("Phủ toàn bộ, chi phí thấp nhất", "Cover everyone at least cost"),
    "app.wifi.budget": ("Ngân sách (tỷ đồng)", "Budget (billion VND)"),
    "app.wifi.year": ("Năm đầu tư", "Investment year"),
    "app.wifi.options": ("Phương án truyền dẫn theo điểm", "Backhaul options per site"),
    "app.wifi.drawn": ("Các điểm đề xuất của bạn", "Your candidate sites"),
    "app.wifi.drawn.help": (
        "Mỗi điểm bạn đã đặt: có được dùng trong phương án không, và vì sao.",
        "Each site you placed: used in the plan or not, and why.",
    ),
    # why a backhaul option of a wifi site is feasible or not (gisplan.wifi.backhaul); numbers come formatted
    "backhaul.own_fibre": ("điểm đã có cáp quang", "the site has fibre"),
    "backhaul.no_graph": ("không có lớp đường để tính tuyến cáp quang", "no road graph given"),
    "backhaul.no_fibre_site": ("không có điểm nào có cáp quang", "no site with fibre"),
    "backhaul.no_road_path": ("không có đường bộ nối tới điểm có cáp quang", "no road path to a site with fibre"),
    "backhaul.fibre": ("{m} m cáp quang treo dọc đường từ {peer}", "{m} m of aerial fibre along roads from {peer}"),
    "backhaul.nearest": ("; điểm có cáp quang gần nhất cách {km} km", "; nearest fibre site {km} km"),
    "backhaul.beyond_horizon": (
        "vượt quá tầm nhìn vô tuyến của các anten cao nhất ({km} km với độ cao {h_a} m và {h_b} m){nearest}",
        "beyond the radio horizon of the tallest antennas ({km} km for {h_a} m and {h_b} m){nearest}",
    ),
    "backhaul.no_sight_masts": (
        "không có tầm nhìn thẳng với mọi cặp cột anten đến {h} m (0,6 vùng Fresnel thứ nhất trên địa hình và vật cản) "
        "tới {n} điểm có cáp quang gần nhất trong tầm",
        "no line of sight with any pair of masts up to {h} m (0.6 of the Fresnel zone over terrain and clutter) to "
        "the {n} nearest fibre site(s) in range",
    ),
    "backhaul.radio_flat": (
        "{km} km tới {peer}, chưa kiểm tra tầm nhìn thẳng: không có dữ liệu độ cao (cột tính trên mặt đất phẳng)",
        "{km} km to {peer}, line of sight not checked: no elevation raster (masts sized over flat ground)",
    ),
    "backhaul.masts": ("anten ở {a} và {b}", "antennas at {a} and {b}"),
    "backhaul.mast_new": ("{h} m (cột mới {code})", "{h} m (new {code})"),
    "backhaul.mast_existing": ("{h} m (có sẵn)", "{h} m (existing)"),
    "backhaul.own_microwave": (
        "điểm đã có truyền dẫn vi ba, {mbps} Mbit/s",
        "the site has microwave transmission, {mbps} Mbit/s",
    ),
    "backhaul.no_microwave": ("điểm không có truyền dẫn vi ba", "no microwave transmission at the site"),
    "backhaul.satellite_until": (
        "thiết bị đầu cuối và phí thuê bao đến năm {last} (có cáp quang từ năm {year} theo tuyến cáp dự kiến)",
        "terminal and fees until {last} (fibre from {year} by a planned cable)",
    ),
    "backhaul.beyond": ("xa hơn {limit} km{nearest}", "beyond {limit} km{nearest}"),
    "backhaul.radio_unchecked": (
        "{km} km tới {peer} (chưa kiểm tra tầm nhìn thẳng: không có dữ liệu độ cao)",
        "{km} km to {peer} (line of sight not checked: no elevation raster)",
    ),
    "backhaul.no_sight": (
        "không có tầm nhìn thẳng tới {n} điểm có cáp quang gần nhất trong tầm",
        "no line of sight to the {n} nearest fibre site(s) in range",
    ),
    "backhaul.radio_clear": (
        "{km} km tới {peer}, tầm nhìn thẳng và 0,6 vùng Fresnel thứ nhất thông thoáng, dư {margin} m",
        "{km} km to {peer}, line of sight and 0.6 Fresnel zone clear by {margin} m",
    ),
    "backhaul.radio_off_raster": (
        "{km} km tới {peer}, chưa kiểm tra tầm nhìn thẳng: tuyến đi ra ngoài dữ liệu độ cao",
        "{km} km to {peer}, line of sight not checked: the path leaves the elevation raster",
    ),
    "backhaul.no_land": ("không có lớp đất liền", "no land layer given"),
    "backhaul.off_land": ("điểm không nằm trên vùng đất liền nào", "the site is not on any land polygon"),
    "backhaul.not_island": ("không phải đảo: cùng vùng đất đã có cáp quang", "not an island: fibre on the same land"),
    "backhaul.no_fibre_land": ("không có vùng đất nào có cáp quang", "no land polygon with fibre"),
    "backhaul.submarine": (
        "{km} km cáp biển ({sea} km x {factor}) từ {peer}",
        "{km} km of sea cable ({sea} km x {factor}) from {peer}",
    ),
    "backhaul.satellite": ("thiết bị đầu cuối và {years} năm phí thuê bao", "terminal and {years} years of fees"),
    "backhaul.relay": ("chuyển tiếp qua {peer}", "relay through {peer}"),
    # the reasons of gisplan.wifi._verdicts, one per decision; {cost} and {left} are amounts with their currency
    "wifi.drawn.used": (
        "Được dùng: phục vụ {people} người; truyền dẫn: {backhaul}; đầu tư {cost}.",
        "Used: serves {people} people; backhaul: {backhaul}; investment {cost}.",
    ),
    "wifi.drawn.no_power": (
        "Không dùng: vị trí không có điện lưới và phương án yêu cầu điện lưới (require_power).",
        "Not used: the site has no mains power and the plan requires it (require_power).",
    ),
    "wifi.drawn.no_demand": (
        "Không dùng: trong tầm phủ của điểm này không có hộ dân hay cơ quan nào ở ngoài vùng phủ sóng tốt.",
        "Not used: no household or institution outside good coverage lies within its reach.",
    ),
    "wifi.drawn.served_elsewhere": (
        "Không dùng: {reach_people} người trong tầm phủ đã được điểm {sites} phục vụ; thêm điểm này tốn {cost} "
        "(truyền dẫn: {backhaul}) mà không phục vụ thêm ai.",
        "Not used: the {reach_people} people within its reach are already served by {sites}; it would add {cost} "
        "(backhaul: {backhaul}) for no one new.",
    ),
    "wifi.drawn.capacity": (
        "Không dùng: {people} người trong tầm phủ chưa được phục vụ đều nằm trong tầm của điểm đã chọn {sites}, "
        "nơi các bộ phát đã đầy tải; thêm bộ phát tại điểm đã chọn rẻ hơn. Điểm này cần {cost} (truyền dẫn: "
        "{backhaul}).",
        "Not used: the {people} people within its reach not yet served are all within reach of the chosen sites "
        "{sites}, whose access points are full; an access point added there costs less. This site would add "
        "{cost} (backhaul: {backhaul}).",
    ),
    "wifi.drawn.budget": (
        "Không dùng: hết ngân sách. Điểm này cần {cost} (kể cả dự phòng; truyền dẫn: {backhaul}) cho {people} "
        "người chưa được phục vụ, ngân sách chỉ còn {left}.",
        "Not used: budget exhausted. It would add {cost} (contingency included; backhaul: {backhaul}) for "
        "{people} people not yet served; {left} of the budget is left.",
    ),
    "wifi.drawn.not_chosen": (
        "Không dùng: trong ngân sách, phương án tối ưu phục vụ được nhiều người hơn bằng các điểm khác. Điểm này "
        "cần {cost} (truyền dẫn: {backhaul}) cho {people} người chưa được phục vụ; ngân sách còn {left}.",
        "Not used: within the budget the optimal selection serves more people with other sites. This site would "
        "add {cost} (backhaul: {backhaul}) for {people} people not yet served; {left} of the budget is left.",
    ),
    "wifi.drawn.not_chosen.cover_all": (
        "Không dùng: phương án phủ toàn bộ với chi phí thấp nhất không cần điểm này; điểm này cần {cost} "
        "(truyền dẫn: {backhaul}).",
        "Not used: the least-cost selection that covers everyone does not need it; it would add {cost} "
        "(backhaul: {backhaul}).",
    ),
    "wifi.drawn.nothing_to_plan": (
        "Không dùng: không có điểm dân cư nào chưa được phục vụ, phương án không cần xây dựng gì.",
        "Not used: no settlement is unserved; the plan builds nothing.",
    ),
    "app.wifi.curve": ("Số dân được phủ theo chi phí (triệu đồng)", "People covered vs cost (million VND)"),
    "app.chart.by_phase": ("Chi phí theo giai đoạn (triệu đồng)", "Cost by phase (million VND)"),
    "app.chart.by_category": ("Chi phí theo nhóm hạng mục (triệu đồng)", "Cost by category (million VND)"),
    "app.boq": ("Bảng khối lượng (BOQ)", "Bill of quantities (BOQ)"),
    "app.messages": ("Ghi chú của phương án", "Plan notes"),
    "kpi.trench_km": ("Tuyến hào mới", "New trench"),
    "kpi.aerial_km_removed": ("Cáp treo thu hồi", "Aerial cable removed"),
    "kpi.cost_vnd": ("Tổng chi phí (đồng)", "Total cost (VND)"),
    "kpi.n_phases": ("Số giai đoạn", "Phases"),
    "kpi.steiner_gap": ("Sai số Steiner", "Steiner gap"),
    "kpi.n_poles_removed": ("Cột thu hồi", "Poles removed"),
    "kpi.n_sites": ("Số điểm wifi", "Wifi sites"),
    "kpi.people_newly_covered": ("Dân được phủ mới", "People newly covered"),
    "kpi.people_unserved": ("Dân chưa được phục vụ (trước phương án)", "People unserved before the plan"),
    "kpi.cost_per_person_vnd": ("Chi phí mỗi người (đồng)", "Cost per person (VND)"),
    "app.save.message": ("Ghi chú phiên bản", "Version message"),
    "app.save.author": ("Người lập", "Author"),
    "app.save.button": ("Lưu phiên bản", "Save version"),
    "app.save.none": ("Chưa có lần chạy nào để lưu.", "No run to save yet."),
    "app.save.last": ("Lần chạy gần nhất: {title}", "Last run: {title}"),
    "app.save.done": ("Đã lưu phiên bản {id}", "Saved version {id}"),
    "app.save.identical": (
        "Lần chạy này giống hệt phiên bản {id} đã lưu: không lưu lại; phiên bản đó được mở.",
        "This run is identical to saved version {id}: not saved again; that version is opened.",
    ),
    "app.versions.current": ("Trạng thái hiện tại: {status}", "Current status: {status}"),
    "app.review.for": ("Ghi thẩm định cho phiên bản {id}", "Record review of version {id}"),
    "app.review.done": (
        "Đã ghi thẩm định phiên bản {id}: {old} → {new}",
        "Review recorded for version {id}: {old} → {new}",
    ),
    "app.versions": ("Các phiên bản", "Versions"),
    "app.versions.none": ("Chưa có phiên bản nào.", "No version yet."),
    "app.versions.open": ("Mở phiên bản", "Open a version"),
    "app.versions.files": ("Tải tệp", "Download files"),
    "app.review": ("Thẩm định", "Review"),
    "app.review.status": ("Trạng thái", "Status"),
    "app.review.reviewer": ("Người thẩm định", "Reviewer"),
    "app.review.comment": ("Nhận xét", "Comment"),
    "app.review.button": ("Ghi thẩm định", "Record review"),
    "app.review.final": (
        "Phiên bản có trạng thái «{status}»: lưu phiên bản mới để thay đổi.",
        "The version is «{status}»: save a new version to change it.",
    ),
    "app.compare.a": ("Phương án gốc (A)", "Reference (A)"),
    "app.compare.b": ("Phương án đề xuất (B)", "Proposal (B)"),
    "app.compare.button": ("So sánh", "Compare"),
    "app.compare.need_two": ("Cần ít nhất hai phiên bản đã lưu.", "At least two saved versions are needed."),
    "app.compare.same": ("Hai phương án giống nhau.", "The two plans are the same."),
    "app.compare.kpis": ("Chênh lệch KPI (B - A)", "KPI differences (B - A)"),
    "app.compare.boq": ("Chênh lệch BOQ theo hạng mục (B - A)", "BOQ differences by item (B - A)"),
    "app.compare.params": ("Tham số khác nhau", "Parameters that differ"),
    "app.export.run": ("Kết quả lần chạy gần nhất: {title}", "Last run: {title}"),
    "app.export.compare": ("Kết quả so sánh gần nhất", "Last comparison"),
    "app.export.version": ("Tệp của một phiên bản đã lưu", "Files of a saved version"),
    "app.reload.restored": (
        "Đã khôi phục bản vẽ, dữ liệu nạp và kết quả lần trước của bạn.",
        "Your drawings, uploads and last results were restored.",
    ),
    "app.export.none_compare": ("Chưa có so sánh nào.", "No comparison yet."),
    "app.upload": ("Nạp tệp dữ liệu", "Upload a layer file"),
    "app.upload.help": (
        "GeoPackage, GeoJSON, Shapefile nén ZIP, CSV (kinh độ/vĩ độ hoặc WKT) hoặc KML",
        "GeoPackage, GeoJSON, zipped Shapefile, CSV (lon/lat or WKT) or KML",
    ),
    "app.upload.crs": ("Hệ tọa độ khi tệp không ghi", "CRS when the file states none"),
    "app.upload.encoding": ("Bảng mã chữ Việt", "Text encoding"),
    "app.upload.encoding.help": (
        "Shapefile cũ thường dùng TCVN3 (ABC), VNI hoặc Windows-1258; khi sai, thông báo lỗi cho thấy chữ theo từng "
        "bảng mã.",
        "Older Shapefiles often use TCVN3 (ABC), VNI or Windows-1258; when it is wrong, the error shows the text "
        "decoded each way.",
    ),
    "app.upload.loaded": ("Đã nạp từ tệp: {kinds}", "Loaded from the file: {kinds}"),
    "app.upload.clear": ("Bỏ dữ liệu đã nạp", "Drop uploaded layers"),
    "app.cost_bn": ("Tổng chi phí (tỷ đồng)", "Cost (billion VND)"),
    "app.cost_exact": ("Chính xác: {vnd}", "Exactly {vnd}"),
    "app.compare.kpis_changed": ("Số KPI thay đổi", "KPIs changed"),
    "app.compare.phases_changed": ("Số năm có chi phí thay đổi", "Years whose cost changed"),
    "app.compare.by_phase": ("Chênh lệch chi phí theo năm (B - A)", "Cost differences by year (B - A)"),
    "app.compare.features": ("Đối tượng thay đổi trên bản đồ", "Features that changed on the map"),
    "compare.moved": ("vị trí thay đổi", "geometry moved"),
    "app.compare.cost_delta": ("Chênh lệch chi phí (tỷ đồng)", "Cost difference (billion VND)"),
    "app.chart.category": ("Nhóm hạng mục", "Category"),
    "app.chart.million_vnd": ("Triệu đồng", "Million VND"),
    "app.chart.phase": ("Giai đoạn", "Phase"),
}

#: Table column -> (Vietnamese, English): BOQ, plan layers, versions, comparisons, popups.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    # BOQ
    "item_code": ("Mã hạng mục", "Item code"),
    "description_vi": ("Diễn giải", "Description"),
    "description_en": ("Diễn giải", "Description"),
    "unit": ("Đơn vị", "Unit"),
    "quantity": ("Khối lượng", "Quantity"),
    "unit_price_vnd": ("Đơn giá (đồng)", "Unit price (VND)"),
    "amount_vnd": ("Thành tiền (đồng)", "Amount (VND)"),
    "category": ("Nhóm hạng mục", "Category"),
    "phase": ("Giai đoạn", "Phase"),
    "district": ("Huyện", "District"),
    "commune": ("Xã", "Commune"),
    # comparisons
    "quantity_a": ("Khối lượng A", "Quantity A"),
    "quantity_b": ("Khối lượng B", "Quantity B"),
    "quantity_delta": ("Chênh lệch khối lượng", "Quantity difference"),
    "amount_a_vnd": ("Thành tiền A (đồng)", "Amount A (VND)"),
    "amount_b_vnd": ("Thành tiền B (đồng)", "Amount B (VND)"),
    "amount_delta_vnd": ("Chênh lệch (đồng)", "Difference (VND)"),
    "kpi": ("Chỉ tiêu", "Indicator"),
    "value": ("Giá trị", "Value"),
    "a": ("A", "A"),
    "b": ("B", "B"),
    "delta": ("Chênh lệch", "Difference"),
    "changed": ("Thay đổi", "Changed"),
    "parameter": ("Tham số", "Parameter"),
    # problems of invalid input
    "file": ("Tệp", "File"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "problem": ("Vấn đề", "Problem"),
    "fix": ("Cách sửa", "How to fix"),
    "layer": ("Lớp", "Layer"),
    "change": ("Thay đổi", "Change"),
    "detail": ("Chi tiết", "Detail"),
    # roadmap
    "trench_km": ("Tuyến hào (km)", "Trench (km)"),
    "million_vnd": ("Chi phí (triệu đồng)", "Cost (million VND)"),
    "reused_duct_km": ("Cống bể tận dụng (km)", "Reused ducts (km)"),
    "cumulative_cost_vnd": ("Chi phí lũy kế (đồng)", "Cumulative cost (VND)"),
    "cumulative_people": ("Số dân được phủ lũy kế", "Cumulative people covered"),
    "vnd_per_person": ("Chi phí mỗi người (đồng)", "Cost per person (VND)"),
    "people_covered": ("Số dân được phủ", "People covered"),
    # versions
    "id": ("Mã phiên bản", "Version"),
    "scenario": ("Phương án", "Scenario"),
    "status": ("Trạng thái", "Status"),
    "created_at": ("Thời điểm lưu", "Saved at"),
    "author": ("Người lập", "Author"),
    "message": ("Ghi chú", "Message"),
    "previous_status": ("Trạng thái trước", "Previous status"),
    "reviewer": ("Người thẩm định", "Reviewer"),
    "comment": ("Nhận xét", "Comment"),
    "cost_vnd": ("Chi phí (đồng)", "Cost (VND)"),
    # layers and plan layers
    "road_id": ("Mã đường", "Road id"),
    "name": ("Tên", "Name"),
    "road_class": ("Cấp đường", "Road class"),
    "surface": ("Mặt đường", "Surface"),
    "pole_id": ("Mã cột", "Pole id"),
    "owner": ("Chủ sở hữu", "Owner"),
    "material": ("Vật liệu", "Material"),
    "height_m": ("Chiều cao (m)", "Height (m)"),
    "cable_id": ("Mã cáp", "Cable id"),
    "placement": ("Hình thức lắp đặt", "Placement"),
    "kind": ("Loại", "Kind"),
    "fibre_count": ("Số sợi", "Fibres"),
    "duct_id": ("Mã cống", "Duct id"),
    "n_ducts": ("Số ống", "Ducts"),
    "free_ducts": ("Số ống trống", "Free ducts"),
    "technology": ("Công nghệ", "Technology"),
    "operator": ("Nhà mạng", "Operator"),
    "quality": ("Chất lượng", "Quality"),
    "settlement_id": ("Mã khu dân cư", "Settlement id"),
    "population": ("Dân số", "Population"),
    "households": ("Số hộ", "Households"),
    "commune_code": ("Mã xã", "Commune code"),
    "site_id": ("Mã điểm", "Site id"),
    "has_fibre": ("Có cáp quang", "Has fibre"),
    "has_power": ("Có điện lưới", "Has mains power"),
    "unit_code": ("Mã đơn vị", "Unit code"),
    "level": ("Cấp hành chính", "Level"),
    "parent_code": ("Mã đơn vị cấp trên", "Parent code"),
    "rule": ("Quy định", "Rule"),
    "penalty_factor": ("Hệ số phạt", "Penalty factor"),
    "length_m": ("Chiều dài (m)", "Length (m)"),
    "aerial_m": ("Cáp treo (m)", "Aerial (m)"),
    "underground_m": ("Cáp ngầm (m)", "Underground (m)"),
    "profile": ("Thiết bị", "Profile"),
    "reach_m": ("Bán kính phủ (m)", "Reach (m)"),
    "backhaul": ("Truyền dẫn", "Backhaul"),
    "capex_vnd": ("Đầu tư (đồng)", "Capital cost (VND)"),
    "opex_vnd": ("Vận hành (đồng)", "Operating cost (VND)"),
    "option": ("Phương án", "Option"),
    "feasible": ("Khả thi", "Feasible"),
    "chosen": ("Được chọn", "Chosen"),
    "reason": ("Lý do", "Reason"),
    "reason_vi": ("Lý do", "Reason (Vietnamese)"),
    "reason_en": ("Lý do", "Reason"),
    "used": ("Được dùng", "Used"),
    "decision": ("Kết quả", "Decision"),
    "people_in_reach": ("Số dân trong tầm phủ", "People within reach"),
    "people_served": ("Số dân được phục vụ", "People served"),
    "served_by": ("Điểm phục vụ", "Served by"),
    "budget_left_vnd": ("Ngân sách còn lại (đồng)", "Budget left (VND)"),
    "peer_id": ("Điểm kết nối", "Connects to"),
    "land_m": ("Trên đất liền (m)", "Over land (m)"),
    "village": ("Thôn, ấp", "Village"),
    "households_in_reach": ("Số hộ trong vùng phủ", "Households in reach"),
    "capacity_mbps": ("Dung lượng (Mbit/s)", "Capacity (Mbit/s)"),
    "demand_mbps": ("Nhu cầu (Mbit/s)", "Demand (Mbit/s)"),
    "opex_vnd_per_year": ("Vận hành mỗi năm (đồng)", "Operating cost per year (VND)"),
    "lcc_vnd": ("Chi phí vòng đời (đồng)", "Life-cycle cost (VND)"),
    "peer_rent_code": ("Mã thuê vị trí đầu xa (cột, trạm)", "Rent at the far end (tower, pole)"),
    "environment_source": ("Nguồn phân loại môi trường", "Environment classed by"),
    "load_mbps": ("Tải (Mbit/s)", "Load (Mbit/s)"),
}

#: (column, code) -> (Vietnamese, English): the coded values users see in legends, popups and tables.
VALUE_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    **{
        ("road_class", k): v
        for k, v in {
            "national": ("Quốc lộ", "National road"),
            "provincial": ("Đường tỉnh", "Provincial road"),
            "district": ("Đường huyện", "District road"),
            "urban": ("Đường đô thị", "Urban street"),
            "rural": ("Đường nông thôn", "Rural road"),
            "track": ("Đường mòn", "Track"),
        }.items()
    },
    **{
        ("surface", k): v
        for k, v in {
            "asphalt": ("Nhựa", "Asphalt"),
            "concrete": ("Bê tông", "Concrete"),
            "gravel": ("Cấp phối", "Gravel"),
            "earth": ("Đất", "Earth"),
        }.items()
    },
    **{
        ("owner", k): v
        for k, v in {
            "telecom": ("Viễn thông", "Telecom"),
            "power": ("Điện lực", "Power"),
            "shared": ("Dùng chung", "Shared"),
        }.items()
    },
    ("placement", "aerial"): ("Cáp treo", "Aerial"),
    ("placement", "underground"): ("Cáp ngầm", "Underground"),
    **{
        ("quality", k): v
        for k, v in {"good": ("Tốt", "Good"), "fair": ("Trung bình", "Fair"), "poor": ("Yếu", "Poor")}.items()
    },
    # kind: the code sets of the layers do not overlap
    **{
        ("kind", k): v
        for k, v in {
            "fibre": ("Cáp quang", "Fibre"),
            "copper": ("Cáp đồng", "Copper"),
            "coax": ("Cáp đồng trục", "Coaxial"),
            "town": ("Thị trấn, phường", "Town"),
            "village": ("Thôn, ấp", "Village"),
            "hamlet": ("Xóm", "Hamlet"),
            "exchange": ("Tổng đài", "Exchange"),
            "pop": ("Điểm truy nhập (POP)", "Point of presence"),
            "tower": ("Trạm BTS", "Tower"),
            "commune_hq": ("Trụ sở UBND xã", "Commune People's Committee"),
            "school": ("Trường học", "School"),
            "health": ("Trạm y tế", "Health station"),
            "community": ("Nhà văn hóa", "Community house"),
            "pole": ("Cột", "Pole"),
            "generated": ("Điểm tự sinh gần khu dân cư", "Generated near a settlement"),
            "no_dig": ("Cấm đào", "No digging"),
            "protected": ("Khu bảo tồn", "Protected area"),
            "heritage": ("Di tích", "Heritage"),
            "water": ("Mặt nước", "Water"),
            "manhole": ("Hố ga", "Manhole"),
            "handhole": ("Bể kéo cáp", "Handhole"),
        }.items()
    },
    **{
        (col, k): v
        for col in ("backhaul", "option")
        for k, v in {
            "fibre": ("Cáp quang", "Fibre"),
            "radio": ("Vi ba", "Radio link"),
            "p2p_radio": ("Vi ba", "Radio link"),
            "radio_long": ("Vi ba đường dài", "Long radio hop"),
            "long_radio": ("Vi ba đường dài", "Long radio hop"),
            "submarine": ("Cáp biển", "Submarine cable"),
            "satellite": ("Vệ tinh", "Satellite"),
            "microwave": ("Vi ba hiện có của trạm", "Existing microwave"),
        }.items()
    },
    **{
        ("type", k): v
        for k, v in {"manhole": ("Hố ga (bể cáp lớn)", "Manhole"), "handhole": ("Bể cáp nhỏ", "Handhole")}.items()
    },
    **{
        ("reason", k): v
        for k, v in {
            "branch": ("Điểm rẽ nhánh, hàn nối", "Branch and splice point"),
            "exchange": ("Bể trước tổng đài", "Exchange entry"),
            "splice": ("Điểm cuối cáp, măng xông", "Cable end closure"),
            "riser": ("Chân cột chuyển tiếp ngầm - treo", "Riser pole foot"),
            "drop": ("Bể phân phối thuê bao", "Drop chamber"),
            "pulling": ("Bể kéo cáp", "Pulling point"),
            "duct_end": ("Cuối tuyến ống", "Duct end"),
        }.items()
    },
    **{
        ("level", k): v
        for k, v in {
            "province": ("Tỉnh", "Province"),
            "district": ("Huyện", "District"),
            "commune": ("Xã", "Commune"),
        }.items()
    },
    **{
        ("decision", k): v
        for k, v in {
            "used": ("Được dùng", "Used"),
            "no_power": ("Không có điện lưới", "No mains power"),
            "no_demand": ("Không có nhu cầu trong tầm phủ", "No demand within reach"),
            "served_elsewhere": ("Đã được điểm khác phục vụ", "Served by other sites"),
            "capacity": ("Điểm đã chọn gần đó còn thiếu tải", "Chosen sites nearby are full"),
            "budget": ("Hết ngân sách", "Budget exhausted"),
            "not_chosen": ("Không được chọn", "Not chosen"),
            "nothing_to_plan": ("Không cần xây dựng", "Nothing to build"),
        }.items()
    },
    ("change", "added"): ("Thêm mới", "Added"),
    ("change", "removed"): ("Bỏ đi", "Removed"),
    ("change", "changed"): ("Thay đổi", "Changed"),
    ("rule", "forbid"): ("Cấm", "Forbidden"),
    ("rule", "penalty"): ("Tăng chi phí", "Penalised"),
    **{
        (col, k): v
        for col in ("status", "previous_status")
        for k, v in {
            "draft": ("Bản nháp", "Draft"),
            "in_review": ("Đang thẩm định", "In review"),
            "approved": ("Đã phê duyệt", "Approved"),
            "rejected": ("Bị từ chối", "Rejected"),
        }.items()
    },
    **{("category", k): v for k, v in CATEGORY_LABELS.items()},
    **{
        ("unit", k): v
        for k, v in {
            "each": ("cái", "each"),
            "crossing": ("điểm", "crossing"),
            "link": ("tuyến", "link"),
            "year": ("năm", "year"),
        }.items()
    },
}


def _check_lang(lang: object) -> None:
    """Raise ``ValueError`` (English / Vietnamese) unless ``lang`` is one of :data:`LANGS`."""
    if lang not in LANGS:
        names = ", ".join(LANGS)
        raise ValueError(
            f"unknown language {lang!r}; use one of {names} "
            f"/ ngôn ngữ {lang!r} không được hỗ trợ; dùng một trong {names}"
        )


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """Return the string of ``key`` in ``lang`` (``"vi"`` or ``"en"``), formatted with ``fmt``.

    An unknown key returns the key itself (so a missing translation shows, it
    does not crash a page); an unknown language raises ``ValueError``.
    """
    _check_lang(lang)
    pair = STRINGS.get(key)
    text = key if pair is None else _translated(key, pair, lang)
    return text.format(**fmt) if fmt else text


def both(key: str, sep: str = " / ", **fmt: object) -> str:
    """Return ``"<Vietnamese><sep><English>"`` for ``key`` (one string when both are the same)."""
    vi, en = t(key, "vi", **fmt), t(key, "en", **fmt)
    return vi if vi == en else f"{vi}{sep}{en}"


def column_label(column: str, lang: str = DEFAULT_LANG) -> str:
    """Return the label of a table column in ``lang`` (the column name itself when it has none)."""
    _check_lang(lang)
    pair = COLUMN_LABELS.get(column)
    return column if pair is None else _translated(f"column:{column}", pair, lang)


def value_label(column: str, value: object, lang: str | None = DEFAULT_LANG) -> str:
    """Return the label of a coded ``value`` of ``column`` (``road_class``/``national`` ...) in ``lang``.

    ``lang=None`` gives ``"Vietnamese / English"``.  Values without a label
    are returned as text, unchanged.
    """
    pair = VALUE_LABELS.get((column, str(value)))
    if pair is None:
        return str(value)
    ctx = f"value:{column}:{value}"
    if lang is None:
        vi, en = _translated(ctx, pair, "vi"), _translated(ctx, pair, "en")
        return vi if vi == en else f"{vi} / {en}"
    _check_lang(lang)
    return _translated(ctx, pair, lang)


#: The Babel (CLDR) locale of each language's number format (as :data:`gisplan.outputs.formatting.BABEL_LOCALES`).
_NUMBER_LOCALES = {"vi": "vi_VN", "en": "en"}


def number_text(value: float, lang: str, *, decimals: int = 0) -> str:
    """``value`` as ``lang`` writes it (Babel's CLDR format: ``1.234,5`` / ``1,234.5``), at most ``decimals``
    decimals; for figures inside library texts (the app's tables use :mod:`gisplan.outputs.formatting`)."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return str(format_decimal(value, format=pattern, locale=_NUMBER_LOCALES[lang]))


def texts(key: str, **values: object) -> dict[str, str]:
    """The text of ``key`` in every language (:func:`t`), with ``values`` filled in; a value given as ``(number,
    decimals)`` is written as each language writes numbers (:func:`number_text`).

    Examples
    --------
    >>> texts("backhaul.beyond", limit=(15.0, 1), nearest="")["vi"]
    'xa hơn 15 km'
    """
    out = {}
    for lang in LANGS:
        fmt = {
            k: number_text(float(v[0]), lang, decimals=int(v[1])) if isinstance(v, tuple) else v
            for k, v in values.items()
        }
        out[lang] = t(key, lang, **fmt)
    return out


def million_vnd(vnd: float) -> float:
    """An amount in VND as millions (triệu đồng), rounded to 0.1 for charts."""
    return round(float(vnd) / 1_000_000, 1)


def display_table(df: pd.DataFrame, lang: str = DEFAULT_LANG, *, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """Return a copy of ``df`` for people to read in ``lang``: coded values and column names labelled.

    A text kept in both languages (``description_vi`` and ``description_en``, ``reason_vi`` and ``reason_en``, or
    ``reason`` in English and ``reason_vi``) shows in ``lang`` only, and the columns ``drop`` are left out; coded values
    (road classes, statuses, BOQ categories ...) get their labels; columns get
    their names from :data:`COLUMN_LABELS`.  Row order and index are kept;
    ``df`` is not modified.
    """
    _check_lang(lang)
    # a text kept in both languages (description_vi/description_en, reason_vi/reason_en, or an English column
    # with its Vietnamese beside it: reason/reason_vi): the reader's language only, under the column's name
    names = {c for c in df.columns if isinstance(c, str)}
    gone, renamed = set(drop), {}
    for stem in {c[:-3] for c in names if c.endswith("_vi")}:
        if f"{stem}_en" in names:
            gone.add(f"{stem}_en" if lang == "vi" else f"{stem}_vi")
        elif stem in names:
            gone.add(stem if lang == "vi" else f"{stem}_vi")
            if lang == "vi":
                renamed[f"{stem}_vi"] = stem
    out = df[[c for c in df.columns if c not in gone]].rename(columns=renamed)
    coded = {col for col, _ in VALUE_LABELS}
    for col in out.columns:
        if col in coded and (out[col].dtype == object or str(out[col].dtype) in ("string", "str", "category")):
            out[col] = out[col].map(lambda v, c=col: v if v is None or v != v else value_label(c, v, lang))
    return out.rename(columns={c: column_label(c, lang) for c in out.columns})


def kpi_name(key: str, lang: str = DEFAULT_LANG) -> str:
    """A plan KPI's name in ``lang`` (``gisplan.plan.KPI_LABELS``, through the catalogs); the key when it has
    none."""
    from gisplan.plan import KPI_LABELS

    _check_lang(lang)
    pair = KPI_LABELS.get(key)
    return key if pair is None else _translated(f"kpi:{key}", pair, lang)


# --------------------------------------------------------------------------- gettext catalogs

#: Folder of the catalogs: ``<LOCALE_DIR>/<lang>/LC_MESSAGES/gisplan.po``.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "gisplan"
#: Dates written in the catalogs' headers: fixed, so that updating unchanged catalogs changes no byte.
_CATALOG_DATE = datetime(2026, 12, 1, tzinfo=UTC)


def catalog_entries() -> dict[str, tuple[str, str]]:
    """Every string the catalogs hold: message context (the key) -> (Vietnamese, English) from the tables."""
    from gisplan.plan import KPI_LABELS

    out: dict[str, tuple[str, str]] = dict(STRINGS)
    out.update({f"column:{c}": pair for c, pair in COLUMN_LABELS.items()})
    out.update({f"value:{c}:{v}": pair for (c, v), pair in VALUE_LABELS.items()})
    out.update({f"kpi:{k}": pair for k, pair in KPI_LABELS.items()})
    return out


def _po_path(lang: str, root: Path | None = None) -> Path:
    return (root or LOCALE_DIR) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _catalog(lang: str, root: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` under ``root``, its ``.po`` compiled with Babel in memory at first use."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = _po_path(lang, Path(root))
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale="vi" if lang == "vi" else "en", domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _translated(context: str, pair: tuple[str, str], lang: str) -> str:
    """The catalog's text of ``context`` in ``lang``; the table's when the catalog does not have it yet."""
    english = pair[1]
    found = _catalog(lang, str(LOCALE_DIR)).pgettext(context, english)
    if found == english and pair[LANGS.index(lang)] != english:
        return pair[LANGS.index(lang)]  # a key added to the tables and not yet to the catalogs
    return found


def update_catalogs(root: Path | None = None) -> dict[str, int]:
    """Write the catalogs from the tables, keeping the translations they hold; return messages per language.

    A message whose English text (``msgid``) changed takes the table's text again; new keys take the table's;
    keys gone from the tables are dropped.  Sorted by key, no source references: diffs stay small.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    entries = catalog_entries()
    counts: dict[str, int] = {}
    for lang in LANGS:
        path = _po_path(lang, root)
        old: dict[str, tuple[str, str]] = {}
        if path.is_file():
            with path.open("rb") as f:
                for msg in read_po(f, domain=DOMAIN):
                    if msg.id and msg.context:
                        old[str(msg.context)] = (str(msg.id), str(msg.string))
        cat = Catalog(
            locale="vi" if lang == "vi" else "en",
            domain=DOMAIN,
            project="gisplan",
            charset="utf-8",
            fuzzy=False,
            creation_date=_CATALOG_DATE,
            revision_date=_CATALOG_DATE,
            copyright_holder="gisplan contributors",
        )
        for ctx in sorted(entries):
            vi, en = entries[ctx]
            kept = old.get(ctx)
            text = kept[1] if kept and kept[0] == en and kept[1] else (vi if lang == "vi" else en)
            cat.add(en, text, context=ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        write_po(buf, cat, width=120, omit_header=False, sort_output=False, no_location=True)
        path.write_bytes(buf.getvalue())
        counts[lang] = len(entries)
    _catalog.cache_clear()
    return counts


if __name__ == "__main__":  # python -m gisplan.i18n: update the catalogs from the tables
    print(update_catalogs())
