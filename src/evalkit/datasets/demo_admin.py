"""The demo city's administrative tables: registry, population, pilots, panel, services, requests.

:func:`make_world` draws the communities and who becomes a pilot when; the
other functions derive the canonical tables (columns as declared in
:mod:`evalkit.datamodel`) from that world. All randomness comes from the
``numpy.random.Generator`` passed in; the work is vectorised over rows (the
service log has more than 100,000 of them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from attrs import frozen

from evalkit.datasets import demo_vocab as V

#: population cells, in this order: age band (major) × gender × hukou (minor)
AGE_BANDS = ("18-34", "35-59", "60+")
GENDERS = ("male", "female")
HUKOUS = ("local", "migrant")
N_CELLS = len(AGE_BANDS) * len(GENDERS) * len(HUKOUS)

#: pilot cohorts: start year → (communities in the cohort, of which 五社联动)
COHORTS: dict[int, tuple[int, int]] = {2021: (10, 4), 2022: (12, 6), 2023: (10, 6)}

_MONTHS = np.arange("2020-01", "2025-01", dtype="datetime64[M]")


@frozen(eq=False)
class World:
    """The drawn communities, before any table is written. Arrays are indexed by community."""

    registry: pd.DataFrame
    urban: np.ndarray  # bool
    quality: np.ndarray  # latent community quality (standard normal), drives selection
    cells: np.ndarray  # (C, 12) int, residents aged 18+ by cell
    start_year: np.ndarray  # int, 0 = never treated
    start_date: np.ndarray  # datetime64[D], NaT = never treated
    programme: np.ndarray  # "sanshe" / "wushe" / "" (never treated)

    @property
    def n(self) -> int:
        return len(self.urban)

    @property
    def ids(self) -> np.ndarray:
        return self.registry["community_id"].to_numpy(dtype=object)

    def state_on(self, comm: np.ndarray, when: np.ndarray) -> np.ndarray:
        """0 = no pilot running, 1 = 三社联动 running, 2 = 五社联动 running (per row)."""
        started = ~np.isnat(self.start_date[comm]) & (when >= self.start_date[comm])
        wushe = self.programme[comm] == "wushe"
        return np.where(started, np.where(wushe, 2, 1), 0)


def _largest_remainder(expected: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Round each row of ``expected`` to integers that sum exactly to ``total`` (Hamilton)."""
    floor = np.floor(expected).astype(np.int64)
    short = total - floor.sum(axis=1)
    order = np.argsort(-(expected - floor), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(expected.shape[1])[None, :].repeat(len(expected), 0), 1)
    return floor + (ranks < short[:, None])


def make_world(rng: np.random.Generator) -> World:
    rows = []
    for district in V.DISTRICTS:
        for street in district.streets:
            for k, stem in enumerate(street.communities, start=1):
                rows.append({
                    "community_id": f"{district.code}{street.code}{k:03d}",
                    "community_name": f"{stem}社区",
                    "district": district.name,
                    "street": street.name,
                    "urban_rural": "urban" if street.urban else "rural",
                })
    reg = pd.DataFrame(rows)
    n = len(reg)
    urban = (reg["urban_rural"] == "urban").to_numpy()
    quality = rng.standard_normal(n)

    population = np.where(urban, rng.integers(6000, 16001, n), rng.integers(2000, 6001, n))
    persons = np.where(urban, rng.uniform(2.6, 3.1, n), rng.uniform(3.0, 3.6, n))
    households = np.rint(population / persons).astype(np.int64)
    adults = np.rint(population * rng.uniform(0.78, 0.86, n)).astype(np.int64)

    # age-band shares (Dirichlet around an urban / rural profile), migrants younger
    base_age = np.where(urban[:, None], [[0.33, 0.45, 0.22]], [[0.22, 0.42, 0.36]])
    age_share = np.vstack([rng.dirichlet(80 * b) for b in base_age])
    migrant_share = np.where(urban, rng.uniform(0.12, 0.38, n), rng.uniform(0.02, 0.10, n))
    tilt = np.array([1.6, 1.0, 0.3])
    mig_by_age = migrant_share[:, None] * tilt / (age_share * tilt).sum(1, keepdims=True)
    mig_by_age = np.clip(mig_by_age, 0.0, 0.95)
    female = np.array([0.49, 0.50, 0.55])  # by age band, locals
    female_mig = 0.47
    exp = np.empty((n, N_CELLS))
    for a in range(3):
        for g in range(2):
            for h in range(2):
                p_h = mig_by_age[:, a] if h else 1 - mig_by_age[:, a]
                f = female_mig if h else female[a]
                p_g = f if g else 1 - f
                exp[:, a * 4 + g * 2 + h] = adults * age_share[:, a] * p_h * p_g
    cells = _largest_remainder(exp, adults)
    mig_total = cells[:, 1::2].sum(1)

    reg["population"] = population.astype(np.int64)
    reg["households"] = households
    reg["migrant_share"] = np.round(mig_total / adults, 4)

    # pilot selection: better-off, urban communities are picked first and earlier
    score = 0.4 * quality + 0.4 * urban + rng.normal(0.0, 1.0, n)
    n_treated = sum(size for size, _ in COHORTS.values())
    treated = np.argsort(-score, kind="stable")[:n_treated]
    order = treated[np.argsort(-(score[treated] + rng.normal(0.0, 0.7, n_treated)), kind="stable")]
    start_year = np.zeros(n, dtype=np.int64)
    start_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    programme = np.full(n, "", dtype=object)
    pos = 0
    for year, (size, n_wushe) in COHORTS.items():
        members = order[pos:pos + size]
        pos += size
        start_year[members] = year
        start_date[members] = np.datetime64(f"{year}-03-01") + rng.integers(0, 92, size)
        wushe = rng.permutation(size) < n_wushe
        programme[members] = np.where(wushe, "wushe", "sanshe")
    return World(reg, urban, quality, cells, start_year, start_date, programme)


