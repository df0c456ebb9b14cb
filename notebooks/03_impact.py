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
# # 试点成效评估 · Programme impact
# Did the pilots change residents' outcomes relative to comparable communities? `evalkit run`
# executes this notebook with papermill; opened as it is, it runs on the synthetic demo city.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
draws: int = 999  # bootstrap / permutation draws for inference
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
impact = ek.estimate_impact(study, draws=draws, lang=lang)
ek.reporting.banner(study, lang, title="impact_title")
ek.reporting.narrative("impact_intro", lang)

# %%
ek.reporting.narrative("impact_design", lang)
ek.reporting.show_impact_table(impact, "design", lang)
ek.reporting.narrative("impact_balance", lang)
ek.reporting.show_impact_table(impact, "balance", lang)

# %%
ek.reporting.narrative("impact_main", lang)
ek.reporting.show_impact_table(impact, "main", lang)
ek.reporting.show_figure(impact.plot_estimates(lang=lang), output_dir=output_dir, name="impact_estimates")
truth = ek.reporting.show_truth_check(impact, study, lang)

# %%
ek.reporting.narrative("impact_event", lang)
ek.reporting.show_event_studies(impact, lang, output_dir=output_dir)

# %%
ek.reporting.narrative("impact_heterogeneity", lang)
ek.reporting.show_impact_table(impact, "subgroups", lang)
ek.reporting.narrative("impact_many", lang)
ek.reporting.show_impact_table(impact, "many_outcomes", lang)

# %%
ek.reporting.narrative("impact_robustness", lang)
ek.reporting.show_impact_table(impact, "robustness", lang)
ek.reporting.narrative("impact_limitations", lang)
ek.reporting.show_limitations(impact, lang)

# %%
if output_dir:
    ek.reporting.save_results("impact", {**impact.published(), "truth_check": truth}, output_dir)
ek.mark_complete(run_id)
