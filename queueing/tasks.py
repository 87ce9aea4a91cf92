from __future__ import annotations

from celery import shared_task

from queueing import bookings, reminders, slots


@shared_task(ignore_result=True)
def make_slots() -> int:
    """Move every office's rolling booking window on (also done on demand by the pages)."""
    return slots.slots_ensure_all()


@shared_task(ignore_result=True)
def mark_missed() -> int:
    return bookings.bookings_mark_missed()


@shared_task(ignore_result=True)
def expire_offers() -> int:
    return bookings.waitlist_expire()


@shared_task(ignore_result=True)
def remind_day_before() -> int:
    return reminders.remind_day_before()


@shared_task(ignore_result=True)
def remind_hour_before() -> int:
    return reminders.remind_hour_before()
