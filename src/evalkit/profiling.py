"""Data-quality profile of a loaded study: what the data-quality notebook shows.

:func:`profile_study` computes sample sizes by community and wave, missingness
per survey column (including the missing codes intake converted), item
response distributions and the validation warnings, and returns a
:class:`DataQualityProfile` result. It only reads the validated tables, which
hold no personal data. Counts below ``min_cell`` are flagged so reports can
suppress them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from attrs import field, frozen

from evalkit.intake.load import Study
from evalkit.reporting.text import lang_code
from evalkit.results import Provenance, Result, frame_from_records, frame_to_records

__all__ = ["DataQualityProfile", "profile_study"]


@frozen(eq=False)
class DataQualityProfile(Result):
    """Sample sizes, missingness, item distributions and warnings of one study.

    ``estimates`` holds the community × wave sample sizes in long form
    (community_id, community_name, wave, n).
    """

    kind: ClassVar[str] = "data_quality"

    missingness: pd.DataFrame = field(factory=pd.DataFrame)
    item_distributions: pd.DataFrame = field(factory=pd.DataFrame)
    warnings: pd.DataFrame = field(factory=pd.DataFrame)
    table_rows: dict[str, int] = field(factory=dict)
    min_cell: int = 30

    def title(self, lang: str = "zh") -> str:
        return "数据质量概况" if lang_code(lang) == "zh" else "Data quality profile"

    # ---- headline numbers -----------------------------------------------------------
    def headline(self) -> dict[str, Any]:
        n = self.estimates["n"]
        return {
            "n_respondents": int(n.sum()),
            "n_communities": int(self.estimates["community_id"].nunique()),
            "n_waves": int(self.estimates["wave"].nunique()),
            "median_cell": float(n.median()),
            "min_cell": int(n.min()),
            "n_small": int((n < self.min_cell).sum()),
            "min_ok": self.min_cell,
            "n_warnings": len(self.warnings),
            "table_rows": dict(self.table_rows),
        }

    def sample_size_table(self) -> pd.DataFrame:
        """Community × wave counts, wide, with the community name."""
        wide = self.estimates.pivot_table(index=["community_id", "community_name"], columns="wave",
                                          values="n", aggfunc="sum", fill_value=0)
        wide.columns = [f"wave_{c}" for c in wide.columns]
        return wide.reset_index()

    def summary(self, decimals: int = 3, lang: str = "zh") -> str:
        h = self.headline()
        if lang_code(lang) == "zh":
            lines = [self.title(lang),
                     f"受访者 {h['n_respondents']} 人，社区 {h['n_communities']} 个，调查 {h['n_waves']} 轮",
                     f"每社区每轮样本量：中位数 {h['median_cell']:g}，最少 {h['min_cell']}",
                     f"校验提示 {h['n_warnings']} 条"]
        else:
            lines = [self.title(lang),
                     f"{h['n_respondents']} respondents, {h['n_communities']} communities, {h['n_waves']} waves",
                     f"per community-wave: median {h['median_cell']:g}, minimum {h['min_cell']}",
                     f"{h['n_warnings']} validation warnings"]
        return "\n".join(lines)

    def _extra_to_dict(self) -> dict[str, Any]:
        return {
            "missingness": frame_to_records(self.missingness),
            "item_distributions": frame_to_records(self.item_distributions),
            "warnings": frame_to_records(self.warnings),
            "table_rows": self.table_rows,
            "min_cell": self.min_cell,
        }

    @classmethod
    def _extra_from_dict(cls, d: dict[str, Any]) -> dict[str, Any]:
        return {
            "missingness": frame_from_records(d["missingness"]),
            "item_distributions": frame_from_records(d["item_distributions"]),
            "warnings": frame_from_records(d["warnings"]),
            "table_rows": d["table_rows"],
            "min_cell": d["min_cell"],
        }

    def plot(self, ax: Any = None, *, lang: str = "zh") -> Any:
        """Heat map of respondents per community and wave."""
        from evalkit.reporting.figures import sample_size_heatmap

        return sample_size_heatmap(self.sample_size_table(), ax=ax, min_cell=self.min_cell, lang=lang)


def profile_study(study: Study, *, min_cell: int = 30) -> DataQualityProfile:
    """Profile the study's survey and tables.

    Parameters
    ----------
    study
        From :func:`evalkit.load_study`.
    min_cell
        Community-wave cells with fewer respondents are flagged as small.
    """
    survey = study.tables["survey"]
    names = study.tables["communities"].set_index("community_id")["community_name"]
    sizes = (survey.groupby(["community_id", "wave"], observed=True).size()
             .rename("n").reset_index())
    sizes.insert(1, "community_name", sizes["community_id"].map(names).astype("string"))

    codebook = study.codebook
    rows = []
    coded = study.missing_codes
    for col in survey.columns:
        if col in {"respondent_id", "person_key"}:
            continue
        var = codebook[col] if col in codebook else None
        n_codes = int(coded.loc[coded["item"] == col, "count"].sum()) if not coded.empty else 0
        rows.append({
            "column": col,
            "label": var.label("zh") if var else col,
            "construct": var.construct if var else None,
            "n_missing": int(survey[col].isna().sum()),
            "share_missing": float(survey[col].isna().mean()),
            "n_missing_codes": n_codes,
        })
    missingness = pd.DataFrame(rows)

    dist_rows = []
    for var in codebook.items():
        if var.name not in survey.columns:
            continue
        counts = survey[var.name].value_counts(dropna=True).sort_index()
        total = counts.sum()
        for value, n in counts.items():
            dist_rows.append({
                "item": var.name, "construct": var.construct, "label": var.label("zh"),
                "scale": f"{var.scale_min:g}–{var.scale_max:g}",
                "value": float(value), "value_label": var.value_labels.get(value, ""),
                "n": int(n), "share": float(n / total) if total else float("nan"),
            })
    dists = pd.DataFrame(dist_rows)

    return DataQualityProfile(
        estimates=sizes,
        provenance=Provenance.current(seed=study.config.seed),
        missingness=missingness,
        item_distributions=dists,
        warnings=study.warnings_frame(),
        table_rows={k: len(v) for k, v in study.tables.items()},
        min_cell=min_cell,
    )
