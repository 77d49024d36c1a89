"""Two writes about one family at once, for real: a second connection, in a thread,
re-evaluates the family while the first's transaction is still open. With the family's
row lock (``cradle.records.evaluation.lock_families``) the second waits and then sees
the first's alerts; without it, on PostgreSQL, both raised the same alerts.

The test commits for real (a transactional test database), so the append-only audit
table's triggers are dropped only for the flush that empties it afterwards, and made
again. PostgreSQL only: SQLite runs one write transaction at a time."""

from __future__ import annotations

import threading
from collections import Counter

import time_machine
from django.db import connections, transaction

from cradle.records import models as m
from cradle.records.evaluation import reevaluate
from cradle.records.loading import load_case


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
