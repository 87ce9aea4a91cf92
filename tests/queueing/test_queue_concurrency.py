"""Queue numbers and calls racing on real PostgreSQL (SQLite proves nothing here).

Threads are released together by a barrier; at most GATE of them hold a
database connection at once (the server allows 100, shared with other test
runs). Then the invariants are checked: numbers 1..n with no duplicate and
no gap, two counters never holding the same ticket.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
from collections import Counter as Tally
from collections.abc import Callable

import pytest
from django.db import connection

from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification
from offices import roles
from offices.models import Counter
from queueing import bookings, counters, tickets
from queueing.models import Booking, DayUsage, Purpose, Quota, Ticket, TicketSequence
from tests.factories import StaffFactory
from tests.utils import OK, together

from .conftest import first_slot, open_moment, paid_application

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    # Other connections must see the rows: committed, then flushed (and the seeded rows
    # put back) after each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

GATE = 30  # connections held at once by one test


def crowd(calls: list[Callable[[], object]]) -> list[tuple[str, object]]:
    """`together`, with at most GATE threads inside the database at any moment."""
    gate = threading.BoundedSemaphore(GATE)

    def gated(call):
        def run():
            with gate:
                try:
                    return call()
                finally:
                    connection.close()  # give the connection back before the next thread

        return run

    return together(*(gated(call) for call in calls), timeout=120)


def numbers_of(office, prefix: str) -> list[int]:
    return sorted(
        Ticket.objects.filter(office=office, prefix=prefix).values_list("number", flat=True)
    )


def bookings_for(citizen, office, service, n: int) -> list[Booking]:
    """`n` active interview bookings in the day's first slot (written straight to the DB)."""
    slot = first_slot(office)
    rows = [
        Booking(
            code=bookings.new_code(),
            citizen=citizen,
            application=paid_application(citizen, office, service),
            office=office,
            purpose=Purpose.INTERVIEW,
            slot=slot,
        )
        for _ in range(n)
    ]
    return Booking.objects.bulk_create(rows)


def set_quota(office, **fields) -> None:
    Quota.objects.update_or_create(office=office, defaults=fields)


# --- Numbers --------------------------------------------------------------------------------


def test_a_hundred_check_ins_at_once_get_numbers_1_to_100(ani, office_a, passport_service):
    booked = bookings_for(ani, office_a, passport_service, 100)
    moment = open_moment(office_a, booked[0].slot.day)

    outcomes = crowd(
        [
            lambda code=b.code: tickets.check_in(office=office_a, scanned=code, now=moment)
            for b in booked
        ]
    )

    assert [kind for kind, _ in outcomes] == [OK] * 100, [o for o in outcomes if o[0] != OK][:3]
    assert numbers_of(office_a, "P") == list(range(1, 101))
    assert TicketSequence.objects.get(office=office_a, prefix="P").last_number == 100
    assert Ticket.objects.filter(booking__isnull=False).count() == 100
    assert Booking.objects.filter(checked_in_at=moment).count() == 100
    labels = [ticket.label for _, ticket in outcomes]
    assert len(set(labels)) == 100


def test_a_hundred_walk_ins_at_once_get_numbers_1_to_100(office_a):
    set_quota(office_a, same_day_quota=500)
    moment = open_moment(office_a)

    outcomes = crowd([lambda: tickets.walk_in(office=office_a, now=moment)] * 100)

    assert [kind for kind, _ in outcomes] == [OK] * 100, [o for o in outcomes if o[0] != OK][:3]
    assert numbers_of(office_a, "W") == list(range(1, 101))
    assert DayUsage.objects.get(office=office_a).same_day == 100


def test_the_call_order_is_the_number_order_however_requests_raced(office_a, time_machine):
    """Stamped on the live clock: the oldest ticket (called first) is the lowest number."""
    set_quota(office_a, same_day_quota=500)
    time_machine.move_to(open_moment(office_a), tick=True)

    outcomes = crowd([lambda: tickets.walk_in(office=office_a)] * 60)

    assert all(kind == OK for kind, _ in outcomes), outcomes
    call_order = Ticket.objects.filter(office=office_a).order_by(*counters.CALL_ORDER)
    assert list(call_order.values_list("number", flat=True)) == list(range(1, 61))


def test_walk_ins_and_information_tickets_at_once_keep_their_own_sequences(office_a):
    set_quota(office_a, same_day_quota=500)
    moment = open_moment(office_a)
    walk = lambda: tickets.walk_in(office=office_a, now=moment)  # noqa: E731
    question = lambda: tickets.walk_in(office=office_a, prefix="K", now=moment)  # noqa: E731

    outcomes = crowd([walk, question] * 30)

    assert all(kind == OK for kind, _ in outcomes), outcomes
    assert numbers_of(office_a, "W") == list(range(1, 31))
    assert numbers_of(office_a, "K") == list(range(1, 31))


