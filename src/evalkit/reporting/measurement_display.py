"""Display-ready tables of a :class:`~evalkit.measurement.MeasurementReport`, in Chinese or English.

Formats only: selects the columns a reader needs, names them in the report language and
summarises the per community-wave weighting diagnostics by wave; every number comes from the
report object unchanged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalkit.reporting.display import show_table
from evalkit.reporting.text import lang_code

__all__ = ["measurement_table", "show_measurement_table", "show_measurement_notes"]

_HEADERS = {
    "label": ("维度", "construct"), "n_items": ("题目数", "items"), "n_scored": ("有效得分人数", "scored"),
    "alpha": ("α", "alpha"), "alpha_ci_lower": ("α 95% CI 下限", "alpha CI low"),
    "alpha_ci_upper": ("α 95% CI 上限", "alpha CI high"), "alpha_std": ("标准化 α", "std. alpha"),
    "omega_total": ("ω", "omega"), "n_flagged_items": ("问题题目数", "flagged items"),
    "icc": ("ICC", "ICC"), "weighted_mean": ("加权均值", "weighted mean"),
    "mean_ci_lower": ("均值 95% CI 下限", "mean CI low"), "mean_ci_upper": ("均值 95% CI 上限", "mean CI high"),
    "item": ("题目", "item"), "item_label": ("题目内容", "question"), "n_obs": ("样本量", "n"),
    "mean": ("均值", "mean"), "sd": ("标准差", "SD"), "r_corrected": ("校正题总相关", "corrected item-total r"),
    "alpha_if_deleted": ("删除后 α", "alpha if deleted"), "flag": ("标记", "flag"),
    "construct": ("设定维度", "assigned construct"), "primary_factor": ("主载荷因子", "main factor"),
    "primary_loading": ("主载荷", "main loading"), "communality": ("共同度", "communality"),
    "fits": ("归属一致", "fits"), "wave": ("轮次", "wave"), "n_groups": ("社区数", "communities"),
    "deff_kish": ("平均设计效应", "mean design effect"), "ess": ("有效样本量合计", "effective n (sum)"),
    "max_weight_ratio": ("最大权重比", "max weight ratio"), "all_converged": ("全部收敛", "all converged"),
    "outcome": ("维度", "construct"), "estimate": ("加权均值", "weighted mean"),
    "std_error": ("标准误", "SE"), "ci_lower": ("95% CI 下限", "CI low"), "ci_upper": ("95% CI 上限", "CI high"),
    "deff": ("设计效应", "design effect"), "between_var": ("社区间方差", "between variance"),
    "within_var": ("社区内方差", "within variance"), "n_clusters": ("社区数", "communities"),
    "deff_cluster": ("整群设计效应", "cluster design effect"),
}


def measurement_table(m: Any, name: str, lang: str = "zh") -> pd.DataFrame:
    """One of ``overview, items, efa, weights, means, icc`` for display."""
    code = 0 if lang_code(lang) == "zh" else 1
    labels = {c: m.to_frame().set_index("construct")["label"].get(c, c) for c in m.to_frame()["construct"]}
    if name == "overview":
        frame = m.to_frame().drop(columns=["construct", "icc_ci_lower", "icc_ci_upper"])
    elif name == "items":
        frame = m.reliability.items_overall().rename(columns={"label": "item_label"})
        frame = frame[["item", "item_label", "n_obs", "mean", "sd", "r_corrected", "alpha_if_deleted", "flag"]]
    elif name == "efa":
        frame = m.efa.to_frame()[["item", "construct", "primary_factor", "primary_loading", "communality",
                                  "fits"]].copy()
        frame["construct"] = frame["construct"].map(lambda c: labels.get(c, c))
        frame["primary_factor"] = frame["primary_factor"].str.removeprefix("f_").map(lambda c: labels.get(c, c))
    elif name == "weights":
        w = m.weighting.to_frame()
        frame = w.groupby("wave").agg(n_groups=("community_id", "nunique"), n_obs=("n_obs", "sum"),
                                      deff_kish=("deff_kish", "mean"), ess=("ess", "sum"),
                                      max_weight_ratio=("weight_ratio", "max"),
                                      all_converged=("converged", "all")).reset_index()
    elif name == "means":
        frame = m.means_by_wave.to_frame()[["wave", "outcome", "estimate", "std_error", "ci_lower",
                                            "ci_upper", "n_obs", "deff"]].copy()
        frame["outcome"] = frame["outcome"].map(lambda c: labels.get(c, c))
    elif name == "icc":
        icc = m.icc.to_frame()
        frame = icc[icc["group_var"] == "all"][["outcome", "icc", "ci_lower", "ci_upper", "between_var",
                                                "within_var", "n_clusters", "deff_cluster"]].copy()
        frame["outcome"] = frame["outcome"].map(lambda c: labels.get(c, c))
    else:
        msg = f"unknown measurement table {name!r}; use overview, items, efa, weights, means or icc"
        raise KeyError(msg)
    return frame.rename(columns={c: _HEADERS.get(c, (c, c))[code] for c in frame.columns})


def show_measurement_table(m: Any, name: str, lang: str = "zh") -> None:
    if name == "weights" and m.weighting is None:  # no population margins: say how it was weighted
        from IPython.display import Markdown, display

        display(Markdown(m._weighting_line(lang, 3)))
        return
    show_table(measurement_table(m, name, lang))


def show_measurement_notes(m: Any, lang: str = "zh") -> None:
    """The data-quality notes the measurement steps raised (weighting cells left out, flags)."""
    from IPython.display import Markdown, display

    notes = list(getattr(m, "notes", ()))
    if notes:
        head = "**测量过程中的提示（英文原文）：**" if lang_code(lang) == "zh" else "**Notes from the measurement steps:**"
        display(Markdown(head + "\n\n" + "\n".join(f"- {n}" for n in notes)))
