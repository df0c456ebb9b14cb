"""Programme targets measured against administrative data (known answers on small tables)."""

from __future__ import annotations

import pandas as pd

from evalkit.reporting import targets_table
from evalkit.reporting.story import target_lines
from evalkit.targets import target_attainment


def _tables() -> dict[str, pd.DataFrame]:
    panel = pd.DataFrame({"community_id": ["a", "b", "c", "a", "b", "c"], "year": [2023] * 3 + [2024] * 3,
                          "social_orgs": [1, 1, 1, 9, 8, 5]})
    requests = pd.DataFrame({
        "community_id": ["a", "a", "b", "b", "c", "c", "c"],
        "received_at": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-05-01", "2023-05-01", "2024-02-01",
                                       "2024-02-02", "2024-02-03"]),
        "resolved_at": pd.to_datetime(["2024-01-05", None, "2024-05-03", None, "2024-02-04", "2024-02-05",
                                       "2024-02-06"]),
    })
    return {"community_panel": panel, "requests": requests}


def test_targets_are_measured_in_the_latest_year():
    a = target_attainment(_tables(), {"social_orgs_per_community": 8, "resolution_rate": 0.9, "budget": 1.0})
    orgs, res, unknown = (a.set_index("target").loc[t] for t in ("social_orgs_per_community", "resolution_rate",
                                                                  "budget"))
    assert (orgs["year"], orgs["value"], orgs["n_met"], orgs["n_communities"]) == (2024, 8.0, 2, 3)
    assert orgs["status"] == "partly_met"  # median 8 reaches 8; community c has 5
    # 2024 requests: a 1/2, b 1/1, c 3/3 → pooled 5/6; the 2023 request of b is not counted
    assert res["value"] == 5 / 6 and res["status"] == "not_met" and (res["n_met"], res["n_communities"]) == (2, 3)
    assert unknown["status"] == "not_measurable" and pd.isna(unknown["value"])
    assert target_attainment({}, {"resolution_rate": 0.9})["status"].tolist() == ["not_measurable"]


def test_targets_reach_the_report_in_words():
    a = target_attainment(_tables(), {"social_orgs_per_community": 8, "resolution_rate": 0.9})
    zh = targets_table(a, "zh").frame
    assert zh["结论"].tolist() == ["总体达成，部分社区未达成", "未达成"]
    assert zh["实际值（全部社区）"].tolist() == ["8.0", "83.3%"] and zh["目标值"].tolist() == ["≥ 8", "≥ 90.0%"]
    lines = target_lines(a, "en")
    assert lines[0].startswith("**Social organisations per community: met overall, but 1 community falls short**")
    assert "83.3% in 2024, target ≥ 90%; 1 community below it" in lines[1]
