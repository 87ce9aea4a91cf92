"""The sandbox gateway's own side: a citizen presses "pay" or "fail" on its page."""

from __future__ import annotations

import secrets
import string
import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imigrasi.errors import ServiceError
from payments.gateways import base
from payments.models import ONLINE_METHODS, Bill, SandboxTransaction

NTPN_ALPHABET = string.ascii_uppercase + string.digits


def new_ntpn() -> str:
    return "".join(secrets.choice(NTPN_ALPHABET) for _ in range(16))


def sandbox_pay(*, bill: Bill, method: str, succeed: bool) -> SandboxTransaction:
    """Record what the "bank" did and send the signed webhook after commit.

    Like a real gateway it takes the money for any code it was given; the
    portal decides what the money means (late, cancelled, already paid).
    """
    from payments import tasks

    if method not in ONLINE_METHODS:
        raise ServiceError(_("Choose a payment method."))
    if bill.status != Bill.Status.UNPAID and succeed:
        # Like SIMPONI, the bank refuses a code that is paid or closed; money
        # for a closed bill only arrives through a late notification.
        raise ServiceError(_("The bank refused: this billing code is no longer valid."))
    with transaction.atomic():
        record = SandboxTransaction.objects.create(
            billing_code=bill.code,
            reference=f"SBX-{uuid.uuid4().hex[:20].upper()}",
            method=method,
            amount=bill.amount,
            status=base.PAID if succeed else base.FAILED,
            ntpn=new_ntpn() if succeed else "",
            created_at=timezone.now(),
        )
        record_id = record.pk
        transaction.on_commit(
            lambda: tasks.deliver_sandbox_notification.delay(record_id), robust=True
        )
    return record


def deliver(record_id: int) -> int:
    """POST the signed notification for one sandbox transaction; returns the HTTP status."""
    from payments.gateways import sandbox as gateway

    record = SandboxTransaction.objects.get(pk=record_id)
    status = gateway.deliver(gateway.notification_body(record))
    if 200 <= status < 300:
        SandboxTransaction.objects.filter(pk=record_id, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
    return status
