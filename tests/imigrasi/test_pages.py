"""Public pages: both languages, accessible skeleton, vendored assets, strict security headers."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.utils import html_lang

pytestmark = pytest.mark.django_db

PAGES = ["home", "privacy", "accounts:register", "accounts:login"]
LANGUAGES = ["id", "en"]


class PageParts(HTMLParser):
    """The tags a test needs: scripts, stylesheets, inputs, labels, inline styles/handlers."""

    def __init__(self):
        super().__init__()
        self.scripts: list[dict] = []
        self.stylesheets: list[str] = []
        self.inputs: list[dict] = []
        self.label_targets: set[str] = set()
        self.inline_handlers: list[str] = []
        self.inline_styles: list[str] = []
        self._in_script = False
        self.inline_script_text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name.startswith("on"):
                self.inline_handlers.append(f"<{tag} {name}>")
            if name == "style":
                self.inline_styles.append(f"<{tag} style>")
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = "src" not in attributes
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or ""):
            self.stylesheets.append(attributes.get("href") or "")
        elif tag in ("input", "select", "textarea"):
            self.inputs.append({"tag": tag, **attributes})
        elif tag == "label" and attributes.get("for"):
            self.label_targets.add(attributes["for"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_script_text += data


def visit(client, name, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse(name))
    parts = PageParts()
    parts.feed(response.content.decode())
    return response, parts


def is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_renders_in_both_languages(client, name, language):
    response, _ = visit(client, name, language)

    assert response.status_code == 200
    assert html_lang(response) == language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_has_a_skip_link_a_main_landmark_and_the_language_switch(client, name, language):
    response, _ = visit(client, name, language)

    page = response.content.decode()
    assert 'class="skip-link' in page
    assert 'href="#main"' in page
    assert '<main id="main"' in page
    assert f'action="{reverse("set_language")}"' in page


@pytest.mark.parametrize("name", PAGES)
def test_scripts_and_styles_are_served_from_this_site(client, name):
    _, parts = visit(client, name, "id")

    sources = [script.get("src", "") for script in parts.scripts] + parts.stylesheets
    assert sources, "expected the vendored Bootstrap and htmx"
    for url in sources:
        assert not is_external(url), url
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not vendored in static/"


@pytest.mark.parametrize("name", PAGES)
def test_nothing_inline_would_be_blocked_by_the_csp(client, name):
    _, parts = visit(client, name, "id")

    assert all("src" in script for script in parts.scripts)
    assert parts.inline_script_text.strip() == ""
    assert parts.inline_handlers == []
    assert parts.inline_styles == []


@pytest.mark.parametrize("name", ["accounts:register", "accounts:login"])
def test_every_form_field_has_a_label(client, name):
    _, parts = visit(client, name, "id")

    fields = [
        field for field in parts.inputs if field.get("type") not in ("hidden", "submit", "button")
    ]
    assert fields
    for field in fields:
        assert field.get("id") in parts.label_targets, field


@pytest.mark.parametrize("name", PAGES)
def test_the_content_security_policy_allows_only_this_site(client, name):
    response, _ = visit(client, name, "id")

    directives = {
        directive.split()[0]: directive.split()[1:]
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    }
    assert directives["script-src"] == ["'self'"]  # no nonce, no unsafe-inline
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "nonce-" not in response["Content-Security-Policy"]


def test_the_other_security_headers_are_set(client):
    response = client.get(reverse("home"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("name", ["home", "privacy"])
def test_public_pages_answer_only_get(client, name):
    assert client.post(reverse(name)).status_code == 405


def test_the_home_page_offers_registration_and_login_to_visitors(client):
    page = client.get(reverse("home")).content.decode()

    assert f'href="{reverse("accounts:register")}"' in page
    assert f'href="{reverse("accounts:login")}"' in page


def test_the_home_page_lists_the_offices_with_their_hours(client, office_a):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("home")).content.decode()

    assert "Kantor Imigrasi Lampung Tengah" in page
    assert "Monday–Thursday 08.00–16.00; Friday 08.00–16.30 WIB" in page


def test_the_registration_page_links_the_privacy_notice(client):
    page = client.get(reverse("accounts:register")).content.decode()

    assert f'href="{reverse("privacy")}"' in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unknown_address_gets_the_portals_404_page(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = client.get("/tidak-ada/")

    assert response.status_code == 404
    assert html_lang(response) == language
    assert '<main id="main"' in response.content.decode()
