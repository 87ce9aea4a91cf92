"""Helpers for the notification tests: Celery configuration, waiting, history."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from notifications.models import Notification, NotificationEvent

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"
_MISSING = object()


def celery_app():
    from imigrasi.celery import app

    return app


@contextmanager
def celery_configured(**values) -> Iterator:
    """Set Celery options on the app for the block, then put back what was there.

    The app reads `CELERY_*` from Django settings lazily, so overriding a
    Django setting is seen too, but only while the app has no value of its
    own: a value set on `app.conf` wins. So the previous state is restored
    exactly, by removing what was not there before rather than pinning it.
    """
    app = celery_app()
    changes = app.conf.changes
    previous = {key: changes.get(key, _MISSING) for key in values}
    app.conf.update(values)
    try:
        yield app
    finally:
        for key, value in previous.items():
            if value is _MISSING:
                changes.pop(key, None)
            else:
                changes[key] = value


def forget_broker_connections(app) -> None:
    """Make the next publish connect to whatever `broker_url` now says.

    The app caches its connection and producer pools; kombu keeps one pool
    per broker URL, so dropping the app's references is enough (closing them
    would close the pool that the real broker's URL maps to).
    """
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator:
    app = celery_app()
    with celery_configured(broker_url=url):
        forget_broker_connections(app)
        try:
            yield app
        finally:
            forget_broker_connections(app)


def wait_for(condition: Callable[[], object], *, timeout: float = 20.0, what: str = "") -> object:
    """Poll until `condition()` is truthy (a safety net, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {timeout:.0f} s for {what or condition}")
        time.sleep(0.05)


def history(notification: Notification | int) -> list[str]:
    """The statuses recorded for a notification, oldest first."""
    pk = notification if isinstance(notification, int) else notification.pk
    return list(
        NotificationEvent.objects.filter(notification_id=pk)
        .order_by("at", "pk")
        .values_list("status", flat=True)
    )


def fresh(notification: Notification) -> Notification:
    return Notification.objects.get(pk=notification.pk)
