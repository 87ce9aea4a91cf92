from __future__ import annotations

from celery import shared_task

from imigrasi.pdf import RENDER_TASK
from payments import receipts, sandbox, services, webhooks


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=8,
)
def issue_bill(application_id: int) -> None:
    """Idempotent: an open bill already there means the work was done."""
    services.bill_issue(application_id=application_id)


@shared_task(**RENDER_TASK)
def render_payment_receipt(bill_id: int) -> None:
    """Idempotent: a receipt row already there means the work was done."""
    receipts.payment_receipt_render(bill_id)


@shared_task(bind=True, ignore_result=True, max_retries=12)
def process_webhook(self, event_id: int) -> str:
    """Decide a stored gateway notification; idempotent (a decided event is left alone)."""
    outcome = webhooks.process_stored(event_id)
    if outcome == "retry" and not self.request.is_eager:
        # The gateway's status API did not answer: ask again later (the
        # reconciliation beat task also finishes waiting events).
        raise self.retry(countdown=min(600, 15 * 2**self.request.retries))
    return outcome


class WebhookNotAccepted(OSError):
    """The portal answered the sandbox's webhook with an error: try again later."""


@shared_task(
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def deliver_sandbox_notification(record_id: int) -> None:
    """The sandbox gateway retries like a real one until the portal answers 2xx."""
    status = sandbox.deliver(record_id)
    if not 200 <= status < 300 and status not in {400, 401}:
        raise WebhookNotAccepted(f"webhook answered {status}")


@shared_task(ignore_result=True)
def expire_bills() -> int:
    return services.bills_expire()


@shared_task(ignore_result=True)
def remind_unpaid() -> int:
    return services.bills_remind()


@shared_task(ignore_result=True)
def reconcile_payments() -> dict:
    """Ask the gateway about unpaid bills: a lost webhook is recovered."""
    return webhooks.reconcile()


@shared_task(ignore_result=True)
def issue_missing_bills() -> int:
    return services.bills_issue_missing()


@shared_task(ignore_result=True)
def sweep_payment_receipts() -> int:
    return receipts.payment_receipts_missing_render()
