"""The logged-in person's row is cached with Redis, and never outlives a change to it."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.backends import CachedModelBackend

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_redis(settings):
    """The backend caches only when a shared cache is configured."""
    settings.REDIS_URL = settings.REDIS_URL or "redis://configured.example"


def test_the_second_lookup_needs_no_query(with_redis, ani):
    backend = CachedModelBackend()
    assert backend.get_user(ani.pk) == ani

    with CaptureQueriesContext(connection) as queries:
        assert backend.get_user(ani.pk) == ani
    assert len(queries) == 0


def test_a_password_change_is_seen_at_once(with_redis, ani):
    backend = CachedModelBackend()
    backend.get_user(ani.pk)
    ani.set_password("Sebuah-kalimat-baru-2026")
    ani.save()

    assert backend.get_user(ani.pk).password == ani.password


def test_a_deactivated_person_is_logged_out_at_once(with_redis, ani):
    backend = CachedModelBackend()
    backend.get_user(ani.pk)
    ani.is_active = False
    ani.save()

    assert backend.get_user(ani.pk) is None


def test_without_redis_nothing_is_cached(settings, ani):
    settings.REDIS_URL = None
    CachedModelBackend().get_user(ani.pk)

    assert cache.get(f"accounts:user:{ani.pk}") is None


def test_a_session_of_a_deleted_person_opens_nothing(with_redis, client, eko):
    client.force_login(eko)
    assert client.session[SESSION_KEY] == str(eko.pk)
    client.get("/")
    eko.delete()

    response = client.get("/permohonan/")
    assert response.status_code == 302
