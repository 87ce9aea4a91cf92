"""The URL walk shared by the CSRF and IDOR tests.

`routes()` reads every route from the URL resolver (the admin's included),
so a URL added tomorrow is walked without anyone editing these tests.
`concrete(route, world)` fills its parameters with the ids of real objects
from `world`: a citizen's sent and paid application at office A with a
document, both receipts, a booking, a queue ticket, a waiting-list entry, a
family member, and around them every kind of row the officers' console
shows. A parameter nobody knows how to fill fails loudly: add it here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from applications import verification
from applications.models import Application, Person
from applications.workflow import Status
from audit.models import AuditEntry
from notifications.models import Notification
from offices import roles
from offices.models import Counter, StaffMembership
from payments import services as payment_services
from payments.models import Method, Payment, Refund, WebhookEvent
from queueing import slots, tickets
from queueing.models import CounterShift, Purpose, WaitlistEntry
from tests.applications.conftest import png_bytes
from tests.factories import HolidayFactory, StaffFactory

from .conftest import enrol

# Written into the citizen's application and account: a page that shows any of
# these to somebody else has leaked her data. (Not in any URL: a 404 page that
# echoes its own address must not count as a leak.)
SECRET_ADDRESS = "Jl. Kenari Rahasia No. 77"
SECRET_BIRTHPLACE = "Kotabumi Rahasia"
SECRET_MOTHER = "Siti Rahasia Aminah"


# --- Routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str  # the joined pattern, e.g. "permohonan/<str:reference>/"
    name: str  # "applications:detail"; "" for an unnamed pattern
    params: tuple[str, ...]
    callback: Any = field(compare=False, repr=False)

    @property
    def namespace(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def label(self) -> str:
        return self.name or f"/{self.route}"

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def admin_model(self) -> type[models.Model] | None:
        """The model of an admin route like admin/<app_label>/<model_name>/..."""
        match = re.match(r"admin/(\w+)/(\w+)/", self.route)
        if not match:
            return None
        for model in admin.site._registry:
            if (model._meta.app_label, model._meta.model_name) == match.groups():
                return model
        return None

    @property
    def csrf_exempt(self) -> bool:
        return bool(getattr(self.callback, "csrf_exempt", False))


def _params(pattern) -> list[str]:
    if isinstance(pattern.pattern, RoutePattern):  # path()
        return list(pattern.pattern.converters)
    return list(pattern.pattern.regex.groupindex)  # re_path()


def _walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...], params: list[str]):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, route, inner, params + _params(entry))
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield Route(route, name, tuple(params + _params(entry)), entry.callback)


def routes() -> list[Route]:
    """Every route of the project, in resolver order."""
    return list(_walk(get_resolver(), "", (), []))


def area(route: Route) -> str:
    """A group for parametrised tests: admin-<app label> or site-<namespace>."""
    if route.is_admin:
        model = route.admin_model
        return f"admin-{model._meta.app_label}" if model else "admin-site"
    return f"site-{route.namespace or 'root'}"


# --- The world the ids come from -----------------------------------------------------------


@dataclass
class World:
    citizen: Any
    stranger: Any
    officer_a: Any
    supervisor_a: Any
    officer_b: Any
    supervisor_b: Any
    superuser: Any
    office_a: Any
    office_b: Any
    application: Any
    document: Any
    bill: Any
    payment: Any
    booking: Any
    ticket: Any
    waitlist_entry: Any
    person: Any
    counter_a: Any
    notification: Any
    # The office-A (or the citizen's) object of each model the admin shows.
    admin_objects: dict[type[models.Model], models.Model]

    @property
    def secrets(self) -> list[str]:
        """Strings only the citizen's own pages and office A's staff may show."""
        return [
            SECRET_ADDRESS,
            SECRET_BIRTHPLACE,
            SECRET_MOTHER,
            self.citizen.full_name,
            self.citizen.email,
        ]


def build_world(
    *,
    citizen,
    stranger,
    officer_a,
    supervisor_a,
    officer_b,
    supervisor_b,
    superuser,
    office_a,
    office_b,
    application,
    document,
    bill,
) -> World:
    """Ani's application (sent, billed) is paid at a bank teller, booked and checked in."""
    from tests.queueing.conftest import book, open_moment

    Application.objects.filter(pk=application.pk).update(
        address=SECRET_ADDRESS, place_of_birth=SECRET_BIRTHPLACE, mother_name=SECRET_MOTHER
    )
    payment = payment_services.payment_record(
        bill=bill,
        by=officer_a,
        method=Method.TELLER,
        ntpn="NTPN0000AAAA1111",
        paid_at=timezone.now(),
        reason="Dibayar di teller bank",
        proof=SimpleUploadedFile("bukti.png", png_bytes(), content_type="image/png"),
    )
    application.refresh_from_db()
    assert application.status == Status.PAID
    booking = book(application)
    ticket = tickets.check_in(
        office=office_a, scanned=booking.code, now=open_moment(office_a, booking.slot.day)
    )
    booking.refresh_from_db()
    waitlist_entry = WaitlistEntry.objects.create(
        office=office_a,
        purpose=Purpose.CONSULTATION,
        day=booking.slot.day + dt.timedelta(days=1),
        citizen=citizen,
    )
    person = Person.objects.create(
        owner=citizen,
        relationship=Person.Relationship.CHILD,
        full_name="Bayu Lestari",
        place_of_birth=SECRET_BIRTHPLACE,
        mother_name=SECRET_MOTHER,
    )
    counter_a = Counter.objects.create(office=office_a, number=1, name="Loket 1")
    shift = CounterShift.objects.create(counter=counter_a, officer=officer_a, prefixes="PW")
    refund = Refund.objects.create(
        payment=payment, amount=payment.amount, reason="Salah transfer", recorded_by=supervisor_a
    )
    webhook = WebhookEvent.objects.create(
        provider="sandbox",
        event_id="SBX-WALK:paid",
        body="{}",
        status="paid",
        billing_code=bill.code,
        amount=bill.amount,
        bill=bill,
    )
    notification = Notification.objects.filter(recipient=citizen).order_by("pk").first()
    assert notification is not None, "sending and billing the application notified nobody"
    audit_entry = AuditEntry.objects.filter(office=office_a).order_by("pk").first()
    assert audit_entry is not None, "recording the payment left no audit entry"
    totp_device, _codes = enrol(officer_a)
    static_device = officer_a.staticdevice_set.get()
    attempt = dict(
        user_agent="pytest",
        ip_address="192.0.2.7",
        username=citizen.email,
        http_accept="*/*",
        path_info="/akun/masuk/",
    )
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    admin_objects = {
        Application: application,
        apps.get_model("payments", "Bill"): bill,
        Payment: payment,
        Refund: refund,
        WebhookEvent: webhook,
        apps.get_model("queueing", "Quota"): slots.quota_for(office_a),
        apps.get_model("queueing", "Slot"): booking.slot,
        apps.get_model("queueing", "Booking"): booking,
        WaitlistEntry: waitlist_entry,
        apps.get_model("queueing", "Ticket"): ticket,
        CounterShift: shift,
        apps.get_model("offices", "Office"): office_a,
        Counter: counter_a,
        apps.get_model("offices", "Holiday"): HolidayFactory(office=office_a),
        StaffMembership: StaffMembership.objects.get(user=officer_a, office=office_a),
        Notification: notification,
        apps.get_model("applications", "Service"): application.service,
        apps.get_model("applications", "Tariff"): application.service.tariffs.first(),
        AuditEntry: audit_entry,
        apps.get_model("accounts", "User"): citizen,
        Group: Group.objects.get(name=roles.OFFICER),
        type(totp_device): totp_device,
        type(static_device): static_device,
        AccessAttempt: AccessAttempt.objects.create(
            **attempt, get_data="", post_data="", failures_since_start=1
        ),
        AccessLog: AccessLog.objects.create(**attempt),
        AccessFailureLog: AccessFailureLog.objects.create(**attempt),
    }
    return World(
        citizen=citizen,
        stranger=stranger,
        officer_a=officer_a,
        supervisor_a=supervisor_a,
        officer_b=officer_b,
        supervisor_b=supervisor_b,
        superuser=superuser,
        office_a=office_a,
        office_b=office_b,
        application=application,
        document=document,
        bill=bill,
        payment=payment,
        booking=booking,
        ticket=ticket,
        waitlist_entry=waitlist_entry,
        person=person,
        counter_a=counter_a,
        notification=notification,
        admin_objects=admin_objects,
    )


