"""Schemas, readers (write-then-read for every format), validation of every bad-input class, CRS handling."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from gisplan._errors import CRSError, LayerError
from gisplan.io.crs import METRIC_CRS
from gisplan.io.layers import (
    RepairWarning,
    infer_kind,
    layer_info,
    load_layer,
    read_file,
    read_layers,
    validate_layer,
    validate_layers,
    write_geojson,
    write_gpkg,
)

# Dương Đông, Phú Quốc
LON, LAT = 103.96, 10.22


def poles(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "pole_id": [f"P{i}" for i in range(n)],
            "owner": ["telecom", "power", "shared"][:n] + ["telecom"] * max(0, n - 3),
            "height_m": [8.0] * n,
        },
        geometry=[Point(LON + 0.0005 * i, LAT) for i in range(n)],
        crs="EPSG:4326",
    )


def cables() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "cable_id": ["C0", "C1"],
            "placement": ["aerial", "aerial"],
            "kind": ["fibre", "copper"],
            "fibre_count": [24, None],
            "owner": ["VNPT", "Viettel"],
            "from_pole": ["P0", "P1"],
            "to_pole": ["P1", "P2"],
        },
        geometry=[
            LineString([(LON, LAT), (LON + 0.0005, LAT)]),
            LineString([(LON + 0.0005, LAT), (LON + 0.001, LAT)]),
        ],
        crs="EPSG:4326",
    )


def problems_of(exc: pytest.ExceptionInfo[LayerError]) -> list[tuple[object, str | None, str]]:
    """(row, column, English message) of every problem: messages read "English / Tiếng Việt"."""
    return [(p.row, p.column, p.message.split(" / ")[0]) for p in exc.value.problems]


# ---- valid input -------------------------------------------------------------------------------------------
def test_valid_layer_is_typed_and_metric():
    out = validate_layer(poles(), "poles", source="p.gpkg")
    assert out.crs.to_epsg() == 32648
    assert list(out.columns[:4]) == ["pole_id", "owner", "material", "height_m"]
    # UTM 48N easting of 103.96 E is about 386 km
    assert 380_000 < out.geometry.x.iloc[0] < 390_000


def test_vietnamese_aliases_map_columns_and_values():
    g = gpd.GeoDataFrame(
        {"ma_duong": [1], "ten": ["Trần Hưng Đạo"], "cap_duong": ["Đô thị"], "mat_duong": ["nhựa"]},
        geometry=[LineString([(LON, LAT), (LON + 0.001, LAT)])],
        crs="EPSG:4326",
    )
    out = validate_layer(g, "roads")
    assert out.loc[0, "road_id"] == "1"
    assert out.loc[0, "road_class"] == "urban"
    assert out.loc[0, "surface"] == "asphalt"


def test_input_frame_is_not_modified():
    g = poles()
    before = g.copy()
    validate_layer(g, "poles")
    pd.testing.assert_frame_equal(g, before)


# ---- bad input: one test per class, message names row and column -------------------------------------------
def test_empty_layer():
    with pytest.raises(LayerError, match="empty") as exc:
        validate_layer(poles().iloc[:0], "poles", source="p.gpkg")
    assert exc.value.problems[0].file == "p.gpkg"


def test_wrong_geometry_type():
    g = poles()
    g.loc[1, "geometry"] = LineString([(LON, LAT), (LON + 0.001, LAT)])
    with pytest.raises(LayerError) as exc:
        validate_layer(g, "poles")
    assert ("P1", "geometry", "wrong geometry type LineString") in problems_of(exc)


def test_missing_column_names_the_column():
    with pytest.raises(LayerError) as exc:
        validate_layer(poles().drop(columns=["owner"]), "poles")
    (p,) = exc.value.problems
    assert p.column == "owner" and "missing column" in p.message
    assert "chu_so_huu" in p.hint  # the Vietnamese alias is suggested


def test_negative_population_and_bad_values_all_reported_at_once():
    g = gpd.GeoDataFrame(
        {
            "settlement_id": ["S1", "S2", "S3"],
            "population": [-5, "many", 100],
            "kind": ["village", "city", "hamlet"],
        },
        geometry=[Point(LON, LAT)] * 3,
        crs="EPSG:4326",
    )
    with pytest.raises(LayerError) as exc:
        validate_layer(g, "settlements", source="s.csv")
    got = problems_of(exc)
    assert ("S1", "population", "value below the minimum 0") in got
    assert ("S2", "population", "expected a whole number") in got
    assert ("S2", "kind", "value not allowed") in got
    assert len(got) == 3
    assert "row / dòng S1, column / cột population" in str(exc.value)


def test_fibre_count_zero_and_missing():
    c = cables()
    c.loc[0, "fibre_count"] = 0
    with pytest.raises(LayerError) as exc:
        validate_layer(c, "cables")
    assert ("C0", "fibre_count", "value below the minimum 1") in problems_of(exc)
    c.loc[0, "fibre_count"] = None
    with pytest.raises(LayerError) as exc:
        validate_layer(c, "cables")
    assert ("C0", "fibre_count", "a fibre cable needs its fibre count") in problems_of(exc)


def test_duplicate_ids():
    g = poles()
    g.loc[2, "pole_id"] = "P0"
    with pytest.raises(LayerError) as exc:
        validate_layer(g, "poles")
    (p,) = exc.value.problems
    assert p.column == "pole_id" and p.row == "P0" and "rows 0, 2" in p.message


def test_swapped_latitude_longitude_is_named():
    g = poles()
    g.loc[1, "geometry"] = Point(LAT, LON)
    with pytest.raises(LayerError) as exc:
        validate_layer(g, "poles")
    assert ("P1", "geometry", "latitude and longitude look swapped") in problems_of(exc)


def test_coordinates_outside_plausible_area_and_bounds_override():
    g = poles()
    g.loc[0, "geometry"] = Point(2.35, 48.85)  # Paris
    with pytest.raises(LayerError, match="outside the plausible area"):
        validate_layer(g, "poles")
    out = validate_layer(g, "poles", bounds=None, metric_crs="EPSG:2154")  # Lambert-93: any metric CRS the user names
    assert len(out) == 3 and out.crs.to_epsg() == 2154
    # Web Mercator is in metres but stretches lengths by 1/cos(latitude): never a CRS to compute in
    with pytest.raises(CRSError, match="Mercator"):
        validate_layer(g, "poles", bounds=None, metric_crs="EPSG:3857")


def test_cable_pole_ids_must_exist():
    c = cables()
    c.loc[1, "to_pole"] = "P99"
    layers = {"poles": validate_layer(poles(), "poles"), "cables": validate_layer(c, "cables")}
    with pytest.raises(LayerError) as exc:
        validate_layers(layers, source="x.gpkg")
    assert [(p.layer, p.row, p.column, p.value) for p in exc.value.problems] == [("cables", "C1", "to_pole", "P99")]


def test_missing_crs_is_an_error_unless_stated(tmp_path):
    g = poles().set_crs(None, allow_override=True)
    with pytest.raises(CRSError):
        validate_layer(g, "poles")
    df = pd.DataFrame({"pole_id": ["A"], "owner": ["telecom"], "lon": [LON], "lat": [LAT]})
    df.to_csv(tmp_path / "poles.csv", index=False)
    with pytest.raises(CRSError, match="EPSG:4326"):
        load_layer(tmp_path / "poles.csv", "poles")
    assert len(load_layer(tmp_path / "poles.csv", "poles", crs="EPSG:4326")) == 1


def test_unknown_kind_and_unsupported_format(tmp_path):
    with pytest.raises(ValueError, match="did you mean 'poles'"):
        validate_layer(poles(), "pole")
    (tmp_path / "x.txt").write_text("nope")
    with pytest.raises(LayerError, match="unsupported format"):
        read_file(tmp_path / "x.txt")


# ---- repairs -----------------------------------------------------------------------------------------------
def test_repairs_warn_and_say_what_changed():
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1", "R2"], "road_class": ["urban", "rural"], "surface": ["asphalt", "earth"]},
        geometry=[
            MultiLineString([[(LON, LAT), (LON + 0.001, LAT)], [(LON + 0.001, LAT), (LON + 0.002, LAT)]]),
            LineString([(LON, LAT, 5), (LON, LAT, 5), (LON, LAT + 0.001, 6)]),
        ],
        crs="EPSG:4326",
    )
    with pytest.warns(RepairWarning) as rec:
        out = validate_layer(roads, "roads")
    text = " | ".join(str(w.message) for w in rec)
    assert "joined multi-part MultiLineString into one in 1 feature(s): R1" in text
    assert "dropped Z values in 1 feature(s): R2" in text
    assert "removed repeated vertices" in text
    assert set(out.geom_type) == {"LineString"}
    assert not out.has_z.any()


def test_disjoint_multiline_is_an_error():
    roads = gpd.GeoDataFrame(
        {"road_id": ["R1"], "road_class": ["urban"], "surface": ["asphalt"]},
        geometry=[MultiLineString([[(LON, LAT), (LON + 0.001, LAT)], [(LON, LAT + 0.01), (LON + 0.001, LAT + 0.01)]])],
        crs="EPSG:4326",
    )
    with pytest.raises(LayerError) as exc:
        validate_layer(roads, "roads")
    assert "split the feature" in exc.value.problems[0].hint


def test_invalid_polygon_repaired():
    bowtie = Polygon([(LON, LAT), (LON + 0.01, LAT + 0.01), (LON + 0.01, LAT), (LON, LAT + 0.01), (LON, LAT)])
    g = gpd.GeoDataFrame({"technology": ["4G"], "quality": ["tốt"]}, geometry=[bowtie], crs="EPSG:4326")
    with pytest.warns(RepairWarning, match="repaired invalid polygon"):
        out = validate_layer(g, "coverage")
    assert out.is_valid.all() and out.loc[0, "quality"] == "good"
    assert out.area.iloc[0] > 0


# ---- CRS: VN-2000 ------------------------------------------------------------------------------------------
def test_vn2000_tm3_input_lands_where_wgs84_does():
    wgs = poles()
    vn = wgs.to_crs("EPSG:9207")  # VN-2000 / Kiên Giang TM-3, central meridian 104°30'
    a = validate_layer(wgs, "poles")
    b = validate_layer(vn, "poles")
    assert np.allclose(a.geometry.x, b.geometry.x, atol=0.01)
    assert np.allclose(a.geometry.y, b.geometry.y, atol=0.01)


def test_vn2000_geographic_file_is_read_and_lands_where_wgs84_does(tmp_path):
    """A GeoPackage in VN-2000 geographic (EPSG:4756), read from disk: its CRS is taken from the file and the datum
    shift to WGS 84 applied, so each pole lands within a metre of the same pole given in WGS 84, and the spacing is
    the geodesic one (0.0005° of longitude at 10.2°N, computed here with pyproj.Geod)."""
    from pyproj import Geod

    wgs = poles()
    path = tmp_path / "cot_vn2000.gpkg"
    wgs.to_crs("EPSG:4756").to_file(path, layer="poles", driver="GPKG")
    back = load_layer(path, "poles")
    assert back.crs.to_string() == METRIC_CRS
    reference = validate_layer(wgs, "poles")
    shift = np.hypot(
        back.geometry.x.values - reference.geometry.x.values, back.geometry.y.values - reference.geometry.y.values
    )
    assert shift.max() < 1.0
    # without the datum shift (coordinates taken as WGS 84) the poles would sit about 100-500 m away: not allowed
    raw = gpd.read_file(path).set_crs("EPSG:4326", allow_override=True).to_crs(METRIC_CRS)
    assert (
        np.hypot(
            raw.geometry.x.values - reference.geometry.x.values, raw.geometry.y.values - reference.geometry.y.values
        ).min()
        > 50
    )
    _, _, expected = Geod(ellps="WGS84").inv(LON, LAT, LON + 0.0005, LAT)
    spacing = back.geometry.iloc[0].distance(back.geometry.iloc[1])
    assert abs(spacing - expected) < 0.002 * expected  # UTM 48N scale factor at 104°E: 0.9997


# ---- write then read, every format --------------------------------------------------------------------------
def test_gpkg_round_trip_many_layers(tmp_path):
    layers = {"poles": poles(), "cables": cables()}
    write_gpkg(layers, tmp_path / "p.gpkg")
    back = read_layers(tmp_path / "p.gpkg")
    assert set(back) == {"poles", "cables"}
    assert list(back["cables"]["from_pole"]) == ["P0", "P1"]
    assert back["cables"]["fibre_count"].iloc[0] == 24


def test_geojson_round_trip(tmp_path):
    write_geojson(validate_layer(poles(), "poles"), tmp_path / "poles.geojson")
    back = load_layer(tmp_path / "poles.geojson")
    assert list(back["pole_id"]) == ["P0", "P1", "P2"]
    assert np.allclose(back.to_crs(4326).geometry.x, poles().geometry.x)


def test_zipped_shapefile_round_trip(tmp_path):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    poles().to_file(shp_dir / "cot.shp")
    zpath = tmp_path / "cot.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    back = load_layer(zpath, "poles")
    assert len(back) == 3 and back.loc[1, "owner"] == "power"


def test_csv_lonlat_and_wkt(tmp_path):
    df = pd.DataFrame(
        {"ma_cot": ["A", "B"], "chu_so_huu": ["telecom", "điện"], "kinh_do": [LON, LON + 0.001], "vi_do": [LAT, LAT]}
    )
    df.to_csv(tmp_path / "cot.csv", index=False)
    back = load_layer(tmp_path / "cot.csv", "poles", crs="EPSG:4326")
    assert list(back["owner"]) == ["telecom", "power"]
    c = cables()
    wkt = pd.DataFrame(c.drop(columns="geometry"))
    wkt["wkt"] = c.geometry.to_wkt()
    wkt.to_csv(tmp_path / "cables.csv", index=False)
    back = load_layer(tmp_path / "cables.csv", crs="EPSG:4326")
    assert back.geom_type.eq("LineString").all() and back.loc[0, "fibre_count"] == 24


def test_csv_bad_coordinates_named(tmp_path):
    (tmp_path / "cot.csv").write_text("pole_id,owner,lon,lat\nA,telecom,103.9,10.2\nB,telecom,abc,10.2\n")
    with pytest.raises(LayerError) as exc:
        load_layer(tmp_path / "cot.csv", "poles", crs="EPSG:4326")
    assert exc.value.problems[0].row == 1 and "not a number" in exc.value.problems[0].message


def test_kml_read(tmp_path):
    path = tmp_path / "sites.kml"
    g = gpd.GeoDataFrame(
        {"site_id": ["S1"], "kind": ["school"], "name": ["Trường Tiểu học Gành Dầu"]},
        geometry=[Point(103.86, 10.37)],
        crs="EPSG:4326",
    )
    g.to_file(path, driver="KML")
    back = load_layer(path, "sites", layer=read_layer_name(path))
    assert back.loc[0, "kind"] == "school"


def read_layer_name(path):
    from gisplan.io.layers import list_layers

    return list_layers(path)[0][0]


def test_layer_info_and_inference(tmp_path):
    write_gpkg({"poles": poles(), "cables": cables()}, tmp_path / "p.gpkg")
    info = {r["layer"]: r for r in layer_info(tmp_path / "p.gpkg")}
    assert info["poles"]["features"] == 3 and info["poles"]["kind"] == "poles"
    assert info["poles"]["crs"] == "EPSG:4326"
    assert infer_kind("cot", []) == "poles"
    assert infer_kind("layer1", ["ma_cap", "x"]) == "cables"


def test_read_layers_gathers_problems_of_every_layer(tmp_path):
    p = poles()
    p.loc[0, "owner"] = "alien"
    c = cables()
    c.loc[0, "kind"] = "laser"
    write_gpkg({"poles": p, "cables": c}, tmp_path / "bad.gpkg")
    with pytest.raises(LayerError) as exc:
        read_layers(tmp_path / "bad.gpkg")
    assert {(pr.layer, pr.row, pr.column) for pr in exc.value.problems} == {
        ("poles", "P0", "owner"),
        ("cables", "C0", "kind"),
    }


def test_write_gpkg_is_atomic(tmp_path):
    target = tmp_path / "p.gpkg"
    write_gpkg({"poles": poles()}, target)
    before = target.read_bytes()

    class Boom(gpd.GeoDataFrame):
        def to_file(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_gpkg({"poles": poles(), "cables": Boom(cables())}, target)
    assert target.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["p.gpkg"]


# ---- properties --------------------------------------------------------------------------------------------
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_values, _values, _values, _values), min_size=1, max_size=6))
def test_validation_never_crashes_on_arbitrary_attributes(rows):
    g = gpd.GeoDataFrame(
        {
            "settlement_id": [r[0] for r in rows],
            "population": [r[1] for r in rows],
            "households": [r[2] for r in rows],
            "on_island": [r[3] for r in rows],
        },
        geometry=[Point(LON, LAT)] * len(rows),
        crs="EPSG:4326",
    )
    try:
        out = validate_layer(g, "settlements")
    except LayerError as exc:
        assert exc.problems and all(p.row is not None and p.column for p in exc.problems)
    else:
        assert (out["population"] >= 0).all()


@settings(max_examples=50, deadline=None)
@given(st.floats(102.0, 106.0), st.floats(8.5, 11.5))
def test_reprojection_round_trips(lon, lat):
    g = gpd.GeoDataFrame({"pole_id": ["A"], "owner": ["telecom"]}, geometry=[Point(lon, lat)], crs="EPSG:4326")
    back = validate_layer(g, "poles").to_crs("EPSG:4326")
    assert abs(back.geometry.x.iloc[0] - lon) < 1e-7 and abs(back.geometry.y.iloc[0] - lat) < 1e-7


# ---- text encodings of survey files: Shapefile .dbf (with or without .cpg) and CSV ----------------------------
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 writes it: precomposed base letters, tone marks as combining characters."""
    import unicodedata

    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONES))
            out += (base + "".join(c for c in d if c in _TONES)).encode("cp1258")
    return out


