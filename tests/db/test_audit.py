"""The audit log: append-only in the database, and tampering found by `cradle audit verify`."""

import pytest
from django.db import DatabaseError, connection, transaction

from cradle.access import audit
from cradle.access.models import AuditEntry

pytestmark = pytest.mark.django_db

SQLITE_TRIGGERS = [
    "CREATE TRIGGER access_auditentry_no_update BEFORE UPDATE ON access_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    "CREATE TRIGGER access_auditentry_no_delete BEFORE DELETE ON access_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
]


@pytest.fixture
def log(django_capture_on_commit_callbacks):
    """Six entries, and the anchor written after each commit."""
    for i in range(6):
        with django_capture_on_commit_callbacks(execute=True):
            audit.record(actor="system:test", action="read", what=f"entry {i + 1}")
    assert audit.verify().ok
    return list(AuditEntry.objects.order_by("seq"))


def tamper(*statements):
    """What someone with direct access to the database could do, triggers out of the way."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER access_auditentry_no_update")
            cursor.execute("DROP TRIGGER access_auditentry_no_delete")
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks in the way
            cursor.execute("ALTER TABLE access_auditentry DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "sqlite":
            for sql in SQLITE_TRIGGERS:
                cursor.execute(sql)
        else:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE access_auditentry ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.mark.parametrize("sql", ["UPDATE access_auditentry SET what = 'nothing to see'", "DELETE FROM access_auditentry"])
def test_the_database_refuses_to_change_or_remove_log_rows(log, sql):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEntry.objects.count() == 6


def test_the_orm_cannot_change_a_row_either(log):
    entry = log[0]
    entry.what = "edited"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()


def test_an_edited_entry_is_found(log):
    tamper(("UPDATE access_auditentry SET what = %s WHERE seq = 3", ["a quieter story"]))
    assert audit.verify().problems == ["entry 3 was altered or inserted (its content does not match its keyed hash)"]


def test_a_deleted_entry_is_found(log):
    tamper(("DELETE FROM access_auditentry WHERE seq = 4", []))
    assert audit.verify().problems == ["entry 4 is missing (deleted): the next entry is 5"]


def test_an_inserted_entry_is_found(log):
    forged = log[2]
    tamper(
        ("UPDATE access_auditentry SET seq = seq + 100 WHERE seq >= 3", []),
        ("UPDATE access_auditentry SET seq = seq - 99 WHERE seq >= 103", []),
        (
            "INSERT INTO access_auditentry (seq, at, actor, action, what, ip, role, break_glass, prev_hash, hash) "
            "VALUES (3, %s, 'user:99', 'read', 'forged', '', '', %s, %s, %s)",
            [forged.at, False, log[1].hash, "0" * 64],
        ),
    )
    assert audit.verify().problems == ["entry 3 was altered or inserted (its content does not match its keyed hash)"]


def test_removing_the_newest_entries_is_found_by_the_anchor(log):
    tamper(("DELETE FROM access_auditentry WHERE seq >= 5", []))
    assert audit.verify().problems == ["entries 5 to 6 were removed from the end (the anchor records entry 6)"]


def test_an_altered_anchor_is_found(log):
    path = audit.anchor_path()
    path.write_text(path.read_text().replace('"seq": 6', '"seq": 7'))
    assert "the anchor was altered" in audit.verify().problems[0]


def test_the_command_says_so_and_fails(log, capsys):
    from cradle.cli import main

    assert main(["audit", "verify"]) == 0
    tamper(("DELETE FROM access_auditentry WHERE seq = 2", []))
    assert main(["audit", "verify"]) == 1
    assert "PROBLEM: entry 2 is missing" in capsys.readouterr().out
