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
# # 数据质量报告 · Data quality report
# Profiles a study's data before any analysis. `evalkit run` executes this notebook with papermill;
# open it in JupyterLab to explore (with no config it uses the bundled synthetic demo city).

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
min_cell: int = 30  # community-wave cells with fewer respondents are flagged
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
profile = ek.profile_study(study, min_cell=min_cell)
ek.reporting.banner(study, lang)
ek.reporting.narrative("dq_intro", lang)

# %%
ek.reporting.narrative("dq_sources", lang)
ek.reporting.show_table(study.sources)

# %%
ek.reporting.narrative("dq_sample", lang)
ek.reporting.narrative("dq_sample_note", lang, **profile.headline())
ek.reporting.show_figure(profile.plot(), output_dir=output_dir, name="sample_sizes")

# %%
ek.reporting.narrative("dq_missing", lang)
ek.reporting.narrative("dq_missing_note", lang)
ek.reporting.show_table(profile.missingness)

# %%
ek.reporting.narrative("dq_items", lang)
ek.reporting.show_figure(ek.reporting.item_distribution_bars(profile.item_distributions, lang=lang),
                         output_dir=output_dir, name="item_distributions")

# %%
ek.reporting.narrative("dq_warnings", lang)
ek.reporting.show_warnings(study, lang)
ek.reporting.show_intake_facts(study, lang)

# %%
ek.reporting.narrative("session_info", lang)
ek.reporting.show_table(ek.session_info())
if output_dir:
    ek.reporting.save_results("data_quality", profile.headline(), output_dir)

# %%
ek.mark_complete(run_id)
