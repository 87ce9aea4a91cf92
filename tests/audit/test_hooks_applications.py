"""Officers' work on applications is recorded once per action, with who, where from and
which office, and without the citizen's name, NIK or the officer's free text."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from applications import workflow
from applications.models import Document
from applications.workflow import Status
from audit.models import AuditEntry

from .conftest import ADDRESS, BROWSER, assert_no_personal_data, entries, only_entry

pytestmark = pytest.mark.django_db

SECRET_NOTE = "KTP 1802015205900001 atas nama Ani Lestari buram"


def move(client, application, to: str, note: str = ""):
    return client.post(
        reverse("admin:applications_application_move", args=[application.pk]),
        {"to": to, "note": note},
        REMOTE_ADDR=ADDRESS,
        HTTP_USER_AGENT=BROWSER,
    )


@pytest.fixture
def as_budi(client, budi):
    client.force_login(budi)
    return client


def test_the_citizens_and_the_systems_moves_are_not_staff_actions(ltg):
    workflow.transition(ltg, Status.AWAITING_PAYMENT, by=None)

    assert ltg.status == Status.AWAITING_PAYMENT  # sent by ani, then billed by the system
    assert not entries("status_move").exists()


def test_an_officers_move_is_recorded_with_the_office_and_address(as_budi, budi, ani, ltg):
    response = move(as_budi, ltg, Status.REJECTED, note=SECRET_NOTE)

    assert response.status_code == 302
    entry = only_entry("status_move")
    assert (entry.actor, entry.actor_role, entry.actor_email) == (budi, "officer", budi.email)
    assert (entry.office_id, entry.ip, entry.user_agent) == (ltg.office_id, ADDRESS, BROWSER)
    assert (entry.object_type, entry.object_id) == ("applications.application", str(ltg.pk))
    assert entry.object_label == ltg.reference
    assert entry.detail["from"] == Status.SUBMITTED and entry.detail["to"] == Status.REJECTED
    assert_no_personal_data(entry, ani)
    assert "buram" not in str(entry.detail)


def test_a_refused_move_leaves_no_entry(as_budi, ltg):
    response = move(as_budi, ltg, Status.REJECTED, note="")  # a reason is required

    assert response.status_code == 302
    assert ltg.__class__.objects.get(pk=ltg.pk).status == Status.SUBMITTED
    assert not entries("status_move").exists()


def test_a_move_rolled_back_with_the_callers_transaction_leaves_no_entry(budi, ltg):
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.transition(ltg, Status.REJECTED, by=budi, note="Dokumen palsu.")
        assert entries("status_move").count() == 1  # written inside the move's transaction
        raise RuntimeError("what came after the move failed")

    assert not AuditEntry.objects.exists()


def test_a_document_decision_is_recorded_without_the_reason(as_budi, budi, ani, ltg):
    document = ltg.documents.select_related("requirement").first()

    response = as_budi.post(
        reverse("admin:applications_application_document_review", args=[ltg.pk, document.pk]),
        {"decision": "reject", "reason": SECRET_NOTE},
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 302
    assert Document.objects.get(pk=document.pk).state == Document.State.REJECTED
    entry = only_entry("document_decision")
    assert (entry.actor, entry.office_id, entry.ip) == (budi, ltg.office_id, ADDRESS)
    assert (entry.object_type, entry.object_id) == ("applications.document", str(document.pk))
    assert entry.object_label == f"{ltg.reference} {document.requirement.code}"
    assert entry.detail == {"decision": "rejected", "requirement": document.requirement.code}
    assert_no_personal_data(entry, ani)
    assert "buram" not in str(entry.detail)


def test_an_accepted_document_is_recorded_as_accepted(as_budi, ltg):
    document = ltg.documents.first()

    as_budi.post(
        reverse("admin:applications_application_document_review", args=[ltg.pk, document.pk]),
        {"decision": "accept"},
    )

    assert only_entry("document_decision").detail["decision"] == "accepted"


def test_an_officer_of_another_office_cannot_decide_and_nothing_is_recorded(client, citra, ltg):
    client.force_login(citra)
    document = ltg.documents.first()

    response = client.post(
        reverse("admin:applications_application_document_review", args=[ltg.pk, document.pk]),
        {"decision": "accept"},
    )

    assert response.status_code == 404
    assert not AuditEntry.objects.exclude(action="login").exists()


def test_downloading_a_citizens_document_is_recorded(as_budi, budi, ani, ltg):
    document = ltg.documents.select_related("requirement").first()

    response = as_budi.get(
        reverse("admin:applications_application_document_file", args=[ltg.pk, document.pk]),
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 200
    entry = only_entry("document_downloaded")
    assert (entry.actor, entry.office_id, entry.ip) == (budi, ltg.office_id, ADDRESS)
    assert (entry.object_type, entry.object_id) == ("applications.document", str(document.pk))
    assert entry.object_label == f"{ltg.reference} {document.requirement.code}"
    assert_no_personal_data(entry, ani)


def test_a_download_refused_to_another_office_is_not_recorded(client, citra, ltg):
    client.force_login(citra)
    document = ltg.documents.first()

    response = client.get(
        reverse("admin:applications_application_document_file", args=[ltg.pk, document.pk])
    )

    assert response.status_code == 404
    assert not entries("document_downloaded").exists()