def _survey_shapefile(folder, values: dict[str, list[bytes]], *, cpg: str | None) -> object:
    """A poles Shapefile whose .dbf holds exactly the given bytes (columns ma_cot, chu_so_huu, vat_lieu)."""
    folder.mkdir(exist_ok=True)
    n = len(next(iter(values.values())))
    g = gpd.GeoDataFrame(
        {"ma_cot": [f"C{i}" for i in range(n)], **{k: [b.decode("latin-1") for b in v] for k, v in values.items()}},
        geometry=[Point(LON + 0.001 * i, LAT) for i in range(n)],
        crs="EPSG:4326",
    )
    path = folder / "poles.shp"
    g.to_file(path, engine="pyogrio", encoding="latin1")
    (folder / "poles.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "poles.cpg").write_text(cpg)
    return path


OWNERS_VI = ["Viễn thông", "điện", "Dùng chung"]
MATERIALS_VI = ["bê tông ly tâm", "sắt", "gỗ"]


@pytest.mark.parametrize("cpg", ["1258", "CP1258", "windows-1258"])
def test_cp1258_dbf_with_cpg_keeps_every_letter(tmp_path, cpg):
    # GDAL's own CP1258 decoding dropped the last letter of every value and column name ('ma_co', 'sắ')
    path = _survey_shapefile(
        tmp_path / "s",
        {"chu_so_huu": [_cp1258(v) for v in OWNERS_VI], "vat_lieu": [_cp1258(v) for v in MATERIALS_VI]},
        cpg=cpg,
    )
    raw = read_file(path)
    assert list(raw.columns[:3]) == ["ma_cot", "chu_so_huu", "vat_lieu"]
    assert list(raw["vat_lieu"]) == MATERIALS_VI  # NFC, every letter kept
    out = load_layer(path, "poles")
    assert list(out["owner"]) == ["telecom", "power", "shared"]
    assert list(out["material"]) == MATERIALS_VI


def test_utf8_dbf_without_cpg_is_read_as_utf8(tmp_path):
    path = _survey_shapefile(tmp_path / "s", {"chu_so_huu": [v.encode() for v in OWNERS_VI]}, cpg=None)
    assert list(load_layer(path, "poles")["owner"]) == ["telecom", "power", "shared"]


def test_legacy_dbf_without_cpg_is_refused_naming_the_encoding_option(tmp_path):
    path = _survey_shapefile(tmp_path / "s", {"chu_so_huu": [_cp1258(v) for v in OWNERS_VI]}, cpg=None)
    with pytest.raises(LayerError, match="bảng mã") as exc:
        read_file(path)
    (p,) = exc.value.problems
    assert (p.row, p.column) == ("#0", "chu_so_huu")
    assert "--encoding" in p.hint and ".cpg" in p.hint
    assert "cp1258: 'Viễn thông'" in p.message  # the user sees which decoding reads right
    assert list(load_layer(path, "poles", encoding="cp1258")["owner"]) == ["telecom", "power", "shared"]


def test_tcvn3_and_vni_dbf_are_decoded(tmp_path):
    # Viễn thông / điện / Dùng chung / bê tông ly tâm in TCVN3 (ABC) and in VNI-Windows
    tcvn3 = [b"Vi\xd4n th\xabng", b"\xaei\xd6n", b"D\xefng chung"]
    vni = ["Vieãn thoâng".encode("cp1252"), "ñieän".encode("cp1252"), "Duøng chung".encode("cp1252")]
    for enc, owners in (("tcvn3", tcvn3), ("ABC", tcvn3), ("vni", vni)):
        path = _survey_shapefile(tmp_path / enc, {"chu_so_huu": owners}, cpg=None)
        out = load_layer(path, "poles", encoding=enc)
        assert list(out["owner"]) == ["telecom", "power", "shared"], enc
    path = _survey_shapefile(tmp_path / "t2", {"ten": [b"\xa7\xabng D\xad\xeang"]}, cpg="TCVN3")
    assert read_file(path)["ten"].iloc[0] == "Đông Dường"  # a .cpg may name a legacy encoding too


def test_wrong_or_unknown_encoding_is_a_clear_error(tmp_path):
    path = _survey_shapefile(tmp_path / "s", {"chu_so_huu": [_cp1258(v) for v in OWNERS_VI]}, cpg="UTF-8")
    with pytest.raises(LayerError, match="not valid utf-8") as exc:
        read_file(path)
    assert "cp1258: 'Viễn thông'" in exc.value.problems[0].message
    with pytest.raises(LayerError, match="unknown text encoding 'klingon'"):
        read_file(path, encoding="klingon")
    (tmp_path / "s" / "poles.cpg").write_text("klingon")
    with pytest.raises(LayerError, match=r"poles\.cpg names an unknown encoding"):
        read_file(path)
    with pytest.raises(LayerError, match="only for a Shapefile or a CSV"):
        read_file(_geojson(tmp_path), encoding="cp1258")


def _geojson(tmp_path):
    path = tmp_path / "poles.geojson"
    poles().to_file(path, driver="GeoJSON")
    return path


def test_zipped_shapefile_obeys_its_cpg(tmp_path):
    path = _survey_shapefile(tmp_path / "s", {"chu_so_huu": [_cp1258(v) for v in OWNERS_VI]}, cpg="1258")
    with zipfile.ZipFile(tmp_path / "poles.zip", "w") as zf:
        for f in sorted(path.parent.iterdir()):
            zf.write(f, f"khao_sat/{f.name}")
    assert list(load_layer(tmp_path / "poles.zip", "poles")["owner"]) == ["telecom", "power", "shared"]


CSV_VI = "ma_cot,chu_so_huu,kinh_do,vi_do\nC1,Viễn thông,103.96,10.22\nC2,điện,103.961,10.22\n"


def test_csv_in_cp1258_is_refused_then_read_with_its_encoding(tmp_path):
    path = tmp_path / "poles.csv"
    path.write_bytes(_cp1258(CSV_VI))
    with pytest.raises(LayerError, match="not UTF-8") as exc:
        read_file(path, crs="EPSG:4326")
    (p,) = exc.value.problems
    assert p.row == 0 and "--encoding" in p.hint
    out = load_layer(path, "poles", crs="EPSG:4326", encoding="cp1258")
    assert list(out["owner"]) == ["telecom", "power"]


@pytest.mark.parametrize(
    "data",
    [
        CSV_VI.encode("utf-8-sig"),  # Excel's "CSV UTF-8"
        CSV_VI.replace(",", "\t").encode("utf-16"),  # Excel's "Unicode text"
        # Excel on a Vietnamese Windows: ';' separates, ',' is the decimal mark
        CSV_VI.replace(",", ";").replace("103.96", "103,96").replace("10.22", "10,22").encode("utf-8-sig"),
    ],
    ids=["utf8-bom", "utf16", "semicolon-decimal-comma"],
)
def test_excel_csv_variants_are_read(tmp_path, data):
    path = tmp_path / "poles.csv"
    path.write_bytes(data)
    out = load_layer(path, "poles", crs="EPSG:4326")
    assert list(out["owner"]) == ["telecom", "power"]
    assert abs(out.to_crs("EPSG:4326").geometry.x.iloc[1] - 103.961) < 1e-9


def test_broken_csv_is_a_layer_error_not_a_traceback(tmp_path):
    path = tmp_path / "poles.csv"
    path.write_bytes(b"")
    with pytest.raises(LayerError, match="cannot read"):
        read_file(path, crs="EPSG:4326")
    path.write_bytes(b'pole_id,lon,lat\nP1,"103.9,10.2\n')
    with pytest.raises(LayerError, match="cannot read"):
        read_file(path, crs="EPSG:4326")


def test_decomposed_unicode_matches_vietnamese_aliases():
    import unicodedata

    g = gpd.GeoDataFrame(
        {unicodedata.normalize("NFD", "mã đường"): ["R1"], "cap_duong": [unicodedata.normalize("NFD", "Đô thị")]},
        geometry=[LineString([(LON, LAT), (LON + 0.001, LAT)])],
        crs="EPSG:4326",
    ).assign(surface=unicodedata.normalize("NFD", "nhựa"))
    out = validate_layer(g, "roads")
    assert (out.loc[0, "road_id"], out.loc[0, "road_class"], out.loc[0, "surface"]) == ("R1", "urban", "asphalt")


# ---- files with several layers --------------------------------------------------------------------------------
GOOGLE_EARTH_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Phú Quốc</name>
<Folder><name>Trạm</name><Placemark><name>UBND xã Gành Dầu</name>
<Point><coordinates>103.96,10.22,0</coordinates></Point></Placemark></Folder>
<Folder><name>Cột</name><Placemark><name>C1</name>
<Point><coordinates>103.961,10.22,0</coordinates></Point></Placemark></Folder>
</Document></kml>"""


def test_kml_with_folders_needs_a_layer_and_folder_names_give_kinds(tmp_path):
    path = tmp_path / "google_earth.kml"
    path.write_text(GOOGLE_EARTH_KML, encoding="utf-8")
    with pytest.raises(LayerError, match="2 layers") as exc:
        read_file(path)  # never the first folder silently
    assert "Trạm, Cột" in exc.value.problems[0].message and "--layer" in exc.value.problems[0].hint
    assert len(read_file(path, layer="Cột")) == 1
    assert [infer_kind(n, ()) for n in ("Trạm", "Cột", "Đường", "Ranh giới")] == [
        "sites",
        "poles",
        "roads",
        "boundaries",
    ]


def test_two_layers_of_one_kind_are_an_error_not_one_silently_dropped(tmp_path):
    a, b = poles(2), poles(3).iloc[2:]
    write_gpkg({"poles": a, "cot": b, "cot_dien_luc": b}, tmp_path / "x.gpkg")
    with pytest.raises(LayerError) as exc:
        read_layers(tmp_path / "x.gpkg")
    (p,) = exc.value.problems
    assert "2 layers of kind poles: poles, cot" in p.message
    with pytest.raises(LayerError, match="3 layers"):
        load_layer(tmp_path / "x.gpkg", "poles")  # a kind without a layer name does not pick the first layer


def test_projected_xy_swapped_like_a_vietnamese_survey_is_named():
    g = poles().to_crs("EPSG:9207")
    g["geometry"] = gpd.points_from_xy(g.geometry.y, g.geometry.x)  # X = northing, Y = easting
    with pytest.raises(LayerError) as exc:
        validate_layer(g, "poles")
    assert all("x and y look swapped" in p.hint for p in exc.value.problems)


def test_cables_without_a_poles_layer_are_not_reported_as_broken():
    """Pole references can only be checked against a poles layer; without one they are left alone."""
    layers = {"cables": validate_layer(cables(), "cables")}
    assert set(validate_layers(layers)) == {"cables"}
