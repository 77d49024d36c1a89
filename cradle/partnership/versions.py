"""Versions of the rule settings: proposed by a partnership administrator, in force only once
a named clinical safety officer approves them, from their stated date. Every version is kept;
an alert's ``settings_hash`` names the version that raised it."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cradle.access import audit
from cradle.partnership.models import SafetyOfficer, SettingsVersion
from cradle.rules.settings import DEFAULT_SETTINGS, Settings, SettingsError


def in_force(day: date) -> SettingsVersion | None:
    """The approved version in force on ``day``: the latest effective on or before it."""
    return (
        SettingsVersion.objects.filter(status=SettingsVersion.APPROVED, effective_from__lte=day)
        .order_by("-effective_from", "-approved_at", "-number")
        .first()
    )


def settings_in_force(day: date) -> Settings | None:
    version = in_force(day)
    return (
        None
        if version is None
        else Settings.from_mapping(version.values, f"version {version.number}")
    )


def version_label(settings_hash: str) -> str:
    """How a reader is told which settings raised an alert."""
    number = (
        SettingsVersion.objects.filter(hash=settings_hash, status=SettingsVersion.APPROVED)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    if number is not None:
        return f"version {number} ({settings_hash})"
    if settings_hash == DEFAULT_SETTINGS.hash:
        return f"the catalogue defaults ({settings_hash})"
    return f"unversioned ({settings_hash})"


def parse(text: str) -> Settings:
    """Settings from the TOML a partnership administrator writes (over the defaults)."""
    import tomllib

    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError({"values": f"Not valid TOML: {exc}"}) from None
    try:
        return Settings.from_mapping(values, "the proposed settings")
    except SettingsError as exc:
        raise ValidationError({"values": str(exc)}) from None


def propose(
    *, acting_user, settings: Settings, effective_from: date, reason: str, today: date
) -> SettingsVersion:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the settings should change."})
    if effective_from < today:
        raise ValidationError({"effective_from": "The date it takes effect cannot be in the past."})
    with transaction.atomic():
        number = (SettingsVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        version = SettingsVersion.objects.create(
            number=number,
            values=settings.as_dict(),
            hash=settings.hash,
            reason=reason.strip(),
            effective_from=effective_from,
            proposed_by=acting_user,
        )
        audit.record(
            user=acting_user,
            actor=f"user:{acting_user.pk}",
            action="create",
            what=f"settings version {number} proposed ({settings.hash}), from {effective_from}",
        )
    return version


def decide(
    *, acting_user, version_pk: int, approve: bool, note: str, today: date
) -> SettingsVersion:
    """A clinical safety officer approves (or rejects) a proposal; never their own, and never
    from a day already past (a rule change does not rewrite history)."""
    officer = SafetyOfficer.objects.filter(user=acting_user).first()
    if officer is None:
        raise ValidationError({"decision": "Only a named clinical safety officer may decide."})
    with transaction.atomic():
        version = SettingsVersion.objects.select_for_update().get(pk=version_pk)
        if version.status != SettingsVersion.PROPOSED:
            raise ValidationError({"decision": f"This version is already {version.status}."})
        if version.proposed_by_id == acting_user.pk:
            raise ValidationError(
                {"decision": "A proposal is approved by someone other than its proposer."}
            )
        if approve and version.effective_from < today:
            raise ValidationError(
                {"decision": "Its date has passed: propose it again with a date from today."}
            )
        if not approve and not note.strip():
            raise ValidationError({"note": "Say why it is rejected."})
        version.status = SettingsVersion.APPROVED if approve else SettingsVersion.REJECTED
        version.approved_by, version.approved_at = officer, timezone.now()
        version.decision_note = note.strip()
        version.save()
        audit.record(
            user=acting_user,
            actor=f"user:{acting_user.pk}",
            action="update",
            what=f"settings version {version.number} {version.status} by the clinical safety officer",
        )
    return version
