"""Pages for anyone: the status check (/cek-status/) and receipt verification (/cek-dokumen/).

Neither may help someone enumerate applications: a wrong reference and a
wrong birth date look exactly alike, drafts do not exist, the check is
rate-limited per IP, and names are masked.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from applications import receipts, verification
from applications.workflow import Status
from tests.applications.conftest import advance
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

STATUS_CHECK = reverse("status_check")
NOT_FOUND = (
    "We could not find an application with this reference and date of birth. "
    "Check both and try again."
)
# A fixed moment in the middle of a rate-limit window: the fixed-window counter
# must not roll over between two requests of one test.
MIDDAY = dt.datetime(2026, 3, 10, 5, 7, 30, tzinfo=dt.UTC)


def result_section(response) -> str:
    """The part of the page that answers the question (the form before it echoes the input)."""
    body = response.content.decode()
    start = body.index('aria-live="polite"')
    return body[start : body.index("</main>", start)]


def check(client, reference: str, date_of_birth: str, ip: str = "203.0.113.7"):
    return client.post(
        STATUS_CHECK,
        {"reference": reference, "date_of_birth": date_of_birth},
        REMOTE_ADDR=ip,
    )


# --- The status check ----------------------------------------------------------------------


def test_the_page_opens_for_an_anonymous_visitor(english):
    response = english.get(STATUS_CHECK)

    assert response.status_code == 200
    assert "Check an application's status" in page_text(response)


def test_the_right_reference_and_birth_date_show_the_status(english, submitted):
    response = check(english, submitted.reference, "1990-05-12")

    text = page_text(response)
    assert response.status_code == 200
    assert submitted.reference in text
    assert "Submitted" in text
    assert "We have received your application and are checking it." in text
    assert "Ani L******" in text
    assert "Ani Lestari" not in text
    assert response["Cache-Control"] == "no-store"


def test_the_birth_date_may_be_typed_the_indonesian_way(english, submitted):
    response = check(english, submitted.reference, "12/05/1990")

    assert response.context["result"] == submitted


def test_the_status_shown_follows_the_application(english, submitted, budi):
    advance(submitted, Status.REVISION_REQUESTED, officer=budi)

    response = check(english, submitted.reference, "1990-05-12")

    assert "Revision requested" in page_text(response)


def test_the_result_is_in_indonesian_by_default(client, submitted):
    response = check(client, submitted.reference, "1990-05-12")

    assert in_language("id", "We have received your application and are checking it.") in (
        page_text(response)
    )


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(lambda ref: ref.lower(), id="lowercase"),
        pytest.param(lambda ref: f"  {ref}  ", id="surrounding-spaces"),
        pytest.param(lambda ref: ref.replace("-", "- ", 1).lower(), id="inner-space"),
        pytest.param(lambda ref: ref[:11] + " " + ref[11:], id="space-in-the-random-part"),
    ],
)
def test_the_reference_is_normalised(english, submitted, typed):
    response = check(english, typed(submitted.reference), "1990-05-12")

    assert response.context["result"] == submitted


def test_a_wrong_reference_and_a_wrong_date_look_exactly_the_same(english, submitted):
    wrong_reference = check(english, "PSP-LTG-26-ZZZZZZ", "1990-05-12")
    wrong_date = check(english, submitted.reference, "1990-05-13")

    assert wrong_reference.status_code == wrong_date.status_code == 200
    assert result_section(wrong_reference) == result_section(wrong_date)
    assert NOT_FOUND in page_text(wrong_reference)
    assert submitted.reference not in result_section(wrong_date)
    assert "Ani" not in page_text(wrong_date)


def test_a_draft_is_never_found(english, draft):
    found = check(english, draft.reference, "1990-05-12")
    unknown = check(english, "PSP-LTG-26-ZZZZZZ", "1990-05-12")

    assert found.status_code == 200
    assert found.context["result"] is None
    assert NOT_FOUND in page_text(found)
    assert result_section(found) == result_section(unknown)


def test_an_incomplete_form_shows_errors_and_no_result(english, submitted):
    response = english.post(STATUS_CHECK, {"reference": submitted.reference}, REMOTE_ADDR="1.2.3.4")

    assert response.status_code == 200
    assert response.context["result"] is None
    assert response.context["form"].errors["date_of_birth"]
    assert NOT_FOUND not in page_text(response)


def test_a_get_shows_no_result_and_is_not_counted(english, settings, submitted):
    settings.STATUS_CHECK_LIMIT = 1

    with time_machine.travel(MIDDAY, tick=False):
        for _ in range(3):
            assert english.get(STATUS_CHECK, REMOTE_ADDR="198.51.100.1").status_code == 200
        response = check(english, submitted.reference, "1990-05-12", ip="198.51.100.1")

    assert response.status_code == 200
    assert response.context["result"] == submitted


def test_after_the_limit_one_ip_gets_429_and_another_still_works(english, settings, submitted):
    settings.STATUS_CHECK_LIMIT = 3
    settings.STATUS_CHECK_WINDOW_SECONDS = 900

    with time_machine.travel(MIDDAY, tick=False):
        tries = [
            check(english, "PSP-LTG-26-ZZZZZZ", "1990-05-12", ip="192.0.2.10") for _ in range(3)
        ]
        blocked = check(english, submitted.reference, "1990-05-12", ip="192.0.2.10")
        other = check(english, submitted.reference, "1990-05-12", ip="192.0.2.11")

    assert [r.status_code for r in tries] == [200, 200, 200]
    assert blocked.status_code == 429
    text = page_text(blocked)
    assert "Too many attempts" in text
    assert "Please wait 15 minutes and try again." in text
    assert submitted.reference not in text
    assert other.status_code == 200
    assert other.context["result"] == submitted


def test_even_the_right_answer_is_refused_once_the_limit_is_reached(english, settings, submitted):
    settings.STATUS_CHECK_LIMIT = 2

    with time_machine.travel(MIDDAY, tick=False):
        for _ in range(2):
            check(english, submitted.reference, "1990-05-12", ip="192.0.2.20")
        blocked = check(english, submitted.reference, "1990-05-12", ip="192.0.2.20")

    assert blocked.status_code == 429
    assert "Ani" not in page_text(blocked)


def test_the_limit_lifts_in_the_next_window(english, settings, submitted):
    settings.STATUS_CHECK_LIMIT = 1
    settings.STATUS_CHECK_WINDOW_SECONDS = 900

    with time_machine.travel(MIDDAY, tick=False) as traveller:
        check(english, submitted.reference, "1990-05-12", ip="192.0.2.30")
        assert check(english, submitted.reference, "1990-05-12", ip="192.0.2.30").status_code == 429
        traveller.shift(dt.timedelta(seconds=900))
        again = check(english, submitted.reference, "1990-05-12", ip="192.0.2.30")

    assert again.status_code == 200


def test_the_429_page_is_in_indonesian_by_default(client, settings):
    settings.STATUS_CHECK_LIMIT = 0

    response = check(client, "PSP-LTG-26-ZZZZZZ", "1990-05-12")

    assert response.status_code == 429
    assert in_language("id", "Too many attempts") in page_text(response)


# --- Receipt verification ------------------------------------------------------------------


def test_a_genuine_receipt_shows_the_reference_and_a_masked_name(english, submitted):
    receipts.receipt_render(submitted.pk)
    token = verification.token_for("receipt", submitted.reference)

    response = english.get(reverse("verify", args=[token]))

    text = page_text(response)
    assert response.status_code == 200
    assert "Genuine." in text
    assert submitted.reference in text
    assert "Ani L******" in text
    assert "Ani Lestari" not in text
    assert submitted.office.name in text


def test_the_verification_link_printed_on_the_receipt_opens_the_page(english, submitted, settings):
    receipts.receipt_render(submitted.pk)
    url = verification.verification_url("receipt", submitted.reference)
    assert url.startswith(settings.SITE_URL.rstrip("/"))

    response = english.get(url.removeprefix(settings.SITE_URL.rstrip("/")))

    assert response.status_code == 200
    assert response.context["valid"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature-changed"),
        pytest.param(lambda t: "x" + t, id="payload-changed"),
        pytest.param(lambda t: t.split(":")[0], id="signature-removed"),
        pytest.param(lambda t: "not-a-token", id="made-up"),
    ],
)
def test_a_tampered_token_is_not_valid(english, submitted, tamper):
    token = tamper(verification.token_for("receipt", submitted.reference))

    response = english.get(reverse("verify", args=[token]))

    assert response.status_code == 404
    text = page_text(response)
    assert "Not valid." in text
    assert submitted.reference not in text
    assert "Ani" not in text


def test_a_token_signed_for_another_purpose_is_not_valid(english, submitted):
    token = signing.dumps({"k": "receipt", "r": submitted.reference}, compress=True)

    response = english.get(reverse("verify", args=[token]))

    assert response.status_code == 404


def test_a_token_for_a_draft_is_not_valid(english, draft):
    token = verification.token_for("receipt", draft.reference)

    response = english.get(reverse("verify", args=[token]))

    assert response.status_code == 404
    assert "Not valid." in page_text(response)
    assert draft.reference not in page_text(response)


def test_a_token_for_an_unknown_reference_is_not_valid(english, db):
    token = verification.token_for("receipt", "PSP-LTG-26-ZZZZZZ")

    response = english.get(reverse("verify", args=[token]))

    assert response.status_code == 404


def test_the_verification_page_is_in_indonesian_by_default(client, submitted):
    receipts.receipt_render(submitted.pk)
    token = verification.token_for("receipt", submitted.reference)

    response = client.get(reverse("verify", args=[token]))

    assert in_language("id", "This receipt was issued by the Imigrasi portal.") in page_text(
        response
    )


def test_a_receipt_token_without_a_rendered_receipt_is_not_valid(english, submitted):
    token = verification.token_for("receipt", submitted.reference)

    assert english.get(reverse("verify", args=[token])).status_code == 404


def test_a_signed_token_of_another_kind_is_not_a_receipt(english, submitted):
    receipts.receipt_render(submitted.pk)
    token = verification.token_for("payment", submitted.reference)

    response = english.get(reverse("verify", args=[token]))

    assert response.status_code == 404
    assert "Not valid." in page_text(response)
