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

pilot_display = ek.reporting.pilot_display
study = ek.load_study(config_path or ek.demo_config())
pilot = pilot_display.resolve_community(study, community_id)
effects = ek.community_effects(study)
programme = ek.analyse_programme(study).for_community(pilot)
doc = ek.reporting.ReportDocument(name="community", lang=lang, title=pilot_display.pilot_title(study, pilot, lang),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.pilot_summary(effects, study, pilot, lang, programme=programme))
doc.section("pilot_intro")
doc.section("pilot_facts")
doc.table(pilot_display.pilot_facts_table(study, pilot, lang))
doc.section("pilot_sample")
doc.table(pilot_display.pilot_sample_table(study, pilot, lang))

# %%
doc.section("pilot_effects")
doc.section("pilot_effects_note")
doc.table(pilot_display.pilot_effects_table(effects, study, pilot, lang))
doc.section("pilot_trend")
pilot_display.add_pilot_trend(doc, study, pilot, study.config.outcomes[0], lang)

# %%
doc.section("pilot_services")
doc.table(pilot_display.pilot_services_table(study, pilot, lang))
doc.section("pilot_targets")
ek.reporting.add_programme_table(doc, programme, "community_attainment", lang)
doc.section("programme_claims")
ek.reporting.add_programme_table(doc, programme, "claims", lang, study=study)
doc.heading(ek.reporting.word("recommendations.title", lang))
doc.section("recommendations", ek.reporting.pilot_recommendations(effects, study, pilot, lang, programme=programme))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("community", pilot_display.pilot_results(effects, pilot), output_dir)
ek.mark_complete(run_id)
