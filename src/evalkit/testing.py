"""Public testing helpers: compare results, and synthetic data with known truth.

Owns: :func:`assert_result_close` — the comparison every result round-trip
and conformance test uses, because results hold DataFrames and ``==`` is
ambiguous on them (like ``xarray.testing``) — and small data-generating
processes (:func:`make_likert_survey`) whose true reliability, ICC and
population means are known, for tests and doctests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.codebook import Codebook, Variable
from evalkit.results import Provenance, Result

__all__ = ["assert_result_close", "ReferenceValues", "read_reference_values", "SyntheticSurvey", "make_likert_survey"]


# ------------------------------------------------------------------ compare ----
def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _as_float(values: Sequence[Any]) -> np.ndarray | None:
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if _is_missing(v):
            out[i] = np.nan
        elif isinstance(v, bool | np.bool_ | int | float | np.integer | np.floating):
            out[i] = float(v)
        else:
            return None
    return out


def _close_arrays(a: Sequence[Any], b: Sequence[Any], path: str, rtol: float, atol: float) -> None:
    a, b = list(a), list(b)
    if len(a) != len(b):
        msg = f"{path}: length {len(a)} != {len(b)}"
        raise AssertionError(msg)
    fa, fb = _as_float(a), _as_float(b)
    if fa is not None and fb is not None:
        same_nan = np.isnan(fa) == np.isnan(fb)
        ok = same_nan & (np.isnan(fa) | np.isclose(fa, fb, rtol=rtol, atol=atol))
        ok |= np.isinf(fa) & (fa == fb)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            msg = f"{path}: {int((~ok).sum())} value(s) differ beyond rtol={rtol}, atol={atol}; first at position {i}: {fa[i]!r} vs {fb[i]!r}"
            raise AssertionError(msg)
        return
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if _is_missing(x) and _is_missing(y):
            continue
        if _is_missing(x) != _is_missing(y) or str(x) != str(y):
            msg = f"{path}: position {i}: {x!r} != {y!r}"
            raise AssertionError(msg)


def _compare(a: Any, b: Any, path: str, rtol: float, atol: float) -> None:
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        if not (isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame)):
            msg = f"{path}: {type(a).__name__} vs {type(b).__name__}"
            raise AssertionError(msg)
        if [str(c) for c in a.columns] != [str(c) for c in b.columns]:
            msg = f"{path}: columns differ: {list(a.columns)} vs {list(b.columns)}"
            raise AssertionError(msg)
        if a.shape != b.shape:
            msg = f"{path}: shape {a.shape} != {b.shape}"
            raise AssertionError(msg)
        for ca, cb in zip(a.columns, b.columns, strict=True):
            _close_arrays(a[ca].tolist(), b[cb].tolist(), f"{path}[{ca!r}]", rtol, atol)
        return
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        if not (isinstance(a, pd.Series) and isinstance(b, pd.Series)):
            msg = f"{path}: {type(a).__name__} vs {type(b).__name__}"
            raise AssertionError(msg)
        _close_arrays([str(i) for i in a.index], [str(i) for i in b.index], f"{path}.index", rtol, atol)
        _close_arrays(a.tolist(), b.tolist(), path, rtol, atol)
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        _close_arrays(np.ravel(a).tolist(), np.ravel(b).tolist(), path, rtol, atol)
        return
    if isinstance(a, Result) or attrs.has(type(a)):
        if type(a) is not type(b):
            msg = f"{path}: type {type(a).__name__} != {type(b).__name__}"
            raise AssertionError(msg)
        for f in attrs.fields(type(a)):
            if isinstance(a, Provenance) and f.name == "created":
                continue
            _compare(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", rtol, atol)
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if sorted(map(str, a)) != sorted(map(str, b)):
            msg = f"{path}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
            raise AssertionError(msg)
        bmap = {str(k): v for k, v in b.items()}
        for k, v in a.items():
            _compare(v, bmap[str(k)], f"{path}[{k!r}]", rtol, atol)
        return
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            msg = f"{path}: length {len(a)} != {len(b)}"
            raise AssertionError(msg)
        if all(not isinstance(x, list | tuple | Mapping) and not attrs.has(type(x)) for x in (*a, *b)):
            _close_arrays(a, b, path, rtol, atol)
            return
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _compare(x, y, f"{path}[{i}]", rtol, atol)
        return
    _close_arrays([a], [b], path, rtol, atol)


def assert_result_close(a: Any, b: Any, *, rtol: float = 1e-7, atol: float = 0.0) -> None:
    """Assert that two results (or frames, series, nested values) agree.

    Numbers are compared with ``numpy.isclose(rtol, atol)`` and NaN equals NaN;
    text is compared exactly (``str`` vs ``object`` dtypes do not matter);
    every ``attrs`` field is compared recursively; the provenance timestamp
    is ignored.

    Examples
    --------
    >>> assert_result_close(type(r).from_dict(r.to_dict()), r)  # doctest: +SKIP
    """
    _compare(a, b, type(a).__name__, rtol, atol)


# --------------------------------------------------------------- references ----
@frozen(eq=False)
class ReferenceValues:
    """Stored reference output in long form: case, statistic, term, value."""

    frame: pd.DataFrame
    source: str = "<memory>"

    def get(self, case: str, statistic: str, term: str = "") -> float:
        """One value; ``KeyError`` names what was asked and what the case holds."""
        f = self.frame
        hit = f[(f["case"] == case) & (f["statistic"] == statistic) & (f["term"] == term)]
        if len(hit) != 1:
            have = sorted(set(zip(f.loc[f["case"] == case, "statistic"], f.loc[f["case"] == case, "term"],
                                  strict=True)))[:10]
            msg = f"{self.source}: {len(hit)} values for case={case!r}, statistic={statistic!r}, term={term!r}; case holds {have}"
            raise KeyError(msg)
        return float(hit["value"].iloc[0])


def read_reference_values(path: str | Any) -> ReferenceValues:
    """Read a ``reference_values.csv`` (columns case, statistic, term, value) written by an R script."""
    frame = pd.read_csv(path, keep_default_na=False, dtype={"case": str, "statistic": str, "term": str})
    frame["value"] = pd.to_numeric(frame["value"].replace({"NA": np.nan, "": np.nan}))
    return ReferenceValues(frame=frame, source=str(path))


# ---------------------------------------------------------------- synthetic ----
@frozen(eq=False)
class SyntheticSurvey:
    """A synthetic survey with its codebook, population margins and the truth used to draw it."""

    survey: pd.DataFrame
    codebook: Codebook
    population: pd.DataFrame
    #: true latent-score ICC at community level, per construct
    true_icc: Mapping[str, float]
    #: standardised loadings of each construct's items (before rounding to 1–5)
    loadings: Mapping[str, tuple[float, ...]]


_AGREE5 = {1: "非常不同意", 2: "不太同意", 3: "一般", 4: "比较同意", 5: "非常同意"}

_DEFAULT_CONSTRUCTS: dict[str, tuple[str, tuple[float, ...], tuple[bool, ...]]] = {
    "gain": ("gain", (0.8, 0.7, 0.75, 0.6), (False, False, True, False)),
    "belonging": ("belong", (0.85, 0.8, 0.7), (False, True, False)),
    "satisfaction": ("satis", (0.7, 0.75, 0.8), (False, False, False)),
}


def make_likert_survey(
    *,
    n_communities: int = 8,
    n_waves: int = 2,
    n_per_community_wave: int = 60,
    icc: float = 0.1,
    age_effect: float = 0.5,
    oversample_old: float = 2.0,
    missing_rate: float = 0.03,
    seed: int = 0,
) -> SyntheticSurvey:
    """Draw a survey of 1–5 Likert items with a known structure.

    Every construct's latent score is u_c + 0.3·wave + age_effect·(age ≥ 60)
    + e_i (u_c ~ N(0, icc), e_i ~ N(0, 1 - icc), so the latent ICC is ``icc``);
    item j is round(3 + 1.2·(λ_j·η + sqrt(1 - λ_j²)·ε)) clipped to 1–5, stored
    reversed (6 - x) for reverse-keyed items. Residents aged 60+ are sampled
    ``oversample_old`` times as often as their population share, so unweighted
    means are biased upwards when ``age_effect > 0`` and raking to the
    population margins removes the bias. Missing answers are NA (intake done).

    Returns
    -------
    SyntheticSurvey
        ``survey`` (canonical columns + items), ``codebook``, ``population``
        (community × age band × gender × hukou) and the truth.
    """
    rng = np.random.default_rng(seed)
    communities = [f"4301020{i:02d}" for i in range(1, n_communities + 1)]
    pop_rows = []
    for c in communities:
        size = rng.integers(3000, 9000)
        shares = rng.dirichlet(np.full(12, 8.0))
        k = 0
        for band in ("18-34", "35-59", "60+"):
            for gender in ("female", "male"):
                for hukou in ("local", "migrant"):
                    pop_rows.append({"community_id": c, "age_band": band, "gender": gender, "hukou": hukou,
                                     "population": int(round(size * shares[k]))})
                    k += 1
    population = pd.DataFrame(pop_rows)
    variables: list[Variable] = []
    loadings: dict[str, tuple[float, ...]] = {}
    for construct, (prefix, lam, rev) in _DEFAULT_CONSTRUCTS.items():
        loadings[construct] = lam
        for j, (_, r) in enumerate(zip(lam, rev, strict=True), start=1):
            variables.append(Variable(
                name=f"{prefix}_{j}", source_name=f"{prefix.upper()}{j}",
                label_zh=f"{construct}题项{j}", label_en=f"{construct} item {j}",
                construct=construct, scale_min=1.0, scale_max=5.0, value_labels=dict(_AGREE5),
                missing_codes={8: "不知道", 9: "拒答"}, reverse=r,
            ))
    codebook = Codebook(tuple(variables), source="<synthetic>")
    rows = []
    rid = 0
    u = {c: rng.normal(0, math.sqrt(icc), size=len(_DEFAULT_CONSTRUCTS)) for c in communities}
    for c in communities:
        pc = population[population.community_id == c]
        p = pc.population.to_numpy(float)
        p = p * np.where(pc.age_band.to_numpy() == "60+", oversample_old, 1.0)
        p /= p.sum()
        for wave in range(1, n_waves + 1):
            cells = rng.choice(len(pc), size=n_per_community_wave, p=p)
            for ci in cells:
                cell = pc.iloc[ci]
                lo, hi = {"18-34": (18, 34), "35-59": (35, 59), "60+": (60, 85)}[cell.age_band]
                rid += 1
                row = {"respondent_id": f"R{rid:06d}", "community_id": c, "wave": wave,
                       "interview_date": pd.Timestamp(f"{2021 + wave}-06-15"), "gender": cell.gender,
                       "age": int(rng.integers(lo, hi + 1)), "hukou": cell.hukou,
                       "education": rng.choice(["primary", "junior", "senior", "college"])}
                old = 1.0 if cell.age_band == "60+" else 0.0
                for k, (prefix, lam, rev) in enumerate(_DEFAULT_CONSTRUCTS.values()):
                    eta = u[c][k] + 0.3 * (wave - 1) + age_effect * old + rng.normal(0, math.sqrt(1 - icc))
                    for j, (lj, r) in enumerate(zip(lam, rev, strict=True), start=1):
                        x = 3 + 1.2 * (lj * eta + math.sqrt(1 - lj**2) * rng.normal())
                        x = float(np.clip(np.round(x), 1, 5))
                        if r:
                            x = 6.0 - x
                        row[f"{prefix}_{j}"] = np.nan if rng.random() < missing_rate else x
                rows.append(row)
    survey = pd.DataFrame(rows)
    survey["wave"] = survey["wave"].astype("int64")
    return SyntheticSurvey(survey=survey, codebook=codebook, population=population,
                           true_icc={c: icc for c in _DEFAULT_CONSTRUCTS}, loadings=loadings)


def make_community_panel(
    *,
    n_communities: int = 8,
    cohorts: Sequence[int] = (2021, 2022),
    years: Sequence[int] = (2018, 2019, 2020, 2021, 2022, 2023),
    effect: float = 0.0,
    trend_gap: float = 0.0,
    seed: int,
) -> pd.DataFrame:
    """Community × year panel of construct means under parallel trends (or not).

    ``cohorts`` lists the start year of each pilot (one community each); the other
    communities are never treated (cohort 0). The outcome is a community level
    (N(3.5, 0.3)), a common year shock (N(0, 0.1) per year), the treatment ``effect`` from
    the start year on, ``trend_gap`` × (year − first year) for pilots only (a violation of
    parallel trends when non-zero), and sampling noise of a community mean of about 60
    residents with community-specific SD (N(0, (0.6 · U(0.7, 1.3))² / 60)), so noise is
    heteroskedastic across communities as with real survey means.
    """
    rng = np.random.default_rng(seed)
    yrs = np.asarray(years, dtype=int)
    n_pilots = len(cohorts)
    cohort = np.r_[np.asarray(cohorts, dtype=int), np.zeros(n_communities - n_pilots, dtype=int)]
    level = rng.normal(3.5, 0.3, n_communities)
    shock = rng.normal(0.0, 0.1, len(yrs))
    sd = 0.6 * rng.uniform(0.7, 1.3, n_communities) / np.sqrt(60)
    cid = np.repeat(np.arange(n_communities), len(yrs))
    year = np.tile(yrs, n_communities)
    c = cohort[cid]
    treated_now = (c > 0) & (year >= c)
    y = (level[cid] + np.tile(shock, n_communities) + effect * treated_now
         + trend_gap * (c > 0) * (year - yrs[0]) + rng.normal(0.0, 1.0, len(cid)) * sd[cid])
    return pd.DataFrame({"community_id": [f"c{k:02d}" for k in cid], "year": year, "cohort": c,
                         "y": y})
