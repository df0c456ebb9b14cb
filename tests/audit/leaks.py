"""A corpus of report artefacts shaped like real leaks, written with the real libraries.

Each builder writes one or more files into a folder and returns the secret
values it planted (so tests can check that no message repeats them). ID
numbers come from :func:`fake_id_number`: a seeded generator of numbers with a
valid check digit, not issued to anyone knowingly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
from docx import Document

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def fake_id_number(rng: random.Random) -> str:
    """A synthetic 18-digit resident ID number with a valid ISO 7064 MOD 11-2 check digit."""
    region = rng.choice(["110105", "310104", "440305", "420106", "510107"])
    birth = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + birth + f"{rng.randint(0, 999):03d}"
    check = _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]
    return body + check


def fake_legacy_id(rng: random.Random) -> str:
    """A synthetic 15-digit (pre-1999) ID number: region, YYMMDD, sequence."""
    return f"{rng.choice(['110105', '310104'])}{rng.randint(40, 85)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
           f"{rng.randint(0, 999):03d}"


def fake_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _notebook(cells: list, metadata: dict | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(metadata or {})
    return nb


def _write_nb(nb: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


# --- the leaks ----------------------------------------------------------------------------


def docx_id_in_header(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    doc = Document()
    doc.add_heading("社区治理评估报告", level=1)
    doc.add_paragraph("本报告汇总了各试点社区的评估结果。")
    doc.sections[0].header.paragraphs[0].text = f"经办人身份证 {secret}"
    doc.save(str(folder / "report.docx"))
    return [secret]


def xlsx_hidden_sheet_phones(folder: Path, rng: random.Random) -> list[str]:
    phones = [fake_mobile(rng) for _ in range(5)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(["社区", "样本量", "均值"])
    ws.append(["幸福社区", 120, 3.8])
    hidden = wb.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden.append(["编号", "电话"])
    for i, p in enumerate(phones):
        hidden.append([f"R{i:03d}", p])
    wb.save(str(folder / "tables.xlsx"))
    return phones


def html_row_level_table(folder: Path, rng: random.Random) -> list[str]:
    frame = pd.DataFrame({"respondent_id": [f"R{i:04d}" for i in range(12)],
                          "community": ["幸福社区"] * 12, "gain": [rng.randint(1, 5) for _ in range(12)]})
    (folder / "report.html").write_text(f"<html><body><h1>附表</h1>{frame.to_html(index=False)}</body></html>",
                                        encoding="utf-8")
    return []


def ipynb_traceback_with_row(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    err = nbformat.v4.new_output("error", ename="KeyError",
                                 evalue=f"\"row {{'姓名': '周建国', '身份证号': '{secret}', 'gain': 4}}\"",
                                 traceback=["\x1b[0;31mKeyError\x1b[0m Traceback (most recent call last)",
                                            "Cell In[3], line 1", f"KeyError: \"{{'姓名': '周建国'}}\""])
    cells = [nbformat.v4.new_markdown_cell("# 评估"),
             nbformat.v4.new_code_cell("survey.loc[17]", outputs=[err], execution_count=3)]
    _write_nb(_notebook(cells), folder / "03_impact.ipynb")
    return [secret, "周建国"]


def json_three_respondent_cell(folder: Path, rng: random.Random) -> list[str]:
    del rng
    results = {"by_community": {"C01": {"n": 42, "mean_gain": 3.9}, "C02": {"n": 3, "mean_gain": 2.1},
                                "C03": {"n": 57, "mean_gain": 4.0}}}
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return []


def md_fullwidth_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    wide = secret.translate({ord(str(d)): 0xFF10 + d for d in range(10)}).replace("X", "Ｘ")
    (folder / "notes.md").write_text(f"# 访谈纪要\n\n本次访谈顺利。\n受访者证件：{wide}\n", encoding="utf-8")
    return [secret, wide]


def csv_spaced_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    spaced = f"{secret[:6]} {secret[6:14]} {secret[14:]}"
    rows = [["community", "n", "comment"], ["A", "40", "无"], ["B", "55", "满意"], ["C", "61", f"证件 {spaced}"]]
    (folder / "comments.csv").write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    return [secret, spaced]


def log_dashed_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    dashed = f"{secret[:6]}-{secret[6:14]}-{secret[14:]}"
    (folder / "run.log").write_text(f"INFO start\nWARNING duplicate respondent {dashed}\nINFO done\n",
                                    encoding="utf-8")
    return [secret, dashed]


def csv_excel_mangled_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng)
    mangled = f"{secret[0]}.{secret[1:6]}E+17"
    (folder / "export.csv").write_text(f"community,n,id\nA,40,{mangled}\n", encoding="utf-8")
    return [secret, mangled]


def xlsx_numeric_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_id_number(rng).replace("X", "1")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["社区", "证件"])
    ws.append(["幸福社区", float(secret)])  # what Excel does to an ID typed into a number cell
    wb.save(str(folder / "list.xlsx"))
    return [secret]


def json_legacy_id(folder: Path, rng: random.Random) -> list[str]:
    secret = fake_legacy_id(rng)
    (folder / "cases.json").write_text(json.dumps({"note": f"老证号{secret}已更新"}, ensure_ascii=False),
                                       encoding="utf-8")
    return [secret]


def docx_table_phone(folder: Path, rng: random.Random) -> list[str]:
    phone = fake_mobile(rng)
    shown = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    doc = Document()
    doc.add_paragraph("附表：服务对象")
    table = doc.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("社区", "备注"), ("幸福社区", "无"), ("和谐社区", f"联系 {shown}")]):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    doc.save(str(folder / "annex.docx"))
    return [phone, shown]


def html_landline(folder: Path, rng: random.Random) -> list[str]:
    number = f"(021) 6{rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    (folder / "contact.html").write_text(f"<html><body><p>如有疑问请致电 {number}。</p></body></html>",
                                         encoding="utf-8")
    return [number]


def xlsx_email_in_properties(folder: Path, rng: random.Random) -> list[str]:
    address = f"wang.{rng.randint(100, 999)}@example.cn"
    wb = openpyxl.Workbook()
    wb.active.append(["社区", "样本量"])
    wb.active.append(["幸福社区", 88])
    wb.properties.creator = address
    wb.save(str(folder / "summary.xlsx"))
    return [address]


def ipynb_address_in_markdown(folder: Path, rng: random.Random) -> list[str]:
    address = f"幸福路{rng.randint(10, 999)}号5栋2单元301室"
    cells = [nbformat.v4.new_markdown_cell(f"## 个案\n\n服务对象住在{address}，独居。")]
    _write_nb(_notebook(cells), folder / "case.ipynb")
    return [address]


def xlsx_name_column(folder: Path, rng: random.Random) -> list[str]:
    names = ["李秀英", "王建国", "张伟"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["姓名", "社区", "得分"])
    for n in names:
        ws.append([n, "幸福社区", rng.randint(1, 5)])
    wb.save(str(folder / "names.xlsx"))
    return names


def md_name_in_text(folder: Path, rng: random.Random) -> list[str]:
    del rng
    (folder / "story.md").write_text("# 典型案例\n\n受访者王某某表示，社区服务改善明显。\n", encoding="utf-8")
    return ["王某某"]


def log_user_paths(folder: Path, rng: random.Random) -> list[str]:
    del rng
    (folder / "build.log").write_text("reading /home/zhangwei/data/survey.xlsx\n"
                                      "writing C:\\Users\\lihua\\Desktop\\out.docx\n", encoding="utf-8")
    return ["zhangwei", "lihua"]


def ipynb_papermill_metadata(folder: Path, rng: random.Random) -> list[str]:
    del rng
    params = nbformat.v4.new_code_cell('config_path = "study.yaml"\n', metadata={"tags": ["injected-parameters"]})
    meta = {"papermill": {"parameters": {"config_path": "study.yaml"}, "version": "2.7.0"}}
    _write_nb(_notebook([params, nbformat.v4.new_code_cell("1 + 1")], meta), folder / "01_dq.ipynb")
    return []


def html_small_cell(folder: Path, rng: random.Random) -> list[str]:
    del rng
    frame = pd.DataFrame({"社区": ["幸福", "和谐", "友爱"], "人数": [45, 7, 38], "均值": [3.9, 3.1, 4.2]})
    (folder / "counts.html").write_text(frame.to_html(index=False), encoding="utf-8")
    return []


def html_recoverable_1d(folder: Path, rng: random.Random) -> list[str]:
    del rng
    frame = pd.DataFrame({"社区": ["幸福", "和谐", "友爱", "合计"], "人数": ["45", "—", "38", "90"]})
    (folder / "counts.html").write_text(frame.to_html(index=False), encoding="utf-8")
    return []


def docx_recoverable_2d(folder: Path, rng: random.Random) -> list[str]:
    del rng
    grid = [["社区", "2023", "2024", "合计"], ["幸福", "—", "12", "15"], ["和谐", "20", "—", "44"],
            ["友爱", "30", "31", "61"], ["合计", "53", "67", "120"]]
    doc = Document()
    table = doc.add_table(rows=len(grid), cols=4)
    for r, row in enumerate(grid):
        for c, v in enumerate(row):
            table.cell(r, c).text = v
    doc.save(str(folder / "waves.docx"))
    return []


def csv_dominance(folder: Path, rng: random.Random) -> list[str]:
    del rng
    (folder / "hours.csv").write_text("community,n,total,top_1,top_2\nA,20,1000,880,30\nB,25,300,20,18\n",
                                      encoding="utf-8")
    return []


def html_describe_minmax(folder: Path, rng: random.Random) -> list[str]:
    values = pd.Series([rng.randint(20, 90) for _ in range(40)], name="age")
    (folder / "ages.html").write_text(values.describe().to_frame().to_html(), encoding="utf-8")
    return []


def xlsx_counts_of_one(folder: Path, rng: random.Random) -> list[str]:
    del rng
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append(["社区", "年龄", "n"])
    for i in range(8):
        ws.append([f"C{i}", 60 + i, 1])
    wb.save(str(folder / "detail.xlsx"))
    return []


def docx_footer_email(folder: Path, rng: random.Random) -> list[str]:
    address = f"li{rng.randint(10, 99)}@example.org"
    doc = Document()
    doc.add_paragraph("正文")
    doc.sections[0].footer.paragraphs[0].text = f"联系人邮箱 {address}"
    doc.save(str(folder / "memo.docx"))
    return [address]


def sav_in_reports(folder: Path, rng: random.Random) -> list[str]:
    import pyreadstat

    frame = pd.DataFrame({"community": ["A", "B"], "gain": [float(rng.randint(1, 5)), 3.0]})
    pyreadstat.write_sav(frame, str(folder / "survey_clean.sav"))
    return []


def docx_comment_phone(folder: Path, rng: random.Random) -> list[str]:
    phone = fake_mobile(rng)
    doc = Document()
    para = doc.add_paragraph("幸福社区满意度较高。")
    doc.add_comment(para.runs, text=f"核实请打 {phone}", author="评估组")
    doc.save(str(folder / "draft.docx"))
    return [phone]


def xlsx_cell_comment_id(folder: Path, rng: random.Random) -> list[str]:
    from openpyxl.comments import Comment

    secret = fake_id_number(rng)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["社区", "样本量"])
    ws.append(["幸福社区", 88])
    ws["B2"].comment = Comment(f"含重复受访者 {secret}", "analyst")
    wb.save(str(folder / "checked.xlsx"))
    return [secret]


#: case id → (builder, file name, expected kind, expected location substring)
CORPUS: dict[str, tuple[Callable[[Path, random.Random], list[str]], str, str, str]] = {
    "docx_id_in_header": (docx_id_in_header, "report.docx", "id_number", "section 1 header paragraph 1"),
    "xlsx_hidden_sheet_phones": (xlsx_hidden_sheet_phones, "tables.xlsx", "mobile_number",
                                 'sheet "隐藏" (hidden) B2'),
    "html_row_level_table": (html_row_level_table, "report.html", "row_level_table", "table 1 column 1"),
    "ipynb_traceback_with_row": (ipynb_traceback_with_row, "03_impact.ipynb", "traceback", "cell 2 output 1"),
    "ipynb_traceback_name": (ipynb_traceback_with_row, "03_impact.ipynb", "person_name", "cell 2 output 1"),
    "ipynb_traceback_id": (ipynb_traceback_with_row, "03_impact.ipynb", "id_number", "cell 2 output 1"),
    "json_three_respondent_cell": (json_three_respondent_cell, "results.json", "small_cell",
                                   "json $.by_community.C02.n"),
    "md_fullwidth_id": (md_fullwidth_id, "notes.md", "id_number", "line 4"),
    "csv_spaced_id": (csv_spaced_id, "comments.csv", "id_number", "row 4 column 3"),
    "log_dashed_id": (log_dashed_id, "run.log", "id_number", "line 2"),
    "csv_excel_mangled_id": (csv_excel_mangled_id, "export.csv", "id_number_excel_mangled", "row 2 column 3"),
    "xlsx_numeric_id": (xlsx_numeric_id, "list.xlsx", "id_number_excel_mangled", 'sheet "名单" B2'),
    "json_legacy_id": (json_legacy_id, "cases.json", "id_number", "json $.note"),
    "docx_table_phone": (docx_table_phone, "annex.docx", "mobile_number", "table 1 row 3 column 2"),
    "html_landline": (html_landline, "contact.html", "landline_number", "line 1"),
    "xlsx_email_in_properties": (xlsx_email_in_properties, "summary.xlsx", "email", "document properties 'creator'"),
    "ipynb_address_in_markdown": (ipynb_address_in_markdown, "case.ipynb", "street_address", "cell 1 source"),
    "xlsx_name_column": (xlsx_name_column, "names.xlsx", "person_name", 'sheet "名单" A2'),
    "md_name_in_text": (md_name_in_text, "story.md", "person_name", "line 3"),
    "log_user_paths": (log_user_paths, "build.log", "user_name", "line 1"),
    "log_windows_user": (log_user_paths, "build.log", "user_name", "line 2"),
    "ipynb_papermill_metadata": (ipynb_papermill_metadata, "01_dq.ipynb", "papermill_metadata",
                                 "notebook metadata 'papermill'"),
    "ipynb_injected_parameters": (ipynb_papermill_metadata, "01_dq.ipynb", "notebook_parameters",
                                  "cell 1 (injected parameters)"),
    "html_small_cell": (html_small_cell, "counts.html", "small_cell", "table 1 row 3 column 2"),
    "html_recoverable_1d": (html_recoverable_1d, "counts.html", "recoverable_cell", "table 1 row 3 column 2"),
    "docx_recoverable_2d": (docx_recoverable_2d, "waves.docx", "recoverable_cell", "table 1 row 2 column 2"),
    "csv_dominance": (csv_dominance, "hours.csv", "dominance", "row 2 column 3"),
    "html_describe_minmax": (html_describe_minmax, "ages.html", "extreme_statistic", "table 1 row"),
    "xlsx_counts_of_one": (xlsx_counts_of_one, "detail.xlsx", "row_level_table", 'sheet "明细" column 3'),
    "docx_comment_phone": (docx_comment_phone, "draft.docx", "mobile_number", "part word/comments.xml"),
    "xlsx_cell_comment_id": (xlsx_cell_comment_id, "checked.xlsx", "id_number", "part xl/comments"),
    "sav_in_reports": (sav_in_reports, "survey_clean.sav", "data_file", ""),
    "docx_footer_email": (docx_footer_email, "memo.docx", "email", "section 1 footer paragraph 1"),
}
