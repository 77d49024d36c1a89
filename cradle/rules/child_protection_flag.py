"""child-protection-flag: unscheduled care for a baby on a child protection plan.

The clinician is shown the plan and the allocated social worker is told of the
contact. The alert holds while the plan is in force; later contacts join it.
"""

from __future__ import annotations

import sys

from cradle.domain import Agency, Event, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.words import UNSCHEDULED_KINDS

ID = "child-protection-flag"
VERSION = 1
PAUSABLE = False
SOURCE = "NHS Child Protection - Information Sharing (CP-IS)"


def is_unscheduled(e: Event) -> bool:
    return e.agency == Agency.ED or e.kind in UNSCHEDULED_KINDS


def evaluate(view: View, child: str) -> list[RuleFinding]:
    current = [p for p in view.plans(child) if p[0] <= view.day and (p[1] is None or view.day < p[1])]
    if not current:
        return []
    start = current[0][0]
    contacts = [e for e in view.about(child, since=start) if e.day >= start and is_unscheduled(e)]
    if not contacts:
        return []
    facts = [base.event_fact(e, f"unscheduled contact: {e.kind.label}") for e in contacts]
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.URGENT,
            agency=contacts[-1].agency,
            evidence=[current[0][2], *(e.id for e in contacts)],
            facts=facts,
            action="Show the clinician the child protection plan; tell the allocated social worker of the contact today.",
            for_whom=(Recipient.SOCIAL_WORKER, Recipient.CLINICIAN),
            due=0,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"A baby on a child protection plan had {base.render(finding.facts, reveal, day_label)}"
