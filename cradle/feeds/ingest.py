"""Writing checked records: idempotent on the agency's own ids, versioned, quarantined.

A batch of records is one transaction: each record is checked and its references
resolved before anything of it is written, so it is either written whole or held in
quarantine with its reasons; the families it touched are re-evaluated once each, at the
end of the batch, in the same transaction (or, for a file, queued in that transaction and
evaluated once when the file ends: ``cradle.records.evaluation.evaluate_due``). A process
killed in the middle loses only its open batch, and running the same input again finds what was written and changes
nothing there: the end state is that of an uninterrupted run.

This is a system writer beside ``cradle.records.actions`` (whose actions check a
person's access with ``family_for``): like ``cradle.records.loading`` it writes, then
re-evaluates each family with ``reevaluate`` (``reevaluate_many``), and the caller audits the job or call
with one system-actor entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, OperationalError, models, transaction
from django.utils import timezone

from cradle.feeds import records as rec
from cradle.feeds.models import Message, QuarantineItem, SourceRecord, SourceVersion
from cradle.records import bulk
from cradle.records import models as m
from cradle.records.evaluation import queue_families, reevaluate_many


@dataclass
class Item:
    """One record read from a message: its place in it, raw content and fields (or the
    problems met reading it)."""

    locator: str
    kind: str
    raw: bytes
    data: dict | None
    problems: list[dict] = field(default_factory=list)
    record_type: str = ""
    context: dict = field(default_factory=dict)
    # The message that carried it, when not the batch's own (the API's group commit,
    # cradle.feeds.group, writes many calls' records in one batch).
    message: Message | None = None
    # The version of the record its content was made from (0: none sent before), when it
    # was made from what was sent before (a FHIR finding joining its Encounter): written
    # only over that version, else ``Stale``.
    based_on: int | None = None


@dataclass
class Result:
    created: int = 0
    versioned: int = 0
    unchanged: int = 0
    quarantined: list[QuarantineItem] = field(default_factory=list)
    families: set[int] = field(default_factory=set)
    written: list[tuple[str, str, str]] = field(default_factory=list)  # (locator, kind, state)
    # Each item's own outcome, by id(item): its state, the families it touched and its
    # quarantine row (the API's group commit answers each call with its own). One batch's
    # only: ``add`` leaves it out (a file's results are added batch after batch).
    each: dict[int, tuple[str, set[int], QuarantineItem | None]] = field(default_factory=dict)
    # Quarantined records not in ``quarantined`` (``add`` keeps the first ``KEEP``).
    dropped: int = 0
    # A file's run resumed after an earlier one was stopped: the rows it had written.
    resumed_after: int = 0

    # Records a result added batch after batch keeps in ``quarantined`` and ``written``
    # (a file's, streamed: its memory must not grow with the file), the rest counted.
    KEEP = 1000

    @property
    def held(self) -> int:
        """How many records were held in quarantine, all of them."""
        return len(self.quarantined) + self.dropped

    def add(self, other: Result) -> None:
        self.created += other.created
        self.versioned += other.versioned
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.dropped += other.dropped
        if len(self.quarantined) > self.KEEP:
            self.dropped += len(self.quarantined) - self.KEEP
            del self.quarantined[self.KEEP :]
        self.families |= other.families
        self.written += other.written[: max(0, self.KEEP - len(self.written))]

    def took(self, item: Item, state: str, families=(), held: QuarantineItem | None = None):
        """One item's outcome (the counts are the caller's)."""
        self.written.append((item.locator, item.kind, state))
        self.each[id(item)] = (state, set(families), held)
        if held is not None:
            self.quarantined.append(held)


class Stale(Exception):
    """A record made from what was sent before (``Item.based_on``) met a newer version,
    written by another import since it was read: nothing is written, and the message is
    read again (``run_again``), from what is there now."""


# What a write that failed for another writer's sake raises (``transient`` says which
# of these were): caught by whatever takes it again (``run_again``, the API's Bundles,
# ``cradle import``).
WRITE_CONFLICTS = (IntegrityError, OperationalError, Stale)


class Refused(Exception):
    def __init__(self, field_: str, problem: str):
        super().__init__(problem)
        self.reasons = [{"field": field_, "problem": problem}]


def source_key(agency: str, source_id: str) -> str:
    key = f"feed:{agency}:{source_id}"
    if len(key) > 200:  # the column's width: a long id is kept whole in SourceRecord
        key = f"feed:{agency}:sha256:{hashlib.sha256(source_id.encode()).hexdigest()}"
    return key


def _label(agency: str, source_id: str) -> str:
    label = f"{agency}:{source_id}"
    return (
        label
        if len(label) <= 50
        else f"{agency[:20]}:{hashlib.sha1(source_id.encode()).hexdigest()[:28]}"
    )


class _Writer:
    def __init__(self, agency: str, message: Message, today: date):
        self.agency, self.message, self.today = agency, message, today
        self.people: dict[str, int] = {}
        # Records held in this batch and the ids they name: their families marked at the
        # batch's end, together (``mark_many``).
        self.held: list[tuple[QuarantineItem, list[str]]] = []

    # -- references -------------------------------------------------------------------------
    def person_pk(self, source_id: str, field_: str) -> int:
        pk = self.people.get(source_id)
        if pk is None:
            pk = (
                SourceRecord.objects.filter(
                    agency=self.agency, kind=rec.PERSON, source_id=source_id
                )
                .values_list("person_id", flat=True)
                .first()
            )
            if pk is None:
                raise Refused(
                    field_,
                    _NOBODY,
                )
            self.people[source_id] = pk
        return pk

    def learn(self, source_ids) -> None:
        """The people these ids of this agency became, read together (for ``person_pk``)."""
        self.people.update(
            bulk.pairs(
                SourceRecord,
                ("source_id", "person_id"),
                "source_id",
                list(source_ids),
                agency=self.agency,
                kind=rec.PERSON,
            )
        )

    def families_of(self, person_pks) -> set[int]:
        return {
            family
            for _person, family in bulk.pairs(
                m.FamilyMember, ("person", "family"), "person", person_pks
            )
        }

    # -- one record -------------------------------------------------------------------------
    def write(
        self, kind: str, clean: dict, message: Message, based_on: int | None = None
    ) -> tuple[str, set[int]]:
        digest = rec.content_hash(clean)
        # Locked (PostgreSQL): another write of this record at once waits for this one and
        # then reads its version, rather than meeting it at the version's unique key.
        found = (
            SourceRecord.objects.select_for_update()
            .filter(agency=self.agency, kind=kind, source_id=clean["source_id"])
            .first()
        )
        if based_on is not None and (found.version if found else 0) != based_on:
            # Another import wrote it since it was read: its content, made from the version
            # read, would leave out what that one sent (an Observation's finding).
            raise Stale(kind)
        if found is not None and found.content_hash == digest:
            if kind == rec.PERSON:
                self.people[clean["source_id"]] = found.person_id
            return "unchanged", set()
        writer = {
            rec.PERSON: self._person,
            rec.RELATIONSHIP: self._relationship,
            rec.CONTACT: self._contact,
        }[kind]
        families = writer(clean, found)
        if found is None:
            found = SourceRecord(
                agency=self.agency, kind=kind, source_id=clean["source_id"], version=0
            )
        found.version += 1
        found.content_hash = digest
        if kind == rec.PERSON:
            found.person_id = self.people[clean["source_id"]]
        elif kind == rec.RELATIONSHIP:
            found.relationship_id = self._relationship_pk
        else:
            found.contact_id = self._contact_pk
        found.save()
        SourceVersion.objects.create(
            record=found,
            version=found.version,
            content=rec.as_json(clean),
            content_hash=digest,
            message=message,
        )
        return ("created" if found.version == 1 else "versioned"), families

    def _person(self, clean: dict, found: SourceRecord | None) -> set[int]:
        child_pk = self.person_pk(clean["child"], "child") if clean["child"] else None
        if (
            child_pk is not None
            and not m.FamilyMember.objects.filter(person_id=child_pk, role="child").exists()
        ):
            raise Refused("child", "the person named as the child is not a baby of a family")
        key = source_key(self.agency, clean["source_id"])
        fields = {
            "sex": clean["sex"],
            "nhs_number": clean["nhs_number"],
            "given_name": clean["given_name"],
            "family_name": clean["family_name"],
            "born_on": clean["born_on"],
            "due_on": clean["due_on"],
        }
        if found is not None:
            person = m.Person.objects.get(pk=found.person_id)
            if person.source_key == key:  # ours: the new version is the record
                relink = any(getattr(person, n) != fields[n] for n in _LINKED_BY)
                for name, value in fields.items():
                    setattr(person, name, value)
                person.save(update_fields=list(fields))
                if relink:  # every agency's identity of them is linked with these
                    m.Identity.objects.filter(person=person).update(**m.LINK_AGAIN)
        else:
            person = None
            if clean["nhs_number"]:
                # The same person already known to Cradle by their NHS number (check digit verified).
                person = (
                    m.Person.objects.filter(nhs_number=clean["nhs_number"]).order_by("pk").first()
                )
            if person is None:
                person = m.Person.objects.filter(source_key=key).first() or m.Person.objects.create(
                    source_key=key, **fields
                )
        found_person = person
        self.people[clean["source_id"]] = found_person.pk
        values = {name: clean[name] for name in _IDENTITY_FIELDS}
        values["recorded_on"] = self.today
        m.Identity.objects.update_or_create(
            person=found_person,
            agency=self.agency,
            create_defaults=values,  # due to be linked, as made
            # Changed: to be linked again as it now stands.
            defaults={**values, **m.LINK_AGAIN},
        )
        label = _label(self.agency, clean["source_id"])
        if clean["role"] == "child":
            if not m.FamilyMember.objects.filter(person=found_person, role="child").exists():
                origin = clean["born_on"] or clean["due_on"] or self.today
                family, _ = m.Family.objects.get_or_create(
                    reference=source_key(self.agency, clean["source_id"]),
                    defaults={
                        "origin": origin,
                        "index_child": found_person,
                        "title": "Family from an agency feed",
                    },
                )
                m.FamilyMember.objects.get_or_create(
                    family=family, person=found_person, defaults={"role": "child", "label": label}
                )
        else:
            for family_pk in self.families_of([child_pk]):
                m.FamilyMember.objects.get_or_create(
                    family_id=family_pk,
                    person=found_person,
                    defaults={"role": clean["role"], "label": label},
                )
        return self.families_of([found_person.pk])

    def _relationship(self, clean: dict, found: SourceRecord | None) -> set[int]:
        a = self.person_pk(clean["person"], "person")
        b = self.person_pk(clean["other"], "other")
        if found is not None and found.relationship_id:
            old = m.Relationship.objects.get(pk=found.relationship_id)
            if (old.person_id, old.kind, old.other_id) != (a, clean["kind"], b):
                old.entered_in_error = True  # superseded by the new version; kept
                old.save(update_fields=["entered_in_error"])
        row, _ = m.Relationship.objects.update_or_create(
            person_id=a,
            kind=clean["kind"],
            other_id=b,
            recorded_by=self.agency,
            defaults={"from_on": clean["from_on"], "entered_in_error": False},
        )
        self._relationship_pk = row.pk
        # A parent or carer of a baby joins the baby's family.
        role = rec.ROLE_OF_KIND.get(clean["kind"])
        if clean["kind"] == "carer_of":
            sex = m.Person.objects.filter(pk=a).values_list("sex", flat=True).first()
            role = "female_carer" if sex == "female" else "male_carer"
        if role and clean["kind"] != "lives_with":
            for fm in m.FamilyMember.objects.filter(person_id=b, role="child"):
                m.FamilyMember.objects.get_or_create(
                    family_id=fm.family_id,
                    person_id=a,
                    defaults={"role": role, "label": _label(self.agency, clean["person"])},
                )
        return self.families_of([a, b])

    def _contact(self, clean: dict, found: SourceRecord | None) -> set[int]:
        subjects = [self.person_pk(s, "subjects") for s in clean["subjects"]]
        seen = [self.person_pk(s, "seen") for s in clean["seen"]]
        delivered = [self.person_pk(s, "delivered_to") for s in clean["delivered_to"]]
        fields = _contact_fields(self.agency, clean)
        fields["withdrawn_findings"] = self._withdrawn_findings(clean)
        before: set[int] = set()
        if found is not None and found.contact_id:
            contact = m.Contact.objects.get(pk=found.contact_id)
            before = self.families_of(contact.subjects.values_list("pk", flat=True))
            # A practitioner's marking stands whatever the sender's versions say. The
            # alerts it caused are withdrawn by the families' evaluation, which holds
            # their locks (HAZ-S13).
            fields["entered_in_error"] |= contact.marked_in_error
            for name, value in fields.items():
                setattr(contact, name, value)
            contact.save(update_fields=list(fields))
            contact.subjects.set(subjects)
            contact.seen.set(seen)
            contact.delivered_to.set(delivered)
            contact.findings.all().delete()
            m.ParentingAssessment.objects.filter(contact=contact).delete()
        else:
            contact = m.Contact.objects.create(
                source_key=source_key(self.agency, clean["source_id"]), **fields
            )
            contact.subjects.add(*subjects)
            if seen:
                contact.seen.add(*seen)
            if delivered:
                contact.delivered_to.add(*delivered)
        m.ContactFinding.objects.bulk_create(
            [m.ContactFinding(contact=contact, word=w) for w in clean["findings"]]
        )
        if clean["assessment_answers"] is not None:
            m.ParentingAssessment.objects.create(
                contact=contact,
                form_version=clean["assessment_form"],
                answers=clean["assessment_answers"],
            )
        self._contact_pk = contact.pk
        return before | self.families_of(subjects)

    def _withdrawn_findings(self, clean: dict) -> list[dict] | None:
        """What the resources behind this contact found and then withdrew (``fhir``): the
        words, and whom they named (a person no longer known here, nobody)."""
        out = []
        for source in clean.get(rec.FINDING_SOURCES, {}).values():
            if not (source.get("withdrawn") and source["words"]):
                continue
            whom = None
            if source["subject"]:
                with contextlib.suppress(Refused):
                    whom = self.person_pk(source["subject"], "subjects")
            out.append({"words": source["words"], "subject": whom})
        return out or None


class _NewPeople:
    """A batch's new people (ids this agency has not sent before), decided one by one in
    the batch's order exactly as ``_Writer._person`` decides them, on what is read for all
    of them at once, and written together (``flush``): a few statements for a whole people
    file's batch rather than a dozen and a savepoint a person.

    What it reads is good until something else of the batch is written, so the caller
    flushes it, and makes a new one, around any other write (``apply_batch``). People not
    yet written have keys of their own below zero (``_temp``), never seen outside."""

    def __init__(self, writer: _Writer, ahead: list[dict]):
        self.writer, self.agency = writer, writer.agency
        self.next_temp = 0
        self.people: list[m.Person] = []
        self.temp_of: dict[int, m.Person] = {}
        self.families: list[m.Family] = []
        self.family_temp: dict[int, m.Family] = {}
        self.members: list[tuple[int, int, str, str]] = []
        self.new_identities: dict[int, dict] = {}
        self.changed_identities: dict[int, dict] = {}
        self.entries: list[tuple[Item, dict, str]] = []
        self.touched: list[int] = []
        nhs = {c["nhs_number"] for c in ahead if c["nhs_number"]}
        keys = {source_key(self.agency, c["source_id"]) for c in ahead}
        self.by_nhs: dict[str, int] = {}
        # The first person with each number, as the per-record writer's order_by("pk").
        for number, pk in sorted(
            bulk.pairs(m.Person, ("nhs_number", "id"), "nhs_number", sorted(nhs))
        ):
            self.by_nhs.setdefault(number, pk)
        self.by_key = dict(bulk.pairs(m.Person, ("source_key", "id"), "source_key", sorted(keys)))
        children = sorted({c["child"] for c in ahead if c["child"]} - set(writer.people))
        writer.learn(children)
        known = set(self.by_nhs.values()) | set(self.by_key.values())
        known |= {writer.people[c["child"]] for c in ahead if c["child"] in writer.people}
        self.families_of: dict[int, set[int]] = defaultdict(set)
        self.membership: set[tuple[int, int]] = set()
        self.is_child: set[int] = set()
        for person, family, role in bulk.pairs(
            m.FamilyMember, ("person", "family", "role"), "person", sorted(known)
        ):
            self.families_of[person].add(family)
            self.membership.add((family, person))
            if role == "child":
                self.is_child.add(person)
        # Members of the families those people are in (a parent joins each of the child's).
        families = sorted({f for fs in self.families_of.values() for f in fs})
        for family, person in bulk.pairs(m.FamilyMember, ("family", "person"), "family", families):
            self.membership.add((family, person))
        self.identity = dict(
            bulk.pairs(m.Identity, ("person", "id"), "person", sorted(known), agency=self.agency)
        )
        refs = [source_key(self.agency, c["source_id"]) for c in ahead if c["role"] == "child"]
        self.family_by_ref = dict(
            bulk.pairs(m.Family, ("reference", "id"), "reference", sorted(refs))
        )

    def _temp(self) -> int:
        self.next_temp -= 1
        return self.next_temp

    def add(self, item: Item, clean: dict) -> list[dict]:
        """Take one new person, or say why not (nothing of it is kept then)."""
        writer, sid = self.writer, clean["source_id"]
        child = None
        if clean["child"]:
            child = writer.people.get(clean["child"])
            if child is None:
                return Refused("child", _NOBODY).reasons
            if child not in self.is_child:
                return Refused(
                    "child", "the person named as the child is not a baby of a family"
                ).reasons
        key = source_key(self.agency, sid)
        person = self.by_nhs.get(clean["nhs_number"]) if clean["nhs_number"] else None
        if person is None:
            person = self.by_key.get(key)
        if person is None:
            person = self._temp()
            row = m.Person(source_key=key, **{name: clean[name] for name in _PERSON_FIELDS})
            self.people.append(row)
            self.temp_of[person] = row
            self.by_key[key] = person
            if clean["nhs_number"]:
                self.by_nhs.setdefault(clean["nhs_number"], person)
        writer.people[sid] = person
        values = {name: clean[name] for name in _IDENTITY_FIELDS}
        values["recorded_on"] = writer.today
        if person in self.identity:
            self.changed_identities[self.identity[person]] = values
        else:
            self.new_identities[person] = values  # a later record of the same person wins
        label = _label(self.agency, sid)
        if clean["role"] == "child":
            if person not in self.is_child:
                family = self.family_by_ref.get(key)
                if family is None:
                    family = self._temp()
                    row = m.Family(
                        reference=key,
                        origin=clean["born_on"] or clean["due_on"] or writer.today,
                        title="Family from an agency feed",
                    )
                    row.index_child_id = person
                    self.families.append(row)
                    self.family_temp[family] = row
                    self.family_by_ref[key] = family
                self._join(family, person, "child", label)
        else:
            for family in sorted(self.families_of[child]):
                self._join(family, person, clean["role"], label)
        self.entries.append((item, clean, rec.canonical(clean)))
        self.touched.append(person)
        return []

    def _join(self, family: int, person: int, role: str, label: str) -> None:
        if (family, person) in self.membership:
            return  # get_or_create: already a member (in whatever role)
        self.membership.add((family, person))
        self.members.append((family, person, role, label))
        self.families_of[person].add(family)
        if role == "child":
            self.is_child.add(person)

    def flush(self, result: Result) -> None:
        """Write what was taken: people, families, members, identities, source records and
        their first versions; the keys below zero replaced by the database's."""
        if not self.entries:
            return
        writer, real = self.writer, {}
        for temp, row in zip(self.temp_of, bulk.create(self.people), strict=True):
            real[temp] = row.pk
        for row in self.families:
            row.index_child_id = real.get(row.index_child_id, row.index_child_id)
        for temp, row in zip(self.family_temp, bulk.create(self.families), strict=True):
            real[temp] = row.pk
        pk = lambda key: real.get(key, key)  # noqa: E731
        bulk.insert_rows(
            m.FamilyMember,
            ("family", "person", "role", "label"),
            [(pk(f), pk(p), role, label) for f, p, role, label in self.members],
        )
        bulk.insert_rows(
            m.Identity,
            ("person", "agency", *_IDENTITY_FIELDS, "recorded_on"),
            [
                (pk(p), self.agency, *(v[name] for name in _IDENTITY_FIELDS), v["recorded_on"])
                for p, v in self.new_identities.items()
            ],
        )
        for identity, values in self.changed_identities.items():
            m.Identity.objects.filter(pk=identity).update(**values, **m.LINK_AGAIN)
        for sid, person in list(writer.people.items()):
            if person < 0:
                writer.people[sid] = real[person]
        _first_versions(
            writer,
            rec.PERSON,
            [
                (clean["source_id"], text, writer.people[clean["source_id"]], item)
                for item, clean, text in self.entries
            ],
        )
        for (item, _c, _t), person in zip(self.entries, self.touched, strict=True):
            families = {pk(f) for f in self.families_of[person]}
            result.families |= families
            result.took(item, "created", families)
        result.created += len(self.entries)
        self.entries, self.touched = [], []


