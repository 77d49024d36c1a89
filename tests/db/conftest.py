"""Database tests: run on SQLite by default and on PostgreSQL when CRADLE_DATABASE_URL is set.

Under CI=true a database that cannot be reached fails the run; it is never skipped.
"""

import importlib
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from cradle.scenarios import load_case

CASES = Path(__file__).resolve().parent.parent.parent / "cases"
TODAY = date(2026, 11, 26)


@pytest.fixture
def today():
    return TODAY


@pytest.fixture
def calderdale():
    return load_case(CASES / "calderdale-2022.yaml")


@pytest.fixture
def vendor():
    return connection.vendor


@pytest.fixture(autouse=True)
def audit_anchor(tmp_path, monkeypatch):
    """Each test's database starts empty, so each has its own audit anchor."""
    monkeypatch.setenv("CRADLE_AUDIT_ANCHOR", str(tmp_path / "audit-anchor.json"))


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
def committed_one_at_a_time(_append_only_again, transactional_db):
    """A committed database for one writer at a time (a write run again after another's,
    interleaved in one thread): SQLite too."""
    yield
    _run(APPEND_ONLY.DROP[connection.vendor])  # for the flush that follows, only


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
