"""Rows to the core's domain objects: a family's Timeline, built from the database.

Ids in the timeline are the rows' own: people ``p<pk>``, contacts ``c<pk>``,
relationships ``r<pk>`` (the lowest pk of the agencies' rows for one
relationship), so findings and alerts point back at rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db import connection

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
    # Linked identities and household adults from other agencies (cradle.links).
    aliases, household = _linked(members)
    identities = defaultdict(list)
    linked_agencies: dict[int, set[Agency]] = defaultdict(set)
    for ident in m.Identity.objects.filter(
        person_id__in=member_pks | set(aliases) | {p.pk for p in household}
    ).order_by("recorded_on", "id"):
        if ident.person_id in aliases:
            # A linked record says which agencies know the member, not where they live.
            linked_agencies[aliases[ident.person_id]].add(Agency(ident.agency))
        else:
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
                known_to=frozenset({Agency(i.agency) for i in held} | linked_agencies[p.pk]),
            )
        )
    for p in household:
        held = identities.get(p.pk, [])
        newest = held[-1]
        people.append(
            Person(
                id=person_id(p.pk),
                role=Role.ADULT,
                sex=Sex(p.sex),
                born_day=_day(origin, p.born_on),
                identity=Identity(
                    given=p.given_name or newest.given_name or None,
                    family=p.family_name or newest.family_name or None,
                    nhs_number=p.nhs_number or None,
                    address=newest.address or None,
                    postcode=newest.postcode or None,
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

    events = _events(origin, member_pks | {p.pk for p in household}, aliases)
    return Timeline(
        origin=origin,
        people=tuple(people),
        relationships=tuple(relationships),
        events=sort_events(events),
        index_child=person_id(family.index_child_id) if family.index_child_id else None,
    )


# The contacts about the family's members, as plain SQL rows: this runs on every
# write (live re-evaluation), and model objects or even Django's row converters
# cost several times the query. The SQL is plain enough for SQLite and PostgreSQL.
_ABOUT = (
    "SELECT s.contact_id FROM records_contact_subjects s JOIN records_contact c ON c.id = s.contact_id "
    "WHERE s.person_id IN ({members}) AND NOT c.entered_in_error"
)
_ROWS = (
    "SELECT id, agency, kind, occurred_on, recorded_on, outcome, channel, to_agency, touchpoint "
    "FROM records_contact WHERE id IN ({about})"
)
_LINKS = "SELECT contact_id, person_id FROM {table} WHERE contact_id IN ({about})"
_WORDS = "SELECT contact_id, word FROM records_contactfinding WHERE contact_id IN ({about})"


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _linked(members: list[m.FamilyMember]) -> tuple[dict[int, int], list[m.Person]]:
    """Other people's rows linked to a member, and household adults (cradle.links, when installed)."""
    from django.apps import apps

    if not apps.is_installed("cradle.links"):
        return {}, []
    from cradle.links.timeline import linked_people

    return linked_people(members)


def _events(
    origin: date, member_pks: set[int], aliases: dict[int, int] | None = None
) -> list[Event]:
    """The contacts about these people; a linked person's contacts are the member's (``aliases``)."""
    aliases = aliases or {}
    member_pks = member_pks | set(aliases)
    if not member_pks:
        return []
    links: dict[str, dict[int, list[int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_ABOUT.format(members=", ".join(["%s"] * len(member_pks))), list(member_pks))
        found = {contact_id for (contact_id,) in cursor.fetchall()}
        if not found:
            return []
        # The ids are integers the database just gave us: written into the SQL, not bound,
        # so that the next four queries need no subquery and no parameter limit applies.
        about = ", ".join(str(int(i)) for i in found)
        params: list = []
        for table in ("records_contact_subjects", "records_contact_seen", "records_contact_delivered_to"):
            grouped: dict[int, list[int]] = defaultdict(list)
            cursor.execute(_LINKS.format(table=table, about=about), params)
            for contact_id, person in cursor.fetchall():
                grouped[contact_id].append(person)
            links[table] = grouped
        words: dict[int, list[str]] = defaultdict(list)
        cursor.execute(_WORDS.format(about=about), params)
        for contact_id, word in cursor.fetchall():
            words[contact_id].append(word)
        cursor.execute(_ROWS.format(about=about), params)
        rows = cursor.fetchall()
    subjects, seen, delivered = (
        links["records_contact_subjects"],
        links["records_contact_seen"],
        links["records_contact_delivered_to"],
    )
    ids: dict[int, str] = {}

    def pid(pk: int) -> str:
        found = ids.get(pk)
        if found is None:
            found = ids[pk] = f"p{aliases.get(pk, pk)}"
        return found

    agency, kind, outcome, channel, touchpoint, finding = (
        Agency._value2member_map_,
        EventKind._value2member_map_,
        Outcome._value2member_map_,
        Channel._value2member_map_,
        Touchpoint._value2member_map_,
        Finding._value2member_map_,
    )
    row = Event.from_row
    events = []
    for pk, ag, kd, occurred, recorded, out, ch, to, tp in rows:
        events.append(
            row(
                (
                    f"c{pk}",
                    (_as_date(occurred) - origin).days,
                    (_as_date(recorded) - origin).days,
                    agency[ag],
                    kind[kd],
                    tuple(dict.fromkeys(pid(p) for p in subjects.get(pk, ()) if p in member_pks)),
                    outcome[out] if out else None,
                    channel[ch] if ch else None,
                    tuple(pid(p) for p in seen.get(pk, ())),
                    tuple(finding[w] for w in words.get(pk, ())),
                    agency[to] if to else None,
                    tuple(pid(p) for p in delivered.get(pk, ())),
                    touchpoint[tp] if tp else None,
                    "",  # no rule reads free text, and it is the bulk of a row
                )
            )
        )
    return events
