"""Booking races on real PostgreSQL (SQLite proves nothing here): threads released
together by a barrier, then the invariants checked. 200 citizens going for the 10
places of one slot get exactly 10 bookings and 190 "full"; one citizen double-clicking
"book" from five tabs gets one booking and one move to scheduled."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from applications.models import StatusEvent
from applications.workflow import Status
from queueing import bookings
from queueing.models import Booking, Slot
from tests.factories import UserFactory
from tests.utils import OK, in_language, together

from .conftest import first_slot, paid_for

# Committed rows are needed for other connections to see them (transaction=True); the
# flush that ends such a test also empties what data migrations seeded: serialized_rollback
# puts it back.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CITIZENS = 200
PLACES = 10
# PostgreSQL allows 100 connections and other tests run beside this one: at most this
# many threads hold a connection at once (each closes it before letting the next in).
CONNECTIONS = 40
FULL = "That time is full: someone booked the last place. Choose another time."


def book_with_capped_connections(gate: threading.BoundedSemaphore, citizen, application, slot):
    def call() -> Booking:
        with gate:
            try:
                return bookings.booking_interview(
                    citizen=citizen, application=application, slot_id=slot.pk
                )
            finally:
                connection.close()

    return call


def test_two_hundred_citizens_racing_for_ten_places_get_exactly_ten(office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(capacity=PLACES)
    applications = [
        paid_for(UserFactory(full_name=f"Pemohon {n}"), office_a) for n in range(CITIZENS)
    ]
    gate = threading.BoundedSemaphore(CONNECTIONS)

    outcomes = together(
        *(
            book_with_capped_connections(gate, application.applicant, application, slot)
            for application in applications
        ),
        timeout=120,
    )

    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {OK: PLACES, "ServiceError": CITIZENS - PLACES}, kinds
    full = in_language("id", FULL)
    assert {error.message for kind, error in outcomes if kind != OK} == {full}
    slot.refresh_from_db()
    assert slot.booked == PLACES
    assert Booking.objects.filter(slot=slot, status=Booking.Status.ACTIVE).count() == PLACES
    winners = {booking.application_id for kind, booking in outcomes if kind == OK}
    assert len(winners) == PLACES
    scheduled = StatusEvent.objects.filter(to_status=Status.SCHEDULED)
    assert set(scheduled.values_list("application_id", flat=True)) == winners
    assert scheduled.count() == PLACES
    assert Booking.objects.exclude(application_id__in=winners).count() == 0, (
        "a refused citizen was left with a booking"
    )


def test_a_double_click_from_five_tabs_books_once(ani, office_a):
    application = paid_for(ani, office_a)
    slot = first_slot(office_a)

    outcomes = together(
        *(
            lambda: bookings.booking_interview(
                citizen=ani, application=application, slot_id=slot.pk
            )
            for _ in range(5)
        )
    )

    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {OK: 1, "ServiceError": 4}, outcomes
    refused = {error.message for kind, error in outcomes if kind != OK}
    assert refused == {in_language("id", "This application already has an interview booked.")}
    assert Booking.objects.filter(application=application).count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1
    events = StatusEvent.objects.filter(application=application, to_status=Status.SCHEDULED)
    assert events.count() == 1
    application.refresh_from_db()
    assert application.status == Status.SCHEDULED