def make_population(world: World) -> pd.DataFrame:
    """Residents aged 18+ by community × age band × gender × hukou (sums to the adults)."""
    a, g, h = np.meshgrid(np.arange(3), np.arange(2), np.arange(2), indexing="ij")
    n = world.n
    return pd.DataFrame({
        "community_id": np.repeat(world.ids, N_CELLS),
        "age_band": np.tile(np.array(AGE_BANDS, dtype=object)[a.ravel()], n),
        "gender": np.tile(np.array(GENDERS, dtype=object)[g.ravel()], n),
        "hukou": np.tile(np.array(HUKOUS, dtype=object)[h.ravel()], n),
        "population": world.cells.ravel().astype(np.int64),
    })


def make_pilots(world: World, rng: np.random.Generator) -> pd.DataFrame:
    idx = np.flatnonzero(world.start_year > 0)
    idx = idx[np.lexsort((world.ids[idx], world.start_date[idx]))]
    operator = np.array(V.OPERATORS, dtype=object)[rng.integers(0, len(V.OPERATORS), len(idx))]
    wushe = world.programme[idx] == "wushe"
    budget = np.round(np.where(wushe, rng.uniform(45, 90, len(idx)), rng.uniform(25, 60, len(idx))), 1)
    return pd.DataFrame({
        "community_id": world.ids[idx],
        "programme": world.programme[idx],
        "start_date": pd.to_datetime(world.start_date[idx]).astype("datetime64[ns]"),
        "operator": operator,
        "budget_wan": budget,
    })


def _choose(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1)


_BLOCK_P = np.array([  # by state: none, 三社联动, 五社联动
    [0.22, 0.12, 0.08, 0.04, 0.30, 0.12, 0.05, 0.07],
    [0.22, 0.14, 0.10, 0.09, 0.18, 0.13, 0.06, 0.08],
    [0.20, 0.13, 0.16, 0.10, 0.14, 0.14, 0.06, 0.07],
])
_METHOD_P = np.array([  # by block: casework, group, event, home_visit
    [0.15, 0.25, 0.25, 0.35], [0.15, 0.40, 0.40, 0.05], [0.10, 0.35, 0.40, 0.15],
    [0.05, 0.60, 0.35, 0.00], [0.00, 0.30, 0.70, 0.00], [0.45, 0.10, 0.05, 0.40],
    [0.35, 0.20, 0.10, 0.35], [0.15, 0.45, 0.40, 0.00],
])
_ACTOR_P = {  # by state: none, 三社联动, 五社联动
    "actor_community": (0.97, 0.97, 0.97),
    "actor_social_org": (0.25, 0.65, 0.70),
    "actor_social_worker": (0.15, 0.75, 0.80),
    "actor_volunteer": (0.25, 0.40, 0.78),
    "actor_charity": (0.02, 0.06, 0.35),
}
_SEASON = np.array([0.7, 0.75, 1.05, 1.1, 1.1, 1.05, 0.9, 0.9, 1.1, 1.15, 1.1, 1.0])


