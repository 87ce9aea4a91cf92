"""The sandbox gateway's webhook (POST /pembayaran/webhook/sandbox/): a genuine
"paid" notification settles the bill once; everything else (forged, stale,
unreadable, too large, for another amount, late, twice, out of order) is
refused or held for review and changes nothing it should not."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from unittest import mock

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from applications import services as application_services
from applications import workflow
from applications.models import Application, StatusEvent
from applications.workflow import Status
from notifications.models import Channel, Notification
from payments import services
from payments.gateways import sandbox as sandbox_gateway
from payments.models import Bill, Payment, PaymentReceipt, WebhookEvent
from tests.applications.conftest import complete_draft
from tests.payments.conftest import SECRET, application_of, fresh, paid_body, post_webhook, result

pytestmark = pytest.mark.django_db

WEBHOOK = reverse("payments:webhook", args=["sandbox"])


def note(reason: str, bill: Bill, paid: int | None = None) -> str:
    """The review note an officer reads, in the portal's default language."""
    with translation.override("id"):
        return services._hold_note(reason, bill, paid)


def counts() -> dict[str, int]:
    """What a notification could have written."""
    return {
        "payments": Payment.objects.count(),
        "status_events": StatusEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "webhook_events": WebhookEvent.objects.count(),
        "receipts": PaymentReceipt.objects.count(),
    }


def body_with(bill: Bill, **fields) -> bytes:
    """`paid_body` with some fields removed (given as None) or replaced."""
    data = json.loads(paid_body(bill))
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return json.dumps(data).encode()


def assert_unpaid_and_awaiting(bill: Bill) -> None:
    bill = fresh(bill)
    assert bill.status == Bill.Status.UNPAID
    assert bill.ntpn == ""
    assert bill.paid_at is None
    assert not Payment.objects.filter(bill=bill, state=Payment.State.SETTLED).exists()
    application = application_of(bill)
    assert application.status == Status.AWAITING_PAYMENT
    assert not StatusEvent.objects.filter(application=application, to_status=Status.PAID).exists()


# --- A genuine payment ---------------------------------------------------------------


def test_a_genuine_paid_notification_is_applied(client, awaiting):
    paid_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=3)
    body = paid_body(
        awaiting,
        reference="SBX-ONE",
        ntpn="ab12cd34ef56gh78",
        method="qris",
        paid_at=paid_at.isoformat(),
    )

    response = post_webhook(client, body)

    assert response.status_code == 200
    assert result(response) == "applied"


def test_a_genuine_paid_notification_pays_the_bill_with_its_ntpn_method_and_time(client, awaiting):
    paid_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=3)
    body = paid_body(awaiting, ntpn="ab12cd34ef56gh78", method="qris", paid_at=paid_at.isoformat())

    post_webhook(client, body)

    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.ntpn == "AB12CD34EF56GH78"
    assert bill.method == "qris"
    assert bill.paid_at == paid_at
    assert bill.provider == "sandbox"
    assert bill.closed_at is not None
    assert bill.needs_review is False


def test_a_genuine_paid_notification_records_one_settled_payment(client, awaiting):
    paid_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    body = paid_body(
        awaiting, reference="SBX-REF-1", ntpn="NTPN000000000001", paid_at=paid_at.isoformat()
    )

    post_webhook(client, body)

    payment = Payment.objects.get(bill=awaiting)
    assert payment.state == Payment.State.SETTLED
    assert payment.amount == awaiting.amount == 950_000
    assert payment.ntpn == "NTPN000000000001"
    assert payment.method == "va_bri"
    assert payment.paid_at == paid_at
    assert payment.provider == "sandbox"
    assert payment.provider_reference == "SBX-REF-1"
    assert payment.recorded_by is None


def test_a_genuine_paid_notification_moves_the_application_to_paid_once_by_the_system(
    client, awaiting
):
    post_webhook(client, paid_body(awaiting))

    application = application_of(awaiting)
    assert application.status == Status.PAID
    event = StatusEvent.objects.get(application=application, to_status=Status.PAID)
    assert event.from_status == Status.AWAITING_PAYMENT
    assert event.by is None
    assert event.actor == workflow.SYSTEM


