"""Check one raw table against the data model and turn it into typed columns.

Given a :class:`~evalkit.intake.readers.RawTable` (every cell as the file had
it), :func:`conform_table` renames headers to canonical names, drops personal
and unknown columns, converts each column to its declared kind, applies the
codebook to survey items, and checks ranges, allowed values and keys. It never
stops at the first problem: each one is logged as a
:class:`~evalkit.intake.problems.Problem` naming file, sheet, row(s) as the
user sees them, column, the values found and the fix; the caller raises once.

Why hand-written rather than pandera: the checks themselves are simple, but
what we need is the conversion of messy field text (Chinese labels such as
男/本地户籍, dates written 2021年3月1日 or as Excel serial numbers, SPSS value
labels) together with messages that point at the *source* row and header and
mask personal values; pandera's failure cases speak of the already-converted
frame.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.codebook import Codebook, Variable
from evalkit.datamodel import ANALYSES, ColumnSpec, TableSpec
from evalkit.intake.mapping import NORMALISATIONS, HeaderResolution, resolve_headers, suggest_headers
from evalkit.intake.problems import Problem, ProblemLog, format_rows, format_values
from evalkit.intake.readers import RawTable
from evalkit.intake.vectorised import all_distinct, by_unique, numbers_from_text
from evalkit.privacy import ID_NUMBER_RE, MOBILE_RE, looks_personal, mask, pseudonymise

__all__ = ["conform_table", "CATEGORY_ALIASES", "needed_by_text"]

#: field spellings of category values → canonical codes (lower-cased keys)
CATEGORY_ALIASES: dict[str, dict[str, str]] = {
    "gender": {"男": "male", "男性": "male", "m": "male", "male": "male",
               "女": "female", "女性": "female", "f": "female", "female": "female"},
    "hukou": {"本地": "local", "本地户籍": "local", "本市户籍": "local", "本地户口": "local", "local": "local",
              "外地": "migrant", "外地户籍": "migrant", "外来": "migrant", "流动人口": "migrant",
              "非本地户籍": "migrant", "migrant": "migrant"},
    "urban_rural": {"城市": "urban", "城镇": "urban", "城市社区": "urban", "urban": "urban",
                    "农村": "rural", "乡村": "rural", "农村社区": "rural", "rural": "rural"},
    "education": {"小学及以下": "primary", "小学": "primary", "primary": "primary",
                  "初中": "junior", "junior": "junior",
                  "高中": "senior", "高中/中专": "senior", "高中及中专": "senior", "中专": "senior",
                  "senior": "senior",
                  "大专及以上": "college", "大专": "college", "本科": "college", "本科及以上": "college",
                  "college": "college"},
    "method": {"个案": "casework", "个案工作": "casework", "casework": "casework",
               "小组": "group", "小组工作": "group", "group": "group",
               "社区活动": "event", "活动": "event", "event": "event",
               "入户探访": "home_visit", "探访": "home_visit", "home_visit": "home_visit"},
    "channel": {"热线": "hotline", "12345": "hotline", "12345热线": "hotline", "hotline": "hotline",
                "来访": "walk_in", "窗口": "walk_in", "walk_in": "walk_in",
                "微信": "wechat", "wechat": "wechat",
                "网格员": "grid_worker", "grid_worker": "grid_worker"},
    "programme": {"三社联动": "sanshe", "三社": "sanshe", "sanshe": "sanshe",
                  "五社联动": "wushe", "五社": "wushe", "wushe": "wushe",
                  "其他": "other", "other": "other"},
    "age_band": {"18-34": "18-34", "18–34": "18-34", "18-34岁": "18-34",
                 "35-59": "35-59", "35–59": "35-59", "35-59岁": "35-59",
                 "60+": "60+", "60岁及以上": "60+", "60及以上": "60+"},
}
_TRUE = {"1", "1.0", "true", "yes", "y", "是", "有", "参与"}
_FALSE = {"0", "0.0", "false", "no", "n", "否", "无", "未参与"}
_DATE_SEPARATORS = re.compile(r"[/.年月]")
# Excel stores dates as days since 1899-12-30; 20000–80000 covers 1954–2119
_EXCEL_SERIAL = (20000, 80000)


#: columns whose values identify more than they should in a message (masked when quoted)
_QUASI_PERSONAL = frozenset({"birth_date"})


class _Ctx:
    """Where we are, for messages."""

    def __init__(self, raw: RawTable, table: TableSpec, log: ProblemLog):
        self.raw = raw
        self.table = table
        self.log = log
        self.where = raw.file + (f', sheet "{raw.sheet}"' if raw.sheet else "")

    def add(self, check: str, column: str | None, rows: Sequence[int], values: Sequence[object],
            what: str, fix: str, *, severity: str = "error", personal: bool = False) -> None:
        personal = personal or column in _QUASI_PERSONAL
        shown = [mask(v) if personal else v for v in values]
        col = f", column {column}" if column else ""
        rows_txt = f", {format_rows(rows)}" if len(rows) else ""
        vals_txt = f" (values: {format_values(shown)})" if len(shown) else ""
        message = f"{self.where}{col}{rows_txt}: {what}{vals_txt}. {fix}".rstrip()
        self.log.add(Problem(
            file=self.raw.file, check=check, message=message, severity=severity,  # type: ignore[arg-type]
            column=column, rows=tuple(int(r) for r in rows[:50]),
            values=tuple(str(v) for v in shown[:50]), sheet=self.raw.sheet,
        ))


def _header_notices(resolution: HeaderResolution, ctx: _Ctx) -> None:
    """One notice listing every header that matched only after normalisation."""
    changed = [m for m in resolution.matches if m.normalised]
    if not changed:
        return
    parts = [f"{m.source!r} → {m.target} ({', '.join(NORMALISATIONS[c][1] for c in m.normalised)})"
             for m in changed]
    ctx.log.add(Problem(
        file=ctx.raw.file, check="header_normalised", severity="notice", sheet=ctx.raw.sheet,
        column=", ".join(m.target for m in changed), values=tuple(m.source for m in changed),
        message=(f"{ctx.where}: {len(changed)} header(s) matched after normalisation: "
                 f"{'; '.join(parts)}. Nothing to do; rename the headers to silence this"),
    ))


def _mapping_hint(target: str, headers: Sequence[object], table: str) -> str:
    near = suggest_headers(target, headers)
    if not near:
        return ""
    return (f" The header {near[0]!r} may be it: if so, add `{near[0]}: {target}` under "
            f"data.{table}.columns in study.yaml")


def conform_table(
    raw: RawTable,
    spec: TableSpec,
    codebook: Codebook,
    log: ProblemLog,
    *,
    pseudonym_key: bytes,
    missing_counts: list[dict[str, object]] | None = None,
    config_columns: Mapping[str, str] | None = None,
    optional: Collection[str] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the table with canonical, typed columns and each row's source row number.

    Every problem found is logged.

    Headers are matched by :func:`evalkit.intake.mapping.resolve_headers` (the config's
    ``columns:`` map first; normalisations reported as notices). Missing codes found in
    survey items (8 = 不知道 …) become NA; one record per item and code (table, item, code,
    label, count) is appended to ``missing_counts`` so the report can show them. Columns in
    ``optional`` are not reported when missing (the caller derives or checks them).
    """
    ctx = _Ctx(raw, spec, log)
    log.extend(raw.problems)
    variables = codebook.for_table(spec.name)
    resolution = resolve_headers(raw.frame.columns, spec=spec, variables=variables,
                                 config_columns=config_columns)
    header_map = {m.source: m.target for m in resolution.matches}
    _header_notices(resolution, ctx)
    frame = raw.frame
    rows = np.asarray(raw.row_numbers)
    label = f"the {spec.label_en} ({spec.label_zh}) file"

    if frame.empty:
        ctx.add("empty", None, [], [], f"{label} has no data rows",
                "Check that the right file and sheet are configured")
        return pd.DataFrame(columns=list(spec.column_names)), rows

    # duplicate canonical targets (e.g. both 社区编码 and community_id present)
    targets: dict[str, list[str]] = {}
    for src, dst in header_map.items():
        targets.setdefault(dst, []).append(str(src))
    for dst, srcs in targets.items():
        if len(srcs) > 1:
            ctx.add("duplicate_column", None, [], [],
                    f"columns {', '.join(repr(s) for s in srcs)} all mean '{dst}'",
                    "Keep one of them, or map only one in data." + spec.name + ".columns")

    out = pd.DataFrame(index=frame.index)
    personal = {v.name: v for v in variables if v.is_personal}
    for src, dst in header_map.items():
        if dst in personal:
            var = personal[dst]
            if var.pseudonymise:
                out["person_key"] = pseudonymise(frame[src], pseudonym_key)
            continue  # dropped: personal data never leaves intake
        if dst not in out.columns:
            out[dst] = frame[src]

    unknown = [c for c in frame.columns if c not in header_map]
    for col in unknown:
        kind = looks_personal(frame[col].astype("string"))
        if kind:
            ctx.add("personal_unknown_column", str(col), [], [],
                    f"column not in the codebook seems to hold {kind}; it was dropped",
                    "Mark it in the codebook with privacy: direct_identifier", severity="warning")
            continue
        maybe = [c.name for c in spec.columns if c.name not in out.columns
                 and suggest_headers(c.name, [col])]
        hint = (f" It may be '{maybe[0]}': if so, add `{col}: {maybe[0]}` under "
                f"data.{spec.name}.columns in study.yaml" if maybe else "")
        ctx.add("extra_column", str(col), [], [],
                "column is not in the data model or the codebook and was dropped",
                (hint.strip() + "; otherwise add it" if hint else "Add it")
                + f" to the codebook if it is needed (with table: {spec.name}), or ignore this warning",
                severity="warning")

    headers = list(frame.columns)
    for col in spec.columns:
        if col.required and col.name not in out.columns and col.name not in optional:
            found = ", ".join(repr(str(c)) for c in headers[:30])
            need = needed_by_text(col)
            ctx.add("missing_column", col.name, [], [],
                    f"required column '{col.name}' ({col.label_zh}) is missing (needed by {need}); "
                    f"columns found: {found}",
                    f"Rename the column to '{col.name}' or '{col.label_zh}', or map it in study.yaml "
                    f"(data.{spec.name}.columns: {{<header>: {col.name}}})."
                    + _mapping_hint(col.name, headers, spec.name))

    var_of = {v.name: v for v in variables}
    src_of = {dst: src for src, dst in header_map.items()}
    for col in spec.columns:
        if col.name in out.columns:
            var = var_of.get(col.name)
            labels = dict(var.value_labels) if var is not None and var.value_labels else \
                raw.value_labels.get(str(src_of.get(col.name, col.name)), {})
            out[col.name] = _coerce(out[col.name], col, rows, ctx, labels)

    for var in variables:
        if var.name in spec.column_names or var.is_personal:
            continue
        if var.name in out.columns:
            out[var.name] = _check_declared(out[var.name], var, rows, ctx, missing_counts)
        elif var.is_item:
            ctx.add("missing_column", var.name, [], [],
                    f"survey item '{var.name}' (source column '{var.source_name}') is missing",
                    "Check the codebook's source_name against the file's headers, or map the header "
                    f"in study.yaml (data.{spec.name}.columns: {{<header>: {var.name}}})")

    for key_col in spec.key if len(spec.key) == 1 else ():
        if key_col in out.columns:
            _check_unique(out[key_col], rows, ctx, key_col)
    if len(spec.key) > 1 and all(k in out.columns for k in spec.key):
        dup = out.duplicated(list(spec.key), keep=False) & out[list(spec.key)].notna().all(axis=1)
        if dup.any():
            ctx.add("duplicate_key", "+".join(spec.key), rows[dup.to_numpy()], [],
                    f"the combination {' + '.join(spec.key)} appears more than once",
                    "Each combination must appear once; remove or merge the duplicates")
    return out.reset_index(drop=True), rows


