"""What the portal believes of a gateway: a Midtrans notification only as far
as its status API confirms it (transaction id, amount), lengths and numbers
bounded before they reach the database, a sandbox signature header that
cannot crash the endpoint, pay pages that never point at a page that does
not exist, and a deploy check that refuses the sandbox in production."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from django.urls import reverse
from django.utils import translation

from applications.models import StatusEvent
from applications.workflow import Status
from payments import checks, services
from payments.models import Bill, Payment, WebhookEvent
from tests.imigrasi.test_settings_deploy import manage, production_env  # noqa: F401
from tests.payments.conftest import application_of, paid_body, post_webhook
from tests.payments.test_midtrans import (
    JAKARTA,
    SERVER_KEY,
    TRANSACTION_ID,
    StatusAPI,
    as_status_api_answer,
    bank_transfer,
    fresh,
    post,
    result,
    signed,
    status_calls,
)
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

FORGED_TRANSACTION_ID = "00000000-dead-beef-0000-000000000000"


@pytest.fixture
def midtrans_api(settings):
    """The fake Midtrans status API of test_midtrans, with the portal pointed at it."""
    api = StatusAPI(SERVER_KEY)
    api.start()
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    settings.MIDTRANS_API_URL = api.url
    yield api
    api.stop()


@pytest.fixture(autouse=True)
def _the_morning_of_the_payment(request, time_machine):
    """For Midtrans tests the bill is issued at 09:00 Jakarta time on the day the
    recorded notifications were paid (10:15), inside its validity."""
    if "midtrans_bill" in request.fixturenames:
        time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=JAKARTA), tick=True)


@pytest.fixture
def midtrans_bill(awaiting, midtrans_api, time_machine) -> Bill:
    """ani's unpaid bill (Rp 950.000); the notifications arrive at 10:20 Jakarta time."""
    time_machine.move_to(dt.datetime(2026, 11, 22, 10, 20, tzinfo=JAKARTA), tick=True)
    return awaiting


def assert_not_paid(bill: Bill) -> None:
    bill = fresh(bill)
    assert bill.status == Bill.Status.UNPAID
    assert bill.paid_at is None
    assert bill.needs_review is False
    assert application_of(bill).status == Status.AWAITING_PAYMENT


# --- Midtrans: the transaction id is not signed ------------------------------------------


def test_a_settlement_replayed_with_another_transaction_id_settles_nothing(
    client, midtrans_bill, midtrans_api
):
    genuine = bank_transfer(midtrans_bill.code)
    midtrans_api.answers[midtrans_bill.code] = as_status_api_answer(genuine)
    replay = {**genuine, "transaction_id": FORGED_TRANSACTION_ID}  # signature still valid

    response = post(client, replay)

    assert response.status_code == 200
    assert result(response) == "ignored"
    assert Payment.objects.count() == 0
    assert_not_paid(midtrans_bill)
    event = WebhookEvent.objects.get(event_id=f"{FORGED_TRANSACTION_ID}:settlement")
    assert event.outcome == WebhookEvent.Outcome.IGNORED
    assert status_calls(midtrans_api, midtrans_bill) == 1


def test_a_replay_with_another_transaction_id_after_the_real_payment_holds_nothing(
    client, midtrans_bill, midtrans_api
):
    genuine = bank_transfer(midtrans_bill.code)
    midtrans_api.answers[midtrans_bill.code] = as_status_api_answer(genuine)
    assert result(post(client, genuine)) == "applied"
    replay = {**genuine, "transaction_id": FORGED_TRANSACTION_ID}

    response = post(client, replay)

    assert response.status_code == 200
    assert result(response) == "ignored"
    (payment,) = Payment.objects.all()
    assert payment.state == Payment.State.SETTLED
    assert payment.provider_reference == TRANSACTION_ID
    bill = fresh(midtrans_bill)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is False
    assert bill.review_note == ""
    assert StatusEvent.objects.filter(to_status=Status.PAID).count() == 1
    replayed = WebhookEvent.objects.get(event_id=f"{FORGED_TRANSACTION_ID}:settlement")
    assert replayed.outcome == WebhookEvent.Outcome.IGNORED


