"""Citizen pages: book an interview or a video consultation, change it, the waiting list."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from applications.access import application_for_citizen
from imigrasi import ratelimit
from imigrasi.errors import ServiceError, add_to_form
from offices.models import Office
from queueing import bookings, slips, slots
from queueing.forms import ConsultationForm, OfficeForm, SlotForm, WaitlistForm
from queueing.models import Booking, Purpose, WaitlistEntry


def _chosen_day(request, days: list[dict]) -> dt.date | None:
    raw = request.POST.get("day") or request.GET.get("hari") or ""
    try:
        wanted = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return wanted if any(d["day"] == wanted for d in days) else None


def _picker(request, office: Office, purpose: str) -> dict:
    """The days of the window with remaining places and, for the chosen day, its times."""
    now = timezone.now()
    days = slots.days_open(office, purpose, now=now)
    day = _chosen_day(request, days)
    remaining = next((d["remaining"] for d in days if d["day"] == day), 0)
    return {
        "office": office,
        "purpose": purpose,
        "days": days,
        "day": day,
        "day_full": day is not None and remaining == 0,
        "times": slots.slots_on(office, purpose, day, now=now) if day else [],
        "window_days": len(days),
    }


def _own_booking(request, code: str) -> Booking:
    booking = (
        Booking.objects.select_related("slot", "office", "application", "application__service")
        .filter(code=bookings.normalise_code(code), citizen=request.user)
        .first()
    )
    if booking is None:
        raise Http404
    return booking


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("booking", per="user")
def book_interview(request, reference: str):
    application = application_for_citizen(request.user, reference)
    active = application.bookings.filter(status=Booking.Status.ACTIVE).first()
    if active is not None:
        return redirect(active)
    form = SlotForm(request.POST or None)
    refusal = None
    try:
        bookings.check_can_book(application)
    except ServiceError as error:
        refusal = error.message
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            booking = bookings.booking_interview(
                citizen=request.user, application=application, slot_id=form.cleaned_data["slot"]
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your interview is booked. Download the slip below."))
            return redirect(booking)
    context = {
        "application": application,
        "form": form,
        "refusal": refusal,
        "waiting": application.waitlist_entries.filter(
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
        ).first(),
        **_picker(request, application.office, Purpose.INTERVIEW),
    }
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "queueing/book.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("booking", per="user")
def book_consultation(request):
    office_form = OfficeForm(request.GET or None)
    office = office_form.cleaned_data["office"] if office_form.is_valid() else None
    form = ConsultationForm(request.POST or None)
    if request.method == "POST" and office is not None and form.is_valid():
        try:
            booking = bookings.booking_consultation(
                citizen=request.user,
                office=office,
                slot_id=form.cleaned_data["slot"],
                topic=form.cleaned_data["topic"],
                question=form.cleaned_data["question"],
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your video consultation is booked."))
            return redirect(booking)
    context = {
        "office_form": office_form,
        "form": form,
        "offices": Office.objects.active(),
        **(_picker(request, office, Purpose.CONSULTATION) if office else {"office": None}),
    }
    status = 400 if request.method == "POST" and (form.errors or office is None) else 200
    return render(request, "queueing/consultation.html", context, status=status)


@login_required
def booking_detail(request, code: str):
    booking = _own_booking(request, code)
    ticket = getattr(booking, "ticket", None) if booking.checked_in_at else None
    context = {
        "booking": booking,
        "ticket": ticket,
        "can_reschedule": bookings.can_reschedule(booking),
        "can_cancel": booking.is_active
        and booking.checked_in_at is None
        and booking.slot.starts_at > timezone.now(),
        "reschedules_left": max(0, _limit() - booking.reschedules),
        "reschedule_until": bookings.reschedule_deadline(booking),
    }
    response = render(request, "queueing/booking.html", context)
    response["Cache-Control"] = "no-store, private"
    return response


def _limit() -> int:
    from django.conf import settings

    return settings.BOOKING_RESCHEDULE_LIMIT


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("booking", per="user")
def booking_reschedule(request, code: str):
    booking = _own_booking(request, code)
    if not booking.is_active:
        return redirect(booking)
    form = SlotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bookings.booking_reschedule(
                booking=booking, citizen=request.user, slot_id=form.cleaned_data["slot"]
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your appointment has been moved."))
            return redirect(booking)
    context = {
        "booking": booking,
        "form": form,
        "can_reschedule": bookings.can_reschedule(booking),
        "reschedules_left": max(0, _limit() - booking.reschedules),
        **_picker(request, booking.office, booking.purpose),
    }
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "queueing/reschedule.html", context, status=status)


@login_required
@require_POST
def booking_cancel(request, code: str):
    booking = _own_booking(request, code)
    try:
        bookings.booking_cancel(booking=booking, citizen=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(booking)
    messages.success(request, _("The appointment is cancelled and the place given back."))
    if booking.application_id:
        return redirect(booking.application)
    return redirect("queueing:appointments")


@login_required
def slip(request, code: str):
    booking = _own_booking(request, code)
    if booking.purpose != Purpose.INTERVIEW:
        raise Http404
    response = HttpResponse(slips.slip_pdf(booking), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="janji-temu-{booking.code}.pdf"'
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
def appointments(request):
    """The citizen's bookings and waiting-list entries."""
    mine = (
        Booking.objects.filter(citizen=request.user)
        .select_related("slot", "office", "application", "application__service")
        .order_by("-slot__starts_at")
    )
    entries = (
        WaitlistEntry.objects.filter(citizen=request.user)
        .select_related("office", "application", "offered_slot")
        .order_by("-created_at")[:20]
    )
    now = timezone.now()
    return render(
        request,
        "queueing/appointments.html",
        {
            "upcoming": [b for b in mine if b.is_active],
            "past": [b for b in mine if not b.is_active][:20],
            "entries": entries,
            "now": now,
        },
    )


