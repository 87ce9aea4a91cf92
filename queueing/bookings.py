"""Booking, rescheduling and cancelling appointments; the waiting list.

Places are taken with `slots.slot_take` (one conditional UPDATE) and given
back with `slot_release` in the same transaction as the booking row, so the
count and the bookings never disagree. The application moves `paid →
scheduled` (and back) only through the workflow.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Application
from applications.workflow import Status, resume_instead, transition
from imigrasi.errors import ServiceError
from queueing import slots as slot_rules
from queueing.models import PURPOSE_IN_SENTENCE, Booking, Purpose, Slot, Topic, WaitlistEntry

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud and typed
CODE_LENGTH = 8
MAX_NO_SHOWS = 2  # the first missed appointment may be rebooked once


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[:CODE_LENGTH]


def _create(**fields) -> Booking:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Booking.objects.create(code=new_code(), **fields)
        except IntegrityError as error:
            if "code" not in str(error):
                raise
    raise ServiceError(_("The booking could not be saved. Please try again."))


def _notify(booking: Booking, kind: str, **extra) -> None:
    from notifications.services import notify

    notify(
        booking.citizen,
        "booking.update",
        {
            "booking": booking,
            "kind": kind,
            "link": settings.SITE_URL + booking.get_absolute_url(),
            **booking_context(booking),
            **extra,
        },
    )


def booking_context(booking: Booking) -> dict:
    slot = booking.slot
    return {
        "booking": booking,
        "booking_code": booking.code_display,
        "office": booking.office,
        "starts_at": slot.starts_at,
        "purpose_label": PURPOSE_IN_SENTENCE[booking.purpose],  # lazy: the reader's language
        "room_url": booking.room_url,
    }


def _slot_for(slot_id, *, office, purpose: str) -> Slot:
    try:
        return Slot.objects.select_related("office").get(
            pk=int(slot_id), office=office, purpose=purpose
        )
    except (Slot.DoesNotExist, TypeError, ValueError):
        raise ServiceError(_("Choose one of the times shown."), field="slot") from None


def _take(slot: Slot, now: dt.datetime) -> None:
    if not slot_rules.slot_take(slot.pk, now=now):
        raise slot_rules.refusal_for(slot, now)


def _lock_application(application: Application, citizen) -> Application:
    locked = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service", "applicant", "office")
        .filter(pk=application.pk, applicant=citizen)
        .first()
    )
    if locked is None:
        raise ServiceError(_("This application is not yours."))
    return locked


def check_can_book(application: Application) -> None:
    """Refuse, in plain words, an application that cannot have an interview booked now."""
    if not application.service.needs_interview:
        raise ServiceError(_("This service does not need an interview."))
    if application.status == Status.SCHEDULED:
        raise ServiceError(_("This application already has an interview booked."))
    if application.status != Status.PAID:
        raise ServiceError(
            _("An interview can be booked once the fee is paid. This application is “%(status)s”.")
            % {"status": Status(application.status).label}
        )
    missed = application.bookings.filter(status=Booking.Status.NO_SHOW).count()
    if missed >= MAX_NO_SHOWS:
        raise ServiceError(
            _(
                "Two appointments were missed, so no more can be booked online. "
                "Please contact the office."
            )
        )


def booking_interview(*, citizen, application: Application, slot_id, now=None) -> Booking:
    """Book an interview for a paid application; moves it to scheduled."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_application(application, citizen)
        check_can_book(locked)
        slot = _slot_for(slot_id, office=locked.office, purpose=Purpose.INTERVIEW)
        _take(slot, now)
        booking = _create(
            citizen=citizen,
            application=locked,
            office=locked.office,
            purpose=Purpose.INTERVIEW,
            slot=slot,
        )
        _leave_waitlists(citizen, application=locked)
        transition(
            locked,
            Status.SCHEDULED,
            by=citizen,
            locked=True,
            context={**booking_context(booking), "booking_event": "booked"},
        )
    application.status = locked.status
    return booking


