"""Tests of the raw-file readers: every bad file is built with the real library
(or real bytes) and the message must name the file, the row the user sees and
the column."""

from __future__ import annotations

import hashlib
import time
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from evalkit.errors import IntakeError
from evalkit.intake import encoding as enc
from evalkit.intake.problems import Problem
from evalkit.intake.readers import RawTable, read_raw

ID = "社区编码"


# --------------------------------------------------------------------------- helpers


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def only(table: RawTable, check: str) -> Problem:
    """The one problem of kind ``check``; its message must name the file (and column)."""
    found = [p for p in table.problems if p.check == check]
    assert len(found) == 1, [str(p) for p in table.problems]
    p = found[0]
    assert p.file == table.file and Path(p.file).name in p.message, p.message
    if p.column and not p.column.startswith("Unnamed"):
        assert f"'{p.column}'" in p.message, p.message
    if p.sheet:
        assert f'sheet "{p.sheet}"' in p.message or p.check == "sheet_choice", p.message
    return p


def checks(table: RawTable) -> set[str]:
    return {p.check for p in table.problems}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def csv_lines(n: int, start: int = 1) -> list[str]:
    """Data lines ``00ii,社区i,i*10``."""
    return [f"{i:04d},社区{i},{i * 10}" for i in range(start, start + n)]


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- CSV: encodings


def test_gbk_csv_is_detected_and_keeps_text_as_text(tmp_path: Path) -> None:
    f = write(tmp_path / "communities.csv",
              f"{ID},社区名称,备注\n0012,岳麓社区,NA\n0013,望城社区,null\n0014,天心社区,\n", "gbk")
    t = read_raw(f)
    assert t.encoding == "gb18030"
    assert t.frame[ID].tolist() == ["0012", "0013", "0014"]  # leading zeros survive
    assert t.frame["社区名称"].tolist() == ["岳麓社区", "望城社区", "天心社区"]
    assert t.frame["备注"].iloc[:2].tolist() == ["NA", "null"]  # not silently NaN
    assert pd.isna(t.frame["备注"].iloc[2])  # empty string → missing
    assert t.row_numbers.tolist() == [2, 3, 4]
    assert t.problems == ()


def test_gb18030_rare_characters_that_break_gbk(tmp_path: Path) -> None:
    data = "问卷编号,姓名\n001,李䶮\n002,𠮷野家\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")  # the file really is beyond GBK
    f = tmp_path / "survey.csv"
    f.write_bytes(data)
    t = read_raw(f)
    assert t.encoding == "gb18030"
    assert t.frame["姓名"].tolist() == ["李䶮", "𠮷野家"]


