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
min_cell: int = 30  # community-wave cells with fewer respondents are flagged
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
# Data quality: profiles a study's data before any analysis. `evalkit run` executes this notebook
# with papermill; opened as it is, it runs on the synthetic demo city.
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
profile = ek.profile_study(study, min_cell=min_cell)
doc = ek.reporting.ReportDocument(name="01_data_quality", lang=lang, title=ek.reporting.text("dq_title", lang, name=study.config.display_name(lang)),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.data_quality_summary(profile, lang, codebook=study.codebook))
doc.section("dq_intro")
doc.section("dq_sources")
doc.table(ek.reporting.data_quality_table(profile, study, "sources", lang))

# %%
doc.section("dq_sample")
doc.section("dq_sample_note", **profile.headline())
doc.figure(profile.plot(lang=lang), name="sample_sizes", title=ek.reporting.text("fig_sample_sizes", lang),
           notes=[ek.reporting.text("fig_sample_sizes_note", lang, min_cell=min_cell)])

# %%
doc.section("dq_missing")
doc.section("dq_missing_note")
doc.table(ek.reporting.data_quality_table(profile, study, "missingness", lang))

# %%
doc.section("dq_items")
doc.figure(ek.reporting.item_distribution_figure(profile, study, lang), name="item_distributions",
           title=ek.reporting.text("fig_item_dists", lang), notes=[ek.reporting.text("fig_item_dists_note", lang)])

# %%
doc.section("dq_warnings")
doc.table(ek.reporting.data_quality_table(profile, study, "warnings", lang))
ek.reporting.show_intake_facts(study, lang)
doc.heading(ek.reporting.word("recommendations.title", lang))
doc.section("recommendations", ek.reporting.data_quality_recommendations(profile, lang, codebook=study.codebook))

# %%
doc.section("session_info")
doc.table(ek.reporting.session_table(lang))
doc.save()
if output_dir:
    ek.reporting.save_results("data_quality", profile.headline(), output_dir)

# %%
ek.mark_complete(run_id)
