"""The report's words: vocabulary, number formats, tables, executive summary, recommendations, narrative files.

The impact report here is built from known facts (``conftest.known_impact_report``), so every
sentence and cell can be checked against the number it must show.
"""

from __future__ import annotations

import re

import pytest

from evalkit.reporting import (
    ReportDocument,
    caveat_sentences,
    data_quality_table,
    impact_recommendations,
    impact_summary,
    impact_table,
    measurement_recommendations,
    measurement_summary,
    measurement_table,
)
from evalkit.reporting.blocks import block_html
from evalkit.reporting.narrative import NarrativeSource
from evalkit.reporting.tables import fmt_bool, fmt_ci, fmt_num, fmt_p, sig_marks
from evalkit.reporting.vocab import VOCAB, word

IMPACT_TABLES = ["design", "balance", "main", "robustness", "subgroups", "many_outcomes"]
MEASUREMENT_TABLES = ["overview", "items", "efa", "weights", "means", "icc"]
#: What a funder must never read: code terms, Python literals, English column codes.
CODE_TERMS = re.compile(
    r"treat:post|never_treated|not_yet_treated|multiplier_bootstrap|wild_bootstrap|n_missing|share_missing"
    r"|\bTrue\b|\bFalse\b|\bNaN\b|\bNone\b|\bnan\b|CS, |\b[a-z]+_[a-z]+(?:_[a-z]+)*\b"
)
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")


def _text(doc: ReportDocument) -> str:
    return "\n".join(block_html(b) for b in doc.blocks if b["kind"] != "figure")


# ---- vocabulary and formats --------------------------------------------------------------


def test_vocabulary_has_the_same_keys_in_both_languages_and_refuses_unknown_codes():
    assert set(VOCAB["zh"]) == set(VOCAB["en"])
    assert not [v for k, v in VOCAB["en"].items() if CJK.search(v)]
    with pytest.raises(KeyError, match="method.bogus"):
        word("method.bogus", "zh")


def test_number_formats():
    assert fmt_ci(0.28418, 0.23617, 0.33220) == "0.28 [0.24, 0.33]"
    assert fmt_ci(-0.0506, -0.1193, 0.0181) == "−0.05 [−0.12, 0.02]"  # true minus sign
    assert fmt_ci(0.2, float("nan"), 0.3) == "0.20"  # no interval → no brackets, never "[nan, …]"
    assert fmt_num(-0.0004) == "0.00"  # no "−0.00"
    assert [fmt_p(p) for p in (0.0004, 0.0123, float("nan"))] == ["<0.001", "0.012", "—"]
    assert [sig_marks(p) for p in (0.0009, 0.009, 0.049, 0.05, None)] == ["***", "**", "*", "", ""]
    assert (fmt_bool(True, "zh"), fmt_bool(False, "zh"), fmt_bool(True, "en")) == ("是", "否", "yes")


# ---- tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", IMPACT_TABLES)
def test_impact_tables_speak_one_language_and_state_weighting(demo_study, impact_report, name, lang):
    table = impact_table(impact_report, demo_study, name, lang, refer_to=3)
    block = table.to_block()
    text = " ".join([*block["columns"], *(c for row in block["rows"] for c in row), *block["notes"]])
    assert not CODE_TERMS.search(text), CODE_TERMS.search(text)
    if lang == "en":
        assert not CJK.search(text), CJK.findall(text)[:10]
    else:
        assert all(CJK.search(c) or c in {"ICC", "SMD", "p"} for c in block["columns"]), block["columns"]
    weighted = word("weighted.no", lang)
    assert any(weighted.lower() in n.lower() for n in block["notes"])  # every table says whether it is weighted
    assert any(word("sig.legend", lang) == n for n in block["notes"]) == table.significance


