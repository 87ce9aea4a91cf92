"""The Midtrans-style adapter: notifications signed with SHA512(order_id +
status_code + gross_amount + server key), whose status is only believed once
the status API (GET /v2/<order_id>/status, basic auth with the server key)
says so. The status API is a small HTTP server on 127.0.0.1 answering from a
dict the test controls, so the adapter meets real sockets and real refusals."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from applications.models import StatusEvent
from applications.workflow import Status
from payments import services, webhooks
from payments.gateways import base, get_gateway
from payments.gateways import midtrans as midtrans_gateway
from payments.models import Bill, Payment, WebhookEvent
from tests.payments.conftest import application_of, fresh, result

pytestmark = pytest.mark.django_db

SERVER_KEY = "SB-Mid-server-TEST-8aK2mQ9xV4pL7nR1"
JAKARTA = ZoneInfo("Asia/Jakarta")
WEBHOOK = reverse("payments:webhook", args=["midtrans"])
TRANSACTION_ID = "9aed5972-5b6a-401e-894b-a32c91ed1a3a"


# --- The fake status API -------------------------------------------------------------


class StatusAPI:
    """GET /v2/<order_id>/status answered from `answers` (order id → (HTTP status, JSON)).

    An order it does not know gets Midtrans's 404; a wrong Authorization header
    gets 401. `requests` keeps (path, Authorization) of every call.
    """

    def __init__(self, server_key: str) -> None:
        self.server_key = server_key
        self.answers: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def expected_authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.server_key}:".encode()).decode()

    def start(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization", "")
                api.requests.append((self.path, authorization))
                match = re.fullmatch(r"/v2/([^/]+)/status", self.path)
                if authorization != api.expected_authorization:
                    status, data = 401, {"status_code": "401", "status_message": "Unauthorized"}
                elif match is None:
                    status, data = 404, {"status_code": "404", "status_message": "Not found"}
                else:
                    status, data = api.answers.get(
                        match.group(1),
                        (
                            404,
                            {
                                "status_code": "404",
                                "status_message": "Transaction doesn't exist.",
                                "id": "e48447d1-cfa9-4b02-b163-2e915d4417ac",
                            },
                        ),
                    )
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Shut down and close the port: connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def status_api(settings):
    api = StatusAPI(SERVER_KEY)
    api.start()
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    settings.MIDTRANS_API_URL = api.url
    yield api
    api.stop()


@pytest.fixture(autouse=True)
def _the_morning_of_the_payment(time_machine):
    """The bill is issued at 09:00 Jakarta time on the day the recorded notifications were paid."""
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=JAKARTA), tick=True)


@pytest.fixture
def bill(awaiting, status_api, time_machine) -> Bill:
    """Ani's unpaid bill (Rp 950.000); the notifications arrive at 10:20 Jakarta time."""
    time_machine.move_to(dt.datetime(2026, 11, 22, 10, 20, tzinfo=JAKARTA), tick=True)
    return awaiting


# --- Recorded notifications ----------------------------------------------------------------


def signed(data: dict, *, server_key: str = SERVER_KEY) -> dict:
    data = dict(data)
    data["signature_key"] = midtrans_gateway.signature(
        data["order_id"], data["status_code"], data["gross_amount"], server_key
    )
    return data


def bank_transfer(order_id: str, *, bank: str = "bri", **fields) -> dict:
    """A BRI (or other bank) virtual account settlement, as Midtrans posts it."""
    data = {
        "va_numbers": [{"va_number": "888801234567890", "bank": bank}],
        "transaction_time": "2026-11-22 10:15:00",
        "transaction_status": "settlement",
        "transaction_id": TRANSACTION_ID,
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "settlement_time": "2026-11-22 10:16:45",
        "payment_type": "bank_transfer",
        "payment_amounts": [],
        "order_id": order_id,
        "merchant_id": "G812785002",
        "gross_amount": "950000.00",
        "fraud_status": "accept",
        "expiry_time": "2026-11-23 10:15:00",
        "currency": "IDR",
    }
    data.update(fields)
    return signed(data)


