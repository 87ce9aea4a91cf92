"""Queue tickets: checking in with a booking, walk-ins, numbering, quotas, opening hours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError

from applications import verification
from imigrasi.errors import ServiceError
from offices.models import Holiday
from queueing import bookings, slips, tickets
from queueing.models import Booking, DayUsage, Prefix, Purpose, Quota, Ticket, TicketSequence
from tests.utils import in_language

from .conftest import book, first_slot, next_working_day, open_moment, paid_application


def refusal(call) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def set_quota(office, **fields) -> None:
    Quota.objects.update_or_create(office=office, defaults=fields)
    office.__dict__.pop("_quota_cache", None)


@pytest.fixture
def booking(paid):
    return book(paid)


@pytest.fixture
def moment(booking):
    """10.00 on the booking's day, inside opening hours."""
    return open_moment(booking.office, booking.slot.day)


# --- Check-in with a booking ----------------------------------------------------------------


def test_checking_in_a_passport_booking_gives_p_001(booking, moment, office_a):
    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)

    assert ticket.label == "P-001"
    assert ticket.prefix == Prefix.PASSPORT and ticket.number == 1
    assert ticket.day == booking.slot.day
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.issued_at == moment
    assert ticket.booking_id == booking.pk
    booking.refresh_from_db()
    assert booking.checked_in_at == moment


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: f"{code[:4]}-{code[4:]}",
        lambda code: code.lower(),
        lambda code: f"  {code[:4].lower()}-{code[4:]}  ",
        lambda code: f"{code[:4]} {code[4:]}",
    ],
    ids=["with-dash", "lower-case", "spaces-and-mixed-case", "with-space"],
)
def test_the_code_is_accepted_however_it_was_typed(booking, moment, office_a, typed):
    ticket = tickets.check_in(office=office_a, scanned=typed(booking.code), now=moment)

    assert ticket.booking_id == booking.pk
    assert ticket.label == "P-001"


def test_the_qr_code_on_the_slip_checks_in(booking, moment, office_a):
    scanned = slips.slip_context(booking)["verification_url"]
    assert booking.code not in scanned  # the code is inside the signed token

    ticket = tickets.check_in(office=office_a, scanned=scanned, now=moment)

    assert ticket.booking_id == booking.pk


def test_a_qr_code_of_another_document_is_not_a_booking(booking, moment, office_a, paid):
    scanned = verification.verification_url("receipt", paid.reference)

    error = refusal(lambda: tickets.check_in(office=office_a, scanned=scanned, now=moment))

    assert error.field == "code"
    assert error.message == in_language("id", "Type the 8-character booking code on your slip.")
    assert not Ticket.objects.exists()


def test_a_tampered_qr_code_is_refused(booking, moment, office_a):
    scanned = slips.slip_context(booking)["verification_url"].rstrip("/") + "x/"

    error = refusal(lambda: tickets.check_in(office=office_a, scanned=scanned, now=moment))

    assert error.field == "code"
    assert not Ticket.objects.exists()


def test_a_permit_booking_gets_a_v_ticket(ani, office_a, stay_permit_service, tasks_inline):
    booking = book(paid_application(ani, office_a, stay_permit_service))
    moment = open_moment(office_a, booking.slot.day)

    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)

    assert ticket.label == "V-001"


def test_every_permit_service_maps_to_the_v_prefix(permit_service, passport_service):
    assert tickets.prefix_for_service(permit_service) == Prefix.PERMIT
    assert tickets.prefix_for_service(passport_service) == Prefix.PASSPORT


def test_scanning_twice_gives_back_the_same_ticket(booking, moment, office_a):
    first = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    again = tickets.check_in(
        office=office_a, scanned=booking.code_display, now=moment + dt.timedelta(minutes=5)
    )

    assert again.pk == first.pk
    assert Ticket.objects.count() == 1
    assert TicketSequence.objects.get(prefix=Prefix.PASSPORT).last_number == 1
    booking.refresh_from_db()
    assert booking.checked_in_at == moment  # the first arrival counts


def test_an_officer_can_check_a_citizen_in(booking, moment, office_a, budi):
    ticket = tickets.check_in(office=office_a, scanned=booking.code, by=budi, now=moment)

    assert ticket.issued_by == budi


def test_a_priority_reason_is_recorded(booking, moment, office_a):
    ticket = tickets.check_in(
        office=office_a, scanned=booking.code, priority=Ticket.Priority.PREGNANT, now=moment
    )

    assert ticket.is_priority
    assert ticket.priority == Ticket.Priority.PREGNANT


