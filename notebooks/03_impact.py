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

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
draws: int = 999  # bootstrap / permutation draws for inference
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
# Programme impact: did the pilots change residents' outcomes relative to comparable communities?
# `evalkit run` executes this notebook with papermill; opened as it is, it runs on the synthetic demo city.
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
weights = "weight" if study.config.weights == "raked" else None
scored = ek.weighting.raked_survey(study) if weights else None
impact = ek.estimate_impact(study, scored=scored, weights=weights, draws=draws, lang=lang)
targets = ek.target_attainment(study)  # the config's targets, evaluated as in the programme analysis
doc = ek.reporting.ReportDocument(name="03_impact", lang=lang, title=ek.reporting.text("impact_title", lang, name=study.config.display_name(lang)),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.impact_summary(impact, study, lang))
doc.section("impact_intro", ek.reporting.impact_intro(impact, lang))

# %%
doc.section("impact_design")
doc.table(ek.reporting.impact_table(impact, study, "design", lang))
doc.section("impact_balance")
doc.table(ek.reporting.impact_table(impact, study, "balance", lang))

# %%
doc.section("impact_main")
doc.table(ek.reporting.impact_table(impact, study, "main", lang))
main_table = doc.table_count
doc.figure(ek.reporting.impact_estimates_figure(impact, study, lang), name="impact_estimates",
           title=ek.reporting.text("fig_impact_estimates", lang), notes=[ek.reporting.text("fig_impact_estimates_note", lang)])
truth = ek.reporting.add_truth_check(doc, impact, study, lang)

# %%
doc.section("impact_event")
ek.reporting.add_event_studies(doc, impact, study, lang)

# %%
doc.section("impact_heterogeneity")
doc.table(ek.reporting.impact_table(impact, study, "subgroups", lang))
doc.section("impact_many")
doc.table(ek.reporting.impact_table(impact, study, "many_outcomes", lang, refer_to=main_table))

# %%
doc.section("impact_robustness")
doc.table(ek.reporting.impact_table(impact, study, "robustness", lang))
doc.section("impact_sensitivity")
doc.table(ek.reporting.sensitivity_report_table(impact, lang))

# %%
# the further designs the config asks for (designs: in study.yaml); without any, nothing is shown
designs = ek.evaluate_designs(study, scored=scored, weights=weights, lang=lang)
ek.reporting.add_design_checks(doc, designs, impact, study, lang)

# %%
doc.section("impact_targets")
doc.table(ek.reporting.targets_table(targets, lang))
doc.section("impact_limitations")
doc.bullets(ek.reporting.caveat_sentences(impact.caveats, lang, codebook=study.codebook))
doc.heading(ek.reporting.word("recommendations.title", lang))
doc.section("recommendations", ek.reporting.impact_recommendations(impact, study, lang, targets=targets))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("impact", {**impact.published(), "truth_check": truth, **designs.results_entry()},
                              output_dir)
ek.mark_complete(run_id)
