"""Privacy fixtures: a citizen with something in every corner of the portal."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from accounts.models import PhoneVerification
from applications.models import Person
from applications.workflow import Status
from notifications.models import Channel
from notifications.services import notify
from payments.models import Bill, Payment, Refund
from queueing import slots
from queueing.models import Booking, Purpose, Slot, WaitlistEntry
from tests.applications.conftest import (  # noqa: F401 (fixtures shared with applications)
    _private_files,
    advance,
    complete_draft,
    passport_service,
    permit_service,
    regular_passport_service,
)
from tests.factories import StaffFactory, make_nik


@pytest.fixture
def system_officer(db):
    """The officer who moves applications along in these tests (one per test)."""
    return StaffFactory(is_superuser=True, email="sistem@example.id")


def world_of(citizen, office, service, officer, *, tag: str) -> dict:
    """Give `citizen` a row of every kind the export covers; `tag` makes each value unique.

    Returns the values an export must (or, for another person, must not) contain.
    """
    child = Person(
        owner=citizen,
        relationship=Person.Relationship.CHILD,
        full_name=f"Anak {tag}",
        date_of_birth=dt.date(2015, 3, 4),
        place_of_birth=f"Kota {tag}",
        sex="L",
    )
    child_nik = make_nik(dt.date(2015, 3, 4), "L", serial=4000 + sum(map(ord, tag)) % 1000)
    child.set_nik(child_nik)
    child.save()

    application = advance(
        complete_draft(citizen, office, service), Status.COMPLETED, officer=officer
    )
    now = timezone.now()
    bill = Bill.objects.create(
        application=application,
        code=f"8{uuid.uuid4().int % 10**14:014d}",
        amount=950_000,
        status=Bill.Status.PAID,
        expires_at=now + dt.timedelta(days=7),
        paid_at=now,
        ntpn=uuid.uuid4().hex[:16].upper(),
        method="va_bri",
        provider="sandbox",
    )
    payment = Payment.objects.create(
        bill=bill,
        amount=950_000,
        method="va_bri",
        ntpn=bill.ntpn,
        paid_at=now,
        provider="sandbox",
        provider_reference=f"SBX-{tag}",
    )
    Refund.objects.create(
        payment=payment, amount=50_000, reason=f"Kelebihan bayar {tag}", recorded_by=officer
    )

    slots.slots_ensure(office)
    slot = Slot.objects.filter(office=office, purpose=Purpose.CONSULTATION).order_by("starts_at")[0]
    booking = Booking.objects.create(
        code=uuid.uuid4().hex[:8].upper(),
        citizen=citizen,
        office=office,
        purpose=Purpose.CONSULTATION,
        slot=slot,
        topic="passport",
        question=f"Pertanyaan {tag}",
        status=Booking.Status.ATTENDED,
    )
    WaitlistEntry.objects.create(
        office=office,
        purpose=Purpose.CONSULTATION,
        day=slot.day,
        citizen=citizen,
        topic="visa",
        status=WaitlistEntry.Status.LEFT,
    )
    PhoneVerification.objects.create(
        user=citizen,
        phone=citizen.phone,
        code_hash="f" * 64,
        expires_at=now + dt.timedelta(minutes=10),
    )
    notify(
        citizen,
        "payment.refunded",
        {"amount": 50_000, "reason": f"Kelebihan bayar {tag}", "reference": application.reference},
        channels=(Channel.PORTAL,),
    )
    return {
        "email": citizen.email,
        "nik": citizen.nik,
        "child_name": child.full_name,
        "child_nik": child_nik,
        "reference": application.reference,
        "billing_code": bill.code,
        "ntpn": bill.ntpn,
        "booking_code": booking.code,
        "question": booking.question,
        "phone": citizen.phone,
        "application": application,
    }
