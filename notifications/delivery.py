"""Sending outbox rows: claim, hand to the channel, record the outcome.

Every step is a conditional UPDATE on the row's status, so a task that the
broker delivers twice, or two workers racing, send a message once. Each
state change and its event row commit together (one transaction before the
send, one after it; none is held open while the provider answers), so the
history never misses a change nor records one that did not happen.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import random
import smtplib

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import events, sms
from notifications.models import Channel, Notification, NotificationEvent

logger = logging.getLogger(__name__)
Status = Notification.Status

MAX_ATTEMPTS = 5
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600
# Reminders and retries further out than this wait for the sweep, not for a
# broker countdown (TRUST.md: no long ETAs on the broker).
MAX_COUNTDOWN_SECONDS = 300
STUCK_AFTER = dt.timedelta(minutes=10)
RESEND_CREATED_AFTER = dt.timedelta(minutes=2)
SUPERSEDED = "superseded"  # the row left `sending` while this worker was sending it


def retry_delay(attempts: int) -> int:
    """Exponential backoff with full jitter: 30 s, 60 s, 120 s... capped at an hour."""
    ceiling = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** max(0, attempts - 1))
    return int(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311  # nosec B311  # retry jitter, not a secret


def record(notification_id: int, status: str, detail: str = "") -> None:
    NotificationEvent.objects.create(
        notification_id=notification_id, status=status, detail=detail[:300]
    )


def _send_email(notification: Notification) -> sms.SmsResult:
    message = EmailMultiAlternatives(
        notification.subject,
        notification.body,
        settings.DEFAULT_FROM_EMAIL,
        [notification.address],
        headers={"X-Imigrasi-Notification": str(notification.pk)},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    if notification.attachment:
        try:
            with default_storage.open(notification.attachment, "rb") as handle:
                content = handle.read()
        except OSError as error:
            return sms.SmsResult(sms.TEMPORARY, detail=f"attachment unreadable: {error}")
        mimetype = mimetypes.guess_type(notification.attachment_name)[0]
        message.attach(notification.attachment_name, content, mimetype or "application/pdf")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        return sms.SmsResult(sms.PERMANENT, detail=f"recipient refused: {error.recipients}")
    except (smtplib.SMTPException, OSError) as error:
        return sms.SmsResult(sms.TEMPORARY, detail=f"{type(error).__name__}: {error}")
    return sms.SmsResult(sms.DELIVERED)


def _send_sms(notification: Notification) -> sms.SmsResult:
    return sms.get_backend().send(
        to=notification.address, text=notification.body, reference=str(notification.pk)
    )


SENDERS = {Channel.EMAIL: _send_email, Channel.SMS: _send_sms}


def deliver(notification_id: int) -> str:
    """Send one row if it is due and nobody else has it; return what happened."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Notification.objects.filter(pk=notification_id, status__in=Notification.CLAIMABLE)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
        )
        if not claimed:
            return "not-due-or-taken"
        notification = Notification.objects.get(pk=notification_id)
        record(notification.pk, Status.SENDING, f"attempt {notification.attempts}")
    sender = SENDERS.get(notification.channel)
    try:
        result = sender(notification) if sender else sms.SmsResult(sms.DELIVERED)
    except Exception as error:  # a bug or an unexpected library error: retry, then give up
        logger.exception("sending notification %s failed", notification.pk)
        result = sms.SmsResult(sms.TEMPORARY, detail=f"{type(error).__name__}")
    return apply_result(notification, result)


REDACTED = "[redacted after sending]"


def redact_secret(notification: Notification) -> None:
    """Blank the text of a security message once it has left us.

    Verification links, reset links and SMS codes must not stay readable in
    the outbox (or the admin) after the provider has them; a retry needs
    the text, so only outcomes that end our sending do this.
    """
    # Never raises: the message has left, and an exception here would leave the
    # row in `sending` for the sweep to send again. (A row whose event has since
    # been removed from EVENTS has no known category.)
    category = events.EVENTS.get(notification.event, ("",))[0]
    if category == events.SECURITY:
        Notification.objects.filter(pk=notification.pk).update(body=REDACTED, body_html="")