def test_main_table_cells_and_warning_next_to_the_number(demo_study, impact_report):
    frame = impact_table(impact_report, demo_study, "main", "zh").frame.set_index("结果")
    assert frame.loc["获得感", "效应 [95% 置信区间]"] == "0.28 [0.24, 0.33] ***"
    assert frame.loc["安全感", "效应 [95% 置信区间]"] == "−0.05 [−0.12, 0.02]"  # p = 0.12: no mark
    assert frame.loc["获得感", "效应 / 基线标准差"] == "0.35"
    assert frame.loc["归属感", "效应 [95% 置信区间]"].endswith("‡")  # failed pre-trend marked at the number
    notes = impact_table(impact_report, demo_study, "main", "zh").note_lines()
    assert any(n.startswith("‡") for n in notes)
    assert "推断：聚类乘数自助法" in notes[0] and "交错双重差分" in notes[0]


def test_subgroup_table_has_counts_adjusted_p_and_readable_groups(demo_study, impact_report):
    frame = impact_table(impact_report, demo_study, "subgroups", "zh").frame
    gain_age = frame[(frame["分组变量"] == "年龄段") & (frame["结果"] == "获得感")]
    assert gain_age["群体"].tolist() == ["60 岁及以上", "60 岁以下", "差异：60 岁以下 − 60 岁及以上"]
    assert gain_age["样本量"].tolist() == ["11,314", "9,000", "—"]
    assert set(gain_age["组间相等检验 p（BH 校正）"]) == {"0.018"}
    en = impact_table(impact_report, demo_study, "subgroups", "en").frame
    assert "difference: men − women" in set(en["Group"])


def test_many_outcomes_table_names_its_different_estimator(demo_study, impact_report):
    table = impact_table(impact_report, demo_study, "many_outcomes", "zh", refer_to=3)
    assert "分批叠加 2×2" in table.method and any("与表 3的社区层面" in n for n in table.notes)
    assert table.frame["结果"].iloc[-1] == "综合指数（Kling–Liebman–Katz 2007，等权）"