def test_a_genuine_paid_notification_tells_the_applicant_in_the_portal(client, awaiting, ani):
    post_webhook(client, paid_body(awaiting))

    event = StatusEvent.objects.get(application_id=awaiting.application_id, to_status=Status.PAID)
    told = Notification.objects.filter(
        recipient=ani,
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(event.pk),
    )
    # The email is the receipt message, sent once the PDF is rendered.
    assert sorted(told.values_list("channel", flat=True)) == [Channel.PORTAL, Channel.SMS]
    portal = told.get(channel=Channel.PORTAL)
    assert portal.status == Notification.Status.DELIVERED
    assert application_of(awaiting).reference in portal.body


def test_the_decision_is_kept_on_the_stored_notification(client, awaiting):
    body = paid_body(awaiting, reference="SBX-KEPT")

    post_webhook(client, body)

    event = WebhookEvent.objects.get()
    assert event.provider == "sandbox"
    assert event.event_id == "SBX-KEPT:paid"
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert event.bill == awaiting
    assert event.billing_code == awaiting.code
    assert event.amount == awaiting.amount
    assert event.status == "paid"
    assert event.body == body.decode()
    assert event.processed_at is not None


def test_after_commit_the_payment_receipt_is_rendered_and_emailed_once(
    client, awaiting, ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, paid_body(awaiting))

    assert result(response) == "applied"
    receipt = PaymentReceipt.objects.get(bill=awaiting)
    assert receipt.file.name.endswith(f"{awaiting.code}.pdf")
    assert len(receipt.sha256) == 64
    paid_mail = Notification.objects.get(event="payment.paid", recipient=ani)
    assert paid_mail.channel == Channel.EMAIL
    assert paid_mail.attachment == receipt.file.name
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ani@example.id"]
    assert [name for name, _content, _type in message.attachments] == [
        f"bukti-pembayaran-{awaiting.code}.pdf"
    ]
    assert message.attachments[0][1][:5] == b"%PDF-"


# --- Duplicates ------------------------------------------------------------------------


def test_the_same_notification_again_answers_duplicate_and_changes_nothing(
    client, awaiting, django_capture_on_commit_callbacks
):
    body = paid_body(awaiting)
    with django_capture_on_commit_callbacks(execute=True):
        assert result(post_webhook(client, body)) == "applied"
    before = counts()
    sent = len(mail.outbox)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_webhook(client, body)

    assert response.status_code == 200
    assert result(response) == "duplicate"
    assert counts() == before
    assert len(mail.outbox) == sent
    assert callbacks == []
    assert fresh(awaiting).status == Bill.Status.PAID


def test_a_redelivery_with_the_same_event_id_but_other_content_is_a_duplicate(client, awaiting):
    first = paid_body(awaiting, reference="SBX-SAME", ntpn="FIRSTNTPN0000001")
    post_webhook(client, first)
    before = counts()

    again = paid_body(awaiting, reference="SBX-SAME", ntpn="OTHERNTPN0000002", amount=1)
    response = post_webhook(client, again)

    assert result(response) == "duplicate"
    assert counts() == before
    assert fresh(awaiting).ntpn == "FIRSTNTPN0000001"
    assert fresh(awaiting).needs_review is False


# --- Signatures --------------------------------------------------------------------------


def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(client, awaiting, caplog):
    body = paid_body(awaiting)
    forged = sandbox_gateway.sign(body, secret="not-the-secret")

    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post_webhook(client, body, signature=forged)

    assert response.status_code == 401
    assert result(response) == "signature"
    assert WebhookEvent.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)
    refused = [r for r in caplog.records if r.name == "django.security.payments"]
    assert len(refused) == 1
    assert refused[0].levelno == logging.WARNING
    assert "does not match" in refused[0].getMessage()


def test_a_body_changed_after_signing_is_refused(client, awaiting):
    body = paid_body(awaiting)
    signature = sandbox_gateway.sign(body, secret=SECRET)
    tampered = body.replace(str(awaiting.amount).encode(), b"1")

    response = post_webhook(client, tampered, signature=signature)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("offset", [-300, 300], ids=["300s-old", "300s-ahead"])
def test_a_signature_exactly_five_minutes_old_or_ahead_is_accepted(
    client, awaiting, time_machine, offset
):
    stamp = int(timezone.now().timestamp()) + 1
    time_machine.move_to(dt.datetime.fromtimestamp(stamp, dt.UTC), tick=False)
    body = paid_body(awaiting)
    signature = sandbox_gateway.sign(body, timestamp=stamp + offset, secret=SECRET)

    response = post_webhook(client, body, signature=signature)

    assert response.status_code == 200
    assert result(response) == "applied"


