"""Responsiveness from the request log (诉求/工单): volumes, resolution, time to resolution,
the share resolved within a promised window, and satisfaction.

Requests still open when the log was extracted are **right-censored**: their time to
resolution is known only to exceed ``as_of − received_at``. Dropping them makes services look
faster than they are; counting them as failures at an arbitrary time makes them look slower.
Time-to-resolution is therefore estimated with the Kaplan–Meier estimator
(``statsmodels.duration.survfunc.SurvfuncRight``): the median and 90th percentile are the
smallest times at which the estimated share resolved reaches 50 % / 90 %, i.e. S(t) ≤ 0.5 /
0.1 (NaN with reason
``p90_not_reached`` when it never does), and the share resolved within 24 h / 72 h is
``1 − S(24 h)`` / ``1 − S(72 h)``. The naive shares (resolved within the window / all
requests) are reported beside them. ``as_of`` defaults to the latest timestamp in the log.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit._checks import require_columns
from evalkit.programme.reach import safe_ratio

__all__ = ["kaplan_meier_summary", "resolution_times", "request_volumes", "satisfaction_table"]


def kaplan_meier_summary(hours: np.ndarray, resolved: np.ndarray, *, windows: Sequence[float] = (24.0, 72.0)) -> dict:
    """KM summary of one group: n, n_resolved, n_open, median_hours, p90_hours,
    km_within_<w>h for each window, reason."""
    from statsmodels.duration.survfunc import SurvfuncRight

    hours = np.asarray(hours, float)
    resolved = np.asarray(resolved, bool)
    out: dict = {"n": int(len(hours)), "n_resolved": int(resolved.sum()), "n_open": int((~resolved).sum()),
                 "median_hours": np.nan, "p90_hours": np.nan, "reason": ""}
    for w in windows:
        out[f"km_within_{w:g}h"] = np.nan
    if len(hours) == 0:
        out["reason"] = "no_requests"
        return out
    if not resolved.any():
        out["reason"] = "none_resolved"
        for w in windows:
            out[f"km_within_{w:g}h"] = 0.0
        return out
    sf = SurvfuncRight(hours, resolved.astype(int))
    out["median_hours"] = _km_quantile(sf.surv_times, sf.surv_prob, 0.5)
    out["p90_hours"] = _km_quantile(sf.surv_times, sf.surv_prob, 0.9)
    for w in windows:
        at = sf.surv_times <= w
        out[f"km_within_{w:g}h"] = float(1 - sf.surv_prob[at][-1]) if at.any() else 0.0
    reasons = [r for r, bad in (("median_not_reached", np.isnan(out["median_hours"])),
                                ("p90_not_reached", np.isnan(out["p90_hours"]))) if bad]
    out["reason"] = ";".join(reasons)
    return out


def _km_quantile(times: np.ndarray, surv: np.ndarray, p: float) -> float:
    """Smallest event time with S(t) ≤ 1 − p (Klein & Moeschberger 2003, §4.5); NaN if never.

    statsmodels' ``SurvfuncRight.quantile`` uses a strict inequality and R's ``survfit`` takes
    the midpoint where S(t) equals 1 − p exactly; the textbook definition is used here.
    """
    hit = np.flatnonzero(surv <= 1 - p + 1e-12)
    return float(times[hit[0]]) if hit.size else np.nan


def _durations(requests: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    require_columns(requests, ["community_id", "received_at", "resolved_at"], what="request log")
    rec = pd.to_datetime(requests["received_at"])
    res = pd.to_datetime(requests["resolved_at"])
    end = as_of if as_of is not None else max(rec.max(), res.max())
    resolved = res.notna() & (res <= end)
    stop = res.where(resolved, end)
    hours = (stop - rec).dt.total_seconds() / 3600
    return pd.DataFrame({"hours": hours.clip(lower=0).to_numpy(), "resolved": resolved.to_numpy()},
                        index=requests.index)


def resolution_times(requests: pd.DataFrame, *, by: Sequence[str] = (), as_of: pd.Timestamp | None = None,
                     windows: Sequence[float] = (24.0, 72.0)) -> pd.DataFrame:
    """Kaplan–Meier time to resolution per group of ``by`` columns (of the request rows), with
    the naive within-window shares ``naive_within_<w>h`` (resolved within w / all)."""
    dur = _durations(requests, as_of)
    data = pd.concat([requests[list(by)], dur], axis=1) if by else dur
    groups = data.groupby(list(by), sort=True) if by else [((), data)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key, strict=True))
        row.update(kaplan_meier_summary(g["hours"].to_numpy(), g["resolved"].to_numpy(), windows=windows))
        for w in windows:
            row[f"naive_within_{w:g}h"] = safe_ratio((g["resolved"] & (g["hours"] <= w)).sum(), len(g)).item()
        rows.append(row)
    return pd.DataFrame(rows)


def request_volumes(requests_agg: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    """Requests, resolved and the share resolved by ``by`` (columns of ``request_aggregates``
    output, plus ``group`` if merged), with each row's share of its ``by[:-1]`` total."""
    keys = list(by)
    out = requests_agg.groupby(keys, sort=True)[["requests", "resolved", "within_24h", "within_72h"]].sum().reset_index()
    out["share_resolved"] = safe_ratio(out["resolved"], out["requests"])
    if len(keys) > 1:
        total = out.groupby(keys[:-1])["requests"].transform("sum")
    else:
        total = pd.Series(out["requests"].sum(), index=out.index)
    out["share_of_requests"] = safe_ratio(out["requests"], total)
    return out


def satisfaction_table(requests_agg: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    """Rated requests, mean score (1–5) and share satisfied (4–5) by ``by``; reason
    ``no_ratings`` where nobody rated."""
    keys = list(by)
    out = requests_agg.groupby(keys, sort=True)[["requests", "rated", "satisfied", "satisfaction_sum"]].sum().reset_index()
    out["mean_score"] = safe_ratio(out["satisfaction_sum"], out["rated"])
    out["share_satisfied"] = safe_ratio(out["satisfied"], out["rated"])
    out["share_rated"] = safe_ratio(out["rated"], out["requests"])
    out["reason"] = np.where(out["rated"] > 0, "", "no_ratings")
    return out.drop(columns=["satisfaction_sum"])