# --- Midtrans: the status API's amount is what counts ----------------------------------


def test_the_status_apis_amount_is_compared_with_the_bill(client, midtrans_bill, midtrans_api):
    notification = bank_transfer(midtrans_bill.code)  # says Rp 950.000, signed
    midtrans_api.answers[midtrans_bill.code] = as_status_api_answer(
        bank_transfer(midtrans_bill.code, gross_amount="10000.00")
    )

    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "held"
    bill = fresh(midtrans_bill)
    assert bill.status == Bill.Status.UNPAID
    assert bill.needs_review is True
    with translation.override("id"):
        expected_note = services._hold_note(services.HOLD_AMOUNT, bill, 10_000)
    assert bill.review_note == expected_note
    (held,) = Payment.objects.filter(bill=bill)
    assert held.state == Payment.State.HELD
    assert held.amount == 10_000
    assert application_of(bill).status == Status.AWAITING_PAYMENT
    event = WebhookEvent.objects.get()
    assert (event.outcome, event.detail) == (WebhookEvent.Outcome.HELD, "amount differs")


# --- Midtrans: lengths and numbers bounded -------------------------------------------------


def test_an_over_long_order_id_is_an_unknown_code_not_a_database_error(
    client, midtrans_bill, midtrans_api
):
    order_id = "9" * 60
    notification = bank_transfer(order_id)
    answer = as_status_api_answer(notification)
    # Whatever the adapter asks about (the whole id, or the part it keeps), it is paid.
    midtrans_api.answers[order_id] = answer
    midtrans_api.answers[order_id[:40]] = answer

    response = post(client, notification)

    assert response.status_code == 200
    assert result(response) == "held"
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.HELD
    assert event.detail == "unknown billing code"
    assert event.bill is None
    assert len(event.billing_code) <= 40
    assert Payment.objects.count() == 0
    assert_not_paid(midtrans_bill)


@pytest.mark.parametrize("gross_amount", ["1e20", "99999999999999"])
def test_an_absurd_gross_amount_is_refused_as_malformed(
    client, midtrans_bill, midtrans_api, gross_amount
):
    notification = bank_transfer(midtrans_bill.code, gross_amount=gross_amount)
    midtrans_api.answers[midtrans_bill.code] = as_status_api_answer(notification)

    response = post(client, notification)

    assert response.status_code == 400
    assert result(response) == "malformed"
    assert WebhookEvent.objects.count() == 0
    assert midtrans_api.requests == []
    assert Payment.objects.count() == 0
    assert_not_paid(midtrans_bill)


@pytest.mark.postgres  # SQLite stores any 64-bit integer: the overflow is PostgreSQL's
def test_an_amount_the_payment_column_cannot_hold_is_not_a_database_error(
    client, midtrans_bill, midtrans_api
):
    notification = bank_transfer(midtrans_bill.code, gross_amount="3000000000")
    midtrans_api.answers[midtrans_bill.code] = as_status_api_answer(notification)

    response = post(client, notification)

    assert response.status_code in {200, 400}
    assert result(response) in {"held", "malformed"}
    assert fresh(midtrans_bill).status == Bill.Status.UNPAID


@pytest.mark.postgres
def test_a_sandbox_amount_the_payment_column_cannot_hold_is_not_a_database_error(client, awaiting):
    response = post_webhook(client, paid_body(awaiting, amount=3_000_000_000))

    assert response.status_code in {200, 400}
    assert fresh(awaiting).status == Bill.Status.UNPAID


# --- Sandbox: an absurd signature timestamp ---------------------------------------------------


