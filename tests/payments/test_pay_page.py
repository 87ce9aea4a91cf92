"""The citizen's pay page, payment history and receipt download, and the
sandbox bank's page: what each shows, who may open it, and what pressing
pay or fail does. Everything works with plain links and forms (no JS)."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from applications import services as application_services
from applications.templatetags.portal import long_datetime
from applications.workflow import Status
from payments import services
from payments.models import ONLINE_METHODS, Bill, Method, SandboxTransaction
from tests.applications.conftest import complete_draft
from tests.payments.conftest import paid_body, post_webhook
from tests.utils import in_language, messages_of, page_text

pytestmark = pytest.mark.django_db

FEE_SHOWN = "Rp 950.000"
WAITING = (
    "The bank has taken the payment. We are waiting for its confirmation; "
    "this usually takes under a minute."
)
FAILED = (
    "The last attempt (%(at)s) failed and no money was taken. Try again or choose another method."
)
REFUSED = "The bank refused: this billing code is no longer valid."
# "22 November 2026, 14.05 WIB"
WIB_LONG_DATETIME = re.compile(r"\d{1,2} [A-Za-z]+ \d{4}, \d{2}\.\d{2} WIB")


def pay_url(application, method: str | None = None) -> str:
    url = reverse("payments:pay", args=[application.reference])
    return f"{url}?metode={method}" if method is not None else url


def sandbox_url(bill: Bill, method: str = "va_bri") -> str:
    return reverse("payments:sandbox", args=[bill.code, method])


def pay(client, bill: Bill, capture) -> Bill:
    """The gateway reports the bill paid; the receipt task runs inline."""
    with capture(execute=True):
        response = post_webhook(client, paid_body(bill))
    assert response.json()["result"] == "applied"
    bill.refresh_from_db()
    return bill


@pytest.fixture
def ani_client(client, ani):
    client.force_login(ani)
    return client


@pytest.fixture
def paid(client, awaiting, django_capture_on_commit_callbacks) -> Bill:
    return pay(client, awaiting, django_capture_on_commit_callbacks)


@pytest.fixture
def eko_bill(eko, office_a, passport_service) -> Bill:
    """eko's own application with its bill."""
    application = complete_draft(eko, office_a, passport_service)
    application_services.application_submit(application=application, by=eko, declaration=True)
    return services.bill_issue(application_id=application.pk)


# --- The pay page ---------------------------------------------------------------------------


def test_the_pay_page_shows_the_amount_and_the_grouped_code(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application))

    assert response.status_code == 200
    text = page_text(response)
    assert FEE_SHOWN in text
    assert awaiting.code_display in text
    assert response["Cache-Control"] == "no-store, private"


def test_the_pay_page_shows_the_expiry_as_a_long_wib_date(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application))

    with translation.override("id"):
        expiry = long_datetime(awaiting.expires_at, awaiting.application.office)
    assert WIB_LONG_DATETIME.fullmatch(expiry)
    assert str(timezone.localtime(awaiting.expires_at).year) in expiry
    assert expiry in page_text(response)


def test_the_pay_page_links_every_method(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application))

    text = response.content.decode()
    for method in (*ONLINE_METHODS, Method.TELLER):
        assert f'href="?metode={method.value}#how"' in text, method
        assert str(Method(method).label) in page_text(response)


def test_the_va_method_shows_a_virtual_account_number_and_numbered_steps(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application, "va_bri"))

    text = page_text(response)
    number = "88810" + awaiting.code[-11:]  # BRI's sandbox prefix + the code's last digits
    assert number in text
    steps = re.search(r"<ol>(.*?)</ol>", text, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", steps, re.S)
    assert len(items) >= 4
    assert any(number in item for item in items)
    assert any(FEE_SHOWN in item for item in items)
    assert "BRI" in steps


def test_the_qris_method_shows_a_qr_image(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application, "qris"))

    text = response.content.decode()
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', text)
    assert in_language("id", "QRIS code for this payment") in page_text(response)


