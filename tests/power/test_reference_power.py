"""evalkit.power against R ``pwr`` 1.3.0 and PowerUpR 1.1.0 (stored output of
``tests/reference/power/pwr_reference.R``) and against Bloom's published MDE multipliers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from evalkit.power import (cohens_h, design_effect, effective_sample_size, mde_multiplier, power_cluster,
                           power_two_means, power_two_proportions)

pytestmark = pytest.mark.reference_r

REF = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "power" / "pwr_reference.csv")
RTOL = 1e-9  # closed-form power: same formula, agrees to rounding
ROOT = 2e-4  # solved n / d / h: pwr's uniroot stops at tol = .Machine$double.eps^0.25 ≈ 1.2e-4


def ref(case: str) -> float:
    return float(REF.loc[REF["case"] == case, "value"].iloc[0])


@pytest.mark.parametrize("d", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("pw", [0.8, 0.9])
def test_t_test_sample_size_matches_pwr(d, pw):
    """pwr::pwr.t.test(d, power) $n."""
    r = power_two_means(effect=d, sd=1.0, power=pw)
    assert r.solved_for == "n_per_group"
    assert r.value == pytest.approx(ref(f"t_n_d{d:g}_p{pw:g}"), rel=ROOT)


@pytest.mark.parametrize("n", [20, 64, 200])
def test_t_test_power_and_mde_match_pwr(n):
    """pwr::pwr.t.test(n, d = 0.4) $power and pwr.t.test(n, power = 0.8) $d; sd = 2 rescales only."""
    assert power_two_means(effect=0.8, sd=2.0, n_per_group=n, power=None).value == pytest.approx(
        ref(f"t_power_n{n}"), rel=RTOL)
    mde = power_two_means(sd=2.0, n_per_group=n, power=0.8)
    assert mde.estimates["effect_size"].iloc[0] == pytest.approx(ref(f"t_d_n{n}"), rel=ROOT)
    assert mde.value == pytest.approx(2 * ref(f"t_d_n{n}"), rel=ROOT)
    # evalkit's root is the more precise one: power at it is 0.8 to 1e-8
    assert power_two_means(effect=mde.value, sd=2.0, n_per_group=n, power=None).value == pytest.approx(0.8, abs=1e-8)


def test_t_test_options_match_pwr():
    """pwr.t.test(alternative = 'greater'), sig.level = 0.01, and pwr.t2n.test for unequal groups."""
    assert power_two_means(effect=0.4, n_per_group=50, power=None, alternative="larger").value == pytest.approx(
        ref("t_power_greater"), rel=RTOL)
    assert power_two_means(effect=0.4, n_per_group=50, power=None, alpha=0.01).value == pytest.approx(
        ref("t_power_alpha01"), rel=RTOL)
    assert power_two_means(effect=0.5, n_per_group=40, ratio=2, power=None).value == pytest.approx(
        ref("t2n_power"), rel=RTOL)
    assert power_two_means(n_per_group=40, ratio=2, power=0.8).value == pytest.approx(ref("t2n_d"), rel=ROOT)


@pytest.mark.parametrize("p1,p2", [(0.5, 0.6), (0.3, 0.4), (0.7, 0.8), (0.1, 0.15)])
def test_two_proportions_match_pwr(p1, p2):
    """pwr::pwr.2p.test(h = ES.h(p2, p1), power = 0.8) $n and (n = 150) $power."""
    n = power_two_proportions(p1=p1, p2=p2, power=0.8)
    assert n.value == pytest.approx(ref(f"2p_n_{p1:g}_{p2:g}"), rel=ROOT)
    pw = power_two_proportions(p1=p1, p2=p2, n_per_group=150, power=None)
    assert pw.value == pytest.approx(ref(f"2p_power_{p1:g}_{p2:g}"), rel=RTOL)


def test_two_proportions_mde_and_unequal_groups_match_pwr():
    """pwr.2p.test(n = 200, power = 0.8) $h; pwr.2p2n.test(n1 = 150, n2 = 300) $power."""
    r = power_two_proportions(p1=0.4, n_per_group=200, power=0.8)
    assert r.estimates["effect_size"].iloc[0] == pytest.approx(ref("2p_h_n200"), rel=ROOT)
    assert cohens_h(0.4, r.estimates["p2"].iloc[0]) == pytest.approx(r.estimates["effect_size"].iloc[0], rel=1e-12)
    assert power_two_proportions(p1=0.5, p2=0.6, n_per_group=150, ratio=2, power=None).value == pytest.approx(
        ref("2p2n_power"), rel=RTOL)


_KEY = re.compile(r"cra2_([\d.]+)_([\d.]+)_([\d.]+)_([\d.]+)_([\d.]+)_([\d.]+)_([\d.]+)_mdes")
CRA2 = [m.groups() for m in map(_KEY.fullmatch, REF["case"]) if m]


@pytest.mark.parametrize("rho2,n,j,r22,r21,g2,p", CRA2)
def test_cluster_mde_and_power_match_powerupr(rho2, n, j, r22, r21, g2, p):
    """PowerUpR::mdes.cra2r2 and power.cra2r2 (Dong & Maynard 2013, CRA2_2r) over a grid."""
    args = dict(cluster_size=float(n), icc=float(rho2), r2_cluster=float(r22), r2_individual=float(r21),
                n_cluster_covariates=int(g2), treated_share=float(p))
    key = f"cra2_{rho2}_{n}_{j}_{r22}_{r21}_{g2}_{p}"
    mde = power_cluster(n_clusters=float(j), power=0.8, **args)
    assert mde.value == pytest.approx(ref(key + "_mdes"), rel=1e-9)
    pw = power_cluster(effect=0.4, n_clusters=float(j), power=None, **args)
    assert pw.value == pytest.approx(ref(key + "_power"), rel=1e-7)


@pytest.mark.parametrize("es", [0.25, 0.4])
@pytest.mark.parametrize("rho2", [0.05, 0.17])
@pytest.mark.parametrize("n", [15, 40])
def test_communities_needed_agrees_with_powerupr(es, rho2, n):
    """PowerUpR::mrss.cra2r2 rounds a fixed-point iteration (tol 0.1); evalkit returns the smallest
    whole J whose MDE ≤ es, so the two agree within one community, and evalkit's J is minimal."""
    r = power_cluster(effect=es, cluster_size=n, icc=rho2, power=0.8)
    j = r.value
    assert abs(j - ref(f"mrss_{es:g}_{rho2:g}_{n:g}")) <= 1
    assert power_cluster(n_clusters=j, cluster_size=n, icc=rho2, power=0.8).value <= es
    assert power_cluster(n_clusters=j - 1, cluster_size=n, icc=rho2, power=0.8).value > es


