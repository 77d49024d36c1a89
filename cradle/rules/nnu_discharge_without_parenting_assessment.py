"""nnu-discharge-without-parenting-assessment: a long neonatal stay ended with no
structured parenting assessment recorded between admission and discharge."""

from __future__ import annotations

import sys

from cradle.domain import Agency, EventKind, Recipient, Severity
from cradle.rules import base
from cradle.rules.context import View
from cradle.rules.finding import Fact, RuleFinding

ID = "nnu-discharge-without-parenting-assessment"
VERSION = 1
PAUSABLE = False
SOURCE = "Calderdale 2022 rec. 2 (NNU record keeping did not support structured parenting assessment)"


def evaluate(view: View, child: str) -> list[RuleFinding]:
    if not view.is_born(child) or EventKind.NNU_DISCHARGE not in view.kinds:
        return []
    family = {child, *view.carers(child)}
    assessments = [
        e.day
        for e in view.by_kind.get(EventKind.PARENTING_ASSESSMENT, ())
        if family.intersection(e.subjects)
    ]
    out = []
    admitted = None
    for e in view.by_subject.get(child, ()):
        if e.kind == EventKind.NNU_ADMISSION and admitted is None:
            admitted = e.day
        elif e.kind == EventKind.NNU_DISCHARGE and admitted is not None:
            stay = e.day - admitted
            if stay >= view.settings.nnu_min_stay_days and not any(admitted <= a <= e.day for a in assessments):
                out.append(
                    base.make(
                        view,
                        sys.modules[__name__],
                        child,
                        severity=Severity.ESCALATE,
                        scope=f"discharge:{e.id}",
                        agency=Agency.NNU,
                        evidence=[e.id],
                        facts=[
                            Fact(
                                what="nnu_discharge",
                                label=f"discharged after {stay} days on the neonatal unit with no parenting assessment",
                                day=e.day,
                                event=e.id,
                                agency=e.agency,
                            )
                        ],
                        action="Complete a structured parenting assessment and share it with the health visitor and GP.",
                        for_whom=(Recipient.NEONATAL_UNIT,),
                        due=2,
                    )
                )
            admitted = None
    return out


def explain(finding: RuleFinding, reveal, day_label) -> str:
    text = base.render(finding.facts, reveal, day_label)
    return text[:1].upper() + text[1:]
