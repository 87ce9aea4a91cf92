"""The built-in sandbox gateway: pages in the portal, webhooks signed like the strongest real ones.

Signature header `X-Sandbox-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`
with SANDBOX_WEBHOOK_SECRET; notifications older or newer than five minutes
are refused (replays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.urls import reverse

from payments.gateways import base

HEADER = "X-Sandbox-Signature"
VA_BANK_CODES = {"va_bri": "88810", "va_bni": "98820", "va_mandiri": "89030", "va_bca": "39040"}


def sign(body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.SANDBOX_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(body: bytes, header: str, *, now: float | None = None) -> None:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        if len(parts["t"]) > 12:  # a Unix time; a huge number would overflow below
            raise ValueError("timestamp too long")
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError, AttributeError, OverflowError) as error:
        raise base.SignatureError("signature header unreadable") from error
    now = time.time() if now is None else now
    if abs(now - timestamp) > settings.WEBHOOK_TOLERANCE_SECONDS:
        raise base.SignatureError("signature timestamp outside the tolerance")
    expected = sign(body, timestamp=timestamp).split("v1=", 1)[1]
    # Bytes on both sides: a non-ASCII header must be refused, not crash compare_digest.
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise base.SignatureError("signature does not match")


class SandboxGateway(base.Gateway):
    name = "sandbox"
    methods = ("va_bri", "va_bni", "va_mandiri", "va_bca", "qris", "card", "teller")

    def start_charge(self, bill, method: str) -> base.Charge:
        page = reverse("payments:sandbox", args=[bill.code, method])
        if method in VA_BANK_CODES:
            return base.Charge(
                method=method,
                payment_code=VA_BANK_CODES[method] + bill.code[-11:],
                redirect_url=page,
            )
        if method == "qris":
            return base.Charge(
                method=method, payment_code=f"SANDBOX-QRIS-{bill.code}", redirect_url=page
            )
        if method == "card":
            return base.Charge(method=method, redirect_url=page)
        # Bank teller: the billing code itself is what the citizen brings.
        return base.Charge(method=method, payment_code=bill.code)

    def read_notification(self, body: bytes, headers) -> base.Notification:
        verify(body, headers.get(HEADER, ""))
        try:
            data = json.loads(body)
            return _notification(data)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise base.MalformedNotification(str(error)) from error

    def read_stored(self, event) -> base.Notification:
        try:
            return _notification(json.loads(event.body))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise base.MalformedNotification(str(error)) from error

    def status(self, bill) -> base.Notification | None:
        """What the sandbox's own ledger says: a payment whose webhook was lost is found."""
        from payments.models import SandboxTransaction

        paid = (
            SandboxTransaction.objects.filter(billing_code=bill.code, status=base.PAID)
            .order_by("created_at")
            .first()
        )
        if paid is None:
            return base.Notification(
                event_id="", billing_code=bill.code, status=base.PENDING, amount=0
            )
        return _notification(json.loads(notification_body(paid)))


def _notification(data: dict) -> base.Notification:
    paid_at = data.get("paid_at")
    amount = data["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise base.MalformedNotification("amount must be a whole number of rupiah")
    if not 0 <= amount <= base.MAX_AMOUNT:
        raise base.MalformedNotification("amount out of range")
    moment = dt.datetime.fromisoformat(paid_at) if paid_at else None
    if moment is not None and moment.tzinfo is None:
        raise base.MalformedNotification("paid_at needs a UTC offset")
    return base.Notification(
        event_id=str(data["event_id"])[:120],
        billing_code=str(data["billing_code"])[:40],
        status=str(data["status"])[:10],
        amount=amount,
        method=str(data.get("method") or "")[:12],
        ntpn=str(data.get("ntpn") or "")[:16],
        paid_at=moment,
        provider_reference=str(data.get("reference") or "")[:100],
    )


def notification_body(transaction) -> bytes:
    """What the sandbox tells the portal about one of its transactions."""
    return json.dumps(
        {
            "event_id": f"{transaction.reference}:{transaction.status}",
            "billing_code": transaction.billing_code,
            "status": transaction.status,
            "amount": transaction.amount,
            "method": transaction.method,
            "ntpn": transaction.ntpn,
            "paid_at": transaction.created_at.isoformat()
            if transaction.status == base.PAID
            else None,
            "reference": transaction.reference,
        }
    ).encode()


def deliver(body: bytes, *, url: str | None = None, timeout: float = 10) -> int:
    """POST a signed notification over real HTTP, as the gateway would; return the status."""
    url = (
        url
        or settings.SANDBOX_WEBHOOK_URL
        or (settings.SITE_URL + reverse("payments:webhook", args=["sandbox"]))
    )
    request = urllib.request.Request(  # noqa: S310 (our own configured URL)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", HEADER: sign(body)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310  # our own configured URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
