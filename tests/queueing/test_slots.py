"""Slots: a rolling window of 15-minute places inside opening hours, none on weekends
or holidays, counted in the database; officers close days and change capacity in
the admin, scoped to their own offices."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from applications.workflow import Status
from offices.models import Holiday
from queueing import bookings, slots
from queueing.models import Booking, Purpose, Quota, Slot
from tests.utils import committed, in_language, messages_of, page_text

from .conftest import fill_day, first_slot, next_working_day, notifications_of, open_moment

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:queueing_slot_changelist")


def day_in_window(office, weekdays: set[int]) -> dt.date:
    """The first day with interview slots whose weekday is one of `weekdays` (0 = Monday)."""
    slots.slots_ensure(office)
    days = (
        Slot.objects.filter(
            office=office, purpose=Purpose.INTERVIEW, day__gt=slots.local_today(office)
        )
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )
    return next(day for day in days if day.weekday() in weekdays)


def local_times(office, day: dt.date, purpose: str = Purpose.INTERVIEW) -> list[tuple[str, str]]:
    return [
        (f"{slot.local_start():%H.%M}", f"{slot.local_end():%H.%M}")
        for slot in Slot.objects.filter(office=office, purpose=purpose, day=day).order_by(
            "starts_at"
        )
    ]


# --- Generation ---------------------------------------------------------------------------


def test_slots_cover_today_through_the_days_ahead_setting_and_no_further(office_a, settings):
    settings.QUEUE_DAYS_AHEAD = 10
    today = slots.local_today(office_a)

    slots.slots_ensure(office_a)

    days = set(Slot.objects.filter(office=office_a).values_list("day", flat=True))
    expected = {
        today + dt.timedelta(days=n)
        for n in range(11)
        if (today + dt.timedelta(days=n)).weekday() < 5
    }
    assert days == expected


def test_a_monday_to_thursday_has_32_quarter_hours_from_eight_to_four(office_a):
    day = day_in_window(office_a, {0, 1, 2, 3})

    times = local_times(office_a, day)

    assert len(times) == 32
    assert times[0] == ("08.00", "08.15")
    assert times[1] == ("08.15", "08.30")
    assert times[-1] == ("15.45", "16.00")


def test_a_friday_runs_until_half_past_four(office_a):
    friday = day_in_window(office_a, {4})

    times = local_times(office_a, friday)

    assert len(times) == 34
    assert times[0] == ("08.00", "08.15")
    assert times[-1] == ("16.15", "16.30")


def test_weekends_have_no_slots(office_a):
    slots.slots_ensure(office_a)

    weekdays = {
        day.weekday() for day in Slot.objects.filter(office=office_a).values_list("day", flat=True)
    }

    assert weekdays <= {0, 1, 2, 3, 4}
    assert Slot.objects.filter(office=office_a).exists()


def test_a_national_holiday_has_no_slots_at_any_office(office_a, office_b):
    holiday = next_working_day(office_b)
    Slot.objects.all().delete()
    cache.clear()
    Holiday.objects.create(date=holiday, name="Hari Raya Natal")

    slots.slots_ensure(office_a)
    slots.slots_ensure(office_b)

    assert not Slot.objects.filter(day=holiday).exists()
    assert Slot.objects.filter(office=office_a, day__gt=holiday).exists()
    assert Slot.objects.filter(office=office_b, day__gt=holiday).exists()


def test_a_local_holiday_closes_only_its_own_office(office_a, office_b):
    day = day_in_window(office_a, {0, 1, 2, 3, 4})
    Slot.objects.all().delete()
    cache.clear()
    Holiday.objects.create(date=day, name="HUT Kabupaten Lampung Tengah", office=office_a)

    slots.slots_ensure(office_a)
    slots.slots_ensure(office_b)

    assert not Slot.objects.filter(office=office_a, day=day).exists()
    assert Slot.objects.filter(office=office_b, day=day).count() > 0


def test_capacity_and_slot_length_come_from_the_office_quota(office_a):
    Quota.objects.update_or_create(
        office=office_a,
        defaults={"slot_minutes": 30, "interview_capacity": 5, "consultation_capacity": 2},
    )
    day = day_in_window(office_a, {0, 1, 2, 3})

    interviews = Slot.objects.filter(office=office_a, day=day, purpose=Purpose.INTERVIEW)
    consultations = Slot.objects.filter(office=office_a, day=day, purpose=Purpose.CONSULTATION)

    assert interviews.count() == 16  # 08.00-16.00 in half hours
    assert set(interviews.values_list("capacity", flat=True)) == {5}
    assert set(consultations.values_list("capacity", flat=True)) == {2}
    assert local_times(office_a, day)[-1] == ("15.30", "16.00")


def test_generating_twice_creates_nothing_the_second_time_even_without_the_cache(office_a):
    created = slots.slots_ensure(office_a)
    count = Slot.objects.count()
    cache.clear()  # not just the "already made" shortcut: the rows themselves are checked

    again = slots.slots_ensure(office_a)

    assert created == count > 0
    assert again == 0
    assert Slot.objects.count() == count


# --- What citizens see --------------------------------------------------------------------


def test_days_open_shows_the_places_left_per_day(paid, ani, office_a):
    slot = first_slot(office_a)
    per_day = (
        3 * Slot.objects.filter(office=office_a, day=slot.day, purpose=Purpose.INTERVIEW).count()
    )

    bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    days = {row["day"]: row["remaining"] for row in slots.days_open(office_a, Purpose.INTERVIEW)}
    assert days[slot.day] == per_day - 1
    assert all(day >= slots.local_today(office_a) for day in days)


def test_a_full_day_is_listed_with_no_places_left(office_a):
    day = next_working_day(office_a)
    fill_day(office_a, day)

    days = {row["day"]: row["remaining"] for row in slots.days_open(office_a, Purpose.INTERVIEW)}

    assert days[day] == 0
    assert slots.slots_on(office_a, Purpose.INTERVIEW, day)  # times shown, each full
    assert (
        not Slot.objects.filter(office=office_a, day=day, purpose=Purpose.INTERVIEW)
        .bookable()
        .exists()
    )


def test_times_already_past_are_not_offered(office_a):
    day = day_in_window(office_a, {0, 1, 2, 3})
    ten = open_moment(office_a, day, hour=10)

    times = slots.slots_on(office_a, Purpose.INTERVIEW, day, now=ten)
    days = {
        row["day"]: row["remaining"]
        for row in slots.days_open(office_a, Purpose.INTERVIEW, now=ten)
    }

    assert [f"{slot.local_start():%H.%M}" for slot in times][:2] == ["10.15", "10.30"]
    assert all(slot.starts_at > ten for slot in times)
    assert days[day] == 3 * 23  # 10.15 to 15.45
    late = open_moment(office_a, day, hour=16)
    assert day not in {row["day"] for row in slots.days_open(office_a, Purpose.INTERVIEW, now=late)}


# --- Holidays and closed days -------------------------------------------------------------


def test_a_holiday_saved_after_booking_closes_the_day_and_tells_the_citizen(paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    with committed():  # the day is closed once the holiday is saved for good
        Holiday.objects.create(date=slot.day, name="Cuti Bersama Natal")

    assert not Slot.objects.filter(office=office_a, day=slot.day, closed=False).exists()
    assert slot.day not in {row["day"] for row in slots.days_open(office_a, Purpose.INTERVIEW)}
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.close_note == "Cuti Bersama Natal"
    paid.refresh_from_db()
    assert paid.status == Status.PAID
    email = notifications_of(ani, "application.status_changed", "email").first()
    assert "Cuti Bersama Natal" in email.body
    with pytest.raises(Exception) as refused:
        bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    assert refused.value.message == in_language(
        "id", "The office is closed at that time. Choose another day."
    )


def test_a_local_holiday_of_another_office_leaves_bookings_alone(paid, ani, office_a, office_b):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)

    with committed():
        Holiday.objects.create(date=slot.day, name="HUT Lampung Barat", office=office_b)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE
    assert not Slot.objects.filter(office=office_a, day=slot.day, closed=True).exists()
    assert not Slot.objects.filter(office=office_b, day=slot.day, closed=False).exists()


def test_reopening_a_closed_day_gives_back_the_places_of_the_cancelled_bookings(
    paid, ani, office_a
):
    slot = first_slot(office_a)
    bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    slots.day_close(office_a, slot.day, reason="Listrik padam")

    slots.day_reopen(office_a, slot.day)

    slot.refresh_from_db()
    assert slot.booked == Booking.objects.filter(slot=slot, status="active").count() == 0


# --- The officers' console ----------------------------------------------------------------


def test_an_officer_closes_a_day_from_the_slot_list(client, budi, paid, ani, office_a):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    client.force_login(budi)

    response = client.post(
        CHANGELIST, {"action": "close_days", "_selected_action": [slot.pk]}, follow=True
    )

    assert response.status_code == 200
    assert Slot.objects.filter(office=office_a, day=slot.day, closed=False).count() == 0
    assert Slot.objects.filter(office=office_a, closed=False).exclude(day=slot.day).exists()
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    paid.refresh_from_db()
    assert paid.status == Status.PAID
    closed = in_language("id", "%(n)d day closed.") % {"n": 1}
    told = in_language("id", "%(n)d booking cancelled; the citizen was told.") % {"n": 1}
    assert f"{closed} {told}" in messages_of(response)
    email = notifications_of(ani, "application.status_changed", "email").first()
    assert in_language("id", "Closed by the office.") in email.body


def test_a_supervisor_reopens_a_closed_day(client, dewi, office_a):
    slot = first_slot(office_a)
    slots.day_close(office_a, slot.day, reason="Banjir")
    client.force_login(dewi)

    client.post(CHANGELIST, {"action": "reopen_days", "_selected_action": [slot.pk]})

    assert not Slot.objects.filter(office=office_a, day=slot.day, closed=True).exists()


def changelist_edit(slot: Slot, capacity: int) -> dict:
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(slot.pk),
        "form-0-capacity": str(capacity),
        "_save": "Simpan",
    }


def test_an_officer_raises_a_slots_capacity_in_the_list(client, budi, office_a):
    slot = first_slot(office_a)
    client.force_login(budi)

    response = client.post(CHANGELIST, changelist_edit(slot, 6))

    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.capacity == 6


def test_capacity_below_the_places_booked_is_refused_in_the_list(client, budi, office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    client.force_login(budi)

    response = client.post(CHANGELIST, changelist_edit(slot, 1))

    assert response.status_code == 200
    assert in_language("id", "%(booked)s places are already booked; capacity cannot be lower.") % {
        "booked": 2
    } in page_text(response)
    slot.refresh_from_db()
    assert slot.capacity == 3


def test_capacity_below_the_places_booked_is_refused_on_the_slot_page(client, budi, office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    client.force_login(budi)

    response = client.post(
        reverse("admin:queueing_slot_change", args=[slot.pk]),
        {"capacity": "1", "closed_reason": ""},
    )

    assert response.status_code == 200
    assert in_language("id", "%(booked)s places are already booked; capacity cannot be lower.") % {
        "booked": 2
    } in page_text(response)
    slot.refresh_from_db()
    assert slot.capacity == 3


def test_an_officer_of_another_office_does_not_see_its_slots(client, citra, office_a, office_b):
    slot = first_slot(office_a)
    theirs = first_slot(office_b)
    client.force_login(citra)

    listing = client.get(CHANGELIST, {"day": f"{slot.day:%Y-%m-%d}"})
    opened = client.get(reverse("admin:queueing_slot_change", args=[slot.pk]))

    assert listing.status_code == 200
    shown = [row.pk for row in listing.context["cl"].result_list]
    assert slot.pk not in shown
    assert theirs.pk in shown
    assert opened.status_code == 404


def test_an_officer_cannot_close_another_offices_day(client, citra, office_a):
    slot = first_slot(office_a)
    client.force_login(citra)

    client.post(CHANGELIST, {"action": "close_days", "_selected_action": [slot.pk]})

    assert not Slot.objects.filter(office=office_a, closed=True).exists()


def test_a_citizen_cannot_open_the_slot_console(client, ani, office_a):
    first_slot(office_a)
    client.force_login(ani)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
