"""repeat-unscheduled-care: several unscheduled contacts about a baby in a short time.

Counts presentations (one per agency per day, so an attendance and its
admission note are one presentation) within days d - window + 1 to d.
"""

from __future__ import annotations

import sys

from cradle.domain import Event, Recipient, Severity
from cradle.rules import base
from cradle.rules.child_protection_flag import is_unscheduled
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding

ID = "repeat-unscheduled-care"
VERSION = 1
PAUSABLE = False
SOURCE = "Serious case review learning on repeat presentations to unscheduled care"


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child):
        return []
    window = view.settings.repeat_window_days
    first_day = view.day - window + 1
    recent: dict[tuple[int, str], Event] = {}
    for e in view.by_subject.get(child, ()):
        if first_day <= e.day <= view.day and is_unscheduled(e):
            recent.setdefault((e.day, e.agency), e)
    if len(recent) < view.settings.repeat_presentations:
        return []
    events = list(recent.values())
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.ESCALATE,
            agency=events[-1].agency,
            evidence=[e.id for e in events],
            facts=[base.event_fact(e, e.kind.label, "unscheduled_contact") for e in events],
            action="Review the pattern of presentations together (GP, health visitor, ED safeguarding team); consider whether the baby is safe.",
            for_whom=(Recipient.GP, Recipient.HEALTH_VISITOR, Recipient.ED_SAFEGUARDING),
            due=2,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    n = len([f for f in finding.facts if f.event])
    return f"{n} unscheduled contacts about the baby within 14 days: {base.render(finding.facts, reveal, day_label)}"
