"""Builders of the bad-input corpus: files shaped the way real tools write them.

Each builder writes one case into an empty folder and returns the path the user would
pass. Files are made with the real library where one exists (openpyxl, pyreadstat,
pandas, pickle, numpy, zipfile) or from the format's specification where none does
(an OLE compound file with an ``EncryptionInfo`` stream, [MS-CFB] / [MS-OFFCRYPTO]).
None of them comes from the demo generator.

Personal values planted in the files are listed in :data:`PERSONAL`; no message may
contain any of them.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat


def _id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


ID_A = "11010519491231002X"  # the GB 11643-1999 example number
ID_B = _id_number("43010219900307451")
ID_C = _id_number("43011119850612003")
PHONES = ("13912345678", "15873105566", "18607311234")
NAMES = ("周建国", "张伟", "李秀英")
PERSONAL = (ID_A, ID_B, ID_C, *PHONES, *NAMES, ID_B[:17], ID_C[6:14] + ID_C[14:])

# --------------------------------------------------------------------------- real-tool shapes


def wjx_frame(n: int = 12) -> pd.DataFrame:
    """A 问卷星 "按选项文本下载" export: 序号, 提交答卷时间, 所用时间, 来源, 来自IP, answers as texts."""
    sat = ["非常满意", "比较满意", "一般", "不太满意", "非常不满意"]
    return pd.DataFrame({
        "序号": range(1, n + 1),
        "提交答卷时间": [f"2023/5/{8 + i % 3} 14:{10 + i:02d}:10" for i in range(n)],
        "所用时间": [f"{300 + 7 * i}秒" for i in range(n)],
        "来源": ["微信"] * (n - 2) + ["手机提交", "链接"],
        "来源详情": ["N/A"] * n,
        "来自IP": [f"113.246.{i}.{i + 7}(湖南-长沙)" for i in range(n)],
        "1、您的姓名：": [NAMES[i % 3] for i in range(n)],
        "2、您的手机号：": [PHONES[i % 3] for i in range(n)],
        "3、您的性别：": ["男", "女"] * (n // 2),
        "4、您的出生年份：": [1950 + 3 * i for i in range(n)],
        "5、您对社区服务的满意度：": [sat[i % 5] for i in range(n)],
        "6、您参加过哪些社区活动？": ["文体活动┋志愿服务", "议事协商", "文体活动┋议事协商┋志愿服务", "(跳过)"]
                           * (n // 4),
    })


def wjx_csv_gbk(folder: Path, frame: pd.DataFrame | None = None) -> Path:
    path = folder / "问卷星_社区满意度调查_原始数据.csv"
    (wjx_frame() if frame is None else frame).to_csv(path, index=False, encoding="gbk")
    return path


def tencent_xlsx(folder: Path) -> Path:
    """腾讯问卷 xlsx export: a title row above the header, 开始答题时间/结束答题时间, answers as texts."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "问卷数据"
    ws.append(["社区居民满意度调查（腾讯问卷导出）"])
    ws.append(["编号", "开始答题时间", "结束答题时间", "IP", "Q1 您所在的社区", "Q2 满意度"])
    for i in range(10):
        ws.append([i + 1, f"2023-05-08 10:{i:02d}:00", f"2023-05-08 10:{i + 6:02d}:30",
                   f"10.0.0.{i}", "东湖社区", "比较满意"])
    path = folder / "腾讯问卷_导出.xlsx"
    wb.save(path)
    return path


def wps_gb18030_csv(folder: Path) -> Path:
    """WPS "CSV（逗号分隔）" on Chinese Windows: GB18030, CRLF, names with characters GBK lacks."""
    text = "社区编码,社区名称,负责人\r\n0012,东湖社区,李䶮\r\n0034,西岭社区,王𠮷\r\n"
    path = folder / "社区名录_WPS.csv"
    path.write_bytes(text.encode("gb18030"))
    return path


