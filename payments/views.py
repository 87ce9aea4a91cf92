"""Citizen pay pages, payment history, receipts, the webhook, and the sandbox bank."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from applications.access import application_for_citizen
from applications.views import private_file_response
from applications.workflow import Status
from imigrasi.errors import ServiceError
from payments import instructions, sandbox, services, webhooks
from payments.gateways import get_gateway
from payments.models import ONLINE_METHODS, Bill, Method, SandboxTransaction

MAX_WEBHOOK_BYTES = 64 * 1024


def _bills(application):
    return list(
        application.bills.prefetch_related("payments__refund").select_related("receipt").all()
    )


@login_required
def pay(request, reference: str):
    """The fee, the billing code, its expiry and how to pay with each method."""
    application = application_for_citizen(request.user, reference)
    bills = _bills(application)
    open_bill = next((b for b in bills if b.status == Bill.Status.UNPAID), None)
    gateway = get_gateway()
    method = request.GET.get("metode", "")
    if method not in gateway.methods:
        method = ""
    charge = None
    if open_bill and open_bill.is_open and method:
        charge = gateway.start_charge(open_bill, method)
    context = {
        "application": application,
        "bills": bills,
        "bill": open_bill,
        "paid_bill": next((b for b in bills if b.status == Bill.Status.PAID), None),
        "payable": bool(
            open_bill and open_bill.is_open and services.payable(application, open_bill)
        ),
        "methods": [(m, Method(m).label) for m in gateway.methods],
        "method": method,
        "charge": charge,
        "steps": instructions.steps(method, charge, open_bill) if charge or method else [],
        "qr": instructions.qr(charge),
        "sandbox": settings.PAYMENT_GATEWAY == "sandbox",
        "awaiting_confirmation": _awaiting_confirmation(open_bill),
        "last_failure": _last_failure(open_bill),
        "reissue_until": services.reissue_deadline(application),
        "waiting_for_bill": application.status == Status.SUBMITTED,
    }
    response = render(request, "payments/pay.html", context)
    response["Cache-Control"] = "no-store, private"
    return response


def _awaiting_confirmation(bill) -> bool:
    """The sandbox bank took the money and its notification is on the way."""
    if bill is None or settings.PAYMENT_GATEWAY != "sandbox":
        return False
    return SandboxTransaction.objects.filter(billing_code=bill.code, status="paid").exists()


def _last_failure(bill):
    if bill is None or settings.PAYMENT_GATEWAY != "sandbox":
        return None
    last = SandboxTransaction.objects.filter(billing_code=bill.code).first()
    return last if last and last.status == "failed" else None


@login_required
@require_POST
def reissue(request, reference: str):
    application = application_for_citizen(request.user, reference)
    try:
        services.bill_reissue(application=application, by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("A new billing code is ready. Pay before it expires."))
    return redirect("payments:pay", reference=application.reference)


@login_required
def history(request):
    """Every bill of the citizen's applications, newest first."""
    bills = (
        Bill.objects.filter(application__applicant=request.user)
        .select_related("application", "application__service", "application__office", "receipt")
        .prefetch_related("payments__refund")
        .order_by("-issued_at", "-pk")
    )
    return render(request, "payments/history.html", {"bills": bills})


@login_required
def receipt_download(request, code: str):
    bill = (
        Bill.objects.select_related("receipt", "application")
        .filter(code=code, application__applicant=request.user)
        .first()
    )
    receipt = getattr(bill, "receipt", None) if bill else None
    if receipt is None:
        raise Http404
    return private_file_response(
        receipt.file, filename=f"bukti-pembayaran-{bill.code}.pdf", content_type="application/pdf"
    )


@csrf_exempt  # gateways cannot send a CSRF token; the signature authenticates them
@require_POST
def webhook(request, provider: str):
    if provider != settings.PAYMENT_GATEWAY:
        raise Http404
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_WEBHOOK_BYTES:
        return JsonResponse({"result": "too large"}, status=413)
    body = request.read(MAX_WEBHOOK_BYTES + 1)
    if len(body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"result": "too large"}, status=413)
    status, word = webhooks.receive(
        provider=provider,
        body=body,
        headers=request.headers,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    return JsonResponse({"result": word}, status=status)


# --- The sandbox bank ---------------------------------------------------------------------


def _sandbox_bill(request, code: str, method: str) -> Bill:
    if settings.PAYMENT_GATEWAY != "sandbox" or method not in ONLINE_METHODS:
        raise Http404
    bill = (
        Bill.objects.select_related("application", "application__office")
        .filter(code=code, application__applicant=request.user)
        .first()
    )
    if bill is None:
        raise Http404
    return bill


@login_required
@require_http_methods(["GET", "POST"])
def sandbox_page(request, code: str, method: str):
    """A pretend bank, VA, QRIS or card page: "pay" sends a signed webhook over HTTP."""
    bill = _sandbox_bill(request, code, method)
    charge = get_gateway().start_charge(bill, method)
    if request.method == "POST":
        outcome = request.POST.get("outcome")
        if outcome not in {"pay", "fail"}:
            messages.error(request, _("Choose pay or fail."))
        else:
            try:
                sandbox.sandbox_pay(bill=bill, method=method, succeed=outcome == "pay")
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                if outcome == "pay":
                    messages.success(request, _("The sandbox bank took the payment."))
                else:
                    messages.warning(request, _("The sandbox bank refused the payment."))
                return redirect("payments:pay", reference=bill.application.reference)
    return render(
        request,
        "payments/sandbox.html",
        {
            "bill": bill,
            "application": bill.application,
            "method": method,
            "method_label": Method(method).label,
            "charge": charge,
            "qr": instructions.qr(charge),
        },
    )
