"""Following application moves (applications does not depend on payments)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from applications.signals import status_changed
from applications.workflow import FINAL, Status


@receiver(status_changed, dispatch_uid="payments.follow_application")
def follow_application(sender, *, application, event, **kwargs) -> None:
    from payments import services, tasks

    to = event.to_status
    back_from_revision = (
        event.from_status == Status.REVISION_REQUESTED and to == Status.AWAITING_PAYMENT
    )
    if to == Status.SUBMITTED or back_from_revision:
        # Issue (or renew) the bill once the submission is committed.
        application_id = application.pk
        transaction.on_commit(lambda: tasks.issue_bill.delay(application_id), robust=True)
    elif to in FINAL:
        # Withdrawn or refused before payment: the code can no longer be paid.
        services.bills_cancel_for(application)
