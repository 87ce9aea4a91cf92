"""Security headers, the CSP report endpoint and the error pages (TRUST.md, "Headers and
deployment"; ASVS v5.0.0-3.4.1 to 3.4.6, 16.2.5, 13.4.2).

A sample of pages (public, a citizen's application and downloads, the admin,
the 404 page) carries a strict nonce-capable CSP with no 'unsafe-inline',
HSTS over HTTPS, nosniff, a same-origin referrer policy and no framing;
nothing inline would be blocked. Violations posted to /csp-report/ are
logged, never stored. Error pages are generic, in Indonesian by default.
"""

from __future__ import annotations

import json
import logging
import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.template import engines
from django.test import Client
from django.urls import path, reverse

from imigrasi import ratelimit
from imigrasi.urls import urlpatterns as portal_urlpatterns
from tests.utils import html_lang, in_language, page_text

pytestmark = pytest.mark.django_db

CSP_REPORT = reverse("csp_report")


# --- Views only this module's URLconf serves (error pages, a nonce) -------------------


def _bad_request(request):
    raise SuspiciousOperation("tampered field")


def _forbidden(request):
    raise PermissionDenied


def _not_found(request):
    raise Http404("kept out of the page")


def _too_many(request):
    return ratelimit.too_many(request, window=900)


def _server_error(request):
    raise RuntimeError("secret internal detail")


def _uses_a_nonce(request):
    template = engines["django"].from_string(
        '<script nonce="{{ csp_nonce }}">window.ok = 1;</script>'
    )
    from django.http import HttpResponse

    return HttpResponse(template.render({}, request))


urlpatterns = [
    path("uji/400/", _bad_request),
    path("uji/403/", _forbidden),
    path("uji/404/", _not_found),
    path("uji/429/", _too_many),
    path("uji/500/", _server_error),
    path("uji/nonce/", _uses_a_nonce),
    *portal_urlpatterns,
]
THIS_URLCONF = __name__


# --- The sample of pages -----------------------------------------------------------------


class InlineParts(HTMLParser):
    """What a strict CSP would block: inline scripts and styles, handlers, style attributes."""

    def __init__(self):
        super().__init__()
        self.inline_scripts: list[str | None] = []  # their nonces
        self.style_blocks: list[str | None] = []
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attributes.items():
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            if name == "style":
                self.style_attributes.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.javascript_urls.append(f"<{tag} {name}>")
        if tag == "script" and "src" not in attributes:
            self.inline_scripts.append(attributes.get("nonce"))
        if tag == "style":
            self.style_blocks.append(attributes.get("nonce"))


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def header_nonce(policy: dict[str, list[str]]) -> str | None:
    for source in policy.get("script-src", []):
        if source.startswith("'nonce-"):
            return source[len("'nonce-") : -1]
    return None


@pytest.fixture
def sample(citizen, officer_a, application, document, application_receipt, payment_receipt) -> dict:
    """name -> (client, path, expected status, is a download)."""
    anonymous = Client()
    owner = Client()
    owner.force_login(citizen)
    officer = Client()
    officer.force_login(officer_a)
    reference = application.reference
    return {
        "home": (anonymous, reverse("home"), 200, False),
        "login": (anonymous, reverse("accounts:login"), 200, False),
        "application": (owner, application.get_absolute_url(), 200, False),
        "document": (
            owner,
            reverse("applications:document", args=[reference, document.pk]),
            200,
            True,
        ),
        "receipt": (owner, reverse("applications:receipt", args=[reference]), 200, True),
        "payment receipt": (
            owner,
            reverse("payments:receipt", args=[payment_receipt.bill.code]),
            200,
            True,
        ),
        "admin index": (officer, reverse("admin:index"), 200, False),
        "admin change": (
            officer,
            reverse("admin:applications_application_change", args=[application.pk]),
            200,
            False,
        ),
        "404": (anonymous, "/tidak-ada/", 404, False),
    }


SAMPLE = [
    "home",
    "login",
    "application",
    "document",
    "receipt",
    "payment receipt",
    "admin index",
    "admin change",
    "404",
]
DOWNLOADS = ["document", "receipt", "payment receipt"]


def fetch(sample, name, **extra):
    client, url, status, download = sample[name]
    response = client.get(url, **extra)
    assert response.status_code == status, (name, url, response.status_code)
    return response, download


@pytest.mark.parametrize("name", SAMPLE)
def test_the_content_security_policy_is_strict(sample, name):
    response, _ = fetch(sample, name, secure=True)

    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    for kind in ("script-src", "style-src", "default-src"):
        for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            assert loose not in policy.get(kind, []), (kind, loose)
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["report-uri"] == [CSP_REPORT]


