"""Booking an interview (and a video consultation): the place is taken in the database,
the application moves paid → scheduled through the workflow, and every refusal is a
clear message. Rescheduling, cancelling, missed appointments, the slip and its QR."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from applications import verification
from applications.models import Application, StatusEvent
from applications.workflow import Status, transition
from queueing import bookings, slots
from queueing.models import Booking, Purpose, Slot, Topic
from tests.utils import in_language, page_text

from .conftest import (
    first_slot,
    next_working_day,
    notifications_of,
    open_moment,
    paid_for,
    refusal,
)

pytestmark = pytest.mark.django_db

FULL = "That time is full: someone booked the last place. Choose another time."
NOT_PAID = "An interview can be booked once the fee is paid. This application is “%(status)s”."


def status_label(status: str) -> str:
    return in_language("id", str(Status(status).label))


def later_slot(office, after: Slot) -> Slot:
    """A slot on a later working day than `after` (for moves and second bookings)."""
    day = next_working_day(office, after=after.day)
    return first_slot(office, day=day)


def booked(slot: Slot) -> int:
    slot.refresh_from_db()
    return slot.booked


# --- Booking an interview -----------------------------------------------------------------


def test_booking_a_paid_application_moves_it_to_scheduled(paid, ani, office_a):
    slot = first_slot(office_a)

    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    assert booking.status == Booking.Status.ACTIVE
    assert (booking.citizen, booking.application, booking.office) == (ani, paid, office_a)
    assert booking.purpose == Purpose.INTERVIEW
    assert len(booking.code) == 8
    assert booked(slot) == 1
    paid.refresh_from_db()
    assert paid.status == Status.SCHEDULED
    event = StatusEvent.objects.get(application=paid, to_status=Status.SCHEDULED)
    assert (event.from_status, event.by, event.actor) == (Status.PAID, ani, "citizen")


def test_the_booking_message_gives_the_code_office_and_time(paid, ani, office_a):
    slot = first_slot(office_a)

    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    email = notifications_of(ani, "application.status_changed", "email").latest("pk")
    assert booking.code_display in email.body
    assert office_a.name in email.body
    assert f"{slot.local_start():%H.%M}" in email.body or f"{slot.local_start():%H:%M}" in (
        email.body
    )
    assert notifications_of(ani, "application.status_changed", "portal").count() >= 1


@pytest.mark.parametrize("status", [Status.AWAITING_PAYMENT, Status.SUBMITTED, Status.CANCELLED])
def test_an_application_that_is_not_paid_is_refused(ani, office_a, status):
    application = paid_for(ani, office_a)
    Application.objects.filter(pk=application.pk).update(status=status)
    application.refresh_from_db()
    slot = first_slot(office_a)

    message = refusal(
        lambda: bookings.booking_interview(citizen=ani, application=application, slot_id=slot.pk)
    )

    assert message == in_language("id", NOT_PAID) % {"status": status_label(status)}
    assert booked(slot) == 0
    assert not Booking.objects.exists()


def test_someone_elses_application_is_refused(paid, eko, office_a):
    slot = first_slot(office_a)

    message = refusal(
        lambda: bookings.booking_interview(citizen=eko, application=paid, slot_id=slot.pk)
    )

    assert message == in_language("id", "This application is not yours.")
    assert booked(slot) == 0
    paid.refresh_from_db()
    assert paid.status == Status.PAID


def test_someone_elses_application_does_not_exist_on_the_booking_page(client, paid, eko, office_a):
    slot = first_slot(office_a)
    client.force_login(eko)
    url = reverse("queueing:book", args=[paid.reference])

    assert client.get(url).status_code == 404
    assert client.post(url, {"slot": slot.pk}).status_code == 404
    assert booked(slot) == 0


def test_a_full_slot_is_refused(paid, ani, office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(booked=3)

    message = refusal(
        lambda: bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    )

    assert message == in_language("id", FULL)
    assert booked(slot) == 3
    paid.refresh_from_db()
    assert paid.status == Status.PAID


def test_a_closed_day_is_refused(paid, ani, office_a):
    slot = first_slot(office_a)
    slots.day_close(office_a, slot.day, reason="Renovasi")

    message = refusal(
        lambda: bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    )

    assert message == in_language("id", "The office is closed at that time. Choose another day.")
    assert booked(slot) == 0


def test_a_slot_already_past_is_refused(paid, ani, office_a):
    slot = first_slot(office_a)  # 08.00

    message = refusal(
        lambda: bookings.booking_interview(
            citizen=ani, application=paid, slot_id=slot.pk, now=open_moment(office_a, slot.day)
        )
    )

    assert message == in_language("id", "That time has already passed. Choose a later time.")
    assert booked(slot) == 0


@pytest.mark.parametrize("slot_id", ["abc", "", None, 99999999])
def test_a_slot_that_is_not_one_of_the_times_shown_is_refused(paid, ani, office_a, slot_id):
    message = refusal(
        lambda: bookings.booking_interview(citizen=ani, application=paid, slot_id=slot_id)
    )

    assert message == in_language("id", "Choose one of the times shown.")


def test_a_slot_of_another_office_or_purpose_is_refused(paid, ani, office_a, office_b):
    theirs = first_slot(office_b)
    consultation = first_slot(office_a, purpose=Purpose.CONSULTATION)

    for slot in (theirs, consultation):
        message = refusal(
            lambda slot=slot: bookings.booking_interview(
                citizen=ani, application=paid, slot_id=slot.pk
            )
        )
        assert message == in_language("id", "Choose one of the times shown.")
        assert booked(slot) == 0


def test_an_application_has_one_active_booking_only(paid, ani, office_a):
    slot = first_slot(office_a)
    bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    other = later_slot(office_a, slot)

    message = refusal(
        lambda: bookings.booking_interview(citizen=ani, application=paid, slot_id=other.pk)
    )

    assert message == in_language("id", "This application already has an interview booked.")
    assert Booking.objects.filter(application=paid).count() == 1
    assert booked(other) == 0


# --- Rescheduling -------------------------------------------------------------------------


def test_rescheduling_moves_the_place_to_the_new_time(paid, ani, office_a):
    old = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=old.pk)
    new = later_slot(office_a, old)

    bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=new.pk)

    booking.refresh_from_db()
    assert booking.slot == new
    assert booking.reschedules == 1
    assert booking.status == Booking.Status.ACTIVE
    assert (booked(old), booked(new)) == (0, 1)
    paid.refresh_from_db()
    assert paid.status == Status.SCHEDULED
    changed = notifications_of(ani, "booking.update", "email").get()
    assert booking.code_display in changed.body


def test_a_booking_is_moved_at_most_twice_by_default(paid, ani, office_a, settings):
    assert settings.BOOKING_RESCHEDULE_LIMIT == 2
    first = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=first.pk)
    second = later_slot(office_a, first)
    third = later_slot(office_a, second)
    bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=second.pk)
    bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=third.pk)

    message = refusal(
        lambda: bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=first.pk)
    )

    assert message == in_language(
        "id",
        "This booking has already been moved %(count)s times, the most allowed. "
        "You can cancel it and book again.",
    ) % {"count": 2}
    booking.refresh_from_db()
    assert booking.slot == third
    assert (booked(first), booked(second), booked(third)) == (0, 0, 1)
    assert not bookings.can_reschedule(booking)


def test_the_reschedule_limit_is_a_setting(paid, ani, office_a, settings):
    settings.BOOKING_RESCHEDULE_LIMIT = 0
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    message = refusal(
        lambda: bookings.booking_reschedule(
            booking=booking, citizen=ani, slot_id=later_slot(office_a, slot).pk
        )
    )

    assert message == in_language(
        "id",
        "This booking has already been moved %(count)s times, the most allowed. "
        "You can cancel it and book again.",
    ) % {"count": 0}
    assert booked(slot) == 1


def test_a_booking_cannot_be_moved_on_the_appointment_day(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    later = later_slot(office_a, slot)
    that_morning = open_moment(office_a, slot.day, hour=6)

    message = refusal(
        lambda: bookings.booking_reschedule(
            booking=booking, citizen=ani, slot_id=later.pk, now=that_morning
        )
    )

    assert message == in_language(
        "id",
        "An appointment can be moved until the day before. Today you can only cancel it "
        "or come at the booked time.",
    )
    assert not bookings.can_reschedule(booking, now=that_morning)
    assert (booked(slot), booked(later)) == (1, 0)


def test_a_booking_can_still_be_moved_the_evening_before(paid, ani, office_a):
    slot = first_slot(office_a)
    later = later_slot(office_a, slot)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    evening_before = open_moment(office_a, slot.day, hour=21) - dt.timedelta(days=1)

    assert bookings.can_reschedule(booking, now=evening_before)
    bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=later.pk, now=evening_before)

    assert (booked(slot), booked(later)) == (0, 1)


def test_moving_to_a_full_time_keeps_the_old_place(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    full = later_slot(office_a, slot)
    Slot.objects.filter(pk=full.pk).update(booked=3)

    message = refusal(
        lambda: bookings.booking_reschedule(booking=booking, citizen=ani, slot_id=full.pk)
    )

    assert message == in_language("id", FULL)
    booking.refresh_from_db()
    assert (booking.slot, booking.reschedules) == (slot, 0)
    assert (booked(slot), booked(full)) == (1, 3)


def test_someone_else_cannot_move_the_booking(paid, ani, eko, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    message = refusal(
        lambda: bookings.booking_reschedule(
            booking=booking, citizen=eko, slot_id=later_slot(office_a, slot).pk
        )
    )

    assert message == in_language("id", "This booking is not yours.")
    assert booked(slot) == 1


# --- Cancelling ---------------------------------------------------------------------------


def test_cancelling_frees_the_place_at_once_and_the_application_is_paid_again(
    paid, ani, eko, office_a
):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(capacity=1)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    bookings.booking_cancel(booking=booking, citizen=ani)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booked(slot) == 0
    paid.refresh_from_db()
    assert paid.status == Status.PAID
    back = StatusEvent.objects.get(application=paid, to_status=Status.PAID, from_status="scheduled")
    assert back.by == ani
    # The place is really free: someone else takes it straight away.
    theirs = paid_for(eko, office_a)
    bookings.booking_interview(citizen=eko, application=theirs, slot_id=slot.pk)
    assert booked(slot) == 1


def test_a_cancelled_application_booking_can_be_booked_again(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    bookings.booking_cancel(booking=booking, citizen=ani)

    again = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    assert again.status == Booking.Status.ACTIVE
    assert booked(slot) == 1


def test_an_appointment_that_has_started_cannot_be_cancelled(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    message = refusal(
        lambda: bookings.booking_cancel(
            booking=booking, citizen=ani, now=open_moment(office_a, slot.day)
        )
    )

    assert message == in_language(
        "id", "The appointment time has passed; it can no longer be cancelled."
    )
    assert booked(slot) == 1


def test_someone_else_cannot_cancel_the_booking(paid, ani, eko, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    refusal(lambda: bookings.booking_cancel(booking=booking, citizen=eko))

    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE
    assert booked(slot) == 1


# --- Missed appointments ------------------------------------------------------------------


def day_after(office, day: dt.date) -> dt.datetime:
    return open_moment(office, day + dt.timedelta(days=1), hour=1)


def test_a_missed_appointment_becomes_no_show_after_the_day(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    marked = bookings.bookings_mark_missed(now=day_after(office_a, slot.day))

    assert marked == 1
    booking.refresh_from_db()
    assert booking.status == Booking.Status.NO_SHOW
    paid.refresh_from_db()
    assert paid.status == Status.PAID
    back = StatusEvent.objects.get(application=paid, from_status="scheduled", to_status="paid")
    assert back.actor == "system"
    assert bookings.bookings_mark_missed(now=day_after(office_a, slot.day)) == 0


def test_an_appointment_is_not_missed_while_its_day_lasts(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    evening = open_moment(office_a, slot.day, hour=23)

    assert bookings.bookings_mark_missed(now=evening) == 0

    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE


def test_a_missed_appointment_may_be_booked_once_more_then_no_more_online(paid, ani, office_a):
    first = first_slot(office_a)
    bookings.booking_interview(citizen=ani, application=paid, slot_id=first.pk)
    bookings.bookings_mark_missed(now=day_after(office_a, first.day))
    second = later_slot(office_a, first)

    again = bookings.booking_interview(
        citizen=ani, application=paid, slot_id=second.pk, now=day_after(office_a, first.day)
    )
    bookings.bookings_mark_missed(now=day_after(office_a, second.day))
    third = later_slot(office_a, second)

    assert again.status == Booking.Status.ACTIVE
    message = refusal(
        lambda: bookings.booking_interview(
            citizen=ani, application=paid, slot_id=third.pk, now=day_after(office_a, second.day)
        )
    )
    assert message == in_language(
        "id",
        "Two appointments were missed, so no more can be booked online. Please contact the office.",
    )
    assert booked(third) == 0


# --- The application ends -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("final", "by"),
    [(Status.CANCELLED, "ani"), (Status.REJECTED, "budi")],
    ids=["cancelled", "rejected"],
)
def test_an_application_that_ends_gives_its_place_back(paid, ani, budi, office_a, final, by):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    transition(paid, Status.REVISION_REQUESTED, by=budi, note="Foto buram")

    transition(paid, final, by={"ani": ani, "budi": budi}[by], note="Tidak memenuhi syarat")

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booked(slot) == 0


# --- Video consultations ------------------------------------------------------------------


def test_a_consultation_needs_a_topic(ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)

    message = refusal(
        lambda: bookings.booking_consultation(
            citizen=ani, office=office_a, slot_id=slot.pk, topic=""
        )
    )

    assert message == in_language("id", "Choose a topic.")
    assert booked(slot) == 0


def test_a_consultation_carries_an_unguessable_room_link_on_the_meeting_server(
    ani, eko, office_a, settings
):
    settings.VIDEO_MEETING_BASE_URL = "https://rapat.imigrasi.example/"
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    Slot.objects.filter(pk=slot.pk).update(capacity=2)

    mine = bookings.booking_consultation(
        citizen=ani, office=office_a, slot_id=slot.pk, topic=Topic.VISA, question="Visa kerja?"
    )
    theirs = bookings.booking_consultation(
        citizen=eko, office=office_a, slot_id=slot.pk, topic=Topic.PASSPORT
    )

    assert mine.application is None and mine.purpose == Purpose.CONSULTATION
    assert mine.room_url.startswith("https://rapat.imigrasi.example/Imigrasi-")
    assert "//Imigrasi" not in mine.room_url
    assert len(mine.room_token) >= 20  # >= 120 bits: not guessable
    assert mine.room_token != theirs.room_token
    assert mine.code not in mine.room_url
    assert booked(slot) == 2
    email = notifications_of(ani, "booking.update", "email").get()
    assert mine.room_url in email.body


def test_a_citizen_holds_one_upcoming_consultation_by_default(ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    other = later_slot(office_a, slot)
    other = first_slot(office_a, day=other.day, purpose=Purpose.CONSULTATION)
    bookings.booking_consultation(citizen=ani, office=office_a, slot_id=slot.pk, topic=Topic.VISA)

    message = refusal(
        lambda: bookings.booking_consultation(
            citizen=ani, office=office_a, slot_id=other.pk, topic=Topic.OTHER
        )
    )

    assert message == in_language(
        "id", "You already have a video consultation booked. Cancel it to book another."
    )
    assert booked(other) == 0


def test_the_consultation_limit_is_a_setting(ani, office_a, settings):
    settings.CONSULTATIONS_PER_CITIZEN = 2
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    other = Slot.objects.filter(
        office=office_a, purpose=Purpose.CONSULTATION, starts_at__gt=slot.starts_at
    ).first()

    bookings.booking_consultation(citizen=ani, office=office_a, slot_id=slot.pk, topic=Topic.VISA)
    bookings.booking_consultation(citizen=ani, office=office_a, slot_id=other.pk, topic=Topic.VISA)

    assert Booking.objects.filter(citizen=ani, purpose=Purpose.CONSULTATION).count() == 2


def test_a_full_consultation_slot_is_refused(ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    Slot.objects.filter(pk=slot.pk).update(booked=1)  # one place per consultation slot

    message = refusal(
        lambda: bookings.booking_consultation(
            citizen=ani, office=office_a, slot_id=slot.pk, topic=Topic.VISA
        )
    )

    assert message == in_language("id", FULL)


# --- The appointment slip and its QR code -------------------------------------------------


def test_the_owner_downloads_the_appointment_slip(client, paid, ani, office_a):
    booking = bookings.booking_interview(
        citizen=ani, application=paid, slot_id=first_slot(office_a).pk
    )
    client.force_login(ani)

    response = client.get(reverse("queueing:slip", args=[booking.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content[:4] == b"%PDF"
    assert booking.code in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]


def test_another_citizen_cannot_download_the_slip(client, paid, ani, eko, office_a):
    booking = bookings.booking_interview(
        citizen=ani, application=paid, slot_id=first_slot(office_a).pk
    )
    client.force_login(eko)

    assert client.get(reverse("queueing:slip", args=[booking.code])).status_code == 404
    assert client.get(booking.get_absolute_url()).status_code == 404


def test_a_visitor_must_log_in_for_the_slip(client, paid, ani, office_a):
    booking = bookings.booking_interview(
        citizen=ani, application=paid, slot_id=first_slot(office_a).pk
    )

    response = client.get(reverse("queueing:slip", args=[booking.code]))

    assert response.status_code == 302
    assert "/akun/" in response["Location"]


def test_the_qr_code_page_shows_the_appointment_is_genuine(client, paid, ani, office_a):
    booking = bookings.booking_interview(
        citizen=ani, application=paid, slot_id=first_slot(office_a).pk
    )
    token = verification.token_for("booking", booking.code)

    response = client.get(reverse("verify", args=[token]))

    text = page_text(response)
    assert response.status_code == 200
    assert in_language("id", "Genuine.") in text
    assert in_language("id", "This appointment slip was issued by the Imigrasi portal.") in text
    assert booking.code_display in text
    assert paid.reference in text
    assert ani.full_name not in text  # the name is masked for anyone holding the slip


def test_a_made_up_booking_code_is_not_genuine(client, paid, ani, office_a):
    token = verification.token_for("booking", "ZZZZ2222")

    response = client.get(reverse("verify", args=[token]))

    text = page_text(response)
    assert in_language("id", "Genuine.") not in text
    assert in_language("id", "Not valid.") in text
