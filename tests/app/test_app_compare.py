"""Compare: differences by year from the BOQ, and a feature's change written for a reader."""

from __future__ import annotations

import pandas as pd

from gisplan.workflow.compare import feature_change_text, phase_differences


def test_work_moved_between_years_shows_by_year_with_a_zero_total() -> None:
    boq_phases = pd.DataFrame(
        {
            "item_code": ["TR.1", "TR.1", "MH.1", "MH.1"],
            "phase": ["2027", "2028", "2027", "2028"],
            "amount_a_vnd": [10_000, 0, 5_000, 0],
            "amount_b_vnd": [4_000, 6_000, 5_000, 0],
        }
    ).assign(amount_delta_vnd=lambda d: d["amount_b_vnd"] - d["amount_a_vnd"])
    got = phase_differences(boq_phases)
    assert got.to_dict("records") == [
        {"phase": "2027", "amount_a_vnd": 15_000, "amount_b_vnd": 9_000, "amount_delta_vnd": -6_000},
        {"phase": "2028", "amount_a_vnd": 0, "amount_b_vnd": 6_000, "amount_delta_vnd": 6_000},
    ]
    assert got["amount_delta_vnd"].sum() == 0


def test_a_feature_change_is_labelled() -> None:
    assert feature_change_text("phase: 2027 -> 2028; geometry moved", "vi") == "Giai đoạn: 2027 → 2028; vị trí thay đổi"
    assert feature_change_text("backhaul: fibre -> radio", "en") == "Backhaul: Fibre → Radio link"
    assert feature_change_text("", "vi") == ""
