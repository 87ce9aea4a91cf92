"""CSRF is enforced on every POST (TRUST.md, OWASP ASVS v5.0.0-3.5.1).

Every route of the resolver (the admin's included) is posted to without a
token by a client that enforces CSRF checks, as the person who would use it:
the superuser in the console, an officer on the counter pages, a citizen
where the page asks visitors to log in, an anonymous visitor elsewhere. Each
must be refused by the CSRF check itself (a failure view that marks its
answer tells it apart from a permission 403), except the three machine
endpoints that authenticate with a signature instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponseForbidden
from django.test import Client
from django.urls import reverse

from ._walk import (
    Route,
    World,
    client_for,
    concrete,
    routes,
    supervisor_b,  # noqa: F401 (fixture)
    undone,
    world,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db

# Machine-to-machine endpoints: no browser, no session, no cookie to ride on.
CSRF_EXEMPT = {
    "csp_report": "browsers post CSP violation reports without cookies or tokens",
    "notifications:sms_receipt": "the SMS gateway's delivery receipts, HMAC-signed",
    "payments:webhook": "the payment gateway's notifications, signed and verified",
}
REFUSED_HEADER = "X-Test-Csrf-Refused"


def csrf_refused(request, reason=""):
    """CSRF_FAILURE_VIEW for these tests: a 403 that says it came from the CSRF check."""
    response = HttpResponseForbidden("CSRF")
    response[REFUSED_HEADER] = reason or "refused"
    return response


@pytest.fixture(autouse=True)
def _marked_csrf_failures(settings):
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_refused"


def _user_for(route: Route, path: str, w: World):
    """Who posts to this route: staff for staff pages, else a citizen or a visitor."""
    if route.is_admin:
        return w.superuser
    if route.route.startswith("petugas/"):
        return w.officer_a
    # A page that sends an anonymous visitor to the login page is a citizen's page.
    login = reverse("accounts:login")
    for method in ("get", "post"):
        response = undone(lambda: getattr(Client(), method)(path))  # noqa: B023 (called at once)
        if response.status_code in (301, 302) and urlparse(response["Location"]).path == login:
            return w.citizen
    return None


def _walk(w: World, *, admin: bool) -> tuple[list[str], list[str]]:
    """(paths that take a POST, problems) for the admin's routes or the site's."""
    posted, problems = [], []
    for route in routes():
        if route.is_admin != admin:
            continue
        path = concrete(route, w)
        user = _user_for(route, path, w)
        probe = client_for(user, raise_request_exception=False)
        answer = undone(lambda: probe.post(path)).status_code  # noqa: B023
        if answer >= 500:
            problems.append(f"{route.label} {path}: an empty POST answered {answer}")
        if answer == 405:
            continue  # GET-only: the CSRF check still runs first, but nothing to post to
        posted.append(route.label)
        enforcing = client_for(user, enforce_csrf_checks=True)
        response = undone(lambda: enforcing.post(path, {"x": "1"}))  # noqa: B023
        refused = response.status_code == 403 and REFUSED_HEADER in response
        if route.label in CSRF_EXEMPT:
            if refused:
                problems.append(f"{route.label} {path}: exempt, yet refused by the CSRF check")
        elif not refused:
            problems.append(
                f"{route.label} {path}: a POST without a token answered "
                f"{response.status_code} (as {user or 'anonymous'})"
            )
    return posted, problems


def test_every_post_to_the_site_without_a_token_is_refused(world):  # noqa: F811
    posted, problems = _walk(world, admin=False)

    assert not problems, "\n".join(problems)
    # A floor, so that a broken walk cannot pass by posting to nothing.
    assert len(posted) >= 60, posted
    for name in [
        "accounts:register",
        "accounts:login",
        "accounts:logout",
        "accounts:profile",
        "accounts:delete_account",
        "accounts:two_factor_disable",
        "set_language",
        "status_check",
        "applications:step",
        "applications:upload",
        "applications:cancel",
        "payments:reissue",
        "queueing:book",
        "queueing:cancel",
        "queueing:kiosk_check_in",
        "queueing:counter_action",
        "notifications:mark_read",
        *CSRF_EXEMPT,
    ]:
        assert name in posted


def test_every_post_to_the_console_without_a_token_is_refused(world):  # noqa: F811
    posted, problems = _walk(world, admin=True)

    assert not problems, "\n".join(problems)
    assert len(posted) >= 160, posted
    for name in [
        "admin:logout",
        "admin:applications_application_move",
        "admin:applications_application_document_review",
        "admin:applications_application_identity",
        "admin:payments_bill_record",
        "admin:payments_bill_refund",
        "admin:accounts_user_change",
        "admin:queueing_slot_changelist",
    ]:
        assert name in posted


def test_a_post_with_the_token_passes_the_check(world):  # noqa: F811
    """The refusals above come from the missing token, not from posting at all."""
    client = client_for(world.citizen, enforce_csrf_checks=True)
    page = client.get(reverse("notifications:list"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, "the page has no CSRF token field"

    response = client.post(
        reverse("notifications:mark_read"), {"csrfmiddlewaretoken": token.group(1)}
    )

    assert response.status_code == 302
    assert REFUSED_HEADER not in response


def test_the_csrf_exempt_views_are_exactly_the_allowlist():
    exempt = {route.label for route in routes() if route.csrf_exempt}

    assert exempt == set(CSRF_EXEMPT)


def _exempted_in_source() -> set[str]:
    """module:function for every use of csrf_exempt in the project's own code."""
    root = Path(django_settings.BASE_DIR)
    skipped = {".venv", "tests", "bench", "node_modules", "var", "static", ".git"}
    found = set()
    for source in root.rglob("*.py"):
        relative = source.relative_to(root)
        if relative.parts[0] in skipped or relative.parts[0].startswith("."):
            continue
        text = source.read_text(encoding="utf-8")
        if "csrf_exempt" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = {
                    getattr(n, "id", getattr(n, "attr", ""))
                    for d in node.decorator_list
                    for n in ast.walk(d)
                }
                if "csrf_exempt" in names:
                    found.add(f"{relative.with_suffix('').as_posix()}:{node.name}")
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "csrf_exempt":
                found.add(f"{relative.with_suffix('').as_posix()}:<call>")
    return found


def test_the_source_exempts_only_the_three_machine_endpoints():
    assert _exempted_in_source() == {
        "imigrasi/views:csp_report",
        "notifications/views:sms_receipt",
        "payments/views:webhook",
    }


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("csp_report", [], 400),  # not a JSON report
        ("notifications:sms_receipt", [], 401),  # no signature
        ("payments:webhook", ["sandbox"], 401),  # no signature
    ],
)
def test_the_exempt_endpoints_refuse_unsigned_posts_themselves(client, name, args, expected):
    enforcing = Client(enforce_csrf_checks=True)

    response = enforcing.post(reverse(name, args=args), data=b"x", content_type="text/plain")

    assert response.status_code == expected
