"""Following application moves and holidays (applications and offices do not know queueing)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from applications.signals import status_changed
from applications.workflow import FINAL
from offices.models import Holiday, Office, OpeningHours


@receiver(status_changed, dispatch_uid="queueing.follow_application")
def follow_application(sender, *, application, event, **kwargs) -> None:
    """A refused or withdrawn application gives its appointment place back."""
    if event.to_status not in FINAL:
        return
    from queueing import bookings, slots
    from queueing.models import Booking, WaitlistEntry

    now = timezone.now()
    for booking in (
        Booking.objects.select_for_update(of=("self",))
        .select_related("slot")
        .filter(application=application, status=Booking.Status.ACTIVE)
    ):
        slots.slot_release(booking.slot_id)
        booking.status = Booking.Status.CANCELLED
        booking.closed_at = now
        booking.save(update_fields=["status", "closed_at"])
        bookings.waitlist_offer(booking.slot, now=now)
    for entry in WaitlistEntry.objects.select_for_update().filter(
        application=application,
        status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
    ):
        if entry.status == WaitlistEntry.Status.OFFERED and entry.offered_slot_id:
            slots.slot_release(entry.offered_slot_id)
        entry.status = WaitlistEntry.Status.LEFT
        entry.closed_at = now
        entry.save(update_fields=["status", "closed_at"])


@receiver(post_save, sender=Holiday, dispatch_uid="queueing.holiday_closes_day")
def holiday_closes_day(sender, instance: Holiday, created: bool, raw: bool = False, **kwargs):
    """A holiday declared after slots were made closes that day; booked citizens are told."""
    if raw:
        return
    from queueing import slots

    offices = [instance.office] if instance.office_id else list(Office.objects.active())
    day, reason = instance.date, instance.name

    def close() -> None:
        # After the holiday is committed, outside the admin's transaction: each booking
        # is then cancelled in its own short transaction (no lock held across offices).
        for office in offices:
            slots.day_close(office, day, reason=reason)

    transaction.on_commit(close, robust=True)


@receiver(post_save, sender=OpeningHours, dispatch_uid="queueing.hours_changed")
def hours_changed(sender, instance: OpeningHours, raw: bool = False, **kwargs):
    if not raw:
        from queueing import slots

        slots.forget_made(instance.office)


@receiver(post_save, sender=Office, dispatch_uid="queueing.office_quota")
def office_quota(sender, instance: Office, created: bool, raw: bool = False, **kwargs):
    """Every office has a quota row for supervisors to adjust (defaults until they do)."""
    if created and not raw:
        from queueing.models import Quota

        Quota.objects.get_or_create(office=instance)
