from __future__ import annotations

import datetime as dt

from celery import shared_task

from accounts import deletion

# Batches keep each transaction short; a run stops well inside the task's time limit
# and the next day's run picks up anything left.
ANONYMISE_BATCH = 100
ANONYMISE_MAX_BATCHES = 20


@shared_task(ignore_result=True)
def anonymise_deleted_accounts() -> int:
    """Anonymise accounts closed at their owner's request once the grace period is over.

    Idempotent: each account is claimed by a conditional update, so a
    redelivered or overlapping run skips the ones already done.
    """
    total = 0
    for _batch in range(ANONYMISE_MAX_BATCHES):
        done = deletion.accounts_anonymise_due(limit=ANONYMISE_BATCH)
        total += done
        if done < ANONYMISE_BATCH:
            break
    return total


@shared_task(ignore_result=True)
def purge_security_records() -> dict:
    """Records that protect logins but hold personal data, kept no longer than needed
    (docs/privacy.md): expired sessions, and failed-login records (username typed,
    address, browser) older than LOGIN_FAILURE_RETENTION_DAYS, long after their
    30-minute lockout ended."""
    from importlib import import_module

    from axes.models import AccessAttempt, AccessFailureLog
    from django.conf import settings
    from django.utils import timezone

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    cutoff = timezone.now() - dt.timedelta(days=settings.LOGIN_FAILURE_RETENTION_DAYS)
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()
    failures, _ = AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()
    return {"attempts": attempts, "failures": failures}
