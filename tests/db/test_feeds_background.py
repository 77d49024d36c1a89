"""An API submission's family is evaluated after the answer, never lost on the way: the
submission queues it (``queue_families``) and the background evaluator takes it
(``cradle.records.background``); a reader of the family's alerts before then (the API's
alerts and flags, the family page) evaluates it first (``evaluate_if_due``),
so what anyone reads is up to date."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from cradle.access.models import Allocation, Membership, Team
from cradle.feeds import tokens
from cradle.records import background
from cradle.records import models as m
from cradle.records.evaluation import evaluate_due, queue_families
from tests.signin import sign_in

TODAY = date(2026, 11, 26)
BABY_NHS = "9434765919"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def post(client, token, path, body):
    return client.post(
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def get(client, token, path):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def _send_a_bruised_baby(client, token) -> m.Family:
    """A baby of three weeks, then a visit that finds a bruise: an alert, once evaluated."""
    baby = {
        "source_id": "b1",
        "role": "child",
        "sex": "female",
        "nhs_number": BABY_NHS,
        "born_on": str(TODAY - timedelta(days=21)),
    }
    assert post(client, token, "/api/people", baby).status_code == 200
    visit = {
        "source_id": "v1",
        "kind": "home_visit",
        "outcome": "attended",
        "occurred_on": str(TODAY - timedelta(days=1)),
        "subjects": ["b1"],
        "seen": ["b1"],
        "findings": ["bruise"],
    }
    assert post(client, token, "/api/contacts", visit).status_code == 200
    return m.FamilyMember.objects.get(person__nhs_number=BABY_NHS).family


def _live_rules(family) -> set[str]:
    return set(
        m.Alert.objects.filter(family=family, status__in=m.Alert.LIVE).values_list(
            "rule", flat=True
        )
    )


@pytest.mark.django_db
def test_a_submission_answers_before_its_family_is_evaluated_and_the_family_waits_queued(client):
    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    assert _live_rules(family) == set()  # not evaluated in the request
    assert list(m.DueEvaluation.objects.values_list("family_id", "held_for")) == [
        (family.pk, None)  # nobody's: the background evaluator's to take
    ]
    assert evaluate_due(TODAY) == 1
    assert _live_rules(family)  # the bruise, once evaluated
    assert not m.DueEvaluation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["alerts", "flags"])
def test_reading_a_childs_alerts_through_the_api_evaluates_a_queued_family_first(client, path):
    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    answer = get(client, token, f"/api/children/{BABY_NHS}/{path}")
    assert answer.status_code == 200
    live = _live_rules(family)
    assert live and not m.DueEvaluation.objects.exists()
    if path == "alerts":
        assert {a["rule"] for a in answer.json()} == live
    else:
        assert answer.json()["total"] == len(live)


@pytest.fixture
def held_family(client):
    """The baby's family, queued and not evaluated, allocated to a health visitor."""
    _row, token = tokens.add("hv-epr", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    user = get_user_model().objects.create_user("hv", password="x" * 12)
    team = Team.objects.create(name="HV", agency="health_visiting")
    Membership.objects.create(user=user, team=team, role="health_visitor")
    Allocation.objects.create(family=family, team=team, practitioner=user, since=TODAY)
    sign_in(client, user)
    return family


@pytest.mark.django_db
def test_the_family_page_evaluates_a_queued_family_before_showing_its_alerts(client, held_family):
    page = client.get(f"/families/{held_family.pk}/")
    assert page.status_code == 200
    live = m.Alert.objects.filter(family=held_family, status__in=m.Alert.LIVE)
    assert live.exists() and not m.DueEvaluation.objects.exists()
    for alert in live:
        assert f'value="{alert.pk}"' in page.content.decode()  # each shown, with its decision form


@pytest.mark.django_db
def test_queueing_a_queued_family_again_keeps_the_time_since_it_waits(client):
    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    since = m.DueEvaluation.objects.get(family=family).since
    with time_machine.travel(TODAY + timedelta(minutes=5), tick=False):
        queue_families([family.pk, family.pk])
    assert list(m.DueEvaluation.objects.values_list("family_id", "since")) == [(family.pk, since)]


def test_the_background_evaluator_takes_a_submissions_family_after_the_answer(
    committed_db, client, settings, monkeypatch
):
    """A real thread with its own connection, kicked by the submission (the test database
    committed for real, so the thread sees what the request wrote)."""
    monkeypatch.setattr(background, "_evaluator", background.Evaluator(gather=0.0))
    settings.CRADLE_BACKGROUND_EVALUATION = True
    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    made = background.evaluator()
    assert made.wait_idle(60), "the evaluator did not finish its round"
    assert made.rounds >= 1 and made.failures == 0
    assert _live_rules(family)
    assert not m.DueEvaluation.objects.exists()


def test_a_failed_background_round_is_tried_again_without_another_kick(
    committed_db, client, settings, monkeypatch, caplog
):
    """The first round fails (as when the database has just restarted): the families stay
    queued and the thread tries again by itself, with nothing personal in the log."""
    from cradle.records import evaluation

    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)  # background off: queued, not evaluated
    real, calls = evaluation.evaluate_due, []

    def failing_once(today, **kw):
        calls.append(today)
        if len(calls) == 1:
            raise RuntimeError(f"server closed the connection while reading {BABY_NHS}")
        return real(today, **kw)

    monkeypatch.setattr(evaluation, "evaluate_due", failing_once)
    made = background.Evaluator(gather=0.0, retry=0.1)
    made.kick()
    assert made.wait_idle(60), "the evaluator did not recover"
    assert made.failures == 1 and len(calls) == 2
    assert _live_rules(family) and not m.DueEvaluation.objects.exists()
    logged = [r.getMessage() for r in caplog.records if r.name == background.__name__]
    assert logged and "RuntimeError" in logged[0] and BABY_NHS not in " ".join(logged)


