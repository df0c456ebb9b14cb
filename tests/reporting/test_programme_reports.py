"""The programme delivery, per-pilot and batch programme reports as report documents.

Tables come from the demo city's :class:`~evalkit.programme.report.ProgrammeReport` and
:class:`~evalkit.community.CommunityEffects`; each cell is checked against the number of the
result object it formats (the source of truth), each caption against the document's numbering,
and all text for code terms and, in English, for Chinese. The templates themselves are run
once per language (slow test) and their saved documents read back, also as Word files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest

import evalkit as ek
from evalkit.reporting import (
    ReportDocument,
    pilot_recommendations,
    pilot_summary,
    pilots_summary,
    programme_recommendations,
    programme_report_table,
    programme_summary,
    write_docx,
)
from evalkit.reporting import pilot_display as pd_blocks
from evalkit.reporting.programme_display import MIN_COUNT, community_names
from evalkit.reporting.tables import fmt_ci, fmt_int, fmt_share
from evalkit.reporting.vocab import word

PROGRAMME_TABLES = ["logic_model", "reach", "linkage", "linkage_change", "inputs", "resolution", "satisfaction",
                    "claims", "attainment", "scores", "costs", "cost_per_effect", "compare"]
#: raw column names, codes and Python literals a funder must never read ("sanshe"/"wushe" are the
#: vocabulary's own romanisation in English labels, "Three-party linkage (sanshe)")
CODE_TERMS = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\bTrue\b|\bFalse\b|\bNaN\b|\bnan\b|\bNone\b|multiplier_bootstrap"
                        r"|\bcommunity_id\b")
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def programme(demo_study):
    return ek.analyse_programme(demo_study, draws=49, ri_draws=199)


@pytest.fixture(scope="module")
def effects(demo_study):
    return ek.community_effects(demo_study)


def _all_text(table) -> str:
    block = table.to_block()
    return " | ".join([*block["columns"], *(c for row in block["rows"] for c in row), *block["notes"], table.title])


# ---- tables --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_programme_tables_are_captioned_human_and_in_one_language(demo_study, programme, lang):
    for name in PROGRAMME_TABLES:
        table = programme_report_table(programme, name, lang, study=demo_study)
        assert len(table.frame), name
        text = _all_text(table)
        assert not CODE_TERMS.search(text), (name, CODE_TERMS.search(text))
        if lang == "en":
            assert not CJK.search(text), (name, CJK.findall(text)[:5])
        else:
            assert all(CJK.search(c) or c in {"p", "N"} or "Wilson" in c for c in table.frame.columns), table.frame.columns
        notes = table.note_lines()
        assert notes and word("note.n", lang, n="").split("{")[0].strip() in notes[0], (name, notes)  # N stated
        assert all(isinstance(v, str) for v in table.frame.to_numpy().ravel()), name  # display strings only


def test_programme_cells_are_the_reports_numbers(demo_study, programme):
    reach = programme_report_table(programme, "reach", "en")
    latest = int(programme.reach["year"].max())
    expected = int(programme.reach.loc[(programme.reach["group"] == "wushe") & (programme.reach["year"] == latest),
                                       "services"].sum())
    row = reach.frame[(reach.frame["Group"] == "Five-party linkage pilots") & (reach.frame["Year"] == str(latest))]
    assert row["Services"].tolist() == [fmt_int(expected)]

    compare = programme_report_table(programme, "compare", "zh")
    est = programme.estimates.set_index(["outcome", "term"])
    gain = compare.frame.iloc[list(programme.estimates["outcome"].drop_duplicates()).index("gain")]
    diff = est.loc[("gain", "wushe_minus_sanshe")]
    assert gain["五社 − 三社 [95% 区间]"] == fmt_ci(diff["estimate"], diff["ci_lower"], diff["ci_upper"])
    assert gain["五社联动试点"].startswith(fmt_ci(*est.loc[("gain", "wushe"), ["estimate", "ci_lower", "ci_upper"]]))

    claims = programme_report_table(programme, "claims", "en")
    raw = programme.claims[(programme.claims["scope"] == "all")
                           & (programme.claims["year"] == programme.claims["year"].max())]
    assert claims.frame["N"].tolist() == [fmt_int(n) for n in raw["n"]]
    assert [c.split(" [")[0] for c in claims.frame["Share [exact 95% CI]"]] == [fmt_share(s) for s in raw["share"]]

    scores = programme_report_table(programme, "scores", "zh", study=demo_study)
    names = community_names(demo_study, "zh")
    assert scores.frame["社区"].tolist() == [names[c] for c in programme.scores["community_id"]]
    assert len(scores.frame) == len(programme.scores)


def test_shares_resting_on_few_answers_are_not_published(programme):
    claims = programme.claims.copy()
    latest = claims["year"].max()
    first = claims.index[(claims["scope"] == "all") & (claims["year"] == latest)][0]
    claims.loc[first, "n"] = MIN_COUNT - 1
    table = programme_report_table(attrs.evolve(programme, claims=claims), "claims", "zh")
    row = table.frame.iloc[0]
    assert row["样本量"] == f"<{MIN_COUNT}"
    assert row["比例 [精确 95% 区间]"] == "—" and row["结论"] == "—"
    assert table.frame.iloc[1]["比例 [精确 95% 区间]"] != "—"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pilot_and_league_tables(demo_study, effects, lang):
    pilot = pd_blocks.resolve_community(demo_study, "")
    tables = [pd_blocks.pilot_facts_table(demo_study, pilot, lang),
              pd_blocks.pilot_sample_table(demo_study, pilot, lang),
              pd_blocks.pilot_effects_table(effects, demo_study, pilot, lang),
              pd_blocks.pilot_services_table(demo_study, pilot, lang),
              pd_blocks.league_table(effects, demo_study, demo_study.config.outcomes[0], lang),
              pd_blocks.programme_types_table(effects, demo_study, lang)]
    for table in tables:
        text = _all_text(table)
        assert len(table.frame) and not CODE_TERMS.search(text), (table.title, CODE_TERMS.search(text))
        if lang == "en":
            assert not CJK.search(text), (table.title, CJK.findall(text)[:5])
    effects_rows = effects.for_community(pilot)
    shown = tables[2].frame.iloc[:, 4].tolist()
    assert [s.split(" *")[0] for s in shown] == [fmt_ci(r.estimate, r.ci_lower, r.ci_upper, lang=lang)
                                                 for r in effects_rows.itertuples()]
    assert len(tables[4].frame) == len(effects.league(demo_study.config.outcomes[0]))


def test_pilot_counts_under_ten_are_suppressed(demo_study):
    """A service block × method cell with fewer than 10 services shows "<10", never the count."""
    pilot = pd_blocks.resolve_community(demo_study, "")
    services = demo_study.tables["services"]
    mine = services[services["community_id"] == pilot]
    counts = mine.pivot_table(index="block", columns="method", values="service_id", aggfunc="size", fill_value=0,
                              observed=True)
    table = pd_blocks.pilot_services_table(demo_study, pilot, "zh").frame.set_index("服务板块")
    small = [(b, m) for b in counts.index for m in counts.columns if 0 < counts.loc[b, m] < pd_blocks.MIN_CELL]
    methods = {m: pd_blocks.value_label(m, "zh") for m in counts.columns}
    for b, m in small:
        assert table.loc[b, methods[m]] == f"<{pd_blocks.MIN_CELL}"
    big = [(b, m) for b in counts.index for m in counts.columns if counts.loc[b, m] >= pd_blocks.MIN_CELL]
    assert big and all(table.loc[b, methods[m]] == fmt_int(counts.loc[b, m]) for b, m in big)


# ---- summaries and recommendations ------------------------------------------------------------


def test_programme_summary_states_the_reports_numbers(demo_study, programme):
    for lang in ("zh", "en"):
        summary = programme_summary(programme, demo_study, lang)
        recs = programme_recommendations(programme, demo_study, lang)
        lm = programme.logic_model
        per_1000 = lm.loc[(lm["indicator"] == "services_per_1000") & (lm["group"] == "wushe"), "value"].iloc[0]
        assert f"{per_1000:.0f}" in summary
        n_a = int(programme.difference["n_a"].max())
        assert str(n_a) in summary
        pooled = programme.estimates[programme.estimates["term"] == "all"].set_index("outcome")
        flat = pooled[(pooled["ci_lower"] <= 0) & (pooled["ci_upper"] >= 0)].index
        for outcome in flat:  # an interval including 0 is "not shown", never "no effect"
            label = demo_study.codebook.construct_label(outcome, lang)
            assert label.lower() in summary.lower()
        assert ("不等于没有效果" in summary) if lang == "zh" else ("not proof of no effect" in summary)
        contradicted = programme.claims[(programme.claims["scope"] == "all")
                                        & (programme.claims["verdict"] == "contradicted")
                                        & (programme.claims["year"] == programme.claims["year"].max())]
        for share in contradicted["share"]:
            assert fmt_share(share) in recs
        assert recs.startswith("- ")
        if lang == "en":
            assert not CJK.search(summary + recs), CJK.findall(summary + recs)[:5]


def test_pilot_summaries_follow_the_intervals(demo_study, effects, programme):
    pilot = pd_blocks.resolve_community(demo_study, "")
    rows = effects.for_community(pilot)
    up = rows[rows["ci_lower"] > 0]
    flat = rows[(rows["ci_lower"] <= 0) & (rows["ci_upper"] >= 0)]
    text = pilot_summary(effects, demo_study, pilot, "zh", programme=programme.for_community(pilot))
    for r in up.itertuples():
        assert f"{demo_study.codebook.construct_label(r.outcome, 'zh')}提高" in text
    for r in flat.itertuples():
        label = demo_study.codebook.construct_label(r.outcome, "zh")
        assert f"{label}提高" not in text and f"{label}降低" not in text and label in text
    recs = pilot_recommendations(effects, demo_study, pilot, "en", programme=programme.for_community(pilot))
    assert recs.startswith("- ") and not CJK.search(recs)
    league = effects.league(demo_study.config.outcomes[0])
    n_up = int((league["ci_lower"] > 0).sum())
    batch = pilots_summary(effects, demo_study, demo_study.config.outcomes[0], "zh")
    assert f"{len(league)} 个试点社区中，{n_up} 个" in batch


# ---- documents --------------------------------------------------------------------------------


def _check_document(data: dict, lang: str) -> None:
    blocks = data["blocks"]
    headings = [b["text"] for b in blocks if b["kind"] == "heading"]
    assert headings[1] == word("summary.title", lang)  # executive summary up front, right after the title
    tables = [b for b in blocks if b["kind"] == "table"]
    figures = [b for b in blocks if b["kind"] == "figure"]
    assert [t["number"] for t in tables] == list(range(1, len(tables) + 1)) and tables
    for t in tables:
        assert t["label"] == word("table.prefix", lang, n=t["number"]) and t["title"] and t["notes"]
    assert [f["number"] for f in figures] == list(range(1, len(figures) + 1))
    text = json.dumps([b for b in blocks if b["kind"] != "figure"], ensure_ascii=False)
    cells = " ".join([*(c for t in tables for c in t["columns"]), *(c for t in tables for r in t["rows"] for c in r)])
    assert not CODE_TERMS.search(cells), CODE_TERMS.search(cells)
    if lang == "en":
        assert not CJK.search(text), CJK.findall(text)[:5]


def _run_template(path: Path, out: Path, lang: str, **params: str) -> None:
    """Execute a template's source as papermill would, with its parameters replaced."""
    source = path.read_text(encoding="utf-8")
    source = source.replace('output_dir: str = ""', f'output_dir: str = "{out}"')
    source = source.replace('lang: str = "zh"', f'lang: str = "{lang}"')
    for name, value in params.items():
        source = re.sub(rf"^{name}: (\w+) = .*$", f"{name}: \\1 = {value}", source, flags=re.M)
    exec(compile(source, str(path), "exec"), {"__name__": "__report__"})


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_templates_save_documents_with_summary_captions_and_word_files(tmp_path, lang):
    from docx import Document

    templates = {"04_programme": (ROOT / "notebooks" / "04_programme.py", {"draws": "19"}),
                 "community": (ROOT / "notebooks" / "batch" / "community.py", {}),
                 "programme": (ROOT / "notebooks" / "batch" / "programme.py", {})}
    for name, (path, params) in templates.items():
        out = tmp_path / name
        _run_template(path, out, lang, **params)
        data = json.loads((out / f"document-{name}.json").read_text(encoding="utf-8"))
        _check_document(data, lang)
        results = json.loads(next(out.glob("results-*.json")).read_text(encoding="utf-8"))
        n_tables = sum(b["kind"] == "table" for b in data["blocks"])
        assert len(results["tables_shown"]) >= n_tables  # every shown table's numbers reach results.json
        docx = Document(str(write_docx(out / f"document-{name}.json", out / f"{name}.docx")))
        assert len(docx.tables) == n_tables
        captions = [p.text for p in docx.paragraphs if p.style.name == "Caption"]
        assert captions[0].startswith(word("table.prefix", lang, n=1)) or captions[0].startswith(
            word("figure.prefix", lang, n=1))
        assert any(p.text == word("summary.title", lang) and p.style.name.startswith("Heading") for p in docx.paragraphs)


