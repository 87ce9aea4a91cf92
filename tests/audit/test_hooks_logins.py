"""Staff logins, logouts and failed logins are recorded with the address; nothing typed is
kept. Citizens' logins are not the audit trail's business (django-axes counts failures)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

from .conftest import ADDRESS, BROWSER, entries, only_entry

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
WRONG = "Salah-Sandi-2024"


def log_in(client, email, password=PASSWORD):
    return client.post(
        LOGIN,
        {"username": email, "password": password},
        REMOTE_ADDR=ADDRESS,
        HTTP_USER_AGENT=BROWSER,
    )


def test_a_staff_login_is_recorded_with_the_address_and_browser(client, budi):
    response = log_in(client, "budi@example.id")

    assert response.status_code == 302
    entry = only_entry("login")
    assert (entry.actor, entry.actor_role, entry.actor_email) == (budi, "officer", budi.email)
    assert (entry.ip, entry.user_agent, entry.office) == (ADDRESS, BROWSER, None)


def test_a_citizens_login_is_not_recorded(client, ani):
    assert log_in(client, "ani@example.id").status_code == 302

    assert not entries("login").exists()


def test_a_wrong_password_for_a_staff_account_is_recorded_without_what_was_typed(client, budi):
    response = log_in(client, "budi@example.id", WRONG)

    assert response.status_code == 200
    entry = only_entry("login_failed")
    assert (entry.actor, entry.actor_role, entry.ip) == (None, "anonymous", ADDRESS)
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(budi.pk))
    recorded = f"{entry.object_label} {entry.detail} {entry.actor_email}"
    assert WRONG not in recorded and "budi@example.id" not in recorded


@pytest.mark.parametrize("username", ["ani@example.id", "nobody@example.id", WRONG])
def test_failures_for_citizens_or_unknown_names_are_left_to_the_lockout(client, ani, username):
    assert log_in(client, username, WRONG).status_code == 200

    assert not entries("login_failed").exists()


def test_a_staff_logout_is_recorded(client, budi):
    client.force_login(budi)

    response = client.post(reverse("accounts:logout"), REMOTE_ADDR=ADDRESS)

    assert response.status_code == 302
    entry = only_entry("logout")
    assert (entry.actor, entry.ip) == (budi, ADDRESS)
