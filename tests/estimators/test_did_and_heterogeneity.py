"""2×2 DiD properties (weights, panel form, routing, messages), subgroups and many outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.errors import DataValidationError, MissingColumnError, SmallSampleWarning
from evalkit.estimators import did, multiple_outcomes, romano_wolf, subgroup_effects

pytest.importorskip("evalkit.inference")


def _survey(n_comm=40, n_treated=20, per=30, effect=0.5, het=0.0, seed=0):
    """Repeated cross-sections of residents in communities; effect + het·migrant."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_comm):
        treat = int(c < n_treated)
        u = rng.normal(0, 0.3)
        for post in (0, 1):
            for _ in range(per):
                mig = rng.random() < 0.4
                y = 3 + u + 0.2 * post + 0.1 * treat + treat * post * (effect + het * mig) + rng.normal(0, 1)
                rows.append((f"c{c:02d}", treat, post, "migrant" if mig else "local", y,
                             y + rng.normal(0, 1), rng.uniform(0.5, 2)))
    return pd.DataFrame(rows, columns=["community_id", "treat", "post", "hukou", "y", "y2", "w"])


def test_weights_scale_invariance_and_effect():
    s = _survey(seed=1)
    rng = np.random.default_rng(2)
    s["w"] = np.where(s["hukou"] == "migrant", 3.0, 0.5) * rng.uniform(0.8, 1.2, len(s))
    s["w7"] = 7 * s["w"]
    s["y"] = s["y"] + s["treat"] * s["post"] * (s["hukou"] == "migrant")  # effect differs by hukou
    a = did(s, outcome="y", treat="treat", post="post", weights="w", cluster="community_id",
            inference="cr2")
    b = did(s, outcome="y", treat="treat", post="post", weights="w7", cluster="community_id",
            inference="cr2")
    u = did(s, outcome="y", treat="treat", post="post", cluster="community_id", inference="cr2")
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
    assert a.std_error == pytest.approx(b.std_error, rel=1e-10)
    assert abs(a.estimate - u.estimate) > 0.1  # weights up-weight migrants with the larger effect


def test_panel_form_equals_first_differences():
    rng = np.random.default_rng(4)
    n = 50
    unit = np.repeat(np.arange(n), 2)
    post = np.tile([0, 1], n)
    treat = np.repeat((np.arange(n) < 20).astype(int), 2)
    y = rng.normal(0, 1, n).repeat(2) + 0.3 * post + 0.8 * treat * post + rng.normal(0, 0.5, 2 * n)
    d = pd.DataFrame({"unit": unit, "post": post, "treat": treat, "y": y})
    r = did(d, outcome="y", treat="treat", post="post", unit="unit")
    dy = d.pivot(index="unit", columns="post", values="y").diff(axis=1)[1]
    tr = d.groupby("unit")["treat"].first()
    fd = dy[tr == 1].mean() - dy[tr == 0].mean()
    assert r.estimate == pytest.approx(fd, rel=1e-10)


def test_one_treated_community_uses_randomization_inference():
    s = _survey(n_comm=12, n_treated=1, per=20, seed=3)
    with pytest.warns(SmallSampleWarning):
        # the wild bootstrap is refused quietly only under "auto"; asking for it warns
        did(s, outcome="y", treat="treat", post="post", cluster="community_id",
            inference="wild_bootstrap", draws=199, seed=1)
    r = did(s, outcome="y", treat="treat", post="post", cluster="community_id", draws=199, seed=1)
    assert r.inference.method == "randomization" and r.n_treated_clusters == 1
    row = r.estimates.iloc[0]
    assert row["p_value"] >= 1 / 12 - 1e-12  # exact: 12 possible assignments
    assert np.isnan(row["ci_lower"])


def test_error_messages_name_column_and_fix():
    s = _survey(seed=5)
    with pytest.raises(MissingColumnError, match=r"'tret'.*not found.*spelling"):
        did(s, outcome="y", treat="tret", post="post")
    bad = s.assign(treat=s["treat"].replace(1, 2))
    with pytest.raises(DataValidationError, match=r"column 'treat' must be 0/1.*rows \[1"):
        did(bad, outcome="y", treat="treat", post="post")
    only_post = s[s["post"] == 1]
    with pytest.raises(DataValidationError, match=r"all four cells"):
        did(only_post, outcome="y", treat="treat", post="post")


def test_subgroup_effects_recover_heterogeneity():
    s = _survey(n_comm=60, n_treated=30, per=40, effect=0.2, het=0.8, seed=7)
    r = subgroup_effects(s, outcome="y", treat="treat", post="post", by="hukou",
                         cluster="community_id", inference="cr2")
    loc = r.term("treat:post[local]")
    mig = r.term("treat:post[migrant]")
    assert abs(loc["estimate"] - 0.2) < 4 * loc["std_error"]
    assert abs(mig["estimate"] - 1.0) < 4 * mig["std_error"]
    diff = r.estimates.iloc[-1]
    assert diff["estimate"] == pytest.approx(mig["estimate"] - loc["estimate"], rel=1e-8)
    assert r.tables["tests"]["p_value"].iloc[0] < 0.05


def test_romano_wolf_properties():
    rng = np.random.default_rng(0)
    t_boot = rng.standard_normal((2000, 4))
    t_obs = np.array([3.5, 2.2, 1.0, 0.1])
    p = romano_wolf(t_obs, t_boot)
    raw = (1 + (np.abs(t_boot) >= np.abs(t_obs)).sum(axis=0)) / 2001
    assert (p >= raw - 1e-12).all()  # adjusted p-values are never below the raw ones
    assert np.all(np.diff(p[np.argsort(-np.abs(t_obs))]) >= 0)  # monotone in |t|
    assert p[0] < 0.01 and p[3] > 0.5


def test_multiple_outcomes_adjustments():
    s = _survey(n_comm=30, n_treated=15, per=15, effect=0.6, seed=9)
    s["y3"] = s["y"] * 0 + np.random.default_rng(1).normal(size=len(s))  # pure noise outcome
    r = multiple_outcomes(s, outcomes=["y", "y2", "y3"], treat="treat", post="post",
                          cluster="community_id", draws=199, seed=3)
    est = r.estimates.set_index("term")
    from statsmodels.stats.multitest import multipletests

    raw = est.loc[["y", "y2", "y3"], "p_value"].to_numpy()
    assert est.loc[["y", "y2", "y3"], "p_bh"].to_numpy() == pytest.approx(
        multipletests(raw, method="fdr_bh")[1])
    assert (est.loc[["y", "y2", "y3"], "p_romano_wolf"] > 0).all()
    assert "klk_index" in est.index
    assert "Romano" in r.summary(lang="en")
