"""Refuse hostile or mislabelled files before any parser sees them.

Every reader calls :func:`check_before_parsing` first. It looks only at bytes
that cannot hurt: the file size, the first few kilobytes (magic numbers), a
zip archive's central directory (declared sizes, never decompressed) and the
first kilobytes of each XML part of a workbook. From that it knows what the
file *really* is, whatever its name, and refuses, with what it is and how to
fix it:

* formats that can run code when loaded (Python pickle, joblib, NumPy
  ``.npy``/``.npz``, PyTorch archives) and compressed streams that may hold
  them; these are never opened, whatever the extension;
* oversized files and zip bombs: workbooks whose declared uncompressed size or
  compression ratio is beyond :class:`SafetyLimits`, or with zip-level
  encryption;
* XML with a ``<!DOCTYPE``/``<!ENTITY`` (entity expansion, "billion laughs"):
  Office Open XML never declares a DTD, so any such part is refused. (openpyxl
  also parses with lxml ``resolve_entities=False`` and defusedxml's
  ``iterparse``, both installed; this check does not rely on them);
* password-protected workbooks (an OLE compound file with an
  ``EncryptionInfo`` stream), old ``.xls``, Word documents;
* web pages (HTML tables) and Excel 2003 XML saved as ``.xls``/``.xlsx``, as
  many web systems export them;
* workbooks, SPSS/Stata/Parquet files renamed ``.csv`` and text renamed
  ``.xlsx``.

A ``.xls`` that is really an ``.xlsx`` (renamed) is read as ``.xlsx`` with a
warning; :func:`check_before_parsing` returns the format to use.

:func:`check_config_file` does the same for the study config: a workbook, a
CSV or any binary file passed where ``study.yaml`` belongs is refused without
echoing a byte of it (it may be a survey full of names and ID numbers).

Why hand-written: the magic numbers are fixed by the formats' specifications
(ZIP APPNOTE, [MS-CFB], [MS-OFFCRYPTO], pickle protocol, NumPy NEP 1), and the
checks must run *before* any library parses the file, which is the point.
``python-magic`` would add a C dependency (libmagic) and still not look inside
a zip's central directory or an OLE directory.
"""

from __future__ import annotations

import mmap
import os
import re
import stat
import struct
import zipfile
from pathlib import Path

from attrs import frozen

from evalkit.errors import ConfigError, IntakeError

__all__ = [
    "SafetyLimits",
    "DEFAULT_LIMITS",
    "FileKind",
    "sniff_file",
    "check_before_parsing",
    "check_config_file",
]

_MB = 1 << 20
_RESAVE_XLSX = "open it in Excel/WPS and save it as .xlsx (文件 → 另存为 → Excel 工作簿 *.xlsx)"
_RESAVE_SENTENCE = "Open it in Excel/WPS and save it as .xlsx (文件 → 另存为 → Excel 工作簿 *.xlsx)."
_RESAVE_CSV = "or as CSV (文件 → 另存为 → 'CSV UTF-8（逗号分隔）(*.csv)')"
_NEVER_RUN = (
    "evalkit never opens such files, whatever their name, because loading them can run "
    "arbitrary code. Export the data as CSV or Parquet from the program that made it "
    "(pandas: df.to_csv(path, index=False, encoding='utf-8-sig') or df.to_parquet(path))."
)


@frozen
class SafetyLimits:
    """Limits checked before parsing. Defaults suit a 10⁷-row service log and any real survey.

    ``max_member_ratio`` applies only to zip members declared larger than
    ``ratio_floor_bytes``: tiny parts (an empty ``sharedStrings.xml``) compress
    extremely well and are harmless. Real sheets compress 5–30×; a zip bomb
    100–10⁶×.
    """

    max_file_bytes: int = 8 * 1024 * _MB
    max_uncompressed_bytes: int = 1024 * _MB
    max_member_ratio: float = 200.0
    ratio_floor_bytes: int = 8 * _MB
    max_members: int = 10_000
    max_config_bytes: int = 1 * _MB


DEFAULT_LIMITS = SafetyLimits()


@frozen
class FileKind:
    """What a file's bytes say it is. ``code`` is machine-readable; ``what`` is said to the user."""

    code: str
    what: str
    fix: str = ""


# --------------------------------------------------------------------------- sniffing

