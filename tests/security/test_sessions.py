"""Sessions (TRUST.md, "Identity and sessions"; ASVS v5.0.0-7.2.4, 7.3.1, 7.3.2, 7.4.1, 3.3.1).

A new key at login and again after the second factor; logout ends the
session on the server, so a copied cookie is worthless; idle timeouts of 30
minutes for citizens and 15 for staff, and an absolute lifetime whatever
the activity; htmx requests are told to navigate; cookie flags, and the
`__Host-` names with `Secure` under production settings.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from tests.imigrasi.test_settings_deploy import production_env, production_settings  # noqa: F401
from tests.utils import in_language, login_unverified, messages_of

from .conftest import current_code, enrol, password_login

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
PROFILE = reverse("accounts:profile")
LOGGED_OUT_IDLE = "You were logged out because the page was left unused. Please log in again."
MINUTE = 60


def session_key(client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def session_exists(key: str) -> bool:
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    return store().exists(key) and bool(store(session_key=key).load())


def is_sent_to_login(response) -> bool:
    return response.status_code == 302 and urlparse(response["Location"]).path == LOGIN


def replay(key: str) -> Client:
    """Another browser carrying a copied session cookie."""
    browser = Client()
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = key
    return browser


# --- Rotation and logout -------------------------------------------------------------------


def test_logging_in_gives_a_new_session_key_and_kills_the_old_one(client, citizen):
    anonymous = client.session
    anonymous["seen_notice"] = True
    anonymous.save()
    before = session_key(client)

    response = password_login(client, citizen)

    assert response.status_code == 302
    after = session_key(client)
    assert after != before
    assert not session_exists(before)
    # A key planted before login (session fixation) does not become a logged-in session.
    assert is_sent_to_login(replay(before).get(PROFILE))
    assert replay(after).get(PROFILE).status_code == 200


def test_passing_the_second_factor_gives_another_new_key(client, officer_a):
    device, _ = enrol(officer_a)
    password_login(client, officer_a)
    after_password = session_key(client)

    client.post(reverse("accounts:two_factor_verify"), {"token": current_code(device)})

    after_code = session_key(client)
    assert after_code != after_password
    assert not session_exists(after_password)
    assert replay(after_code).get(reverse("admin:index")).status_code == 200


def test_after_logout_the_old_cookie_is_worthless(client, citizen):
    password_login(client, citizen)
    key = session_key(client)

    client.post(reverse("accounts:logout"))

    assert not session_exists(key)
    assert is_sent_to_login(replay(key).get(PROFILE))


def test_after_a_staff_logout_the_old_cookie_does_not_open_the_console(client, officer_a):
    client.force_login(officer_a)
    key = session_key(client)
    assert client.get(reverse("admin:index")).status_code == 200

    client.post(reverse("accounts:logout"))

    response = replay(key).get(reverse("admin:index"), follow=True)
    assert response.request["PATH_INFO"] == LOGIN


# --- Idle timeout and absolute lifetime ---------------------------------------------------


def test_a_citizen_stays_logged_in_after_29_idle_minutes(client, citizen, frozen_clock):
    password_login(client, citizen)
    frozen_clock.shift(29 * MINUTE)

    assert client.get(PROFILE).status_code == 200


def test_a_citizen_is_logged_out_after_31_idle_minutes(client, citizen, frozen_clock):
    password_login(client, citizen)
    assert client.get(PROFILE).status_code == 200
    key = session_key(client)
    frozen_clock.shift(31 * MINUTE)

    response = client.get(PROFILE)

    assert is_sent_to_login(response)
    assert parse_qs(urlparse(response["Location"]).query)["next"] == [PROFILE]
    assert in_language("id", LOGGED_OUT_IDLE) in messages_of(response)
    assert not session_exists(key)


def test_activity_moves_the_idle_deadline(client, citizen, frozen_clock):
    password_login(client, citizen)
    for _ in range(4):
        frozen_clock.shift(20 * MINUTE)
        assert client.get(PROFILE).status_code == 200


def test_staff_stay_logged_in_after_14_idle_minutes(client, officer_a, frozen_clock):
    client.force_login(officer_a)
    frozen_clock.shift(14 * MINUTE)

    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_are_logged_out_after_16_idle_minutes(client, officer_a, frozen_clock):
    client.force_login(officer_a)
    assert client.get(reverse("admin:index")).status_code == 200
    key = session_key(client)
    frozen_clock.shift(16 * MINUTE)

    response = client.get(reverse("queueing:counters"))

    assert is_sent_to_login(response)
    assert not session_exists(key)


def test_a_staff_session_not_yet_verified_times_out_too(client, officer_a, frozen_clock):
    enrol(officer_a)
    login_unverified(client, officer_a)
    frozen_clock.shift(16 * MINUTE)

    assert is_sent_to_login(client.get(reverse("accounts:two_factor_verify")))


def test_every_session_ends_after_its_absolute_lifetime_however_busy(
    client, citizen, frozen_clock, settings
):
    lifetime = settings.SESSION_COOKIE_AGE
    assert lifetime == 12 * 3600
    password_login(client, citizen)
    elapsed = 0

    while elapsed + 25 * MINUTE <= lifetime:
        frozen_clock.shift(25 * MINUTE)
        elapsed += 25 * MINUTE
        assert client.get(PROFILE).status_code == 200, f"logged out after {elapsed} s"
    frozen_clock.shift(lifetime - elapsed + MINUTE)

    assert is_sent_to_login(client.get(PROFILE))


def test_an_htmx_request_after_expiry_is_told_to_navigate_to_the_login_page(
    client, citizen, frozen_clock
):
    password_login(client, citizen)
    frozen_clock.shift(31 * MINUTE)

    response = client.get(reverse("notifications:list"), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == LOGIN
    assert response.content == b""


# --- Cookie flags ----------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(client, citizen):
    response = password_login(client, citizen)

    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["domain"] == ""
    assert cookie["path"] == "/"


def test_production_cookie_settings_meet_the_host_prefix_rules(
    production_env,  # noqa: F811 (the imported fixture)
):
    names = [
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "SESSION_COOKIE_DOMAIN",
        "SESSION_COOKIE_PATH",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_SAMESITE",
        "CSRF_COOKIE_DOMAIN",
        "CSRF_COOKIE_PATH",
        "LANGUAGE_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
    ]

    values = production_settings(production_env, *names)

    # __Host- cookies: Secure, Path=/ and no Domain, or browsers refuse them.
    for kind in ("SESSION", "CSRF"):
        assert values[f"{kind}_COOKIE_NAME"].startswith("__Host-")
        assert values[f"{kind}_COOKIE_SECURE"] is True
        assert values[f"{kind}_COOKIE_DOMAIN"] is None
        assert values[f"{kind}_COOKIE_PATH"] == "/"
        assert values[f"{kind}_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["LANGUAGE_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_a_login_over_https_with_production_cookie_settings_sets_a_host_cookie(settings, citizen):
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    browser = Client()
    browser.get(LOGIN, secure=True)

    response = password_login(browser, citizen, secure=True)

    header = response.cookies["__Host-sessionid"].output()
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "Path=/" in header
    assert "SameSite=Lax" in header
    assert "Domain" not in header
    assert "__Host-csrftoken" in browser.cookies
    assert "sessionid" not in response.cookies
