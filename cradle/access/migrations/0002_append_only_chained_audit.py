"""The audit log becomes append-only and hash-chained (issue 4).

Existing entries are numbered and chained in id order; then the database is
told to refuse any UPDATE or DELETE of a log row (triggers on SQLite and
PostgreSQL alike).
"""

from django.db import migrations, models

TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER access_auditentry_no_update BEFORE UPDATE ON access_auditentry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        "CREATE TRIGGER access_auditentry_no_delete BEFORE DELETE ON access_auditentry "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION access_auditentry_refuse() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql;",
        "CREATE TRIGGER access_auditentry_no_change BEFORE UPDATE OR DELETE ON access_auditentry "
        "FOR EACH ROW EXECUTE FUNCTION access_auditentry_refuse();",
        "CREATE TRIGGER access_auditentry_no_truncate BEFORE TRUNCATE ON access_auditentry "
        "FOR EACH STATEMENT EXECUTE FUNCTION access_auditentry_refuse();",
    ],
}
DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS access_auditentry_no_update;", "DROP TRIGGER IF EXISTS access_auditentry_no_delete;"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS access_auditentry_no_change ON access_auditentry;",
        "DROP TRIGGER IF EXISTS access_auditentry_no_truncate ON access_auditentry;",
        "DROP FUNCTION IF EXISTS access_auditentry_refuse();",
    ],
}


def chain_existing(apps, schema_editor):
    from cradle.access.audit import entry_hash

    AuditEntry = apps.get_model("access", "AuditEntry")
    AuditHead = apps.get_model("access", "AuditHead")
    previous, seq = "", 0
    for entry in AuditEntry.objects.order_by("id"):
        seq += 1
        entry.seq, entry.prev_hash = seq, previous
        entry.hash = entry_hash(entry)
        entry.save(update_fields=["seq", "prev_hash", "hash"])
        previous = entry.hash
    AuditHead.objects.update_or_create(pk=1, defaults={"seq": seq, "hash": previous})


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(default="", max_length=64)),
            ],
        ),
        migrations.AddField("auditentry", "seq", models.PositiveBigIntegerField(null=True)),
        migrations.AddField("auditentry", "ip", models.CharField(blank=True, max_length=45, default="")),
        migrations.AddField("auditentry", "role", models.CharField(blank=True, max_length=30, default="")),
        migrations.AddField("auditentry", "break_glass", models.BooleanField(default=False)),
        migrations.AddField("auditentry", "prev_hash", models.CharField(max_length=64, default="")),
        migrations.AddField("auditentry", "hash", models.CharField(max_length=64, default="")),
        migrations.AlterField("auditentry", "at", models.DateTimeField()),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField("auditentry", "seq", models.PositiveBigIntegerField(unique=True)),
        migrations.AlterModelOptions("auditentry", {"ordering": ["seq"], "verbose_name_plural": "audit entries"}),
        migrations.RunPython(_run(TRIGGERS), _run(DROP)),
    ]
