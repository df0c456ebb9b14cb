"""Tests of the synthetic demo city (evalkit.datasets.demo).

The city is generated once and written once per module. The files are read
back with the libraries a user would use (pandas, pyreadstat, openpyxl,
pyarrow), never with the demo's own code; ID check digits and construct scores
are recomputed here independently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest
import statsmodels.formula.api as smf

from evalkit.codebook import Codebook
from evalkit.datamodel import PROGRAMMES, TABLES
from evalkit.datasets.demo import DEFAULT_SEED, FILES, DemoCity, generate_demo_city, write_demo_city
from evalkit.yamlio import load_yaml

CONSTRUCT_ITEMS = {"gain": 4, "happiness": 3, "security": 3, "belonging": 4, "satisfaction": 4,
                   "participation": 3}
REVERSED = {"happiness": 1, "security": 1, "belonging": 1}


@pytest.fixture(scope="module")
def city() -> DemoCity:
    return generate_demo_city()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    (out / "notes.txt").write_text("my own file", encoding="utf-8")
    study = write_demo_city(out)
    assert study == out / "study.yaml"
    return out


def _scores(survey: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Construct scores: reverse-code, then the mean of the answered items."""
    out = {}
    for construct in codebook.constructs_used():
        cols = []
        for var in codebook.items(construct):
            x = survey[var.name].astype("float64")
            cols.append(var.scale_min + var.scale_max - x if var.reverse else x)
        out[construct] = pd.concat(cols, axis=1).mean(axis=1)
    return pd.DataFrame(out)


def _cohort(city: DemoCity) -> pd.Series:
    start = city.pilots.set_index("community_id")["start_date"].dt.year
    return city.survey["community_id"].map(start).fillna(0).astype(int)


# ---- determinism and size ---------------------------------------------------------------
def test_same_seed_gives_identical_city(city: DemoCity) -> None:
    again = generate_demo_city(DEFAULT_SEED)
    for name, frame in city.tables().items():
        pdt.assert_frame_equal(frame, again.tables()[name], obj=name)
    pdt.assert_frame_equal(city.survey_raw, again.survey_raw)
    pdt.assert_frame_equal(city.truth, again.truth)


def test_other_seed_gives_other_city(city: DemoCity) -> None:
    other = generate_demo_city(1)
    assert not city.survey["gain_1"].equals(other.survey["gain_1"])
    assert not city.pilots["community_id"].equals(other.pilots["community_id"])
    assert not np.allclose(city.truth["effect_score"], other.truth["effect_score"])


def test_sizes(city: DemoCity) -> None:
    assert len(city.communities) >= 48
    assert 4 <= city.communities["district"].nunique() <= 6
    assert set(city.communities["urban_rural"]) == {"urban", "rural"}
    assert sorted(city.survey["wave"].unique()) == [1, 2, 3, 4, 5]
    per_cell = city.survey.groupby(["community_id", "wave"]).size()
    assert len(per_cell) == len(city.communities) * 5
    assert per_cell.min() >= 50 and per_cell.max() <= 70 and abs(per_cell.mean() - 60) < 2
    assert len(city.services) >= 100_000
    assert len(city.requests) >= 10_000
    assert len(city.community_panel) == len(city.communities) * 5


# ---- canonical tables follow the data model -------------------------------------------------
@pytest.mark.parametrize("table", list(TABLES))
def test_tables_have_datamodel_columns(city: DemoCity, table: str) -> None:
    spec = TABLES[table]
    frame = city.tables()[table]
    fixed = [c for c in frame.columns if c in spec.column_names]
    assert fixed == [c.name for c in spec.columns if c.name in frame.columns]
    missing = [c.name for c in spec.columns if c.required and c.name not in frame.columns]
    assert missing == []
    extra = [c for c in frame.columns if c not in spec.column_names]
    if table == "survey":
        assert extra == [v.name for v in city.codebook.items()]
    else:
        assert extra == []
    assert not frame.duplicated(list(spec.key)).any()
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        if not col.nullable:
            assert values.notna().all(), col.name
        present = values.dropna()
        if col.allowed is not None:
            assert set(present) <= set(col.allowed), col.name
        if col.min_value is not None:
            assert (present >= col.min_value).all(), col.name
        if col.max_value is not None:
            assert (present <= col.max_value).all(), col.name
        if col.unique:
            assert values.is_unique, col.name
        if col.kind == "id":
            assert all(isinstance(v, str) for v in present), col.name


