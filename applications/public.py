"""Pages for anyone: the status check by reference and birth date, receipt verification."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.identity import mask_name
from applications import explain, forms, verification
from applications.models import Application
from imigrasi import ratelimit

REFERENCE_WINDOW_SECONDS = 3600


@require_http_methods(["GET", "POST"])
def status_check(request):
    """Same answer for a wrong reference and a wrong date: nothing to enumerate."""
    form = forms.StatusCheckForm(request.POST or None)
    result = None
    not_found = False
    if request.method == "POST":
        allowed = ratelimit.hit(
            "status-check",
            ratelimit.client_ip(request),
            limit=settings.STATUS_CHECK_LIMIT,
            window=settings.STATUS_CHECK_WINDOW_SECONDS,
        )
        if not allowed:
            return ratelimit.too_many(request, window=settings.STATUS_CHECK_WINDOW_SECONDS)
        if form.is_valid():
            reference = form.cleaned_data["reference"]
            misses = ratelimit.count(
                "status-check-reference", reference, window=REFERENCE_WINDOW_SECONDS
            )
            if misses >= settings.STATUS_CHECK_REFERENCE_MISSES:
                # Guessing one reference's birth date from many addresses stops here.
                return ratelimit.too_many(request, window=REFERENCE_WINDOW_SECONDS)
            result = (
                Application.objects.select_related("service", "office")
                .exclude(status="draft")
                .filter(
                    reference=form.cleaned_data["reference"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                )
                .first()
            )
            not_found = result is None
            if not_found:
                ratelimit.hit(
                    "status-check-reference",
                    reference,
                    limit=settings.STATUS_CHECK_REFERENCE_MISSES,
                    window=REFERENCE_WINDOW_SECONDS,
                )
    context = {"form": form, "result": result, "not_found": not_found}
    if result is not None:
        context.update(
            meaning=explain.MEANING[result.status],
            next_step=explain.NEXT_STEP[result.status],
            badge=explain.BADGE[result.status],
            masked_name=mask_name(result.full_name),
        )
    response = render(request, "applications/status_check.html", context)
    response["Cache-Control"] = "no-store"
    return response


def verify(request, token: str):
    """The page a PDF's QR code opens: genuine or not, and what it certifies."""
    found = verification.read_token(token)
    kind, reference = found if found else ("", "")
    context = verification.lookup(kind, reference) if found else None
    application = context["application"] if context else None
    context = {
        **(context or {}),
        "valid": application is not None,
        "application": application,
        "kind": kind if application else "",
        "masked_name": mask_name(application.full_name) if application else "",
    }
    return render(request, "applications/verify.html", context, status=200 if application else 404)
