"""Uploads: only layer formats, unsafe archives refused before unpacking, invalid rows reported one by one."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gisplan._errors import LayerError, UploadError
from gisplan.io.crs import METRIC_CRS
from gisplan.io.layers import RepairWarning
from gisplan.io.uploads import read_upload


def _poles(owners: tuple[str, ...] = ("telecom", "power", "shared")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"pole_id": [f"P{i + 1}" for i in range(len(owners))], "owner": list(owners)},
        geometry=[Point(103.97 + 0.001 * i, 10.22) for i in range(len(owners))],
        crs="EPSG:4326",
    )


def _zip(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _shapefile_members(tmp_path: Path, stem: str = "poles") -> dict[str, bytes]:
    folder = tmp_path / "shp"
    folder.mkdir()
    _poles().to_file(folder / f"{stem}.shp")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_valid_zipped_shapefile_is_read_validated_and_metric(tmp_path: Path) -> None:
    layers = read_upload("Cột_Dương_Đông.zip", _zip(_shapefile_members(tmp_path)))
    assert list(layers) == ["poles"]
    poles = layers["poles"]
    assert list(poles["pole_id"]) == ["P1", "P2", "P3"]
    assert poles.crs == METRIC_CRS


def test_zipped_shapefile_in_a_folder_is_read(tmp_path: Path) -> None:
    members = {f"du_an/{k}": v for k, v in _shapefile_members(tmp_path).items()}
    assert list(read_upload("project.zip", _zip(members))) == ["poles"]


def test_geojson_with_a_bad_row_lists_the_problem_by_row_and_column() -> None:
    data = _poles(("telecom", "martian", "power")).to_json().encode()
    with pytest.raises(LayerError) as err:
        read_upload("poles.geojson", data)
    [problem] = err.value.problems
    assert (problem.row, problem.column, problem.value) == ("P2", "owner", "martian")
    assert problem.file == "poles.geojson"  # the uploaded name, not a private temp path
    assert "gisplan-upload" not in str(err.value)


def test_kind_can_be_chosen_for_a_file_named_otherwise() -> None:
    layers = read_upload("cot_dien.json", _poles().to_json().encode(), kind="poles")
    assert len(layers["poles"]) == 3


def test_csv_needs_and_takes_a_crs() -> None:
    data = b"pole_id,owner,lon,lat\nP1,telecom,103.97,10.22\nP2,power,103.971,10.22\n"
    assert len(read_upload("poles.csv", data, crs="EPSG:4326")["poles"]) == 2


def test_geopackage_gives_every_kind_layer(tmp_path: Path) -> None:
    from gisplan.io.layers import write_gpkg

    path = write_gpkg({"poles": _poles().to_crs(METRIC_CRS)}, tmp_path / "p.gpkg")
    assert list(read_upload("p.gpkg", path.read_bytes())) == ["poles"]


def test_oversize_upload_is_refused_before_reading() -> None:
    with pytest.raises(UploadError, match="too large") as err:
        read_upload("poles.geojson", b"{" + b" " * 2000 + b"}", max_bytes=1000)
    assert "quá lớn" in str(err.value)  # bilingual


@pytest.mark.parametrize("name", ["plan.exe", "poles.pkl", "poles.shp", "noext", "x.gpkg.py"])
def test_other_extensions_are_refused(name: str) -> None:
    with pytest.raises(UploadError, match="unsupported file type"):
        read_upload(name, b"anything")


def test_fake_geopackage_is_refused() -> None:
    with pytest.raises(UploadError, match="not a GeoPackage"):
        read_upload("poles.gpkg", b"PK\x03\x04 not sqlite")


def test_zip_slip_member_is_refused(tmp_path: Path) -> None:
    members = _shapefile_members(tmp_path)
    members["../../evil.shp"] = b"x"
    with pytest.raises(UploadError, match="leaving its folder"):
        read_upload("poles.zip", _zip(members))
    assert not (tmp_path.parent / "evil.shp").exists()


@pytest.mark.parametrize("member", ["/etc/evil.shp", "C:/evil.shp"])
def test_absolute_member_is_refused(tmp_path: Path, member: str) -> None:
    members = _shapefile_members(tmp_path)
    members[member] = b"x"
    with pytest.raises(UploadError, match="absolute path"):
        read_upload("poles.zip", _zip(members))


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in _shapefile_members(tmp_path).items():
            zf.writestr(name, data)
        link = zipfile.ZipInfo("poles.prj.shp")
        link.external_attr = (0o120777 << 16) | 0
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UploadError, match="link"):
        read_upload("poles.zip", buf.getvalue())


def test_zip_bomb_over_the_unzipped_limit_is_refused() -> None:
    bomb = _zip({"poles.dbf": b"\0" * (3 * 2**20), "poles.shp": b"\0" * 10})
    assert len(bomb) < 10_000  # a few kB that unpack to 3 MB
    with pytest.raises(UploadError, match="zip bomb"):
        read_upload("poles.zip", bomb, max_unzipped=2 * 2**20, max_ratio=10_000)
    with pytest.raises(UploadError, match="compressed more than"):
        read_upload("poles.zip", bomb)  # the ratio limit alone refuses it too


def test_zip_with_too_many_members_or_foreign_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="at most 2"):
        read_upload("poles.zip", _zip(_shapefile_members(tmp_path)), max_members=2)
    with pytest.raises(UploadError, match="not part of a Shapefile"):
        read_upload("poles.zip", _zip({"run.py": b"import os"}))
    with pytest.raises(UploadError, match="not a ZIP"):
        read_upload("poles.zip", b"not a zip")


def test_zipped_shapefile_in_cp1258_with_its_cpg_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    owners = ["Viễn thông", "điện", "Dùng chung"]
    g = gpd.GeoDataFrame(
        {"ma_cot": ["C1", "C2", "C3"], "chu_so_huu": owners},
        geometry=[Point(103.97 + 0.001 * i, 10.22) for i in range(3)],
        crs="EPSG:4326",
    )
    g.to_file(folder / "cot.shp", engine="pyogrio", encoding="cp1258")  # writes a .cpg saying CP1258
    members = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    layers = read_upload("khao_sat.zip", _zip(members))
    assert list(layers["poles"]["owner"]) == ["telecom", "power", "shared"]
    without_cpg = {k: v for k, v in members.items() if not k.endswith(".cpg")}
    with pytest.raises(LayerError, match="bảng mã") as err:
        read_upload("khao_sat.zip", _zip(without_cpg))
    assert "gisplan-upload" not in str(err.value)
    layers = read_upload("khao_sat.zip", _zip(without_cpg), encoding="cp1258")
    assert list(layers["poles"]["owner"]) == ["telecom", "power", "shared"]


def test_google_earth_kml_gives_the_layers_its_folders_name() -> None:
    kml = """<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>
    <Folder><name>Cột</name><Placemark><name>C1</name><ExtendedData>
    <Data name="ma_cot"><value>C1</value></Data><Data name="chu_so_huu"><value>điện</value></Data>
    </ExtendedData><Point><coordinates>103.961,10.22,0</coordinates></Point></Placemark></Folder>
    <Folder><name>Ghi chú</name><Placemark><name>x</name><Point><coordinates>103.96,10.22,0</coordinates></Point>
    </Placemark></Folder></Document></kml>"""
    with pytest.warns(RepairWarning, match="dropped Z values"):  # Google Earth writes altitude 0
        layers = read_upload("phu_quoc.kml", kml.encode())
    assert list(layers) == ["poles"] and list(layers["poles"]["owner"]) == ["power"]
