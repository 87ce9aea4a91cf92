"""Lockout and rate limits (TRUST.md, "Identity and sessions"; ASVS v5.0.0-6.3.1, 2.4.1).

django-axes locks one username from one address after 5 wrong passwords for
30 minutes, even against the right password; the client's address is the
right-most X-Forwarded-For hop only behind a trusted proxy. Every rate-limit
scope in settings.RATE_LIMITS answers the friendly 429 page in Indonesian
with Retry-After once over its limit, and lets requests under it through.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from imigrasi import ratelimit
from tests.factories import PASSWORD
from tests.utils import html_lang, in_language, page_text

from .conftest import enrol, password_login

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
PROFILE = reverse("accounts:profile")
WRONG = "Bukan-Sandi-Saya-99"
LOCKED_TITLE = "Login temporarily blocked"
HOME = "198.51.100.10"
ELSEWHERE = "203.0.113.20"


def fail(client, user, times: int, *, address: str = HOME, username: str | None = None, **extra):
    for _ in range(times):
        client.post(
            LOGIN,
            {"username": username or user.email, "password": WRONG},
            REMOTE_ADDR=address,
            **extra,
        )


def is_locked_out(response) -> bool:
    return (
        response.status_code == 429
        and in_language("id", LOCKED_TITLE) in page_text(response)
        and response["Retry-After"] == str(30 * 60)
    )


def is_logged_in(response) -> bool:
    return response.status_code == 302 and urlparse(response["Location"]).path == PROFILE


# --- Lockout ---------------------------------------------------------------------------


def test_the_lockout_is_configured_as_trust_md_says(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True


def test_four_wrong_passwords_still_let_the_right_one_in(client, citizen):
    fail(client, citizen, 4)

    assert is_logged_in(password_login(client, citizen, REMOTE_ADDR=HOME))


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, citizen):
    fail(client, citizen, 5)

    response = password_login(client, citizen, REMOTE_ADDR=HOME)

    assert is_locked_out(response)
    assert html_lang(response) == "id"
    assert urlparse(client.get(PROFILE)["Location"]).path == LOGIN


def test_the_lockout_page_is_in_english_for_an_english_visitor(english, citizen):
    fail(english, citizen, 5)

    response = password_login(english, citizen, REMOTE_ADDR=HOME)

    assert response.status_code == 429
    assert LOCKED_TITLE in page_text(response)
    assert html_lang(response) == "en"


def test_the_lockout_is_per_address_the_owner_elsewhere_still_logs_in(client, citizen):
    fail(client, citizen, 5)

    assert is_logged_in(password_login(Client(), citizen, REMOTE_ADDR=ELSEWHERE))
    assert is_locked_out(password_login(Client(), citizen, REMOTE_ADDR=HOME))


def test_the_lockout_is_per_account_another_account_from_the_address_logs_in(
    client, citizen, stranger
):
    fail(client, citizen, 5)

    assert is_logged_in(password_login(Client(), stranger, REMOTE_ADDR=HOME))


def test_changing_the_case_of_the_email_does_not_escape_the_lockout(client, citizen):
    for variant in ("ANI@example.id", "Ani@example.id", "aNi@example.id"):
        fail(client, citizen, 2, username=variant)

    assert is_locked_out(password_login(client, citizen, REMOTE_ADDR=HOME))


def test_the_lockout_still_holds_after_29_minutes(client, citizen, frozen_clock):
    fail(client, citizen, 5)
    frozen_clock.shift(29 * 60)

    assert is_locked_out(password_login(client, citizen, REMOTE_ADDR=HOME))


def test_the_lockout_lifts_after_30_minutes(client, citizen, frozen_clock):
    fail(client, citizen, 5)
    frozen_clock.shift(31 * 60)

    assert is_logged_in(password_login(client, citizen, REMOTE_ADDR=HOME))


def test_a_successful_login_resets_the_count(client, citizen):
    fail(client, citizen, 4)
    assert is_logged_in(password_login(client, citizen, REMOTE_ADDR=HOME))
    client.post(reverse("accounts:logout"))

    fail(client, citizen, 4)

    assert is_logged_in(password_login(client, citizen, REMOTE_ADDR=HOME))


def test_staff_accounts_are_locked_out_too(client, officer_a):
    fail(client, officer_a, 5)

    assert is_locked_out(password_login(client, officer_a, REMOTE_ADDR=HOME))


def test_a_forged_forwarded_header_does_not_escape_the_lockout_without_a_proxy(
    client, citizen, settings
):
    settings.TRUSTED_PROXIES = 0
    for n in range(5):
        fail(client, citizen, 1, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = password_login(client, citizen, REMOTE_ADDR=HOME, HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert is_locked_out(response)


def test_behind_the_proxy_the_lockout_follows_the_address_the_proxy_saw(client, citizen, settings):
    settings.TRUSTED_PROXIES = 1
    proxy = "127.0.0.1"
    for n in range(5):
        # The client forges the left part; nginx appends the address it really saw.
        fail(client, citizen, 1, address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {HOME}")

    locked = password_login(
        Client(), citizen, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.77, {HOME}"
    )
    other = password_login(Client(), citizen, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)

    assert is_locked_out(locked)
    assert is_logged_in(other)


# --- The client's address ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # No trusted proxy: the header is whatever the client typed, ignored.
        (0, "198.51.100.10", "192.0.2.1", "198.51.100.10"),
        (0, "198.51.100.10", None, "198.51.100.10"),
        # One proxy: its own (right-most) entry, never what the client put left of it.
        (1, "127.0.0.1", "198.51.100.10", "198.51.100.10"),
        (1, "127.0.0.1", "192.0.2.1, 198.51.100.10", "198.51.100.10"),
        (1, "127.0.0.1", "192.0.2.1,198.51.100.10 ", "198.51.100.10"),
        (1, "127.0.0.1", "2001:db8::1", "2001:db8::1"),
        # Missing or garbage: the socket's address.
        (1, "127.0.0.1", None, "127.0.0.1"),
        (1, "127.0.0.1", "192.0.2.1, not-an-address", "127.0.0.1"),
        (1, "127.0.0.1", "", "127.0.0.1"),
        (0, "", None, "unknown"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded

    assert ratelimit.client_ip(RequestFactory().get("/", **extra)) == expected


def test_axes_gets_no_address_rather_than_unknown(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="")

    assert ratelimit.client_ip_or_none(request) is None


# --- Rate limits ------------------------------------------------------------------------


@dataclass
class Limited:
    """One rate-limited action: who does it, and the request (client -> response)."""

    scope: str
    per: str  # "ip" or "user"
    send: Callable[..., object]
    who: str | None = None  # fixture name of the logged-in person, None for anonymous


def _post(name, data=None, *, args=(), **extra):
    def send(client, ctx, address):
        url = reverse(name, args=[ctx[a] for a in args])
        return client.post(url, data or {}, REMOTE_ADDR=address, **extra)

    return send


def _csp(client, ctx, address):
    body = json.dumps({"csp-report": {"violated-directive": "script-src"}})
    return client.post(
        reverse("csp_report"), body, content_type="application/csp-report", REMOTE_ADDR=address
    )


LIMITED = [
    Limited("login", "ip", _post("accounts:login", {"username": "x@example.id", "password": "x"})),
    Limited("register", "ip", _post("accounts:register", {"email": "baru@example.id"})),
    Limited("password-reset", "ip", _post("accounts:password_reset", {"email": "x@example.id"})),
    Limited(
        "verification-resend", "ip", _post("accounts:resend_verification", {"email": "x@x.id"})
    ),
    Limited("phone-code-send", "ip", _post("accounts:phone_code_send"), who="citizen"),
    Limited("phone-code-check", "user", _post("accounts:phone_verify", {"code": "1"}), "citizen"),
    Limited("otp-verify", "user", _post("accounts:two_factor_verify", {"token": "0"}), "enrolled"),
    Limited("personal-data", "user", _post("accounts:my_data", {"format": "x"}), "citizen"),
    Limited("account-delete", "user", _post("accounts:delete_account"), "citizen"),
    Limited(
        "upload",
        "user",
        _post("applications:upload", args=("reference", "requirement_id")),
        "citizen",
    ),
    Limited("booking", "user", _post("queueing:book", args=("reference",)), "citizen"),
    Limited("csp-report", "ip", _csp),
]


# Counted inside the form, wrong passwords only (accounts.forms.CurrentPasswordMixin).
FORM_LEVEL = {"reauth"}


def test_every_configured_scope_is_tested_here(settings):
    assert {case.scope for case in LIMITED} | FORM_LEVEL == set(settings.RATE_LIMITS)


def test_wrong_passwords_when_confirming_are_limited_per_account(client, settings, citizen):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "reauth": (2, 900)}
    client.force_login(citizen)
    url = reverse("accounts:reauth")

    assert client.post(url, {"password": PASSWORD}).status_code == 302  # right ones don't count
    for _ in range(2):
        assert client.post(url, {"password": "salah-sekali-123"}).status_code == 200
    refused = client.post(url, {"password": PASSWORD})

    assert refused.status_code == 200
    assert in_language(
        "id", "Too many wrong passwords. Wait %(minutes)d minutes and try again."
    ) % {"minutes": 15} in page_text(refused)


@pytest.fixture
def enrolled(citizen):
    enrol(citizen)
    return citizen


@pytest.fixture
def ctx(document):
    return {"reference": document.application.reference, "requirement_id": document.requirement_id}


def _browser(request, who):
    client = Client()
    if who == "enrolled":
        from tests.utils import login_unverified

        login_unverified(client, request.getfixturevalue("enrolled"))
    elif who:
        client.force_login(request.getfixturevalue(who))
    return client


def assert_friendly_429(response, window: int):
    assert response.status_code == 429
    assert response["Retry-After"] == str(window)
    assert html_lang(response) == "id"
    page = page_text(response)
    title = in_language("id", "Too many attempts")
    assert title != "Too many attempts"
    assert title in page


@pytest.mark.parametrize("case", LIMITED, ids=lambda case: case.scope)
def test_over_the_limit_the_friendly_429_page_under_it_the_action(
    request, settings, frozen_clock, ctx, case
):
    window = settings.RATE_LIMITS[case.scope][1]
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, case.scope: (2, window)}
    client = _browser(request, case.who)

    under = [case.send(client, ctx, HOME) for _ in range(2)]
    over = case.send(client, ctx, HOME)

    assert [r.status_code for r in under if r.status_code == 429] == []
    assert_friendly_429(over, window)


@pytest.mark.parametrize("case", [c for c in LIMITED if c.per == "ip"], ids=lambda case: case.scope)
def test_a_per_address_limit_leaves_other_addresses_alone(
    request, settings, frozen_clock, ctx, case
):
    window = settings.RATE_LIMITS[case.scope][1]
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, case.scope: (2, window)}
    client = _browser(request, case.who)
    for _ in range(3):
        case.send(client, ctx, HOME)

    assert case.send(client, ctx, ELSEWHERE).status_code != 429


@pytest.mark.parametrize(
    "case", [c for c in LIMITED if c.per == "user"], ids=lambda case: case.scope
)
def test_a_per_account_limit_follows_the_account_not_the_address(
    request, settings, frozen_clock, ctx, case
):
    window = settings.RATE_LIMITS[case.scope][1]
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, case.scope: (2, window)}
    client = _browser(request, case.who)
    for n in range(2):
        case.send(client, ctx, f"192.0.2.{n}")

    assert case.send(client, ctx, ELSEWHERE).status_code == 429


def test_a_per_account_limit_does_not_block_others_behind_the_same_address(
    settings, frozen_clock, ctx, citizen, stranger
):
    """Many citizens share one mobile-carrier address: uploads are counted per account."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload": (2, 24 * 3600)}
    send = next(case.send for case in LIMITED if case.scope == "upload")
    first = Client()
    first.force_login(citizen)
    for _ in range(3):
        send(first, ctx, HOME)
    second = Client()
    second.force_login(stranger)

    # The stranger is refused the citizen's application (404), but not by the limit.
    assert send(second, ctx, HOME).status_code == 404