_SAV_MAGIC = (b"$FL2", b"$FL3")
_COMPRESSED = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
    b"\x28\xb5\x2f\xfd": "a Zstandard-compressed file",
    b"\x04\x22\x4d\x18": "an LZ4-compressed file",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!\x1a\x07": "a RAR archive",
}
_OTHER_BINARY = {
    b"SQLite format 3\x00": "an SQLite database",
    b"%PDF": "a PDF document",
    b"\x7fELF": "an executable program (ELF)",
    b"\x89HDF\r\n\x1a\n": "an HDF5 file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"RDX2\n": "an R data file (.RData)",
    b"RDX3\n": "an R data file (.RData)",
}
_HTML_RE = re.compile(rb"^\s*(?:<!doctype\s+html|<html|<head|<meta|<table|<style|<body|<!--)", re.I)
_XML_SS = b"urn:schemas-microsoft-com:office:spreadsheet"
_DTD_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)


def _is_pickle(head: bytes) -> bool:
    """A pickle stream: PROTO opcode (protocol 2–5), or a protocol-0/1 pickle's typical start."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    # protocol 0/1: a GLOBAL opcode (c<module>\n<name>\n) followed by a memo PUT (p0\n / q\x00)
    # or MARK, as pickle writes it; or a MARK + EMPTY_DICT/LIST + PUT. A one-column CSV such as
    # "community\n0012\n" has the first shape only, never the opcode after it.
    return re.match(rb"^(?:c[A-Za-z_][\w.]*\n[A-Za-z_]\w*\n(?:p\d+\n|q[\x00-\xff]|\()"
                    rb"|\((?:dp|lp)\d+\n|[}\]]q\x00)", head) is not None


def _is_old_dta(head: bytes) -> bool:
    # Stata 8–13 (.dta formats 113–115): release byte, byte order 1/2, filetype 1
    return len(head) >= 4 and 104 <= head[0] <= 115 and head[1] in (1, 2) and head[2] == 1


def sniff_file(p: Path, head: bytes | None = None) -> FileKind:
    """What the file's bytes say it is (the extension is ignored)."""
    if head is None:
        with p.open("rb") as fh:
            head = fh.read(8192)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(p)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _sniff_ole(p)
    if _is_pickle(head):
        return FileKind("pickle", "a Python pickle (or joblib) file", _NEVER_RUN)
    if head.startswith(b"\x93NUMPY"):
        obj = b"'O'" in head[:512] or b"|O" in head[:512]
        what = "a NumPy array file (.npy)" + (" holding Python objects" if obj else "")
        return FileKind("npy", what, _NEVER_RUN)
    # zlib streams (joblib's default compression) start 78 01 / 78 5E / 78 9C / 78 DA
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return FileKind("compressed", "a zlib-compressed stream (as joblib writes)", _NEVER_RUN)
    for magic, what in _COMPRESSED.items():
        if head.startswith(magic):
            return FileKind("compressed", what, (
                "Unpack it and point study.yaml at the data file inside (CSV, xlsx, sav, dta or "
                "Parquet). Compressed pickle/joblib files are never opened."))
    for magic, what in _OTHER_BINARY.items():
        if head.startswith(magic):
            return FileKind("other_binary", what, "Export the data table itself as CSV or xlsx.")
    if head.startswith(b"MZ") and b"This program cannot be run in DOS mode" in head[:1024]:
        return FileKind("other_binary", "an executable program (.exe)", "Give the data file itself.")
    if head.startswith(_SAV_MAGIC):
        return FileKind("sav", "an SPSS data file (.sav)")
    if head.startswith(b"<stata_dta>") or _is_old_dta(head):
        return FileKind("dta", "a Stata data file (.dta)")
    if head.startswith(b"PAR1"):
        return FileKind("parquet", "a Parquet file")
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = head[2:len(head) - (len(head) % 2)].decode(
                "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be", errors="ignore").encode()
        except UnicodeError:
            text = b""
    starts_tag = text.lstrip()[:1] == b"<"  # a CSV whose comments mention <table> is still a CSV
    if _HTML_RE.match(text) or (starts_tag and b"<table" in text[:4096].lower() and b"<tr" in text[:8192].lower()):
        return FileKind("html", "a web page (an HTML table), as web systems export under an .xls name", (
            f"Open it in Excel/WPS (it opens with a format warning), then {_RESAVE_XLSX}, "
            f"{_RESAVE_CSV}."))
    if starts_tag:
        if _XML_SS in text:
            return FileKind("xml_spreadsheet", "an Excel 2003 XML spreadsheet", _RESAVE_SENTENCE)
        if _DTD_RE.search(text):
            return FileKind("xml_dtd", "an XML file with a DOCTYPE/ENTITY declaration (entity expansion)",
                            "evalkit does not read XML; export the data as CSV or xlsx.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return FileKind("utf16_text", "UTF-16 text (Excel 'Unicode 文本')")
    return FileKind("text", "a text file")


def _zip_entries(p: Path) -> int | None:
    """Entries the zip's end-of-central-directory record declares (ZIP64 too), read from the
    file's last 64 KB, before :mod:`zipfile` builds an object per entry; None if not found."""
    size = p.stat().st_size
    with p.open("rb") as fh:
        fh.seek(max(0, size - 65_557))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    entries = struct.unpack_from("<H", tail, at + 10)[0]
    loc = tail.rfind(b"PK\x06\x07", 0, at)
    if entries == 0xFFFF and loc >= 0 and len(tail) >= loc + 20:
        eocd64 = struct.unpack_from("<Q", tail, loc + 8)[0] - max(0, size - 65_557)
        if 0 <= eocd64 and len(tail) >= eocd64 + 40 and tail[eocd64:eocd64 + 4] == b"PK\x06\x06":
            entries = struct.unpack_from("<Q", tail, eocd64 + 32)[0]
    return int(entries)


def _sniff_zip(p: Path) -> FileKind:
    entries = _zip_entries(p)
    if entries is not None and entries > DEFAULT_LIMITS.max_members:
        return FileKind("zip_huge", f"a zip archive declaring {entries:,} files (a workbook has a few dozen)",
                        "It is damaged or built to exhaust memory; it was not opened.")
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
            mimetype = z.read("mimetype")[:100] if "mimetype" in names and z.getinfo("mimetype").file_size < 200 else b""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError, ValueError):
        return FileKind("zip_broken", "a damaged zip archive (an .xlsx is a zip archive)",
                        f"The file is incomplete or damaged; {_RESAVE_XLSX}.")
    lower = [n.lower() for n in names]
    if any(n.endswith(".pkl") or n.endswith("/data.pkl") or n.endswith(".pickle") for n in lower):
        return FileKind("pickle", "an archive holding a Python pickle (e.g. a PyTorch or joblib file)", _NEVER_RUN)
    if lower and all(n.endswith(".npy") for n in lower):
        return FileKind("npy", "a NumPy archive (.npz)", _NEVER_RUN)
    if "[content_types].xml" in lower and any(n.startswith("xl/") for n in lower):
        return FileKind("xlsx", "an Excel workbook (.xlsx)")
    if b"opendocument.spreadsheet" in mimetype:
        return FileKind("ods", "an OpenDocument spreadsheet (.ods)", _RESAVE_SENTENCE)
    if any(n.startswith("word/") for n in lower):
        return FileKind("docx", "a Word document (.docx)",
                        "Copy the table into Excel/WPS and save it as .xlsx, or export the data again.")
    shown = ", ".join(Path(n).name for n in names[:3]) + (" …" if len(names) > 3 else "")
    return FileKind("zip", f"a zip archive of {len(names)} file(s) ({shown})",
                    "Unpack it and point study.yaml at the data file inside.")