def spss_chinese_windows(folder: Path) -> Path:
    """An SPSS .sav as SPSS in code-page mode on Chinese Windows writes it: text in CP936 (GBK).

    pyreadstat writes UTF-8 only, so ASCII placeholders of the right byte length are
    replaced by the GBK bytes and the character-encoding record by ``CP936``.
    """
    df = pd.DataFrame({"id": ["R001", "R002", "R003"], "q1": [1.0, 2.0, 9.0], "xm": ["AAAAAA", "BBBB", "CCCCCC"]})
    path = folder / "居民问卷_SPSS.sav"
    pyreadstat.write_sav(df, str(path), column_labels=["IIIIIIII", "XXXXXX", "YYYY"],
                         variable_value_labels={"q1": {1: "MMMM", 2: "NNNN", 9: "RRRR"}},
                         missing_ranges={"q1": [9]})
    data = path.read_bytes()
    assert data.count(b"UTF-8") == 1
    data = data.replace(b"UTF-8", b"CP936")
    for placeholder, text in [(b"AAAAAA", NAMES[0]), (b"BBBB", NAMES[1]), (b"CCCCCC", NAMES[2]),
                              (b"IIIIIIII", "问卷编号"), (b"XXXXXX", "满意度"), (b"YYYY", "姓名"), (b"MMMM", "满意"), (b"NNNN", "一般"),
                              (b"RRRR", "拒答")]:
        assert data.count(placeholder) == 1, placeholder
        assert len(text.encode("gbk")) == len(placeholder)
        data = data.replace(placeholder, text.encode("gbk"))
    path.write_bytes(data)
    return path


def stata13_gbk(folder: Path) -> Path:
    """A Stata 13 (format 117) .dta from Chinese Windows: strings are GBK bytes, undeclared."""
    df = pd.DataFrame({"xm": ["AAAAAA", "BBBB"], "sex": [1.0, 2.0]})
    path = folder / "居民问卷_stata13.dta"
    pyreadstat.write_dta(df, str(path), version=13, column_labels=["XXXX", "YYYY"],
                         variable_value_labels={"sex": {1: "MM", 2: "FF"}})
    data = path.read_bytes()
    for placeholder, text in [(b"AAAAAA", NAMES[0]), (b"BBBB", NAMES[1]), (b"XXXX", "姓名"),
                              (b"YYYY", "性别"), (b"MM\x00", "男\x00"), (b"FF\x00", "女\x00")]:
        assert data.count(placeholder) == 1, placeholder
        data = data.replace(placeholder, text.encode("gbk"))
    path.write_bytes(data)
    return path


def stata_extended_missing(folder: Path) -> Path:
    df = pd.DataFrame({"q1": pd.Series([4.0, "a", 3.0, "b", 5.0], dtype=object), "q2": [1.0, 2.0, 3.0, 4.0, 5.0]})
    path = folder / "wave2.dta"
    pyreadstat.write_dta(df, str(path), version=15, missing_user_values={"q1": ["a", "b"]})
    return path


# --------------------------------------------------------------------------- hostile files


def personal_frame() -> pd.DataFrame:
    return pd.DataFrame({"姓名": list(NAMES), "身份证号": [ID_A, ID_B, ID_C], "手机号": list(PHONES)})


def pickle_file(folder: Path, name: str, protocol: int = 5) -> Path:
    path = folder / name
    path.write_bytes(pickle.dumps(personal_frame().to_dict(), protocol=protocol))
    return path


def joblib_like(folder: Path, name: str) -> Path:
    """joblib.dump(..., compress=True) writes a zlib stream of a pickle."""
    path = folder / name
    path.write_bytes(zlib.compress(pickle.dumps(personal_frame().to_dict())))
    return path


def npy_object(folder: Path, name: str) -> Path:
    buf = io.BytesIO()
    np.save(buf, np.array(list(NAMES), dtype=object), allow_pickle=True)
    path = folder / name
    path.write_bytes(buf.getvalue())
    return path


def npz_file(folder: Path, name: str) -> Path:
    buf = io.BytesIO()
    np.savez(buf, x=np.arange(3), y=np.ones(3))
    path = folder / name
    path.write_bytes(buf.getvalue())
    return path


def torch_like_zip(folder: Path, name: str) -> Path:
    """torch.save's zip layout: archive/data.pkl plus tensor storages."""
    path = folder / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"names": list(NAMES)}))
        z.writestr("archive/version", "3\n")
    return path


