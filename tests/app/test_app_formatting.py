"""One number and date format, by language, from Babel's CLDR locales (values written out by hand here)."""

from __future__ import annotations

import pandas as pd
import pytest

from gisplan.outputs import formatting as fmt


def test_money_lengths_counts_and_shares_in_vietnamese_and_english() -> None:
    assert fmt.vnd(6_788_298_916, "vi") == "6.788.298.916 đ"
    assert fmt.vnd(6_788_298_916, "en") == "6,788,298,916 VND"
    assert fmt.km(3.7412, "vi") == "3,74 km" and fmt.km(3.7412, "en") == "3.74 km"
    assert fmt.km(4.559, "en") == "4.56 km"  # never "4,559" in English
    assert fmt.number(53981, "vi") == "53.981" and fmt.number(53981, "en") == "53,981"
    assert fmt.billions(21_385_604_192, "vi") == "21,39" and fmt.billions(21_385_604_192, "en") == "21.39"
    assert fmt.percent(0.0123, "vi") == "1,2%" and fmt.percent(0.0123, "en") == "1.2%"
    assert fmt.number(float("nan"), "vi") == "–"
    with pytest.raises(ValueError, match="unknown language"):
        fmt.number(1, "fr")


def test_kpis_by_unit_and_years_as_written() -> None:
    assert fmt.kpi_value("cost_vnd", 6_788_298_916, "vi") == "6.788.298.916 đ"
    assert fmt.kpi_value("trench_km", 3.74, "vi") == "3,74 km"
    assert fmt.kpi_value("first_year", 2027, "vi") == "2027"
    assert fmt.kpi_value("steiner_gap", 0.015, "en") == "1.5%"
    assert fmt.kpi_value("n_sites", 1234, "vi") == "1.234"
    assert fmt.kpi_value("steiner_method", "exact", "vi") == "exact"


def test_times_are_shown_in_vietnam_time() -> None:
    assert fmt.when("2026-11-29T13:00:02Z", "vi") == "20:00 29/11/2026"
    assert fmt.when("2026-11-29T20:30:00+00:00", "en") == "Nov 30, 2026, 3:30 AM"  # the next day in Vietnam


def test_tables_get_text_numbers_in_the_language() -> None:
    df = pd.DataFrame({"phase": [2027], "trench_km": [4.5591], "amount_vnd": [18_000_000], "name": ["Dương Đông"]})
    vi = fmt.frame_text(df, "vi")
    assert vi.iloc[0].tolist() == ["2027", "4,559", "18.000.000", "Dương Đông"]
    assert fmt.frame_text(df, "en").iloc[0].tolist() == ["2027", "4.559", "18,000,000", "Dương Đông"]
    assert df["trench_km"].iloc[0] == 4.5591  # the input is not modified


def test_chart_number_locale_follows_babel() -> None:
    assert fmt.vega_number_locale("vi")["decimal"] == "," and fmt.vega_number_locale("vi")["thousands"] == "."
    assert fmt.vega_number_locale("en")["decimal"] == "." and fmt.vega_number_locale("en")["thousands"] == ","
