"""One schema per layer kind: columns, dtypes, allowed values, geometry types, ids and aliases.

The names here are the published interface of gisplan's layers: keep them stable.
Column aliases (English variants and Vietnamese names such as ``ma_cot`` for
``pole_id``) and value aliases (``nhua`` for ``asphalt``) map input files onto the
schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gisplan._errors import did_you_mean


@dataclass(frozen=True)
class Column:
    """A column of a layer schema.

    Parameters
    ----------
    dtype
        ``"str"``, ``"int"``, ``"float"`` or ``"bool"``.
    required
        A missing required column is an error; a missing optional one is added with ``default``.
    allowed
        The allowed values (after value aliases are applied), or None for any.
    minimum, maximum
        Inclusive numeric bounds, or None.
    aliases
        Other names this column may have in an input file (matched case-insensitively).
    value_aliases
        Input values mapped onto allowed values (matched case-insensitively, after stripping).
    nullable
        Whether an empty value is accepted.
    default
        The value of an optional column that the input lacks.
    """

    dtype: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)
    nullable: bool = False
    default: object = None
    description: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """The schema of one layer kind."""

    kind: str
    geometry_types: tuple[str, ...]
    id_column: str | None
    columns: dict[str, Column]
    description_vi: str
    description_en: str

    def alias_map(self) -> dict[str, str]:
        """Lower-cased alias -> canonical column name (canonical names included)."""
        out: dict[str, str] = {}
        for name, col in self.columns.items():
            out[name.lower()] = name
            for a in col.aliases:
                out[a.lower()] = name
        return out


ROAD_CLASS_ALIASES = {
    "quoc_lo": "national",
    "quốc lộ": "national",
    "ql": "national",
    "trunk": "national",
    "primary": "national",
    "tinh_lo": "provincial",
    "đường tỉnh": "provincial",
    "duong_tinh": "provincial",
    "dt": "provincial",
    "secondary": "provincial",
    "duong_huyen": "district",
    "đường huyện": "district",
    "dh": "district",
    "tertiary": "district",
    "do_thi": "urban",
    "đô thị": "urban",
    "duong_do_thi": "urban",
    "residential": "urban",
    "street": "urban",
    "nong_thon": "rural",
    "nông thôn": "rural",
    "unclassified": "rural",
    "duong_mon": "track",
    "đường mòn": "track",
    "path": "track",
}
SURFACE_ALIASES = {
    "nhua": "asphalt",
    "nhựa": "asphalt",
    "bitumen": "asphalt",
    "paved": "asphalt",
    "be_tong": "concrete",
    "bê tông": "concrete",
    "betong": "concrete",
    "cap_phoi": "gravel",
    "cấp phối": "gravel",
    "soi": "gravel",
    "sỏi": "gravel",
    "unpaved": "gravel",
    "dat": "earth",
    "đất": "earth",
    "dirt": "earth",
    "ground": "earth",
}
OWNER_POLE_ALIASES = {
    "vien_thong": "telecom",
    "viễn thông": "telecom",
    "dien": "power",
    "điện": "power",
    "dung_chung": "shared",
    "dùng chung": "shared",
}
PLACEMENT_ALIASES = {
    "treo": "aerial",
    "cáp treo": "aerial",
    "overhead": "aerial",
    "ngam": "underground",
    "ngầm": "underground",
    "cáp ngầm": "underground",
    "buried": "underground",
}
CABLE_KIND_ALIASES = {
    "quang": "fibre",
    "cáp quang": "fibre",
    "fiber": "fibre",
    "optical": "fibre",
    "dong": "copper",
    "đồng": "copper",
    "cáp đồng": "copper",
    "dong_truc": "coax",
    "đồng trục": "coax",
    "coaxial": "coax",
}
QUALITY_ALIASES = {
    "tot": "good",
    "tốt": "good",
    "kha": "fair",
    "khá": "fair",
    "trung bình": "fair",
    "kem": "poor",
    "kém": "poor",
    "yeu": "poor",
    "yếu": "poor",
}
SETTLEMENT_KIND_ALIASES = {
    "thi_tran": "town",
    "thị trấn": "town",
    "phuong": "town",
    "phường": "town",
    "thon": "village",
    "thôn": "village",
    "ap": "village",
    "ấp": "village",
    "xom": "hamlet",
    "xóm": "hamlet",
    "to": "hamlet",
    "tổ": "hamlet",
}
SITE_KIND_ALIASES = {
    "tong_dai": "exchange",
    "tổng đài": "exchange",
    "tram": "tower",
    "trạm": "tower",
    "bts": "tower",
    "ubnd": "commune_hq",
    "ubnd_xa": "commune_hq",
    "truong": "school",
    "trường": "school",
    "tram_y_te": "health",
    "trạm y tế": "health",
    "nha_van_hoa": "community",
    "nhà văn hóa": "community",
    "cot": "pole",
    "cột": "pole",
}
LEVEL_ALIASES = {
    "tinh": "province",
    "tỉnh": "province",
    "huyen": "district",
    "huyện": "district",
    "dac_khu": "district",
    "đặc khu": "district",
    "xa": "commune",
    "xã": "commune",
}
CONSTRAINT_KIND_ALIASES = {
    "cam_dao": "no_dig",
    "cấm đào": "no_dig",
    "bao_ton": "protected",
    "di_tich": "heritage",
    "di tích": "heritage",
    "nuoc": "water",
    "nước": "water",
}
RULE_ALIASES = {"cam": "forbid", "cấm": "forbid", "phat": "penalty", "phạt": "penalty"}

_ID_ALIASES = ("id", "fid_", "ma", "mã")

SCHEMAS: dict[str, LayerSchema] = {
    "roads": LayerSchema(
        "roads",
        ("LineString",),
        "road_id",
        {
            "road_id": Column("str", aliases=("ma_duong", "mã đường", "roadid", "osm_id")),
            "name": Column("str", required=False, nullable=True, default="", aliases=("ten", "tên", "ten_duong")),
            "road_class": Column(
                "str",
                allowed=("national", "provincial", "district", "urban", "rural", "track"),
                aliases=("cap_duong", "cấp đường", "loai_duong", "class", "highway"),
                value_aliases=ROAD_CLASS_ALIASES,
            ),
            "surface": Column(
                "str",
                allowed=("asphalt", "concrete", "gravel", "earth"),
                aliases=("mat_duong", "mặt đường", "ket_cau"),
                value_aliases=SURFACE_ALIASES,
            ),
            # grade separation (routing joins roads only where they cross at the same level)
            "level": Column(
                "int",
                required=False,
                nullable=True,
                minimum=-10,
                maximum=10,
                aliases=("cao_do", "cao độ", "tang", "tầng", "layer"),
                description="vertical level: 0 ground, 1 on a bridge, -1 in a tunnel (OSM layer=*)",
            ),
            "bridge": Column(
                "bool", required=False, default=False, aliases=("cau", "cầu", "cau_vuot", "cầu vượt", "is_bridge")
            ),
            "tunnel": Column("bool", required=False, default=False, aliases=("ham", "hầm", "ham_chui", "is_tunnel")),
        },
        "Đường giao thông",
        "Roads",
    ),
    "poles": LayerSchema(
        "poles",
        ("Point",),
        "pole_id",
        {
            "pole_id": Column("str", aliases=("ma_cot", "mã cột", "poleid", "so_cot")),
            "owner": Column(
                "str",
                allowed=("telecom", "power", "shared"),
                aliases=("chu_so_huu", "loai_cot"),
                value_aliases=OWNER_POLE_ALIASES,
            ),
            "material": Column("str", required=False, nullable=True, default="", aliases=("vat_lieu", "vật liệu")),
            "height_m": Column(
                "float",
                required=False,
                nullable=True,
                minimum=0.0,
                maximum=100.0,
                aliases=("chieu_cao", "chiều cao", "height"),
            ),
        },
        "Cột",
        "Poles",
    ),
    "cables": LayerSchema(
        "cables",
        ("LineString",),
        "cable_id",
        {
            "cable_id": Column("str", aliases=("ma_cap", "mã cáp", "cableid")),
            "placement": Column(
                "str",
                allowed=("aerial", "underground"),
                aliases=("hinh_thuc", "lap_dat"),
                value_aliases=PLACEMENT_ALIASES,
            ),
            "kind": Column(
                "str",
                allowed=("fibre", "copper", "coax"),
                aliases=("loai_cap", "loại cáp", "type"),
                value_aliases=CABLE_KIND_ALIASES,
            ),
            "fibre_count": Column(
                "int",
                required=False,
                nullable=True,
                minimum=1,
                maximum=10000,
                aliases=("so_soi", "số sợi", "fibres", "fiber_count"),
            ),
            "owner": Column("str", required=False, nullable=True, default="", aliases=("chu_so_huu", "nha_mang")),
            "from_pole": Column("str", required=False, nullable=True, aliases=("tu_cot", "từ cột")),
            "to_pole": Column("str", required=False, nullable=True, aliases=("den_cot", "đến cột")),
        },
        "Tuyến cáp",
        "Cables",
    ),
    "ducts": LayerSchema(
        "ducts",
        ("LineString",),
        "duct_id",
        {
            "duct_id": Column("str", aliases=("ma_cong", "ma_ong", "mã cống")),
            "n_ducts": Column("int", minimum=1, maximum=200, aliases=("so_ong", "số ống")),
            "free_ducts": Column("int", minimum=0, maximum=200, aliases=("so_ong_trong", "ống trống")),
        },
        "Cống bể cáp có sẵn",
        "Existing ducts",
    ),
    "coverage": LayerSchema(
        "coverage",
        ("Polygon", "MultiPolygon"),
        None,
        {
            "technology": Column("str", allowed=("2G", "3G", "4G", "5G", "wifi"), aliases=("cong_nghe", "công nghệ")),
            "operator": Column("str", required=False, nullable=True, default="", aliases=("nha_mang", "nhà mạng")),
            "quality": Column(
                "str",
                allowed=("good", "fair", "poor"),
                aliases=("chat_luong", "chất lượng"),
                value_aliases=QUALITY_ALIASES,
            ),
        },
        "Vùng phủ sóng",
        "Coverage",
    ),
    "settlements": LayerSchema(
        "settlements",
        ("Point",),
        "settlement_id",
        {
            "settlement_id": Column("str", aliases=("ma_thon", "ma_diem", "mã thôn")),
            "name": Column("str", required=False, nullable=True, default="", aliases=("ten", "tên")),
            "commune_code": Column("str", required=False, nullable=True, default="", aliases=("ma_xa", "mã xã")),
            "population": Column("int", minimum=0, maximum=10_000_000, aliases=("dan_so", "dân số", "pop")),
            "households": Column(
                "int", required=False, nullable=True, minimum=0, maximum=5_000_000, aliases=("so_ho", "số hộ")
            ),
            "kind": Column(
                "str",
                required=False,
                allowed=("town", "village", "hamlet"),
                default="village",
                aliases=("loai", "loại"),
                value_aliases=SETTLEMENT_KIND_ALIASES,
            ),
            "on_island": Column("bool", required=False, default=False, aliases=("tren_dao", "hai_dao", "đảo")),
        },
        "Điểm dân cư",
        "Settlements",
    ),
    "sites": LayerSchema(
        "sites",
        ("Point",),
        "site_id",
        {
            "site_id": Column("str", aliases=("ma_tram", "ma_diem", "mã trạm")),
            "kind": Column(
                "str",
                allowed=("exchange", "pop", "tower", "commune_hq", "school", "health", "community", "pole"),
                aliases=("loai", "loại"),
                value_aliases=SITE_KIND_ALIASES,
            ),
            "name": Column("str", required=False, nullable=True, default="", aliases=("ten", "tên")),
            "has_fibre": Column("bool", required=False, default=False, aliases=("co_cap_quang", "cáp quang")),
            "height_m": Column(
                "float", required=False, nullable=True, minimum=0.0, maximum=300.0, aliases=("chieu_cao", "độ cao")
            ),
            "has_power": Column("bool", required=False, default=True, aliases=("co_dien", "có điện")),
            "owner": Column(
                "str",
                required=False,
                nullable=True,
                default="",
                aliases=("chu_so_huu", "chủ sở hữu", "nha_mang", "nhà mạng", "operator", "doanh_nghiep"),
                description="operator owning the site (an exchange's or POP's operator: the undergrounding planner "
                "leads each operator's cables to its own exchange or POP)",
            ),
            # existing transmission other than fibre (a BTS's microwave) and its capacity; the year a planned cable
            # brings fibre (gisplan.wifi.backhaul.transmission_inputs)
            "transmission": Column(
                "str",
                required=False,
                nullable=True,
                allowed=("none", "microwave"),
                default="none",
                aliases=("truyen_dan", "truyền dẫn"),
            ),
            "transmission_mbps": Column(
                "float",
                required=False,
                nullable=True,
                minimum=0.0,
                maximum=1_000_000.0,
                aliases=("dung_luong_truyen_dan", "dung lượng truyền dẫn"),
            ),
            "fibre_year": Column(
                "int",
                required=False,
                nullable=True,
                minimum=2000,
                maximum=2100,
                aliases=("nam_cap_quang", "năm cáp quang"),
            ),
        },
        "Điểm hạ tầng",
        "Sites",
    ),
    "boundaries": LayerSchema(
        "boundaries",
        ("Polygon", "MultiPolygon"),
        "unit_code",
        {
            "unit_code": Column("str", aliases=("ma_dvhc", "mã đvhc", "ma")),
            "name": Column("str", required=False, nullable=True, default="", aliases=("ten", "tên")),
            "level": Column(
                "str", allowed=("province", "district", "commune"), aliases=("cap", "cấp"), value_aliases=LEVEL_ALIASES
            ),
            "parent_code": Column("str", required=False, nullable=True, aliases=("ma_cha", "mã cấp trên")),
        },
        "Ranh giới hành chính",
        "Administrative boundaries",
    ),
    "constraints": LayerSchema(
        "constraints",
        ("Polygon", "MultiPolygon"),
        None,
        {
            "kind": Column(
                "str",
                allowed=("no_dig", "protected", "heritage", "water"),
                aliases=("loai", "loại"),
                value_aliases=CONSTRAINT_KIND_ALIASES,
            ),
            "rule": Column(
                "str", allowed=("forbid", "penalty"), aliases=("quy_tac", "quy tắc"), value_aliases=RULE_ALIASES
            ),
            "penalty_factor": Column(
                "float",
                required=False,
                nullable=True,
                minimum=1.0,
                maximum=1000.0,
                default=1.0,
                aliases=("he_so", "hệ số"),
            ),
        },
        "Vùng hạn chế",
        "Constraints",
    ),
    "land": LayerSchema(
        "land",
        ("Polygon", "MultiPolygon"),
        None,
        {
            "name": Column("str", required=False, nullable=True, default="", aliases=("ten", "tên")),
        },
        "Đất liền, đảo",
        "Land",
    ),
    "buildings": LayerSchema(
        "buildings",
        ("Point", "Polygon", "MultiPolygon"),
        "building_id",
        {
            "building_id": Column("str", aliases=("ma_nha", "ma_toa_nha", "mã nhà", "mã công trình")),
            "households": Column(
                "int",
                required=False,
                minimum=0,
                maximum=100_000,
                default=1,
                aliases=("so_ho", "số hộ", "units", "so_can_ho", "số căn hộ"),
                description="households or units served in the building",
            ),
            "operator": Column(
                "str", required=False, nullable=True, default="", aliases=("nha_mang", "doanh_nghiep", "nhà mạng")
            ),
            "service": Column(
                "str",
                required=False,
                nullable=True,
                default="",
                allowed=("fibre", "copper", "coax", ""),
                aliases=("dich_vu", "loai_cap", "dịch vụ"),
                value_aliases={"quang": "fibre", "cáp quang": "fibre", "dong": "copper", "đồng": "copper"},
            ),
        },
        "Công trình, nhà (điểm hoặc mặt bằng)",
        "Buildings (points or footprints)",
    ),
}

#: Layer kinds in the order they are read and shown.
KINDS: tuple[str, ...] = tuple(SCHEMAS)


def get_schema(kind: str) -> LayerSchema:
    """Return the schema of ``kind``; an unknown kind raises ValueError naming the valid ones."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(
            f"unknown layer kind {kind!r} / loại lớp {kind!r} không xác định "
            f"({did_you_mean(kind, KINDS, n=1, listing='valid kinds', listing_vi='các loại lớp hợp lệ')})"
        ) from None
