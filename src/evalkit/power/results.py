"""Result objects of the power calculations.

:class:`PowerResult` holds analytic power / sample size / minimum detectable effect (MDE)
scenarios, one row per scenario; :class:`PowerSimulationResult` holds power estimated by
re-assigning placebo pilots in a study's own data. Both follow the Result contract of
:mod:`evalkit.results` (``summary``, ``to_frame``, ``to_dict`` / ``from_dict``,
``_repr_html_``, ``plot``). They carry numbers only; column labels and sentences in Chinese
or English live in :mod:`evalkit.reporting.power_display`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from attrs import field, frozen

from evalkit.results import Result, frame_from_records, frame_to_records

__all__ = ["PowerResult", "PowerSimulationResult"]


@frozen(eq=False, kw_only=True)
class PowerResult(Result):
    """Analytic power scenarios: one row per combination of the inputs.

    ``estimates`` always has the inputs and the solved quantity as columns; ``solved_for``
    names the quantity that was computed (``"power"``, ``"n_per_group"``, ``"n_clusters"``,
    ``"effect"``) and ``design`` the formula (``"two_means"``, ``"two_proportions"``,
    ``"cluster"``).
    """

    kind: ClassVar[str] = "power"

    design: str = "two_means"
    solved_for: str = "power"
    options: dict[str, Any] = field(factory=dict)

    def title(self, lang: str = "zh") -> str:
        from evalkit.reporting.power_display import power_title

        return power_title(self, lang=lang)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        from evalkit.reporting.power_display import power_table

        return f"{self.title(lang)}\n{power_table(self, lang=lang).round(decimals).to_string(index=False)}"

    @property
    def value(self) -> float:
        """The solved quantity of the first scenario."""
        return float(self.estimates[self.solved_for].iloc[0])

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"design": self.design, "solved_for": self.solved_for, "options": dict(self.options)}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {"design": d["design"], "solved_for": d["solved_for"], "options": dict(d["options"])}

    def plot(self, ax: Any = None, *, x: str | None = None, lang: str = "zh") -> Any:
        """The solved quantity against the input that varies across scenarios (or ``x``)."""
        from evalkit.reporting.power_display import power_curve

        return power_curve(self, x=x, ax=ax, lang=lang)


@frozen(eq=False, kw_only=True)
class PowerSimulationResult(Result):
    """Power by simulation: one row per true effect added to placebo pilots.

    ``estimates`` columns: ``effect, power, mc_std_error, mean_estimate, bias, sd_estimate,
    coverage, n_draws, n_failed``. ``draws`` has one row per draw and effect (``draw, effect,
    estimate, std_error, p_value, ci_lower, ci_upper, rejected``).
    """

    kind: ClassVar[str] = "power_simulation"

    draws: pd.DataFrame = field(factory=pd.DataFrame)
    spec: dict[str, Any] = field(factory=dict)

    def title(self, lang: str = "zh") -> str:
        from evalkit.reporting.power_display import simulation_title

        return simulation_title(self, lang=lang)

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        from evalkit.reporting.power_display import simulation_table

        return f"{self.title(lang)}\n{simulation_table(self, lang=lang).round(decimals).to_string(index=False)}"

    def power_at(self, effect: float) -> float:
        """Simulated power at one of the simulated effects."""
        row = self.estimates[self.estimates["effect"] == effect]
        if row.empty:
            msg = f"effect {effect!r} was not simulated; simulated effects: {self.estimates['effect'].tolist()}"
            raise KeyError(msg)
        return float(row["power"].iloc[0])

    def _extra_to_dict(self) -> dict[str, Any]:
        return {"draws": frame_to_records(self.draws), "spec": dict(self.spec)}

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {"draws": frame_from_records(d["draws"]), "spec": dict(d["spec"])}

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Simulated power against the true effect, with Monte Carlo error bars."""
        from evalkit.reporting.power_display import simulation_curve

        return simulation_curve(self, ax=ax, lang=lang)
