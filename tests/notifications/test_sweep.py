"""The outbox survives a broker outage: the business change commits, the rows
wait in `created`, and the sweep sends them once Redis is back. The sweep
also resets rows a dead worker left in `sending`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notifications import delivery, services
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.sms import locmem
from tests.notifications.conftest import CONTEXT, STATUS_EVENT
from tests.notifications.support import (
    UNREACHABLE_BROKER,
    broker_at,
    celery_configured,
    fresh,
    history,
    wait_for,
)

Status = Notification.Status


def rename_and_notify(person) -> list[Notification]:
    """A business change and its messages, in one transaction."""
    with transaction.atomic():
        User.objects.filter(pk=person.pk).update(full_name="Ani Lestari Putri")
        return notify(person, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL, Channel.SMS])


def age(rows, minutes: int) -> None:
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


# --- Broker outage ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("notification_events")
def test_with_the_broker_unreachable_the_change_commits_and_the_rows_wait(
    reachable_ani, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_configured(task_always_eager=False), broker_at(UNREACHABLE_BROKER):
        with django_capture_on_commit_callbacks(execute=True):
            rows = rename_and_notify(reachable_ani)
        # Later messages during the outage do not even try the broker.
        assert services.enqueue(rows[0].pk) is False
        # The sweep finds the broker still down and keeps the rows for later.
        age(rows, minutes=3)
        assert delivery.sweep() == {"reset": 0, "queued": 0}

    reachable_ani.refresh_from_db()
    assert reachable_ani.full_name == "Ani Lestari Putri"
    for row in rows:
        assert fresh(row).status == Status.CREATED
        assert history(row) == [Status.CREATED]
    assert mail.outbox == []
    assert locmem.outbox == []


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("notification_events")
def test_once_the_broker_is_back_the_sweep_sends_what_the_outage_left(
    reachable_ani, settings, redis_worker
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_configured(task_always_eager=False), broker_at(UNREACHABLE_BROKER):
        rows = rename_and_notify(reachable_ani)  # a real commit
    assert [fresh(row).status for row in rows] == [Status.CREATED, Status.CREATED]

    with redis_worker():
        # Young rows are left alone: their own hand-off may still be under way.
        services._broker_down_until = 0.0  # the 30 s back-off has passed
        assert delivery.sweep() == {"reset": 0, "queued": 0}

        age(rows, minutes=3)
        assert delivery.sweep() == {"reset": 0, "queued": 2}
        wait_for(
            lambda: all(fresh(row).status == Status.DELIVERED for row in rows),
            what="the swept rows to be delivered",
        )
        # Delivered rows are not swept again.
        assert delivery.sweep() == {"reset": 0, "queued": 0}

    assert len(mail.outbox) == 1
    assert len(locmem.outbox) == 1
    for row in rows:
        assert history(row) == [Status.CREATED, Status.SENDING, Status.DELIVERED]


# --- Stuck rows ----------------------------------------------------------------------------


@pytest.fixture
def written(reachable_ani, django_capture_on_commit_callbacks):
    """Write rows without sending them (their hand-off is lost)."""

    def write(channel=Channel.EMAIL) -> Notification:
        with django_capture_on_commit_callbacks(execute=False):
            (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[channel])
        return row

    return write


def claimed(row: Notification, minutes_ago: int, **fields) -> Notification:
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENDING,
        attempts=1,
        claimed_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        **fields,
    )
    return fresh(row)


@pytest.mark.django_db
@pytest.mark.usefixtures("celery_eager", "notification_events")
def test_a_row_stuck_in_sending_is_reset_and_sent_again(written):
    dead = claimed(written(), minutes_ago=11)  # its worker died mid-send

    result = delivery.sweep()

    assert result == {"reset": 1, "queued": 1}
    row = fresh(dead)
    assert row.status == Status.DELIVERED
    assert row.attempts == 2
    assert len(mail.outbox) == 1
    assert row.events.filter(status=Status.CREATED, detail="reset: stuck in sending").exists()
    assert history(row)[-3:] == [Status.CREATED, Status.SENDING, Status.DELIVERED]


@pytest.mark.django_db
@pytest.mark.usefixtures("celery_eager", "notification_events")
def test_the_sweep_leaves_rows_that_are_legitimately_in_sending(written):
    recent = claimed(written(), minutes_ago=5)  # still within the send
    awaiting_receipt = claimed(
        written(Channel.SMS), minutes_ago=60, provider_reference="gw-77"
    )  # the gateway has it; its receipt will say how it went

    assert delivery.sweep() == {"reset": 0, "queued": 0}

    assert fresh(recent).status == Status.SENDING
    assert fresh(awaiting_receipt).status == Status.SENDING
    assert mail.outbox == []
    assert locmem.outbox == []


@pytest.mark.django_db
@pytest.mark.usefixtures("celery_eager", "notification_events")
def test_the_sweep_sends_rows_left_in_created_after_two_minutes(written):
    young, old = written(), written()
    age([old], minutes=3)
    age([young], minutes=1)

    assert delivery.sweep() == {"reset": 0, "queued": 1}

    assert fresh(old).status == Status.DELIVERED
    assert fresh(young).status == Status.CREATED
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("celery_eager", "notification_events")
def test_the_sweep_task_runs_the_sweep(written):
    from notifications.tasks import sweep_outbox

    age([written()], minutes=3)

    assert sweep_outbox.delay().get() == {"reset": 0, "queued": 1}
    assert len(mail.outbox) == 1


def test_beat_runs_the_sweep_every_minute(settings):
    from imigrasi.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]
    assert entry["task"] == "notifications.tasks.sweep_outbox"
    assert entry["schedule"] <= 60
    assert "notifications.tasks.sweep_outbox" in app.tasks