def test_weighted_estimates_say_so(demo_study, make_impact_report):
    report = make_impact_report(weights="weight")
    for lang in ("zh", "en"):
        notes = impact_table(report, demo_study, "main", lang).note_lines()
        assert word("weighted.yes", lang).lower() in notes[0].lower()
    assert "估计加权" in impact_summary(report, demo_study, "zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_measurement_and_data_quality_tables(demo_measurement, demo_profile, demo_study, lang):
    cb = demo_study.codebook
    for name in MEASUREMENT_TABLES:
        block = measurement_table(demo_measurement, name, lang, codebook=cb).to_block()
        text = " ".join([*block["columns"], *(c for row in block["rows"] for c in row[1:]), *block["notes"]])
        assert not CODE_TERMS.search(text), (name, CODE_TERMS.search(text))
        if lang == "en":
            assert not CJK.search(text), (name, CJK.findall(text)[:10])
    items = measurement_table(demo_measurement, "items", lang, codebook=cb).frame
    reverse = [v.name for v in cb.items() if v.reverse]
    assert reverse and all(q.endswith(word("flag.reverse", lang))
                            for i, q in zip(items.iloc[:, 0], items.iloc[:, 1], strict=True) if i in reverse)
    for name in ("sources", "missingness"):
        block = data_quality_table(demo_profile, demo_study, name, lang).to_block()
        assert not CODE_TERMS.search(" ".join(block["columns"] + [r[0] for r in block["rows"]]))


# ---- the story ---------------------------------------------------------------------------


def test_executive_summary_states_findings_with_numbers_and_what_is_not_supported(demo_study, impact_report):
    zh = impact_summary(impact_report, demo_study, "zh")
    assert "获得感提高 0.28 分（95% 置信区间 0.24–0.33），约为基线标准差的 0.35 倍。" in zh
    assert "参与提高 12.9 个百分点（95% 置信区间 10.4–15.4）" in zh  # a 0–1 share in percentage points
    assert "安全感（−0.05 分，95% 置信区间 −0.12 至 0.02）的置信区间包含 0" in zh
    assert "安全感提高" not in zh and "安全感降低" not in zh
    assert "**主要注意事项**：“归属感”在试点前的趋势检验未通过（p = 0.018）" in zh  # the gravest caveat
    assert "16 个从未试点的社区作对照" in zh and "2021–2022 年分批启动" in zh
    assert "获得感（年龄段）的效应在群体间存在差异" in zh
    en = impact_summary(impact_report, demo_study, "en")
    assert "Sense of gain rose by 0.28 points (95% CI 0.24–0.33), about 0.35 baseline standard deviations." in en
    assert not CJK.search(en) and not CODE_TERMS.search(en)


def test_recommendations_come_from_the_results(demo_study, impact_report, demo_measurement):
    zh = impact_recommendations(impact_report, demo_study, "zh")
    assert "**安全感未见改善**" in zh and "**归属感的前趋势检验未通过**" in zh
    assert "获得感未见改善" not in zh
    m = measurement_recommendations(demo_measurement, "en", codebook=demo_study.codebook)
    weak = demo_measurement.to_frame().query("alpha < 0.7")
    assert len(weak) and all(demo_study.codebook.construct_label(c, "en").lower() in m.lower()
                             for c in weak["construct"])
    assert "α = 0.64" in measurement_summary(demo_measurement, "zh", codebook=demo_study.codebook)


def test_caveats_render_every_code_in_both_languages(demo_study, impact_report):
    for lang in ("zh", "en"):
        lines = caveat_sentences(impact_report.caveats, lang, codebook=demo_study.codebook)
        assert len(lines) == len(impact_report.caveats)
        assert not any(CODE_TERMS.search(line) for line in lines), lines
    with pytest.raises(KeyError, match="new_code"):
        caveat_sentences([{"code": "new_code"}], "zh")


# ---- narrative files and the document ----------------------------------------------------


def test_study_markdown_replaces_or_extends_generated_text(tmp_path):
    (tmp_path / "summary.md").write_text("\ufeff# 本项目摘要\n\n由评估组撰写。", encoding="utf-8")
    (tmp_path / "recommendations.after.md").write_text("- 另：建议公开数据字典。", encoding="utf-8")
    (tmp_path / "impact_intro.en.md").write_text("Our own introduction.", encoding="utf-8")
    source = NarrativeSource(tmp_path)
    assert source.compose("summary", "generated", "zh") == "# 本项目摘要\n\n由评估组撰写。"
    assert source.compose("recommendations", "- 生成的建议", "zh") == "- 生成的建议\n\n- 另：建议公开数据字典。"
    assert source.compose("impact_intro", "生成", "zh") == "生成"  # the en file does not touch zh
    assert source.compose("impact_intro", "generated", "en") == "Our own introduction."
    assert NarrativeSource(None).compose("summary", "generated", "zh") == "generated"
    assert source.keys() == ["impact_intro", "recommendations", "summary"]


def test_document_numbers_tables_builds_contents_and_uses_narrative(tmp_path, demo_study, impact_report):
    (tmp_path / "narrative").mkdir()
    (tmp_path / "narrative" / "impact_main.after.md").write_text("评估组补充说明。", encoding="utf-8")
    doc = ReportDocument(name="t", lang="zh", title="试点成效评估", synthetic=True,
                         narrative=NarrativeSource(tmp_path / "narrative"), output_dir=tmp_path, show=False)
    doc.heading("结论摘要")
    doc.section("summary", impact_summary(impact_report, demo_study, "zh"))
    doc.section("impact_main")
    doc.table(impact_table(impact_report, demo_study, "main", "zh"))
    doc.table(impact_table(impact_report, demo_study, "design", "zh").__class__(
        frame=impact_table(impact_report, demo_study, "design", "zh").frame.iloc[0:0], title="空表", empty="无数据。"))
    doc.table(impact_table(impact_report, demo_study, "balance", "zh"))
    tables = [b for b in doc.blocks if b["kind"] == "table"]
    assert [(b["number"], b["label"]) for b in tables] == [(1, "表 1"), (2, "表 2")]  # the empty one took no number
    assert doc.table_count == 2
    assert doc.blocks[0]["text"] == "【合成演示数据】 试点成效评估" and doc.blocks[1]["kind"] == "banner"
    toc = next(b for b in doc.blocks if b["kind"] == "toc")
    assert [e["text"] for e in toc["entries"]] == ["结论摘要", "主要估计"]
    html = _text(doc)
    assert "评估组补充说明。" in html and "无数据。" in html
    assert doc.save() is None
    saved = doc.path
    assert saved.name == "document-t.json" and '"kind": "table"' in saved.read_text(encoding="utf-8")


# ---- estimation notes and inference decisions: codes in, sentences out --------------------

NOTE_CASES = [
    {"code": "rows_dropped", "n_dropped": 3, "n_rows": 120, "by_column": {"gain": 3}},
    {"code": "equal_effects_wald_approx"}, {"code": "multiple_testing_methods"},
    {"code": "pretrend_rejected", "p": 0.0123}, {"code": "few_never_treated", "n": 3},
    {"code": "library_message", "source": "diff-diff", "text": "cohort 2023 has one unit"},
    {"code": "twfe_reference_only"}, {"code": "bacon_not_applicable"},
    {"code": "bacon_forbidden_share", "share": 0.237}, {"code": "ordinal_robustness_only"},
]


def test_every_estimation_note_code_has_words_in_both_languages():
    from evalkit.reporting.notes import note_sentence

    for note in NOTE_CASES:
        zh, en = note_sentence(note, "zh"), note_sentence(note, "en")
        assert CJK.search(zh) and zh != en
        assert not CJK.search(en.replace("cohort 2023 has one unit", ""))
    assert "p = 0.012" in note_sentence(NOTE_CASES[3], "zh") and "23.7%" in note_sentence(NOTE_CASES[8], "en")
    with pytest.raises(KeyError, match="brand_new"):
        note_sentence({"code": "brand_new"}, "zh")


def test_inference_message_is_rendered_from_facts():
    from evalkit.estimators.guardrails import decide_inference

    few = decide_inference(12, 3)  # G < 50: CRVE unreliable, wild bootstrap
    assert few.method == "wild_bootstrap" and few.reasons == ("few_clusters",)
    assert few.message("zh").startswith("本估计共有 12 个聚类（社区），其中处理组 3 个、对照组 9 个。")
    assert "野聚类自助法" in few.message("zh") and "wild cluster bootstrap" in few.message("en")
    refused = decide_inference(12, 3, "cr2")
    assert "crve_request_refused" in refused.reasons and "descriptive only" in refused.message("en")
    tiny = decide_inference(6, 2)
    assert tiny.method == "randomization" and "too_few_for_wild" in tiny.reasons
    assert "随机化推断" in tiny.message("zh")
    ok = decide_inference(60, 20)
    assert ok.reasons == ("crve_reliable",) and "conventional cluster-robust" in ok.message("en")


def test_markdown_tables_are_numbered_and_captioned_by_their_section(tmp_path):
    doc = ReportDocument(name="m", lang="en", title="T", output_dir=None, show=False)
    doc.heading("Validation of the methods")
    doc.markdown("Checked against R:\n\n| Quantity | Reference |\n|---|---|\n| alpha | psych::alpha |\n")
    table = next(b for b in doc.blocks if b["kind"] == "table")
    assert (table["label"], table["title"]) == ("Table 1", "Validation of the methods")
    assert table["rows"] == [["alpha", "psych::alpha"]]
    assert not any("eighted" in n for n in table["notes"])  # weighting does not apply to this table


def test_means_figure_leaves_out_small_community_waves(demo_measurement, demo_study):
    from evalkit.reporting import means_figure

    est = demo_measurement.means_by_community.estimates
    gain = est[est["outcome"] == "gain"]
    ax, dropped = means_figure(demo_measurement, "gain", "zh", study=demo_study, min_n=60)
    assert dropped == int((gain["n_obs"] < 60).sum()) > 0
    drawn = sum(len(c.lines[0].get_xdata()) for c in ax.containers)  # one error bar per mean drawn
    assert drawn == int((gain["n_obs"] >= 60).sum())
    names = set(demo_study.tables["communities"]["community_name"].astype(str))
    assert {t.get_text() for t in ax.get_yticklabels()} <= names  # communities by name, not code
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_estimation_warnings_sit_next_to_the_number_they_qualify(demo_study, make_impact_report):
    import attrs

    from evalkit.estimators.results import StaggeredResult

    report = make_impact_report()
    dropped = {"code": "rows_dropped", "n_dropped": 3, "n_rows": 240, "by_column": {"gain": 3}}
    result = StaggeredResult(estimates=report.estimates.iloc[:1], notes=(dropped,))
    report = attrs.evolve(report, main_results={"gain": result})
    table = impact_table(report, demo_study, "main", "zh")
    cells = table.frame.set_index("结果")["效应 [95% 置信区间]"]
    assert cells["获得感"].endswith("§") and not cells["幸福感"].endswith("§")
    assert "§ 获得感：3/240 行在所需变量上有缺失（获得感: 3），未纳入估计。" in table.notes


def test_figure_axes_never_promise_intervals_they_do_not_draw():
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from evalkit.reporting.figures import forest_plot
    from evalkit.reporting.impact_figures import event_study_plot

    frame = pd.DataFrame({"label": ["a", "b"], "estimate": [0.1, 0.2], "ci_lower": [0.0, np.nan],
                          "ci_upper": [0.2, np.nan]})
    ax = forest_plot(frame, lang="zh")
    assert "置信区间" not in ax.get_xlabel() or "无" in ax.get_xlabel()
    full = frame.assign(ci_lower=[0.0, 0.1], ci_upper=[0.2, 0.3])
    assert forest_plot(full, lang="en").get_xlabel() == "Estimate (95% confidence interval)"

    class Fake:
        def __init__(self, lo):
            self.frame = pd.DataFrame({"event_time": [-1, 0, 1], "estimate": [0.0, 0.2, 0.3],
                                       "ci_lower": lo, "ci_upper": [x + 0.2 for x in lo]})

        def event_study(self):
            return self.frame

    assert event_study_plot(Fake([-0.1, 0.1, 0.2]), lang="en").get_ylabel() == "Estimated effect (95% CI)"
    assert "no interval" in event_study_plot(Fake([np.nan, np.nan, np.nan]), lang="en").get_ylabel()
    assert "hollow" in event_study_plot(Fake([np.nan, 0.1, 0.2]), lang="en").get_ylabel()
    plt.close("all")


def test_english_figures_carry_no_chinese(demo_measurement, demo_profile, demo_study):
    import matplotlib.pyplot as plt

    from evalkit.reporting import item_distribution_figure, likert_figure

    for ax in (item_distribution_figure(demo_profile, demo_study, "en"),
               likert_figure(demo_measurement, "gain", demo_study, "en")):
        texts = [t.get_text() for a in ax.figure.axes for t in (*a.get_yticklabels(), *a.get_xticklabels())]
        legends = [t.get_text() for a in ax.figure.axes if a.get_legend() for t in a.get_legend().get_texts()]
        assert texts and not [t for t in texts + legends if CJK.search(t)], [t for t in texts + legends
                                                                              if CJK.search(t)][:5]
    zh = item_distribution_figure(demo_profile, demo_study, "zh")
    assert any(CJK.search(t.get_text()) for t in zh.get_yticklabels())
    plt.close("all")
