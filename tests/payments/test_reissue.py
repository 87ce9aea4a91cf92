"""Asking for a new billing code after the first one expired: once, within
BILL_REISSUE_DAYS, by the owner only, with POST only; every refusal is a
message on the pay page and no bill."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from applications.models import StatusEvent
from applications.templatetags.portal import long_datetime
from applications.workflow import Status
from payments import services
from payments.models import Bill
from tests.utils import in_language, messages_of

pytestmark = pytest.mark.django_db

ONLY_ONCE = "A new billing code can be asked for only once. Please make a new application."
NOT_EXPIRED = "A new billing code is only needed when the last one expired."
TOO_LATE = "A new billing code could be asked for until %(date)s. Please make a new application."
READY = "A new billing code is ready. Pay before it expires."


def reissue_url(application) -> str:
    return reverse("payments:reissue", args=[application.reference])


def run_out(bill: Bill) -> None:
    """Arrange: the bill's time ran out an hour ago, and the periodic task has run."""
    now = timezone.now()
    Bill.objects.filter(pk=bill.pk).update(
        issued_at=now - dt.timedelta(hours=200), expires_at=now - dt.timedelta(hours=1)
    )
    services.bills_expire(now=now)
    bill.refresh_from_db()
    assert bill.status == Bill.Status.EXPIRED


@pytest.fixture
def expired(awaiting) -> Bill:
    """ani's application expired unpaid; its (first) bill is the one returned."""
    run_out(awaiting)
    application = awaiting.application
    application.refresh_from_db()
    assert application.status == Status.EXPIRED
    return awaiting


@pytest.fixture
def ani_client(client, ani):
    client.force_login(ani)
    return client


def test_the_owner_gets_a_new_unpaid_bill_linked_to_the_expired_one(ani_client, expired):
    application = expired.application

    response = ani_client.post(reissue_url(application))

    assert response.status_code == 302
    assert response["Location"] == reverse("payments:pay", args=[application.reference])
    new = Bill.objects.get(application=application, status=Bill.Status.UNPAID)
    assert new.reissue_of == expired
    assert new.code != expired.code
    assert services.code_is_well_formed(new.code)
    assert new.amount == expired.amount
    assert new.expires_at > timezone.now()
    assert in_language("id", READY) in messages_of(response)


def test_the_application_is_awaiting_payment_again_by_the_system(ani_client, expired):
    application = expired.application

    ani_client.post(reissue_url(application))

    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT
    event = StatusEvent.objects.filter(application=application).order_by("-pk").first()
    assert (event.from_status, event.to_status, event.by) == (
        Status.EXPIRED,
        Status.AWAITING_PAYMENT,
        None,
    )


def test_a_second_reissue_after_the_new_code_expired_is_refused(ani_client, expired):
    application = expired.application
    ani_client.post(reissue_url(application))
    second = Bill.objects.get(application=application, status=Bill.Status.UNPAID)
    run_out(second)

    response = ani_client.post(reissue_url(application))

    assert response.status_code == 302
    assert in_language("id", ONLY_ONCE) in messages_of(response)
    assert Bill.objects.filter(application=application).count() == 2
    assert not Bill.objects.filter(application=application, status=Bill.Status.UNPAID).exists()
    application.refresh_from_db()
    assert application.status == Status.EXPIRED


def test_the_refusal_is_written_in_indonesian_the_default_language(ani_client, expired):
    application = expired.application
    ani_client.post(reissue_url(application))
    run_out(Bill.objects.get(application=application, status=Bill.Status.UNPAID))

    response = ani_client.post(reissue_url(application))

    message = messages_of(response)[-1]
    assert message == in_language("id", ONLY_ONCE)
    assert message != ONLY_ONCE  # not left in English


def test_after_the_reissue_days_the_request_is_refused(ani_client, expired, settings):
    application = expired.application
    closed = timezone.now() - dt.timedelta(days=settings.BILL_REISSUE_DAYS, minutes=1)
    Bill.objects.filter(pk=expired.pk).update(closed_at=closed)

    response = ani_client.post(reissue_url(application))

    deadline = closed + dt.timedelta(days=settings.BILL_REISSUE_DAYS)
    with translation.override("id"):
        expected = gettext(TOO_LATE) % {"date": long_datetime(deadline)}
    assert messages_of(response) == [expected]
    assert Bill.objects.filter(application=application).count() == 1
    application.refresh_from_db()
    assert application.status == Status.EXPIRED


def test_just_before_the_reissue_deadline_the_request_is_granted(ani_client, expired, settings):
    settings.BILL_REISSUE_DAYS = 2
    closed = timezone.now() - dt.timedelta(days=2) + dt.timedelta(minutes=5)
    Bill.objects.filter(pk=expired.pk).update(closed_at=closed)

    ani_client.post(reissue_url(expired.application))

    assert Bill.objects.filter(
        application=expired.application, status=Bill.Status.UNPAID, reissue_of=expired
    ).exists()


def test_the_reissue_days_follow_the_setting(ani_client, expired, settings):
    settings.BILL_REISSUE_DAYS = 1
    Bill.objects.filter(pk=expired.pk).update(
        closed_at=timezone.now() - dt.timedelta(days=1, minutes=1)
    )

    ani_client.post(reissue_url(expired.application))

    assert Bill.objects.filter(application=expired.application).count() == 1


def test_another_user_gets_404_and_no_bill(client, eko, expired):
    client.force_login(eko)

    response = client.post(reissue_url(expired.application))

    assert response.status_code == 404
    assert Bill.objects.filter(application=expired.application).count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in(client, expired):
    response = client.post(reissue_url(expired.application))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert Bill.objects.filter(application=expired.application).count() == 1


def test_get_is_not_allowed(ani_client, expired):
    response = ani_client.get(reissue_url(expired.application))

    assert response.status_code == 405
    assert Bill.objects.filter(application=expired.application).count() == 1


def test_an_application_whose_bill_has_not_expired_is_refused(ani_client, awaiting):
    application = awaiting.application

    response = ani_client.post(reissue_url(application))

    assert response.status_code == 302
    assert in_language("id", NOT_EXPIRED) in messages_of(response)
    assert list(Bill.objects.filter(application=application)) == [awaiting]
    application.refresh_from_db()
    assert application.status == Status.AWAITING_PAYMENT


def test_the_pay_page_of_an_expired_application_offers_the_reissue_until_the_deadline(
    ani_client, expired, settings
):
    application = expired.application

    response = ani_client.get(reverse("payments:pay", args=[application.reference]))

    deadline = expired.closed_at + dt.timedelta(days=settings.BILL_REISSUE_DAYS)
    with translation.override("id"):
        until = long_datetime(deadline, application.office)
    text = response.content.decode()
    assert f'action="{reissue_url(application)}"' in text
    assert until in text
