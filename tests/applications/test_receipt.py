"""The receipt PDF (tanda terima): what it says, and the verification link it
prints, which opens a public page saying it is genuine, or not valid when the
token was altered."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo

import pytest
import time_machine
from django.core import signing
from django.core.files.storage import default_storage
from django.urls import reverse
from pypdf import PdfReader

from applications import receipts, services, verification
from applications.models import Application
from tests.applications.conftest import complete_draft
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
GENUINE = "Genuine."
NOT_VALID = "Not valid."


@pytest.fixture
def regular(ani, office_a, regular_passport_service, tasks_inline) -> Application:
    """Ani's ordinary passport application, sent (Rp 650.000 under PP 45/2024)."""
    application = complete_draft(ani, office_a, regular_passport_service)
    services.application_submit(application=application, by=ani, declaration=True)
    return application


@pytest.fixture
def receipt_text(regular) -> str:
    receipt = receipts.receipt_render(regular.pk)
    with default_storage.open(receipt.file.name, "rb") as handle:
        content = handle.read()
    reader = PdfReader(io.BytesIO(content))
    return reader.pages[0].extract_text()


def squeezed(text: str) -> str:
    """The text without white space: a long URL may be broken over lines."""
    return re.sub(r"\s+", "", text)


def token_in(text: str) -> str:
    """The token of the verification link printed in `text`."""
    before, after = reverse("verify", args=["TOKEN"]).split("TOKEN")
    match = re.search(re.escape(before) + r"([^/]+)" + re.escape(after), squeezed(text))
    assert match, f"no verification link in:\n{text}"
    return match.group(1)


def test_the_receipt_names_the_reference_and_the_fee(regular, receipt_text):
    assert regular.reference in receipt_text
    assert "Rp 650.000" in receipt_text
    assert regular.service.name_id in receipt_text


def test_the_receipt_masks_the_nik(regular, receipt_text, ani):
    assert ani.nik not in squeezed(receipt_text)
    assert regular.nik_masked in receipt_text


def test_the_receipt_prints_a_verification_link_naming_it(regular, receipt_text, settings):
    # The token carries its signing time, so it is read back rather than compared.
    token = token_in(receipt_text)

    assert settings.SITE_URL + reverse("verify", args=[token]) in squeezed(receipt_text)
    assert verification.read_token(token) == ("receipt", regular.reference)


def test_the_printed_link_opens_the_page_saying_genuine(client, regular, receipt_text):
    token = token_in(receipt_text)

    response = client.get(reverse("verify", args=[token]))

    assert response.status_code == 200
    text = page_text(response)
    assert in_language("id", GENUINE) in text
    assert regular.reference in text
    assert in_language("id", NOT_VALID) not in text
    assert regular.full_name not in text  # the name is masked on a public page


def test_the_printed_link_says_genuine_in_english_too(english, regular, receipt_text):
    response = english.get(reverse("verify", args=[token_in(receipt_text)]))

    assert response.status_code == 200
    assert GENUINE in page_text(response)


def test_a_tampered_token_is_not_valid(client, regular):
    token = verification.token_for("receipt", regular.reference)
    position = len(token) // 2
    tampered = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]

    response = client.get(reverse("verify", args=[tampered]))

    assert response.status_code == 404
    text = page_text(response)
    assert in_language("id", NOT_VALID) in text
    assert regular.reference not in text


def test_a_token_signed_with_another_salt_is_not_valid(client, regular):
    forged = signing.dumps(
        {"k": "receipt", "r": regular.reference}, salt="guessed-salt", compress=True
    )

    response = client.get(reverse("verify", args=[forged]))

    assert response.status_code == 404
    assert in_language("id", NOT_VALID) in page_text(response)


def test_a_genuine_token_for_a_draft_is_not_valid(client, ani, office_a, passport_service):
    draft = complete_draft(ani, office_a, passport_service)

    response = client.get(
        reverse("verify", args=[verification.token_for("receipt", draft.reference)])
    )

    assert response.status_code == 404
    assert draft.reference not in page_text(response)


def test_the_receipt_lists_the_tariff_rows_that_make_up_the_fee_charged(regular):
    context = receipts.receipt_context(Application.objects.get(pk=regular.pk))

    assert sum(t.amount for t in context["tariffs"]) == regular.fee_amount == 650_000


def test_a_receipt_sent_early_in_the_morning_lists_the_tariff_of_that_day(
    ani, office_a, passport_service, tasks_inline
):
    application = complete_draft(ani, office_a, passport_service)
    # 05.00 WIB on 17 December 2024, the day PP 45/2024 took effect (still 16 December UTC).
    with time_machine.travel(dt.datetime(2024, 12, 17, 5, 0, tzinfo=WIB), tick=False):
        services.application_submit(application=application, by=ani, declaration=True)
        context = receipts.receipt_context(Application.objects.get(pk=application.pk))

    assert Application.objects.get(pk=application.pk).fee_amount == 950_000
    assert sum(t.amount for t in context["tariffs"]) == 950_000
