"""Checks a field team expects: flag suspicious interviews and values, never drop them.

:func:`run_quality_checks` takes the (stacked) survey as intake conformed it,
the source row and file of each row, and optionally the raw tables as read
(source headers, before personal columns were dropped: ID numbers and the
questionnaire platform's timing columns live there). It returns
:class:`~evalkit.intake.problems.Problem` records; nothing is removed or
changed. Checks:

===========================  ===========================================================
check                        what is flagged
===========================  ===========================================================
``speeding``                 interview duration (所用时间 ``356秒``, or end − start) below
                             ``min_seconds`` or below ``speeding_share`` × the median
``straight_lining``          the same answer to every item of a scale (≥ ``straightline_min_items``)
``duplicate_exact``          rows identical in every answer (entered or uploaded twice)
``duplicate_conflicting``    one respondent (ID number pseudonym or 问卷编号) twice in a wave
                             with different answers
``minor``                    age (or birth year) below ``min_age`` where the design is adults
``birth_year``               birth years that are not years, before 1900 or in the future
``empty_item``               a codebook item with no answer at all (in a file or overall)
``reversed_item``            negative item-rest correlation: an item already reverse-coded,
                             or a scale reversed in one file/wave
``community_name``           community name differing from the registry's name for its id
``id_number_mangled``        ID numbers Excel turned into numbers (``4.3E+17``): digits lost
``id_number_invalid``        ID numbers whose GB 11643 check digit or birth date is invalid
``excel_serial_date``        dates stored as Excel serial numbers (``44470``)
``impossible_date``          dates that do not exist (2023-02-30) or are out of range
``mixed_date_formats``       one column mixing 2023-05-08, 2023/5/8, 5/8/2023, 2023年5月8日
``undeclared_code``          codes not among the codebook's value labels or missing codes
===========================  ===========================================================

Personal values never appear in a message: ID numbers, phones and names go
through :func:`evalkit.privacy.mask` (``430***********3355``, ``139****5678``,
``张**``), and duplicate checks quote rows, not values.

Why hand-written: these are field-team rules of thumb over a few columns, each
a vectorised pandas expression; the GB 11643 check digit is
:func:`evalkit.privacy.valid_id_number`. The item-rest correlation is the
textbook corrected item-total correlation (as ``psych::alpha``'s ``r.drop``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.codebook import Codebook
from evalkit.intake.problems import Problem, Severity, format_rows, format_values
from evalkit.privacy import mask, valid_id_number

__all__ = ["QualitySettings", "run_quality_checks", "parse_duration_seconds", "item_rest_correlations"]


@frozen
class QualitySettings:
    """Thresholds of the field-team checks (all keyword-only in spirit; defaults are conservative).

    ``min_age`` is None unless the design samples adults only (then usually 18).
    A duration is speeding when below ``min_seconds`` (if given) or below
    ``speeding_share`` × the median duration of its file.
    """

    min_age: int | None = None
    min_seconds: float | None = None
    speeding_share: float | None = 1 / 3
    straightline_min_items: int = 5
    reversed_min_n: int = 30
    #: flag an item only when its item-rest r is clearly negative: items of unrelated random answers
    #: scatter around 0 (|r| ≈ 0.03 at n = 1,000), a reverse-coded item of a real scale sits near −0.2 or below
    reversed_max_r: float = -0.1
    #: … and the negative correlation must be beyond chance (one-sided t test at 1 %): in a small file
    #: an unrelated item can reach r = −0.18 by chance
    reversed_t: float = -2.326
    id_columns: tuple[str, ...] = ("身份证号", "身份证号码", "身份证", "证件号码", "id_number")
    duration_columns: tuple[str, ...] = ("所用时间", "答题时长", "作答时长", "填写用时", "duration",
                                         "duration_seconds")
    start_columns: tuple[str, ...] = ("开始时间", "开始答题时间", "start_time", "started_at")
    end_columns: tuple[str, ...] = ("提交答卷时间", "提交时间", "结束时间", "end_time", "submitted_at")
    name_columns: tuple[str, ...] = ("community_name", "社区名称", "所在社区")
    birth_year_columns: tuple[str, ...] = ("birth_year", "出生年份", "出生年")


class _Out:
    """Collects problems; says where (file, rows) for rows that may come from several files."""

    def __init__(self, files: np.ndarray, rows: np.ndarray):
        self.files = files
        self.rows = rows
        self.problems: list[Problem] = []

    def add(self, check: str, mask_: np.ndarray, column: str | None, what: str, fix: str, *,
            values: Sequence[object] = (), severity: Severity = "warning") -> None:
        """One problem per file for the rows where ``mask_`` holds."""
        mask_ = np.asarray(mask_, dtype=bool)
        for file in dict.fromkeys(self.files[mask_].tolist()):
            sel = mask_ & (self.files == file)
            rows = self.rows[sel]
            col = f", column '{column}'" if column else ""
            vals = f" (values: {format_values(values)})" if len(values) else ""
            msg = f"{file}{col}, {format_rows(rows)}: {what}{vals}. {fix}".rstrip()
            self.problems.append(Problem(file, check, msg, severity, column,
                                         tuple(int(r) for r in rows[:50]), tuple(str(v) for v in values[:50])))

    def add_file(self, check: str, file: str, column: str | None, what: str, fix: str, *,
                 severity: Severity = "warning") -> None:
        col = f", column '{column}'" if column else ""
        self.problems.append(Problem(file, check, f"{file}{col}: {what}. {fix}", severity, column))


def run_quality_checks(
    survey: pd.DataFrame,
    *,
    rows: np.ndarray,
    files: str | Sequence[str] | np.ndarray,
    raw: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
    codebook: Codebook | None = None,
    settings: QualitySettings = QualitySettings(),
) -> list[Problem]:
    """Flag suspicious interviews and values in the survey; nothing is dropped or changed.

    Parameters
    ----------
    survey
        The survey as conformed by intake (canonical columns; several files stacked).
    rows, files
        For each row of ``survey``: the row the user sees in its source file, and that
        file (one string when all rows come from one file).
    raw
        The source cells aligned row by row with ``survey`` (the ``RawTable.frame``s,
        stacked), with source headers and personal columns still present; needed for
        ID numbers, 所用时间 and other columns intake does not keep.
    registry
        The community registry (``community_id``, ``community_name``).
    codebook
        For items, scales, reverse flags, value labels and missing codes.
    settings
        Thresholds; see :class:`QualitySettings`.

    Returns
    -------
    list of Problem
        Warnings (and errors for an all-empty item), each naming file, rows and column.
    """
    n = len(survey)
    file_arr = np.full(n, files, dtype=object) if isinstance(files, str) else np.asarray(files, dtype=object)
    out = _Out(file_arr, np.asarray(rows))
    if n == 0:
        return []
    survey = survey.reset_index(drop=True)
    raw = raw.reset_index(drop=True) if raw is not None else None
    both = survey if raw is None else pd.concat([survey, raw[[c for c in raw.columns if c not in survey]]], axis=1)
    items = [v for v in (codebook.items() if codebook is not None else ()) if v.name in survey.columns]
    _speeding(both, out, settings)
    if items:
        _straight_lining(survey, items, out, settings)
        _empty_items(survey, items, out)
        _reversed_items(survey, items, out, settings)
    _duplicates(survey, out)
    _age(both, out, settings)
    if registry is not None:
        _community_names(both, registry, out, settings)
    if raw is not None:
        _id_numbers(raw, out, settings, codebook)
        _raw_dates(raw, out, settings)
    if codebook is not None:
        _undeclared_codes(survey, codebook, out)
    return out.problems


# --------------------------------------------------------------------------- interviews

_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(?:小时|时|h))?\s*(?:(\d+(?:\.\d+)?)\s*(?:分钟|分|min|m))?"
                          r"\s*(?:(\d+(?:\.\d+)?)\s*(?:秒钟|秒|s|sec))?\s*$", re.I)


def parse_duration_seconds(values: pd.Series) -> pd.Series:
    """Durations as seconds: ``356``, ``356秒``, ``5分56秒``, ``1小时2分``, ``00:05:56``; else NaN."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").astype("float64")
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    parts = text.str.extract(_DURATION_RE)
    hms = parts.apply(pd.to_numeric, errors="coerce").astype("float64")
    any_part = hms.notna().any(axis=1)
    from_units = (hms[0].fillna(0) * 3600 + hms[1].fillna(0) * 60 + hms[2].fillna(0)).where(any_part)
    clock = text.str.extract(r"^(\d{1,2}):(\d{2}):(\d{2})$").apply(pd.to_numeric, errors="coerce")
    from_clock = clock[0] * 3600 + clock[1] * 60 + clock[2]
    return num.fillna(from_units).fillna(from_clock.astype("float64"))


