"""The officers' payments console: bills scoped to the officer's offices,
searchable and filterable; a payment recorded by hand (teller or gateway
down) with NTPN, reason and proof, audited; refunds for supervisors only;
the reconciliation list with mismatches first."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from applications import services as application_services
from applications.workflow import Status
from notifications.models import Channel, Notification
from payments import services
from payments.models import Bill, Payment, Refund
from tests.applications.conftest import advance, complete_draft, png_bytes
from tests.factories import UserFactory
from tests.payments.conftest import paid_body, post_webhook
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:payments_bill_changelist")
RECONCILIATION = reverse("admin:payments_bill_reconciliation")
NTPN = "0A1B2C3D4E5F6G7H"


def change_url(bill: Bill) -> str:
    return reverse("admin:payments_bill_change", args=[bill.pk])


def record_url(bill: Bill) -> str:
    return reverse("admin:payments_bill_record", args=[bill.pk])


def refund_url(bill: Bill, payment: Payment) -> str:
    return reverse("admin:payments_bill_refund", args=[bill.pk, payment.pk])


def proof(name: str = "bukti.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(60, 40), content_type="image/png")


def office_time(moment: dt.datetime) -> str:
    """What the datetime-local input sends: office (WIB) time, to the minute."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def record_data(**overrides) -> dict:
    data = {
        "method": "teller",
        "ntpn": NTPN,
        "paid_at": office_time(timezone.now() - dt.timedelta(hours=2)),
        "reason": "Dibayar di teller BRI Gunung Sugih; bukti dibawa pemohon.",
        "proof": proof(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def bill_for(citizen, office, service) -> Bill:
    application = complete_draft(citizen, office, service)
    application_services.application_submit(application=application, by=citizen, declaration=True)
    return services.bill_issue(application_id=application.pk)


def log_entries(bill: Bill, user):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Bill), object_id=str(bill.pk), user=user
    )


def error_next_to(response, field: str, message: str) -> bool:
    """`message` is in the error list of the form row holding `field`."""
    text = page_text(response)
    for row in re.findall(r'<div class="form-row">(.*?)</div>', text, re.S):
        if f'name="{field}"' in row:
            errors = re.search(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', row, re.S)
            return bool(errors) and message in errors.group(1)
    raise AssertionError(f"no form row for {field!r}")


@pytest.fixture
def issued_yesterday(awaiting) -> Bill:
    """ani's bill (office A), issued a day ago so a payment two hours ago fits in."""
    now = timezone.now()
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=now - dt.timedelta(days=1))
    awaiting.refresh_from_db()
    return awaiting


@pytest.fixture
def office_b_bill(office_b, passport_service) -> Bill:
    return bill_for(UserFactory(full_name="Warga Barat"), office_b, passport_service)


@pytest.fixture
def held(client, awaiting) -> Payment:
    """Rp 1.000 too little arrived for ani's bill: held for review."""
    response = post_webhook(client, paid_body(awaiting, amount=awaiting.amount - 1000))
    assert response.json()["result"] == "held"
    awaiting.refresh_from_db()
    assert awaiting.needs_review
    return awaiting.payments.get(state=Payment.State.HELD)


@pytest.fixture
def as_budi(client, budi):
    client.force_login(budi)
    return client


@pytest.fixture
def as_dewi(client, dewi):
    client.force_login(dewi)
    return client


# --- The bill list ---------------------------------------------------------------------------


def test_an_officer_sees_the_bills_of_their_office_only(as_budi, awaiting, office_b_bill):
    response = as_budi.get(CHANGELIST)

    assert response.status_code == 200
    text = page_text(response)
    assert awaiting.code in text
    assert office_b_bill.code not in text


def test_an_officer_of_another_office_does_not_see_the_bill(client, citra, awaiting, office_b_bill):
    client.force_login(citra)

    listing = client.get(CHANGELIST)
    page = client.get(change_url(awaiting))

    assert awaiting.code not in page_text(listing)
    assert office_b_bill.code in page_text(listing)
    assert page.status_code == 404


