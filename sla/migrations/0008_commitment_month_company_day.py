from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0007_audit_log"),
    ]

    operations = [
        migrations.AlterField(
            model_name="commitmentrisk",
            name="month",
            field=models.DateField(help_text="First day of the company month (core.days)."),
        ),
    ]
