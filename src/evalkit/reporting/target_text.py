"""Targets in words: names, thresholds, values, verdicts and the reasons a target cannot be assessed.

Formats only; the evaluation is :mod:`evalkit.programme.targets`. Shared by the impact report's
target table (:mod:`evalkit.reporting.impact_display`) and the story's target sentences
(:mod:`evalkit.reporting.story`).
"""

from __future__ import annotations

from typing import Any

from evalkit.reporting.tables import fmt_num, fmt_share
from evalkit.reporting.vocab import has_word, lang_code, word

__all__ = ["target_label", "target_reason_text", "target_status_text", "target_threshold_text",
           "target_value_text"]

_DIRECTION = {"at_least": "≥", "at_most": "≤", "above": ">", "below": "<"}


def target_value_text(x: Any, summary: str) -> str:
    """A target's value, one decimal: a percentage for a share of records (``summary``
    ``pooled_share``), else a number."""
    return fmt_share(x) if summary == "pooled_share" else fmt_num(x, 1)


def target_threshold_text(direction: str, threshold: float, summary: str) -> str:
    """The threshold as set, with its direction: ``≥ 8``, ``≥ 90%``."""
    value = f"{100 * float(threshold):g}%" if summary == "pooled_share" else f"{float(threshold):g}"
    return f"{_DIRECTION[direction]} {value}"


def target_label(indicator: str, lang: str) -> str:
    """A config target's name in words (the key itself when the vocabulary has none)."""
    return word(f"target.{indicator}", lang) if has_word(f"target.{indicator}") else indicator


def target_reason_text(reason: str, lang: str) -> str:
    """Why a target cannot be assessed (``unknown_target_key``, ``metric_not_in_data``, ...)."""
    return word(f"target_reason.{reason}", lang) if has_word(f"target_reason.{reason}") else reason


def target_status_text(status: str, reason: str, lang: str) -> str:
    """The verdict in words; a target without data says why (e.g. an unknown key)."""
    text = word(f"status.{status}", lang)
    if status == "no_data" and reason:
        why = target_reason_text(reason, lang)
        text += f"（{why}）" if lang_code(lang) == "zh" else f" ({why})"
    return text