def _ole_has(p: Path, *names: str) -> bool:
    """True if any stream name occurs in the OLE directory (UTF-16LE names, found by search)."""
    with p.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        return any(mm.find(n.encode("utf-16-le")) >= 0 for n in names)


def _sniff_ole(p: Path) -> FileKind:
    # [MS-OFFCRYPTO] 2.3.4: an encrypted OOXML file is a compound file with EncryptionInfo and
    # EncryptedPackage streams; an encrypted .xls keeps its Workbook stream (FILEPASS record)
    if _ole_has(p, "EncryptionInfo", "EncryptedPackage"):
        return FileKind("encrypted", "a password-protected (encrypted) workbook", (
            "Open it in Excel/WPS with the password, remove the password (文件 → 信息 → 保护工作簿 → "
            "用密码进行加密, clear the password; WPS: 文件 → 文档加密 → 密码加密), and save it as .xlsx. "
            "evalkit never asks for or stores passwords."))
    if _ole_has(p, "WordDocument"):
        return FileKind("doc", "a Word 97–2003 document (.doc)",
                        "Copy the table into Excel/WPS and save it as .xlsx.")
    if _ole_has(p, "Workbook", "Book"):
        return FileKind("xls", "an old Excel 97–2003 workbook (.xls)", _RESAVE_SENTENCE)
    return FileKind("ole", "an Office 97–2003 file (the old .xls/.doc format)", _RESAVE_SENTENCE)


# --------------------------------------------------------------------------- workbook archives


