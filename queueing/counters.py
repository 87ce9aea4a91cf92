"""Running a counter: open it for some prefixes, call next, recall, skip, serve, finish.

Every action re-reads the ticket under a row lock and checks that it is
still this counter's and in the expected state, so a stale page (the
ticket was called elsewhere, or already finished) gets a clear message.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from applications.workflow import Status, transition
from imigrasi.errors import ServiceError
from offices.models import Counter
from queueing import board
from queueing.models import Booking, CounterShift, Prefix, Purpose, Ticket
from queueing.slots import local_today

ACTIVE = (Ticket.Status.CALLED, Ticket.Status.SERVING)
# Priority tickets (any reason) first, then the oldest.
CALL_ORDER = (
    Case(When(priority="", then=Value(1)), default=Value(0), output_field=IntegerField()),
    "issued_at",
    "pk",
)


def clean_prefixes(prefixes) -> str:
    chosen = "".join(p for p in Prefix.values if p in set(prefixes or ()))
    if not chosen:
        raise ServiceError(_("Choose at least one kind of ticket to call."), field="prefixes")
    return chosen


def open_shift(counter: Counter) -> CounterShift | None:
    return (
        CounterShift.objects.filter(counter=counter, closed_at__isnull=True)
        .select_related("officer")
        .first()
    )


def shift_open(*, counter: Counter, officer, prefixes) -> CounterShift:
    """Open (or take over, when it is this officer's) the counter for `prefixes`."""
    chosen = clean_prefixes(prefixes)
    with transaction.atomic():
        Counter.objects.select_for_update().filter(pk=counter.pk).first()
        shift = open_shift(counter)
        if shift is not None and shift.officer_id != officer.pk:
            raise ServiceError(
                _("%(counter)s is open under %(name)s. They must close it first.")
                % {"counter": counter.name, "name": shift.officer.full_name}
            )
        if shift is None:
            shift = CounterShift.objects.create(counter=counter, officer=officer, prefixes=chosen)
        else:
            shift.prefixes = chosen
            shift.save(update_fields=["prefixes"])
        _record("shift_open", counter, officer, shift, prefixes=chosen)
    return shift


def shift_close(*, counter: Counter, officer) -> None:
    with transaction.atomic():
        shift = _my_shift(counter, officer)
        if current_ticket(counter) is not None:
            raise ServiceError(_("Finish or skip the current ticket before closing the counter."))
        shift.closed_at = timezone.now()
        shift.save(update_fields=["closed_at"])
        _record("shift_close", counter, officer, shift)


def _record(step: str, counter: Counter, officer, obj, **detail) -> None:
    """The audit entry of a counter action, in the action's transaction."""
    label = obj.label if isinstance(obj, Ticket) else counter.name
    audit.record(
        "counter_action",
        obj=obj,
        office=counter.office_id,
        by=officer,
        label=label,
        detail={"step": step, "counter": counter.number, **detail},
    )


def _my_shift(counter: Counter, officer, *, lock: bool = True) -> CounterShift:
    shifts = CounterShift.objects.filter(counter=counter, closed_at__isnull=True)
    if lock:
        shifts = shifts.select_for_update()
    shift = shifts.first()
    if shift is None:
        raise ServiceError(_("Open the counter first."))
    if shift.officer_id != officer.pk:
        raise ServiceError(_("This counter is open under another officer."))
    return shift


def current_ticket(counter: Counter, now=None) -> Ticket | None:
    return (
        Ticket.objects.filter(
            counter=counter, day=local_today(counter.office, now), status__in=ACTIVE
        )
        .select_related("booking__application")
        .first()
    )


def call_next(*, counter: Counter, officer, now=None) -> Ticket:
    """Call the next ticket: priority first, then the oldest; never one another counter has."""
    now = now or timezone.now()
    office = counter.office
    day = local_today(office, now)
    with transaction.atomic():
        shift = _my_shift(counter, officer)  # locked: one call at a time per counter
        current = current_ticket(counter, now)
        if current is not None:
            raise ServiceError(_("Finish or skip %(ticket)s first.") % {"ticket": current.label})
        prefixes = list(shift.prefixes)
        for _attempt in range(5):
            candidate = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(office=office, day=day, status=Ticket.Status.WAITING, prefix__in=prefixes)
                .order_by(*CALL_ORDER)
                .values_list("pk", flat=True)
                .first()
            )
            if candidate is None:
                raise ServiceError(
                    _("No one is waiting for %(prefixes)s.") % {"prefixes": ", ".join(prefixes)}
                )
            # The status condition makes a second caller of the same row update nothing.
            if Ticket.objects.filter(pk=candidate, status=Ticket.Status.WAITING).update(
                status=Ticket.Status.CALLED,
                counter=counter,
                called_at=now,
                announced_at=now,
                served_by=officer,
            ):
                break
        else:
            raise ServiceError(_("Other counters were calling at the same moment. Try again."))
        ticket = Ticket.objects.select_related("booking").get(pk=candidate)
        _record("call", counter, officer, ticket)
        prefix = ticket.prefix
        # After commit, in its own transaction: positions are read from what is settled,
        # and the call's locks are not held while the messages are written.
        transaction.on_commit(lambda: _tell_the_next_ones(office, day, prefix), robust=True)
        board.bump_on_commit(office.pk)
    return ticket


