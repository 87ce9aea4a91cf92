"""Queueing fixtures: a paid application, slots of the office's next working day, counters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from applications.workflow import Status
from offices.models import Counter
from queueing import slots
from queueing.models import Purpose, Slot
from tests.applications.conftest import (  # noqa: F401  # noqa: F401
    _private_files,
    advance,
    complete_draft,
    draft,
    passport_service,
    permit_service,
)


@pytest.fixture
def paid(ani, office_a, passport_service, tasks_inline):  # noqa: F811
    """Ani's passport application, fee paid: ready to book an interview."""
    return advance(complete_draft(ani, office_a, passport_service), Status.PAID)


def next_working_day(office, after: dt.date | None = None) -> dt.date:
    """The first day after `after` (default today) with slots at `office`."""
    slots.slots_ensure(office)
    day = (after or slots.local_today(office)) + dt.timedelta(days=1)
    found = (
        Slot.objects.filter(office=office, purpose=Purpose.INTERVIEW, day__gte=day)
        .order_by("starts_at")
        .first()
    )
    assert found is not None, "the office has no slots in its window"
    return found.day


def first_slot(office, *, day: dt.date | None = None, purpose: str = Purpose.INTERVIEW) -> Slot:
    day = day or next_working_day(office)
    return Slot.objects.filter(office=office, purpose=purpose, day=day).order_by("starts_at")[0]


def open_moment(office, day: dt.date | None = None, hour: int = 10) -> dt.datetime:
    """A moment inside opening hours (10.00 local) on `day` (default: next working day)."""
    day = day or next_working_day(office)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=office.tzinfo)


@pytest.fixture
def counter_1(office_a):
    return Counter.objects.create(office=office_a, number=1, name="Loket 1")


@pytest.fixture
def counter_2(office_a):
    return Counter.objects.create(office=office_a, number=2, name="Loket 2")


def now() -> dt.datetime:
    return timezone.now()


# --- Booking helpers (test_slots, test_booking*, test_waitlist, test_reminders) -------------


def paid_for(citizen, office, service=None):
    """A paid application written straight to the database (fast; for many citizens).

    Only the booking path is under test: how an application got paid is not.
    """
    from applications.models import Application, Service
    from applications.services import make_reference

    service = service or Service.objects.get(code="paspor-elektronik-baru")
    return Application.objects.create(
        reference=make_reference(service, office),
        service=service,
        office=office,
        applicant=citizen,
        status=Status.PAID,
        full_name=citizen.full_name,
        submitted_at=timezone.now(),
        step_reached=4,
    )


def fill_day(office, day: dt.date, *, purpose: str = Purpose.INTERVIEW, but=None) -> None:
    """Every place of `day` taken (without bookings), except the slot `but` is left alone."""
    rows = Slot.objects.filter(office=office, purpose=purpose, day=day)
    if but is not None:
        rows = rows.exclude(pk=but.pk)
    rows.update(capacity=1, booked=1)


def notifications_of(user, event: str, channel: str | None = None):
    from notifications.models import Notification

    rows = Notification.objects.filter(recipient=user, event=event)
    return rows.filter(channel=channel) if channel else rows


# --- Queue helpers (tickets, counters, board, kiosk) ----------------------------------------


def paid_application(citizen, office, service, *, label: str = ""):
    """A paid application made straight in the database (fast; for queues of many people)."""
    import uuid

    from applications.models import Application

    return Application.objects.create(
        reference=f"T-{office.code}-{uuid.uuid4().hex[:10].upper()}",
        service=service,
        office=office,
        applicant=citizen,
        status=Status.PAID,
        full_name=label or citizen.full_name,
        submitted_at=timezone.now(),
    )


def book(application, *, day: dt.date | None = None):
    """Book an interview for `application` on `day` (default: the next working day).

    The day's first slot is widened so that a test may book many people into it.
    """
    from queueing import bookings

    slot = first_slot(application.office, day=day)
    Slot.objects.filter(pk=slot.pk).update(capacity=500)
    return bookings.booking_interview(
        citizen=application.applicant, application=application, slot_id=slot.pk
    )


@pytest.fixture
def stay_permit_service(db):
    """Limited stay permit (ITAS): a permit service that needs an interview (V tickets)."""
    from applications.models import Service

    return Service.objects.get(code="izin-tinggal-terbatas")


@pytest.fixture
def counter_b(office_b):
    return Counter.objects.create(office=office_b, number=1, name="Loket 1")


def refusal(call) -> str:
    """The message of the ServiceError `call()` raises (fails the test when it does not)."""
    from imigrasi.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value.message