def test_the_teller_method_gives_steps_with_the_billing_code(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application, "teller"))

    steps = re.search(r"<ol>(.*?)</ol>", page_text(response), re.S).group(1)
    assert awaiting.code_display in steps
    assert FEE_SHOWN in steps
    assert "SIMPONI" in steps


def test_an_unknown_method_is_ignored(ani_client, awaiting):
    response = ani_client.get(pay_url(awaiting.application, "bitcoin<script>"))

    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="how"' not in text
    assert "bitcoin<script>" not in text
    assert "<ol>" not in text  # no steps for a method that does not exist
    assert awaiting.code_display in page_text(response)


def test_the_pay_page_works_with_plain_links_and_forms(ani_client, awaiting):
    page = ani_client.get(pay_url(awaiting.application)).content.decode()
    link = re.search(r'href="(\?metode=va_bri)#how"', page).group(1)

    chosen = ani_client.get(pay_url(awaiting.application) + link)

    text = chosen.content.decode()
    assert f'href="{sandbox_url(awaiting)}"' in text  # the bank page is a plain link
    assert "hx-" not in text and "onclick" not in text
    bank = ani_client.get(sandbox_url(awaiting)).content.decode()
    assert re.search(r'<form method="post"', bank)
    assert 'name="outcome" value="pay"' in bank and 'name="outcome" value="fail"' in bank


def test_another_user_gets_404_on_the_pay_page(client, eko, awaiting):
    client.force_login(eko)

    response = client.get(pay_url(awaiting.application))

    assert response.status_code == 404
    assert awaiting.code_display not in page_text(response)


def test_an_anonymous_visitor_is_sent_to_log_in(client, awaiting):
    response = client.get(pay_url(awaiting.application))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_after_payment_the_page_shows_the_ntpn_and_a_receipt_link(ani_client, paid):
    assert paid.status == Bill.Status.PAID

    response = ani_client.get(pay_url(paid.application))

    text = page_text(response)
    assert paid.ntpn in text
    assert f'href="{reverse("payments:receipt", args=[paid.code])}"' in text
    assert "?metode=" not in text  # nothing left to pay


# --- History -----------------------------------------------------------------------------------


def test_the_history_lists_every_bill_of_the_user(ani_client, awaiting, ani):
    now = timezone.now()
    Bill.objects.filter(pk=awaiting.pk).update(
        issued_at=now - timezone.timedelta(days=8), expires_at=now - timezone.timedelta(hours=1)
    )
    services.bills_expire(now=now)
    second = services.bill_reissue(application=awaiting.application, by=ani)

    response = ani_client.get(reverse("payments:history"))

    assert response.status_code == 200
    text = page_text(response)
    assert awaiting.code_display in text
    assert second.code_display in text
    assert awaiting.application.reference in text


def test_the_history_shows_no_one_elses_bills(ani_client, awaiting, eko_bill):
    response = ani_client.get(reverse("payments:history"))

    text = page_text(response)
    assert awaiting.code_display in text
    assert eko_bill.code_display not in text
    assert eko_bill.application.reference not in text


