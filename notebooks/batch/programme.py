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

pilot_display = ek.reporting.pilot_display
study = ek.load_study(config_path or ek.demo_config())
effects = ek.community_effects(study)
main = study.config.outcomes[0]
doc = ek.reporting.ReportDocument(name="programme", lang=lang,
                                  title=ek.reporting.text("pilot_programme_title", lang,
                                                          name=study.config.display_name(lang)),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", ek.reporting.pilots_summary(effects, study, main, lang))
doc.section("pilot_programme_intro")
doc.section("pilot_forest")
pilot_display.add_programme_forest(doc, effects, study, main, lang)
doc.section("pilot_league")
doc.table(pilot_display.league_table(effects, study, main, lang))

# %%
doc.section("pilot_types")
doc.table(pilot_display.programme_types_table(effects, study, lang))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("programme", pilot_display.programme_results(effects), output_dir)
ek.mark_complete(run_id)
