from django.db import migrations, models


def practitioners_markings(apps, schema_editor):
    """A contact entered in error was marked by a practitioner, unless the version its
    agency last sent withdrew it (the feeds could, from the commit before this one); and
    a family swept before this migration was swept when that day's sweep finished, by the
    sweep's audit entry (none found: left for the next sweep), so that the sweep check
    neither reports every family the moment the upgrade lands nor hides a stopped sweep."""
    Contact = apps.get_model("records", "Contact")
    SourceVersion = apps.get_model("feeds", "SourceVersion")
    wrong = list(Contact.objects.filter(entered_in_error=True).values_list("pk", flat=True))
    withdrawn = set()
    for start in range(0, len(wrong), 500):
        latest = {}
        for contact, version, content in SourceVersion.objects.filter(
            record__contact_id__in=wrong[start : start + 500]
        ).values_list("record__contact_id", "version", "content"):
            if contact not in latest or version > latest[contact][0]:
                latest[contact] = (version, content)
        withdrawn |= {
            c for c, (_v, content) in latest.items()
            if isinstance(content, dict) and content.get("entered_in_error") is True
        }  # fmt: skip
    marked = [pk for pk in wrong if pk not in withdrawn]
    for start in range(0, len(marked), 500):
        Contact.objects.filter(pk__in=marked[start : start + 500]).update(marked_in_error=True)

    Family = apps.get_model("records", "Family")
    AuditEntry = apps.get_model("access", "AuditEntry")
    for day in Family.objects.exclude(swept_on=None).values_list("swept_on", flat=True).distinct():
        finished = (
            AuditEntry.objects.filter(
                actor="system:sweep", action="evaluate", what__startswith=f"sweep as of {day}:"
            )
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
        if finished is not None:
            Family.objects.filter(swept_on=day, swept_at=None).update(swept_at=finished)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0009_due_evaluation_stamp"),
        ("feeds", "0001_initial"),
        ("access", "0004_audit_actor_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="marked_in_error",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="family",
            name="swept_at",
            field=models.DateTimeField(
                blank=True, help_text="When a sweep last evaluated it", null=True
            ),
        ),
        migrations.RunPython(practitioners_markings, migrations.RunPython.noop),
    ]
