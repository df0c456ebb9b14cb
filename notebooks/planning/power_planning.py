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
# # 下一轮调查需要多少个社区？· Planning the next survey round
# 项目办填入自己的数字（组内相关系数、每社区受访居民数、显著性水平、检验效能、协变量解释的方差、
# 目标最小可检测效应），即可得到：各方案的最小可检测效应表、达到目标所需的社区数，以及效能曲线。
# 最后一节在本研究自己的数据上模拟交错双重差分的检验效能（安慰剂试点）。
#
# A programme office fills in its own numbers; the notebook returns the minimum detectable
# effect of each design, the communities needed for a target effect, a curve, and the power of
# the staggered DiD simulated on the study's own data.

# %% tags=["parameters"]
icc: float = 0.05  # intra-class correlation of the outcome (see ek.survey.icc on last round's data)
residents_per_community: list[int] = [15, 30, 60]  # residents surveyed per community and wave (options)
communities: list[int] = [10, 20, 30, 40, 60, 80]  # communities in total, pilots and comparison (options)
pilot_share: float = 0.5  # share of the communities that are pilots
alpha: float = 0.05  # significance level (two-sided)
power: float = 0.80  # probability of detecting the target effect
r2_cluster: float = 0.0  # share of between-community variance explained by covariates (e.g. baseline mean)
r2_individual: float = 0.0  # share of within-community variance explained by resident covariates
waves_pre: int = 1  # survey waves before the pilots start (0 = compare after only)
waves_post: int = 1  # survey waves after the start
autocorrelation: float = 0.8  # correlation of a community's effect between waves (1 = stable)
outcome_sd: float = 1.0  # outcome standard deviation (1 = effects in SD units)
target_mde: float = 0.25  # smallest effect worth detecting, in outcome units
config_path: str = ""  # study config for the simulation on own data; empty = the synthetic demo city
sim_outcome: str = ""  # outcome for the simulation; empty = the study's first outcome
sim_effects: list[float] = [0.0, 0.1, 0.2, 0.3]  # true effects added to placebo pilots (outcome units)
sim_pilots: int = 0  # placebo pilots per draw; 0 = as many as the real pilots, at most half the comparisons
sim_draws: int = 20  # placebo assignments per effect (use 200+ for a real plan)
seed: int = 20240901  # seed of the placebo assignments
lang: str = "zh"  # one of: zh, en
output_dir: str = ""  # where results and figures are saved; `evalkit plan` sets it
run_id: str = "interactive"  # set by the runner; written into the completion marker

# %%
import evalkit as ek
from evalkit.reporting import power_display as plan

study = ek.load_study(config_path or ek.demo_config())  # its data feed the simulation at the end
doc = ek.reporting.ReportDocument(name="power_planning", lang=lang, title=ek.reporting.text("plan_title", lang),
                                  synthetic=study.config.synthetic, output_dir=output_dir or None)
design = dict(icc=icc, treated_share=pilot_share, alpha=alpha, r2_cluster=r2_cluster, r2_individual=r2_individual,
              waves_pre=waves_pre, waves_post=waves_post, autocorrelation=autocorrelation, sd=outcome_sd)
mde = ek.power.power_cluster(n_clusters=communities, cluster_size=residents_per_community, power=power, **design)
needed = ek.power.power_cluster(effect=target_mde, cluster_size=residents_per_community, power=power, **design)
doc.section("plan_intro")
doc.section("plan_mde")
doc.table(plan.planning_table(mde, lang=lang))
doc.figure(mde.plot(x="n_clusters", lang=lang), name="plan_mde_curve", title=ek.reporting.text("fig_plan_mde", lang))

# %%
doc.section("plan_needed", target=target_mde)
doc.table(plan.planning_table(needed, lang=lang))

# %%
outcome = sim_outcome or study.config.outcomes[0]
scored = ek.scales.score(study.survey, study.codebook, constructs=[outcome])
panel = ek.impact.community_year_panel(scored, study, [outcome])
sim = ek.power.simulate_power_staggered(panel, outcome=outcome, unit="community_id", time="year", cohort="cohort",
                                        effects=sim_effects, n_pilots=sim_pilots or None, draws=sim_draws,
                                        seed=seed)
doc.section("plan_simulation", outcome=study.codebook.construct_label(outcome, lang))
doc.table(plan.simulation_report_table(sim, lang=lang))
doc.figure(sim.plot(lang=lang), name="plan_simulation_curve", title=ek.reporting.text("fig_plan_simulation", lang))
doc.save()

# %%
if output_dir:
    ek.reporting.save_results("planning", {"mde": mde.estimates, "needed": needed.estimates,
                                           "simulation": sim.estimates}, output_dir)
ek.mark_complete(run_id)
