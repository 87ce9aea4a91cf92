"""A Midtrans-style adapter.

The notification's `signature_key` is SHA512(order_id + status_code +
gross_amount + server key). It does not cover `transaction_status`, so a
notification is only trusted after asking the status API
(GET {api}/v2/{order_id}/status, basic auth with the server key).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings

from payments.gateways import base

JAKARTA = ZoneInfo("Asia/Jakarta")
PAID_STATES = {"settlement", "capture"}
PENDING_STATES = {"pending", "authorize"}
FAILED_STATES = {"deny", "cancel", "failure"}
METHODS = {
    "bank_transfer": "va_other",
    "echannel": "va_mandiri",
    "qris": "qris",
    "gopay": "qris",
    "shopeepay": "qris",
    "credit_card": "card",
}


def signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    raw = f"{order_id}{status_code}{gross_amount}{server_key}".encode()
    return hashlib.sha512(raw).hexdigest()


def _amount(value) -> int:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise base.MalformedNotification("gross_amount is not a number") from error
    if amount != amount.to_integral_value():
        raise base.MalformedNotification("gross_amount has cents")
    if not 0 <= amount <= base.MAX_AMOUNT:
        raise base.MalformedNotification("gross_amount out of range")
    return int(amount)


def _status(transaction_status: str, fraud_status: str = "") -> str:
    if transaction_status in PAID_STATES:
        # A card capture under fraud review is not money yet; "deny" never will be.
        if fraud_status == "challenge":
            return base.PENDING
        if fraud_status == "deny":
            return base.FAILED
        return base.PAID
    if transaction_status in PENDING_STATES:
        return base.PENDING
    if transaction_status == "expire":
        return base.EXPIRED
    return base.FAILED


def _method(data: dict) -> str:
    payment_type = data.get("payment_type", "")
    if payment_type == "bank_transfer" and data.get("va_numbers"):
        bank = str(data["va_numbers"][0].get("bank", "")).lower()
        return {"bri": "va_bri", "bni": "va_bni", "bca": "va_bca"}.get(bank, "va_other")
    return METHODS.get(payment_type, "card")


def _jakarta_time(value: str) -> dt.datetime:
    # Midtrans writes "2026-11-22 10:15:00", Jakarta time, without an offset.
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JAKARTA)
    return moment


def _ntpn(data: dict) -> str:
    # Midtrans has no NTPN; the state's number arrives from the SIMPONI link.
    # A stable 16-character stand-in is derived from the transaction id.
    transaction_id = str(data.get("transaction_id", ""))
    return hashlib.sha256(transaction_id.encode()).hexdigest()[:16].upper()


class MidtransGateway(base.Gateway):
    name = "midtrans"
    # No charge is opened: the billing code is paid as state revenue (MPN) in a
    # bank's app, ATM or at a teller, and Midtrans reports it.
    methods = ("va_bri", "va_bni", "va_mandiri", "va_bca", "teller")

    def __init__(self, *, server_key: str | None = None, api_url: str | None = None):
        self.server_key = server_key or settings.MIDTRANS_SERVER_KEY
        self.api_url = (api_url or settings.MIDTRANS_API_URL).rstrip("/")

    def start_charge(self, bill, method: str) -> base.Charge:
        # No charge is opened here: the citizen pays the billing code as state
        # revenue (MPN) at the bank, in its app or at a teller.
        return base.Charge(method=method)

    def _read(self, data: dict) -> base.Notification:
        try:
            order_id = str(data["order_id"])
            paid_at = data.get("settlement_time") or data.get("transaction_time")
            # Lengths bounded to the columns: an over-long order id is simply
            # an unknown code, never a database error.
            return base.Notification(
                event_id=f"{data['transaction_id']}:{data['transaction_status']}"[:120],
                billing_code=order_id[:40],
                status=_status(
                    str(data["transaction_status"]), str(data.get("fraud_status") or "")
                ),
                amount=_amount(data["gross_amount"]),
                method=_method(data),
                ntpn=_ntpn(data),
                paid_at=_jakarta_time(paid_at) if paid_at else None,
                provider_reference=str(data["transaction_id"])[:100],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise base.MalformedNotification(str(error)) from error

    def read_notification(self, body: bytes, headers) -> base.Notification:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as error:
            raise base.MalformedNotification(str(error)) from error
        if not data.get("signature_key"):
            raise base.SignatureError("signature_key missing")
        try:
            given = str(data["signature_key"])
            expected = signature(
                str(data["order_id"]),
                str(data["status_code"]),
                str(data["gross_amount"]),
                self.server_key,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise base.MalformedNotification(str(error)) from error
        if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
            raise base.SignatureError("signature_key does not match")
        return self._read(data)

    def read_stored(self, event) -> base.Notification:
        try:
            data = json.loads(event.body)
        except ValueError as error:
            raise base.MalformedNotification(str(error)) from error
        if not isinstance(data, dict):
            raise base.MalformedNotification("not an object")
        return self._read(data)

    def confirm(self, notification: base.Notification) -> base.Notification | None:
        """The signature does not cover the status: ask the gateway before settling."""
        if notification.status != base.PAID:
            return notification
        confirmed = self.status_of(notification.billing_code)
        if confirmed is None:
            return None
        if confirmed.status != base.PAID:
            return dataclasses.replace(notification, status=confirmed.status)
        if confirmed.provider_reference != notification.provider_reference:
            # The unsigned transaction id was altered, or the order has another
            # transaction: believe nothing of this notification.
            return dataclasses.replace(notification, status=base.PENDING)
        # Every field as the gateway's own status API says it (the signature
        # leaves most of them out); its amount is what is compared with the bill.
        return dataclasses.replace(confirmed, event_id=notification.event_id)

    def status_of(self, order_id: str) -> base.Notification | None:
        token = base64.b64encode(f"{self.server_key}:".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 (configured gateway URL)
            f"{self.api_url}/v2/{order_id}/status",
            headers={"Authorization": f"Basic {token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310  # settings.MIDTRANS_API_URL
                data = json.loads(response.read(65536))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return base.Notification(
                    event_id="", billing_code=order_id, status=base.PENDING, amount=0
                )
            return None
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        if str(data.get("status_code")) == "404":
            # Midtrans answers 200 with status_code 404 for an order it never saw.
            return base.Notification(
                event_id="", billing_code=order_id, status=base.PENDING, amount=0
            )
        try:
            return self._read(data)
        except base.MalformedNotification:
            return None

    def status(self, bill) -> base.Notification | None:
        return self.status_of(bill.code)