@login_required
@require_POST
def waitlist_join(request):
    form = WaitlistForm(request.POST)
    reference = request.POST.get("reference", "")
    application = application_for_citizen(request.user, reference) if reference else None
    office_form = OfficeForm(request.POST)
    if application is not None:
        office, purpose = application.office, Purpose.INTERVIEW
        back = redirect("queueing:book", reference=application.reference)
    elif office_form.is_valid():
        office, purpose = office_form.cleaned_data["office"], Purpose.CONSULTATION
        back = redirect(f"{_consultation_url()}?office={office.code}")
    else:
        messages.error(request, _("Choose an office."))
        return redirect("queueing:consultation")
    if not form.is_valid():
        messages.error(request, _("Choose a day."))
        return back
    try:
        bookings.waitlist_join(
            citizen=request.user,
            office=office,
            purpose=purpose,
            day=form.cleaned_data["day"],
            application=application,
            topic=form.cleaned_data.get("topic") or "",
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return back
    messages.success(
        request,
        _(
            "You are on the waiting list. If a place frees up, we offer it to you by email and "
            "SMS; you then have a limited time to take it."
        ),
    )
    return redirect("queueing:waitlist")


def _consultation_url() -> str:
    from django.urls import reverse

    return reverse("queueing:consultation")


@login_required
def waitlist(request):
    entries = (
        WaitlistEntry.objects.filter(citizen=request.user)
        .select_related("office", "application", "offered_slot", "offered_slot__office")
        .order_by("-created_at")[:30]
    )
    response = render(
        request, "queueing/waitlist.html", {"entries": entries, "now": timezone.now()}
    )
    response["Cache-Control"] = "no-store, private"
    return response


def _own_entry(request, pk: int) -> WaitlistEntry:
    entry = WaitlistEntry.objects.filter(pk=pk, citizen=request.user).first()
    if entry is None:
        raise Http404
    return entry


@login_required
@require_POST
def waitlist_accept(request, pk: int):
    entry = _own_entry(request, pk)
    try:
        booking = bookings.waitlist_accept(entry=entry, citizen=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("queueing:waitlist")
    messages.success(request, _("The place is yours. Your appointment is booked."))
    return redirect(booking)


@login_required
@require_POST
def waitlist_leave(request, pk: int):
    entry = _own_entry(request, pk)
    try:
        bookings.waitlist_leave(entry=entry, citizen=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("You have left the waiting list."))
    return redirect("queueing:waitlist")
