"""seen-without-baby: a face-to-face contact about the baby where the baby was not seen.

Clinic and hospital contacts (home visits are no-access-stepped's) about an
under-one baby, or about a parent's mental health while a remote consultation
about the baby is unanswered or persistent crying is on record, where the baby
is not among those seen. Resolves when the baby is seen in person.
"""

from __future__ import annotations

import sys

from cradle.domain import Event, EventKind, Finding, Outcome, Recipient, Severity
from cradle.rules import base, econsult_infant
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.words import CONSULTATION_KINDS, FACE_TO_FACE_CHANNELS, MENTAL_HEALTH_FINDINGS

ID = "seen-without-baby"
VERSION = 1
PAUSABLE = False
SOURCE = "Calderdale 2022 rec. 5 (mother attended the face-to-face review without the baby)"


def _crying_open(view: View, child: str, carers: set[str], contact: Event) -> bool:
    for e in view.events:
        if e.day > contact.day:
            break
        if Finding.PERSISTENT_CRYING in e.findings and (child in e.subjects or carers.intersection(e.subjects)):
            seen = view.seen_since(child, e.day, exclude=contact.id)
            if seen is None or seen > contact.day:
                return True
    return False


def contacts(view: View, child: str) -> list[Event]:
    born = view.born_day(child)
    if born is None:
        return []
    carers = set(view.carers(child))
    # A parent's own contact counts only while a remote consultation or crying is open.
    parents_count = Finding.PERSISTENT_CRYING in view.words or bool(econsult_infant.consultations(view, child))
    out = []
    for e in view.events if parents_count else view.by_subject.get(child, ()):
        if (
            e.channel not in FACE_TO_FACE_CHANNELS
            or e.kind not in CONSULTATION_KINDS
            or not born <= e.day < born + 365
            or e.outcome != Outcome.ATTENDED
            or child in e.seen
        ):
            continue
        if child in e.subjects:
            out.append(e)
        elif carers.intersection(e.subjects) and (
            e.kind == EventKind.MENTAL_HEALTH_REVIEW or MENTAL_HEALTH_FINDINGS.intersection(e.findings)
        ):
            if econsult_infant.open_consultations(view, child, e.day) or _crying_open(view, child, carers, e):
                out.append(e)
    return out


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child):
        return []
    pending = [e for e in contacts(view, child) if view.seen_since(child, e.day, exclude=e.id) is None]
    if not pending:
        return []
    facts = [
        base.event_fact(
            e,
            f"{e.kind.label} without the baby" if child in e.subjects else f"parent's {e.kind.label} without the baby",
            "seen_without_baby",
        )
        for e in pending
    ]
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.PROMPT,
            agency=pending[-1].agency,
            evidence=[e.id for e in pending],
            facts=facts,
            action="Arrange to see the baby face to face; ask who is caring for the baby and why the baby was not brought.",
            for_whom=(Recipient.PRACTITIONER,),
            due=2,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"Seen without the baby, who has not been seen in person since: {base.render(finding.facts, reveal, day_label)}"
