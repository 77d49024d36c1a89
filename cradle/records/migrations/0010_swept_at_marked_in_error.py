from django.db import migrations, models


def practitioners_markings(apps, schema_editor):
    """Until now only a practitioner (the page) marked a contact entered in error."""
    apps.get_model("records", "Contact").objects.filter(entered_in_error=True).update(
        marked_in_error=True
    )


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
