"""The waiting list of a full day: a freed place is offered to the first citizen waiting,
held for them (still counted as booked) for a while, and passed on when they leave or
let the offer run out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Application
from applications.workflow import Status
from queueing import bookings
from queueing.models import Booking, Purpose, Slot, Topic, WaitlistEntry
from tests.factories import UserFactory
from tests.utils import in_language, messages_of

from .conftest import (
    fill_day,
    first_slot,
    next_working_day,
    notifications_of,
    paid_for,
    refusal,
)

pytestmark = pytest.mark.django_db

OFFER_GONE = "The offer has run out and the place went to the next person."


@pytest.fixture
def full_day(paid, ani, office_a):
    """The next working day is full; ani holds the only place of its first slot."""
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    fill_day(office_a, slot.day, but=slot)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    slot.refresh_from_db()
    return slot, booking


def join(citizen, office, day, application=None, **kwargs) -> WaitlistEntry:
    return bookings.waitlist_join(
        citizen=citizen,
        office=office,
        purpose=Purpose.INTERVIEW,
        day=day,
        application=application or paid_for(citizen, office),
        **kwargs,
    )


def held(slot: Slot) -> int:
    slot.refresh_from_db()
    return slot.booked


def offered_directly(entry: WaitlistEntry, slot: Slot, *, minutes: int = 120) -> WaitlistEntry:
    """The state `waitlist_offer` leaves: the place held (counted) and the entry offered."""
    now = timezone.now()
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistEntry.Status.OFFERED,
        offered_slot=slot,
        offered_at=now,
        offer_expires_at=now + dt.timedelta(minutes=minutes),
    )
    entry.refresh_from_db()
    return entry


# --- Joining ------------------------------------------------------------------------------


def test_a_citizen_joins_the_list_of_a_full_day(full_day, eko, office_a):
    slot, _booking = full_day

    entry = join(eko, office_a, slot.day)

    assert entry.status == WaitlistEntry.Status.WAITING
    assert (entry.office, entry.day, entry.purpose) == (office_a, slot.day, Purpose.INTERVIEW)


def test_a_day_with_places_left_is_refused(paid, ani, office_a):
    day = next_working_day(office_a)

    message = refusal(lambda: join(ani, office_a, day, application=paid))

    assert message == in_language("id", "There are still places on that day: book one of them.")
    assert not WaitlistEntry.objects.exists()


def test_a_day_without_appointments_is_refused(paid, ani, office_a):
    day = next_working_day(office_a)
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7)

    message = refusal(lambda: join(ani, office_a, saturday, application=paid))

    assert message == in_language("id", "The office takes no appointments on that day.")


def test_a_day_beyond_the_booking_window_is_refused(paid, ani, office_a, settings):
    day = next_working_day(office_a) + dt.timedelta(days=settings.QUEUE_DAYS_AHEAD + 7)

    message = refusal(lambda: join(ani, office_a, day, application=paid))

    assert message == in_language("id", "Choose a day within the next %(days)s days.") % {
        "days": settings.QUEUE_DAYS_AHEAD
    }


def test_joining_twice_for_one_application_is_refused(full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    join(eko, office_a, slot.day, application=application)

    message = refusal(lambda: join(eko, office_a, slot.day, application=application))

    assert message == in_language("id", "This application is already on a waiting list.")
    assert WaitlistEntry.objects.filter(citizen=eko).count() == 1


def test_joining_a_consultation_list_twice_is_refused(ani, eko, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    fill_day(office_a, slot.day, purpose=Purpose.CONSULTATION)

    def join_consultation():
        return bookings.waitlist_join(
            citizen=eko,
            office=office_a,
            purpose=Purpose.CONSULTATION,
            day=slot.day,
            topic=Topic.VISA,
        )

    join_consultation()
    message = refusal(join_consultation)

    assert message == in_language("id", "You are already on the waiting list for that day.")
    assert WaitlistEntry.objects.filter(citizen=eko).count() == 1


def test_an_unpaid_application_cannot_wait_for_an_interview(full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    Application.objects.filter(pk=application.pk).update(status=Status.AWAITING_PAYMENT)
    application.refresh_from_db()

    message = refusal(lambda: join(eko, office_a, slot.day, application=application))

    assert message == in_language(
        "id", "An interview can be booked once the fee is paid. This application is “%(status)s”."
    ) % {"status": in_language("id", "Awaiting payment")}


def test_booking_another_day_takes_the_citizen_off_the_list(full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    entry = join(eko, office_a, slot.day, application=application)
    other = first_slot(office_a, day=next_working_day(office_a, after=slot.day))

    bookings.booking_interview(citizen=eko, application=application, slot_id=other.pk)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT


def test_the_join_button_puts_the_citizen_on_the_list(client, full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    client.force_login(eko)

    response = client.post(
        reverse("queueing:waitlist_join"),
        {"reference": application.reference, "day": f"{slot.day:%Y-%m-%d}"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("queueing:waitlist")
    assert WaitlistEntry.objects.get(citizen=eko).application == application


def test_the_join_button_on_a_day_with_places_explains_why_not(client, paid, ani, office_a):
    day = next_working_day(office_a)
    client.force_login(ani)

    response = client.post(
        reverse("queueing:waitlist_join"),
        {"reference": paid.reference, "day": f"{day:%Y-%m-%d}"},
        follow=True,
    )

    assert response.status_code == 200
    assert in_language("id", "There are still places on that day: book one of them.") in (
        messages_of(response)
    )
    assert not WaitlistEntry.objects.exists()


def test_someone_elses_application_cannot_be_put_on_the_list(client, full_day, paid, eko):
    slot, _booking = full_day
    client.force_login(eko)

    response = client.post(
        reverse("queueing:waitlist_join"),
        {"reference": paid.reference, "day": f"{slot.day:%Y-%m-%d}"},
    )

    assert response.status_code == 404
    assert not WaitlistEntry.objects.exists()


# --- Offers -------------------------------------------------------------------------------


def test_a_cancelled_place_is_offered_to_the_first_citizen_waiting(full_day, ani, eko, office_a):
    slot, booking = full_day
    first = join(eko, office_a, slot.day)
    fajar = UserFactory(full_name="Fajar Nugroho")
    second = join(fajar, office_a, slot.day)

    bookings.booking_cancel(booking=booking, citizen=ani)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistEntry.Status.OFFERED
    assert first.offered_slot == slot
    assert first.offer_expires_at > timezone.now()
    assert second.status == WaitlistEntry.Status.WAITING
    assert held(slot) == 1  # held for eko: nobody else can book it meanwhile
    assert {row.channel for row in notifications_of(eko, "waitlist.offered")} >= {"email", "sms"}
    assert not notifications_of(fajar, "waitlist.offered").exists()


def test_a_place_freed_by_a_reschedule_is_offered_too(full_day, ani, eko, office_a):
    slot, booking = full_day
    entry = join(eko, office_a, slot.day)
    elsewhere = first_slot(office_a, day=next_working_day(office_a, after=slot.day))

    bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=elsewhere.pk)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offered_slot == slot
    assert held(slot) == 1


def test_accepting_the_offer_books_the_place_and_schedules_the_application(
    full_day, ani, eko, office_a
):
    slot, booking = full_day
    application = paid_for(eko, office_a)
    entry = join(eko, office_a, slot.day, application=application)
    bookings.booking_cancel(booking=booking, citizen=ani)

    mine = bookings.waitlist_accept(entry=entry, citizen=eko)

    assert (mine.slot, mine.application, mine.status) == (slot, application, "active")
    assert held(slot) == 1  # the held place became the booking, not a second place
    application.refresh_from_db()
    assert application.status == Status.SCHEDULED


def test_accepting_a_held_place_counts_it_once(full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    entry = offered_directly(join(eko, office_a, slot.day, application=application), slot)
    before = held(slot)

    booking = bookings.waitlist_accept(entry=entry, citizen=eko)

    assert booking.slot == slot
    assert booking.application == application
    assert held(slot) == before
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.ACCEPTED
    application.refresh_from_db()
    assert application.status == Status.SCHEDULED


def test_accepting_after_the_offer_ran_out_is_refused(full_day, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot, minutes=120)
    too_late = entry.offer_expires_at + dt.timedelta(seconds=1)

    message = refusal(lambda: bookings.waitlist_accept(entry=entry, citizen=eko, now=too_late))

    assert message == in_language("id", OFFER_GONE)
    assert not Booking.objects.filter(citizen=eko).exists()


def test_an_offer_cannot_be_taken_by_someone_else(full_day, ani, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)

    message = refusal(lambda: bookings.waitlist_accept(entry=entry, citizen=ani))

    assert message == in_language("id", "This application is not yours.")
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_a_waiting_entry_without_an_offer_cannot_be_accepted(full_day, eko, office_a):
    slot, _booking = full_day
    entry = join(eko, office_a, slot.day)

    message = refusal(lambda: bookings.waitlist_accept(entry=entry, citizen=eko))

    assert message == in_language("id", "There is no place on offer for this entry.")


def test_an_expired_offer_passes_the_place_to_the_next_citizen(full_day, ani, eko, office_a):
    slot, booking = full_day
    first = join(eko, office_a, slot.day)
    fajar = UserFactory(full_name="Fajar Nugroho")
    second = join(fajar, office_a, slot.day)
    bookings.booking_cancel(booking=booking, citizen=ani)
    first.refresh_from_db()

    expired = bookings.waitlist_expire(now=first.offer_expires_at + dt.timedelta(minutes=1))

    assert expired == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistEntry.Status.EXPIRED
    assert second.status == WaitlistEntry.Status.OFFERED
    assert second.offered_slot == slot
    assert held(slot) == 1
    assert notifications_of(fajar, "waitlist.offered", "email").exists()
    late = first.offer_expires_at + dt.timedelta(minutes=2)
    assert refusal(lambda: bookings.waitlist_accept(entry=first, citizen=eko, now=late)) == (
        in_language("id", "There is no place on offer for this entry.")
    )


def test_an_expired_offer_with_nobody_else_waiting_frees_the_place(full_day, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)

    bookings.waitlist_expire(now=entry.offer_expires_at + dt.timedelta(minutes=1))

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.EXPIRED
    assert held(slot) == 0


def test_an_offer_still_open_is_not_expired(full_day, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)

    assert bookings.waitlist_expire(now=entry.offer_expires_at - dt.timedelta(minutes=1)) == 0

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_leaving_while_offered_passes_the_place_on(full_day, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)
    fajar = UserFactory(full_name="Fajar Nugroho")
    next_in_line = join(fajar, office_a, slot.day)

    bookings.waitlist_leave(entry=entry, citizen=eko)

    entry.refresh_from_db()
    next_in_line.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert next_in_line.status == WaitlistEntry.Status.OFFERED
    assert next_in_line.offered_slot == slot
    assert held(slot) == 1


def test_leaving_while_waiting_takes_the_citizen_off(full_day, eko, office_a):
    slot, _booking = full_day
    entry = join(eko, office_a, slot.day)

    bookings.waitlist_leave(entry=entry, citizen=eko)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert held(slot) == 1
    assert refusal(lambda: bookings.waitlist_leave(entry=entry, citizen=eko)) == in_language(
        "id", "You are no longer on this waiting list."
    )


def test_another_citizens_entry_is_not_found_on_the_buttons(client, full_day, ani, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)
    client.force_login(ani)

    accept = client.post(reverse("queueing:waitlist_accept", args=[entry.pk]))
    leave = client.post(reverse("queueing:waitlist_leave", args=[entry.pk]))

    assert (accept.status_code, leave.status_code) == (404, 404)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED


def test_the_take_button_books_the_offered_place(client, full_day, eko, office_a):
    slot, _booking = full_day
    entry = offered_directly(join(eko, office_a, slot.day), slot)
    client.force_login(eko)

    response = client.post(reverse("queueing:waitlist_accept", args=[entry.pk]))

    booking = Booking.objects.get(citizen=eko)
    assert response.status_code == 302
    assert response["Location"] == booking.get_absolute_url()
    assert booking.slot == slot


def test_the_take_button_books_an_offered_consultation_place(client, eko, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    fill_day(office_a, slot.day, purpose=Purpose.CONSULTATION)
    entry = bookings.waitlist_join(
        citizen=eko, office=office_a, purpose=Purpose.CONSULTATION, day=slot.day, topic=Topic.VISA
    )
    offered_directly(entry, slot)
    client.force_login(eko)

    response = client.post(reverse("queueing:waitlist_accept", args=[entry.pk]))

    booking = Booking.objects.get(citizen=eko)
    assert response.status_code == 302
    assert (booking.slot, booking.topic) == (slot, Topic.VISA)
    assert booking.room_url


def test_booking_elsewhere_while_a_place_is_held_passes_it_on(full_day, eko, office_a):
    slot, _booking = full_day
    application = paid_for(eko, office_a)
    entry = offered_directly(join(eko, office_a, slot.day, application=application), slot)
    fajar = UserFactory(full_name="Fajar Nugroho")
    next_in_line = join(fajar, office_a, slot.day)
    elsewhere = first_slot(office_a, day=next_working_day(office_a, after=slot.day))

    bookings.booking_interview(citizen=eko, application=application, slot_id=elsewhere.pk)

    entry.refresh_from_db()
    next_in_line.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT
    assert next_in_line.status == WaitlistEntry.Status.OFFERED
    assert held(slot) == 1


def test_a_place_given_back_by_a_withdrawn_application_is_offered(
    full_day, ani, budi, paid, eko, office_a
):
    from applications.workflow import transition

    slot, booking = full_day
    entry = join(eko, office_a, slot.day)
    transition(paid, Status.REVISION_REQUESTED, by=budi, note="Foto buram")

    transition(paid, Status.CANCELLED, by=ani)

    booking.refresh_from_db()
    entry.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offered_slot == slot
    assert held(slot) == 1
