"""Disclosure control: primary, secondary, dominance, register, quantiles, roll-up.

Non-recoverability is checked by methods independent of the solver: a rank
test (is the hidden cell's unit vector in the row space of the relations on
the hidden cells?) and, on a small table, brute-force enumeration of every
non-negative integer table consistent with what is published.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from evalkit.disclosure import (
    TOTAL,
    DisclosurePolicy,
    ProtectedTable,
    SuppressionRegister,
    TableSpec,
    additive_structure,
    attacker_intervals,
    cell_contributions,
    cell_key,
    drawable,
    linearly_determined,
    protect_table,
    protect_tables,
    protected_quantiles,
    roll_up_small_areas,
)
from evalkit.errors import DisclosureError


def _full_vector(frame: pd.DataFrame, by: list[str], col: str):
    levels = [list(pd.unique(frame[d])) for d in by]
    st = additive_structure(by, levels)
    x = np.zeros(st.n_cells)
    for i, cell in enumerate(st.cells):
        mask = np.ones(len(frame), dtype=bool)
        for d, lv in zip(by, cell, strict=True):
            if lv is not TOTAL:
                mask &= (frame[d] == lv).to_numpy()
        x[i] = frame.loc[mask, col].sum()
    return st, x


def _hidden_vector(st, prot: ProtectedTable, by: list[str], col: str) -> np.ndarray:
    hidden = np.zeros(st.n_cells, dtype=bool)
    for _, row in prot.values.iterrows():
        if pd.isna(row[col]):
            hidden[st.index[tuple(row[d] for d in by)]] = True
    for _, row in prot.margins.iterrows():
        if pd.isna(row[col]):
            hidden[st.index[tuple(None if pd.isna(row[d]) else row[d] for d in by)]] = True
    return hidden


def _determined_by_rank(st, hidden: np.ndarray) -> list[int]:
    """Cells whose unit vector lies in the row space of the relations restricted to hidden cells."""
    a = st.relations.toarray()[:, hidden]
    r = np.linalg.matrix_rank(a) if a.size else 0
    out = []
    for k, c in enumerate(np.flatnonzero(hidden)):
        e = np.zeros((1, a.shape[1]))
        e[0, k] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == r:
            out.append(int(c))
    return out


def _random_table(seed: int, n_rows: int = 8, n_cols: int = 4, n_small: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.integers(10, 60, size=(n_rows, n_cols))
    for k in range(n_small):
        counts[rng.integers(n_rows), rng.integers(n_cols)] = rng.integers(1, 10)
    return pd.DataFrame([{"community": f"C{i:02d}", "wave": f"W{j}", "n": int(counts[i, j]),
                          "mean_gain": float(rng.normal(3, 0.5))}
                         for i in range(n_rows) for j in range(n_cols)])


# --- policy ---------------------------------------------------------------------------------


def test_policy_default_and_floor_of_five():
    assert DisclosurePolicy().min_count == 10
    assert DisclosurePolicy(min_count=5).floor_overridden is False
    with pytest.raises(DisclosureError, match=r"min_count=4 is below the floor of 5.*floor_override_reason"):
        DisclosurePolicy(min_count=4)
    with pytest.raises(DisclosureError, match="floor of 5"):
        DisclosurePolicy(min_count=3, floor_override_reason="   ")
    p = DisclosurePolicy(min_count=3, floor_override_reason="agreed with data owner, letter 2026-11")
    manifest = p.to_manifest()
    assert manifest["floor_overridden"] is True
    assert manifest["floor_override_reason"].startswith("agreed")
    assert manifest["min_count"] == 3 and manifest["floor"] == 5
    assert DisclosurePolicy.from_dict({"min_count": 12}).min_count == 12
    assert DisclosurePolicy.from_dict(None) == DisclosurePolicy()
    with pytest.raises(DisclosureError, match="unknown key.*'min_cell'"):
        DisclosurePolicy.from_dict({"min_cell": 12})


# --- primary and secondary suppression ------------------------------------------------------


def test_one_dimensional_primary_alone_is_recoverable_and_secondary_fixes_it():
    frame = pd.DataFrame({"community": ["A", "B", "C", "D"], "n": [30, 3, 25, 40], "share_female": [.5, .6, .4, .5]})
    st, x = _full_vector(frame, ["community"], "n")
    only_primary = np.zeros(st.n_cells, dtype=bool)
    only_primary[st.index[("B",)]] = True
    assert _determined_by_rank(st, only_primary) == [st.index[("B",)]]  # the check can fail

    prot = protect_table(frame, by=["community"], count_col="n", value_cols=["share_female"])
    hidden = _hidden_vector(st, prot, ["community"], "n")
    assert hidden[st.index[("B",)]] and hidden.sum() == 2
    assert not hidden[st.index[(None,)]]  # the grand total stays published
    assert _determined_by_rank(st, hidden) == []
    iv = attacker_intervals(st, x, hidden).set_index("cell").loc[st.index[("B",)]]
    assert iv["upper"] >= 10 - 1e-9 and iv["lower"] <= 2 + 1e-9
    flags = prot.flags.set_index(["community", "column"])["reason"]
    assert flags[("B", "n")] == "small_count"
    assert flags[("B", "share_female")] == "derived"
    assert set(prot.flags["reason"]) == {"small_count", "derived", "secondary"}
    assert prot.values["share_female"].isna().sum() == 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_two_dimensional_pattern_cannot_be_recovered(seed):
    frame = _random_table(seed)
    prot = protect_table(frame, by=["community", "wave"], count_col="n", value_cols=["mean_gain"])
    st, x = _full_vector(frame, ["community", "wave"], "n")
    hidden = _hidden_vector(st, prot, ["community", "wave"], "n")
    small = (frame["n"] < 10).to_numpy()
    assert hidden.sum() > small.sum()  # secondary cells were needed
    assert _determined_by_rank(st, hidden) == []
    assert not linearly_determined(st, hidden).any()
    iv = attacker_intervals(st, x, hidden).set_index("cell")
    for _, row in frame[small].iterrows():
        c = st.index[(row["community"], row["wave"])]
        assert iv.loc[c, "upper"] >= 10 - 1e-6
        assert iv.loc[c, "lower"] <= row["n"] - 1 + 1e-6
    # every hidden count hides its mean too; nothing else is hidden
    assert prot.values["mean_gain"].isna().equals(prot.values["n"].isna())


@pytest.mark.parametrize("seed", [5, 6])
def test_large_table_path_rectangles_then_integer_program(seed, monkeypatch):
    """Above the joint-model size, primaries are protected one by one; still non-recoverable."""
    import evalkit.disclosure.secondary as secondary

    monkeypatch.setattr(secondary, "MAX_JOINT_VARIABLES", 0)
    frame = _random_table(seed, n_rows=14, n_cols=5, n_small=6)
    prot = protect_table(frame, by=["community", "wave"], count_col="n")
    st, x = _full_vector(frame, ["community", "wave"], "n")
    hidden = _hidden_vector(st, prot, ["community", "wave"], "n")
    assert _determined_by_rank(st, hidden) == []
    iv = attacker_intervals(st, x, hidden).set_index("cell")
    for _, row in frame[frame["n"] < 10].iterrows():
        c = st.index[(row["community"], row["wave"])]
        assert iv.loc[c, "upper"] >= 10 - 1e-6 and iv.loc[c, "lower"] <= row["n"] - 1 + 1e-6


def test_brute_force_enumeration_finds_many_consistent_values():
    """Every non-negative integer 3×3 table matching the published cells and margins."""
    counts = np.array([[12, 2, 15], [11, 14, 13], [10, 12, 11]])
    frame = pd.DataFrame([{"r": f"r{i}", "c": f"c{j}", "n": int(counts[i, j])} for i in range(3) for j in range(3)])
    prot = protect_table(frame, by=["r", "c"], count_col="n")
    published = prot.values.set_index(["r", "c"])["n"]
    hidden = [(i, j) for i in range(3) for j in range(3) if pd.isna(published[(f"r{i}", f"c{j}")])]
    assert (0, 1) in hidden and len(hidden) >= 4
    assert prot.margins["n"].notna().all()  # margins could stay published here
    rows, cols = counts.sum(axis=1), counts.sum(axis=0)
    grid = np.array(list(itertools.product(range(0, 30), repeat=len(hidden))))  # every candidate
    tables = np.repeat(counts[None], len(grid), axis=0)
    for k, (i, j) in enumerate(hidden):
        tables[:, i, j] = grid[:, k]
    ok = (tables.sum(axis=2) == rows).all(axis=1) & (tables.sum(axis=1) == cols).all(axis=1)
    candidates = tables[ok, 0, 1].tolist()
    assert len(set(candidates)) >= 2
    assert max(candidates) >= 10  # the attacker cannot rule out that the small cell reaches the threshold


def test_total_rows_in_frame_are_protected_too():
    frame = pd.DataFrame({"community": ["A", "B", "合计"], "n": [4, 30, 34]})
    prot = protect_table(frame, by=["community"], count_col="n", total_label="合计")
    # with two cells, hiding A forces hiding B or the total
    assert prot.values["n"].isna().sum() == 2


def test_margins_not_published_needs_primary_only():
    frame = _random_table(7)
    prot = protect_table(frame, by=["community", "wave"], count_col="n", margins=False)
    assert prot.values["n"].isna().equals(frame["n"] < 10)
    assert prot.margins.empty  # nothing offers a total that was not protected
    with_totals = pd.DataFrame({"c": ["A", "B", "合计"], "n": [4, 30, 34]})
    with pytest.raises(DisclosureError, match="secondary='none'"):
        protect_table(with_totals, by=["c"], count_col="n", total_label="合计",
                      policy=DisclosurePolicy(secondary="none"))


# --- dominance ----------------------------------------------------------------------------


def test_dominance_rule_on_service_hours():
    rng = np.random.default_rng(3)
    rows = []
    for comm in ["A", "B", "C", "D"]:
        for hh in range(15):
            rows.append({"community": comm, "household": f"{comm}{hh}", "hours": float(rng.integers(1, 5))})
    rows.append({"community": "B", "household": "B_big", "hours": 900.0})  # one household dominates B
    data = pd.DataFrame(rows)
    cells = cell_contributions(data, by=["community"], value_col="hours", unit_col="household")
    assert list(cells.columns) == ["community", "n", "total", "top_1", "top_2"]
    prot = protect_table(cells, by=["community"], count_col="n", magnitude_col="total",
                         top_cols=["top_1", "top_2"])
    assert "top_1" not in prot.values.columns  # individual contributions are never published
    reasons = prot.flags.set_index(["community", "column"])["reason"]
    assert reasons[("B", "total")] == "dominance"
    # the other communities together hold too few hours to hide B's, so the grand total goes
    assert prot.values.set_index("community")["total"].isna().sum() == 1
    assert prot.margins["total"].isna().all() and prot.margins["reason"].eq("dominance").all()
    st, mag = _full_vector(cells, ["community"], "total")
    hidden = _hidden_vector(st, prot, ["community"], "total")
    b = cells.set_index("community").loc["B"]
    iv = attacker_intervals(st, mag, hidden).set_index("cell").loc[st.index[("B",)]]
    assert iv["upper"] >= (b["top_1"] + b["top_2"]) / 0.85 - 1e-6


def test_dominance_needs_top_two():
    cells = pd.DataFrame({"c": ["A", "B"], "n": [20, 20], "total": [10.0, 10.0], "top_1": [1.0, 1.0]})
    with pytest.raises(DisclosureError, match="2 largest"):
        protect_table(cells, by=["c"], count_col="n", magnitude_col="total", top_cols=["top_1"])


# --- consistency across tables and waves ----------------------------------------------------


def test_shared_cells_hidden_consistently_across_two_tables():
    rng = np.random.default_rng(11)
    people = pd.DataFrame({"community": rng.choice([f"C{i}" for i in range(6)], size=400,
                                                   p=[.24, .24, .24, .24, .02, .02]),
                           "wave": rng.choice(["2023", "2024"], size=400),
                           "sex": rng.choice(["f", "m"], size=400)})
    a = people.groupby(["community", "wave"]).size().rename("n").reset_index()
    b = people.groupby(["community", "sex"]).size().rename("n").reset_index()
    specs = [TableSpec(by=["community", "wave"], count_col="n", name="by_wave"),
             TableSpec(by=["community", "sex"], count_col="n", name="by_sex")]
    pa, pb = protect_tables([a, b], specs=specs)
    hidden_a = set(pa.margins.loc[pa.margins["n"].isna() & pa.margins["wave"].isna(), "community"])
    hidden_b = set(pb.margins.loc[pb.margins["n"].isna() & pb.margins["sex"].isna(), "community"])
    assert hidden_a == hidden_b and hidden_a  # the community totals agree between the tables
    assert pa.register.cells == pb.register.cells
    for key in pa.register.cells:
        assert len(key) != 1 or key[0][0] != "community" or dict(key)["community"] in hidden_a


def test_register_carries_suppression_to_the_next_wave(tmp_path):
    wave1 = pd.DataFrame({"community": ["A", "B", "C"], "n": [12, 4, 30]})
    p1 = protect_table(wave1, by=["community"], count_col="n")
    path = p1.register.save(tmp_path / "register.json")
    reg = SuppressionRegister.load(path)
    assert reg.cells == p1.register.cells and cell_key({"community": "B"}) in reg
    # next wave: B has grown above the threshold but a combined table would reveal wave-2 − wave-1
    wave2 = pd.DataFrame({"community": ["A", "B", "C"], "n": [13, 15, 31]})
    p2 = protect_table(wave2, by=["community"], count_col="n", register=reg)
    reasons = p2.flags.set_index(["community", "column"])["reason"]
    assert reasons[("B", "n")] == "register"
    st, _ = _full_vector(wave2, ["community"], "n")
    assert _determined_by_rank(st, _hidden_vector(st, p2, ["community"], "n")) == []


# --- flags, refusals, quantiles, roll-up, figures -----------------------------------------


def test_sensitive_extremes_flagged_or_suppressed():
    frame = pd.DataFrame({"community": ["A", "B", "C"], "n": [20, 25, 30],
                          "share_dibao": [0.0, 0.2, 1.0], "share_female": [0.0, 0.5, 0.5]})
    prot = protect_table(frame, by=["community"], count_col="n", value_cols=["share_dibao", "share_female"])
    flagged = prot.flags[prot.flags["reason"] == "sensitive_extreme"]
    assert sorted(flagged["community"]) == ["A", "C"] and set(flagged["column"]) == {"share_dibao"}
    assert prot.values["share_dibao"].notna().all()
    strict = protect_table(frame, by=["community"], count_col="n", value_cols=["share_dibao"],
                           policy=DisclosurePolicy(sensitive_extremes="suppress"))
    assert strict.values.set_index("community")["share_dibao"][["A", "C"]].isna().all()


@pytest.mark.parametrize("col", ["score_max", "min_age", "最高收入"])
def test_minimum_and_maximum_columns_refused(col):
    frame = pd.DataFrame({"c": ["A", "B"], "n": [20, 20], col: [1.0, 2.0]})
    with pytest.raises(DisclosureError, match="minimum, maximum or extreme percentile"):
        protect_table(frame, by=["c"], count_col="n", value_cols=[col])


def test_protected_quantiles():
    values = pd.Series(np.arange(30, dtype=float))
    q = protected_quantiles(values, [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]).set_index("prob")
    assert np.isnan(q.loc[0.0, "value"]) and np.isnan(q.loc[1.0, "value"]) and np.isnan(q.loc[0.1, "value"])
    assert q.loc[0.5, "value"] == pytest.approx(np.median(values))
    assert q.loc[0.25, "reason"] == "extreme_statistic"  # 7.5 people below: too few
    assert q.loc[0.5, "reason"] == ""


def test_small_communities_roll_up_to_street():
    data = pd.DataFrame({"community": ["A"] * 30 + ["B"] * 6 + ["C"] * 7 + ["D"] * 3,
                         "street": ["S1"] * 43 + ["S2"] * 3})
    out = roll_up_small_areas(data, area_col="community", parent_col="street")
    m = out.mapping.set_index("area")
    assert m.loc["A", "report_level"] == "community"
    assert m.loc["B", "report_area"] == "S1" and m.loc["C", "report_area"] == "S1"
    assert not m.loc["B", "still_small"]  # 6 + 7 pooled = 13
    assert m.loc["D", "still_small"]
    assert (out.data.loc[out.data["community"] == "B", "report_area"] == "S1").all()


def test_figures_only_draw_protected_tables():
    frame = pd.DataFrame({"community": ["A", "B", "C"], "n": [20, 3, 30]})
    with pytest.raises(DisclosureError, match="protected tables"):
        drawable(frame)
    data = drawable(protect_table(frame, by=["community"], count_col="n"))
    assert data["n"].isna().sum() == 2
