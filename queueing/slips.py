"""The appointment slip (bukti janji temu): a PDF rendered when asked for, with a QR code.

The QR code is the signed verification link naming the booking code: the
public check page shows whether the appointment is genuine and still on, and
the kiosk's scanner reads the code out of it.
"""

from __future__ import annotations

from applications import verification
from imigrasi.pdf import qr_data_uri, render_pdf
from queueing.models import Booking

KIND = "booking"


def slip_context(booking: Booking) -> dict:
    url = verification.verification_url(KIND, booking.code)
    application = booking.application
    return {
        "booking": booking,
        "slot": booking.slot,
        "office": booking.office,
        "application": application,
        "service": application.service if application else None,
        "verification_url": url,
        "qr": qr_data_uri(url),
    }


def slip_pdf(booking: Booking) -> bytes:
    language = booking.citizen.preferred_language or "id"
    return render_pdf("pdf/appointment_slip.html", slip_context(booking), language=language)


def verification_lookup(code: str) -> dict | None:
    booking = (
        Booking.objects.select_related(
            "slot", "office", "application", "application__service", "application__office"
        )
        .filter(code=code, application__isnull=False)
        .first()
    )
    return {"application": booking.application, "booking": booking} if booking else None
