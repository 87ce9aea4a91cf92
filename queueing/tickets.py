"""Queue tickets: check-in with a booking, walk-ins, and gapless numbers.

A number is taken with one statement (insert the day's counter row or add
one to it, returning the new value) in the same transaction as the ticket:
the counter row stays locked until commit, so numbers are unique, and a
failed ticket rolls its number back, so there are no gaps.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from applications import verification
from applications.models import Service
from imigrasi.errors import ServiceError
from offices.models import Office
from queueing import board
from queueing.bookings import normalise_code
from queueing.models import Booking, DayUsage, Prefix, Purpose, Ticket, TicketSequence
from queueing.slots import local_today, quota_for

# The table name is our own constant, not input; values are parameters.
_TABLE = TicketSequence._meta.db_table
_NEXT_NUMBER_SQL = (
    f"INSERT INTO {_TABLE} (office_id, day, prefix, last_number) "  # noqa: S608  # nosec B608  # table name is a model constant
    "VALUES (%s, %s, %s, 1) "
    "ON CONFLICT (office_id, day, prefix) "
    f"DO UPDATE SET last_number = {_TABLE}.last_number + 1 "
    "RETURNING last_number"
)


def next_number(office_id: int, day: dt.date, prefix: str) -> int:
    """The next number of the day for `prefix`; must run inside the ticket's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, [office_id, day, prefix])
        return cursor.fetchone()[0]


def prefix_for_service(service: Service) -> str:
    return Prefix.PASSPORT if service.category == Service.Category.PASSPORT else Prefix.PERMIT


def _issue(
    office: Office, prefix: str, *, now, live: bool, priority="", booking=None, by=None
) -> Ticket:
    day = local_today(office, now)
    number = next_number(office.pk, day, prefix)
    ticket = Ticket.objects.create(
        office=office,
        day=day,
        prefix=prefix,
        number=number,
        priority=priority,
        booking=booking,
        token=secrets.token_urlsafe(16),
        issued_by=by if by is not None and by.is_authenticated else None,
        # Stamped after the number is drawn (under its lock): within a prefix, the
        # call order (oldest first) is then the number order, however requests raced.
        issued_at=timezone.now() if live else now,
    )
    board.bump_on_commit(office.pk)
    return ticket


def kiosk_is_open(office: Office, now=None) -> bool:
    return office.is_open_at(now or timezone.now())


def _check_open(office: Office, now, by) -> None:
    """The kiosk locks outside opening hours; an officer may still issue a ticket."""
    if by is not None and getattr(by, "is_staff", False):
        if office.is_holiday(local_today(office, now)):
            raise ServiceError(_("The office is closed today (holiday)."))
        return
    if not kiosk_is_open(office, now):
        raise ServiceError(_("The kiosk is closed outside opening hours."))


def code_from_scan(text: str) -> str:
    """A typed booking code, or the QR code's verification link on the slip."""
    text = (text or "").strip()
    if "/" in text:
        token = text.rstrip("/").rsplit("/", 1)[-1]
        found = verification.read_token(token)
        if found and found[0] == "booking":
            return found[1]
        return ""
    return normalise_code(text)


def check_in(*, office: Office, scanned: str, priority: str = "", by=None, now=None) -> Ticket:
    """Give the booked citizen a ticket; a second scan gives the same ticket back."""
    live, now = now is None, now or timezone.now()
    if priority not in Ticket.Priority.values:
        raise ServiceError(_("Choose one of the priority reasons."), field="priority")
    code = code_from_scan(scanned)
    if not code:
        raise ServiceError(_("Type the 8-character booking code on your slip."), field="code")
    _check_open(office, now, by)
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot", "office", "application__service")
            .filter(code=code)
            .first()
        )
        if booking is None:
            raise ServiceError(
                _("No booking has the code %(code)s. Check the code on your slip.")
                % {"code": code},
                field="code",
            )
        _check_office(booking, office)
        existing = Ticket.objects.filter(booking=booking).first()
        if existing is not None:
            return existing  # scanned twice: the same number again
        _check_booking(booking, office, now)
        prefix = (
            prefix_for_service(booking.application.service)
            if booking.application_id
            else Prefix.INFORMATION
        )
        ticket = _issue(
            office, prefix, now=now, live=live, priority=priority, booking=booking, by=by
        )
        booking.checked_in_at = now
        booking.save(update_fields=["checked_in_at"])
    return ticket


def _check_office(booking: Booking, office: Office) -> None:
    if booking.office_id != office.pk:
        raise ServiceError(
            _("This booking is for %(office)s. Please check in there.")
            % {"office": booking.office.name},
            field="code",
        )


def _check_booking(booking: Booking, office: Office, now) -> None:
    from applications.templatetags.portal import long_date

    if booking.purpose == Purpose.CONSULTATION:
        raise ServiceError(
            _("Video consultations are held online: open the link in your booking."),
            field="code",
        )
    if booking.status != Booking.Status.ACTIVE:
        raise ServiceError(
            _("This booking is “%(status)s”; it cannot be used to check in.")
            % {"status": booking.get_status_display()},
            field="code",
        )
    today = local_today(office, now)
    if booking.slot.day != today:
        raise ServiceError(
            _("This booking is for %(day)s, not today.") % {"day": long_date(booking.slot.day)},
            field="code",
        )


def _draw_quota(office: Office, day: dt.date, *, priority: bool) -> None:
    """Take one same-day (or priority) walk-in place with a conditional update."""
    quota = quota_for(office)
    DayUsage.objects.bulk_create([DayUsage(office=office, day=day)], ignore_conflicts=True)
    usage = DayUsage.objects.filter(office=office, day=day)
    if priority:
        taken = usage.filter(priority__lt=quota.priority_quota).update(priority=F("priority") + 1)
    else:
        taken = usage.filter(same_day__lt=quota.same_day_quota).update(same_day=F("same_day") + 1)
    if not taken and priority:
        raise ServiceError(
            _(
                "Today's priority places are all taken. Please ask an officer at the "
                "information desk: they will help you."
            ),
            field="priority",
        )
    if not taken:
        raise ServiceError(
            _(
                "Today's walk-in places are all taken. Book an appointment online for another "
                "day, or ask an officer."
            )
        )


def walk_in(
    *, office: Office, prefix: str = Prefix.WALK_IN, priority: str = "", by=None, now=None
) -> Ticket:
    """A ticket without an appointment: W (services) or K (information), within the day's quota."""
    live, now = now is None, now or timezone.now()
    if prefix not in (Prefix.WALK_IN, Prefix.INFORMATION):
        raise ServiceError(_("Choose what you came for."), field="prefix")
    if priority not in Ticket.Priority.values:
        raise ServiceError(_("Choose one of the priority reasons."), field="priority")
    _check_open(office, now, by)
    day = local_today(office, now)
    with transaction.atomic():
        if prefix == Prefix.WALK_IN or priority:
            _draw_quota(office, day, priority=bool(priority))
        return _issue(office, prefix, now=now, live=live, priority=priority, by=by)


def position(ticket: Ticket) -> int:
    """How many waiting tickets of the same prefix are called before this one."""
    if ticket.status != Ticket.Status.WAITING:
        return 0
    earlier = Q(issued_at__lt=ticket.issued_at) | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk)
    ahead = Ticket.objects.filter(
        office_id=ticket.office_id,
        day=ticket.day,
        prefix=ticket.prefix,
        status=Ticket.Status.WAITING,
    )
    if ticket.priority:
        ahead = ahead.exclude(priority="").filter(earlier)
    else:
        ahead = ahead.filter(~Q(priority="") | earlier)
    return ahead.count()
