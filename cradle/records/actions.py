"""Every change to a family's record goes through here: check, write, re-evaluate,
and record who did it, in one transaction. Pages, the API and commands call the
same actions, so they behave the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cradle.access import audit
from cradle.access.policy import family_for
from cradle.domain import Agency, Channel, EventKind, Finding, Outcome, Touchpoint
from cradle.records import models as m
from cradle.records.evaluation import lock_families, reevaluate


def _audit(user, action: str, family: m.Family, what: str) -> None:
    audit.record(user=user, actor=f"user:{user.pk}", action=action, family=family, what=what)


def record_contact(
    *,
    acting_user,
    family_pk: int,
    agency: str,
    kind: str,
    occurred_on: date,
    subjects: Iterable[m.Person],
    outcome: str = "",
    channel: str = "",
    seen: Iterable[m.Person] = (),
    findings: Iterable[str] = (),
    note: str = "",
    delivered_to: Iterable[m.Person] = (),
    touchpoint: str = "",
    assessment: tuple[str, dict] | None = None,
    today: date | None = None,
) -> m.Contact:
    """Record a contact (an ICON delivery with ``delivered_to`` and ``touchpoint``; a
    structured assessment with ``assessment`` = (form version, answers))."""
    today = today or timezone.localdate()
    subjects, seen, findings, delivered_to = list(subjects), list(seen), list(findings), list(delivered_to)
    errors = {}
    if kind not in {k.value for k in EventKind}:
        errors["kind"] = f"'{kind}' is not a kind of contact"
    if outcome and outcome not in {o.value for o in Outcome}:
        errors["outcome"] = f"'{outcome}' is not an outcome"
    if channel and channel not in {c.value for c in Channel}:
        errors["channel"] = f"'{channel}' is not a channel"
    bad = [w for w in findings if w not in {f.value for f in Finding}]
    if bad:
        errors["findings"] = f"not findings: {', '.join(bad)}"
    if agency not in {a.value for a in Agency}:
        errors["agency"] = f"'{agency}' is not an agency"
    if touchpoint and touchpoint not in {t.value for t in Touchpoint}:
        errors["touchpoint"] = f"'{touchpoint}' is not an ICON touchpoint"
    if occurred_on > today:
        errors["occurred_on"] = "a contact cannot be recorded before it happens"
    if not subjects:
        errors["subjects"] = "say who the contact was about"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        family = family_for(acting_user, family_pk, today, why="update")
        members = set(family.members.values_list("pk", flat=True))
        if any(p.pk not in members for p in subjects + seen + delivered_to):
            raise ValidationError({"subjects": "everyone named must be in this family"})
        contact = m.Contact.objects.create(
            source_key=f"cradle:{uuid.uuid4()}",
            agency=agency,
            kind=kind,
            occurred_on=occurred_on,
            recorded_on=today,
            outcome=outcome,
            channel=channel,
            note=note,
            touchpoint=touchpoint,
            recorded_by_user=acting_user,
        )
        # A new contact has no links yet: add them (set() would first read the empty ones).
        contact.subjects.add(*subjects)
        if seen:
            contact.seen.add(*seen)
        if delivered_to:
            contact.delivered_to.add(*delivered_to)
        if assessment is not None:
            m.ParentingAssessment.objects.create(contact=contact, form_version=assessment[0], answers=assessment[1])
        m.ContactFinding.objects.bulk_create([m.ContactFinding(contact=contact, word=w) for w in findings])
        # The family's lock after the audit chain's head (family_for's audit entry above):
        # every transaction takes them in that order, then the evaluation queue's rows.
        lock_families([family.pk])
        _audit(acting_user, "create", family, f"contact {contact.pk}")
        reevaluate(family, today, by=acting_user)
    return contact


def _alert_for(user, alert_pk: int, today: date) -> m.Alert:
    alert = m.Alert.objects.select_related("family").filter(pk=alert_pk).first()
    if alert is None:
        raise m.Alert.DoesNotExist
    family_for(user, alert.family_id, today, why="update")
    return alert


def acknowledge(*, acting_user, alert_pk: int, today: date | None = None) -> m.Alert:
    today = today or timezone.localdate()
    with transaction.atomic():
        alert = _alert_for(acting_user, alert_pk, today)
        if alert.status != m.Alert.OPEN:
            raise ValidationError({"status": f"only an open alert can be acknowledged (this one is {alert.status})"})
        alert.status = m.Alert.ACKNOWLEDGED
        alert.save(update_fields=["status"])
        m.AlertChange.objects.create(alert=alert, change="acknowledged", on=today, by=acting_user)
        _audit(acting_user, "update", alert.family, f"alert {alert.pk} acknowledged")
    return alert


def decide(*, acting_user, alert_pk: int, decision: str, note: str, today: date | None = None) -> m.Alert:
    """Close an alert as actioned (saying what was done) or dismissed (saying why)."""
    today = today or timezone.localdate()
    if decision not in m.Alert.DECIDED:
        raise ValidationError({"decision": "choose actioned or dismissed"})
    if not note.strip():
        what = "what was done" if decision == m.Alert.ACTIONED else "a reason for dismissing it"
        raise ValidationError({"note": f"Give {what}."})
    with transaction.atomic():
        alert = _alert_for(acting_user, alert_pk, today)
        if alert.status not in m.Alert.LIVE:
            raise ValidationError({"status": f"this alert is already {alert.status}"})
        alert.status, alert.decision_note = decision, note.strip()
        alert.decided_by, alert.decided_at = acting_user, timezone.now()
        alert.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
        m.AlertChange.objects.create(alert=alert, change=decision, on=today, by=acting_user, note=note.strip())
        _audit(acting_user, "update", alert.family, f"alert {alert.pk} {decision}")
    return alert


def mark_entered_in_error(*, acting_user, contact_pk: int, reason: str, today: date | None = None) -> m.Contact:
    """The contact stays (its history is kept) but no longer counts; alerts it caused are withdrawn."""
    today = today or timezone.localdate()
    if not reason.strip():
        raise ValidationError({"reason": "Say why the record was entered in error."})
    with transaction.atomic():
        contact = m.Contact.objects.filter(pk=contact_pk).first()
        families = list(m.Family.objects.filter(members__contacts=contact).distinct()) if contact else []
        if not families:
            raise m.Contact.DoesNotExist
        for family in families:
            family_for(acting_user, family.pk, today, why="update")
        lock_families([f.pk for f in families])  # before the audit chain's lock
        contact.entered_in_error = contact.marked_in_error = True
        contact.save(update_fields=["entered_in_error", "marked_in_error"])
        eid = f"c{contact.pk}"
        for family in families:
            for alert in family.alerts.filter(status__in=m.Alert.LIVE):
                if eid in alert.evidence:
                    alert.status, alert.episode_open, alert.resolved_on = m.Alert.WITHDRAWN, False, today
                    alert.resolution = "a record behind it was entered in error"
                    alert.save(update_fields=["status", "episode_open", "resolved_on", "resolution"])
                    m.AlertChange.objects.create(alert=alert, change="withdrawn", on=today, by=acting_user, note=reason)
            _audit(acting_user, "update", family, f"contact {contact.pk} entered in error")
            reevaluate(family, today, by=acting_user)
    return contact
