"""Who may open what: the IDOR walk of TRUST.md, "Access".

Every citizen URL that names an application, a document or a family member
is tried by a stranger (eko), by anonymous visitors and by officers. Other
people's objects must not exist for them (404), and nothing may change.
Downloads are private attachments; citizen POSTs never set status, office,
fee or reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.urls import resolve, reverse

from applications import services
from applications.models import Application, Document, Person, Receipt
from applications.workflow import Status
from tests.applications.conftest import advance, complete_draft

pytestmark = pytest.mark.django_db

RECEIPT_PDF = b"%PDF-1.4\n% tanda terima\n%%EOF\n"


@dataclass
class World:
    """Ani's objects: a complete draft, a sent application with a receipt, a child."""

    draft: Application
    sent: Application
    document: Document
    person: Person


@pytest.fixture
def world(ani, office_a, passport_service, permit_service, tasks_inline) -> World:
    draft = complete_draft(ani, office_a, passport_service)
    sent = advance(complete_draft(ani, office_a, permit_service), Status.SUBMITTED)
    Receipt.objects.create(
        application=sent,
        file=ContentFile(RECEIPT_PDF, name="receipts/tanda-terima.pdf"),
        sha256=hashlib.sha256(RECEIPT_PDF).hexdigest(),
    )
    person = services.person_save(
        owner=ani,
        data={
            "relationship": Person.Relationship.CHILD,
            "full_name": "Bima Lestari",
            "nik": "1802011203150002",
            "date_of_birth": "2015-03-12",
            "place_of_birth": "Gunung Sugih",
            "sex": "L",
            "address": "Jl. Merdeka No. 10",
            "father_name": "Rudi Hartono",
            "mother_name": "Ani Lestari",
        },
    )
    return World(draft=draft, sent=sent, document=sent.documents.first(), person=person)


def applicant_data(**extra) -> dict:
    return {
        "full_name": "Nama Palsu",
        "nik": "1802015205900001",
        "date_of_birth": "1990-05-12",
        "place_of_birth": "Kota Lain",
        "sex": "P",
        "address": "Jl. Diubah No. 1",
        "father_name": "Ayah Diubah",
        "mother_name": "Ibu Diubah",
        **extra,
    }


# Each URL: how to build it from the world, which methods the view takes, and a POST
# body that would change something if the ownership check were missing.
URLS = {
    "detail": (lambda w: reverse("applications:detail", args=[w.sent.reference]), "GET POST", {}),
    "step-1": (
        lambda w: reverse("applications:step", args=[w.draft.reference, 1]),
        "GET POST",
        applicant_data(),
    ),
    "step-2": (
        lambda w: reverse("applications:step", args=[w.draft.reference, 2]),
        "GET POST",
        {"travel_purpose": "work", "destination": "Jepang"},
    ),
    "step-3": (
        lambda w: reverse("applications:step", args=[w.draft.reference, 3]),
        "GET POST",
        {},
    ),
    "step-4": (
        lambda w: reverse("applications:step", args=[w.draft.reference, 4]),
        "GET POST",
        {"declaration": "on"},
    ),
    "upload": (
        lambda w: reverse(
            "applications:upload",
            args=[w.draft.reference, w.draft.service.requirements.first().pk],
        ),
        "POST",
        {},
    ),
    "document": (
        lambda w: reverse("applications:document", args=[w.sent.reference, w.document.pk]),
        "GET POST",
        {},
    ),
    "receipt": (lambda w: reverse("applications:receipt", args=[w.sent.reference]), "GET POST", {}),
    "resubmit": (lambda w: reverse("applications:resubmit", args=[w.sent.reference]), "POST", {}),
    "cancel": (lambda w: reverse("applications:cancel", args=[w.draft.reference]), "GET POST", {}),
    "cancel-sent": (
        lambda w: reverse("applications:cancel", args=[w.sent.reference]),
        "GET POST",
        {},
    ),
    "delivery": (
        lambda w: reverse("applications:delivery", args=[w.sent.reference]),
        "GET POST",
        {"delivery_method": "post", "delivery_address": "Alamat penyerang"},
    ),
    "family-edit": (
        lambda w: reverse("applications:family_edit", args=[w.person.pk]),
        "GET POST",
        {**applicant_data(nik="1802011203150002"), "relationship": "other"},
    ),
    "family-delete": (
        lambda w: reverse("applications:family_delete", args=[w.person.pk]),
        "POST",
        {},
    ),
}


