"""The cost catalog: every line priced with a source, overrides validated, bad files reported completely."""

from __future__ import annotations

import pytest
import yaml

from gisplan._errors import CatalogError
from gisplan.catalog._catalog import CATEGORIES, ROAD_CLASSES, SURFACES, load_catalog


def test_default_catalog_is_complete_and_sourced():
    cat = load_catalog()
    for code, item in cat.items.items():
        assert isinstance(item.price_vnd, int) and item.price_vnd >= 0, code
        assert item.source.strip(), f"{code} has no source or stated assumption"
        assert item.description_vi.strip() and item.description_en.strip(), code
        assert item.category in CATEGORIES
    for s in SURFACES:
        for c in ROAD_CLASSES:
            assert cat.trench_cost_per_m(s, c) > 0
    # paved streets cost more to dig than earth tracks
    assert cat.trench_cost_per_m("asphalt", "national") > cat.trench_cost_per_m("earth", "track")
    assert 0 < cat.duct_reuse_cost_per_m < cat.trench_cost_per_m("earth", "track")
    assert set(cat.ap_profiles) >= {"outdoor_2g4", "sector_5g"}


def test_cable_codes_round_up_to_stocked_sizes():
    cat = load_catalog()
    assert cat.cable_code("fibre", 12) == "CAB.FO12"
    assert cat.cable_code("fibre", 30) == "CAB.FO48"
    assert cat.cable_code("copper") == "CAB.CU"
    with pytest.raises(CatalogError, match="288"):
        cat.cable_code("fibre", 1000)


def test_overrides_change_prices_and_digest():
    cat = load_catalog()
    new = cat.with_overrides({"prices": {"MH.STD": 20_000_000}, "params": {"manhole_spacing_m": 150}})
    assert new.price("MH.STD") == 20_000_000 and cat.price("MH.STD") == 18_000_000
    assert new.param("manhole_spacing_m") == 150
    assert new.digest != cat.digest
    assert "override" in new.item("MH.STD").source


def test_unknown_override_names_the_nearest_code():
    with pytest.raises(CatalogError) as exc:
        load_catalog().with_overrides({"prices": {"MH.STX": 1}, "parms": {}})
    text = str(exc.value)
    assert "'MH.STD'" in text and "'params'" in text


def test_bad_catalog_file_lists_every_problem(tmp_path):
    from importlib import resources

    raw = yaml.safe_load(resources.files("gisplan.catalog").joinpath("catalog.yaml").read_text(encoding="utf-8"))
    raw["items"][0]["price_vnd"] = -5
    raw["items"][1]["category"] = "magic"
    del raw["params"]["contingency_share"]
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(CatalogError) as exc:
        load_catalog(path)
    cols = {(p.row, p.column) for p in exc.value.problems}
    assert ("TR.ASPHALT", "price_vnd") in cols
    assert ("TR.CONCRETE", "category") in cols
    assert (None, "contingency_share") in cols


def test_override_with_non_integer_price_is_refused():
    with pytest.raises(CatalogError, match="whole number"):
        load_catalog().with_overrides({"prices": {"MH.STD": 1.5}})
