"""Several files of one table (survey waves or districts) stacked, with the checks across them.

Each file is read and conformed on its own (its own header map, encoding, row numbers);
:func:`stack_files` then

* fills ``wave`` for a file declared ``wave: N`` in the config, and refuses rows whose wave
  column or interview date says another wave (a wave-1 row inside the wave-2 file);
* refuses value labels that differ between files, or between a file and the codebook, for
  the same variable (a satisfaction scale reversed in wave 1), naming both files;
* refuses the same questionnaire number in two files, and the same ID number (compared by
  its keyed pseudonym, never printed) under two questionnaire numbers in one wave;
* warns about columns present in some files and not in others (their rows are empty there).

Every stacked row keeps where it came from (``origin``: file and row as the user sees it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.config import DataSource, WaveWindow
from evalkit.intake.derive import Derivation, log_by_file
from evalkit.intake.problems import Problem, ProblemLog, format_rows
from evalkit.intake.readers import RawTable

__all__ = ["FilePart", "stack_files", "check_label_conflicts"]


@frozen(eq=False)
class FilePart:
    """One conformed file of a table."""

    source: DataSource
    raw: RawTable
    frame: pd.DataFrame
    rows: np.ndarray
    header_map: Mapping[str, str]  # source header → canonical
    config_unmatched: tuple[str, ...] = ()  # config ``columns:`` keys that match no header here


def _norm_label(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")


def _labels_by_target(part: FilePart) -> dict[str, dict[float, str]]:
    return {target: dict(part.raw.value_labels[src]) for src, target in part.header_map.items()
            if src in part.raw.value_labels and part.raw.value_labels[src]}


def check_label_conflicts(parts: Sequence[FilePart], declared: Mapping[str, Mapping[float, str]],
                          codebook_file: str, log: ProblemLog) -> None:
    """Value labels of one variable must agree across files and with the codebook's own labels."""
    first_seen: dict[str, tuple[str, dict[float, str]]] = {}
    for part in parts:
        for target, labels in _labels_by_target(part).items():
            refs = []
            if target in declared and declared[target]:
                refs.append((f"the codebook ({codebook_file})", dict(declared[target])))
            if target in first_seen and first_seen[target][0] != part.raw.file:
                refs.append(first_seen[target])
            for ref_name, ref in refs:
                common = sorted(set(ref) & set(labels))
                differ = [c for c in common if _norm_label(ref[c]) != _norm_label(labels[c])]
                if not differ:
                    continue
                c = differ[0]
                log.add(Problem(
                    file=part.raw.file, check="label_conflict", column=target,
                    values=tuple(f"{k:g}" for k in differ),
                    message=(f"{part.raw.file}, column {target}: value labels differ from {ref_name}: "
                             f"code {c:g} is '{labels[c]}' here but '{ref[c]}' there "
                             f"({len(differ)} of {len(common)} codes differ: "
                             f"{', '.join(f'{k:g}' for k in differ[:8])}). The scale may be reversed "
                             "in one file; recode that file to the codebook's coding (or correct its "
                             "labels) before stacking"),
                ))
            first_seen.setdefault(target, (part.raw.file, labels))


def stack_files(parts: Sequence[FilePart], windows: Sequence[WaveWindow], log: ProblemLog, *,
                config_file: str) -> tuple[pd.DataFrame, pd.DataFrame, list[Derivation]]:
    """Stack the conformed files of one table; return (frame, origin[file, row], derivations)."""
    facts: list[Derivation] = []
    frames, origins = [], []
    files = list(dict.fromkeys(p.raw.file for p in parts))
    for part in parts:
        frame = part.frame
        # the file as a categorical: a 10^7-row service log must not carry 10^7 path strings
        code = np.full(len(part.rows), files.index(part.raw.file), dtype=np.int16)
        origin = pd.DataFrame({"file": pd.Categorical.from_codes(code, categories=files),
                               "row": np.asarray(part.rows, dtype=np.int64)})
        if part.source.wave is not None:
            frame = _file_wave(frame, origin, part, windows, log, config_file, facts)
        frames.append(frame)
        origins.append(origin)
    if len(parts) > 1:
        _column_sets(parts, frames, log)
    stacked = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    origin = pd.concat(origins, ignore_index=True)
    if len(parts) > 1:
        _cross_duplicates(stacked, origin, log)
    return stacked, origin, facts


