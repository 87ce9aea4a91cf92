"""A small fixed-window rate limit on the shared cache (Redis in production)."""

from __future__ import annotations

import time

from django.core.cache import cache


def client_ip(request) -> str:
    # Behind the one trusted proxy (#7 hardens this); REMOTE_ADDR otherwise.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt; False once `limit` attempts were made in the current window."""
    bucket = int(time.time() // window)
    name = f"ratelimit:{scope}:{key}:{bucket}"
    if cache.add(name, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=window + 5)
            count = 1
    return count <= limit
