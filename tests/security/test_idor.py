"""The IDOR walk (TRUST.md, "Access"): every URL with an object id, both sides.

Routes come from the URL resolver, the admin's included, so a new URL is
walked as soon as it exists (and fails here until `_walk.py` knows how to
fill its parameters). Each URL gets the id of the citizen's object at office
A; then

- strangers (another citizen, officers and supervisors of office B, and for
  citizen pages the officers of office A too, who use the console instead)
  are refused, with GET and with POST: 404, 403, 405 for the method the view
  does not take, or a login page; never a page showing the citizen's data;
- the owner (the citizen, or the least privileged member of office A's staff
  who may open it) reaches it, which proves the id was right.

Each request is rolled back, so every URL sees the same world.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from notifications.models import Notification
from payments import services as payment_services
from payments.models import Payment
from queueing.models import WaitlistEntry
from tests.applications.conftest import complete_draft

from ._walk import (
    SECRET_ADDRESS,
    SECRET_BIRTHPLACE,
    Route,
    World,
    area,
    client_for,
    concrete,
    landing_paths,
    routes,
    supervisor_b,  # noqa: F401 (fixture)
    undone,
    world,  # noqa: F401 (fixture)
)

pytestmark = pytest.mark.django_db

# Routes with parameters that are not somebody's object, each with the reason.
NOT_OBJECTS = {
    "accounts:verify_email": "capability link: the signed token is the authorisation",
    "accounts:password_reset_confirm": "capability link: the signed token is the authorisation",
    "verify": "public QR check of a signed token; shows a masked name only (test_public.py)",
    "queueing:ticket": "capability URL printed on the ticket (32 random characters)",
    "applications:service": "public catalogue page of a service",
    "applications:start": "starts the visitor's own draft for a public service",
    "queueing:board": "public display board of an office (ticket numbers only)",
    "queueing:board_content": "public display board of an office (ticket numbers only)",
    "payments:webhook": "machine endpoint authenticated by the gateway's signature",
    "admin:app_list": "an app label, not an object",
    "/admin/(?P<url>.*)$": "the admin's catch-all: no object",
}
# Admin models that are shared reference data, not any office's or person's.
SHARED_MODELS = {
    ("applications", "service"): "the public service catalogue, read by every officer",
    ("applications", "tariff"): "the public fee schedule (PP 45/2024), read by every officer",
    ("offices", "holiday"): "public closure dates, national or per office",
}
# Answer 404 to everybody, by design (imigrasi/urls.py: no "view on site" shortcut).
ALWAYS_404 = {"/admin/r/<int:content_type_id>/<path:object_id>/", "admin:view_on_site"}


def _shared(route: Route) -> bool:
    model = route.admin_model
    return model is not None and (model._meta.app_label, model._meta.model_name) in SHARED_MODELS


def object_routes() -> list[Route]:
    return [
        route
        for route in routes()
        if route.params
        and route.label not in NOT_OBJECTS
        and route.label not in ALWAYS_404
        and not _shared(route)
    ]


def kind(route: Route) -> str:
    if route.is_admin:
        return "admin"
    if route.route.startswith("petugas/") or "/kiosk/" in route.route:
        return "staff"
    return "citizen"


def strangers(route: Route, w: World) -> list[tuple[str, object]]:
    others = [("citra (officer B)", w.officer_b), ("eko (citizen)", w.stranger)]
    if kind(route) == "citizen":
        return [*others, ("budi (officer A)", w.officer_a)]
    return [*others, ("yusuf (supervisor B)", w.supervisor_b)]


def owners(route: Route, w: World) -> list[tuple[str, object]]:
    if kind(route) == "citizen":
        return [("ani (owner)", w.citizen)]
    if kind(route) == "staff":
        return [("budi (officer A)", w.officer_a)]
    return [
        ("budi (officer A)", w.officer_a),
        ("sari (supervisor A)", w.supervisor_a),
        ("superuser", w.superuser),
    ]


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="ignore")
    return response.content.decode(errors="ignore")


def _refused(user, path: str, method: str, w: World) -> str | None:
    """None when `user` is kept out of `path`; otherwise what went wrong."""
    client = client_for(user)
    response = undone(lambda: getattr(client, method)(path, follow=True))
    final = urlparse(response.request["PATH_INFO"]).path
    leaked = [secret for secret in w.secrets if secret in _body(response)]
    if leaked:
        return f"{method.upper()} showed {leaked}"
    if response.status_code in (403, 404, 405):
        return None
    if response.status_code == 200 and final in landing_paths():
        return None
    return f"{method.upper()} answered {response.status_code} at {final}"


def _reached(user, path: str) -> tuple[bool, str]:
    """Did `user` get to the object (a page, a file, a form error, a redirect onwards)?"""
    client = client_for(user)
    response = undone(lambda: client.get(path))
    if response.status_code == 405:
        response = undone(lambda: client.post(path))
    outcome = f"{response.request['REQUEST_METHOD']} {response.status_code}"
    if response.status_code in (200, 400):
        return True, outcome
    if 300 <= response.status_code < 400:
        target = urlparse(response["Location"]).path
        return target not in landing_paths(), f"{outcome} to {target}"
    return False, outcome


def _switched_off(route: Route, user) -> bool:
    """The admin offers this action to nobody (e.g. deleting an application)."""
    model = route.admin_model
    if model is None or not route.name.endswith("_delete"):
        return False
    request = RequestFactory().get("/")
    request.user = user
    return not admin.site._registry[model].has_delete_permission(request)


@pytest.mark.parametrize("group", sorted({area(route) for route in object_routes()}))
def test_strangers_are_refused_and_owners_reach_every_object_url(world, group):  # noqa: F811
    walked = [route for route in object_routes() if area(route) == group]
    problems = []
    for route in walked:
        path = concrete(route, world)
        for who, user in strangers(route, world):
            for method in ("get", "post"):
                problem = _refused(user, path, method, world)
                if problem:
                    problems.append(f"{route.label} {path} as {who}: {problem}")
        tried = []
        for who, user in owners(route, world):
            ok, outcome = _reached(user, path)
            tried.append(f"{who}: {outcome}")
            if ok:
                break
        else:
            if not _switched_off(route, world.superuser):
                problems.append(f"{route.label} {path}: no owner reached it ({'; '.join(tried)})")
    assert not problems, "\n".join(problems)


def test_the_walk_covers_the_object_urls_that_matter():
    """A floor, so that a broken resolver walk cannot pass by walking nothing."""
    names = {route.label for route in object_routes()}
    for expected in [
        "applications:detail",
        "applications:document",
        "applications:receipt",
        "applications:family_edit",
        "payments:pay",
        "payments:receipt",
        "queueing:booking",
        "queueing:slip",
        "queueing:waitlist_accept",
        "queueing:counter",
        "queueing:kiosk",
        "admin:applications_application_change",
        "admin:applications_application_document_file",
        "admin:applications_application_identity",
        "admin:payments_bill_change",
        "admin:payments_bill_proof",
        "admin:queueing_booking_change",
        "admin:queueing_ticket_change",
        "admin:audit_auditentry_change",
        "admin:accounts_user_change",
    ]:
        assert expected in names
    assert len(names) >= 100


@pytest.mark.parametrize("name", sorted(ALWAYS_404))
def test_the_view_on_site_shortcut_answers_404_to_everybody(world, name):  # noqa: F811
    route = next(route for route in routes() if route.label == name)
    path = concrete(route, world)
    for user in (world.superuser, world.officer_a, world.citizen):
        assert client_for(user).get(path).status_code == 404


def test_the_secret_markers_are_shown_to_the_right_people(world):  # noqa: F811
    """The leak check looks for strings the right people do see (it could fail)."""
    change = reverse("admin:applications_application_change", args=[world.application.pk])
    page = client_for(world.officer_a).get(change)
    assert page.status_code == 200
    assert SECRET_ADDRESS in page.content.decode()

    family = reverse("applications:family_edit", args=[world.person.pk])
    page = client_for(world.citizen).get(family)
    assert SECRET_BIRTHPLACE in page.content.decode()


# --- Ids in a form's body rather than in the address -------------------------------------------


def test_a_stranger_cannot_join_a_waiting_list_with_someone_elses_application(world):  # noqa: F811
    response = client_for(world.stranger).post(
        reverse("queueing:waitlist_join"),
        {"reference": world.application.reference, "day": world.booking.slot.day.isoformat()},
    )

    assert response.status_code == 404
    assert not WaitlistEntry.objects.filter(citizen=world.stranger).exists()


def test_a_stranger_cannot_mark_someone_elses_notification_read(world):  # noqa: F811
    response = client_for(world.stranger).post(
        reverse("notifications:mark_read"), {"id": [world.notification.pk]}
    )

    assert response.status_code == 302
    assert Notification.objects.get(pk=world.notification.pk).read_at is None


def test_a_stranger_cannot_apply_for_someone_elses_family_member(world):  # noqa: F811
    service = world.application.service
    response = client_for(world.stranger).post(
        reverse("applications:start", args=[service.code]),
        {"person": str(world.person.pk), "office": world.office_a.pk},
    )

    assert response.status_code == 200  # the form again, with an error on the choice
    assert (
        not apps.get_model("applications", "Application")
        .objects.filter(applicant=world.stranger)
        .exists()
    )


# --- One's own id next to somebody else's -------------------------------------------------------


def test_a_citizen_cannot_reach_a_document_through_their_own_application(
    world,  # noqa: F811
    passport_service,
):
    own = complete_draft(world.stranger, world.office_a, passport_service)
    url = reverse("applications:document", args=[own.reference, world.document.pk])

    assert client_for(world.stranger).get(url).status_code == 404
    mine = reverse("applications:document", args=[own.reference, own.documents.first().pk])
    assert client_for(world.stranger).get(mine).status_code == 200


def test_an_officer_cannot_reach_another_office_s_document_through_his_own_application(
    world,  # noqa: F811
    application_b,
):
    foreign = application_b.documents.first()
    url = reverse(
        "admin:applications_application_document_file", args=[world.application.pk, foreign.pk]
    )

    assert client_for(world.officer_a).get(url).status_code == 404


def test_an_officer_cannot_refund_another_bill_s_payment_through_his_own_bill(
    world,  # noqa: F811
    application_b,
):
    other_bill = payment_services.bill_issue(application_id=application_b.pk)
    yusuf = world.supervisor_b
    url = reverse("admin:payments_bill_refund", args=[other_bill.pk, world.payment.pk])

    response = client_for(yusuf).post(url, {"amount": 1, "reason": "x"})

    assert response.status_code == 404
    assert not Payment.objects.filter(pk=world.payment.pk, refund__recorded_by=yusuf)
