"""The payment receipt (bukti pembayaran): rendered once after payment,
emailed once with the PDF attached, printing the NTPN, code, amount and a
verification link whose page says genuine (or not valid when altered); the
sweep renders what a lost task missed."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from applications import verification
from notifications.models import Channel, Notification
from payments import receipts, tasks
from payments.models import Bill, PaymentReceipt
from tests.payments.conftest import paid_body, post_webhook
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

FEE_SHOWN = "Rp 950.000"
GENUINE = "Genuine."
NOT_VALID = "Not valid."


@pytest.fixture
def paid(client, awaiting) -> Bill:
    """The gateway reported ani's bill paid; the receipt task has not run (no commit)."""
    response = post_webhook(client, paid_body(awaiting))
    assert response.json()["result"] == "applied"
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.PAID
    assert not PaymentReceipt.objects.exists()
    return awaiting


def pdf_text(receipt: PaymentReceipt) -> str:
    with default_storage.open(receipt.file.name, "rb") as handle:
        content = handle.read()
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def token_in(text: str) -> str:
    before, after = reverse("verify", args=["TOKEN"]).split("TOKEN")
    match = re.search(re.escape(before) + r"([^/]+)" + re.escape(after), squeezed(text))
    assert match, f"no verification link in:\n{text}"
    return match.group(1)


def paid_emails(ani):
    return Notification.objects.filter(recipient=ani, event="payment.paid")


# --- Made once -----------------------------------------------------------------------------


def test_the_receipt_is_rendered_and_stored_with_its_hash(paid):
    receipt = receipts.payment_receipt_render(paid.pk)

    assert receipt.bill == paid
    with default_storage.open(receipt.file.name, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF")
    assert receipt.sha256 == hashlib.sha256(content).hexdigest()


def test_rendering_again_returns_the_same_receipt(paid, ani):
    first = receipts.payment_receipt_render(paid.pk)
    second = receipts.payment_receipt_render(paid.pk)

    assert first == second
    assert PaymentReceipt.objects.filter(bill=paid).count() == 1
    assert paid_emails(ani).count() == 1


def test_a_redelivered_task_makes_no_second_receipt_or_email(
    paid, ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_payment_receipt.delay(paid.pk)
    receipt = PaymentReceipt.objects.get(bill=paid)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_payment_receipt.delay(paid.pk)

    assert PaymentReceipt.objects.get(bill=paid) == receipt
    assert paid_emails(ani).count() == 1
    assert len([m for m in mail.outbox if m.attachments]) == 1


def test_an_unpaid_bill_gets_no_receipt(awaiting):
    assert receipts.payment_receipt_render(awaiting.pk) is None
    assert not PaymentReceipt.objects.exists()


# --- Emailed -------------------------------------------------------------------------------------


def test_the_receipt_email_carries_the_pdf(paid, ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receipt = receipts.payment_receipt_render(paid.pk)

    (row,) = paid_emails(ani)
    assert row.channel == Channel.EMAIL
    assert row.attachment == receipt.file.name
    assert row.attachment_name == f"bukti-pembayaran-{paid.code}.pdf"
    assert row.related_id == str(receipt.pk)
    (message,) = [m for m in mail.outbox if m.attachments]
    assert message.to == [ani.email]
    assert paid.application.reference in message.subject
    assert paid.ntpn in message.body
    ((filename, content, mimetype),) = message.attachments
    assert filename == f"bukti-pembayaran-{paid.code}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_paying_through_the_gateway_sends_the_receipt_by_itself(
    client, awaiting, ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(client, paid_body(awaiting))

    assert PaymentReceipt.objects.filter(bill=awaiting).exists()
    assert paid_emails(ani).count() == 1
    assert any(
        filename == f"bukti-pembayaran-{awaiting.code}.pdf"
        for message in mail.outbox
        for filename, _content, _type in message.attachments
    )


# --- What it says -----------------------------------------------------------------------------


def test_the_pdf_names_the_ntpn_the_code_and_the_amount(paid):
    text = pdf_text(receipts.payment_receipt_render(paid.pk))

    assert paid.ntpn in text
    assert paid.code_display in text or paid.code in squeezed(text)
    assert FEE_SHOWN in text
    assert paid.application.reference in text


def test_the_pdf_prints_a_verification_link_naming_the_payment(paid, settings):
    text = pdf_text(receipts.payment_receipt_render(paid.pk))

    token = token_in(text)
    assert settings.SITE_URL + reverse("verify", args=[token]) in squeezed(text)
    assert verification.read_token(token) == ("payment", paid.code)


def test_the_printed_link_opens_the_genuine_page_with_the_ntpn(client, paid):
    token = token_in(pdf_text(receipts.payment_receipt_render(paid.pk)))

    response = client.get(reverse("verify", args=[token]))

    assert response.status_code == 200
    text = page_text(response)
    assert in_language("id", GENUINE) in text
    assert in_language("id", "This payment receipt was issued by the Imigrasi portal.") in text
    assert paid.ntpn in text
    assert paid.code_display in text
    assert FEE_SHOWN in text
    assert in_language("id", NOT_VALID) not in text


def test_a_tampered_token_is_not_valid(client, paid):
    receipts.payment_receipt_render(paid.pk)
    token = verification.token_for("payment", paid.code)
    position = len(token) // 2
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    response = client.get(reverse("verify", args=[tampered]))

    assert response.status_code == 404
    text = page_text(response)
    assert in_language("id", NOT_VALID) in text
    assert paid.ntpn not in text
    assert paid.code_display not in text


def test_a_genuine_token_for_a_bill_without_receipt_is_not_valid(client, awaiting):
    response = client.get(
        reverse("verify", args=[verification.token_for("payment", awaiting.code)])
    )

    assert response.status_code == 404
    assert awaiting.code_display not in page_text(response)


# --- The sweep ------------------------------------------------------------------------------------


def test_the_sweep_renders_a_receipt_a_lost_task_missed(paid, ani):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6), tick=False):
        done = receipts.payment_receipts_missing_render()

    assert done == 1
    receipt = PaymentReceipt.objects.get(bill=paid)
    assert paid_emails(ani).get().attachment == receipt.file.name


def test_the_sweep_leaves_a_just_paid_bill_to_its_task(paid):
    assert receipts.payment_receipts_missing_render() == 0
    assert not PaymentReceipt.objects.exists()


def test_the_sweep_run_twice_renders_once(paid, ani):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6), tick=False):
        receipts.payment_receipts_missing_render()
        again = receipts.payment_receipts_missing_render()

    assert again == 0
    assert PaymentReceipt.objects.filter(bill=paid).count() == 1
    assert paid_emails(ani).count() == 1
