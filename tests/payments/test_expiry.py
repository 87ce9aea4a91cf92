"""Expiring unpaid bills (the periodic `bills_expire`): the bill and its
application expire by the system and the citizen is told until when a new
code may be asked for; a bill not yet due, a second run and an application
waiting for a revision are left as they should be."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.utils import translation

from applications import workflow
from applications.models import StatusEvent
from applications.templatetags.portal import long_datetime
from applications.workflow import Status
from notifications.models import Channel, Notification
from payments import sandbox, services
from payments.models import Bill, Payment

pytestmark = pytest.mark.django_db


def expired_events(application):
    return StatusEvent.objects.filter(application=application, to_status=Status.EXPIRED)


def past_expiry(bill: Bill, **delta):
    return bill.expires_at + dt.timedelta(**(delta or {"minutes": 1}))


def test_a_bill_past_its_expiry_is_expired(awaiting):
    later = past_expiry(awaiting)

    with time_machine.travel(later, tick=False):
        count = services.bills_expire(now=later)

    assert count == 1
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.EXPIRED
    assert awaiting.closed_at == later


def test_its_application_is_expired_by_the_system(awaiting):
    later = past_expiry(awaiting)

    with time_machine.travel(later, tick=False):
        services.bills_expire(now=later)

    application = awaiting.application
    application.refresh_from_db()
    assert application.status == Status.EXPIRED
    (event,) = expired_events(application)
    assert (event.from_status, event.by, event.actor) == (
        Status.AWAITING_PAYMENT,
        None,
        workflow.SYSTEM,
    )


def test_the_citizen_is_told_until_when_a_new_code_may_be_asked_for(
    awaiting, ani, settings, django_capture_on_commit_callbacks
):
    later = past_expiry(awaiting)
    application = awaiting.application

    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.bills_expire(now=later)

    deadline = later + dt.timedelta(days=settings.BILL_REISSUE_DAYS)
    with translation.override("id"):
        until = long_datetime(deadline, application.office)
    event = expired_events(application).get()
    email = Notification.objects.get(
        recipient=ani,
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(event.pk),
        channel=Channel.EMAIL,
    )
    assert until in email.body
    (sent,) = [m for m in mail.outbox if application.reference in m.subject and until in m.body]
    assert sent.to == [ani.email]
    portal = Notification.objects.get(
        recipient=ani, related_id=str(event.pk), channel=Channel.PORTAL
    )
    assert application.reference in portal.body


def test_a_bill_not_yet_due_is_untouched(awaiting):
    almost = awaiting.expires_at - dt.timedelta(minutes=1)

    with time_machine.travel(almost, tick=False):
        count = services.bills_expire(now=almost)

    assert count == 0
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.UNPAID
    assert awaiting.closed_at is None
    application = awaiting.application
    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT
    assert not expired_events(application).exists()


def test_running_twice_changes_nothing_more(awaiting, ani):
    later = past_expiry(awaiting)
    with time_machine.travel(later, tick=False):
        services.bills_expire(now=later)
    notifications = Notification.objects.filter(recipient=ani).count()
    even_later = past_expiry(awaiting, hours=2)

    with time_machine.travel(even_later, tick=False):
        again = services.bills_expire(now=even_later)

    assert again == 0
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.EXPIRED
    assert awaiting.closed_at == later
    assert expired_events(awaiting.application).count() == 1
    assert Notification.objects.filter(recipient=ani).count() == notifications
    assert Bill.objects.filter(application=awaiting.application).count() == 1


def test_a_bill_waiting_for_a_revision_expires_without_moving_the_application(awaiting, budi):
    application = awaiting.application
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    later = past_expiry(awaiting)

    with time_machine.travel(later, tick=False):
        count = services.bills_expire(now=later)

    assert count == 1
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.EXPIRED
    application.refresh_from_db()
    assert application.status == Status.REVISION_REQUESTED
    assert application.resume_status == Status.AWAITING_PAYMENT
    assert not expired_events(application).exists()


def test_a_payment_whose_notification_was_lost_is_settled_instead_of_expired(awaiting):
    # The sandbox bank took the money; its webhook never arrived (never committed here).
    sandbox.sandbox_pay(bill=awaiting, method="va_bri", succeed=True)
    later = past_expiry(awaiting)

    with time_machine.travel(later, tick=False):
        count = services.bills_expire(now=later)

    assert count == 0
    awaiting.refresh_from_db()
    assert awaiting.status == Bill.Status.PAID
    assert Payment.objects.filter(bill=awaiting, state=Payment.State.SETTLED).count() == 1
    application = awaiting.application
    application.refresh_from_db()
    assert application.status == Status.PAID
    assert not expired_events(application).exists()