def test_an_unknown_priority_reason_is_refused(booking, moment, office_a):
    error = refusal(
        lambda: tickets.check_in(office=office_a, scanned=booking.code, priority="vip", now=moment)
    )

    assert error.field == "priority"
    assert error.message == in_language("id", "Choose one of the priority reasons.")
    assert not Ticket.objects.exists()


# --- Check-in refusals ----------------------------------------------------------------------


def test_an_unknown_code_is_refused_with_the_code_shown(booking, moment, office_a):
    error = refusal(lambda: tickets.check_in(office=office_a, scanned="ZZZZ-ZZZZ", now=moment))

    assert error.field == "code"
    assert error.message == in_language(
        "id", "No booking has the code %(code)s. Check the code on your slip."
    ) % {"code": "ZZZZZZZZ"}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("typed", ["", "   ", "--", "/"])
def test_an_empty_code_asks_for_the_code(booking, moment, office_a, typed):
    error = refusal(lambda: tickets.check_in(office=office_a, scanned=typed, now=moment))

    assert error.field == "code"
    assert error.message == in_language("id", "Type the 8-character booking code on your slip.")


def test_a_booking_for_another_office_is_refused(booking, moment, office_b):
    error = refusal(lambda: tickets.check_in(office=office_b, scanned=booking.code, now=moment))

    assert error.field == "code"
    assert error.message == in_language(
        "id", "This booking is for %(office)s. Please check in there."
    ) % {"office": booking.office.name}
    assert not Ticket.objects.exists()
    booking.refresh_from_db()
    assert booking.checked_in_at is None


def test_a_booking_checked_in_at_its_office_is_still_refused_at_another(
    booking, moment, office_a, office_b
):
    tickets.check_in(office=office_a, scanned=booking.code, now=moment)

    error = refusal(lambda: tickets.check_in(office=office_b, scanned=booking.code, now=moment))

    assert error.field == "code"


def test_a_booking_for_another_day_is_refused(booking, office_a):
    other_day = next_working_day(office_a, after=booking.slot.day)
    moment = open_moment(office_a, other_day)

    error = refusal(lambda: tickets.check_in(office=office_a, scanned=booking.code, now=moment))

    assert error.field == "code"
    assert booking.code not in error.message
    assert error.message.startswith(
        in_language("id", "This booking is for %(day)s, not today.").split("%(day)s")[0]
    )
    assert not Ticket.objects.exists()


def test_a_booking_for_tomorrow_is_refused_the_day_before(booking, office_a, budi):
    the_day_before = open_moment(office_a, booking.slot.day) - dt.timedelta(days=1)

    error = refusal(
        lambda: tickets.check_in(office=office_a, scanned=booking.code, by=budi, now=the_day_before)
    )

    assert error.field == "code"
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("status", "label"),
    [(Booking.Status.CANCELLED, "Cancelled"), (Booking.Status.NO_SHOW, "Missed")],
)
def test_a_cancelled_or_missed_booking_is_refused(booking, moment, office_a, status, label):
    # Closed as booking_cancel / bookings_mark_missed leave it (tested with those services).
    Booking.objects.filter(pk=booking.pk).update(status=status)

    error = refusal(lambda: tickets.check_in(office=office_a, scanned=booking.code, now=moment))

    assert error.field == "code"
    assert error.message == in_language(
        "id", "This booking is “%(status)s”; it cannot be used to check in."
    ) % {"status": in_language("id", label)}
    assert not Ticket.objects.exists()


def test_a_video_consultation_is_refused(ani, office_a):
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    consultation = bookings.booking_consultation(
        citizen=ani, office=office_a, slot_id=slot.pk, topic="passport"
    )
    moment = open_moment(office_a, slot.day)

    error = refusal(
        lambda: tickets.check_in(office=office_a, scanned=consultation.code, now=moment)
    )

    assert error.field == "code"
    assert error.message == in_language(
        "id", "Video consultations are held online: open the link in your booking."
    )
    assert not Ticket.objects.exists()


# --- Walk-ins -------------------------------------------------------------------------------


def test_walk_ins_get_w_and_information_k_numbers(office_a):
    moment = open_moment(office_a)

    first = tickets.walk_in(office=office_a, now=moment)
    second = tickets.walk_in(office=office_a, now=moment)
    question = tickets.walk_in(office=office_a, prefix=Prefix.INFORMATION, now=moment)

    assert [first.label, second.label, question.label] == ["W-001", "W-002", "K-001"]
    assert first.booking is None and first.issued_by is None