def _check_workbook_archive(p: Path, file: str, limits: SafetyLimits) -> None:
    """Zip-bomb and entity checks on an .xlsx, from the central directory and bounded reads."""
    declared = _zip_entries(p)
    with zipfile.ZipFile(p) as z:
        infos = z.infolist()
        if max(len(infos), declared or 0) > limits.max_members:
            msg = (f"{file}: the workbook archive declares {len(infos)} parts (limit "
                   f"{limits.max_members}); it was not opened. A real workbook has a few dozen; "
                   f"this one is damaged or built to exhaust memory. {_RESAVE_SENTENCE}")
            raise IntakeError(msg)
        if any(i.flag_bits & 0x1 for i in infos):
            msg = (f"{file}: parts of the workbook archive are encrypted (zip encryption); it was not "
                   f"opened. Remove the protection and {_RESAVE_XLSX}.")
            raise IntakeError(msg)
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_bytes:
            msg = (f"{file}: the workbook declares {total / _MB:,.0f} MB of uncompressed content (limit "
                   f"{limits.max_uncompressed_bytes / _MB:,.0f} MB); it was not opened. Save large tables "
                   "as CSV or Parquet instead (文件 → 另存为 → 'CSV UTF-8（逗号分隔）'), or split the workbook.")
            raise IntakeError(msg)
        for i in infos:
            if i.file_size > limits.ratio_floor_bytes:
                ratio = i.file_size / max(i.compress_size, 1)
                if ratio > limits.max_member_ratio:
                    msg = (f"{file}: workbook part '{i.filename}' declares {i.file_size / _MB:,.0f} MB "
                           f"compressed into {i.compress_size / 1024:,.0f} KB (ratio {ratio:,.0f}:1, limit "
                           f"{limits.max_member_ratio:,.0f}:1), the signature of a zip bomb; it was not opened. "
                           f"If the file is genuine, {_RESAVE_XLSX} {_RESAVE_CSV}.")
                    raise IntakeError(msg)
        for i in infos:
            if not i.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            with z.open(i) as member:
                dtd = _prolog_has_dtd(member)
            if dtd:
                msg = (f"{file}: workbook part '{i.filename}' declares a DOCTYPE/ENTITY, which Excel never "
                       "writes and which can expand to exhaust memory (XML entity expansion); the "
                       f"workbook was not opened. If the file is genuine, {_RESAVE_XLSX}.")
                raise IntakeError(msg)


_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")


def _prolog_has_dtd(member, limit: int = 1 << 20) -> bool:
    """True if the XML prolog (everything before the root element) declares a DOCTYPE/ENTITY.

    Read in 64 KB pieces up to the root element's start; a prolog longer than ``limit``
    (comments can pad it to push a DOCTYPE past any fixed window) counts as one.
    """
    buf = b""
    while len(buf) < limit:
        chunk = member.read(65536)
        if not chunk:
            return bool(_DTD_RE.search(buf))
        buf += chunk
        m = _ELEMENT_RE.search(buf)
        prolog = buf[: m.start()] if m else buf
        if _DTD_RE.search(prolog):
            return True
        if m:
            return False
    return True


# --------------------------------------------------------------------------- entry points

#: what a reader can parse, by format
_READABLE = {"csv": {"text", "utf16_text"}, "xlsx": {"xlsx"}, "sav": {"sav"}, "dta": {"dta"},
             "parquet": {"parquet"}}
_FORMAT_FIX = {
    "xlsx": "Rename it to .xlsx, or give `format: xlsx` for this file in study.yaml.",
    "sav": "Rename it to .sav, or give `format: sav` for this file in study.yaml.",
    "dta": "Rename it to .dta, or give `format: dta` for this file in study.yaml.",
    "parquet": "Rename it to .parquet, or give `format: parquet` for this file in study.yaml.",
    "text": "If it is a CSV, rename it to .csv (or give `format: csv` in study.yaml).",
    "utf16_text": "If it is a CSV, rename it to .csv (or give `format: csv` in study.yaml).",
}
_FORMAT_NAMES = {"csv": "a CSV text file", "xlsx": "an Excel .xlsx workbook", "sav": "an SPSS .sav file",
                 "dta": "a Stata .dta file", "parquet": "a Parquet file", "xls": "an Excel file"}


