"""Claims tested as claims: "satisfaction 100 %", "resolution rate ≥ 90 %".

A claimed share is a statement about a proportion, so it is reported with its count of
responses, two 95 % intervals — exact Clopper–Pearson (``statsmodels``
``proportion_confint(method="beta")``) and Wilson score (``method="wilson"``) — and two
one-sided exact binomial tests against the threshold (``scipy.stats.binomtest``):

* ``p_contradicted``: H0 p ≥ threshold against H1 p < threshold — small means the data
  contradict the claim (for a 100 % claim, any single failure gives 0);
* ``p_supported``: H0 p ≤ threshold against H1 p > threshold — small means the data show the
  share exceeds the threshold (undefined, NaN, for a 100 % claim: nothing exceeds 100 %).

``verdict`` is a code: ``supported`` (p_supported < alpha), ``contradicted``
(p_contradicted < alpha), ``consistent`` (neither) or ``no_data`` (n = 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["claim_test", "claims_table"]


def claim_test(successes: int, n: int, threshold: float, *, alpha: float = 0.05) -> dict:
    """One claim: n, successes, share, cp_lower/upper, wilson_lower/upper, p_contradicted,
    p_supported, verdict."""
    from statsmodels.stats.proportion import proportion_confint

    successes, n = int(successes), int(n)
    if not 0 < threshold <= 1:
        msg = f"claim_test(): threshold must be a share in (0, 1], found {threshold!r}; write 90 % as 0.9"
        raise ValueError(msg)
    if n < 0 or not 0 <= successes <= n:
        msg = f"claim_test(): need 0 ≤ successes ≤ n, found successes={successes}, n={n}"
        raise ValueError(msg)
    out = {"n": n, "successes": successes, "threshold": float(threshold), "share": np.nan,
           "cp_lower": np.nan, "cp_upper": np.nan, "wilson_lower": np.nan, "wilson_upper": np.nan,
           "p_contradicted": np.nan, "p_supported": np.nan, "verdict": "no_data"}
    if n == 0:
        return out
    cp = proportion_confint(successes, n, alpha=alpha, method="beta")
    wi = proportion_confint(successes, n, alpha=alpha, method="wilson")
    p_less = stats.binomtest(successes, n, threshold, alternative="less").pvalue
    p_greater = stats.binomtest(successes, n, threshold, alternative="greater").pvalue if threshold < 1 else np.nan
    verdict = ("contradicted" if p_less < alpha else
               "supported" if (not np.isnan(p_greater) and p_greater < alpha) else "consistent")
    out.update(share=successes / n, cp_lower=float(cp[0]), cp_upper=float(cp[1]), wilson_lower=float(wi[0]),
               wilson_upper=float(wi[1]), p_contradicted=float(p_less), p_supported=float(p_greater),
               verdict=verdict)
    return out




def claims_table(counts: pd.DataFrame, claims: dict[str, tuple[str, str, float]], *,
                 by: tuple[str, ...] = (), alpha: float = 0.05) -> pd.DataFrame:
    """Test every claim on every row of ``counts``.

    ``claims`` maps a claim id to ``(success column, n column, threshold)``, e.g.
    ``{"satisfaction_100": ("satisfied", "rated", 1.0)}``. Returns by…, claim, and the fields
    of :func:`claim_test`.
    """
    rows = []
    for rec in counts.to_dict("records"):
        for claim, (succ, total, threshold) in claims.items():
            rows.append({**{k: rec[k] for k in by}, "claim": claim,
                         **claim_test(rec[succ], rec[total], threshold, alpha=alpha)})
    return pd.DataFrame(rows)
