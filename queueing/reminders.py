"""Appointment reminders, found by beat scans of the bookings (no long countdown tasks).

The day before an appointment (sent between 07.00 and 21.00 office time, or
on the morning itself for a booking made late), and an hour before a video
consultation. A conditional update claims each booking, so two beat runs
never remind twice; a reschedule clears the claim.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from queueing.bookings import booking_context
from queueing.models import Booking, Purpose

DAY_BEFORE_FROM = dt.time(7, 0)
DAY_BEFORE_UNTIL = dt.time(21, 0)


def _due_day_before(booking: Booking, now: dt.datetime) -> bool:
    local = now.astimezone(booking.office.tzinfo)
    day = booking.slot.day
    if local.date() == day - dt.timedelta(days=1):
        return DAY_BEFORE_FROM <= local.time() < DAY_BEFORE_UNTIL
    # Booked after the evening cut-off for the next morning: remind early that day.
    return local.date() == day and local.time() >= dt.time(6, 0) and booking.slot.starts_at > now


def _send(booking: Booking, field: str, when: str, now: dt.datetime) -> bool:
    from notifications.services import notify

    with transaction.atomic():
        claimed = Booking.objects.filter(
            pk=booking.pk, status=Booking.Status.ACTIVE, **{f"{field}__isnull": True}
        ).update(**{field: now})
        if not claimed:
            return False
        notify(
            booking.citizen,
            "booking.reminder",
            {
                **booking_context(booking),
                "when": when,
                "link": settings.SITE_URL + booking.get_absolute_url(),
            },
        )
    return True


def remind_day_before(*, now=None) -> int:
    now = now or timezone.now()
    candidates = Booking.objects.filter(
        status=Booking.Status.ACTIVE,
        reminded_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__lt=now + dt.timedelta(hours=48),
    ).select_related("slot", "office", "citizen", "application")
    sent = 0
    for booking in list(candidates[:2000]):
        if not _due_day_before(booking, now):
            continue
        same_day = now.astimezone(booking.office.tzinfo).date() == booking.slot.day
        if _send(booking, "reminded_at", "today" if same_day else "tomorrow", now):
            sent += 1
    return sent


def remind_hour_before(*, now=None) -> int:
    now = now or timezone.now()
    candidates = Booking.objects.filter(
        status=Booking.Status.ACTIVE,
        purpose=Purpose.CONSULTATION,
        hour_reminded_at__isnull=True,
        slot__starts_at__gt=now,
        slot__starts_at__lte=now + dt.timedelta(minutes=60),
    ).select_related("slot", "office", "citizen")
    sent = 0
    for booking in list(candidates[:2000]):
        if _send(booking, "hour_reminded_at", "hour", now):
            sent += 1
    return sent