def test_an_officer_opens_their_offices_bill(as_budi, awaiting):
    response = as_budi.get(change_url(awaiting))

    assert response.status_code == 200
    assert awaiting.code in page_text(response)
    assert f'action="{record_url(awaiting)}"' in response.content.decode()


def test_the_list_is_searched_by_billing_code_grouped_or_not(as_budi, awaiting):
    other = bill_for(UserFactory(), awaiting.application.office, awaiting.application.service)

    plain = as_budi.get(CHANGELIST, {"q": awaiting.code})
    grouped = as_budi.get(CHANGELIST, {"q": awaiting.code_display})

    for response in (plain, grouped):
        text = page_text(response)
        assert awaiting.code in text
        assert other.code not in text


def test_the_list_is_searched_by_ntpn(as_budi, client, awaiting, office_a, passport_service):
    other = bill_for(UserFactory(), office_a, passport_service)
    ntpn = "NTPN0000ABCD1234"
    post_webhook(client, paid_body(awaiting, ntpn=ntpn))

    response = as_budi.get(CHANGELIST, {"q": ntpn})

    text = page_text(response)
    assert awaiting.code in text
    assert other.code not in text


def test_the_status_filter_narrows_the_list(as_budi, client, awaiting, office_a, passport_service):
    unpaid = bill_for(UserFactory(), office_a, passport_service)
    post_webhook(client, paid_body(awaiting))

    paid_only = as_budi.get(CHANGELIST, {"status__exact": "paid"})
    unpaid_only = as_budi.get(CHANGELIST, {"status__exact": "unpaid"})

    assert awaiting.code in page_text(paid_only)
    assert unpaid.code not in page_text(paid_only)
    assert unpaid.code in page_text(unpaid_only)
    assert awaiting.code not in page_text(unpaid_only)


# --- Recording a payment by hand ----------------------------------------------------------------


def test_an_officer_records_a_teller_payment_with_proof(as_budi, budi, issued_yesterday):
    bill = issued_yesterday

    response = as_budi.post(record_url(bill), record_data())

    assert response.status_code == 302
    assert response["Location"] == change_url(bill)
    bill.refresh_from_db()
    assert (bill.status, bill.ntpn, bill.method) == (Bill.Status.PAID, NTPN, "teller")
    payment = Payment.objects.get(bill=bill)
    assert payment.state == Payment.State.SETTLED
    assert payment.recorded_by == budi
    assert payment.amount == bill.amount
    assert payment.reason.startswith("Dibayar di teller")
    assert payment.proof.name.endswith(".png")
    assert default_storage.exists(payment.proof.name)
    application = bill.application
    application.refresh_from_db()
    assert application.status == Status.PAID
    (entry,) = log_entries(bill, budi)
    assert NTPN in entry.change_message


def test_the_recorded_payment_time_is_kept_in_office_time(as_budi, issued_yesterday):
    moment = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=3)

    as_budi.post(record_url(issued_yesterday), record_data(paid_at=office_time(moment)))

    assert Payment.objects.get(bill=issued_yesterday).paid_at == moment


def test_a_lower_case_ntpn_is_stored_in_capitals(as_budi, issued_yesterday):
    as_budi.post(record_url(issued_yesterday), record_data(ntpn=NTPN.lower()))

    issued_yesterday.refresh_from_db()
    assert issued_yesterday.ntpn == NTPN


def assert_nothing_paid(bill: Bill) -> None:
    bill.refresh_from_db()
    assert bill.status == Bill.Status.UNPAID
    assert not Payment.objects.filter(bill=bill).exists()
    application = bill.application
    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT
    assert not LogEntry.objects.filter(object_id=str(bill.pk)).exists()


