"""The application receipt (tanda terima): rendered once, stored privately, emailed."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from applications import verification
from applications.models import Application, Receipt
from imigrasi.pdf import qr_data_uri, render_pdf, store_once

logger = logging.getLogger(__name__)


def receipt_context(application: Application) -> dict:
    url = verification.verification_url("receipt", application.reference)
    return {
        "application": application,
        "service": application.service,
        "office": application.office,
        "tariffs": application.service.tariffs_on(timezone.localdate(application.submitted_at)),
        "documents": application.documents.select_related("requirement"),
        "verification_url": url,
        "qr": qr_data_uri(url),
    }


def receipt_pdf(application: Application) -> bytes:
    language = application.applicant.preferred_language or "id"
    return render_pdf(
        "pdf/application_receipt.html", receipt_context(application), language=language
    )


def receipt_render(application_id: int) -> Receipt | None:
    """Render and store the receipt once; a redelivered task finds it and does nothing.

    The email with the PDF attached is written in the same transaction as
    the receipt row (outbox), so it goes out exactly once.
    """
    from notifications.services import notify

    application = (
        Application.objects.select_related("service", "office", "applicant")
        .filter(pk=application_id, submitted_at__isnull=False)
        .first()
    )
    if application is None:
        return None

    def send(receipt, stored: str) -> None:
        notify(
            application.applicant,
            "application.submitted",
            {
                "application": application,
                "reference": application.reference,
                "link": settings.SITE_URL + application.get_absolute_url(),
                "verification_url": verification.verification_url("receipt", application.reference),
            },
            related=receipt,
            attachment=(stored, f"tanda-terima-{application.reference}.pdf"),
        )

    return store_once(
        Receipt,
        owner={"application": application},
        name=f"receipts/{application.submitted_at:%Y/%m}/{application.reference}.pdf",
        render=lambda: receipt_pdf(application),
        then=send,
    )