@pytest.fixture
def supervisor_b(office_b):
    """A supervisor of office B only."""
    return StaffFactory(
        email="yusuf@example.id",
        full_name="Yusuf Maulana",
        role=roles.SUPERVISOR,
        offices=[office_b],
    )


@pytest.fixture
def world(
    citizen,
    stranger,
    officer_a,
    supervisor_a,
    officer_b,
    supervisor_b,
    superuser,
    office_a,
    office_b,
    application,
    document,
    application_receipt,
    bill,
    payment_receipt,
) -> World:
    return build_world(
        citizen=citizen,
        stranger=stranger,
        officer_a=officer_a,
        supervisor_a=supervisor_a,
        officer_b=officer_b,
        supervisor_b=supervisor_b,
        superuser=superuser,
        office_a=office_a,
        office_b=office_b,
        application=application,
        document=document,
        bill=bill,
    )


# --- Concrete paths ---------------------------------------------------------------------------


class Unfilled(LookupError):
    pass


def _value(route: Route, param: str, world: World) -> object:
    """The value of one parameter: the citizen's (office A's) object of the right kind."""
    model = route.admin_model
    if model is not None and param in {"object_id", "pk", "id"}:
        try:
            return world.admin_objects[model].pk
        except KeyError:
            raise Unfilled(
                f"{route.label}: put an office-A {model.__name__} in World.admin_objects"
            ) from None
    by_namespace = {
        ("code", "applications"): lambda: world.application.service.code,
        ("code", "payments"): lambda: world.bill.code,
        ("code", "queueing"): lambda: world.booking.code,
    }
    by_name = {
        ("pk", "queueing:waitlist_accept"): lambda: world.waitlist_entry.pk,
        ("pk", "queueing:waitlist_leave"): lambda: world.waitlist_entry.pk,
        ("pk", "queueing:counter"): lambda: world.counter_a.pk,
        ("pk", "queueing:counter_action"): lambda: world.counter_a.pk,
        ("token", "queueing:ticket"): lambda: world.ticket.token,
        ("token", "verify"): lambda: verification.token_for("receipt", world.application.reference),
        # Capability links: any value resolves the route (the walks skip them).
        ("token", "accounts:verify_email"): lambda: "tautan-tidak-sah",
        ("token", "accounts:password_reset_confirm"): lambda: "set-password",
    }
    plain = {
        "reference": lambda: world.application.reference,
        "number": lambda: 1,
        "requirement_id": lambda: world.document.requirement_id,
        "document_id": lambda: world.document.pk,
        "person_id": lambda: world.person.pk,
        "payment_id": lambda: world.payment.pk,
        "method": lambda: Method.VA_BRI.value,
        "provider": lambda: "sandbox",
        "action": lambda: "close",
        "office_code": lambda: world.office_a.code,
        "uidb64": lambda: "MQ",
        "content_type_id": lambda: ContentType.objects.get_for_model(Application).pk,
        "object_id": lambda: world.application.pk,
        "app_label": lambda: "applications",
        "url": lambda: "tidak-ada/",
    }
    for table, key in ((by_name, (param, route.name)), (by_namespace, (param, route.namespace))):
        if key in table:
            return table[key]()
    if param in plain:
        return plain[param]()
    raise Unfilled(f"{route.label}: no value for <{param}>; add one in tests/security/_walk.py")


def concrete(route: Route, world: World) -> str:
    """The route as a path, its parameters filled from `world`."""
    values = {param: str(_value(route, param, world)) for param in route.params}
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], route.route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], path)
    path = path.replace("^", "").replace("$", "")
    assert not re.search(r"[<>()?*\\]", path), f"{route.label}: {path} is not a concrete path"
    return "/" + path


# --- Requests that leave nothing behind -------------------------------------------------------


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)  # staff: device verified (tests/conftest.py)
    return client


def undone(call):
    """Run `call()` (a request) and roll back whatever it wrote to the database.

    Each probe of the walk starts from the same world: a POST that cancels
    the booking must not hide the booking from the next URL. Rate-limit
    counters live in the cache and are cleared for the same reason.
    """
    cache.clear()
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


def landing_paths() -> set[str]:
    """Where somebody without access is sent instead of the page."""
    return {
        reverse("accounts:login"),
        reverse("admin:login"),
        reverse("accounts:two_factor_verify"),
        # A citizen who opens the console lands on their own profile.
        reverse("accounts:profile"),
    }
