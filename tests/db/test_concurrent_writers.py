"""Two writes about one family at once, for real: a second connection, in a thread,
re-evaluates the family while the first's transaction is still open. With the family's
row lock (``cradle.records.evaluation.lock_families``) the second waits and then sees
the first's alerts; without it, on PostgreSQL, both raised the same alerts.

The test commits for real (a transactional test database), so the append-only audit
table's triggers are dropped only for the flush that empties it afterwards, and made
again. PostgreSQL only (``committed_db``): SQLite runs one write transaction at a time;
but for another import's writing interleaved in one thread (``committed_one_at_a_time``)."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connections, transaction

from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from cradle.records.loading import load_case
from tests.db.test_feeds_fhir import (
    TODAY,
    _another_import_between_reading_and_writing,
    _encounter_then_another_bruise_meanwhile,
    _words,
    bundle,
    contact,
    encounter,
    observation,
    patient,
    send,
)


def _live(family) -> Counter:
    return Counter(
        (a.rule, a.child_id, a.scope)
        for a in m.Alert.objects.filter(family=family, status__in=m.Alert.LIVE)
    )


def test_two_evaluations_of_one_family_at_once_raise_each_alert_once(
    committed_db, calderdale, today
):
    with time_machine.travel(today, tick=False):
        family = load_case(calderdale, today, today_is_day=40).family
    expected = _live(family)
    assert expected and max(expected.values()) == 1
    m.Alert.objects.filter(family=family).delete()  # both evaluations raise them again

    first_done, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second():
        try:
            first_done.wait(30)
            with transaction.atomic():
                reevaluate(m.Family.objects.get(pk=family.pk), today, notify=False)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            second_done.set()
            connections.close_all()

    thread = threading.Thread(target=second)
    thread.start()
    with transaction.atomic():
        reevaluate(family, today, notify=False)
        first_done.set()
        # Unlocked, the second evaluation ends here, on the same empty alert rows; locked,
        # it waits for this commit. (The wait only bounds the test: either way the
        # outcome is decided by the lock, not by how long this takes.)
        second_done.wait(3)
    thread.join(60)
    assert not errors, errors
    assert _live(family) == expected


def test_a_correction_and_a_page_write_about_one_family_take_their_locks_in_one_order(
    committed_db, monkeypatch
):
    """A correction evaluates its family in its transaction (the family's row lock); a
    page's write takes the audit chain's head, then its family (HAZ-S13's order). The
    correction's audit entry is written after its transaction: written inside, it waited
    for the head while holding the family, the page waited for the family while holding
    the head, and PostgreSQL broke the deadlock by failing one of them."""
    from cradle.access import audit
    from cradle.feeds.jobs import resubmit
    from cradle.records.evaluation import lock_families
    from tests.db.test_feeds_csv import HEADER, PEOPLE, TODAY, run

    run(PEOPLE)
    (item,) = run(HEADER + b"c1,home_visit,2026-11-20,noaccess,b1,,,\n").quarantined
    family = m.Family.objects.get()
    at_audit, has_head = threading.Event(), threading.Event()
    original = audit.record
    errors: list[BaseException] = []

    def record(**kw):
        if kw.get("actor") == "t-resubmit":
            at_audit.set()
            has_head.wait(10)  # bounds the test: the page holds the head by then
        return original(**kw)

    monkeypatch.setattr(audit, "record", record)

    def correction():
        try:
            resubmit(
                item, b"c1,home_visit,2026-11-20,no_access,b1,,,\n", by="t-resubmit", today=TODAY
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=correction)
    thread.start()
    assert at_audit.wait(30)
    with transaction.atomic():
        original(actor="user:1", action="read", what="family page")  # the head
        has_head.set()
        lock_families([family.pk])  # then the family, as a page's write does
    thread.join(60)
    assert not errors, errors
    item.refresh_from_db()
    assert item.status == "accepted"


@pytest.mark.parametrize("how", ["one message", "two messages", "fhir"])
def test_two_imports_of_one_file_at_once_both_end_and_write_it_once(committed_db, how):
    """Two imports of one file at once (a cron and a person; a whole-file correction sent
    twice). Kept as one message, the second waits for the first's batch (the message's
    lock) and finds its records unchanged; kept as two (two processes that read the same
    bytes before either was kept), the second meets the first's unique keys and runs its
    batch again, finding them. Before, on PostgreSQL, the second failed either way."""
    import io
    import json

    from cradle.feeds.csvfeed import import_stream
    from cradle.feeds.jobs import read_fhir
    from cradle.feeds.models import SourceRecord
    from cradle.feeds.store import keep_bytes
    from tests.db.test_feeds_csv import HEADER, PEOPLE, TODAY, run
    from tests.db.test_feeds_fhir import bundle, encounter, patient

    agency = "health_visiting"
    if how == "fhir":
        data = bundle(
            patient(),
            *(encounter(f"e{i}", start=f"2026-11-{10 + i % 10}T10:00:00Z") for i in range(30)),
        )
        assert len(json.loads(data)["entry"]) == 31

        def read(message):
            return read_fhir(message, data, agency=agency, today=TODAY, lock=True)
    else:
        run(PEOPLE)
        data = HEADER + b"".join(
            f"c{i},home_visit,2026-11-{10 + i % 10},attended,b1,,,\n".encode() for i in range(30)
        )

        def read(message):
            return import_stream(io.BytesIO(data), message=message, agency=agency, today=TODAY)

    first_message, _ = keep_bytes(data, source_system="file:t", agency=agency, channel="file")
    if how == "two messages":
        second_message, _ = keep_bytes(data, source_system="file:u", agency=agency, channel="file")
        assert second_message.pk != first_message.pk
    else:
        second_message = first_message
    started, errors, second = threading.Event(), [], []

    def again():
        try:
            started.wait(30)
            second.append(read(second_message))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=again)
    thread.start()
    with transaction.atomic():  # the first import's writing, not yet committed
        first = read(first_message)
        started.set()
        thread.join(3)  # bounds the test: the second is waiting on this by then
    thread.join(60)
    assert not errors, errors
    written = 31 if how == "fhir" else 30
    assert first.created == written
    assert (second[0].created, second[0].unchanged) == (0, written)
    assert SourceRecord.objects.count() == written + (0 if how == "fhir" else 2)


def test_a_fhir_file_run_again_after_meeting_anothers_records_reads_what_it_wrote(committed_db):
    """Two FHIR files about one Encounter at once, each its own message: the second meets
    the first's unique keys and is read and written again whole, so the Encounter's
    content is made from what the first sent (its Observation's finding), as when the
    two run one after the other. Run again from the records read the first time, the
    finding was silently dropped."""
    from cradle.feeds.jobs import read_fhir
    from cradle.feeds.store import keep_bytes
    from tests.db.test_feeds_fhir import TODAY, bundle, contact, encounter, observation, patient

    agency = "health_visiting"
    a = bundle(patient(), encounter(), observation("o9", "35489007"))
    b = bundle(patient(), encounter())
    first, _ = keep_bytes(a, source_system="file:a", agency=agency, channel="file")
    second, _ = keep_bytes(b, source_system="file:b", agency=agency, channel="file")
    started, errors = threading.Event(), []

    def other():
        try:
            started.wait(30)
            read_fhir(second, b, agency=agency, today=TODAY, lock=True)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    with transaction.atomic():  # the first file's writing, not yet committed
        read_fhir(first, a, agency=agency, today=TODAY, lock=True)
        started.set()
        thread.join(3)  # bounds the test: the second has met the first's keys by then
    thread.join(60)
    assert not errors, errors
    assert list(contact("Encounter/e1").findings.values_list("word", flat=True)) == ["depression"]


def test_a_bundle_read_before_another_wrote_its_encounter_is_read_again(committed_db, monkeypatch):
    """The API reads a Bundle in its transaction; on PostgreSQL another import can commit
    a version of the Encounter its finding joins between that reading and its writing
    (SQLite's write transaction holds others off from its start). It is read and written
    again, keeping the other's bruise, answered once, audited once."""
    from django.test import Client

    from cradle.access.models import AuditEntry
    from cradle.feeds import tokens
    from cradle.feeds.models import SourceRecord

    seen = _encounter_then_another_bruise_meanwhile(monkeypatch, in_thread=True)
    _row, token = tokens.add("hv-fhir", "health_visiting")
    answer = Client().post(
        "/api/fhir/Bundle", bundle(observation("o2", "35489007")),
        content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert answer.status_code == 200 and answer.json()["versioned"] == 1
    assert [s["Encounter/e1"] for s in seen] == [1, 1, 2]
    assert _words() == ["bruise", "depression"]
    assert SourceRecord.objects.get(source_id="Encounter/e1").version == 3
    assert [e.action for e in AuditEntry.objects.filter(actor="system:hv-fhir")] == ["submit"]


def test_a_fhir_correction_read_before_another_wrote_its_encounter_is_read_again(
    committed_db, monkeypatch
):
    """A held Observation corrected: read in the correction's transaction, another import
    commits a version of its Encounter meanwhile (PostgreSQL). The correction is read
    again, keeps the other's bruise, and settles its item."""
    from cradle.feeds.jobs import resubmit
    from cradle.feeds.models import QuarantineItem

    (held,) = send(bundle(observation("o2", "35489007", enc="Encounter/none"))).quarantined
    seen = _encounter_then_another_bruise_meanwhile(monkeypatch, in_thread=True)
    job = resubmit(held, json.dumps(observation("o2", "35489007")).encode(), by="t", today=TODAY)
    assert not job.result.quarantined and job.result.versioned == 1
    assert [s["Encounter/e1"] for s in seen] == [1, 1, 2]
    assert _words() == ["bruise", "depression"]
    held.refresh_from_db()
    assert held.status == QuarantineItem.ACCEPTED


def test_a_finding_read_before_another_import_wrote_its_encounter_is_read_again(
    committed_one_at_a_time, monkeypatch
):
    """Two FHIR files about one Encounter sent before, each with an Observation: the
    second is read, then the first is written, then the second. Made from the Encounter
    as it was read, the second's version left out the first's bruise (the stale reading);
    now it meets a newer version than it read (``Stale``), is read again, and keeps both."""
    from cradle.feeds.jobs import read_fhir
    from cradle.feeds.models import SourceRecord
    from cradle.feeds.store import keep_bytes

    seen = _encounter_then_another_bruise_meanwhile(monkeypatch)
    second = bundle(observation("o2", "35489007"))
    message, _ = keep_bytes(
        second, source_system="file:b", agency="health_visiting", channel="file"
    )
    result = read_fhir(message, second, agency="health_visiting", today=TODAY, lock=True)
    assert result.versioned == 1 and not result.quarantined
    assert _words() == ["bruise", "depression"]
    # Read at version 1, met version 2 (the other's), read again at 2, written as 3.
    assert [s["Encounter/e1"] for s in seen] == [1, 1, 2]
    record = SourceRecord.objects.get(source_id="Encounter/e1")
    assert [sorted(v.content.get("findings", [])) for v in record.versions.order_by("version")] == [
        [],
        ["bruise"],
        ["bruise", "depression"],
    ]


def test_a_withdrawal_read_before_another_import_changed_its_record_is_read_again(
    committed_one_at_a_time, monkeypatch
):
    """A withdrawal is of the contact as last sent: read before another import changed the
    Encounter (its day), it is read again, and the day stays as that one sent it."""
    from cradle.feeds.jobs import read_fhir
    from cradle.feeds.store import keep_bytes

    send(bundle(patient(), encounter()))
    _another_import_between_reading_and_writing(
        monkeypatch, bundle(encounter(start="2026-11-21T10:00:00Z"))
    )
    withdrawal = bundle({**encounter(), "status": "entered-in-error"})
    message, _ = keep_bytes(
        withdrawal, source_system="file:b", agency="health_visiting", channel="file"
    )
    read_fhir(message, withdrawal, agency="health_visiting", today=TODAY, lock=True)
    visit = contact("Encounter/e1")
    assert visit.entered_in_error and str(visit.occurred_on) == "2026-11-21"


def test_a_bundle_meeting_others_writes_at_every_attempt_is_answered_busy_and_kept(
    committed_db, monkeypatch
):
    """Many calls about one Encounter at once: a Bundle that meets another's write of it
    at each of its attempts is answered 503 with Retry-After (not a server error, not "a
    fault of Cradle's"), its bytes held, about the baby's family, until it is sent again;
    sent again, built anew (another Bundle id), it is taken and the held item settled."""
    from django.test import Client

    from cradle.access.models import AuditEntry
    from cradle.feeds import tokens
    from cradle.feeds.api import BUNDLE_ATTEMPTS, BUSY
    from cradle.feeds.models import QuarantineItem

    send(bundle(patient(), encounter()))
    others = [bundle(observation(f"o{i}", "125667009")) for i in range(BUNDLE_ATTEMPTS)]
    _another_import_between_reading_and_writing(monkeypatch, *others, in_thread=True)
    _row, token = tokens.add("hv-fhir", "health_visiting")
    ours = {**json.loads(bundle(observation("mine", "35489007"), patient())), "id": "try-1"}

    def post(data):
        return Client().post(
            "/api/fhir/Bundle", json.dumps(data), content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip

    answer = post(ours)
    assert answer.status_code == 503 and answer["Retry-After"] == "1"
    assert answer.json()["detail"] == BUSY
    assert _words() == ["bruise"]  # the others', each written; ours not
    held = QuarantineItem.objects.get(status=QuarantineItem.HELD)
    assert held.message_id == answer.json()["message"]
    assert answer.json()["quarantined"] == [
        {"id": held.pk, "locator": held.locator, "reasons": held.reasons}
    ]
    assert held.reasons == [{"field": "message", "problem": BUSY}]
    assert list(held.families.all()) == [m.Family.objects.get()]  # the baby's page says so
    assert held.context["ids"] == ["Observation/mine", "Patient/baby"]
    again = post({**ours, "id": "try-2"})  # built anew; nobody else writing now
    assert again.status_code == 200 and _words() == ["bruise", "depression"]
    held.refresh_from_db()
    assert held.status == QuarantineItem.ACCEPTED
    actions = [e.action for e in AuditEntry.objects.filter(actor="system:hv-fhir")]
    assert actions == ["submit-failed", "submit"]


def test_many_bundles_about_one_encounter_at_once_are_taken_or_answered_busy_never_500(
    committed_db,
):
    """Eight agency calls at once, each an Observation about one Encounter sent before.
    Each is taken, or answered 503 to be sent again (held meanwhile): none is a server
    error. Writes of one record wait for each other (its row locked) rather than meet at
    its version's unique key (before: five or six of eight answered 500), and every
    finding taken is on the contact."""
    from concurrent.futures import ThreadPoolExecutor

    from django.test import Client

    from cradle.feeds import tokens

    send(bundle(patient(), encounter()))
    _row, token = tokens.add("hv-fhir", "health_visiting")
    codes = ["125667009", "35489007"] * 4

    def post(i):
        try:
            return Client(raise_request_exception=False).post(
                "/api/fhir/Bundle", bundle(observation(f"o{i}", codes[i])),
                content_type="application/fhir+json", HTTP_AUTHORIZATION=f"Bearer {token}",
            ).status_code  # fmt: skip
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert set(answers) <= {200, 503}, answers
    taken = {codes[i] for i, status in enumerate(answers) if status == 200}
    words = {"125667009": "bruise", "35489007": "depression"}
    assert {words[c] for c in taken} <= set(_words())


def test_a_file_meeting_others_writes_at_every_attempt_says_so_and_goes_on_when_run_again(
    committed_db, monkeypatch, tmp_path, capsys
):
    """`cradle import` of a FHIR file that meets another's write of its Encounter at each
    of its attempts says so in a line (not a traceback) and exits 1; run again, it is
    taken."""
    from cradle import cli

    send(bundle(patient(), encounter()))
    others = [bundle(observation(f"x{i}", "125667009")) for i in range(3)]  # run_again's 3
    _another_import_between_reading_and_writing(monkeypatch, *others, in_thread=True)
    path = tmp_path / "visit.json"
    path.write_bytes(bundle(observation("mine", "35489007")))
    argv = ["import", str(path), "--agency", "health_visiting", "--quiet", "--as-of", str(TODAY)]
    assert cli.main(argv) == 1
    assert "visit.json: not finished: other imports or calls were writing the same records" in (
        capsys.readouterr().err
    )
    assert _words() == ["bruise"]  # the others' only
    assert cli.main(argv) == 0
    assert _words() == ["bruise", "depression"]
