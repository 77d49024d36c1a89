"""NHS numbers without Django: ten digits, the last a modulus 11 check digit.

``cradle.records.nhs_number`` holds the Django validator; this is the plain
check the linkage needs on every record (NHS Data Dictionary: weights 10..2 on
the first nine digits, 11 minus the remainder, 11 becomes 0, 10 is never valid).
"""

from __future__ import annotations

import re

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
    if digits is None or len(digits) != 10:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])
