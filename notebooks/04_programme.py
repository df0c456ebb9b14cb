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
ek.reporting.banner(study, lang, title="programme_title")
ek.reporting.programme_narrative("intro", lang)

# %%
ek.reporting.programme_narrative("logic_model", lang)
ek.reporting.show_programme_table(report, "logic_model", lang)

# %%
ek.reporting.programme_narrative("reach", lang)
ek.reporting.show_programme_table(report, "reach", lang)
ek.reporting.show_programme_figure(report, "reach", lang, output_dir=output_dir)
ek.reporting.programme_narrative("linkage", lang)
ek.reporting.show_programme_table(report, "linkage", lang)
ek.reporting.show_programme_table(report, "linkage_change", lang)
ek.reporting.show_programme_figure(report, "linkage", lang, output_dir=output_dir)

# %%
ek.reporting.programme_narrative("inputs", lang)
ek.reporting.show_programme_table(report, "inputs", lang)
ek.reporting.show_programme_figure(report, "inputs", lang, output_dir=output_dir)

# %%
ek.reporting.programme_narrative("responsiveness", lang)
ek.reporting.show_programme_table(report, "resolution", lang)
ek.reporting.show_programme_table(report, "satisfaction", lang)
ek.reporting.show_programme_figure(report, "response", lang, output_dir=output_dir)
ek.reporting.programme_narrative("claims", lang)
ek.reporting.show_programme_table(report, "claims", lang)

# %%
ek.reporting.programme_narrative("targets", lang)
ek.reporting.show_programme_table(report, "attainment", lang)
ek.reporting.show_programme_figure(report, "attainment", lang, output_dir=output_dir)

# %%
ek.reporting.programme_narrative("scoring", lang)
ek.reporting.show_programme_table(report, "scores", lang)
ek.reporting.show_programme_table(report, "sensitivity", lang)

# %%
ek.reporting.programme_narrative("costs", lang)
ek.reporting.show_programme_table(report, "costs", lang)
ek.reporting.show_programme_table(report, "cost_per_effect", lang)

# %%
ek.reporting.programme_narrative("compare", lang)
ek.reporting.show_programme_table(report, "compare", lang)
ek.reporting.show_programme_figure(report, "compare", lang, output_dir=output_dir)
ek.reporting.markdown(ek.reporting.comparison_paragraph(report, lang))

# %%
if output_dir:
    ek.reporting.save_results("programme", report.headline(), output_dir)
ek.mark_complete(run_id)
