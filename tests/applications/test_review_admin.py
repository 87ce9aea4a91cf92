"""The officers' console: scoped to the officer's offices, searchable by
reference, name and exact NIK, offering only legal moves, and every decision
going through the review services. The list costs the same number of queries
however many applications there are."""

from __future__ import annotations

import copy
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications import services
from applications.models import Application, Document, StatusEvent
from applications.workflow import Status
from tests.applications.conftest import advance, complete_draft
from tests.factories import UserFactory
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:applications_application_changelist")


def change_url(application: Application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def move_url(application: Application) -> str:
    return reverse("admin:applications_application_move", args=[application.pk])


def review_url(document: Document) -> str:
    return reverse(
        "admin:applications_application_document_review",
        args=[document.application_id, document.pk],
    )


def tracking_url(application: Application) -> str:
    return reverse("admin:applications_application_tracking", args=[application.pk])


def put_in(application: Application, status: str, *, resume: str = "") -> Application:
    """Arrange: set the status directly, as the database would hold it."""
    Application.objects.filter(pk=application.pk).update(status=status, resume_status=resume)
    application.refresh_from_db()
    return application


def said(response, message: str) -> bool:
    """The page shows `message` in the language it was served in."""
    return in_language(response.wsgi_request.LANGUAGE_CODE, message) in page_text(response)


def offered_moves(response) -> set[str]:
    return set(re.findall(r'name="to" value="([a-z_]+)"', response.content.decode()))


@pytest.fixture
def ltg(submitted) -> Application:
    """Ani's electronic passport application at office A (LTG), sent."""
    return submitted


@pytest.fixture
def other_ltg(office_a, regular_passport_service) -> Application:
    """Another citizen's application at office A."""
    citizen = UserFactory(full_name="Rudi Hartono")
    application = complete_draft(citizen, office_a, regular_passport_service)
    services.application_submit(application=application, by=citizen, declaration=True)
    return application


@pytest.fixture
def lbr(office_b, passport_service) -> Application:
    """A third citizen's application at office B (LBR)."""
    citizen = UserFactory(full_name="Sari Wulandari")
    application = complete_draft(citizen, office_b, passport_service)
    services.application_submit(application=application, by=citizen, declaration=True)
    return application


@pytest.fixture
def as_budi(client, budi):
    client.force_login(budi)
    return client


# --- Who sees what -------------------------------------------------------------------------


def test_an_officer_sees_his_offices_applications_and_not_another_offices(as_budi, ltg, lbr):
    response = as_budi.get(CHANGELIST)

    assert response.status_code == 200
    text = page_text(response)
    assert ltg.reference in text
    assert lbr.reference not in text
    assert lbr.full_name not in text


def test_drafts_are_not_in_the_officers_list(as_budi, ltg, ani, office_a, regular_passport_service):
    draft = services.application_start(
        user=ani, service=regular_passport_service, office=office_a, person=None
    )

    response = as_budi.get(CHANGELIST)

    assert ltg.reference in page_text(response)
    assert draft.reference not in page_text(response)


def test_a_supervisor_of_both_offices_sees_both(client, dewi, ltg, lbr):
    client.force_login(dewi)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert ltg.reference in page_text(response)
    assert lbr.reference in page_text(response)


def test_a_citizen_is_sent_to_the_admin_login(client, eko, ltg):
    client.force_login(eko)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_officer_of_another_office_cannot_open_the_application(client, citra, ltg):
    client.force_login(citra)

    response = client.get(change_url(ltg))

    assert response.status_code != 200
    followed = client.get(change_url(ltg), follow=True)
    assert ltg.reference not in page_text(followed)
    assert ltg.full_name not in page_text(followed)


def test_an_officer_of_another_office_cannot_move_the_application(client, citra, ltg):
    client.force_login(citra)

    response = client.post(move_url(ltg), {"to": Status.REJECTED, "note": "Tidak lengkap"})

    assert response.status_code == 404
    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED
    assert StatusEvent.objects.filter(application=ltg).count() == 1


def test_an_officer_of_another_office_cannot_review_a_document(client, citra, ltg):
    document = ltg.documents.first()
    client.force_login(citra)

    response = client.post(review_url(document), {"decision": "accept"})

    assert response.status_code == 404
    document.refresh_from_db()
    assert (document.state, document.reviewed_by) == (Document.State.PENDING, None)


def test_an_officer_of_another_office_cannot_download_a_document(client, citra, ltg):
    document = ltg.documents.first()
    client.force_login(citra)

    response = client.get(
        reverse("admin:applications_application_document_file", args=[ltg.pk, document.pk])
    )

    assert response.status_code == 404


def test_an_officer_of_another_office_cannot_record_a_tracking_number(client, citra, ltg):
    client.force_login(citra)

    response = client.post(tracking_url(ltg), {"courier": "JNE", "tracking_number": "X1"})

    assert response.status_code == 404
    assert Application.objects.get(pk=ltg.pk).tracking_number == ""


def test_a_supervisor_may_view_but_not_act(client, dewi, ltg):
    client.force_login(dewi)

    page = client.get(change_url(ltg))
    refused = client.post(move_url(ltg), {"to": Status.REJECTED, "note": "Tidak lengkap"})

    assert page.status_code == 200
    assert ltg.reference in page_text(page)
    assert offered_moves(page) == set()
    assert said(page, "You can view this application but not act on it.")
    assert refused.status_code == 403
    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED


# --- Search ------------------------------------------------------------------------------------


def results(response) -> list[Application]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_search_by_reference_finds_the_application(as_budi, ltg, other_ltg):
    assert results(as_budi.get(CHANGELIST, {"q": ltg.reference})) == [ltg]


def test_search_by_reference_ignores_case(as_budi, ltg, other_ltg):
    assert results(as_budi.get(CHANGELIST, {"q": ltg.reference.lower()})) == [ltg]


def test_search_by_name_finds_the_application(as_budi, ltg, other_ltg):
    assert results(as_budi.get(CHANGELIST, {"q": "Lestari"})) == [ltg]


@pytest.mark.parametrize(
    "typed", ["1802015205900001", "1802 0152 0590 0001", "1802.0152.0590.0001"]
)
def test_search_by_exact_nik_finds_the_application(as_budi, ltg, other_ltg, typed):
    assert results(as_budi.get(CHANGELIST, {"q": typed})) == [ltg]


def test_search_by_part_of_a_nik_finds_nothing(as_budi, ltg):
    assert results(as_budi.get(CHANGELIST, {"q": "180201520590"})) == []


def test_search_by_nik_stays_within_the_officers_offices(client, citra, ltg):
    client.force_login(citra)

    assert results(client.get(CHANGELIST, {"q": "1802015205900001"})) == []


# --- The buttons ---------------------------------------------------------------------------------

EXPECTED_BUTTONS = {
    Status.SUBMITTED: {"revision_requested", "rejected"},
    Status.AWAITING_PAYMENT: {"revision_requested"},
    Status.PAID: {"revision_requested", "rejected"},  # a passport needs the interview first
    Status.SCHEDULED: {"interviewed", "revision_requested"},
    Status.INTERVIEWED: {"approved", "revision_requested", "rejected"},
    Status.REVISION_REQUESTED: {"rejected"},
    Status.APPROVED: {"ready"},
    Status.READY: {"completed"},
    Status.COMPLETED: set(),
    Status.REJECTED: set(),
    Status.CANCELLED: set(),
    Status.EXPIRED: set(),
}


@pytest.mark.parametrize("status", list(EXPECTED_BUTTONS))
def test_only_the_legal_moves_are_offered_as_buttons(as_budi, ltg, status):
    put_in(ltg, status, resume=Status.SUBMITTED if status == Status.REVISION_REQUESTED else "")

    response = as_budi.get(change_url(ltg))

    assert response.status_code == 200
    assert offered_moves(response) == EXPECTED_BUTTONS[status]


@pytest.fixture
def paid_permit(ani, office_a, permit_service) -> Application:
    """Ani's visit stay permit extension at office A (no interview), paid, documents accepted."""
    application = advance(complete_draft(ani, office_a, permit_service), Status.PAID)
    assert application.status == Status.PAID
    return application


def test_approval_is_offered_after_payment_for_a_service_without_an_interview(as_budi, paid_permit):
    response = as_budi.get(change_url(paid_permit))

    assert response.status_code == 200
    assert offered_moves(response) == {"approved", "revision_requested", "rejected"}


def test_a_paid_permit_is_approved_from_the_admin(as_budi, paid_permit, budi):
    as_budi.post(move_url(paid_permit), {"to": Status.APPROVED, "note": "Lengkap"})

    assert Application.objects.get(pk=paid_permit.pk).status == Status.APPROVED
    event = StatusEvent.objects.get(application=paid_permit, to_status=Status.APPROVED)
    assert (event.from_status, event.by) == (Status.PAID, budi)


def test_approving_a_paid_passport_before_the_interview_is_refused_when_posted(as_budi, ltg):
    put_in(ltg, Status.PAID)
    ltg.documents.update(state=Document.State.ACCEPTED)  # refused for the interview, not these

    response = as_budi.post(move_url(ltg), {"to": Status.APPROVED, "note": ""}, follow=True)

    assert Application.objects.get(pk=ltg.pk).status == Status.PAID
    assert not StatusEvent.objects.filter(application=ltg, to_status=Status.APPROVED).exists()
    assert said(response, "This service needs an interview before it can be approved.")


def test_a_move_that_is_not_offered_is_refused_when_posted(as_budi, ltg):
    ltg.documents.update(state=Document.State.ACCEPTED)  # refused by the workflow, not the check

    response = as_budi.post(move_url(ltg), {"to": Status.APPROVED, "note": ""}, follow=True)

    assert response.status_code == 200
    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED
    assert not StatusEvent.objects.filter(application=ltg, to_status=Status.APPROVED).exists()


def test_a_move_outside_the_officers_buttons_is_unknown(as_budi, ltg):
    as_budi.post(move_url(ltg), {"to": Status.AWAITING_PAYMENT})

    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED


# --- Decisions -----------------------------------------------------------------------------------


def test_asking_for_a_revision_marks_the_chosen_documents_and_moves_the_status(as_budi, ltg, budi):
    ktp = ltg.documents.get(requirement__code="ktp")
    kk = ltg.documents.get(requirement__code="kk")

    response = as_budi.post(
        move_url(ltg),
        {"to": Status.REVISION_REQUESTED, "note": "Foto KTP buram", "documents": [ktp.pk]},
    )

    assert response.status_code == 302
    ltg.refresh_from_db()
    assert ltg.status == Status.REVISION_REQUESTED
    assert ltg.resume_status == Status.SUBMITTED
    ktp.refresh_from_db()
    kk.refresh_from_db()
    assert (ktp.state, ktp.rejection_reason, ktp.reviewed_by) == (
        Document.State.REJECTED,
        "Foto KTP buram",
        budi,
    )
    assert kk.state == Document.State.PENDING
    event = StatusEvent.objects.filter(application=ltg).last()
    assert (event.to_status, event.by, event.actor) == (Status.REVISION_REQUESTED, budi, "officer")
    assert "Foto KTP buram" in event.note
    assert ktp.requirement.name_id in event.note  # written in ani's language


def test_asking_for_a_revision_with_neither_reason_nor_documents_is_refused(as_budi, ltg):
    as_budi.post(move_url(ltg), {"to": Status.REVISION_REQUESTED, "note": ""})

    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED


def test_a_document_of_another_application_cannot_be_marked(as_budi, ltg, other_ltg):
    foreign = other_ltg.documents.first()

    as_budi.post(
        move_url(ltg),
        {"to": Status.REVISION_REQUESTED, "note": "Buram", "documents": [foreign.pk]},
    )

    foreign.refresh_from_db()
    assert foreign.state == Document.State.PENDING


def test_approving_is_refused_while_a_document_is_not_accepted(as_budi, ltg):
    put_in(ltg, Status.INTERVIEWED)
    ltg.documents.exclude(requirement__code="kk").update(state=Document.State.ACCEPTED)

    response = as_budi.post(move_url(ltg), {"to": Status.APPROVED}, follow=True)

    assert Application.objects.get(pk=ltg.pk).status == Status.INTERVIEWED
    assert not StatusEvent.objects.filter(application=ltg, to_status=Status.APPROVED).exists()
    assert said(response, "Accept every document before approving.")


def test_approving_with_every_document_accepted_succeeds(as_budi, ltg, budi):
    put_in(ltg, Status.INTERVIEWED)
    ltg.documents.update(state=Document.State.ACCEPTED)

    as_budi.post(move_url(ltg), {"to": Status.APPROVED, "note": "Lengkap"})

    assert Application.objects.get(pk=ltg.pk).status == Status.APPROVED
    event = StatusEvent.objects.get(application=ltg, to_status=Status.APPROVED)
    assert (event.by, event.actor, event.note) == (budi, "officer", "Lengkap")


def test_rejecting_needs_a_reason(as_budi, ltg):
    as_budi.post(move_url(ltg), {"to": Status.REJECTED, "note": "  "})

    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED


def test_an_officer_accepts_a_document(as_budi, ltg, budi):
    document = ltg.documents.first()

    response = as_budi.post(review_url(document), {"decision": "accept"})

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.state == Document.State.ACCEPTED
    assert document.reviewed_by == budi
    assert document.reviewed_at is not None
    assert document.rejection_reason == ""


def test_an_officer_rejects_a_document_with_a_reason(as_budi, ltg, budi):
    document = ltg.documents.first()

    as_budi.post(review_url(document), {"decision": "reject", "reason": "Tidak terbaca"})

    document.refresh_from_db()
    assert (document.state, document.rejection_reason, document.reviewed_by) == (
        Document.State.REJECTED,
        "Tidak terbaca",
        budi,
    )
    assert Application.objects.get(pk=ltg.pk).status == Status.SUBMITTED


def test_rejecting_a_document_without_a_reason_is_refused(as_budi, ltg):
    document = ltg.documents.first()

    response = as_budi.post(review_url(document), {"decision": "reject", "reason": ""}, follow=True)

    document.refresh_from_db()
    assert document.state == Document.State.PENDING
    assert said(response, "Give a reason; the applicant will read it.")


def test_documents_of_a_finished_application_cannot_be_reviewed(as_budi, ltg):
    put_in(ltg, Status.APPROVED)
    document = ltg.documents.first()

    as_budi.post(review_url(document), {"decision": "reject", "reason": "Terlambat"})

    document.refresh_from_db()
    assert document.state == Document.State.PENDING


def test_an_accepted_then_rejected_document_keeps_the_latest_decision(as_budi, ltg):
    document = ltg.documents.first()

    as_budi.post(review_url(document), {"decision": "accept"})
    as_budi.post(review_url(document), {"decision": "reject", "reason": "Salah berkas"})

    document.refresh_from_db()
    assert (document.state, document.rejection_reason) == (
        Document.State.REJECTED,
        "Salah berkas",
    )


# --- Delivery by post ----------------------------------------------------------------------------


@pytest.fixture
def ready_by_post(draft, ani) -> Application:
    advance(draft, Status.READY)
    services.delivery_choose(application=draft, by=ani, method="post", address="Jl. Kirim No. 5")
    return draft


def test_a_posted_document_needs_a_tracking_number_before_completion(as_budi, ready_by_post):
    response = as_budi.post(move_url(ready_by_post), {"to": Status.COMPLETED}, follow=True)

    assert Application.objects.get(pk=ready_by_post.pk).status == Status.READY
    assert said(response, "Record the courier's tracking number first.")


def test_the_tracking_form_is_shown_for_a_ready_document_sent_by_post(as_budi, ready_by_post):
    response = as_budi.get(change_url(ready_by_post))

    assert 'name="tracking_number"' in response.content.decode()


def test_the_tracking_number_is_recorded_then_the_application_completed(
    as_budi, ready_by_post, budi
):
    as_budi.post(tracking_url(ready_by_post), {"courier": "JNE", "tracking_number": "JNE0042"})

    ready_by_post.refresh_from_db()
    assert (ready_by_post.courier, ready_by_post.tracking_number) == ("JNE", "JNE0042")
    assert ready_by_post.status == Status.READY

    as_budi.post(move_url(ready_by_post), {"to": Status.COMPLETED})

    ready_by_post.refresh_from_db()
    assert ready_by_post.status == Status.COMPLETED
    assert ready_by_post.completed_at is not None
    event = StatusEvent.objects.filter(application=ready_by_post).last()
    assert (event.to_status, event.by) == (Status.COMPLETED, budi)
    assert "JNE0042" in event.note


def test_an_empty_tracking_number_is_refused(as_budi, ready_by_post):
    as_budi.post(tracking_url(ready_by_post), {"courier": "JNE", "tracking_number": "  "})

    assert Application.objects.get(pk=ready_by_post.pk).tracking_number == ""


def test_no_tracking_number_for_a_document_picked_up_at_the_office(as_budi, draft):
    advance(draft, Status.READY)

    as_budi.post(tracking_url(draft), {"courier": "JNE", "tracking_number": "JNE0042"})

    assert Application.objects.get(pk=draft.pk).tracking_number == ""


def test_a_document_picked_up_at_the_office_is_completed_without_tracking(as_budi, draft):
    advance(draft, Status.READY)

    as_budi.post(move_url(draft), {"to": Status.COMPLETED})

    draft.refresh_from_db()
    assert draft.status == Status.COMPLETED
    assert draft.delivery_method == Application.Delivery.PICKUP


# --- Notes the portal writes are in the applicant's language ------------------------------------


@pytest.fixture
def ani_reads_english(ani):
    ani.preferred_language = "en"
    ani.save(update_fields=["preferred_language"])
    return ani


def test_the_revision_document_list_is_in_the_applicants_language(as_budi, ltg, ani_reads_english):
    ktp = ltg.documents.select_related("requirement").get(requirement__code="ktp")

    as_budi.post(
        move_url(ltg),
        {"to": Status.REVISION_REQUESTED, "note": "Foto KTP buram", "documents": [ktp.pk]},
    )

    event = StatusEvent.objects.get(application=ltg, to_status=Status.REVISION_REQUESTED)
    listed = in_language("en", "Documents to replace: %(names)s.") % {
        "names": ktp.requirement.name_en
    }
    assert listed != in_language("id", "Documents to replace: %(names)s.") % {
        "names": ktp.requirement.name_id
    }
    assert event.note == f"Foto KTP buram\n{listed}"


def test_the_revision_document_list_stays_indonesian_for_an_indonesian_reader(client, ltg, budi):
    budi.preferred_language = "en"  # the officer works in English; ani reads Indonesian
    budi.save(update_fields=["preferred_language"])
    client.force_login(budi)
    ktp = ltg.documents.select_related("requirement").get(requirement__code="ktp")

    response = client.post(
        move_url(ltg),
        {"to": Status.REVISION_REQUESTED, "note": "", "documents": [ktp.pk]},
        follow=True,
    )

    assert response.wsgi_request.LANGUAGE_CODE == "en"

    event = StatusEvent.objects.get(application=ltg, to_status=Status.REVISION_REQUESTED)
    assert event.note == in_language("id", "Documents to replace: %(names)s.") % {
        "names": ktp.requirement.name_id
    }


def test_the_revision_sent_note_is_in_the_applicants_language(ltg, budi, ani_reads_english):
    advance(ltg, Status.REVISION_REQUESTED, officer=budi)

    services.application_resubmit(application=ltg, by=ltg.applicant)

    event = StatusEvent.objects.filter(application=ltg).last()
    assert event.to_status == Status.SUBMITTED
    assert event.note == in_language("en", "Revision sent") != in_language("id", "Revision sent")


def test_the_completion_note_is_in_the_applicants_language(as_budi, draft, ani_reads_english):
    advance(draft, Status.READY)

    as_budi.post(move_url(draft), {"to": Status.COMPLETED})

    event = StatusEvent.objects.get(application=draft, to_status=Status.COMPLETED)
    assert event.note == in_language("en", "Handed over at the office.")
    assert event.note != in_language("id", "Handed over at the office.")


# --- The list's cost ------------------------------------------------------------------------------


def make_copies(application: Application, count: int, *, start: int) -> None:
    """`count` more sent applications like `application`, each with its own reference."""
    rows = []
    for number in range(start, start + count):
        row = copy.copy(application)
        row.pk = None
        row._state.adding = True
        row.reference = f"PSP-LTG-26-Q{number:05d}"
        rows.append(row)
    Application.objects.bulk_create(rows)


def changelist_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_10_and_500_applications(as_budi, ltg):
    make_copies(ltg, 9, start=1)
    assert Application.objects.exclude(status=Status.DRAFT).count() == 10
    changelist_queries(as_budi)  # warm: per-person cached figures (the bell) are filled once
    small = changelist_queries(as_budi)
    small_search = changelist_queries(as_budi, q="Lestari")

    make_copies(ltg, 490, start=100)
    assert Application.objects.exclude(status=Status.DRAFT).count() == 500
    large = changelist_queries(as_budi)
    large_search = changelist_queries(as_budi, q="Lestari")

    assert large == small
    assert large_search == small_search
