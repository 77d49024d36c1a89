"""The linkage's settings: two thresholds on Splink's match probability.

``CRADLE_LINK_THRESHOLD`` (default 0.99) and ``CRADLE_REVIEW_THRESHOLD``
(default 0.5); why these defaults, and that no truth labels chose them, is in
``cradle.linkage.link``. A bad value is refused, never ignored.
"""

from __future__ import annotations

import os
import re

from cradle.linkage.link import DEFAULT_THRESHOLDS, Thresholds


def _probability(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}: expected a probability, found {value!r}") from None
    if not 0 < number < 1:
        raise ValueError(f"{name}: expected a probability between 0 and 1, found {value!r}")
    return number


def thresholds_from_environment() -> Thresholds:
    return Thresholds(
        link=_probability("CRADLE_LINK_THRESHOLD", DEFAULT_THRESHOLDS.link),
        review=_probability("CRADLE_REVIEW_THRESHOLD", DEFAULT_THRESHOLDS.review),
    )


def duckdb_memory_limit() -> str:
    """``CRADLE_LINK_MEMORY``: the most memory DuckDB may hold during a linkage run
    (default ``2GB``; DuckDB's own size syntax, ``500MB``, ``4GB``); beyond it DuckDB
    spills to a temporary directory."""
    value = (os.environ.get("CRADLE_LINK_MEMORY") or "2GB").strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.IGNORECASE):
        raise ValueError(f"CRADLE_LINK_MEMORY: expected a size such as 2GB, found {value!r}")
    return value
