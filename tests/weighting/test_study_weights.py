"""Raked weights for a whole study (the impact estimates' ``weights: raked``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import evalkit as ek
from evalkit.errors import ConfigError
from evalkit.weighting import raked_survey


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return ek.load_study(ek.demo_config(tmp_path_factory.mktemp("demo")))


def test_raked_weights_reproduce_each_community_waves_margins(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # groups the raking cannot fully weight are tested in test_weighting_methods
        scored = raked_survey(study)
    w = scored["weight"]
    assert len(scored) == len(study.survey) and (w >= 0).all() and (w > 0).mean() > 0.95
    pop = study.tables["population"]
    cid = str(pop["community_id"].iloc[0])
    cell = scored[(scored["community_id"] == cid) & (scored["wave"] == 1)]
    target = pop[pop["community_id"] == cid].groupby("gender")["population"].sum()
    achieved = cell.groupby("gender")["weight"].sum()
    np.testing.assert_allclose(achieved.reindex(target.index).to_numpy(), target.to_numpy(), rtol=1e-5)
    assert {"gain", "participation"} <= set(scored.columns)  # construct scores come with the weights


def test_raked_weights_need_the_population_table(study):
    import attrs

    without = attrs.evolve(study, tables={k: v for k, v in study.tables.items() if k != "population"})
    with pytest.raises(ConfigError, match="weights: raked needs the population table"):
        raked_survey(without)
