from django.db import migrations, models


def practitioners_markings(apps, schema_editor):
    """Until now only a practitioner (the page) marked a contact entered in error; and a
    family swept on a day was swept by that day's end at the latest (so that `cradle feeds
    check` does not report every family until the first sweep after this migration)."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    apps.get_model("records", "Contact").objects.filter(entered_in_error=True).update(
        marked_in_error=True
    )
    Family = apps.get_model("records", "Family")
    for day in Family.objects.exclude(swept_on=None).values_list("swept_on", flat=True).distinct():
        end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time()))
        Family.objects.filter(swept_on=day, swept_at=None).update(swept_at=min(end, timezone.now()))


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0009_due_evaluation_stamp"),
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
