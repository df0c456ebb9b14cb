"""Words for disclosure reason codes and audit finding kinds (zh / en), and table notes.

``evalkit.disclosure`` and ``evalkit.audit`` return codes only; this module is
where they become the words a report or the command line shows.
"""

from __future__ import annotations

from evalkit.reporting.text import lang_code

__all__ = ["REASON_LABELS", "FINDING_LABELS", "reason_label", "finding_label", "suppression_note"]

REASON_LABELS: dict[str, dict[str, str]] = {
    "small_count": {"zh": "样本少于{min_count}人，不予公布", "en": "fewer than {min_count} contributors; not shown"},
    "dominance": {"zh": "少数个体占比过高，不予公布", "en": "dominated by a few contributors; not shown"},
    "secondary": {"zh": "为防止由合计反推而隐藏", "en": "hidden so that other cells cannot be recomputed"},
    "register": {"zh": "与其他表格或轮次保持一致而隐藏", "en": "hidden for consistency with other tables or waves"},
    "derived": {"zh": "所依据的人数已隐藏", "en": "rests on a hidden count"},
    "sensitive_extreme": {"zh": "敏感属性为0%或100%，请谨慎解读", "en": "0 % or 100 % on a sensitive attribute"},
    "extreme_statistic": {"zh": "个体极值不予公布", "en": "extremes of individuals are not shown"},
}

FINDING_LABELS: dict[str, dict[str, str]] = {
    "id_number": {"zh": "身份证号", "en": "ID number"},
    "id_number_excel_mangled": {"zh": "被Excel改写的身份证号", "en": "ID number mangled by Excel"},
    "mobile_number": {"zh": "手机号", "en": "mobile number"},
    "landline_number": {"zh": "固定电话", "en": "landline number"},
    "email": {"zh": "电子邮箱", "en": "e-mail address"},
    "street_address": {"zh": "住址", "en": "street address"},
    "person_name": {"zh": "姓名", "en": "person's name"},
    "traceback": {"zh": "错误回溯信息", "en": "traceback"},
    "row_level_table": {"zh": "个体层面数据表", "en": "row-level table"},
    "small_cell": {"zh": "未隐藏的小样本单元格", "en": "unsuppressed small cell"},
    "recoverable_cell": {"zh": "可由合计反推的隐藏单元格", "en": "hidden cell recoverable from totals"},
    "dominance": {"zh": "少数个体占比过高", "en": "dominance rule violated"},
    "extreme_statistic": {"zh": "个体极值", "en": "minimum/maximum of individuals"},
    "absolute_path": {"zh": "绝对路径", "en": "absolute path"},
    "user_name": {"zh": "含用户名的路径", "en": "path with a user name"},
    "papermill_metadata": {"zh": "papermill 元数据", "en": "papermill metadata"},
    "notebook_parameters": {"zh": "注入的运行参数", "en": "injected run parameters"},
    "unreadable_file": {"zh": "无法读取的文件", "en": "unreadable file"},
    "data_file": {"zh": "个体数据文件", "en": "microdata file"},
}


def reason_label(code: str, lang: str = "zh", *, min_count: int = 10) -> str:
    return REASON_LABELS[str(code)][lang_code(lang)].format(min_count=min_count)


def finding_label(kind: str, lang: str = "zh") -> str:
    return FINDING_LABELS[str(kind)][lang_code(lang)]


def suppression_note(codes: set[str] | list[str], lang: str = "zh", *, min_count: int = 10) -> str:
    """One table note listing why cells are hidden ("—"), in a fixed order; empty when nothing is."""
    order = [c for c in REASON_LABELS if c in set(map(str, codes))]
    if not order:
        return ""
    parts = [reason_label(c, lang, min_count=min_count) for c in order]
    if lang_code(lang) == "zh":
        return "注：“—”表示" + "；".join(parts) + "。"
    return "Note: “—” = " + "; ".join(parts) + "."