def call(client, world: World, name: str, method: str):
    build, _, body = URLS[name]
    url = build(world)
    if method == "GET":
        return client.get(url)
    return client.post(url, body)


def drain(response) -> None:
    """Read a file response to the end, as a browser does.

    The test client closes a streaming response (and fires request_finished)
    with Django's connection cleanup switched off only while it is read; a
    bare close() afterwards would close the test's PostgreSQL connection.
    """
    if response.streaming:
        b"".join(response.streaming_content)


def snapshot(world: World) -> dict:
    """Everything a stranger's request could have changed."""
    draft = Application.objects.get(pk=world.draft.pk)
    sent = Application.objects.get(pk=world.sent.pk)
    return {
        "draft": (draft.status, draft.full_name, draft.place_of_birth, draft.destination),
        "sent": (sent.status, sent.delivery_method, sent.delivery_address),
        "documents": sorted(
            Document.objects.filter(application__applicant=world.draft.applicant).values_list(
                "pk", "file", "sha256"
            )
        ),
        "person": list(Person.objects.filter(pk=world.person.pk).values_list("full_name")),
    }


def test_the_walk_covers_every_object_url_in_the_urlconf(world):
    """A new URL with an object id in applications/urls.py must join this walk."""
    from applications.urls import urlpatterns

    object_keys = {"reference", "requirement_id", "document_id", "person_id"}
    with_ids = {p.name for p in urlpatterns if object_keys & set(p.pattern.converters)}
    walked = {resolve(build(world)).url_name for build, _, _ in URLS.values()}

    assert walked == with_ids
    steps = {resolve(build(world)).kwargs.get("number") for build, _, _ in URLS.values()}
    assert {1, 2, 3, 4} <= steps


def walk_as(client, world: World, methods=("GET", "POST"), skip=()) -> dict[str, tuple]:
    """Call every object URL with every method it takes: {"name METHOD": (status, changed)}."""
    seen = {}
    for name, (_, allowed, _) in URLS.items():
        for method in allowed.split():
            if method not in methods or name in skip:
                continue
            before = snapshot(world)
            response = call(client, world, name, method)
            seen[f"{name} {method}"] = (response.status_code, snapshot(world) != before)
            drain(response)
    return seen


def test_the_owner_reaches_every_url_of_the_walk(client, ani, world):
    """The control: each URL names a real object, so a 404 below means 'not yours'."""
    client.force_login(ani)

    seen = walk_as(client, world, methods=("GET",))
    seen.update(walk_as(client, world, methods=("POST",), skip=("cancel", "family-delete")))

    assert {url: status for url, (status, _) in seen.items() if status == 404} == {}


def test_a_stranger_gets_404_for_every_one_of_ani_s_objects_and_changes_nothing(client, eko, world):
    client.force_login(eko)

    seen = walk_as(client, world)

    assert {url: result for url, result in seen.items() if result != (404, False)} == {}
    assert len(seen) == sum(len(allowed.split()) for _, allowed, _ in URLS.values())


@pytest.mark.parametrize("name", [n for n, (_, allowed, _) in URLS.items() if allowed == "POST"])
def test_a_post_only_url_answers_a_stranger_s_get_as_for_an_object_that_does_not_exist(
    client, eko, world, name
):
    client.force_login(eko)
    real = call(client, world, name, "GET")
    made_up = client.get(
        URLS[name][0](world).replace(world.draft.reference, "PSP-LTG-26-ZZZZZZ")
        .replace(world.sent.reference, "ITK-LTG-26-ZZZZZZ")
        .replace(f"/{world.person.pk}/", "/999999/")
    )  # fmt: skip

    assert real.status_code == made_up.status_code == 405


def test_an_anonymous_visitor_is_sent_to_login_everywhere_and_changes_nothing(client, world):
    seen = walk_as(client, world)

    assert {url: result for url, result in seen.items() if result != (302, False)} == {}
    for name, (build, _, _) in URLS.items():
        response = client.get(build(world))
        assert response["Location"].startswith(f"{reverse('accounts:login')}?next="), name


def test_an_officer_of_the_office_gets_404_through_the_citizen_urls(client, budi, world):
    client.force_login(budi)

    seen = walk_as(client, world)

    assert {url: result for url, result in seen.items() if result != (404, False)} == {}


