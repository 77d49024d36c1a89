"""The identity-record frame: one row per agency record, kept as it arrived,
beside the cleaned columns the model compares.

Columns as they arrived: ``agency``, ``source_id``, ``given_name``,
``family_name``, ``sex``, ``dob``, ``nhs_number``, ``address``, ``postcode``.
``unique_id`` is ``agency:source_id``. Bad input never stops a run: a missing
field is null, an impossible date or an NHS number whose check digit fails is
kept out of the comparisons that trust it and named in ``problems``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

import pandas as pd

from cradle.domain.nhs_number import digits_of, is_valid_nhs_number
from cradle.domain.objects import normalise_address
from cradle.linkage import names

RAW_COLUMNS = (
    "agency",
    "source_id",
    "given_name",
    "family_name",
    "sex",
    "dob",
    "nhs_number",
    "address",
    "postcode",
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DATE_DIGITS = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


@dataclass(frozen=True)
class IdentityRecord:
    agency: str
    source_id: str
    given_name: str | None = None
    family_name: str | None = None
    sex: str | None = None
    dob: date | str | None = None
    nhs_number: str | None = None
    address: str | None = None
    postcode: str | None = None


def records_to_frame(records: Iterable[IdentityRecord]) -> pd.DataFrame:
    rows = [asdict(r) for r in records]
    return prepare(pd.DataFrame(rows, columns=list(RAW_COLUMNS)))


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def clean_dob(value) -> str | None:
    """ISO date text, or None for a missing or impossible date (31 February, year 0...)."""
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value)
    if text is None:
        return None
    match = _DATE_DIGITS.match(text[:10])
    if not match:
        return None
    try:
        when = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    if when.year < 1880:
        return None
    return when.isoformat()


def clean_sex(value) -> str | None:
    text = (_text(value) or "").lower()[:1]
    return text if text in ("m", "f") else None


def clean_postcode(value) -> str | None:
    text = _NOT_ALNUM.sub("", (_text(value) or "").lower())
    return text.upper() or None


def postcode_district(postcode: str | None) -> str | None:
    """The outward code of a UK postcode (LS6 1AB: LS6); a shorter code (another
    country's, as FEBRL's four digits) is its own district."""
    if not postcode:
        return None
    return postcode[:-3] if len(postcode) >= 5 else postcode


def clean_address(value) -> str | None:
    text = _NOT_ALNUM.sub(" ", (_text(value) or "").lower()).strip()
    return text or None


def prepare(raw: pd.DataFrame) -> pd.DataFrame:
    """The cleaned columns beside the raw ones; one row per record, never dropped."""
    df = pd.DataFrame({c: raw.get(c) for c in RAW_COLUMNS}, index=raw.index)
    df = df.astype(object).where(pd.notna(df), None)
    df["agency"] = df["agency"].map(lambda v: _text(v) or "unknown")
    df["source_id"] = df["source_id"].map(lambda v: _text(v) or "")
    if "unique_id" in raw:
        df["unique_id"] = raw["unique_id"].astype(str).to_numpy()
    else:
        df["unique_id"] = df["agency"] + ":" + df["source_id"]

    given = df["given_name"].map(names.normalise)
    placeholder = df["given_name"].map(
        lambda v: bool(names.PLACEHOLDER_GIVEN.match(str(v))) if v else False
    )
    # "Baby of Jane Smith" and "Unborn Smith" name nobody: the given name is left out.
    df["given"] = given.where(~placeholder, None)
    df["given_canon"] = df["given"].map(names.canonical_given)
    df["placeholder"] = placeholder
    df["family"] = (
        df["family_name"].map(names.normalise).map(lambda v: v.replace(" ", "") if v else None)
    )
    df["family_parts"] = df["family_name"].map(names.normalise).map(names.surname_parts)
    df["sex_n"] = df["sex"].map(clean_sex)
    df["dob_s"] = df["dob"].map(clean_dob)
    df["nhs"] = df["nhs_number"].map(digits_of)
    df["nhs_valid"] = df["nhs"].map(is_valid_nhs_number)
    # A newborn's temporary number (it fails the check digit) is no one's NHS number.
    df.loc[df["placeholder"] & ~df["nhs_valid"], "nhs"] = None
    df["address_n"] = df["address"].map(clean_address)
    df["address_sorted"] = df["address_n"].map(lambda a: " ".join(sorted(a.split())) if a else None)
    df["postcode_n"] = df["postcode"].map(clean_postcode)
    df["postcode_district"] = df["postcode_n"].map(postcode_district)
    df["household"] = [
        normalise_address(a, p) for a, p in zip(df["address"], df["postcode"], strict=True)
    ]
    df["problems"] = [
        _problems(r) for r in df[["dob", "dob_s", "nhs", "nhs_valid"]].itertuples(index=False)
    ]
    return df


def _problems(row) -> str:
    found = []
    if row.dob is not None and row.dob_s is None:
        found.append("impossible date of birth")
    if row.nhs is not None and not row.nhs_valid:
        found.append("NHS number fails its check digit")
    return "; ".join(found)


# The columns the model reads (the raw ones stay in Python, for people to see).
MODEL_COLUMNS = (
    "unique_id",
    "agency",
    "given",
    "given_canon",
    "family",
    "family_parts",
    "sex_n",
    "dob_s",
    "nhs",
    "nhs_valid",
    "address_n",
    "address_sorted",
    "postcode_n",
    "postcode_district",
    "placeholder",
)


def model_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df[list(MODEL_COLUMNS)]
