"""Stores the core's audit facts for a family (``cradle.rules.audit_facts``), replacing the
ones computed before; called when the family is re-evaluated."""

from __future__ import annotations

from datetime import date

from cradle.domain import Timeline
from cradle.partnership.models import AuditFact
from cradle.records import bulk
from cradle.records import models as m
from cradle.records.timeline import pk_of
from cradle.rules import audit_facts
from cradle.rules.settings import Settings


def refresh(family: m.Family, timeline: Timeline, today: date, settings: Settings) -> int:
    return refresh_many([(family, timeline)], today, settings)


_COLUMNS = (
    "family",
    "child",
    "measure",
    "item",
    "agency",
    "on",
    "counted",
    "met",
    "extra",
    "step",
    "as_of",
)


def refresh_many(families: list[tuple[m.Family, Timeline]], today: date, settings: Settings) -> int:
    """``refresh`` for several families: their old facts deleted in one statement and
    the new ones written in one."""
    rows = [
        row for family, timeline in families for row in _rows(family, timeline, today, settings)
    ]
    bulk.delete_in(AuditFact, "family", [family.pk for family, _ in families])
    bulk.insert_rows(AuditFact, _COLUMNS, rows)
    return len(rows)


def _rows(family: m.Family, timeline: Timeline, today: date, settings: Settings) -> list[tuple]:
    """The family's facts as rows of ``_COLUMNS``."""
    day = (today - family.origin).days
    return [
        (
            family.pk,
            pk_of(f.child),
            f.measure,
            f.item[:60],
            f.agency,
            timeline.date_of(f.day),
            f.counted,
            f.met,
            f.extra,
            f.step,
            today,
        )
        for f in audit_facts.facts(timeline, day, settings)
    ]
