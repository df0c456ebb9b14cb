"""diagnose_clusters: the documented thresholds, the routing and the report text."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evalkit.inference import ClusterDiagnosis, diagnose_clusters
from evalkit.inference.clusters import CRVE_MIN_CLUSTERS, CRVE_MIN_TREATED, WEBB_MAX_CLUSTERS, WILD_MIN_TREATED


@pytest.mark.parametrize(
    ("G", "G1", "reliable", "recommended", "weights"),
    [
        (60, 20, True, "crve", "rademacher"),
        (50, 10, True, "crve", "rademacher"),  # both thresholds met exactly
        (49, 20, False, "wild_bootstrap", "rademacher"),  # one cluster short of 50
        (60, 9, False, "wild_bootstrap", "rademacher"),  # MacKinnon & Webb: few treated, even with many clusters
        (60, 55, False, "wild_bootstrap", "rademacher"),  # few untreated clusters count the same way
        (12, 3, False, "wild_bootstrap", "rademacher"),
        (11, 3, False, "wild_bootstrap", "webb"),
        (40, 2, False, "randomization", "rademacher"),
        (10, 1, False, "randomization", "webb"),
        (10, 8, False, "randomization", "webb"),
    ],
)
def test_thresholds(G, G1, reliable, recommended, weights):
    d = diagnose_clusters(G, G1)
    assert (d.reliable_crve, d.recommended, d.recommended_weights) == (reliable, recommended, weights)
    assert (d.n_clusters, d.n_treated_clusters, d.n_control_clusters) == (G, G1, G - G1)


def test_documented_constants():
    assert (CRVE_MIN_CLUSTERS, CRVE_MIN_TREATED, WILD_MIN_TREATED, WEBB_MAX_CLUSTERS) == (50, 10, 3, 11)


def test_messages_state_counts_and_method_in_both_languages():
    d = diagnose_clusters(12, 3)
    assert "12 个聚类" in d.message_zh and "处理组 3 个" in d.message_zh and "野聚类自助法" in d.message_zh
    assert "12 clusters" in d.message_en and "3 treated" in d.message_en and "wild cluster bootstrap" in d.message_en
    assert "MacKinnon & Webb" in d.message_en
    r = diagnose_clusters(20, 2)
    assert "随机化推断" in r.message_zh and "randomisation inference" in r.message_en
    c = diagnose_clusters(80, 30)
    assert "CRVE" in c.message_zh and "CRVE" in c.message_en
    assert d.message("en") == d.message_en and str(d) == d.message_zh


def test_round_trip():
    d = diagnose_clusters(24, 6)
    back = ClusterDiagnosis.from_dict(json.loads(json.dumps(d.to_dict())))
    assert back == d


@pytest.mark.parametrize(("G", "G1"), [(10, 0), (10, 10), (3, 5)])
def test_impossible_designs_are_refused(G, G1):
    with pytest.raises(ValueError, match=r"expected 0 < n_treated_clusters < n_clusters"):
        diagnose_clusters(G, G1)


def test_counts_must_be_integers():
    with pytest.raises(ValueError, match="n_clusters must be an integer"):
        diagnose_clusters(12.0, 3)
    assert diagnose_clusters(np.int64(12), np.int32(3)).n_clusters == 12
