"""The API's group commit (``cradle.feeds.group``): calls written together answer each as
if written alone (its own message, versions, quarantine, audit entry, family queued), a
group that cannot be written whole is written call by call with nothing of one call in
another's answer, and calls that arrive while a group is written wait and go together."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connections

from cradle.access import audit
from cradle.access.models import AuditEntry
from cradle.feeds import group, tokens
from cradle.feeds import records as rec
from cradle.feeds.models import Message, QuarantineItem, SourceRecord, SourceVersion
from cradle.records import models as m

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def _families(client, token, n: int) -> list[m.Family]:
    """``n`` babies (``b<i>``), each a family, and their mothers (``m<i>``), sent alone."""
    for i in range(n):
        for body in (
            {"source_id": f"b{i}", "role": "child", "born_on": str(TODAY - timedelta(days=20))},
            {"source_id": f"m{i}", "role": "mother", "sex": "female", "child": f"b{i}"},
        ):
            answer = client.post(
                "/api/people",
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert answer.status_code == 200, answer.content
    babies = SourceRecord.objects.filter(kind=rec.PERSON, source_id__startswith="b")
    return [
        m.FamilyMember.objects.get(person_id=r.person_id, role="child").family
        for r in babies.order_by("source_id")
    ]


def _call(system, source_id: str, subjects: list[str], **more) -> group.Call:
    record = {
        "source_id": source_id,
        "kind": "home_visit",
        "occurred_on": TODAY - timedelta(days=1),
        "outcome": "attended",
        "subjects": subjects,
        "seen": subjects,
        **more,
    }
    body = json.dumps(record, default=str).encode()
    return group.Call(system, body, "application/json", rec.CONTACT, record)


def _system(name: str):
    row, token = tokens.add(name, "health_visiting")
    return row, token


@pytest.mark.django_db
def test_calls_written_as_one_group_are_answered_each_as_if_alone(client):
    system, token = _system("hv")
    fam0, fam1 = _families(client, token, 2)
    group.write([_call(system, "c-old", ["b0"])])  # a contact already kept, to be changed
    calls = [
        _call(system, "c1", ["b0", "m0"]),  # new, family 0
        _call(system, "c2", ["b1"]),  # new, family 1
        _call(system, "c1", ["b0", "m0"]),  # the same bytes as the first: the same message
        _call(system, "c3", ["nobody"]),  # refers to no one: quarantined
        _call(system, "c-old", ["b0"], note="corrected"),  # a new version
    ]
    before = AuditEntry.objects.count()
    group.write(calls)

    assert [c.error for c in calls] == [None] * 5
    states = [(c.result.created, c.result.versioned, c.result.unchanged) for c in calls]
    assert states == [(1, 0, 0), (1, 0, 0), (0, 0, 1), (0, 0, 0), (0, 1, 0)]
    assert [c.result.families for c in calls] == [
        {fam0.pk},
        {fam1.pk},
        set(),
        set(),
        {fam0.pk},
    ]
    # Each call's own message, its bytes, done; the repeated bytes one message.
    assert calls[0].message.pk == calls[2].message.pk
    assert len({c.message.pk for c in calls}) == 4
    for c in calls:
        assert c.message.raw() == c.body
        assert Message.objects.get(pk=c.message.pk).status == Message.DONE
    # A version's source is the message that carried it.
    for c, sid in ((calls[0], "c1"), (calls[1], "c2")):
        version = SourceVersion.objects.get(record__source_id=sid)
        assert version.message_id == c.message.pk
    newest = SourceVersion.objects.filter(record__source_id="c-old").order_by("-version").first()
    assert (newest.version, newest.message_id) == (2, calls[4].message.pk)
    # The quarantined call: its reasons, held with its own message.
    (held,) = calls[3].result.quarantined
    assert held.message_id == calls[3].message.pk and held.reasons[0]["field"] == "subjects"
    assert QuarantineItem.objects.count() == 1
    # One audit entry a call, in their order, with the family each touched; the chain holds.
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert [e.action for e in entries] == ["submit"] * 3 + ["submit-refused", "submit"]
    assert [e.family_id for e in entries] == [fam0.pk, fam1.pk, None, None, fam0.pk]
    assert [f"message {c.message.pk}:" in e.what for c, e in zip(calls, entries, strict=True)] == [
        True
    ] * 5
    assert not audit.verify().problems
    # The families queued for the background evaluator; nothing evaluated yet.
    assert set(m.DueEvaluation.objects.values_list("family_id", flat=True)) >= {fam0.pk, fam1.pk}
    assert m.Contact.objects.filter(source_key__contains="c1").count() == 1


@pytest.mark.django_db
def test_a_group_that_cannot_be_written_whole_is_written_call_by_call(client):
    """Another server wrote one call's new contact between this group's look-up and its
    insert (here: the row made first, under the key the call's contact will have): the
    group is undone, the other calls are written alone, and that call fails alone, its
    bytes still kept."""
    from cradle.feeds.ingest import source_key

    system, token = _system("hv")
    fam0, _fam1 = _families(client, token, 2)
    m.Contact.objects.create(
        source_key=source_key("health_visiting", "clash"),
        agency="health_visiting",
        kind="home_visit",
        occurred_on=TODAY,
        recorded_on=TODAY,
    )
    calls = [
        _call(system, "ok1", ["b0"]),
        _call(system, "clash", ["b1"]),
        _call(system, "ok2", ["b0"]),
    ]
    before = AuditEntry.objects.count()
    group.write(calls)

    assert calls[1].error is not None and calls[1].result is None
    assert calls[1].message is not None and calls[1].message.raw() == calls[1].body
    for c in (calls[0], calls[2]):
        assert c.error is None and c.result.created == 1 and c.result.families == {fam0.pk}
    assert set(
        SourceRecord.objects.filter(kind=rec.CONTACT).values_list("source_id", flat=True)
    ) == {"ok1", "ok2"}
    assert AuditEntry.objects.count() == before + 2  # the failed call's entry is its error's
    assert not audit.verify().problems


def test_calls_that_arrive_while_a_group_is_written_wait_and_go_together(committed_db, client):
    """Five server threads: the first call leads and writes alone; the other four arrive
    while it writes, wait, and are written as one group by the first of them. Each is
    answered with its own outcome, after its group's commit."""
    system, token = _system("hv")
    families = _families(client, token, 2)
    first_written, errors = threading.Event(), []
    waiting_for = 4

    def write(calls):
        if not first_written.is_set():  # hold the first group until the others wait
            first_written.set()
            deadline = time.monotonic() + 30  # bounds the test only: the count decides
            while together.waiting() < waiting_for and time.monotonic() < deadline:
                time.sleep(0.005)
        group.write(calls)

    together = group.Group(write)
    calls = [_call(system, f"t{i}", [f"b{i % 2}"]) for i in range(5)]

    def submit(call):
        try:
            together.submit(call)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(calls[0],))]
    threads[0].start()
    assert first_written.wait(30)
    threads += [threading.Thread(target=submit, args=(c,)) for c in calls[1:]]
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert (together.groups, together.largest) == (2, 4)
    assert [c.error for c in calls] == [None] * 5
    assert [c.result.created for c in calls] == [1] * 5
    assert [c.result.families for c in calls] == [{families[i % 2].pk} for i in range(5)]
    assert SourceRecord.objects.filter(kind=rec.CONTACT).count() == 5
    assert AuditEntry.objects.filter(action="submit", what__startswith="contact").count() == 5
    assert not audit.verify().problems
