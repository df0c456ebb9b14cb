"""Every reason code and finding kind has words in both report languages."""

from __future__ import annotations

import pytest

from evalkit.audit import FindingKind
from evalkit.disclosure import SuppressionReason
from evalkit.reporting.disclosure_labels import finding_label, reason_label, suppression_note


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_code_has_a_label(lang):
    for code in SuppressionReason:
        assert reason_label(code, lang, min_count=10)
    for kind in FindingKind:
        assert finding_label(kind, lang)


def test_suppression_note_orders_and_fills_threshold():
    assert suppression_note(["secondary", "small_count"], "zh", min_count=10) == (
        "注：“—”表示样本少于10人，不予公布；为防止由合计反推而隐藏。")
    assert suppression_note([], "en") == ""
    assert "fewer than 5 contributors" in suppression_note({"small_count"}, "en", min_count=5)