def test_utf8_bom_is_stripped_and_reported(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", f"{ID},人口\n0012,5\n", "utf-8-sig")
    t = read_raw(f)
    assert t.encoding == "utf-8-sig"
    assert list(t.frame.columns) == [ID, "人口"]  # no '\ufeff社区编码'


def test_declared_gbk_but_file_is_utf8(tmp_path: Path) -> None:
    f = write(tmp_path / "pilots.csv", f"{ID},试点类型\n0012,五社联动\n")
    t = read_raw(f, encoding="gbk")
    p = only(t, "encoding_mismatch")
    assert p.severity == "warning" and "pilots.csv" in p.message and "encoding: gbk" in p.message
    assert t.encoding == "utf-8" and t.frame["试点类型"].tolist() == ["五社联动"]


def test_declared_utf8_but_file_is_gbk(tmp_path: Path) -> None:
    f = write(tmp_path / "pilots.csv", f"{ID},试点类型\n0012,三社联动\n", "gbk")
    t = read_raw(f, encoding="utf-8")
    p = only(t, "encoding_mismatch")
    assert p.severity == "warning" and "GB18030" in p.message
    assert t.encoding == "gb18030" and t.frame["试点类型"].tolist() == ["三社联动"]


def test_file_mixing_utf8_and_gbk_names_the_lines(tmp_path: Path) -> None:
    """Two exports pasted together: the bytes are valid GB18030 as a whole (so a
    plain decode 'succeeds' with garbage), but lines 1-2 are UTF-8."""
    data = "工单编号,诉求类别\nR1,噪音扰民\n".encode() + "R2,停车难\nR3,环境卫生\n".encode("gbk")
    assert data.decode("gb18030")  # the trap: no decode error
    f = tmp_path / "requests.csv"
    f.write_bytes(data)
    t = read_raw(f)
    p = only(t, "mixed_encoding")
    assert p.severity == "error" and "requests.csv" in p.message and p.rows == (1, 2)
    assert "lines 1, 2 are UTF-8" in p.message
    assert t.frame["诉求类别"].tolist() == ["噪音扰民", "停车难", "环境卫生"]  # the rest is still checked


def test_bytes_valid_in_no_encoding_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "requests.csv"
    f.write_bytes("工单编号,诉求类别\nR1,停车\n".encode("gbk") + b"R2,\xff\xff\nR3,\xc9\xe7\n")
    t = read_raw(f)
    p = only(t, "undecodable")
    assert p.severity == "error" and p.rows == (3,) and "line 3" in p.message and "requests.csv" in p.message
    assert t.frame["诉求类别"].tolist()[::2] == ["停车", "社"]


# --------------------------------------------------------------------------- CSV: cells and rows


def test_excel_error_literals_are_reported_with_row_and_column(tmp_path: Path) -> None:
    lines = csv_lines(20)
    lines[15] = "0016,社区16,#DIV/0!"  # line 17 of the file (header is line 1)
    lines[3] = "0004,#N/A,40"
    f = write(tmp_path / "panel.csv", f"{ID},社区名称,投入资金（万元）\n" + "\n".join(lines) + "\n")
    t = read_raw(f)
    money = [p for p in t.problems if p.column == "投入资金（万元）"]
    assert len(money) == 1 and money[0].check == "excel_error" and money[0].severity == "error"
    assert money[0].rows == (17,)
    assert "panel.csv" in money[0].message and "row 17" in money[0].message and "#DIV/0!" in money[0].message
    name = [p for p in t.problems if p.column == "社区名称"][0]
    assert name.rows == (5,) and "#N/A" in name.message
    assert pd.isna(t.frame.loc[t.row_numbers == 17, "投入资金（万元）"]).all()


def test_bad_value_on_line_17_after_multiline_field_and_blank_line(tmp_path: Path) -> None:
    """Line numbers are physical lines: a quoted value spanning 2 lines and a blank line
    come before the bad cell, which must still be reported on line 17."""
    lines = ["0001,\"岳麓\n社区\",10"]  # lines 2-3
    lines += csv_lines(5, start=2)  # lines 4-8
    lines += [""]  # line 9, blank
    lines += csv_lines(7, start=7)  # lines 10-16
    lines += ["0014,社区14,#VALUE!"]  # line 17
    lines += csv_lines(3, start=15)
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f)
    p = only(t, "excel_error")
    assert p.rows == (17,) and "row 17" in p.message and p.column == "人口"
    assert only(t, "blank_rows").rows == (9,)
    assert t.row_numbers[0] == 2 and t.row_numbers[1] == 4
    assert t.frame["社区名称"].iloc[0] == "岳麓\n社区"


def test_nul_bytes_name_the_line_and_other_problems_still_show(tmp_path: Path) -> None:
    f = tmp_path / "survey.csv"
    f.write_bytes(b"id,q1,q2\n1,3,4\n2,5\x00\x00,1\n3,#N/A,2\n")
    t = read_raw(f)
    p = only(t, "nul_bytes")
    assert p.severity == "error" and p.rows == (3,) and "line 3" in p.message and "survey.csv" in p.message
    assert t.frame["q1"].iloc[1] == "5"
    assert only(t, "excel_error").rows == (4,)


def test_duplicate_headers_name_both_positions(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", f"{ID},人口,户数,人口\n0012,100,30,101\n")
    t = read_raw(f)
    p = only(t, "duplicate_header")
    assert p.severity == "error" and p.column == "人口"
    assert "columns 2 and 4" in p.message and "B and D" in p.message and "c.csv" in p.message
    assert list(t.frame.columns) == [ID, "人口", "户数", "人口.1"]
    assert t.frame["人口.1"].tolist() == ["101"]


def test_wrong_number_of_fields_names_the_lines(tmp_path: Path) -> None:
    lines = csv_lines(6)
    lines[2] = "0003,社区3"  # line 4: too few
    lines[4] = "0005,社区5,50,多余"  # line 6: too many, with content
    lines[5] = "0006,社区6,60,"  # line 7: a trailing empty field only
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f)
    errs = [p for p in t.problems if p.check == "field_count"]
    assert [p.rows for p in errs] == [(4,), (6,)]
    assert "line 4" in errs[0].message and "fewer" in errs[0].message
    assert "line 6" in errs[1].message and "more" in errs[1].message
    assert only(t, "trailing_delimiters").rows == (7,)
    assert only(t, "trailing_delimiters").severity == "warning"


