"""Staff roles as Django groups: Petugas (officer) and Supervisor.

The permissions each role holds are declared here; data migrations call
`sync_role_groups` so a fresh database and an old one end up the same.
Later apps add their permissions to ROLE_PERMISSIONS with a migration.
"""

from __future__ import annotations

OFFICER = "Petugas"
SUPERVISOR = "Supervisor"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    OFFICER: [
        "offices.view_office",
        "offices.view_counter",
        "offices.view_holiday",
        "offices.view_openinghours",
    ],
    SUPERVISOR: [
        "offices.view_office",
        "offices.view_counter",
        "offices.change_counter",
        "offices.add_counter",
        "offices.view_holiday",
        "offices.add_holiday",
        "offices.change_holiday",
        "offices.delete_holiday",
        "offices.view_openinghours",
        "offices.change_openinghours",
        "offices.view_staffmembership",
        "accounts.view_user",
    ],
}


def sync_role_groups(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly its declared permissions."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permissions.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
