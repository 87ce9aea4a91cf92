"""Officers and the money: a payment recorded by hand on a bill that expired
meanwhile, in the office's own time zone; refunds only once the application
will not go ahead; the bank's proof only for those who may see payments; a
review closed under the application's lock; reconciliation that finds every
mismatch in the database, not among the newest rows only."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications import services as application_services
from applications import workflow
from applications.models import Application, StatusEvent
from applications.workflow import Status
from imigrasi.errors import ServiceError
from notifications.models import Notification
from offices.models import Office
from payments import selectors, services
from payments.models import Bill, Method, Payment, Refund
from tests.applications.conftest import complete_draft, png_bytes
from tests.factories import StaffFactory, UserFactory
from tests.payments.conftest import application_of, fresh, paid_body, post_webhook

pytestmark = pytest.mark.django_db

NTPN = "0A1B2C3D4E5F6G7H"
REASON = "Dibayar di teller BRI Gunung Sugih; bukti dibawa pemohon."
RECONCILIATION = reverse("admin:payments_bill_reconciliation")
JAYAPURA = zoneinfo.ZoneInfo("Asia/Jayapura")


def change_url(bill: Bill) -> str:
    return reverse("admin:payments_bill_change", args=[bill.pk])


def record_url(bill: Bill) -> str:
    return reverse("admin:payments_bill_record", args=[bill.pk])


def refund_url(bill: Bill, payment: Payment) -> str:
    return reverse("admin:payments_bill_refund", args=[bill.pk, payment.pk])


def proof_url(bill: Bill, payment: Payment) -> str:
    return reverse("admin:payments_bill_proof", args=[bill.pk, payment.pk])


def log_entries(bill: Bill, user):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Bill), object_id=str(bill.pk), user=user
    )


def refund_data(payment: Payment, **overrides) -> dict:
    data = {
        "amount": payment.amount,
        "reason": "Permohonan ditolak; PNBP dikembalikan ke rekening pemohon.",
        "reference": "TRF-2026-0002",
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_budi(client, budi):
    client.force_login(budi)
    return client


@pytest.fixture
def as_dewi(client, dewi):
    client.force_login(dewi)
    return client


@pytest.fixture
def issued_yesterday(awaiting) -> Bill:
    """ani's bill (office A), issued a day ago so a payment hours ago fits in."""
    Bill.objects.filter(pk=awaiting.pk).update(issued_at=timezone.now() - dt.timedelta(days=1))
    return fresh(awaiting)


@pytest.fixture
def expired(awaiting, time_machine) -> Bill:
    """ani's bill ran out unpaid an hour ago and was closed; no new code was asked for."""
    now = awaiting.expires_at + dt.timedelta(hours=1)
    time_machine.move_to(now, tick=True)
    assert services.bills_expire(now=now) == 1
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.EXPIRED
    assert application_of(bill).status == Status.EXPIRED
    return bill


# --- Recording a payment on an expired bill --------------------------------------------------


def test_an_officer_records_a_payment_made_before_the_expired_code_ran_out(expired, budi):
    paid_at = expired.expires_at - dt.timedelta(minutes=10)

    payment = services.payment_record(
        bill=expired,
        by=budi,
        method=Method.MANUAL,
        ntpn=NTPN,
        paid_at=paid_at,
        reason="Dibayar tepat waktu; kabar bank terlambat.",
    )

    assert payment.state == Payment.State.SETTLED
    assert payment.recorded_by == budi
    bill = fresh(expired)
    assert (bill.status, bill.ntpn, bill.paid_at) == (Bill.Status.PAID, NTPN, paid_at)
    application = application_of(bill)
    assert application.status == Status.PAID
    (event,) = StatusEvent.objects.filter(application=application, to_status=Status.PAID)
    assert event.from_status == Status.EXPIRED
    assert event.by == budi
    assert event.actor == workflow.OFFICER
    (entry,) = log_entries(bill, budi)
    assert NTPN in entry.change_message


