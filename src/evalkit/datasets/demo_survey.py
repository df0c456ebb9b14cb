"""The demo resident survey: sample, latent construct model, items, missing codes, true effects.

Each respondent has, per construct, a latent level made of a community effect,
a year effect, a community-year shock, demographic effects, a person effect
shared by all constructs, a construct-specific person effect and — in pilot
communities from the start year's wave on — a treatment effect. Items add
item noise to the latent level and are discretised (Likert 1–5 by rounding;
yes/no by a threshold). The untreated potential outcome of every respondent
uses the same draws (common random numbers), so the true effect on the
*observed* construct score is known exactly; :func:`make_survey` aggregates it
into the truth table. The parameters are module constants, documented in
``DEMO.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.datasets import demo_people as P
from evalkit.datasets import demo_vocab as V
from evalkit.datasets.demo_admin import World, _choose

K = len(V.CONSTRUCT_ORDER)
_KI = {c: i for i, c in enumerate(V.CONSTRUCT_ORDER)}

# ---- the data-generating process (order of constructs: V.CONSTRUCT_ORDER) -------------
#: latent mean (Likert items: relative to the scale midpoint 3; participation: probit scale)
MU = np.array([0.55, 0.60, 0.50, 0.60, 0.50, -0.20])
#: effect of an urban community
URBAN = np.array([0.10, 0.00, -0.05, -0.15, 0.10, -0.15])
#: demographic effects: rows age 60+, migrant, female, college, years resident / 10 (capped at 2)
BETA = np.array([
    [0.10, 0.10, -0.05, 0.20, 0.15, 0.35],
    [-0.10, -0.05, -0.05, -0.30, -0.05, -0.30],
    [0.00, 0.05, -0.15, 0.05, 0.05, 0.10],
    [-0.05, 0.05, 0.00, -0.05, -0.15, 0.05],
    [0.05, 0.03, 0.05, 0.12, 0.00, 0.10],
])
SD_QUALITY = 0.25  # loading of the community quality factor (which also drives pilot selection)
SD_COMMUNITY = 0.12  # construct-specific community effect
YEAR_EFFECT = np.array([0.00, 0.03, -0.04, 0.06, 0.10])  # common to all constructs, 2020–2024
SD_YEAR_CONSTRUCT = 0.03
SD_COMMUNITY_YEAR = 0.06
SD_PERSON_COMMON = 0.35
SD_PERSON = 0.55
#: item noise by construct; Likert items are round(3 + MU + offset + latent + noise) in 1..5
SD_ITEM = np.array([0.75, 0.60, 0.60, 0.75, 0.75, 0.60])
ITEM_OFFSET = {
    "gain_1": 0.10, "gain_2": -0.10, "gain_3": 0.00, "gain_4": -0.20,
    "happy_1": 0.10, "happy_2": 0.00, "happy_3": -0.10,
    "secure_1": 0.00, "secure_2": 0.10, "secure_3": -0.20,
    "belong_1": 0.10, "belong_2": 0.00, "belong_3": 0.15, "belong_4": -0.15,
    "satis_1": 0.00, "satis_2": 0.10, "satis_3": -0.15, "satis_4": -0.05,
    "partic_1": 0.40, "partic_2": -0.40, "partic_3": -0.80,
}

# ---- true treatment effects on the latent scale --------------------------------------
#: base effect per construct (security: none, so a "significant" security effect is a false positive)
EFFECT_BASE = np.array([0.30, 0.12, 0.00, 0.25, 0.35, 0.40])
PROGRAMME_MULTIPLIER = {"sanshe": 1.0, "wushe": 1.5}
#: share of the full effect by years since start (0, 1, 2, 3 or more); 0 before the start
EXPOSURE = np.array([0.4, 0.7, 0.9, 1.0])
EFFECT_AGE60 = 0.5  # effect × (1 + 0.5 · age 60+ + 0.4 · migrant)
EFFECT_MIGRANT = 0.4

# ---- sampling -------------------------------------------------------------------------
#: relative selection probability by cell factor: age band, gender (male, female), hukou
OVERSAMPLE_AGE = np.array([0.6, 1.0, 1.9])
OVERSAMPLE_GENDER = np.array([1.0, 1.3])
OVERSAMPLE_HUKOU = np.array([1.0, 0.7])
P_DONT_KNOW = 0.02  # code 8 per item
P_REFUSED = 0.012  # code 9 per item


#: the aggregation levels of the truth table, in the order rows appear
TRUTH_LEVELS = ("overall", "programme", "subgroup", "event_time", "cohort_year")


@frozen(eq=False)
class SurveySim:
    survey: pd.DataFrame  # canonical columns + items (missing codes → NA)
    raw: pd.DataFrame  # as the field delivers it: source names, codes, personal data
    truth: pd.DataFrame


def _likert(z: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(z), 1, 5).astype(np.int64)


def make_survey(world: World, rngs: list[np.random.Generator]) -> SurveySim:
    rs, rl, rm, rp = rngs  # sample, latent, missing codes, personal data
    years = np.array(V.YEARS)
    n_c, n_t = world.n, len(years)

    # ---- sample: wave-major order, ≈60 per community and wave, unbalanced by design ----
    size = rs.integers(55, 66, (n_t, n_c))
    tix = np.repeat(np.repeat(np.arange(n_t), n_c), size.ravel())
    comm = np.repeat(np.tile(np.arange(n_c), n_t), size.ravel())
    n = len(comm)
    over = (OVERSAMPLE_AGE[:, None, None] * OVERSAMPLE_GENDER[None, :, None]
            * OVERSAMPLE_HUKOU[None, None, :]).ravel()
    probs = world.cells * over
    probs = probs / probs.sum(1, keepdims=True)
    cell = _choose(rs, probs[comm])
    band, female, migrant = cell // 4, (cell // 2) % 2 == 1, cell % 2 == 1
    age = np.select(
        [band == 0, band == 1],
        [rs.integers(18, 35, n), rs.integers(35, 60, n)],
        60 + np.minimum(np.floor(rs.exponential(8.5, n)), 30).astype(np.int64),
    )
    year = years[tix]
    interview = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + 243 + (year % 4 == 0)
    interview = interview + rs.integers(0, 91, n)  # 1 September .. 30 November
    resident = np.where(
        migrant,
        np.minimum(np.floor(rs.exponential(4.5, n)), age - 16),
        np.maximum(1, np.rint(age * rs.uniform(0.25, 1.0, n))),
    ).astype(float)
    urban = world.urban[comm]
    edu_latent = -0.045 * (age - 45) + 0.5 * urban + rs.normal(0, 1, n)
    education = 1 + np.searchsorted(np.array([-1.0, 0.0, 0.9]), edu_latent)

    # ---- latent levels (untreated) ----------------------------------------------------
    x = np.column_stack([age >= 60, migrant, female, education == 4,
                         np.minimum(resident, 20) / 10]).astype(float)
    year_k = YEAR_EFFECT[:, None] + rl.normal(0, SD_YEAR_CONSTRUCT, (n_t, K))
    comm_k = SD_QUALITY * world.quality[:, None] + rl.normal(0, SD_COMMUNITY, (n_c, K))
    shock = rl.normal(0, SD_COMMUNITY_YEAR, (n_c, n_t, K))
    eta0 = (MU + URBAN * urban[:, None] + comm_k[comm] + year_k[tix] + shock[comm, tix]
            + x @ BETA + SD_PERSON_COMMON * rl.standard_normal(n)[:, None]
            + SD_PERSON * rl.standard_normal((n, K)))

    # ---- treatment --------------------------------------------------------------------
    cohort = world.start_year[comm]
    event = np.where(cohort > 0, year - cohort, -99)
    treated = event >= 0
    mult = np.where(world.programme[comm] == "wushe", PROGRAMME_MULTIPLIER["wushe"],
                    PROGRAMME_MULTIPLIER["sanshe"])
    dose = np.where(treated, EXPOSURE[np.clip(event, 0, len(EXPOSURE) - 1)], 0.0)
    hetero = 1 + EFFECT_AGE60 * (age >= 60) + EFFECT_MIGRANT * migrant
    tau = EFFECT_BASE[None, :] * (mult * dose * hetero)[:, None]

    # ---- items: both potential outcomes from the same draws -------------------------------
    item_vals0, item_vals1, item_missing = {}, {}, {}
    for spec in V.ITEMS:
        k = _KI[spec.construct]
        noise = rl.normal(0, SD_ITEM[k], n)
        if spec.construct == "participation":
            z0 = eta0[:, k] + ITEM_OFFSET[spec.name] + noise
            v0, v1 = (z0 > 0).astype(np.int64), (z0 + tau[:, k] > 0).astype(np.int64)
        else:
            z0 = 3 + eta0[:, k] + ITEM_OFFSET[spec.name] + noise
            v0, v1 = _likert(z0), _likert(z0 + tau[:, k])
        u = rm.random(n)
        scale = 0.5 if spec.construct == "participation" else 1.0
        code = np.select([u < P_DONT_KNOW * scale, u < (P_DONT_KNOW + P_REFUSED) * scale], [8, 9], 0)
        item_vals0[spec.name], item_vals1[spec.name], item_missing[spec.name] = v0, v1, code

    # ---- observed items as delivered (reverse items stored as asked) ----------------------
    raw_items, canon_items = {}, {}
    for spec in V.ITEMS:
        v = item_vals1[spec.name]  # equals the untreated value where tau is 0
        asked = 6 - v if spec.reverse else v
        code = item_missing[spec.name]
        raw_items[spec.source_name] = np.where(code > 0, code, asked)
        canon_items[spec.name] = pd.array(np.where(code > 0, np.nan, asked), dtype="Float64").astype("Int64")

    # ---- identifiers and personal data ----------------------------------------------------
    ids = world.ids
    seq = np.concatenate([np.arange(1, s + 1) for s in size.ravel()])
    respondent_id = np.char.add(np.char.add(year.astype(str), ids[comm].astype(str)),
                                np.char.zfill(seq.astype(str), 3))
    male = ~female
    region_local = np.array(V.CITY_REGION_CODES)[
        pd.Index([d.name for d in V.DISTRICTS]).get_indexer(world.registry["district"])]
    region = np.where(migrant, np.array(V.MIGRANT_REGION_CODES)[
        rp.integers(0, len(V.MIGRANT_REGION_CODES), n)], region_local[comm])
    born = P.birth_dates(rp, age, interview)
    id_number = P.id_numbers(rp, region, born, male)
    name = P.person_names(rp, male)
    phone = P.mobile_numbers(rp, n)
    reg = world.registry
    addr = P.addresses(rp, reg["district"].to_numpy(dtype=str)[comm], reg["street"].to_numpy(dtype=str)[comm],
                       reg["community_name"].to_numpy(dtype=str)[comm], urban)
    comment = P.comments(rp, name, phone, addr)

    raw = pd.DataFrame({
        "问卷编号": respondent_id.astype(object),
        "社区编码": ids[comm],
        "调查轮次": (tix + 1).astype(np.int64),
        "访问日期": pd.to_datetime(interview).date,
        "姓名": name.astype(object),
        "身份证号": id_number.astype(object),
        "手机号": phone.astype(object),
        "住址": addr.astype(object),
        "S1": np.where(female, 2, 1),
        "S2": age.astype(np.int64),
        "S3": np.where(migrant, 2, 1),
        "S4": resident,
        "S5": education.astype(np.int64),
        **raw_items,
        "意见建议": comment,
    })
    survey = pd.DataFrame({
        "respondent_id": respondent_id.astype(object),
        "community_id": ids[comm],
        "wave": (tix + 1).astype(np.int64),
        "interview_date": pd.to_datetime(interview).astype("datetime64[ns]"),
        "gender": np.where(female, "female", "male").astype(object),
        "age": age.astype(np.int64),
        "hukou": np.where(migrant, "migrant", "local").astype(object),
        "years_resident": resident,
        "education": np.array(V.EDUCATION_CODES, dtype=object)[education - 1],
        **canon_items,
    })
    truth = _truth(world, comm, year, cohort, event, age >= 60, migrant, tau,
                   item_vals0, item_vals1, item_missing)
    return SurveySim(survey, raw, truth)


def _truth(world: World, comm: np.ndarray, year: np.ndarray, cohort: np.ndarray, event: np.ndarray,
           old: np.ndarray, migrant: np.ndarray, tau: np.ndarray, vals0: dict, vals1: dict,
           missing: dict) -> pd.DataFrame:
    """Aggregate the respondent-level effects (latent and observed score) into the truth table."""
    in_pilot = cohort > 0
    frames = []
    for construct in V.CONSTRUCT_ORDER:
        specs = [s for s in V.ITEMS if s.construct == construct]
        valid = np.column_stack([missing[s.name] == 0 for s in specs])
        s0 = np.column_stack([vals0[s.name] for s in specs])
        s1 = np.column_stack([vals1[s.name] for s in specs])
        count = valid.sum(1)
        keep = in_pilot & (count > 0)
        denom = np.where(count > 0, count, 1)
        score0 = (s0 * valid).sum(1) / denom
        score1 = (s1 * valid).sum(1) / denom
        frames.append(pd.DataFrame({
            "construct": construct,
            "programme": world.programme[comm][keep],
            "cohort": cohort[keep],
            "year": year[keep],
            "event_time": event[keep],
            "old": old[keep],
            "migrant": migrant[keep],
            "latent": tau[keep, _KI[construct]],
            "effect": score1[keep] - score0[keep],
            "treated_mean": score1[keep],
            "untreated_mean": score0[keep],
        }))
    long = pd.concat(frames, ignore_index=True)
    post = long[long["event_time"] >= 0]

    def agg(frame: pd.DataFrame, by: list[str], level: str, **fixed: object) -> pd.DataFrame:
        g = frame.groupby(["construct", *by], sort=False)
        out = g.agg(n_obs=("effect", "size"), effect_latent=("latent", "mean"),
                    effect_score=("effect", "mean"), mean_score_treated=("treated_mean", "mean"),
                    mean_score_untreated=("untreated_mean", "mean")).reset_index()
        out.insert(1, "level", level)
        for col, val in fixed.items():
            out[col] = val
        return out

    sub = [
        agg(post.assign(subgroup=np.where(post["old"], "age_60plus", "age_under60")),
            ["subgroup"], "subgroup"),
        agg(post.assign(subgroup=np.where(post["migrant"], "migrant", "local")), ["subgroup"], "subgroup"),
    ]
    parts = [
        agg(post, [], "overall"),
        agg(post, ["programme"], "programme"),
        agg(long, ["cohort", "year"], "cohort_year").assign(
            event_time=lambda d: d["year"] - d["cohort"]),
        agg(long, ["event_time"], "event_time"),
        *sub,
    ]
    truth = pd.concat(parts, ignore_index=True)
    truth["programme"] = truth["programme"].fillna("all")
    truth["subgroup"] = truth["subgroup"].fillna("all")
    for col in ("cohort", "year", "event_time"):
        truth[col] = truth[col].astype("Int64")
    cols = ["construct", "level", "programme", "cohort", "year", "event_time", "subgroup", "n_obs",
            "effect_latent", "effect_score", "mean_score_treated", "mean_score_untreated"]
    rank = {
        "construct": {c: i for i, c in enumerate(V.CONSTRUCT_ORDER)},
        "level": {lv: i for i, lv in enumerate(TRUTH_LEVELS)},
    }
    truth = truth[cols].sort_values(
        ["construct", "level", "programme", "subgroup", "cohort", "year", "event_time"],
        key=lambda s: s.map(rank[s.name]) if s.name in rank else s, kind="stable",
    ).reset_index(drop=True)
    truth["n_obs"] = truth["n_obs"].astype(np.int64)
    return truth
