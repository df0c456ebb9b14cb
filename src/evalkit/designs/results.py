"""Result objects of the designs (matching, weighting, multilevel, ordered logit, pre-post,
linear regression with a named covariance).

Each class subclasses :class:`evalkit.estimators.results.ImpactResult`, so it has the canonical
``estimates`` columns (``term, estimate, std_error, statistic, p_value, ci_lower, ci_upper, df,
inference, n_clusters, n_treated_clusters``), ``spec``, ``n_obs``, ``inference``, named
``tables`` and the five members of the result contract. On top, ``caveats`` holds reason codes
(:class:`DesignCaveat` values) that ``evalkit.reporting.design_text`` turns into words; the
computation never writes sentences.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from attrs import field, frozen

from evalkit.estimators.results import ImpactResult

__all__ = ["DesignCaveat", "DesignResult", "MatchingResult", "WeightingResult", "MultilevelResult",
           "OrderedLogitResult", "PrePostResult", "RegressionResult"]


class DesignCaveat(enum.StrEnum):
    """Reason codes a design attaches to its result (facts; reporting words them)."""

    #: pre-post change within pilots, no comparison group: the weakest design
    PRE_POST_NO_COMPARISON = "pre_post_no_comparison"
    #: matching SEs treat the propensity score as known (MatchIt's documented practice)
    PS_TREATED_AS_KNOWN = "ps_treated_as_known"
    #: treated units dropped by the caliper: the estimand is the ATT of the matched treated
    CALIPER_DROPPED_TREATED = "caliper_dropped_treated"
    #: some covariate still has |SMD| > 0.1 after matching or weighting
    IMBALANCE_REMAINS = "imbalance_remains"
    #: extreme weights: largest normalised weight above 10 % of the group's total
    EXTREME_WEIGHTS = "extreme_weights"
    #: few clusters for cluster-robust inference (below 30)
    FEW_CLUSTERS = "few_clusters"
    #: the treatment switches off for some units (TWFE mixes on/off contrasts)
    TREATMENT_SWITCHES_OFF = "treatment_switches_off"


@frozen(eq=False)
class DesignResult(ImpactResult):
    """Shared behaviour: reason codes next to the impact-result fields."""

    kind: ClassVar[str] = "design"
    caveats: tuple[str, ...] = field(default=(), converter=tuple)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        from evalkit.reporting.design_text import caveat_text

        base = super().summary(decimals=decimals, lang=lang)
        extra = [caveat_text(c, lang) for c in self.caveats]
        return "\n".join([base, *extra])

    def _extra_to_dict(self) -> dict[str, Any]:
        return {**super()._extra_to_dict(), "caveats": list(self.caveats)}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {**super()._extra_from_dict(d), "caveats": tuple(d.get("caveats", ()))}


class _BalancePlot:
    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        from evalkit.reporting.design_figures import love_plot

        return love_plot(self.tables["balance"], ax=ax, lang=lang)  # type: ignore[attr-defined]


@frozen(eq=False)
class MatchingResult(_BalancePlot, DesignResult):
    """Nearest-neighbour propensity-score matching: ATT, balance (``tables['balance']``),
    matched pairs (``tables['pairs']``, 0-based rows of the estimation sample), sample sizes
    (``tables['sample_sizes']``)."""

    kind: ClassVar[str] = "matching"
    title_zh: ClassVar[str] = "倾向得分最近邻匹配"
    title_en: ClassVar[str] = "Nearest-neighbour propensity-score matching"


@frozen(eq=False)
class WeightingResult(_BalancePlot, DesignResult):
    """Inverse-probability weighting, AIPW or entropy balancing: effect, balance, weights summary."""

    kind: ClassVar[str] = "design_weighting"
    title_zh: ClassVar[str] = "加权估计（倾向得分 / 熵平衡）"
    title_en: ClassVar[str] = "Weighting estimator (propensity score / entropy balancing)"


@frozen(eq=False)
class MultilevelResult(DesignResult):
    """Linear mixed model: fixed effects in ``estimates``, ``tables['variance_components']``
    and ``tables['icc']``."""

    kind: ClassVar[str] = "multilevel"
    title_zh: ClassVar[str] = "多层模型（居民嵌套于社区）"
    title_en: ClassVar[str] = "Multilevel model (residents in communities)"


@frozen(eq=False)
class OrderedLogitResult(DesignResult):
    """Proportional-odds (ordered logit) model; slopes then cut-points in ``estimates``
    (``odds_ratio`` column for slopes)."""

    kind: ClassVar[str] = "ordered_logit"
    title_zh: ClassVar[str] = "有序 logit 模型（比例优势）"
    title_en: ClassVar[str] = "Ordered logit (proportional odds)"


@frozen(eq=False)
class PrePostResult(DesignResult):
    """Pre-post change within pilots only (no comparison group; the weakest design)."""

    kind: ClassVar[str] = "pre_post"
    title_zh: ClassVar[str] = "试点前后比较（无对照组，证据最弱）"
    title_en: ClassVar[str] = "Pre-post change in pilots (no comparison group; weakest design)"


@frozen(eq=False)
class RegressionResult(DesignResult):
    """Linear regression with a covariance estimator chosen by name."""

    kind: ClassVar[str] = "regression"
    title_zh: ClassVar[str] = "线性回归"
    title_en: ClassVar[str] = "Linear regression"