def booking_consultation(*, citizen, office, slot_id, topic: str, question: str = "", now=None):
    """Book a video consultation; the room link is unguessable."""
    now = now or timezone.now()
    if topic not in Topic.values:
        raise ServiceError(_("Choose a topic."), field="topic")
    with transaction.atomic():
        _check_consultation_limit(citizen, now)
        slot = _slot_for(slot_id, office=office, purpose=Purpose.CONSULTATION)
        _take(slot, now)
        booking = _create(
            citizen=citizen,
            office=office,
            purpose=Purpose.CONSULTATION,
            slot=slot,
            topic=topic,
            question=(question or "").strip()[:1000],
            room_token=secrets.token_urlsafe(18).replace("-", "x").replace("_", "y"),
        )
        _leave_waitlists(citizen, office=office, purpose=Purpose.CONSULTATION)
        _notify(booking, "confirmed")
    return booking


def _check_consultation_limit(citizen, now) -> None:
    """At most CONSULTATIONS_PER_CITIZEN upcoming; the citizen's row lock makes two tabs wait."""
    get_user_model().objects.select_for_update().filter(pk=citizen.pk).first()
    busy = Booking.objects.filter(
        citizen=citizen,
        purpose=Purpose.CONSULTATION,
        status=Booking.Status.ACTIVE,
        slot__starts_at__gt=now,
    ).count()
    if busy >= settings.CONSULTATIONS_PER_CITIZEN:
        raise ServiceError(
            _("You already have a video consultation booked. Cancel it to book another.")
        )


def _lock_booking(booking: Booking, citizen) -> Booking:
    locked = (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot", "office", "application")
        .filter(pk=booking.pk, citizen=citizen)
        .first()
    )
    if locked is None:
        raise ServiceError(_("This booking is not yours."))
    if locked.status != Booking.Status.ACTIVE:
        raise ServiceError(
            _("This booking is “%(status)s” and can no longer be changed.")
            % {"status": locked.get_status_display()}
        )
    return locked


def reschedule_deadline(booking: Booking) -> dt.date:
    """The last day a booking may be moved: the day before the appointment."""
    return booking.slot.day - dt.timedelta(days=1)


def can_reschedule(booking: Booking, now=None) -> bool:
    return (
        booking.is_active
        and booking.reschedules < settings.BOOKING_RESCHEDULE_LIMIT
        and slot_rules.local_today(booking.office, now) <= reschedule_deadline(booking)
    )


