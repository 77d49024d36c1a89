"""medication-stopped-in-pregnancy: a parent stopped mental-health medication in pregnancy
and no referral to perinatal mental health has followed."""

from __future__ import annotations

import sys

from cradle.domain import Agency, EventKind, Finding, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import PREGNANCY_DAYS, View
from cradle.rules.finding import RuleFinding

ID = "medication-stopped-in-pregnancy"
VERSION = 1
PAUSABLE = False
SOURCE = "Calderdale 2022 (the story: mother stopped her anxiety and depression medication in pregnancy)"


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if Finding.MEDICATION_STOPPED_IN_PREGNANCY not in view.words:
        return []
    born = view.born_day(child)
    since = born - PREGNANCY_DAYS if born is not None else None
    pending = []
    for person in view.carers(child):
        events = view.by_subject.get(person, ())
        referrals = [
            e.day
            for e in events
            if e.kind == EventKind.REFERRAL and e.to_agency == Agency.PERINATAL_MENTAL_HEALTH
        ]
        for e in events:
            if Finding.MEDICATION_STOPPED_IN_PREGNANCY in e.findings and (since is None or e.day >= since):
                if not any(day >= e.day for day in referrals):
                    pending.append((e, person))
    if not pending:
        return []
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.PROMPT,
            evidence=[e.id for e, _ in pending],
            facts=[base.word_fact(view, e, Finding.MEDICATION_STOPPED_IN_PREGNANCY, p) for e, p in pending],
            action="Discuss a referral to perinatal mental health; review the decision to stop medication with the GP.",
            for_whom=(Recipient.MIDWIFE, Recipient.GP),
            due=5,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"No referral to perinatal mental health after {base.render(finding.facts, reveal, day_label)}"