def test_stray_quote_uses_the_exact_fallback_with_right_lines(tmp_path: Path) -> None:
    """A lone quote in the middle of a field defeats quote parity; the csv module
    fallback must give the same values and line numbers."""
    lines = csv_lines(5)
    lines[1] = '0002,5"3 社区,20'  # stray quote (inches sign)
    lines[3] = "0004,社区4"  # line 5: too few fields
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f)
    assert t.frame["社区名称"].iloc[1] == '5"3 社区'
    assert only(t, "field_count").rows == (5,)
    assert t.row_numbers.tolist() == [2, 3, 4, 5, 6]


def test_bare_cr_line_endings(tmp_path: Path) -> None:
    f = tmp_path / "mac.csv"
    f.write_bytes(f"{ID},人口\r0012,#REF!\r0013,5\r".encode())
    t = read_raw(f)
    assert t.frame[ID].tolist() == ["0012", "0013"]
    assert only(t, "excel_error").rows == (2,)


def test_unterminated_quote_names_the_line(tmp_path: Path) -> None:
    lines = csv_lines(4)
    lines[1] = '0002,"社区2,20'  # line 3: the quote never closes
    t = read_raw(write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n"))
    p = only(t, "unterminated_quote")
    assert p.severity == "error" and p.rows == (3,) and "line 3" in p.message and "c.csv" in p.message


def test_totals_rows_dropped_with_warning(tmp_path: Path) -> None:
    lines = csv_lines(4) + ["合 计,,100", "小计,,10", "Total:,,110"]
    lines.insert(2, "合计,,30")  # a subtotal in the middle (line 4)
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f, id_columns=[ID])
    p = only(t, "totals_row")
    assert p.severity == "warning" and p.rows == (4, 7, 8, 9)
    assert "rows 4, 7, 8, 9" in p.message and "合 计" in p.message
    assert t.frame[ID].tolist() == ["0001", "0002", "0003", "0004"]
    assert t.row_numbers.tolist() == [2, 3, 5, 6]


def test_totals_row_without_id_below_the_data(tmp_path: Path) -> None:
    lines = csv_lines(3) + [",合计,60", ",注：数据截至2023年底,"]
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f, id_columns=[ID])
    assert only(t, "totals_row").rows == (5, 6)
    assert len(t.frame) == 3


def test_blank_rows_dropped_and_counted_only_inside_the_data(tmp_path: Path) -> None:
    lines = csv_lines(2) + [",,", ""] + csv_lines(2, start=3) + [",,", ",,", ""]
    f = write(tmp_path / "c.csv", f"{ID},社区名称,人口\n" + "\n".join(lines) + "\n")
    t = read_raw(f)
    p = only(t, "blank_rows")
    assert p.rows == (4, 5) and p.severity == "warning" and "2 empty row(s)" in p.message
    assert t.row_numbers.tolist() == [2, 3, 6, 7]


def test_header_only_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    t = read_raw(write(tmp_path / "c.csv", f"{ID},人口\n"))
    p = only(t, "no_data_rows")
    assert p.severity == "error" and "c.csv" in p.message
    assert list(t.frame.columns) == [ID, "人口"] and len(t.frame) == 0


def test_title_rows_above_the_csv_header(tmp_path: Path) -> None:
    text = "示范市社区名录（2023年）\n,,\n" + f"{ID},社区名称,人口\n" + "\n".join(csv_lines(3)) + "\n"
    t = read_raw(write(tmp_path / "c.csv", text), expected_columns=[ID, "社区名称", "人口"])
    assert list(t.frame.columns) == [ID, "社区名称", "人口"]
    assert t.row_numbers.tolist() == [4, 5, 6]
    assert only(t, "title_rows").severity == "warning"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("社区名称".encode().decode("latin-1").encode(), "ç¤¾", id="utf8-read-as-latin1"),
        pytest.param("锟斤拷锟斤拷".encode(), "锟斤拷", id="kunjinkao"),
        pytest.param("岳麓\ufffd\ufffd".encode(), "\ufffd", id="replacement-chars"),
    ],
)
def test_mojibake_cells_are_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    f = tmp_path / "c.csv"
    f.write_bytes(f"{ID},社区名称\n0001,岳麓社区\n0002,".encode() + content + b"\n")
    t = read_raw(f)
    p = only(t, "mojibake")
    assert p.severity == "error" and p.column == "社区名称" and p.rows == (3,)
    assert "row 3" in p.message and "c.csv" in p.message and "CSV UTF-8" in p.message
    assert any(fragment in v for v in p.values)


