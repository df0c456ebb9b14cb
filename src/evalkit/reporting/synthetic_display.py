"""Words for the synthetic designs' diagnostics (reason codes → zh / en sentences).

Formats only; the codes and numbers come from :mod:`evalkit.designs.synthetic`.
"""

from __future__ import annotations

from typing import Any

from evalkit.reporting.text import lang_code

__all__ = ["DIAGNOSTIC_TEXT", "diagnostic_lines"]

#: code → (zh, en); fields {value} and {threshold} are filled from the diagnostics table
DIAGNOSTIC_TEXT: dict[str, tuple[str, str]] = {
    "few_pre_periods": (
        "注意：试点启动前只有 {value:.0f} 期数据（建议至少 {threshold:.0f} 期），事前拟合难以说明合成对照的可信度。",
        "Caution: only {value:.0f} periods before the start (at least {threshold:.0f} advised); the pre-period "
        "fit says little about the synthetic comparison.",
    ),
    "outside_hull": (
        "注意：在 {value:.0%} 的事前时期，试点社区高于或低于所有对照社区，任何加权平均都无法贴合。",
        "Caution: in {value:.0%} of the pre-periods the pilot lies above or below every comparison community; "
        "no weighted average can follow it there.",
    ),
    "poor_pre_fit": (
        "注意：事前拟合误差（RMSPE {value:.3f}）大于试点社区事前结果的标准差（{threshold:.3f}），合成对照拟合不佳。",
        "Caution: the pre-period fit error (RMSPE {value:.3f}) exceeds the standard deviation of the pilot's "
        "pre-period outcomes ({threshold:.3f}); the synthetic comparison fits poorly.",
    ),
    "p_value_floor": (
        "注意：置换检验最小可能的 p 值为 {value:.3f}，高于显著性水平 {threshold:.2f}；对照社区太少，无论效应多大都无法判定显著。",
        "Caution: the smallest attainable permutation p-value is {value:.3f}, above alpha = {threshold:.2f}; with "
        "this few comparison communities no effect can be declared significant by the placebo test.",
    ),
    "few_placebos": (
        "注意：标准误只来自 {value:.0f} 种不同的安慰剂分配（建议至少 {threshold:.0f} 种），区间和 p 值较粗略。",
        "Caution: the SE rests on only {value:.0f} distinct placebo assignments (at least {threshold:.0f} advised); "
        "the interval and p-value are rough.",
    ),
}


def diagnostic_lines(result: Any, *, lang: str = "zh") -> list[str]:
    """One sentence per flagged diagnostic of a synthetic-design result, in ``lang``."""
    diag = result.tables.get("diagnostics")
    if diag is None or diag.empty:
        return []
    i = 0 if lang_code(lang) == "zh" else 1
    return [DIAGNOSTIC_TEXT[r.code][i].format(value=r.value, threshold=r.threshold)
            for r in diag.itertuples(index=False) if bool(r.flagged) and r.code in DIAGNOSTIC_TEXT]
