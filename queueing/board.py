"""The display board's content and its change counter.

Every ticket change bumps a per-office version in the shared cache after
commit; the board's poll sends it back as an ETag and gets 304 (no query,
no rendering) until something changes. A lost or evicted version only
costs one full answer.
"""

from __future__ import annotations

import logging
import secrets

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count

from queueing.models import Prefix, Ticket

logger = logging.getLogger(__name__)
RECENT = 6


def _key(office_id: int) -> str:
    return f"queueing:board:{office_id}"


def version(office_id: int) -> int:
    try:
        value = cache.get(_key(office_id))
        if value is None:
            value = secrets.randbelow(2**31)
            cache.add(_key(office_id), value, None)
            value = cache.get(_key(office_id), value)
        return int(value)
    except Exception:  # the cache is down: the board still works, without 304s
        logger.warning("board version unavailable", exc_info=True)
        return secrets.randbelow(2**31)


def bump(office_id: int) -> None:
    try:
        cache.incr(_key(office_id))
    except ValueError:  # not there yet (or evicted): any new value will do
        cache.set(_key(office_id), secrets.randbelow(2**31), None)
    except Exception:
        logger.warning("board version not bumped", exc_info=True)


def bump_on_commit(office_id: int) -> None:
    transaction.on_commit(lambda: bump(office_id), robust=True)


def state(office, day) -> dict:
    """Now serving (ticket + counter), recently called, and how many wait per prefix."""
    called = list(
        Ticket.objects.filter(office=office, day=day, called_at__isnull=False)
        .select_related("counter")
        .order_by("-announced_at", "-pk")[: RECENT + 12]
    )
    serving = [t for t in called if t.status in (Ticket.Status.CALLED, Ticket.Status.SERVING)]
    serving.sort(key=lambda t: t.counter.number if t.counter_id else 0)
    recent = [t for t in called if t.status not in (Ticket.Status.CALLED, Ticket.Status.SERVING)]
    waiting = dict.fromkeys(Prefix.values, 0)
    for row in (
        Ticket.objects.filter(office=office, day=day, status=Ticket.Status.WAITING)
        .order_by()
        .values("prefix")
        .annotate(n=Count("pk"))
        .values_list("prefix", "n")
    ):
        waiting[row[0]] = row[1]
    latest = called[0] if called else None
    return {
        "serving": serving,
        "recent": recent[:RECENT],
        "latest": latest,
        "waiting": [(Prefix(p), n) for p, n in waiting.items()],
        "waiting_total": sum(waiting.values()),
        "day": day,
    }
