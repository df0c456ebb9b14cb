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

# %% [markdown]
# # 测量质量与加权估计 · Measurement
# Reliability of each construct, survey weights and design-based construct means. `evalkit run`
# executes this notebook with papermill; opened as it is, it runs on the synthetic demo city.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
m = ek.measure(study.survey, study.codebook, population=study.tables.get("population"),
               constructs=list(study.config.outcomes), min_share=study.config.min_items_answered)
ek.reporting.banner(study, lang, title="measure_title")
ek.reporting.narrative("measure_intro", lang)

# %%
ek.reporting.narrative("measure_overview", lang)
ek.reporting.show_measurement_table(m, "overview", lang)

# %%
ek.reporting.narrative("measure_reliability", lang)
ek.reporting.show_figure(m.plot_alpha(lang=lang), output_dir=output_dir, name="alpha_by_wave")
ek.reporting.narrative("measure_items", lang)
ek.reporting.show_measurement_table(m, "items", lang)
ek.reporting.show_figure(m.plot_items(study.config.outcomes[0], lang=lang), output_dir=output_dir,
                         name="item_distribution")

# %%
ek.reporting.narrative("measure_efa", lang)
ek.reporting.show_measurement_table(m, "efa", lang)

# %%
ek.reporting.narrative("measure_weights", lang)
ek.reporting.show_measurement_table(m, "weights", lang)
ek.reporting.show_measurement_notes(m, lang)

# %%
ek.reporting.narrative("measure_means", lang)
ek.reporting.show_measurement_table(m, "means", lang)
ek.reporting.show_figure(m.plot_means(study.config.outcomes[0], lang=lang), output_dir=output_dir,
                         name="means_by_community")

# %%
ek.reporting.narrative("measure_icc", lang)
ek.reporting.show_measurement_table(m, "icc", lang)

# %%
ek.reporting.narrative("measure_validation", lang)
ek.reporting.markdown(ek.measurement.validation_note(lang))
if output_dir:
    ek.reporting.save_results("measurement", m.published(), output_dir)
ek.mark_complete(run_id)