def booking_reschedule(*, booking: Booking, citizen, slot_id, now=None) -> Booking:
    """Move a booking to another slot (limited times, until the day before)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_booking(booking, citizen)
        if locked.reschedules >= settings.BOOKING_RESCHEDULE_LIMIT:
            raise ServiceError(
                _(
                    "This booking has already been moved %(count)s times, the most allowed. "
                    "You can cancel it and book again."
                )
                % {"count": locked.reschedules}
            )
        if slot_rules.local_today(locked.office, now) > reschedule_deadline(locked):
            raise ServiceError(
                _(
                    "An appointment can be moved until the day before. Today you can only "
                    "cancel it or come at the booked time."
                )
            )
        slot = _slot_for(slot_id, office=locked.office, purpose=locked.purpose)
        if slot.pk == locked.slot_id:
            raise ServiceError(_("That is the time you already have."), field="slot")
        old = locked.slot
        # Both slot rows locked in id order: two citizens swapping times never deadlock.
        list(
            Slot.objects.select_for_update()
            .filter(pk__in=[old.pk, slot.pk])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _take(slot, now)
        slot_rules.slot_release(old.pk)
        locked.slot = slot
        locked.reschedules += 1
        locked.reminded_at = locked.hour_reminded_at = None
        locked.save(update_fields=["slot", "reschedules", "reminded_at", "hour_reminded_at"])
        _notify(locked, "changed")
        waitlist_offer(old, now=now)
    booking.slot, booking.reschedules = locked.slot, locked.reschedules
    return locked


def booking_cancel(*, booking: Booking, citizen, now=None) -> Booking:
    """Cancel before the appointment starts; the place is free at once."""
    now = now or timezone.now()
    with transaction.atomic():
        if booking.application_id:
            # Lock order: application, then booking (as booking_interview).
            _lock_application(booking.application, citizen)
        locked = _lock_booking(booking, citizen)
        if locked.checked_in_at is not None:
            raise ServiceError(
                _("You have already checked in for this appointment; ask an officer instead.")
            )
        if locked.slot.starts_at <= now:
            raise ServiceError(_("The appointment time has passed; it can no longer be cancelled."))
        slot_rules.slot_release(locked.slot_id)
        _close(locked, Booking.Status.CANCELLED, now)
        if locked.application_id:
            _back_to_paid(locked, by=citizen, event="cancelled")
        else:
            _notify(locked, "cancelled")
        waitlist_offer(locked.slot, now=now)
    booking.status = locked.status
    return locked


def _close(booking: Booking, status: str, now: dt.datetime, note: str = "") -> None:
    booking.status = status
    booking.closed_at = now
    booking.close_note = note[:200]
    booking.save(update_fields=["status", "closed_at", "close_note"])


def _back_to_paid(booking: Booking, *, by, event: str, reason: str = "") -> None:
    application = booking.application
    if application.status == Status.REVISION_REQUESTED:
        # The revision would return to "scheduled" without an appointment: to "paid" instead.
        resume_instead(application, Status.SCHEDULED, Status.PAID)
        return
    if application.status != Status.SCHEDULED:
        return
    transition(
        application,
        Status.PAID,
        by=by,
        context={**booking_context(booking), "booking_event": event, "reason": reason},
    )


def booking_cancel_for_closure(booking_id: int, *, reason: str) -> bool:
    """The office closed the day: cancel without counting it against the citizen."""
    now = timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_related("application").filter(pk=booking_id).first()
        if booking is None:
            return False
        if booking.application_id:
            Application.objects.select_for_update(of=("self",)).filter(
                pk=booking.application_id
            ).first()
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot", "office", "application", "citizen")
            .filter(pk=booking_id, status=Booking.Status.ACTIVE)
            .first()
        )
        if locked is None or locked.slot.closed is False:
            return False  # moved meanwhile to a day that is still open
        slot_rules.slot_release(locked.slot_id)
        _close(locked, Booking.Status.CANCELLED, now, note=reason)
        if locked.application_id:
            locked.application.refresh_from_db(fields=["status"])
            _back_to_paid(locked, by=None, event="office_closed", reason=reason)
        else:
            _notify(locked, "office_closed", reason=reason)
    return True


def bookings_mark_missed(*, now=None, limit: int = 500) -> int:
    """After the day, an appointment nobody attended becomes `no_show`; the fee stays paid."""
    now = now or timezone.now()
    candidates = (
        Booking.objects.filter(
            status=Booking.Status.ACTIVE, slot__ends_at__lt=now, purpose=Purpose.INTERVIEW
        )
        .select_related("slot", "office", "application")
        .order_by("slot__starts_at")[:limit]
    )
    marked = 0
    for booking in list(candidates):
        if slot_rules.local_today(booking.office, now) <= booking.slot.day:
            continue  # still the appointment day: they may be in the queue
        with transaction.atomic():
            if booking.application_id:
                Application.objects.select_for_update(of=("self",)).filter(
                    pk=booking.application_id
                ).first()
            # Came and checked in but was not served: not held against them as a miss.
            came = booking.checked_in_at is not None
            status = Booking.Status.CANCELLED if came else Booking.Status.NO_SHOW
            claimed = Booking.objects.filter(pk=booking.pk, status=Booking.Status.ACTIVE).update(
                status=status,
                closed_at=now,
                close_note=_("Checked in but not served.") if came else "",
            )
            if not claimed:
                continue
            booking.status = status
            if booking.application_id:
                booking.application.refresh_from_db(fields=["status", "resume_status"])
                _back_to_paid(booking, by=None, event="not_served" if came else "no_show")
            else:
                _notify(booking, "not_served" if came else "no_show")
            marked += 1
    return marked


# --- Waiting list --------------------------------------------------------------


def _leave_waitlists(citizen, *, application=None, office=None, purpose=None) -> None:
    """Booked: the citizen's waiting entries close; a place held for them goes to the next."""
    now = timezone.now()
    entries = WaitlistEntry.objects.select_for_update(of=("self",)).filter(
        citizen=citizen,
        status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
    )
    if application is not None:
        entries = entries.filter(application=application)
    else:
        entries = entries.filter(office=office, purpose=purpose)
    for entry in entries.select_related("offered_slot"):
        held = entry.offered_slot if entry.status == WaitlistEntry.Status.OFFERED else None
        entry.status = WaitlistEntry.Status.LEFT
        entry.closed_at = now
        entry.save(update_fields=["status", "closed_at"])
        if held is not None:
            slot_rules.slot_release(held.pk)
            waitlist_offer(held, now=now)