def mandiri_bill(order_id: str, **fields) -> dict:
    data = {
        "transaction_time": "2026-11-22 10:15:00",
        "transaction_status": "settlement",
        "transaction_id": TRANSACTION_ID,
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "settlement_time": "2026-11-22 10:16:45",
        "payment_type": "echannel",
        "order_id": order_id,
        "merchant_id": "G812785002",
        "gross_amount": "950000.00",
        "fraud_status": "accept",
        "currency": "IDR",
        "biller_code": "70012",
        "bill_key": "990001234567",
    }
    data.update(fields)
    return signed(data)


def qris(order_id: str, **fields) -> dict:
    data = {
        "transaction_type": "on-us",
        "transaction_time": "2026-11-22 10:15:00",
        "transaction_status": "settlement",
        "transaction_id": TRANSACTION_ID,
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "settlement_time": "2026-11-22 10:15:09",
        "payment_type": "qris",
        "order_id": order_id,
        "merchant_id": "G812785002",
        "issuer": "gopay",
        "gross_amount": "950000.00",
        "fraud_status": "accept",
        "currency": "IDR",
        "acquirer": "gopay",
    }
    data.update(fields)
    return signed(data)


def credit_card(order_id: str, **fields) -> dict:
    """A card capture: no settlement_time, only the (naive, Jakarta) transaction_time."""
    data = {
        "transaction_time": "2026-11-22 10:15:00",
        "transaction_status": "capture",
        "transaction_id": TRANSACTION_ID,
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "payment_type": "credit_card",
        "order_id": order_id,
        "merchant_id": "G812785002",
        "masked_card": "48111111-1114",
        "gross_amount": "950000.00",
        "fraud_status": "accept",
        "eci": "05",
        "currency": "IDR",
        "channel_response_message": "Approved",
        "channel_response_code": "00",
        "card_type": "credit",
        "bank": "bni",
        "approval_code": "1637564946327",
    }
    data.update(fields)
    return signed(data)


def pending(order_id: str, **fields) -> dict:
    data = {
        "va_numbers": [{"va_number": "888801234567890", "bank": "bri"}],
        "transaction_time": "2026-11-22 10:15:00",
        "transaction_status": "pending",
        "transaction_id": TRANSACTION_ID,
        "status_message": "midtrans payment notification",
        "status_code": "201",
        "payment_type": "bank_transfer",
        "order_id": order_id,
        "merchant_id": "G812785002",
        "gross_amount": "950000.00",
        "fraud_status": "accept",
        "expiry_time": "2026-11-23 10:15:00",
        "currency": "IDR",
    }
    data.update(fields)
    return signed(data)


def expire(order_id: str) -> dict:
    return pending(order_id, transaction_status="expire", status_code="407")


def deny(order_id: str) -> dict:
    return credit_card(
        order_id,
        transaction_status="deny",
        status_code="202",
        fraud_status="deny",
        channel_response_message="Denied by bank",
        channel_response_code="05",
    )


def as_status_api_answer(notification: dict) -> tuple[int, dict]:
    """What GET /v2/<order_id>/status says about the same transaction."""
    data = {**notification, "status_message": "Success, transaction is found"}
    return 200, data


def post(client, data) -> object:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(WEBHOOK, data=body, content_type="application/json")


def status_calls(api: StatusAPI, bill: Bill) -> int:
    return sum(1 for path, _auth in api.requests if path == f"/v2/{bill.code}/status")


def assert_unpaid(bill: Bill) -> None:
    bill = fresh(bill)
    assert bill.status == Bill.Status.UNPAID
    assert not Payment.objects.filter(bill=bill, state=Payment.State.SETTLED).exists()
    assert application_of(bill).status == Status.AWAITING_PAYMENT


# --- A settlement confirmed by the status API ---------------------------------------------


def test_a_settlement_confirmed_by_the_status_api_is_applied(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)

    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "applied"
    paid = fresh(bill)
    assert paid.status == Bill.Status.PAID
    assert paid.provider == "midtrans"
    assert paid.method == "va_bri"
    payment = Payment.objects.get(bill=paid)
    assert payment.state == Payment.State.SETTLED
    assert payment.amount == 950_000
    assert payment.provider == "midtrans"
    assert payment.provider_reference == TRANSACTION_ID
    expected_ntpn = hashlib.sha256(TRANSACTION_ID.encode()).hexdigest()[:16].upper()
    assert payment.ntpn == paid.ntpn == expected_ntpn
    assert application_of(bill).status == Status.PAID
    assert StatusEvent.objects.filter(to_status=Status.PAID).count() == 1
    event = WebhookEvent.objects.get()
    assert event.provider == "midtrans"
    assert event.event_id == f"{TRANSACTION_ID}:settlement"
    assert event.outcome == WebhookEvent.Outcome.APPLIED


