"""The sandbox flow end to end over real HTTP: the citizen presses pay on the
sandbox bank, which POSTs its signed notification to the portal running on
pytest-django's live server; the bill and application become paid, the
receipt is rendered and emailed with the PDF attached.

Committed rows are needed for the server thread to see them
(transaction=True); the flush that ends each test also empties the seeded
catalogue and role groups, which serialized_rollback puts back (tests/conftest.py).
"""

from __future__ import annotations

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.core import mail
from django.urls import reverse

from applications.workflow import Status
from payments import sandbox as sandbox_bank
from payments.gateways import sandbox as gateway
from payments.models import Bill, Payment, PaymentReceipt, SandboxTransaction, WebhookEvent
from tests.factories import PASSWORD
from tests.utils import in_language

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def portal(live_server, settings):
    """The sandbox bank delivers its notifications to the live server."""
    settings.SITE_URL = live_server.url
    settings.SANDBOX_WEBHOOK_URL = live_server.url + reverse("payments:webhook", args=["sandbox"])
    mail.outbox.clear()
    return live_server


class Browser:
    """A cookie-keeping HTTP client without JavaScript (urllib only)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def post(self, path: str, data: dict, *, form_from: str) -> tuple[int, str, str]:
        """POST `data` with the CSRF token of the form on page `form_from`, as a browser would."""
        _status, _url, page = self.get(form_from)
        token = CSRF_FIELD.search(page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method="POST",
            headers={"Referer": self.base_url + form_from},
        )
        with self.opener.open(request, timeout=60) as response:
            return response.status, response.geturl(), response.read().decode()


@pytest.fixture
def browser(portal, ani) -> Browser:
    """ani, logged in through the real login form."""
    browser = Browser(portal.url)
    login = reverse("accounts:login")
    status, url, _page = browser.post(
        login, {"username": ani.email, "password": PASSWORD}, form_from=login
    )
    assert status == 200
    assert not url.endswith(login), "the login failed"
    return browser


def receipt_emails() -> list:
    """Emails carrying a payment receipt (the application's own receipt is another)."""
    return [
        message
        for message in mail.outbox
        if any(name.startswith("bukti-pembayaran-") for name, _c, _t in message.attachments)
    ]


def sandbox_path(bill: Bill, method: str = "va_bri") -> str:
    return reverse("payments:sandbox", args=[bill.code, method])


def pay_path(bill: Bill) -> str:
    return reverse("payments:pay", args=[bill.application.reference])


def test_pressing_pay_delivers_a_signed_notification_that_pays_the_bill(browser, awaiting):
    status, url, _page = browser.post(
        sandbox_path(awaiting), {"outcome": "pay"}, form_from=sandbox_path(awaiting)
    )

    assert status == 200
    assert url.endswith(pay_path(awaiting))  # redirected back to the pay page
    (record,) = SandboxTransaction.objects.filter(billing_code=awaiting.code)
    assert record.delivered_at is not None
    event = WebhookEvent.objects.get(provider="sandbox", event_id=f"{record.reference}:paid")
    assert event.outcome == WebhookEvent.Outcome.APPLIED
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.PAID
    assert awaiting.ntpn == record.ntpn
    payment = Payment.objects.get(bill=awaiting)
    assert (payment.state, payment.provider, payment.provider_reference) == (
        Payment.State.SETTLED,
        "sandbox",
        record.reference,
    )
    application = awaiting.application
    application.refresh_from_db()
    assert application.status == Status.PAID


def test_the_pay_page_then_shows_the_payment_with_its_receipt(browser, awaiting):
    _status, _url, page = browser.post(
        sandbox_path(awaiting), {"outcome": "pay"}, form_from=sandbox_path(awaiting)
    )

    awaiting.refresh_from_db()
    text = html.unescape(page)
    assert awaiting.ntpn in text
    assert reverse("payments:receipt", args=[awaiting.code]) in text
    assert in_language("id", "Paid") in text


def test_the_receipt_is_made_and_emailed_with_the_pdf(browser, awaiting, ani):
    browser.post(sandbox_path(awaiting), {"outcome": "pay"}, form_from=sandbox_path(awaiting))

    receipt = PaymentReceipt.objects.get(bill=awaiting)
    (message,) = receipt_emails()
    assert message.to == [ani.email]
    ((filename, content, mimetype),) = message.attachments
    assert filename == f"bukti-pembayaran-{awaiting.code}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert receipt.file.name


def test_the_receipt_downloads_over_http(browser, awaiting):
    browser.post(sandbox_path(awaiting), {"outcome": "pay"}, form_from=sandbox_path(awaiting))

    request = urllib.request.Request(
        browser.base_url + reverse("payments:receipt", args=[awaiting.code])
    )
    with browser.opener.open(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.read().startswith(b"%PDF")


def test_pressing_fail_delivers_a_notification_that_changes_nothing(browser, awaiting):
    _status, url, _page = browser.post(
        sandbox_path(awaiting), {"outcome": "fail"}, form_from=sandbox_path(awaiting)
    )

    assert url.endswith(pay_path(awaiting))
    (record,) = SandboxTransaction.objects.filter(billing_code=awaiting.code)
    assert record.delivered_at is not None
    event = WebhookEvent.objects.get(provider="sandbox", event_id=f"{record.reference}:failed")
    assert event.outcome == WebhookEvent.Outcome.IGNORED
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.UNPAID
    assert not Payment.objects.exists()
    assert receipt_emails() == []


def test_a_notification_signed_with_another_secret_is_refused_by_the_live_portal(
    portal, awaiting, settings
):
    record = SandboxTransaction.objects.create(
        billing_code=awaiting.code,
        reference="SBX-FORGED0000000000001",
        method="va_bri",
        amount=awaiting.amount,
        status="paid",
        ntpn=sandbox_bank.new_ntpn(),
    )
    body = gateway.notification_body(record)
    request = urllib.request.Request(
        settings.SANDBOX_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            gateway.HEADER: gateway.sign(body, secret="not-the-secret"),
        },
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)

    assert refused.value.code == 401
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.UNPAID
    assert not WebhookEvent.objects.exists()
