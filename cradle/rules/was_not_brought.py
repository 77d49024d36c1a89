"""was-not-brought: a baby's missed appointment is the baby's missed care.

Appointments with agencies other than the visiting services (which
no-access-stepped covers) that the baby was not brought to. One alert per
child, resolved when the baby is next seen in person.
"""

from __future__ import annotations

import sys

from cradle.domain import Event, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.words import MISSED_APPOINTMENT_OUTCOMES, VISITING_AGENCIES

ID = "was-not-brought"
VERSION = 1
PAUSABLE = True
SOURCE = "'Was Not Brought' policies (RCGP safeguarding toolkit)"


def misses(view: View, child: str) -> list[Event]:
    return view.memo(_misses, child)


def _misses(view: View, child: str) -> list[Event]:
    born = view.born_day(child)
    if born is None:
        return []
    return [
        e
        for e in view.by_subject.get(child, ())
        if e.outcome in MISSED_APPOINTMENT_OUTCOMES
        and e.agency not in VISITING_AGENCIES
        and born <= e.day < born + 365
        and not view.in_pause(child, e.day)
    ]


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child):
        return []
    still_open = [e for e in misses(view, child) if view.seen_since(child, e.day, exclude=e.id) is None]
    if not still_open:
        return []
    on_plan = view.on_plan(child)
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.ESCALATE if on_plan else Severity.PROMPT,
            agency=still_open[-1].agency,
            evidence=[e.id for e in still_open],
            facts=[base.event_fact(e, f"{e.kind.label}: {e.outcome.label}") for e in still_open],
            action="Follow the Was Not Brought policy: contact the family, rebook, and tell the health visitor"
            + (" and the social worker (the baby is on a child protection plan)." if on_plan else "."),
            for_whom=(Recipient.APPOINTMENT_AGENCY,),
            due=5,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"Baby not brought to care and not seen since: {base.render(finding.facts, reveal, day_label)}"
