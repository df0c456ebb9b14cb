"""Personal data: masking for messages, keyed pseudonyms, and detectors.

Survey files hold names, 18-digit resident ID numbers (身份证号), mobile
numbers, addresses and free-text comments. Intake drops every column the
codebook marks as personal (``privacy: direct_identifier`` / ``free_text``)
before a table reaches a notebook; a column marked ``pseudonymise: true`` is
replaced by a keyed pseudonym (HMAC-SHA256), so respondents can be linked
across waves without the identifier. Values quoted in error messages pass
through :func:`mask` first.

The pseudonym key comes from an environment variable named by the config
(default ``EVALKIT_PSEUDONYM_KEY``); without it, a random key is drawn for
the run, so pseudonyms link rows within a run but are not stable across runs
(the manifest says which).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

import pandas as pd

__all__ = [
    "mask",
    "pseudonymise",
    "pseudonym_key",
    "looks_personal",
    "ID_NUMBER_RE",
    "MOBILE_RE",
    "valid_id_number",
    "mask_personal_text",
]

#: 18-digit mainland resident ID number: 6-digit region, birth date, 3-digit sequence, check digit
ID_NUMBER_RE = re.compile(r"(?<!\d)[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)")
#: mainland mobile numbers: 11 digits starting 13–19
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_number(text: str) -> bool:
    """True if ``text`` is an 18-digit ID number with a correct ISO 7064 MOD 11-2 check digit."""
    text = text.strip().upper()
    if len(text) != 18 or not text[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == text[17]


def mask(value: object) -> str:
    """Mask a value that may be personal, keeping enough to recognise it.

    ``13912345678`` → ``139****5678``; an ID number keeps its first 3 and last 4
    characters; a Chinese name keeps its first character (``张**``); other text
    longer than 4 characters keeps the first and last character.
    """
    text = str(value)
    if MOBILE_RE.fullmatch(text):
        return f"{text[:3]}****{text[-4:]}"
    if ID_NUMBER_RE.fullmatch(text):
        return f"{text[:3]}{'*' * 11}{text[-4:]}"
    if 2 <= len(text) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text[0] + "*" * (len(text) - 1)
    if len(text) > 4:
        return f"{text[0]}{'*' * (len(text) - 2)}{text[-1]}"
    return "*" * len(text)


def pseudonym_key(env_var: str = "EVALKIT_PSEUDONYM_KEY") -> tuple[bytes, bool]:
    """The HMAC key and whether it is stable (came from the environment)."""
    value = os.environ.get(env_var)
    if value:
        return value.encode("utf-8"), True
    return secrets.token_bytes(32), False


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed pseudonyms (first 16 hex digits of HMAC-SHA256); missing stays missing."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA or str(v).strip() == "":
            return pd.NA
        norm = str(v).strip().upper()
        return hmac.new(key, norm.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    return values.map(one).astype("string")


def looks_personal(values: pd.Series, *, share: float = 0.2) -> str | None:
    """Name the kind of personal data a text column seems to hold, or None.

    Used to refuse columns that are not in the codebook but carry ID numbers
    or mobile numbers (a renamed column must not slip through).
    """
    text = values.dropna().astype(str)
    if text.empty:
        return None
    sample = text.head(500)
    if sample.str.contains(ID_NUMBER_RE).mean() >= share:
        return "resident ID numbers (身份证号)"
    if sample.str.contains(MOBILE_RE).mean() >= share:
        return "mobile numbers (手机号)"
    return None


def mask_personal_text(text: str) -> str:
    """``text`` with every ID number and mobile number in it masked (for messages and logs)."""
    text = ID_NUMBER_RE.sub(lambda m: mask(m.group(0)), text)
    return MOBILE_RE.sub(lambda m: mask(m.group(0)), text)
