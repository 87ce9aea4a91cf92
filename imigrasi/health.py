"""Liveness of the parts the portal needs: database, cache and broker."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

OK, ERROR, EAGER = "ok", "error", "eager"


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("healthz: database unreachable", exc_info=True)
        return ERROR
    return OK


def check_cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        healthy = cache.get(key) == "1"
        cache.delete(key)
    except Exception:  # any backend error means "not healthy", never a 500
        logger.warning("healthz: cache unreachable", exc_info=True)
        return ERROR
    return OK if healthy else ERROR


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return EAGER
    from imigrasi.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # kombu raises transport-specific errors
        logger.warning("healthz: broker unreachable", exc_info=True)
        return ERROR
    return OK


def report() -> tuple[bool, dict[str, str]]:
    checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    return all(state != ERROR for state in checks.values()), checks
