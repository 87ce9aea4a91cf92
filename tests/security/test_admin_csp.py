"""The admin and the citizen pages under the Content-Security-Policy (TRUST.md, "Headers").

The policy allows scripts from this origin and scripts carrying the request's
nonce, and styles from this origin only. So on every page: each <script>
either loads a same-origin static file or carries the nonce of this very
response (a nonce from an earlier, cached render is as good as none); no
inline style (attribute or element) unless the policy names its nonce; no
event-handler attributes and no javascript: URLs, which no nonce can save.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from applications.workflow import Status
from audit.models import AuditEntry
from offices.models import Counter
from payments import services as payment_services
from payments.gateways import sandbox as sandbox_gateway
from payments.models import Bill
from queueing import counters, tickets
from tests.applications.conftest import (  # noqa: F401 (fixtures)
    _private_files,
    advance,
    complete_draft,
    passport_service,
)
from tests.factories import HolidayFactory, StaffFactory
from tests.payments.conftest import paid_body
from tests.queueing.conftest import book, open_moment

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "csp-test-sandbox-secret"
# The staff's apps (the brief: applications, payments, queueing, audit, offices, accounts).
STAFF_APPS = ("applications", "payments", "queueing", "audit", "offices", "accounts")


# --- Reading a page ----------------------------------------------------------------------


@dataclass
class Page:
    scripts: list[dict] = field(default_factory=list)
    style_elements: list[dict] = field(default_factory=list)
    stylesheets: list[dict] = field(default_factory=list)
    style_attributes: list[str] = field(default_factory=list)
    handlers: list[str] = field(default_factory=list)
    javascript_urls: list[str] = field(default_factory=list)


class PageReader(HTMLParser):
    URL_ATTRIBUTES = {"href", "src", "action", "formaction"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag, attrs):
        found = {name: value or "" for name, value in attrs}
        where = f"<{tag} {' '.join(f'{k}={v!r}' for k, v in found.items())}>"[:200]
        if tag == "script":
            self.page.scripts.append(found)
        elif tag == "style":
            self.page.style_elements.append(found)
        elif tag == "link" and "stylesheet" in found.get("rel", "").lower().split():
            self.page.stylesheets.append(found)
        for name, value in found.items():
            if name == "style":
                self.page.style_attributes.append(where)
            elif name.startswith("on"):
                self.page.handlers.append(where)
            elif name in self.URL_ATTRIBUTES and value.strip().lower().startswith("javascript:"):
                self.page.javascript_urls.append(where)

    handle_startendtag = handle_starttag


def read(response) -> Page:
    reader = PageReader()
    reader.feed(response.content.decode())
    reader.close()
    return reader.page


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"no Content-Security-Policy on {response.wsgi_request.path}"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def nonces(sources: list[str]) -> set[str]:
    return {m.group(1) for s in sources if (m := re.fullmatch(r"'nonce-([^']+)'", s))}


def same_origin(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "testserver"
    return url.startswith("/") and not url.startswith("//")


def problems_with(response) -> list[str]:
    """Everything on the page that the response's own policy would block (or that is unsafe)."""
    where = response.wsgi_request.get_full_path()
    directives = policy(response)
    default = directives.get("default-src", [])
    script_src = directives.get("script-src", default)
    style_src = directives.get("style-src", default)
    found = [
        f"{where}: {name} allows {word}"
        for name, sources in (("script-src", script_src), ("style-src", style_src))
        for word in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:")
        if word in sources
    ]
    script_nonces, style_nonces = nonces(script_src), nonces(style_src)
    page = read(response)
    for script in page.scripts:
        src, nonce = script.get("src"), script.get("nonce")
        if nonce is not None and nonce not in script_nonces:
            found.append(f"{where}: script with a nonce the policy does not name: {script}")
        elif src is not None:
            path = urlsplit(src).path
            if not same_origin(src):
                found.append(f"{where}: script from another origin: {src}")
            elif nonce is None and not path.startswith(django_settings.STATIC_URL):
                found.append(f"{where}: script neither static nor with the nonce: {src}")
        elif nonce is None:
            found.append(f"{where}: inline script without the nonce: {script}")
    for element in page.style_elements:
        if element.get("nonce") not in style_nonces or element.get("nonce") is None:
            found.append(f"{where}: <style> element the policy blocks: {element}")
    for link in page.stylesheets:
        if not same_origin(link.get("href", "")):
            found.append(f"{where}: stylesheet from another origin: {link}")
    found += [f"{where}: style attribute {tag}" for tag in page.style_attributes]
    found += [f"{where}: event-handler attribute {tag}" for tag in page.handlers]
    found += [f"{where}: javascript: URL {tag}" for tag in page.javascript_urls]
    return found


# --- The data the pages show ------------------------------------------------------------


@pytest.fixture
def world(settings, ani, office_a, budi, passport_service, tasks_inline):  # noqa: F811
    """One of (nearly) everything staff look at: an application paid by webhook and booked,
    a walk-in ticket, an open counter shift, audit entries, notifications, a holiday."""
    settings.PAYMENT_GATEWAY = "sandbox"
    settings.SANDBOX_WEBHOOK_SECRET = WEBHOOK_SECRET
    application = advance(complete_draft(ani, office_a, passport_service), Status.SUBMITTED)
    bill = payment_services.bill_issue(application_id=application.pk)
    body = paid_body(bill)
    answer = Client().post(
        reverse("payments:webhook", args=["sandbox"]),
        data=body,
        content_type="application/json",
        headers={sandbox_gateway.HEADER: sandbox_gateway.sign(body, secret=WEBHOOK_SECRET)},
    )
    assert answer.status_code == 200, answer.content
    application.refresh_from_db()
    assert application.status == Status.PAID
    booking = book(application)
    counter = Counter.objects.create(office=office_a, number=1, name="Loket 1")
    moment = open_moment(office_a, booking.slot.day)
    tickets.walk_in(office=office_a, now=moment)
    counters.shift_open(counter=counter, officer=budi, prefixes=["A", "W"])
    HolidayFactory(name="Hari Raya Contoh")
    assert AuditEntry.objects.exists()
    return {"application": application, "bill": Bill.objects.get(pk=bill.pk), "booking": booking}