def check_before_parsing(p: Path, file: str, fmt: str, *, limits: SafetyLimits = DEFAULT_LIMITS) -> str:
    """Refuse the file unless it is safe and really ``fmt``; return the format to read it as.

    ``fmt`` is the format asked for (``"xls"`` for a ``.xls`` name, which is read
    only if it is really an ``.xlsx``). The file must exist and be a regular file
    (``read_raw`` checks that first).

    Raises
    ------
    IntakeError
        Naming the file, what it really is and the fix; never quoting its content.
    """
    size = p.stat().st_size
    if size > limits.max_file_bytes:
        msg = (f"{file}: the file is {size / _MB:,.0f} MB, above the limit of "
               f"{limits.max_file_bytes / _MB:,.0f} MB; it was not opened. Check that this is the right "
               "file; split it (e.g. one file per year) or raise the limit (SafetyLimits.max_file_bytes).")
        raise IntakeError(msg)
    kind = sniff_file(p)
    if kind.code in _READABLE.get(fmt, set()):
        if kind.code == "xlsx":
            _check_workbook_archive(p, file, limits)
        return fmt
    if fmt == "xls" and kind.code == "xlsx":
        _check_workbook_archive(p, file, limits)
        return "xlsx"  # renamed .xlsx; dispatch adds a warning
    if fmt == "xls" and kind.code in ("text", "utf16_text"):
        msg = (f"{file}: named .xls but this is {kind.what} (some systems export tab-separated text under "
               ".xls). Rename it to .txt or .csv (or give `format: csv` in study.yaml) and run again.")
        raise IntakeError(msg)
    fix = kind.fix or _FORMAT_FIX.get(kind.code, "")
    expected = _FORMAT_NAMES.get(fmt, fmt)
    msg = f"{file}: this is {kind.what}, not {expected}; it was not opened. {fix}".rstrip()
    raise IntakeError(msg)


_DATA_EXTENSIONS = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".sav", ".zsav", ".dta",
                    ".parquet", ".pq", ".json", ".pkl", ".pickle", ".joblib", ".npy", ".npz"}
_YAML_KEY_RE = re.compile(r"^\s*(?:-\s+)?[\w\u4e00-\u9fff\"'.-]+\s*:(?:\s|$)")


def check_config_file(path: str | os.PathLike[str]) -> None:
    """Refuse anything that is not a plain-text study config, without echoing its content.

    Call it before parsing ``study.yaml``. A data file passed by mistake (a survey
    workbook, a CSV of respondents, a pickle) is named by kind only: its content
    may be personal data, so no byte of it appears in the message.

    Raises
    ------
    ConfigError
        The path is missing, a folder, too large, binary, or a data table.
    """
    p = Path(path)
    file = str(path)
    usage = "Give the study config (study.yaml), e.g. `evalkit validate study.yaml`."
    if not p.exists():
        msg = f"{file}: config file not found. {usage}"
        raise ConfigError(msg)
    mode = p.stat().st_mode
    if stat.S_ISDIR(mode):
        inside = sorted(q.name for q in p.glob("*.y*ml"))[:3]
        hint = f" It holds {', '.join(inside)}." if inside else ""
        msg = f"{file}: is a folder, not a config file.{hint} {usage}"
        raise ConfigError(msg)
    if not stat.S_ISREG(mode):
        msg = f"{file}: is not a regular file. {usage}"
        raise ConfigError(msg)
    size = p.stat().st_size
    kind = sniff_file(p)
    data_ext = p.suffix.lower() in _DATA_EXTENSIONS
    if kind.code not in ("text", "utf16_text"):
        msg = (f"{file}: this is {kind.what}, a data file, not the study config; its content was not "
               f"read or shown. {usage} The config names this file under `data:`.")
        raise ConfigError(msg)
    if size > DEFAULT_LIMITS.max_config_bytes:
        msg = (f"{file}: {size / _MB:,.1f} MB is far too large for a study config (a few KB); it looks "
               f"like a data file and was not read. {usage}")
        raise ConfigError(msg)
    with p.open("rb") as fh:
        head = fh.read(65536)
    if b"\x00" in head and kind.code != "utf16_text":
        msg = f"{file}: this is a binary file, not the study config; its content was not shown. {usage}"
        raise ConfigError(msg)
    try:
        text = head.decode("utf-16") if kind.code == "utf16_text" else head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        text = head.decode("gb18030", errors="replace")
    lines = [ln for ln in text.splitlines()[:20] if ln.strip() and not ln.lstrip().startswith("#")]
    yaml_like = sum(bool(_YAML_KEY_RE.match(ln)) for ln in lines)
    delims = [max(ln.count(","), ln.count("\t")) for ln in lines]
    tabular = len(lines) >= 2 and delims[0] >= 2 and sum(d == delims[0] for d in delims) >= 0.8 * len(lines)
    if (tabular and yaml_like < len(lines) / 2) or (data_ext and yaml_like == 0):
        cols = f" with {delims[0] + 1} columns" if tabular else ""
        msg = (f"{file}: looks like a data table{cols}, not the study config; its content was not "
               f"shown. {usage} The config names this file under `data:`.")
        raise ConfigError(msg)
