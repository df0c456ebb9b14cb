"""Files shaped the way programme offices and survey platforms export them (not the demo generator).

* :func:`registry_csv`: a community registry with only 社区编码 and 社区名称.
* :func:`survey_frame`: a resident survey with 问卷编号/社区编号/调查日期, 性别 coded 1/2,
  出生年份 instead of age, no 户籍 question, and personal columns (姓名, 身份证号, 手机号).
* :func:`wjx_csv`: the same answers as a 问卷星 (wjx.cn) CSV export: 序号, 提交答卷时间,
  所用时间, 来源, 来自IP, then one column per question headed by its number and text
  (``7、您对社区环境卫生的满意程度``), answers as option text, GB18030 bytes.
* :func:`tencent_csv`: a 腾讯问卷 export: 编号, 开始答题时间, 结束答题时间, 答题时长, UTF-8 with BOM.

Every personal value written is returned by :func:`personal_values` so tests can assert
that none of them appears in any output.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

COMMUNITIES = [f"4301{i:04d}" for i in range(1, 13)]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"
SAT_LABELS = {1: "非常不满意", 2: "不太满意", 3: "一般", 4: "比较满意", 5: "非常满意"}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(region: str, birth: str, seq: int) -> str:
    """An 18-digit ID number with a valid check digit (synthetic)."""
    body = f"{region}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}


def registry_csv(folder: Path) -> Path:
    path = folder / "社区名单.csv"
    pd.DataFrame({"社区编码": COMMUNITIES, "社区名称": [f"第{i}社区" for i in range(1, 13)]}).to_csv(
        path, index=False, encoding="utf-8-sig")
    return path


def survey_frame(*, waves=((1, 2020), (2, 2021), (3, 2022)), per: int = 30, seed: int = 7,
                 start_id: int = 1) -> pd.DataFrame:
    """One row per respondent; satisfaction items 满意1–4 and belonging items 归属1–3 (1–5)."""
    rng = np.random.default_rng(seed)
    rows = []
    qid = start_id
    for wave, year in waves:
        for c in COMMUNITIES:
            for _ in range(per):
                born = int(rng.integers(1940, 2002))
                rows.append({
                    "问卷编号": f"Q{qid:05d}", "社区编号": c, "调查日期": f"{year}-10-{int(rng.integers(1, 29)):02d}",
                    "姓名": SURNAMES[qid % len(SURNAMES)] + "小" + "明红华"[qid % 3],
                    # unique per respondent: the region code carries qid // 1000
                    "身份证号": id_number(f"4301{qid // 1000:02d}", f"{born}0{int(rng.integers(1, 10))}15",
                                          qid % 1000),
                    "手机号": f"139{qid:08d}",
                    "性别": int(rng.integers(1, 3)), "出生年份": born,
                    **{f"满意{j}": int(rng.integers(1, 6)) for j in range(1, 5)},
                    **{f"归属{j}": int(rng.integers(1, 6)) for j in range(1, 4)},
                    "_wave": wave,
                })
                qid += 1
    return pd.DataFrame(rows)


def personal_values(frame: pd.DataFrame) -> list[str]:
    cols = [c for c in ("姓名", "身份证号", "手机号", "来自IP") if c in frame.columns]
    return sorted({str(v) for c in cols for v in frame[c]})


CODEBOOK = """\
variables:
  gender: {source_name: 性别, value_labels: {1: 男, 2: 女}}
  name: {source_name: 姓名, privacy: direct_identifier}
  id_number: {source_name: 身份证号, privacy: direct_identifier, pseudonymise: true}
  phone: {source_name: 手机号, privacy: direct_identifier}
  sat_1: {source_name: 满意1, construct: satisfaction, scale: [1, 5]}
  sat_2: {source_name: 满意2, construct: satisfaction, scale: [1, 5]}
  sat_3: {source_name: 满意3, construct: satisfaction, scale: [1, 5]}
  sat_4: {source_name: 满意4, construct: satisfaction, scale: [1, 5]}
  bel_1: {source_name: 归属1, construct: belonging, scale: [1, 5]}
  bel_2: {source_name: 归属2, construct: belonging, scale: [1, 5]}
  bel_3: {source_name: 归属3, construct: belonging, scale: [1, 5]}
"""

PILOTS = """\
pilots:
  - {community: "43010001", programme: 三社联动, start: 2021-03-01}
  - {community: "43010002", programme: 三社联动, start: 2021-03-01}
  - {community: "43010003", programme: 五社联动, start: 2022-03-01}
  - {community: "43010004", programme: 五社联动, start: 2022-03-01}
