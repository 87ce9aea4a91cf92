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
        "applications.view_application",
        "applications.change_application",
        "applications.view_document",
        "applications.change_document",
        "applications.view_statusevent",
        "applications.view_service",
        "applications.view_tariff",
        "applications.view_requirement",
        "payments.view_bill",
        "payments.view_payment",
        "payments.view_refund",
        "payments.view_webhookevent",
        "payments.record_payment",
        "queueing.operate_counter",
        "queueing.view_slot",
        "queueing.change_slot",
        "queueing.view_quota",
        "queueing.view_booking",
        "queueing.view_ticket",
        "queueing.view_waitlistentry",
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
        "applications.view_application",
        "applications.view_document",
        "applications.view_statusevent",
        "applications.view_service",
        "applications.change_service",
        "applications.view_tariff",
        "applications.add_tariff",
        "applications.change_tariff",
        "applications.view_requirement",
        "applications.add_requirement",
        "applications.change_requirement",
        "payments.view_bill",
        "payments.view_payment",
        "payments.view_refund",
        "payments.view_webhookevent",
        "payments.record_payment",
        "payments.record_refund",
        "queueing.view_slot",
        "queueing.change_slot",
        "queueing.view_quota",
        "queueing.change_quota",
        "queueing.view_booking",
        "queueing.view_ticket",
        "queueing.view_waitlistentry",
        "queueing.view_countershift",
        # The audit trail of their offices, and full NIK / passport numbers on
        # request (each viewing is itself audited). Officers see numbers masked.
        "audit.view_auditentry",
        "audit.view_personal_numbers",
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
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            # An app migrated later has no permissions yet: its own data
            # migration calls this again (a test checks none is left out).
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
