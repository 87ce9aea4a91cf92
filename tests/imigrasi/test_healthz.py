"""`/healthz`: 200 with each check when healthy, 503 naming the part that is down."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from imigrasi.celery import app as celery_app

pytestmark = pytest.mark.django_db

HEALTHZ = reverse("healthz")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def check(client):
    response = client.get(HEALTHZ)
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def test_it_answers_200_with_every_check_when_healthy(client):
    response, body = check(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] in ("ok", "eager")


@pytest.mark.redis
def test_with_redis_configured_the_broker_is_really_checked(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    response, body = check(client)

    assert response.status_code == 200
    assert body["checks"]["broker"] == "ok"


def test_it_is_never_cached(client):
    response = client.get(HEALTHZ)

    assert "no-cache" in response["Cache-Control"]


def test_it_needs_no_login_and_answers_only_get(client):
    assert client.post(HEALTHZ).status_code == 405


def test_it_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", unreachable)

    response, body = check(client)

    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["database"] == "error"
    assert body["checks"]["cache"] == "ok"


def test_it_answers_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE_REDIS)

    response, body = check(client)

    assert response.status_code == 503
    assert body["checks"]["broker"] == "error"
    assert body["checks"]["database"] == "ok"


def test_it_reports_the_broker_as_eager_when_tasks_run_inline(client, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE_REDIS)  # never contacted

    response, body = check(client)

    assert response.status_code == 200
    assert body["checks"]["broker"] == "eager"


def test_it_answers_503_when_the_cache_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

    response, body = check(client)

    assert response.status_code == 503
    assert body["checks"]["cache"] == "error"
    assert body["checks"]["database"] == "ok"