def test_mojibake_utf8_opened_as_gbk_and_saved(tmp_path: Path) -> None:
    """A UTF-8 CSV opened as GBK in Excel/WPS and then saved as 'CSV UTF-8' or .xlsx:
    the garbled characters themselves are now stored (岳麓社区 → 宀抽簱绀惧尯)."""
    names = ["岳麓社区", "望城社区", "天心社区", "雨花社区"]
    garbled = [n.encode("utf-8").decode("gb18030") for n in names]
    lines = [f"{i:04d},{g}" for i, g in enumerate(garbled, 1)]
    f = write(tmp_path / "c.csv", f"{ID},社区名称\n" + "\n".join(lines) + "\n", "utf-8")
    t = read_raw(f)
    p = only(t, "mojibake")
    assert p.rows == (2, 3, 4, 5) and "opened as GBK" in p.message and p.column == "社区名称"
    rows = [[ID, "社区名称"], *[[f"{i:04d}", g] for i, g in enumerate(garbled, 1)]]
    x = workbook(tmp_path / "c.xlsx", {"数据": rows})
    assert only(read_raw(x), "mojibake").rows == (2, 3, 4, 5)


def test_bom_mojibake_in_header(tmp_path: Path) -> None:
    f = write(tmp_path / "c.csv", "ï»¿社区编码,人口\n0012,3\n")
    p = only(read_raw(f), "mojibake")
    assert "header" in p.message and "ï»¿" in p.message


def test_genuine_chinese_is_not_mojibake(tmp_path: Path) -> None:
    """Middle dots, m², ° and real names must not trip the detector."""
    lines = [f"{i:04d},破·引·立·助·治·享,120 m²,阿卜杜·热合曼" for i in range(1, 40)]
    lines += ["0040,\u00a0\u00a0\u00a0\u00a0缩进,25°C,待定····", "0041,Müller,×2,Ça va"]
    for encoding in ("utf-8", "gb18030"):
        f = write(tmp_path / f"c_{encoding}.csv", "编号,方法,面积,联系人\n" + "\n".join(lines) + "\n", encoding)
        assert read_raw(f).problems == ()


def test_mojibake_heuristics_leave_genuine_text_alone() -> None:
    """20,000 random words of common GB2312 characters: none looks like UTF-8 read as
    GBK; European words do not look like GBK read as Latin-1."""
    rng = np.random.default_rng(20240901)

    def word(k: int) -> str:
        raw = bytearray()
        for _ in range(k):
            raw += bytes([int(rng.integers(0xB0, 0xD8)), int(rng.integers(0xA1, 0xFF))])
        return raw.decode("gb18030", errors="ignore")

    words = [word(int(rng.integers(2, 5))) for _ in range(20_000)]
    assert sum(enc.recover_utf8_read_as_gbk(w) is not None for w in words) == 0
    assert not enc.looks_like_utf8_read_as_gbk(words)
    assert enc.looks_like_utf8_read_as_gbk([w.encode().decode("gb18030", errors="ignore") for w in
                                            ["岳麓社区", "望城社区", "天心社区"]])
    assert not enc.looks_like_latin1_gbk(["Müller", "José", "Ça va", "25°C", "m²"])
    assert enc.looks_like_latin1_gbk([w.encode("gb18030").decode("latin-1") for w in ["男", "女", "社区"]])


# --------------------------------------------------------------------------- unreadable files


