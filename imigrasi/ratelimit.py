"""Fixed-window rate limits on the shared cache (Redis in production), and the client's address.

`limit(...)` guards a view per client address (or per account) and answers
the friendly 429 page; `hit`/`count` are the primitives for views that
need finer control (the public status check).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render


def _valid_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def client_ip(request) -> str:
    """The address of the person, not of our own proxy.

    With `TRUSTED_PROXIES=1` (nginx in front, docs/deployment.md) the proxy
    appends the address it saw to X-Forwarded-For, so the right-most entry
    is the one to trust; anything left of it was typed by the client and
    may be forged. Without a trusted proxy the header is ignored.
    """
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            address = _valid_ip(hops[-proxies])
            if address:
                return address
    return _valid_ip(request.META.get("REMOTE_ADDR", "")) or "unknown"


def client_ip_or_none(request) -> str | None:
    """For django-axes, which stores the address in an IP field."""
    address = client_ip(request)
    return None if address == "unknown" else address


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


def too_many(request, *, window: int):
    """The friendly 429 page, with how long to wait."""
    response = render(request, "429.html", {"minutes": max(1, window // 60)}, status=429)
    response["Retry-After"] = str(window)
    return response


def limit(scope: str, *, methods=("POST",), per: str = "ip"):
    """Limit a view to RATE_LIMITS[scope] = (attempts, window seconds) per client
    address (`per="ip"`) or per logged-in account (`per="user"`, falling back
    to the address for anonymous visitors). Other methods pass untouched."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods:
                attempts, window = settings.RATE_LIMITS[scope]
                user = getattr(request, "user", None)
                if per == "user" and user is not None and user.is_authenticated:
                    key = f"user:{user.pk}"
                else:
                    key = f"ip:{client_ip(request)}"
                if not hit(scope, key, limit=attempts, window=window):
                    return too_many(request, window=window)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
