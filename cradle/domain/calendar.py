"""Working days in England and Wales, from the maintained ``holidays`` package."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=1)
def _bank_holidays() -> holidays.HolidayBase:
    # England and Wales share their bank holidays; the package's "ENG" subdivision
    # lists them (Wales differs from England in no bank holiday).
    return holidays.country_holidays("GB", subdiv="ENG")


# Every alert raised works out its due date, and ``day in holidays`` costs tens of
# microseconds a call (the package's key conversion): a day's answer never changes.
@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays()


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start``; 0 means the same day.

    Due 0 is "today", whatever the day: an urgent alert raised on a Sunday is
    due that Sunday, not on Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
