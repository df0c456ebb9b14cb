"""DuckDB aggregation: hand-computed sums, agreement with plain pandas, bit-identical repeats,
Parquet input and per-community partitions."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from evalkit.programme.aggregate import (
    distinct_people,
    request_aggregate_sets,
    request_aggregates,
    service_aggregate_sets,
    service_aggregates,
    write_partitions,
    write_service_partitions,
)
from evalkit.programme.aggregate_pandas import request_aggregates_pandas, service_aggregates_pandas


def test_service_sums_hand_computed(services_small: pd.DataFrame) -> None:
    out = service_aggregates(services_small, by=("community_id", "year"))
    x23 = out[(out["community_id"] == "X") & (out["year"] == 2023)].iloc[0]
    assert x23["services"] == 2 and x23["participants"] == 9
    assert x23["volunteer_minutes"] == 90
    # 199.995 yuan rounds half up to 20000 fen (not to even), 800 → 80000
    assert x23["cost_fen"] == 100_000
    assert x23["actors_ge2"] == 2 and x23["actors_ge3"] == 0
    assert x23["pair_community__social_org"] == 1 and x23["pair_community__volunteer"] == 1
    x24 = out[(out["community_id"] == "X") & (out["year"] == 2024)].iloc[0]
    assert (x24["actors_ge3"], x24["actors_all5"], x24["cost_fen"]) == (1, 1, 200_001)
    y = out[out["community_id"] == "Y"].iloc[0]
    assert (y["actors_ge2"], y["actor_community"]) == (0, 0)  # a service with no actor flagged
    assert out.dtypes.drop("community_id").eq("int64").all()


@pytest.mark.parametrize("by", [("community_id", "year"), ("community_id", "year", "month"),
                                ("block", "method"), ("community_id", "year", "block", "method"), ()])
def test_duckdb_equals_pandas_on_services(by: tuple[str, ...], make_services) -> None:
    data = make_services(20_000, seed=3)
    pd.testing.assert_frame_equal(service_aggregates(data, by=by), service_aggregates_pandas(data, by=by))


def _requests(n: int) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(5)
    rec = pd.Series(pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"))
    secs = rng.integers(0, 200 * 3600, n)
    res = (rec + pd.to_timedelta(secs, unit="s")).where(rng.random(n) > 0.1)
    sat = pd.array(rng.integers(1, 6, n), dtype="Int64")
    sat[rng.random(n) < 0.4] = pd.NA
    # exact window edges: 24 h and 72 h count as within
    res.iloc[:2] = [rec[0] + pd.Timedelta(hours=24), rec[1] + pd.Timedelta(hours=72)]
    return pd.DataFrame({"community_id": rng.choice(["A", "B", "C"], n).astype(object), "received_at": rec,
                         "resolved_at": res, "channel": rng.choice(["hotline", "wechat"], n).astype(object),
                         "category": rng.choice(["噪音", "停车"], n).astype(object), "satisfaction": sat})


def test_duckdb_equals_pandas_on_requests_with_edges() -> None:
    data = _requests(5_000)
    for by in (("community_id", "year"), ("channel", "category")):
        pd.testing.assert_frame_equal(request_aggregates(data, by=by), request_aggregates_pandas(data, by=by))
    one = request_aggregates(data.iloc[:2], by=())
    assert (one["within_24h"].item(), one["within_72h"].item()) == (1, 2)


def test_repeated_runs_are_bit_identical_and_parquet_equals_frame(tmp_path, make_services) -> None:
    data = make_services(50_000, seed=11, communities=7)
    runs = [service_aggregates(data, by=("community_id", "year", "block"), threads=2) for _ in range(3)]
    digests = {hashlib.sha256(pd.util.hash_pandas_object(r, index=True).values.tobytes()).hexdigest() for r in runs}
    assert len(digests) == 1
    path = tmp_path / "services.parquet"
    data.to_parquet(path)
    from_file = service_aggregates(path, by=("community_id", "year", "block"), temp_directory=tmp_path / "spill")
    pd.testing.assert_frame_equal(from_file, runs[0])


def test_partitions_hold_one_community_each(tmp_path, make_services) -> None:
    data = make_services(3_000, seed=2, communities=3)
    detail = service_aggregates(data, by=("community_id", "year", "block"))
    folder = write_partitions(detail, tmp_path / "agg")
    parts = sorted(p.name for p in folder.iterdir())
    assert parts == ["community_id=C00", "community_id=C01", "community_id=C02"]
    one = pd.read_parquet(folder / "community_id=C01")
    expected = detail[detail["community_id"] == "C01"].drop(columns="community_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(one.reset_index(drop=True), expected, check_dtype=False)


def test_unknown_grouping_key_is_refused(services_small: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="by='street'"):
        service_aggregates(services_small, by=("street",))


def test_grouping_sets_equal_separate_groupings(make_services) -> None:
    data = make_services(10_000, seed=8)
    sets = [("community_id", "year"), ("block",), ("community_id", "year", "month", "method"), ()]
    for got, by in zip(service_aggregate_sets(data, sets=sets), sets, strict=True):
        pd.testing.assert_frame_equal(got, service_aggregates_pandas(data, by=by))
    req = _requests(2_000)
    rsets = [("community_id",), ("channel", "category")]
    for got, by in zip(request_aggregate_sets(req, sets=rsets), rsets, strict=True):
        pd.testing.assert_frame_equal(got, request_aggregates_pandas(req, by=by))


def test_distinct_people_counts_each_person_once(services_small: pd.DataFrame) -> None:
    data = services_small.assign(person_key=["p1", "p2", "p1", None])
    data.loc[2, "service_date"] = pd.Timestamp("2023-02-01")  # p1 served twice in 2023 by 为老服务
    out = distinct_people(data, blocks_by_group={"elderly": ["为老服务"], "children": ["儿童关爱"], "migrants": []})
    got = {(r.community_id, r.year, r.target_group): r.people for r in out.itertuples()}
    assert got == {("X", 2023, "elderly"): 1, ("X", 2023, "children"): 1}


def test_service_partitions_written_straight_from_parquet(tmp_path, make_services) -> None:
    data = make_services(4_000, seed=9, communities=3)
    path = tmp_path / "s.parquet"
    data.to_parquet(path)
    folder = write_service_partitions(path, tmp_path / "parts", by=("community_id", "year", "block"))
    one = pd.read_parquet(folder / "community_id=C02").reset_index(drop=True)
    expected = service_aggregates_pandas(data, by=("community_id", "year", "block"))
    expected = expected[expected["community_id"] == "C02"].drop(columns="community_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(one, expected, check_dtype=False)

