"""Issuing the bill (kode billing) after a submission: one random, well-formed
15-digit code for the fee fixed when the application was sent, valid for
BILL_VALIDITY_HOURS, the application moved to awaiting payment by the system
and the citizen told the grouped code and the amount. Issuing again, a lost
task, a cancellation and a revision after expiry are covered too."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from applications import services as application_services
from applications import workflow
from applications.models import Application, StatusEvent, Tariff
from applications.workflow import Status
from notifications.models import Channel, Notification
from notifications.sms import locmem
from payments import services, tasks
from payments.models import Bill
from tests.applications.conftest import complete_draft
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
FEE = 950_000  # electronic passport, 10 years, PP 45/2024
FEE_SHOWN = "Rp 950.000"


def submit(application: Application) -> None:
    application_services.application_submit(
        application=application, by=application.applicant, declaration=True
    )


def luhn_valid(number: str) -> bool:
    """The textbook Luhn check over the whole number (check digit included)."""
    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value * 2 > 9 else value * 2
        total += value
    return total % 10 == 0


def awaiting_events(application: Application):
    return StatusEvent.objects.filter(application=application, to_status=Status.AWAITING_PAYMENT)


@pytest.fixture
def reachable_ani(ani) -> User:
    """ani with a verified mobile number: SMS reach her too."""
    User.objects.filter(pk=ani.pk).update(phone_verified_at=timezone.now())
    ani.refresh_from_db()
    locmem.outbox.clear()
    yield ani
    locmem.outbox.clear()


# --- Submitting issues one bill -----------------------------------------------------------


def test_submitting_issues_exactly_one_unpaid_bill(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    (bill,) = Bill.objects.filter(application=draft)
    assert bill.status == Bill.Status.UNPAID
    assert bill.reissue_of is None
    assert bill.paid_at is None and bill.ntpn == ""


def test_the_code_has_15_digits_and_a_valid_luhn_check_digit(
    draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    code = Bill.objects.get(application=draft).code
    assert len(code) == 15 and code.isdigit()
    assert code[0] != "0"
    assert luhn_valid(code)
    assert services.code_is_well_formed(code)


def test_a_code_with_any_single_digit_mistyped_is_not_well_formed(awaiting):
    code = awaiting.code
    for position in range(len(code)):
        wrong = str((int(code[position]) + 1) % 10)
        mistyped = code[:position] + wrong + code[position + 1 :]
        assert not services.code_is_well_formed(mistyped), mistyped


def test_codes_of_the_wrong_length_or_with_letters_are_not_well_formed(awaiting):
    assert not services.code_is_well_formed(awaiting.code[:-1])
    assert not services.code_is_well_formed(awaiting.code + "0")
    assert not services.code_is_well_formed("A" + awaiting.code[1:])
    assert not services.code_is_well_formed("")


def test_the_amount_is_the_fee_fixed_at_submission(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    draft.refresh_from_db()
    bill = Bill.objects.get(application=draft)
    assert draft.fee_amount == FEE
    assert bill.amount == draft.fee_amount


def test_a_bill_issued_later_keeps_the_tariff_of_the_day_the_application_was_sent(draft):
    # Sent under PP 28/2019 (Rp 650.000); the bill task only runs today, under PP 45/2024.
    with time_machine.travel(dt.datetime(2024, 6, 3, 10, 0, tzinfo=WIB), tick=False):
        submit(draft)

    bill = services.bill_issue(application_id=draft.pk)

    assert bill.amount == 650_000 == Application.objects.get(pk=draft.pk).fee_amount


def test_a_tariff_added_after_submission_does_not_change_the_bill(submitted, passport_service):
    Tariff.objects.create(
        service=passport_service,
        kind=Tariff.Kind.SURCHARGE,
        label_id="Biaya tambahan",
        label_en="Surcharge",
        amount=100_000,
        valid_from=timezone.localdate(),
        legal_basis="Uji",
    )

    bill = services.bill_issue(application_id=submitted.pk)

    assert bill.amount == FEE


def test_an_amount_posted_with_the_submission_is_ignored(
    client, draft, ani, django_capture_on_commit_callbacks
):
    client.force_login(ani)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("applications:step", args=[draft.reference, 4]),
            {"declaration": "on", "amount": "1000", "fee_amount": "1000", "code": "1" * 15},
        )

    assert response.status_code == 302
    bill = Bill.objects.get(application=draft)
    assert bill.amount == FEE
    assert bill.code != "1" * 15


def test_the_bill_expires_after_the_validity_hours(
    draft, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    bill = Bill.objects.get(application=draft)
    assert bill.expires_at - bill.issued_at == dt.timedelta(hours=settings.BILL_VALIDITY_HOURS)


def test_the_validity_hours_follow_the_setting(draft, settings, django_capture_on_commit_callbacks):
    settings.BILL_VALIDITY_HOURS = 48

    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    bill = Bill.objects.get(application=draft)
    assert bill.expires_at - bill.issued_at == dt.timedelta(hours=48)


def test_the_application_moves_to_awaiting_payment_by_the_system(
    draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    draft.refresh_from_db()
    assert draft.status == Status.AWAITING_PAYMENT
    (event,) = awaiting_events(draft)
    assert (event.from_status, event.by, event.actor) == (Status.SUBMITTED, None, workflow.SYSTEM)


# --- The citizen is told ------------------------------------------------------------------


def _bill_messages(application: Application):
    event = awaiting_events(application).get()
    return Notification.objects.filter(
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(event.pk),
        recipient=application.applicant,
    )


def test_the_citizen_gets_an_sms_with_the_grouped_code_and_the_amount(
    reachable_ani, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    bill = Bill.objects.get(application=draft)
    sms = _bill_messages(draft).get(channel=Channel.SMS)
    assert bill.code_display in sms.body
    assert FEE_SHOWN in sms.body
    (sent,) = [m for m in locmem.outbox if bill.code_display in m.text]
    assert sent.to == reachable_ani.phone
    assert FEE_SHOWN in sent.text


def test_the_citizen_gets_an_email_with_the_grouped_code_and_the_amount(
    reachable_ani, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    bill = Bill.objects.get(application=draft)
    email = _bill_messages(draft).get(channel=Channel.EMAIL)
    assert bill.code_display in email.body
    assert FEE_SHOWN in email.body
    (sent,) = [m for m in mail.outbox if bill.code_display in m.body]
    assert sent.to == [reachable_ani.email]
    assert FEE_SHOWN in sent.body
    assert draft.reference in sent.subject


def test_the_grouped_code_is_read_in_fours(awaiting):
    groups = awaiting.code_display.split(" ")

    assert [len(group) for group in groups] == [4, 4, 4, 3]
    assert "".join(groups) == awaiting.code


def test_the_citizen_gets_a_portal_notification(
    reachable_ani, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    portal = _bill_messages(draft).get(channel=Channel.PORTAL)
    assert portal.status == Notification.Status.DELIVERED
    assert draft.reference in portal.body


def test_the_portal_notification_names_the_grouped_code_and_the_amount(
    reachable_ani, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    bill = Bill.objects.get(application=draft)
    portal = _bill_messages(draft).get(channel=Channel.PORTAL)
    assert bill.code_display in portal.body
    assert FEE_SHOWN in portal.body


# --- Idempotent -------------------------------------------------------------------------------


def test_issuing_twice_keeps_one_bill_and_one_status_event(submitted):
    first = services.bill_issue(application_id=submitted.pk)
    second = services.bill_issue(application_id=submitted.pk)

    assert first == second
    assert Bill.objects.filter(application=submitted).count() == 1
    assert awaiting_events(submitted).count() == 1


def test_a_redelivered_task_issues_nothing_more(submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tasks.issue_bill.delay(submitted.pk)
        tasks.issue_bill.delay(submitted.pk)

    assert Bill.objects.filter(application=submitted).count() == 1
    assert awaiting_events(submitted).count() == 1
    assert (
        Notification.objects.filter(
            recipient=submitted.applicant,
            event="application.status_changed",
            related_id=str(awaiting_events(submitted).get().pk),
        ).count()
        == 3  # email, SMS (skipped: unverified) and portal, once each
    )


def test_a_draft_gets_no_bill(draft):
    assert services.bill_issue(application_id=draft.pk) is None
    assert not Bill.objects.exists()


# --- Codes are random -------------------------------------------------------------------------


def test_codes_are_unique_well_formed_and_not_consecutive():
    codes = [services.make_code() for _ in range(2000)]

    assert len(set(codes)) == len(codes)
    assert all(services.code_is_well_formed(code) for code in codes)
    bodies = [int(code[:-1]) for code in codes]
    steps = [abs(later - earlier) for earlier, later in itertools.pairwise(bodies)]
    assert all(step > 1 for step in steps)
    # Spread over the whole range, not clustered after a counter.
    assert max(bodies) - min(bodies) > 10**12


def test_two_applications_in_a_row_get_unrelated_codes(submitted, office_a, passport_service):
    other = complete_draft(UserFactory(), office_a, passport_service)
    first = services.bill_issue(application_id=submitted.pk)
    submit(other)
    second = services.bill_issue(application_id=other.pk)

    assert first.code != second.code
    assert abs(int(first.code[:-1]) - int(second.code[:-1])) > 1


# --- A lost task ------------------------------------------------------------------------------


def test_the_sweep_issues_a_bill_for_a_submitted_application_whose_task_was_lost(submitted):
    # `submitted` was sent in a transaction that never committed: the task never ran.
    assert not Bill.objects.filter(application=submitted).exists()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        issued = services.bills_issue_missing()

    assert issued == 1
    (bill,) = Bill.objects.filter(application=submitted)
    assert bill.status == Bill.Status.UNPAID
    assert bill.amount == FEE
    submitted.refresh_from_db()
    assert submitted.status == Status.AWAITING_PAYMENT


def test_the_sweep_leaves_a_just_sent_application_to_its_task(submitted):
    assert services.bills_issue_missing() == 0
    assert not Bill.objects.filter(application=submitted).exists()


def test_the_sweep_run_twice_issues_one_bill(submitted):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        services.bills_issue_missing()
        again = services.bills_issue_missing()

    assert again == 0
    assert Bill.objects.filter(application=submitted).count() == 1
    assert awaiting_events(submitted).count() == 1


# --- Cancelled ------------------------------------------------------------------------------------


def test_cancelling_the_application_cancels_its_unpaid_bill(client, awaiting, ani):
    application = awaiting.application
    client.force_login(ani)

    response = client.post(reverse("applications:cancel", args=[application.reference]))

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.CANCELLED
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.CANCELLED
    assert awaiting.closed_at is not None
    assert not Bill.objects.filter(application=application, status=Bill.Status.UNPAID).exists()


def test_a_cancelled_bill_is_not_reissued_by_the_sweep(awaiting, ani):
    workflow.transition(awaiting.application, Status.CANCELLED, by=ani)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3), tick=False):
        assert services.bills_issue_missing() == 0

    assert Bill.objects.filter(application=awaiting.application).count() == 1


# --- A revision while awaiting payment ---------------------------------------------------------


def test_a_revision_resubmitted_after_the_bill_expired_gets_a_fresh_bill(
    awaiting, ani, budi, django_capture_on_commit_callbacks
):
    application = awaiting.application
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    later = awaiting.expires_at + dt.timedelta(hours=1)

    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        application_services.application_resubmit(application=application, by=ani)

    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.EXPIRED
    fresh = Bill.objects.get(application=application, status=Bill.Status.UNPAID)
    assert fresh.pk != awaiting.pk and fresh.code != awaiting.code
    assert fresh.reissue_of is None  # not a reissue: the citizen was waiting for the officer
    assert fresh.amount == awaiting.amount
    assert fresh.issued_at == later
    assert fresh.expires_at > later


def test_a_fresh_bill_after_a_revision_leaves_the_one_reissue_available(
    awaiting, ani, budi, django_capture_on_commit_callbacks
):
    application = awaiting.application
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    later = awaiting.expires_at + dt.timedelta(hours=1)
    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        application_services.application_resubmit(application=application, by=ani)
    fresh = Bill.objects.get(application=application, status=Bill.Status.UNPAID)
    after_fresh = fresh.expires_at + dt.timedelta(minutes=5)

    with time_machine.travel(after_fresh, tick=False):
        services.bills_expire(now=after_fresh)
        application.refresh_from_db()
        assert application.status == Status.EXPIRED
        reissued = services.bill_reissue(application=application, by=ani)

    assert reissued.reissue_of == fresh
    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT


# --- The database's own guard ------------------------------------------------------------------


def test_the_database_refuses_a_second_unpaid_bill_for_one_application(awaiting):
    now = timezone.now()

    with pytest.raises(IntegrityError), transaction.atomic():
        Bill.objects.create(
            application=awaiting.application,
            code=services.make_code(),
            amount=awaiting.amount,
            issued_at=now,
            expires_at=now + dt.timedelta(hours=1),
        )

    assert Bill.objects.filter(application=awaiting.application).count() == 1
