from __future__ import annotations

from celery import shared_task

from applications import receipts, services
from imigrasi.pdf import RENDER_TASK


@shared_task(**RENDER_TASK)
def render_receipt(application_id: int) -> None:
    """Idempotent: a receipt row already there means the work was done."""
    receipts.receipt_render(application_id)


@shared_task(ignore_result=True)
def sweep_receipts() -> int:
    """Render receipts a lost task or broker outage left behind."""
    return services.receipts_missing_render()


@shared_task(ignore_result=True)
def flag_uncollected() -> int:
    """Tell the office's officers about documents ready for 30 days and not collected."""
    return services.uncollected_flag()


@shared_task(ignore_result=True)
def purge_expired_documents() -> int:
    """Delete uploaded files DOCUMENT_RETENTION_DAYS after their application closed.

    Idempotent: each row is marked with a conditional update; a file already
    gone is skipped. Runs in batches until nothing is due (or a cap, for the
    time limit: the next day's run goes on).
    """
    from applications import retention

    total = 0
    for _batch in range(20):
        done = retention.documents_purge_due(limit=500)
        total += done
        if done < 500:
            break
    return total
