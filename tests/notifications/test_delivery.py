"""Delivery: claim, send, record; retries with exponential backoff and jitter
for temporary trouble, a final state after MAX_ATTEMPTS, none for a refusal;
a task delivered twice sends once; every state change leaves an event row."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.core import mail

from notifications import delivery, events, sms
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.sms import locmem
from notifications.tasks import send_notification
from tests.notifications.conftest import CONTEXT, SECURITY_SMS_EVENT, STATUS_EVENT
from tests.notifications.gateway import Reply
from tests.notifications.support import fresh, history

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "notification_events")]

Status = Notification.Status


def notify_sms(person, capture) -> Notification:
    with capture(execute=True):
        (row,) = notify(person, STATUS_EVENT, CONTEXT, channels=[Channel.SMS])
    return fresh(row)


def retry_after(row: Notification, time_machine) -> Notification:
    """Move the clock just past the row's next attempt and let the sweep queue it."""
    time_machine.move_to(row.next_attempt_at + dt.timedelta(seconds=1), tick=False)
    delivery.sweep()
    return fresh(row)


def seconds_until_retry(row: Notification, since: dt.datetime) -> float:
    return (row.next_attempt_at - since).total_seconds()


def test_a_gateway_error_twice_then_success_is_retried_with_growing_delays(
    reachable_ani, sms_gateway, time_machine, django_capture_on_commit_callbacks
):
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    sms_gateway.answer(Reply(500), Reply(500))

    row = notify_sms(reachable_ani, django_capture_on_commit_callbacks)
    assert (row.status, row.attempts) == (Status.TEMPORARY_FAILURE, 1)
    assert row.reason == "gateway answered HTTP 500"
    # First retry: 30 s with full jitter on its upper half.
    assert 15 <= seconds_until_retry(row, start) <= 30

    # Not due yet: the sweep leaves it alone.
    time_machine.move_to(row.next_attempt_at - dt.timedelta(seconds=1), tick=False)
    delivery.sweep()
    assert len(sms_gateway.requests) == 1

    first_retry_at = row.next_attempt_at + dt.timedelta(seconds=1)
    row = retry_after(row, time_machine)
    assert (row.status, row.attempts) == (Status.TEMPORARY_FAILURE, 2)
    assert 30 <= seconds_until_retry(row, first_retry_at) <= 60  # the delay doubles

    row = retry_after(row, time_machine)
    assert (row.status, row.attempts) == (Status.SENDING, 3)
    assert row.provider_reference == "gw-1"  # the gateway's id for the accepted message
    assert row.reason == ""
    assert len(sms_gateway.requests) == 3
    # The same message each time, under our own reference.
    assert {r.json["reference"] for r in sms_gateway.requests} == {str(row.pk)}
    assert history(row) == [
        Status.CREATED,
        Status.SENDING,
        Status.TEMPORARY_FAILURE,
        Status.SENDING,
        Status.TEMPORARY_FAILURE,
        Status.SENDING,
        Status.SENDING,  # accepted by the gateway: a receipt will follow
    ]


def test_a_gateway_refusal_is_a_permanent_failure_and_never_retried(
    reachable_ani, sms_gateway, time_machine, django_capture_on_commit_callbacks
):
    sms_gateway.answer(Reply(400, {"error": "invalid destination"}))

    row = notify_sms(reachable_ani, django_capture_on_commit_callbacks)

    assert (row.status, row.attempts) == (Status.PERMANENT_FAILURE, 1)
    assert row.reason == "gateway answered HTTP 400"
    assert row.next_attempt_at is None
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(days=2), tick=False)
    assert delivery.sweep() == {"reset": 0, "queued": 0}
    assert send_notification.delay(row.pk).get() == "not-due-or-taken"
    assert len(sms_gateway.requests) == 1
    assert history(row) == [Status.CREATED, Status.SENDING, Status.PERMANENT_FAILURE]


def test_timeouts_and_malformed_answers_are_retried_then_a_technical_failure(
    reachable_ani, sms_gateway, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.SMS_GATEWAY_TIMEOUT = 0.3
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)
    sms_gateway.answer(
        Reply(delay=1.5),  # slower than the timeout
        Reply(200, b"<html>OK</html>"),  # not JSON
        Reply(200, {"status": "queued"}),  # no message id
        Reply(hang_up=True),  # connection closed, no answer
        Reply(503),
        Reply(200),  # would succeed, but is never asked
    )

    row = notify_sms(reachable_ani, django_capture_on_commit_callbacks)
    while row.status == Status.TEMPORARY_FAILURE:
        row = retry_after(row, time_machine)

    assert row.status == Status.TECHNICAL_FAILURE
    assert row.attempts == delivery.MAX_ATTEMPTS == 5
    assert row.reason.startswith("gave up after 5 attempts: gateway answered HTTP 503")
    assert len(sms_gateway.requests) == 5
    time_machine.move_to(dt.datetime(2026, 11, 25, tzinfo=dt.UTC), tick=False)
    assert delivery.sweep()["queued"] == 0
    assert len(sms_gateway.requests) == 5
    assert history(row) == [Status.CREATED] + [
        Status.SENDING,
        Status.TEMPORARY_FAILURE,
    ] * 4 + [Status.SENDING, Status.TECHNICAL_FAILURE]


