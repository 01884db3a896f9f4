"""BOQ building through the catalog: aggregation, whole-VND amounts rounded like Excel, contingency per group."""

from __future__ import annotations

import pytest

from gisplan._errors import CatalogError
from gisplan.catalog._catalog import load_catalog
from gisplan.catalog.costing import add_contingency, boq_frame, boq_line, boq_totals
from gisplan.plan import BOQ_COLUMNS

CAT = load_catalog()


def test_lines_of_one_item_and_group_are_summed_and_priced():
    boq = boq_frame(
        [
            boq_line(CAT, "TR.ASPHALT", 100.0, phase="2027", commune="Dương Đông"),
            boq_line(CAT, "TR.ASPHALT", 20.5, phase="2027", commune="Dương Đông"),
            boq_line(CAT, "TR.ASPHALT", 7.0, phase="2028", commune="Dương Đông"),
            boq_line(CAT, "MH.STD", 0.0, phase="2027"),  # zero lines are dropped
        ]
    )
    assert list(boq.columns) == list(BOQ_COLUMNS)
    assert boq[["phase", "quantity"]].values.tolist() == [["2027", 120.5], ["2028", 7.0]]
    assert boq["amount_vnd"].tolist() == [120.5 * 650_000, 7 * 650_000]
    assert str(boq["amount_vnd"].dtype) == "int64"


def test_halves_round_away_from_zero_like_excel():
    # halves need a price of 1 VND/m: override one (2.5 and 3.5 are exact in binary floating point)
    cat = CAT.with_overrides({"prices": {"AERIAL.REMOVE": 1}})
    boq = boq_frame([boq_line(cat, "AERIAL.REMOVE", 2.5), boq_line(cat, "AERIAL.REMOVE", 3.5, phase="b")])
    assert boq["amount_vnd"].tolist() == [3, 4]  # Python's round() would give 2 and 4 (halves to even)


def test_contingency_is_a_percentage_line_per_group_and_totals_add_up():
    boq = boq_frame(
        [
            boq_line(CAT, "TR.EARTH", 100.0, phase="2027", commune="A"),
            boq_line(CAT, "TR.EARTH", 50.0, phase="2027", commune="B"),
            boq_line(CAT, "MH.STD", 1, phase="2028", commune="A"),
        ]
    )
    out = add_contingency(boq, CAT)
    cont = out[out["item_code"] == "CONTINGENCY"]
    assert len(cont) == 3 and set(cont["unit"]) == {"%"} and set(cont["quantity"]) == {10.0}
    a2027 = cont[(cont["phase"] == "2027") & (cont["commune"] == "A")].iloc[0]
    assert a2027["unit_price_vnd"] == 250_000  # 1 % of 25,000,000
    assert a2027["amount_vnd"] == 2_500_000
    totals = boq_totals(out, ("phase",))
    assert int(totals["amount_vnd"].sum()) == int(out["amount_vnd"].sum())
    assert add_contingency(boq, CAT, share=0.0).equals(boq)


def test_bad_quantities_and_codes_are_refused():
    with pytest.raises(CatalogError, match="finite"):
        boq_line(CAT, "MH.STD", -1)
    with pytest.raises(CatalogError, match=r"MH\.STD"):
        boq_line(CAT, "MH.STX", 1)
