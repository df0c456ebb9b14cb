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
# # 试点项目总报告 · Programme report
# All pilots side by side: each pilot's own effect (forest plot), a league table, and the
# differences by programme type (三社联动 / 五社联动). `evalkit batch` runs it after the pilot reports.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
lang: str = "zh"  # one of: zh, en
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
effects = ek.community_effects(study)
ek.reporting.banner(study, lang, title="dq_title")
ek.reporting.markdown(ek.reporting.pilot_display.pilot_text("programme_title", lang, name=study.config.name))

# %%
ek.reporting.pilot_display.show_programme_forest(effects, study, study.config.outcomes[0], lang, output_dir=output_dir)
ek.reporting.pilot_display.show_league_table(effects, study, study.config.outcomes[0], lang)

# %%
ek.reporting.pilot_display.show_programme_types(effects, study, lang)

# %%
if output_dir:
    ek.reporting.save_results("programme", ek.reporting.pilot_display.programme_results(effects), output_dir)
ek.mark_complete(run_id)