# Each refusal: the form with the reason next to the field it concerns, and nothing paid.
REFUSALS = {
    "no proof for a teller payment": (
        "proof",
        {"proof": None},
        "Attach the bank's proof of payment.",
    ),
    "a malformed NTPN": (
        "ntpn",
        {"ntpn": "0A1B-2C3D-4E5F-6"},
        "The NTPN is 16 letters and digits, as printed on the bank's proof.",
    ),
    "a short NTPN": ("ntpn", {"ntpn": "12345"}, None),
    "an empty reason": ("reason", {"reason": "   "}, None),
    "a payment time in the future": (
        "paid_at",
        {"paid_at": "FUTURE"},
        "The payment time cannot be in the future.",
    ),
    "a proof that is not an image or a PDF": (
        "proof",
        {"proof": "NOT AN IMAGE"},
        None,
    ),
}


def refused_data(overrides: dict) -> dict:
    values = dict(overrides)
    if values.get("paid_at") == "FUTURE":
        values["paid_at"] = office_time(timezone.now() + dt.timedelta(days=1))
    if values.get("proof") == "NOT AN IMAGE":
        values["proof"] = SimpleUploadedFile(
            "bukti.png", b"MZ\x90\x00 not an image", content_type="image/png"
        )
    return record_data(**values)


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_payment_records_nothing(as_budi, issued_yesterday, case):
    _field, overrides, _message = case

    response = as_budi.post(record_url(issued_yesterday), refused_data(overrides))

    assert response.status_code != 302
    assert_nothing_paid(issued_yesterday)
    assert not default_storage.exists("payment-proofs")


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_payment_shows_the_error_next_to_the_field_with_400(
    as_budi, issued_yesterday, case
):
    field, overrides, message = case

    response = as_budi.post(record_url(issued_yesterday), refused_data(overrides))

    assert response.status_code == 400
    errors = response.context["record_form"].errors[field]
    if message is not None:
        assert in_language("id", message) in errors
    assert error_next_to(response, field, errors[0])


def test_a_citizen_cannot_reach_the_record_url(client, ani, issued_yesterday):
    client.force_login(ani)

    response = client.post(record_url(issued_yesterday), record_data())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert_nothing_paid(issued_yesterday)


def test_a_stranger_cannot_reach_the_bill_pages(client, eko, issued_yesterday):
    client.force_login(eko)

    for url in (CHANGELIST, change_url(issued_yesterday), RECONCILIATION):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    client.post(record_url(issued_yesterday), record_data())
    assert_nothing_paid(issued_yesterday)


def test_an_officer_of_another_office_cannot_record_a_payment(client, citra, issued_yesterday):
    client.force_login(citra)

    response = client.post(record_url(issued_yesterday), record_data())

    assert response.status_code == 404
    assert_nothing_paid(issued_yesterday)


def test_recording_on_an_already_paid_bill_is_refused(as_budi, budi, client, issued_yesterday):
    post_webhook(client, paid_body(issued_yesterday))
    issued_yesterday.refresh_from_db()
    assert issued_yesterday.status == Bill.Status.PAID
    ntpn = issued_yesterday.ntpn

    response = as_budi.post(record_url(issued_yesterday), record_data())

    assert response.status_code != 302
    assert Payment.objects.filter(bill=issued_yesterday).count() == 1
    assert issued_yesterday.payments.get().recorded_by is None
    issued_yesterday.refresh_from_db()
    assert issued_yesterday.ntpn == ntpn
    assert not log_entries(issued_yesterday, budi).exists()


def test_recording_on_an_already_paid_bill_says_why_with_400(as_budi, client, issued_yesterday):
    post_webhook(client, paid_body(issued_yesterday))

    response = as_budi.post(record_url(issued_yesterday), record_data())

    assert response.status_code == 400
    paid_label = in_language("id", "Paid")
    message = in_language("id", "This bill is “%(status)s”; only an unpaid bill can be paid.")
    assert message % {"status": paid_label} in page_text(response)


