"""Scoring: reverse coding, leftover missing codes, partial-response rule, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.codebook import Codebook, Variable
from evalkit.errors import CodebookError, DataValidationError, MissingColumnError
from evalkit.scales import item_frame, score


def _codebook() -> Codebook:
    return Codebook((
        Variable("b_1", "B1", construct="belonging", scale_min=1, scale_max=5, missing_codes={9: "拒答"}),
        Variable("b_2", "B2", construct="belonging", scale_min=1, scale_max=5, reverse=True),
        Variable("b_3", "B3", construct="belonging", scale_min=1, scale_max=5),
        Variable("p_1", "P1", construct="participation", scale_min=0, scale_max=1),
        Variable("p_2", "P2", construct="participation", scale_min=0, scale_max=1),
    ))


def _data() -> pd.DataFrame:
    return pd.DataFrame({
        "respondent_id": ["r1", "r2", "r3", "r4"],
        "wave": [1, 1, 2, 2],
        "b_1": [5, 4, np.nan, 9],
        "b_2": [1, 2, np.nan, 5],
        "b_3": [4, np.nan, np.nan, 1],
        "p_1": [1, 0, 1, np.nan],
        "p_2": [1, 0, 0, np.nan],
    })


def test_reverse_coding_uses_scale_min_plus_max() -> None:
    items = item_frame(_data(), _codebook(), "belonging")
    assert items["b_2"].tolist()[:2] == [5.0, 4.0]  # 1 + 5 - x
    assert items["b_1"].tolist()[:2] == [5.0, 4.0]  # not reversed


def test_leftover_missing_code_becomes_na() -> None:
    items = item_frame(_data(), _codebook(), "belonging")
    assert np.isnan(items.loc[3, "b_1"])


def test_mean_score_with_half_rule() -> None:
    out = score(_data(), _codebook())
    # r1: (5 + 5 + 4)/3; r2: (4 + 4)/2 (2 of 3 answered ≥ ceil(3/2)=2); r3: none; r4: b_1 is a missing code → (1 + 1)/2
    assert out["belonging"].tolist()[:2] == pytest.approx([14 / 3, 4.0])
    assert np.isnan(out["belonging"].iloc[2])
    assert out["belonging"].iloc[3] == pytest.approx(1.0)
    assert out["participation"].tolist()[:3] == pytest.approx([1.0, 0.0, 0.5])


def test_min_items_per_construct() -> None:
    out = score(_data(), _codebook(), min_items={"belonging": 3})
    assert out["belonging"].notna().tolist() == [True, False, False, False]


def test_min_share_from_config() -> None:
    """study.yaml scoring: min_items_answered: 0.7 → ceil(0.7 · 3) = 3 of 3 belonging items, 2 of 2 participation."""
    out = score(_data(), _codebook(), min_share=0.7)
    assert out["belonging"].notna().tolist() == [True, False, False, False]
    assert out["participation"].notna().tolist() == [True, True, True, False]
    half = score(_data(), _codebook(), min_share=0.5)
    pd.testing.assert_frame_equal(half, score(_data(), _codebook()))
    with pytest.raises(ValueError, match="not both"):
        score(_data(), _codebook(), min_items=1, min_share=0.5)
    with pytest.raises(ValueError, match=r"min_share=1.5 must be a share in \(0, 1\]"):
        score(_data(), _codebook(), min_share=1.5)


def test_sum_score_is_prorated() -> None:
    out = score(_data(), _codebook(), method="sum")
    assert out["belonging"].iloc[1] == pytest.approx(12.0)  # mean 4 × 3 items


def test_z_score_against_reference_wave() -> None:
    data = _data()
    out = score(data, _codebook(), method="z", reference={"wave": 1}, constructs=["belonging"])
    ref = score(data, _codebook(), constructs=["belonging"])["belonging"][data.wave == 1]
    expected = (14 / 3 - ref.mean()) / ref.std(ddof=1)
    assert out["belonging"].iloc[0] == pytest.approx(expected)
    assert out["belonging"][data.wave == 1].mean() == pytest.approx(0.0)


def test_input_not_modified() -> None:
    data = _data()
    before = data.copy()
    score(data, _codebook())
    pd.testing.assert_frame_equal(data, before)


def test_out_of_range_value_names_column_and_respondent() -> None:
    data = _data()
    data.loc[1, "b_3"] = 7
    with pytest.raises(DataValidationError, match=r"column 'b_3'.*outside the scale 1–5.*respondent_id r2.*values 7"):
        score(data, _codebook())


def test_missing_item_column_lists_all() -> None:
    with pytest.raises(MissingColumnError, match=r"'b_2', 'b_3'"):
        score(_data().drop(columns=["b_2", "b_3"]), _codebook())


def test_unknown_construct_and_bad_method() -> None:
    with pytest.raises(CodebookError, match="construct 'gain' has no scored items"):
        score(_data(), _codebook(), constructs=["gain"])
    with pytest.raises(ValueError, match="method='median'.*'mean', 'sum', 'z'"):
        score(_data(), _codebook(), method="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_items for construct 'belonging' is 4"):
        score(_data(), _codebook(), min_items=4)
