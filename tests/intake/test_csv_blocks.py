"""The block-wise CSV path gives exactly what the whole-file path gives.

Every file is read three ways: whole-file (the block path switched off), in 32 MB
blocks (one block here) and in blocks of a few dozen bytes, so record boundaries,
quoted values with line breaks, odd rows and encodings all straddle block cuts. Frame,
row numbers, encoding and problems must agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from evalkit.intake.readers import csv as csv_reader
from evalkit.intake.readers import csv_blocks, read_raw

CONTENTS = {
    "plain_utf8": ("社区编码,社区名称,人口\n" + "".join(f"{i:04d},社区{i},{i * 10}\n" for i in range(60)), "utf-8"),
    "gbk_crlf": ("社区编码,社区名称,人口\r\n" + "".join(f"{i:04d},东湖{i},{i}\r\n" for i in range(60)), "gbk"),
    "gb18030_rare": ("编号,姓名\n" + "".join(f"{i},李䶮{i}\n" for i in range(40)), "gb18030"),
    "utf8_bom": ("社区编码,人口\n" + "".join(f"{i:04d},{i}\n" for i in range(50)), "utf-8-sig"),
    "quoted_newlines": ('编号,备注,值\n' + "".join(f'{i},"第一行\n第二行，含逗号,{i}",{i}\n' for i in range(30)),
                        "utf-8"),
    "short_long_blank": ("a,b,c\n1,2,3\n4,5\n\n6,7,8,9\n" + "".join(f"{i},x,y\n" for i in range(40))
                         + "10,11,12,,\n", "utf-8"),
    "title_rows": ("2023年服务台账\n\n服务编号,社区编码,人次\n" + "".join(f"S{i},0012,{i}\n" for i in range(40)), "gbk"),
    "no_final_newline": ("x,y\n" + "\n".join(f"{i},{i}" for i in range(50)), "utf-8"),
    "excel_errors_and_totals": ("社区编码,人口\n" + "".join(f"{i:04d},{i}\n" for i in range(30))
                                + "0099,#N/A\n合计,100\n", "gbk"),
    "late_odd_rows": ("a,b,c\n" + "".join(f"{i},x,y\n" for i in range(50)) + "1,2\n\n3,4,5,6\n"
                      + "".join(f"{i},x,y\n" for i in range(10)) + '7,"多\n行",9\n', "utf-8"),
    "late_blank_lines_gbk": ("社区编码,人口\n" + "".join(f"{i:04d},{i}\n" for i in range(50)) + "\n\r\n0099,1\n", "gbk"),
    "late_bare_cr_and_stray_quote": ("a,b\n" + "".join(f"{i},x\n" for i in range(50)) + '1,y\r2,z\r\n3,"q\n4,w\n',
                                     "utf-8"),
    "tabs": ("社区编码\t人口\n" + "".join(f"{i:04d}\t{i}\n" for i in range(40)), "utf-8"),
}


def _read(path: Path, monkeypatch, mode: str):
    with monkeypatch.context() as m:
        if mode == "whole":
            m.setattr(csv_reader, "read_blocks", lambda *a, **k: None)
        elif mode == "tiny":
            m.setattr(csv_blocks, "BLOCK_BYTES", 37)
        return read_raw(path, id_columns=("社区编码", "服务编号"), expected_columns=("服务编号", "社区编码", "人次"))


@pytest.mark.parametrize("name", list(CONTENTS))
def test_block_path_matches_whole_file_path(tmp_path, monkeypatch, name):
    text, encoding = CONTENTS[name]
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode(encoding))
    whole = _read(path, monkeypatch, "whole")
    for mode in ("default", "tiny"):
        got = _read(path, monkeypatch, mode)
        pd.testing.assert_frame_equal(got.frame, whole.frame)
        assert got.row_numbers.tolist() == whole.row_numbers.tolist()
        assert got.encoding == whole.encoding
        assert [(p.check, p.rows, p.message) for p in got.problems] == \
               [(p.check, p.rows, p.message) for p in whole.problems]


def test_block_path_is_taken_for_well_formed_files_and_not_for_mixed(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(CONTENTS["gbk_crlf"][0].encode("gbk"))
    assert csv_blocks.read_blocks(good, "good.csv", None, ()) is not None
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes("a,b\n1,东湖社区\n".encode() + "2,西岭社区\n".encode("gbk"))
    assert csv_blocks.read_blocks(mixed, "mixed.csv", None, ()) is None
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a,b\n1,\x002\n")
    assert csv_blocks.read_blocks(nul, "nul.csv", None, ()) is None
