"""Households: the records at one normalised address.

``cradle.domain.objects.normalise_address`` (case, punctuation and spacing
ignored; the postcode part of the key) is the key the rules use for "the same
address", so a household found here is one the rules agree with.
"""

from __future__ import annotations

import pandas as pd


def households(frame: pd.DataFrame, *, min_size: int = 2) -> dict[str, list[str]]:
    """Each address key with the unique ids of the records at it (``min_size`` or more)."""
    known = frame.loc[frame["household"].notna(), ["household", "unique_id"]]
    groups = known.groupby("household", sort=True)["unique_id"].agg(list)
    return {key: sorted(ids) for key, ids in groups.items() if len(ids) >= min_size}


def household_of(frame: pd.DataFrame, unique_id: str) -> list[str]:
    """The other records at this record's address."""
    row = frame.loc[frame["unique_id"] == unique_id]
    if row.empty or row.iloc[0]["household"] is None:
        return []
    key = row.iloc[0]["household"]
    return sorted(u for u in frame.loc[frame["household"] == key, "unique_id"] if u != unique_id)
