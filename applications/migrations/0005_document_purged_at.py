from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0004_document_ordering"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="purged_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="file deleted at"
            ),
        ),
        migrations.AddField(
            model_name="supersededdocument",
            name="purged_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
