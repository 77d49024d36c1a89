"""SNOMED CT codes to Cradle's findings, through the table in ``snomed_findings.toml``.

SNOMED CT identifiers end in a Verhoeff check digit (SNOMED CT Technical Implementation
Guide, "Check-digit"); the table's every id is checked with it, and so is every code
received, so a mistyped code is named as such rather than as unknown.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from cradle.domain import Finding

SYSTEM = "http://snomed.info/sct"
TABLE = Path(__file__).with_name("snomed_findings.toml")

_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_valid(code: str) -> bool:
    """Whether the last digit is the Verhoeff check digit of the others."""
    if not code.isascii() or not code.isdigit():
        return False
    c = 0
    for i, ch in enumerate(reversed(code)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def is_sctid(code: str) -> bool:
    """A well-formed SNOMED CT identifier: 6 to 18 digits, no leading zero, valid check digit."""
    return 6 <= len(code) <= 18 and code[:1] != "0" and verhoeff_valid(code)


@lru_cache(maxsize=1)
def table() -> dict[str, dict]:
    with open(TABLE, "rb") as f:
        codes = tomllib.load(f)["codes"]
    for code, entry in codes.items():
        if not is_sctid(code):
            raise ValueError(f"{TABLE.name}: {code} is not a valid SNOMED CT id (check digit)")
        Finding(entry["finding"])  # a word of the vocabulary, or an error
    return codes


def finding_for(code: str) -> str | None:
    entry = table().get(code)
    return entry["finding"] if entry else None
