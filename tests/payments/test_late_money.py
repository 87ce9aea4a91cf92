"""Money whose news comes late: paid before the code expired but reported after
the expiry run (settles, the application comes back from expired), paid after
a new code was asked for or after expiry (held), reported by the gateway after
an officer already recorded it (the same money, not a second payment), and
paid during a revision (the citizen's resubmission is told by email)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.utils import timezone, translation

from applications import services as application_services
from applications import workflow
from applications.models import StatusEvent
from applications.workflow import Status
from notifications.models import Channel, Notification
from payments import services
from payments.models import Bill, Method, Payment, PaymentReceipt, WebhookEvent
from tests.payments.conftest import application_of, fresh, paid_body, post_webhook, result

pytestmark = pytest.mark.django_db

NTPN = "0A1B2C3D4E5F6G7H"


def status_messages(event: StatusEvent):
    return Notification.objects.filter(
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(event.pk),
    )


@pytest.fixture
def expired(awaiting, time_machine) -> Bill:
    """ani's bill ran out unpaid and the expiry run closed it; it is now a minute later."""
    after = awaiting.expires_at + dt.timedelta(minutes=1)
    time_machine.move_to(after, tick=True)
    assert services.bills_expire(now=after) == 1
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.EXPIRED
    assert application_of(bill).status == Status.EXPIRED
    return bill


def in_time(bill: Bill) -> str:
    return (bill.expires_at - dt.timedelta(minutes=2)).isoformat()


# --- Paid in time, reported after the expiry run ---------------------------------------------


def test_money_paid_in_time_but_reported_after_the_expiry_run_settles_the_bill(client, expired):
    response = post_webhook(
        client, paid_body(expired, reference="SBX-LATE-NEWS", paid_at=in_time(expired))
    )

    assert response.status_code == 200
    assert result(response) == "applied"
    bill = fresh(expired)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is False
    assert Payment.objects.get(bill=bill).state == Payment.State.SETTLED
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.APPLIED


@pytest.fixture
def paid_late_news(client, expired, django_capture_on_commit_callbacks):
    """The payment (made two minutes before expiry) is reported now; after-commit work runs."""
    sent_before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, paid_body(expired, paid_at=in_time(expired)))
    assert result(response) == "applied"
    return {"bill": fresh(expired), "mail": mail.outbox[sent_before:]}


def test_the_application_comes_back_from_expired_to_paid_by_the_system(paid_late_news):
    bill = paid_late_news["bill"]

    application = application_of(bill)
    assert application.status == Status.PAID
    (event,) = StatusEvent.objects.filter(application=application, to_status=Status.PAID)
    assert event.from_status == Status.EXPIRED
    assert event.by is None
    assert event.actor == workflow.SYSTEM


def test_the_receipt_email_is_sent_with_the_pdf(paid_late_news, ani):
    bill = paid_late_news["bill"]

    receipt = PaymentReceipt.objects.get(bill=bill)
    paid_mail = Notification.objects.get(event="payment.paid", recipient=ani)
    assert paid_mail.channel == Channel.EMAIL
    assert paid_mail.attachment == receipt.file.name
    (message,) = paid_late_news["mail"]
    assert message.to == [ani.email]
    ((name, content, content_type),) = message.attachments
    assert name == f"bukti-pembayaran-{bill.code}.pdf"
    assert content[:5] == b"%PDF-"
    assert content_type == "application/pdf"


def test_the_paid_status_message_has_no_email_of_its_own(paid_late_news, ani):
    """The receipt email says it: the status message goes by SMS and the portal only."""
    bill = paid_late_news["bill"]
    event = StatusEvent.objects.get(application_id=bill.application_id, to_status=Status.PAID)

    channels = set(status_messages(event).values_list("channel", flat=True))

    assert channels == {Channel.SMS, Channel.PORTAL}
    assert Channel.EMAIL not in channels


# --- Paid in time, but a new code was asked for meanwhile ----------------------------------------


def test_money_for_the_old_code_after_a_new_one_was_asked_for_is_held(client, expired, ani):
    services.bill_reissue(application=application_of(expired), by=ani)
    new_bill = Bill.objects.get(reissue_of=expired)

    response = post_webhook(client, paid_body(expired, paid_at=in_time(expired)))

    assert response.status_code == 200
    assert result(response) == "held"
    old = fresh(expired)
    assert old.status == Bill.Status.EXPIRED
    assert old.needs_review is True
    (held,) = Payment.objects.all()
    assert (held.bill_id, held.state) == (old.pk, Payment.State.HELD)
    assert fresh(new_bill).status == Bill.Status.UNPAID
    application = application_of(expired)
    assert application.status == Status.AWAITING_PAYMENT
    assert not StatusEvent.objects.filter(application=application, to_status=Status.PAID).exists()
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.HELD