class _NewRelationships:
    """A batch's new relationships (ids this agency has not sent before), decided one by
    one as ``_Writer._relationship`` decides them, on what is read for all of them at
    once, and written together (``flush``); like ``_NewPeople``, good until anything else
    of the batch is written. Relationships not yet written have keys below zero."""

    def __init__(self, writer: _Writer, ahead: list[dict]):
        self.writer, self.agency = writer, writer.agency
        refs = sorted({c[name] for c in ahead for name in ("person", "other")} - set(writer.people))
        writer.learn(refs)
        people = sorted(
            {
                writer.people[c[name]]
                for c in ahead
                for name in ("person", "other")
                if c[name] in writer.people
            }
        )
        self.existing = {
            (a, kind, b): pk
            for pk, a, kind, b in bulk.pairs(
                m.Relationship,
                ("id", "person", "kind", "other"),
                "person",
                people,
                recorded_by=self.agency,
            )
        }
        self.sex = dict(bulk.pairs(m.Person, ("id", "sex"), "id", people))
        self.families_of: dict[int, set[int]] = defaultdict(set)
        self.child_in: dict[int, list[int]] = defaultdict(list)
        self.membership: set[tuple[int, int]] = set()
        for person, family, role in bulk.pairs(
            m.FamilyMember, ("person", "family", "role"), "person", people
        ):
            self.families_of[person].add(family)
            self.membership.add((family, person))
            if role == "child":
                self.child_in[person].append(family)
        self.next_temp = 0
        self.new: dict[tuple[int, str, int], dict] = {}  # (a, kind, b): fields, in order made
        self.temp: dict[tuple[int, str, int], int] = {}
        self.changed: dict[int, dict] = {}
        self.members: list[tuple[int, int, str, str]] = []
        self.entries: list[tuple[Item, dict, str, int, tuple[int, int]]] = []

    def add(self, item: Item, clean: dict) -> list[dict]:
        writer = self.writer
        for name in ("person", "other"):
            if clean[name] not in writer.people:
                return Refused(name, _NOBODY).reasons
        a, b = writer.people[clean["person"]], writer.people[clean["other"]]
        key = (a, clean["kind"], b)
        fields = {"from_on": clean["from_on"], "entered_in_error": False}
        if key in self.existing:
            pk = self.existing[key]
            self.changed[pk] = fields
        else:
            if key not in self.temp:
                self.next_temp -= 1
                self.temp[key] = self.next_temp
            pk = self.temp[key]
            self.new[key] = fields  # update_or_create: the later record's fields
        role = rec.ROLE_OF_KIND.get(clean["kind"])
        if clean["kind"] == "carer_of":
            role = "female_carer" if self.sex.get(a) == "female" else "male_carer"
        if role and clean["kind"] != "lives_with":
            label = _label(self.agency, clean["person"])
            for family in self.child_in[b]:
                if (family, a) not in self.membership:
                    self.membership.add((family, a))
                    self.members.append((family, a, role, label))
                    self.families_of[a].add(family)
        self.entries.append((item, clean, rec.canonical(clean), pk, (a, b)))
        return []

    def flush(self, result: Result) -> None:
        if not self.entries:
            return
        made = bulk.create(
            [
                m.Relationship(
                    person_id=a, kind=kind, other_id=b, recorded_by=self.agency, **fields
                )
                for (a, kind, b), fields in self.new.items()
            ]
        )
        real = {self.temp[key]: row.pk for key, row in zip(self.new, made, strict=True)}
        for pk, fields in self.changed.items():
            m.Relationship.objects.filter(pk=pk).update(**fields)
        bulk.insert_rows(m.FamilyMember, ("family", "person", "role", "label"), self.members)
        _first_versions(
            self.writer,
            rec.RELATIONSHIP,
            [
                (clean["source_id"], text, real.get(pk, pk), item)
                for item, clean, text, pk, _ab in self.entries
            ],
        )
        for item, _clean, _text, _pk, (a, b) in self.entries:
            families = self.families_of[a] | self.families_of[b]
            result.families |= families
            result.took(item, "created", families)
        result.created += len(self.entries)
        self.entries = []


