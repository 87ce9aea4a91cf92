"""Security suite fixtures: the people of two offices, a citizen's application with its
files, and helpers for passwords, second factors and the clock.

People: `citizen` (ani) and `stranger` (eko); `officer_a` (budi) and `supervisor_a`
(sari, office A only); `officer_b` (citra, office B); `superuser`. Staff fixtures
are plain accounts: `client.force_login(staff)` also verifies a device
(tests/conftest.py), `tests.utils.login_unverified` does not.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from applications import services as application_services
from applications.models import Application, Document, Receipt
from offices import roles
from payments import services as payment_services
from payments.models import Bill, PaymentReceipt
from tests.applications.conftest import (  # noqa: F401 (fixtures shared with applications)
    _private_files,
    complete_draft,
    draft,
    passport_service,
    submitted,
)
from tests.factories import PASSWORD, StaffFactory, UserFactory

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
# A fixed moment, in the middle of a rate-limit hour: counting windows never roll over mid-test.
MOMENT = dt.datetime(2031, 3, 4, 10, 20, tzinfo=WIB)
# The smallest file the PDF downloads need: the views send bytes, they do not parse them.
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- People -------------------------------------------------------------------------


@pytest.fixture
def citizen(ani):
    """A verified citizen (ani) with no second factor."""
    return ani


@pytest.fixture
def stranger(eko):
    """Another citizen, with no business with the citizen's data."""
    return eko


@pytest.fixture
def officer_a(budi):
    """An officer (Petugas) of office A."""
    return budi


@pytest.fixture
def supervisor_a(office_a):
    """A supervisor of office A only."""
    return StaffFactory(
        email="sari@example.id",
        full_name="Sari Wulandari",
        role=roles.SUPERVISOR,
        offices=[office_a],
    )


@pytest.fixture
def officer_b(citra):
    """An officer (Petugas) of office B."""
    return citra


@pytest.fixture
def superuser(db):
    return StaffFactory(is_superuser=True, email="root@example.id", full_name="Admin Pusat")


# --- A citizen's things -----------------------------------------------------------


@pytest.fixture
def application(submitted) -> Application:  # noqa: F811 (the imported fixture)
    """The citizen's electronic passport application at office A, sent, documents attached."""
    return submitted


@pytest.fixture
def application_b(office_b, passport_service, tasks_inline) -> Application:  # noqa: F811
    """Another citizen's application at office B, sent."""
    someone = UserFactory(full_name="Rudi Hartono")
    other = complete_draft(someone, office_b, passport_service)
    application_services.application_submit(application=other, by=someone, declaration=True)
    return other


@pytest.fixture
def document(application) -> Document:
    return application.documents.order_by("pk").first()


@pytest.fixture
def application_receipt(application) -> Receipt:
    """The application's receipt (tanda terima) row with a stored PDF (not rendered)."""
    return Receipt.objects.create(
        application=application,
        file=ContentFile(TINY_PDF, name=f"receipts/{application.reference}.pdf"),
        sha256="0" * 64,
    )


@pytest.fixture
def bill(application) -> Bill:
    """The application's bill, issued (the application now awaits payment)."""
    issued = payment_services.bill_issue(application_id=application.pk)
    application.refresh_from_db()
    return issued


@pytest.fixture
def payment_receipt(bill) -> PaymentReceipt:
    """A payment receipt (bukti pembayaran) row with a stored PDF (not rendered)."""
    return PaymentReceipt.objects.create(
        bill=bill,
        file=ContentFile(TINY_PDF, name=f"payment-receipts/{bill.code}.pdf"),
        sha256="0" * 64,
    )


# --- Passwords, second factors, the clock ------------------------------------------


def password_login(client, user, password: str = PASSWORD, **extra):
    """Log in through the login form, as a browser does (axes, rate limit, signals)."""
    return client.post(
        reverse("accounts:login"), {"username": user.email, "password": password}, **extra
    )


def current_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or `steps_ahead` periods later)."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return f"{value:0{device.digits}d}"


def enrol(user, *, backup_codes: int = 3) -> tuple[TOTPDevice, list[str]]:
    """Give `user` a confirmed authenticator app and some backup codes (as after set-up)."""
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(backup_codes)]
    for code in codes:
        static.token_set.create(token=code)
    return device, codes


@pytest.fixture
def frozen_clock():
    """The clock stands still at MOMENT; move it with `frozen_clock.shift(seconds)`.

    Log in after this fixture has started: a session opened earlier would look
    idle for years.
    """
    with time_machine.travel(MOMENT, tick=False) as traveller:
        yield traveller