def test_community_ids_are_nine_digit_strings_some_with_leading_zero(city: DemoCity) -> None:
    ids = city.communities["community_id"]
    assert ids.str.fullmatch(r"\d{9}").all()
    assert ids.str.startswith("0").sum() >= 3
    for table, frame in city.tables().items():
        if "community_id" in frame.columns:
            assert set(frame["community_id"]) <= set(ids), table


def test_staggered_rollout(city: DemoCity) -> None:
    pilots = city.pilots
    assert set(pilots["programme"]) == {"sanshe", "wushe"}
    cohorts = pilots["start_date"].dt.year
    assert cohorts.nunique() >= 3 and cohorts.min() > 2020
    assert pilots["start_date"].dt.month.between(3, 5).all()
    assert len(city.communities) - len(pilots) >= 14
    # every cohort mixes both programmes
    assert (pilots.groupby(cohorts)["programme"].nunique() == 2).all()


def test_pilots_grow_inputs_after_start(city: DemoCity) -> None:
    panel = city.community_panel.merge(city.pilots, on="community_id", how="left")
    started = panel["start_date"].dt.year <= panel["year"]
    first, last = panel[panel["year"] == 2020], panel[panel["year"] == 2024]
    growth = (last.set_index("community_id")["social_orgs"]
              - first.set_index("community_id")["social_orgs"])
    pilot_ids = set(city.pilots["community_id"])
    assert growth[growth.index.isin(pilot_ids)].mean() > 2 * growth[~growth.index.isin(pilot_ids)].mean()
    assert panel.loc[started, "funding_wan"].mean() > 2 * panel.loc[~started, "funding_wan"].mean()


def test_wushe_services_involve_volunteers_and_charity_more(city: DemoCity) -> None:
    svc = city.services.merge(city.pilots, on="community_id", how="left")
    running = svc["service_date"] >= svc["start_date"]
    wushe = svc[running & (svc["programme"] == "wushe")]
    sanshe = svc[running & (svc["programme"] == "sanshe")]
    assert wushe["actor_volunteer"].mean() > sanshe["actor_volunteer"].mean() + 0.2
    assert wushe["actor_charity"].mean() > sanshe["actor_charity"].mean() + 0.2


def test_requests_resolve_faster_in_running_pilots(city: DemoCity) -> None:
    req = city.requests.merge(city.pilots, on="community_id", how="left")
    hours = (req["resolved_at"] - req["received_at"]).dt.total_seconds() / 3600
    running = req["received_at"] >= req["start_date"]
    assert hours[running].median() < 0.8 * hours[~running].median()
    assert req["resolved_at"].isna().any() and req["satisfaction"].isna().any()
    assert (hours.dropna() > 0).all()


