"""NHS numbers: ten digits, the last a modulus 11 check digit (NHS Data Dictionary)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from cradle.domain.nhs_number import is_valid_nhs_number as domain_is_valid


def is_valid_nhs_number(value: str) -> bool:
    """Ten digits (spaces allowed between them) with a valid check digit."""
    digits = value.replace(" ", "")
    return digits.isdigit() and domain_is_valid(digits)


def validate_nhs_number(value: str) -> None:
    if not is_valid_nhs_number(value):
        raise ValidationError(
            "Enter a valid 10-digit NHS number (the check digit does not match).", code="invalid"
        )
