"""unlinked-household-adult: an adult at the baby's address with no recorded link to the family.

Step 1: an adult recorded at the baby's address (the mother's before birth) by
an agency that holds a record of them, with no recorded relationship to the
baby or the mother. Step 2: that adult carries a risk finding.
"""

from __future__ import annotations

import sys

from cradle.domain import Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding
from cradle.rules.words import RISK_FINDINGS

ID = "unlinked-household-adult"
VERSION = 1
PAUSABLE = False
SOURCE = "Calderdale 2022 rec. 4 and 5 (the father was known to his GP as a single man)"


def evaluate(view: View, child: str) -> list[RuleFinding]:
    home = view.home(child)
    if home is None:
        return []
    mother = view.mother(child)
    out = []
    for person in view.people:
        if person in (child, mother) or view.address(person) != home:
            continue
        if not view.is_adult(person) or not view.is_known(person):
            continue
        holders = view.holders(person)
        if not holders or view.related(person, child) or (mother and view.related(person, mother)):
            continue
        risks = [
            (e, w)
            for e in view.by_subject.get(person, ())
            for w in e.findings
            if w in RISK_FINDINGS
        ]
        step = 2 if risks else 1
        facts = [
            Fact(
                what="household_adult",
                label=f"an adult recorded at the baby's address by {', '.join(sorted(a.label for a in holders))}, with no recorded link to the baby or the mother",
                person=person,
            )
        ]
        facts += [base.word_fact(view, e, w, person) for e, w in risks]
        out.append(
            base.make(
                view,
                sys.modules[__name__],
                child,
                severity=Severity.ESCALATE if step == 2 else Severity.PROMPT,
                step=step,
                scope=person,
                evidence=[e.id for e, _ in risks],
                facts=facts,
                action=(
                    "Find out who this adult is and their relationship to the baby; link the records"
                    + ("; share what is known of the risk with those working with the baby." if step == 2 else ".")
                ),
                for_whom=(Recipient.HEALTH_VISITOR, Recipient.GP),
                due=2 if step == 2 else 10,
            )
        )
    return out


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"Unlinked adult in the baby's household: {base.render(finding.facts, reveal, day_label)}"
