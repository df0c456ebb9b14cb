"""The publication audit on a corpus of leaks (each must fail, at the right place, without the value)
and on clean report folders (each must pass)."""

from __future__ import annotations

import json
import random
import re
import zlib
from pathlib import Path

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import pytest
from docx import Document
from leaks import CORPUS, fake_id_number, fake_mobile

from evalkit.audit import audit_reports, main_audit, scan_text, strip_for_publication
from evalkit.disclosure import protect_table
from evalkit.privacy import valid_id_number


def _digits(text: str) -> str:
    wide = {0xFF10 + d: ord(str(d)) for d in range(10)}
    return re.sub(r"\D", "", text.translate(wide))


def test_generator_gives_valid_check_digits():
    rng = random.Random(5)
    ids = [fake_id_number(rng) for _ in range(200)]
    assert all(valid_id_number(i) for i in ids)
    broken = [i[:17] + ("0" if i[17] != "0" else "1") for i in ids]  # one wrong check digit
    assert not any(scan_text(f"证件 {b}") for b in broken)


def test_corpus_has_at_least_fifteen_distinct_artefacts():
    builders = {spec[0] for spec in CORPUS.values()}
    kinds = {spec[2] for spec in CORPUS.values()}
    assert len(builders) >= 15 and len(kinds) >= 15


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_leak_fails_with_kind_and_location_but_not_value(case, tmp_path, capsys):
    builder, file_name, kind, location = CORPUS[case]
    secrets = builder(tmp_path, random.Random(zlib.crc32(case.encode())))
    result = audit_reports(tmp_path)
    assert not result.passed and result.exit_code == 1
    hits = [f for f in result.findings if f.file == file_name and str(f.kind) == kind]
    assert hits, f"{case}: no {kind} finding in {file_name}; got:\n{result.summary()}"
    assert any(location in f.location for f in hits), f"{case}: locations {[f.location for f in hits]}"
    text = result.summary() + json.dumps(result.to_dict(), ensure_ascii=False)
    for secret in secrets:
        assert secret not in text
        if len(_digits(secret)) >= 7:
            assert _digits(secret) not in _digits(text)
    assert main_audit(tmp_path) == 1
    printed = capsys.readouterr().out
    assert "FAILED" in printed and all(s not in printed for s in secrets)


# --- clean folders pass -------------------------------------------------------------------


def _clean_folder(folder: Path) -> None:
    rng = np.random.default_rng(2)
    counts = pd.DataFrame([{"社区": f"C{i:02d}", "轮次": w, "人数": int(rng.integers(30, 90)),
                            "均值": float(rng.normal(3.5, 0.3))} for i in range(6) for w in ("2023", "2024")])
    (folder / "report.html").write_text(
        "<html><body><h1>评估报告</h1><p>居民安全感提高，幸福街道8个社区参与（n_clusters: 8，min_cell 55）。"
        "估计值 0.284 [0.238, 0.330]，p = 0.001，运行于 2026-12-06T02:25:44+00:00，"
        "输入 sha256 3f5a1234567890123456789012345678abcdef。</p>"
        + counts.to_html(index=False, float_format=lambda x: f"{x:.2f}") + "</body></html>", encoding="utf-8")
    doc = Document()
    doc.add_heading("结论摘要", level=1)
    doc.add_paragraph("获得感提高 0.28 分（95% 置信区间 0.24–0.33），约为基线标准差的 0.35 倍。")
    table = doc.add_table(rows=3, cols=3)
    for r, row in enumerate([["维度", "样本量", "α"], ["归属感", "14351", "0.77"], ["获得感", "14350", "0.76"]]):
        for c, v in enumerate(row):
            table.cell(r, c).text = v
    doc.sections[0].footer.paragraphs[0].text = "第三方评估 · 合成数据"
    doc.save(str(folder / "report.docx"))
    wb = openpyxl.Workbook()
    wb.active.append(["维度", "样本量", "均值"])
    wb.active.append(["归属感", 14351, 3.686])
    wb.save(str(folder / "tables.xlsx"))
    (folder / "results.json").write_text(json.dumps(
        {"data_quality": {"median_cell": 60.0, "min_cell": 55, "n_small": 0, "n_waves": 5},
         "impact": {"gain": {"att": 0.284, "ci_lower": 0.238, "n_clusters": 48, "p_value": 0.001}}}),
        encoding="utf-8")
    cells = [nbformat.v4.new_markdown_cell("# 评估\n\n居民满意度提高。"),
             nbformat.v4.new_code_cell("ek.reporting.show_table(t)", execution_count=1,
                                       outputs=[nbformat.v4.new_output("display_data", data={
                                           "text/html": counts.to_html(index=False)})])]
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, str(folder / "02_measurement.ipynb"))
    (folder / "notes.md").write_text("| 社区 | 人数 |\n|---|---|\n| C01 | 40 |\n| C02 | 52 |\n", encoding="utf-8")


def test_clean_folder_passes(tmp_path):
    _clean_folder(tmp_path)
    result = audit_reports(tmp_path)
    assert result.passed, result.summary()
    assert result.exit_code == 0 and main_audit(tmp_path) == 0
    assert len(result.files) == 6
    (tmp_path / "manifest.json").write_text('{"config": "/home/analyst/study.yaml"}', encoding="utf-8")
    assert not audit_reports(tmp_path).passed
    kept_back = audit_reports(tmp_path, exclude=["manifest.json"])
    assert kept_back.passed and "manifest.json" in kept_back.skipped


