"""Two writes about one family at once are evaluated one after the other: every
re-evaluation takes the family's row lock before it reads the family's timeline and
alerts (``cradle.records.evaluation.lock_families``). Without it, on PostgreSQL, two
writes about one family read the same alert rows and each raised the same alert.

(A test with a second real connection would need a transactional test database, which
the append-only audit table's triggers refuse to flush; these check the lock is taken,
first, and in one order.)"""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cradle.records import models as m
from cradle.records.evaluation import reevaluate, reevaluate_many
from cradle.records.loading import load_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(calderdale, today):
    with time_machine.travel(today, tick=False):
        return load_case(calderdale, today, today_is_day=40).family


def _locks(queries) -> list[str]:
    return [q["sql"] for q in queries if "FOR NO KEY UPDATE" in q["sql"]]


def _lock_comes_first(queries) -> bool:
    """The families' lock is taken before any of the family's records is read."""
    sqls = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, sql in enumerate(sqls) if "FOR NO KEY UPDATE" in sql)
    reads = [i for i, sql in enumerate(sqls) if '"records_' in sql and "FOR NO KEY UPDATE" not in sql]
    return bool(reads) and lock < min(reads)


def test_a_reevaluation_locks_its_family_before_reading_anything(family, today, vendor):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        reevaluate(family, today, notify=False)
    if vendor == "sqlite":  # one write transaction at a time: no row locks to take
        assert not _locks(queries)
        return
    assert len(_locks(queries)) == 1 and m.Family._meta.db_table in _locks(queries)[0]
    assert _lock_comes_first(queries)


def test_a_batch_locks_its_families_in_one_order(family, today, vendor):
    others = [
        m.Family.objects.create(reference=f"extra-{i}", origin=family.origin) for i in range(3)
    ]
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        reevaluate_many([others[2], family, others[0], others[1]], today)
    locks = _locks(queries)
    if vendor == "sqlite":
        assert not locks
        return
    assert len(locks) == 1 and "ORDER BY" in locks[0]
    assert _lock_comes_first(queries)


@pytest.mark.parametrize("write", ["page", "admin"])
def test_every_write_takes_the_audit_chains_head_before_its_familys_lock(
    family, today, vendor, write, django_user_model
):
    """One order for every transaction (the audit chain's head, then families, then the
    evaluation queue): a page's write and an admin change about one family at once must
    not each hold what the other waits for."""
    from types import SimpleNamespace

    from cradle.access.models import Allocation, Membership, Team
    from cradle.records import actions
    from cradle.records.admin import _reevaluate

    user = django_user_model.objects.create_user("hv-order", password="x" * 12)
    team = Team.objects.create(name="HV order", agency="health_visiting")
    Membership.objects.create(user=user, team=team, role="health_visitor")
    Allocation.objects.create(family=family, team=team, practitioner=user, since=family.origin)
    baby = family.index_child
    with (
        CaptureQueriesContext(connection) as queries,
        transaction.atomic(),
        time_machine.travel(today, tick=False),
    ):
        if write == "page":
            actions.record_contact(
                acting_user=user, family_pk=family.pk, agency="health_visiting",
                kind="home_visit", outcome="attended", occurred_on=today, subjects=[baby],
                seen=[baby], today=today,
            )  # fmt: skip
        else:
            _reevaluate(SimpleNamespace(user=user), [family])
    sqls = [q["sql"] for q in queries.captured_queries]
    head = [i for i, sql in enumerate(sqls) if "access_audithead" in sql and "FOR UPDATE" in sql]
    families = [i for i, sql in enumerate(sqls) if "FOR NO KEY UPDATE" in sql]
    if vendor == "sqlite":  # one write transaction at a time: no row locks to take
        assert not head and not families
        return
    assert head and families and head[0] < families[0]