def test_a_sandbox_signature_with_a_400_digit_timestamp_is_refused_with_401(
    client, awaiting, caplog
):
    with caplog.at_level(logging.WARNING, logger="django.security.payments"):
        response = post_webhook(client, paid_body(awaiting), signature=f"t={'9' * 400},v1=ab")

    assert response.status_code == 401
    assert result(response) == "signature"
    assert WebhookEvent.objects.count() == 0
    assert_not_paid(awaiting)
    warnings = [
        r
        for r in caplog.records
        if r.name == "django.security.payments" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1


# --- Pay pages ----------------------------------------------------------------------------------


def pay_url(bill: Bill, method: str) -> str:
    return reverse("payments:pay", args=[bill.application.reference]) + f"?metode={method}"


def steps_of(response) -> str:
    return re.search(r"<ol>(.*?)</ol>", page_text(response), re.S).group(1)


def says_virtual_account(response) -> bool:
    text = page_text(response)
    return any(
        in_language(language, "Virtual account number") in text for language in ("id", "en")
    ) or ("virtual account number" in text.lower())


def test_the_sandbox_teller_method_shows_the_code_and_no_sandbox_bank(client, ani, awaiting):
    client.force_login(ani)

    response = client.get(pay_url(awaiting, "teller"))

    assert response.status_code == 200
    steps = steps_of(response)
    assert awaiting.code_display in steps
    assert "SIMPONI" in steps
    content = response.content.decode()
    assert "/sandbox/bayar/" not in content
    assert reverse("payments:sandbox", args=[awaiting.code, "teller"]) not in content
    assert in_language("id", "Open the sandbox bank") not in page_text(response)
    assert not says_virtual_account(response)


def test_with_midtrans_a_bank_method_shows_mpn_steps_with_the_billing_code(
    client, ani, awaiting, settings
):
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    client.force_login(ani)

    response = client.get(pay_url(awaiting, "va_bri"))

    assert response.status_code == 200
    steps = steps_of(response)
    assert awaiting.code in steps
    assert in_language("id", "Choose Payments, then State revenue (MPN / penerimaan negara).") in (
        steps
    )
    assert "BRI" in steps
    assert not says_virtual_account(response)
    assert "/sandbox/bayar/" not in response.content.decode()


@pytest.mark.parametrize("method", ["qris", "card"])
def test_with_midtrans_only_methods_it_can_take_are_offered(
    client, ani, awaiting, settings, method
):
    """No QR image or card page exists without a charge: those methods are not offered."""
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY
    client.force_login(ani)

    response = client.get(pay_url(awaiting, method))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="?metode={method}#how"' not in html
    assert 'href="?metode=va_bri#how"' in html
    assert 'href="?metode=teller#how"' in html
    assert re.search(r"<ol>(.*?)</ol>", page_text(response), re.S) is None  # no steps shown


# --- The deploy check ---------------------------------------------------------------------------


def test_the_sandbox_gateway_in_production_is_a_deploy_error(settings):
    settings.DEBUG = False
    settings.PAYMENT_GATEWAY = "sandbox"

    errors = checks.sandbox_gateway_in_production(None)

    assert [error.id for error in errors] == ["payments.E001"]
    assert errors[0].is_serious()


def test_midtrans_in_production_passes_the_deploy_check(settings):
    settings.DEBUG = False
    settings.PAYMENT_GATEWAY = "midtrans"
    settings.MIDTRANS_SERVER_KEY = SERVER_KEY

    assert checks.sandbox_gateway_in_production(None) == []


def test_the_sandbox_gateway_while_debugging_passes_the_deploy_check(settings):
    settings.DEBUG = True
    settings.PAYMENT_GATEWAY = "sandbox"

    assert checks.sandbox_gateway_in_production(None) == []


def test_manage_py_check_deploy_refuses_the_sandbox_gateway(
    production_env,  # noqa: F811 (the imported fixture)
):
    """In a fresh interpreter: the check is registered by the app, not by this test's import."""
    env = {
        **production_env,
        "PAYMENT_GATEWAY": "sandbox",
        "SANDBOX_WEBHOOK_SECRET": "rahasia-sandbox-" + "x" * 32,
    }

    refused = manage(env, "check", "--deploy")
    clean = manage(production_env, "check", "--deploy")

    assert refused.returncode != 0
    assert "payments.E001" in refused.stdout + refused.stderr
    assert "payments.E001" not in clean.stdout + clean.stderr


def test_the_replayed_notification_still_carries_a_valid_signature():
    """The premise of the replay tests: transaction_id is outside the signature."""
    genuine = bank_transfer("123456789012344")
    replay = {**genuine, "transaction_id": FORGED_TRANSACTION_ID}

    assert signed(replay)["signature_key"] == genuine["signature_key"]
