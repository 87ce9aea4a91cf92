"""Under CI the suite must run on the real services, never on the fallbacks."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.mark.skipif(not IN_CI, reason="only CI is bound to PostgreSQL and Redis")
def test_ci_runs_the_suite_on_postgresql(settings):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.mark.skipif(not IN_CI, reason="only CI is bound to PostgreSQL and Redis")
def test_ci_runs_the_suite_with_the_redis_cache(settings):
    assert settings.REDIS_URL.startswith("redis://")
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
