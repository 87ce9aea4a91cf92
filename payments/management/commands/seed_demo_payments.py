"""Demo payments for `make run`: applications the demo seeded past payment get a paid bill."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from applications.models import Application
from payments import receipts, sandbox, services
from payments.models import Bill, Method, Payment
from payments.selectors import PAST_PAYMENT


class Command(BaseCommand):
    help = "Give demo applications already past payment a paid bill and its receipt."

    def handle(self, *args, **options):
        done = 0
        waiting = Application.objects.filter(status__in=PAST_PAYMENT).exclude(
            bills__status=Bill.Status.PAID
        )
        for application in waiting.select_related("office"):
            if not application.fee_amount:
                continue
            with transaction.atomic():
                paid_at = application.status_changed_at - dt.timedelta(hours=1)
                bill = Bill.objects.create(
                    application=application,
                    code=services.make_code(),
                    amount=application.fee_amount,
                    issued_at=paid_at - dt.timedelta(hours=2),
                    expires_at=paid_at + dt.timedelta(days=7),
                    status=Bill.Status.PAID,
                    paid_at=paid_at,
                    closed_at=paid_at,
                    ntpn=sandbox.new_ntpn(),
                    method=Method.VA_BRI,
                    provider="sandbox",
                )
                Payment.objects.create(
                    bill=bill,
                    amount=bill.amount,
                    method=bill.method,
                    ntpn=bill.ntpn,
                    paid_at=paid_at,
                    provider="sandbox",
                    provider_reference=f"DEMO-{bill.code}",
                )
            receipts.payment_receipt_render(bill.pk)
            done += 1
        self.stdout.write(
            self.style.SUCCESS(f"{done} demo payment(s) recorded ({timezone.localdate()}).")
        )