_TARGET = {rec.PERSON: "person", rec.RELATIONSHIP: "relationship", rec.CONTACT: "contact"}


def _first_versions(writer: _Writer, kind: str, written: list[tuple[str, str, int, Item]]) -> None:
    """The source records of new records (``(source id, canonical JSON, the row it
    became, the item)``), each with its first version, in two statements each."""
    digests = [hashlib.sha256(text.encode()).hexdigest() for _sid, text, _pk, _i in written]
    records = _insert_keyed(
        SourceRecord,
        ("agency", "kind", "source_id", "content_hash", "version", _TARGET[kind]),
        [
            (writer.agency, kind, sid, digest, 1, pk)
            for (sid, _t, pk, _i), digest in zip(written, digests, strict=True)
        ],
        [sid for sid, _text, _pk, _i in written],
        "source_id",
        {"agency": writer.agency, "kind": kind},
    )
    now = timezone.now()
    bulk.insert_rows(
        SourceVersion,
        ("record", "version", "content", "content_hash", "message", "received_at"),
        [
            (record, 1, text, digest, (item.message or writer.message).pk, now)
            for record, (_sid, text, _pk, item), digest in zip(
                records, written, digests, strict=True
            )
        ],
    )


_NOBODY = "no person with this id has been sent by this agency (send the person first)"
_PERSON_FIELDS = ("sex", "nhs_number", "given_name", "family_name", "born_on", "due_on")
# The person's fields each identity of them is linked by (cradle.links.jobs.identity_frame).
_LINKED_BY = ("sex", "born_on", "due_on", "nhs_number")
_IDENTITY_FIELDS = (
    "given_name",
    "family_name",
    "nhs_number",
    "address",
    "postcode",
    "do_not_disclose",
)