@pytest.mark.parametrize(
    "offset", [-301, -3600, 301, 3600], ids=["301s-old", "1h-old", "301s-ahead", "1h-ahead"]
)
def test_a_signature_outside_five_minutes_is_refused(
    client, awaiting, caplog, time_machine, offset
):
    stamp = int(timezone.now().timestamp()) + 1
    time_machine.move_to(dt.datetime.fromtimestamp(stamp, dt.UTC), tick=False)
    body = paid_body(awaiting)
    stamp += offset
    signature = sandbox_gateway.sign(body, timestamp=stamp, secret=SECRET)

    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post_webhook(client, body, signature=signature)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)
    assert any(
        r.name == "django.security.payments" and "tolerance" in r.getMessage()
        for r in caplog.records
    )


def test_a_notification_without_the_signature_header_is_refused(client, awaiting, caplog):
    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = client.post(WEBHOOK, data=paid_body(awaiting), content_type="application/json")

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)
    assert [r.name for r in caplog.records].count("django.security.payments") == 1


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00"])
def test_an_unreadable_signature_header_is_refused(client, awaiting, header):
    response = post_webhook(client, paid_body(awaiting), signature=header)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_a_signature_with_non_ascii_characters_is_refused_with_401(awaiting, caplog):
    from django.test import Client

    client = Client(raise_request_exception=False)
    body = paid_body(awaiting)
    stamp = int(timezone.now().timestamp())

    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post_webhook(client, body, signature=f"t={stamp},v1=\u00e9\u00e9")

    assert WebhookEvent.objects.count() == 0
    assert response.status_code == 401
    assert [r.name for r in caplog.records].count("django.security.payments") == 1


# --- Unreadable notifications ------------------------------------------------------


MALFORMED = {
    "not JSON": lambda bill: b"paid, honestly",
    "a JSON list": lambda bill: json.dumps([paid_body(bill).decode()]).encode(),
    "no billing code": lambda bill: body_with(bill, billing_code=None),
    "no amount": lambda bill: body_with(bill, amount=None),
    "no event id": lambda bill: body_with(bill, event_id=None),
    "no status": lambda bill: body_with(bill, status=None),
    "amount as a string": lambda bill: body_with(bill, amount=str(bill.amount)),
    "amount as a float": lambda bill: body_with(bill, amount=float(bill.amount)),
    "amount as true": lambda bill: body_with(bill, amount=True),
    "paid_at without offset": lambda bill: body_with(bill, paid_at="2026-11-22T10:15:00"),
    "paid_at not a date": lambda bill: body_with(bill, paid_at="yesterday"),
    "empty event id": lambda bill: body_with(bill, event_id=""),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_but_unreadable_notification_answers_400_and_stores_nothing(
    client, awaiting, make
):
    response = post_webhook(client, make(awaiting))

    assert response.status_code == 400
    assert result(response) == "malformed"
    assert WebhookEvent.objects.count() == 0
    assert Payment.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)


# --- Money that cannot settle the bill -----------------------------------------------


def test_money_for_an_unknown_billing_code_is_held_without_a_payment(client, awaiting):
    body = paid_body(awaiting, billing_code="123456789012344")

    response = post_webhook(client, body)

    assert response.status_code == 200
    assert result(response) == "held"
    assert Payment.objects.count() == 0
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.HELD
    assert event.detail == "unknown billing code"
    assert event.bill is None
    assert_unpaid_and_awaiting(awaiting)
    assert fresh(awaiting).needs_review is False


def test_a_billing_code_written_with_spaces_is_read_as_the_same_code(client, awaiting):
    grouped = awaiting.code_display  # "1234 5678 9012 345"

    response = post_webhook(client, paid_body(awaiting, billing_code=grouped))

    assert result(response) == "applied"
    assert fresh(awaiting).status == Bill.Status.PAID


@pytest.mark.parametrize("difference", [-1, 1], ids=["one-rupiah-less", "one-rupiah-more"])
def test_another_amount_is_held_for_review_and_the_bill_stays_unpaid(client, awaiting, difference):
    amount = awaiting.amount + difference
    body = paid_body(awaiting, amount=amount, reference="SBX-WRONG")

    response = post_webhook(client, body)

    assert response.status_code == 200
    assert result(response) == "held"
    assert_unpaid_and_awaiting(awaiting)
    bill = fresh(awaiting)
    assert bill.needs_review is True
    assert bill.review_note == note(services.HOLD_AMOUNT, bill, amount)
    assert "Rp 950.000" in bill.review_note
    held = Payment.objects.get(bill=bill)
    assert held.state == Payment.State.HELD
    assert held.amount == amount
    assert held.provider_reference == "SBX-WRONG"
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.HELD