def test_the_retry_delays_grow_exponentially_with_jitter_up_to_a_cap():
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (4, 240), (8, 3600), (30, 3600)]:
        delays = {delivery.retry_delay(attempts) for _ in range(200)}
        assert min(delays) >= ceiling // 2
        assert max(delays) <= ceiling
        assert len(delays) > 1  # jitter: retries of many messages do not come in lockstep


def test_a_task_delivered_twice_sends_once(reachable_ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL, Channel.SMS])
    # The broker hands each task over twice (a redelivery after a lost ack).
    for callback in callbacks + callbacks:
        callback()
    for row in rows:
        assert send_notification.delay(row.pk).get() == "not-due-or-taken"

    assert len(mail.outbox) == 1
    assert len(locmem.outbox) == 1
    for row in rows:
        assert fresh(row).attempts == 1
        assert history(row) == [Status.CREATED, Status.SENDING, Status.DELIVERED]


def test_a_delivered_message_is_never_claimed_again(
    reachable_ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])

    assert delivery.deliver(row.pk) == "not-due-or-taken"
    assert len(mail.outbox) == 1


def test_every_state_change_has_an_event_row_and_the_last_matches_the_row(
    reachable_ani, sms_gateway, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), tick=False)
    sms_gateway.answer(Reply(502))
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT)
    sms = fresh(next(row for row in rows if row.channel == Channel.SMS))
    retry_after(sms, time_machine)

    for row in Notification.objects.all():
        events = list(row.events.order_by("at", "pk"))
        assert events, f"{row.channel} has no history"
        assert events[-1].status == row.status
        # Each event records a change: no two identical events in a row,
        # except `sending` twice (claimed, then accepted by the gateway).
        for before, after in itertools.pairwise(events):
            assert before.status != after.status or after.status == Status.SENDING
    details = list(
        Notification.objects.get(channel=Channel.SMS).events.values_list("status", "detail")
    )
    assert details[1] == (Status.SENDING, "attempt 1")
    assert details[2][0] == Status.TEMPORARY_FAILURE
    assert details[2][1].startswith("gateway answered HTTP 502; retry in ")
    assert details[-1] == (Status.SENDING, "accepted by gateway as gw-1")


def test_an_unexpected_error_while_sending_is_retried_not_lost(
    reachable_ani, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(notification):
        raise RuntimeError("template engine exploded")

    monkeypatch.setitem(delivery.SENDERS, Channel.EMAIL, broken)
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])

    row = fresh(row)
    assert row.status == Status.TEMPORARY_FAILURE
    assert row.reason == "RuntimeError"
    assert row.next_attempt_at is not None


def test_a_message_whose_event_was_unregistered_meanwhile_is_still_sent_once(
    reachable_ani, monkeypatch, time_machine, django_capture_on_commit_callbacks
):
    """Rows written before a deploy that renamed or removed their event."""
    with django_capture_on_commit_callbacks() as callbacks:
        (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])
    monkeypatch.delitem(events.EVENTS, STATUS_EVENT)
    for callback in callbacks:
        callback()

    assert fresh(row).status == Status.DELIVERED
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), tick=False)
    delivery.sweep()
    assert len(mail.outbox) == 1


def test_an_outcome_for_a_row_the_sweep_took_back_meanwhile_is_not_recorded(
    ani, monkeypatch, django_capture_on_commit_callbacks
):
    def send_while_swept(notification):
        # The send outlived STUCK_AFTER: the sweep took the row back meanwhile.
        Notification.objects.filter(pk=notification.pk).update(
            status=Status.CREATED, claimed_at=None
        )
        return sms.SmsResult(sms.DELIVERED)

    monkeypatch.setitem(delivery.SENDERS, Channel.SMS, send_while_swept)
    with django_capture_on_commit_callbacks():
        (row,) = notify(ani, SECURITY_SMS_EVENT, {"code": "482913"})

    assert delivery.deliver(row.pk) == delivery.SUPERSEDED
    row = fresh(row)
    assert row.status == Status.CREATED
    assert row.body == "Kode Imigrasi: 482913"  # not redacted: it goes out again
    assert history(row) == [Status.CREATED, Status.SENDING]


def test_a_security_code_is_redacted_once_it_has_left(ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(ani, SECURITY_SMS_EVENT, {"code": "482913"})

    assert [message.text for message in locmem.outbox] == ["Kode Imigrasi: 482913"]
    assert fresh(row).body == delivery.REDACTED