def _quarantine(
    message: Message, item: Item, reasons: list[dict], writer: _Writer | None = None
) -> QuarantineItem:
    held, made = QuarantineItem.objects.get_or_create(
        message=message,
        locator=item.locator[:50],
        defaults={
            "record_type": (item.record_type or item.kind)[:30],
            "content": item.raw,
            "reasons": reasons,
            "context": item.context,
        },
    )
    if made and writer is not None:
        named = _named(item.kind, item.data) if isinstance(item.data, dict) else []
        if not named and item.record_type.startswith("fhir:"):
            named = fhir_named(item.raw)  # a resource that could not be read as a record
        if named:
            writer.held.append((held, named))
    return held


def mark_families(held: QuarantineItem, agency: str, kind: str, data) -> None:
    """The families a held record is about, marked (``mark_many``)."""
    if isinstance(data, dict):
        mark_many(agency, [(held, _named(kind, data))])


def mark_many(agency: str, held: list[tuple[QuarantineItem, list[str]]]) -> None:
    """The families held records are about, as far as the agency's ids they name are
    known: their pages say that records about them are held, not yet in their record. A
    few statements for a batch, whatever it holds."""
    # Only what could be an id: a refused record's fields are as sent (a NUL, which
    # PostgreSQL refuses in any text, even a look-up's; control characters; any length).
    named = sorted(
        {sid for _h, ids in held for sid in ids if sid.isprintable() and len(sid) <= rec.MAX_ID}
    )
    if not named:
        return
    person_of = {
        sid: pk
        for sid, pk in bulk.pairs(
            SourceRecord,
            ("source_id", "person_id"),
            "source_id",
            named,
            agency=agency,
            kind=rec.PERSON,
        )
        if pk is not None
    }
    families: dict[int, set[int]] = defaultdict(set)
    for person, family in bulk.pairs(
        m.FamilyMember, ("person", "family"), "person", sorted(set(person_of.values()))
    ):
        families[person].add(family)
    through = QuarantineItem.families.through
    rows = sorted(
        {
            (h.pk, family)
            for h, ids in held
            for sid in ids
            for family in families.get(person_of.get(sid), ())
        }
    )
    through.objects.bulk_create(
        [through(quarantineitem_id=h, family_id=f) for h, f in rows], ignore_conflicts=True
    )