def test_two_offices_at_once_each_count_from_one(office_a, office_b):
    for office in (office_a, office_b):
        set_quota(office, same_day_quota=500)
    moment = open_moment(office_a)

    crowd(
        [lambda: tickets.walk_in(office=office_a, now=moment)] * 25
        + [lambda: tickets.walk_in(office=office_b, now=moment)] * 25
    )

    assert numbers_of(office_a, "W") == list(range(1, 26))
    assert numbers_of(office_b, "W") == list(range(1, 26))


def test_the_walk_in_quota_holds_under_a_rush(office_a):
    set_quota(office_a, same_day_quota=10)
    moment = open_moment(office_a)

    outcomes = crowd([lambda: tickets.walk_in(office=office_a, now=moment)] * 40)

    kinds = Tally(kind for kind, _ in outcomes)
    assert kinds == {OK: 10, "ServiceError": 30}, kinds
    assert numbers_of(office_a, "W") == list(range(1, 11))
    assert DayUsage.objects.get(office=office_a).same_day == 10


def test_one_booking_scanned_ten_times_at_once_gets_one_ticket(ani, office_a, passport_service):
    (booking,) = bookings_for(ani, office_a, passport_service, 1)
    moment = open_moment(office_a, booking.slot.day)

    outcomes = crowd(
        [lambda: tickets.check_in(office=office_a, scanned=booking.code, now=moment)] * 10
    )

    assert all(kind == OK for kind, _ in outcomes), outcomes
    assert len({ticket.pk for _, ticket in outcomes}) == 1
    assert TicketSequence.objects.get(prefix="P").last_number == 1


# --- A failed insert leaves no gap ----------------------------------------------------------


def failing_once_after(taken_token: str, calls_before_failure: int):
    """A token maker that hands out an existing token once: that ticket's INSERT fails
    after its number was drawn (a unique violation), as any late failure would."""
    count = itertools.count()
    lock = threading.Lock()
    genuine = secrets.token_urlsafe  # the module's own, before the test replaces it

    def token_urlsafe(n: int = 16) -> str:
        with lock:
            position = next(count)
        return taken_token if position == calls_before_failure else genuine(n)

    return token_urlsafe


def test_a_walk_in_that_fails_after_drawing_its_number_leaves_no_gap(office_a, monkeypatch):
    set_quota(office_a, same_day_quota=500)
    moment = open_moment(office_a)
    information = tickets.walk_in(office=office_a, prefix="K", now=moment)
    monkeypatch.setattr(tickets.secrets, "token_urlsafe", failing_once_after(information.token, 4))

    outcomes = crowd([lambda: tickets.walk_in(office=office_a, now=moment)] * 20)

    kinds = Tally(kind for kind, _ in outcomes)
    assert kinds == {OK: 19, "IntegrityError": 1}, kinds
    assert numbers_of(office_a, "W") == list(range(1, 20))
    assert TicketSequence.objects.get(prefix="W").last_number == 19
    assert DayUsage.objects.get(office=office_a).same_day == 19  # its place came back too


def test_a_check_in_that_fails_after_drawing_its_number_leaves_no_gap(
    ani, office_a, passport_service, monkeypatch
):
    booked = bookings_for(ani, office_a, passport_service, 20)
    moment = open_moment(office_a, booked[0].slot.day)
    information = tickets.walk_in(office=office_a, prefix="K", now=moment)
    monkeypatch.setattr(tickets.secrets, "token_urlsafe", failing_once_after(information.token, 7))

    outcomes = crowd(
        [
            lambda code=b.code: tickets.check_in(office=office_a, scanned=code, now=moment)
            for b in booked
        ]
    )

    kinds = Tally(kind for kind, _ in outcomes)
    assert kinds == {OK: 19, "IntegrityError": 1}, kinds
    assert numbers_of(office_a, "P") == list(range(1, 20))
    # The refused booking is not marked as checked in and can try again: it gets number 20.
    (left_out,) = Booking.objects.filter(office=office_a, ticket__isnull=True)
    assert left_out.checked_in_at is None
    monkeypatch.undo()
    again = tickets.check_in(office=office_a, scanned=left_out.code, now=moment)
    assert again.number == 20


# --- Counters calling at the same moment ----------------------------------------------------


