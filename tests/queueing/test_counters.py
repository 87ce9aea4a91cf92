"""Running a counter: shifts, call next, recall, skip, start, finish, waiting estimates, the SMS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType

from applications.models import StatusEvent
from applications.workflow import Status
from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification
from queueing import counters, tickets
from queueing.models import Booking, CounterShift, Prefix, Ticket
from tests.utils import in_language

from .conftest import book, next_working_day, open_moment, paid_application

MINUTE = dt.timedelta(minutes=1)


def refusal(call) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


@pytest.fixture
def day(office_a):
    return next_working_day(office_a)


@pytest.fixture
def at(office_a, day):
    """at(minutes) → 10.00 + minutes on the day."""
    start = open_moment(office_a, day)
    return lambda minutes=0: start + minutes * MINUTE


@pytest.fixture
def open_1(counter_1, budi):
    """Loket 1 open under budi for passports and walk-ins."""
    return counters.shift_open(counter=counter_1, officer=budi, prefixes=["P", "W"])


def walk_in(office, when, **kwargs) -> Ticket:
    return tickets.walk_in(office=office, now=when, **kwargs)


def booked_ticket(citizen, office, service, day, when) -> Ticket:
    booking = book(paid_application(citizen, office, service), day=day)
    return tickets.check_in(office=office, scanned=booking.code, now=when)


# --- Shifts ---------------------------------------------------------------------------------


def test_an_officer_opens_a_counter_for_some_prefixes(counter_1, budi):
    shift = counters.shift_open(counter=counter_1, officer=budi, prefixes=["W", "P", "P"])

    assert shift.prefixes == "PW"
    assert shift.officer == budi and shift.closed_at is None
    assert counters.open_shift(counter_1) == shift


def test_opening_again_changes_the_prefixes_of_the_same_shift(counter_1, budi, open_1):
    again = counters.shift_open(counter=counter_1, officer=budi, prefixes=["K"])

    assert again.pk == open_1.pk
    assert CounterShift.objects.get().prefixes == "K"


@pytest.mark.parametrize("prefixes", [[], ["X"], None])
def test_a_counter_must_call_at_least_one_known_prefix(counter_1, budi, prefixes):
    error = refusal(lambda: counters.shift_open(counter=counter_1, officer=budi, prefixes=prefixes))

    assert error.field == "prefixes"
    assert error.message == in_language("id", "Choose at least one kind of ticket to call.")
    assert not CounterShift.objects.exists()


def test_another_officers_open_counter_cannot_be_taken_over(counter_1, open_1, dewi):
    error = refusal(lambda: counters.shift_open(counter=counter_1, officer=dewi, prefixes=["K"]))

    assert error.message == in_language(
        "id", "%(counter)s is open under %(name)s. They must close it first."
    ) % {"counter": "Loket 1", "name": "Budi Santoso"}
    assert CounterShift.objects.get().prefixes == "PW"


def test_closing_a_counter_ends_the_shift_and_lets_another_officer_open_it(
    counter_1, open_1, budi, dewi
):
    counters.shift_close(counter=counter_1, officer=budi)

    open_1.refresh_from_db()
    assert open_1.closed_at is not None
    assert counters.open_shift(counter_1) is None
    counters.shift_open(counter=counter_1, officer=dewi, prefixes=["K"])
    assert counters.open_shift(counter_1).officer == dewi


def test_another_officer_cannot_close_my_counter(counter_1, open_1, dewi):
    error = refusal(lambda: counters.shift_close(counter=counter_1, officer=dewi))

    assert error.message == in_language("id", "This counter is open under another officer.")
    open_1.refresh_from_db()
    assert open_1.closed_at is None


def test_a_closed_counter_cannot_be_closed_or_call(counter_1, budi):
    opened = in_language("id", "Open the counter first.")

    assert refusal(lambda: counters.shift_close(counter=counter_1, officer=budi)).message == opened
    assert refusal(lambda: counters.call_next(counter=counter_1, officer=budi)).message == opened


def test_a_counter_with_a_ticket_in_hand_cannot_close(
    office_a, counter_1, open_1, budi, at, time_machine
):
    walk_in(office_a, at())
    called = counters.call_next(counter=counter_1, officer=budi, now=at(1))
    time_machine.move_to(at(2), tick=False)  # closing looks at today's tickets

    error = refusal(lambda: counters.shift_close(counter=counter_1, officer=budi))

    assert error.message == in_language(
        "id", "Finish or skip the current ticket before closing the counter."
    )
    assert counters.open_shift(counter_1) is not None
    assert Ticket.objects.get(pk=called.pk).status == Ticket.Status.CALLED


# --- Call next ------------------------------------------------------------------------------


def test_call_next_takes_priority_tickets_first_then_the_oldest(
    office_a, counter_1, open_1, budi, at
):
    first = walk_in(office_a, at(0))
    second = walk_in(office_a, at(1))
    elderly = walk_in(office_a, at(2), priority=Ticket.Priority.ELDERLY)
    pregnant = walk_in(office_a, at(3), priority=Ticket.Priority.PREGNANT)

    order = []
    for minute in range(4):
        ticket = counters.call_next(counter=counter_1, officer=budi, now=at(10 + minute))
        order.append(ticket.pk)
        counters.skip(counter=counter_1, officer=budi, ticket_id=ticket.pk, now=at(10 + minute))

    assert order == [elderly.pk, pregnant.pk, first.pk, second.pk]


def test_call_next_mixes_the_prefixes_a_counter_serves_by_age(
    office_a, counter_1, open_1, budi, at, ani, passport_service, day
):
    walk = walk_in(office_a, at(0))
    passport = booked_ticket(ani, office_a, passport_service, day, at(1))

    assert counters.call_next(counter=counter_1, officer=budi, now=at(5)).pk == walk.pk
    counters.skip(counter=counter_1, officer=budi, ticket_id=walk.pk, now=at(5))
    assert counters.call_next(counter=counter_1, officer=budi, now=at(6)).pk == passport.pk


def test_a_call_records_the_counter_the_officer_and_the_time(office_a, counter_1, open_1, budi, at):
    waiting = walk_in(office_a, at(0))

    called = counters.call_next(counter=counter_1, officer=budi, now=at(7))

    assert called.pk == waiting.pk
    assert called.status == Ticket.Status.CALLED
    assert called.counter == counter_1
    assert called.served_by == budi
    assert called.issued_at == at(0)
    assert called.called_at == at(7) and called.announced_at == at(7)
    assert counters.current_ticket(counter_1, at(7)).pk == waiting.pk


def test_a_counter_calls_only_the_prefixes_it_serves(office_a, counter_1, budi, at):
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["K"])
    walk = walk_in(office_a, at(0))

    error = refusal(lambda: counters.call_next(counter=counter_1, officer=budi, now=at(1)))

    assert error.message == in_language("id", "No one is waiting for %(prefixes)s.") % {
        "prefixes": "K"
    }
    question = walk_in(office_a, at(2), prefix=Prefix.INFORMATION)
    assert counters.call_next(counter=counter_1, officer=budi, now=at(3)).pk == question.pk
    assert Ticket.objects.get(pk=walk.pk).status == Ticket.Status.WAITING


def test_calling_with_no_one_waiting_is_refused(counter_1, open_1, budi, at):
    error = refusal(lambda: counters.call_next(counter=counter_1, officer=budi, now=at()))

    assert error.message == in_language("id", "No one is waiting for %(prefixes)s.") % {
        "prefixes": "P, W"
    }


def test_tickets_of_another_day_or_office_are_not_called(
    office_a, office_b, counter_1, open_1, budi, at, day
):
    walk_in(office_b, at(0))
    walk_in(office_a, open_moment(office_a, next_working_day(office_a, after=day)))

    refusal(lambda: counters.call_next(counter=counter_1, officer=budi, now=at(1)))


def test_calling_while_a_ticket_is_current_is_refused(office_a, counter_1, open_1, budi, at):
    walk_in(office_a, at(0))
    waiting = walk_in(office_a, at(1))
    current = counters.call_next(counter=counter_1, officer=budi, now=at(2))

    error = refusal(lambda: counters.call_next(counter=counter_1, officer=budi, now=at(3)))

    assert error.message == in_language("id", "Finish or skip %(ticket)s first.") % {
        "ticket": current.label
    }
    assert Ticket.objects.get(pk=waiting.pk).status == Ticket.Status.WAITING
    counters.start(counter=counter_1, officer=budi, ticket_id=current.pk, now=at(3))
    refusal(lambda: counters.call_next(counter=counter_1, officer=budi, now=at(4)))


def test_only_the_officer_who_opened_the_counter_calls_on_it(office_a, counter_1, open_1, dewi, at):
    walk_in(office_a, at(0))

    error = refusal(lambda: counters.call_next(counter=counter_1, officer=dewi, now=at(1)))

    assert error.message == in_language("id", "This counter is open under another officer.")
    assert Ticket.objects.get().status == Ticket.Status.WAITING


# --- Recall, skip, start, finish ------------------------------------------------------------


@pytest.fixture
def called(office_a, counter_1, open_1, budi, at):
    walk_in(office_a, at(0))
    return counters.call_next(counter=counter_1, officer=budi, now=at(5))


def test_recall_counts_and_announces_again(counter_1, budi, called, at):
    counters.recall(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    again = counters.recall(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(8))

    assert again.recalls == 2
    assert again.announced_at == at(8)
    assert again.called_at == at(5)
    assert again.status == Ticket.Status.CALLED


def test_skip_closes_the_ticket_as_a_no_show(counter_1, budi, called, at):
    skipped = counters.skip(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(9))

    assert skipped.status == Ticket.Status.NO_SHOW
    assert skipped.finished_at == at(9)
    assert counters.current_ticket(counter_1, at(9)) is None


def test_start_then_finish_records_every_time(counter_1, budi, called, at):
    counters.start(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    done = counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(14))

    ticket = Ticket.objects.get(pk=done.pk)
    assert ticket.status == Ticket.Status.DONE
    assert (ticket.issued_at, ticket.called_at, ticket.served_at, ticket.finished_at) == (
        at(0),
        at(5),
        at(6),
        at(14),
    )
    assert counters.current_ticket(counter_1, at(14)) is None


def test_finishing_an_interview_marks_the_booking_attended_and_the_application_interviewed(
    paid, office_a, counter_1, open_1, budi
):
    booking = book(paid)
    moment = open_moment(office_a, booking.slot.day)
    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    counters.call_next(counter=counter_1, officer=budi, now=moment)
    counters.start(counter=counter_1, officer=budi, ticket_id=ticket.pk, now=moment)

    counters.finish(counter=counter_1, officer=budi, ticket_id=ticket.pk, now=moment + MINUTE)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.ATTENDED
    assert booking.closed_at == moment + MINUTE
    paid.refresh_from_db()
    assert paid.status == Status.INTERVIEWED
    event = StatusEvent.objects.filter(application=paid).latest("pk")
    assert (event.from_status, event.to_status, event.by) == (
        Status.SCHEDULED,
        Status.INTERVIEWED,
        budi,
    )


def test_finishing_a_walk_in_touches_no_application(counter_1, budi, called, at):
    events = StatusEvent.objects.count()
    counters.start(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(7))

    assert StatusEvent.objects.count() == events


def test_a_skipped_booking_stays_active_and_the_application_scheduled(
    paid, office_a, counter_1, open_1, budi
):
    booking = book(paid)
    moment = open_moment(office_a, booking.slot.day)
    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    counters.call_next(counter=counter_1, officer=budi, now=moment)

    counters.skip(counter=counter_1, officer=budi, ticket_id=ticket.pk, now=moment)

    booking.refresh_from_db()
    paid.refresh_from_db()
    assert booking.status == Booking.Status.ACTIVE
    assert paid.status == Status.SCHEDULED


# --- Stale actions --------------------------------------------------------------------------


def test_acting_on_a_ticket_called_at_another_counter_is_refused(
    office_a, counter_1, counter_2, open_1, budi, dewi, called, at
):
    counters.shift_open(counter=counter_2, officer=dewi, prefixes=["W"])
    message = in_language("id", "%(ticket)s is not at this counter (%(where)s).") % {
        "ticket": called.label,
        "where": "Loket 1",
    }

    for action in (counters.recall, counters.skip, counters.start, counters.finish):
        error = refusal(
            lambda action=action: action(
                counter=counter_2, officer=dewi, ticket_id=called.pk, now=at(6)
            )
        )
        assert error.message == message

    ticket = Ticket.objects.get(pk=called.pk)
    assert (ticket.status, ticket.counter, ticket.recalls) == (Ticket.Status.CALLED, counter_1, 0)


def test_acting_on_a_ticket_not_called_yet_is_refused(office_a, counter_1, open_1, budi, at):
    waiting = walk_in(office_a, at(0))

    error = refusal(
        lambda: counters.start(counter=counter_1, officer=budi, ticket_id=waiting.pk, now=at(1))
    )

    assert error.message == in_language("id", "%(ticket)s is not at this counter (%(where)s).") % {
        "ticket": "W-001",
        "where": in_language("id", "no counter yet"),
    }


def test_finishing_a_ticket_that_is_not_being_served_is_refused(counter_1, budi, called, at):
    error = refusal(
        lambda: counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    )

    assert error.message == in_language("id", "%(ticket)s is already “%(status)s”.") % {
        "ticket": called.label,
        "status": in_language("id", "Called"),
    }
    assert Ticket.objects.get(pk=called.pk).finished_at is None


def test_recalling_a_finished_ticket_is_refused(counter_1, budi, called, at):
    counters.start(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(7))

    error = refusal(
        lambda: counters.recall(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(8))
    )

    assert error.message == in_language("id", "%(ticket)s is already “%(status)s”.") % {
        "ticket": called.label,
        "status": in_language("id", "Done"),
    }
    ticket = Ticket.objects.get(pk=called.pk)
    assert (ticket.recalls, ticket.announced_at) == (0, at(5))


@pytest.mark.parametrize("action", ["start", "recall", "skip"])
def test_a_skipped_ticket_cannot_be_acted_on_again(counter_1, budi, called, at, action):
    counters.skip(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))

    error = refusal(
        lambda: getattr(counters, action)(
            counter=counter_1, officer=budi, ticket_id=called.pk, now=at(7)
        )
    )

    assert in_language("id", "Did not come when called") in error.message
    assert Ticket.objects.get(pk=called.pk).status == Ticket.Status.NO_SHOW


def test_finishing_twice_is_refused(counter_1, budi, called, at):
    counters.start(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(6))
    counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(7))

    refusal(
        lambda: counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=at(8))
    )

    assert Ticket.objects.get(pk=called.pk).finished_at == at(7)


def test_a_ticket_of_another_office_does_not_exist_here(office_b, counter_1, open_1, budi, at):
    elsewhere = walk_in(office_b, at(0))

    error = refusal(
        lambda: counters.recall(counter=counter_1, officer=budi, ticket_id=elsewhere.pk, now=at(1))
    )

    assert error.message == in_language("id", "That ticket does not exist at this office.")


def test_only_the_officer_on_the_counter_may_act_on_its_ticket(counter_1, dewi, called, at):
    error = refusal(
        lambda: counters.skip(counter=counter_1, officer=dewi, ticket_id=called.pk, now=at(6))
    )

    assert error.message == in_language("id", "This counter is open under another officer.")
    assert Ticket.objects.get(pk=called.pk).status == Ticket.Status.CALLED


# --- Waiting estimates ----------------------------------------------------------------------


def serve(counter, officer, when, minutes: int) -> None:
    ticket = counters.call_next(counter=counter, officer=officer, now=when)
    counters.start(counter=counter, officer=officer, ticket_id=ticket.pk, now=when)
    counters.finish(
        counter=counter, officer=officer, ticket_id=ticket.pk, now=when + minutes * MINUTE
    )


def test_the_estimate_uses_the_default_service_time_before_anyone_is_served(office_a, settings, at):
    settings.QUEUE_DEFAULT_SERVICE_MINUTES = 12
    ticket = walk_in(office_a, at(0))

    assert counters.estimated_wait_minutes(ticket, 0) == 12
    assert counters.estimated_wait_minutes(ticket, 2) == 36


def test_the_estimate_uses_todays_mean_service_time_and_the_open_counters(
    office_a, counter_1, counter_2, open_1, budi, dewi, at
):
    for minute in range(2):
        walk_in(office_a, at(minute))
    serve(counter_1, budi, at(10), minutes=6)
    serve(counter_1, budi, at(20), minutes=10)  # mean: 8 minutes
    waiting = walk_in(office_a, at(30))

    assert counters.average_service_minutes(office_a.pk, waiting.day, "W") == 8
    assert counters.estimated_wait_minutes(waiting, 3) == 32  # (3 + 1) x 8 / 1 counter
    counters.shift_open(counter=counter_2, officer=dewi, prefixes=["W"])
    assert counters.estimated_wait_minutes(waiting, 3) == 16  # two counters call W
    counters.shift_open(counter=counter_2, officer=dewi, prefixes=["K"])
    assert counters.estimated_wait_minutes(waiting, 3) == 32  # the second calls only K


def test_the_mean_ignores_other_days_and_other_prefixes(
    office_a, counter_1, open_1, budi, at, day, settings
):
    settings.QUEUE_DEFAULT_SERVICE_MINUTES = 10
    walk_in(office_a, at(0))
    serve(counter_1, budi, at(1), minutes=30)
    next_day = open_moment(office_a, next_working_day(office_a, after=day))
    tomorrow = walk_in(office_a, next_day)
    question = walk_in(office_a, at(40), prefix=Prefix.INFORMATION)

    assert counters.estimated_wait_minutes(tomorrow, 0) == 10
    assert counters.estimated_wait_minutes(question, 0) == 10


# --- The "three ahead" SMS ------------------------------------------------------------------


def near_messages(ticket, channel=Channel.SMS):
    return Notification.objects.filter(
        event="queue.near",
        channel=channel,
        related_type=ContentType.objects.get_for_model(Ticket),
        related_id=str(ticket.pk),
    )


def test_a_booked_citizen_gets_one_sms_when_three_tickets_remain_ahead(
    ani,
    office_a,
    passport_service,
    counter_1,
    open_1,
    budi,
    day,
    at,
    django_capture_on_commit_callbacks,
):
    type(ani).objects.filter(pk=ani.pk).update(phone_verified_at=at(-60))
    queue = [booked_ticket(ani, office_a, passport_service, day, at(i)) for i in range(6)]
    fifth, sixth = queue[4], queue[5]

    with django_capture_on_commit_callbacks(execute=True):  # told after the call commits
        counters.call_next(counter=counter_1, officer=budi, now=at(10))

    # After the first call four tickets wait ahead of the sixth: no message yet.
    sms = near_messages(fifth).get()
    assert sms.recipient == ani
    assert sms.address == ani.phone
    assert "P-005" in sms.body and "3" in sms.body
    assert near_messages(fifth, Channel.PORTAL).count() == 1
    assert not near_messages(sixth).exists()
    assert Ticket.objects.get(pk=fifth.pk).near_notified_at is not None

    counters.skip(counter=counter_1, officer=budi, ticket_id=queue[0].pk, now=at(11))
    with django_capture_on_commit_callbacks(execute=True):
        counters.call_next(counter=counter_1, officer=budi, now=at(12))

    assert near_messages(fifth).count() == 1  # once only
    assert near_messages(sixth).count() == 1
    assert "P-006" in near_messages(sixth).get().body


def test_walk_ins_get_no_sms(
    office_a, counter_1, open_1, budi, at, django_capture_on_commit_callbacks
):
    for minute in range(5):
        walk_in(office_a, at(minute))

    with django_capture_on_commit_callbacks(execute=True) as told:
        counters.call_next(counter=counter_1, officer=budi, now=at(10))

    assert told, "the 'three ahead' check runs after the call commits"

    assert not Notification.objects.filter(event="queue.near").exists()
