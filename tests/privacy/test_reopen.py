"""An administrator reopens an account whose owner changed their mind within the grace
period (the deletion page promises it); an anonymised account cannot be reopened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import deletion
from audit.models import AuditEntry
from tests.factories import PASSWORD, StaffFactory
from tests.utils import messages_of

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


def reopen(client, user):
    return client.post(CHANGELIST, {"action": "reopen_account", "_selected_action": [user.pk]})


@pytest.fixture
def administrator(client):
    admin_user = StaffFactory(is_superuser=True, email="admin@example.id")
    client.force_login(admin_user)
    return admin_user


def test_a_closed_account_is_reopened_and_can_log_in_again(client, administrator, ani):
    deletion.account_deletion_request(user=ani)

    response = reopen(client, ani)

    assert response.status_code == 302
    ani.refresh_from_db()
    assert (ani.is_active, ani.deletion_requested_at) == (True, None)
    entry = AuditEntry.objects.get(action="account_reopened")
    assert (entry.actor, entry.object_id) == (administrator, str(ani.pk))
    login = Client().post(reverse("accounts:login"), {"username": ani.email, "password": PASSWORD})
    assert login.status_code == 302


def test_an_account_nobody_asked_to_close_is_left_alone(client, administrator, ani):
    response = reopen(client, ani)

    assert messages_of(response) == [
        f"#{ani.pk}: " + "Tidak ada permintaan penghapusan untuk akun ini."
    ]
    assert not AuditEntry.objects.filter(action="account_reopened").exists()


def test_an_anonymised_account_cannot_be_reopened(client, administrator, ani):
    deletion.account_deletion_request(user=ani)
    later = timezone.now() + dt.timedelta(days=deletion.grace_days() + 1)
    assert deletion.account_anonymise(user_id=ani.pk, now=later)

    reopen(client, ani)

    ani.refresh_from_db()
    assert ani.is_active is False
    assert not AuditEntry.objects.filter(action="account_reopened").exists()


def test_a_supervisor_has_no_reopen_action(client, ani):
    from offices import roles

    client.force_login(StaffFactory(email="sari@example.id", role=roles.SUPERVISOR))
    deletion.account_deletion_request(user=ani)

    reopen(client, ani)

    ani.refresh_from_db()
    assert ani.is_active is False
