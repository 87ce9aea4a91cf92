"""The citizen's booking pages: choose a day and a time, see, move and cancel the
appointment, the list of appointments, the video consultation page. Bad input is a
400 with the error next to the field, never a 500; Indonesian unless chosen otherwise."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from applications import verification
from applications.workflow import Status
from queueing import bookings, slots
from queueing.models import Booking, Purpose, Slot, Topic
from tests.utils import html_lang, in_language, messages_of, page_text

from .conftest import fill_day, first_slot, next_working_day

pytestmark = pytest.mark.django_db


def book_url(application) -> str:
    return reverse("queueing:book", args=[application.reference])


def error_next_to(response, field: str) -> str:
    """The text of the error shown under `field` (id="<field>-error")."""
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</div>', page_text(response), re.S)
    assert match, f"no error shown next to {field!r}"
    return match.group(1).strip()


@pytest.fixture
def as_ani(client, ani):
    client.force_login(ani)
    return client


@pytest.fixture
def booking(paid, ani, office_a):
    return bookings.booking_interview(
        citizen=ani, application=paid, slot_id=first_slot(office_a).pk
    )


# --- Choosing a day and a time ------------------------------------------------------------


def test_the_book_page_lists_the_days_with_places_left(as_ani, paid, office_a):
    day = next_working_day(office_a)

    response = as_ani.get(book_url(paid))

    text = page_text(response)
    assert response.status_code == 200
    assert f"hari={day:%Y-%m-%d}" in text
    assert 'name="slot"' not in text  # no times until a day is chosen


def test_choosing_a_day_shows_its_times(as_ani, paid, office_a):
    slot = first_slot(office_a)

    response = as_ani.get(book_url(paid), {"hari": f"{slot.day:%Y-%m-%d}"})

    text = page_text(response)
    assert response.status_code == 200
    assert f'id="slot-{slot.pk}"' in text
    assert "08.00–08.15" in text
    assert (
        len(re.findall(r'name="slot"', text))
        == Slot.objects.filter(office=office_a, day=slot.day, purpose=Purpose.INTERVIEW).count()
    )


def test_a_full_day_offers_the_waiting_list_instead_of_times(as_ani, paid, office_a):
    day = next_working_day(office_a)
    fill_day(office_a, day)

    response = as_ani.get(book_url(paid), {"hari": f"{day:%Y-%m-%d}"})

    text = page_text(response)
    assert response.status_code == 200
    assert reverse("queueing:waitlist_join") in text
    assert 'name="slot"' not in text


def test_choosing_a_time_books_it_and_opens_the_appointment(as_ani, paid, office_a):
    slot = first_slot(office_a)

    response = as_ani.post(
        book_url(paid), {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk}, follow=True
    )

    booking = Booking.objects.get(application=paid)
    assert response.redirect_chain[0] == (booking.get_absolute_url(), 302)
    assert booking.slot == slot
    assert in_language("id", "Your interview is booked. Download the slip below.") in (
        messages_of(response)
    )
    paid.refresh_from_db()
    assert paid.status == Status.SCHEDULED


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        ("abc", "Choose one of the times shown."),
        ("", "Choose a time."),
        (None, "Choose a time."),
        ("99999999", "Choose one of the times shown."),
    ],
    ids=["not-a-number", "empty", "missing", "unknown-id"],
)
def test_a_bad_time_is_a_400_with_the_error_next_to_the_field(
    as_ani, paid, office_a, slot, message
):
    day = next_working_day(office_a)
    data = {"day": f"{day:%Y-%m-%d}"}
    if slot is not None:
        data["slot"] = slot

    response = as_ani.post(book_url(paid), data)

    assert response.status_code == 400
    assert in_language("id", message) in error_next_to(response, "slot")
    assert not Booking.objects.exists()


def test_booking_attempts_are_limited_with_a_friendly_page(as_ani, paid, office_a, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking": (3, 3600)}
    day = next_working_day(office_a)

    for _ in range(3):  # someone trying slot ids one after another
        assert (
            as_ani.post(book_url(paid), {"day": f"{day:%Y-%m-%d}", "slot": "0"}).status_code == 400
        )
    refused = as_ani.post(
        book_url(paid), {"day": f"{day:%Y-%m-%d}", "slot": first_slot(office_a).pk}
    )

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert html_lang(refused) == "id"
    assert not Booking.objects.exists()
    assert as_ani.get(book_url(paid)).status_code == 200  # looking is never limited


def test_a_time_at_another_office_is_a_400_with_the_error_next_to_the_field(
    as_ani, paid, office_a, office_b
):
    theirs = first_slot(office_b)

    response = as_ani.post(book_url(paid), {"day": f"{theirs.day:%Y-%m-%d}", "slot": theirs.pk})

    assert response.status_code == 400
    assert in_language("id", "Choose one of the times shown.") in error_next_to(response, "slot")
    assert Slot.objects.get(pk=theirs.pk).booked == 0


def test_a_time_taken_meanwhile_is_a_400_saying_it_is_full(as_ani, paid, office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(booked=3)  # someone was quicker

    response = as_ani.post(book_url(paid), {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk})

    assert response.status_code == 400
    assert in_language(
        "id", "That time is full: someone booked the last place. Choose another time."
    ) in error_next_to(response, "slot")
    assert f'id="slot-{slot.pk}"' in page_text(response)  # the other times are still there


def test_a_day_closed_while_the_page_was_open_says_so(as_ani, paid, office_a):
    slot = first_slot(office_a)
    slots.day_close(office_a, slot.day, reason="Banjir")

    response = as_ani.post(book_url(paid), {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk})

    assert response.status_code == 400
    assert in_language("id", "The office is closed at that time. Choose another day.") in page_text(
        response
    )
    assert not Booking.objects.exists()


def test_an_unpaid_application_page_explains_why_it_cannot_book(as_ani, paid, office_a):
    paid.__class__.objects.filter(pk=paid.pk).update(status=Status.AWAITING_PAYMENT)
    slot = first_slot(office_a)

    shown = as_ani.get(book_url(paid))
    posted = as_ani.post(book_url(paid), {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk})

    refusal = in_language(
        "id", "An interview can be booked once the fee is paid. This application is “%(status)s”."
    ) % {"status": in_language("id", "Awaiting payment")}
    assert shown.status_code == 200
    assert refusal in page_text(shown)
    assert posted.status_code in (200, 400)
    assert refusal in page_text(posted)
    assert not Booking.objects.exists()


def test_a_booked_application_goes_straight_to_its_appointment(as_ani, paid, booking):
    response = as_ani.get(book_url(paid))

    assert response.status_code == 302
    assert response["Location"] == booking.get_absolute_url()


def test_a_visitor_is_asked_to_log_in(client, paid):
    response = client.get(book_url(paid))

    assert response.status_code == 302
    assert "/akun/" in response["Location"]


# --- The appointment, moving and cancelling -----------------------------------------------


def test_the_appointment_page_shows_the_code_slip_and_actions(as_ani, booking, office_a):
    response = as_ani.get(booking.get_absolute_url())

    text = page_text(response)
    assert response.status_code == 200
    assert booking.code_display in text
    assert office_a.name in text
    assert reverse("queueing:slip", args=[booking.code]) in text
    assert reverse("queueing:reschedule", args=[booking.code]) in text
    assert reverse("queueing:cancel", args=[booking.code]) in text
    assert "no-store" in response["Cache-Control"]


def test_the_appointment_page_accepts_the_code_as_printed(as_ani, booking):
    response = as_ani.get(reverse("queueing:booking", args=[booking.code_display.lower()]))

    assert response.status_code == 200


def test_another_citizens_appointment_does_not_exist(client, eko, booking):
    client.force_login(eko)

    for name in ("booking", "reschedule", "slip"):
        assert client.get(reverse(f"queueing:{name}", args=[booking.code])).status_code == 404
    assert client.post(reverse("queueing:cancel", args=[booking.code])).status_code == 404
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE


def test_the_reschedule_page_offers_other_times(as_ani, booking, office_a):
    later = first_slot(office_a, day=next_working_day(office_a, after=booking.slot.day))

    response = as_ani.get(
        reverse("queueing:reschedule", args=[booking.code]), {"hari": f"{later.day:%Y-%m-%d}"}
    )

    assert response.status_code == 200
    assert f'id="slot-{later.pk}"' in page_text(response)


def test_moving_to_another_time_on_the_page(as_ani, booking, office_a):
    old = booking.slot
    later = first_slot(office_a, day=next_working_day(office_a, after=old.day))

    response = as_ani.post(
        reverse("queueing:reschedule", args=[booking.code]),
        {"day": f"{later.day:%Y-%m-%d}", "slot": later.pk},
    )

    assert response.status_code == 302
    assert response["Location"] == booking.get_absolute_url()
    booking.refresh_from_db()
    assert booking.slot == later
    assert Slot.objects.get(pk=old.pk).booked == 0


def test_moving_to_the_same_time_is_a_400_next_to_the_field(as_ani, booking):
    response = as_ani.post(
        reverse("queueing:reschedule", args=[booking.code]),
        {"day": f"{booking.slot.day:%Y-%m-%d}", "slot": booking.slot.pk},
    )

    assert response.status_code == 400
    assert in_language("id", "That is the time you already have.") in error_next_to(
        response, "slot"
    )


def test_moving_with_a_bad_time_is_a_400(as_ani, booking):
    response = as_ani.post(
        reverse("queueing:reschedule", args=[booking.code]),
        {"day": f"{booking.slot.day:%Y-%m-%d}", "slot": "x"},
    )

    assert response.status_code == 400
    assert in_language("id", "Choose one of the times shown.") in error_next_to(response, "slot")


def test_a_booking_moved_the_most_times_offers_no_more_moves(as_ani, booking, settings):
    Booking.objects.filter(pk=booking.pk).update(reschedules=settings.BOOKING_RESCHEDULE_LIMIT)

    detail = as_ani.get(booking.get_absolute_url())
    page = as_ani.get(reverse("queueing:reschedule", args=[booking.code]))

    assert reverse("queueing:reschedule", args=[booking.code]) not in page_text(detail)
    assert page.status_code == 200
    assert in_language(
        "id",
        "This appointment has been moved the most times allowed. You can cancel it and book again.",
    ) in page_text(page)
    assert 'name="slot"' not in page_text(page)


def test_cancelling_on_the_page_frees_the_place(as_ani, paid, booking):
    response = as_ani.post(reverse("queueing:cancel", args=[booking.code]), follow=True)

    assert response.redirect_chain[0] == (paid.get_absolute_url(), 302)
    assert in_language("id", "The appointment is cancelled and the place given back.") in (
        messages_of(response)
    )
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert Slot.objects.get(pk=booking.slot_id).booked == 0


def test_cancel_is_a_post_only(as_ani, booking):
    response = as_ani.get(reverse("queueing:cancel", args=[booking.code]))

    assert response.status_code == 405
    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE


def test_cancelling_twice_explains_it_is_already_cancelled(as_ani, booking):
    as_ani.post(reverse("queueing:cancel", args=[booking.code]))

    response = as_ani.post(reverse("queueing:cancel", args=[booking.code]), follow=True)

    assert response.status_code == 200
    assert in_language("id", "This booking is “%(status)s” and can no longer be changed.") % {
        "status": in_language("id", "Cancelled")
    } in messages_of(response)


def test_the_appointments_list_shows_upcoming_and_earlier(as_ani, ani, paid, booking, office_a):
    consultation = bookings.booking_consultation(
        citizen=ani,
        office=office_a,
        slot_id=first_slot(office_a, purpose=Purpose.CONSULTATION).pk,
        topic=Topic.VISA,
    )
    bookings.booking_cancel(booking=consultation, citizen=ani)

    response = as_ani.get(reverse("queueing:appointments"))

    text = page_text(response)
    assert response.status_code == 200
    assert [b.pk for b in response.context["upcoming"]] == [booking.pk]
    assert [b.pk for b in response.context["past"]] == [consultation.pk]
    assert booking.get_absolute_url() in text
    assert paid.reference in text


def test_the_appointments_list_shows_only_the_citizens_own(client, eko, booking):
    client.force_login(eko)

    response = client.get(reverse("queueing:appointments"))

    assert response.status_code == 200
    assert booking.code not in page_text(response)
    assert booking.get_absolute_url() not in page_text(response)


# --- Video consultation -------------------------------------------------------------------


def test_the_consultation_page_starts_with_the_office_chooser(as_ani, office_a, office_b):
    response = as_ani.get(reverse("queueing:consultation"))

    text = page_text(response)
    assert response.status_code == 200
    assert f'value="{office_a.code}"' in text and f'value="{office_b.code}"' in text
    assert 'name="slot"' not in text


def test_choosing_an_office_and_day_shows_its_consultation_times(as_ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)

    response = as_ani.get(
        reverse("queueing:consultation"),
        {"office": office_a.code, "hari": f"{slot.day:%Y-%m-%d}"},
    )

    text = page_text(response)
    assert response.status_code == 200
    assert f'id="slot-{slot.pk}"' in text
    assert 'name="topic"' in text


def test_an_unknown_office_is_refused_next_to_the_chooser(as_ani):
    response = as_ani.get(reverse("queueing:consultation"), {"office": "ZZZ"})

    assert response.status_code == 200
    assert in_language("id", "Choose an office.") in error_next_to(response, "office")


def test_a_consultation_without_a_topic_is_a_400_next_to_the_topic(as_ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)

    response = as_ani.post(
        f"{reverse('queueing:consultation')}?office={office_a.code}",
        {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk, "topic": ""},
    )

    assert response.status_code == 400
    assert in_language("id", "Choose a topic.") in error_next_to(response, "topic")
    assert not Booking.objects.exists()


def test_a_consultation_without_an_office_is_a_400(as_ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)

    response = as_ani.post(
        reverse("queueing:consultation"),
        {"day": f"{slot.day:%Y-%m-%d}", "slot": slot.pk, "topic": Topic.VISA},
    )

    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_booking_a_consultation_on_the_page(as_ani, ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)

    response = as_ani.post(
        f"{reverse('queueing:consultation')}?office={office_a.code}",
        {
            "day": f"{slot.day:%Y-%m-%d}",
            "slot": slot.pk,
            "topic": Topic.STAY_PERMIT,
            "question": "ITAS habis bulan depan",
        },
    )

    booking = Booking.objects.get(citizen=ani)
    assert response.status_code == 302
    assert response["Location"] == booking.get_absolute_url()
    assert (booking.topic, booking.question) == (Topic.STAY_PERMIT, "ITAS habis bulan depan")
    detail = as_ani.get(booking.get_absolute_url())
    assert booking.room_url in page_text(detail)


# --- Language -----------------------------------------------------------------------------


def test_pages_are_in_indonesian_by_default(as_ani, paid, booking):
    response = as_ani.get(reverse("queueing:appointments"))

    text = page_text(response)
    assert html_lang(response) == "id"
    title = in_language("id", "My appointments")
    assert title != "My appointments"  # the catalogue has it: Indonesian, not the source text
    assert title in text
    assert "My appointments" not in text


def test_a_citizen_who_chose_english_gets_english_pages(client, ani, booking):
    ani.preferred_language = "en"
    ani.save(update_fields=["preferred_language"])
    client.force_login(ani)

    response = client.get(booking.get_absolute_url())

    text = page_text(response)
    assert html_lang(response) == "en"
    assert "Download the appointment slip (PDF)" in text
    assert in_language("id", "Download the appointment slip (PDF)") not in text


def test_a_visitor_who_chose_english_reads_the_slip_check_in_english(english, booking):
    token = verification.token_for("booking", booking.code)

    response = english.get(reverse("verify", args=[token]))

    text = page_text(response)
    assert html_lang(response) == "en"
    assert "This appointment slip was issued by the Imigrasi portal." in text
    assert booking.code_display in text
