"""Changing the email address: current password, a link to the new address, change on click."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import User
from tests.factories import PASSWORD
from tests.utils import committed, link_in, page_text

pytestmark = pytest.mark.django_db

CHANGE = reverse("accounts:email_change")
NEW = "ani.baru@example.id"


def ask_to_change(client, new_email=NEW, password=PASSWORD):
    with committed():
        return client.post(CHANGE, {"new_email": new_email, "password": password})


def verification_link() -> str:
    assert len(mail.outbox) == 1
    return link_in(mail.outbox[0].body, "/akun/verifikasi/")


@pytest.fixture
def logged_in(client, ani):
    client.force_login(ani)
    return client


def test_an_anonymous_visitor_is_sent_to_login(client):
    response = client.get(CHANGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_sends_a_link_to_the_new_address_and_keeps_the_old_one_until_then(logged_in, ani):
    response = ask_to_change(logged_in)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert mail.outbox[0].to == [NEW]
    ani.refresh_from_db()
    assert ani.email == "ani@example.id"


def test_the_address_changes_when_the_link_is_opened(logged_in, ani):
    ask_to_change(logged_in)

    response = Client().get(verification_link())  # e.g. opened on a phone

    assert response.status_code == 302
    ani.refresh_from_db()
    assert ani.email == NEW
    assert ani.is_email_verified


def test_after_the_change_the_new_address_logs_in_and_the_old_one_does_not(logged_in, ani):
    ask_to_change(logged_in)
    Client().get(verification_link())

    old = Client().post(
        reverse("accounts:login"), {"username": "ani@example.id", "password": PASSWORD}
    )
    new = Client().post(reverse("accounts:login"), {"username": NEW, "password": PASSWORD})

    assert old.status_code == 200
    assert new.status_code == 302


def test_the_new_address_is_stored_in_lower_case(logged_in, ani):
    ask_to_change(logged_in, new_email="Ani.Baru@Example.ID")

    assert mail.outbox[0].to == [NEW]
    Client().get(verification_link())
    ani.refresh_from_db()
    assert ani.email == NEW


def test_it_needs_the_current_password(logged_in, ani):
    response = ask_to_change(logged_in, password="Salah-Sandi-2024")

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["password"]
    assert mail.outbox == []


def test_the_form_keeps_the_new_address_but_not_the_password(logged_in):
    response = ask_to_change(logged_in, password="Salah-Sandi-2024")

    text = page_text(response)
    assert f'value="{NEW}"' in text
    assert "Salah-Sandi-2024" not in text


@pytest.mark.parametrize("taken", ["eko@example.id", "EKO@Example.ID"])
def test_an_address_used_by_another_account_is_refused(logged_in, ani, eko, taken):
    response = ask_to_change(logged_in, new_email=taken)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["new_email"]
    assert mail.outbox == []
    ani.refresh_from_db()
    assert ani.email == "ani@example.id"


def test_the_current_address_is_refused(logged_in):
    response = ask_to_change(logged_in, new_email="ANI@example.id")

    assert list(response.context["form"].errors) == ["new_email"]
    assert mail.outbox == []


def test_a_link_for_an_address_someone_else_took_meanwhile_changes_nothing(logged_in, ani):
    ask_to_change(logged_in)
    link = verification_link()
    User.objects.create_user(NEW, PASSWORD, full_name="Penyerobot")

    response = Client().get(link)

    assert response.status_code == 400
    ani.refresh_from_db()
    assert ani.email == "ani@example.id"


def test_an_old_verification_link_does_not_undo_a_completed_change(logged_in, ani):
    old_link = reverse(
        "accounts:verify_email",
        args=[services.make_verification_token(ani, email="ani@example.id")],
    )
    ask_to_change(logged_in)
    Client().get(verification_link())

    Client().get(old_link)

    ani.refresh_from_db()
    assert ani.email == NEW
