"""A small fixed-window rate limit on the shared cache (Redis in production)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def client_ip(request) -> str:
    # Behind the one trusted proxy (#7 hardens this); REMOTE_ADDR otherwise.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _name(scope: str, key: str, window: int) -> str:
    # Hashed: keys may hold references or addresses; cache keys stay short and plain.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{int(time.time() // window)}"


def count(scope: str, key: str, *, window: int) -> int:
    """Attempts made so far in the current window, without counting one more."""
    return int(cache.get(_name(scope, key, window)) or 0)


def hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count one attempt; False once `limit` attempts were made in the current window."""
    name = _name(scope, key, window)
    if cache.add(name, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=window + 5)
            count = 1
    return count <= limit