def test_money_paid_after_the_bill_expired_is_held(client, awaiting):
    paid_at = awaiting.expires_at + dt.timedelta(minutes=1)

    response = post_webhook(client, paid_body(awaiting, paid_at=paid_at.isoformat()))

    assert result(response) == "held"
    assert_unpaid_and_awaiting(awaiting)
    bill = fresh(awaiting)
    assert bill.needs_review is True
    assert bill.review_note == note(services.HOLD_LATE, bill)
    assert Payment.objects.get(bill=bill).state == Payment.State.HELD


def test_money_for_a_bill_whose_expiry_passed_unnoticed_is_held(client, awaiting):
    Bill.objects.filter(pk=awaiting.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=5))

    response = post_webhook(client, paid_body(awaiting))

    assert result(response) == "held"
    assert fresh(awaiting).status == Bill.Status.UNPAID
    assert fresh(awaiting).review_note == note(services.HOLD_LATE, awaiting)


def test_money_paid_in_time_but_delivered_after_expiry_settles(client, awaiting):
    paid_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=10)
    Bill.objects.filter(pk=awaiting.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=5))

    response = post_webhook(client, paid_body(awaiting, paid_at=paid_at.isoformat()))

    assert result(response) == "applied"
    assert fresh(awaiting).status == Bill.Status.PAID
    assert application_of(awaiting).status == Status.PAID


def test_money_for_a_cancelled_bill_is_held_for_refund_review(client, awaiting, ani):
    application = application_of(awaiting)
    workflow.transition(application, Status.CANCELLED, by=ani)
    assert fresh(awaiting).status == Bill.Status.CANCELLED

    response = post_webhook(client, paid_body(awaiting, reference="SBX-LATE"))

    assert result(response) == "held"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.CANCELLED
    assert bill.needs_review is True
    assert bill.review_note == note(services.HOLD_CLOSED, bill)
    held = Payment.objects.get(bill=bill)
    assert held.state == Payment.State.HELD
    assert held.provider_reference == "SBX-LATE"
    assert application_of(awaiting).status == Status.CANCELLED
    assert not StatusEvent.objects.filter(to_status=Status.PAID).exists()


def test_the_review_note_for_a_cancelled_bill_is_in_one_language(client, awaiting, ani):
    workflow.transition(application_of(awaiting), Status.CANCELLED, by=ani)

    post_webhook(client, paid_body(awaiting))

    bill = fresh(awaiting)
    with translation.override("id"):
        cancelled = str(Bill.Status.CANCELLED.label)
    assert bill.review_note == note(services.HOLD_CLOSED, bill)
    assert f"“{cancelled}”" in bill.review_note


def test_money_paid_in_time_for_a_bill_expired_meanwhile_settles_it(client, awaiting):
    """The bank took the money before the code ran out; its news came after the expiry run."""
    later = awaiting.expires_at + dt.timedelta(minutes=1)
    assert services.bills_expire(now=later) == 1
    assert application_of(awaiting).status == Status.EXPIRED
    paid_at = awaiting.expires_at - dt.timedelta(minutes=1)

    response = post_webhook(client, paid_body(awaiting, paid_at=paid_at.isoformat()))

    assert result(response) == "applied"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.paid_at == paid_at
    assert bill.needs_review is False
    assert Payment.objects.get(bill=bill).state == Payment.State.SETTLED
    assert application_of(awaiting).status == Status.PAID
    (event,) = StatusEvent.objects.filter(to_status=Status.PAID)
    assert event.from_status == Status.EXPIRED


def test_money_paid_in_time_for_an_expired_bill_already_reissued_is_held(client, awaiting, ani):
    later = awaiting.expires_at + dt.timedelta(minutes=1)
    services.bills_expire(now=later)
    application = application_of(awaiting)
    with time_machine.travel(later + dt.timedelta(minutes=1)):
        services.bill_reissue(application=application, by=ani)
    paid_at = awaiting.expires_at - dt.timedelta(minutes=1)

    response = post_webhook(client, paid_body(awaiting, paid_at=paid_at.isoformat()))

    assert result(response) == "held"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.EXPIRED
    assert bill.needs_review is True
    assert bill.review_note == note(services.HOLD_CLOSED, bill)
    assert Payment.objects.get(bill=bill).state == Payment.State.HELD
    assert application_of(awaiting).status == Status.AWAITING_PAYMENT