def test_a_payment_made_after_the_code_expired_cannot_be_recorded(expired, budi):
    paid_at = expired.expires_at + dt.timedelta(minutes=10)

    with pytest.raises(ServiceError) as refused:
        services.payment_record(
            bill=expired,
            by=budi,
            method=Method.MANUAL,
            ntpn=NTPN,
            paid_at=paid_at,
            reason="Dibayar setelah kode kedaluwarsa.",
        )

    assert refused.value.field == "paid_at"
    bill = fresh(expired)
    assert bill.status == Bill.Status.EXPIRED
    assert bill.paid_at is None
    assert not Payment.objects.exists()
    assert application_of(bill).status == Status.EXPIRED
    assert not StatusEvent.objects.filter(to_status=Status.PAID).exists()
    assert not log_entries(bill, budi).exists()


# --- The office's time zone ------------------------------------------------------------------


def test_the_payment_time_is_read_in_the_offices_own_time_zone(as_budi, issued_yesterday):
    Office.objects.filter(pk=issued_yesterday.application.office_id).update(
        time_zone=Office.TimeZone.WIT
    )
    moment = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    typed = moment.astimezone(JAYAPURA).strftime("%Y-%m-%dT%H:%M")  # what the proof shows

    response = as_budi.post(
        record_url(issued_yesterday),
        {"method": "manual", "ntpn": NTPN, "paid_at": typed, "reason": REASON},
    )

    assert response.status_code == 302, response.context["record_form"].errors
    payment = Payment.objects.get(bill=issued_yesterday)
    expected = dt.datetime.strptime(typed, "%Y-%m-%dT%H:%M").replace(tzinfo=JAYAPURA)
    assert payment.paid_at == expected == moment
    assert fresh(issued_yesterday).status == Bill.Status.PAID


# --- Refunds of a settled fee ----------------------------------------------------------------


@pytest.fixture
def settled(client, awaiting) -> Payment:
    assert post_webhook(client, paid_body(awaiting)).json()["result"] == "applied"
    return Payment.objects.get(bill=awaiting, state=Payment.State.SETTLED)


def test_the_settled_fee_of_a_paid_application_is_not_refunded(as_dewi, dewi, settled):
    bill = settled.bill

    response = as_dewi.post(refund_url(bill, settled), refund_data(settled))

    assert response.status_code == 400
    assert not Refund.objects.exists()
    settled.refresh_from_db()
    assert settled.state == Payment.State.SETTLED
    assert fresh(bill).status == Bill.Status.PAID
    assert not log_entries(bill, dewi).exists()


def test_the_settled_fee_is_refunded_once_the_application_is_rejected(
    as_dewi, dewi, budi, ani, settled
):
    bill = settled.bill
    application = application_of(bill)
    workflow.transition(application, Status.REJECTED, by=budi, note="Dokumen palsu.")
    assert fresh(bill).status == Bill.Status.PAID  # a paid bill is not cancelled

    response = as_dewi.post(refund_url(bill, settled), refund_data(settled))

    assert response.status_code == 302
    refund = Refund.objects.get(payment=settled)
    assert (refund.amount, refund.recorded_by) == (settled.amount, dewi)
    settled.refresh_from_db()
    assert settled.state == Payment.State.REFUNDED
    assert fresh(bill).status == Bill.Status.REFUNDED
    told = Notification.objects.filter(recipient=ani, event="payment.refunded")
    assert told.exists()
    assert {row.related_id for row in told} == {str(refund.pk)}
    (entry,) = log_entries(bill, dewi)
    assert "Refund" in entry.change_message


# --- The bank's proof -------------------------------------------------------------------------


