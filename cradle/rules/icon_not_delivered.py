"""icon-not-delivered: the ICON message ("Babies cry, you can cope") missed at a touchpoint.

One alert per touchpoint (and per NNU discharge), resolved by a later delivery
from that touchpoint's agencies; and one per identified father or male carer
whom no delivery has reached by the new birth visit. A delivery tagged with a
touchpoint counts for that touchpoint only (``birth`` and ``postnatal`` both
count for the postnatal midwife touchpoint); an untagged delivery's touchpoint
is inferred from its agency and day. Touchpoints whose check day falls while
the baby is placed away from the parents are skipped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from cradle.domain import Agency, Event, EventKind, Outcome, Recipient, Severity, Touchpoint
from cradle.rules import base
from cradle.rules.context import INF, View
from cradle.rules.finding import Fact, RuleFinding

ID = "icon-not-delivered"
VERSION = 1
PAUSABLE = True
SOURCE = (
    "ICON ('Babies cry, you can cope') touchpoints; about 70% of shaken babies are shaken by men "
    "(figure quoted by the ICON programme, unverified here); Calderdale 2022 rec. 2"
)
T = Touchpoint
A = Agency


@dataclass(frozen=True)
class _Point:
    name: str
    label: str
    agencies: frozenset[Agency]
    tags: frozenset[Touchpoint]
    recipient: Recipient

    @property
    def agency(self) -> Agency | None:
        """The one agency responsible, where there is one."""
        return next(iter(self.agencies)) if len(self.agencies) == 1 else None


ANTENATAL = _Point("antenatal", "antenatal (by 36 weeks)", frozenset({A.MIDWIFERY, A.HEALTH_VISITING}), frozenset({T.ANTENATAL}), Recipient.MIDWIFE)
POSTNATAL = _Point("postnatal", "postnatal midwife (by day 14)", frozenset({A.MATERNITY, A.MIDWIFERY}), frozenset({T.BIRTH, T.POSTNATAL}), Recipient.MIDWIFE)
NNU = _Point("nnu_discharge", "neonatal unit discharge", frozenset({A.NNU}), frozenset({T.NNU_DISCHARGE}), Recipient.NEONATAL_UNIT)
NBV = _Point("new_birth_visit", "new birth visit", frozenset({A.HEALTH_VISITING}), frozenset({T.NEW_BIRTH_VISIT}), Recipient.HEALTH_VISITOR)
GP = _Point("six_to_eight_week", "GP 6-8 week check", frozenset({A.GP}), frozenset({T.SIX_TO_EIGHT_WEEK}), Recipient.GP)


def deliveries(view: View, child: str) -> list[tuple[Event, Touchpoint, tuple[str, ...]]]:
    """ICON deliveries for this baby: (event, touchpoint, who received it)."""
    family = {child, *view.carers(child)}
    born = view.born_day(child)
    start = view.expected_from(child)
    if start is None:
        start = born if born is not None else -INF
    nbv = _first_nbv(view, child)
    gp_check = _gp_check_day(view, child)
    out = []
    for e in view.by_kind.get(EventKind.ICON_DELIVERED, ()):
        if e.day < start:
            continue
        to = e.delivered_to or e.subjects
        if not family.intersection(to) and child not in e.subjects:
            continue
        out.append((e, e.touchpoint or _infer(view, e, born, nbv, gp_check), to))
    return out


def _infer(view: View, e: Event, born: int | None, nbv: int | None, gp_check: int) -> Touchpoint:
    if born is None or e.day < born:
        return T.ANTENATAL if e.agency in (A.MIDWIFERY, A.HEALTH_VISITING, A.MATERNITY) else T.OTHER
    if e.agency == A.NNU:
        return T.NNU_DISCHARGE
    if e.agency in (A.MATERNITY, A.MIDWIFERY) and e.day <= born + view.settings.icon_postnatal_days:
        return T.POSTNATAL
    if e.agency == A.HEALTH_VISITING and (nbv is None or e.day <= nbv):
        return T.NEW_BIRTH_VISIT
    if e.agency == A.GP and e.day <= gp_check:
        return T.SIX_TO_EIGHT_WEEK
    return T.OTHER


def _first_nbv(view: View, child: str) -> int | None:
    return view.memo(_find_first_nbv, child)


def _find_first_nbv(view: View, child: str) -> int | None:
    for e in view.by_kind.get(EventKind.NEW_BIRTH_VISIT, ()):
        if child in e.subjects and e.outcome == Outcome.ATTENDED:
            return e.day
    return None


def _gp_check_day(view: View, child: str) -> int:
    return view.memo(_find_gp_check_day, child)


def _find_gp_check_day(view: View, child: str) -> int:
    born = view.born_day(child) or 0
    limit = born + view.settings.icon_gp_check_days
    for e in view.by_kind.get(EventKind.GP_SIX_TO_EIGHT_WEEK_CHECK, ()):
        if child in e.subjects and e.outcome == Outcome.ATTENDED:
            return min(e.day, limit)
    return limit


def _met(point: _Point, ds, check_day: int, since: int = -INF) -> bool:
    """Delivered at or before the check day, or by a later delivery (which resolves it)."""
    for e, tp, _ in ds:
        if e.day < since or e.agency not in point.agencies:
            continue
        if e.day <= check_day:
            if tp in point.tags:
                return True
        elif e.touchpoint is None or e.touchpoint in point.tags:
            return True
    return False


def _nnu_stays(view: View, child: str) -> list[tuple[int, int | None, Event | None]]:
    stays: list[tuple[int, int | None, Event | None]] = []
    start = None
    for e in view.of_kinds((EventKind.NNU_ADMISSION, EventKind.NNU_DISCHARGE)):
        if child not in e.subjects:
            continue
        if e.kind == EventKind.NNU_ADMISSION and start is None:
            start = e.day
        elif e.kind == EventKind.NNU_DISCHARGE:
            stays.append((start if start is not None else e.day, e.day, e))
            start = None
    if start is not None:
        stays.append((start, None, None))
    return stays


def evaluate(view: View, child: str) -> list[RuleFinding]:
    d = view.day
    born = view.born_day(child)
    if born is None:
        return []
    ds = deliveries(view, child)
    misses: list[tuple[_Point, str, int, Event | None]] = []  # point, scope, check day, event

    def due(check_day: int, strictly_after: bool) -> bool:
        reached = d > check_day if strictly_after else d >= check_day
        return reached and not view.in_pause(child, check_day)

    expected = view.expected_from(child)
    if expected is not None:
        due_day = view.people[child].due_day
        check = (born if due_day is None else due_day) - view.settings.icon_antenatal_days_before_due
        check = max(check, expected - 1)  # a late booker is checked from booking
        if due(check, True) and not _met(ANTENATAL, ds, check):
            misses.append((ANTENATAL, ANTENATAL.name, check + 1, None))
    if d < born:
        return _findings(view, child, misses, [])

    stays = _nnu_stays(view, child)
    check = born + view.settings.icon_postnatal_days
    in_nnu = any(a <= check and (b is None or check <= b) for a, b, _ in stays)
    if not in_nnu and due(check, True) and not _met(POSTNATAL, ds, check):
        misses.append((POSTNATAL, POSTNATAL.name, check + 1, None))

    for a, b, e in stays:
        if b is None or e is None or not due(b, False):
            continue
        during = [x for x in ds if a <= x[0].day <= b]
        if not _met(NNU, during, b) and not _met(NNU, ds, b, since=b + 1):
            misses.append((NNU, f"{NNU.name}:{e.id}", b, e))

    nbv = _first_nbv(view, child)
    if nbv is not None and due(nbv, False) and not _met(NBV, ds, nbv):
        misses.append((NBV, NBV.name, nbv, None))

    gp_check = _gp_check_day(view, child)
    has_check = gp_check < born + view.settings.icon_gp_check_days or any(
        child in e.subjects and e.outcome == Outcome.ATTENDED
        for e in view.by_kind.get(EventKind.GP_SIX_TO_EIGHT_WEEK_CHECK, ())
    )
    if due(gp_check, not has_check) and not _met(GP, ds, gp_check):
        misses.append((GP, GP.name, gp_check, None))

    fathers = []
    if nbv is not None and not view.in_pause(child, nbv):
        for man in view.male_carers(child):
            if not any(man in to for _, _, to in ds):
                fathers.append(man)
    return _findings(view, child, misses, fathers)


def _findings(view: View, child: str, misses, fathers: list[str]) -> list[RuleFinding]:
    module = sys.modules[__name__]
    out = []
    for point, scope, check_day, event in misses:
        agency = point.agency
        facts = [Fact(what=point.name, label=f"no ICON delivery at the {point.label} touchpoint", day=check_day, event=event.id if event else None, agency=agency)]
        out.append(
            base.make(
                view,
                module,
                child,
                severity=Severity.PROMPT,
                scope=scope,
                agency=agency if agency else (Agency.MIDWIFERY if point is ANTENATAL else Agency.MATERNITY),
                evidence=[event.id] if event else [],
                facts=facts,
                action="Deliver the ICON message (babies cry, you can cope) to the parents and carers, and record it.",
                for_whom=(point.recipient,),
                due=5,
            )
        )
    for man in fathers:
        out.append(
            base.make(
                view,
                module,
                child,
                severity=Severity.PROMPT,
                scope=f"male_carer:{man}",
                agency=Agency.HEALTH_VISITING,
                evidence=[r.id for r in view.relationships if man in (r.person, r.other)],
                facts=[Fact(what="male_carer_not_reached", label="no ICON delivery has reached the father or male carer by the new birth visit", person=man, agency=Agency.HEALTH_VISITING)],
                action="Deliver the ICON message to the father or male carer himself, and record it.",
                for_whom=(Recipient.HEALTH_VISITOR,),
                due=5,
            )
        )
    return out


def explain(finding: RuleFinding, reveal, day_label) -> str:
    return f"ICON not delivered: {base.render(finding.facts, reveal, day_label)}"
