"""Money handled by hand is recorded: payments, refunds, closed reviews, proof downloads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from applications import workflow
from applications.workflow import Status
from audit.models import AuditEntry
from payments import services
from payments.models import Bill, Payment
from tests.applications.conftest import png_bytes
from tests.payments.conftest import (  # noqa: F401 (fixtures)
    _sandbox_gateway,
    awaiting,
    paid_body,
    post_webhook,
)

from .conftest import ADDRESS, assert_no_personal_data, entries, only_entry

pytestmark = pytest.mark.django_db

NTPN = "0A1B2C3D4E5F6G7H"
REASON = "Dibayar di teller oleh Ani Lestari, NIK 1802015205900001."


@pytest.fixture
def issued_yesterday(awaiting) -> Bill:  # noqa: F811
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=timezone.now() - dt.timedelta(days=1))
    return Bill.objects.get(pk=awaiting.pk)


def typed_an_hour_ago() -> str:
    moment = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_a_payment_recorded_by_hand_is_recorded(client, budi, ani, issued_yesterday):
    client.force_login(budi)
    bill = issued_yesterday

    response = client.post(
        reverse("admin:payments_bill_record", args=[bill.pk]),
        {"method": "manual", "ntpn": NTPN, "paid_at": typed_an_hour_ago(), "reason": REASON},
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 302
    payment = Payment.objects.get(bill=bill)
    entry = only_entry("payment_recorded")
    assert (entry.actor, entry.actor_role, entry.ip) == (budi, "officer", ADDRESS)
    assert entry.office_id == bill.application.office_id
    assert (entry.object_type, entry.object_id) == ("payments.payment", str(payment.pk))
    assert entry.object_label == f"{bill.application.reference} {bill.code}"
    assert entry.detail == {
        "bill": bill.code,
        "amount": bill.amount,
        "method": "manual",
        "ntpn": NTPN,
    }
    assert_no_personal_data(entry, ani)
    # The move to paid is an officer's move too.
    assert only_entry("status_move").detail["to"] == Status.PAID


def test_a_refused_payment_leaves_no_entry(client, budi, issued_yesterday):
    client.force_login(budi)

    response = client.post(
        reverse("admin:payments_bill_record", args=[issued_yesterday.pk]),
        {"method": "manual", "ntpn": "too-short", "paid_at": typed_an_hour_ago(), "reason": "x"},
    )

    assert response.status_code == 400
    assert not entries("payment_recorded").exists()


@pytest.fixture
def settled(client, awaiting) -> Payment:  # noqa: F811
    assert post_webhook(client, paid_body(awaiting)).json()["result"] == "applied"
    return Payment.objects.get(bill=awaiting, state=Payment.State.SETTLED)


def test_a_payment_reported_by_the_gateway_is_not_a_staff_action(settled):
    assert not AuditEntry.objects.exists()


def test_a_refund_is_recorded(client, dewi, budi, ani, settled):
    bill = settled.bill
    workflow.transition(bill.application, Status.REJECTED, by=budi, note="Dokumen palsu.")
    client.force_login(dewi)

    response = client.post(
        reverse("admin:payments_bill_refund", args=[bill.pk, settled.pk]),
        {"amount": settled.amount, "reason": REASON, "reference": "TRF-2026-0002"},
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 302
    entry = only_entry("refund_recorded")
    assert (entry.actor, entry.actor_role, entry.ip) == (dewi, "supervisor", ADDRESS)
    assert entry.office_id == bill.application.office_id
    assert entry.object_type == "payments.refund"
    assert entry.detail == {"bill": bill.code, "amount": settled.amount, "payment": settled.pk}
    assert_no_personal_data(entry, ani)


def test_closing_a_review_is_recorded(client, awaiting, budi, dewi):  # noqa: F811
    held_response = post_webhook(client, paid_body(awaiting, amount=awaiting.amount - 1000))
    assert held_response.json()["result"] == "held"
    held = Payment.objects.get(bill=awaiting, state=Payment.State.HELD)
    services.refund_record(payment=held, by=dewi, amount=held.amount, reason="Kurang bayar.")

    services.review_clear(bill=Bill.objects.get(pk=awaiting.pk), by=budi, note="Sudah dicek.")

    entry = only_entry("payment_review_closed")
    assert (entry.actor, entry.office_id) == (budi, awaiting.application.office_id)
    assert entry.detail == {"bill": awaiting.code}


def test_downloading_the_bank_proof_is_recorded(client, budi, issued_yesterday):
    client.force_login(budi)
    bill = issued_yesterday
    client.post(
        reverse("admin:payments_bill_record", args=[bill.pk]),
        {
            "method": "teller",
            "ntpn": NTPN,
            "paid_at": typed_an_hour_ago(),
            "reason": "Teller BRI.",
            "proof": SimpleUploadedFile("bukti.png", png_bytes(), content_type="image/png"),
        },
    )
    payment = Payment.objects.get(bill=bill)

    response = client.get(
        reverse("admin:payments_bill_proof", args=[bill.pk, payment.pk]), REMOTE_ADDR=ADDRESS
    )

    assert response.status_code == 200
    entry = only_entry("document_downloaded")
    assert (entry.actor, entry.ip, entry.office_id) == (budi, ADDRESS, bill.application.office_id)
    assert (entry.object_type, entry.object_id) == ("payments.payment", str(payment.pk))