def test_one_tailed_matches_powerupr():
    r = power_cluster(n_clusters=20, cluster_size=15, icc=0.17, power=0.8, tails="one-sided")
    assert r.value == pytest.approx(ref("cra2_one_tailed"), rel=1e-9)


@pytest.mark.parametrize("tails,power,published", [
    ("one-sided", 0.80, 2.49), ("two-sided", 0.80, 2.80), ("one-sided", 0.90, 2.93), ("two-sided", 0.90, 3.24)])
def test_bloom_1995_table_1_multipliers(tails, power, published):
    """Bloom (1995), Evaluation Review 19(5), Table 1: MDE multipliers for α = .05 and large df,
    published to two decimals (tolerance ±0.005)."""
    assert mde_multiplier(df=1e7, alpha=0.05, power=power, tails=tails) == pytest.approx(published, abs=0.005)


def test_design_effect_textbook_values_and_kish_weights():
    """Donner & Klar (2000, §2.2): deff = 1 + (m − 1)ρ; Eldridge et al. (2006, eq. 3) with cv of
    cluster size; unequal weights multiply by Kish's deff (evalkit.weighting.kish_deff)."""
    assert design_effect(icc=0.05, cluster_size=21) == pytest.approx(2.0)
    assert design_effect(icc=0.02, cluster_size=30, cv_cluster_size=0.5) == pytest.approx(1 + (1.25 * 30 - 1) * 0.02)
    assert design_effect(icc=-0.01, cluster_size=30) == 1.0
    w = [1, 1, 2, 2]
    assert design_effect(icc=0.05, cluster_size=21, weights=w) == pytest.approx(2.0 * 4 * 10 / 36)
    assert effective_sample_size(n=600, icc=0.05, cluster_size=21) == pytest.approx(300.0)


def test_bad_inputs_raise_with_the_fix():
    with pytest.raises(ValueError, match="leave exactly one of effect, n_clusters, power"):
        power_cluster(effect=0.3, n_clusters=20, power=0.8, cluster_size=10, icc=0.05)
    with pytest.raises(ValueError, match=r"icc=1.5 is outside"):
        power_cluster(n_clusters=20, power=0.8, cluster_size=10, icc=1.5)
    with pytest.raises(ValueError, match="needs p_control"):
        power_cluster(n_clusters=20, power=0.8, cluster_size=10, icc=0.05, outcome_type="proportion")
    with pytest.raises(ValueError, match=r"alternative='both' is not allowed"):
        power_two_means(effect=0.3, power=0.8, alternative="both")  # type: ignore[arg-type]
