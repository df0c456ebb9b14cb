# ---
# jupyter:
#   evalkit:
#     requires: showcase
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
# # 示范试点报告 · Showcase pilot report
# One flagship pilot against a synthetic comparison built from the communities without the
# programme (synthetic control by default; `showcase: {method: synthetic_did}` in the config for
# synthetic DiD). `evalkit run` makes this report only when the config names a `showcase:` pilot;
# opened as it is, it runs on the synthetic demo city's showcase pilot.

# %% tags=["parameters"]
config_path: str = ""  # study config (YAML); empty = the bundled synthetic demo city
community_id: str = ""  # the showcase pilot's community id; empty = the config's showcase
lang: str = "zh"  # one of: zh, en
output_dir: str = ""  # where results and figures are saved; the runner sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek
from evalkit.reporting import showcase_display as show

study = ek.load_study(config_path or ek.demo_config())
weights = "weight" if study.config.weights == "raked" else None
scored = ek.weighting.raked_survey(study) if weights else None
showcase = ek.analyse_showcase(study, showcase=community_id or None, scored=scored, weights=weights)
doc = ek.reporting.ReportDocument(name="05_showcase", lang=lang, title=show.showcase_title(showcase, study, lang),
                                  synthetic=study.config.synthetic, narrative=ek.reporting.narrative_source(study),
                                  output_dir=output_dir or None)

# %%
doc.heading(ek.reporting.word("summary.title", lang))
doc.section("summary", show.showcase_summary(showcase, study, lang))
doc.section("showcase_intro")
doc.section("showcase_facts")
doc.table(show.showcase_facts_table(showcase, study, lang))

# %%
doc.section("showcase_main")
doc.table(show.showcase_main_table(showcase, study, lang))
truth = show.showcase_truth_table(showcase, study, lang)
if truth is not None:
    doc.section("showcase_truth")
    doc.table(truth[0])

# %%
doc.section("showcase_fit")
doc.section("showcase_fit_text")
doc.figure(show.showcase_trajectory_figure(showcase, study, lang), name="showcase_trajectory",
           title=ek.reporting.text("fig_showcase_trajectory", lang), notes=[ek.reporting.text("fig_showcase_note", lang)])
doc.figure(show.showcase_gap_figure(showcase, study, lang), name="showcase_gap",
           title=ek.reporting.text("fig_showcase_gap", lang), notes=[ek.reporting.text("fig_showcase_note", lang)])

# %%
doc.section("showcase_weights")
doc.table(show.showcase_weights_table(showcase, study, lang))
doc.section("showcase_cross")
doc.table(show.showcase_cross_table(showcase, study, lang))
doc.section("showcase_robustness")
doc.table(show.showcase_robustness_table(showcase, study, lang))
doc.section("showcase_limitations")
doc.bullets(show.showcase_limitations(showcase, study, lang))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("showcase", {**showcase.published(), "truth_check": truth[1] if truth else None},
                              output_dir)
ek.mark_complete(run_id)
