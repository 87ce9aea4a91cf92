"""The notification outbox: one row per message and channel, written in the
caller's transaction, sent by Celery after commit (TRUST.md, "Side effects
that must not be lost"). Delivery states follow GOV.UK Notify."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PORTAL = "portal", _("In the portal")


class NotificationQuerySet(models.QuerySet):
    def for_portal(self, user):
        return self.filter(recipient=user, channel=Channel.PORTAL)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("created")  # written with the business change, not sent yet
        SENDING = "sending", _("sending")  # claimed by a worker or handed to the provider
        DELIVERED = "delivered", _("delivered")  # the provider (or the portal) delivered it
        TEMPORARY_FAILURE = "temporary-failure", _("temporary failure")  # will be retried
        PERMANENT_FAILURE = "permanent-failure", _("permanent failure")  # refused; no retry
        TECHNICAL_FAILURE = "technical-failure", _("technical failure")  # retries exhausted
        SKIPPED = "skipped", _("skipped")  # not sent: no address, unverified phone or opted out

    FINAL = frozenset(
        {Status.DELIVERED, Status.PERMANENT_FAILURE, Status.TECHNICAL_FAILURE, Status.SKIPPED}
    )
    # What a worker may claim: fresh rows and rows waiting for their next attempt.
    CLAIMABLE = frozenset({Status.CREATED, Status.TEMPORARY_FAILURE})

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=64)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CREATED
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    address = models.CharField(_("address"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=5)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    body_html = models.TextField(blank=True)
    segments = models.PositiveSmallIntegerField(_("SMS segments"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True, db_index=True)
    # A file in private storage sent with an email (a receipt PDF); other channels ignore it.
    attachment = models.CharField(max_length=200, blank=True)
    attachment_name = models.CharField(max_length=120, blank=True)
    related_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            # The same event about the same object never reaches a person twice
            # on one channel, however often the caller runs.
            models.UniqueConstraint(
                fields=["event", "related_type", "related_id", "channel", "recipient"],
                condition=Q(related_type__isnull=False),
                name="notifications_once_per_event_object_channel",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient_id} ({self.channel}, {self.status})"


class NotificationEvent(models.Model):
    """Append-only history of a notification's states."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=Notification.Status.choices)
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.notification_id}: {self.status}"


class Preference(models.Model):
    """What a person wants besides security messages, which always go by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_status = models.BooleanField(_("status updates by email"), default=True)
    sms_status = models.BooleanField(_("status updates by SMS"), default=True)
    email_reminders = models.BooleanField(_("reminders by email"), default=True)
    sms_reminders = models.BooleanField(_("reminders by SMS"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return str(self.user)