@pytest.mark.parametrize("prefix", [Prefix.PASSPORT, Prefix.PERMIT, "X", ""])
def test_a_walk_in_cannot_take_a_booked_prefix(office_a, prefix):
    error = refusal(
        lambda: tickets.walk_in(office=office_a, prefix=prefix, now=open_moment(office_a))
    )

    assert error.field == "prefix"
    assert not Ticket.objects.exists()


def test_a_walk_in_priority_reason_is_recorded(office_a):
    ticket = tickets.walk_in(
        office=office_a, priority=Ticket.Priority.ELDERLY, now=open_moment(office_a)
    )

    assert ticket.priority == Ticket.Priority.ELDERLY
    assert ticket.get_priority_display() == in_language("id", "Elderly (60 or over)")


def test_numbers_start_at_one_per_prefix_per_day_and_per_office(
    booking, moment, office_a, office_b
):
    next_day = open_moment(office_a, next_working_day(office_a, after=moment.date()))

    tickets.walk_in(office=office_a, now=moment)
    tickets.walk_in(office=office_a, now=moment)
    passport = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    elsewhere = tickets.walk_in(office=office_b, now=moment)
    tomorrow = tickets.walk_in(office=office_a, now=next_day)
    tomorrow_b = tickets.walk_in(office=office_b, now=next_day)

    assert passport.label == "P-001"
    assert elsewhere.label == "W-001" and elsewhere.office == office_b
    assert tomorrow.label == "W-001" and tomorrow.day == next_day.date()
    assert tomorrow_b.label == "W-001"
    assert Ticket.objects.filter(office=office_a, day=moment.date(), prefix="W").count() == 2


# --- Quotas ---------------------------------------------------------------------------------

FULL = (
    "Today's walk-in places are all taken. Book an appointment online for another "
    "day, or ask an officer."
)


PRIORITY_FULL = (
    "Today's priority places are all taken. Please ask an officer at the information desk: "
    "they will help you."
)


def test_the_same_day_quota_is_enforced(office_a):
    set_quota(office_a, same_day_quota=2)
    moment = open_moment(office_a)
    tickets.walk_in(office=office_a, now=moment)
    tickets.walk_in(office=office_a, now=moment)

    error = refusal(lambda: tickets.walk_in(office=office_a, now=moment))

    assert error.message == in_language("id", FULL)
    assert Ticket.objects.filter(prefix="W").count() == 2
    assert DayUsage.objects.get(office=office_a).same_day == 2


def test_the_same_day_quota_binds_officers_too(office_a, budi):
    set_quota(office_a, same_day_quota=1)
    moment = open_moment(office_a)
    tickets.walk_in(office=office_a, by=budi, now=moment)

    refusal(lambda: tickets.walk_in(office=office_a, by=budi, now=moment))


def test_the_same_day_quota_is_counted_per_day(office_a):
    set_quota(office_a, same_day_quota=1)
    moment = open_moment(office_a)
    tickets.walk_in(office=office_a, now=moment)
    next_day = open_moment(office_a, next_working_day(office_a, after=moment.date()))

    assert tickets.walk_in(office=office_a, now=next_day).label == "W-001"


def test_a_zero_same_day_quota_refuses_the_first_walk_in(office_a):
    set_quota(office_a, same_day_quota=0)

    error = refusal(lambda: tickets.walk_in(office=office_a, now=open_moment(office_a)))

    assert error.message == in_language("id", FULL)
    assert not TicketSequence.objects.exists()


def test_the_priority_quota_is_enforced_separately(office_a):
    set_quota(office_a, same_day_quota=5, priority_quota=1)
    moment = open_moment(office_a)
    tickets.walk_in(office=office_a, priority=Ticket.Priority.DISABLED, now=moment)

    refusal(lambda: tickets.walk_in(office=office_a, priority=Ticket.Priority.INFANT, now=moment))
    usage = DayUsage.objects.get(office=office_a)
    assert (usage.priority, usage.same_day) == (1, 0)
    # A regular walk-in still has its own places.
    assert tickets.walk_in(office=office_a, now=moment).label == "W-002"


def test_a_priority_refusal_does_not_claim_every_walk_in_place_is_taken(office_a):
    set_quota(office_a, same_day_quota=5, priority_quota=0)

    error = refusal(
        lambda: tickets.walk_in(
            office=office_a, priority=Ticket.Priority.ELDERLY, now=open_moment(office_a)
        )
    )

    assert error.field == "priority"
    assert error.message == in_language("id", PRIORITY_FULL)
    assert not Ticket.objects.exists()


def test_information_tickets_do_not_use_the_walk_in_quota(office_a):
    set_quota(office_a, same_day_quota=0)

    ticket = tickets.walk_in(office=office_a, prefix=Prefix.INFORMATION, now=open_moment(office_a))

    assert ticket.label == "K-001"