def staffed_counters(office, n: int) -> list[tuple[Counter, object]]:
    """`n` counters of `office`, each opened by its own officer for every prefix."""
    pairs = []
    for number in range(1, n + 1):
        counter = Counter.objects.create(office=office, number=number, name=f"Loket {number}")
        officer = StaffFactory(
            email=f"petugas{number}@example.id", role=roles.OFFICER, offices=[office]
        )
        counters.shift_open(counter=counter, officer=officer, prefixes=["P", "V", "W", "K"])
        pairs.append((counter, officer))
    return pairs


def call_all(pairs, moment) -> list[tuple[str, object]]:
    return crowd(
        [
            lambda c=counter, o=officer: counters.call_next(counter=c, officer=o, now=moment)
            for counter, officer in pairs
        ]
    )


def assert_each_counter_holds_its_own(pairs, outcomes, expected_called: int) -> None:
    called = [ticket for kind, ticket in outcomes if kind == OK]
    assert len(called) == expected_called, outcomes
    assert len({ticket.pk for ticket in called}) == expected_called  # never the same ticket
    rows = Ticket.objects.filter(status=Ticket.Status.CALLED)
    assert rows.count() == expected_called
    assert len(set(rows.values_list("counter", flat=True))) == expected_called


@pytest.mark.parametrize("n_counters", [2, 5])
def test_counters_calling_together_never_get_the_same_ticket(office_a, n_counters):
    set_quota(office_a, same_day_quota=500)
    moment = open_moment(office_a)
    waiting = [tickets.walk_in(office=office_a, now=moment) for _ in range(2 * n_counters)]
    pairs = staffed_counters(office_a, n_counters)

    outcomes = call_all(pairs, moment)

    assert_each_counter_holds_its_own(pairs, outcomes, n_counters)
    # The oldest are the ones called.
    called = {ticket.pk for _, ticket in outcomes}
    assert called == {ticket.pk for ticket in waiting[:n_counters]}


def test_more_counters_than_tickets_call_each_ticket_once(office_a):
    moment = open_moment(office_a)
    for _ in range(3):
        tickets.walk_in(office=office_a, now=moment)
    pairs = staffed_counters(office_a, 5)

    outcomes = call_all(pairs, moment)

    assert_each_counter_holds_its_own(pairs, outcomes, 3)
    refused = [error for kind, error in outcomes if kind != OK]
    assert len(refused) == 2
    assert all(isinstance(error, ServiceError) for error in refused), refused


@pytest.mark.parametrize("n_counters", [2, 5])
def test_counters_calling_booked_tickets_together_each_get_one(
    ani, office_a, passport_service, monkeypatch, n_counters
):
    """Booked tickets: the call also marks who gets the "three ahead" SMS.

    Without help the race is lost most runs; the rendezvous makes it every run: each
    counter has claimed its ticket (row locked, not committed) before any of them marks
    the next ones for the SMS, which is what happens when calls overlap.
    """
    booked = bookings_for(ani, office_a, passport_service, 3 * n_counters)
    moment = open_moment(office_a, booked[0].slot.day)
    for booking in booked:
        tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    pairs = staffed_counters(office_a, n_counters)
    genuine = counters._tell_the_next_ones
    rendezvous = threading.Barrier(n_counters)

    def tell_once_everyone_has_claimed(*args, **kwargs):
        # A broken barrier: the calls no longer overlap, nothing to wait for.
        with contextlib.suppress(threading.BrokenBarrierError):
            rendezvous.wait(timeout=5)
        return genuine(*args, **kwargs)

    monkeypatch.setattr(counters, "_tell_the_next_ones", tell_once_everyone_has_claimed)

    outcomes = call_all(pairs, moment)

    assert [kind for kind, _ in outcomes] == [OK] * n_counters, outcomes
    assert_each_counter_holds_its_own(pairs, outcomes, n_counters)
    # The next ones in line are told, each once.
    told = Tally(
        Notification.objects.filter(event="queue.near", channel=Channel.SMS).values_list(
            "related_id", flat=True
        )
    )
    assert told and set(told.values()) == {1}, told


def test_rounds_of_calls_serve_everyone_exactly_once(office_a):
    set_quota(office_a, same_day_quota=500)
    moment = open_moment(office_a)
    for _ in range(20):
        tickets.walk_in(office=office_a, now=moment)
    pairs = staffed_counters(office_a, 5)

    for _round in range(4):
        outcomes = call_all(pairs, moment)
        assert [kind for kind, _ in outcomes] == [OK] * 5, outcomes
        for (counter, officer), (_, ticket) in zip(pairs, outcomes, strict=True):
            counters.skip(counter=counter, officer=officer, ticket_id=ticket.pk, now=moment)

    assert Ticket.objects.filter(status=Ticket.Status.NO_SHOW).count() == 20
    assert not Ticket.objects.filter(status=Ticket.Status.WAITING).exists()
