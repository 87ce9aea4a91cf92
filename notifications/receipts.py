"""Signed delivery receipts from the SMS gateway.

The gateway POSTs JSON `{"message_id": "...", "status": "delivered" | "failed"
| "rejected" | "expired", "detail": "..."}` with headers `X-Timestamp` (Unix
seconds) and `X-Signature` = hex HMAC-SHA256(SMS_RECEIPT_SECRET,
"<timestamp>.<raw body>"). Unsigned, forged or stale (> 5 minutes) receipts
change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.delivery import record
from notifications.models import Notification

TOLERANCE_SECONDS = 300
FAILED_STATUSES = {"failed", "rejected", "expired", "undeliverable"}
Status = Notification.Status


class BadSignature(Exception):
    pass


def sign(body: bytes, timestamp: int, secret: str) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(body: bytes, timestamp: str, signature: str) -> None:
    secret = settings.SMS_RECEIPT_SECRET
    if not secret or not timestamp or not signature:
        raise BadSignature("unsigned")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise BadSignature("bad timestamp") from exc
    if abs(time.time() - sent_at) > TOLERANCE_SECONDS:
        raise BadSignature("stale timestamp")
    if not hmac.compare_digest(sign(body, sent_at, secret), signature):
        raise BadSignature("signature mismatch")


def apply(body: bytes) -> str:
    """Move the matching SMS forward from `sending`; return what happened."""
    try:
        data = json.loads(body)
        reference, status = str(data["message_id"]), str(data["status"]).lower()
    except (ValueError, KeyError, TypeError):
        return "malformed"
    detail = str(data.get("detail", ""))[:300]
    if not reference.strip():
        return "unknown-or-final"
    with transaction.atomic():
        rows = Notification.objects.select_for_update().filter(
            provider_reference=reference, channel="sms", status=Status.SENDING
        )
        notification = rows.first()
        if notification is None:
            return "unknown-or-final"
        mine = Notification.objects.filter(pk=notification.pk)
        if status == "delivered":
            mine.update(status=Status.DELIVERED, delivered_at=timezone.now())
            record(notification.pk, Status.DELIVERED, "delivery receipt")
            return Status.DELIVERED
        if status in FAILED_STATUSES:
            reason = f"gateway reported {status}: {detail}".strip(": ")
            mine.update(status=Status.PERMANENT_FAILURE, reason=reason)
            record(notification.pk, Status.PERMANENT_FAILURE, reason)
            return Status.PERMANENT_FAILURE
    return "ignored"