def make_services(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Service records 2020–2024; pilots deliver more, with more actors, after their start."""
    n, m = world.n, len(_MONTHS)
    pop = world.registry["population"].to_numpy()
    month_end = (_MONTHS + 1).astype("datetime64[D]") - 1
    comm_grid = np.repeat(np.arange(n), m)
    state_m = world.state_on(comm_grid, np.tile(month_end, n)).reshape(n, m)
    active_months = np.cumsum(state_m > 0, axis=1)
    uplift = np.where(state_m > 0, (1.8 + 0.6 * np.minimum(active_months / 24, 1.0))
                      * np.where(state_m == 2, 1.15, 1.0), 1.0)
    rate = 35.0 * np.sqrt(pop / 8000)[:, None] * _SEASON[np.arange(m) % 12][None, :] * uplift
    counts = rng.poisson(rate).ravel()

    comm = np.repeat(comm_grid, counts)
    month = np.repeat(np.tile(np.arange(m), n), counts)
    start = _MONTHS[month].astype("datetime64[D]")
    days = ((_MONTHS[month] + 1).astype("datetime64[D]") - start).astype(np.int64)
    date = start + np.floor(rng.random(len(comm)) * days).astype(np.int64)
    order = np.lexsort((date, comm))
    comm, date = comm[order], date[order]
    rows = len(comm)

    state = world.state_on(comm, date)
    block = _choose(rng, _BLOCK_P[state])
    method = _choose(rng, _METHOD_P[block])
    participants = np.select(
        [method == 0, method == 1, method == 2],
        [1 + rng.poisson(0.3, rows), 4 + rng.poisson(7.0, rows),
         np.maximum(10, np.rint(rng.lognormal(np.log(45), 0.55, rows)))],
        1 + rng.poisson(0.4, rows),
    ).astype(np.int64)
    actors = {name: rng.random(rows) < np.asarray(p)[state] for name, p in _ACTOR_P.items()}
    vol_hours = np.where(
        actors["actor_volunteer"],
        np.rint(2 * rng.gamma(2.0, 1.2, rows) * (1 + np.sqrt(participants))) / 2,
        0.0,
    )
    base_cost = np.array([200.0, 800.0, 2000.0, 100.0])[method]
    cost = np.round(base_cost * rng.lognormal(0.0, 0.35, rows) * (1 + participants / 50)
                    * np.where(actors["actor_social_worker"], 1.1, 1.0), 2)
    ids = "FW" + pd.Series(np.arange(1, rows + 1)).astype(str).str.zfill(7)
    out = pd.DataFrame({
        "service_id": ids.to_numpy(dtype=object),
        "community_id": world.ids[comm],
        "service_date": pd.to_datetime(date).astype("datetime64[ns]"),
        "block": np.array(V.SERVICE_BLOCKS, dtype=object)[block],
        "method": np.array(V.SERVICE_METHODS, dtype=object)[method],
        **actors,
        "participants": participants,
        "volunteer_hours": vol_hours,
        "cost_yuan": cost,
    })
    return out


def make_panel(world: World, services: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Community-year inputs 2020–2024; pilots grow organisations, workers and volunteers."""
    n, years = world.n, np.array(V.YEARS)
    t = len(years)
    pop = world.registry["population"].to_numpy()
    exposed = (world.start_year[:, None] > 0) & (years[None, :] >= world.start_year[:, None])
    wushe = (world.programme == "wushe")[:, None]

    orgs_add = np.where(exposed, rng.poisson(np.where(wushe, 2.5, 2.0), (n, t)),
                        rng.random((n, t)) < 0.3)
    orgs_add[:, 0] = 0
    orgs = rng.poisson(np.where(world.urban, 6.0, 3.0))[:, None] + np.cumsum(orgs_add, axis=1)
    sw_add = np.where(exposed, rng.poisson(np.where(wushe, 1.5, 1.2), (n, t)),
                      rng.random((n, t)) < 0.15)
    sw_add[:, 0] = 0
    workers = rng.poisson(np.where(world.urban, 1.2, 0.6))[:, None] + np.cumsum(sw_add, axis=1)
    growth = np.where(exposed, np.where(wushe, 1.35, 1.15), 1.03) * rng.uniform(0.97, 1.03, (n, t))
    growth[:, 0] = 1.0
    volunteers = np.rint(pop * rng.uniform(0.01, 0.03, n))[:, None] * np.cumprod(growth, axis=1)

    svc_year = services["service_date"].dt.year.to_numpy()
    comm_pos = pd.Index(world.ids).get_indexer(services["community_id"].to_numpy(dtype=object))
    hours = np.zeros((n, t))
    np.add.at(hours, (comm_pos, svc_year - years[0]), services["volunteer_hours"].to_numpy())
    vol_hours = np.round(hours * rng.uniform(1.05, 1.35, (n, t)), 1)

    pilots_budget = np.where(wushe[:, 0], 22.0, 14.0)
    funding = np.round(rng.uniform(3, 8, n)[:, None] * rng.uniform(0.95, 1.1, (n, t))
                       + np.where(exposed, pilots_budget[:, None], 0.0), 1)
    area0 = np.where(world.urban, rng.uniform(250, 700, n), rng.uniform(120, 400, n))
    expand = (world.start_year > 0) & (rng.random(n) < 0.6)
    area_new = np.maximum(area0, rng.uniform(600, 1000, n))
    area = np.where(expand[:, None] & exposed, area_new[:, None], area0[:, None]) * np.ones((1, t))
    area = np.round(area, 0)
    # two communities did not report their centre's area in the first years
    rural = np.flatnonzero(~world.urban)
    gaps = rng.choice(rural, size=2, replace=False)
    area[gaps, :2] = np.nan

    return pd.DataFrame({
        "community_id": np.repeat(world.ids, t),
        "year": np.tile(years, n).astype(np.int64),
        "social_orgs": orgs.ravel().astype(np.int64),
        "social_workers": workers.ravel().astype(np.int64),
        "volunteers": volunteers.ravel().astype(np.int64),
        "volunteer_hours": vol_hours.ravel(),
        "funding_wan": funding.ravel(),
        "centre_area_m2": area.ravel(),
    })


_CATEGORY_P = np.array([
    [0.18, 0.18, 0.12, 0.10, 0.14, 0.10, 0.10, 0.08],  # urban
    [0.24, 0.04, 0.18, 0.16, 0.04, 0.06, 0.18, 0.10],  # rural
])
_CHANNEL_P = np.array([  # hotline, walk_in, wechat, grid_worker; by state
    [0.38, 0.32, 0.15, 0.15],
    [0.27, 0.20, 0.30, 0.23],
    [0.25, 0.18, 0.32, 0.25],
])
_HOUR_P = np.array([1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 12, 8, 10, 13, 13, 12, 10, 9, 8, 6, 4, 2, 1],
                   dtype=float)
_CUTOFF = np.datetime64("2024-12-31T23:59:59", "s")


def make_requests(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Resident requests 2020–2024; pilots resolve faster after their start."""
    n, years = world.n, np.array(V.YEARS)
    pop = world.registry["population"].to_numpy()
    counts = rng.poisson(np.repeat(60.0 * (pop / 8000) ** 0.6, len(years))).reshape(-1)
    comm = np.repeat(np.repeat(np.arange(n), len(years)), counts)
    year = np.repeat(np.tile(years, n), counts)
    rows = len(comm)
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    ndays = np.where((year % 4 == 0), 366, 365)
    day = jan1 + np.floor(rng.random(rows) * ndays).astype(np.int64)
    hour = _choose(rng, np.broadcast_to(_HOUR_P / _HOUR_P.sum(), (rows, 24)))
    secs = hour * 3600 + rng.integers(0, 3600, rows)
    received = day.astype("datetime64[s]") + secs
    order = np.lexsort((received, comm))
    comm, received = comm[order], received[order]
    day = received.astype("datetime64[D]")

    state = world.state_on(comm, day)
    urban = world.urban[comm]
    category = _choose(rng, _CATEGORY_P[np.where(urban, 0, 1)])
    channel_p = _CHANNEL_P[state].copy()
    yr = (received.astype("datetime64[Y]").astype(np.int64) + 1970) - 2020
    shift = 0.03 * yr  # WeChat grows every year, walk-ins shrink
    channel_p[:, 2] += shift
    channel_p[:, 1] -= shift
    channel = _choose(rng, channel_p)

    factor = np.select([state == 1, state == 2], [0.7, 0.55], 1.0) * 0.95**yr
    hours = np.array(V.REQUEST_MEDIAN_HOURS)[category] * factor * rng.lognormal(0.0, 0.9, rows)
    resolved = received + np.rint(hours * 3600).astype(np.int64)
    unresolved = (rng.random(rows) < 0.03) | (resolved > _CUTOFF)
    resolved = np.where(unresolved, np.datetime64("NaT"), resolved)

    rated = np.where(unresolved, rng.random(rows) < 0.15, rng.random(rows) < 0.6)
    latent = (3.9 - 0.35 * np.log(hours / 24) + 0.15 * (state > 0) + rng.normal(0, 0.9, rows))
    score = np.where(unresolved, 1 + (rng.random(rows) < 0.4), np.clip(np.rint(latent), 1, 5))
    satisfaction = pd.array(np.where(rated, score, np.nan), dtype="Float64").astype("Int64")

    ids = "GD" + pd.Series(np.arange(1, rows + 1)).astype(str).str.zfill(7)
    return pd.DataFrame({
        "request_id": ids.to_numpy(dtype=object),
        "community_id": world.ids[comm],
        "received_at": pd.to_datetime(received).astype("datetime64[ns]"),
        "resolved_at": pd.to_datetime(resolved).astype("datetime64[ns]"),
        "channel": np.array(V.REQUEST_CHANNELS, dtype=object)[channel],
        "category": np.array(V.REQUEST_CATEGORIES, dtype=object)[category],
        "satisfaction": satisfaction,
    })
