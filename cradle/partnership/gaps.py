"""Gaps in which no professional saw the baby, for the chronology. Plain Python.

A gap is marked as ``under-one-contact-gap`` counts time unseen: the baby last seen in
person on day ``a`` has gone ``d - a`` days unseen on day ``d``. So between sightings on
days ``a`` and ``b`` the longest time unseen is ``b - 1 - a`` days (on the day before
``b``), and a gap is marked when that reaches ``min_days``; after the last sighting the
gap runs to the as-of day and is marked when ``end - a`` reaches ``min_days``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from itertools import pairwise
from typing import NamedTuple


class Gap(NamedTuple):
    last_seen: date  # the last day the baby was seen before it (or the birth)
    next_seen: date | None  # the day the baby was seen again (None: still unseen on the as-of day)
    days: int  # the longest time unseen, in days

    @property
    def first_unseen(self) -> date:
        return self.last_seen + timedelta(days=1)


def find_gaps(seen: Iterable[date], start: date, end: date, min_days: int) -> list[Gap]:
    """The gaps of ``min_days`` or more unseen between ``start`` (the birth: the baby is
    with professionals on the day it is born) and ``end`` (the as-of day), given the days
    the baby was seen in person."""
    days = sorted({d for d in seen if start <= d <= end} | {start})
    out = []
    for a, b in pairwise(days):
        if b - a - timedelta(days=1) >= timedelta(days=min_days):
            out.append(Gap(a, b, (b - a).days - 1))
    last = days[-1]
    if (end - last).days >= min_days:
        out.append(Gap(last, None, (end - last).days))
    return out
