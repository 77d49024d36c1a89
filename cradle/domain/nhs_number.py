"""NHS numbers without Django: ten digits, the last a modulus 11 check digit (the
``nhs-number`` package checks it). One check for the whole project: the linkage reads
numbers as agencies wrote them (spaces, dashes); ``cradle.records.nhs_number`` holds the
Django validator for numbers typed or stored (digits and spaces only).
"""

from __future__ import annotations

import re

from nhs_number import is_valid

_NOT_DIGIT = re.compile(r"\D")


def digits_of(value: object) -> str | None:
    """The digits of a number as written (spaces, dashes dropped); None when there are none."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "null"):
        return None
    found = _NOT_DIGIT.sub("", text)
    return found or None


def is_valid_nhs_number(value: object) -> bool:
    digits = digits_of(value)
    return digits is not None and len(digits) == 10 and is_valid(digits)
