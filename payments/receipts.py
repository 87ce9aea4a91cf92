"""The payment receipt (bukti pembayaran): rendered once after payment, kept private, emailed."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from applications import pagecache, verification
from imigrasi.pdf import qr_data_uri, render_pdf, store_once
from payments.models import Bill, PaymentReceipt

logger = logging.getLogger(__name__)
KIND = "payment"


def receipt_context(bill: Bill) -> dict:
    url = verification.verification_url(KIND, bill.code)
    application = bill.application
    return {
        "bill": bill,
        "payment": bill.payments.filter(state="settled").first(),
        "application": application,
        "service": application.service,
        "office": application.office,
        "verification_url": url,
        "qr": qr_data_uri(url),
    }


def payment_receipt_pdf(bill: Bill) -> bytes:
    language = bill.application.applicant.preferred_language or "id"
    return render_pdf("pdf/payment_receipt.html", receipt_context(bill), language=language)


def payment_receipt_render(bill_id: int) -> PaymentReceipt | None:
    """Render and store the receipt once; its email is written in the same transaction."""
    from notifications.services import notify

    bill = (
        Bill.objects.select_related(
            "application", "application__service", "application__office", "application__applicant"
        )
        .filter(pk=bill_id, status__in=[Bill.Status.PAID, Bill.Status.REFUNDED])
        .first()
    )
    if bill is None:
        return None
    application = bill.application

    def send(receipt, stored: str) -> None:
        notify(
            application.applicant,
            "payment.paid",
            {
                "application": application,
                "reference": application.reference,
                "bill": bill,
                "link": settings.SITE_URL + application.get_absolute_url(),
                "verification_url": verification.verification_url(KIND, bill.code),
            },
            related=receipt,
            attachment=(stored, f"bukti-pembayaran-{bill.code}.pdf"),
        )
        pagecache.touch(application.pk)  # the page now offers the receipt

    return store_once(
        PaymentReceipt,
        owner={"bill": bill},
        name=f"payment-receipts/{bill.paid_at:%Y/%m}/{bill.code}.pdf",
        render=lambda: payment_receipt_pdf(bill),
        then=send,
    )


def payment_receipts_missing_render(*, older_than_minutes: int = 5, limit: int = 200) -> int:
    """Render receipts a lost task left behind."""
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    pending = Bill.objects.filter(
        status=Bill.Status.PAID, paid_at__lt=cutoff, receipt__isnull=True
    ).values_list("pk", flat=True)[:limit]
    done = 0
    for bill_id in list(pending):
        try:
            payment_receipt_render(bill_id)
            done += 1
        except Exception:
            logger.exception("payment receipt for bill %s could not be rendered", bill_id)
    return done


def verification_lookup(code: str) -> dict | None:
    """What the public check shows for a payment receipt's QR code."""
    bill = (
        Bill.objects.select_related("application", "application__service", "application__office")
        .filter(code=code, receipt__isnull=False)
        .first()
    )
    return {"application": bill.application, "bill": bill} if bill else None
