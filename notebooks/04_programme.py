# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["template-note"]
# # 项目实施与绩效 · Programme delivery and performance
# What was delivered, to whom, by which partners, at what cost and against which targets, and
# does 五社联动 do better than 三社联动? `evalkit run` executes this notebook with papermill;
# opened as it is, it runs on the synthetic demo city.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
draws: int = 499  # bootstrap / permutation draws for inference
community_id: str | None = None  # one community (its id) for the per-community report, or None for all
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
report = ek.analyse_programme(study, community=community_id, draws=draws, ri_draws=4 * draws + 3)
doc = ek.reporting.ReportDocument(name="04_programme", lang=lang,
                                  title=ek.reporting.text("programme_title", lang, name=study.config.display_name(lang)),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.programme_summary(report, study, lang))
doc.section("programme_intro")
doc.section("programme_logic_model")
ek.reporting.add_programme_table(doc, report, "logic_model", lang)

# %%
doc.section("programme_reach")
ek.reporting.add_programme_table(doc, report, "reach", lang)
ek.reporting.add_programme_figure(doc, report, "reach", lang)
doc.section("programme_linkage")
ek.reporting.add_programme_table(doc, report, "linkage", lang)
ek.reporting.add_programme_table(doc, report, "linkage_change", lang)
ek.reporting.add_programme_figure(doc, report, "linkage", lang)

# %%
doc.section("programme_inputs")
ek.reporting.add_programme_table(doc, report, "inputs", lang)
ek.reporting.add_programme_figure(doc, report, "inputs", lang)

# %%
doc.section("programme_responsiveness")
ek.reporting.add_programme_table(doc, report, "resolution", lang)
ek.reporting.add_programme_table(doc, report, "satisfaction", lang)
ek.reporting.add_programme_figure(doc, report, "response", lang)
doc.section("programme_claims")
ek.reporting.add_programme_table(doc, report, "claims", lang, study=study)

# %%
doc.section("programme_targets")
ek.reporting.add_programme_table(doc, report, "attainment", lang)
ek.reporting.add_programme_figure(doc, report, "attainment", lang)

# %%
doc.section("programme_scoring")
ek.reporting.add_programme_table(doc, report, "scores", lang, study=study)

# %%
doc.section("programme_costs")
ek.reporting.add_programme_table(doc, report, "costs", lang)
ek.reporting.add_programme_table(doc, report, "cost_per_effect", lang)

# %%
doc.section("programme_compare")
ek.reporting.add_programme_table(doc, report, "compare", lang)
ek.reporting.add_programme_figure(doc, report, "compare", lang)
doc.section("programme_compare_findings", ek.reporting.comparison_paragraph(report, lang))
doc.heading(ek.reporting.word("recommendations.title", lang))
doc.section("recommendations", ek.reporting.programme_recommendations(report, study, lang))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("programme", report.headline(), output_dir)
ek.mark_complete(run_id)
