"""Codebook formats (YAML, CSV, SPSS metadata) and their errors."""

from __future__ import annotations

import textwrap

import pandas as pd
import pyreadstat
import pytest

from evalkit.codebook import Codebook
from evalkit.errors import CodebookError

YAML = """\
value_label_sets:
  agree5: {1: 非常不同意, 2: 不太同意, 3: 一般, 4: 比较同意, 5: 非常同意}
variables:
  gain_1:
    source_name: A1
    label: {zh: 社区服务让我的生活更方便了, en: Services made life easier}
    construct: gain
    scale: [1, 5]
    value_labels: agree5
    missing_codes: {8: 不知道, 9: 拒答}
  belong_2:
    source_name: A2
    label: 如果可以，我愿意搬离这个社区
    construct: belonging
    scale: [1, 5]
    reverse: true
  id_number:
    source_name: 身份证号
    privacy: direct_identifier
    pseudonymise: true
"""


def test_yaml_codebook(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text(YAML, encoding="utf-8")
    cb = Codebook.from_yaml(path)
    gain = cb["gain_1"]
    assert gain.source_name == "A1" and gain.construct == "gain"
    assert gain.value_labels[5] == "非常同意" and gain.missing_codes == {8: "不知道", 9: "拒答"}
    assert cb["belong_2"].reverse and cb["belong_2"].label_zh.startswith("如果可以")
    assert [v.name for v in cb.items()] == ["gain_1", "belong_2"]
    assert cb.constructs_used() == ("gain", "belonging")
    assert [v.name for v in cb.personal()] == ["id_number"]


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        ("construct: gain", "construct: gian", r"line 7, key 'variables.gain_1.construct': unknown construct 'gian'"),
        ("missing_codes: {8: 不知道, 9: 拒答}", "missing_codes: {3: 一般}", r"missing code\(s\) 3 lie inside the scale"),
        ("value_labels: agree5", "value_labels: agree7", r"unknown value label set 'agree7'"),
        ("  gain_1:", "  Gain-1:", r"variable name 'Gain-1' is not a valid identifier"),
        ("scale: [1, 5]\n    value_labels", "scale: [5, 1]\n    value_labels", r"scale minimum 5 is not below maximum 1"),
        ("privacy: direct_identifier", "privacy: secret", r"privacy must be one of"),
    ],
)
def test_yaml_codebook_errors(tmp_path, old, new, pattern):
    assert old in YAML
    path = tmp_path / "cb.yaml"
    path.write_text(YAML.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CodebookError, match=pattern):
        Codebook.from_yaml(path)


def test_csv_codebook(tmp_path):
    path = tmp_path / "cb.csv"
    path.write_text(textwrap.dedent("""\
        name,source_name,label_zh,construct,scale_min,scale_max,value_labels,missing_codes,reverse,privacy
        gain_1,A1,生活更方便,gain,1,5,1=非常不同意|5=非常同意,8=不知道|9=拒答,0,
        phone,手机号,,,,,,,,direct_identifier
        """), encoding="utf-8-sig")
    cb = Codebook.from_csv(path)
    assert cb["gain_1"].missing_codes == {8: "不知道", 9: "拒答"}
    assert cb["gain_1"].scale_max == 5 and cb["phone"].privacy == "direct_identifier"


def test_spss_metadata_imported(tmp_path):
    path = tmp_path / "s.sav"
    df = pd.DataFrame({"A1": [1.0, 5.0, 8.0, 9.0], "Q2": [1.0, 2.0, 1.0, 2.0]})
    pyreadstat.write_sav(
        df, str(path),
        column_labels={"A1": "社区服务让我的生活更方便了", "Q2": "性别"},
        variable_value_labels={"A1": {1.0: "非常不同意", 5.0: "非常同意", 8.0: "不知道", 9.0: "拒答"},
                               "Q2": {1.0: "男", 2.0: "女"}},
        missing_ranges={"A1": [8.0, 9.0]},
    )
    cb = Codebook.from_spss(path, construct_of={"A1": "gain"})
    a1 = cb["a1"]
    assert a1.label_zh == "社区服务让我的生活更方便了"
    assert a1.missing_codes == {8: "不知道", 9: "拒答"}
    assert a1.value_labels == {1: "非常不同意", 5: "非常同意"}
    assert (a1.scale_min, a1.scale_max) == (1, 5) and a1.construct == "gain"
    assert cb["q2"].value_labels == {1: "男", 2: "女"}


def test_spss_fills_gaps_only(tmp_path):
    path = tmp_path / "cb.yaml"
    path.write_text(YAML, encoding="utf-8")
    cb = Codebook.from_yaml(path).with_spss_metadata(
        {"A1": {1.0: "x"}, "A2": {1.0: "完全不同意"}}, {"A2": [98.0]})
    assert cb["gain_1"].value_labels[1] == "非常不同意"  # codebook wins
    assert cb["belong_2"].value_labels == {1: "完全不同意"} and 98 in cb["belong_2"].missing_codes
