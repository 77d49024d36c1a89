"""The per-family facts behind the partnership's audit dashboards. Plain Python, no Django.

Each fact is about one baby as of a day, and is read from the rules themselves, never
re-derived: an ICON touchpoint is due where ``icon-not-delivered`` would report it missed
had no delivery been recorded, and met where, with the deliveries recorded, it does not
(a late delivery resolves the rule, and counts as met); a failed-contact sequence and the
step it reached are ``no-access-stepped``'s; the father or male carer is the one
``male-carer-unknown`` looks for; a remote consultation about a baby is
``econsult-infant``'s, and "seen within 48 hours" is its step-2 limit
(``econsult_seen_days``). The database stores the facts and counts them.

Measures (``AuditFact.measure``), each fact counted (in the denominator) and met or not:

- ``icon``: one per touchpoint due (``item`` the touchpoint; ``father`` for the delivery
  to an identified father or male carer), ``agency`` the touchpoint's; met when delivered.
- ``sequence``: one per run of failed contacts by a visiting agency; counted when it
  reached step 2 or more of the stepped approach (beyond the practitioner); met when it
  was escalated on time: a safeguarding referral, strategy discussion, referral or child
  protection plan about the baby or the mother recorded no later than the step's due
  date (step 2: 2 working days; step 3: the same day); ``extra`` when escalated at all.
- ``male_carer``: three per baby born (``item`` ``identified``, ``seen`` by any
  professional in person, ``linked``: a recorded father_of/carer_of relationship to the baby).
- ``remote``: one per remote consultation about the baby; counted once its 48-hour window
  has passed (or the baby was seen); met when the baby was seen in person within it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import NamedTuple

from cradle.domain import EventKind, RelationshipKind, Timeline
from cradle.domain.calendar import add_working_days
from cradle.rules import econsult_infant, icon_not_delivered, no_access_stepped
from cradle.rules.context import View
from cradle.rules.settings import DEFAULT_SETTINGS, Settings

ESCALATIONS = frozenset(
    {
        EventKind.SAFEGUARDING_REFERRAL,
        EventKind.STRATEGY_DISCUSSION,
        EventKind.REFERRAL,
        EventKind.CHILD_PROTECTION_PLAN_START,
    }
)
# Working days to escalate at each step of the stepped approach (rules.md: step 2 due in 2,
# step 3 the same day).
STEP_DUE = {2: 2, 3: 0}


class AuditFact(NamedTuple):
    measure: str
    child: str
    item: str
    agency: str
    day: int
    counted: bool
    met: bool
    extra: bool = False
    step: int | None = None


def children(timeline: Timeline, day: int) -> list[str]:
    """The children born by ``day`` who were babies within the year before it."""
    return [
        p.id
        for p in timeline.people
        if p.is_child_role and p.born_day is not None and day - 730 < p.born_day <= day
    ]


def facts(timeline: Timeline, day: int, settings: Settings = DEFAULT_SETTINGS) -> list[AuditFact]:
    """Every audit fact for every baby of the family as of the end of ``day``."""
    out: list[AuditFact] = []
    for child in children(timeline, day):
        born = timeline.person(child).born_day
        assert born is not None
        upto = min(day, born + 364)  # the rules run while the baby is under one
        view = View(timeline, upto, settings)
        out += icon(timeline, view, child, settings)
        out += sequences(view, child)
        out += male_carer(view, child)
        out += remote(view, child, day, settings)
    return out


def _undelivered(timeline: Timeline) -> Timeline:
    """The same record with no ICON delivery in it."""
    events = tuple(
        e._replace(delivered_to=(), touchpoint=None)
        for e in timeline.events
        if e.kind != EventKind.ICON_DELIVERED
    )
    return replace(timeline, events=events)


def icon(timeline: Timeline, view: View, child: str, settings: Settings) -> list[AuditFact]:
    bare = View(_undelivered(timeline), view.day, settings)
    due = icon_not_delivered.evaluate(bare, child)
    missed = {f.scope for f in icon_not_delivered.evaluate(view, child)}
    out = []
    for f in due:
        point = f.scope.split(":", 1)[0]
        item = "father" if point == "male_carer" else point
        check = next((x.day for x in f.facts if x.day is not None), None)
        out.append(
            AuditFact(
                "icon",
                child,
                item,
                f.agency.value if f.agency else "",
                check if check is not None else view.born_day(child) or 0,
                True,
                f.scope not in missed,
            )
        )
    return out


def sequences(view: View, child: str) -> list[AuditFact]:
    """Each run of failures, with the step it reached (as the rule counted it on each
    failure's day) and whether it was escalated on time."""
    runs: dict[str, dict] = {}
    for failure in no_access_stepped.failures(view, child):
        at = view.as_of(failure.day)
        for agency, (step, run, _, _) in no_access_stepped.sequences(at, child).items():
            if not run:
                continue
            r = runs.setdefault(
                run[0].id, {"agency": agency.value, "first": run[0].day, "step": 0, "day": None}
            )
            if step > r["step"]:
                if r["step"] < 2 <= step:
                    r["day"], r["due_step"] = failure.day, step
                r["step"] = step
    mother = view.mother(child)
    about = {child, mother} - {None}
    escalations = [
        e.day
        for e in view.events
        if e.kind in ESCALATIONS and about.intersection(e.subjects) and e.day <= view.day
    ]
    out = []
    for first_id, r in runs.items():
        counted = r["step"] >= 2
        escalated = on_time = False
        if counted:
            after = [d for d in escalations if d >= r["day"]]
            escalated = bool(after)
            if after:
                limit = add_working_days(view.timeline.date_of(r["day"]), STEP_DUE[r["due_step"]])
                on_time = view.timeline.date_of(min(after)) <= limit
        out.append(
            AuditFact(
                "sequence",
                child,
                first_id,
                r["agency"],
                r["day"] if r["day"] is not None else r["first"],
                counted,
                on_time,
                escalated,
                r["step"],
            )
        )
    return out


def male_carer(view: View, child: str) -> list[AuditFact]:
    men = view.male_carers(child)
    born = view.born_day(child) or 0
    seen = any(view.saw(e, man) for man in men for e in view.by_subject.get(man, ()))
    linked = any(
        view.relations(man, RelationshipKind.FATHER_OF, child)
        or view.relations(man, RelationshipKind.CARER_OF, child)
        for man in men
    )
    return [
        AuditFact("male_carer", child, "identified", "", born, True, bool(men)),
        AuditFact("male_carer", child, "seen", "", born, True, seen),
        AuditFact("male_carer", child, "linked", "", born, True, linked),
    ]


def remote(view: View, child: str, day: int, settings: Settings) -> list[AuditFact]:
    out = []
    for e in econsult_infant.consultations(view, child):
        limit = e.day + settings.econsult_seen_days
        seen = view.seen_since(child, e.day)
        met = seen is not None and seen <= limit
        out.append(AuditFact("remote", child, e.id, e.agency.value, e.day, met or day > limit, met))
    return out


def day_date(timeline: Timeline, day: int) -> date:
    return timeline.date_of(day)
