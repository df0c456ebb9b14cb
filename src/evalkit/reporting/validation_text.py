"""Words for intake facts: the ``evalkit validate`` report, derivations and unavailable columns.

Intake returns problems (each with its own English sentence naming file, row, column and
fix), :class:`~evalkit.intake.derive.Derivation` facts and reason codes; this module puts
them into the text the command prints and the tables the data-quality report shows, in
Chinese or English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.reporting.text import lang_code

__all__ = ["render_validation", "derivations_table", "unavailable_table", "show_intake_facts"]

_WORDS = {
    "zh": {"error": "错误", "warning": "警告", "notice": "提示", "title": "evalkit 校验",
           "summary": "共 {error} 个错误、{warning} 个警告、{notice} 条提示，涉及 {files} 个文件",
           "tables": "已读入的表", "rows": "行", "derived": "自动推算的列", "unavailable": "缺少的列及受影响的分析",
           "stopped": "配置或编码本有误，未能继续检查数据文件；改正后再运行。",
           "clean": "结果：通过，没有错误或警告。", "warn": "结果：没有错误，但有警告；请逐条确认。",
           "fail": "结果：有错误；请全部改正后再运行 evalkit validate。",
           "from": "由", "left_empty": "{n} 行无法推算"},
    "en": {"error": "ERROR", "warning": "WARNING", "notice": "NOTICE", "title": "evalkit validate",
           "summary": "{error} error(s), {warning} warning(s), {notice} notice(s) in {files} file(s)",
           "tables": "Tables read", "rows": "rows", "derived": "Derived columns",
           "unavailable": "Columns the study lacks, and the analyses that leave them out",
           "stopped": "The config or codebook has a mistake, so the data files were not checked; fix it and run again.",
           "clean": "Result: clean, no errors or warnings.",
           "warn": "Result: no errors, but warnings; check each one.",
           "fail": "Result: errors; fix all of them and run evalkit validate again.",
           "from": "from", "left_empty": "{n} rows could not be derived"},
}
_COUNT_WORDS = {"zh": ("错误", "警告", "提示"), "en": ("error(s)", "warning(s)", "notice(s)")}


def _words(lang: str) -> dict[str, str]:
    return _WORDS["zh" if lang_code(lang) == "zh" else "en"]


def derivations_table(derivations: Any, lang: str = "zh") -> pd.DataFrame:
    """Derived columns with the method in words: column, method, sources, rows, rows left empty."""
    from evalkit.intake.derive import DERIVATION_METHODS

    code = 0 if lang_code(lang) == "zh" else 1
    heads = (("列", "推算方法", "依据", "推算行数", "无法推算行数", "文件") if code == 0
             else ("column", "method", "from", "rows", "rows left empty", "file"))
    rows = [(d.column, DERIVATION_METHODS.get(d.method, (d.method, d.method))[code], ", ".join(d.sources),
             d.n_rows, d.n_missing, d.file or "") for d in derivations]
    return pd.DataFrame(rows, columns=list(heads))


def unavailable_table(unavailable: Any, lang: str = "zh") -> pd.DataFrame:
    """Columns or tables the study lacks and, in words, the analyses that leave them out."""
    from evalkit.datamodel import ANALYSES

    code = 0 if lang_code(lang) == "zh" else 1
    heads = ("缺少的列或表", "不纳入该信息的分析") if code == 0 else ("missing column or table", "analyses that leave it out")
    sep = "、" if code == 0 else ", "
    rows = [(col, sep.join(ANALYSES.get(a, (a, a))[code] for a in codes)) for col, codes in unavailable.items()]
    return pd.DataFrame(rows, columns=list(heads))


def show_intake_facts(study: Any, lang: str = "zh") -> None:
    """The data-quality report's block on what intake derived and which analyses lack a column."""
    from evalkit.reporting.display import markdown, show_table

    w = _words(lang)
    if study.derivations:
        markdown(f"**{w['derived']}**")
        show_table(derivations_table(study.derivations, lang))
    if study.unavailable:
        markdown(f"**{w['unavailable']}**")
        show_table(unavailable_table(study.unavailable, lang))


def render_validation(report: Any, lang: str = "en") -> str:
    """The text of ``evalkit validate``: a summary, then every problem grouped by file, with counts."""
    w = _words(lang)
    zh = lang_code(lang) == "zh"
    groups = report.by_file()
    counts = report.counts()
    lines = [f"{w['title']}: {report.config}",
             w["summary"].format(files=len(groups), **counts), ""]
    for file, problems in groups.items():
        per = [sum(p.severity == s for p in problems) for s in ("error", "warning", "notice")]
        tally = ("，" if zh else ", ").join(f"{n} {word}" if not zh else f"{n} 个{word}"
                                            for n, word in zip(per, _COUNT_WORDS["zh" if zh else "en"]) if n)
        lines.append(f"== {file} ({tally})")
        for p in problems:
            lines.append(f"  {w[p.severity]:<7} [{p.check}] {p.message}")
        lines.append("")
    if report.stopped:
        lines += [w["stopped"], ""]
    if report.tables:
        lines.append(f"{w['tables']}: " + ", ".join(f"{k} {v} {w['rows']}" for k, v in report.tables.items()))
    if report.derivations:
        lines.append(f"{w['derived']}:")
        table = derivations_table(report.derivations, lang)
        for r in table.itertuples(index=False):
            empty = f"; {w['left_empty'].format(n=r[4])}" if r[4] else ""
            file = f"; {Path(r[5]).name}" if r[5] else ""
            lines.append(f"  {r[0]}: {r[1]} ({w['from']} {r[2]}; {r[3]} {w['rows']}{empty}{file})")
    if report.unavailable:
        lines.append(f"{w['unavailable']}:")
        for r in unavailable_table(report.unavailable, lang).itertuples(index=False):
            lines.append(f"  {r[0]}: {r[1]}")
    lines.append("")
    lines.append(w["fail"] if report.exit_code == 2 else w["warn"] if report.exit_code == 1 else w["clean"])
    return "\n".join(lines)