def waitlist_join(
    *, citizen, office, purpose: str, day: dt.date, application=None, topic: str = "", now=None
) -> WaitlistEntry:
    now = now or timezone.now()
    first, last = slot_rules.booking_window(office, now)
    if not first <= day <= last:
        raise ServiceError(
            _("Choose a day within the next %(days)s days.") % {"days": settings.QUEUE_DAYS_AHEAD},
            field="day",
        )
    days = {row["day"]: row["remaining"] for row in slot_rules.days_open(office, purpose, now=now)}
    if day not in days:
        raise ServiceError(_("The office takes no appointments on that day."), field="day")
    if days[day] > 0:
        raise ServiceError(_("There are still places on that day: book one of them."), field="day")
    with transaction.atomic():
        if application is not None:
            locked = _lock_application(application, citizen)
            check_can_book(locked)
            if WaitlistEntry.objects.filter(
                application=locked,
                status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
            ).exists():
                raise ServiceError(_("This application is already on a waiting list."))
        elif topic not in Topic.values:
            raise ServiceError(_("Choose a topic."), field="topic")
        try:
            with transaction.atomic():
                return WaitlistEntry.objects.create(
                    office=office,
                    purpose=purpose,
                    day=day,
                    citizen=citizen,
                    application=application,
                    topic=topic,
                    created_at=now,
                )
        except IntegrityError:
            raise ServiceError(_("You are already on the waiting list for that day.")) from None


def waitlist_offer(slot: Slot, *, now=None) -> WaitlistEntry | None:
    """Offer a freed place to the first citizen waiting for that day, holding it for them."""
    now = now or timezone.now()
    minutes = settings.WAITLIST_OFFER_MINUTES
    if slot.starts_at <= now + dt.timedelta(minutes=30):
        return None  # too late to be useful to anyone travelling in
    waiting = (
        WaitlistEntry.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            office_id=slot.office_id,
            purpose=slot.purpose,
            day=slot.day,
            status=WaitlistEntry.Status.WAITING,
        )
        .select_related("application", "citizen", "office")
        .order_by("created_at", "pk")
    )
    for entry in list(waiting[:20]):
        if entry.application_id and entry.application.status != Status.PAID:
            entry.status = WaitlistEntry.Status.LEFT
            entry.closed_at = now
            entry.save(update_fields=["status", "closed_at"])
            continue
        if not slot_rules.slot_take(slot.pk, now=now):
            return None  # someone booked it first
        expires = min(
            now + dt.timedelta(minutes=minutes), slot.starts_at - dt.timedelta(minutes=30)
        )
        entry.status = WaitlistEntry.Status.OFFERED
        entry.offered_slot = slot
        entry.offered_at = now
        entry.offer_expires_at = expires
        entry.save(update_fields=["status", "offered_slot", "offered_at", "offer_expires_at"])
        _notify_offer(entry)
        return entry
    return None


