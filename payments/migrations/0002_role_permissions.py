from __future__ import annotations

from django.db import migrations

from offices.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("applications", "0004_document_ordering"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
