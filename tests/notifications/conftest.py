"""Fixtures for the notification tests.

Under the test settings with Redis reachable, Celery is *not* eager: a task
goes to a Redis queue that no worker reads. Tests that want messages sent
inline use `celery_eager`; tests that need the broker for real use
`redis_worker`, a Celery worker thread in this process on the real Redis.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.utils import timezone

from accounts.models import User
from notifications import events, services
from notifications.models import Channel
from notifications.sms import locmem
from tests.notifications.gateway import FakeGateway
from tests.notifications.support import celery_app, celery_configured, forget_broker_connections

# Test events: every channel in Indonesian and English; a reminder written in
# Indonesian only; a shared template translated by Django's catalogue; an
# event declaring SMS with no SMS template; a security event by SMS.
STATUS_EVENT = "test.status_changed"
INDONESIAN_ONLY_EVENT = "test.appointment_reminder"
SHARED_TEMPLATE_EVENT = "test.shared_template"
NO_SMS_TEMPLATE_EVENT = "test.no_sms_template"
SECURITY_SMS_EVENT = "test.security_code"
EVERY_CHANNEL = (Channel.EMAIL, Channel.SMS, Channel.PORTAL)

CONTEXT = {"ref": "PSP-2026-0042", "status": "disetujui"}

TEMPLATES = {
    # --- status update, in both languages
    f"email/{STATUS_EVENT}.id.subject.txt": "Permohonan {{ ref }} {{ status }}",
    f"email/{STATUS_EVENT}.id.txt": (
        "{% autoescape off %}Halo {{ recipient.full_name }}, permohonan {{ ref }} "
        "kini {{ status }}.{% endautoescape %}"
    ),
    f"email/{STATUS_EVENT}.id.html": (
        "<p>Halo {{ recipient.full_name }}, permohonan <b>{{ ref }}</b>.</p>"
    ),
    f"email/{STATUS_EVENT}.en.subject.txt": "Application {{ ref }} {{ status }}",
    f"email/{STATUS_EVENT}.en.txt": (
        "{% autoescape off %}Hello {{ recipient.full_name }}, application {{ ref }} "
        "is now {{ status }}.{% endautoescape %}"
    ),
    f"email/{STATUS_EVENT}.en.html": (
        "<p>Hello {{ recipient.full_name }}, application <b>{{ ref }}</b>.</p>"
    ),
    f"sms/{STATUS_EVENT}.id.txt": "Imigrasi: permohonan {{ ref }} kini {{ status }}.",
    f"sms/{STATUS_EVENT}.en.txt": "Imigrasi: application {{ ref }} is now {{ status }}.",
    f"portal/{STATUS_EVENT}.id.txt": "Permohonan {{ ref }} kini {{ status }}.",
    f"portal/{STATUS_EVENT}.en.txt": "Application {{ ref }} is now {{ status }}.",
    # --- reminder, Indonesian only
    f"email/{INDONESIAN_ONLY_EVENT}.id.subject.txt": "Pengingat jadwal {{ ref }}",
    f"email/{INDONESIAN_ONLY_EVENT}.id.txt": "Jangan lupa jadwal kedatangan {{ ref }} besok.",
    f"sms/{INDONESIAN_ONLY_EVENT}.id.txt": "Imigrasi: jadwal kedatangan {{ ref }} besok.",
    # --- one shared template; `yesno` is translated by Django's own catalogue
    f"email/{SHARED_TEMPLATE_EVENT}.subject.txt": "{{ ref }}: {{ urgent|yesno }}",
    f"email/{SHARED_TEMPLATE_EVENT}.txt": "{{ urgent|yesno }}",
    # --- email only, although SMS is declared
    f"email/{NO_SMS_TEMPLATE_EVENT}.id.subject.txt": "Tanpa SMS {{ ref }}",
    f"email/{NO_SMS_TEMPLATE_EVENT}.id.txt": "Pesan tanpa SMS {{ ref }}.",
    # --- security code by SMS
    f"sms/{SECURITY_SMS_EVENT}.id.txt": "Kode Imigrasi: {{ code }}",
}


@pytest.fixture(autouse=True)
def _clean_notification_state(monkeypatch):
    """Each test starts with an empty SMS outbox and a broker not in back-off."""
    locmem.outbox.clear()
    monkeypatch.setattr(services, "_broker_down_until", 0.0)
    yield
    locmem.outbox.clear()
    services._broker_down_until = 0.0


@pytest.fixture
def celery_eager(settings) -> Iterator:
    """Tasks run inline, as `make run` does without Redis.

    Both switches: `delivery` reads the Django setting, Celery reads its own
    configuration (which falls back to the Django setting unless set on the app).
    """
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with celery_configured(task_always_eager=True) as app:
        yield app


@pytest.fixture
def notification_events(monkeypatch, settings, tmp_path) -> dict[str, str]:
    """Register the test events and put their templates first in DIRS."""
    monkeypatch.setitem(events.EVENTS, STATUS_EVENT, (events.STATUS, EVERY_CHANNEL))
    monkeypatch.setitem(
        events.EVENTS, INDONESIAN_ONLY_EVENT, (events.REMINDER, (Channel.EMAIL, Channel.SMS))
    )
    monkeypatch.setitem(events.EVENTS, SHARED_TEMPLATE_EVENT, (events.STATUS, (Channel.EMAIL,)))
    monkeypatch.setitem(
        events.EVENTS, NO_SMS_TEMPLATE_EVENT, (events.STATUS, (Channel.EMAIL, Channel.SMS))
    )
    monkeypatch.setitem(events.EVENTS, SECURITY_SMS_EVENT, (events.SECURITY, (Channel.SMS,)))
    root = tmp_path / "templates"
    for name, text in TEMPLATES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [root, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    return TEMPLATES


@pytest.fixture
def reachable_ani(ani) -> User:
    """ani with a verified mobile number: every channel reaches her."""
    User.objects.filter(pk=ani.pk).update(phone_verified_at=timezone.now())
    ani.refresh_from_db()
    return ani


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as server:
        yield server


@pytest.fixture
def sms_gateway(settings, gateway) -> FakeGateway:
    """SMS go through the HTTP adapter to the local fake gateway."""
    settings.SMS_BACKEND = "notifications.sms.http.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = gateway.url
    settings.SMS_GATEWAY_API_KEY = "test-api-key-7f3a"
    settings.SMS_GATEWAY_TIMEOUT = 2.0
    settings.SMS_RECEIPT_SECRET = "test-receipt-secret-91c2"
    return gateway


@pytest.fixture
def redis_worker(settings) -> Callable:
    """Start a Celery worker thread on the real Redis: `with redis_worker(): ...`.

    The broker is settings.REDIS_URL (a Redis database of its own per xdist
    worker) and every test gets a queue of its own, so tasks left by other
    tests, or by another test run sharing the Redis server, are never
    consumed here. Two worker threads, so duplicate deliveries can race.
    Needs committed rows, as the worker's threads use their own connections:
    mark the test `django_db(transaction=True, serialized_rollback=True)`.
    """
    from celery.contrib.testing.worker import start_worker

    app = celery_app()
    queue = f"test-notifications-{uuid.uuid4().hex[:12]}"
    settings.CELERY_TASK_ALWAYS_EAGER = False

    @contextmanager
    def running(**options) -> Iterator:
        with celery_configured(
            broker_url=settings.REDIS_URL,
            task_always_eager=False,
            task_default_queue=queue,
            worker_hijack_root_logger=False,
        ):
            forget_broker_connections(app)
            try:
                with start_worker(
                    app,
                    pool="threads",
                    concurrency=2,
                    perform_ping_check=False,
                    queues=[queue],
                    loglevel="WARNING",
                    shutdown_timeout=30,
                    **options,
                ) as worker:
                    yield worker
            finally:
                forget_broker_connections(app)

    yield running
    _delete_queue(queue, settings.REDIS_URL)


def _delete_queue(queue: str, url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = [key for key in client.scan_iter(match=f"*{queue}*")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()