def apply_result(notification: Notification, result: sms.SmsResult) -> str:
    """Record the send's outcome on a row this worker holds in `sending`.

    If the row is no longer in `sending` (the sweep took it back meanwhile),
    nothing is written and "superseded" is returned.
    """
    with transaction.atomic():
        outcome = _apply_result(notification, result)
        # Only once the row has really left `sending` for good: a superseded
        # row goes out again and needs its text.
        if outcome != SUPERSEDED and result.outcome != sms.TEMPORARY:
            redact_secret(notification)
    return outcome


def _apply_result(notification: Notification, result: sms.SmsResult) -> str:
    now = timezone.now()
    mine = Notification.objects.filter(pk=notification.pk, status=Status.SENDING)
    if result.outcome == sms.DELIVERED:
        if not mine.update(
            status=Status.DELIVERED,
            sent_at=now,
            delivered_at=now,
            provider_reference=result.reference,
            reason="",
        ):
            return SUPERSEDED
        record(notification.pk, Status.DELIVERED, result.detail)
        return Status.DELIVERED
    if result.outcome == sms.SENDING:
        if not mine.update(sent_at=now, provider_reference=result.reference, reason=""):
            return SUPERSEDED
        record(notification.pk, Status.SENDING, f"accepted by gateway as {result.reference}")
        return Status.SENDING
    if result.outcome == sms.PERMANENT:
        if not mine.update(status=Status.PERMANENT_FAILURE, reason=result.detail[:300]):
            return SUPERSEDED
        record(notification.pk, Status.PERMANENT_FAILURE, result.detail)
        return Status.PERMANENT_FAILURE
    if notification.attempts >= MAX_ATTEMPTS:
        detail = f"gave up after {notification.attempts} attempts: {result.detail}"
        if not mine.update(status=Status.TECHNICAL_FAILURE, reason=detail[:300]):
            return SUPERSEDED
        record(notification.pk, Status.TECHNICAL_FAILURE, detail)
        return Status.TECHNICAL_FAILURE
    delay = retry_delay(notification.attempts)
    if not mine.update(
        status=Status.TEMPORARY_FAILURE,
        reason=result.detail[:300],
        next_attempt_at=now + dt.timedelta(seconds=delay),
    ):
        return SUPERSEDED
    record(notification.pk, Status.TEMPORARY_FAILURE, f"{result.detail}; retry in {delay}s")
    if delay <= MAX_COUNTDOWN_SECONDS and not settings.CELERY_TASK_ALWAYS_EAGER:
        from notifications.services import enqueue

        pk = notification.pk
        transaction.on_commit(lambda: enqueue(pk, countdown=delay))
    return Status.TEMPORARY_FAILURE


def sweep(*, limit: int = 500) -> dict[str, int]:
    """Recover what a broker outage or a dead worker left behind.

    1. Rows claimed but never handed to a provider for STUCK_AFTER go back
       to `created` (the worker died mid-send).
    2. Rows still `created` after RESEND_CREATED_AFTER, and retries that
       are due, are queued again; `deliver` ignores any duplicate.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locked, so the rows reset are exactly the rows given a `reset` event.
        stuck = Notification.objects.select_for_update(skip_locked=True).filter(
            status=Status.SENDING, provider_reference="", claimed_at__lt=now - STUCK_AFTER
        )
        reset_ids = list(stuck.values_list("pk", flat=True)[:limit])
        reset = Notification.objects.filter(pk__in=reset_ids).update(
            status=Status.CREATED, claimed_at=None
        )
        for pk in reset_ids:
            record(pk, Status.CREATED, "reset: stuck in sending")
    due = Notification.objects.filter(
        Q(status=Status.CREATED, created_at__lt=now - RESEND_CREATED_AFTER)
        | Q(status=Status.CREATED, pk__in=reset_ids)
        | Q(status=Status.TEMPORARY_FAILURE, next_attempt_at__lte=now)
    ).order_by("created_at")
    queued = 0
    for pk in due.values_list("pk", flat=True)[:limit]:
        from notifications.services import enqueue

        if not enqueue(pk):
            break  # broker still down: try again at the next sweep
        queued += 1
    return {"reset": reset, "queued": queued}
