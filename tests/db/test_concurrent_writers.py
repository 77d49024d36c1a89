"""Two writes about one family at once, for real: a second connection, in a thread,
re-evaluates the family while the first's transaction is still open. With the family's
row lock (``cradle.records.evaluation.lock_families``) the second waits and then sees
the first's alerts; without it, on PostgreSQL, both raised the same alerts.

The test commits for real (a transactional test database), so the append-only audit
table's triggers are dropped only for the flush that empties it afterwards, and made
again. PostgreSQL only: SQLite runs one write transaction at a time."""

from __future__ import annotations

import importlib
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection, connections, transaction

from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from cradle.records.loading import load_case

# The migration's own statements: the append-only triggers dropped for the flush that
# empties the committed test database, and made again after it.
APPEND_ONLY = importlib.import_module("cradle.access.migrations.0002_append_only_chained_audit")


def _run(statements) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


@pytest.fixture
def _append_only_again(django_db_blocker):
    """Set up before the transactional database: torn down after its flush."""
    yield
    with django_db_blocker.unblock():
        _run(APPEND_ONLY.TRIGGERS[connection.vendor])


@pytest.fixture
def committed_db(_append_only_again, transactional_db):
    if connection.vendor == "sqlite":
        # The SQLite test database is shared-cache memory, where a second writer fails at
        # once instead of waiting; a real SQLite file runs one IMMEDIATE write transaction
        # at a time (tests/test_sweep_concurrency.py runs two processes on one).
        _run(APPEND_ONLY.DROP["sqlite"])  # the flush still follows
        pytest.skip("two writers at once: PostgreSQL's row locks (SQLite serialises writes)")
    yield
    _run(APPEND_ONLY.DROP[connection.vendor])  # for the flush that follows, only


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
