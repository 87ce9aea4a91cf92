"""Which events exist and what kind of message each is.

The category decides which preferences apply: security messages always go
by email whatever the person chose (TRUST.md); status updates and reminders
follow the person's preferences.
"""

from __future__ import annotations

from notifications.models import Channel

SECURITY = "security"
STATUS = "status"
REMINDER = "reminder"

# event name → (category, default channels)
EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "account.verify_email": (SECURITY, (Channel.EMAIL,)),
    "account.password_reset": (SECURITY, (Channel.EMAIL,)),
    "account.phone_code": (SECURITY, (Channel.SMS,)),
    # The account was closed at its owner's request (sent whatever the preferences say).
    "account.deletion_requested": (SECURITY, (Channel.EMAIL,)),
    # Every status move; on submission only SMS and portal (the email is the receipt).
    "application.status_changed": (STATUS, (Channel.EMAIL, Channel.SMS, Channel.PORTAL)),
    # The application receipt PDF, attached.
    "application.submitted": (STATUS, (Channel.EMAIL,)),
    # The payment receipt PDF (bukti pembayaran), attached.
    "payment.paid": (STATUS, (Channel.EMAIL,)),
    # An unpaid billing code runs out within a day.
    "payment.reminder": (REMINDER, (Channel.EMAIL, Channel.SMS)),
    # Money given back, with the officer's reason.
    "payment.refunded": (STATUS, (Channel.EMAIL, Channel.PORTAL)),
    # Appointments: confirmed (video), moved, cancelled, office closed, missed.
    "booking.update": (STATUS, (Channel.EMAIL, Channel.SMS, Channel.PORTAL)),
    # The day before an appointment, and an hour before a video consultation.
    "booking.reminder": (REMINDER, (Channel.EMAIL, Channel.SMS)),
    # A place freed up on a day the citizen waits for: take it before the offer runs out.
    "waitlist.offered": (STATUS, (Channel.EMAIL, Channel.SMS, Channel.PORTAL)),
    # Three tickets remain ahead of the citizen's in the office queue.
    "queue.near": (STATUS, (Channel.SMS, Channel.PORTAL)),
    # To officers: a document ready for 30 days has not been collected.
    "application.uncollected": (STATUS, (Channel.PORTAL,)),
}


def category_of(event: str) -> str:
    try:
        return EVENTS[event][0]
    except KeyError:
        raise ValueError(f"Unknown notification event {event!r}: add it to EVENTS") from None


def default_channels(event: str) -> tuple[str, ...]:
    category_of(event)
    return EVENTS[event][1]