def _file_wave(frame: pd.DataFrame, origin: pd.DataFrame, part: FilePart, windows: Sequence[WaveWindow],
               log: ProblemLog, config_file: str, facts: list[Derivation]) -> pd.DataFrame:
    declared = part.source.wave
    where = f"declared wave {declared} in {config_file} (line {part.source.line})"
    frame = frame.copy()
    if "wave" in frame.columns and frame["wave"].notna().any():
        other = (frame["wave"].notna() & (frame["wave"] != declared)).fillna(False).to_numpy()
        log_by_file(log, origin, other, check="wave_mismatch", column="wave",
                    what=f"{int(other.sum())} row(s) say another wave than the file's {where}",
                    values=frame["wave"].astype("string").fillna(""),
                    fix="Move these rows to the file of their wave, or correct the wave")
        frame["wave"] = frame["wave"].fillna(declared)
    else:
        frame["wave"] = pd.array([declared] * len(frame), dtype="Int64")
        facts.append(Derivation("survey", "wave", "wave_from_file", ("data.survey.wave",), len(frame), 0,
                                file=part.raw.file))
    if windows and "interview_date" in frame.columns:
        dates = pd.to_datetime(frame["interview_date"])
        mine = [w for w in windows if w.wave == declared]
        others = [w for w in windows if w.wave != declared]
        in_other = np.zeros(len(frame), dtype=bool)
        said = pd.Series("", index=frame.index, dtype="string")
        for w in others:
            hit = ((dates >= pd.Timestamp(w.start)) & (dates <= pd.Timestamp(w.end))).fillna(False).to_numpy()
            in_other |= hit
            said[hit] = dates[hit].dt.strftime("%Y-%m-%d") + f" = wave {w.wave}"
        log_by_file(log, origin, in_other, check="wave_mismatch", column="interview_date",
                    what=f"{int(in_other.sum())} row(s) were interviewed in another wave's window, "
                         f"but the file is {where}", values=said,
                    fix="Move these rows to the file of their wave, or correct the interview date")
        if mine:
            w = mine[0]
            outside = (dates.notna() & ((dates < pd.Timestamp(w.start)) | (dates > pd.Timestamp(w.end)))
                       ).to_numpy() & ~in_other
            log_by_file(log, origin, outside, check="date_outside_wave", column="interview_date",
                        what=f"{int(outside.sum())} interview date(s) fall outside wave {declared}'s "
                             f"window {w.start}–{w.end}", values=dates.dt.strftime("%Y-%m-%d").fillna(""),
                        fix="Check the dates, or widen the window under waves:", severity="warning")
    return frame


def _column_sets(parts: Sequence[FilePart], frames: Sequence[pd.DataFrame], log: ProblemLog) -> None:
    every = [set(f.columns) for f in frames]
    union = set().union(*every)
    for col in sorted(union - set.intersection(*every)):
        lacking = [p.raw.file for p, cols in zip(parts, every) if col not in cols]
        having = [p.raw.file for p, cols in zip(parts, every) if col in cols]
        log.add(Problem(
            file=lacking[0], check="column_not_in_all_files", column=col, severity="warning",
            message=(f"column {col} is in {', '.join(having)} but not in {', '.join(lacking)}; "
                     "its values are empty for the rows of those files. Map the column there "
                     "(data.survey.columns) if it has another header, or ignore this warning"),
        ))


def _cross_duplicates(stacked: pd.DataFrame, origin: pd.DataFrame, log: ProblemLog) -> None:
    if "respondent_id" in stacked.columns:
        ids = stacked["respondent_id"]
        files_per_id = pd.DataFrame({"id": ids, "file": origin["file"]}).dropna().groupby("id")["file"].nunique()
        shared = files_per_id[files_per_id > 1].index
        if len(shared):
            hit = ids.isin(shared).to_numpy()
            files = list(dict.fromkeys(origin.loc[hit, "file"]))
            parts = "; ".join(f"{f}: {format_rows(origin.loc[hit & (origin['file'] == f).to_numpy(), 'row'].tolist())}"
                              for f in files)
            log.add(Problem(
                file=files[0], check="duplicate_across_files", column="respondent_id",
                rows=tuple(int(r) for r in origin.loc[hit, "row"][:50]),
                values=tuple(map(str, list(shared)[:50])),
                message=(f"{len(shared)} questionnaire number(s) appear in more than one file "
                         f"({', '.join(map(str, list(shared)[:5]))}{' …' if len(shared) > 5 else ''}); "
                         f"{parts}. The same questionnaire was entered twice, or two files number "
                         "their questionnaires alike; remove the duplicates or prefix each file's "
                         "numbers (e.g. W1-0001)"),
            ))
    if "person_key" in stacked.columns and "respondent_id" in stacked.columns and "wave" in stacked.columns:
        frame = pd.DataFrame({"key": stacked["person_key"], "rid": stacked["respondent_id"],
                              "wave": stacked["wave"], "file": origin["file"], "row": origin["row"]}).dropna()
        per = frame.groupby(["key", "wave"]).agg(n_id=("rid", "nunique"), n_file=("file", "nunique"))
        bad = per[(per.n_id > 1) & (per.n_file > 1)].reset_index()
        for n, r in enumerate(bad.itertuples(index=False)):
            if n >= 20:
                break
            sub = frame[(frame.key == r.key) & (frame.wave == r.wave)]
            where = "; ".join(f"{f}, row {int(row)} (questionnaire {rid})"
                              for f, row, rid in zip(sub.file, sub.row, sub.rid))
            log.add(Problem(
                file=str(sub.file.iloc[0]), check="same_person_two_ids", column="id_number",
                rows=tuple(int(x) for x in sub.row), values=tuple(map(str, sub.rid)),
                message=(f"the same ID number (compared by its pseudonym; not shown) appears under "
                         f"{r.n_id} questionnaire numbers in wave {r.wave}: {where}. One person was "
                         "interviewed twice in one wave; keep one questionnaire"),
            ))
