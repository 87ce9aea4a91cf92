"""Reminders found by beat scans: the day before an appointment (07.00-21.00 office time)
and an hour before a video consultation; each sent once, a move clears the claim."""

from __future__ import annotations

import datetime as dt

import pytest

from queueing import bookings, reminders
from queueing.models import Booking, Purpose, Topic
from tests.utils import in_language

from .conftest import first_slot, next_working_day, notifications_of, open_moment

pytestmark = pytest.mark.django_db


def day_before(office, day: dt.date, hour: int) -> dt.datetime:
    return open_moment(office, day - dt.timedelta(days=1), hour=hour)


@pytest.fixture
def booked(paid, ani, office_a):
    slot = first_slot(office_a)
    return bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)


@pytest.fixture
def consultation(ani, office_a, settings):
    settings.VIDEO_MEETING_BASE_URL = "https://rapat.imigrasi.example"
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    return bookings.booking_consultation(
        citizen=ani, office=office_a, slot_id=slot.pk, topic=Topic.PASSPORT
    )


# --- The day before -----------------------------------------------------------------------


def test_the_day_before_the_citizen_is_reminded_by_email_and_sms(booked, ani, office_a):
    now = day_before(office_a, booked.slot.day, hour=10)

    sent = reminders.remind_day_before(now=now)

    assert sent == 1
    rows = notifications_of(ani, "booking.reminder")
    assert {row.channel for row in rows} == {"email", "sms"}
    email = rows.get(channel="email")
    assert booked.code_display in email.body
    assert office_a.name in email.body
    booked.refresh_from_db()
    assert booked.reminded_at == now


def test_a_second_run_reminds_nobody_twice(booked, ani, office_a):
    now = day_before(office_a, booked.slot.day, hour=10)
    reminders.remind_day_before(now=now)

    again = reminders.remind_day_before(now=now + dt.timedelta(hours=1))

    assert again == 0
    assert notifications_of(ani, "booking.reminder", "email").count() == 1


@pytest.mark.parametrize("hour", [2, 6, 21, 23])
def test_nobody_is_woken_at_night(booked, ani, office_a, hour):
    now = day_before(office_a, booked.slot.day, hour=hour)

    assert reminders.remind_day_before(now=now) == 0

    assert not notifications_of(ani, "booking.reminder").exists()
    booked.refresh_from_db()
    assert booked.reminded_at is None


def test_a_booking_not_reminded_the_day_before_is_reminded_that_morning(booked, ani, office_a):
    that_morning = open_moment(office_a, booked.slot.day, hour=6) + dt.timedelta(minutes=30)

    assert reminders.remind_day_before(now=that_morning) == 1
    assert reminders.remind_day_before(now=that_morning + dt.timedelta(minutes=10)) == 0
    assert notifications_of(ani, "booking.reminder", "email").count() == 1


def test_a_reminder_sent_on_the_morning_itself_does_not_say_tomorrow(booked, ani, office_a):
    that_morning = open_moment(office_a, booked.slot.day, hour=6) + dt.timedelta(minutes=30)
    tomorrow = in_language("id", "Tomorrow: your %(purpose_label)s").split("%(")[0].strip()

    reminders.remind_day_before(now=that_morning)

    email = notifications_of(ani, "booking.reminder", "email").get()
    assert tomorrow not in email.subject


@pytest.mark.parametrize("hour", [7, 20])
def test_the_reminder_goes_between_seven_and_nine_in_the_evening(booked, office_a, hour):
    assert reminders.remind_day_before(now=day_before(office_a, booked.slot.day, hour)) == 1


def test_two_days_before_is_too_early(booked, ani, office_a):
    now = open_moment(office_a, booked.slot.day - dt.timedelta(days=2), hour=10)

    assert reminders.remind_day_before(now=now) == 0
    assert not notifications_of(ani, "booking.reminder").exists()


def test_a_cancelled_booking_is_not_reminded(booked, ani, office_a):
    Booking.objects.filter(pk=booked.pk).update(status=Booking.Status.CANCELLED)

    assert reminders.remind_day_before(now=day_before(office_a, booked.slot.day, 10)) == 0
    assert not notifications_of(ani, "booking.reminder").exists()


def test_moving_the_appointment_clears_the_reminder_so_the_new_day_gets_one(booked, ani, office_a):
    reminders.remind_day_before(now=day_before(office_a, booked.slot.day, hour=10))
    later = first_slot(office_a, day=next_working_day(office_a, after=booked.slot.day))

    bookings.booking_reschedule(booking=booked, citizen=ani, slot_id=later.pk)

    booked.refresh_from_db()
    assert booked.reminded_at is None
    assert reminders.remind_day_before(now=day_before(office_a, later.day, hour=10)) == 1
    assert notifications_of(ani, "booking.reminder", "email").count() == 2


# --- An hour before a video consultation --------------------------------------------------


def test_a_consultation_starting_within_the_hour_gets_a_reminder_with_the_room(consultation, ani):
    now = consultation.slot.starts_at - dt.timedelta(minutes=45)

    sent = reminders.remind_hour_before(now=now)

    assert sent == 1
    email = notifications_of(ani, "booking.reminder", "email").get()
    assert consultation.room_url in email.body
    consultation.refresh_from_db()
    assert consultation.hour_reminded_at == now
    assert reminders.remind_hour_before(now=now + dt.timedelta(minutes=5)) == 0
    assert notifications_of(ani, "booking.reminder", "email").count() == 1


def test_a_consultation_two_hours_away_is_not_reminded_yet(consultation, ani):
    now = consultation.slot.starts_at - dt.timedelta(hours=2)

    assert reminders.remind_hour_before(now=now) == 0
    assert not notifications_of(ani, "booking.reminder").exists()


def test_an_interview_gets_no_hour_before_reminder(booked, ani):
    now = booked.slot.starts_at - dt.timedelta(minutes=30)

    assert reminders.remind_hour_before(now=now) == 0
    assert not notifications_of(ani, "booking.reminder").exists()


def test_a_consultation_already_started_is_not_reminded(consultation, ani):
    now = consultation.slot.starts_at + dt.timedelta(minutes=1)

    assert reminders.remind_hour_before(now=now) == 0