def _ticket_here(counter: Counter, ticket_id, expected: tuple[str, ...]) -> Ticket:
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("counter", "booking__application")
        .filter(pk=ticket_id, office=counter.office)
        .first()
    )
    if ticket is None:
        raise ServiceError(_("That ticket does not exist at this office."))
    if ticket.counter_id != counter.pk:
        where = ticket.counter.name if ticket.counter_id else _("no counter yet")
        raise ServiceError(
            _("%(ticket)s is not at this counter (%(where)s).")
            % {"ticket": ticket.label, "where": where}
        )
    if ticket.status not in expected:
        raise ServiceError(
            _("%(ticket)s is already “%(status)s”.")
            % {"ticket": ticket.label, "status": ticket.get_status_display()}
        )
    return ticket


def recall(*, counter: Counter, officer, ticket_id, now=None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        _my_shift(counter, officer)
        ticket = _ticket_here(counter, ticket_id, (Ticket.Status.CALLED,))
        ticket.recalls += 1
        ticket.announced_at = now
        ticket.save(update_fields=["recalls", "announced_at"])
        _record("recall", counter, officer, ticket)
        board.bump_on_commit(counter.office_id)
    return ticket


def skip(*, counter: Counter, officer, ticket_id, now=None) -> Ticket:
    """Called and did not come: the ticket is closed as a no-show."""
    now = now or timezone.now()
    with transaction.atomic():
        _my_shift(counter, officer)
        ticket = _ticket_here(counter, ticket_id, (Ticket.Status.CALLED,))
        ticket.status = Ticket.Status.NO_SHOW
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at"])
        _record("skip", counter, officer, ticket)
        board.bump_on_commit(counter.office_id)
    return ticket


def start(*, counter: Counter, officer, ticket_id, now=None) -> Ticket:
    now = now or timezone.now()
    with transaction.atomic():
        _my_shift(counter, officer)
        ticket = _ticket_here(counter, ticket_id, (Ticket.Status.CALLED,))
        ticket.status = Ticket.Status.SERVING
        ticket.served_at = now
        ticket.save(update_fields=["status", "served_at"])
        _record("start", counter, officer, ticket)
        board.bump_on_commit(counter.office_id)
    return ticket


def finish(*, counter: Counter, officer, ticket_id, now=None) -> Ticket:
    """Service done; for a booked interview the application moves to interviewed."""
    now = now or timezone.now()
    with transaction.atomic():
        _my_shift(counter, officer)
        ticket = _ticket_here(counter, ticket_id, (Ticket.Status.SERVING,))
        booking = ticket.booking
        if booking is not None and booking.application_id:
            application = booking.application
            application.refresh_from_db(fields=["status"])
            if booking.purpose == Purpose.INTERVIEW and application.status == Status.SCHEDULED:
                transition(application, Status.INTERVIEWED, by=officer)
        ticket.status = Ticket.Status.DONE
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at"])
        if booking is not None and booking.status == Booking.Status.ACTIVE:
            booking.status = Booking.Status.ATTENDED
            booking.closed_at = now
            booking.save(update_fields=["status", "closed_at"])
        _record("finish", counter, officer, ticket)
        board.bump_on_commit(counter.office_id)
    return ticket


# --- Waiting times and the "three ahead" SMS -----------------------------------------------


def average_service_minutes(office_id: int, day: dt.date, prefix: str) -> float:
    """Mean service time of today's finished tickets of `prefix`, or the configured default."""
    done = Ticket.objects.filter(
        office_id=office_id,
        day=day,
        prefix=prefix,
        status=Ticket.Status.DONE,
        served_at__isnull=False,
    ).aggregate(mean=Avg(F("finished_at") - F("served_at")))["mean"]
    if not done:
        return float(settings.QUEUE_DEFAULT_SERVICE_MINUTES)
    return max(1.0, done.total_seconds() / 60)


def open_counters_for(office_id: int, prefix: str) -> int:
    return CounterShift.objects.filter(
        counter__office_id=office_id, closed_at__isnull=True, prefixes__contains=prefix
    ).count()


def estimated_wait_minutes(ticket: Ticket, ahead: int) -> int:
    per_person = average_service_minutes(ticket.office_id, ticket.day, ticket.prefix)
    counters = max(1, open_counters_for(ticket.office_id, ticket.prefix))
    return round((ahead + 1) * per_person / counters)


def _tell_the_next_ones(office, day: dt.date, prefix: str) -> None:
    """SMS a booked citizen once when three tickets remain ahead of theirs."""
    with transaction.atomic():
        _tell(office, day, prefix)


def _tell(office, day: dt.date, prefix: str) -> None:
    from notifications.services import notify

    upcoming = list(
        Ticket.objects.filter(office=office, day=day, prefix=prefix, status=Ticket.Status.WAITING)
        .order_by(*CALL_ORDER)
        .select_related("booking__citizen")[: settings.QUEUE_NEAR_AHEAD + 1]
    )
    now = timezone.now()
    wanted = [t.pk for t in upcoming if t.booking is not None and not t.near_notified_at]
    # Skip rows another counter holds (it is calling them right now): waiting for
    # them while it waits for ours would deadlock, and they need no SMS anyway.
    free = set(
        Ticket.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=wanted, near_notified_at__isnull=True, status=Ticket.Status.WAITING)
        .values_list("pk", flat=True)
    )
    for ahead, ticket in enumerate(upcoming):
        if ticket.pk not in free:
            continue
        Ticket.objects.filter(pk=ticket.pk).update(near_notified_at=now)
        notify(
            ticket.booking.citizen,
            "queue.near",
            {
                "ticket": ticket,
                "label": ticket.label,
                "ahead": ahead,
                "office": office,
                "link": settings.SITE_URL + ticket.get_absolute_url(),
            },
            related=ticket,
        )
