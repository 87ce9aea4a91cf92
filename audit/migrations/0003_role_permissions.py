"""Supervisors browse the audit trail and may see full NIK and passport numbers."""

from __future__ import annotations

from django.db import migrations

from offices.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("queueing", "0002_role_permissions"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
