"""A file's families are evaluated once, after its last batch, on all of its records: the
families are queued (``DueEvaluation``) in each batch's transaction and evaluated at the
end, so a family is never judged on half of a file, and a run killed in between leaves
them queued for the next run or the nightly sweep."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cradle.feeds.csvfeed import import_stream
from cradle.feeds.ingest import Item, apply_batch
from cradle.feeds.models import Message
from cradle.feeds.store import keep_bytes
from cradle.records import models as m
from cradle.records.evaluation import evaluate_due, queue_families, reevaluate
from cradle.records.sweep import sweep

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 26)
PEOPLE = (
    b"source_id,role,sex,born_on,child\n"
    b"b1,child,female,2026-11-01,\nm1,mother,female,1994-05-05,b1\n"
    b"b2,child,male,2026-11-02,\nm2,mother,female,1990-02-02,b2\n"
)
HEADER = b"source_id,kind,occurred_on,outcome,channel,subjects,seen\n"
# A visit that found nobody in, then (the next batch, with batch=1) one that saw the baby.
FAILED_THEN_SEEN = [
    b"c1,home_visit,2026-11-20,no_access,home_visit,b1;m1,\n",
    b"c2,home_visit,2026-11-24,attended,home_visit,b1;m1,b1;m1\n",
]


def _import(data: bytes, batch: int):
    message, _ = keep_bytes(
        data, source_system="file:test", agency="health_visiting", channel="file"
    )
    return import_stream(
        io.BytesIO(data), message=message, agency="health_visiting", today=TODAY, batch=batch
    )


def _changes(family: m.Family) -> list[tuple[str, str]]:
    return sorted(
        m.AlertChange.objects.filter(alert__family=family).values_list("alert__rule", "change")
    )


def _family(child: str) -> m.Family:
    return m.Family.objects.get(reference=f"feed:health_visiting:{child}")


def test_a_family_is_judged_on_the_whole_file_never_on_a_batch_of_it():
    _import(PEOPLE, batch=10)
    # Control: the same two records written batch by batch, each evaluated at once (as the
    # API and FHIR Bundles do), raise an alert on the failed visit and resolve it on the next.
    message = Message.objects.create(
        source_system="test", agency="health_visiting", channel="api", sha256="0"
    )
    for n, row in enumerate(FAILED_THEN_SEEN):
        _sid, kind, on, outcome, channel, subjects, seen = row.decode().strip().split(",")
        data = {"source_id": f"x{n}", "kind": kind, "occurred_on": on, "outcome": outcome, "channel": channel,
                "subjects": subjects.replace("1", "2"), "seen": seen.replace("1", "2")}  # fmt: skip
        apply_batch(
            [Item(f"entry {n}", "contact", row, data)],
            agency="health_visiting",
            message=message,
            today=TODAY,
        )
    control = _changes(_family("b2"))
    assert ("no-access-stepped", "raised") in control and (
        "no-access-stepped",
        "resolved",
    ) in control

    # The file, one row a batch: the family is evaluated once, at the end, seen: no alert.
    result = _import(HEADER + b"".join(FAILED_THEN_SEEN), batch=1)
    assert result.created == 2
    assert [c for c in _changes(_family("b1")) if c[0] == "no-access-stepped"] == []
    assert not m.DueEvaluation.objects.exists()  # evaluated, and off the queue


def _a_batch_then_killed() -> Message:
    """A file's batch committed (a failed visit to b1's family), then the process killed
    before the file's evaluation."""
    message = Message.objects.create(
        source_system="test", agency="health_visiting", channel="file", sha256="k"
    )
    data = {"source_id": "c9", "kind": "home_visit", "occurred_on": "2026-11-20", "outcome": "no_access",
            "channel": "home_visit", "subjects": "b1;m1"}  # fmt: skip
    apply_batch(
        [Item("line 2", "contact", b"", data)],
        agency="health_visiting",
        message=message,
        today=TODAY,
        queue=True,
        hold=True,
    )
    return message


