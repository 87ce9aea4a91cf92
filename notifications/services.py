"""notify(): the one entry point other apps call to tell a person something."""

from __future__ import annotations

import logging
import time

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.template import TemplateDoesNotExist
from django.utils import timezone

from notifications import events, gsm
from notifications.models import Channel, Notification, NotificationEvent, Preference
from notifications.rendering import render

logger = logging.getLogger(__name__)

Status = Notification.Status


def _skip_reason(recipient, channel: str, category: str) -> str:
    """Why `channel` cannot or must not carry this message to `recipient` ("" if it can)."""
    if channel == Channel.PORTAL:
        return ""
    if channel == Channel.EMAIL and not recipient.email:
        return "no email address"
    if channel == Channel.SMS:
        if not recipient.phone:
            return "no mobile number"
        if category != events.SECURITY and not getattr(recipient, "phone_verified_at", None):
            return "mobile number not verified"
    if category == events.SECURITY:
        return ""
    preference = preference_for(recipient)
    wanted = {
        (events.STATUS, Channel.EMAIL): preference.email_status,
        (events.STATUS, Channel.SMS): preference.sms_status,
        (events.REMINDER, Channel.EMAIL): preference.email_reminders,
        (events.REMINDER, Channel.SMS): preference.sms_reminders,
    }.get((category, channel), True)
    return "" if wanted else "turned off in preferences"


def notify(
    recipient,
    event: str,
    context: dict,
    *,
    related: models.Model | None = None,
    channels: tuple[str, ...] | list[str] | None = None,
    address: str | None = None,
    attachment: tuple[str, str] | None = None,
) -> list[Notification]:
    """Write one outbox row per channel in the caller's transaction; send after commit.

    1. Channels default to the event's; each is skipped, with the reason
       recorded, when the person has no usable address or opted out.
    2. With `related`, the same (event, object, channel, person) is written
       once only: a second call is a no-op for that channel.
    With `address`, every channel goes there instead of the person's own
    email or phone (e.g. confirming a new email address before it is saved).
    With `attachment` (storage name, file name shown), emails carry that file.

    3. Rows go to Celery only after the caller's transaction commits, so a
       rolled-back change sends nothing and a broker outage loses nothing.
    """
    category = events.category_of(event)
    channels = tuple(channels or events.default_channels(event))
    related_type = ContentType.objects.get_for_model(related) if related is not None else None
    related_id = str(related.pk) if related is not None else ""
    language = getattr(recipient, "preferred_language", "") or "id"
    written = []
    for channel in channels:
        # Once-only rows (with `related`) are guarded by the unique constraint:
        # `_write` inserts under a savepoint and a second call finds it taken.
        notification = _write(
            recipient,
            event,
            channel,
            category,
            language,
            context,
            related_type,
            related_id,
            address,
            attachment if channel == Channel.EMAIL else None,
        )
        if notification is not None:
            written.append(notification)
    return written


def _write(
    recipient,
    event,
    channel,
    category,
    language,
    context,
    related_type,
    related_id,
    address,
    attachment,
):
    reason = "" if address else _skip_reason(recipient, channel, category)
    rendered = None
    if not reason:
        try:
            rendered = render(
                event=event,
                channel=channel,
                language=language,
                context={"recipient": recipient, **context},
            )
        except TemplateDoesNotExist:
            logger.error("notification %s has no %s template", event, channel)
            reason = "no template for this channel"
    status = Status.SKIPPED if reason else Status.CREATED
    if status == Status.CREATED and channel == Channel.PORTAL:
        status = Status.DELIVERED  # written into the person's list: that is delivery
    address = address or {Channel.EMAIL: recipient.email, Channel.SMS: recipient.phone}.get(
        channel, ""
    )
    notification = Notification(
        recipient=recipient,
        event=event,
        channel=channel,
        status=status,
        reason=reason,
        address=address or "",
        # The language the text is in: Indonesian when the person's is missing.
        language=rendered.language if rendered else language,
        subject=rendered.subject if rendered else "",
        body=rendered.body if rendered else "",
        body_html=rendered.body_html if rendered else "",
        segments=gsm.segments(rendered.body) if rendered and channel == Channel.SMS else 0,
        related_type=related_type,
        related_id=related_id,
        attachment=attachment[0] if attachment else "",
        attachment_name=attachment[1] if attachment else "",
        delivered_at=timezone.now() if status == Status.DELIVERED else None,
    )
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:  # a concurrent caller wrote the same once-only message
        return None
    NotificationEvent.objects.create(notification=notification, status=status, detail=reason)
    if status == Status.CREATED:
        transaction.on_commit(lambda: enqueue(notification.pk))
    return notification


# After a failed hand-off, skip the broker for a while: each attempt may
# block for the connection timeout, and the sweep will send the rows anyway.
_BROKER_BACKOFF_SECONDS = 30
_broker_down_until = 0.0


def enqueue(notification_id: int, *, countdown: int | None = None) -> bool:
    """Hand a row to Celery; on broker trouble leave it for the sweep."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    from notifications.tasks import send_notification

    try:
        send_notification.apply_async((notification_id,), countdown=countdown, retry=False)
    except Exception:  # kombu raises transport-specific errors: all mean "not queued"
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        logger.warning("broker unavailable: notification %s left for the sweep", notification_id)
        return False
    return True


def mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    """Mark the person's portal notifications read (all of them without ids)."""
    from notifications import unread

    rows = Notification.objects.for_portal(user).unread()
    if notification_ids is not None:
        rows = rows.filter(pk__in=notification_ids)
    updated = rows.update(read_at=timezone.now())
    unread.forget(user.pk)
    return updated


RESENDABLE = (Status.TEMPORARY_FAILURE, Status.TECHNICAL_FAILURE, Status.PERMANENT_FAILURE)


@transaction.atomic
def notifications_resend(*, notification_ids: list[int], by) -> list[int]:
    """Put failed notifications back in the outbox; return the ids requeued.

    Security messages are left alone: their one-time links and codes are
    redacted once sent, so the person asks for a new one instead. Rows are
    locked so a concurrent worker or sweep cannot interleave, and handed to
    Celery only after commit.
    """
    security = [
        name for name, (category, _) in events.EVENTS.items() if category == events.SECURITY
    ]
    ids = list(
        Notification.objects.select_for_update()
        .filter(pk__in=notification_ids, status__in=RESENDABLE)
        .exclude(event__in=security)
        .values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=ids).update(
        status=Status.CREATED, attempts=0, next_attempt_at=None, reason=""
    )
    NotificationEvent.objects.bulk_create(
        NotificationEvent(
            notification_id=pk, status=Status.CREATED, detail=f"resend requested by {by.email}"
        )
        for pk in ids
    )
    transaction.on_commit(lambda: [enqueue(pk) for pk in ids])
    return ids


def preference_for(user) -> Preference:
    """The person's saved choices, or the defaults (everything on) unsaved:
    the row is created only when they first save the form."""
    return Preference.objects.filter(user=user).first() or Preference(user=user)


@transaction.atomic
def preference_update(
    *,
    user,
    email_status: bool,
    sms_status: bool,
    email_reminders: bool,
    sms_reminders: bool,
) -> Preference:
    preference, _created = Preference.objects.select_for_update().get_or_create(user=user)
    preference.email_status = email_status
    preference.sms_status = sms_status
    preference.email_reminders = email_reminders
    preference.sms_reminders = sms_reminders
    preference.full_clean()
    preference.save()
    return preference