def gzip_csv(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(gzip.compress(personal_frame().to_csv(index=False).encode()))
    return path


def small_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["问卷编号", "姓名", "身份证号", "手机号"])
    for i in range(3):
        ws.append([f"R{i}", NAMES[i], [ID_A, ID_B, ID_C][i], PHONES[i]])
    wb.save(path)
    return path


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def zip_bomb_xlsx(folder: Path) -> Path:
    """A real workbook whose sheet part is 12 MB of repeated rows (deflates ~1000:1)."""
    src = small_workbook(folder / "src.xlsx")
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://'
             b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + row * (12 * 2**20 // len(row)) + b"</sheetData></worksheet>")
    out = rewrite_zip(src, folder / "居民问卷.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    src.unlink()
    return out


def entity_xlsx(folder: Path) -> Path:
    """Billion laughs in sharedStrings.xml of a real workbook."""
    src = small_workbook(folder / "src.xlsx")
    lol = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                      for i in range(1, 10))
           + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
           b'uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
    target = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else "xl/workbook.xml"
    out = rewrite_zip(src, folder / "survey.xlsx", {target: lol})
    src.unlink()
    return out


def entity_after_long_prolog_xlsx(folder: Path) -> Path:
    """The DOCTYPE pushed 200 KB down behind an XML comment, past any fixed-size window."""
    src = small_workbook(folder / "src.xlsx")
    padded = (b'<?xml version="1.0"?>\n<!--' + b" " * 200_000 + b'-->\n<!DOCTYPE r [<!ENTITY a "aaaa">]>\n'
              b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&a;</workbook>')
    out = rewrite_zip(src, folder / "padded.xlsx", {"xl/workbook.xml": padded})
    src.unlink()
    return out


def ole_file(path: Path, streams: list[str]) -> Path:
    """A compound file ([MS-CFB] v3: 512-byte sectors) whose directory holds ``streams``.

    Streams are empty; what matters to intake is the directory, which is where Excel
    puts ``EncryptionInfo`` and ``EncryptedPackage`` when a workbook has a password.
    """
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)   # one FAT sector
    struct.pack_into("<I", header, 48, 1)   # directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)
    struct.pack_into("<I", header, 68, 0xFFFFFFFE)
    struct.pack_into("<I", header, 76, 0)   # DIFAT[0]: FAT in sector 0
    header[80:512] = b"\xff" * 432
    fat = bytearray(b"\xff" * 512)
    struct.pack_into("<III", fat, 0, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFE)
    directory = bytearray()
    for i, name in enumerate(["Root Entry", *streams]):
        entry = bytearray(128)
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entry[0:len(raw)] = raw
        struct.pack_into("<HBB", entry, 64, len(raw), 5 if i == 0 else 2, 1)
        none = 0xFFFFFFFF  # NOSTREAM; the root's child is stream 1, each stream's right sibling the next
        right = i + 1 if 0 < i < len(streams) else none
        struct.pack_into("<III", entry, 68, none, right, 1 if i == 0 and streams else none)
        struct.pack_into("<I", entry, 116, 0xFFFFFFFE)
        directory += entry
    directory += b"\x00" * (-len(directory) % 512)
    path.write_bytes(bytes(header) + bytes(fat) + bytes(directory))
    return path


def html_xls(folder: Path, name: str = "服务台账导出.xls") -> Path:
    """What many government web systems export as .xls: an HTML table in GBK."""
    rows = "".join(f"<tr><td>{n}</td><td style='mso-number-format:\"\\@\"'>{i}</td></tr>"
                   for n, i in zip(NAMES, (ID_A, ID_B, ID_C)))
    html = (f"<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><meta http-equiv=Content-Type "
            f"content=\"text/html; charset=gb2312\"></head><body><table border=1><tr><td>姓名</td><td>身份证号"
            f"</td></tr>{rows}</table></body></html>")
    path = folder / name
    path.write_bytes(html.encode("gbk"))
    return path


def xml2003_xls(folder: Path) -> Path:
    path = folder / "名录.xls"
    path.write_text(textwrap.dedent("""\
        <?xml version="1.0"?>
        <?mso-application progid="Excel.Sheet"?>
        <Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
         xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
         <Worksheet ss:Name="Sheet1"><Table><Row><Cell><Data ss:Type="String">社区编码</Data></Cell></Row>
         </Table></Worksheet></Workbook>
        """), encoding="utf-8")
    return path


def ods_file(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
        z.writestr("META-INF/manifest.xml", "<manifest/>")
    return path


def docx_file(path: Path) -> Path:
    import docx

    doc = docx.Document()
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 0).text = "姓名", NAMES[0]
    doc.save(path)
    return path
