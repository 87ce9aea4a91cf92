"""The sandbox gateway: its signature (HMAC-SHA256 over "t.body", five minutes
either way, compared in constant time), what it answers when asked about a
bill, and reconciliation recovering a payment whose webhook was lost, also
just before the bill would expire."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from unittest import mock

import pytest
from django.utils import timezone

from applications.models import Application, StatusEvent
from applications.workflow import Status
from payments import sandbox, services, tasks, webhooks
from payments.gateways import base, get_gateway
from payments.gateways import sandbox as sandbox_gateway
from payments.gateways.sandbox import SandboxGateway, sign, verify
from payments.models import Bill, Payment, SandboxTransaction, WebhookEvent
from tests.payments.conftest import SECRET, fresh, paid_body, post_webhook

BODY = b'{"event_id": "SBX-1:paid", "amount": 950000}'
T = 1_795_000_000  # a fixed signing time (November 2026)


def v1(header: str) -> str:
    return dict(item.split("=", 1) for item in header.split(","))["v1"]


# --- sign / verify -------------------------------------------------------------------


def test_sign_is_hmac_sha256_of_timestamp_dot_body_with_the_secret():
    header = sign(BODY, timestamp=T, secret=SECRET)

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={expected}"


def test_sign_uses_the_configured_secret_and_the_current_time(settings, time_machine):
    time_machine.move_to(dt.datetime.fromtimestamp(T, dt.UTC), tick=False)

    assert sign(BODY) == sign(BODY, timestamp=T, secret=SECRET)
    assert settings.SANDBOX_WEBHOOK_SECRET == SECRET


def test_a_fresh_signature_is_accepted():
    assert verify(BODY, sign(BODY, timestamp=T, secret=SECRET), now=T + 1) is None


@pytest.mark.parametrize("age", [-300, 0, 300], ids=["300s-ahead", "now", "300s-old"])
def test_a_signature_up_to_300_seconds_either_way_is_accepted(age):
    verify(BODY, sign(BODY, timestamp=T, secret=SECRET), now=T + age)


@pytest.mark.parametrize("age", [-301, 301, 86_400], ids=["301s-ahead", "301s-old", "a-day-old"])
def test_a_signature_beyond_300_seconds_is_refused(age):
    with pytest.raises(base.SignatureError, match="tolerance"):
        verify(BODY, sign(BODY, timestamp=T, secret=SECRET), now=T + age)


def test_the_tolerance_is_checked_against_the_clock_without_now(time_machine):
    header = sign(BODY, timestamp=T, secret=SECRET)
    time_machine.move_to(dt.datetime.fromtimestamp(T + 301, dt.UTC), tick=False)

    with pytest.raises(base.SignatureError):
        verify(BODY, header)


def test_a_tampered_body_is_refused():
    header = sign(BODY, timestamp=T, secret=SECRET)

    with pytest.raises(base.SignatureError, match="does not match"):
        verify(BODY.replace(b"950000", b"950001"), header, now=T)


def test_a_replayed_signature_with_a_new_timestamp_is_refused():
    """Moving the timestamp into the window breaks the signature, which covers it."""
    old = sign(BODY, timestamp=T - 3600, secret=SECRET)

    with pytest.raises(base.SignatureError, match="does not match"):
        verify(BODY, f"t={T},v1={v1(old)}", now=T)


def test_a_signature_made_with_another_secret_is_refused():
    with pytest.raises(base.SignatureError, match="does not match"):
        verify(BODY, sign(BODY, timestamp=T, secret="someone-else"), now=T)


@pytest.mark.parametrize(
    "header",
    ["", f"t={T}", f"t={T},v2=abc", "v1=abc", "t=soon,v1=abc", "t", None],
    ids=["empty", "no-v1", "v2-only", "no-t", "t-not-a-number", "no-equals", "none"],
)
def test_an_unreadable_header_is_refused(header):
    with pytest.raises(base.SignatureError, match="unreadable"):
        verify(BODY, header, now=T)


def test_the_signatures_are_compared_in_constant_time():
    header = sign(BODY, timestamp=T, secret="someone-else")
    expected = v1(sign(BODY, timestamp=T, secret=SECRET))

    with (
        mock.patch.object(
            sandbox_gateway.hmac, "compare_digest", wraps=hmac.compare_digest
        ) as compare,
        pytest.raises(base.SignatureError),
    ):
        verify(BODY, header, now=T)

    compare.assert_called_once_with(expected.encode(), v1(header).encode())


def test_the_verdict_is_the_constant_time_comparisons():
    """Nothing else decides: a comparison saying equal lets a wrong signature through."""
    header = sign(BODY, timestamp=T, secret="someone-else")

    with mock.patch.object(sandbox_gateway.hmac, "compare_digest", return_value=True):
        verify(BODY, header, now=T)


# --- The gateway answering about a bill ---------------------------------------------------


def transaction_for(bill: Bill, *, status: str = "paid", **fields) -> SandboxTransaction:
    values = {
        "billing_code": bill.code,
        "reference": f"SBX-{SandboxTransaction.objects.count() + 1:020d}",
        "method": "va_bni",
        "amount": bill.amount,
        "status": status,
        "ntpn": sandbox.new_ntpn() if status == "paid" else "",
        "created_at": timezone.now() - dt.timedelta(minutes=30),
    }
    values.update(fields)
    return SandboxTransaction.objects.create(**values)


@pytest.mark.django_db
def test_the_status_of_a_bill_nobody_paid_is_pending(awaiting):
    found = SandboxGateway().status(awaiting)

    assert found.status == base.PENDING
    assert found.billing_code == awaiting.code
    assert found.amount == 0
    assert found.event_id == ""


@pytest.mark.django_db
def test_the_status_of_a_bill_whose_payment_failed_is_pending(awaiting):
    transaction_for(awaiting, status="failed")

    assert SandboxGateway().status(awaiting).status == base.PENDING


@pytest.mark.django_db
def test_the_status_of_a_paid_bill_reads_the_sandbox_ledger(awaiting):
    record = transaction_for(awaiting, method="qris", ntpn="LEDGERNTPN000001")

    found = SandboxGateway().status(awaiting)

    assert found.status == base.PAID
    assert found.billing_code == awaiting.code
    assert found.amount == awaiting.amount
    assert found.method == "qris"
    assert found.ntpn == "LEDGERNTPN000001"
    assert found.paid_at == record.created_at
    assert found.provider_reference == record.reference
    assert found.event_id == f"{record.reference}:paid"


@pytest.mark.django_db
def test_the_status_names_the_first_payment_when_there_are_two(awaiting):
    first = transaction_for(awaiting, created_at=timezone.now() - dt.timedelta(hours=2))
    transaction_for(awaiting, created_at=timezone.now() - dt.timedelta(hours=1))

    assert SandboxGateway().status(awaiting).provider_reference == first.reference


@pytest.mark.django_db
def test_a_stored_notification_is_read_again_without_its_signature(awaiting):
    body = paid_body(awaiting, reference="SBX-STORED", ntpn="STOREDNTPN000001")
    event = WebhookEvent(provider="sandbox", event_id="SBX-STORED:paid", body=body.decode())

    notification = SandboxGateway().read_stored(event)

    assert notification.event_id == "SBX-STORED:paid"
    assert notification.billing_code == awaiting.code
    assert notification.status == base.PAID
    assert notification.amount == awaiting.amount
    assert notification.ntpn == "STOREDNTPN000001"
    assert notification.provider_reference == "SBX-STORED"


def test_a_stored_notification_that_cannot_be_read_raises_malformed():
    with pytest.raises(base.MalformedNotification):
        SandboxGateway().read_stored(WebhookEvent(body="[1, 2]"))


def test_the_configured_gateway_is_the_sandbox(settings):
    assert isinstance(get_gateway(), SandboxGateway)
    settings.PAYMENT_GATEWAY = "nonsense"
    with pytest.raises(ValueError):
        get_gateway()


# --- Reconciliation: the lost webhook --------------------------------------------------


@pytest.fixture
def lost_payment(awaiting, monkeypatch, django_capture_on_commit_callbacks):
    """Ani paid on the sandbox bank page 30 minutes ago; its webhook never left."""
    posted = []
    monkeypatch.setattr(tasks.deliver_sandbox_notification, "delay", posted.append)
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=timezone.now() - dt.timedelta(minutes=45))
    with django_capture_on_commit_callbacks(execute=True):
        record = sandbox.sandbox_pay(bill=awaiting, method="va_mandiri", succeed=True)
    assert posted == [record.pk]  # the delivery task was handed the record, then lost
    SandboxTransaction.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=30)
    )
    record.refresh_from_db()
    assert Bill.objects.get(pk=awaiting.pk).status == Bill.Status.UNPAID
    return record


@pytest.mark.django_db
def test_reconcile_recovers_a_payment_whose_webhook_was_lost(awaiting, lost_payment):
    counts = webhooks.reconcile()

    assert counts == {"applied": 1}
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.ntpn == lost_payment.ntpn
    assert bill.method == "va_mandiri"
    assert bill.paid_at == lost_payment.created_at
    payment = Payment.objects.get()
    assert payment.state == Payment.State.SETTLED
    assert payment.provider == "sandbox"
    assert payment.provider_reference == lost_payment.reference
    application = Application.objects.get(pk=bill.application_id)
    assert application.status == Status.PAID
    assert StatusEvent.objects.filter(application=application, to_status=Status.PAID).count() == 1
    event = WebhookEvent.objects.get()
    assert event.event_id == f"status:{lost_payment.reference}"
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert event.bill == bill


@pytest.mark.django_db
def test_reconcile_bill_recovers_one_bill(awaiting, lost_payment):
    assert webhooks.reconcile_bill(fresh(awaiting)) == "applied"

    assert fresh(awaiting).status == Bill.Status.PAID
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_asking_again_about_a_recovered_bill_is_a_duplicate(awaiting, lost_payment):
    webhooks.reconcile_bill(fresh(awaiting))

    assert webhooks.reconcile_bill(fresh(awaiting)) == "duplicate"
    assert Payment.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_the_real_webhook_arriving_after_reconciliation_is_ignored(client, awaiting, lost_payment):
    webhooks.reconcile()

    response = post_webhook(client, sandbox_gateway.notification_body(lost_payment))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert Payment.objects.count() == 1
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is False
    late = WebhookEvent.objects.get(event_id=f"{lost_payment.reference}:paid")
    assert late.outcome == WebhookEvent.Outcome.IGNORED
    assert late.detail == "payment already recorded"


@pytest.mark.django_db
def test_reconcile_leaves_a_bill_nobody_paid_alone(awaiting):
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=timezone.now() - dt.timedelta(minutes=45))

    assert webhooks.reconcile() == {"unpaid": 1}
    assert fresh(awaiting).status == Bill.Status.UNPAID
    assert WebhookEvent.objects.count() == 0


@pytest.mark.django_db
def test_reconcile_does_not_ask_about_a_bill_issued_minutes_ago(awaiting, monkeypatch):
    asked = []
    monkeypatch.setattr(SandboxGateway, "status", lambda self, bill: asked.append(bill))

    assert webhooks.reconcile() == {}
    assert asked == []


@pytest.mark.django_db
def test_reconcile_counts_a_gateway_error_and_goes_on(awaiting, monkeypatch):
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=timezone.now() - dt.timedelta(minutes=45))

    def broken(self, bill):
        raise OSError("sandbox ledger unreachable")

    monkeypatch.setattr(SandboxGateway, "status", broken)

    assert webhooks.reconcile() == {"error": 1}
    assert fresh(awaiting).status == Bill.Status.UNPAID


@pytest.mark.django_db
def test_reconcile_finishes_a_stored_notification_left_undecided(awaiting):
    body = paid_body(awaiting, reference="SBX-WAITING", ntpn="WAITINGNTPN00001")
    WebhookEvent.objects.create(
        provider="sandbox",
        event_id="SBX-WAITING:paid",
        body=body.decode(),
        status="paid",
        billing_code=awaiting.code,
        amount=awaiting.amount,
        received_at=timezone.now() - dt.timedelta(minutes=15),
    )

    counts = webhooks.reconcile()

    assert counts == {"event_applied": 1}
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert fresh(awaiting).ntpn == "WAITINGNTPN00001"


@pytest.mark.django_db
def test_reconcile_sets_aside_a_stored_notification_it_cannot_read(awaiting):
    WebhookEvent.objects.create(
        provider="sandbox",
        event_id="SBX-BROKEN:paid",
        body="{not json",
        received_at=timezone.now() - dt.timedelta(minutes=15),
    )

    assert webhooks.reconcile() == {"event_unreadable": 1}
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.HELD
    assert event.detail == "cannot be read again"
    assert webhooks.reconcile() == {}  # not tried again forever
    assert fresh(awaiting).status == Bill.Status.UNPAID


# --- Expiring asks the gateway first --------------------------------------------------------


@pytest.mark.django_db
def test_a_paid_but_lost_sandbox_payment_is_settled_rather_than_expired(awaiting, lost_payment):
    after_expiry = fresh(awaiting).expires_at + dt.timedelta(minutes=1)

    expired = services.bills_expire(now=after_expiry)

    assert expired == 0
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.ntpn == lost_payment.ntpn
    application = Application.objects.get(pk=bill.application_id)
    assert application.status == Status.PAID
    assert not StatusEvent.objects.filter(to_status=Status.EXPIRED).exists()


@pytest.mark.django_db
def test_an_unpaid_bill_past_expiry_expires_with_its_application(awaiting):
    after_expiry = awaiting.expires_at + dt.timedelta(minutes=1)

    expired = services.bills_expire(now=after_expiry)

    assert expired == 1
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.EXPIRED
    assert bill.closed_at == after_expiry
    application = Application.objects.get(pk=bill.application_id)
    assert application.status == Status.EXPIRED
    assert StatusEvent.objects.filter(to_status=Status.EXPIRED).count() == 1


@pytest.mark.django_db
def test_a_sandbox_payment_made_after_expiry_does_not_save_the_bill(awaiting):
    after_expiry = awaiting.expires_at + dt.timedelta(minutes=1)
    late = transaction_for(awaiting, created_at=after_expiry - dt.timedelta(seconds=10))
    Bill.objects.filter(pk=awaiting.pk).update(expires_at=late.created_at - dt.timedelta(seconds=5))

    expired = services.bills_expire(now=after_expiry)

    assert expired == 1
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.EXPIRED
    assert bill.needs_review is True
    assert Payment.objects.get().state == Payment.State.HELD


@pytest.mark.django_db
def test_a_bill_not_yet_due_is_neither_asked_about_nor_expired(awaiting, monkeypatch):
    asked = []
    monkeypatch.setattr(SandboxGateway, "status", lambda self, bill: asked.append(bill))

    assert services.bills_expire() == 0
    assert asked == []
    assert fresh(awaiting).status == Bill.Status.UNPAID


def test_the_notification_body_of_a_failed_payment_has_no_payment_time():
    record = SandboxTransaction(
        billing_code="123456789012344",
        reference="SBX-FAILED",
        method="qris",
        amount=950_000,
        status="failed",
        created_at=timezone.now(),
    )

    data = json.loads(sandbox_gateway.notification_body(record))

    assert data["event_id"] == "SBX-FAILED:failed"
    assert data["status"] == "failed"
    assert data["paid_at"] is None
