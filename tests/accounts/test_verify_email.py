"""The email verification link: valid, expired, tampered, used twice; asking for a new one."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import User
from tests.factories import UnverifiedUserFactory
from tests.utils import committed, in_language, link_in, messages_of, page_text

pytestmark = pytest.mark.django_db

RESEND = reverse("accounts:resend_verification")
START = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)


def link_for(user: User, **kwargs) -> str:
    return reverse("accounts:verify_email", args=[services.make_verification_token(user, **kwargs)])


@pytest.fixture
def newcomer():
    return UnverifiedUserFactory(email="baru@example.id")


def assert_offers_a_new_link(response):
    text = page_text(response)
    assert f'action="{RESEND}"' in text
    assert 'name="email"' in text


def test_a_valid_link_verifies_the_address_and_sends_to_login(client, newcomer):
    response = client.get(link_for(newcomer))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    newcomer.refresh_from_db()
    assert newcomer.is_email_verified
    assert messages_of(response) == [
        in_language("id", "Your email address is verified. You can log in now.")
    ]


def test_a_valid_link_opened_while_logged_in_sends_to_the_profile(client, newcomer):
    client.force_login(newcomer)

    response = client.get(link_for(newcomer))

    assert response["Location"] == reverse("accounts:profile")
    newcomer.refresh_from_db()
    assert newcomer.is_email_verified


def test_the_link_in_the_email_is_the_one_that_works(client, newcomer):
    with committed():
        services.send_verification_email(user_id=newcomer.pk)

    response = client.get(link_in(mail.outbox[0].body, "/akun/verifikasi/"))

    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.is_email_verified


def test_the_email_says_how_long_the_link_is_valid(newcomer):
    newcomer.preferred_language = "en"
    newcomer.save()

    with committed():
        services.send_verification_email(user_id=newcomer.pk)

    assert "valid for 48 hours" in mail.outbox[0].body


def test_a_link_still_works_just_before_it_expires(client, newcomer, settings):
    with time_machine.travel(START, tick=False):
        link = link_for(newcomer)
    with time_machine.travel(
        START + dt.timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE - 1), tick=False
    ):
        response = client.get(link)

    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.is_email_verified


def test_an_expired_link_answers_410_and_offers_a_new_one(client, newcomer, settings):
    with time_machine.travel(START, tick=False):
        link = link_for(newcomer)
    with time_machine.travel(
        START + dt.timedelta(seconds=settings.EMAIL_VERIFICATION_MAX_AGE + 1), tick=False
    ):
        response = client.get(link)

    assert response.status_code == 410
    assert response.context["expired"] is True
    assert_offers_a_new_link(response)
    newcomer.refresh_from_db()
    assert not newcomer.is_email_verified


def test_a_shorter_max_age_setting_is_respected(client, newcomer, settings):
    settings.EMAIL_VERIFICATION_MAX_AGE = 60
    with time_machine.travel(START, tick=False):
        link = link_for(newcomer)
    with time_machine.travel(START + dt.timedelta(seconds=61), tick=False):
        response = client.get(link)

    assert response.status_code == 410


def _tampered(link: str) -> str:
    token = link.rstrip("/").rsplit("/", 1)[1]
    position = len(token) // 2
    replacement = "A" if token[position] != "A" else "B"
    changed = token[:position] + replacement + token[position + 1 :]
    return reverse("accounts:verify_email", args=[changed])


@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_tampered_link_answers_400_and_offers_a_new_one(client, newcomer, where):
    link = link_for(newcomer)
    if where == "middle":
        bad = _tampered(link)
    else:
        token = link.rstrip("/").rsplit("/", 1)[1]
        bad = reverse(
            "accounts:verify_email", args=[token[:-1] + ("x" if token[-1] != "x" else "y")]
        )

    response = client.get(bad)

    assert response.status_code == 400
    assert response.context["expired"] is False
    assert_offers_a_new_link(response)
    newcomer.refresh_from_db()
    assert not newcomer.is_email_verified


def test_a_token_signed_for_another_purpose_is_refused(client, newcomer):
    token = signing.dumps({"u": newcomer.pk, "e": newcomer.email})  # no verification salt

    response = client.get(reverse("accounts:verify_email", args=[token]))

    assert response.status_code == 400
    newcomer.refresh_from_db()
    assert not newcomer.is_email_verified


def test_a_link_for_a_deactivated_account_is_refused(client, newcomer):
    link = link_for(newcomer)
    User.objects.filter(pk=newcomer.pk).update(is_active=False)

    response = client.get(link)

    assert response.status_code == 400
    assert not User.objects.get(pk=newcomer.pk).is_email_verified


def test_a_used_link_says_the_address_is_already_verified(client, newcomer):
    link = link_for(newcomer)
    client.get(link)
    verified_at = User.objects.get(pk=newcomer.pk).email_verified_at

    response = client.get(link)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert messages_of(response)[-1] == in_language(
        "id", "This email address was already verified. You can log in."
    )
    assert User.objects.get(pk=newcomer.pk).email_verified_at == verified_at


def test_the_already_verified_message_is_shown_on_the_login_page(english, newcomer):
    link = link_for(newcomer)
    english.get(link)

    page = english.get(link, follow=True)

    assert page.status_code == 200
    assert "This email address was already verified. You can log in." in page_text(page)


# --- Asking for a new link ---------------------------------------------------


def test_an_unverified_account_gets_a_new_link_that_works(client, newcomer):
    with committed():
        response = client.post(RESEND, {"email": "BARU@example.id"})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert [message.to for message in mail.outbox] == [["baru@example.id"]]
    client.get(link_in(mail.outbox[0].body, "/akun/verifikasi/"))
    newcomer.refresh_from_db()
    assert newcomer.is_email_verified


@pytest.mark.parametrize("address", ["tidak.ada@example.id", "ani@example.id"])
def test_unknown_or_verified_addresses_get_no_email_and_the_same_answer(
    client, ani, newcomer, address
):
    with committed():
        known = client.post(RESEND, {"email": "baru@example.id"})
    mail.outbox.clear()

    with committed():
        other = Client().post(RESEND, {"email": address})

    assert mail.outbox == []
    assert (other.status_code, other["Location"]) == (known.status_code, known["Location"])
    assert messages_of(other) == messages_of(known)


def test_the_resend_page_renders_for_anyone(client):
    response = client.get(RESEND)

    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_the_resend_form_refuses_something_that_is_not_an_address(client):
    with committed():
        response = client.post(RESEND, {"email": "bukan alamat"})

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert mail.outbox == []
