"""A family's record as known at the end of one day, indexed for the rules.

Built once per (timeline, day) and shared by every rule, so that each rule is
a short scan over the few events that concern it. Everything here follows the
"Semantics" section of the rule catalogue; the rules do not re-derive it.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from operator import itemgetter

from cradle.domain import (
    Agency,
    Event,
    EventKind,
    Person,
    RelationshipKind,
    Role,
    Sex,
    Timeline,
)
from cradle.rules.settings import Settings
from cradle.rules.words import FAILED_OUTCOMES, REMOTE_CHANNELS

K = EventKind
R = RelationshipKind
INF = 10**9
# A pregnancy lasts well under 300 days: older maternity records are an earlier pregnancy's.
PREGNANCY_DAYS = 300
ANTENATAL_KINDS = frozenset({K.ANTENATAL_BOOKING, K.ANTENATAL_CONTACT})
MATERNITY_AGENCIES = frozenset({Agency.MIDWIFERY, Agency.MATERNITY})
STAY_STARTS = {K.NNU_ADMISSION: K.NNU_DISCHARGE, K.HOSPITAL_ADMISSION: K.HOSPITAL_DISCHARGE}
STAY_KINDS = frozenset({*STAY_STARTS, *STAY_STARTS.values()})


class View:
    """What the system knew about a family at the end of ``day``."""

    def __init__(self, timeline: Timeline, day: int, settings: Settings):
        self.timeline = timeline
        self.day = day
        self.settings = settings
        self.settings_hash = settings.hash
        self.people: dict[str, Person] = {p.id: p for p in timeline.people}
        events = timeline.events
        if events and max(map(_recorded, events)) <= day:
            self.events: list[Event] = list(events)  # everything is known: no need to filter
        else:
            self.events = [e for e in events if e.recorded_day <= day]
        self.relationships = [
            r for r in timeline.relationships if r.recorded_by and (r.from_day is None or r.from_day <= day)
        ]
        # Indexed once here, in one pass: every rule reads these.
        by_subject: dict[str, list[Event]] = defaultdict(list)
        by_kind: dict[EventKind, list[Event]] = {}
        words = set(chain.from_iterable(map(_findings, self.events)))
        self.channels = set(map(_channel, self.events))
        for e in self.events:
            kind = e.kind
            if kind in by_kind:
                by_kind[kind].append(e)
            else:
                by_kind[kind] = [e]
            subjects = e.subjects
            if len(subjects) == 1:
                by_subject[subjects[0]].append(e)
            else:
                for s in subjects:
                    by_subject[s].append(e)
        self.by_subject = by_subject
        self.by_kind = by_kind
        self.kinds = by_kind  # "is there any event of this kind": a dict answers as a set would
        # Every finding word on record: rules about rare words stop at once without them.
        self.words = words
        # No placement away from the parents and no move out of the area on record.
        self.simple = K.PLACED_AWAY_FROM_PARENTS not in by_kind and K.MOVED_OUT_OF_AREA not in by_kind
        self.results: dict[tuple[str, str], list] = {}
        self._cache: dict[tuple, object] = {}
        self._frozen: dict[int, View] = {}

    # -- people and relationships ------------------------------------------------

    def related(self, a: str, b: str) -> bool:
        pairs = self._cache.get("pairs")
        if pairs is None:
            pairs = self._cache["pairs"] = {frozenset((r.person, r.other)) for r in self.relationships}
        return frozenset((a, b)) in pairs

    def relations(self, person: str, kind: RelationshipKind | None = None, other: str | None = None) -> list[str]:
        """People ``p`` such that ``person kind p`` is known (``father_of`` the baby, ...)."""
        return [
            r.other
            for r in self.relationships
            if r.person == person and (kind is None or r.kind == kind) and (other is None or r.other == other)
        ]

    def related_to(self, other: str, kind: RelationshipKind) -> list[str]:
        """People ``p`` such that ``p kind other`` is known (who is ``father_of`` the baby)."""
        index = self._cache.get("related_to")
        if index is None:
            index = {}
            for r in self.relationships:
                index.setdefault((r.other, r.kind), []).append(r.person)
            self._cache["related_to"] = index
        return index.get((other, kind), [])

    def mother(self, child: str) -> str | None:
        key = ("mother", child)
        if key not in self._cache:
            mothers = self.related_to(child, R.MOTHER_OF)
            if not mothers:
                # Maternity always knows the mother: if no agency recorded the link,
                # the one person the case calls the mother is taken to be hers.
                candidates = [p.id for p in self.people.values() if p.role == Role.MOTHER]
                mothers = candidates if len(candidates) == 1 else []
            self._cache[key] = mothers[0] if mothers else None
        return self._cache[key]  # type: ignore[return-value]

    def address(self, person: str) -> str | None:
        key = ("address", person)
        if key not in self._cache:
            p = self.people.get(person)
            self._cache[key] = p.identity.address_key if p else None
        return self._cache[key]  # type: ignore[return-value]

    def home(self, child: str) -> str | None:
        """The baby's address (the mother's before birth, or when the baby has none)."""
        own = self.address(child) if self.is_born(child) else None
        if own:
            return own
        mother = self.mother(child)
        return self.address(mother) if mother else None

    def _lives_with_recorded(self, a: str, b: str) -> bool:
        pairs = self._cache.get("lives-pairs")
        if pairs is None:
            pairs = self._cache["lives-pairs"] = {
                frozenset((r.person, r.other)) for r in self.relationships if r.kind == R.LIVES_WITH
            }
        return bool(pairs) and frozenset((a, b)) in pairs

    def lives_with(self, a: str, b: str) -> bool:
        if self._lives_with_recorded(a, b):
            return True
        addr_a = self.address(a)
        return addr_a is not None and addr_a == self.address(b) and self.is_known(a) and self.is_known(b)

    def lives_with_baby(self, person: str, child: str) -> bool:
        if self._lives_with_recorded(person, child):
            return True
        mother = self.mother(child)
        if mother and mother != person and self._lives_with_recorded(person, mother):
            return True
        home = self.home(child)
        return home is not None and self.address(person) == home and self.is_known(person)

    def is_known(self, person: str) -> bool:
        """Known from the start (``known_to``), else from the first event or relationship naming them."""
        p = self.people.get(person)
        if p is None:
            return False
        if p.known_to:
            return True
        if self.by_subject.get(person):
            return True
        if any(person in e.seen or person in e.delivered_to for e in self.events):
            return True
        return any(person in (r.person, r.other) for r in self.relationships)

    def holders(self, person: str) -> set[Agency]:
        """Agencies that hold a record of the person as of the day."""
        p = self.people[person]
        agencies = set(p.known_to)
        agencies.update(e.agency for e in self.by_subject.get(person, ()))
        return agencies

    def is_male(self, person: str) -> bool:
        return self.people[person].sex == Sex.MALE

    def is_adult(self, person: str) -> bool:
        p = self.people[person]
        if p.born_day is None:
            return not p.is_child_role
        return self.day - p.born_day >= 18 * 365

    def carers(self, child: str) -> list[str]:
        """The baby's parents and carers known to the system: mother, fathers, carers,
        and the mother's partner where he or she lives with the baby."""
        key = ("carers", child)
        if key not in self._cache:
            out: list[str] = []
            mother = self.mother(child)
            if mother:
                out.append(mother)
            for kind in (R.MOTHER_OF, R.FATHER_OF, R.CARER_OF):
                out.extend(p for p in self.related_to(child, kind) if p not in out)
            if mother:
                for partner in self.partners(mother):
                    if partner not in out and partner != child and self.lives_with_baby(partner, child):
                        out.append(partner)
            self._cache[key] = out
        return self._cache[key]  # type: ignore[return-value]

    def partners(self, person: str) -> list[str]:
        key = ("partners", person)
        if key not in self._cache:
            out = self.relations(person, R.PARTNER_OF) + self.related_to(person, R.PARTNER_OF)
            self._cache[key] = list(dict.fromkeys(out))
        return self._cache[key]  # type: ignore[return-value]

    def male_carers(self, child: str) -> list[str]:
        """Identified fathers and male carers (male-carer-unknown's definition)."""
        key = ("male-carers", child)
        if key not in self._cache:
            self._cache[key] = self._male_carers(child)
        return self._cache[key]  # type: ignore[return-value]

    def _male_carers(self, child: str) -> list[str]:
        out = list(self.related_to(child, R.FATHER_OF))
        out += [p for p in self.related_to(child, R.CARER_OF) if self.is_male(p) and p not in out]
        mother = self.mother(child)
        if mother:
            out += [
                p
                for p in self.partners(mother)
                if p not in out and p != child and self.is_male(p) and self.lives_with_baby(p, child)
            ]
        return out

    def siblings(self, child: str) -> list[str]:
        out = self.relations(child, R.SIBLING_OF) + self.related_to(child, R.SIBLING_OF)
        mother = self.mother(child)
        if mother:
            out += [c for c in self.relations(mother, R.MOTHER_OF) if c != child]
        return [p for p in dict.fromkeys(out) if p != child]

    # -- the baby ----------------------------------------------------------------

    def born_day(self, child: str) -> int | None:
        return self.people[child].born_day

    def is_born(self, child: str) -> bool:
        born = self.born_day(child)
        return born is not None and born <= self.day

    def age(self, child: str, day: int | None = None) -> int | None:
        born = self.born_day(child)
        if born is None:
            return None
        return (self.day if day is None else day) - born

    def is_under_one(self, child: str, day: int | None = None) -> bool:
        age = self.age(child, day)
        return age is not None and 0 <= age < 365

    def expected_from(self, child: str) -> int | None:
        """The day the expected baby exists for the system (None: not yet)."""
        key = ("expected", child)
        if key not in self._cache:
            born = self.born_day(child)
            mother = self.mother(child)
            first = None
            if mother:
                low = born - PREGNANCY_DAYS if born is not None else -INF
                high = born if born is not None else INF
                for e in self.by_subject.get(mother, ()):
                    if not (low <= e.day < high):
                        continue
                    if (
                        e.kind in ANTENATAL_KINDS
                        or e.agency in MATERNITY_AGENCIES
                        or e.kind == K.CHILD_PROTECTION_PLAN_START
                    ):
                        first = e.day
                        break
            self._cache[key] = first
        return self._cache[key]  # type: ignore[return-value]

    def is_expected(self, child: str) -> bool:
        if self.is_born(child):
            return False
        start = self.expected_from(child)
        return start is not None and start <= self.day

    def ended_on(self, child: str) -> int | None:
        """The day of a stillbirth or death (no alerts for the baby from then on)."""
        key = ("ended", child)
        if key not in self._cache:
            end = None
            if K.STILLBIRTH not in self.kinds and K.DEATH not in self.kinds:
                self._cache[key] = None
                return None
            for e in self.about(child, since=-INF):
                if e.kind in (K.STILLBIRTH, K.DEATH) and (e.kind == K.STILLBIRTH or child in e.subjects):
                    end = e.day
                    break
            self._cache[key] = end
        return self._cache[key]  # type: ignore[return-value]

    def babies(self) -> list[str]:
        """Every child the rules run for today: under one, or expected; alive."""
        out = []
        for p in self.timeline.people:
            if not p.is_child_role:
                continue
            if not (self.is_under_one(p.id) or self.is_expected(p.id)):
                continue
            ended = self.ended_on(p.id)
            if ended is not None and ended <= self.day:
                continue
            out.append(p.id)
        return out

    def about(self, child: str, since: int | None = None) -> list[Event]:
        """Events about the baby; before birth, events about the mother count
        (from the day the expected baby exists, or ``since``)."""
        key = ("about", child, since)
        if key not in self._cache:
            born = self.born_day(child)
            mother = self.mother(child)
            start = self.expected_from(child) if since is None else since
            if mother is None or start is None:
                result = list(self.by_subject.get(child, ()))
            else:
                end = INF if born is None else born
                # One pass over the day-ordered events keeps the order without a sort.
                result = [
                    e
                    for e in self.events
                    if child in e.subjects or (mother in e.subjects and start <= e.day < end)
                ]
            self._cache[key] = result
        return self._cache[key]  # type: ignore[return-value]

    def baby_or_mother(self, child: str, e: Event) -> str:
        """Whom a contact must see: the baby, or before birth the mother."""
        born = self.born_day(child)
        if born is not None and e.day >= born:
            return child
        return self.mother(child) or child

    # -- being seen ----------------------------------------------------------------

    @staticmethod
    def saw(e: Event, person: str) -> bool:
        """The professional saw ``person`` in person at this event."""
        return person in e.seen and e.channel not in REMOTE_CHANNELS and e.outcome not in FAILED_OUTCOMES

    def stays(self, child: str) -> list[tuple[int, int | None]]:
        """Hospital stays (NNU or other) as (admitted, discharged or None)."""
        key = ("stays", child)
        if key not in self._cache:
            stays: list[tuple[int, int | None]] = []
            open_: dict[EventKind, int] = {}
            if not STAY_KINDS.intersection(self.by_kind):
                self._cache[key] = stays
                return stays
            for e in self.by_subject.get(child, ()):
                if e.kind in STAY_STARTS:
                    open_.setdefault(STAY_STARTS[e.kind], e.day)
                elif e.kind in (K.NNU_DISCHARGE, K.HOSPITAL_DISCHARGE) and e.kind in open_:
                    stays.append((open_.pop(e.kind), e.day))
            stays.extend((start, None) for start in open_.values())
            self._cache[key] = sorted(stays)
        return self._cache[key]  # type: ignore[return-value]


    def last_seen(self, child: str, upto: int | None = None) -> int | None:
        """The last day up to ``upto`` the baby was seen in person (hospital days count)."""
        upto = self.day if upto is None else upto
        last = None
        for e in self.by_subject.get(child, ()):
            if e.day > upto:
                break
            # View.saw, inlined: this runs over every event of every baby.
            if child in e.seen and e.channel not in REMOTE_CHANNELS and e.outcome not in FAILED_OUTCOMES:
                last = e.day
        for a, b in self.stays(child):
            if a <= upto:
                end = upto if b is None else min(b, upto)
                last = end if last is None else max(last, end)
        return last

    def seen_since(self, child: str, since: int, exclude: str | None = None) -> int | None:
        """The first day on or after ``since`` the baby was seen in person, if any."""
        first = None
        for e in self.by_subject.get(child, ()):
            if e.day >= since and e.id != exclude and self.saw(e, child):
                first = e.day
                break
        for a, b in self.stays(child):
            end = self.day if b is None else b
            if end >= since and a <= self.day:
                day = max(a, since)
                first = day if first is None else min(first, day)
        return first

    # -- plans, placements, moves ------------------------------------------------------

    def _intervals(self, child: str, start: EventKind, end: EventKind, mother_before_birth: bool) -> list:
        key = ("intervals", child, start)
        if key not in self._cache:
            born = self.born_day(child)
            mother = self.mother(child) if mother_before_birth else None
            out: list[list] = []
            relevant = self.by_kind.get(start, []) + self.by_kind.get(end, [])
            relevant.sort(key=_order)
            for e in relevant:
                about = child in e.subjects or (
                    mother is not None and mother in e.subjects and (born is None or e.day < born or e.kind == end)
                )
                if not about:
                    continue
                if e.kind == start:
                    if not out or out[-1][1] is not None:
                        out.append([e.day, None, e.id])
                elif out and out[-1][1] is None:
                    out[-1][1] = e.day
            self._cache[key] = [tuple(x) for x in out]
        return self._cache[key]  # type: ignore[return-value]

    def plans(self, child: str) -> list[tuple[int, int | None, str]]:
        """Child protection plans (an unborn baby's plan about the mother included)."""
        if K.CHILD_PROTECTION_PLAN_START not in self.kinds:
            return []
        return self._intervals(child, K.CHILD_PROTECTION_PLAN_START, K.CHILD_PROTECTION_PLAN_END, True)

    def on_plan(self, child: str, day: int | None = None) -> bool:
        if K.CHILD_PROTECTION_PLAN_START not in self.kinds:
            return False
        day = self.day if day is None else day
        return any(a <= day and (b is None or day < b) for a, b, _ in self.plans(child))

    def pauses(self, child: str) -> list[tuple[int, int | None, str]]:
        if K.PLACED_AWAY_FROM_PARENTS not in self.kinds:
            return []
        return self._intervals(child, K.PLACED_AWAY_FROM_PARENTS, K.RETURNED_TO_PARENTS, False)

    def paused_since(self, child: str) -> int | None:
        """The day a placement away from the parents began, if the baby is away today."""
        if K.PLACED_AWAY_FROM_PARENTS not in self.kinds:
            return None
        for a, b, _ in self.pauses(child):
            if a <= self.day and (b is None or self.day < b):
                return a
        return None

    def in_pause(self, child: str, day: int) -> bool:
        if K.PLACED_AWAY_FROM_PARENTS not in self.kinds:
            return False
        return any(a <= day and (b is None or day < b) for a, b, _ in self.pauses(child))

    def moved_on(self, child: str) -> int | None:
        if K.MOVED_OUT_OF_AREA not in self.kinds:
            return None
        mother = self.mother(child)
        for e in self.by_kind[K.MOVED_OUT_OF_AREA]:
            if child in e.subjects or (mother and mother in e.subjects):
                return e.day
        return None

    def of_kinds(self, kinds) -> list[Event]:
        """Known events of these kinds, in day order."""
        found = [e for k in kinds for e in self.by_kind.get(k, ())]
        found.sort(key=_order)
        return found

    def memo(self, compute, child: str):
        """``compute(view, child)``, computed once per view (one rule's work that
        another reads)."""
        key = (compute, child)
        found = self._cache.get(key, _MISSING)
        if found is _MISSING:
            found = self._cache[key] = compute(self, child)
        return found

    # -- frozen views ----------------------------------------------------------------------

    def as_of(self, day: int) -> View:
        """The view of an earlier day (for rules that are paused or frozen)."""
        if day not in self._frozen:
            self._frozen[day] = View(self.timeline, day, self.settings)
        return self._frozen[day]


_MISSING = object()
_order = itemgetter(1, 2)  # an Event's (day, recorded_day)
_recorded = itemgetter(2)  # an Event's recorded_day
_findings = itemgetter(9)
_channel = itemgetter(7)
