"""Stores the core's audit facts for a family (``cradle.rules.audit_facts``), replacing the
ones computed before; called when the family is re-evaluated."""

from __future__ import annotations

from datetime import date

from cradle.domain import Timeline
from cradle.partnership.models import AuditFact
from cradle.records import models as m
from cradle.records.timeline import pk_of
from cradle.rules import audit_facts
from cradle.rules.settings import Settings


def refresh(family: m.Family, timeline: Timeline, today: date, settings: Settings) -> int:
    day = (today - family.origin).days
    rows = [
        AuditFact(
            family=family,
            child_id=pk_of(f.child),
            measure=f.measure,
            item=f.item[:60],
            agency=f.agency,
            on=timeline.date_of(f.day),
            counted=f.counted,
            met=f.met,
            extra=f.extra,
            step=f.step,
            as_of=today,
        )
        for f in audit_facts.facts(timeline, day, settings)
    ]
    AuditFact.objects.filter(family=family).delete()
    AuditFact.objects.bulk_create(rows)
    return len(rows)
