"""Slots: generated on demand for a rolling window, counted in the database."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from imigrasi.db import retry_on_conflict
from imigrasi.errors import ServiceError
from offices.models import Holiday, Office
from queueing.models import Purpose, Quota, Slot


def quota_for(office: Office) -> Quota:
    quota = getattr(office, "_quota_cache", None)
    if quota is None:
        quota, _created = Quota.objects.get_or_create(office=office)
        office._quota_cache = quota
    return quota


def local_today(office: Office, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(office.tzinfo).date()


def booking_window(office: Office, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """Today through DAYS_AHEAD days ahead: places open a day at a time, no monthly rush."""
    today = local_today(office, now)
    return today, today + dt.timedelta(days=settings.QUEUE_DAYS_AHEAD)


def _windows(office: Office, day: dt.date, hours, minutes: int):
    """(start, end) aware datetimes of every whole slot inside the day's opening hours."""
    tz = office.tzinfo
    start = dt.datetime.combine(day, hours.opens_at, tzinfo=tz)
    closes = dt.datetime.combine(day, hours.closes_at, tzinfo=tz)
    step = dt.timedelta(minutes=minutes)
    while start + step <= closes:
        yield start, start + step
        start += step


def slots_ensure(office: Office, *, now: dt.datetime | None = None) -> int:
    """Create the missing slots of the rolling window; weekends and holidays get none.

    Idempotent (unique office/purpose/start, conflicts ignored) and cheap when
    called on every page: once done for an office and day, a cache key says so.
    """
    first, last = booking_window(office, now)
    key = f"queueing:slots-made:{office.pk}:{first.isoformat()}"
    if cache.get(key):
        return 0
    quota = quota_for(office)
    hours_by_weekday = {h.weekday: h for h in office.opening_hours.all()}
    holidays = set(
        Holiday.objects.filter(Q(office__isnull=True) | Q(office=office))
        .filter(date__range=(first, last))
        .values_list("date", flat=True)
    )
    have = set(
        Slot.objects.filter(office=office, day__range=(first, last))
        .values_list("day", "purpose")
        .distinct()
    )
    new = []
    day = first
    while day <= last:
        hours = hours_by_weekday.get(day.weekday())
        if hours and day not in holidays:
            for purpose in Purpose.values:
                if (day, purpose) in have:
                    continue
                capacity = quota.capacity_for(purpose)
                if not capacity:
                    continue
                for start, end in _windows(office, day, hours, quota.slot_minutes):
                    new.append(
                        Slot(
                            office=office,
                            purpose=purpose,
                            day=day,
                            starts_at=start,
                            ends_at=end,
                            capacity=capacity,
                        )
                    )
        day += dt.timedelta(days=1)
    if new:
        Slot.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
    cache.set(key, True, 3600)
    return len(new)


def slots_ensure_all() -> int:
    """The daily beat task: every active office's window moves on by a day."""
    return sum(slots_ensure(office) for office in Office.objects.active())


def forget_made(office: Office) -> None:
    """After a quota or hours change, let the next page regenerate missing days."""
    first, _last = booking_window(office)
    cache.delete(f"queueing:slots-made:{office.pk}:{first.isoformat()}")


def days_open(office: Office, purpose: str, *, now: dt.datetime | None = None) -> list[dict]:
    """Every day of the window with slots: its remaining places (0 = full, waitlist)."""
    now = now or timezone.now()
    slots_ensure(office, now=now)
    first, last = booking_window(office, now)
    rows = (
        Slot.objects.filter(
            office=office,
            purpose=purpose,
            day__range=(first, last),
            closed=False,
            starts_at__gt=now,
        )
        .values("day")
        .annotate(capacity=Sum("capacity"), booked=Sum("booked"))
        .order_by("day")
    )
    return [{"day": row["day"], "remaining": row["capacity"] - row["booked"]} for row in rows]


def slots_on(office: Office, purpose: str, day: dt.date, *, now: dt.datetime | None = None):
    now = now or timezone.now()
    found = list(
        Slot.objects.filter(
            office=office, purpose=purpose, day=day, closed=False, starts_at__gt=now
        ).order_by("starts_at")
    )
    for slot in found:
        slot.office = office  # one office object for every time label
    return found


def slot_take(slot_id: int, *, now: dt.datetime) -> bool:
    """Take one place with one conditional UPDATE: never over capacity, whoever races."""
    return bool(
        Slot.objects.filter(
            pk=slot_id, closed=False, starts_at__gt=now, booked__lt=F("capacity")
        ).update(booked=F("booked") + 1)
    )


def slot_release(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def refusal_for(slot: Slot, now: dt.datetime) -> ServiceError:
    """Why a place could not be taken, in the citizen's words."""
    slot.refresh_from_db(fields=["closed", "booked", "capacity"])
    if slot.closed:
        return ServiceError(
            _("The office is closed at that time. Choose another day."), field="slot"
        )
    if slot.starts_at <= now:
        return ServiceError(_("That time has already passed. Choose a later time."), field="slot")
    return ServiceError(
        _("That time is full: someone booked the last place. Choose another time."), field="slot"
    )


def day_close(office: Office, day: dt.date, *, reason: str, by=None) -> int:
    """Close an office day: no new bookings; booked citizens are told and may rebook.

    First the slots are closed (from then on nobody can book the day), then
    each booking is cancelled in its own transaction that locks the
    application before the booking, the order every booking path uses, so
    closing a day never deadlocks with a citizen booking or cancelling.
    Returns the number of bookings cancelled.
    """
    from queueing.bookings import booking_cancel_for_closure
    from queueing.models import Booking, WaitlistEntry

    reason = (reason or "").strip()[:200] or _("The office is closed on this day.")
    with transaction.atomic():
        Slot.objects.filter(office=office, day=day, closed=False).update(
            closed=True, closed_reason=reason
        )
        entries = WaitlistEntry.objects.select_for_update(of=("self",)).filter(
            office=office,
            day=day,
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
        )
        for entry in entries:
            if entry.status == WaitlistEntry.Status.OFFERED and entry.offered_slot_id:
                slot_release(entry.offered_slot_id)  # counts stay true if the day reopens
            entry.status = WaitlistEntry.Status.EXPIRED
            entry.closed_at = timezone.now()
            entry.save(update_fields=["status", "closed_at"])
    cancelled = 0
    active = Booking.objects.filter(
        slot__office=office, slot__day=day, status=Booking.Status.ACTIVE
    ).values_list("pk", flat=True)
    for pk in list(active):
        if retry_on_conflict(lambda pk=pk: booking_cancel_for_closure(pk, reason=reason)):
            cancelled += 1
    return cancelled


def day_reopen(office: Office, day: dt.date) -> int:
    with transaction.atomic():
        reopened = Slot.objects.filter(office=office, day=day, closed=True).update(
            closed=False, closed_reason=""
        )
    offer_free_places(Slot.objects.filter(office=office, day=day))
    return reopened


def offer_free_places(slots_with_room) -> int:
    """Places that appeared (a day reopened, capacity raised) go to people waiting first."""
    from queueing.bookings import waitlist_offer

    offered = 0
    for slot in slots_with_room.filter(closed=False, booked__lt=F("capacity")).select_related(
        "office"
    ):
        for _place in range(slot.capacity - slot.booked):
            with transaction.atomic():
                if waitlist_offer(slot) is None:
                    break
            offered += 1
    return offered
