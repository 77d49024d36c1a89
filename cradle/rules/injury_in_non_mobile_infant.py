"""injury-in-non-mobile-infant: any injury to a baby who cannot yet move about.

A bruise or other injury in a baby under 6 months (or recorded ``non_mobile``)
needs an immediate referral and a same-day paediatric opinion, whatever the
explanation. The alert stays open until a paediatric examination is recorded
on or after the latest injury; earlier injuries are listed as possible
sentinel injuries. Mobility is judged on the day of the injury.
"""

from __future__ import annotations

import sys

from cradle.domain import Event, EventKind, Finding, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding
from cradle.rules.words import INJURY_FINDINGS

ID = "injury-in-non-mobile-infant"
VERSION = 1
PAUSABLE = False
SOURCE = "NICE CG89 (child maltreatment); bruising in non-mobile infants protocols; TEN-4-FACESp"


def _injuries(view: View, child: str, known_by: int) -> tuple[list[Event], list[Event]]:
    """(injuries to a non-mobile baby, all injuries in infancy), as known by day ``known_by``."""
    events = [e for e in view.by_subject.get(child, ()) if e.recorded_day <= known_by]
    non_mobile_recorded = any(Finding.NON_MOBILE in e.findings for e in events)
    limit = view.settings.non_mobile_age_days
    all_injuries, non_mobile = [], []
    for e in events:
        if not INJURY_FINDINGS.intersection(e.findings):
            continue
        age = view.age(child, e.day)
        if age is None or not 0 <= age < 365:
            continue
        all_injuries.append(e)
        if age < limit or non_mobile_recorded:
            non_mobile.append(e)
    return non_mobile, all_injuries


def _open(view: View, child: str, known_by: int) -> tuple[list[Event], list[Event]]:
    injuries, all_injuries = _injuries(view, child, known_by)
    exams = [
        e.day
        for e in view.by_subject.get(child, ())
        if e.kind == EventKind.PAEDIATRIC_EXAMINATION and e.recorded_day <= known_by and e.outcome in (None, "attended")
    ]
    last_exam = max(exams, default=None)
    still_open = [e for e in injuries if last_exam is None or e.day > last_exam]
    return still_open, all_injuries


def open_on(view: View, child: str, day: int) -> bool:
    """Whether the rule's condition held at the end of ``day`` (for other rules)."""
    if not INJURY_FINDINGS.intersection(view.words):
        return False
    return bool(_open(view, child, day)[0])


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child) or not INJURY_FINDINGS.intersection(view.words):
        return []
    still_open, all_injuries = _open(view, child, view.day)
    if not still_open:
        return []
    first = still_open[0]
    facts = [
        base.word_fact(view, e, w, child) for e in still_open for w in e.findings if w in INJURY_FINDINGS
    ]
    facts = [
        Fact(
            what=f.what,
            label=f"{f.label} at {view.age(child, f.day)} days old",
            day=f.day,
            event=f.event,
            agency=f.agency,
            person=child,
            sensitivity=f.sensitivity,
        )
        for f in facts
    ]
    sentinels = [e for e in all_injuries if e.day < first.day and e not in still_open]
    for e in sentinels:
        facts.append(base.event_fact(e, "possible sentinel injury", "sentinel_injury", child))
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.URGENT,
            agency=still_open[-1].agency,
            evidence=[e.id for e in still_open + sentinels],
            facts=facts,
            action=(
                "Refer to children's social care now and arrange a same-day paediatric opinion, "
                "whatever explanation is given."
            ),
            for_whom=(Recipient.RECORDING_PRACTITIONER, Recipient.CHILDRENS_SOCIAL_CARE, Recipient.PAEDIATRICS),
            due=0,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"Injury in a baby who is not yet mobile: {base.render(finding.facts, reveal, day_label)}; no paediatric examination recorded since"
