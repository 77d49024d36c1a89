"""Database tests: run on SQLite by default and on PostgreSQL when CRADLE_DATABASE_URL is set.

Under CI=true a database that cannot be reached fails the run; it is never skipped.
"""

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