def test_document_from_tables_numbers_in_order(tmp_path, demo_study, programme):
    doc = ReportDocument(name="04_programme", lang="en", title="Programme", output_dir=tmp_path, show=False)
    doc.heading(word("summary.title", "en"))
    doc.section("summary", programme_summary(programme, demo_study, "en"))
    for name in ("reach", "compare"):
        ek.reporting.add_programme_table(doc, programme, name, "en", study=demo_study)
    ek.reporting.add_programme_figure(doc, programme, "compare", "en")
    doc.save()
    data = json.loads(doc.path.read_text(encoding="utf-8"))
    _check_document(data, "en")
    figure = next(b for b in data["blocks"] if b["kind"] == "figure")
    assert "Table 2" in figure["notes"][0]  # the compare figure names the compare table's number
    assert (tmp_path / "figures" / "programme_compare.png").is_file()


def test_a_study_without_ledger_requests_or_panel_still_gets_its_document(demo_study):
    """Sections without data say so instead of failing; the summary and recommendations still come."""
    bare = attrs.evolve(demo_study, tables={k: v for k, v in demo_study.tables.items()
                                            if k not in ("services", "requests", "community_panel", "population")})
    report = ek.analyse_programme(bare, draws=19, ri_draws=99)
    doc = ReportDocument(name="04_programme", lang="en", title="Programme", show=False)
    doc.section("summary", programme_summary(report, bare, "en"))
    for name in PROGRAMME_TABLES:
        ek.reporting.add_programme_table(doc, report, name, "en", study=bare)
    for name in ("reach", "linkage", "inputs", "response", "attainment", "compare"):
        ek.reporting.add_programme_figure(doc, report, name, "en")
    doc.section("recommendations", programme_recommendations(report, bare, "en"))
    text = json.dumps(doc.to_dict(), ensure_ascii=False)
    assert "(no data for this section)" in text
    assert doc.table_count >= 1  # the impact comparison needs the survey only
    assert not CJK.search(text)
    pilot = pd_blocks.resolve_community(bare, "")
    assert pd_blocks.pilot_services_table(bare, pilot, "en").frame.empty


