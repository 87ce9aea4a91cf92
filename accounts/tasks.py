from __future__ import annotations

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