def test_unreadable_files_raise_intake_error_naming_file_and_fix(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match=r"survey\.sav: file not found.*similar names there: survey_2024\.sav"):
        (tmp_path / "survey_2024.sav").write_bytes(b"x")
        read_raw(tmp_path / "survey.sav")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(IntakeError, match=r"empty\.csv: the file is empty \(0 bytes\)"):
        read_raw(tmp_path / "empty.csv")
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(IntakeError, match=r"data\.json: unknown file type '\.json'.*format:"):
        read_raw(tmp_path / "data.json")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0rest")
    with pytest.raises(IntakeError, match=r"old\.xls: this is an Office 97–2003 file.*另存为"):
        read_raw(tmp_path / "old.xls")
    workbook(tmp_path / "book.xlsx", {"数据": [[ID], ["0012"]]})
    (tmp_path / "renamed.csv").write_bytes((tmp_path / "book.xlsx").read_bytes())
    with pytest.raises(IntakeError, match=r"renamed\.csv: this is an Excel workbook"):
        read_raw(tmp_path / "renamed.csv")
    with pytest.raises(IntakeError, match=r"unknown text encoding 'gbk2312'.*remove `encoding:`"):
        read_raw(write(tmp_path / "ok.csv", f"{ID}\n0012\n"), encoding="gbk2312")
    write(tmp_path / "fake.xlsx", f"{ID},人口\n0012,3\n")
    with pytest.raises(IntakeError, match=r"fake\.xlsx: this is a text file, not an Excel \.xlsx workbook.*rename it to \.csv"):
        read_raw(tmp_path / "fake.xlsx")


# --------------------------------------------------------------------------- xlsx


def _survey_sheet(n: int = 20) -> list[list[object]]:
    """Title row, blank row, header on sheet row 3, data from row 4."""
    rows: list[list[object]] = [["示范市居民问卷（2023）"], [], ["问卷编号", ID, "访问日期", "满意度"]]
    for i in range(n):
        rows.append([f"R{i:03d}", f"{i % 3:04d}", datetime(2023, 5, 1 + i % 28), 4])
    return rows


def test_xlsx_row_17_with_instructions_sheet_and_title_rows(tmp_path: Path) -> None:
    rows = _survey_sheet()
    rows[16][3] = "#DIV/0!"  # list index 16 = sheet row 17
    f = workbook(tmp_path / "survey.xlsx", {"填表说明": [["请勿修改表头"], ["满意度：1-5"]], "问卷": rows})
    t = read_raw(f, expected_columns=["问卷编号", ID, "访问日期", "满意度"])
    assert t.sheet == "问卷" and t.format == "xlsx"
    p = only(t, "excel_error")
    assert p.rows == (17,) and p.sheet == "问卷" and p.column == "满意度"
    assert 'survey.xlsx, sheet "问卷", column \'满意度\'' in p.message and "row 17" in p.message
    assert only(t, "sheet_choice").severity == "warning" and "填表说明" in only(t, "sheet_choice").message
    assert t.row_numbers[0] == 4 and t.row_numbers[-1] == 23
    assert isinstance(t.frame["访问日期"].iloc[0], (datetime, pd.Timestamp))  # dates kept
    assert t.frame[ID].iloc[0] == "0000"  # text ids keep leading zeros


