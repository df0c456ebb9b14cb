"""Result objects of the impact estimators (2×2 DiD, TWFE, staggered DiD, heterogeneity,
many outcomes, ordered logit).

Every class here subclasses :class:`evalkit.results.Result` and so offers
``summary(decimals, lang)``, ``to_frame()``, ``to_dict()`` / ``from_dict()``,
``_repr_html_()`` and ``plot()``. Numbers are stored at full precision.

Each result carries the few-clusters diagnosis of :mod:`evalkit.estimators.guardrails`:
``n_clusters``, ``n_treated_clusters`` and the inference that was actually used, and
``summary()`` states them in the chosen language. The canonical table ``estimates`` has at
least the columns ``term, estimate, std_error, statistic, p_value, ci_lower, ci_upper`` plus
``df`` (degrees of freedom of the reference t distribution, NaN for normal or resampling
inference), ``inference`` (the method behind ``p_value`` and the interval), ``n_clusters``
and ``n_treated_clusters``.
"""

from __future__ import annotations

import html
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from attrs import field, frozen

from evalkit.results import Result, frame_from_records, frame_to_records, json_safe

__all__ = [
    "ESTIMATE_COLUMNS",
    "Spec",
    "InferenceRecord",
    "ImpactResult",
    "DiDResult",
    "TWFEResult",
    "StaggeredResult",
    "SubgroupResult",
    "MultipleOutcomesResult",
    "OrdinalResult",
]

#: Columns every impact ``estimates`` frame has, in this order.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "term", "estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper",
    "df", "inference", "n_clusters", "n_treated_clusters",
)

def method_label(method: str, lang: str = "zh") -> str:
    """Human label of an inference method in ``lang`` (``zh`` or ``en``)."""
    from evalkit.reporting.vocab import has_word, word

    return word(f"method.{method}", lang) if has_word(f"method.{method}") else method


@frozen
class Spec:
    """The call that produced a result: estimator name, column roles and options."""

    estimator: str
    columns: dict[str, Any] = field(factory=dict)
    options: dict[str, Any] = field(factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"estimator": self.estimator, "columns": self.columns, "options": self.options})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        return cls(estimator=d["estimator"], columns=dict(d["columns"]), options=dict(d["options"]))


@frozen
class InferenceRecord:
    """Which inference a result uses and why (the few-clusters guardrail's decision)."""

    method: str
    requested: str
    n_clusters: int | None
    n_treated_clusters: int | None
    reliable_crve: bool | None
    reasons: tuple[str, ...] = ()  # codes; words in evalkit.reporting.notes.inference_message
    draws: int | None = None
    seed: int | None = None
    weight_type: str | None = None

    def message(self, lang: str = "zh") -> str:
        """The inference paragraph in ``lang``, rendered from the facts and ``reasons``."""
        from evalkit.reporting.notes import inference_message

        return inference_message(self, lang)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "method": self.method, "requested": self.requested, "n_clusters": self.n_clusters,
            "n_treated_clusters": self.n_treated_clusters, "reliable_crve": self.reliable_crve,
            "reasons": list(self.reasons),
            "draws": self.draws, "seed": self.seed, "weight_type": self.weight_type,
        })

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InferenceRecord:
        return cls(**{**d, "reasons": tuple(d.get("reasons", ()))})


def _fmt(x: Any, decimals: int) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    if isinstance(x, float | np.floating):
        return f"{float(x):.{decimals}f}"
    return str(x)


def _p_fmt(p: Any, decimals: int) -> str:
    if p is None or not np.isfinite(p):
        return "—"
    floor = 10.0 ** (-decimals)
    return f"<{floor:.{decimals}f}" if p < floor else f"{p:.{decimals}f}"


_HEAD = {
    "zh": ("项", "估计值", "标准误", "p 值", "95% 置信区间"),
    "en": ("term", "estimate", "SE", "p", "95% CI"),
}


