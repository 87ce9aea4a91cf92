"""Logging in with email and password; unverified addresses are turned away with a way out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UnverifiedUserFactory, UserFactory
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def log_in(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_a_verified_citizen_logs_in_and_lands_on_the_profile(client, ani):
    response = log_in(client, "ani@example.id")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert logged_in_user_id(client) == str(ani.pk)


def test_the_email_address_is_not_case_sensitive(client, ani):
    response = log_in(client, "ANI@Example.id")

    assert response.status_code == 302
    assert logged_in_user_id(client) == str(ani.pk)


def test_a_wrong_password_is_refused(client, ani):
    response = log_in(client, "ani@example.id", "Salah-Sandi-2024")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert logged_in_user_id(client) is None


def test_an_unknown_address_gets_the_same_refusal_as_a_wrong_password(client, ani):
    wrong_password = log_in(client, "ani@example.id", "Salah-Sandi-2024")
    unknown = log_in(client, "siapa@example.id")

    assert unknown.status_code == 200
    assert (
        unknown.context["form"].non_field_errors()
        == wrong_password.context["form"].non_field_errors()
    )


def test_an_unverified_account_cannot_log_in_and_is_offered_a_new_link(client):
    UnverifiedUserFactory(email="baru@example.id")

    response = log_in(client, "baru@example.id")

    assert response.status_code == 200
    assert logged_in_user_id(client) is None
    assert [error.code for error in response.context["form"].errors.as_data()["__all__"]] == [
        "unverified"
    ]
    assert f'href="{reverse("accounts:resend_verification")}"' in response.content.decode()


def test_the_unverified_message_is_clear_in_english(english):
    UnverifiedUserFactory(email="baru@example.id")

    response = log_in(english, "baru@example.id")

    assert "Your email address is not verified yet." in page_text(response)
    assert "send a new verification link" in page_text(response)


def test_the_unverified_message_is_in_indonesian_by_default(client):
    UnverifiedUserFactory(email="baru@example.id")

    response = log_in(client, "baru@example.id")

    indonesian = in_language(
        "id",
        "Your email address is not verified yet. Open the link we sent you, "
        'or <a href="{url}">send a new verification link</a>.',
    ).format(url=reverse("accounts:resend_verification"))
    assert not indonesian.startswith("Your email")  # really translated
    assert indonesian in response.content.decode()


def test_an_unverified_account_with_a_wrong_password_learns_nothing_about_verification(client):
    UnverifiedUserFactory(email="baru@example.id")

    response = log_in(client, "baru@example.id", "Salah-Sandi-2024")

    codes = [error.code for error in response.context["form"].errors.as_data()["__all__"]]
    assert codes == ["invalid_login"]


def test_a_deactivated_account_cannot_log_in(client):
    UserFactory(email="lama@example.id", is_active=False)

    response = log_in(client, "lama@example.id")

    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_it_follows_a_next_address_on_this_site(client, ani):
    response = log_in(client, "ani@example.id", next=reverse("accounts:email_change"))

    assert response["Location"] == reverse("accounts:email_change")


def test_it_ignores_a_next_address_on_another_site(client, ani):
    response = log_in(client, "ani@example.id", next="https://phishing.example.com/")

    assert response["Location"] == reverse("accounts:profile")


def test_a_logged_in_visitor_is_sent_on_from_the_login_page(client, ani):
    client.force_login(ani)

    response = client.get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
