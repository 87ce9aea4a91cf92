"""Database helpers shared by the apps."""

from __future__ import annotations

import time

from django.db import OperationalError, connection

# PostgreSQL: deadlock detected, serialization failure (TRUST.md, "Limited resources").
RETRYABLE = frozenset({"40P01", "40001"})


def retry_on_conflict(function, *, attempts: int = 3):
    """Run `function` (which opens its own transaction) again when PostgreSQL
    chose it as the victim of a deadlock or a serialization failure.

    Inside a caller's transaction nothing is retried: the whole transaction
    is already lost, and the caller must start again.
    """
    for attempt in range(1, attempts + 1):
        try:
            return function()
        except OperationalError as error:
            code = getattr(error.__cause__, "sqlstate", None)
            if code not in RETRYABLE or attempt == attempts or connection.in_atomic_block:
                raise
            time.sleep(0.02 * attempt)
    return None