def test_english_programme_figures_carry_no_chinese(demo_study, programme, effects):
    import matplotlib.pyplot as plt

    from evalkit.reporting import programme_figure

    pilot = pd_blocks.resolve_community(demo_study, "")
    axes = [programme_figure(programme, name, "en") for name in ("reach", "attainment", "compare")]
    axes += [pd_blocks.pilot_trend_figure(demo_study, pilot, "gain", "en"),
             pd_blocks.programme_forest_figure(effects, demo_study, "gain", "en")]
    for ax in axes:
        texts = [t.get_text() for a in ax.figure.axes
                 for t in (*a.get_yticklabels(), *a.get_xticklabels(), a.xaxis.label, a.yaxis.label)]
        legends = [t.get_text() for a in ax.figure.axes if a.get_legend() for t in a.get_legend().get_texts()]
        assert texts and not [t for t in texts + legends if CJK.search(t)], [t for t in texts + legends
                                                                              if CJK.search(t)][:5]
        assert not [t for t in texts + legends if CODE_TERMS.search(t)], [t for t in texts if CODE_TERMS.search(t)]
    plt.close("all")


def test_a_pilot_mean_of_fewer_than_ten_respondents_is_not_shown(demo_study, effects):
    pilot = pd_blocks.resolve_community(demo_study, "")
    estimates = effects.estimates.copy()
    mine = estimates.index[(estimates["community_id"] == pilot) & (estimates["outcome"] == "gain")]
    estimates.loc[mine, "n_pre"] = pd_blocks.MIN_CELL - 1
    table = pd_blocks.pilot_effects_table(attrs.evolve(effects, estimates=estimates), demo_study, pilot, "zh")
    row = table.frame.iloc[0]
    assert row["试点前均值"] == "—" and row["样本（前/后）"].startswith(f"<{pd_blocks.MIN_CELL}/")
    assert table.frame.iloc[1]["试点前均值"] != "—"


def test_n_of_a_one_community_slice_names_what_each_table_covers(demo_study, programme):
    """In a per-pilot slice, tables of that community say N = 1; group tables keep the city's counts."""
    pilot = pd_blocks.resolve_community(demo_study, "")
    sliced = programme.for_community(pilot)
    total = demo_study.tables["communities"]["community_id"].nunique()
    assert "N = 1 community" in programme_report_table(sliced, "community_attainment", "en").note_lines()[0]
    assert "N = 1 community" in programme_report_table(sliced, "reach", "en").note_lines()[0]
    assert f"N = {total} communities" in programme_report_table(sliced, "inputs", "en").note_lines()[0]
    assert f"N = {total} communities" in programme_report_table(programme, "reach", "en").note_lines()[0]
