"""by_unique gives exactly fn(series); numbers_from_text agrees with pd.to_numeric where it accepts.

Known truth: applying an element-wise function once per distinct value and broadcasting
back must equal applying it to every row, whatever the dtype and wherever the NAs are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.intake.vectorised import all_distinct, by_unique, numbers_from_text

N = 30_000
RNG = np.random.default_rng(7)
_words = np.array(["是", "否", " 1", "0 ", "TRUE", "x", "2021/3/1", "2021-02-30", "44470"], dtype=object)
SERIES = {
    "str_with_na": pd.Series(RNG.choice(np.append(_words, None), N), dtype="str"),
    "string_na": pd.Series(RNG.choice(np.append(_words, None), N), dtype="string"),
    "object_mixed": pd.Series(RNG.choice(np.array([1, "a", 2.5, None, "b"], dtype=object), N), dtype=object),
    "int8": pd.Series(RNG.integers(0, 2, N), dtype="int8"),
    "float_nan": pd.Series(np.where(RNG.random(N) < 0.1, np.nan, RNG.integers(0, 5, N).astype(float))),
    "nullable_int": pd.Series(RNG.integers(0, 3, N), dtype="Int64").mask(RNG.random(N) < 0.2),
}
FNS = {
    "strip_lower": lambda u: u.astype("string").str.strip().str.lower(),
    "numbers": lambda u: numbers_from_text(u.astype("string").str.strip()),
    "dates": lambda u: pd.to_datetime(u.astype("string").str.replace("/", "-"), errors="coerce", format="ISO8601"),
    "isna": lambda u: u.isna(),
    "frame": lambda u: pd.DataFrame({"a": u.isna(), "b": u.astype("string").str.len()}),
}


@pytest.mark.parametrize("fn", list(FNS))
@pytest.mark.parametrize("kind", list(SERIES))
def test_by_unique_equals_direct_application(kind, fn):
    s = SERIES[kind].copy()
    s.index = s.index + 100  # a non-default index must be kept
    got, want = by_unique(s, FNS[fn]), FNS[fn](s)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    else:
        pd.testing.assert_series_equal(got, want, check_names=False)


def test_numbers_from_text_matches_to_numeric_on_plain_numbers():
    good = ["12", "-3.5", "+4", "1e3", "2.5E-2", ".5", "7.", "0012"]
    bad = ["", "1,000", "三十", "12岁", "1.2.3", "0x10", "--1", "nan", "inf", None]
    got = numbers_from_text(pd.Series(good + bad, dtype="string"))
    np.testing.assert_array_equal(got.iloc[:len(good)], pd.to_numeric(pd.Series(good)).astype(float))
    assert got.iloc[len(good):].isna().all()
    # the one-cast path for clean columns gives the same numbers
    clean = numbers_from_text(pd.Series(good[:4] + [None], dtype="string"))
    np.testing.assert_array_equal(clean.iloc[:4], got.iloc[:4])
    assert np.isnan(clean.iloc[4])
    assert np.isnan(numbers_from_text(pd.Series(["nan", "1"], dtype="string")).iloc[0])  # not a plain number
    assert numbers_from_text(pd.Series([" 1,234.5 ", "2"], dtype="string"), thousands=",").tolist() == [1234.5, 2.0]


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_all_distinct_agrees_with_counting(dtype):
    ids = pd.Series([f"R{i}" for i in RNG.permutation(5000)], dtype=dtype)
    assert all_distinct(ids)
    with_na = ids.copy()
    with_na.iloc[[3, 9]] = None  # missing values are not duplicates
    assert all_distinct(with_na)
    dup = ids.copy()
    dup.iloc[4000] = dup.iloc[17]
    assert not all_distinct(dup)
    assert all_distinct(ids.iloc[:1]) and all_distinct(ids.iloc[:0])


@pytest.mark.parametrize("dtype", ["int8", "float64", "Int64"])
def test_numeric_yes_no_columns_convert_as_their_text_would(dtype):
    """validate's numeric shortcut for 0/1 flags gives what the text path gives for the same cells."""
    from evalkit.intake import validate

    values = pd.Series([1, 0, 2, 1, 0, -1] * 3000, dtype=dtype)
    if dtype != "int8":
        values.iloc[[5, 7]] = None
    ctx = validate._Ctx.__new__(validate._Ctx)
    problems = []
    ctx.add = lambda *a, **k: problems.append(a)  # collect instead of logging
    blank = values.isna()
    col = validate.ColumnSpec("actor_volunteer", "bool", "志愿者参与", "volunteers")
    got = validate._to_bool(values, blank, col, np.arange(len(values)) + 2, ctx)
    as_text = values.astype("string").str.replace(r"\.0$", "", regex=True)
    want = validate._bool_values(as_text)
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert len(problems) == 1 and problems[0][0] == "bad_bool"
