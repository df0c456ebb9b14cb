"""The impact report's target table and recommendations, from target facts known in advance.

The facts have the columns of :func:`evalkit.programme.targets.attainment_overview` (what
:func:`evalkit.target_attainment` returns); every cell and sentence is checked against them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.programme.targets import attainment_overview
from evalkit.reporting import targets_table
from evalkit.reporting.story import target_lines


def _facts() -> pd.DataFrame:
    return pd.DataFrame({
        "framework": ["config"] * 4,
        "indicator": ["social_orgs_per_community", "resolution_rate", "satisfaction_rate", "budget"],
        "metric": ["social_orgs", "share_resolved", "share_satisfied", "budget"],
        "threshold": [8.0, 0.9, 0.95, 1.0], "direction": ["at_least"] * 4,
        "year": [2024.0, 2024.0, 2024.0, 2024.0], "value": [8.0, 5 / 6, 0.5, np.nan],
        "summary": ["median", "pooled_share", "pooled_share", "median"],
        "n_communities": [3, 3, 3, 3], "n_with_data": [3, 3, 2, 0], "n_met": [2, 2, 0, 0],
        "status": ["partly_met", "partly_met", "not_met", "no_data"],
        "reason": ["", "", "", "unknown_target_key"],
        "source": ["community_panel", "requests", "requests", ""],
    })


def test_facts_have_the_overview_columns():
    assert list(_facts().columns) == list(attainment_overview(pd.DataFrame(columns=["framework", "indicator"]),
                                                              []).columns)


def test_targets_reach_the_table_in_words():
    zh = targets_table(_facts(), "zh").frame
    assert zh["结论"].tolist() == ["部分社区达成", "部分社区达成", "没有社区达成", "无法评估（无法识别的目标名称）"]
    assert zh["实际值（全部社区）"].tolist() == ["8.0", "83.3%", "50.0%", "—"]
    assert zh["目标值"].tolist() == ["≥ 8", "≥ 90%", "≥ 95%", "≥ 1"]
    assert zh["达标社区数"].tolist() == ["2 / 3", "2 / 3", "0 / 2（另 1 个无数据）", "—"]
    en = targets_table(_facts(), "en")
    assert en.frame["Verdict"].tolist()[-1] == "cannot be assessed (unknown target name)"
    assert en.frame["Target"].tolist()[:3] == ["Social organisations per community",
                                               "Share of residents' requests resolved", "Share of residents satisfied"]
    assert en.n == "3 communities"


def test_targets_reach_the_recommendations():
    lines = target_lines(_facts(), "en")
    assert lines[0].startswith("**Social organisations per community: 1 community falls short** "
                               "(2 of 3 met it in 2024; target ≥ 8, 8.0 over all communities)")
    assert "target ≥ 90%, 83.3% over all communities" in lines[1]
    assert lines[2].startswith("**Share of residents satisfied: target not met** (no community reached it in 2024")
    assert lines[3].startswith("**budget cannot be assessed** (unknown target name)")
    zh = target_lines(_facts(), "zh")
    assert zh[0].startswith("**每社区社会组织数（个）：1 个社区未达标**（2024 年 2 / 3 个社区达标，目标 ≥ 8，全部社区合计 8.0）")
    assert len(zh) == 4
    assert target_lines(_facts().iloc[0:0], "zh") == [] and target_lines(None, "en") == []
