from __future__ import annotations

from django.db import migrations


def create_quotas(apps, schema_editor):
    office_model = apps.get_model("offices", "Office")
    quota_model = apps.get_model("queueing", "Quota")
    for office in office_model.objects.filter(quota__isnull=True):
        quota_model.objects.create(office=office)


class Migration(migrations.Migration):
    dependencies = [("queueing", "0002_role_permissions")]

    operations = [migrations.RunPython(create_quotas, migrations.RunPython.noop)]