def admin_pages() -> list[str]:
    """The index, then every staff model's changelist, add form and first change form."""
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label not in STAFF_APPS:
            continue
        base = f"admin:{meta.app_label}_{meta.model_name}"
        pages.append(reverse(f"{base}_changelist"))
        with contextlib.suppress(NoReverseMatch):
            pages.append(reverse(f"{base}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"{base}_change", args=[first.pk]))
    return pages


@pytest.fixture
def superuser_account(db):
    return StaffFactory(is_superuser=True, email="admin.pusat@example.id", full_name="Admin Pusat")


@pytest.mark.parametrize("who", ["superuser_account", "dewi"])
def test_every_admin_page_staff_use_passes_its_own_csp(client, world, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    shown, found = [], []

    for url in admin_pages():
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code == 200:
            shown.append(url)
            found += problems_with(response)

    assert found == []
    # Not vacuous: the pages that matter were read, not refused.
    must = [
        reverse("admin:index"),
        reverse("admin:applications_application_changelist"),
        reverse("admin:applications_application_change", args=[world["application"].pk]),
        reverse("admin:payments_bill_changelist"),
        reverse("admin:payments_bill_change", args=[world["bill"].pk]),
        reverse("admin:queueing_booking_changelist"),
        reverse("admin:queueing_booking_change", args=[world["booking"].pk]),
        reverse("admin:audit_auditentry_changelist"),
        reverse("admin:offices_office_changelist"),
        reverse("admin:accounts_user_changelist"),
    ]
    assert set(must) <= set(shown), set(must) - set(shown)
    if who == "superuser_account":
        assert len(shown) >= 40, shown


def test_the_admin_review_and_identity_pages_pass_their_own_csp(client, world, dewi):
    """The project's own admin templates: the review page and the full-NIK page."""
    application = world["application"]
    client.force_login(dewi)

    review = client.get(reverse("admin:applications_application_change", args=[application.pk]))
    identity = client.post(
        reverse("admin:applications_application_identity", args=[application.pk])
    )

    assert (review.status_code, identity.status_code) == (200, 200)
    assert problems_with(review) + problems_with(identity) == []


def test_the_admin_scripts_that_need_a_nonce_carry_this_responses_nonce(
    client, world, superuser_account
):
    """Django's admin marks its scripts with the nonce: the policy names that same nonce."""
    client.force_login(superuser_account)

    response = client.get(
        reverse("admin:applications_application_change", args=[world["application"].pk])
    )

    script_nonces = nonces(policy(response)["script-src"])
    carried = {s["nonce"] for s in read(response).scripts if "nonce" in s}
    assert len(script_nonces) == 1
    assert carried == script_nonces


def test_the_policy_itself_allows_no_inline_script_or_style_anywhere(client):
    response = client.get(reverse("home"))

    directives = policy(response)
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[name]
        assert "'unsafe-eval'" not in directives[name]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


# --- Citizen and public pages ------------------------------------------------------------


def test_public_pages_pass_their_own_csp(client, world, office_a):
    pages = [
        reverse("home"),
        reverse("accounts:login"),
        reverse("accounts:register"),
        reverse("accounts:password_reset"),
        reverse("applications:catalogue"),
        reverse("status_check"),
        reverse("privacy"),
        reverse("queueing:board", args=[office_a.code]),
    ]
    found = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found += problems_with(response)

    assert found == []


def test_citizen_pages_pass_their_own_csp_also_when_served_from_the_page_cache(client, world, ani):
    application, booking = world["application"], world["booking"]
    client.force_login(ani)
    pages = [
        reverse("accounts:profile"),
        reverse("applications:dashboard"),
        application.get_absolute_url(),
        # The detail page is cached per state: the second answer is the stored copy.
        application.get_absolute_url(),
        reverse("payments:pay", args=[application.reference]),
        reverse("queueing:booking", args=[booking.code]),
        reverse("queueing:appointments"),
        reverse("accounts:security"),
    ]
    found = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        found += problems_with(response)

    assert found == []


def test_the_booking_page_with_its_times_passes_its_own_csp(client, ani, office_a, world):
    from tests.queueing.conftest import paid_for

    application = paid_for(ani, office_a)
    client.force_login(ani)
    day = world["booking"].slot.day

    response = client.get(reverse("queueing:book", args=[application.reference]), {"hari": day})

    assert response.status_code == 200
    assert 'name="slot"' in response.content.decode()
    assert problems_with(response) == []


def test_a_page_with_an_inline_script_or_style_is_caught(rf):
    """The checker itself: what it must refuse, it refuses."""
    from django.http import HttpResponse

    request = rf.get("/x/")
    response = HttpResponse(
        '<script>alert(1)</script><script nonce="old">x()</script>'
        '<script src="https://cdn.example.com/x.js"></script><style>p{}</style>'
        '<p style="color:red" onclick="x()"><a href="javascript:x()">x</a></p>'
    )
    response.wsgi_request = request
    response.headers["Content-Security-Policy"] = "script-src 'self' 'nonce-new'; style-src 'self'"

    found = problems_with(response)

    assert len(found) == 7, found
