"""The outbox in the admin: filters, SMS per day, and a resend action that
puts failed notifications back in the outbox (and nothing else)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.sms import locmem
from tests.factories import StaffFactory
from tests.notifications.conftest import CONTEXT, STATUS_EVENT
from tests.notifications.support import fresh, history

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "notification_events")]

CHANGELIST = reverse("admin:notifications_notification_changelist")
Status = Notification.Status


@pytest.fixture
def superuser():
    return StaffFactory(email="root@example.id", is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def sent(reachable_ani, django_capture_on_commit_callbacks) -> dict[str, Notification]:
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT)
    return {row.channel: fresh(row) for row in rows}


def test_a_superuser_sees_the_outbox_with_its_filters(admin_client, sent):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    text = response.content.decode()
    for query in (
        "status__exact=delivered",
        "channel__exact=sms",
        f"event={STATUS_EVENT}",
        "created_at__gte=",
    ):
        assert query in text, query
    assert response.context["cl"].result_count == 3


def test_the_filters_narrow_the_list(admin_client, sent):
    Notification.objects.filter(pk=sent[Channel.SMS].pk).update(status=Status.PERMANENT_FAILURE)

    response = admin_client.get(CHANGELIST, {"status__exact": Status.PERMANENT_FAILURE})

    assert [row.pk for row in response.context["cl"].result_list] == [sent[Channel.SMS].pk]


def test_the_changelist_shows_the_sms_sent_per_day(admin_client, sent, eko):
    # A two-segment SMS on top of ani's one-segment message today.
    Notification.objects.create(
        recipient=eko,
        event=STATUS_EVENT,
        channel=Channel.SMS,
        status=Status.DELIVERED,
        language="id",
        body="x" * 200,
        segments=2,
        sent_at=timezone.now(),
    )

    response = admin_client.get(CHANGELIST)

    today = timezone.localdate()
    assert list(response.context["sms_per_day"]) == [{"day": today, "messages": 2, "segments": 3}]
    text = response.content.decode()
    assert "<table>" in text and "<td>3</td>" in text


def test_the_outbox_is_read_only(admin_client, sent):
    row = sent[Channel.EMAIL]

    assert admin_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    response = admin_client.get(reverse("admin:notifications_notification_change", args=[row.pk]))
    assert response.status_code == 200
    assert 'name="body"' not in response.content.decode()


def test_someone_who_is_not_staff_is_sent_to_the_admin_login(client, ani, sent):
    client.force_login(ani)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_officer_without_permission_cannot_see_the_outbox(client, budi, sent):
    client.force_login(budi)

    assert client.get(CHANGELIST).status_code == 403


def test_the_resend_action_requeues_failed_notifications_only(
    admin_client, reachable_ani, django_capture_on_commit_callbacks
):
    statuses = [
        Status.TEMPORARY_FAILURE,
        Status.PERMANENT_FAILURE,
        Status.TECHNICAL_FAILURE,
        Status.DELIVERED,
        Status.SKIPPED,
        Status.SENDING,
        Status.CREATED,
    ]
    rows = {}
    for status in statuses:
        with django_capture_on_commit_callbacks(execute=False):  # written, never sent
            (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])
        Notification.objects.filter(pk=row.pk).update(
            status=status,
            attempts=5,
            reason="earlier trouble",
            next_attempt_at=timezone.now() + dt.timedelta(hours=1),
        )
        rows[status] = row
    assert mail.outbox == []

    # The requeue is handed to Celery only once the resend has committed.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST,
            {"action": "resend", "_selected_action": [row.pk for row in rows.values()]},
            follow=True,
        )

    assert response.status_code == 200
    failed = {Status.TEMPORARY_FAILURE, Status.PERMANENT_FAILURE, Status.TECHNICAL_FAILURE}
    for status, row in rows.items():
        row = fresh(row)
        if status in failed:
            # Back in the outbox with a clean slate, and (tasks inline) sent.
            assert row.status == Status.DELIVERED
            assert row.attempts == 1
            assert row.reason == ""
            assert history(row)[-3:] == [Status.CREATED, Status.SENDING, Status.DELIVERED]
            assert row.events.filter(detail="resend requested by root@example.id").exists()
        else:
            assert row.status == status, status
            assert row.attempts == 5
    assert len(mail.outbox) == 3
    assert locmem.outbox == []
    (message,) = response.context["messages"]
    assert "3" in str(message)
