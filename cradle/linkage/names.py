"""Names as the linkage compares them: normalised, nicknames mapped to one name,
surnames split into their parts (hyphenated and double-barrelled names).

The nickname table is data (``nicknames.csv`` beside this module), so a
partnership can extend it without touching code.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

_NOT_LETTER = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
NICKNAMES_FILE = Path(__file__).with_name("nicknames.csv")

# Words that stand for no one's given name: newborn and unborn placeholders.
PLACEHOLDER_GIVEN = re.compile(r"^\s*(baby|unborn|infant|newborn)\b", re.IGNORECASE)


def normalise(value: object) -> str | None:
    """Lower case, accents and punctuation dropped, apostrophes joined (O'Neill: oneill)."""
    if value is None:
        return None
    text = str(value)
    if not text.strip() or text.strip().lower() in ("nan", "none", "null"):
        return None
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = text.replace("'", "").replace("-", " ")
    text = _SPACES.sub(" ", _NOT_LETTER.sub(" ", text)).strip()
    return text or None


@cache
def nicknames() -> dict[str, str]:
    table = {}
    for line in NICKNAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, canonical = (p.strip() for p in line.split(","))
        table[name] = canonical
    return table


def canonical_given(given: str | None) -> str | None:
    """The first given name, nickname mapped to its full form (Bill and Billy: william)."""
    if not given:
        return None
    first = given.split(" ")[0]
    return nicknames().get(first, first)


def surname_parts(family: str | None) -> list[str]:
    """Each part of a surname (Smith-Jones: smith, jones), for changed and double surnames."""
    return [p for p in (family or "").split(" ") if len(p) > 1]
