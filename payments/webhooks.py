"""Gateway notifications: stored first, verified, applied once; and reconciliation.

1. The signature is checked (constant time) before anything is stored, so
   forged requests cannot occupy an event id the gateway will later use.
2. The notification is stored in its own short transaction; the unique
   (provider, event_id) makes a duplicate fail there and answer 200.
3. What the notification claims is confirmed with the gateway when its
   signature does not cover the status (Midtrans).
4. Under the locks (application, bill, event) it is decided once: paid,
   ignored or held for review. A duplicate arriving meanwhile waits on the
   event row and then finds it decided.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from applications.models import Application
from payments import services
from payments.gateways import base, get_gateway
from payments.models import Bill, Method, Payment, WebhookEvent

logger = logging.getLogger(__name__)
security = logging.getLogger("django.security.payments")

# What the endpoint answers (HTTP status, short word for the body).
OK = 200
BAD_SIGNATURE = 401
MALFORMED = 400
RETRY_LATER = 503

APPLIED = WebhookEvent.Outcome.APPLIED
IGNORED = WebhookEvent.Outcome.IGNORED
HELD = WebhookEvent.Outcome.HELD


def receive(*, provider: str, body: bytes, headers, remote_addr: str = "") -> tuple[int, str]:
    """Handle one HTTP notification; returns (HTTP status, outcome word)."""
    gateway = get_gateway(provider)
    try:
        notification = gateway.read_notification(body, headers)
    except base.SignatureError as error:
        security.warning(
            "payment webhook refused (%s): %s from %s", provider, error, remote_addr or "?"
        )
        return BAD_SIGNATURE, "signature"
    except base.MalformedNotification as error:
        logger.warning("payment webhook unreadable (%s): %s", provider, error)
        return MALFORMED, "malformed"
    if not notification.event_id:
        return MALFORMED, "malformed"
    event, created = _store(provider, notification, body)
    if not created and event.outcome != WebhookEvent.Outcome.RECEIVED:
        return OK, "duplicate"
    confirmed = gateway.confirm(notification)
    if confirmed is None:
        # The gateway cannot say now: the event waits (RECEIVED) and the gateway retries.
        return RETRY_LATER, "retry"
    return OK, process(event.pk, confirmed)


def _store(provider: str, notification: base.Notification, body: bytes):
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                provider=provider,
                event_id=notification.event_id,
                body=body.decode("utf-8", "replace")[:20000],
                status=notification.status,
                billing_code=notification.billing_code,
                amount=notification.amount,
            )
            return event, True
    except IntegrityError:
        return WebhookEvent.objects.get(provider=provider, event_id=notification.event_id), False


def process(event_id: int, notification: base.Notification) -> str:
    """Decide a stored event once; returns its outcome."""
    code = services.normalise_code(notification.billing_code)
    bill = Bill.objects.filter(code=code).only("pk", "application_id").first()
    with transaction.atomic():
        application = None
        if bill is not None:
            application = (
                Application.objects.select_for_update()
                .select_related("service", "applicant")
                .get(pk=bill.application_id)
            )
            bill = Bill.objects.select_for_update().get(pk=bill.pk)
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.outcome != WebhookEvent.Outcome.RECEIVED:
            return "duplicate"
        outcome, detail = _decide(event, notification, application, bill)
        event.outcome = outcome
        event.detail = detail[:300]
        event.bill = bill
        event.processed_at = timezone.now()
        event.save(update_fields=["outcome", "detail", "bill", "processed_at"])
    return outcome


def _decide(event, n: base.Notification, application, bill) -> tuple[str, str]:
    provider = event.provider
    if n.status != base.PAID:
        return IGNORED, f"gateway status {n.status}"
    if bill is None:
        logger.warning("payment for unknown billing code %r (%s)", n.billing_code, provider)
        return HELD, "unknown billing code"
    if (
        n.provider_reference
        and Payment.objects.filter(
            provider=provider, provider_reference=n.provider_reference
        ).exists()
    ):
        return IGNORED, "payment already recorded"
    paid_at = n.paid_at or timezone.now()
    money = {
        "amount": n.amount,
        "method": n.method,
        "paid_at": paid_at,
        "provider": provider,
        "provider_reference": n.provider_reference,
        "ntpn": n.ntpn,
    }
    if n.amount != bill.amount:
        note = f"amount {n.amount} differs from the bill's {bill.amount}"
        services.hold(bill=bill, note=note, **money)
        return HELD, note
    if bill.status == Bill.Status.PAID:
        services.hold(bill=bill, note="paid twice: refund review", **money)
        return HELD, "paid twice"
    if bill.status != Bill.Status.UNPAID or paid_at > bill.expires_at:
        note = f"paid after the bill was {bill.status}: refund review"
        if bill.status == Bill.Status.UNPAID:
            note = "paid after expiry: refund review"
        services.hold(bill=bill, note=note, **money)
        return HELD, note
    if not services.payable(application, bill):
        note = f"application is {application.status}: refund review"
        services.hold(bill=bill, note=note, **money)
        return HELD, note
    ntpn = n.ntpn.strip().upper()
    if not services.NTPN_PATTERN.match(ntpn) or Payment.objects.filter(ntpn=ntpn).exists():
        note = "NTPN missing, malformed or already used"
        services.hold(bill=bill, note=note, **{**money, "ntpn": ""})
        return HELD, note
    services.settle(
        application=application,
        bill=bill,
        amount=n.amount,
        method=n.method if n.method in Method.values else Method.MANUAL,
        ntpn=ntpn,
        paid_at=paid_at,
        provider=provider,
        provider_reference=n.provider_reference,
    )
    return APPLIED, "paid"


# --- Reconciliation -----------------------------------------------------------------


def reconcile_bill(bill: Bill) -> str:
    """Ask the gateway about one unpaid bill; settle it if the gateway says paid."""
    gateway = get_gateway()
    try:
        found = gateway.status(bill)
    except Exception:
        logger.exception("gateway status for bill %s failed", bill.code)
        return "error"
    if found is None:
        return "unknown"  # the gateway could not be asked
    if found.status != base.PAID:
        return "unpaid"
    reference = found.provider_reference or found.event_id or bill.code
    notification = dataclasses.replace(found, event_id=f"status:{reference}"[:120])
    body = json.dumps(
        {**dataclasses.asdict(notification), "paid_at": str(notification.paid_at)}
    ).encode()
    event, created = _store(gateway.name, notification, body)
    if not created and event.outcome != WebhookEvent.Outcome.RECEIVED:
        return "duplicate"
    return process(event.pk, notification)


def reconcile(*, older_than_minutes: int = 10, limit: int = 500) -> dict[str, int]:
    """Recover lost webhooks: ask about unpaid bills, and finish stored but undecided events."""
    counts: dict[str, int] = {}
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    for bill in list(Bill.objects.unpaid().filter(issued_at__lt=cutoff)[:limit]):
        result = reconcile_bill(bill)
        counts[result] = counts.get(result, 0) + 1
    gateway = get_gateway()
    waiting = WebhookEvent.objects.filter(
        outcome=WebhookEvent.Outcome.RECEIVED, provider=gateway.name, received_at__lt=cutoff
    )
    for event in list(waiting[:limit]):
        try:
            notification = gateway.read_stored(event)
        except (base.MalformedNotification, NotImplementedError):
            continue
        confirmed = gateway.confirm(notification)
        if confirmed is not None:
            result = process(event.pk, confirmed)
            counts[f"event_{result}"] = counts.get(f"event_{result}", 0) + 1
    return counts