@pytest.fixture
def with_proof(as_budi, issued_yesterday) -> Payment:
    """budi recorded a teller payment with the bank's proof (PNG)."""
    paid_at = timezone.localtime(timezone.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = as_budi.post(
        record_url(issued_yesterday),
        {
            "method": "teller",
            "ntpn": NTPN,
            "paid_at": paid_at,
            "reason": REASON,
            "proof": SimpleUploadedFile("bukti.png", png_bytes(60, 40), content_type="image/png"),
        },
    )
    assert response.status_code == 302
    payment = Payment.objects.get(bill=issued_yesterday)
    assert payment.proof.name
    return payment


def test_staff_of_the_office_without_the_payment_permission_cannot_download_the_proof(
    with_proof, office_a
):
    clerk = StaffFactory(email="clerk@example.id", full_name="Staf Loket", offices=[office_a])
    assert not clerk.groups.exists()
    assert not clerk.has_perm("payments.view_payment")
    other = Client()
    other.force_login(clerk)

    response = other.get(proof_url(with_proof.bill, with_proof))

    assert response.status_code == 403
    assert "attachment" not in response.get("Content-Disposition", "")


def test_an_officer_downloads_the_proof_as_an_attachment(as_budi, with_proof):
    response = as_budi.get(proof_url(with_proof.bill, with_proof))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"bukti-{with_proof.bill.code}.png" in response["Content-Disposition"]
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


# --- Closing a review ---------------------------------------------------------------------------


@pytest.fixture
def held(client, awaiting) -> Payment:
    """Rp 1.000 too little arrived for ani's bill: held for review."""
    response = post_webhook(client, paid_body(awaiting, amount=awaiting.amount - 1000))
    assert response.json()["result"] == "held"
    return Payment.objects.get(bill=awaiting, state=Payment.State.HELD)


def test_a_review_is_closed_once_the_held_money_is_refunded(held, budi, dewi):
    bill = held.bill
    with pytest.raises(ServiceError):
        services.review_clear(bill=bill, by=budi, note="Sudah dicek.")
    assert fresh(bill).needs_review is True
    services.refund_record(
        payment=held, by=dewi, amount=held.amount, reason="Kurang bayar; dana dikembalikan."
    )

    services.review_clear(bill=fresh(bill), by=budi, note="Dana dikembalikan; pemohon bayar ulang.")

    bill = fresh(bill)
    assert bill.needs_review is False
    assert bill.review_note == "Dana dikembalikan; pemohon bayar ulang."
    (entry,) = log_entries(bill, budi)
    assert entry.change_message.startswith("Review closed")


def test_an_officer_of_another_office_cannot_close_the_review(held, citra):
    with pytest.raises(ServiceError):
        services.review_clear(bill=held.bill, by=citra, note="Bukan kantor saya.")

    assert fresh(held.bill).needs_review is True


@pytest.mark.postgres  # SQLite takes no row locks: nothing to observe there
def test_closing_a_review_locks_the_application_before_the_bill(held, budi, dewi):
    services.refund_record(
        payment=held, by=dewi, amount=held.amount, reason="Kurang bayar; dana dikembalikan."
    )

    with CaptureQueriesContext(connection) as queries:
        services.review_clear(bill=held.bill, by=budi, note="Selesai.")

    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    tables = [sql.split(" FROM ", 1)[1].split()[0].strip('"') for sql in locks]
    assert tables[:2] == ["applications_application", "payments_bill"]


# --- Reconciliation --------------------------------------------------------------------------


def test_reconciliation_finds_a_held_bill_older_than_the_newest_rows(
    as_budi, client, awaiting, office_a, passport_service, monkeypatch
):
    monkeypatch.setattr(selectors, "LIMIT", 1)
    post_webhook(client, paid_body(awaiting, amount=awaiting.amount - 1000))  # held
    assert fresh(awaiting).needs_review is True
    newer = []
    for hours_ago in (2, 1):
        application = complete_draft(UserFactory(), office_a, passport_service)
        application_services.application_submit(
            application=application, by=application.applicant, declaration=True
        )
        services.bill_issue(application_id=application.pk)
        Application.objects.filter(pk=application.pk).update(
            submitted_at=timezone.now() - dt.timedelta(hours=hours_ago)
        )
        newer.append(application)
    Application.objects.filter(pk=awaiting.application_id).update(
        submitted_at=timezone.now() - dt.timedelta(hours=3)
    )

    response = as_budi.get(RECONCILIATION)

    assert response.status_code == 200
    problems = {row.application.pk: row.problem for row in response.context["rows"]}
    assert awaiting.application_id in problems
    assert problems[awaiting.application_id]
    assert response.context["mismatches"] == 1
    assert newer[-1].pk in problems  # the newest, matching, is listed too
    assert problems[newer[-1].pk] == ""
