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
from tests.db.test_feeds_background import _in_thread

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
    m.DueEvaluation.objects.all().delete()  # what the people and the first contact queued
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
    # One audit entry a call (in the order written: by kind and id), with its message and
    # the family it touched; the chain holds.
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert len(entries) == 5
    by_call = [
        [e for e in entries if f"message {c.message.pk}:" in e.what and e.family_id == f]
        for c, f in zip(calls, [fam0.pk, fam1.pk, None, None, fam0.pk], strict=True)
    ]
    assert [len(found) for found in by_call] == [1] * 5
    assert [e.action for e in entries].count("submit-refused") == 1
    assert by_call[3][0].action == "submit-refused"
    assert not audit.verify().problems
    # The families queued for the background evaluator; nothing evaluated yet.
    assert set(m.DueEvaluation.objects.values_list("family_id", flat=True)) == {fam0.pk, fam1.pk}
    assert m.Contact.objects.filter(source_key__contains="c1").count() == 1


@pytest.mark.django_db
def test_a_group_that_cannot_be_written_whole_is_written_call_by_call(client, caplog):
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
    with caplog.at_level("INFO", logger=group.__name__):
        group.write(calls)

    assert [r.getMessage() for r in caplog.records if r.name == group.__name__] == [
        "an API group of 3 calls written one by one (IntegrityError)"
    ]
    assert calls[1].error is not None and calls[1].result is None
    assert calls[1].message is not None and calls[1].message.raw() == calls[1].body
    for c in (calls[0], calls[2]):
        assert c.error is None and c.result.created == 1 and c.result.families == {fam0.pk}
    assert set(
        SourceRecord.objects.filter(kind=rec.CONTACT).values_list("source_id", flat=True)
    ) == {"ok1", "ok2"}
    assert AuditEntry.objects.count() == before + 2  # the failed call's entry is its error's
    assert not audit.verify().problems


@pytest.mark.django_db
def test_an_undone_group_writes_a_person_before_a_contact_about_them(client):
    """The contact arrived first, the new person it is about a moment after; the group is
    undone (another call's clash): written one by one, the person still goes first."""
    from cradle.feeds.ingest import source_key

    system, token = _system("hv")
    _families(client, token, 1)
    m.Contact.objects.create(
        source_key=source_key("health_visiting", "clash"), agency="health_visiting",
        kind="home_visit", occurred_on=TODAY, recorded_on=TODAY,
    )  # fmt: skip
    record = {"source_id": "dad", "role": "father", "child": "b0"}
    person = group.Call(system, json.dumps(record).encode(), "application/json", rec.PERSON, record)
    calls = [_call(system, "about-dad", ["b0", "dad"]), person, _call(system, "clash", ["b0"])]
    group.write(calls)
    assert calls[2].error is not None
    assert (person.error, person.result.created) == (None, 1)
    assert (calls[0].error, calls[0].result.created, calls[0].result.quarantined) == (None, 1, [])


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


