"""The webhook tables take this app's names; a delivery being sent carries its claim's end;
content types and permissions follow the models here."""

from django.db import migrations, models

MODELS = ("webhooksubscription", "webhookdelivery", "webhookattempt")


def move_content_types(apps, schema_editor, source="reporting", target="webhooks"):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        old = content_type.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        content_type.objects.filter(app_label=target, model=model).delete()
        old.app_label = target
        old.save(update_fields=["app_label"])


def restore_content_types(apps, schema_editor):
    move_content_types(apps, schema_editor, source="webhooks", target="reporting")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("webhooks", "0001_initial"),
        ("reporting", "0002_webhooks_move_to_their_app"),
    ]

    operations = [
        migrations.AlterModelTable(name="webhooksubscription", table=None),
        migrations.AlterModelTable(name="webhookdelivery", table=None),
        migrations.AlterModelTable(name="webhookattempt", table=None),
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="A delivery being sent is held until then; past it, its worker is "
                "presumed dead and the delivery is tried again.",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "sending")),
                fields=["claimed_until"],
                name="webhook_delivery_claimed",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["created_at"],
                name="webhook_delivery_pending",
            ),
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