def test_the_families_of_a_killed_run_stay_queued_for_its_file_until_evaluated():
    """Held for the file: the background evaluator's rounds leave them, so that no family
    is judged on half of a file; the file's next run takes them."""
    _import(PEOPLE, batch=10)
    family = _family("b1")
    message = _a_batch_then_killed()
    assert list(m.DueEvaluation.objects.values_list("family_id", "held_for")) == [
        (family.pk, message.pk)
    ]
    assert evaluate_due(TODAY) == 0  # a background round
    assert not m.Alert.objects.filter(family=family, rule="no-access-stepped").exists()
    assert evaluate_due(TODAY, chunk=1, held_for=message.pk) == 1
    assert m.Alert.objects.filter(family=family, rule="no-access-stepped", status="open").exists()
    assert not m.DueEvaluation.objects.exists()
    assert evaluate_due(TODAY) == 0


def test_an_api_submission_about_a_family_a_file_holds_releases_it_to_the_background():
    """Its alerts are not put off until the file ends (or, the import killed, the sweep)."""
    _import(PEOPLE, batch=10)
    family = _family("b1")
    _a_batch_then_killed()
    queue_families([family.pk])  # as an API submission about the family does
    assert m.DueEvaluation.objects.get(family=family).held_for is None
    assert evaluate_due(TODAY) == 1  # a background round
    assert m.Alert.objects.filter(family=family, rule="no-access-stepped", status="open").exists()


def test_the_nightly_sweep_evaluates_what_a_killed_import_left_queued():
    _import(PEOPLE, batch=10)
    family = _family("b1")
    m.Family.objects.update(swept_on=TODAY)  # already swept today: only the queue brings it in
    _a_batch_then_killed()
    sweep(TODAY, processes=1, progress=False)
    assert m.Alert.objects.filter(family=family, rule="no-access-stepped").exists()
    assert not m.DueEvaluation.objects.exists()


def test_an_alert_whose_finding_has_not_changed_is_not_written_again():
    _import(PEOPLE, batch=10)
    _import(HEADER + FAILED_THEN_SEEN[0], batch=10)
    family = _family("b1")
    assert m.Alert.objects.filter(family=family, status="open").exists()
    table = connection.ops.quote_name(m.Alert._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        reevaluate(family, TODAY)
    assert not [q["sql"] for q in queries if q["sql"].startswith(f"UPDATE {table}")]
    # ...and one whose finding did change is (a day later the failed visit is a day older).
    changed = m.Alert.objects.filter(family=family, status="open").first()
    m.Alert.objects.filter(pk=changed.pk).update(
        severity="info" if changed.severity != "info" else "urgent"
    )
    with CaptureQueriesContext(connection) as queries:
        reevaluate(family, TODAY)
    assert [q["sql"] for q in queries if q["sql"].startswith(f"UPDATE {table}")]
    changed.refresh_from_db()
    assert changed.severity == m.Alert.objects.get(pk=changed.pk).severity


def test_the_safeguarding_leads_quarantine_page_says_how_many_families_wait(client):
    """A killed import's families wait for evaluation: the leads see how many (a count,
    nothing personal), and nothing when none wait."""
    import time_machine
    from django.contrib.auth import get_user_model

    from cradle.access.models import Membership, Team
    from tests.signin import sign_in

    _import(PEOPLE, batch=10)
    lead = get_user_model().objects.create_user("lead-w", password="x" * 12)
    team = Team.objects.create(name="Safeguarding", agency="health_visiting")
    Membership.objects.create(user=lead, team=team, role="safeguarding_lead")
    with time_machine.travel(TODAY, tick=False):
        sign_in(client, lead)
        assert "data-waiting" not in client.get("/feeds/quarantine/").content.decode()
        m.DueEvaluation.objects.create(family=_family("b1"))
        m.DueEvaluation.objects.create(family=_family("b2"))
        page = client.get("/feeds/quarantine/").content.decode()
        assert "data-waiting" in page and "2 families written to by an agency feed are" in page
        evaluate_due(TODAY)
        assert "data-waiting" not in client.get("/feeds/quarantine/").content.decode()
