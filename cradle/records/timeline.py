"""Rows to the core's domain objects: a family's Timeline, built from the database.

Ids in the timeline are the rows' own: people ``p<pk>``, contacts ``c<pk>``,
relationships ``r<pk>`` (the lowest pk of the agencies' rows for one
relationship), so findings and alerts point back at rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple

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
from cradle.records import bulk
from cradle.records import models as m


def person_id(pk: int) -> str:
    return f"p{pk}"


def pk_of(domain_id: str) -> int:
    return int(domain_id[1:])


def _day(origin: date, when: date | None) -> int | None:
    return None if when is None else (when - origin).days


class Restore(NamedTuple):
    """What was withdrawn, read back as if it had not been: the record as it would be
    without the withdrawal (``cradle.records.evaluation`` asks whether an alert would
    stand on it). ``contacts``: contacts entered in error, counting; ``words``: each
    contact's withdrawn findings, found again; ``subjects``: whom they named, its subjects
    again (so that a contact a withdrawal took off the family is on its record again)."""

    contacts: frozenset[int] = frozenset()
    words: Mapping[int, Iterable[str]] = {}
    subjects: Mapping[int, Iterable[int]] = {}


NOTHING = Restore()


def timeline_for(family: m.Family, restore: Restore = NOTHING) -> Timeline:
    """The family's whole record as the core sees it (what is known when is the core's job),
    or as it would be had what ``restore`` names not been withdrawn."""
    return timelines_for([family], restore)[family.pk]


def timelines_for(families: list[m.Family], restore: Restore = NOTHING) -> dict[int, Timeline]:
    """Several families' timelines, each exactly ``timeline_for``'s, read together: a few
    queries for the lot rather than a dozen for each (an import's batch re-evaluates
    hundreds of families at once), the links' look-ups (``_linked_many``) included."""
    if not families:
        return {}
    members_of: dict[int, list[_MemberRow]] = {f.pk: [] for f in families}
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(members_of)):
            cursor.execute(_MEMBERS.format(families=", ".join(["%s"] * len(chunk))), chunk)
            for family, person, role, sex, born, due, given, surname, nhs in cursor.fetchall():
                born = None if born is None else _as_date(born)
                due = None if due is None else _as_date(due)
                members_of[family].append(
                    _MemberRow(
                        person, role, _PersonRow(person, sex, born, due, given, surname, nhs)
                    )
                )
    shapes = {}  # family pk: (members, member pks, aliases, household)
    wanted: set[int] = set()
    # Linked identities and household adults from other agencies (cradle.links).
    linked = _linked_many(members_of)
    for family in families:
        members = members_of[family.pk]
        member_pks = {fm.person_id for fm in members}
        aliases, household = linked[family.pk]
        shapes[family.pk] = (members, member_pks, aliases, household)
        wanted |= member_pks | set(aliases) | {p.pk for p in household}
    held_by: dict[int, list[_IdentityRow]] = defaultdict(list)
    rows = [
        _IdentityRow(*row[:-1], _as_date(row[-1]))
        for row in bulk.pairs(m.Identity, _IdentityRow._fields, "person", sorted(wanted))
    ]
    for ident in sorted(rows, key=lambda i: (i.recorded_on, i.id)):
        held_by[ident.person_id].append(ident)
    all_members = sorted({pk for shape in shapes.values() for pk in shape[1]})
    in_a_family = set(all_members)
    relationship_rows = sorted(
        _RelationshipRow(pk, a, kind, b, by, None if on is None else _as_date(on))
        for pk, a, kind, b, by, on in bulk.pairs(
            m.Relationship,
            ("id", "person", "kind", "other", "recorded_by", "from_on"),
            "person",
            all_members,
            entered_in_error=False,
        )
        if b in in_a_family
    )
    events_of = _events_of(
        restore,
        {
            family.pk: (family.origin, shape[1] | {p.pk for p in shape[3]}, shape[2])
            for family, shape in ((f, shapes[f.pk]) for f in families)
        },
    )
    return {
        family.pk: _timeline(
            family, *shapes[family.pk], held_by, relationship_rows, events_of[family.pk]
        )
        for family in families
    }


class _PersonRow(NamedTuple):
    """What a timeline reads of a member's ``Person``."""

    pk: int
    sex: str
    born_on: date | None
    due_on: date | None
    given_name: str
    family_name: str
    nhs_number: str


class _MemberRow(NamedTuple):
    """What a timeline reads of a ``FamilyMember``: the person, their role."""

    person_id: int
    role: str
    person: _PersonRow


# The families' members with their people, in the order SQLite reads them by the family
# index (family, then row), made explicit so that PostgreSQL gives the same.
_MEMBERS = (
    "SELECT fm.family_id, fm.person_id, fm.role, p.sex, p.born_on, p.due_on, p.given_name, "
    "p.family_name, p.nhs_number FROM records_familymember fm "
    "JOIN records_person p ON p.id = fm.person_id "
    "WHERE fm.family_id IN ({families}) ORDER BY fm.family_id, fm.id"
)


class _IdentityRow(NamedTuple):
    """What a timeline reads of an ``Identity`` (read as plain rows: this runs on every write)."""

    id: int
    person_id: int
    agency: str
    given_name: str
    family_name: str
    address: str
    postcode: str
    recorded_on: date


class _RelationshipRow(NamedTuple):
    """What a timeline reads of a ``Relationship``."""

    pk: int
    person_id: int
    kind: str
    other_id: int
    recorded_by: str
    from_on: date | None


CHUNK = 500  # ids bound to one query (databases limit a query's parameters)