def test_a_second_payment_for_a_paid_bill_is_held_as_paid_twice(client, awaiting):
    post_webhook(client, paid_body(awaiting, reference="SBX-FIRST", ntpn="FIRSTNTPN0000001"))

    response = post_webhook(
        client, paid_body(awaiting, reference="SBX-SECOND", ntpn="SECONDNTPN000002")
    )

    assert response.status_code == 200
    assert result(response) == "held"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.ntpn == "FIRSTNTPN0000001"
    assert bill.needs_review is True
    assert bill.review_note == note(services.HOLD_TWICE, bill)
    settled = Payment.objects.get(bill=bill, state=Payment.State.SETTLED)
    assert settled.provider_reference == "SBX-FIRST"
    held = Payment.objects.get(bill=bill, state=Payment.State.HELD)
    assert held.provider_reference == "SBX-SECOND"
    assert StatusEvent.objects.filter(to_status=Status.PAID).count() == 1
    assert WebhookEvent.objects.get(event_id="SBX-SECOND:paid").detail == "paid twice"


def test_a_payment_without_an_ntpn_is_held(client, awaiting):
    response = post_webhook(client, paid_body(awaiting, ntpn=""))

    assert result(response) == "held"
    assert_unpaid_and_awaiting(awaiting)
    assert fresh(awaiting).needs_review is True
    assert Payment.objects.get().state == Payment.State.HELD


def test_a_payment_reusing_another_bills_ntpn_is_held(
    client, awaiting, ani, office_a, regular_passport_service
):
    other_application = complete_draft(ani, office_a, regular_passport_service)
    application_services.application_submit(application=other_application, by=ani, declaration=True)
    other = services.bill_issue(application_id=other_application.pk)
    assert other.pk != awaiting.pk
    post_webhook(client, paid_body(other, ntpn="SHAREDNTPN000001"))

    response = post_webhook(client, paid_body(awaiting, ntpn="SHAREDNTPN000001"))

    assert result(response) == "held"
    assert_unpaid_and_awaiting(awaiting)
    assert Payment.objects.filter(ntpn="SHAREDNTPN000001").count() == 1


# --- Out of order -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["failed", "pending", "expired"])
def test_a_later_non_paid_notification_after_paid_is_ignored(client, awaiting, status):
    post_webhook(client, paid_body(awaiting, reference="SBX-ORDER"))
    before = counts()

    response = post_webhook(
        client,
        paid_body(awaiting, reference="SBX-ORDER", event_id=f"SBX-ORDER:{status}", status=status),
    )

    assert response.status_code == 200
    assert result(response) == "ignored"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is False
    assert application_of(awaiting).status == Status.PAID
    assert counts() == {**before, "webhook_events": before["webhook_events"] + 1}


def test_a_failed_notification_before_paid_is_ignored_and_the_paid_one_then_applies(
    client, awaiting
):
    failed = paid_body(
        awaiting, reference="SBX-RETRY", event_id="SBX-RETRY-1:failed", status="failed", ntpn=""
    )
    assert result(post_webhook(client, failed)) == "ignored"
    assert_unpaid_and_awaiting(awaiting)
    assert Payment.objects.count() == 0

    response = post_webhook(client, paid_body(awaiting, reference="SBX-RETRY-2"))

    assert result(response) == "applied"
    assert fresh(awaiting).status == Bill.Status.PAID
    assert application_of(awaiting).status == Status.PAID


# --- The endpoint itself ------------------------------------------------------------


def test_a_body_over_64_kb_is_refused_with_413(client, awaiting):
    body = body_with(awaiting, padding="x" * (64 * 1024))

    response = post_webhook(client, body)

    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)


def test_a_body_of_exactly_64_kb_is_read(client, awaiting):
    body = body_with(awaiting, padding="")
    body = body_with(awaiting, padding="x" * (64 * 1024 - len(body)))
    assert len(body) == 64 * 1024

    response = post_webhook(client, body)

    assert response.status_code == 200
    assert result(response) == "applied"


def test_get_is_not_allowed(client, awaiting):
    response = client.get(WEBHOOK)

    assert response.status_code == 405
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize("provider", ["midtrans", "paypal"])
def test_a_gateway_that_is_not_configured_has_no_webhook(client, awaiting, provider):
    response = post_webhook(client, paid_body(awaiting), provider=provider)

    assert response.status_code == 404
    assert WebhookEvent.objects.count() == 0
    assert_unpaid_and_awaiting(awaiting)