# ---- the files as delivered ---------------------------------------------------------------
def test_all_files_written_and_others_kept(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted([*FILES, "notes.txt"])
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "my own file"


def test_communities_csv_utf8_bom_chinese_headers(city: DemoCity, folder: Path) -> None:
    raw = (folder / "communities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(folder / "communities.csv", encoding="utf-8-sig", dtype={"社区编码": str})
    assert list(frame.columns) == [c.label_zh for c in TABLES["communities"].columns]
    assert frame["社区编码"].tolist() == city.communities["community_id"].tolist()


def test_pilots_csv_is_gbk_with_chinese_programmes(city: DemoCity, folder: Path) -> None:
    with pytest.raises(UnicodeDecodeError):
        (folder / "pilots.csv").read_bytes().decode("utf-8")
    frame = pd.read_csv(folder / "pilots.csv", encoding="gbk", dtype={"社区编码": str})
    assert list(frame.columns) == [c.label_zh for c in TABLES["pilots"].columns]
    assert set(frame["试点类型"]) == {"三社联动", "五社联动"}
    back = frame["试点类型"].map({v: k for k, v in PROGRAMMES.items()})
    assert back.tolist() == city.pilots["programme"].tolist()
    assert frame["社区编码"].tolist() == city.pilots["community_id"].tolist()
    assert pd.to_datetime(frame["启动日期"]).tolist() == city.pilots["start_date"].tolist()


def test_panel_xlsx_sheets(city: DemoCity, folder: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(folder / "community_panel.xlsx", read_only=True)
    assert wb.sheetnames == ["填表说明", "面板数据"]
    assert "合成演示数据" in " ".join(str(r[0]) for r in wb["填表说明"].iter_rows(values_only=True))
    wb.close()
    frame = pd.read_excel(folder / "community_panel.xlsx", sheet_name="面板数据",
                          dtype={"社区编码": str})
    assert list(frame.columns) == [c.label_zh for c in TABLES["community_panel"].columns]
    assert frame["社区编码"].tolist() == city.community_panel["community_id"].tolist()
    np.testing.assert_allclose(frame["志愿服务时长（小时）"], city.community_panel["volunteer_hours"])


def test_population_margins_consistent(city: DemoCity, folder: Path) -> None:
    frame = pd.read_csv(folder / "population_margins.csv", encoding="utf-8",
                        dtype={"community_id": str})
    pdt.assert_frame_equal(frame, city.population, check_dtype=False)
    per = frame.groupby("community_id")["population"].sum()
    reg = city.communities.set_index("community_id")
    share = per / reg["population"].loc[per.index]
    assert share.between(0.75, 0.9).all()  # residents aged 18+
    migrants = frame[frame["hukou"] == "migrant"].groupby("community_id")["population"].sum()
    np.testing.assert_allclose(migrants / per, reg["migrant_share"].loc[per.index], atol=1e-4)


def test_survey_sav_keeps_codes_labels_and_missing(city: DemoCity, folder: Path) -> None:
    import pyreadstat

    data, meta = pyreadstat.read_sav(str(folder / "survey.sav"), user_missing=True)
    assert list(data.columns) == list(city.survey_raw.columns)
    assert data["问卷编号"].is_unique
    assert data["社区编码"].str.fullmatch(r"\d{9}").all()
    for var in city.codebook.items():
        col = var.source_name
        assert meta.column_names_to_labels[col] == var.label_zh
        assert {8.0, 9.0} <= set(meta.variable_value_labels[col])
        ranges = {(r["lo"], r["hi"]) for r in meta.missing_ranges[col]}
        assert ranges == {(8.0, 8.0), (9.0, 9.0)}
        share = data[col].isin([8, 9]).mean()
        low = 0.01 if var.construct == "participation" else 0.02
        assert low <= share <= 0.04, (col, share)
        valid = data[col][~data[col].isin([8, 9])]
        assert valid.between(var.scale_min, var.scale_max).all()
    assert meta.variable_value_labels["S1"] == {1.0: "男", 2.0: "女"}
    assert meta.variable_value_labels["S3"] == {1.0: "本地户籍", 2.0: "外地户籍"}
    assert sorted(meta.variable_value_labels["S5"]) == [1.0, 2.0, 3.0, 4.0]
    assert data["S2"].between(18, 90).all()
    np.testing.assert_array_equal(data["A1"], city.survey_raw["A1"])
    # without user_missing the declared codes become NaN
    plain, _ = pyreadstat.read_sav(str(folder / "survey.sav"), usecols=["A1"])
    assert plain["A1"].isna().sum() == data["A1"].isin([8, 9]).sum()


def _check_digit(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def test_resident_id_numbers_are_valid(city: DemoCity) -> None:
    raw = city.survey_raw
    ids = raw["身份证号"]
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert ids.is_unique
    assert all(_check_digit(v[:17]) == v[17] for v in ids)
    born = pd.to_datetime(ids.str[6:14], format="%Y%m%d")
    seen = pd.to_datetime(raw["访问日期"])
    before = (seen.dt.month < born.dt.month) | (
        (seen.dt.month == born.dt.month) & (seen.dt.day < born.dt.day))
    age = seen.dt.year - born.dt.year - before.astype(int)
    assert (age == raw["S2"]).all()
    odd = ids.str[16].astype(int) % 2 == 1
    assert (odd == (raw["S1"] == 1)).all()


def test_other_personal_data_look_real(city: DemoCity) -> None:
    raw = city.survey_raw
    assert raw["手机号"].str.fullmatch(r"1[358]\d{9}").all()
    assert raw["姓名"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert raw["住址"].str.startswith("示范市").all()
    comments = raw["意见建议"]
    assert 0.3 < (comments == "").mean() < 0.7
    assert comments.str.contains(r"1[358]\d{9}").any()  # some comments carry a phone number


def test_services_parquet(city: DemoCity, folder: Path) -> None:
    table = pq.read_table(folder / "services.parquet")
    assert table.num_rows == len(city.services) >= 100_000
    assert str(table.schema.field("service_date").type) == "date32[day]"
    back = table.to_pandas()
    assert back["community_id"].tolist() == city.services["community_id"].tolist()
    assert set(back["method"]) == {"casework", "group", "event", "home_visit"}
    assert {"为老服务", "儿童关爱", "邻里互助", "协商议事"} <= set(back["block"])


def test_requests_csv(city: DemoCity, folder: Path) -> None:
    frame = pd.read_csv(folder / "requests.csv", encoding="utf-8", dtype=str, keep_default_na=False)
    assert list(frame.columns) == [c.label_zh for c in TABLES["requests"].columns]
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
    assert frame["受理时间"].str.fullmatch(stamp).all()
    resolved = frame["办结时间"]
    assert (resolved == "").sum() == city.requests["resolved_at"].isna().sum() > 0
    assert resolved[resolved != ""].str.fullmatch(stamp).all()
    assert set(frame["满意度评价"]) <= {"", "1", "2", "3", "4", "5"}
    assert len(frame) >= 10_000


def test_codebook_yaml_loads(city: DemoCity, folder: Path) -> None:
    codebook = Codebook.from_yaml(folder / "codebook.yaml")
    assert codebook.constructs_used() == tuple(CONSTRUCT_ITEMS)
    for construct, n in CONSTRUCT_ITEMS.items():
        items = codebook.items(construct)
        assert len(items) == n
        assert sum(v.reverse for v in items) == REVERSED.get(construct, 0)
        scale = (0.0, 1.0) if construct == "participation" else (1.0, 5.0)
        assert all((v.scale_min, v.scale_max) == scale for v in items)
        assert all(set(v.missing_codes) == {8, 9} for v in items)
    privacy = {v.name: (v.privacy, v.pseudonymise) for v in codebook.personal()}
    assert privacy == {
        "name": ("direct_identifier", False), "id_number": ("direct_identifier", True),
        "phone": ("direct_identifier", False), "address": ("direct_identifier", False),
        "comment": ("free_text", False),
    }
    assert codebook["gender"].value_labels == {1: "男", 2: "女"}
    assert codebook.variables == city.codebook.variables
    assert {v.source_name for v in codebook.variables} == set(city.survey_raw.columns)


def test_study_yaml_and_readme(folder: Path) -> None:
    study = load_yaml(folder / "study.yaml")
    assert study.require("synthetic").as_bool() is True
    assert "合成演示数据" in study.require("name").as_str()
    for table, node in study.require("data").items():
        assert table in TABLES
        path = node.as_str() if isinstance(node.value, str) else node.require("path").as_str()
        assert (folder / path).is_file()
    assert study.require("data").require("pilots").require("encoding").as_str() == "gbk"
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in readme and "合成演示数据，非真实调查" in readme
    assert "fictitious" in readme and "虚构" in readme


def test_truth_csv_matches_city(city: DemoCity, folder: Path) -> None:
    frame = pd.read_csv(folder / "truth.csv", keep_default_na=False, na_values=[""])
    np.testing.assert_allclose(frame["effect_score"], city.truth["effect_score"])
    assert frame["construct"].tolist() == city.truth["construct"].tolist()


# ---- the data-generating process ------------------------------------------------------------
def test_constructs_are_reliable(city: DemoCity) -> None:
    for construct in ("gain", "happiness", "security", "belonging", "satisfaction"):
        cols = []
        for var in city.codebook.items(construct):
            x = city.survey[var.name].astype("float64")
            cols.append(6 - x if var.reverse else x)
        items = pd.concat(cols, axis=1).dropna()
        k = items.shape[1]
        alpha = k / (k - 1) * (1 - items.var().sum() / items.sum(axis=1).var())
        assert 0.7 <= alpha <= 0.85, (construct, alpha)


def test_sample_is_unbalanced_against_population(city: DemoCity) -> None:
    pop = city.population
    pop_old = pop.loc[pop["age_band"] == "60+", "population"].sum() / pop["population"].sum()
    pop_female = pop.loc[pop["gender"] == "female", "population"].sum() / pop["population"].sum()
    assert (city.survey["age"] >= 60).mean() > pop_old + 0.1
    assert (city.survey["gender"] == "female").mean() > pop_female + 0.04


def test_truth_shape_of_effects(city: DemoCity) -> None:
    t = city.truth
    overall = t[t["level"] == "overall"].set_index("construct")
    assert overall.loc["security", "effect_score"] == 0
    assert (overall.drop("security")["effect_score"] > 0).all()
    prog = t[t["level"] == "programme"].set_index(["construct", "programme"])["effect_score"]
    sub = t[t["level"] == "subgroup"].set_index(["construct", "subgroup"])["effect_score"]
    for c in ("gain", "belonging", "satisfaction", "participation"):
        assert prog[(c, "wushe")] > prog[(c, "sanshe")]
        assert sub[(c, "age_60plus")] > sub[(c, "age_under60")]
        assert sub[(c, "migrant")] > sub[(c, "local")]
    event = t[(t["level"] == "event_time") & (t["construct"] == "gain")].set_index("event_time")
    assert (event.loc[event.index < 0, "effect_score"] == 0).all()
    post = event.loc[event.index >= 0, "effect_latent"]
    assert post.is_monotonic_increasing and post.iloc[0] > 0


def test_truth_treated_means_match_observed_scores(city: DemoCity) -> None:
    """Observed = treated potential outcome, so truth's treated means are the survey's means."""
    scores = _scores(city.survey, city.codebook)
    scores["cohort"] = _cohort(city)
    scores["year"] = city.survey["wave"] + 2019
    cy = city.truth[city.truth["level"] == "cohort_year"]
    for construct in CONSTRUCT_ITEMS:
        observed = scores[scores["cohort"] > 0].groupby(["cohort", "year"])[construct].mean()
        truth = cy[cy["construct"] == construct].set_index(["cohort", "year"])["mean_score_treated"]
        np.testing.assert_allclose(truth.sort_index().to_numpy(), observed.sort_index().to_numpy())


@pytest.mark.parametrize("construct", ["gain", "security", "satisfaction"])
def test_twfe_recovers_truth_where_naive_comparison_does_not(city: DemoCity, construct: str) -> None:
    """Never-treated vs the 2022 cohort (the largest): TWFE with community and wave fixed
    effects and community-clustered SE recovers truth.csv; the post-period difference in means
    does not, because pilots were picked among better-off communities."""
    cohort_year = 2022
    data = _scores(city.survey, city.codebook)[[construct]].rename(columns={construct: "y"})
    data["community"] = city.survey["community_id"]
    data["wave"] = city.survey["wave"]
    data["cohort"] = _cohort(city)
    data = data[data["cohort"].isin([0, cohort_year])].dropna()
    data["post"] = ((data["cohort"] > 0) & (data["wave"] + 2019 >= cohort_year)).astype(float)
    fit = smf.ols("y ~ post + C(community) + C(wave)", data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["community"])[0]})
    estimate, se = fit.params["post"], fit.bse["post"]

    t = city.truth
    rows = t[(t["construct"] == construct) & (t["level"] == "cohort_year")
             & (t["cohort"] == cohort_year) & (t["event_time"] >= 0)]
    truth = float(np.average(rows["effect_score"], weights=rows["n_obs"]))

    period = data["wave"] + 2019 >= cohort_year
    naive = (data.loc[period & (data["cohort"] > 0), "y"].mean()
             - data.loc[period & (data["cohort"] == 0), "y"].mean())
    assert se < 0.1
    assert abs(estimate - truth) < 3 * se, (estimate, truth, se)
    assert abs(naive - truth) > 3 * se, (naive, truth, se)
