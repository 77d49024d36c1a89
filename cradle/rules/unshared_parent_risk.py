"""unshared-parent-risk: a parent's risk known only to agencies not working with the baby.

A parent or carer with a recorded relationship to the baby carries a risk
finding recorded only by agencies that have recorded nothing about the baby or
the mother (police, adult mental health, the family court...). The agencies
working with the baby get a need-to-know summary; the detail stays behind the
reader's permissions.
"""

from __future__ import annotations

import sys
from operator import attrgetter

from cradle.domain import Agency, RelationshipKind, Severity
from cradle.domain.vocabulary import Recipient
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.words import RISK_FINDINGS

ID = "unshared-parent-risk"
VERSION = 1
PAUSABLE = False
SOURCE = "The Myth of Invisible Men (2021); Think Family; information sharing learning in many reviews"
_agency = attrgetter("agency")
PARENT_KINDS = (RelationshipKind.MOTHER_OF, RelationshipKind.FATHER_OF, RelationshipKind.CARER_OF)


def _agencies_with_baby(view: View, child: str, mother: str | None) -> set[Agency]:
    """The agencies working with the baby: those that recorded something about the
    baby, or about the mother since the expected baby existed, or recorded a
    relationship of either. A record of the mother from years before the
    pregnancy (an old substance misuse episode) does not make an agency one that
    works with this baby."""
    agencies: set[Agency] = set(view.people[child].known_to)
    agencies.update(map(_agency, view.by_subject.get(child, ())))
    start = view.expected_from(child)
    born = view.born_day(child)
    since = start if start is not None else born
    if mother and since is not None:
        agencies.update(e.agency for e in view.by_subject.get(mother, ()) if e.day >= since)
    for r in view.relationships:
        if child in (r.person, r.other) or (mother and mother in (r.person, r.other)):
            agencies.update(r.recorded_by)
    return agencies


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not RISK_FINDINGS.intersection(view.words):
        return []
    parents = [r.person for r in view.relationships if r.other == child and r.kind in PARENT_KINDS]
    if not parents:
        return []
    mother = view.mother(child)
    working = _agencies_with_baby(view, child, mother)
    out = []
    for person in dict.fromkeys(parents):
        by_word: dict = {}
        for e in view.by_subject.get(person, ()):
            for w in RISK_FINDINGS.intersection(e.findings):
                by_word.setdefault(w, []).append(e)
        unshared = [(w, es) for w, es in by_word.items() if not working.intersection(e.agency for e in es)]
        if not unshared:
            continue
        events = sorted({e for _, es in unshared for e in es}, key=lambda e: (e.day, e.id))
        facts = [base.word_fact(view, e, w, person) for w, es in unshared for e in es]
        facts.sort(key=lambda f: (f.day, f.what))
        out.append(
            base.make(
                view,
                sys.modules[__name__],
                child,
                severity=Severity.ESCALATE,
                scope=person,
                evidence=[e.id for e in events],
                facts=facts,
                action=(
                    "A parent or carer's risk is known only to agencies not working with the baby: "
                    "the holding agency shares what the midwife, health visitor and GP need to know."
                ),
                for_whom=(Recipient.MIDWIFE, Recipient.HEALTH_VISITOR, Recipient.GP),
                due=2,
            )
        )
    return out


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"A parent's risk not shared with those working with the baby: {base.render(finding.facts, reveal, day_label)}"