def _chunks(ids: list[int], size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _timeline(
    family: m.Family,
    members: list[_MemberRow],
    member_pks: set[int],
    aliases: dict[int, int],
    household: list[m.Person],
    held_by: dict[int, list[_IdentityRow]],
    relationship_rows: list[_RelationshipRow],
    events: list[Event],
) -> Timeline:
    origin = family.origin
    identities = defaultdict(list)
    linked_agencies: dict[int, set[Agency]] = defaultdict(set)
    for pk in member_pks | set(aliases) | {p.pk for p in household}:
        for ident in held_by.get(pk, ()):
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

    grouped: dict[tuple, list[_RelationshipRow]] = defaultdict(list)
    for r in relationship_rows:
        if r.person_id in member_pks and r.other_id in member_pks:
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

    return Timeline(
        origin=origin,
        people=tuple(people),
        relationships=tuple(relationships),
        events=sort_events(events),
        index_child=person_id(family.index_child_id) if family.index_child_id else None,
    )


# The contacts about the families' members, as plain SQL rows: this runs on every
# write (live re-evaluation), and model objects or even Django's row converters
# cost several times the query. The SQL is plain enough for SQLite and PostgreSQL.
_ABOUT = (
    "SELECT s.contact_id, s.person_id FROM records_contact_subjects s "
    "JOIN records_contact c ON c.id = s.contact_id "
    "WHERE s.person_id IN ({members}) AND (NOT c.entered_in_error{restored})"
)
_ROWS = (
    "SELECT id, agency, kind, occurred_on, recorded_on, outcome, channel, to_agency, touchpoint "
    "FROM records_contact WHERE id IN ({about})"
)
_LINKS = "SELECT contact_id, person_id FROM {table} WHERE contact_id IN ({about})"
_WORDS = "SELECT contact_id, word FROM records_contactfinding WHERE contact_id IN ({about})"
CONTACT_CHUNK = 20_000  # contact ids written into one query (SQLite's statement length)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _linked_many(
    members_of: dict[int, list[m.FamilyMember]],
) -> dict[int, tuple[dict[int, int], list[m.Person]]]:
    """Each family's other people's rows linked to a member, and household adults
    (cradle.links, when installed), read for all the families together."""
    from django.apps import apps

    if not apps.is_installed("cradle.links"):
        return {family: ({}, []) for family in members_of}
    from cradle.links.timeline import linked_people_many

    return linked_people_many(members_of)


def _events_of(
    restore: Restore,
    wanted: dict[int, tuple[date, set[int], dict[int, int]]],
) -> dict[int, list[Event]]:
    """Each family's events (``wanted``: family pk: its origin, the people whose contacts
    are its, and ``aliases``, linked people whose contacts are a member's): the contacts
    about these people, read for every family at once."""
    everyone: set[int] = set()
    for _origin, pks, aliases in wanted.values():
        everyone |= pks | set(aliases)
    about_person: dict[int, set[int]] = defaultdict(set)
    links: dict[str, dict[int, list[int]]] = {
        t: defaultdict(list)
        for t in (
            "records_contact_subjects",
            "records_contact_seen",
            "records_contact_delivered_to",
        )
    }
    words: dict[int, list[str]] = defaultdict(list)
    rows = []
    # Integers, written into the SQL (a handful at most: an alert's evidence).
    restored = "".join(f" OR c.id = {int(pk)}" for pk in sorted(restore.contacts))
    with connection.cursor() as cursor:
        for chunk in _chunks(sorted(everyone)):
            cursor.execute(
                _ABOUT.format(members=", ".join(["%s"] * len(chunk)), restored=restored), chunk
            )
            for contact_id, person in cursor.fetchall():
                about_person[person].add(contact_id)
        for contact_id, people in restore.subjects.items():
            for person in people:
                if person in everyone:
                    about_person[person].add(contact_id)
        found = sorted(set().union(*about_person.values())) if about_person else []
        for start in range(0, len(found), CONTACT_CHUNK):
            # The ids are integers the database just gave us: written into the SQL, not
            # bound, so that these queries need no subquery and no parameter limit applies.
            about = ", ".join(str(int(i)) for i in found[start : start + CONTACT_CHUNK])
            params: list = []
            for table, grouped in links.items():
                cursor.execute(_LINKS.format(table=table, about=about), params)
                for contact_id, person in cursor.fetchall():
                    grouped[contact_id].append(person)
            cursor.execute(_WORDS.format(about=about), params)
            for contact_id, word in cursor.fetchall():
                words[contact_id].append(word)
            cursor.execute(_ROWS.format(about=about), params)
            rows += cursor.fetchall()
    for contact_id, people in restore.subjects.items():
        had = links["records_contact_subjects"][contact_id]
        had += [p for p in people if p not in had]
    for contact_id, found_again in restore.words.items():
        words[contact_id] += [w for w in found_again if w not in words[contact_id]]
    # Each family's rows in the order the database gave them (as one family's own query would).
    rows_by_id = {r[0]: (n, r) for n, r in enumerate(rows)}
    return {
        family: _events(origin, pks, aliases, about_person, links, words, rows_by_id)
        for family, (origin, pks, aliases) in wanted.items()
    }


def _events(
    origin: date,
    member_pks: set[int],
    aliases: dict[int, int],
    about_person: dict[int, set[int]],
    links: dict[str, dict[int, list[int]]],
    words: dict[int, list[str]],
    rows_by_id: dict[int, tuple[int, tuple]],
) -> list[Event]:
    """The contacts about these people; a linked person's contacts are the member's (``aliases``)."""
    member_pks = member_pks | set(aliases)
    found: set[int] = set()
    for pk in member_pks:
        found |= about_person.get(pk, set())
    if not found:
        return []
    rows = [r for _n, r in sorted(rows_by_id[i] for i in found if i in rows_by_id)]
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
