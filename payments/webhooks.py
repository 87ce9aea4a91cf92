"""Gateway notifications: verified, stored first, decided once; and reconciliation.

The HTTP request does steps 1 and 2 and answers; steps 3 and 4 run in a
Celery task (`tasks.process_webhook`), so a web worker never waits on the
gateway's status API and a burst of notifications is acknowledged at once.
With tasks inline (`make run`, tests) the task runs before the answer, which
then names the outcome.

1. The signature is checked (constant time) before anything is stored, so
   forged requests cannot occupy an event id the gateway will later use.
2. The notification is stored in its own short transaction; the unique
   (provider, event_id) makes a duplicate fail there and answer 200.
3. What the notification claims is confirmed with the gateway when its
   signature does not cover the status (Midtrans); when the gateway cannot
   say, the event waits and is tried again.
4. Under the locks (application, bill, event) it is decided once: paid,
   ignored or held for review. A duplicate arriving meanwhile waits on the
   event row and then finds it decided.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time

from celery import current_app
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from applications.models import Application
from imigrasi.db import retry_on_conflict
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
    from payments import tasks

    eager = current_app.conf.task_always_eager
    if not created and not eager:
        # Stored earlier and its task already queued: one message per event
        # (a lost one is finished by the reconciliation beat task).
        return OK, "received"
    try:
        result = tasks.process_webhook.delay(event.pk)
    except Exception:
        if eager:
            raise
        # The broker is down: the event is stored, and the reconciliation
        # beat task decides it; the gateway need not send it again.
        logger.exception("webhook %s stored but not queued", event)
        return OK, "received"
    if not eager:
        return OK, "received"
    # Processed inline: answer with the outcome, or ask the gateway to retry
    # when its status could not be confirmed (the event still waits).
    if result.failed():
        raise result.result
    outcome = result.result  # an EagerResult holds the return value (no .get() in threads)
    if outcome == "retry":
        return RETRY_LATER, "retry"
    return OK, outcome


def process_stored(event_id: int) -> str:
    """Step 3 and 4 for a stored event: "retry" when the gateway cannot confirm now."""
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None or event.outcome != WebhookEvent.Outcome.RECEIVED:
        return "duplicate"
    gateway = get_gateway(event.provider)
    try:
        notification = gateway.read_stored(event)
    except base.MalformedNotification:
        # Verified when it arrived, unreadable now (e.g. an older format):
        # set aside for a person instead of being tried again forever.
        logger.warning("stored notification %s cannot be read again", event)
        WebhookEvent.objects.filter(pk=event_id, outcome=WebhookEvent.Outcome.RECEIVED).update(
            outcome=WebhookEvent.Outcome.HELD,
            detail="cannot be read again",
            processed_at=timezone.now(),
        )
        return "unreadable"
    confirmed = gateway.confirm(notification)
    if confirmed is None:
        return "retry"
    return retry_on_conflict(lambda: process(event.pk, confirmed))


def _store(provider: str, notification: base.Notification, body: bytes):
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                provider=provider,
                event_id=notification.event_id,
                # Whole (the view caps it at 64 KB): it is read again to be decided.
                body=body.decode("utf-8", "replace"),
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
                Application.objects.select_for_update(of=("self",))
                .select_related("service", "applicant")
                .get(pk=bill.application_id)
            )
            bill = Bill.objects.select_for_update().get(pk=bill.pk)
        event = (
            WebhookEvent.objects.select_for_update()
            .only("pk", "provider", "outcome", "detail", "bill", "processed_at")
            .get(pk=event_id)
        )
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
    """Paid, ignored or held: `detail` is a short English word for logs and tests;
    what the officer reads is the bill's review note, in the office's language."""
    provider = event.provider
    if n.status != base.PAID:
        return IGNORED, f"gateway status {n.status}"
    if bill is None:
        logger.warning("payment for unknown billing code %r (%s)", n.billing_code, provider)
        return HELD, "unknown billing code"
    ntpn = n.ntpn.strip().upper()
    # One query for both questions: this payment seen before? this NTPN used before?
    seen = Q(ntpn=ntpn) if ntpn else Q(pk__in=[])
    if n.provider_reference:
        seen |= Q(provider=provider, provider_reference=n.provider_reference)
    earlier = list(
        Payment.objects.filter(seen).values_list(
            "provider", "provider_reference", "ntpn", "bill_id"
        )
    )
    if n.provider_reference and any(
        (p, r) == (provider, n.provider_reference) for p, r, _n, _b in earlier
    ):
        return IGNORED, "payment already recorded"
    if ntpn and any(found == ntpn and bill_id == bill.pk for _p, _r, found, bill_id in earlier):
        # The same state receipt already recorded for this bill (e.g. an
        # officer recorded it while the gateway was down): the same money.
        return IGNORED, "payment already recorded (same NTPN)"
    ntpn_used = bool(ntpn) and any(found == ntpn for _p, _r, found, _b in earlier)
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
        services.hold(bill=bill, reason=services.HOLD_AMOUNT, paid=n.amount, **money)
        return HELD, "amount differs"
    if bill.status == Bill.Status.PAID:
        services.hold(bill=bill, reason=services.HOLD_TWICE, **money)
        return HELD, "paid twice"
    if paid_at > bill.expires_at:
        services.hold(bill=bill, reason=services.HOLD_LATE, **money)
        return HELD, "paid after expiry"
    if not services.payable(application, bill, paid_at=paid_at):
        services.hold(bill=bill, reason=services.HOLD_CLOSED, **money)
        return HELD, f"bill {bill.status}, application {application.status}"
    if not services.NTPN_PATTERN.match(ntpn) or ntpn_used:
        services.hold(bill=bill, reason=services.HOLD_NTPN, **{**money, "ntpn": ""})
        return HELD, "NTPN missing, malformed or already used"
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


def reconcile(
    *, older_than_minutes: int = 10, limit: int = 500, budget_seconds: float = 240
) -> dict[str, int]:
    """Recover lost webhooks: ask about unpaid bills, and finish stored but undecided events.

    The bills asked about least recently go first, and a run stops after
    `budget_seconds`, so every unpaid bill is asked in turn however many
    there are and however slow the gateway is.
    """
    counts: dict[str, int] = {}
    started = time.monotonic()
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    due = (
        Bill.objects.unpaid()
        .filter(issued_at__lt=cutoff)
        .order_by(F("checked_at").asc(nulls_first=True), "pk")
    )
    for bill in list(due[:limit]):
        if time.monotonic() - started > budget_seconds:
            counts["stopped_for_time"] = 1
            break
        result = reconcile_bill(bill)
        Bill.objects.filter(pk=bill.pk).update(checked_at=timezone.now())
        counts[result] = counts.get(result, 0) + 1
    waiting = WebhookEvent.objects.filter(
        outcome=WebhookEvent.Outcome.RECEIVED,
        provider=get_gateway().name,
        received_at__lt=cutoff,
    ).values_list("pk", flat=True)
    for event_id in list(waiting[:limit]):
        result = process_stored(event_id)
        counts[f"event_{result}"] = counts.get(f"event_{result}", 0) + 1
    return counts