def test_the_history_needs_a_login(client, awaiting):
    response = client.get(reverse("payments:history"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- Receipt download ------------------------------------------------------------------------


def test_the_owner_downloads_the_receipt_as_a_pdf_attachment(ani_client, paid):
    response = ani_client.get(reverse("payments:receipt", args=[paid.code]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="bukti-pembayaran-{paid.code}.pdf"'
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_another_user_gets_404_for_the_receipt(client, eko, paid):
    client.force_login(eko)

    response = client.get(reverse("payments:receipt", args=[paid.code]))

    assert response.status_code == 404


def test_an_unpaid_bill_has_no_receipt(ani_client, awaiting):
    response = ani_client.get(reverse("payments:receipt", args=[awaiting.code]))

    assert response.status_code == 404


# --- The sandbox bank ----------------------------------------------------------------------


@pytest.fixture
def delivery():
    """The sandbox's webhook delivery task, not run (its HTTP is tested live elsewhere)."""
    with mock.patch("payments.tasks.deliver_sandbox_notification.delay") as delay:
        yield delay


def test_the_sandbox_page_renders(ani_client, awaiting):
    response = ani_client.get(sandbox_url(awaiting, "va_bni"))

    assert response.status_code == 200
    text = page_text(response)
    assert awaiting.code_display in text
    assert FEE_SHOWN in text
    assert "98820" + awaiting.code[-11:] in text  # BNI virtual account number


def test_pressing_pay_records_the_transaction_and_sends_the_notification(
    ani_client, awaiting, delivery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ani_client.post(sandbox_url(awaiting), {"outcome": "pay"})

    assert response.status_code == 302
    assert response["Location"] == pay_url(awaiting.application)
    (record,) = SandboxTransaction.objects.filter(billing_code=awaiting.code)
    assert (record.status, record.amount, record.method) == ("paid", awaiting.amount, "va_bri")
    assert len(record.ntpn) == 16
    delivery.assert_called_once_with(record.pk)


def test_after_pressing_pay_the_pay_page_waits_for_the_confirmation(
    ani_client, awaiting, delivery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ani_client.post(sandbox_url(awaiting), {"outcome": "pay"}, follow=True)

    assert response.redirect_chain[-1][0] == pay_url(awaiting.application)
    assert in_language("id", WAITING) in page_text(response)
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.UNPAID  # until the notification arrives


def test_pressing_fail_shows_the_failure_on_the_pay_page(
    ani_client, awaiting, delivery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ani_client.post(sandbox_url(awaiting), {"outcome": "fail"}, follow=True)

    (record,) = SandboxTransaction.objects.filter(billing_code=awaiting.code)
    assert record.status == "failed" and record.ntpn == ""
    with translation.override("id"):
        at = long_datetime(record.created_at, awaiting.application.office)
    assert in_language("id", FAILED) % {"at": at} in page_text(response)
    assert in_language("id", WAITING) not in page_text(response)
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.UNPAID


def test_another_user_gets_404_on_the_sandbox_page(client, eko, awaiting, delivery):
    client.force_login(eko)

    assert client.get(sandbox_url(awaiting)).status_code == 404
    assert client.post(sandbox_url(awaiting), {"outcome": "pay"}).status_code == 404
    assert not SandboxTransaction.objects.exists()


def test_an_unknown_sandbox_method_is_404(ani_client, awaiting):
    assert ani_client.get(sandbox_url(awaiting, "teller")).status_code == 404


def test_there_is_no_sandbox_bank_with_midtrans(ani_client, awaiting, settings, delivery):
    settings.PAYMENT_GATEWAY = "midtrans"

    assert ani_client.get(sandbox_url(awaiting)).status_code == 404
    assert ani_client.post(sandbox_url(awaiting), {"outcome": "pay"}).status_code == 404
    assert not SandboxTransaction.objects.exists()


def test_paying_an_expired_bill_is_refused(ani_client, awaiting, delivery):
    now = timezone.now()
    Bill.objects.filter(pk=awaiting.pk).update(
        issued_at=now - timezone.timedelta(days=8), expires_at=now - timezone.timedelta(hours=1)
    )
    services.bills_expire(now=now)

    response = ani_client.post(sandbox_url(awaiting), {"outcome": "pay"})

    assert response.status_code == 200
    assert in_language("id", REFUSED) in messages_of(response)
    assert not SandboxTransaction.objects.exists()
    delivery.assert_not_called()


def test_paying_a_paid_bill_is_refused(ani_client, paid, delivery):
    response = ani_client.post(sandbox_url(paid), {"outcome": "pay"})

    assert response.status_code == 200
    assert in_language("id", REFUSED) in messages_of(response)
    assert not SandboxTransaction.objects.exists()
    paid.application.refresh_from_db()
    assert paid.application.status == Status.PAID
