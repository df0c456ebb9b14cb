"""Masking, pseudonyms and detectors of personal data."""

from __future__ import annotations

import pandas as pd

from evalkit.privacy import looks_personal, mask, pseudonymise, valid_id_number

# A syntactically valid 18-digit ID number (check digit computed by MOD 11-2); fictitious.
ID = "11010519491231002X"


def test_id_check_digit():
    assert valid_id_number(ID)
    assert not valid_id_number(ID[:-1] + "1")
    assert not valid_id_number("12345")


def test_mask_keeps_only_what_identifies_the_kind():
    assert mask("13912345678") == "139****5678"
    assert mask(ID) == "110***********002X"
    assert mask("张三丰") == "张**"
    assert "12345678" not in mask("13912345678")


def test_pseudonyms_are_keyed_stable_and_not_reversible():
    s = pd.Series([ID, ID.lower(), None, "13912345678"])
    a = pseudonymise(s, b"key-1")
    b = pseudonymise(s, b"key-1")
    c = pseudonymise(s, b"key-2")
    assert a.equals(b)
    assert a[0] == a[1]  # case-insensitive X
    assert pd.isna(a[2])
    assert a[0] != c[0]
    assert ID not in "".join(a.dropna())


def test_detects_personal_columns():
    assert "ID" in looks_personal(pd.Series([ID] * 5 + ["x"]))
    assert "mobile" in looks_personal(pd.Series(["13912345678", "15800001111"]))
    assert looks_personal(pd.Series(["很好", "一般"])) is None