def test_the_status_api_is_asked_with_the_server_key_as_basic_auth(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)

    post(client, notification)

    assert status_api.requests == [(f"/v2/{bill.code}/status", status_api.expected_authorization)]


def test_the_same_settlement_again_is_a_duplicate(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)
    post(client, notification)

    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "duplicate"
    assert Payment.objects.count() == 1
    assert status_calls(status_api, bill) == 1


def test_the_settlement_time_is_the_payment_time(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)

    post(client, notification)

    assert fresh(bill).paid_at == dt.datetime(2026, 11, 22, 3, 16, 45, tzinfo=dt.UTC)


def test_a_naive_jakarta_transaction_time_is_read_as_utc_plus_seven(client, bill, status_api):
    notification = credit_card(bill.code)  # no settlement_time
    status_api.answers[bill.code] = as_status_api_answer(notification)

    post(client, notification)

    paid_at = fresh(bill).paid_at
    assert paid_at == dt.datetime(2026, 11, 22, 10, 15, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert paid_at == dt.datetime(2026, 11, 22, 3, 15, tzinfo=dt.UTC)


def test_a_transaction_time_with_an_offset_keeps_it():
    notification = midtrans_gateway.MidtransGateway(server_key=SERVER_KEY, api_url="x")._read(
        credit_card("123", transaction_time="2026-11-22T10:15:00+08:00")
    )

    assert notification.paid_at == dt.datetime(2026, 11, 22, 2, 15, tzinfo=dt.UTC)


METHODS = {
    "bri-va": (lambda code: bank_transfer(code, bank="bri"), "va_bri"),
    "bni-va": (lambda code: bank_transfer(code, bank="bni"), "va_bni"),
    "bca-va": (lambda code: bank_transfer(code, bank="bca"), "va_bca"),
    "bank-name-in-capitals": (lambda code: bank_transfer(code, bank="BNI"), "va_bni"),
    "mandiri-bill": (mandiri_bill, "va_mandiri"),
    "qris": (qris, "qris"),
    "gopay": (lambda code: qris(code, payment_type="gopay"), "qris"),
    "card": (credit_card, "card"),
}


@pytest.mark.parametrize("make, method", METHODS.values(), ids=METHODS.keys())
def test_the_payment_method_is_read_from_the_payment_type_and_bank(
    client, bill, status_api, make, method
):
    notification = make(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)

    response = post(client, notification)

    assert result(response) == "applied"
    assert fresh(bill).method == method
    assert Payment.objects.get(bill=bill).method == method


# --- What is not believed --------------------------------------------------------------


def test_a_forged_signature_is_refused_with_401_and_nothing_is_stored(
    client, bill, status_api, caplog
):
    notification = bank_transfer(bill.code)
    notification["signature_key"] = "0" * 128
    status_api.answers[bill.code] = as_status_api_answer(bank_transfer(bill.code))

    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post(client, notification)

    assert response.status_code == 401
    assert result(response) == "signature"
    assert WebhookEvent.objects.count() == 0
    assert status_api.requests == []
    assert_unpaid(bill)
    assert [r.name for r in caplog.records].count("django.security.payments") == 1


def test_a_notification_signed_with_another_server_key_is_refused(client, bill, status_api):
    notification = signed(bank_transfer(bill.code), server_key="SB-Mid-server-SOMEONE-ELSE")
    status_api.answers[bill.code] = as_status_api_answer(bank_transfer(bill.code))

    response = post(client, notification)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0
    assert_unpaid(bill)


def test_a_gross_amount_changed_after_signing_is_refused(client, bill, status_api):
    notification = bank_transfer(bill.code, gross_amount="1.00")
    notification["gross_amount"] = "950000.00"

    response = post(client, notification)

    assert response.status_code == 401
    assert WebhookEvent.objects.count() == 0


def test_a_signature_key_with_non_ascii_characters_is_refused_with_401(bill, status_api):
    from django.test import Client

    notification = bank_transfer(bill.code)
    notification["signature_key"] = "\u00e9" * 128

    response = post(Client(raise_request_exception=False), notification)

    assert WebhookEvent.objects.count() == 0
    assert response.status_code == 401


def test_a_notification_without_a_signature_is_refused_as_unauthenticated(
    client, bill, status_api, caplog
):
    notification = bank_transfer(bill.code)
    del notification["signature_key"]

    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post(client, notification)

    assert WebhookEvent.objects.count() == 0
    assert response.status_code == 401
    assert [r.name for r in caplog.records].count("django.security.payments") == 1


def test_a_settlement_the_status_api_calls_pending_is_not_settled(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(pending(bill.code))

    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "ignored"
    assert_unpaid(bill)
    assert Payment.objects.count() == 0
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.IGNORED
    assert event.detail == "gateway status pending"
    assert fresh(bill).needs_review is False


def test_a_settlement_the_status_api_does_not_know_is_not_settled(client, bill, status_api):
    response = post(client, bank_transfer(bill.code))

    assert result(response) == "ignored"
    assert status_calls(status_api, bill) == 1
    assert_unpaid(bill)


def test_a_settlement_the_status_api_reports_for_another_amount_is_not_settled(
    client, bill, status_api
):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(
        bank_transfer(bill.code, gross_amount="10000.00")
    )

    post(client, notification)

    assert_unpaid(bill)


def test_a_card_capture_challenged_by_the_fraud_check_is_not_settled(client, bill, status_api):
    notification = credit_card(bill.code, fraud_status="challenge")
    status_api.answers[bill.code] = as_status_api_answer(notification)

    post(client, notification)

    assert_unpaid(bill)


@pytest.mark.parametrize("make", [pending, expire, deny], ids=["pending", "expire", "deny"])
def test_a_notification_that_is_not_a_payment_is_ignored_without_asking(
    client, bill, status_api, make
):
    status_api.stop()  # not needed: nothing is settled on its word

    response = post(client, make(bill.code))

    assert response.status_code == 200
    assert result(response) == "ignored"
    assert_unpaid(bill)
    assert Payment.objects.count() == 0
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.IGNORED


def test_a_gross_amount_with_cents_is_refused_as_malformed(client, bill, status_api):
    notification = bank_transfer(bill.code, gross_amount="950000.50")
    status_api.answers[bill.code] = as_status_api_answer(notification)

    response = post(client, notification)

    assert response.status_code == 400
    assert result(response) == "malformed"
    assert WebhookEvent.objects.count() == 0
    assert status_api.requests == []
    assert_unpaid(bill)


@pytest.mark.parametrize(
    "body",
    [b"settlement", b"[]", json.dumps({"order_id": "1", "signature_key": "ab"}).encode()],
    ids=["not-json", "a-list", "fields-missing"],
)
def test_an_unreadable_notification_answers_400(client, bill, status_api, body):
    response = post(client, body)

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_a_midtrans_notification_is_not_accepted_while_the_sandbox_is_configured(
    client, awaiting, settings
):
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    assert settings.PAYMENT_GATEWAY == "sandbox"

    response = post(client, bank_transfer(awaiting.code))

    assert response.status_code == 404
    assert WebhookEvent.objects.count() == 0


# --- The status API cannot answer ---------------------------------------------------------


def test_while_the_status_api_is_down_the_gateway_is_asked_to_retry(client, bill, status_api):
    status_api.stop()

    response = post(client, bank_transfer(bill.code))

    assert response.status_code == 503
    assert result(response) == "retry"
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.RECEIVED
    assert event.processed_at is None
    assert_unpaid(bill)
    assert Payment.objects.count() == 0


def test_the_retry_after_the_status_api_is_back_is_applied_not_a_duplicate(
    client, bill, status_api
):
    notification = bank_transfer(bill.code)
    status_api.stop()
    assert post(client, notification).status_code == 503

    status_api.answers[bill.code] = as_status_api_answer(notification)
    status_api.start()  # same port
    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "applied"
    assert fresh(bill).status == Bill.Status.PAID
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert Payment.objects.count() == 1


def test_a_status_api_error_answer_is_a_retry_too(client, bill, status_api):
    status_api.answers[bill.code] = (500, {"status_code": "500", "status_message": "Oops"})

    response = post(client, bank_transfer(bill.code))

    assert response.status_code == 503
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.RECEIVED
    assert_unpaid(bill)


def test_a_status_api_refusing_the_server_key_settles_nothing(client, bill, status_api):
    status_api.answers[bill.code] = as_status_api_answer(bank_transfer(bill.code))
    status_api.server_key = "SB-Mid-server-ROTATED"

    response = post(client, bank_transfer(bill.code))

    assert response.status_code == 503
    assert_unpaid(bill)


def test_reconcile_finishes_a_notification_left_waiting_while_the_api_was_down(
    client, bill, status_api, time_machine
):
    notification = bank_transfer(bill.code)
    status_api.stop()
    post(client, notification)
    status_api.answers[bill.code] = as_status_api_answer(notification)
    status_api.start()
    time_machine.move_to(dt.datetime(2026, 11, 22, 10, 40, tzinfo=JAKARTA), tick=True)

    counts = webhooks.reconcile()

    assert counts == {"applied": 1, "event_ignored": 1}
    assert fresh(bill).status == Bill.Status.PAID
    assert Payment.objects.count() == 1
    waiting = WebhookEvent.objects.get(event_id=f"{TRANSACTION_ID}:settlement")
    assert waiting.outcome == WebhookEvent.Outcome.IGNORED
    assert waiting.detail == "payment already recorded"


# --- Reconciliation -------------------------------------------------------------------------


def test_reconcile_bill_settles_an_unpaid_bill_the_status_api_calls_settled(bill, status_api):
    status_api.answers[bill.code] = as_status_api_answer(bank_transfer(bill.code))

    outcome = webhooks.reconcile_bill(fresh(bill))

    assert outcome == "applied"
    paid = fresh(bill)
    assert paid.status == Bill.Status.PAID
    assert paid.method == "va_bri"
    assert paid.paid_at == dt.datetime(2026, 11, 22, 3, 16, 45, tzinfo=dt.UTC)
    assert Payment.objects.get().provider_reference == TRANSACTION_ID
    assert application_of(bill).status == Status.PAID
    event = WebhookEvent.objects.get()
    assert event.event_id == f"status:{TRANSACTION_ID}"
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    assert status_calls(status_api, bill) == 1


def test_the_late_notification_after_reconciliation_is_ignored(client, bill, status_api):
    notification = bank_transfer(bill.code)
    status_api.answers[bill.code] = as_status_api_answer(notification)
    webhooks.reconcile_bill(fresh(bill))

    response = post(client, notification)

    assert result(response) == "ignored"
    assert Payment.objects.count() == 1
    assert fresh(bill).needs_review is False


def test_reconcile_bill_does_nothing_when_the_status_api_answers_404(bill, status_api):
    outcome = webhooks.reconcile_bill(fresh(bill))

    assert outcome == "unpaid"
    assert status_calls(status_api, bill) == 1
    assert WebhookEvent.objects.count() == 0
    assert_unpaid(bill)


def test_reconcile_bill_does_nothing_when_the_status_api_says_404_in_a_200(bill, status_api):
    status_api.answers[bill.code] = (
        200,
        {"status_code": "404", "status_message": "Transaction doesn't exist."},
    )

    outcome = webhooks.reconcile_bill(fresh(bill))

    assert outcome == "unpaid"
    assert WebhookEvent.objects.count() == 0
    assert_unpaid(bill)


def test_reconcile_bill_does_nothing_for_a_pending_transaction(bill, status_api):
    status_api.answers[bill.code] = as_status_api_answer(pending(bill.code))

    assert webhooks.reconcile_bill(fresh(bill)) == "unpaid"
    assert_unpaid(bill)


def test_the_status_of_an_unknown_order_is_pending(status_api):
    found = get_gateway().status(Bill(code="123456789012344"))

    assert found.status == base.PENDING
    assert found.amount == 0


def test_expiring_settles_a_bill_the_status_api_calls_settled(bill, status_api):
    status_api.answers[bill.code] = as_status_api_answer(bank_transfer(bill.code))

    expired = services.bills_expire(now=fresh(bill).expires_at + dt.timedelta(minutes=1))

    assert expired == 0
    assert fresh(bill).status == Bill.Status.PAID
    assert application_of(bill).status == Status.PAID


def test_a_bill_is_not_expired_while_the_status_api_cannot_be_asked(bill, status_api):
    status_api.stop()

    expired = services.bills_expire(now=fresh(bill).expires_at + dt.timedelta(minutes=1))

    assert expired == 0
    assert fresh(bill).status == Bill.Status.UNPAID
    assert application_of(bill).status == Status.AWAITING_PAYMENT
