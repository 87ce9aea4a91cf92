"""Language choice: Indonesian by default, English on request, remembered on the account."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.utils import html_lang, in_language, page_text

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")
HOME = reverse("home")
HEADING = "Immigration services without the long queue"


def switch(client, language, next_url=HOME):
    return client.post(SWITCH, {"language": language, "next": next_url})


def test_pages_are_in_indonesian_when_the_visitor_chose_nothing(client):
    page = client.get(HOME)

    indonesian = in_language("id", HEADING)
    assert indonesian != HEADING
    assert html_lang(page) == "id"
    assert indonesian in page_text(page)
    assert HEADING not in page_text(page)
    assert page["Content-Language"] == "id"


def test_a_browser_that_asks_for_english_still_gets_indonesian_until_the_visitor_chooses(client):
    page = client.get(HOME, headers={"accept-language": "en-US,en;q=0.9"})

    assert html_lang(page) == "id"


def test_switching_to_english_sets_the_cookie_and_goes_back(client, settings):
    response = switch(client, "en", next_url=reverse("privacy"))

    assert response.status_code == 302
    assert response["Location"] == reverse("privacy")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_after_switching_to_english_pages_are_in_english(client):
    switch(client, "en")

    page = client.get(HOME)

    assert html_lang(page) == "en"
    assert HEADING in page_text(page)
    assert page["Content-Language"] == "en"


def test_switching_back_to_indonesian(client):
    switch(client, "en")
    switch(client, "id")

    assert html_lang(client.get(HOME)) == "id"


def test_an_unknown_language_never_reaches_the_page(client):
    switch(client, "fr")  # Django ships French, the portal does not offer it

    assert html_lang(client.get(HOME)) == "id"


def test_the_switch_only_accepts_post(client, settings):
    response = client.get(SWITCH, {"language": "en"})

    assert response.status_code == 405
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_the_switch_never_redirects_to_another_site(client):
    response = switch(client, "en", next_url="https://phishing.example.com/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_logged_in_citizens_choice_is_saved_on_the_account(client, ani):
    client.force_login(ani)

    switch(client, "en")

    ani.refresh_from_db()
    assert ani.preferred_language == "en"


def test_the_saved_language_applies_on_later_requests_without_the_cookie(client, ani, settings):
    client.force_login(ani)
    switch(client, "en")
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]

    assert html_lang(client.get(HOME)) == "en"

    other_device = Client()
    other_device.force_login(ani)
    assert html_lang(other_device.get(HOME)) == "en"


def test_the_saved_language_wins_over_a_cookie_left_from_before(client, ani, settings):
    ani.preferred_language = "en"
    ani.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    client.force_login(ani)

    assert html_lang(client.get(HOME)) == "en"


def test_an_unknown_language_is_not_saved_on_the_account(client, ani):
    client.force_login(ani)

    switch(client, "fr")

    ani.refresh_from_db()
    assert ani.preferred_language == "id"


def test_an_anonymous_switch_changes_no_account(client, ani):
    switch(client, "en")

    ani.refresh_from_db()
    assert ani.preferred_language == "id"


def test_every_page_has_a_switch_button_for_each_language(client):
    page = client.get(HOME).content.decode()

    assert f'action="{SWITCH}"' in page
    assert 'name="language" value="id"' in page
    assert 'name="language" value="en"' in page


def test_pages_tell_shared_caches_that_they_vary_with_the_cookie(client):
    response = client.get(HOME)

    assert "Cookie" in response["Vary"]