_FHIR_PERSON = re.compile(r"^(Patient|RelatedPerson)/[^/\s]{1,150}$")


def fhir_named(raw: bytes) -> list[str]:
    """The people a FHIR resource names (its references to a Patient or RelatedPerson, and
    its own id if it is one), at most 20: it could not be read, so as far as it goes."""
    try:
        resource = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return []
    out: list[str] = []
    stack, steps = [resource], 0
    while stack and steps < 2000 and len(out) < 20:  # bounded: a resource may be huge
        value, steps = stack.pop(), steps + 1
        if isinstance(value, dict):
            if value.get("resourceType") in ("Patient", "RelatedPerson") and isinstance(
                value.get("id"), str
            ):  # a person's own id (a Bundle's people too)
                out.append(f"{value['resourceType']}/{value['id']}")
            ref = value.get("reference")
            if isinstance(ref, str) and _FHIR_PERSON.match(ref):
                out.append(ref)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return list(dict.fromkeys(out))[:20]


# The fields of each kind of record that name people (the sending agency's ids).
_NAMING = {
    rec.CONTACT: ("subjects", "seen", "delivered_to"),
    rec.PERSON: ("source_id", "child"),
    rec.RELATIONSHIP: ("person", "other"),
}


def _named(kind: str, data: dict) -> list[str]:
    """The ids a record (as sent: lists, or a CSV's ``a;b``) names, at most 20."""
    named = [sid for key in _NAMING.get(kind, ()) for sid in rec.named_ids(data, key)]
    return list(dict.fromkeys(named))[:20]


