"""What every gateway adapter offers: start a charge, read a notification, ask a status."""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass


class SignatureError(Exception):
    """The notification is not from the gateway (bad or stale signature)."""


class MalformedNotification(Exception):
    """The notification cannot be read (not JSON, fields missing)."""


# No fee comes near this; a larger amount in a notification is not read (and
# would not fit the payment columns).
MAX_AMOUNT = 2_000_000_000

# What a gateway says about a bill, in our words.
PAID = "paid"
PENDING = "pending"
FAILED = "failed"
EXPIRED = "expired"


@dataclass(frozen=True)
class Notification:
    event_id: str
    billing_code: str
    status: str  # PAID, PENDING, FAILED, EXPIRED
    amount: int
    method: str = ""
    ntpn: str = ""
    paid_at: dt.datetime | None = None
    provider_reference: str = ""


@dataclass(frozen=True)
class Charge:
    """How to pay: the number, QR payload or page the citizen is shown."""

    method: str
    payment_code: str = ""  # virtual account number, QRIS payload
    redirect_url: str = ""  # the gateway's page (card, sandbox)


class Gateway(abc.ABC):
    """The interface every adapter implements (`confirm` has a default)."""

    name = ""
    # What the pay page offers with this gateway (Method values).
    methods: tuple[str, ...] = ()

    @abc.abstractmethod
    def start_charge(self, bill, method: str) -> Charge:
        """How the citizen pays `bill` with `method`."""

    @abc.abstractmethod
    def read_notification(self, body: bytes, headers) -> Notification:
        """Verify (constant time) and read a notification; raise SignatureError/Malformed."""

    @abc.abstractmethod
    def read_stored(self, event) -> Notification:
        """Read again a notification stored earlier (its signature was checked then);
        raise MalformedNotification when it cannot be read."""

    def confirm(self, notification: Notification) -> Notification | None:
        """What to believe before settling: the notification itself when its
        signature covers the status; None when the gateway cannot say now."""
        return notification

    @abc.abstractmethod
    def status(self, bill) -> Notification | None:
        """Ask the gateway what it knows of `bill` (reconciliation); None when it cannot say."""
