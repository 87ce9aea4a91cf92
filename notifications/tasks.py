from __future__ import annotations

from celery import shared_task

from notifications import delivery


@shared_task(ignore_result=True)
def send_notification(notification_id: int) -> str:
    """Idempotent: a redelivered task finds the row already claimed and does nothing."""
    return delivery.deliver(notification_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    return delivery.sweep()
