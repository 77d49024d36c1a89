"""New people and relationships written together (``cradle.feeds.ingest._NewPeople``,
``_NewRelationships``) end exactly as the same records written one by one
(``_Writer.write``, ``BULK_RECORDS = False``): the same people, identities, families,
members, relationships, source records, versions and quarantine, compared by source keys
and content, over batches hypothesis makes up (ids sent twice in a batch, changed or
not; babies named before or after their parents, or never; a parent naming someone who
is not a baby; NHS numbers shared, so that records meet one person; relationships to
people sent later or never, twice over one pair; records known before the batch)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cradle.feeds import ingest
from cradle.feeds.ingest import Item, apply_batch
from cradle.feeds.models import Message, QuarantineItem, SourceRecord, SourceVersion
from cradle.records import models as m

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
NHS = ["9990000018", "9990000026", "9990000034"]  # valid check digits, the never-issued 999 range
IDS = [f"p{i}" for i in range(6)]

person = st.fixed_dictionaries(
    {
        "source_id": st.sampled_from(IDS),
        "role": st.sampled_from(["child", "child", "mother", "father", "male_carer"]),
        "sex": st.sampled_from(["female", "male", "unknown"]),
        "nhs_number": st.sampled_from(["", "", *NHS]),
        "given_name": st.sampled_from(["Ada", "Bo", "Cy"]),
        "born_on": st.sampled_from(["2026-10-01", "2026-11-01", "1990-01-01", ""]),
        "address": st.sampled_from(["", "1 Synthetic Row"]),
        "child": st.sampled_from(["", "", *IDS, "nobody"]),
    }
)


relationship = st.fixed_dictionaries(
    {
        "source_id": st.sampled_from(["r0", "r1", "r2", "r3"]),
        "person": st.sampled_from([*IDS, "nobody"]),
        "kind": st.sampled_from(["mother_of", "father_of", "carer_of", "lives_with", "sibling_of"]),
        "other": st.sampled_from(IDS),
        "from_on": st.sampled_from(["", "2026-11-01", "2026-11-02"]),
    }
)
record = st.one_of(
    st.tuples(st.just("person"), person), st.tuples(st.just("relationship"), relationship)
)


def _clean(data: dict) -> dict:
    data = {k: v for k, v in data.items() if v != ""}
    if data.get("role") == "child":
        data.pop("child", None)
    return data


def _run(batches: list[list[dict]], agency: str) -> tuple[dict, list]:
    results = []
    for n, batch in enumerate(batches):
        message = Message.objects.create(
            source_system="test", agency=agency, channel="api", sha256=f"{n}"
        )
        items = []
        for i, entry in enumerate(batch):
            kind, data = entry if isinstance(entry, tuple) else ("person", entry)
            items.append(Item(f"entry {i}", kind, b"{}", _clean(data)))
        r = apply_batch(items, agency=agency, message=message, today=TODAY, evaluate=False)
        families = sorted(
            m.Family.objects.filter(pk__in=r.families).values_list("reference", flat=True)
        )
        results.append((r.created, r.versioned, r.unchanged, len(r.quarantined), families))
    return _state(), results


def _state() -> dict:
    key = dict(m.Person.objects.values_list("pk", "source_key"))
    ref = dict(m.Family.objects.values_list("pk", "reference"))
    rows = {
        pk: (key[p], kind, key[o])
        for pk, p, kind, o in m.Relationship.objects.values_list("pk", "person", "kind", "other")
    }
    relation = lambda pk: rows.get(pk)  # noqa: E731
    return {
        "people": sorted(
            m.Person.objects.values_list(
                "source_key", "sex", "nhs_number", "given_name", "family_name", "born_on", "due_on"
            )
        ),
        "identities": sorted(
            (key[p], *rest)
            for p, *rest in m.Identity.objects.values_list(
                "person", "agency", "given_name", "nhs_number", "address", "recorded_on"
            )
        ),
        "families": sorted(
            (r, o, key.get(c), t)
            for r, o, c, t in m.Family.objects.values_list(
                "reference", "origin", "index_child", "title"
            )
        ),
        "members": sorted(
            (ref[f], key[p], role, label)
            for f, p, role, label in m.FamilyMember.objects.values_list(
                "family", "person", "role", "label"
            )
        ),
        "relationships": sorted(
            (key[p], kind, key[o], by, str(on), error)
            for p, kind, o, by, on, error in m.Relationship.objects.values_list(
                "person", "kind", "other", "recorded_by", "from_on", "entered_in_error"
            )
        ),
        "sources": sorted(
            (a, k, s, h, v, key.get(p), relation(r))
            for a, k, s, h, v, p, r in SourceRecord.objects.values_list(
                "agency", "kind", "source_id", "content_hash", "version", "person", "relationship"
            )
        ),
        "versions": sorted(
            SourceVersion.objects.values_list("record__source_id", "version", "content_hash")
        ),
        "quarantine": sorted(
            (q.message.sha256, q.locator, str(q.reasons)) for q in QuarantineItem.objects.all()
        ),
    }


def _both(batches: list[list[dict]], agency: str = "health_visiting"):
    """Each way in a savepoint rolled back after: the database as it was for the other."""
    out = []
    for bulk in (False, True):
        ingest.BULK_RECORDS = bulk
        try:
            with transaction.atomic():
                point = transaction.savepoint()
                out.append(_run(batches, agency))
                transaction.savepoint_rollback(point)
        finally:
            ingest.BULK_RECORDS = True
    return out


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(person, max_size=4), batch=st.lists(person, min_size=1, max_size=12))
def test_new_people_together_end_as_one_by_one(before, batch):
    (one_by_one, counts_a), (together, counts_b) = _both([before, batch])
    assert together == one_by_one
    assert counts_b == counts_a


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(record, max_size=5), batch=st.lists(record, min_size=1, max_size=14))
def test_new_people_and_relationships_together_end_as_one_by_one(before, batch):
    (one_by_one, counts_a), (together, counts_b) = _both([before, batch])
    assert together == one_by_one
    assert counts_b == counts_a


def test_a_family_file_written_together_is_the_file_written_one_by_one():
    """The shapes a people file has: babies, then parents naming them (one before its
    baby: refused), a second record of a baby met by NHS number, a mother's two records
    met by hers (already in the family the second time), a baby sent twice."""
    batch = [
        {"source_id": "m0", "role": "mother", "child": "b0"},  # before her baby: refused
        {"source_id": "b0", "role": "child", "nhs_number": NHS[0], "born_on": "2026-11-01"},
        {"source_id": "b1", "role": "child", "nhs_number": NHS[0]},  # the same baby
        {"source_id": "m1", "role": "mother", "child": "b1", "sex": "female"},
        {"source_id": "f1", "role": "father", "child": "b0"},
        {"source_id": "x1", "role": "father", "child": "m1"},  # not a baby: refused
        {"source_id": "m2", "role": "mother", "child": "b1", "nhs_number": NHS[1]},
        {"source_id": "m3", "role": "mother", "child": "b0", "nhs_number": NHS[1]},  # m2 again
        {"source_id": "b2", "role": "child", "due_on": "2027-01-01"},
        {"source_id": "b2", "role": "child", "due_on": "2027-01-02"},  # sent again, changed
    ]
    (one_by_one, counts_a), (together, counts_b) = _both([[], batch])
    assert together == one_by_one and counts_b == counts_a
    assert counts_b[1][:4] == (7, 1, 0, 2)
    assert len(together["families"]) == 2  # b0 (b1 is the same baby) and b2


def test_relationships_written_together_are_the_relationships_written_one_by_one():
    """A female carer joins the baby's family as one (her sex read with the batch); two
    records of one relationship under two ids are one row, with the later record's date;
    a relationship to someone never sent is refused; a lodger (lives_with) joins nothing."""
    people = [
        {"source_id": "b0", "role": "child", "born_on": "2026-11-01"},
        {"source_id": "c0", "role": "female_carer", "sex": "female"},
        {"source_id": "f0", "role": "father", "sex": "male"},
        {"source_id": "l0", "role": "household_member", "sex": "male"},
    ]
    relationships = [
        ("relationship", {"source_id": "r0", "person": "c0", "kind": "carer_of", "other": "b0"}),
        ("relationship", {"source_id": "r1", "person": "f0", "kind": "father_of", "other": "b0",
                          "from_on": "2026-11-01"}),
        ("relationship", {"source_id": "r2", "person": "f0", "kind": "father_of", "other": "b0",
                          "from_on": "2026-11-05"}),
        ("relationship", {"source_id": "r3", "person": "zz", "kind": "father_of", "other": "b0"}),
        ("relationship", {"source_id": "r4", "person": "l0", "kind": "lives_with", "other": "b0"}),
    ]  # fmt: skip
    (one_by_one, counts_a), (together, counts_b) = _both([people, relationships])
    assert together == one_by_one and counts_b == counts_a
    roles = {(p, role) for _f, p, role, _label in together["members"]}
    assert ("feed:health_visiting:c0", "female_carer") in roles
    assert ("feed:health_visiting:f0", "father") in roles
    assert not any(p == "feed:health_visiting:l0" for p, _role in roles)
    fathers = [r for r in together["relationships"] if r[1] == "father_of"]
    assert len(fathers) == 1 and fathers[0][4] == "2026-11-05"
    assert counts_b[1][:4] == (4, 0, 0, 1)


def _contacts() -> list:
    key = dict(m.Person.objects.values_list("pk", "source_key"))
    source = {
        c: (sid, digest)
        for c, sid, digest in SourceRecord.objects.filter(contact__isnull=False).values_list(
            "contact", "source_id", "content_hash"
        )
    }
    return sorted(
        (
            c.source_key,
            c.kind,
            c.outcome,
            str(c.occurred_on),
            tuple(sorted(key[p.pk] for p in c.subjects.all())),
            tuple(sorted(key[p.pk] for p in c.seen.all())),
            tuple(sorted(f.word for f in c.findings.all())),
            source[c.pk],
        )
        for c in m.Contact.objects.prefetch_related("subjects", "seen", "findings")
    )


@pytest.mark.parametrize("many", [3, 25])
def test_new_rows_inserted_with_returning_end_as_rows_read_back(many, monkeypatch):
    """A few new rows (an API call's) get their keys from ``INSERT ... RETURNING``, many (a
    file's batch) from ``executemany`` and a read back (``ingest.FEW``): the same rows,
    each contact with its own subjects, findings and source record, either way."""
    people = [{"source_id": f"b{i}", "role": "child", "born_on": "2026-11-01"} for i in range(4)]
    contacts = [
        (
            "contact",
            {
                "source_id": f"c{i}",
                "kind": "home_visit",
                "outcome": "attended" if i % 2 else "no_access",
                "occurred_on": "2026-11-20",
                "subjects": [f"b{i % 4}"],
                "seen": [f"b{i % 4}"] if i % 2 else [],
                "findings": ["bruise"] if i % 5 == 0 else [],
            },
        )
        for i in range(many)
    ]
    out = []
    for few in (0, 1000):  # read back always; RETURNING always
        monkeypatch.setattr(ingest, "FEW", few)
        with transaction.atomic():
            point = transaction.savepoint()
            state, counts = _run([people, contacts], "health_visiting")
            out.append((state, counts, _contacts()))
            transaction.savepoint_rollback(point)
    assert out[0] == out[1]
    assert len(out[0][2]) == many and out[0][1][1][0] == many
