"""econsult-infant: a remote consultation about a baby, who must then be seen.

Online services turn away consultations for babies under 6 months, so the
concern often arrives as the parent's own consultation: that counts when it
carries an infant finding. Step 1 asks for the baby to be seen within 48 hours;
step 2 fires when nobody has seen the baby in person by the end of day d + 2.
Resolves when the baby is seen in person on or after the consultation's day.
"""

from __future__ import annotations

import sys

from cradle.domain import Event, EventKind, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import RuleFinding
from cradle.rules.words import INFANT_FINDINGS, REMOTE_CHANNELS, REMOTE_CONSULTATION_KINDS

ID = "econsult-infant"
VERSION = 1
PAUSABLE = False
SOURCE = "Calderdale 2022 rec. 5 (whether e-consult is safe for young infants)"


CANDIDATE_KINDS = frozenset({EventKind.ECONSULT, *REMOTE_CONSULTATION_KINDS})


def is_remote(e: Event) -> bool:
    return e.kind == EventKind.ECONSULT or (
        e.kind in REMOTE_CONSULTATION_KINDS and e.channel in REMOTE_CHANNELS
    )


def consultations(view: View, child: str) -> list[Event]:
    """Remote consultations about the baby, or a parent's own carrying an infant finding."""
    return view.memo(_consultations, child)


def _consultations(view: View, child: str) -> list[Event]:
    born = view.born_day(child)
    if born is None:
        return []
    if EventKind.ECONSULT not in view.kinds and not REMOTE_CHANNELS.intersection(view.channels):
        return []
    carers = set(view.carers(child))
    out = []
    for e in view.events:
        if e.kind not in CANDIDATE_KINDS or not born <= e.day < born + 365 or not is_remote(e):
            continue
        if child in e.subjects or (carers.intersection(e.subjects) and INFANT_FINDINGS.intersection(e.findings)):
            out.append(e)
    return out


def open_consultations(view: View, child: str, on_day: int | None = None) -> list[Event]:
    """Consultations not yet followed by the baby being seen (by ``on_day``, default today)."""
    on_day = view.day if on_day is None else on_day
    out = []
    for e in consultations(view, child):
        if e.day > on_day:
            continue
        seen = view.seen_since(child, e.day)
        if seen is None or seen > on_day:
            out.append(e)
    return out


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child):
        return []
    pending = open_consultations(view, child)
    if not pending:
        return []
    limit = view.settings.econsult_seen_days
    late = [e for e in pending if view.day >= e.day + limit]
    step = 2 if late else 1
    facts = []
    for e in pending:
        words = [w.label for w in e.findings if w in INFANT_FINDINGS]
        about = f" about {', '.join(words)}" if words else ""
        who = "" if child in e.subjects else " (the parent's own consultation)"
        facts.append(base.event_fact(e, f"remote {e.kind.label}{about}{who}", "remote_consultation"))
    return [
        base.make(
            view,
            sys.modules[__name__],
            child,
            severity=Severity.ESCALATE if step == 2 else Severity.PROMPT,
            step=step,
            agency=pending[-1].agency,
            evidence=[e.id for e in pending],
            facts=facts,
            action=(
                "The baby has not been seen in person since the consultation: see the baby face to face today."
                if step == 2
                else "See the baby face to face within 48 hours."
            ),
            for_whom=(Recipient.GP,),
            due=0,
        )
    ]


def explain(finding: RuleFinding, reveal, day_label) -> str:
    head = "Baby not seen in person within 48 hours of" if finding.step == 2 else "Baby to be seen after"
    return f"{head} a remote consultation: {base.render(finding.facts, reveal, day_label)}"
