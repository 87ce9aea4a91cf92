"""The audit trail: who did what to which object, when and from where (TRUST.md).

Rows are append-only. The model refuses updates and deletes, its queryset
refuses `update()` and `delete()`, and on PostgreSQL a trigger refuses
UPDATE and DELETE statements from anybody (migration 0002), so not even a
raw query or the admin can rewrite history. The only change the trigger
lets through is a foreign key set to NULL when the user or office it points
to is deleted: the snapshot columns (`actor_email`, `actor_role`,
`object_label`) keep saying who it was.

No personal data goes in: the object label is a reference or a code, never
a name or a NIK, and `detail` holds statuses, decisions, amounts and counts.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(PermissionDenied):
    """An attempt to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Audit entries cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Audit entries cannot be changed.")

    def visible_to(self, user):
        """Entries `user` may browse: all for superusers; for supervisors, their
        offices' entries, entries without an office made by their offices' staff
        (logins), and their own; nothing for anybody else."""
        from offices.models import Office, StaffMembership

        if not (user.is_active and user.is_staff):
            return self.none()
        if user.is_superuser:
            return self
        offices = Office.objects.for_staff(user).values("pk")
        members = StaffMembership.objects.filter(office__in=offices)
        return self.filter(
            models.Q(office__in=offices)
            | models.Q(office__isnull=True, actor__in=members.values("user_id"))
            # Failed logins name the staff account tried, as the object.
            | models.Q(
                office__isnull=True,
                object_type="accounts.user",
                object_id__in=members.annotate(user_key=Cast("user_id", models.CharField())).values(
                    "user_key"
                ),
            )
            | models.Q(actor=user)
        )


class AuditEntry(models.Model):
    class Role(models.TextChoices):
        OFFICER = "officer", _("Officer")
        SUPERVISOR = "supervisor", _("Supervisor")
        ADMIN = "admin", _("Administrator")
        CITIZEN = "citizen", _("Citizen")
        ANONYMOUS = "anonymous", _("Not logged in")  # e.g. a failed login
        SYSTEM = "system", _("System")  # Celery tasks, management commands

    class Action(models.TextChoices):
        STATUS_MOVE = "status_move", _("Application status changed")
        DOCUMENT_DECISION = "document_decision", _("Document accepted or rejected")
        PAYMENT_RECORDED = "payment_recorded", _("Payment recorded by hand")
        REFUND_RECORDED = "refund_recorded", _("Refund recorded")
        PAYMENT_REVIEW_CLOSED = "payment_review_closed", _("Payment review closed")
        EXPORT = "export", _("Data exported")
        NIK_VIEWED = "nik_viewed", _("Full NIK or passport number viewed")
        DOCUMENT_DOWNLOADED = "document_downloaded", _("Citizen's document downloaded")
        COUNTER_ACTION = "counter_action", _("Counter action")
        BOOKING_ADMIN = "booking_admin", _("Booking days or capacity changed")
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOGOUT = "logout", _("Logged out")
        TWO_FACTOR_ENROLLED = "two_factor_enrolled", _("Two-factor authentication set up")
        TWO_FACTOR_FAILED = "two_factor_failed", _("Wrong two-factor code")
        TWO_FACTOR_RESET = "two_factor_reset", _("Two-factor authentication reset")
        ACCOUNT_DELETION_REQUESTED = "account_deletion_requested", _("Account deletion requested")
        ACCOUNT_REOPENED = "account_reopened", _("Closed account reopened")
        PERSONAL_DATA_EXPORTED = "personal_data_exported", _("Personal data downloaded")
        SETTINGS_CHANGE = "settings_change", _("Settings changed")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # A snapshot for staff (kept if the account goes); empty for citizens,
    # whose accounts are anonymised after the retention period (UU PDP).
    actor_email = models.CharField(_("by (email)"), max_length=254, blank=True)
    actor_role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    # A reference or code (LTG-2026-000123, a billing code, A-012): never a name or NIK.
    object_label = models.CharField(_("object"), max_length=120, blank=True)
    office = models.ForeignKey(
        "offices.Office",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("office"),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        # Only viewing: nobody adds, changes or deletes entries by hand.
        default_permissions = ("view",)
        permissions = [
            # Supervisors have it (offices/roles.py); officers see masked numbers only.
            ("view_personal_numbers", _("Can view full NIK and passport numbers")),
        ]
        indexes = [
            models.Index(fields=["office", "-at"], name="audit_office_at_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_at_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_label}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be changed.")
        kwargs["force_insert"] = True  # never an UPDATE, even with a primary key given
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries cannot be deleted.")
