"""A synthetic family's rows as the core's ``Timeline`` (what the rules read)."""

from __future__ import annotations

from cradle.domain import (
    Agency,
    Channel,
    Event,
    EventKind,
    Finding,
    Identity,
    Outcome,
    Person,
    Relationship,
    RelationshipKind,
    Role,
    Sex,
    Timeline,
)
from cradle.domain.vocabulary import Touchpoint

AG, KI, OU, CH, FI, TP, RK, RO, SX = (
    e._value2member_map_
    for e in (Agency, EventKind, Outcome, Channel, Finding, Touchpoint, RelationshipKind, Role, Sex)
)
_EMPTY: frozenset = frozenset()


def _agencies(names) -> frozenset:
    return frozenset(AG[a] for a in names) if names else _EMPTY


def to_timeline(fam: dict) -> Timeline:
    """The family's Timeline. Event ids are ``e<n>`` in the family's day order, relationship
    ids ``r<n>``, people's ids their labels (``baby``, ``mum``, ``dad``...)."""
    people = tuple(
        Person(
            pid,
            RO[role],
            SX[sex],
            born,
            due,
            Identity(given, family, nhs, address, postcode),
            _agencies(known),
        )
        for pid, role, sex, born, due, given, family, nhs, address, postcode, known in fam["people"]
    )
    rels = tuple(
        Relationship(f"r{i}", who, RK[kind], other, _agencies(by), from_day)
        for i, (who, kind, other, by, from_day) in enumerate(fam["relationships"])
    )
    row = Event.from_row
    events = tuple(
        row((f"e{i}", day, rday, AG[ag], KI[kind], tuple(subjects), OU[out] if out else None, CH[ch] if ch else None,
             tuple(seen), tuple(FI[w] for w in words) if words else (), AG[to] if to else None, tuple(delivered),
             TP[tp] if tp else None, ""))
        for i, (day, rday, ag, kind, subjects, out, ch, seen, words, to, delivered, tp) in enumerate(fam["events"])
    )  # fmt: skip
    return Timeline(fam["origin"], people, rels, events, fam["index_child"])
