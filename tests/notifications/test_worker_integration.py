"""A real Celery worker on the real Redis: messages written by notify() reach
the email backend and the (local, fake) SMS gateway after commit; a task the
broker hands over several times sends once; a retry goes back through the
broker with a countdown."""

from __future__ import annotations

import threading

import pytest
from celery.signals import task_postrun
from django.core import mail
from django.db import transaction

from notifications import delivery
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.tasks import send_notification
from tests.notifications.conftest import CONTEXT, STATUS_EVENT
from tests.notifications.gateway import Reply
from tests.notifications.support import fresh, history, wait_for

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("notification_events", "sms_gateway"),
]

Status = Notification.Status


class TaskCounter:
    """Counts send_notification runs that finished in the worker, per id."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, sender=None, args=(), **kwargs) -> None:
        if getattr(sender, "name", "") == send_notification.name and args:
            with self._lock:
                self.done[args[0]] = self.done.get(args[0], 0) + 1


@pytest.fixture
def finished_tasks():
    counter = TaskCounter()
    task_postrun.connect(counter, weak=False)
    yield counter
    task_postrun.disconnect(counter)


def test_a_real_worker_sends_the_email_and_the_sms_after_commit(
    redis_worker, reachable_ani, sms_gateway
):
    with redis_worker():
        with transaction.atomic():
            rows = {row.channel: row for row in notify(reachable_ani, STATUS_EVENT, CONTEXT)}

        email = wait_for(
            lambda: fresh(rows[Channel.EMAIL]).status == Status.DELIVERED and mail.outbox,
            what="the email",
        )
        wait_for(
            lambda: fresh(rows[Channel.SMS]).provider_reference, what="the gateway's message id"
        )

    assert [message.subject for message in email] == ["Permohonan PSP-2026-0042 disetujui"]
    assert mail.outbox[0].to == ["ani@example.id"]
    (request,) = sms_gateway.requests
    assert request.headers["Authorization"] == "Bearer test-api-key-7f3a"
    assert request.json["to"] == "+6281234567890"
    assert request.json["text"] == "Imigrasi: permohonan PSP-2026-0042 kini disetujui."
    sms = fresh(rows[Channel.SMS])
    assert (sms.status, sms.provider_reference) == (Status.SENDING, "gw-1")
    assert history(sms) == [Status.CREATED, Status.SENDING, Status.SENDING]
    assert history(rows[Channel.EMAIL]) == [Status.CREATED, Status.SENDING, Status.DELIVERED]


def test_a_message_the_broker_delivers_three_times_is_sent_once(
    redis_worker, reachable_ani, sms_gateway, finished_tasks
):
    # The gateway takes its time, so the copies reach the two worker
    # threads while the first is still sending.
    sms_gateway.answer(Reply(delay=0.5))
    with redis_worker():
        with transaction.atomic():
            (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.SMS])
        send_notification.delay(row.pk)
        send_notification.delay(row.pk)

        wait_for(lambda: finished_tasks.done.get(row.pk) == 3, what="the three deliveries")

    assert len(sms_gateway.requests) == 1
    row = fresh(row)
    assert (row.status, row.attempts) == (Status.SENDING, 1)
    assert history(row) == [Status.CREATED, Status.SENDING, Status.SENDING]


def test_a_gateway_error_is_retried_through_the_broker(
    redis_worker, reachable_ani, sms_gateway, monkeypatch
):
    monkeypatch.setattr(delivery, "BASE_DELAY_SECONDS", 1)  # a retry in about a second
    sms_gateway.answer(Reply(500))
    with redis_worker():
        with transaction.atomic():
            (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.SMS])

        wait_for(lambda: fresh(row).provider_reference, what="the retry")

    assert len(sms_gateway.requests) == 2
    row = fresh(row)
    assert (row.status, row.attempts) == (Status.SENDING, 2)
    assert history(row) == [
        Status.CREATED,
        Status.SENDING,
        Status.TEMPORARY_FAILURE,
        Status.SENDING,
        Status.SENDING,
    ]