def test_xlsx_table_placed_away_from_a1_keeps_sheet_rows_and_letters(tmp_path: Path) -> None:
    """The sheet's used range starts at C3 (openpyxl then reports min_row=3, min_col=3);
    row and column numbers must still be the sheet's own."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws["C3"] = "示范市服务记录"
    for j, name in enumerate(["服务编号", ID, "服务人次"]):
        ws.cell(row=5, column=3 + j, value=name)
    for r in range(6, 30):
        ws.cell(row=r, column=3, value=f"S{r}")
        ws.cell(row=r, column=4, value="0012")
        ws.cell(row=r, column=5, value=3)
    ws.cell(row=17, column=5, value="#VALUE!")
    ws.cell(row=1, column=8, value="备注")  # a stray note right of the table, above the header
    f = tmp_path / "services.xlsx"
    wb.save(f)
    t = read_raw(f, expected_columns=["服务编号", ID, "服务人次"])
    assert list(t.frame.columns) == ["服务编号", ID, "服务人次"]
    assert t.row_numbers[0] == 6 and only(t, "excel_error").rows == (17,)
    assert only(t, "title_rows").rows == (1, 2, 3, 4)


def test_xlsx_uncached_formulas_name_the_cells(tmp_path: Path) -> None:
    rows = [["社区编码", "社工", "志愿者", "合计人数"]]
    rows += [[f"{i:04d}", i, 2 * i, i * 3] for i in range(1, 20)]
    rows[15][3] = "=B16+C16"  # sheet row 16: a formula openpyxl cannot compute
    rows[16][3] = "=B17+C17"  # sheet row 17
    f = workbook(tmp_path / "panel.xlsx", {"面板": rows})
    t = read_raw(f)
    p = only(t, "uncached_formula")
    assert p.severity == "error" and p.values == ("D16", "D17") and p.rows == (16, 17)
    assert "D16, D17" in p.message and "Excel or WPS" in p.message and "panel.xlsx" in p.message


def test_xlsx_formula_with_cached_value_is_fine(tmp_path: Path) -> None:
    f = workbook(tmp_path / "panel.xlsx", {"面板": [["社区编码", "a", "b", "s"], ["0001", 1, 2, "=B2+C2"]]})
    # give the formula a cached result, as Excel would have saved it
    with zipfile.ZipFile(f) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(
        b"<f>B2+C2</f><v></v>", b"<f>B2+C2</f><v>3</v>")
    fixed = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(fixed, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    t = read_raw(fixed)
    assert "uncached_formula" not in checks(t)
    assert t.frame["s"].tolist() == [3]


def test_xlsx_merged_and_blank_headers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名录"
    ws.append(["社区编码", "人口", None, None, "街道"])
    ws.merge_cells("B1:C1")  # a group header over two columns
    ws.append(["0001", 100, 30, "x", "岳麓街道"])
    ws.append(["0002", 120, 40, None, None])
    ws.append(["0003", 130, 50, None, None])
    ws.merge_cells("E2:E4")  # a street merged down over its communities
    f = tmp_path / "c.xlsx"
    wb.save(f)
    t = read_raw(f)
    merged = only(t, "merged_header")
    assert merged.severity == "error" and "B1:C1" in merged.message and "columns B, C" in merged.message
    blank = only(t, "blank_header")  # D has data but no header; C is covered by the merge
    assert "column D" in blank.message and blank.rows == (2,)
    data = only(t, "merged_cells")
    assert data.severity == "warning" and data.column == "街道" and data.rows == (2, 3, 4)


def test_note_beside_a_totals_row_is_not_a_column(tmp_path: Path) -> None:
    rows = [[ID, "人口"], ["0001", 10], ["0002", 20], ["合计", 30, None, "注：不含流动人口"]]
    t = read_raw(workbook(tmp_path / "c.xlsx", {"数据": rows}), id_columns=[ID])
    assert "blank_header" not in checks(t) and list(t.frame.columns) == [ID, "人口"]
    assert only(t, "totals_row").rows == (4,)


def test_xlsx_numeric_ids_warn_about_leading_zeros(tmp_path: Path) -> None:
    rows = [[ID, "人口"], ["0012", 1], [13, 2], [14.0, 3]]
    t = read_raw(workbook(tmp_path / "c.xlsx", {"数据": rows}), id_columns=[ID])
    p = only(t, "id_as_number")
    assert p.severity == "warning" and p.rows == (3, 4) and p.column == ID
    assert "leading zeros" in p.message.lower() and "row" in p.message
    assert t.frame[ID].iloc[0] == "0012"


def test_xlsx_totals_row_and_header_only(tmp_path: Path) -> None:
    rows = [[ID, "人口"], ["0001", 10], ["0002", 20], ["合计", "=SUM(B2:B3)"]]
    t = read_raw(workbook(tmp_path / "c.xlsx", {"数据": rows}), id_columns=[ID])
    assert only(t, "totals_row").rows == (4,)
    assert "uncached_formula" not in checks(t)  # the dropped totals row does not count
    assert t.frame[ID].tolist() == ["0001", "0002"]
    t = read_raw(workbook(tmp_path / "h.xlsx", {"数据": [[ID, "人口"]]}))
    assert only(t, "no_data_rows").sheet == "数据"


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    f = workbook(tmp_path / "c.xlsx", {"说明": [["x"]], "面板数据": [[ID], ["0001"]]})
    with pytest.raises(IntakeError, match=r"c\.xlsx: no sheet \"面板\"; the workbook has '说明', '面板数据'"):
        read_raw(f, sheet="面板")
    assert read_raw(f, sheet="面板数据").frame[ID].tolist() == ["0001"]


# --------------------------------------------------------------------------- sav


def _survey_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["R001", "R002", "R003", "R004"],
        "name": ["张三", "李四", "王五", "赵六"],
        "A1": [4.0, 8.0, 9.0, 2.0],
        "age": [35.0, 98.0, 61.0, 99.0],
    })


def _write_sav(path: Path) -> None:
    pyreadstat.write_sav(
        _survey_frame(), str(path), column_labels=["问卷编号", "姓名", "社区服务让我的生活更方便了", "年龄"],
        variable_value_labels={"A1": {1: "非常不同意", 2: "不太同意", 4: "比较同意", 8: "不知道", 9: "拒答"}},
        missing_ranges={"A1": [8, 9], "age": [{"lo": 97, "hi": 99}]},
    )


def test_sav_keeps_user_missing_codes_and_labels(tmp_path: Path) -> None:
    f = tmp_path / "survey.sav"
    _write_sav(f)
    t = read_raw(f)
    assert t.frame["A1"].tolist() == [4.0, 8.0, 9.0, 2.0]  # 8 and 9 survive
    assert t.missing_codes == {"A1": [8.0, 9.0], "age": [97.0, 98.0, 99.0]}  # a range: bounds + codes present
    assert t.frame["age"].tolist() == [35.0, 98.0, 61.0, 99.0]
    assert t.value_labels["A1"][8.0] == "不知道" and t.value_labels["A1"][9.0] == "拒答"
    assert t.variable_labels["A1"] == "社区服务让我的生活更方便了"
    assert t.frame["name"].tolist() == ["张三", "李四", "王五", "赵六"]
    assert t.row_numbers.tolist() == [1, 2, 3, 4] and t.problems == ()


def test_sav_with_gbk_text_falls_back_to_gb18030(tmp_path: Path) -> None:
    """An SPSS file whose strings are GBK bytes while the header declares UTF-8 (old
    SPSS on Chinese Windows): built by re-encoding a real .sav's strings in place,
    padded to the same byte length."""
    f = tmp_path / "u.sav"
    _write_sav(f)
    data = f.read_bytes()
    for s in ["张三", "李四", "王五", "赵六", "姓名", "不知道", "拒答", "比较同意"]:
        u, g = s.encode("utf-8"), s.encode("gb18030")
        assert data.count(u) == 1
        data = data.replace(u, g + b" " * (len(u) - len(g)))
    g = tmp_path / "gbk.sav"
    g.write_bytes(data)
    with pytest.raises(pyreadstat.ReadstatError):
        pyreadstat.read_sav(str(g))  # the declared encoding really fails
    t = read_raw(g)
    assert t.encoding == "gb18030"
    assert t.frame["name"].tolist() == ["张三", "李四", "王五", "赵六"]
    assert t.value_labels["A1"][8.0] == "不知道" and t.variable_labels["name"] == "姓名"
    assert only(t, "encoding_fallback").severity == "warning"


# --------------------------------------------------------------------------- dta


def _old_stata_gbk(path: Path, version: int) -> None:
    """A Stata ≤ 13 file as written on Chinese Windows: strings are GB18030 bytes.

    pyreadstat writes ASCII placeholders of the right byte length, which are
    then replaced by the GB18030 bytes of the real text.
    """
    df = pd.DataFrame({"name": ["AAAA", "BBBB", "CCCC"], "gender": [1.0, 2.0, 1.0]})
    pyreadstat.write_dta(df, str(path), version=version, column_labels=["XXXX", "YYYY"],
                         variable_value_labels={"gender": {1: "MM", 2: "FF"}})
    data = path.read_bytes()
    for placeholder, text in [(b"AAAA", "社区"), (b"BBBB", "张三"), (b"CCCC", "李䶮"), (b"XXXX", "姓名"),
                              (b"YYYY", "性别"), (b"MM\x00", "男\x00"), (b"FF\x00", "女\x00")]:
        assert data.count(placeholder) == 1, placeholder
        assert len(text.encode("gb18030")) == len(placeholder)
        data = data.replace(placeholder, text.encode("gb18030"))
    path.write_bytes(data)


@pytest.mark.parametrize("version", [12, 13])
def test_old_stata_gb18030_strings_are_detected_and_reread(tmp_path: Path, version: int) -> None:
    f = tmp_path / "survey.dta"
    _old_stata_gbk(f, version)
    naive, _ = pyreadstat.read_dta(str(f))
    assert naive["name"].iloc[0] == "ÉçÇø"  # what a plain read gives
    t = read_raw(f)
    assert t.encoding == "gb18030"
    assert t.frame["name"].tolist() == ["社区", "张三", "李䶮"]
    assert t.variable_labels == {"name": "姓名", "gender": "性别"}
    assert t.value_labels["gender"] == {1.0: "男", 2.0: "女"}
    assert only(t, "encoding_fallback").severity == "warning"
    assert "mojibake" not in checks(t)


def test_modern_stata_utf8_is_read_as_is(tmp_path: Path) -> None:
    f = tmp_path / "s.dta"
    pyreadstat.write_dta(pd.DataFrame({"name": ["社区", "Müller"], "q": [1.0, 2.0]}), str(f), version=15,
                         variable_value_labels={"q": {1: "满意", 2: "一般"}})
    t = read_raw(f)
    assert t.frame["name"].tolist() == ["社区", "Müller"] and t.problems == ()
    assert t.value_labels == {"q": {1.0: "满意", 2.0: "一般"}}


# --------------------------------------------------------------------------- parquet


def test_parquet_reads_and_warns_about_numeric_ids(tmp_path: Path) -> None:
    f = tmp_path / "services.parquet"
    pd.DataFrame({"service_id": ["S1", "S2"], "community_id": [430102001, 430102002]}).to_parquet(f)
    t = read_raw(f, id_columns=["service_id", "community_id"])
    assert t.row_numbers.tolist() == [1, 2] and t.format == "parquet"
    p = only(t, "id_as_number")
    assert p.column == "community_id" and p.rows == (1, 2)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(IntakeError, match=r"bad\.parquet: this is a text file, not a Parquet file"):
        read_raw(tmp_path / "bad.parquet")


# --------------------------------------------------------------------------- inputs stay untouched


def test_raw_inputs_are_never_modified(tmp_path: Path) -> None:
    files = [write(tmp_path / "a.csv", f"{ID},人口\n0012,#N/A\n合计,1\n", "gbk")]
    files.append(workbook(tmp_path / "b.xlsx", {"说明": [["x"]], "数据": [[ID, "s"], ["0001", "=1+1"]]}))
    _write_sav(tmp_path / "c.sav")
    _old_stata_gbk(tmp_path / "d.dta", 13)
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "e.parquet")
    files += [tmp_path / "c.sav", tmp_path / "d.dta", tmp_path / "e.parquet"]
    before = {f: (sha256(f), f.stat().st_mtime_ns) for f in files}
    for f in files:
        read_raw(f, id_columns=[ID])
    assert {f: (sha256(f), f.stat().st_mtime_ns) for f in files} == before


# --------------------------------------------------------------------------- performance


def _big_csv(path: Path, n: int) -> None:
    ids = np.char.add("S", np.arange(n).astype("U7"))
    blocks = np.array(["为老服务", "儿童关爱", "社区治理"])[np.arange(n) % 3]
    body = "\n".join(
        f"{i},43010200{k % 9},2023-05-01,{b},group,{k % 50},{k % 7}.5,{k % 5000}"
        for k, (i, b) in enumerate(zip(ids.tolist(), blocks.tolist()))
    )
    path.write_text("服务编号,社区编码,服务日期,服务板块,服务方式,服务人次,志愿时长（小时）,成本（元）\n"
                    + body + "\n", encoding="utf-8")


def test_medium_csv_reads_fast_and_keeps_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "services.csv"
    _big_csv(f, 100_000)
    t0 = time.perf_counter()
    t = read_raw(f, id_columns=["服务编号"])
    elapsed = time.perf_counter() - t0
    assert t.frame.shape == (100_000, 8) and t.problems == ()
    assert t.row_numbers[-1] == 100_001
    assert elapsed < 5, elapsed  # about 0.2 s here; generous for a shared machine


@pytest.mark.slow
def test_million_row_csv_reads_in_seconds(tmp_path: Path) -> None:
    f = tmp_path / "services.csv"
    _big_csv(f, 1_000_000)
    t0 = time.perf_counter()
    t = read_raw(f, id_columns=["服务编号"])
    elapsed = time.perf_counter() - t0
    assert t.frame.shape == (1_000_000, 8)
    assert t.frame["服务编号"].iloc[-1] == "S999999"
    assert elapsed < 15, elapsed  # about 2 s on an idle core