CHUNK = 500  # ids per query (databases limit a query's parameters)


def _new_contacts(writer: _Writer, entries: list[tuple[Item, dict, dict]], result: Result) -> None:
    """New contacts, written together: one ``executemany`` a table for the lot (the path
    most of a large feed takes), their references already resolved. Plain statements
    rather than ``bulk_create``: building a model object for each of the six or seven rows
    a contact writes cost several times the database's own work."""
    if not entries:
        return
    now = timezone.now()
    agency = writer.agency
    cleans = [clean for _item, clean, _refs in entries]
    keys = [source_key(agency, clean["source_id"]) for clean in cleans]
    contact_pks = _insert_keyed(
        m.Contact,
        ("source_key", *_CONTACT_FIELDS, "entered_in_error", "created_at"),
        [
            (
                key,
                agency,
                *(clean[name] for name in _CONTACT_FIELDS[1:]),
                bool(clean.get("entered_in_error")),
                now,
            )
            for key, clean in zip(keys, cleans, strict=True)
        ],
        keys,
        "source_key",
        {},
    )
    for name in ("subjects", "seen", "delivered_to"):
        through = getattr(m.Contact, name).through
        bulk.insert_rows(
            through,
            ("contact", "person"),
            [
                (pk, person)
                for pk, (_i, _c, refs) in zip(contact_pks, entries, strict=True)
                for person in refs[name]
            ],
        )
    bulk.insert_rows(
        m.ContactFinding,
        ("contact", "word"),
        [
            (pk, word)
            for pk, clean in zip(contact_pks, cleans, strict=True)
            for word in clean["findings"]
        ],
    )
    assessments = [
        m.ParentingAssessment(
            contact_id=pk,
            form_version=clean["assessment_form"],
            answers=clean["assessment_answers"],
        )
        for pk, clean in zip(contact_pks, cleans, strict=True)
        if clean["assessment_answers"] is not None
    ]
    m.ParentingAssessment.objects.bulk_create(assessments)
    _first_versions(
        writer,
        rec.CONTACT,
        [
            (clean["source_id"], rec.canonical(clean), pk, item)
            for (item, clean, _refs), pk in zip(entries, contact_pks, strict=True)
        ],
    )
    subjects = sorted({pk for _item, _clean, refs in entries for pk in refs["subjects"]})
    families_of = defaultdict(set)
    for person, family in bulk.pairs(m.FamilyMember, ("person", "family"), "person", subjects):
        families_of[person].add(family)
    for item, _clean, refs in entries:
        families = {f for person in refs["subjects"] for f in families_of[person]}
        result.families |= families
        result.took(item, "created", families)
    result.created += len(entries)
    entries.clear()


_CONTACT_FIELDS = (
    "agency",
    "kind",
    "occurred_on",
    "recorded_on",
    "outcome",
    "channel",
    "to_agency",
    "touchpoint",
    "note",
)


# Up to this many new rows of a table (an API call's, a small Bundle's) are inserted
# with RETURNING; more (a file's batch) with executemany and read back by their ids.
FEW = 20