def needed_by_text(col: ColumnSpec) -> str:
    """``every analysis`` / ``weighting (raking margin), subgroup analysis`` (English, for messages)."""
    return ", ".join(ANALYSES[a][1] for a in col.needed_by) or "every analysis"


def _check_unique(series: pd.Series, rows: np.ndarray, ctx: _Ctx, col: str) -> None:
    if all_distinct(series):  # the usual case: done, without duplicated()'s hash table of objects
        return
    dup = series.duplicated(keep=False) & series.notna()
    if dup.any():
        # an ID number or phone typed as the key must not be quoted in full
        vals = [mask(v) if ID_NUMBER_RE.fullmatch(str(v)) or MOBILE_RE.fullmatch(str(v)) else v
                for v in series[dup].drop_duplicates().tolist()]
        ctx.add("duplicate_id", col, rows[dup.to_numpy()], vals,
                f"{dup.sum()} rows share an id that must be unique",
                "Give each row its own id, or remove duplicated rows")


def _is_blank(series: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(series) and series.dtype != object:  # Arrow text: no stripped copy
        return (series.isna() | (series.str.len() == 0) | series.str.isspace()).fillna(True).astype(bool)
    if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
        return series.isna() | (series.astype("string").str.strip() == "")
    return series.isna()


def _coerce(series: pd.Series, col: ColumnSpec, rows: np.ndarray, ctx: _Ctx,
            labels: Mapping[float, str]) -> pd.Series:
    blank = _is_blank(series)
    if blank.any() and not col.nullable:
        ctx.add("missing_value", col.name, rows[blank.to_numpy()], [],
                f"{int(blank.sum())} empty cell(s) in a column that must be filled",
                f"Fill in {col.label_zh} ({col.name}) for these rows")
    kind = col.kind
    if kind == "id":
        return _to_id(series, blank, col, rows, ctx)
    if kind in {"int", "float"}:
        return _to_number(series, blank, col, rows, ctx)
    if kind in {"date", "datetime"}:
        return _to_date(series, blank, col, rows, ctx)
    if kind == "bool":
        return _to_bool(series, blank, col, rows, ctx)
    if kind == "category":
        return _to_category(series, blank, col, rows, ctx, labels)
    return series.where(~blank).astype("string").str.strip()


def _to_id(series, blank, col, rows, ctx) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        vals = pd.to_numeric(series, errors="coerce")
        frac = vals.notna() & (vals % 1 != 0)
        if frac.any():
            ctx.add("bad_id", col.name, rows[frac.to_numpy()], vals[frac].tolist(),
                    "ids must be whole codes", "Store ids as text")
        text = vals.map(lambda v: pd.NA if pd.isna(v) else str(int(v)))
        return text.astype("string")
    text = series.astype("string").str.strip()
    # Excel/CSV round-trips turn 430102001 into "430102001.0"
    if text.str.endswith(".0").any():  # a scan is ~10x cheaper than the regex replace
        text = text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    return text.where(~blank)


def _to_number(series, blank, col, rows, ctx) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        series = series.astype("float64")
    text = series if pd.api.types.is_numeric_dtype(series) else series.astype("string")
    nums = numbers_from_text(text, thousands=",")  # also strips spaces
    bad = nums.isna() & ~blank
    if bad.any():
        ctx.add("not_a_number", col.name, rows[bad.to_numpy()], series[bad].tolist(),
                f"{int(bad.sum())} value(s) are not numbers",
                f"Write {col.label_zh} as a number (no units or text)")
    if col.kind == "int":
        frac = nums.notna() & (nums % 1 != 0)
        if frac.any():
            ctx.add("not_whole", col.name, rows[frac.to_numpy()], nums[frac].tolist(),
                    "value(s) are not whole numbers", f"{col.label_zh} is a count: use whole numbers")
    _range_check(nums, col, rows, ctx)
    if col.kind == "int":
        return nums.round().astype("Int64")
    return nums.astype("float64")


def _range_check(nums: pd.Series, col: ColumnSpec, rows, ctx) -> None:
    lo, hi = col.min_value, col.max_value
    out = pd.Series(False, index=nums.index)
    if lo is not None:
        out |= nums < lo
    if hi is not None:
        out |= nums > hi
    out &= nums.notna()
    if out.any():
        rng = f"{lo:g}–{hi:g}" if lo is not None and hi is not None else (
            f"≥ {lo:g}" if lo is not None else f"≤ {hi:g}")
        ctx.add("out_of_range", col.name, rows[out.to_numpy()], nums[out].tolist(),
                f"{int(out.sum())} value(s) outside {rng}", f"Correct {col.label_zh} ({col.name})")


def _parse_date_text(values: pd.Series) -> pd.Series:
    """2021-03-01, 2021/3/1, 2021.3.1, 2021年3月1日 (optionally with a time) → Timestamp; numbers → NaT."""
    text = values.astype("string").str.strip()
    norm = text.str.replace(_DATE_SEPARATORS.pattern, "-", regex=True).str.replace("日", "", regex=False)
    return pd.to_datetime(norm.where(numbers_from_text(text).isna()), errors="coerce", format="ISO8601")


def _to_date(series, blank, col, rows, ctx) -> pd.Series:
    fmt_time = col.kind == "datetime"
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = pd.to_datetime(series)
        numeric = pd.Series(np.nan, index=series.index)
    elif series.dtype != object:  # text: parsed once per distinct value (evalkit.intake.vectorised)
        both = by_unique(series, lambda u: pd.DataFrame({
            "numeric": numbers_from_text(u.astype("string").str.strip()), "parsed": _parse_date_text(u)}))
        numeric, parsed = both["numeric"], both["parsed"]
    else:
        text = series.astype("string").str.strip()
        numeric = by_unique(text, numbers_from_text)
        is_dt = series.map(lambda v: hasattr(v, "year") and hasattr(v, "month"))
        if is_dt.any():
            text = text.where(~is_dt, series[is_dt].map(lambda v: pd.Timestamp(v).isoformat(sep=" ")))
        parsed = _parse_date_text(text.where(numeric.isna()))
    serial = (numeric.between(*_EXCEL_SERIAL) & ~blank).fillna(False).astype(bool)
    if serial.any():
        example = numeric[serial].iloc[0]
        as_date = (pd.Timestamp("1899-12-30") + pd.to_timedelta(example, unit="D")).date()
        ctx.add("excel_serial_date", col.name, rows[serial.to_numpy()], numeric[serial].tolist(),
                f"dates stored as Excel serial numbers (e.g. {example:g} = {as_date})",
                "Format the column as a date in Excel/WPS (设置单元格格式 → 日期) and save again, "
                "or write dates as YYYY-MM-DD")
    bad = parsed.isna() & ~blank & ~serial
    if bad.any():
        ctx.add("bad_date", col.name, rows[bad.to_numpy()], series[bad].tolist(),
                f"{int(bad.sum())} value(s) are not valid {'date-times' if fmt_time else 'dates'}",
                "Write dates as YYYY-MM-DD" + (" HH:MM:SS" if fmt_time else "")
                + "; check for impossible days such as 2021-02-30")
    first_year = int(col.min_value) if col.min_value is not None else 1990
    implausible = parsed.notna() & ((parsed.dt.year < first_year)
                                    | (parsed > pd.Timestamp.now() + pd.Timedelta(days=366)))
    if implausible.any():
        ctx.add("impossible_date", col.name, rows[implausible.to_numpy()],
                parsed[implausible].dt.strftime("%Y-%m-%d").tolist(),
                f"date(s) before {first_year} or in the future", f"Correct {col.label_zh} ({col.name})")
    parsed = parsed.where(~serial)
    if fmt_time:
        return parsed.astype("datetime64[ns]")
    return parsed.dt.normalize().astype("datetime64[ns]")


def _bool_values(values: pd.Series) -> pd.Series:
    """1/0, 是/否, true/false … → True/False; anything else NA."""
    text = values.astype("string").str.strip().str.lower()
    mapped = pd.Series(pd.NA, index=values.index, dtype="boolean")
    mapped[text.isin(_TRUE)] = True
    mapped[text.isin(_FALSE)] = False
    return mapped


def _to_bool(series, blank, col, rows, ctx) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        mapped = pd.Series(pd.arrays.BooleanArray(num == 1, ~((num == 1) | (num == 0))), index=series.index)
    else:
        mapped = by_unique(series, _bool_values)
    bad = mapped.isna() & ~blank
    if bad.any():
        ctx.add("bad_bool", col.name, rows[bad.to_numpy()], series[bad].tolist(),
                "value(s) are not yes/no", "Use 1/0, 是/否 or true/false")
    return mapped


def _labels_to_text(series: pd.Series, blank: pd.Series, labels: Mapping[float, str], col: str,
                    rows: np.ndarray, ctx: _Ctx) -> pd.Series:
    """Numeric codes (1, "1", 1.0) → their value labels; flags a column that mixes codes and labels."""
    text = series.astype("string").str.strip()
    nums = pd.to_numeric(text, errors="coerce")
    is_code = nums.notna() & nums.isin([float(k) for k in labels])
    as_label = nums.map(lambda v: labels.get(float(v)) if pd.notna(v) else None)
    is_text = ~blank & nums.isna()
    if is_code.any() and is_text.any():
        _flag_mixed(col, is_code, is_text, text, rows, ctx)
    return text.where(~is_code, as_label.astype("string"))


def _flag_mixed(col: str, is_code: pd.Series, is_text: pd.Series, text: pd.Series, rows: np.ndarray,
                ctx: _Ctx) -> None:
    minority = is_text if int(is_text.sum()) <= int(is_code.sum()) else is_code
    kind = "text labels" if minority is is_text else "numeric codes"
    ctx.add("mixed_coding", col, rows[minority.to_numpy()], text[minority].drop_duplicates().tolist(),
            f"the column mixes numeric codes ({int(is_code.sum())} rows) and text labels "
            f"({int(is_text.sum())} rows); the rows listed hold {kind}. Both were read through the "
            "codebook's value labels",
            "Check these rows (often pasted from another export) and export the column one way",
            severity="warning")


def _to_category(series, blank, col, rows, ctx, labels: Mapping[float, str]) -> pd.Series:
    aliases = CATEGORY_ALIASES.get(col.name, {})
    allowed = set(col.allowed or ())
    if labels:
        series = _labels_to_text(series, blank, labels, col.name, rows, ctx)
    if allowed:
        # stripped, lower-cased and mapped once per distinct value (evalkit.intake.vectorised)
        mapped = by_unique(series, lambda u: u.astype("string").str.strip().str.lower().map(
            lambda v: aliases.get(v, v) if pd.notna(v) else v).astype("string"))
        mapped = mapped.where(~blank)
        if not mapped.notna().any():  # an all-empty column (pyarrow cannot test a null array)
            return pd.Series(pd.NA, index=series.index, dtype="string")
        bad = mapped.notna() & ~mapped.isin(allowed)
        if bad.any():
            shown = series[bad].drop_duplicates().tolist()
            codes = all(pd.notna(pd.to_numeric(str(v), errors="coerce")) for v in shown)
            hint = (f" The values look like numeric codes: declare their meaning in the codebook, "
                    f"e.g. {col.name}: {{source_name: <header>, value_labels: {{1: 男, 2: 女}}}}"
                    if codes and not labels else "")
            ctx.add("bad_category", col.name, rows[bad.to_numpy()], shown,
                    "value(s) not among the allowed ones",
                    f"Allowed: {', '.join(sorted(allowed))} (or their Chinese forms such as "
                    f"{', '.join(list(k for k in aliases if not k.isascii())[:4])}).{hint}")
            mapped = mapped.where(~bad)
        return mapped.astype("string")
    return series.astype("string").str.strip().where(~blank)


def _check_declared(series: pd.Series, var: Variable, rows: np.ndarray, ctx: _Ctx,
                    missing_counts: list[dict[str, object]] | None) -> pd.Series:
    """Any column the codebook declares: converted and checked by its type, labels and range."""
    vtype = var.value_type
    if vtype is None:
        return series  # declared without a type: kept as read
    blank = _is_blank(series)
    if vtype == "text":
        return series.where(~blank).astype("string").str.strip()
    if vtype == "date":
        spec = ColumnSpec(var.name, "date", var.label_zh or var.name, var.label_en or var.name,
                          required=False, nullable=True, min_value=var.scale_min)
        return _to_date(series, blank, spec, rows, ctx)
    return _apply_item(series, var, rows, ctx, missing_counts)


def _apply_item(series: pd.Series, var: Variable, rows: np.ndarray, ctx: _Ctx,
                missing_counts: list[dict[str, object]] | None) -> pd.Series:
    """Numeric column: value labels → codes, missing codes → NA (counted), type and range checks."""
    blank = _is_blank(series)
    where = f"'{var.source_name}' ({var.name})"
    if pd.api.types.is_numeric_dtype(series):
        nums = pd.to_numeric(series, errors="coerce").astype("float64")
    else:
        text = series.astype("string").str.strip()
        nums = pd.to_numeric(text, errors="coerce")
        # text answers that are value labels (e.g. 非常同意) map back to codes
        inverse = {lab: code for code, lab in {**var.value_labels, **var.missing_codes}.items()}
        from_label = pd.to_numeric(text.map(lambda v: inverse.get(v, np.nan) if pd.notna(v) else np.nan),
                                   errors="coerce")
        if nums.notna().any() and from_label.notna().any():
            _flag_mixed(where, nums.notna(), from_label.notna(), text, rows, ctx)
        nums = nums.fillna(from_label).astype("float64")
        bad = nums.isna() & ~blank
        if bad.any():
            ctx.add("not_a_number", f"{var.source_name} ({var.name})", rows[bad.to_numpy()],
                    series[bad].drop_duplicates().tolist(),
                    f"{int(bad.sum())} answer(s) are neither codes nor value labels of the codebook",
                    "Use the numeric codes of the codebook, or add the text to value_labels of "
                    f"'{var.name}'")
    is_missing_code = nums.isin(list(var.missing_codes))
    if missing_counts is not None:
        missing_counts.extend(
            {"table": ctx.table.name, "item": var.name, "code": code, "label": label,
             "count": int((nums == code).sum())}
            for code, label in var.missing_codes.items()
        )
    nums = nums.where(~is_missing_code)
    if var.value_type == "integer":
        frac = nums.notna() & (nums % 1 != 0)
        if frac.any():
            ctx.add("not_whole", where, rows[frac.to_numpy()], [f"{v:g}" for v in nums[frac]],
                    "value(s) are not whole numbers", f"The codebook declares '{var.name}' as integer")
    if var.scale_min is not None and var.scale_max is not None:
        outside = nums.notna() & ((nums < var.scale_min) | (nums > var.scale_max))
        if outside.any():
            vals = nums[outside].tolist()
            codes = sorted({v for v in vals})
            ctx.add("out_of_range", where, rows[outside.to_numpy()],
                    [f"{v:g}" for v in vals],
                    f"{int(outside.sum())} row(s) outside {var.scale_min:g}–{var.scale_max:g}",
                    f"If {', '.join(f'{c:g}' for c in codes[:3])} mean \"don't know\"/\"refused\", add them "
                    f"to missing_codes of '{var.name}' in the codebook; otherwise correct the data")
            nums = nums.where(~outside)
    return nums