def _render_with_total(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    total = pd.DataFrame({"社区": ["合计"], "人数": [frame["人数"].sum()]})
    shown = pd.concat([shown, total], ignore_index=True)
    shown["人数"] = shown["人数"].map(lambda v: "—" if pd.isna(v) else str(int(v)))
    return shown.to_html(index=False)


def test_protected_table_passes_and_primary_only_fails(tmp_path):
    """The disclosure layer's output passes the audit; hiding only the small cell does not."""
    raw = pd.DataFrame({"社区": ["幸福", "和谐", "友爱", "团结"], "人数": [45, 4, 38, 60]})
    prot = protect_table(raw, by=["社区"], count_col="人数")
    with_total = _render_with_total(raw).replace(">4<", ">—<")  # the total is of the true counts
    (tmp_path / "naive.html").write_text(with_total, encoding="utf-8")
    result = audit_reports(tmp_path)
    assert [str(f.kind) for f in result.findings] == ["recoverable_cell"]
    (tmp_path / "naive.html").unlink()
    shown = prot.values.copy()
    total = prot.margins.loc[prot.margins["社区"].isna(), "人数"].iloc[0]
    (tmp_path / "protected.html").write_text(
        shown.assign(人数=shown["人数"].map(lambda v: "—" if pd.isna(v) else str(int(v)))).to_html(index=False)
        + f"<p>合计 {int(total)}</p>", encoding="utf-8")
    assert audit_reports(tmp_path).passed


def test_strip_for_publication(tmp_path):
    rng = random.Random(9)
    phone = fake_mobile(rng)
    params = nbformat.v4.new_code_cell(
        f'config_path = "/home/zhangwei/study/study.yaml"\ncontact = "{phone}"\nlang = "zh"\n',
        metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell(f'contact = "{phone}"\n', metadata={"tags": ["injected-parameters"],
                                                                            "papermill": {"duration": 0.1}})
    out = nbformat.v4.new_output("stream", name="stdout", text="read /home/zhangwei/study/survey.xlsx\n")
    body = nbformat.v4.new_code_cell("load()", outputs=[out], execution_count=2)
    nb = nbformat.v4.new_notebook()
    nb.cells = [params, injected, body]
    nb.metadata["papermill"] = {"parameters": {"contact": phone}, "input_path": "/home/zhangwei/nb.ipynb"}
    (tmp_path / "raw").mkdir()
    (tmp_path / "pub").mkdir()
    source = tmp_path / "raw" / "01.ipynb"
    nbformat.write(nb, str(source))
    before = audit_reports(tmp_path / "raw")
    assert {"papermill_metadata", "notebook_parameters", "mobile_number", "user_name"} <= {
        str(f.kind) for f in before.findings}
    stripped = strip_for_publication(source, tmp_path / "pub" / "01.ipynb")
    assert len(stripped["cells"]) == 2 and "papermill" not in stripped["metadata"]
    nbformat.validate(nbformat.from_dict(stripped))
    after = audit_reports(tmp_path / "pub")
    assert after.passed, after.summary()
    assert 'lang = "zh"' in "".join(stripped["cells"][0]["source"])
    assert before.findings == audit_reports(tmp_path / "raw").findings  # the source is untouched


@pytest.mark.parametrize("text", [
    "居民安全感提高，幸福街道参与率上升。", "p = 0.001; 0.123456789012345678", "2024-06-01 至 2024-12-31",
    "https://example.org/home/page", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "样本 14353 人，社区 48 个，有效样本量合计 13210", "位于某某街道", "老人高度评价服务。", "版本 3.11.7",
    "估计值 1.2E+05", "住房 3 栋楼的居民"])
def test_no_false_positives_on_report_text(text):
    assert scan_text(text) == []


@pytest.mark.parametrize(("text", "kind"), [
    ("电话 139-1234-5678", "mobile_number"), ("call 0086 139 1234 5678", "mobile_number"),
    ("座机 010-62345678", "landline_number"), ("住址：朝阳区某小区", "street_address"),
    ("3号楼2单元", "street_address"), ("居民李建国说", "person_name"), ("姓名：陈静", "person_name"),
    ("  File \"x.py\", line 3, in f\nValueError: bad", "traceback"), ("data at /work/raw/survey.xlsx", "absolute_path"),
    ("1.39123E+10", "mobile_number"), ("个案：张某某", "person_name"), ("感谢李建国先生", "person_name")])
def test_detectors(text, kind):
    assert kind in scan_text(text)


def test_recoverable_cell_in_a_large_csv(tmp_path):
    lines = ["community,2023,2024,total"]
    lines += [f"C{i},{20 + i},{30 + i},{50 + 2 * i}" for i in range(1500)]
    lines[8] = "C7,—,37,64"
    lines.append(f"total,{sum(20 + i for i in range(1500))},{sum(30 + i for i in range(1500))},"
                 f"{sum(50 + 2 * i for i in range(1500))}")
    (tmp_path / "big.csv").write_text("\n".join(lines), encoding="utf-8")
    kinds = {(str(f.kind), f.location) for f in audit_reports(tmp_path).findings}
    assert kinds == {("recoverable_cell", "row 9 column 2")}


def test_sheet_and_csv_locations_survive_blank_rows(tmp_path):
    rng = random.Random(3)
    phone = fake_mobile(rng)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["C3"], ws["D3"], ws["C4"], ws["D4"], ws["C6"], ws["D6"] = "社区", "备注", "A", "无", "B", phone
    wb.save(str(tmp_path / "a.xlsx"))
    (tmp_path / "b.csv").write_text(f"a,b\n1,2\n\n3,{phone}\n", encoding="utf-8")
    found = {(f.file, f.location) for f in audit_reports(tmp_path).findings}
    assert found == {("a.xlsx", 'sheet "表" D6'), ("b.csv", "row 4 column 2")}