@frozen(eq=False)
class ImpactResult(Result):
    """Shared fields and behaviour of every impact result."""

    kind: ClassVar[str] = "impact"

    spec: Spec = field(factory=lambda: Spec(estimator="unknown"))
    n_obs: int = 0
    inference: InferenceRecord = field(
        factory=lambda: InferenceRecord("model", "model", None, None, None))
    notes: tuple[dict[str, Any], ...] = ()  # reason codes with facts; words in evalkit.reporting.notes
    #: extra named tables (Bacon decomposition, group-time cells, tests, ...)
    tables: dict[str, pd.DataFrame] = field(factory=dict)

    # ---- accessors ----------------------------------------------------------------
    @property
    def n_clusters(self) -> int | None:
        return self.inference.n_clusters

    @property
    def n_treated_clusters(self) -> int | None:
        return self.inference.n_treated_clusters

    def term(self, name: str) -> pd.Series:
        """The row of ``estimates`` for ``term == name`` (KeyError listing the terms if absent)."""
        rows = self.estimates[self.estimates["term"] == name]
        if rows.empty:
            msg = f"no term {name!r}; terms are: {', '.join(map(str, self.estimates['term']))}"
            raise KeyError(msg)
        return rows.iloc[0]

    @property
    def estimate(self) -> float:
        """The headline estimate (first row of ``estimates``)."""
        return float(self.estimates["estimate"].iloc[0])

    @property
    def std_error(self) -> float:
        return float(self.estimates["std_error"].iloc[0])

    def note_lines(self, lang: str = "zh") -> tuple[str, ...]:
        """The estimation notes as sentences in ``lang``."""
        from evalkit.reporting.notes import note_sentences

        return tuple(note_sentences(self.notes, lang))

    # ---- contract -------------------------------------------------------------------
    def title(self, lang: str = "zh") -> str:
        from evalkit.reporting.vocab import word

        return word(f"result.{self.kind}", lang)

    def _summary_rows(self) -> pd.DataFrame:
        return self.estimates

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        lang = "zh" if lang.lower().startswith("zh") else "en"
        head = _HEAD[lang]
        rows = []
        for r in self._summary_rows().itertuples(index=False):
            rows.append((
                str(r.term), _fmt(r.estimate, decimals), _fmt(r.std_error, decimals),
                _p_fmt(r.p_value, decimals),
                f"[{_fmt(r.ci_lower, decimals)}, {_fmt(r.ci_upper, decimals)}]",
            ))
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(head)]
        lines = [self.title(lang)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
        inf = self.inference
        if lang == "zh":
            lines.append(f"样本量 {self.n_obs}；聚类（社区）数 {_fmt(inf.n_clusters, 0)}，"
                         f"其中处理组 {_fmt(inf.n_treated_clusters, 0)}。")
            lines.append(f"推断方法：{method_label(inf.method, 'zh')}。")
        else:
            lines.append(f"n = {self.n_obs}; clusters (communities) = {_fmt(inf.n_clusters, 0)}, "
                         f"treated clusters = {_fmt(inf.n_treated_clusters, 0)}.")
            lines.append(f"Inference: {method_label(inf.method, 'en')}.")
        if inf.message(lang):
            lines.append(inf.message(lang))
        lines += list(self.note_lines(lang))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = self._summary_rows().to_html(
            index=False, float_format=lambda x: f"{x:.3f}", na_rep="—")
        note = html.escape(self.inference.message("zh") or method_label(self.inference.method, "zh"))
        return (f"<div class='evalkit-result'><strong>{html.escape(self.title('zh'))}</strong>"
                f"{body}<p>{note}</p></div>")

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "n_obs": int(self.n_obs),
            "inference": self.inference.to_dict(),
            "notes": json_safe([dict(n) for n in self.notes]),
            "tables": {k: frame_to_records(v) for k, v in self.tables.items()},
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {
            "spec": Spec.from_dict(d["spec"]),
            "n_obs": int(d["n_obs"]),
            "inference": InferenceRecord.from_dict(d["inference"]),
            "notes": tuple(dict(n) for n in d["notes"]),
            "tables": {k: frame_from_records(v) for k, v in d["tables"].items()},
        }

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.impact_figures import coefficient_plot

        return coefficient_plot(self, ax=ax, lang=lang)


@frozen(eq=False)
class DiDResult(ImpactResult):
    """2×2 difference-in-differences (:func:`evalkit.estimators.did.did`)."""

    kind: ClassVar[str] = "did"


@frozen(eq=False)
class TWFEResult(ImpactResult):
    """Two-way fixed effects with the Goodman-Bacon diagnostic (``tables['bacon']``)."""

    kind: ClassVar[str] = "twfe"

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.impact_figures import bacon_plot

        return bacon_plot(self, ax=ax, lang=lang)


@frozen(eq=False)
class StaggeredResult(ImpactResult):
    """Callaway–Sant'Anna group-time ATTs and their aggregations.

    ``estimates`` holds every aggregation in one tidy frame; the column ``aggregation`` is
    one of ``overall, group, calendar, event, group_time, pretest`` and ``group``, ``time``,
    ``event_time`` locate the row. The headline (first row) is the overall ATT of the
    aggregation chosen as ``headline`` at fit time.
    """

    kind: ClassVar[str] = "staggered"

    def aggregation(self, name: str) -> pd.DataFrame:
        """Rows of one aggregation (``group``, ``calendar``, ``event``, ``group_time``, ``overall``)."""
        out = self.estimates[self.estimates["aggregation"] == name]
        if out.empty:
            known = ", ".join(sorted(set(self.estimates["aggregation"])))
            msg = f"no aggregation {name!r} in this result; available: {known}"
            raise KeyError(msg)
        return out.reset_index(drop=True)

    def event_study(self) -> pd.DataFrame:
        return self.aggregation("event")

    def _summary_rows(self) -> pd.DataFrame:
        keep = self.estimates["aggregation"].isin(["overall", "group", "event", "pretest"])
        return self.estimates[keep]

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.impact_figures import event_study_plot

        return event_study_plot(self, ax=ax, lang=lang)


@frozen(eq=False)
class SubgroupResult(ImpactResult):
    """Effects by subgroup with the interaction (equal-effects) test in ``tables['tests']``."""

    kind: ClassVar[str] = "subgroup"


@frozen(eq=False)
class MultipleOutcomesResult(ImpactResult):
    """One effect per outcome with multiplicity-adjusted p-values (``p_bh``, ``p_romano_wolf``)."""

    kind: ClassVar[str] = "multiple_outcomes"

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        base = super().summary(decimals=decimals, lang=lang)
        cols = [c for c in ("p_bh", "p_romano_wolf") if c in self.estimates]
        if not cols:
            return base
        adj = self.estimates[["term", *cols]].copy()
        for c in cols:
            adj[c] = adj[c].map(lambda p: _p_fmt(p, decimals))
        head = "校正后 p 值：" if lang.lower().startswith("zh") else "Adjusted p-values:"
        return f"{base}\n{head}\n{adj.to_string(index=False)}"


@frozen(eq=False)
class OrdinalResult(ImpactResult):
    """Ordered-logit DiD check on one Likert item (log-odds; ``odds_ratio`` column)."""

    kind: ClassVar[str] = "ordinal"


def empty_estimates() -> pd.DataFrame:
    """An ``estimates`` frame with the canonical columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in ESTIMATE_COLUMNS}).astype(
        {"term": "object", "inference": "object"})