def test_a_get_on_the_record_url_goes_back_to_the_bill(as_budi, issued_yesterday):
    response = as_budi.get(record_url(issued_yesterday))

    assert response.status_code == 302
    assert response["Location"] == change_url(issued_yesterday)
    assert_nothing_paid(issued_yesterday)


# --- Refunds ----------------------------------------------------------------------------------


def refund_data(payment: Payment, **overrides) -> dict:
    data = {
        "amount": payment.amount,
        "reason": "Kurang bayar Rp 1.000; dana dikembalikan ke rekening pemohon.",
        "reference": "TRF-2026-0001",
    }
    data.update(overrides)
    return data


def test_an_officer_without_the_refund_permission_gets_403(as_budi, held):
    response = as_budi.post(refund_url(held.bill, held), refund_data(held))

    assert response.status_code == 403
    assert not Refund.objects.exists()
    held.refresh_from_db()
    assert held.state == Payment.State.HELD


def test_the_refund_form_is_not_offered_without_the_permission(as_budi, held):
    response = as_budi.get(change_url(held.bill))

    assert response.status_code == 200
    assert refund_url(held.bill, held) not in response.content.decode()


def test_a_supervisor_refunds_a_held_payment(as_dewi, dewi, ani, held):
    bill = held.bill

    response = as_dewi.post(refund_url(bill, held), refund_data(held))

    assert response.status_code == 302
    refund = Refund.objects.get(payment=held)
    assert (refund.amount, refund.recorded_by, refund.reference) == (
        held.amount,
        dewi,
        "TRF-2026-0001",
    )
    held.refresh_from_db()
    assert held.state == Payment.State.REFUNDED
    bill.refresh_from_db()
    assert bill.needs_review is False
    assert bill.status == Bill.Status.UNPAID  # the bill itself was never paid
    (entry,) = log_entries(bill, dewi)
    assert "Refund" in entry.change_message


def test_the_citizen_is_told_of_the_refund(as_dewi, ani, held):
    as_dewi.post(refund_url(held.bill, held), refund_data(held))

    refund = Refund.objects.get(payment=held)
    told = Notification.objects.filter(recipient=ani, event="payment.refunded")
    assert {row.channel for row in told} == {Channel.EMAIL, Channel.PORTAL}
    portal = told.get(channel=Channel.PORTAL)
    assert portal.related_id == str(refund.pk)
    assert "Rp 949.000" in portal.body
    assert held.bill.application.reference in portal.body


def test_refunding_more_than_was_paid_is_refused(as_dewi, dewi, ani, held):
    response = as_dewi.post(refund_url(held.bill, held), refund_data(held, amount=held.amount + 1))

    assert response.status_code != 302
    assert not Refund.objects.exists()
    held.refresh_from_db()
    assert held.state == Payment.State.HELD
    held.bill.refresh_from_db()
    assert held.bill.needs_review is True
    assert not Notification.objects.filter(recipient=ani, event="payment.refunded").exists()
    assert not log_entries(held.bill, dewi).exists()


@pytest.mark.parametrize("difference", [1, -1], ids=["more", "less"])
def test_a_refund_other_than_the_whole_payment_says_why_with_400(as_dewi, held, difference):
    response = as_dewi.post(
        refund_url(held.bill, held), refund_data(held, amount=held.amount + difference)
    )

    assert response.status_code == 400
    assert "Rp 950.000" in page_text(response)
    assert not Refund.objects.exists()
    held.refresh_from_db()
    assert held.state == Payment.State.HELD


def test_the_fee_of_an_application_going_ahead_is_not_refunded(as_dewi, awaiting, client):
    post_webhook(client, paid_body(awaiting))
    settled = Payment.objects.get(bill=awaiting, state=Payment.State.SETTLED)

    response = as_dewi.post(refund_url(awaiting, settled), refund_data(settled))

    assert response.status_code == 400
    assert not Refund.objects.exists()
    settled.refresh_from_db()
    assert settled.state == Payment.State.SETTLED
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.PAID