@pytest.mark.django_db
def test_a_call_that_cannot_be_written_is_audited_and_held_for_resubmission(client):
    """The server error's call: its bytes kept, held in quarantine (the record as the API
    read it, to be resubmitted) with the kind of error (never its text), and audited as
    failed; sent again once the fault is put right, it is written and the item settled."""
    from django.test import Client

    from cradle.feeds.ingest import source_key

    _system_row, token = _system("hv")
    _families(client, token, 1)
    clash = m.Contact.objects.create(
        source_key=source_key("health_visiting", "clash"),
        agency="health_visiting",
        kind="home_visit",
        occurred_on=TODAY,
        recorded_on=TODAY,
    )
    body = {
        "source_id": "clash",
        "kind": "home_visit",
        "occurred_on": "2026-11-25",
        "subjects": ["b0"],
    }
    answer = Client(raise_request_exception=False).post(
        "/api/contacts",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert answer.status_code == 500
    held = QuarantineItem.objects.get()
    assert held.message.raw() == json.dumps(body).encode()
    assert json.loads(bytes(held.content)) == {**body, "seen": [], "findings": []}
    assert held.context == {"format": "json", "kind": rec.CONTACT, "failed": True}
    assert held.reasons[0]["problem"].startswith("not written: IntegrityError")
    entry = AuditEntry.objects.filter(actor="system:hv").order_by("-seq").first()
    assert entry.action == "submit-failed" and f"message {held.message_id}:" in entry.what
    assert "clash" not in entry.what and not audit.verify().problems
    # The fault put right, the system sends it again: written, and the item settled.
    clash.delete()
    again = client.post(
        "/api/contacts",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert again.status_code == 200 and again.json()["message"] == held.message_id
    held.refresh_from_db()
    assert (held.status, held.resubmitted_as_id) == (QuarantineItem.ACCEPTED, held.message_id)


class _Stop(BaseException):
    """As a process being stopped raises in whatever thread runs."""


def _gate():
    """A writer that records its groups and holds the first until released."""
    release, started, groups = threading.Event(), threading.Event(), []

    def write(calls):
        groups.append([c.kind for c in calls])
        if len(groups) == 1:
            started.set()
            assert release.wait(30)
        for c in calls:
            c.result = "written"

    return write, release, started, groups


def _plain(kind: str) -> group.Call:
    return group.Call(None, b"", "", kind, {})


def test_a_leader_interrupted_fails_the_calls_it_held_each_with_its_own_error():
    """No database needed: the hand-off alone. The leader's writer is interrupted with
    two calls waiting in its group: they fail with an error of their own (not the
    leader's, raised in their threads too), and the next call leads and is written."""
    stop = threading.Event()

    def write(calls):
        if not stop.is_set():
            stop.set()
            deadline = time.monotonic() + 30  # bounds the test only: the count decides
            while together.waiting() < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            raise _Stop
        for c in calls:
            c.result = "written"

    together = group.Group(write)
    # A group the leader takes when it starts: the two calls are already waiting.
    first, second, third = _plain("a"), _plain("b"), _plain("c")
    raised = []

    def lead():
        try:
            together.submit(first)
        except _Stop as exc:
            raised.append(exc)

    leader = threading.Thread(target=lead)
    leader.start()
    assert stop.wait(30)
    followers = [threading.Thread(target=together.submit, args=(c,)) for c in (second, third)]
    for t in followers:
        t.start()
    leader.join(30)
    for t in followers:
        t.join(30)
    # The two waited for the next group, led by the first of them: written by then.
    assert not leader.is_alive() and not any(t.is_alive() for t in followers)
    assert len(raised) == 1 and isinstance(first.error, group.Interrupted)
    assert [second.error, third.error] == [None, None]
    assert [second.result, third.result] == ["written", "written"]
    assert together.groups == 2 and together._busy is False


def test_a_follower_interrupted_while_waiting_leaves_the_group_able_to_go_on():
    write, release, started, groups = _gate()
    together = group.Group(write)
    first, leaving, later = _plain("first"), _plain("leaving"), _plain("later")

    class Broken(threading.Event):
        def wait(self, timeout=None):
            raise _Stop

    leaving.ready = Broken()
    leader = threading.Thread(target=together.submit, args=(first,))
    leader.start()
    assert started.wait(30)
    with pytest.raises(_Stop):
        together.submit(leaving)  # waits behind the leader, and is interrupted
    assert together.waiting() == 0
    release.set()
    leader.join(30)
    assert not leader.is_alive() and first.result == "written"
    after = threading.Thread(target=together.submit, args=(later,))
    after.start()
    after.join(30)  # bounds the test only: stuck behind the one that left, it would hang
    assert not after.is_alive() and later.result == "written"
    assert groups == [["first"], ["later"]] and leaving.result is None


def test_an_undone_groups_calls_are_written_alone_each_in_its_own_thread():
    """No database needed: the hand-off alone. A group of two is undone; each of its calls
    is then written alone by its own thread, after the group has handed on: one of them
    held up (waiting on a lock, say) holds up neither the other nor the next group."""
    write, release, started, groups = _gate()
    held_up, let_go, by_thread = threading.Event(), threading.Event(), {}

    def write_undoing(calls):
        if len(calls) > 1:
            groups.append([c.kind for c in calls])
            for c in calls:
                c.alone = True  # as group.together marks a group it could not write
            return
        write(calls)

    def alone(call):
        by_thread[call.kind] = threading.current_thread().name
        if call.kind == "slow":
            held_up.set()
            assert let_go.wait(30)
        call.result = "alone"

    together = group.Group(write_undoing, alone)
    first, slow, quick, later = (_plain(k) for k in ("first", "slow", "quick", "later"))
    threads = {c.kind: threading.Thread(target=together.submit, args=(c,), name=c.kind)
               for c in (first, slow, quick)}  # fmt: skip
    threads["first"].start()
    assert started.wait(30)
    for kind in ("slow", "quick"):
        threads[kind].start()
    deadline = time.monotonic() + 30  # bounds the test only: the count decides
    while together.waiting() < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()  # the first group written: the two waiting go as the next, undone
    assert held_up.wait(30)
    threads["quick"].join(30)
    assert not threads["quick"].is_alive() and quick.result == "alone"
    after = threading.Thread(target=together.submit, args=(later,))
    after.start()
    after.join(30)  # a new group, written while "slow" is still held up
    assert not after.is_alive() and later.result == "written" and slow.result is None
    let_go.set()
    for t in threads.values():
        t.join(30)
    assert slow.result == "alone" and first.result == "written"
    assert by_thread == {"slow": "slow", "quick": "quick"}  # each call's own thread
    assert [sorted(g) for g in groups] == [["first"], ["quick", "slow"], ["later"]]


def test_an_undone_groups_people_go_first_in_one_thread_and_hold_up_nothing_else(monkeypatch):
    """No database needed: the order of the writes alone. A group (a contact, then the
    person and relationship it is about) cannot be written whole: after the group has
    handed on, the person and the relationship are written in order by one thread, the
    contact only after them; a new call meanwhile is written as a group of its own."""
    release, person_started, order = threading.Event(), threading.Event(), []

    def undone(calls, today):
        raise RuntimeError("a clash")  # a group of more than one: undone

    def alone(call, today):
        order.append((call.kind, threading.current_thread().name))
        if call.kind == rec.PERSON:
            person_started.set()
            assert release.wait(30)
        call.result = "alone"

    monkeypatch.setattr(group, "_commit", undone)
    monkeypatch.setattr(group, "_alone", alone)
    gate_write, gate_release, gate_started, _groups = _gate()
    first = _plain("first")

    def together(calls):
        if calls[0] is first:
            gate_write(calls)  # held until the three below wait behind it
        else:
            group.together(calls)

    grouped = group.Group(together, group.write_alone)
    about = group.Call(None, b"", "", rec.CONTACT, {"source_id": "c"})
    person = group.Call(None, b"", "", rec.PERSON, {"source_id": "p"})
    tie = group.Call(None, b"", "", rec.RELATIONSHIP, {"source_id": "r"})
    threads = [threading.Thread(target=grouped.submit, args=(c,), name=c.kind)
               for c in (first, about, person, tie)]  # fmt: skip
    threads[0].start()
    assert gate_started.wait(30)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 30  # bounds the test only: the count decides
    while grouped.waiting() < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    gate_release.set()
    assert person_started.wait(30)
    later = _plain("later")
    after = threading.Thread(target=grouped.submit, args=(later,), name="later")
    after.start()
    after.join(30)  # written while the person's write is held up
    assert not after.is_alive() and later.result == "alone"  # a group of one, written
    release.set()
    for t in threads:
        t.join(30)
    assert [c.result for c in (about, person, tie)] == ["alone"] * 3
    written = [
        (kind, thread)
        for kind, thread in order
        if kind in (rec.PERSON, rec.RELATIONSHIP, rec.CONTACT)
    ]
    assert written == [
        (rec.PERSON, rec.PERSON),
        (rec.RELATIONSHIP, rec.PERSON),
        (rec.CONTACT, rec.CONTACT),
    ]


def test_a_group_kept_waiting_for_a_lock_gives_way_and_its_calls_are_written_alone(
    committed_db, client, caplog
):
    """Another transaction holds the audit chain's head past the group's lock timeout (as
    one in a cycle with the group would): the group gives way, undone, and its calls are
    written one by one once the head is free."""
    from cradle.access.models import AuditHead

    system, token = _system("hv")
    _families(client, token, 2)
    held, release, errors = threading.Event(), threading.Event(), []
    holder = _in_thread(
        lambda: AuditHead.objects.select_for_update().get(pk=1), held, release, errors
    )
    assert held.wait(30)
    threading.Timer(2.0, release.set).start()  # after the group's 800 ms: the lock decides
    calls = [_call(system, "w1", ["b0"]), _call(system, "w2", ["b1"])]
    try:
        with caplog.at_level("INFO", logger=group.__name__):
            group.write(calls)
    finally:
        release.set()
        holder.join(60)
    assert not errors, errors
    assert [r.getMessage() for r in caplog.records if r.name == group.__name__] == [
        "an API group of 2 calls written one by one (OperationalError)"
    ]
    assert [c.error for c in calls] == [None, None]
    assert [c.result.created for c in calls] == [1, 1]
    assert not audit.verify().problems
