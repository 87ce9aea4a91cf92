"""Forgotten password: a one-hour link in the account's language, and no account enumeration."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UnverifiedUserFactory, UserFactory
from tests.utils import committed, in_language, link_in, page_text

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password_reset")
NEW_PASSWORD = "Sate-Padang-Malam-77"
SUBJECT = "Choose a new password for Imigrasi"


def ask_for_reset(client, email):
    with committed():
        return client.post(RESET, {"email": email})


def reset_link() -> str:
    assert len(mail.outbox) == 1
    return link_in(mail.outbox[0].body, "/akun/lupa-sandi/")


def choose_new_password(client, link, password=NEW_PASSWORD):
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    return client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"new_password1": password, "new_password2": password},
    )


def test_the_email_is_in_english_for_an_account_that_chose_english(client):
    UserFactory(email="tourist@example.id", preferred_language="en")

    ask_for_reset(client, "tourist@example.id")  # from an Indonesian page

    assert mail.outbox[0].subject == SUBJECT
    assert "Someone asked to reset the password" in mail.outbox[0].body


def test_the_email_is_in_indonesian_for_an_indonesian_account_even_from_an_english_page(
    english, ani
):
    ask_for_reset(english, "ani@example.id")

    indonesian = in_language("id", SUBJECT)
    assert indonesian != SUBJECT
    assert mail.outbox[0].subject == indonesian
    assert "Someone asked to reset the password" not in mail.outbox[0].body


def test_the_email_goes_to_the_account_address_with_a_link_in_text_and_html(client, ani):
    ask_for_reset(client, "ANI@example.id")

    message = mail.outbox[0]
    assert message.to == ["ani@example.id"]
    link = reset_link()
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert link in html


def test_the_reset_link_sets_a_new_password(client, ani):
    ask_for_reset(client, "ani@example.id")

    response = choose_new_password(client, reset_link())

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_complete")
    ani.refresh_from_db()
    assert ani.check_password(NEW_PASSWORD)
    assert not ani.check_password(PASSWORD)
    login = Client().post(
        reverse("accounts:login"), {"username": "ani@example.id", "password": NEW_PASSWORD}
    )
    assert login.status_code == 302


def test_the_reset_link_works_only_once(client, ani):
    ask_for_reset(client, "ani@example.id")
    link = reset_link()
    choose_new_password(client, link)

    again = Client().get(link, follow=True)

    assert again.status_code == 200
    assert again.context["validlink"] is False


def test_an_expired_reset_link_is_refused(client, ani, settings):
    start = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        ask_for_reset(client, "ani@example.id")
    link = reset_link()

    with time_machine.travel(
        start + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1), tick=False
    ):
        response = Client().get(link, follow=True)

    assert response.context["validlink"] is False


def test_the_new_password_must_pass_the_password_rules(client, ani):
    ask_for_reset(client, "ani@example.id")

    response = choose_new_password(client, reset_link(), password="paspor123")

    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    ani.refresh_from_db()
    assert ani.check_password(PASSWORD)


def test_resetting_the_password_proves_the_mailbox_and_verifies_the_address(client):
    newcomer = UnverifiedUserFactory(email="baru@example.id")
    ask_for_reset(client, "baru@example.id")

    choose_new_password(client, reset_link())

    newcomer.refresh_from_db()
    assert newcomer.is_email_verified


def test_merely_asking_for_a_reset_does_not_verify_the_address(client):
    newcomer = UnverifiedUserFactory(email="baru@example.id")

    ask_for_reset(client, "baru@example.id")

    newcomer.refresh_from_db()
    assert not newcomer.is_email_verified


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, ani):
    known = ask_for_reset(client, "ani@example.id")
    mail.outbox.clear()

    unknown = ask_for_reset(Client(), "tidak.ada@example.id")

    assert mail.outbox == []
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == reverse("accounts:password_reset_done")


def test_the_done_page_does_not_say_whether_the_address_exists(client):
    response = client.get(reverse("accounts:password_reset_done"))

    assert response.status_code == 200
    assert "ani@example.id" not in page_text(response)


def test_a_deactivated_account_gets_no_reset_email(client):
    UserFactory(email="lama@example.id", is_active=False)

    response = ask_for_reset(client, "lama@example.id")

    assert response.status_code == 302
    assert mail.outbox == []
    assert User.objects.filter(email="lama@example.id").exists()


def test_the_email_states_the_configured_link_lifetime(client, settings):
    settings.PASSWORD_RESET_TIMEOUT = 2 * 3600
    UserFactory(email="tourist@example.id", preferred_language="en")

    ask_for_reset(client, "tourist@example.id")

    assert "one hour" not in mail.outbox[0].body
    assert "2 hours" in mail.outbox[0].body
