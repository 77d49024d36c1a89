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
    return refresh_many([(family, timeline)], today, settings)


def refresh_many(families: list[tuple[m.Family, Timeline]], today: date, settings: Settings) -> int:
    """``refresh`` for several families: their old facts deleted in one statement and
    the new ones written in one."""
    rows = [
        row for family, timeline in families for row in _rows(family, timeline, today, settings)
    ]
    AuditFact.objects.filter(family_id__in=[family.pk for family, _ in families]).delete()
    AuditFact.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _rows(family: m.Family, timeline: Timeline, today: date, settings: Settings) -> list[AuditFact]:
    day = (today - family.origin).days
    return [
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
