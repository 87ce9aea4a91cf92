"""Races on real PostgreSQL (SQLite proves nothing here): threads released
together by a barrier, then the invariants checked. Two officers approving
at once give one approval and one clear refusal; two sends give one
submission; double starts give one draft; the family limit holds."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from applications import review, services, workflow
from applications.models import Application, Document, Person, StatusEvent
from applications.workflow import Status
from imigrasi.errors import ServiceError
from offices import roles
from tests.applications.conftest import advance, complete_draft
from tests.factories import StaffFactory
from tests.utils import OK, together

# Committed rows are needed for other connections to see them (transaction=True).
# The flush that ends such a test also empties what data migrations seeded (the
# service catalogue, the role groups): serialized_rollback puts them back.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def fajar(office_a):
    """A second officer of office A."""
    return StaffFactory(email="fajar@example.id", role=roles.OFFICER, offices=[office_a])


@pytest.fixture
def interviewed(ani, office_a, passport_service) -> Application:
    """Ani's application, interviewed, every document accepted: ready to approve."""
    application = complete_draft(ani, office_a, passport_service)
    return advance(application, Status.INTERVIEWED)


def approve(application_id: int, officer) -> Callable[[], None]:
    def call() -> None:
        application = Application.objects.get(pk=application_id)
        review.application_approve(application=application, by=officer, note="Disetujui")

    return call


def test_two_officers_approving_at_once_make_one_approval(interviewed, budi, fajar):
    outcomes = together(approve(interviewed.pk, budi), approve(interviewed.pk, fajar))

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == sorted([OK, ServiceError.__name__]), outcomes
    approvals = StatusEvent.objects.filter(application=interviewed, to_status=Status.APPROVED)
    assert approvals.count() == 1
    winner = approvals.get().by
    assert winner in (budi, fajar)
    assert Application.objects.get(pk=interviewed.pk).status == Status.APPROVED


def test_one_officer_double_clicking_approve_makes_one_approval(interviewed, budi):
    outcomes = together(*(approve(interviewed.pk, budi) for _ in range(4)))

    assert [kind for kind, _ in outcomes].count(OK) == 1, outcomes
    assert (
        StatusEvent.objects.filter(application=interviewed, to_status=Status.APPROVED).count() == 1
    )


def test_two_sends_at_once_make_one_submission(ani, office_a, passport_service):
    draft = complete_draft(ani, office_a, passport_service)

    def send() -> bool:
        application = Application.objects.get(pk=draft.pk)
        return services.application_submit(application=application, by=ani, declaration=True)

    outcomes = together(send, send)

    assert sorted(outcomes, key=str) == [(OK, False), (OK, True)], outcomes
    events = StatusEvent.objects.filter(application=draft, to_status=Status.SUBMITTED)
    assert events.count() == 1
    assert Application.objects.get(pk=draft.pk).status == Status.SUBMITTED


def test_many_starts_at_once_open_one_draft(ani, office_a, passport_service):
    def start() -> int:
        return services.application_start(
            user=ani, service=passport_service, office=office_a, person=None
        ).pk

    outcomes = together(*(start for _ in range(6)))

    assert all(kind == OK for kind, _ in outcomes), outcomes
    assert len({pk for _, pk in outcomes}) == 1
    assert Application.objects.filter(applicant=ani, status=Status.DRAFT).count() == 1
    assert Person.objects.filter(owner=ani, relationship=Person.Relationship.SELF).count() == 1


def test_adding_family_members_at_once_stops_at_five(ani):
    def data(number: int) -> dict:
        return {"relationship": "child", "full_name": f"Anak {number}", "nik": ""}

    for number in range(4):
        services.person_save(owner=ani, data=data(number))

    outcomes = together(
        *(lambda n=n: services.person_save(owner=ani, data=data(n)) for n in range(4, 8))
    )

    assert [kind for kind, _ in outcomes].count(OK) == 1, outcomes
    assert Person.objects.filter(owner=ani).count() == Person.MAX_FAMILY


def test_a_document_rejected_while_approving_cannot_leave_an_approved_application_with_it(
    interviewed, budi, fajar, monkeypatch
):
    """The rejection waits for the approval's lock, then finds it approved and is refused."""
    checked, rejected = threading.Event(), threading.Event()
    original = workflow.transition

    def transition_after_the_rejection_tried(*args, **kwargs):
        # The approval's document check has passed: give the rejection its chance.
        checked.set()
        rejected.wait(2)
        return original(*args, **kwargs)

    monkeypatch.setattr(workflow, "transition", transition_after_the_rejection_tried)
    document = interviewed.documents.first()

    def reject() -> None:
        checked.wait(10)
        try:
            review.document_review(document=document, by=fajar, accept=False, reason="Buram")
        finally:
            rejected.set()

    outcomes = together(approve(interviewed.pk, budi), reject)

    # Invariant: an approved application has every document accepted.
    application = Application.objects.get(pk=interviewed.pk)
    states = set(application.documents.values_list("state", flat=True))
    assert application.status == Status.APPROVED, outcomes
    assert states == {Document.State.ACCEPTED}, outcomes
    assert [kind for kind, _ in outcomes] == [OK, "ServiceError"], outcomes