def test_the_limit_lifts_in_the_next_window(settings, frozen_clock, ctx):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password-reset": (2, 3600)}
    send = next(case.send for case in LIMITED if case.scope == "password-reset")
    client = Client()
    for _ in range(3):
        send(client, ctx, HOME)
    frozen_clock.shift(3600)

    assert send(client, ctx, HOME).status_code != 429


def test_the_public_status_check_is_limited_per_address(settings, frozen_clock):
    settings.STATUS_CHECK_LIMIT = 2
    client = Client()
    data = {"reference": "X-LTG-0000", "date_of_birth": "1990-05-12"}

    under = [client.post(reverse("status_check"), data, REMOTE_ADDR=HOME) for _ in range(2)]
    over = client.post(reverse("status_check"), data, REMOTE_ADDR=HOME)

    assert all(r.status_code == 200 for r in under)
    assert_friendly_429(over, settings.STATUS_CHECK_WINDOW_SECONDS)
    assert client.post(reverse("status_check"), data, REMOTE_ADDR=ELSEWHERE).status_code == 200


def test_get_requests_are_not_counted(settings, frozen_clock):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "register": (2, 3600)}
    client = Client()

    pages = [client.get(reverse("accounts:register"), REMOTE_ADDR=HOME) for _ in range(5)]

    assert {page.status_code for page in pages} == {200}