def _insert_keyed(model, names, rows, ids: list[str], name: str, where: dict) -> list[int]:
    """Insert new rows whose field ``name`` is ``ids`` (unique with ``where``): their
    primary keys, in the order of the rows."""
    if len(rows) <= FEW:
        return bulk.insert_rows(model, names, rows, returning=True)
    bulk.insert_rows(model, names, rows)
    pks = _pks_of(model, name, ids, where)
    return [pks[i] for i in ids]


def _pks_of(model, name: str, values: list[str], where: dict) -> dict[str, int]:
    """The primary keys of the rows whose field ``name`` is one of ``values``."""
    return {value: pk for value, pk in bulk.pairs(model, (name, "id"), name, values, **where)}


def _contact_fields(agency: str, clean: dict) -> dict:
    return {
        "agency": agency,
        "kind": clean["kind"],
        "occurred_on": clean["occurred_on"],
        "recorded_on": clean["recorded_on"],
        "outcome": clean["outcome"],
        "channel": clean["channel"],
        "to_agency": clean["to_agency"],
        "touchpoint": clean["touchpoint"],
        "note": clean["note"],
        # The sender withdrawing it (only ever in a record's content when true).
        "entered_in_error": bool(clean.get("entered_in_error")),
    }


# New people and relationships written together (``_NewPeople``, ``_NewRelationships``).
# False writes each on its own with ``_Writer.write``: the reference that
# tests/db/test_feeds_people_bulk.py holds them to.
BULK_RECORDS = True


def apply_batch(
    items: list[Item],
    *,
    agency: str,
    message: Message,
    today: date,
    evaluate: bool = True,
    queue: bool = False,
    hold: bool = False,
    rows_done: int | None = None,
    done: bool = False,
    lock: bool = False,
) -> Result:
    """Write the batch's records (or quarantine them) and re-evaluate each family touched
    once, all in one transaction; with ``queue``, the families are queued for evaluation
    instead, in the same transaction (``queue_families``: a file's import evaluates them
    once, after its last batch: with ``hold``, held for it, out of the background
    evaluator's reach). With ``done``, the message is marked done
    (``mark_done``) in the same transaction.

    Records are taken in their order in the message. New people go together
    (``_NewPeople``), new relationships too (``_NewRelationships``), and so do new
    contacts whose references are known
    (``_new_contacts``); anything else (a relationship, a changed record, an id met twice
    in the batch) is written on its own, after the new records before it."""
    result = Result()
    # Within a caller's transaction (an API call's, with its audit entry) no savepoint of
    # its own: anything raised here undoes the caller's transaction too.
    with transaction.atomic(savepoint=False):
        if rows_done is not None or lock:
            # A file's batches one at a time, whoever reads it (``lock``: a FHIR file's
            # Bundle): two imports of one file at once (a cron and a person, a correction
            # sent twice) wait for each other's batch, and the second finds the first's
            # records (before, on PostgreSQL, it met their unique keys and failed). SQLite
            # takes one write at a time anyway. No key update: rows that refer to the
            # message are not held up.
            Message.objects.select_for_update(no_key=True).filter(pk=message.pk).exists()
        writer = _Writer(agency, message, today)
        checked = []
        for item in items:
            reasons, clean = list(item.problems), {}
            if not reasons:
                clean, reasons = rec.check(item.kind, item.data, today)
            checked.append((item, clean, reasons))
        ids = [c["source_id"] for i, c, r in checked if not r and i.kind == rec.CONTACT]
        known: dict[str, str] = {}
        refs = set()
        for _i, c, r in checked:
            if not r and _i.kind == rec.CONTACT:
                refs.update(c["subjects"], c["seen"], c["delivered_to"])
        known.update(
            bulk.pairs(
                SourceRecord,
                ("source_id", "content_hash"),
                "source_id",
                ids,
                agency=agency,
                kind=rec.CONTACT,
            )
        )
        writer.learn(sorted(refs))
        known_records: dict[str, dict[str, tuple[str, int]]] = {}
        for kind, target in ((rec.PERSON, "person_id"), (rec.RELATIONSHIP, "relationship_id")):
            ids_of_kind = [c["source_id"] for i, c, r in checked if not r and i.kind == kind]
            known_records[kind] = {
                sid: (digest, pk)
                for sid, digest, pk in bulk.pairs(
                    SourceRecord,
                    ("source_id", "content_hash", target),
                    "source_id",
                    ids_of_kind,
                    agency=agency,
                    kind=kind,
                )
            }
        pending: list[tuple[Item, dict, dict]] = []
        in_batch: set[str] = set()
        met: dict[str, set[str]] = {rec.PERSON: set(), rec.RELATIONSHIP: set()}
        group: _NewPeople | _NewRelationships | None = None
        for n, (item, clean, reasons) in enumerate(checked):
            if (
                BULK_RECORDS
                and not reasons
                and item.kind in met
                and clean["source_id"] not in met[item.kind]
            ):
                sid, kind = clean["source_id"], item.kind
                met[kind].add(sid)
                found = known_records[kind].get(sid)
                if found is not None and found[0] == rec.content_hash(clean):
                    if kind == rec.PERSON:
                        writer.people[sid] = found[1]
                    result.unchanged += 1
                    result.took(item, "unchanged")
                    continue
                if found is None:
                    _new_contacts(writer, pending, result)  # what came before it, first
                    grouped = _NewPeople if kind == rec.PERSON else _NewRelationships
                    if not isinstance(group, grouped):
                        if group is not None:
                            group.flush(result)
                        ahead = [c for i, c, r in checked[n:] if not r and i.kind == kind]
                        group = grouped(writer, ahead)
                    reasons = group.add(item, clean)
                    if not reasons:
                        continue
                    held = _quarantine(item.message or message, item, reasons, writer)
                    result.took(item, "quarantined", held=held)
                    continue
            if group is not None:
                # Anything else reads or writes what the new records change: they go first.
                group.flush(result)
                group = None
            if not reasons and item.kind in met:
                met[item.kind].add(clean["source_id"])
            if not reasons and item.kind == rec.CONTACT:
                sid = clean["source_id"]
                if sid in known and known[sid] == rec.content_hash(clean) and sid not in in_batch:
                    result.unchanged += 1
                    result.took(item, "unchanged")
                    continue
                if sid not in known and sid not in in_batch:
                    try:
                        resolved = {
                            name: [writer.person_pk(s, name) for s in clean[name]]
                            for name in ("subjects", "seen", "delivered_to")
                        }
                    except Refused as exc:
                        reasons = exc.reasons
                    else:
                        in_batch.add(sid)
                        pending.append((item, clean, resolved))
                        continue
            if not reasons:
                _new_contacts(writer, pending, result)  # what came before it, first
                based_on = item.based_on
                if item.kind == rec.CONTACT:
                    if clean["source_id"] in in_batch:
                        based_on = None  # written once already in this batch: over that
                    in_batch.add(clean["source_id"])
                try:
                    # A savepoint: a record refused on a reference is written not at all.
                    with transaction.atomic():
                        state, families = writer.write(
                            item.kind, clean, item.message or message, based_on
                        )
                except Refused as exc:
                    reasons = exc.reasons
            if reasons:
                held = _quarantine(item.message or message, item, reasons, writer)
                result.took(item, "quarantined", held=held)
                continue
            setattr(result, state, getattr(result, state) + 1)
            result.took(item, state, families)
            result.families |= families
        if group is not None:
            group.flush(result)
        _new_contacts(writer, pending, result)
        mark_many(agency, writer.held)
        if queue:
            queue_families(result.families, held_for=message.pk if hold else None)
        elif evaluate:
            reevaluate_many(m.Family.objects.filter(pk__in=result.families).order_by("pk"), today)
        if rows_done is not None:  # the file's place, committed with the rows it covers
            Message.objects.filter(pk=message.pk).update(rows_done=rows_done)
        if done:
            mark_done(message)
    return result


