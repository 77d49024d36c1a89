"""Loading case files into the database: idempotent, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction

from cradle.access import audit
from cradle.records import models as m
from cradle.records.evaluation import reevaluate, replay_into
from cradle.records.nhs_number import is_valid_nhs_number
from cradle.scenarios import Case


@dataclass
class LoadReport:
    family: m.Family
    created: bool
    contacts_added: int
    alerts_open: int


def load_case(case: Case, today: date, today_is_day: int | None = None) -> LoadReport:
    """Put a case into the database as agencies would have recorded it.

    With ``today_is_day`` the case's dates shift so that ``today`` is that day of
    the case, and only what was recorded by then is loaded (the case as it stood
    that day); otherwise the case keeps its own dates. Loading again adds only
    what is missing, so a second load changes nothing.
    """
    with transaction.atomic():
        family = m.Family.objects.filter(reference=case.id).first()
        created = family is None
        if created:
            origin = today - timedelta(days=today_is_day) if today_is_day is not None else case.timeline.origin
            family = m.Family.objects.create(reference=case.id, title=case.title, origin=origin)
        origin = family.origin
        cutoff = (today - origin).days if today_is_day is not None else None

        def on(day: int | None) -> date | None:
            return None if day is None else origin + timedelta(days=day)

        people: dict[str, m.Person] = {}
        for p in case.timeline.people:
            ident = p.identity
            person, _ = m.Person.objects.get_or_create(
                source_key=f"case:{case.id}/{p.id}",
                defaults={
                    "sex": p.sex.value,
                    "nhs_number": ident.nhs_number if ident.nhs_number and is_valid_nhs_number(ident.nhs_number) else "",
                    "given_name": ident.given or "",
                    "family_name": ident.family or "",
                    "born_on": on(p.born_day),
                    "due_on": on(p.due_day),
                },
            )
            people[p.id] = person
            m.FamilyMember.objects.get_or_create(family=family, person=person, defaults={"role": p.role.value, "label": p.id})
            for agency in sorted(p.known_to):
                m.Identity.objects.get_or_create(
                    person=person,
                    agency=agency.value,
                    defaults={
                        "given_name": ident.given or "",
                        "family_name": ident.family or "",
                        "nhs_number": ident.nhs_number or "",
                        "address": ident.address or "",
                        "postcode": ident.postcode or "",
                        "recorded_on": on(case.first_day),
                    },
                )
        if case.index_child and family.index_child_id is None:
            family.index_child = people[case.index_child]
            family.save(update_fields=["index_child"])

        for r in case.timeline.relationships:
            if cutoff is not None and r.from_day is not None and r.from_day > cutoff:
                continue
            for agency in sorted(r.recorded_by):
                m.Relationship.objects.get_or_create(
                    person=people[r.person],
                    kind=r.kind.value,
                    other=people[r.other],
                    recorded_by=agency.value,
                    defaults={"from_on": on(r.from_day)},
                )

        added = 0
        for e in case.timeline.events:
            if cutoff is not None and e.recorded_day > cutoff:
                continue
            contact, made = m.Contact.objects.get_or_create(
                source_key=f"case:{case.id}/{e.id}",
                defaults={
                    "agency": e.agency.value,
                    "kind": e.kind.value,
                    "occurred_on": on(e.day),
                    "recorded_on": on(e.recorded_day),
                    "outcome": e.outcome.value if e.outcome else "",
                    "channel": e.channel.value if e.channel else "",
                    "to_agency": e.to_agency.value if e.to_agency else "",
                    "touchpoint": e.touchpoint.value if e.touchpoint else "",
                    "note": e.note,
                },
            )
            if not made:
                continue
            added += 1
            contact.subjects.set([people[s] for s in e.subjects])
            contact.seen.set([people[s] for s in e.seen])
            contact.delivered_to.set([people[s] for s in e.delivered_to])
            m.ContactFinding.objects.bulk_create([m.ContactFinding(contact=contact, word=w.value) for w in e.findings])

        last = today if cutoff is not None else on(case.last_day)
        if created:
            # Day by day from the first record, so each alert carries the day it was raised.
            replay_into(family, origin + timedelta(days=case.first_day), last)
        elif added:
            reevaluate(family, last)
        if created or added:
            audit.record(actor="system:load", action="load", family=family, what=f"case {case.id}: {added} contacts")
        return LoadReport(family, created, added, family.alerts.filter(status__in=m.Alert.LIVE).count())