def test_a_refund_without_a_reason_is_refused(as_dewi, held):
    response = as_dewi.post(refund_url(held.bill, held), refund_data(held, reason=""))

    assert response.status_code != 302
    assert not Refund.objects.exists()
    held.refresh_from_db()
    assert held.state == Payment.State.HELD


def test_a_payment_is_refunded_once(as_dewi, held):
    as_dewi.post(refund_url(held.bill, held), refund_data(held))

    response = as_dewi.post(refund_url(held.bill, held), refund_data(held))

    assert response.status_code != 302
    assert Refund.objects.filter(payment=held).count() == 1


# --- Reconciliation -------------------------------------------------------------------------------


@pytest.fixture
def reconciled(client, budi, office_a, office_b, passport_service, awaiting):
    """Office A: a held bill, an application paid without a bill, a properly paid one;
    office B: an application paid without a bill."""
    post_webhook(client, paid_body(awaiting, amount=awaiting.amount - 1000))  # held
    no_bill = advance(
        complete_draft(UserFactory(), office_a, passport_service), Status.PAID, officer=budi
    )
    matching = bill_for(UserFactory(), office_a, passport_service)
    post_webhook(client, paid_body(matching))
    other_office = advance(
        complete_draft(UserFactory(), office_b, passport_service), Status.PAID, officer=budi
    )
    return {
        "held": awaiting.application,
        "no_bill": no_bill,
        "matching": matching.application,
        "other_office": other_office,
    }


def test_reconciliation_lists_mismatches_before_matching_rows(as_budi, reconciled):
    response = as_budi.get(RECONCILIATION)

    assert response.status_code == 200
    rows = response.context["rows"]
    references = [row.application.reference for row in rows]
    problems = {row.application.reference: row.problem for row in rows}
    held, no_bill, matching = (
        reconciled["held"].reference,
        reconciled["no_bill"].reference,
        reconciled["matching"].reference,
    )
    assert problems[held] and problems[no_bill]
    assert problems[matching] == ""
    assert references.index(matching) > max(references.index(held), references.index(no_bill))
    text = page_text(response)
    assert text.index(held) < text.index(matching)
    assert text.index(no_bill) < text.index(matching)
    assert response.context["mismatches"] == 2


def test_reconciliation_names_each_mismatch(as_budi, reconciled):
    response = as_budi.get(RECONCILIATION)

    text = page_text(response)
    assert in_language("id", "The application is past payment but has no paid bill.") in text
    review = in_language("id", "Payment held for review: %(note)s")
    assert review.split("%(note)s")[0] in text


def test_reconciliation_is_scoped_to_the_officers_offices(as_budi, client, citra, reconciled):
    budi_sees = page_text(as_budi.get(RECONCILIATION))
    client.force_login(citra)
    citra_sees = page_text(client.get(RECONCILIATION))

    assert reconciled["other_office"].reference not in budi_sees
    assert reconciled["other_office"].reference in citra_sees
    for office_a_application in ("held", "no_bill", "matching"):
        assert reconciled[office_a_application].reference not in citra_sees


def test_a_supervisor_opens_the_payment_changelists(as_dewi, held):
    for name in ("bill", "payment", "refund", "webhookevent"):
        response = as_dewi.get(reverse(f"admin:payments_{name}_changelist"))
        assert response.status_code == 200, name
    assert as_dewi.get(RECONCILIATION).status_code == 200


def test_a_supervisor_sees_the_held_payment_and_its_notification(as_dewi, held):
    payments_page = page_text(as_dewi.get(reverse("admin:payments_payment_changelist")))
    notifications_page = page_text(as_dewi.get(reverse("admin:payments_webhookevent_changelist")))

    assert held.ntpn in payments_page
    assert held.bill.code in notifications_page
