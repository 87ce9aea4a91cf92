"""Webhooks racing on real PostgreSQL (SQLite proves nothing here): threads
released together by a barrier, then the invariants checked. A gateway that
sends the same notification five times at once pays the bill once; five
different payments at once for one bill settle one and hold the rest."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import translation

from applications.models import Application, StatusEvent
from applications.workflow import Status
from notifications.models import Channel, Notification
from payments import services, webhooks
from payments.gateways import sandbox as sandbox_gateway
from payments.models import Bill, Payment, PaymentReceipt, WebhookEvent
from tests.payments.conftest import SECRET, paid_body
from tests.utils import OK, together

# Committed rows are needed for other connections to see them (transaction=True).
# The flush that ends such a test also empties what data migrations seeded (the
# service catalogue, the role groups): serialized_rollback puts them back.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 5


def deliver(body: bytes) -> Callable[[], tuple[int, str]]:
    """What the view does with one signed POST of `body`."""

    def call() -> tuple[int, str]:
        headers = {sandbox_gateway.HEADER: sandbox_gateway.sign(body, secret=SECRET)}
        return webhooks.receive(provider="sandbox", body=body, headers=headers)

    return call


def test_five_copies_of_one_notification_at_once_pay_the_bill_once(awaiting, ani):
    body = paid_body(awaiting, reference="SBX-RACE", ntpn="RACENTPN00000001")

    outcomes = together(*(deliver(body) for _ in range(THREADS)))

    assert all(kind == OK for kind, _ in outcomes), outcomes
    answers = Counter(answer for _, answer in outcomes)
    assert answers == {(200, "applied"): 1, (200, "duplicate"): THREADS - 1}, outcomes

    bill = Bill.objects.get(pk=awaiting.pk)
    assert bill.status == Bill.Status.PAID
    assert bill.ntpn == "RACENTPN00000001"
    assert bill.needs_review is False
    payment = Payment.objects.get()
    assert payment.state == Payment.State.SETTLED
    assert payment.bill_id == bill.pk
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.APPLIED

    application = Application.objects.get(pk=bill.application_id)
    assert application.status == Status.PAID
    paid = StatusEvent.objects.get(application=application, to_status=Status.PAID)

    # The receipt is rendered after commit (tasks inline): once, with one email row.
    receipt = PaymentReceipt.objects.get()
    assert receipt.bill_id == bill.pk
    assert Notification.objects.filter(event="payment.paid").count() == 1
    assert Notification.objects.get(event="payment.paid").channel == Channel.EMAIL

    told = Notification.objects.filter(
        recipient=ani,
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(paid.pk),
    )
    assert sorted(told.values_list("channel", flat=True)) == [Channel.PORTAL, Channel.SMS]
    every_paid_event = StatusEvent.objects.filter(to_status=Status.PAID).values_list("pk")
    assert (
        Notification.objects.filter(
            event="application.status_changed",
            channel=Channel.PORTAL,
            related_id__in=[str(pk) for (pk,) in every_paid_event],
        ).count()
        == 1
    )


def test_five_different_payments_at_once_settle_one_and_hold_the_rest(awaiting):
    bodies = [
        paid_body(
            awaiting,
            reference=f"SBX-{uuid.uuid4().hex[:10].upper()}",
            ntpn=f"DIFFNTPN0000000{number}",
        )
        for number in range(THREADS)
    ]

    outcomes = together(*(deliver(body) for body in bodies))

    assert all(kind == OK for kind, _ in outcomes), outcomes
    answers = Counter(answer for _, answer in outcomes)
    assert answers == {(200, "applied"): 1, (200, "held"): THREADS - 1}, outcomes

    bill = Bill.objects.get(pk=awaiting.pk)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is True
    with translation.override("id"):
        assert bill.review_note == services._hold_note(services.HOLD_TWICE, bill, None)
    states = Counter(Payment.objects.filter(bill=bill).values_list("state", flat=True))
    assert states == {Payment.State.SETTLED: 1, Payment.State.HELD: THREADS - 1}
    settled = Payment.objects.get(bill=bill, state=Payment.State.SETTLED)
    assert bill.ntpn == settled.ntpn
    details = Counter(WebhookEvent.objects.values_list("outcome", "detail"))
    assert details == {
        (WebhookEvent.Outcome.APPLIED, "paid"): 1,
        (WebhookEvent.Outcome.HELD, "paid twice"): THREADS - 1,
    }
    assert StatusEvent.objects.filter(to_status=Status.PAID).count() == 1
    assert PaymentReceipt.objects.count() == 1
    assert Notification.objects.filter(event="payment.paid").count() == 1