@pytest.mark.parametrize("name", SAMPLE)
def test_the_other_security_headers_are_set(sample, name):
    response, _ = fetch(sample, name, secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("name", [n for n in SAMPLE if n not in DOWNLOADS])
def test_nothing_inline_would_be_blocked(sample, name):
    response, _ = fetch(sample, name, secure=True)

    parts = InlineParts()
    parts.feed(response.content.decode())
    nonce = header_nonce(directives(response))
    assert all(found is not None and found == nonce for found in parts.inline_scripts), (
        parts.inline_scripts
    )
    assert all(found is not None and found == nonce for found in parts.style_blocks)
    assert parts.style_attributes == []
    assert parts.handlers == []
    assert parts.javascript_urls == []


@pytest.mark.parametrize("name", DOWNLOADS)
def test_downloads_are_attachments_never_cached(sample, name):
    response, _ = fetch(sample, name, secure=True)

    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_plain_http_gets_no_hsts_header(client):
    """HSTS over HTTP means nothing (RFC 6797); nginx redirects to HTTPS in production."""
    response = client.get(reverse("home"))

    assert "Strict-Transport-Security" not in response


@pytest.mark.urls(THIS_URLCONF)
def test_a_page_that_uses_the_nonce_gets_a_fresh_one_in_the_header(client):
    first = client.get("/uji/nonce/")
    second = client.get("/uji/nonce/")

    nonces = []
    for response in (first, second):
        nonce = header_nonce(directives(response))
        assert nonce and f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    assert len(nonces[0]) >= 16


# --- The CSP report endpoint ------------------------------------------------------------


def report(**fields) -> bytes:
    body = {
        "document-uri": "https://imigrasi.example.id/akun/verifikasi/rahasia-token/?x=1",
        "violated-directive": "script-src-elem",
        "blocked-uri": "https://evil.example/x.js?session=abc",
        "source-file": "https://imigrasi.example.id/static/js/site.js",
        "line-number": 12,
    }
    body.update(fields)
    return json.dumps({"csp-report": body}).encode()


def csp_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "imigrasi.csp"]


def test_a_violation_is_logged_and_answered_204(client, caplog):
    with caplog.at_level(logging.WARNING, logger="imigrasi.csp"):
        response = client.post(CSP_REPORT, report(), content_type="application/csp-report")

    assert response.status_code == 204
    (record,) = csp_records(caplog)
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "script-src-elem" in message
    assert "https://evil.example/x.js" in message
    assert "/static/js/site.js" in message
    # Query strings may carry tokens or session ids: only scheme, host and path are kept.
    assert "session=abc" not in message
    assert "x=1" not in message


def test_a_report_cannot_forge_log_lines(client, caplog):
    forged = "script-src\n2031-03-04 10:20:00 WARNING django.security Admin login from 1.2.3.4"

    with caplog.at_level(logging.WARNING, logger="imigrasi.csp"):
        client.post(
            CSP_REPORT, report(**{"violated-directive": forged}), content_type="application/json"
        )

    (record,) = csp_records(caplog)
    assert "\n" not in record.getMessage()
    assert "\r" not in record.getMessage()


def test_a_report_over_16_kb_is_refused_and_not_logged(client, caplog):
    big = report(**{"script-sample": "x" * (16 * 1024)})

    with caplog.at_level(logging.WARNING, logger="imigrasi.csp"):
        response = client.post(CSP_REPORT, big, content_type="application/csp-report")

    assert response.status_code == 413
    assert csp_records(caplog) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_malformed_report_is_refused_and_not_logged(client, caplog, body):
    with caplog.at_level(logging.WARNING, logger="imigrasi.csp"):
        response = client.post(CSP_REPORT, body, content_type="application/csp-report")

    assert response.status_code == 400
    assert csp_records(caplog) == []


def test_the_report_endpoint_answers_only_post(client):
    assert client.get(CSP_REPORT).status_code == 405


def test_browsers_post_reports_without_a_csrf_token(caplog):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(CSP_REPORT, report(), content_type="application/csp-report")

    assert response.status_code == 204


# --- Error pages ---------------------------------------------------------------------------

ERRORS = {
    400: "Bad request",
    403: "Access denied",
    404: "Page not found",
    429: "Too many attempts",
}


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize("status", sorted(ERRORS))
@pytest.mark.parametrize("language", ["id", "en"])
def test_the_error_pages_speak_the_visitors_language(settings, status, language):
    browser = Client(raise_request_exception=False)
    if language == "en":
        browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = browser.get(f"/uji/{status}/")

    assert response.status_code == status
    assert html_lang(response) == language
    title = in_language(language, ERRORS[status])
    if language == "id":
        assert title != ERRORS[status], "no Indonesian translation"
    assert title in page_text(response)
    assert "kept out of the page" not in page_text(response)
    assert "tampered field" not in page_text(response)
    assert "Content-Security-Policy" in response


@pytest.mark.urls(THIS_URLCONF)
@pytest.mark.parametrize("language", ["id", "en"])
def test_the_server_error_page_is_generic_and_in_both_languages(settings, language):
    browser = Client(raise_request_exception=False)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = browser.get("/uji/500/")

    assert response.status_code == 500
    page = page_text(response)
    assert "Terjadi kesalahan" in page
    assert "Something went wrong" in page
    assert "secret internal detail" not in page
    assert "RuntimeError" not in page
    assert "Traceback" not in page
    assert re.search(r"<html lang=\"id\"", page)
    assert "Content-Security-Policy" in response
