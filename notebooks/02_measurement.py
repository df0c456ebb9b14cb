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
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
# Measurement: reliability of each construct, survey weights and design-based construct means.
# `evalkit run` executes this notebook with papermill; opened as it is, it runs on the synthetic demo city.
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
m = ek.measure(study.survey, study.codebook, population=study.tables.get("population"),
               constructs=list(study.config.outcomes), min_share=study.config.min_items_answered)
first = study.config.outcomes[0]
doc = ek.reporting.ReportDocument(name="02_measurement", lang=lang, title=ek.reporting.text("measure_title", lang, name=study.config.display_name(lang)),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.measurement_summary(m, lang, codebook=study.codebook))
doc.section("measure_intro")
doc.section("measure_overview")
doc.table(ek.reporting.measurement_table(m, "overview", lang, codebook=study.codebook))

# %%
doc.section("measure_reliability")
doc.figure(m.plot_alpha(lang=lang), name="alpha_by_wave", title=ek.reporting.text("fig_alpha", lang),
           notes=[ek.reporting.text("fig_alpha_note", lang)])
doc.section("measure_items")
doc.table(ek.reporting.measurement_table(m, "items", lang, codebook=study.codebook))
doc.figure(ek.reporting.likert_figure(m, first, study, lang), name="item_distribution",
           title=ek.reporting.text("fig_items", lang, construct=study.codebook.construct_label(first, lang)),
           notes=[ek.reporting.text("fig_items_note", lang)])

# %%
doc.section("measure_efa")
doc.table(ek.reporting.measurement_table(m, "efa", lang, codebook=study.codebook))

# %%
doc.section("measure_weights")
doc.table(ek.reporting.measurement_table(m, "weights", lang, codebook=study.codebook))

# %%
doc.section("measure_means")
doc.table(ek.reporting.measurement_table(m, "means", lang, codebook=study.codebook))
means_ax, dropped = ek.reporting.means_figure(m, first, lang, study=study)
doc.figure(means_ax, name="means_by_community",
           title=ek.reporting.text("fig_means", lang, construct=study.codebook.construct_label(first, lang)),
           notes=[ek.reporting.text("fig_means_note", lang, min_n=ek.reporting.MIN_PLOT_N, dropped=dropped)])

# %%
doc.section("measure_icc")
doc.table(ek.reporting.measurement_table(m, "icc", lang, codebook=study.codebook))
doc.section("measure_validation")
doc.markdown(ek.measurement.validation_note(lang))
doc.heading(ek.reporting.word("recommendations.title", lang))
doc.section("recommendations", ek.reporting.measurement_recommendations(m, lang, codebook=study.codebook))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("measurement", m.published(), output_dir)
ek.mark_complete(run_id)