# --- Paid after the code expired ------------------------------------------------------------


def hold_note_late(bill: Bill) -> str:
    with translation.override("id"):
        return services._hold_note(services.HOLD_LATE, bill, None)


def test_money_paid_after_expiry_is_held_with_the_late_note_in_indonesian(client, expired):
    late = (expired.expires_at + dt.timedelta(seconds=30)).isoformat()

    response = post_webhook(client, paid_body(expired, paid_at=late))

    assert result(response) == "held"
    bill = fresh(expired)
    assert bill.status == Bill.Status.EXPIRED
    assert bill.needs_review is True
    assert bill.review_note == hold_note_late(bill)
    with translation.override("en"):
        english = services._hold_note(services.HOLD_LATE, bill, None)
    assert bill.review_note != english  # written in the office's language, not English
    assert Payment.objects.get(bill=bill).state == Payment.State.HELD
    assert application_of(bill).status == Status.EXPIRED
    assert WebhookEvent.objects.get().detail == "paid after expiry"


def test_money_paid_after_expiry_before_the_expiry_run_is_held_too(client, awaiting, time_machine):
    time_machine.move_to(awaiting.expires_at + dt.timedelta(minutes=5), tick=True)
    late = (awaiting.expires_at + dt.timedelta(minutes=1)).isoformat()

    response = post_webhook(client, paid_body(awaiting, paid_at=late))

    assert result(response) == "held"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.UNPAID
    assert bill.review_note == hold_note_late(bill)
    assert application_of(bill).status == Status.AWAITING_PAYMENT


# --- Recorded by an officer, then reported by the gateway -------------------------------------


@pytest.mark.parametrize("reported_ntpn", [NTPN, NTPN.lower()], ids=["same-case", "lower-case"])
def test_the_gateway_reporting_money_an_officer_recorded_is_ignored(
    client, awaiting, budi, reported_ntpn
):
    paid_at = timezone.now() - dt.timedelta(minutes=1)
    services.payment_record(
        bill=awaiting,
        by=budi,
        method=Method.MANUAL,
        ntpn=NTPN,
        paid_at=paid_at,
        reason="Gateway down; dicatat dari rekening koran bank.",
    )
    assert fresh(awaiting).status == Bill.Status.PAID

    response = post_webhook(
        client,
        paid_body(
            awaiting, reference="SBX-AFTER-OFFICER", ntpn=reported_ntpn, paid_at=paid_at.isoformat()
        ),
    )

    assert response.status_code == 200
    assert result(response) == "ignored"
    (payment,) = Payment.objects.all()
    assert payment.state == Payment.State.SETTLED
    assert payment.recorded_by == budi
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    assert bill.needs_review is False
    assert bill.review_note == ""
    event = WebhookEvent.objects.get()
    assert event.outcome == WebhookEvent.Outcome.IGNORED
    assert event.detail == "payment already recorded (same NTPN)"


def test_the_same_ntpn_for_another_bill_is_still_held(
    client, awaiting, budi, ani, office_a, regular_passport_service
):
    """Only the same bill's NTPN means the same money; on another bill it is suspicious."""
    from tests.applications.conftest import complete_draft

    other_application = complete_draft(ani, office_a, regular_passport_service)
    application_services.application_submit(application=other_application, by=ani, declaration=True)
    other = services.bill_issue(application_id=other_application.pk)
    services.payment_record(
        bill=other,
        by=budi,
        method=Method.MANUAL,
        ntpn=NTPN,
        paid_at=timezone.now(),
        reason="Gateway down; dicatat dari rekening koran bank.",
    )

    response = post_webhook(client, paid_body(awaiting, ntpn=NTPN))

    assert result(response) == "held"
    assert fresh(awaiting).status == Bill.Status.UNPAID
    assert fresh(awaiting).needs_review is True


# --- Paid during a revision, then resubmitted ----------------------------------------------------


def test_resubmitting_a_revision_paid_meanwhile_is_told_by_email(client, awaiting, budi, ani):
    application = application_of(awaiting)
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    assert result(post_webhook(client, paid_body(awaiting))) == "applied"
    bill = fresh(awaiting)
    assert bill.status == Bill.Status.PAID
    application.refresh_from_db()
    assert (application.status, application.resume_status) == (
        Status.REVISION_REQUESTED,
        Status.PAID,
    )

    application_services.application_resubmit(application=application, by=ani)

    application.refresh_from_db()
    assert application.status == Status.PAID
    event = StatusEvent.objects.get(
        application=application, from_status=Status.REVISION_REQUESTED, to_status=Status.PAID
    )
    assert event.actor == workflow.CITIZEN
    channels = set(status_messages(event).values_list("channel", flat=True))
    assert Channel.EMAIL in channels
    assert status_messages(event).filter(channel=Channel.EMAIL, recipient=ani).exists()