def quarantine_message(
    message: Message,
    reasons: list[dict],
    *,
    record_type: str = "",
    raw: bytes | None = None,
    context: dict | None = None,
) -> QuarantineItem:
    """A whole message that could not be read at all (not JSON, a wrong resource type...)."""
    item = Item(
        "message",
        "",
        raw if raw is not None else b"",
        None,
        record_type=record_type,
        context=context or {},
    )
    if raw is None:
        item.raw = message.raw()
    return _quarantine(message, item, reasons)


def resolve_busy(agency: str, ids: set[str]) -> None:
    """Bundles answered busy (503: ``context["busy"]``, the API's ``_failed``), settled now
    that a later message of the agency took every record they carried (``ids``: that
    message's, taken whole): the system sent it again, built anew."""
    if not ids:
        return
    waiting = QuarantineItem.objects.filter(
        status=QuarantineItem.HELD, context__busy=True, message__agency=agency
    ).values_list("pk", "context")
    done = [pk for pk, context in waiting if set(context.get("ids") or [None]) <= ids]
    QuarantineItem.objects.filter(pk__in=done, status=QuarantineItem.HELD).update(
        status=QuarantineItem.ACCEPTED, resolved_at=timezone.now()
    )


def resolve_failed(message_pks) -> None:
    """Items held because their message could not be written at all (a fault of Cradle's:
    ``context["failed"]``, the API's ``_failed``), settled now that it has been written
    (the system sent it again)."""
    QuarantineItem.objects.filter(
        message_id__in=sorted(set(message_pks)),
        status=QuarantineItem.HELD,
        context__failed=True,
    ).update(
        status=QuarantineItem.ACCEPTED,
        resolved_at=timezone.now(),
        resubmitted_as_id=models.F("message_id"),
    )


# PostgreSQL's deadlock, serialization failure and lock not available: a transaction
# undone for another's sake, worth taking again (a statement timeout is not).
TRANSIENT = {"40P01", "40001", "55P03"}


def transient(exc: Exception) -> bool:
    """Whether a write failed for another's sake, and would be taken if run again."""
    if isinstance(exc, Stale):
        return True
    cause = getattr(exc.__cause__, "sqlstate", None)
    if isinstance(exc, IntegrityError):
        # Another writer wrote one of its new records first (a unique key): found next
        # time. Any other constraint would fail the same way again.
        return cause == "23505" or "UNIQUE constraint failed" in str(exc)
    return cause in TRANSIENT or "database is locked" in str(exc)


def run_again(write, attempts: int = 3):
    """``write(attempt)``, run again when it failed for another writer's sake
    (``transient``): two imports of one file at once, each kept as a message of its own
    (the same bytes read by two processes before either was kept), are not held apart by
    the message's lock: the second met the first's unique keys. Run again, it finds them.
    So with a FHIR Bundle read before another import wrote an Encounter it joins findings
    to (``Stale``): read again, it is made from what that one wrote. Within a caller's
    transaction it cannot be run again (the transaction is undone whole)."""
    from django.db import connection

    for attempt in range(attempts):
        try:
            return write(attempt)
        except WRITE_CONFLICTS as exc:
            if attempt == attempts - 1 or not transient(exc) or connection.in_atomic_block:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def apply_batch_again(items: list[Item], **kwargs) -> Result:
    """``apply_batch``, run again when it met another writer's records (``run_again``)."""
    return run_again(lambda _attempt: apply_batch(items, **kwargs))


def mark_done(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(status=Message.DONE)
