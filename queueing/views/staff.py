"""Officer pages: counters (call the queue), issuing tickets, kiosk devices, consultation agenda.

Officers see only the counters and bookings of the offices they work at.
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from imigrasi.errors import ServiceError
from offices.models import Counter, Office
from queueing import counters as counter_rules
from queueing import tickets
from queueing.forms import CheckInForm, ShiftForm, WalkInForm
from queueing.models import Booking, Prefix, Purpose, Quota, Ticket
from queueing.slots import local_today
from queueing.views.public import KIOSK_COOKIE, KIOSK_MAX_AGE, kiosk_cookie_value


def officer_required(view):
    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm("queueing.operate_counter")):
            raise PermissionDenied
        # SecondFactorMiddleware sends unverified staff to the code page first;
        # checked again here so that a page never depends on the middleware alone.
        if not getattr(user, "is_verified", lambda: False)():
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _my_counter(request, pk: int) -> Counter:
    counter = (
        Counter.objects.select_related("office")
        .filter(pk=pk, is_active=True, office__in=Office.objects.for_staff(request.user))
        .first()
    )
    if counter is None:
        raise Http404
    return counter


@officer_required
def counter_list(request):
    offices = list(Office.objects.for_staff(request.user).active().prefetch_related("counters"))
    rows = []
    for office in offices:
        for counter in office.counters.all():
            if counter.is_active:
                rows.append(
                    {
                        "counter": counter,
                        "shift": counter_rules.open_shift(counter),
                        "current": counter_rules.current_ticket(counter),
                    }
                )
    return render(request, "queueing/staff/counters.html", {"offices": offices, "rows": rows})


@officer_required
def counter_page(request, pk: int):
    counter = _my_counter(request, pk)
    return _counter_render(request, counter)


def _counter_render(request, counter, *, shift_form=None, check_in=None, walk_in=None, status=200):
    office = counter.office
    day = local_today(office)
    shift = counter_rules.open_shift(counter)
    waiting = {p: 0 for p in Prefix.values}
    for prefix in Ticket.objects.filter(
        office=office, day=day, status=Ticket.Status.WAITING
    ).values_list("prefix", flat=True):
        waiting[prefix] += 1
    served_today = Ticket.objects.filter(
        counter=counter, day=day, status__in=[Ticket.Status.DONE, Ticket.Status.NO_SHOW]
    ).order_by("-finished_at")[:10]
    context = {
        "counter": counter,
        "office": office,
        "shift": shift,
        "mine": shift is not None and shift.officer_id == request.user.pk,
        "current": counter_rules.current_ticket(counter),
        "waiting": [(Prefix(p), n) for p, n in waiting.items()],
        "served_today": served_today,
        "shift_form": shift_form
        or ShiftForm(initial={"prefixes": list(shift.prefixes) if shift else _default(counter)}),
        "check_in_form": check_in or CheckInForm(),
        "walk_in_form": walk_in or WalkInForm(),
    }
    response = render(request, "queueing/staff/counter.html", context, status=status)
    response["Cache-Control"] = "no-store, private"
    return response


def _default(counter: Counter) -> list[str]:
    return {
        Counter.Purpose.PASSPORT: [Prefix.PASSPORT, Prefix.WALK_IN],
        Counter.Purpose.PERMIT: [Prefix.PERMIT, Prefix.WALK_IN],
        Counter.Purpose.INFORMATION: [Prefix.INFORMATION],
    }.get(counter.purpose, list(Prefix.values))


ACTIONS = {
    "recall": (counter_rules.recall, gettext_lazy("%(ticket)s called again.")),
    "skip": (counter_rules.skip, gettext_lazy("%(ticket)s marked as not present.")),
    "start": (counter_rules.start, gettext_lazy("Serving %(ticket)s.")),
    "finish": (counter_rules.finish, gettext_lazy("%(ticket)s finished.")),
}


def _ticket_id(request) -> int:
    try:
        return int(request.POST.get("ticket", ""))
    except ValueError:
        raise ServiceError(_("That ticket does not exist at this office.")) from None


@officer_required
@require_POST
def counter_action(request, pk: int, action: str):
    counter = _my_counter(request, pk)
    officer = request.user
    try:
        if action == "open":
            form = ShiftForm(request.POST)
            if not form.is_valid():
                return _counter_render(request, counter, shift_form=form, status=400)
            counter_rules.shift_open(
                counter=counter, officer=officer, prefixes=form.cleaned_data["prefixes"]
            )
            messages.success(request, _("The counter is open."))
        elif action == "close":
            counter_rules.shift_close(counter=counter, officer=officer)
            messages.success(request, _("The counter is closed."))
        elif action == "call":
            ticket = counter_rules.call_next(counter=counter, officer=officer)
            messages.success(request, _("Calling %(ticket)s.") % {"ticket": ticket.label})
        elif action in ACTIONS:
            rule, said = ACTIONS[action]
            ticket = rule(counter=counter, officer=officer, ticket_id=_ticket_id(request))
            messages.success(request, str(said) % {"ticket": ticket.label})
        elif action == "check-in":
            form = CheckInForm(request.POST)
            if not form.is_valid():
                return _counter_render(request, counter, check_in=form, status=400)
            ticket = tickets.check_in(
                office=counter.office,
                scanned=form.cleaned_data["code"],
                priority=form.cleaned_data["priority"],
                by=officer,
            )
            messages.success(request, _("Ticket %(ticket)s issued.") % {"ticket": ticket.label})
        elif action == "walk-in":
            form = WalkInForm(request.POST)
            if not form.is_valid():
                return _counter_render(request, counter, walk_in=form, status=400)
            ticket = tickets.walk_in(
                office=counter.office,
                prefix=form.cleaned_data["prefix"],
                priority=form.cleaned_data["priority"],
                by=officer,
            )
            messages.success(request, _("Ticket %(ticket)s issued.") % {"ticket": ticket.label})
        else:
            raise Http404
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("queueing:counter", pk=counter.pk)


@officer_required
@require_POST
def kiosk_enable(request, office_code: str):
    """Make this browser the office's kiosk (a signed cookie; no officer session needed after)."""
    office = Office.objects.for_staff(request.user).active().filter(code=office_code).first()
    if office is None:
        raise Http404
    if request.POST.get("revoke"):
        Quota.objects.filter(office=office).update(kiosk_generation=F("kiosk_generation") + 1)
        messages.success(request, _("Every kiosk of this office is retired; enable them again."))
        return redirect("queueing:counters")
    if request.POST.get("disable"):
        response = redirect("queueing:counters")
        response.delete_cookie(KIOSK_COOKIE)
        messages.success(request, _("This browser is no longer a kiosk."))
        return response
    value = kiosk_cookie_value(office)
    # The public uses the kiosk: the officer's session must not stay on it.
    logout(request)
    response = redirect("queueing:kiosk", office_code=office.code)
    response.set_cookie(
        KIOSK_COOKIE,
        value,
        max_age=KIOSK_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@officer_required
def agenda(request):
    """Video consultations of the officer's offices, today and the next week."""
    offices = Office.objects.for_staff(request.user)
    now = timezone.now()
    start = now - dt.timedelta(hours=1)
    bookings = (
        Booking.objects.filter(
            office__in=offices,
            purpose=Purpose.CONSULTATION,
            status=Booking.Status.ACTIVE,
            slot__starts_at__gte=start,
            slot__starts_at__lt=now + dt.timedelta(days=8),
        )
        .select_related("slot", "office", "citizen")
        .order_by("slot__starts_at")
    )
    response = render(request, "queueing/staff/agenda.html", {"bookings": bookings, "now": now})
    response["Cache-Control"] = "no-store, private"
    return response
