"""Two-step verification events: set up, wrong codes by staff, turned off, reset by an
administrator for a lost phone (devices gone, every session ended, next login sets up again)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import StaffFactory
from tests.utils import login_unverified

from .conftest import entries, only_entry

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def landing(client, url: str) -> str:
    """The path a visitor ends up on after the redirects."""
    return client.get(url, follow=True).request["PATH_INFO"]


def test_setting_up_ends_the_accounts_other_sessions_and_is_recorded(client, budi):
    elsewhere = Client()
    login_unverified(elsewhere, budi)
    login_unverified(client, budi)
    assert client.get(reverse("accounts:two_factor_setup")).status_code == 200
    device = TOTPDevice.objects.get(user=budi, confirmed=False)

    response = client.post(reverse("accounts:two_factor_setup"), {"token": current_code(device)})

    assert response.status_code == 200  # the backup codes, shown once
    entry = only_entry("two_factor_enrolled")
    assert (entry.actor, entry.object_id) == (budi, str(budi.pk))
    # This browser carries on; the other one is back at the login page.
    assert client.get(reverse("accounts:security")).status_code == 200
    assert elsewhere.get(reverse("accounts:security")).url.startswith(reverse("accounts:login"))


def test_a_wrong_code_from_staff_is_recorded_without_the_code(client, budi):
    device = TOTPDevice.objects.create(user=budi, name="hp", confirmed=True)
    login_unverified(client, budi)

    response = client.post(reverse("accounts:two_factor_verify"), {"token": "000000"})

    assert response.status_code == 400
    entry = only_entry("two_factor_failed")
    assert entry.actor == budi
    assert "000000" not in str(entry.detail) + entry.object_label
    assert current_code(device) not in str(entry.detail)


def test_an_administrator_resets_a_lost_phone(client, budi):
    TOTPDevice.objects.create(user=budi, name="hp", confirmed=True)
    StaticDevice.objects.create(user=budi, name="backup", confirmed=True)
    budi_browser = Client()
    budi_browser.force_login(budi)  # verified with the lost phone
    admin_user = StaffFactory(is_superuser=True, email="admin@example.id")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [budi.pk]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=budi).exists()
    assert not StaticDevice.objects.filter(user=budi).exists()
    assert landing(budi_browser, "/admin/") == reverse("accounts:login")
    entry = only_entry("two_factor_reset")
    assert (entry.actor, entry.object_id) == (admin_user, str(budi.pk))
    # After a fresh password login, the next stop is setting up a new device.
    login_unverified(budi_browser, budi)
    assert landing(budi_browser, "/admin/") == reverse("accounts:two_factor_setup")


def test_only_superusers_have_the_reset_action(client, sari):
    client.force_login(sari)

    response = client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code in (200, 403)
    assert b"reset_two_factor" not in response.content
    assert not entries("two_factor_reset").exists()
