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

# %%

# %% [markdown] tags=["template-note"]
# # 试点社区报告 · Pilot community report
# One pilot's own story: what it is, who answered, how its outcomes moved against the comparison
# communities, its own effect with an honest interval, and what the programme delivered there.
# `evalkit batch` runs this template once per pilot; opened as it is, it shows the first pilot of
# the synthetic demo city.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
community_id: str = ""  # community id of the pilot, as in the registry; empty = the first pilot
lang: str = "zh"  # one of: zh, en
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek

study = ek.load_study(config_path or ek.demo_config())
pilot = ek.reporting.pilot_display.resolve_community(study, community_id)
effects = ek.community_effects(study)
ek.reporting.pilot_display.pilot_title(study, pilot, lang)
ek.reporting.pilot_display.show_pilot_facts(study, pilot, lang)
ek.reporting.pilot_display.show_pilot_sample(study, pilot, lang)

# %%
ek.reporting.pilot_display.show_pilot_effects(effects, study, pilot, lang)
ek.reporting.pilot_display.show_pilot_trend(study, pilot, study.config.outcomes[0], lang, output_dir=output_dir)

# %%
ek.reporting.pilot_display.show_pilot_services(study, pilot, lang)
programme = ek.analyse_programme(study).for_community(pilot)
ek.reporting.programme_narrative("targets", lang)
ek.reporting.show_programme_table(programme, "community_attainment", lang)
ek.reporting.programme_narrative("claims", lang)
ek.reporting.show_programme_table(programme, "claims", lang)

# %%
if output_dir:
    ek.reporting.save_results("community", ek.reporting.pilot_display.pilot_results(effects, pilot), output_dir)
ek.mark_complete(run_id)