def _in_thread(work, ready: threading.Event, release: threading.Event, errors: list):
    """``work`` in a transaction of another connection, held open from ``ready`` until
    ``release``."""

    def run():
        try:
            with transaction.atomic():
                work()
                ready.set()
                release.wait(30)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            ready.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_evaluation_leaves_a_family_that_a_write_has_queued_and_not_committed(
    committed_db, client
):
    """The write has queued its family (already queued before it) and not committed: taken
    off the queue now, the family would be evaluated without the write, and the write's
    queueing lost. The evaluation leaves it; once the write commits it is still queued."""
    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    ready, release, errors = threading.Event(), threading.Event(), []
    thread = _in_thread(lambda: queue_families([family.pk]), ready, release, errors)
    assert ready.wait(30)
    try:
        assert evaluate_due(TODAY) == 0  # left for the next round
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    assert list(m.DueEvaluation.objects.values_list("family_id", flat=True)) == [family.pk]


def test_a_files_end_waits_for_a_write_that_has_queued_one_of_its_families(committed_db, client):
    """The background evaluator leaves a row a write holds (the write kicks it once
    committed); a file's end must not, or a family it holds would wait for the sweep."""
    from cradle.feeds.models import Message

    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    file = Message.objects.create(source_system="file:x", agency="gp", channel="file", sha256="f")
    queue_families([family.pk], held_for=file.pk)
    ready, release, errors = threading.Event(), threading.Event(), []
    thread = _in_thread(
        lambda: queue_families([family.pk], held_for=file.pk), ready, release, errors
    )
    assert ready.wait(30)
    assert evaluate_due(TODAY) == 0  # the background's round: left (and held for the file)
    threading.Timer(1.0, release.set).start()  # bounds the test only: the row lock decides
    try:
        assert evaluate_due(TODAY, held_for=file.pk) == 1  # waited for the write, then took it
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    assert not m.DueEvaluation.objects.exists() and _live_rules(family)


def test_a_write_that_queues_a_family_being_evaluated_is_not_held_up_and_stays_queued(
    committed_db, client, monkeypatch
):
    """A write queues the family while it is being evaluated, on records read before the
    write: the write does not wait for the evaluation (the queue's row is not locked while
    the family is evaluated: every other call's write would wait behind it, holding the
    audit chain's head), and the evaluation, finding the family's stamp moved on, leaves
    it queued (else the write's records would never be evaluated); the next round takes
    it."""
    from cradle.records import evaluation

    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    stamp = m.DueEvaluation.objects.get(family=family).stamp
    taken, written, errors, waited = threading.Event(), threading.Event(), [], []
    real = evaluation.reevaluate_many

    def evaluating(families, today, **kw):  # the real evaluation, the first held open
        if not taken.is_set():
            taken.set()
            waited.append(written.wait(30))  # the write commits while the family is evaluated
        return real(families, today, **kw)

    def writer():
        try:
            assert taken.wait(30)
            with transaction.atomic():
                queue_families([family.pk])
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            written.set()
            connections.close_all()

    monkeypatch.setattr(evaluation, "reevaluate_many", evaluating)
    thread = threading.Thread(target=writer)
    thread.start()
    later = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        evaluated = evaluate_due(TODAY)
    thread.join(60)
    assert not errors, errors
    assert waited == [True]  # the write committed during the evaluation
    assert evaluated == 0
    left = m.DueEvaluation.objects.get(family=family)
    # Queued again, waiting since the evaluation read it (what came before is evaluated).
    assert (left.stamp, left.since) == (stamp + 1, later)
    assert evaluate_due(TODAY) == 1 and not m.DueEvaluation.objects.exists()


def test_a_reader_waiting_for_a_write_that_adds_to_the_family_never_deadlocks_with_it(
    committed_db, client
):
    """A people submission adds a member to a queued family and queues it again (locking
    the queue's row), while a reader evaluates the family before showing it: the reader
    holds the family's lock and waits for the queue's row; the write's commit checks the
    new member's foreign key (Django's are deferred), which takes the family's KEY SHARE
    lock. Were the family's lock FOR UPDATE, each would wait for the other (PostgreSQL
    then kills one); FOR NO KEY UPDATE lets the write commit, and the reader then
    evaluates the family with its new member."""
    from cradle.records.evaluation import evaluate_if_due

    _row, token = tokens.add("hv", "health_visiting")
    family = _send_a_bruised_baby(client, token)
    uncle = m.Person.objects.create(source_key="test:uncle", sex="male")
    queued, release, errors = threading.Event(), threading.Event(), []

    def add_and_queue():
        m.FamilyMember.objects.create(family=family, person=uncle, role="household_member")
        queue_families([family.pk])

    thread = _in_thread(add_and_queue, queued, release, errors)
    assert queued.wait(30)
    threading.Timer(1.0, release.set).start()  # bounds the test only: the locks decide
    evaluated = evaluate_if_due([family], TODAY)
    thread.join(60)
    assert not errors, errors
    assert evaluated == 1 and not m.DueEvaluation.objects.exists()
    assert m.FamilyMember.objects.filter(family=family, person=uncle).exists()
