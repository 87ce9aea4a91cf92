"""The person's rights over their data (UU PDP No. 27/2022): a copy of it, and deletion.

Both ask for the current password again (a session left open on a shared
computer must not be enough) and are limited per account.
"""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

import audit
from accounts import deletion, forms, personal_data
from accounts.deletion import DeletionRefused
from imigrasi import ratelimit
from imigrasi.errors import ServiceError, add_to_form
from imigrasi.pdf import render_pdf

FORMATS = ("json", "pdf")
# Set in the (new, anonymous) session after logging out, for the done page.
CLOSED_KEY = "account_closed_until"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The person's whole file: no cache (browser, proxy) may keep a copy.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("personal-data", per="user")
def my_data(request):
    """Explain what the download holds; on a confirmed password, send it as JSON or PDF."""
    form = forms.PasswordConfirmForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    if request.method == "POST":
        kind = request.POST.get("format")
        if kind not in FORMATS:
            form.add_error(None, gettext("Choose JSON or PDF."))
        elif form.is_valid():
            return _export(request, kind)
    context = {"form": form, "sections": personal_data.sections()}
    return render(request, "accounts/my_data.html", context)


def _export(request, kind: str) -> HttpResponse:
    data = personal_data.personal_data_collect(request.user)
    audit.record(
        "personal_data_exported", obj=request.user, by=request.user, detail={"format": kind}
    )
    stamp = timezone.localdate().isoformat()
    if kind == "json":
        body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        response = HttpResponse(body.encode(), content_type="application/json")
        return _attachment(response, f"data-saya-imigrasi-{stamp}.json")
    pdf = render_pdf("pdf/my_data.html", {"data": data}, language=request.LANGUAGE_CODE)
    return _attachment(
        HttpResponse(pdf, content_type="application/pdf"), f"data-saya-imigrasi-{stamp}.pdf"
    )


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("account-delete", per="user")
def delete_account(request):
    """Explain what is deleted and kept; on a confirmed password, close the account."""
    user = request.user
    form = forms.DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    blockers = deletion.deletion_blockers(user)
    if request.method == "POST" and form.is_valid():
        try:
            closed = deletion.account_deletion_request(user=user)
        except DeletionRefused as refused:
            blockers = refused.reasons
        except ServiceError as error:
            add_to_form(form, error)
        else:
            until = deletion.anonymise_on(closed)
            logout(request)
            request.session[CLOSED_KEY] = until.isoformat()
            return redirect("accounts:delete_account_done")
    context = {"form": form, "blockers": blockers, "days": deletion.grace_days()}
    return render(request, "accounts/delete_account.html", context)


def delete_account_done(request):
    until = request.session.get(CLOSED_KEY)
    if until is None:
        return redirect("home")
    context = {"until": dt.date.fromisoformat(until), "days": deletion.grace_days()}
    return render(request, "accounts/delete_account_done.html", context)
