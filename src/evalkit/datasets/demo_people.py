"""Fictitious personal data for the demo survey: names, resident ID numbers, phones, addresses.

The demo plants personal data in the raw survey so that intake's privacy
handling (drop, pseudonymise, mask in messages) can be exercised. ID numbers
follow GB 11643-1999: a six-digit region code, the birth date (consistent with
the respondent's age at the interview), a three-digit sequence whose last digit
is odd for men and even for women, and the ISO 7064 MOD 11-2 check digit. The
check digit is computed here because it is a dozen lines and no dependency
offers it for whole arrays.
"""

from __future__ import annotations

import numpy as np

from evalkit.datasets import demo_vocab as V

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


def id_check_digit(first17: np.ndarray) -> np.ndarray:
    """MOD 11-2 check characters ("0"–"9" or "X") for an array of 17-digit strings."""
    text = "".join(first17.tolist()).encode("ascii")
    digits = (np.frombuffer(text, dtype=np.uint8).reshape(-1, 17) - 48).astype(np.int64)
    return _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]


def birth_dates(rng: np.random.Generator, age: np.ndarray, interview: np.ndarray) -> np.ndarray:
    """Birth dates (datetime64[D]) such that the completed age at ``interview`` equals ``age``."""
    doy = rng.integers(0, 365, len(age))  # a day of a non-leap year: 29 February never occurs
    md = np.datetime64("2001-01-01") + doy
    b_month = md.astype("datetime64[M]").astype(np.int64) % 12 + 1
    b_day = (md - md.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    i_year = interview.astype("datetime64[Y]").astype(np.int64) + 1970
    i_month = interview.astype("datetime64[M]").astype(np.int64) % 12 + 1
    i_day = (interview - interview.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    not_yet = (b_month > i_month) | ((b_month == i_month) & (b_day > i_day))
    b_year = i_year - age - not_yet
    months = (b_year - 1970) * 12 + (b_month - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]") + (b_day - 1)


def id_numbers(rng: np.random.Generator, region: np.ndarray, born: np.ndarray,
               male: np.ndarray) -> np.ndarray:
    """18-character resident ID numbers; unique within the call."""
    n = len(region)
    ymd = np.char.replace(born.astype("datetime64[D]").astype(str), "-", "")
    seq = rng.integers(0, 500, n) * 2 + np.where(male, 1, 0)
    out = np.empty(n, dtype="<U18")
    todo = np.arange(n)
    while len(todo):
        first = np.char.add(np.char.add(region[todo].astype("<U6"), ymd[todo]),
                            np.char.zfill(seq[todo].astype(str), 3))
        out[todo] = np.char.add(first, id_check_digit(first))
        _, first_pos = np.unique(out, return_index=True)
        dup = np.setdiff1d(np.arange(n), first_pos)
        seq[dup] = rng.integers(0, 500, len(dup)) * 2 + np.where(male[dup], 1, 0)
        todo = dup
    return out


def person_names(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    n = len(male)
    surnames = np.array(list(V.SURNAMES))
    weights = 1.0 / (np.arange(len(surnames)) + 8.0)  # a few surnames are very common
    surname = surnames[rng.choice(len(surnames), n, p=weights / weights.sum())]
    male_chars = np.array(list(V.GIVEN_MALE))
    female_chars = np.array(list(V.GIVEN_FEMALE))

    def pick() -> np.ndarray:
        return np.where(male, male_chars[rng.integers(0, len(male_chars), n)],
                        female_chars[rng.integers(0, len(female_chars), n)])

    first, second = pick(), pick()
    two = rng.random(n) < 0.65
    return np.char.add(np.char.add(surname, first), np.where(two, second, ""))


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(V.MOBILE_PREFIXES)[rng.integers(0, len(V.MOBILE_PREFIXES), n)]
    rest = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(prefix, rest)


def addresses(rng: np.random.Generator, district: np.ndarray, street: np.ndarray,
              community: np.ndarray, urban: np.ndarray) -> np.ndarray:
    n = len(district)
    place = np.char.add(np.char.add(np.char.add(V.CITY, district.astype(str)), street.astype(str)),
                        community.astype(str))
    building = rng.integers(1, 31, n).astype(str)
    unit = rng.integers(1, 5, n).astype(str)
    room = (rng.integers(1, 19, n) * 100 + rng.integers(1, 5, n)).astype(str)
    flat = np.char.add(np.char.add(np.char.add(np.char.add(building, "栋"), unit), "单元"),
                       np.char.add(room, "室"))
    group = rng.integers(1, 13, n).astype(str)
    house = rng.integers(1, 120, n).astype(str)
    farm = np.char.add(np.char.add(np.char.add(group, "组"), house), "号")
    return np.char.add(place, np.where(urban, flat, farm))


def comments(rng: np.random.Generator, names: np.ndarray, phones: np.ndarray,
             addr: np.ndarray) -> np.ndarray:
    """Free-text comments: about half empty, a few carrying the respondent's personal data."""
    n = len(names)
    pool = np.array(V.COMMENTS)
    out = pool[rng.integers(0, len(pool), n)].astype(object)
    out[rng.random(n) < 0.5] = ""
    pii = np.flatnonzero(rng.random(n) < 0.02)
    which = rng.integers(0, len(V.COMMENT_PII_TEMPLATES), len(pii))
    for i, k in zip(pii, which, strict=True):  # a few hundred rows at most
        out[i] = V.COMMENT_PII_TEMPLATES[k].format(name=names[i], phone=phones[i], address=addr[i])
    return out