def _first(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((c for c in names if c in frame.columns), None)


def _speeding(frame: pd.DataFrame, out: _Out, s: QualitySettings) -> None:
    col = _first(frame, s.duration_columns)
    if col is not None:
        secs = parse_duration_seconds(frame[col])
        label = col
    else:
        start, end = _first(frame, s.start_columns), _first(frame, s.end_columns)
        if start is None or end is None:
            return
        t0 = _to_datetime(frame[start])
        t1 = _to_datetime(frame[end])
        secs = (t1 - t0).dt.total_seconds()
        label = f"{start}–{end}"
    secs = secs.to_numpy(dtype="float64", na_value=np.nan)
    fast = np.zeros(len(secs), dtype=bool)
    limits = []
    for file in dict.fromkeys(out.files.tolist()):
        sel = out.files == file
        lim = -np.inf
        if s.min_seconds is not None:
            lim = s.min_seconds
        if s.speeding_share is not None and np.isfinite(secs[sel]).sum() >= 10:
            lim = max(lim, s.speeding_share * float(np.nanmedian(secs[sel])))
        fast |= sel & (secs < lim)
        limits.append(lim)
    negative = np.isfinite(secs) & (secs < 0)
    if negative.any():
        out.add("speeding", negative, label, f"{int(negative.sum())} interview(s) end before they start",
                "Check the start and end times (clock or time-zone errors)", values=[f"{v:g}s" for v in secs[negative][:5]])
    fast &= ~negative
    if fast.any():
        lim = max(limits)
        out.add("speeding", fast, label,
                f"{int(fast.sum())} interview(s) took less than {lim:.0f} seconds (speeding; the "
                f"threshold is {'min_seconds' if s.min_seconds is not None and lim == s.min_seconds else f'{s.speeding_share:.2f} × the median'})",
                "Check these interviews with the field team; exclude them in the analysis plan if they "
                "were not real interviews (they are kept here)", values=[f"{v:g}s" for v in secs[fast][:5]])


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip().str.replace(r"[/.年月]", "-", regex=True).str.replace("日", "")
    return pd.to_datetime(text, errors="coerce", format="mixed")


def _item_matrix(survey: pd.DataFrame, items) -> np.ndarray:
    cols = [pd.to_numeric(survey[v.name], errors="coerce").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
            for v in items]
    return np.column_stack(cols) if cols else np.zeros((len(survey), 0))


def _straight_lining(survey: pd.DataFrame, items, out: _Out, s: QualitySettings) -> None:
    by_scale: dict[tuple[float, float], list] = {}
    for v in items:
        by_scale.setdefault((v.scale_min, v.scale_max), []).append(v)
    for (lo, hi), group in by_scale.items():
        if len(group) < s.straightline_min_items:
            continue
        x = _item_matrix(survey, group)
        answered = np.isfinite(x).sum(axis=1)
        with np.errstate(invalid="ignore"):
            same = (np.nanmax(np.where(np.isfinite(x), x, -np.inf), axis=1)
                    == np.nanmin(np.where(np.isfinite(x), x, np.inf), axis=1))
        flat = same & (answered >= s.straightline_min_items)
        if flat.any():
            reversed_ = any(v.reverse for v in group)
            why = " although some items are reverse-worded, so identical answers contradict each other" if reversed_ else ""
            out.add("straight_lining", flat, None,
                    f"{int(flat.sum())} respondent(s) gave the same answer to every item they answered "
                    f"(at least {s.straightline_min_items} of {len(group)}) on the "
                    f"{lo:g}–{hi:g} scale ({', '.join(v.name for v in group[:6])}{' …' if len(group) > 6 else ''})"
                    f"{why}", "Check these interviews with the field team (straight-lining); they are kept")


def _empty_items(survey: pd.DataFrame, items, out: _Out) -> None:
    for v in items:
        answered = survey[v.name].notna().to_numpy()
        if not answered.any():
            out.add_file("empty_item", ", ".join(dict.fromkeys(out.files.tolist())), v.source_name,
                         f"item '{v.name}' has no answer in any row, so its scale '{v.construct}' would "
                         "silently average the other items only",
                         "Check the column mapping (source_name) and the export; if the item was not "
                         "asked, remove it from the codebook", severity="error")
            continue
        for file in dict.fromkeys(out.files.tolist()):
            sel = out.files == file
            if sel.sum() >= 5 and not answered[sel].any():
                out.add_file("empty_item", file, v.source_name,
                             f"item '{v.name}' has no answer in this file ({int(sel.sum())} rows) while other "
                             "files have answers", "Check that the column was exported and mapped in this file")


def _reversed_items(survey: pd.DataFrame, items, out: _Out, s: QualitySettings) -> None:
    by_construct: dict[str, list] = {}
    for v in items:
        by_construct.setdefault(v.construct, []).append(v)
    for construct, group in by_construct.items():
        if len(group) < 3:
            continue
        x = _item_matrix(survey, group)
        for j, v in enumerate(group):
            if v.reverse:
                x[:, j] = v.scale_min + v.scale_max - x[:, j]
        for file in dict.fromkeys(out.files.tolist()):
            sel = out.files == file
            xs = x[sel]
            xs = xs[np.isfinite(xs).all(axis=1)]
            if len(xs) < s.reversed_min_n:
                continue
            r_drop = item_rest_correlations(xs)
            for j, v in enumerate(group):
                r = float(r_drop[j])
                t_stat = r * np.sqrt((len(xs) - 2) / max(1e-12, 1 - r * r))
                if r < s.reversed_max_r and t_stat < s.reversed_t:
                    state = "marked reverse: true in the codebook" if v.reverse else "not marked reverse"
                    out.add_file("reversed_item", file, v.source_name, (
                        f"item '{v.name}' correlates negatively with the rest of scale '{construct}' "
                        f"(item-rest r = {r:.2f}, n = {len(xs)}; it is {state}), so it looks reverse-coded "
                        "twice or the scale's codes are reversed in this file"),
                        "Compare the item's value labels in this file with the codebook; fix `reverse:` or "
                        "the file's codes")


def item_rest_correlations(x: np.ndarray) -> np.ndarray:
    """Corrected item-total correlations (each item with the sum of the others; ``psych::alpha``'s
    ``r.drop``) of a complete cases × items matrix; NaN for a constant item or rest score."""
    x = np.asarray(x, dtype="float64")
    total = x.sum(axis=1, keepdims=True)
    rest = total - x
    xc = x - x.mean(axis=0)
    rc = rest - rest.mean(axis=0)
    den = np.sqrt((xc**2).sum(axis=0) * (rc**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * rc).sum(axis=0) / np.where(den > 0, den, 1), np.nan)


def _duplicates(survey: pd.DataFrame, out: _Out) -> None:
    answers = [c for c in survey.columns if c not in ("respondent_id",)]
    if not answers:
        return
    exact = survey.duplicated(subset=answers, keep=False).to_numpy(copy=True)
    if "person_key" not in survey.columns:
        exact &= survey[answers].notna().sum(axis=1).to_numpy() >= 3
    if exact.any():
        out.add("duplicate_exact", exact, None,
                f"{int(exact.sum())} rows are identical in every answer (the same interview entered or "
                "uploaded twice)", "Keep one copy of each; the duplicates are kept here")
    wave = ["wave"] if "wave" in survey.columns else []
    # the same person by ID number (pseudonymised), or the same questionnaire number in two
    # files (within one file intake already refuses a repeated key)
    for key, who in (("person_key", "the same person (same ID number)"),
                     ("respondent_id", "the same questionnaire number in different files")):
        if key not in survey.columns:
            continue
        has = survey[key].notna().to_numpy()
        twice = survey.duplicated(subset=[key, *wave], keep=False).to_numpy() & has & ~exact
        if key == "respondent_id" and twice.any():
            files_per_key = pd.Series(out.files[twice]).groupby(survey.loc[twice, key].to_numpy()).nunique()
            twice &= survey[key].map(files_per_key).fillna(0).to_numpy() > 1
        if twice.any():
            out.add("duplicate_conflicting", twice, key,
                    f"{int(twice.sum())} rows are {who}, twice in one wave with different answers",
                    "Find out which interview is valid (or whether the number was mistyped) and remove the other")


def _age(frame: pd.DataFrame, out: _Out, s: QualitySettings) -> None:
    year_col = _first(frame, s.birth_year_columns)
    now = dt.date.today().year
    if year_col is not None:
        raw = frame[year_col]
        years = pd.to_numeric(raw.astype("string").str.strip().str.replace("年", ""), errors="coerce")
        bad = (years.notna() & ((years < 1900) | (years > now) | (years % 1 != 0))).to_numpy()
        notyear = (years.isna() & raw.notna() & (raw.astype("string").str.strip() != "")).to_numpy()
        if (bad | notyear).any():
            shown = raw[bad | notyear].astype("string").drop_duplicates().head(5).tolist()
            out.add("birth_year", bad | notyear, year_col,
                    f"{int((bad | notyear).sum())} birth year(s) are impossible (before 1900, in the future, or "
                    "not a year)", "Correct them; write four-digit years such as 1968", values=shown)
    if s.min_age is None:
        return
    age = pd.to_numeric(frame["age"], errors="coerce") if "age" in frame.columns else None
    if age is None and year_col is not None:
        ref = (pd.to_datetime(frame["interview_date"], errors="coerce").dt.year
               if "interview_date" in frame.columns else pd.Series(now, index=frame.index))
        age = ref - pd.to_numeric(frame[year_col].astype("string").str.replace("年", ""), errors="coerce")
    if age is None:
        return
    minor = (age.notna() & (age < s.min_age)).to_numpy()
    if minor.any():
        out.add("minor", minor, "age" if "age" in frame.columns else year_col,
                f"{int(minor.sum())} respondent(s) are younger than {s.min_age}, but the design samples adults",
                "Check the age/birth year; if minors were interviewed, they need consent procedures and "
                "may have to be excluded", values=sorted({f"{a:g}" for a in age[minor].tolist()})[:5])


def _norm_name(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    return text.str.replace(r"(社区居民委员会|居民委员会|社区居委会|居委会|村民委员会|村委会|社区|村)$", "", regex=True)


def _community_names(frame: pd.DataFrame, registry: pd.DataFrame, out: _Out, s: QualitySettings) -> None:
    col = _first(frame, s.name_columns)
    if col is None or "community_id" not in frame.columns or not {"community_id", "community_name"} <= set(registry):
        return
    reg = registry.drop_duplicates("community_id").set_index("community_id")["community_name"]
    expected = frame["community_id"].map(reg)
    got = _norm_name(frame[col])
    want = _norm_name(expected)
    diff = (got.notna() & want.notna() & (got != want)).fillna(False).to_numpy(dtype=bool)
    if diff.any():
        pairs = (frame.loc[diff, "community_id"].astype(str) + " = " + frame.loc[diff, col].astype(str)
                 + " (registry: " + expected[diff].astype(str) + ")").drop_duplicates().tolist()
        out.add("community_name", diff, col,
                f"{int(diff.sum())} row(s) give a community name that differs from the registry's name for "
                "their community id", "Check which is right: a wrong id puts the respondent in another "
                "community", values=pairs[:5])


# --------------------------------------------------------------------------- raw cells

_SCI_RE = r"^\s*\d(?:\.\d+)?[eE]\+?\d+\s*$"


_ID_NAME_RE = re.compile(r"身份证|证件号|id_number|id_card", re.I)


def _id_numbers(raw: pd.DataFrame, out: _Out, s: QualitySettings, codebook: Codebook | None) -> None:
    named = {v.source_name for v in (codebook.personal() if codebook is not None else ())
             if _ID_NAME_RE.search(f"{v.name} {v.source_name} {v.label_zh}")}
    cols = [c for c in raw.columns if c in s.id_columns or c in named or _ID_NAME_RE.search(str(c))]
    for col in cols:
        series = raw[col]
        if pd.api.types.is_integer_dtype(series):  # whole numbers keep all 18 digits (no X, though)
            mangled = np.zeros(len(series), dtype=bool)
            text = series.astype("string")
        elif pd.api.types.is_numeric_dtype(series):  # floats keep 15–17 significant digits only
            mangled = series.notna().to_numpy()
            text = series.astype("string")
        else:
            text = series.astype("string").str.strip()
            is_float = series.map(lambda v: isinstance(v, float) and not np.isnan(v)).to_numpy(dtype=bool) \
                if series.dtype == object else np.zeros(len(series), dtype=bool)
            mangled = (text.str.match(_SCI_RE, na=False).to_numpy(dtype=bool) | is_float
                       | text.str.fullmatch(r"\d{15,18}\.0", na=False).to_numpy(dtype=bool))
        if mangled.any():
            out.add("id_number_mangled", mangled, str(col),
                    f"{int(mangled.sum())} ID number(s) were turned into numbers by Excel (shown as e.g. "
                    "4.3E+17); Excel keeps only 15 digits, so the last digits are lost and these respondents "
                    "cannot be linked across waves or files",
                    "Export the data again with the ID column formatted as 文本 (Text) before entry; the lost "
                    "digits cannot be recovered from this file", values=[mask(v) for v in text[mangled].head(3)],
                    severity="warning")
        cand = text.where(~pd.Series(mangled, index=text.index)).str.upper()
        present = cand.notna() & (cand.str.len() > 0)
        well_formed = cand.str.fullmatch(r"\d{17}[\dX]", na=False)
        checksum = np.array([valid_id_number(v) if ok else False
                             for v, ok in zip(cand.fillna("").tolist(), well_formed.tolist())], dtype=bool)
        births = pd.to_datetime(cand.where(well_formed).str.slice(6, 14), format="%Y%m%d", errors="coerce")
        bad_birth = (well_formed & (births.isna() | (births.dt.year < 1900)
                                    | (births > pd.Timestamp.now()))).to_numpy(dtype=bool)
        bad = present.to_numpy(dtype=bool) & (~well_formed.to_numpy(dtype=bool) | ~checksum | bad_birth)
        if bad.any():
            kinds = []
            if (present & ~well_formed).any():
                kinds.append("not 18 characters of digits (last may be X)")
            if (well_formed.to_numpy(dtype=bool) & ~checksum).any():
                kinds.append("a wrong check digit (GB 11643)")
            if bad_birth.any():
                kinds.append("an impossible birth date")
            out.add("id_number_invalid", bad, str(col),
                    f"{int(bad.sum())} ID number(s) are invalid: {'; '.join(kinds)}",
                    "Check them against the source documents; mistyped ID numbers break linkage",
                    values=[_mask_id(v) for v in cand[bad].head(3)])


def _mask_id(text: str) -> str:
    """``430102199001011234`` → ``430***********1234`` (as :func:`evalkit.privacy.mask`), any length."""
    if len(text) >= 10:
        return f"{text[:3]}{'*' * (len(text) - 7)}{text[-4:]}"
    return mask(text)


_DATE_FORMATS = {
    "YYYY-MM-DD": r"\d{4}-\d{1,2}-\d{1,2}",
    "YYYY/MM/DD": r"\d{4}/\d{1,2}/\d{1,2}",
    "YYYY.MM.DD": r"\d{4}\.\d{1,2}\.\d{1,2}",
    "YYYY年M月D日": r"\d{4}年\d{1,2}月\d{1,2}日?",
    "D/M/YYYY or M/D/YYYY": r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}",
    "YYYYMMDD": r"(?:19|20)\d{6}",
    "Excel serial": r"[2-7]\d{4}(?:\.\d+)?",
}
_TIME_TAIL = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"


_BIRTH_RE = re.compile(r"出生|生日|birth", re.I)


def _date_columns(raw: pd.DataFrame) -> list[str]:
    return [c for c in raw.columns
            if re.search(r"日期|时间|date|_at$|生日|出生年月", str(c), re.I) and not re.search(r"所用|用时|时长", str(c))]


def _raw_dates(raw: pd.DataFrame, out: _Out, s: QualitySettings) -> None:
    for col in _date_columns(raw):
        series = raw[col]
        if pd.api.types.is_datetime64_any_dtype(series) or series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        text = series.astype("string").str.strip()
        # birth dates identify people: their values are never quoted, only rows and formats

        def shown(mask_: np.ndarray, k: int, col: str = str(col)) -> list[str]:
            return [] if _BIRTH_RE.search(col) else text[mask_].head(k).tolist()

        present = text.notna() & (text != "")
        kind = pd.Series(pd.NA, index=text.index, dtype="string")
        for name, pattern in _DATE_FORMATS.items():
            hit = present & kind.isna() & text.str.fullmatch(pattern + _TIME_TAIL, na=False)
            kind[hit] = name
        counts = kind.value_counts()
        serial = (kind == "Excel serial").fillna(False).to_numpy(dtype=bool)
        if serial.any():
            ex = float(text[serial].iloc[0])
            as_date = (pd.Timestamp("1899-12-30") + pd.to_timedelta(ex, unit="D")).date()
            out.add("excel_serial_date", serial, str(col),
                    f"{int(serial.sum())} date(s) are Excel serial numbers"
                    + ("" if _BIRTH_RE.search(str(col)) else f" (e.g. {ex:g} = {as_date})"),
                    "Format the column as a date in Excel/WPS (设置单元格格式 → 日期) and export again",
                    values=shown(serial, 3))
        textual = counts.drop("Excel serial", errors="ignore")
        if len(textual) > 1:
            minority = kind.isin(textual.index[1:]).fillna(False).to_numpy(dtype=bool)
            listed = ", ".join(f"{k} ×{v}" for k, v in textual.items())
            ambiguous = " Day/month order in D/M/YYYY is ambiguous." if "D/M/YYYY or M/D/YYYY" in textual else ""
            out.add("mixed_date_formats", minority, str(col),
                    f"dates are written in {len(textual)} formats ({listed}); the rows listed use the less "
                    f"common ones.{ambiguous}", "Write every date as YYYY-MM-DD",
                    values=shown(minority, 3))
        normal = text.str.replace(r"[/.年月]", "-", regex=True).str.replace("日", "", regex=False)
        ymd = normal.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
        has = ymd.notna().all(axis=1)
        if has.any():
            parsed = pd.to_datetime(ymd[0].str.cat([ymd[1].str.zfill(2), ymd[2].str.zfill(2)], sep="-"),
                                    format="%Y-%m-%d", errors="coerce")
            impossible = (has & (parsed.isna() | (parsed.dt.year < 1900)
                                 | (parsed > pd.Timestamp.now() + pd.Timedelta(days=366)))).to_numpy(dtype=bool)
            if impossible.any():
                out.add("impossible_date", impossible, str(col),
                        f"{int(impossible.sum())} date(s) do not exist or are out of range",
                        "Correct them (e.g. 2023-02-30 does not exist)", values=shown(impossible, 5))


def _undeclared_codes(survey: pd.DataFrame, codebook: Codebook, out: _Out) -> None:
    for v in codebook.for_table("survey"):
        if v.name not in survey.columns or not v.value_labels or v.is_personal:
            continue
        nums = pd.to_numeric(survey[v.name], errors="coerce")
        if nums.isna().all():
            continue
        known = set(v.value_labels) | set(v.missing_codes)
        lo = v.scale_min if v.scale_min is not None else -np.inf
        hi = v.scale_max if v.scale_max is not None else np.inf
        undeclared = (nums.notna() & ~nums.isin(list(known)) & nums.between(lo, hi)).to_numpy(dtype=bool)
        if undeclared.any():
            codes = sorted(set(nums[undeclared].tolist()))
            out.add("undeclared_code", undeclared, v.source_name,
                    f"code(s) {', '.join(f'{c:g}' for c in codes[:5])} of '{v.name}' have no value label in the "
                    "codebook", "Add them to value_labels (or missing_codes) in the codebook, or correct the data",
                    values=[f"{c:g}" for c in codes[:5]])
