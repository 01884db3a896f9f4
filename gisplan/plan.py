"""The Plan: what every planner returns.

A :class:`Plan` holds result layers (GeoDataFrames in the metric CRS), a bill of
quantities (BOQ) table with the columns :data:`BOQ_COLUMNS`, and key
performance indicators (KPIs).  Amounts are integers in VND.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

#: Columns of every BOQ table, in order.
BOQ_COLUMNS: tuple[str, ...] = (
    "item_code",
    "description_vi",
    "description_en",
    "unit",
    "quantity",
    "unit_price_vnd",
    "amount_vnd",
    "category",
    "phase",
    "district",
    "commune",
)


def empty_boq() -> pd.DataFrame:
    """Return an empty BOQ table with the right columns and dtypes."""
    return pd.DataFrame(
        {
            "item_code": pd.Series(dtype="str"),
            "description_vi": pd.Series(dtype="str"),
            "description_en": pd.Series(dtype="str"),
            "unit": pd.Series(dtype="str"),
            "quantity": pd.Series(dtype="float64"),
            "unit_price_vnd": pd.Series(dtype="int64"),
            "amount_vnd": pd.Series(dtype="int64"),
            "category": pd.Series(dtype="str"),
            "phase": pd.Series(dtype="str"),
            "district": pd.Series(dtype="str"),
            "commune": pd.Series(dtype="str"),
        }
    )


@dataclass(frozen=True)
class Plan:
    """The result of a planner.

    Parameters
    ----------
    kind
        ``"underground"`` or ``"wifi"``.
    layers
        Result layers by name, each a GeoDataFrame in the metric CRS.
    boq
        The bill of quantities, columns :data:`BOQ_COLUMNS`; ``amount_vnd`` is
        ``round(quantity * unit_price_vnd)`` as an integer.
    kpis
        Key figures by name (numbers or short strings).
    params
        The parameters the plan was made with (plain, YAML-able values).
    messages
        Explanations for the user (e.g. why a plan is empty), in English and Vietnamese.
    """

    kind: str
    layers: dict[str, gpd.GeoDataFrame]
    boq: pd.DataFrame
    kpis: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def total_vnd(self) -> int:
        """Total amount of the BOQ in VND."""
        return int(self.boq["amount_vnd"].sum()) if len(self.boq) else 0


#: Bilingual labels of plan KPIs (Vietnamese, English); unknown keys are shown as they are.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "aerial_km_removed": ("Cáp treo thu hồi (km)", "Aerial cable removed (km)"),
    "cable_km_repulled": ("Cáp kéo lại trong cống (km)", "Cable re-pulled in ducts (km)"),
    "trench_km": ("Tuyến hào mới (km)", "New trench (km)"),
    "reused_duct_km": ("Cống có sẵn tái sử dụng (km)", "Existing ducts reused (km)"),
    "cost_vnd": ("Tổng chi phí (VND)", "Total cost (VND)"),
    "cost_per_km_vnd": ("Chi phí mỗi km tuyến (VND)", "Cost per km of route (VND)"),
    "cost_per_aerial_km_vnd": ("Chi phí mỗi km cáp treo thu hồi (VND)", "Cost per aerial km removed (VND)"),
    "n_phases": ("Số giai đoạn", "Number of phases"),
    "first_year": ("Năm đầu", "First year"),
    "last_year": ("Năm cuối", "Last year"),
    "phase_totals_vnd": ("Chi phí theo năm (VND)", "Cost per year (VND)"),
    "steiner_cost_vnd": ("Chi phí mạng hào tối ưu (VND)", "Trench network cost (VND)"),
    "steiner_lower_bound_vnd": ("Cận dưới chứng minh được (VND)", "Proven lower bound (VND)"),
    "steiner_gap": ("Sai khác tối đa so với tối ưu", "Proven gap to the optimum"),
    "steiner_method": ("Phương pháp", "Method"),
    "n_streets": ("Số tuyến phố", "Streets"),
    "n_manholes": ("Số hố ga", "Manholes"),
    "n_handholes": ("Số bể kéo cáp", "Handholes"),
    "repull_ratio_mean": ("Tỷ lệ chiều dài cáp ngầm / cáp treo (trung bình)", "Re-pull ratio, mean"),
    "repull_ratio_max": ("Tỷ lệ chiều dài cáp ngầm / cáp treo (lớn nhất)", "Re-pull ratio, max"),
    "n_detours": ("Số khoảng cáp vượt giới hạn đi vòng", "Spans above the detour limit"),
    "detour_trench_km": ("Hào bổ sung để hạn chế đi vòng (km)", "Trench added for the detour limit (km)"),
    "n_detours_over_limit": ("Khoảng cáp vẫn vượt giới hạn (không có đường)", "Spans still above the limit (no road)"),
    "street_km_freed": ("Chiều dài phố được giải phóng cáp treo (km)", "Street length freed of aerial cable (km)"),
    "cost_per_street_km_freed_vnd": ("Chi phí mỗi km phố được giải phóng (VND)", "Cost per street-km freed (VND)"),
    "n_drops": ("Số dây thuê bao chuyển ngầm", "Subscriber drops moved underground"),
    "households_migrated": ("Số hộ chuyển sang cáp ngầm", "Households migrated"),
    "n_buildings_not_served": ("Công trình trong vùng không có dây ngầm", "Buildings in the zone without a drop"),
    "chambers_per_km": ("Số hố cáp mỗi km", "Chambers per km"),
    "chamber_cost_share": ("Tỷ trọng chi phí hố cáp", "Chambers' share of cost"),
    "poles_removed_by_owner": ("Cột thu hồi theo chủ sở hữu", "Poles removed by owner"),
    "poles_remaining_by_owner": ("Cột còn lại theo chủ sở hữu", "Poles remaining by owner"),
    "estimate_vnd": ("Tổng mức đầu tư theo NĐ 10/2021 (VND)", "Investment estimate, Decree 10/2021 (VND)"),
    "investment_total_vnd": ("Tổng mức đầu tư (VND)", "Total investment (VND)"),
    "payer_vnd": ("Nguồn vốn theo bên chi trả (VND)", "Who pays (VND)"),
    "province_by_phase_vnd": ("Phần của tỉnh theo giai đoạn (VND)", "Province's part by phase (VND)"),
    "payer_shares": ("Tỷ lệ chi trả của các doanh nghiệp", "Operators' shares"),
    "duct_rent_vnd_per_year": ("Tiền thuê ống mỗi năm theo doanh nghiệp (VND)", "Yearly duct rent per operator (VND)"),
    "operator_duct_m": ("Chiều dài cáp trong ống theo doanh nghiệp (m)", "Cable-metres in the ducts per operator"),
    "estimate_rates": ("Các tỷ lệ của tổng mức đầu tư", "Estimate rates"),
    "operator_duct_m_by_class": (
        "Chiều dài cáp trong ống theo doanh nghiệp và đường kính cáp (m)",
        "Cable-metres in the ducts per operator and cable diameter",
    ),
    "duct_rent_vnd_per_m_year_by_class": (
        "Giá thuê ống mỗi năm theo đường kính cáp (VND/m)",
        "Yearly duct rent by cable diameter (VND per m)",
    ),
    "roots_by_operator": ("Tổng đài/POP của từng nhà mạng", "Exchange or POP of each operator"),
    "root_sites": ("Các tổng đài/POP được dùng", "Exchanges and POPs used"),
    "n_roots": ("Số tổng đài/POP được dùng", "Exchanges and POPs used (number)"),
    "chambers_by_reason": ("Hố cáp theo công dụng", "Chambers by reason"),
    "n_chambers_near_intersection": (
        "Hố cáp gần giao lộ (không còn chỗ khác)",
        "Chambers near an intersection (no other place)",
    ),
    "n_poles_removed": ("Số cột thu hồi", "Poles removed"),
    "n_crossings": ("Số điểm băng đường", "Road crossings"),
    "n_cables_moved": ("Số khoảng cáp chuyển ngầm", "Cable spans moved"),
    "labour_vnd_estimate": ("Ước tính nhân công (VND)", "Labour estimate (VND)"),
    "root_site": ("Tổng đài gốc", "Serving exchange"),
    "people_unserved": ("Dân số chưa được phục vụ", "People unserved"),
    "people_newly_covered": ("Dân số được phủ mới", "People newly covered"),
    "share_unserved_reached": ("Tỷ lệ được phủ mới", "Share of the unserved reached"),
    "communes_hq_connected": ("UBND xã được kết nối", "Commune People's Committees connected"),
    "communes_total": ("Tổng số xã", "Communes"),
    "capex_vnd": ("Chi phí đầu tư (VND)", "Capital cost (VND)"),
    "opex_vnd": ("Chi phí vận hành (VND)", "Operating cost (VND)"),
    "cost_per_person_vnd": ("Chi phí mỗi người được phủ (VND)", "Cost per person covered (VND)"),
    "n_sites": ("Số điểm wifi", "Wifi sites"),
    "selection_status": ("Trạng thái tối ưu", "Selection status"),
    "selection_gap": ("Sai khác tối đa (chọn điểm)", "Selection gap"),
    "backhaul_mix": ("Cơ cấu truyền dẫn", "Backhaul mix"),
    "n_shortcuts": ("Số đoạn hào nối vòng", "Shortcut trenches"),
    "shortcut_trench_km": ("Hào nối vòng (km)", "Shortcut trench (km)"),
    "cable_km_saved_by_shortcuts": ("Cáp tiết kiệm nhờ nối vòng (km)", "Cable saved by shortcuts (km)"),
    "communes_hq_connected_list": ("Danh sách UBND xã được kết nối", "Commune People's Committees connected (list)"),
    "communes_hq_forced": ("UBND xã bắt buộc kết nối", "Commune People's Committees forced in"),
    "los_checked": ("Đã kiểm tra tầm nhìn thẳng", "Line of sight checked"),
    "selection_bound": ("Cận trên (chọn điểm)", "Selection bound"),
    "selection_cost_vnd": ("Chi phí các điểm được chọn (VND)", "Cost of the chosen sites (VND)"),
    "communes_not_connected": ("Xã chưa kết nối UBND", "Communes not connected"),
    "people_in_footprint": ("Dân số trong vùng phủ", "People inside a footprint"),
    "households_served": ("Số hộ được phục vụ", "Households served"),
    "households_total": ("Tổng số hộ chưa được phục vụ", "Unserved households"),
    "institutions_served": ("Cơ quan, trường, trạm y tế được phục vụ", "Institutions served"),
    "institutions_total": ("Cơ quan, trường, trạm y tế chưa được phục vụ", "Unserved institutions"),
    "demand_mbps": ("Nhu cầu giờ cao điểm (Mbit/s)", "Busy-hour demand (Mbit/s)"),
    "mbps_delivered": ("Lưu lượng đáp ứng (Mbit/s)", "Demand met (Mbit/s)"),
    "n_aps": ("Số điểm phát (AP)", "Access points"),
    "capacity_aps": ("AP thêm vì dung lượng", "APs added for capacity"),
    "n_radios": ("Số bộ phát (mỗi sector một bộ)", "Radios (one per sector)"),
    "households_served_los": ("Hộ được phục vụ qua tầm nhìn thẳng", "Households served on line of sight"),
    "households_served_nlos": ("Hộ được phục vụ không tầm nhìn thẳng", "Households served without line of sight"),
    "opex_vnd_per_year": ("Chi phí vận hành năm đầu (VND)", "Operating cost, first year (VND)"),
    "opex_by_year_vnd": ("Chi phí vận hành theo năm (VND)", "Operating cost by year (VND)"),
    "lcc_vnd": ("Chi phí vòng đời, chiết khấu (VND)", "Life-cycle cost, discounted (VND)"),
    "lcc_per_person_vnd": ("Chi phí vòng đời mỗi người (VND)", "Life-cycle cost per person (VND)"),
    "lcc_years": ("Số năm tính vòng đời", "Life-cycle years"),
    "discount_rate": ("Tỷ lệ chiết khấu", "Discount rate"),
    "technology_mix": ("Cơ cấu công nghệ (số thôn)", "Technology mix (villages)"),
    "villages_without_option": ("Thôn không có phương án", "Villages no technology serves"),
    "wifi_only_lcc_vnd": ("Chi phí vòng đời nếu chỉ dùng wifi (VND)", "Life-cycle cost with wifi only (VND)"),
    "wifi_only_people_newly_covered": ("Dân được phục vụ nếu chỉ dùng wifi", "People served with wifi only"),
}

#: Bilingual labels of BOQ categories.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "civil": ("Xây dựng", "Civil works"),
    "duct": ("Ống, cống", "Ducts"),
    "cable": ("Cáp", "Cables"),
    "removal": ("Thu hồi", "Removal"),
    "radio": ("Thiết bị vô tuyến", "Radio equipment"),
    "power": ("Nguồn điện", "Power"),
    "backhaul": ("Truyền dẫn", "Backhaul"),
    "contingency": ("Dự phòng", "Contingency"),
}


def kpi_label(key: str) -> str:
    """``"Vietnamese / English"`` label of a KPI key (a ``planner.`` prefix is kept in front)."""
    prefix, _, name = key.rpartition(".")
    vi_en = KPI_LABELS.get(name)
    if vi_en is None:
        return key
    label = f"{vi_en[0]} / {vi_en[1]}"
    return f"[{prefix}] {label}" if prefix else label


def category_label(category: str) -> str:
    """``"Vietnamese / English"`` label of a BOQ category."""
    vi_en = CATEGORY_LABELS.get(category)
    return f"{vi_en[0]} / {vi_en[1]}" if vi_en else category
