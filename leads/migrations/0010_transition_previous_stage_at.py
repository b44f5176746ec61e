"""Each transition keeps where its flow velocity starts (`previous_stage_at`), computed here
for the transitions already stored, so flow reports read only their period's transitions."""

from django.db import migrations, models


def previous_stages_compute(apps, schema_editor):
    from leads.services.entries import previous_stages_rebuild

    previous_stages_rebuild(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0009_audit_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="stagetransition",
            name="previous_stage_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(previous_stages_compute, migrations.RunPython.noop, elidable=True),
    ]