def test_an_officer_of_another_office_gets_404_everywhere(client, citra, world):
    client.force_login(citra)

    seen = walk_as(client, world)

    assert {url: result for url, result in seen.items() if result != (404, False)} == {}


def test_an_officer_of_the_office_opens_documents_from_the_admin_not_the_citizen_url(
    client, budi, world
):
    """access.document_for: only the owner; officers use the admin's checked view."""
    client.force_login(budi)

    assert client.get(world.document.get_absolute_url()).status_code == 404
    admin_url = reverse(
        "admin:applications_application_document_file",
        args=[world.document.application_id, world.document.pk],
    )
    response = client.get(admin_url)

    assert response.status_code == 200
    drain(response)


def test_a_document_id_under_another_reference_is_not_found(client, ani, eko, world, office_a,
                                                           passport_service):  # fmt: skip
    eko_draft = services.application_start(
        user=eko, service=passport_service, office=office_a, person=None
    )
    client.force_login(eko)

    response = client.get(
        reverse("applications:document", args=[eko_draft.reference, world.document.pk])
    )
    assert response.status_code == 404

    client.force_login(ani)
    response = client.get(
        reverse("applications:document", args=[world.draft.reference, world.document.pk])
    )
    assert response.status_code == 404


def test_a_stranger_cannot_upload_into_ani_s_draft_even_with_a_valid_file(
    client, eko, world, _private_files
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.applications.conftest import png_bytes

    requirement = world.draft.service.requirements.first()
    files_before = {p for p in _private_files.rglob("*") if p.is_file()}
    client.force_login(eko)

    response = client.post(
        reverse("applications:upload", args=[world.draft.reference, requirement.pk]),
        {f"doc{requirement.pk}-file": SimpleUploadedFile("x.png", png_bytes())},
    )

    assert response.status_code == 404
    assert {p for p in _private_files.rglob("*") if p.is_file()} == files_before


# --- Downloads -------------------------------------------------------------------------------


def test_the_owner_downloads_a_document_as_a_private_attachment(client, ani, world):
    client.force_login(ani)
    document = world.document

    response = client.get(document.get_absolute_url())

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{world.sent.reference}-{document.requirement_id}.png"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "image/png"
    with document.file.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
    drain(response)


def test_the_download_name_never_comes_from_the_upload(client, ani, world):
    Document.objects.filter(pk=world.document.pk).update(original_name='evil".html')
    client.force_login(ani)

    response = client.get(world.document.get_absolute_url())

    assert "evil" not in response["Content-Disposition"]
    drain(response)


def test_the_owner_downloads_the_receipt_as_a_private_attachment(client, ani, world):
    client.force_login(ani)

    response = client.get(reverse("applications:receipt", args=[world.sent.reference]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="tanda-terima-{world.sent.reference}.pdf"'
    )
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == RECEIPT_PDF
    drain(response)


def test_a_draft_has_no_receipt_to_download(client, ani, world):
    client.force_login(ani)

    response = client.get(reverse("applications:receipt", args=[world.draft.reference]))

    assert response.status_code == 404


def test_a_missing_file_answers_404_not_500(client, ani, world):
    world.document.file.delete(save=False)
    client.force_login(ani)

    response = client.get(world.document.get_absolute_url())

    assert response.status_code == 404


def test_with_an_accel_prefix_nginx_sends_the_document(client, ani, world, settings):
    settings.PRIVATE_FILES_ACCEL_PREFIX = "/_private"
    client.force_login(ani)

    response = client.get(world.document.get_absolute_url())

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_private/{world.document.file.name}"
    assert response.content == b""
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_with_an_accel_prefix_nginx_sends_the_receipt(client, ani, world, settings):
    settings.PRIVATE_FILES_ACCEL_PREFIX = "/_private/"
    client.force_login(ani)

    response = client.get(reverse("applications:receipt", args=[world.sent.reference]))

    assert response["X-Accel-Redirect"] == f"/_private/{world.sent.receipt.file.name}"
    assert response.content == b""


def test_with_an_accel_prefix_a_stranger_still_gets_404(client, eko, world, settings):
    settings.PRIVATE_FILES_ACCEL_PREFIX = "/_private"
    client.force_login(eko)

    response = client.get(world.document.get_absolute_url())

    assert response.status_code == 404
    assert not response.has_header("X-Accel-Redirect")


# --- Mass assignment: citizen POSTs set only the fields their form lists ------------------------

FORGED = {
    "status": "completed",
    "fee_amount": "1",
    "reference": "PSP-LTG-26-HACKED",
    "step_reached": "9",
    "submitted_at": "2020-01-01T00:00:00",
    "due_date": "2020-01-02",
    "resume_status": "approved",
}


@pytest.fixture
def forged(office_b, eko):
    return {**FORGED, "office": str(office_b.pk), "applicant": str(eko.pk)}


def assert_untouched(application: Application, *, office, applicant) -> None:
    application.refresh_from_db()
    assert application.office == office
    assert application.applicant == applicant
    assert application.reference != "PSP-LTG-26-HACKED"
    assert application.fee_amount in (None, application.service.fee_on(application.created_at))
    assert application.status in (Status.DRAFT, Status.SUBMITTED)
    assert application.step_reached <= 4


def test_step_1_ignores_status_office_fee_and_reference(client, ani, world, office_a, forged):
    client.force_login(ani)
    reference = world.draft.reference

    response = client.post(
        reverse("applications:step", args=[reference, 1]), {**applicant_data(), **forged}
    )

    assert response.status_code == 302
    application = Application.objects.get(pk=world.draft.pk)
    assert application.reference == reference
    assert application.status == Status.DRAFT
    assert application.fee_amount is None
    assert application.place_of_birth == "Kota Lain"  # the listed fields were saved
    assert application.full_name == "Ani Lestari"  # fixed for the account holder
    assert_untouched(application, office=office_a, applicant=ani)


def test_step_2_ignores_status_office_fee_and_reference(client, ani, world, office_a, forged):
    client.force_login(ani)

    response = client.post(
        reverse("applications:step", args=[world.draft.reference, 2]),
        {"travel_purpose": "work", "destination": "Jepang", **forged},
    )

    assert response.status_code == 302
    application = Application.objects.get(pk=world.draft.pk)
    assert application.destination == "Jepang"
    assert application.status == Status.DRAFT
    assert application.fee_amount is None
    assert_untouched(application, office=office_a, applicant=ani)


def test_step_3_ignores_forged_fields(client, ani, world, office_a, forged):
    client.force_login(ani)

    client.post(reverse("applications:step", args=[world.draft.reference, 3]), forged)

    application = Application.objects.get(pk=world.draft.pk)
    assert application.status == Status.DRAFT
    assert_untouched(application, office=office_a, applicant=ani)


def test_sending_fixes_the_fee_from_the_tariff_not_from_the_post(
    client, ani, world, office_a, forged
):
    client.force_login(ani)

    response = client.post(
        reverse("applications:step", args=[world.draft.reference, 4]),
        {"declaration": "on", **forged},
    )

    application = Application.objects.get(pk=world.draft.pk)
    assert response.status_code == 302
    assert application.status == Status.SUBMITTED
    assert application.fee_amount == application.service.fee_on(application.created_at.date())
    assert application.fee_amount > 1
    assert application.office == office_a
    assert application.reference == world.draft.reference
    assert application.submitted_at.year >= 2026


def test_the_delivery_choice_ignores_forged_status(client, ani, budi, world, office_a, forged):
    advance(Application.objects.get(pk=world.sent.pk), Status.APPROVED, officer=budi)
    client.force_login(ani)

    client.post(
        reverse("applications:delivery", args=[world.sent.reference]),
        {"delivery_method": "pickup", **forged},
    )

    application = Application.objects.get(pk=world.sent.pk)
    assert application.status == Status.APPROVED
    assert application.delivery_method == "pickup"
    assert application.office == office_a


def test_a_family_member_cannot_be_moved_to_another_account(client, ani, eko, world):
    client.force_login(ani)

    client.post(
        reverse("applications:family_edit", args=[world.person.pk]),
        {
            **applicant_data(nik="1802011203150002", full_name="Bima L."),
            "relationship": "child",
            "owner": str(eko.pk),
        },
    )

    person = Person.objects.get(pk=world.person.pk)
    assert person.owner == ani
    assert person.full_name == "Bima L."


def test_the_account_holder_cannot_be_edited_as_a_family_member(client, ani, world):
    self_person = Person.objects.get(owner=ani, relationship=Person.Relationship.SELF)
    client.force_login(ani)

    assert client.get(reverse("applications:family_edit", args=[self_person.pk])).status_code == 404
    client.post(reverse("applications:family_delete", args=[self_person.pk]))
    assert Person.objects.filter(pk=self_person.pk).exists()