def test_booked_check_ins_do_not_use_the_walk_in_quota(booking, moment, office_a):
    set_quota(office_a, same_day_quota=0, priority_quota=0)

    ticket = tickets.check_in(
        office=office_a, scanned=booking.code, priority=Ticket.Priority.ELDERLY, now=moment
    )

    assert ticket.label == "P-001"


# --- Opening hours --------------------------------------------------------------------------


@pytest.mark.parametrize("hour", [6, 16, 20])
def test_the_kiosk_is_closed_outside_opening_hours(office_a, hour):
    moment = open_moment(office_a, hour=hour)

    assert not tickets.kiosk_is_open(office_a, moment)
    error = refusal(lambda: tickets.walk_in(office=office_a, now=moment))
    assert error.message == in_language("id", "The kiosk is closed outside opening hours.")
    assert not Ticket.objects.exists()
    assert not DayUsage.objects.filter(same_day__gt=0).exists()


def test_the_kiosk_refuses_a_check_in_outside_opening_hours(booking, office_a):
    early = open_moment(office_a, booking.slot.day, hour=7)

    error = refusal(lambda: tickets.check_in(office=office_a, scanned=booking.code, now=early))

    assert error.message == in_language("id", "The kiosk is closed outside opening hours.")
    assert not Ticket.objects.exists()


def test_the_kiosk_is_closed_at_the_weekend(office_a):
    day = next_working_day(office_a)
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7)
    moment = open_moment(office_a, saturday)

    assert not tickets.kiosk_is_open(office_a, moment)
    refusal(lambda: tickets.walk_in(office=office_a, now=moment))


def test_the_kiosk_is_closed_on_a_holiday(office_a):
    moment = open_moment(office_a)
    Holiday.objects.create(date=moment.date(), name="Hari Raya")

    assert not tickets.kiosk_is_open(office_a, moment)
    refusal(lambda: tickets.walk_in(office=office_a, now=moment))


def test_an_officer_may_issue_before_opening_on_a_working_day(booking, office_a, budi):
    early = open_moment(office_a, booking.slot.day, hour=7)

    walk = tickets.walk_in(office=office_a, by=budi, now=early)
    checked = tickets.check_in(office=office_a, scanned=booking.code, by=budi, now=early)

    assert walk.label == "W-001" and walk.issued_by == budi
    assert checked.label == "P-001"


def test_not_even_an_officer_issues_on_a_holiday(office_a, budi):
    moment = open_moment(office_a)
    Holiday.objects.create(date=moment.date(), name="Hari Raya", office=office_a)

    error = refusal(lambda: tickets.walk_in(office=office_a, by=budi, now=moment))

    assert error.message == in_language("id", "The office is closed today (holiday).")
    assert not Ticket.objects.exists()


def test_a_citizen_passed_as_issuer_does_not_open_the_kiosk(office_a, ani):
    error = refusal(
        lambda: tickets.walk_in(office=office_a, by=ani, now=open_moment(office_a, hour=7))
    )

    assert error.message == in_language("id", "The kiosk is closed outside opening hours.")


# --- No gaps --------------------------------------------------------------------------------


def test_a_ticket_that_fails_to_save_gives_its_number_back(booking, moment, office_a, monkeypatch):
    """The number is drawn, then the insert fails: the number (and the quota) roll back."""
    taken = tickets.walk_in(office=office_a, now=moment)
    monkeypatch.setattr(tickets.secrets, "token_urlsafe", lambda n: taken.token)

    with pytest.raises(IntegrityError):
        tickets.walk_in(office=office_a, now=moment)
    with pytest.raises(IntegrityError):
        tickets.check_in(office=office_a, scanned=booking.code, now=moment)

    monkeypatch.undo()
    assert TicketSequence.objects.get(prefix="W").last_number == 1
    assert not TicketSequence.objects.filter(prefix="P").exists()
    assert DayUsage.objects.get(office=office_a).same_day == 1
    booking.refresh_from_db()
    assert booking.checked_in_at is None
    assert tickets.walk_in(office=office_a, now=moment).label == "W-002"
    assert tickets.check_in(office=office_a, scanned=booking.code, now=moment).label == "P-001"


def test_a_booking_can_only_ever_have_one_ticket(booking, moment, office_a):
    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    Booking.objects.filter(pk=booking.pk).update(checked_in_at=None)

    again = tickets.check_in(office=office_a, scanned=booking.code, now=moment)

    assert again.pk == ticket.pk
