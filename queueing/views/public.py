"""Pages in the office: the display board (public), the kiosk (an enabled device), my ticket."""

from __future__ import annotations

import contextlib

from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from imigrasi.errors import ServiceError, add_to_form
from imigrasi.pdf import qr_data_uri
from offices.models import Office
from queueing import board, counters, tickets
from queueing.forms import CheckInForm, WalkInForm
from queueing.models import Ticket
from queueing.slots import local_today, quota_for

KIOSK_COOKIE = "imigrasi_kiosk"
KIOSK_SALT = "queueing.kiosk"
KIOSK_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days


def office_by_code(code: str) -> Office:
    """The active office; cached briefly because the board asks every few seconds."""
    if len(code) != 3:
        raise Http404
    key = f"queueing:office:{code}"
    try:
        office = cache.get(key)
    except Exception:
        office = None
    if office is None:
        office = Office.objects.active().filter(code=code).first()
        if office is None:
            raise Http404
        with contextlib.suppress(Exception):  # the cache is down: served from the database
            cache.set(key, office, 300)
    return office


# --- Display board ------------------------------------------------------------------------


@require_GET
def board_page(request, office_code: str):
    office = office_by_code(office_code)
    context = {"office": office, **board.state(office, local_today(office))}
    return render(request, "queueing/board.html", context)


@require_GET
def board_content(request, office_code: str):
    """The board's changing part. Unchanged since the last poll: 304, no query, no rendering."""
    office = office_by_code(office_code)
    day = local_today(office)
    etag = f'"b{office.pk}-{day:%Y%m%d}-{board.version(office.pk)}-{get_language()}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        key = f"queueing:board-html:{etag}"
        try:
            html = cache.get(key)
        except Exception:
            html = None
        if html is None:
            html = render_to_string(
                "queueing/_board.html", {"office": office, **board.state(office, day)}
            )
            with contextlib.suppress(Exception):  # the cache is down: rendered each time
                cache.set(key, html, 120)
        response = HttpResponse(html)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


# --- Kiosk ---------------------------------------------------------------------------------


def kiosk_cookie_value(office: Office) -> str:
    return signing.dumps([office.code, quota_for(office).kiosk_generation], salt=KIOSK_SALT)


def is_kiosk_device(request, office: Office) -> bool:
    """This browser was enabled as the office's kiosk, and kiosks were not retired since."""
    raw = request.COOKIES.get(KIOSK_COOKIE, "")
    if not raw:
        return False
    try:
        value = signing.loads(raw, salt=KIOSK_SALT, max_age=KIOSK_MAX_AGE)
    except signing.BadSignature:
        return False
    return value == [office.code, quota_for(office).kiosk_generation]


def kiosk_allowed(request, office: Office) -> bool:
    """A device an officer enabled for this office, or an officer of the office."""
    if is_kiosk_device(request, office):
        return True
    user = request.user
    return bool(
        user.is_authenticated
        and user.is_staff
        and getattr(user, "is_verified", lambda: False)()
        and Office.objects.for_staff(user).filter(pk=office.pk).exists()
    )


def _kiosk_render(request, office, *, check_in=None, walk_in=None, status=200):
    now = timezone.now()
    context = {
        "office": office,
        "open": tickets.kiosk_is_open(office, now),
        "check_in_form": check_in or CheckInForm(),
        "walk_in_form": walk_in or WalkInForm(),
    }
    return render(request, "queueing/kiosk.html", context, status=status)


def kiosk(request, office_code: str):
    office = office_by_code(office_code)
    if not kiosk_allowed(request, office):
        return render(request, "queueing/kiosk_locked.html", {"office": office}, status=403)
    return _kiosk_render(request, office)


def _kiosk_issue(request, office_code: str, form_class, issue, form_name: str):
    """The kiosk's two forms: a valid one issues a ticket, anything else is shown back."""
    office = office_by_code(office_code)
    if not kiosk_allowed(request, office):
        return render(request, "queueing/kiosk_locked.html", {"office": office}, status=403)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            ticket = issue(office=office, **form.cleaned_data)
        except ServiceError as error:
            add_to_form(form, error)
        else:
            return redirect(f"{ticket.get_absolute_url()}?cetak=1")
    return _kiosk_render(request, office, **{form_name: form}, status=400)


def _check_in(*, office, code, priority):
    return tickets.check_in(office=office, scanned=code, priority=priority)


@require_POST
def kiosk_check_in(request, office_code: str):
    return _kiosk_issue(request, office_code, CheckInForm, _check_in, "check_in")


@require_POST
def kiosk_walk_in(request, office_code: str):
    return _kiosk_issue(request, office_code, WalkInForm, tickets.walk_in, "walk_in")


# --- My ticket -----------------------------------------------------------------------------


def ticket_context(ticket: Ticket) -> dict:
    ahead = tickets.position(ticket)
    waiting = ticket.status == Ticket.Status.WAITING
    today = local_today(ticket.office)
    return {
        "ticket": ticket,
        "office": ticket.office,
        "ahead": ahead,
        "wait_minutes": counters.estimated_wait_minutes(ticket, ahead) if waiting else 0,
        "is_today": ticket.day == today,
        "now": timezone.now(),
    }


@require_GET
def ticket_page(request, token: str):
    ticket = (
        Ticket.objects.select_related("office", "counter", "booking")
        .filter(token=token[:32])
        .first()
    )
    if ticket is None:
        raise Http404
    context = ticket_context(ticket)
    if request.headers.get("HX-Request"):
        template = "queueing/_ticket.html"
    else:
        template = "queueing/ticket.html"
        kiosk = is_kiosk_device(request, ticket.office)
        context["layout"] = "queueing/kiosk_base.html" if kiosk else "base.html"
        context["at_kiosk"] = kiosk
        # Walk-ins follow their place on their own phone by scanning this.
        context["qr"] = qr_data_uri(request.build_absolute_uri(ticket.get_absolute_url()))
    response = render(request, template, context)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
