"""Immutable objects for a family's record: people, relationships, events, a timeline.

The small records are NamedTuples: timelines are built for whole populations,
and a NamedTuple is several times cheaper to construct than a frozen dataclass
while just as immutable.

Days are whole numbers counted from a timeline's ``origin`` (a calendar date):
in a case file day 0 is the index child's birth, negative before it. Rules work
in days; dates appear only where a person reads them (due dates, reports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from operator import itemgetter
from typing import NamedTuple

from cradle.domain.vocabulary import (
    Agency,
    Channel,
    EventKind,
    Finding,
    HarmKind,
    Outcome,
    RelationshipKind,
    Role,
    Sex,
    Touchpoint,
)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_address(address: str | None, postcode: str | None) -> str | None:
    """A key under which two records of the same address compare equal.

    Case, punctuation and spacing are ignored; the postcode, when known, is part
    of the key. Real-world address matching is the linkage module's job; this is
    the simple normalisation the rules need for "the same address".
    """
    if not address and not postcode:
        return None
    street = _NON_ALNUM.sub(" ", (address or "").lower()).strip()
    pc = _NON_ALNUM.sub("", (postcode or "").lower())
    return f"{street}|{pc}"


class Identity(NamedTuple):
    given: str | None = None
    family: str | None = None
    nhs_number: str | None = None
    address: str | None = None
    postcode: str | None = None

    @property
    def address_key(self) -> str | None:
        return normalise_address(self.address, self.postcode)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given, self.family) if p) or "(name not recorded)"


class Person(NamedTuple):
    id: str
    role: Role
    sex: Sex = Sex.UNKNOWN
    born_day: int | None = None
    # The expected date of delivery, for a child; None means "born at term" (born_day).
    due_day: int | None = None
    identity: Identity = Identity()
    # Agencies that hold a record of the person from the start.
    known_to: frozenset[Agency] = frozenset()

    @property
    def is_child_role(self) -> bool:
        return self.role in (Role.CHILD, Role.SIBLING)

    def age_on(self, day: int) -> int | None:
        return None if self.born_day is None else day - self.born_day


class Relationship(NamedTuple):
    """``person`` is ``kind`` ``other`` (``dad father_of baby``).

    It exists in truth; the system knows of it only when an agency in
    ``recorded_by`` recorded it, from ``from_day`` (or from the start).
    """

    id: str
    person: str
    kind: RelationshipKind
    other: str
    recorded_by: frozenset[Agency] = frozenset()
    from_day: int | None = None

    def known_on(self, day: int) -> bool:
        return bool(self.recorded_by) and (self.from_day is None or self.from_day <= day)


class Event(NamedTuple):
    """One contact or record, as an agency recorded it."""

    id: str
    day: int
    recorded_day: int
    agency: Agency
    kind: EventKind
    subjects: tuple[str, ...]
    outcome: Outcome | None = None
    channel: Channel | None = None
    seen: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    to_agency: Agency | None = None
    delivered_to: tuple[str, ...] = ()
    touchpoint: Touchpoint | None = None
    note: str = ""


# Bulk loading: an Event from a complete row of its 14 fields, in field order, made
# without the keyword handling of Event(...) (a C-level call; loaders of many rows use it).
Event.from_row = partial(tuple.__new__, Event)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Harm:
    day: int
    kind: HarmKind


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything recorded about one family, in day order.

    ``events`` are sorted by (day, recorded_day, id order in the source) so that
    the rules can scan them once. A timeline holds the truth as told to the
    system; what is known on a given day is decided by ``recorded_day`` and the
    relationships' ``recorded_by``/``from_day`` (see ``known_on``).
    """

    origin: date
    people: tuple[Person, ...]
    relationships: tuple[Relationship, ...] = ()
    events: tuple[Event, ...] = ()
    index_child: str | None = None

    def person(self, person_id: str) -> Person:
        for p in self.people:
            if p.id == person_id:
                return p
        raise KeyError(person_id)

    def date_of(self, day: int) -> date:
        return self.origin + timedelta(days=day)

    def day_of(self, when: date) -> int:
        return (when - self.origin).days

    def known_on(self, day: int) -> Timeline:
        """The timeline cut down to what the system had been told by the end of ``day``."""
        return Timeline(
            origin=self.origin,
            people=self.people,
            relationships=tuple(r for r in self.relationships if r.known_on(day)),
            events=tuple(e for e in self.events if e.recorded_day <= day),
            index_child=self.index_child,
        )

    @property
    def first_day(self) -> int | None:
        return min((e.day for e in self.events), default=None)

    @property
    def last_day(self) -> int | None:
        return max((e.recorded_day for e in self.events), default=None)


_DAY_ORDER = itemgetter(1, 2)  # (day, recorded_day) of an Event


def sort_events(events: list[Event] | tuple[Event, ...]) -> tuple[Event, ...]:
    """Events in day order (then the order they were recorded; stable otherwise)."""
    return tuple(sorted(events, key=_DAY_ORDER))
