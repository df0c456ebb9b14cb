"""Study config: typed, immutable, and every mistake names file, line, key and fix."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import attrs
import pytest

from evalkit.config import load_config
from evalkit.errors import ConfigError


def write_study(folder: Path, body: str) -> Path:
    for name in ("codebook.yaml", "communities.csv", "survey.csv", "pilots.csv"):
        (folder / name).write_text("x\n", encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GOOD = """\
name: 测试研究
codebook: codebook.yaml
data:
  communities: communities.csv
  survey: {path: survey.csv, encoding: gbk}
pilots:
  - {community: 0012, programme: 五社联动, start: 2021-03-01}
  - {community: "0034", programme: sanshe, start: 2022-04-15}
comparison: [0056, "0078"]
outcomes: [gain, belonging]
"""


def test_good_config_is_typed_and_frozen(tmp_path):
    cfg = load_config(write_study(tmp_path, GOOD))
    assert cfg.name == "测试研究"
    assert cfg.language == "zh-CN"
    assert [p.community_id for p in cfg.pilots] == ["0012", "0034"]  # not octal 10, not int 12
    assert cfg.pilots[0].programme == "wushe" and cfg.pilots[1].programme == "sanshe"
    assert cfg.pilots[0].start == dt.date(2021, 3, 1)
    assert cfg.comparison == ("0056", "0078")
    assert cfg.data["survey"].encoding == "gbk" and cfg.data["survey"].format == "csv"
    assert cfg.outcomes == ("gain", "belonging")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cfg.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (("codebook: codebook.yaml", "codebook: missing.yaml"),
         r"line 2, key 'codebook': file 'missing.yaml' not found"),
        (("start: 2021-03-01", "start: 2021-02-30"),
         r"line 7, key 'pilots\[0\].start': '2021-02-30' is not a valid date.*YYYY-MM-DD"),
        (("programme: 五社联动", "programme: 六社联动"),
         r"line 7, key 'pilots\[0\].programme': unknown programme '六社联动'"),
        (("outcomes:", "outcome:"), r"line 10, key 'outcome': unknown key 'outcome'.*outcomes"),
        (("name: 测试研究\n", ""), r"required key 'name' is missing"),
        (("comparison: [0056, \"0078\"]", "comparison: everyone"),
         r"line 9, key 'comparison': comparison must be never_treated"),
        (("survey: {path: survey.csv, encoding: gbk}", "survey: {path: survey.csv, encoding: big5}"),
         r"key 'data.survey.encoding': unsupported encoding 'big5'"),
        (("survey: {path: survey.csv, encoding: gbk}", "survey: survey.pdf"),
         r"key 'data.survey': file 'survey.pdf' not found"),
        (("  - {community: \"0034\"", "  - {community: 0012"), r"community '0012' is listed as a pilot twice"),
        (("outcomes: [gain, belonging]", "outcomes: [gain, belonging"), r"line \d+, column \d+: not valid YAML"),
    ],
)
def test_each_mistake_names_line_key_and_fix(tmp_path, edit, pattern):
    old, new = edit
    assert old in GOOD
    with pytest.raises(ConfigError, match=pattern):
        load_config(write_study(tmp_path, GOOD.replace(old, new)))


def test_unknown_table_and_missing_required_table(tmp_path):
    bad = GOOD.replace("  communities: communities.csv\n", "  comunities: communities.csv\n")
    with pytest.raises(ConfigError, match=r"key 'data.comunities': unknown table 'comunities'"):
        load_config(write_study(tmp_path, bad))


def test_pilots_inline_and_as_file_conflict(tmp_path):
    bad = GOOD.replace("  communities: communities.csv\n",
                       "  communities: communities.csv\n  pilots: pilots.csv\n")
    with pytest.raises(ConfigError, match="pilots are given both inline and as data.pilots"):
        load_config(write_study(tmp_path, bad))


def test_report_keys_weights_narrative_and_english_name(tmp_path):
    cfg = load_config(write_study(tmp_path, GOOD))
    assert (cfg.weights, cfg.narrative, cfg.name_en) == ("none", None, None)
    assert cfg.display_name("en") == "测试研究"
    (tmp_path / "texts").mkdir()
    cfg = load_config(write_study(tmp_path, GOOD + "weights: raked\nnarrative: texts\nname_en: Test study\n"))
    assert cfg.weights == "raked" and cfg.narrative == (tmp_path / "texts").resolve()
    assert (cfg.display_name("zh"), cfg.display_name("en")) == ("测试研究", "Test study")
    with pytest.raises(ConfigError, match=r"line 11.*weights must be none or raked, found 'yes'"):
        load_config(write_study(tmp_path, GOOD + "weights: 'yes'\n"))
    with pytest.raises(ConfigError, match=r"narrative folder 'missing' not found"):
        load_config(write_study(tmp_path, GOOD + "narrative: missing\n"))


def test_designs_and_showcase_keys(tmp_path):
    body = GOOD + textwrap.dedent("""\
        designs:
          matching: {replace: true, caliper: 0.2}
          weighting: {method: entropy}
          pre_post:
        showcase: {community: "0012", method: synthetic_did, outcomes: [gain], donors: ["0031", "0032"]}
        """)
    cfg = load_config(write_study(tmp_path, body))
    assert [d.name for d in cfg.designs] == ["matching", "weighting", "pre_post"]
    assert cfg.designs[0].options == {"replace": True, "caliper": 0.2}
    assert cfg.designs[1].options == {"method": "entropy"}
    assert cfg.showcase.community_id == "0012" and cfg.showcase.method == "synthetic_did"
    assert cfg.showcase.outcomes == ("gain",) and cfg.showcase.donors == ("0031", "0032")
    # a list of names and a bare community code are enough; synthetic control is the default
    short = load_config(write_study(tmp_path, GOOD + 'designs: [multilevel, ordered_logit]\nshowcase: "0012"\n'))
    assert [d.name for d in short.designs] == ["multilevel", "ordered_logit"]
    assert short.showcase.method == "synthetic_control" and short.showcase.donors is None
    assert load_config(write_study(tmp_path, GOOD)).designs == () and load_config(write_study(tmp_path, GOOD)).showcase is None


@pytest.mark.parametrize(("extra", "pattern"), [
    ("designs: [matchng]\n", r"line \d+.*unknown design 'matchng'.*Designs: matching, weighting"),
    ("designs: {weighting: {method: psm}}\n", r"'psm' is not one of ipw, aipw, entropy"),
    ("designs: {matching: {calliper: 0.2}}\n", r"unknown key 'calliper'.*caliper"),
    ("designs: {matching: {caliper: -1}}\n", r"positive number"),
    ("showcase: {community: '0012', method: scm}\n", r"method must be synthetic_control or synthetic_did"),
    ("showcase: {method: synthetic_control}\n", r"required key 'showcase.community'"),
    ("showcase: {community: '0012', donors: ['0012']}\n", r"also listed as a donor"),
])
def test_design_and_showcase_mistakes_name_line_and_fix(tmp_path, extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(write_study(tmp_path, GOOD + extra))


@pytest.mark.parametrize(("options", "fix"), [("{method: aipw, estimand: ATT}", "estimand: ATE"),
                                              ("{method: entropy, estimand: ATE}", "estimand: ATT")])
def test_weighting_estimand_the_method_does_not_offer(tmp_path, options, fix):
    with pytest.raises(ConfigError, match=rf"line \d+.*not the.*{fix}"):
        load_config(write_study(tmp_path, GOOD + f"designs: {{weighting: {options}}}\n"))
