"""under-one-contact-gap: a vulnerable baby nobody has seen for too long.

The limit is `contact_gap_days` while the baby is under `contact_gap_early_weeks`
weeks old or on a child protection plan (abusive head trauma peaks with crying
at 6-8 weeks), `contact_gap_later_days` after that, both judged on the as-of
day. Days in hospital count as seen; the clock restarts when a baby placed
away from the parents returns.
"""

from __future__ import annotations

import sys

from cradle.domain import EventKind, Finding, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding

ID = "under-one-contact-gap"
VERSION = 1
PAUSABLE = True
SOURCE = "Calderdale 2022 rec. 3 (nobody saw the baby for three weeks before the injuries)"
PREMATURITY = frozenset({Finding.PREMATURE, Finding.LOW_BIRTH_WEIGHT})
# Conditions of other rules that make a baby vulnerable (rules.md, "Vulnerable").
VULNERABLE_IF = (
    "cumulative-vulnerability",
    "econsult-infant",
    "seen-without-baby",
    "injury-in-non-mobile-infant",
    "repeat-unscheduled-care",
)


def vulnerable(view: View, child: str) -> list[str]:
    reasons = []
    if any(child in e.subjects for e in view.by_kind.get(EventKind.NNU_ADMISSION, ())):
        reasons.append("neonatal unit stay")
    if PREMATURITY.intersection(view.words) and any(
        PREMATURITY.intersection(e.findings) for e in view.by_subject.get(child, ())
    ):
        reasons.append("prematurity or low birth weight")
    if view.on_plan(child):
        reasons.append("child protection plan")
    if any((f.step or 0) >= 2 for f in view.results.get(("no-access-stepped", child), ())):
        reasons.append("failed visits at step 2 or more")
    for rule in VULNERABLE_IF:
        if view.results.get((rule, child)):
            reasons.append(rule)
    return reasons


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child):
        return []
    reasons = vulnerable(view, child)
    if not reasons:
        return []
    s = view.settings
    last = view.last_seen(child)
    born = view.born_day(child)
    if last is None:
        last = born
    last_event = None
    for e in view.by_subject.get(child, ()):
        if e.day == last and view.saw(e, child):
            last_event = e
    for _start, back, _ in view.pauses(child):
        if back is not None and back <= view.day and back > last:
            last, last_event = back, None
    age = view.age(child) or 0
    on_plan = view.on_plan(child)
    limit = s.contact_gap_days if (age < 7 * s.contact_gap_early_weeks or on_plan) else s.contact_gap_later_days
    gap = view.day - last
    if gap < limit:
        return []
    facts = [
        Fact(
            what="last_seen",
            label=f"last seen in person {gap} days ago (limit {limit} days)",
            day=last,
            event=last_event.id if last_event else None,
            agency=last_event.agency if last_event else None,
        )
    ]
    facts += [Fact(what="vulnerable", label=f"vulnerable: {r.replace('-', ' ')}") for r in reasons]
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.ESCALATE,
            evidence=[last_event.id] if last_event else [],
            facts=facts,
            action="See the baby in person within two working days; if the family cannot be reached, follow the unseen-child procedure.",
            for_whom=(Recipient.SOCIAL_WORKER,) if on_plan else (Recipient.HEALTH_VISITOR,),
            due=2,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"A vulnerable baby not seen in person: {base.render(finding.facts, reveal, day_label)}"
