"""Reads for the officers' reconciliation: paid bills against application states."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.workflow import Status
from payments.models import Bill

# Statuses an application can only reach once its fee is paid.
PAST_PAYMENT = frozenset(
    {
        Status.PAID,
        Status.SCHEDULED,
        Status.INTERVIEWED,
        Status.APPROVED,
        Status.READY,
        Status.COMPLETED,
    }
)
LIMIT = 500


@dataclass
class Row:
    application: object
    bill: Bill | None
    problem: str


def _problem(application, bills: list[Bill], now) -> str:
    paid = next((b for b in bills if b.status == Bill.Status.PAID), None)
    review = next((b for b in bills if b.needs_review), None)
    if review is not None:
        return _("Payment held for review: %(note)s") % {"note": review.review_note}
    if paid and application.status in {Status.AWAITING_PAYMENT, Status.EXPIRED, Status.SUBMITTED}:
        return _("Paid, but the application is still “%(status)s”.") % {
            "status": Status(application.status).label
        }
    if paid and application.status == Status.CANCELLED:
        return _("Paid, but the application was cancelled: refund to be decided.")
    if application.status in PAST_PAYMENT and paid is None:
        return _("The application is past payment but has no paid bill.")
    if any(b.status == Bill.Status.UNPAID and b.expires_at < now for b in bills):
        return _("Unpaid bill past its expiry, not closed yet.")
    if paid and paid.paid_at < now - dt.timedelta(minutes=15) and not _has_receipt(paid):
        return _("Paid, but the payment receipt was not made.")
    return ""


def _has_receipt(bill: Bill) -> bool:
    try:
        return bill.receipt is not None
    except Bill.receipt.RelatedObjectDoesNotExist:
        return False


def _mismatch_ids(scoped, now) -> set[int]:
    """Applications that may not match their bills, found in the database (not a sample)."""
    paid = Bill.Status.PAID
    queries = [
        scoped.filter(bills__needs_review=True),
        scoped.filter(
            bills__status=paid,
            status__in=[
                Status.AWAITING_PAYMENT,
                Status.EXPIRED,
                Status.SUBMITTED,
                Status.CANCELLED,
            ],
        ),
        scoped.filter(status__in=PAST_PAYMENT).exclude(bills__status=paid),
        scoped.filter(bills__status=Bill.Status.UNPAID, bills__expires_at__lt=now),
        scoped.filter(
            bills__status=paid,
            bills__paid_at__lt=now - dt.timedelta(minutes=15),
            bills__receipt__isnull=True,
        ),
    ]
    found: set[int] = set()
    for query in queries:
        found.update(query.values_list("pk", flat=True)[:LIMIT])
    return found


def reconciliation(*, applications, days: int = 30) -> list[Row]:
    """Applications sent in the last `days` days: every mismatch first (each kind
    looked for in the database), then the newest that match."""
    now = timezone.now()
    since = now - dt.timedelta(days=days)
    scoped = applications.filter(submitted_at__gte=since).exclude(status=Status.DRAFT)
    ids = _mismatch_ids(scoped, now)
    newest = (
        scoped.filter(Exists(Bill.objects.filter(application=OuterRef("pk"))))
        .order_by("-submitted_at")
        .values_list("pk", flat=True)[:LIMIT]
    )
    ids.update(newest)
    loaded = (
        applications.model.objects.filter(pk__in=ids)
        .select_related("office", "service")
        .prefetch_related(
            Prefetch(
                "bills", queryset=Bill.objects.select_related("receipt").order_by("-issued_at")
            )
        )
        .order_by("-submitted_at")
    )
    rows = []
    for application in loaded:
        bills = list(application.bills.all())
        if not bills and application.status not in PAST_PAYMENT:
            continue
        paid = next((b for b in bills if b.status == Bill.Status.PAID), None)
        rows.append(
            Row(
                application,
                paid or (bills[0] if bills else None),
                _problem(application, bills, now),
            )
        )
    rows.sort(key=lambda row: row.problem == "")  # stable: newest first within each part
    return rows