def _notify_offer(entry: WaitlistEntry) -> None:
    from django.urls import reverse

    from notifications.services import notify

    notify(
        entry.citizen,
        "waitlist.offered",
        {
            "entry": entry,
            "office": entry.office,
            "starts_at": entry.offered_slot.starts_at,
            "expires_at": entry.offer_expires_at,
            "purpose_label": PURPOSE_IN_SENTENCE[entry.purpose],
            "reference": entry.application.reference if entry.application_id else "",
            "link": settings.SITE_URL + reverse("queueing:waitlist"),
        },
    )


def _lock_entry(entry: WaitlistEntry, citizen) -> WaitlistEntry:
    locked = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("offered_slot", "office", "application")
        .filter(pk=entry.pk, citizen=citizen)
        .first()
    )
    if locked is None:
        raise ServiceError(_("This waiting list entry is not yours."))
    return locked


def waitlist_accept(*, entry: WaitlistEntry, citizen, now=None) -> Booking:
    now = now or timezone.now()
    with transaction.atomic():
        if entry.application_id:
            application = _lock_application(entry.application, citizen)
        locked = _lock_entry(entry, citizen)
        if locked.status != WaitlistEntry.Status.OFFERED:
            raise ServiceError(_("There is no place on offer for this entry."))
        if locked.offer_expires_at <= now:
            raise ServiceError(_("The offer has run out and the place went to the next person."))
        slot = locked.offered_slot
        if locked.application_id:
            if application.status != Status.PAID:
                raise ServiceError(_("An interview can only be booked for a paid application."))
            booking = _create(
                citizen=citizen,
                application=application,
                office=locked.office,
                purpose=Purpose.INTERVIEW,
                slot=slot,
            )
            transition(
                application,
                Status.SCHEDULED,
                by=citizen,
                locked=True,
                context={**booking_context(booking), "booking_event": "booked"},
            )
        else:
            _check_consultation_limit(citizen, now)
            booking = _create(
                citizen=citizen,
                office=locked.office,
                purpose=Purpose.CONSULTATION,
                slot=slot,
                topic=locked.topic,
                room_token=secrets.token_urlsafe(18).replace("-", "x").replace("_", "y"),
            )
            _notify(booking, "confirmed")
        locked.status = WaitlistEntry.Status.ACCEPTED
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
    return booking


def waitlist_leave(*, entry: WaitlistEntry, citizen, now=None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_entry(entry, citizen)
        if locked.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
            raise ServiceError(_("You are no longer on this waiting list."))
        was_offered = locked.status == WaitlistEntry.Status.OFFERED
        locked.status = WaitlistEntry.Status.LEFT
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
        if was_offered and locked.offered_slot_id:
            slot_rules.slot_release(locked.offered_slot_id)
            waitlist_offer(locked.offered_slot, now=now)


def waitlist_expire(*, now=None, limit: int = 200) -> int:
    """Offers not taken in time: the held place goes to the next person waiting."""
    now = now or timezone.now()
    expired = 0
    due = WaitlistEntry.objects.filter(
        status=WaitlistEntry.Status.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", flat=True)[:limit]
    for pk in list(due):
        with transaction.atomic():
            entry = (
                WaitlistEntry.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("offered_slot")
                .filter(pk=pk, status=WaitlistEntry.Status.OFFERED)
                .first()
            )
            if entry is None:
                continue
            entry.status = WaitlistEntry.Status.EXPIRED
            entry.closed_at = now
            entry.save(update_fields=["status", "closed_at"])
            if entry.offered_slot_id:
                slot_rules.slot_release(entry.offered_slot_id)
                waitlist_offer(entry.offered_slot, now=now)
            expired += 1
    return expired
