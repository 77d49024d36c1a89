"""Rows to the core's domain objects: a family's Timeline, built from the database.

Ids in the timeline are the rows' own: people ``p<pk>``, contacts ``c<pk>``,
relationships ``r<pk>`` (the lowest pk of the agencies' rows for one
relationship), so findings and alerts point back at rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

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
    Touchpoint,
    sort_events,
)
from cradle.records import models as m


def person_id(pk: int) -> str:
    return f"p{pk}"


def pk_of(domain_id: str) -> int:
    return int(domain_id[1:])


def _day(origin: date, when: date | None) -> int | None:
    return None if when is None else (when - origin).days


def timeline_for(family: m.Family) -> Timeline:
    """The family's whole record as the core sees it (what is known when is the core's job)."""
    origin = family.origin
    members = list(m.FamilyMember.objects.filter(family=family).select_related("person"))
    member_pks = {fm.person_id for fm in members}
    identities = defaultdict(list)
    for ident in m.Identity.objects.filter(person_id__in=member_pks).order_by("recorded_on", "id"):
        identities[ident.person_id].append(ident)

    people = []
    for fm in members:
        p = fm.person
        held = identities.get(p.pk, [])
        newest = held[-1] if held else None
        people.append(
            Person(
                id=person_id(p.pk),
                role=Role(fm.role),
                sex=Sex(p.sex),
                born_day=_day(origin, p.born_on),
                due_day=_day(origin, p.due_on),
                identity=Identity(
                    given=p.given_name or (newest.given_name if newest else None) or None,
                    family=p.family_name or (newest.family_name if newest else None) or None,
                    nhs_number=p.nhs_number or None,
                    address=(newest.address if newest else None) or None,
                    postcode=(newest.postcode if newest else None) or None,
                ),
                known_to=frozenset(Agency(i.agency) for i in held),
            )
        )

    grouped: dict[tuple, list[m.Relationship]] = defaultdict(list)
    rows = m.Relationship.objects.filter(
        person_id__in=member_pks, other_id__in=member_pks, entered_in_error=False
    ).order_by("id")
    for r in rows:
        grouped[(r.person_id, r.kind, r.other_id)].append(r)
    relationships = []
    for (a, kind, b), rs in grouped.items():
        froms = [r.from_on for r in rs]
        relationships.append(
            Relationship(
                id=f"r{rs[0].pk}",
                person=person_id(a),
                kind=RelationshipKind(kind),
                other=person_id(b),
                recorded_by=frozenset(Agency(r.recorded_by) for r in rs),
                from_day=None if any(f is None for f in froms) else _day(origin, min(froms)),
            )
        )

    contacts = (
        m.Contact.objects.filter(subjects__in=member_pks, entered_in_error=False)
        .distinct()
        .prefetch_related("subjects", "seen", "delivered_to", "findings")
    )
    events = []
    for c in contacts:
        subjects = tuple(person_id(s.pk) for s in c.subjects.all() if s.pk in member_pks)
        events.append(
            Event(
                id=f"c{c.pk}",
                day=_day(origin, c.occurred_on),
                recorded_day=_day(origin, c.recorded_on),
                agency=Agency(c.agency),
                kind=EventKind(c.kind),
                subjects=subjects,
                outcome=Outcome(c.outcome) if c.outcome else None,
                channel=Channel(c.channel) if c.channel else None,
                seen=tuple(person_id(s.pk) for s in c.seen.all()),
                findings=tuple(Finding(f.word) for f in c.findings.all()),
                to_agency=Agency(c.to_agency) if c.to_agency else None,
                delivered_to=tuple(person_id(s.pk) for s in c.delivered_to.all()),
                touchpoint=Touchpoint(c.touchpoint) if c.touchpoint else None,
                note=c.note,
            )
        )
    return Timeline(
        origin=origin,
        people=tuple(people),
        relationships=tuple(relationships),
        events=sort_events(events),
        index_child=person_id(family.index_child_id) if family.index_child_id else None,
    )