outcomes: [satisfaction, belonging]
"""


def tencent_csv(path: Path, frame: pd.DataFrame) -> Path:
    """A 腾讯问卷 CSV export: 编号, 开始/结束答题时间, 答题时长, ``Q1.`` question headers, UTF-8 with BOM."""
    end = pd.to_datetime(frame["调查日期"]) + pd.Timedelta(hours=10)
    out = pd.DataFrame({
        "编号": [f"{9_000_000 + i}" for i in range(len(frame))],
        "开始答题时间": (end - pd.Timedelta(minutes=6)).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "结束答题时间": end.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "答题时长": "6分0秒",
        "Q1.所在社区编号": frame["社区编号"],
        "Q2.性别": frame["性别"].map({1: "男", 2: "女"}),
        "Q3.出生年份": frame["出生年份"],
        **{f"Q{3 + j}.满意{j}": frame[f"满意{j}"] for j in range(1, 5)},
        **{f"Q{7 + j}.归属{j}": frame[f"归属{j}"] for j in range(1, 4)},
    })
    out.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_study(folder: Path, survey_entry: str, *, codebook: str = CODEBOOK, extra: str = "",
                registry: str = "社区名单.csv") -> Path:
    """study.yaml with the given ``data.survey`` entry (YAML text, indented by the caller)."""
    (folder / "codebook.yaml").write_text(codebook, encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(f"name: 新用户试点评估\ncodebook: codebook.yaml\ndata:\n  communities: {registry}\n"
                    f"  survey:{survey_entry}\n{PILOTS}{extra}", encoding="utf-8")
    return path


def new_user_study(folder: Path, *, mapped: bool = True) -> Path:
    """The issue's new user: different headers, birth year, gender 1/2, no hukou, minimal registry."""
    registry_csv(folder)
    survey_frame().drop(columns="_wave").to_csv(folder / "问卷.csv", index=False, encoding="utf-8-sig")
    columns = "\n    columns: {社区编号: community_id, 调查日期: interview_date, 出生年份: birth_year}"
    entry = f"\n    path: 问卷.csv{columns if mapped else ''}"
    if not mapped:  # as first written: no mapping, gender codes not declared
        codebook = "\n".join(line for line in CODEBOOK.splitlines() if "性别" not in line) + "\n"
        return write_study(folder, entry, codebook=codebook)
    return write_study(folder, entry, extra="waves: {1: 2020, 2: 2021, 3: 2022}\n")


def wjx_csv(path: Path, frame: pd.DataFrame) -> Path:
    """A 问卷星 CSV export of ``frame`` (answers as option text, GB18030)."""
    rng = np.random.default_rng(3)
    out = pd.DataFrame({
        "序号": range(1, len(frame) + 1),
        "提交答卷时间": [f"{d.replace('-', '/')} {int(h):02d}:{int(m):02d}:{int(s):02d}" for d, h, m, s in
                   zip(frame["调查日期"], rng.integers(8, 20, len(frame)), rng.integers(0, 60, len(frame)),
                       rng.integers(0, 60, len(frame)))],
        "所用时间": [f"{int(s)}秒" for s in rng.integers(60, 900, len(frame))],
        "来源": "手机提交",
        "来自IP": [f"221.{i % 200}.{i % 97}.{i % 89}(湖南-长沙)" for i in range(len(frame))],
        "1、您所在的社区编号：": frame["社区编号"],
        "2、您的性别：": frame["性别"].map({1: "男", 2: "女"}),
        "3、您的出生年份：": frame["出生年份"],
        "4、您的手机号码：": frame["手机号"],
    })
    for j in range(1, 5):
        out[f"{4 + j}、您对社区{'环境卫生 治安 文体活动 办事效率'.split()[j - 1]}的满意程度"] = \
            frame[f"满意{j}"].map(SAT_LABELS)
    path.write_bytes(out.to_csv(index=False).encode("gb18030"))
    return path


def edit_starter(study_path, *, outcomes: str, constructs: dict[str, str], waves: str = "") -> None:
    """The few edits a user makes: pilots, outcomes, waves, the construct of each item."""
    text = study_path.read_text(encoding="utf-8")
    text = text.replace("# pilots:", "pilots:").replace(
        '#   - {community: "0012", programme: 五社联动, start: 2021-03-01}',
        '  - {community: "43010001", programme: 三社联动, start: 2021-03-01}\n'
        '  - {community: "43010002", programme: 五社联动, start: 2022-03-01}')
    text = re.sub(r"# outcomes: .*", f"outcomes: {outcomes}", text)
    if waves:
        text = re.sub(r"# waves: .*", f"waves: {waves}", text)
    study_path.write_text(text, encoding="utf-8")
    codebook = study_path.parent / "codebook.yaml"
    cb = codebook.read_text(encoding="utf-8")
    for source, construct in constructs.items():
        cb = re.sub(rf'(source_name: "{re.escape(source)}"\n(?:    .*\n)*?)    # construct: \?.*',
                    rf"\1    construct: {construct}", cb)
    codebook.write_text(cb, encoding="utf-8")
