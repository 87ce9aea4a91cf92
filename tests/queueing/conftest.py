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