def test_the_webhook_needs_no_csrf_token(awaiting):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = post_webhook(strict, paid_body(awaiting))

    assert response.status_code == 200
    assert result(response) == "applied"


# --- While the officer waits for a fix --------------------------------------------------


def test_money_arriving_during_a_revision_settles_the_bill_and_resumes_to_paid(
    client, awaiting, budi
):
    application = application_of(awaiting)
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    application.refresh_from_db()
    assert application.resume_status == Status.AWAITING_PAYMENT
    events_before = StatusEvent.objects.filter(application=application).count()

    response = post_webhook(client, paid_body(awaiting))

    assert result(response) == "applied"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert Payment.objects.get(bill=bill).state == Payment.State.SETTLED
    application.refresh_from_db()
    assert application.status == Status.REVISION_REQUESTED
    assert application.resume_status == Status.PAID
    assert StatusEvent.objects.filter(application=application).count() == events_before


def test_after_such_a_revision_the_citizen_resubmits_to_paid(client, awaiting, budi, ani):
    application = application_of(awaiting)
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    post_webhook(client, paid_body(awaiting))
    application.refresh_from_db()

    workflow.transition(application, Status.PAID, by=ani)

    application.refresh_from_db()
    assert application.status == Status.PAID
    assert application.resume_status == ""


def test_money_during_a_revision_from_another_status_is_held(client, awaiting, budi):
    """Only an application that was awaiting payment may be paid while in revision."""
    application = application_of(awaiting)
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    Application.objects.filter(pk=application.pk).update(resume_status=Status.SUBMITTED)

    response = post_webhook(client, paid_body(awaiting))

    assert result(response) == "held"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.UNPAID
    assert bill.review_note == note(services.HOLD_CLOSED, bill)
    assert Payment.objects.get(bill=bill).state == Payment.State.HELD


def test_the_event_id_is_not_taken_by_a_forged_request(client, awaiting):
    """A forged notification stores nothing, so the genuine one with its id still applies."""
    body = paid_body(awaiting, reference="SBX-TAKEN")
    post_webhook(client, body, signature=sandbox_gateway.sign(body, secret="forger"))

    response = post_webhook(client, body)

    assert result(response) == "applied"
    assert WebhookEvent.objects.get().event_id == "SBX-TAKEN:paid"


def test_an_event_id_is_unique_per_gateway_only(client, awaiting):
    WebhookEvent.objects.create(
        provider="midtrans", event_id="SBX-SHARED:paid", body="{}", outcome="ignored"
    )

    response = post_webhook(client, paid_body(awaiting, reference="SBX-SHARED"))

    assert result(response) == "applied"


def test_another_event_for_a_gateway_reference_already_recorded_is_ignored(client, awaiting):
    """Two events of one gateway reference: the second is not a second payment."""
    reference = f"SBX-{uuid.uuid4().hex[:8].upper()}"
    post_webhook(client, paid_body(awaiting, reference=reference))

    response = post_webhook(
        client, paid_body(awaiting, reference=reference, event_id=f"{reference}:paid-again")
    )

    assert result(response) == "ignored"
    assert Payment.objects.count() == 1
    assert fresh(awaiting).needs_review is False


def test_with_a_worker_a_notification_is_acknowledged_and_queued_once(client, awaiting, settings):
    """Not inline: the answer is "received" and one task decides; a copy queues nothing more."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    body = paid_body(awaiting)

    with mock.patch("payments.tasks.process_webhook.delay") as queued:
        first = post_webhook(client, body)
        second = post_webhook(client, body)

    assert (first.status_code, result(first)) == (200, "received")
    assert (second.status_code, result(second)) == (200, "received")
    (event,) = WebhookEvent.objects.all()
    queued.assert_called_once_with(event.pk)
    assert event.outcome == WebhookEvent.Outcome.RECEIVED
    assert fresh(awaiting).status == Bill.Status.UNPAID  # decided by the worker, not here


def test_with_the_broker_down_a_stored_notification_is_still_acknowledged(
    client, awaiting, settings
):
    """The event is kept; reconciliation decides it later, so the gateway need not resend."""
    settings.CELERY_TASK_ALWAYS_EAGER = False

    with mock.patch(
        "payments.tasks.process_webhook.delay", side_effect=OSError("broker unreachable")
    ):
        response = post_webhook(client, paid_body(awaiting))

    assert (response.status_code, result(response)) == (200, "received")
    (event,) = WebhookEvent.objects.all()
    assert event.outcome == WebhookEvent.Outcome.RECEIVED
