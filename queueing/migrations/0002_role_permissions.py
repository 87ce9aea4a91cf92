from __future__ import annotations

from django.db import migrations

from offices.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0001_initial"),
        ("payments", "0002_role_permissions"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
