"""Field-team checks against references and planted truth.

* item-rest correlations: ``psych::alpha(...)$item.stats$r.drop`` on psych's ``bfi``
  Agreeableness items (tests/reference/quality/, R 4.2.2, psych 2.2.9), rtol 1e-10; A1 is the
  item psych's own scoring key reverses (``bfi.keys``: "-A1"), so exactly A1 must be flagged;
* GB 11643-1999: its published example number is valid, and every single-digit change of it is
  caught (the MOD 11-2 check digit detects all single substitutions);
* speeding, straight-lining, duplicates, minors: simulated files with planted rows; exactly
  the planted rows are flagged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.codebook import Codebook, Variable
from evalkit.intake.quality import (
    QualitySettings,
    item_rest_correlations,
    parse_duration_seconds,
    run_quality_checks,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "quality"
EXAMPLE_ID = "11010519491231002X"  # GB 11643-1999, the standard's example


def _codebook(names, reverse=()):
    return Codebook(variables=tuple(Variable(n, n, construct="gain", scale_min=1, scale_max=6, reverse=n in reverse)
                                    for n in names))


def test_item_rest_correlations_match_psych_alpha_r_drop():
    x = pd.read_csv(REF / "bfi_agreeableness.csv")
    ref = pd.read_csv(REF / "bfi_agreeableness_r_drop.csv")
    np.testing.assert_allclose(item_rest_correlations(x.to_numpy()), ref["r_drop"].to_numpy(), rtol=1e-10)


@pytest.mark.parametrize(("reverse", "flagged"), [((), {"A1"}), (("A1",), set())])
def test_reverse_keyed_item_is_flagged_unless_declared(reverse, flagged):
    x = pd.read_csv(REF / "bfi_agreeableness.csv")
    problems = run_quality_checks(x, rows=np.arange(2, len(x) + 2), files="bfi.csv",
                                  codebook=_codebook(list(x.columns), reverse))
    got = {p.column for p in problems if p.check == "reversed_item"}
    assert got == flagged
    if flagged:
        (p,) = [p for p in problems if p.check == "reversed_item"]
        assert "item-rest r = -0.31" in p.message and "bfi.csv" in p.message


def test_durations_in_the_ways_platforms_write_them():
    got = parse_duration_seconds(pd.Series(["356秒", "5分56秒", "00:05:56", "1小时2分", "120", None, "很快"]))
    assert got.iloc[:5].tolist() == [356, 356, 356, 3720, 120]
    assert got.iloc[5:].isna().all()


def _survey(n=50, seed=1):
    """Answers around a random level, rotating −1/0/+1 over the items: no row answers all alike."""
    rng = np.random.default_rng(seed)
    level = rng.integers(1, 6, n)
    items = {f"q{j}": np.clip(level + (np.arange(n) + j) % 3 - 1, 1, 5).astype(float) for j in range(1, 6)}
    return pd.DataFrame({"respondent_id": [f"R{i}" for i in range(n)], "wave": 1,
                         "age": 18 + np.arange(n), **items})


def test_planted_speeders_straightliners_minors_and_duplicates_are_exactly_the_flagged_rows():
    df = _survey()
    items = [f"q{j}" for j in range(1, 6)]
    df.loc[[7, 19], items] = 4.0
    df.loc[[7, 19], "age"] = [40, 41]
    df.loc[[3, 30], "age"] = [15, 17]
    df.loc[44] = df.loc[12]
    df.loc[44, "respondent_id"] = "R_dup"
    raw = pd.DataFrame({"所用时间": [f"{600 + i}秒" for i in range(len(df))]})
    raw.loc[[5, 25], "所用时间"] = ["90秒", "1分40秒"]  # below 1/3 of the median (~625 s)
    rows = np.arange(2, len(df) + 2)
    cb = Codebook(variables=tuple(Variable(c, c, construct="gain", scale_min=1, scale_max=5) for c in items))
    problems = run_quality_checks(df, rows=rows, files="s.csv", raw=raw, codebook=cb,
                                  settings=QualitySettings(min_age=18))
    by = {p.check: set(p.rows) for p in problems}
    assert by["speeding"] == {7, 27}
    assert by["straight_lining"] == {9, 21}
    assert by["minor"] == {5, 32}
    assert by["duplicate_exact"] == {14, 46}


def test_gb11643_example_is_valid_and_every_single_digit_change_is_caught():
    cols = {"身份证号": [EXAMPLE_ID]}
    for pos in range(17):
        for d in "0123456789":
            if d != EXAMPLE_ID[pos]:
                cols["身份证号"].append(EXAMPLE_ID[:pos] + d + EXAMPLE_ID[pos + 1:])
    raw = pd.DataFrame(cols)
    survey = pd.DataFrame({"respondent_id": [f"R{i}" for i in range(len(raw))]})
    problems = run_quality_checks(survey, rows=np.arange(2, len(raw) + 2), files="ids.csv", raw=raw)
    (p,) = problems
    assert p.check == "id_number_invalid" and 2 not in p.rows  # the example itself passes
    assert f"{len(raw) - 1} ID number(s) are invalid: a wrong check digit" in p.message  # all 153 changes
    text = " ".join(p.message + " ".join(p.values) for p in problems)
    assert EXAMPLE_ID[:17] not in text and "19491231" not in text


ODD_COLUMNS = {
    "empty": pd.Series([None] * 6, dtype=object),
    "all_na_float": pd.Series([np.nan] * 6),
    "bools": pd.Series([True, False] * 3),
    "nullable_int": pd.Series([1, None, 3, 4, None, 6], dtype="Int64"),
    "mixed_objects": pd.Series([1, "a", 2.5, None, pd.Timestamp("2023-01-01"), "4.3E+17"], dtype=object),
    "datetimes": pd.Series(pd.date_range("2023-01-01", periods=6)),
    "text": pd.Series(["", " ", "x", "年", "2023年2月30日", "1/2/2023"], dtype="str"),
}


@pytest.mark.parametrize("kind", list(ODD_COLUMNS))
def test_odd_columns_never_crash_the_checks(kind):
    """Whatever a field file holds in the columns the checks read, they report, never raise."""
    col = ODD_COLUMNS[kind]
    names = ["所用时间", "身份证号", "出生年份", "社区名称", "提交答卷时间", "开始答题时间", "age", "q1"]
    raw = pd.DataFrame({n: col.copy() for n in names})
    survey = pd.DataFrame({"respondent_id": [f"R{i}" for i in range(6)], "community_id": "0012", "wave": 1,
                           "age": col if kind in ("nullable_int", "all_na_float") else 30,
                           **{f"q{j}": col if kind in ("nullable_int", "all_na_float") else 3.0 for j in range(1, 6)}})
    cb = Codebook(variables=tuple(Variable(f"q{j}", f"q{j}", construct="gain", scale_min=1, scale_max=5,
                                           value_labels={1: "a", 5: "e"}) for j in range(1, 6)))
    registry = pd.DataFrame({"community_id": ["0012"], "community_name": ["东湖社区"]})
    problems = run_quality_checks(survey, rows=np.arange(2, 8), files="odd.csv", raw=raw, registry=registry,
                                  codebook=cb, settings=QualitySettings(min_age=18, min_seconds=60))
    assert all(p.file == "odd.csv" for p in problems)
