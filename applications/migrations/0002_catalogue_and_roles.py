from __future__ import annotations

from django.db import migrations

from applications.catalogue import sync
from offices.roles import sync_role_groups


def seed(apps, schema_editor):
    sync(apps)
    sync_role_groups(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0001_initial"),
        ("offices", "0002_role_groups"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
