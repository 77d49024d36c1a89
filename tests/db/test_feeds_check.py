"""``cradle feeds check``: what monitoring runs to learn that something is stuck (HAZ-S01):
families queued and not evaluated (an API submission's, a file's), records held in
quarantine, systems that have gone silent. Exit status 1 when a check fails; counts,
ages and system names only."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cradle.access import audit
from cradle.feeds import tokens
from cradle.feeds.models import Message, QuarantineItem
from cradle.records import models as m
from cradle.records.evaluation import queue_families

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Europe/London"))


def check(*argv) -> tuple[int, str]:
    from cradle import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(["feeds", "check", *argv])
    return status, out.getvalue()


def _family(ref: str) -> m.Family:
    return m.Family.objects.create(reference=ref, origin=NOON.date() - timedelta(days=20))


def _at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def test_all_clear_exits_zero():
    with _at(NOON):
        tokens.add("gp-system", "gp")
        status, out = check()
    assert status == 0 and "PROBLEM" not in out
    assert "1 system, each made a call within a day" in out


def test_an_api_submissions_family_left_unevaluated_is_a_problem_after_the_limit():
    with _at(NOON - timedelta(minutes=30)):
        queue_families([_family("f1").pk])
    with _at(NOON):
        queue_families([_family("f2").pk])  # just now: the evaluator's to take
        status, out = check()
        assert status == 1
        assert "PROBLEM evaluation: 2 waiting (oldest 30 min ago); 1 over 10 min" in out
        assert check("--waiting-minutes", "60")[0] == 0


def test_a_files_families_are_given_longer_before_they_are_a_problem():
    message = Message.objects.create(
        source_system="file:x", agency="gp", channel="file", sha256="a"
    )
    with _at(NOON - timedelta(hours=3)):
        queue_families([_family("f1").pk], held_for=message.pk)
    with _at(NOON):
        status, out = check()
        assert (
            status == 0
            and "ok      file evaluation: 1 waiting (oldest 3 h ago); 0 over a day" in out
        )
    with _at(NOON + timedelta(days=1)):
        status, out = check()
        assert status == 1 and "PROBLEM file evaluation" in out and "PROBLEM evaluation" not in out


def test_records_held_in_quarantine_too_long_are_a_problem_until_dealt_with():
    message = Message.objects.create(
        source_system="gp-system", agency="gp", channel="api", sha256="b"
    )
    with _at(NOON - timedelta(hours=30)):
        item = QuarantineItem.objects.create(message=message, locator="message", content=b"{}")
    with _at(NOON):
        status, out = check()
        assert status == 1 and "PROBLEM quarantine: 1 held (oldest 30 h ago); 1 over a day" in out
        QuarantineItem.objects.filter(pk=item.pk).update(status=QuarantineItem.ACCEPTED)
        assert "ok      quarantine: nothing held" in check()[1]


def test_a_system_that_has_gone_silent_is_named(client):
    """Any call counts, a read as well as a submission (a system may only read alerts)."""
    with _at(NOON - timedelta(days=3)):
        tokens.add("gp-system", "gp")
        tokens.add("maternity-epr", "maternity")
        _row, reader = tokens.add("ed-reader", "emergency_department")
        tokens.add("old-system", "gp")
        tokens.revoke("old-system")  # revoked: not expected to call
        audit.record(actor="system:maternity-epr", action="submit", what="a contact via the API")
    with _at(NOON - timedelta(hours=2)):
        audit.record(actor="system:gp-system", action="submit", what="a contact via the API")
        assert (
            client.get(
                "/api/children/9434765919/alerts", HTTP_AUTHORIZATION=f"Bearer {reader}"
            ).status_code
            == 404
        )  # a read (of a child it may not see): a call all the same
    with _at(NOON):
        tokens.add("new-system", "gp")  # made today: not silent yet
        status, out = check()
    assert status == 1
    problem = out.split("PROBLEM systems")[1]
    assert (
        ": 1 of 4 systems made no call for over a day: maternity-epr (last 3 days ago)" in problem
    )
    assert "gp-system" not in problem and "ed-reader" not in problem


def test_an_alert_whose_first_email_is_owed_from_before_today_is_a_problem():
    family = _family("f1")
    child = m.Person.objects.create(source_key="t/child", born_on=family.origin)
    alert = m.Alert.objects.create(
        family=family, child=child, rule="no-access-stepped", rule_version=1, step=1,
        scope="health_visiting", severity="prompt", began_on=NOON.date(), raised_on=NOON.date(),
        due_on=NOON.date() + timedelta(days=2), action="Rearrange the visit.", for_whom=["practitioner"],
        agency="health_visiting", source="test", settings_hash="x", notify_pending=True,
    )  # fmt: skip
    with _at(NOON):
        status, out = check()
        assert status == 0 and "1 alerts' first emails owed, 0 raised before today" in out
    with _at(NOON + timedelta(days=1)):
        status, out = check()
        assert (
            status == 1
            and "PROBLEM emails: 1 alerts' first emails owed, 1 raised before today" in out
        )
        m.Alert.objects.filter(pk=alert.pk).update(notify_pending=False)
        assert "ok      emails: no alert email owed" in check()[1]


def test_families_no_sweep_has_evaluated_for_a_day_are_a_problem():
    """HAZ-S12: the nightly sweep stopped; the rules that depend on time fall silent."""
    from cradle.records.sweep import sweep

    with _at(NOON - timedelta(days=3)):
        _family("f1"), _family("f2")
        sweep(NOON.date() - timedelta(days=3), processes=1, progress=False)
    with _at(NOON - timedelta(hours=2)):
        _family("new")  # the next sweep's
    with _at(NOON):
        status, out = check()
        assert status == 1
        assert "PROBLEM sweep: last sweep 3 days ago; 2 of 2 families not swept within 26 h" in out
        sweep(NOON.date(), processes=1, progress=False)
        status, out = check()
        assert status == 0
        assert "ok      sweep: last sweep 0 min ago; every family swept within 26 h" in out
    with _at(NOON + timedelta(hours=25)):  # the next day's sweep is an hour late: not yet
        assert check()[0] == 0
    with _at(NOON + timedelta(hours=27)):  # a night missed: 26 hours, not up to 50
        status, out = check()
        assert status == 1 and "last sweep 27 h ago; 3 of 3 families not swept" in out
        assert check("--sweep-hours", "48")[0] == 0


def test_the_upgrade_times_the_families_swept_before_it_and_keeps_practitioners_markings():
    """records 0010's data step: a family swept before it was swept when that day's sweep
    finished (its audit entry; none: the next sweep's), so the sweep check neither reports
    every family the moment the upgrade lands nor hides a stopped sweep; a contact entered
    in error was a practitioner's marking, unless its agency's last version withdrew it."""
    import importlib

    from django.apps import apps

    from cradle.feeds.models import SourceRecord, SourceVersion

    step = importlib.import_module("cradle.records.migrations.0010_swept_at_marked_in_error")
    yesterday = NOON.date() - timedelta(days=1)
    with _at(NOON - timedelta(days=2)):
        swept, unrecorded, never = _family("swept"), _family("unrecorded"), _family("never")
    with _at(NOON - timedelta(hours=20)):
        audit.record(
            actor="system:sweep", action="evaluate", what=f"sweep as of {yesterday}: 2 families"
        )
    m.Family.objects.filter(pk__in=[swept.pk, unrecorded.pk]).update(swept_on=yesterday)
    m.Family.objects.filter(pk=unrecorded.pk).update(swept_on=yesterday - timedelta(days=1))
    person = m.Person.objects.create(source_key="t/p")
    contacts = {}
    for name in ("by-hand", "by-sender"):
        contacts[name] = m.Contact.objects.create(
            source_key=f"t/{name}", agency="gp", kind="gp_appointment", occurred_on=NOON.date(),
            recorded_on=NOON.date(), entered_in_error=True,
        )  # fmt: skip
        contacts[name].subjects.add(person)
    record = SourceRecord.objects.create(
        agency="gp", kind="contact", source_id="s1", content_hash="x", version=2,
        contact=contacts["by-sender"],
    )  # fmt: skip
    SourceVersion.objects.create(
        record=record, version=1, content={"kind": "gp_appointment"}, content_hash="a"
    )
    SourceVersion.objects.create(
        record=record, version=2, content={"entered_in_error": True}, content_hash="b"
    )
    with _at(NOON):
        step.practitioners_markings(apps, None)
        swept.refresh_from_db()
        assert swept.swept_at == NOON - timedelta(hours=20)  # when that sweep finished
        assert m.Family.objects.get(pk=unrecorded.pk).swept_at is None  # no entry: not guessed
        assert m.Family.objects.get(pk=never.pk).swept_at is None
        assert m.Contact.objects.get(pk=contacts["by-hand"].pk).marked_in_error
        assert not m.Contact.objects.get(pk=contacts["by-sender"].pk).marked_in_error
        out = check()[1]
    assert "2 of 3 families not swept" in out


def test_identities_not_linked_within_the_hour_are_a_problem():
    """HAZ-S02: `cradle link due` is not being run; a feed's father with no NHS number
    stays apart from his family."""
    from cradle.links.jobs import link_due

    person = m.Person.objects.create(source_key="t/dad", sex="male")
    made = {}
    for agency, ago in (("police", timedelta(hours=2)), ("gp", timedelta(minutes=10))):
        made[agency] = m.Identity.objects.create(
            person=person, agency=agency, given_name="Sam", family_name="Roe",
            recorded_on=NOON.date(),
        )  # fmt: skip
        m.Identity.objects.filter(pk=made[agency].pk).update(linkage_due_since=NOON - ago)
    with _at(NOON):
        status, out = check()
        assert status == 1
        assert "PROBLEM linkage: 2 identities not yet linked (oldest 2 h ago); 1 over 1 h" in out
        assert check("--link-minutes", "180")[0] == 0
        link_due()
        status, out = check()
        assert status == 0 and "ok      linkage: every identity linked as it stands" in out


def test_a_record_whose_correction_failed_keeps_its_first_held_time_and_is_never_uncounted():
    """A correction still refused holds what it met as a new item: the record has waited
    since the first was held, not since the correction. A correction that took nothing and
    met nothing (a file refused whole, corrected as a header alone) leaves the item waiting,
    counted, where before it left the check and the family's page."""
    from datetime import date

    from cradle.feeds.csvfeed import import_stream
    from cradle.feeds.jobs import resubmit
    from cradle.feeds.store import keep_bytes

    today = date(2026, 11, 26)

    def run(data: bytes):
        message, _ = keep_bytes(data, source_system="file:t", agency="gp", channel="file")
        return import_stream(io.BytesIO(data), message=message, agency="gp", today=today)

    header = b"source_id,kind,occurred_on,outcome,subjects,seen,findings,note\n"
    with _at(NOON - timedelta(hours=30)):
        run(b"source_id,role,sex,born_on,child\nb1,child,female,2026-11-01,\n")
        (row,) = run(header + b"c1,gp_appointment,2026-11-20,noshow,b1,,,\n").quarantined
        (whole,) = run(b"who,what\nx,y\n").quarantined  # no layout: the file held whole
    with _at(NOON - timedelta(hours=1)):
        again = resubmit(row, b"c1,gp_appointment,2026-11-20,nope,b1,,,\n", by="t", today=today)
        assert again.result.quarantined  # still refused: held again, an hour ago
        empty = resubmit(whole, header, by="t", today=today)  # took nothing, met nothing
        assert not empty.result.quarantined and not empty.result.created
    with _at(NOON):
        status, out = check()
    assert status == 1 and "PROBLEM quarantine: 2 held (oldest 30 h ago); 2 over a day" in out
    waiting = QuarantineItem.objects.waiting()
    assert set(waiting.values_list("pk", flat=True)) == {
        again.result.quarantined[0].pk,
        whole.pk,
    }


def test_a_record_corrected_twice_and_refused_twice_is_counted_once():
    """The first held item corrected twice, each correction refused: the second's held
    item stands for the first's (marked resubmitted), so the record counts once; a
    correction taken at last settles them all."""
    from datetime import date

    from cradle.feeds.csvfeed import import_stream
    from cradle.feeds.jobs import resubmit
    from cradle.feeds.store import keep_bytes

    today = date(2026, 11, 26)

    def run(data: bytes):
        message, _ = keep_bytes(data, source_system="file:t", agency="gp", channel="file")
        return import_stream(io.BytesIO(data), message=message, agency="gp", today=today)

    with _at(NOON - timedelta(hours=30)):
        run(b"source_id,role,sex,born_on,child\nb1,child,female,2026-11-01,\n")
        header = b"source_id,kind,occurred_on,outcome,subjects,seen,findings,note\n"
        (row,) = run(header + b"c1,gp_appointment,2026-11-20,noshow,b1,,,\n").quarantined
    with _at(NOON - timedelta(hours=2)):
        first = resubmit(row, b"c1,gp_appointment,2026-11-20,nope,b1,,,\n", by="t", today=today)
    with _at(NOON - timedelta(hours=1)):
        second = resubmit(row, b"c1,gp_appointment,2026-11-20,no,b1,,,\n", by="t", today=today)
    (held_first,), (held_second,) = first.result.quarantined, second.result.quarantined
    held_first.refresh_from_db()
    assert held_first.status == QuarantineItem.RESUBMITTED
    assert held_first.resubmitted_as_id == second.message.pk
    assert list(QuarantineItem.objects.waiting().values_list("pk", flat=True)) == [held_second.pk]
    with _at(NOON):
        status, out = check()
        assert status == 1
        assert "PROBLEM quarantine: 1 held (oldest 30 h ago)" in out
        taken = b"c1,gp_appointment,2026-11-20,was_not_brought,b1,,,\n"
        assert resubmit(row, taken, by="t", today=today).result.created == 1
        assert not QuarantineItem.objects.waiting().exists()
        assert set(QuarantineItem.objects.values_list("status", flat=True)) == {"accepted"}


def test_a_record_a_refused_correction_took_is_settled_not_left_waiting():
    """A correction Bundle that takes one record and holds another: the earlier held item
    of the record it took is settled, not marked to wait on what it held; once the other
    is corrected too, nothing of the chain waits."""
    from cradle.feeds.jobs import resubmit
    from tests.db.test_feeds_fhir import TODAY, bundle, encounter, patient, send

    send(bundle(patient()))
    (root,) = send(bundle(encounter("e1", who="Patient/nobody"))).quarantined
    bad1, bad2 = encounter("e1", who="Patient/nobody"), encounter("e2", who="Patient/nobody")
    first = resubmit(root, bundle(bad1, bad2), by="t", today=TODAY)
    assert len(first.result.quarantined) == 2
    second = resubmit(root, bundle(bad1, encounter("e2")), by="t", today=TODAY)  # e2 taken
    (held,) = second.result.quarantined
    assert list(QuarantineItem.objects.waiting().values_list("pk", flat=True)) == [held.pk]
    assert resubmit(held, bundle(encounter("e1")), by="t", today=TODAY).result.created == 1
    assert not QuarantineItem.objects.waiting().exists()
    assert set(QuarantineItem.objects.values_list("status", flat=True)) == {"accepted"}


def test_a_live_token_under_a_name_now_refused_is_named_until_revoked():
    """Tokens given before a name was refused (one of Cradle's own actors, a ':', a
    revoked system's name given to another agency's): their calls' audit entries could be
    read as another's. Each is named, with why, until revoked; a revoked one is not."""
    from cradle.feeds.models import SystemToken

    with _at(NOON):
        tokens.add("gp-system", "gp")
        for name, agency in (("shared", "police"), ("sweep", "gp"),
                             ("hv:1", "health_visiting"), ("shared", "gp")):  # fmt: skip
            SystemToken.objects.create(
                name=name, agency=agency, token_hash=tokens.digest(f"{name}-{agency}")
            )
            if agency == "police":
                tokens.revoke(name)  # the police's, then the name given to a GP system
        status, out = check()
    assert status == 1
    problem = out.split("PROBLEM system names")[1].splitlines()[0]
    assert ": 3 live tokens under a name now refused" in problem
    assert "'sweep' ('sweep' names one of Cradle's own actors" in problem
    assert "'hv:1' (a system's name cannot contain ':')" in problem
    assert "'shared' (the system name 'shared' is police's" in problem
    assert "gp-system" not in problem
    for name in ("sweep", "hv:1", "shared"):
        tokens.revoke(name)
    with _at(NOON):
        _status, out = check()
    assert "ok      system names: every live token's name is its own system's" in out
