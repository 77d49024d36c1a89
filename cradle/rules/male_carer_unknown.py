"""male-carer-unknown: the 'invisible man'.

Fires while an expected or under-one baby has no father or male carer
identified; or a partner is mentioned and none is identified; or an identified
father or male carer who lives with the baby was not seen at an attended new
birth visit or parenting assessment (until any professional sees him).
"""

from __future__ import annotations

import sys

from cradle.domain import EventKind, Finding, Outcome, Recipient, RelationshipKind, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding
from cradle.rules.words import PARTNER_MENTIONS

ID = "male-carer-unknown"
VERSION = 1
PAUSABLE = False
SOURCE = "The Myth of Invisible Men (Child Safeguarding Practice Review Panel, 2021); Calderdale 2022 rec. 4"
CHECK_KINDS = frozenset({EventKind.NEW_BIRTH_VISIT, EventKind.PARENTING_ASSESSMENT})


def condition(view: View, child: str) -> tuple[list[Fact], list[str]]:
    """The facts behind the condition and the evidence ids; empty when it does not hold."""
    return view.memo(_condition, child)


def _condition(view: View, child: str) -> tuple[list[Fact], list[str]]:
    facts: list[Fact] = []
    evidence: list[str] = []
    men = view.male_carers(child)
    if not men:
        facts.append(Fact(what="no_male_carer", label="no father or male carer recorded"))
    mother = view.mother(child)
    if mother and PARTNER_MENTIONS.intersection(view.words):
        partner_rels = [
            r
            for r in view.relationships
            if r.kind == RelationshipKind.PARTNER_OF and mother in (r.person, r.other)
        ]
        since = view.expected_from(child)
        if since is None:
            since = view.born_day(child) or 0
        mentions = [
            e
            for e in view.events
            if e.day >= since and (child in e.subjects or mother in e.subjects) and PARTNER_MENTIONS.intersection(e.findings)
        ]
        for e in mentions:
            for word in PARTNER_MENTIONS.intersection(e.findings):
                if word == Finding.NEW_PARTNER:
                    identified = any(r.from_day is not None and r.from_day >= e.day for r in partner_rels)
                else:
                    identified = bool(partner_rels)
                if not identified:
                    facts.append(base.event_fact(e, f"{word.label}, and no partner identified", word.value))
                    evidence.append(e.id)
    for man in men:
        if not view.lives_with_baby(man, child):
            continue
        checks = [e for k in CHECK_KINDS for e in view.by_kind.get(k, ()) if child in e.subjects]
        for e in checks:
            if e.outcome == Outcome.ATTENDED and not view.saw(e, man):
                if not any(x.day >= e.day and x.id != e.id and view.saw(x, man) for x in view.events):
                    facts.append(base.event_fact(e, f"father or male carer not seen at the {e.kind.label}", "male_carer_not_seen", man))
                    evidence.append(e.id)
    return facts, evidence


def evaluate(view: View, child: str) -> list[RuleFinding]:
    facts, evidence = condition(view, child)
    if not facts:
        return []
    before_birth = not view.is_born(child)
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.PROMPT,
            evidence=evidence,
            facts=facts,
            action=(
                "Ask who the baby's father is, who else lives in the household and who looks after the baby; "
                "record him, meet him and include him in assessments."
            ),
            for_whom=(Recipient.MIDWIFE,) if before_birth else (Recipient.HEALTH_VISITOR,),
            due=10,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"Father or male carer unknown or unseen: {base.render(finding.facts, reveal, day_label)}"
