from __future__ import annotations

import os

import pytest

HAS_POSTGRES = os.environ.get("IMIGRASI_TEST_POSTGRES", "1") == "1"
HAS_REDIS = os.environ.get("IMIGRASI_TEST_REDIS", "1") == "1"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (not reachable here)")
    skip_redis = pytest.mark.skip(reason="needs Redis (not reachable here)")
    for item in items:
        if "postgres" in item.keywords and not (HAS_POSTGRES and on_postgres):
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not (HAS_REDIS and settings.REDIS_URL):
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (each xdist worker has its own Redis db)."""
    from django.core.cache import cache

    cache.clear()
    yield
