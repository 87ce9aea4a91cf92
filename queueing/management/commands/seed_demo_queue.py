"""Demo appointments for `make run`: booking windows filled in, demo interviews booked."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from applications.models import Application
from applications.workflow import Status
from offices.models import Office
from queueing import bookings, slots
from queueing.models import Booking, Purpose, Slot


class Command(BaseCommand):
    help = "Make every office's slots and give demo applications already scheduled a booking."

    def handle(self, *args, **options):
        for office in Office.objects.active():
            slots.forget_made(office)
            slots.slots_ensure(office)
        booked = 0
        waiting = Application.objects.filter(status=Status.SCHEDULED).exclude(
            bookings__status=Booking.Status.ACTIVE
        )
        for application in waiting.select_related("office", "applicant"):
            slot = (
                Slot.objects.filter(
                    office=application.office,
                    purpose=Purpose.INTERVIEW,
                    closed=False,
                    starts_at__gt=timezone.now() + timezone.timedelta(days=1),
                    booked__lt=F("capacity"),
                )
                .order_by("starts_at")
                .first()
            )
            if slot is None:
                continue
            with transaction.atomic():
                if not slots.slot_take(slot.pk, now=timezone.now()):
                    continue
                Booking.objects.create(
                    code=bookings.new_code(),
                    citizen=application.applicant,
                    application=application,
                    office=application.office,
                    purpose=Purpose.INTERVIEW,
                    slot=slot,
                )
            booked += 1
        self.stdout.write(self.style.SUCCESS(f"Slots ready; {booked} demo interview(s) booked."))
