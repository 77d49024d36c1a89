"""The linkage's settings: two thresholds on Splink's match probability.

``CRADLE_LINK_THRESHOLD`` (default 0.99) and ``CRADLE_REVIEW_THRESHOLD``
(default 0.5); why these defaults, and that no truth labels chose them, is in
``cradle.linkage.link``. A bad value is refused, never ignored.
"""

from __future__ import annotations

import os

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
