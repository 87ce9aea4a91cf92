"""The status machine: every legal move works for who may make it and leaves one
event; every other move, or the right move by the wrong person, is refused and
leaves nothing behind; the applicant hears of each move; nothing else writes
the status."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.contrib.contenttypes.models import ContentType
from django.forms import modelform_factory
from django.urls import reverse
from django.utils import timezone

from applications import services, workflow
from applications.models import Application, StatusEvent
from applications.workflow import MOVES, RESUBMIT_TARGETS, Status
from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification
from tests.applications.conftest import advance
from tests.factories import StaffFactory
from tests.utils import in_language

pytestmark = pytest.mark.django_db

ALL = list(Status)
LEGAL = sorted(
    ((frm, to, actor) for (frm, to), who in MOVES.items() for actor in sorted(who)),
    key=lambda move: (ALL.index(move[0]), ALL.index(move[1]), move[2]),
)
ILLEGAL = [(frm, to) for frm, to in itertools.product(ALL, ALL) if (frm, to) not in MOVES]
# A revision may go "back" only to where it was: every other resubmit target.
WRONG_RESUMES = [
    (resume, to)
    for resume, to in itertools.product(
        sorted(RESUBMIT_TARGETS, key=ALL.index), sorted(RESUBMIT_TARGETS, key=ALL.index)
    )
    if resume != to
]


@pytest.fixture
def application(ani, office_a, passport_service) -> Application:
    """A bare draft of ani's at office A (the workflow does not look at its contents)."""
    return services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )


@pytest.fixture
def permit_application(ani, office_a, permit_service) -> Application:
    """A bare draft of ani's for a service without an interview (visit stay permit)."""
    return services.application_start(
        user=ani, service=permit_service, office=office_a, person=None
    )


@pytest.fixture
def people(ani, budi) -> dict:
    """One user for each role that can move an application (None: the system)."""
    return {workflow.CITIZEN: ani, workflow.OFFICER: budi, workflow.SYSTEM: None}


def put_in(application: Application, status: str, *, resume: str = "") -> Application:
    """Arrange: set the status directly, as the database would hold it."""
    Application.objects.filter(pk=application.pk).update(status=status, resume_status=resume)
    application.refresh_from_db()
    return application


def resume_for(frm: str, to: str) -> str:
    """Where a revision goes back to: the move's target when it is a resubmit."""
    if frm != Status.REVISION_REQUESTED:
        return ""
    return to if to in RESUBMIT_TARGETS else Status.SUBMITTED


def unchanged(application: Application, status: str) -> bool:
    fresh = Application.objects.get(pk=application.pk)
    return (
        fresh.status == status
        and fresh.status_changed_at == application.status_changed_at
        and not StatusEvent.objects.filter(application=application).exists()
        and not Notification.objects.filter(recipient=application.applicant).exists()
    )


# --- Every legal move -----------------------------------------------------------


@pytest.mark.parametrize(
    ("frm", "to", "actor"), LEGAL, ids=[f"{f}->{t}-by-{a}" for f, t, a in LEGAL]
)
def test_every_legal_move_succeeds_for_an_allowed_actor_and_writes_one_event(
    request, people, frm, to, actor
):
    # PAID → APPROVED is only for a service without an interview.
    without_interview = (frm, to) == (Status.PAID, Status.APPROVED)
    application = request.getfixturevalue(
        "permit_application" if without_interview else "application"
    )
    assert application.service.needs_interview is not without_interview
    put_in(application, frm, resume=resume_for(frm, to))
    by = people[actor]

    event = workflow.transition(application, to, by=by, note="Alasan untuk pemohon")

    assert application.status == to
    assert Application.objects.get(pk=application.pk).status == to
    (stored,) = StatusEvent.objects.filter(application=application)
    assert stored == event
    assert (stored.from_status, stored.to_status, stored.by, stored.actor) == (frm, to, by, actor)
    assert stored.note == "Alasan untuk pemohon"
    told = Notification.objects.filter(
        event="application.status_changed",
        related_type=ContentType.objects.get_for_model(StatusEvent),
        related_id=str(event.pk),
    )
    assert told.exists()
    assert set(told.values_list("recipient", flat=True)) == {application.applicant_id}


def test_the_move_map_covers_the_path_from_draft_to_completed():
    path = [
        Status.DRAFT,
        Status.SUBMITTED,
        Status.AWAITING_PAYMENT,
        Status.PAID,
        Status.SCHEDULED,
        Status.INTERVIEWED,
        Status.APPROVED,
        Status.READY,
        Status.COMPLETED,
    ]
    for frm, to in itertools.pairwise(path):
        assert (frm, to) in MOVES


# --- Every illegal move -----------------------------------------------------------


@pytest.mark.parametrize(("frm", "to"), ILLEGAL, ids=[f"{f}->{t}" for f, t in ILLEGAL])
def test_every_illegal_move_is_refused_by_everyone_and_writes_nothing(
    application, people, dewi, frm, to
):
    put_in(application, frm, resume=Status.SUBMITTED if frm == Status.REVISION_REQUESTED else "")
    superuser = StaffFactory(is_superuser=True)

    for by in (*people.values(), dewi, superuser):
        with pytest.raises(ServiceError):
            workflow.transition(application, to, by=by, note="Alasan")

    assert unchanged(application, frm)


@pytest.mark.parametrize(
    ("resume", "to"), WRONG_RESUMES, ids=[f"back-to-{r}-not-{t}" for r, t in WRONG_RESUMES]
)
def test_a_revision_goes_back_only_to_where_it_was(application, ani, resume, to):
    put_in(application, Status.REVISION_REQUESTED, resume=resume)

    with pytest.raises(ServiceError):
        workflow.transition(application, to, by=ani)

    assert unchanged(application, Status.REVISION_REQUESTED)
    assert Application.objects.get(pk=application.pk).resume_status == resume


@pytest.mark.parametrize("back_to", sorted(RESUBMIT_TARGETS, key=ALL.index))
def test_a_resubmitted_revision_returns_to_the_status_it_was_asked_in(draft, budi, back_to):
    advance(draft, back_to)
    before = draft.status
    workflow.transition(draft, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")
    assert Application.objects.get(pk=draft.pk).resume_status == before

    services.application_resubmit(application=draft, by=draft.applicant)

    draft.refresh_from_db()
    assert draft.status == back_to
    assert draft.resume_status == ""
    last = StatusEvent.objects.filter(application=draft).last()
    assert (last.from_status, last.to_status, last.actor) == (
        Status.REVISION_REQUESTED,
        back_to,
        workflow.CITIZEN,
    )


def test_the_citizen_is_not_offered_the_resubmit_targets_as_free_choices():
    offered = workflow.targets_from(Status.REVISION_REQUESTED, workflow.CITIZEN)

    assert offered == [Status.CANCELLED]


# --- Approval skipping the interview ------------------------------------------------------


def test_a_paid_passport_cannot_be_approved_before_the_interview(application, budi):
    assert application.service.needs_interview
    put_in(application, Status.PAID)

    with pytest.raises(ServiceError) as refused:
        workflow.transition(application, Status.APPROVED, by=budi, note="Disetujui")

    assert refused.value.message == in_language(
        "id", "This service needs an interview before it can be approved."
    )
    assert unchanged(application, Status.PAID)


def test_a_paid_permit_without_an_interview_can_be_approved(permit_application, budi):
    assert not permit_application.service.needs_interview
    put_in(permit_application, Status.PAID)

    workflow.transition(permit_application, Status.APPROVED, by=budi)

    assert Application.objects.get(pk=permit_application.pk).status == Status.APPROVED


def test_approval_is_offered_after_payment_only_without_an_interview(
    application, permit_application
):
    put_in(application, Status.PAID)
    put_in(permit_application, Status.PAID)

    passport = workflow.targets_from(Status.PAID, workflow.OFFICER, application=application)
    permit = workflow.targets_from(Status.PAID, workflow.OFFICER, application=permit_application)

    assert Status.APPROVED not in passport
    assert Status.APPROVED in permit
    assert set(permit) - set(passport) == {Status.APPROVED}
    # After the interview a passport can be approved.
    assert Status.APPROVED in workflow.targets_from(
        Status.INTERVIEWED, workflow.OFFICER, application=application
    )


# --- The right move, the wrong person ---------------------------------------------------


def test_a_citizen_cannot_approve_her_own_application(application, ani):
    put_in(application, Status.INTERVIEWED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=ani)

    assert unchanged(application, Status.INTERVIEWED)


def test_a_stranger_cannot_approve_an_application(application, eko):
    put_in(application, Status.INTERVIEWED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=eko)

    assert unchanged(application, Status.INTERVIEWED)


def test_a_stranger_cannot_cancel_someone_elses_draft(application, eko):
    with pytest.raises(ServiceError):
        workflow.transition(application, Status.CANCELLED, by=eko)

    assert unchanged(application, Status.DRAFT)


def test_an_officer_of_another_office_cannot_approve(application, citra):
    put_in(application, Status.INTERVIEWED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=citra)

    assert unchanged(application, Status.INTERVIEWED)


def test_an_officer_of_another_office_cannot_reject(application, citra):
    put_in(application, Status.SUBMITTED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.REJECTED, by=citra, note="Tidak lengkap")

    assert unchanged(application, Status.SUBMITTED)


def test_an_officer_cannot_send_a_citizens_draft(application, budi):
    with pytest.raises(ServiceError):
        workflow.transition(application, Status.SUBMITTED, by=budi)

    assert unchanged(application, Status.DRAFT)


def test_an_officer_cannot_make_a_move_reserved_for_the_system(application, budi):
    put_in(application, Status.SUBMITTED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.AWAITING_PAYMENT, by=budi)

    assert unchanged(application, Status.SUBMITTED)


def test_the_system_cannot_make_an_officers_decision(application):
    put_in(application, Status.INTERVIEWED)

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=None)

    assert unchanged(application, Status.INTERVIEWED)


def test_a_deactivated_officer_cannot_approve(application, budi):
    put_in(application, Status.INTERVIEWED)
    budi.is_active = False
    budi.save(update_fields=["is_active"])

    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=budi)

    assert unchanged(application, Status.INTERVIEWED)


# --- Reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize("to", [Status.REVISION_REQUESTED, Status.REJECTED])
@pytest.mark.parametrize("note", ["", "   \n "])
def test_asking_for_a_revision_or_rejecting_needs_a_reason(application, budi, to, note):
    put_in(application, Status.SUBMITTED)

    with pytest.raises(ServiceError) as refused:
        workflow.transition(application, to, by=budi, note=note)

    assert refused.value.field == "note"
    assert unchanged(application, Status.SUBMITTED)


def test_the_reason_is_kept_on_the_event_and_told_to_the_applicant(application, budi):
    put_in(application, Status.SUBMITTED)

    event = workflow.transition(
        application, Status.REJECTED, by=budi, note="  Data tidak sesuai KTP  "
    )

    assert event.note == "Data tidak sesuai KTP"
    email = Notification.objects.get(
        event="application.status_changed", channel=Channel.EMAIL, related_id=str(event.pk)
    )
    assert "Data tidak sesuai KTP" in email.body
    assert application.reference in email.body


# --- Telling the applicant --------------------------------------------------------------------


def test_a_move_tells_the_applicant_on_every_channel_linked_to_the_event(application, budi, ani):
    put_in(application, Status.SUBMITTED)

    event = workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto buram")

    rows = Notification.objects.filter(recipient=ani, event="application.status_changed")
    assert {row.channel for row in rows} == {Channel.EMAIL, Channel.SMS, Channel.PORTAL}
    for row in rows:
        assert row.related_type == ContentType.objects.get_for_model(StatusEvent)
        assert row.related_id == str(event.pk)
    portal = rows.get(channel=Channel.PORTAL)
    assert application.reference in portal.body
    assert portal.status == Notification.Status.DELIVERED


def test_sending_tells_the_applicant_by_sms_and_portal_only(application, ani):
    event = workflow.transition(application, Status.SUBMITTED, by=ani)

    rows = Notification.objects.filter(recipient=ani, event="application.status_changed")
    assert {row.channel for row in rows} == {Channel.SMS, Channel.PORTAL}
    assert {row.related_id for row in rows} == {str(event.pk)}


def test_a_refused_move_tells_nobody(application, budi):
    with pytest.raises(ServiceError):
        workflow.transition(application, Status.APPROVED, by=budi)

    assert not Notification.objects.exists()


# --- Side fields ---------------------------------------------------------------------------------


def test_sending_stamps_the_time_but_no_target_date(application, ani):
    workflow.transition(application, Status.SUBMITTED, by=ani)

    fresh = Application.objects.get(pk=application.pk)
    assert fresh.submitted_at is not None
    assert application.submitted_at == fresh.submitted_at  # the caller's instance follows
    assert fresh.due_date is None  # the target runs from the interview


def test_the_interview_sets_the_target_date(application, budi):
    put_in(application, Status.SCHEDULED)

    workflow.transition(application, Status.INTERVIEWED, by=budi)

    fresh = Application.objects.get(pk=application.pk)
    assert fresh.due_date is not None and fresh.due_date > timezone.localdate()
    assert fresh.due_date == application.service.due_date_from(
        fresh.status_changed_at, office=application.office
    )
    assert application.due_date == fresh.due_date  # the caller's instance follows


def test_payment_sets_the_target_date_only_without_an_interview(application, permit_application):
    for each in (application, permit_application):
        put_in(each, Status.AWAITING_PAYMENT)
        workflow.transition(each, Status.PAID, by=None)

    assert Application.objects.get(pk=application.pk).due_date is None
    fresh = Application.objects.get(pk=permit_application.pk)
    assert fresh.due_date == permit_application.service.due_date_from(
        fresh.status_changed_at, office=permit_application.office
    )


def test_a_second_interview_after_a_revision_keeps_the_first_target_date(application, budi, ani):
    put_in(application, Status.SCHEDULED)
    with time_machine.travel(dt.datetime(2026, 4, 2, 3, 0, tzinfo=dt.UTC), tick=False):
        workflow.transition(application, Status.INTERVIEWED, by=budi)
    first = Application.objects.get(pk=application.pk).due_date
    workflow.transition(application, Status.REVISION_REQUESTED, by=budi, note="Foto buram")

    with time_machine.travel(dt.datetime(2026, 4, 20, 3, 0, tzinfo=dt.UTC), tick=False):
        workflow.transition(application, Status.INTERVIEWED, by=ani)

    assert first == dt.date(2026, 4, 8)
    assert Application.objects.get(pk=application.pk).due_date == first


OVERDUE_WHEN_PAST_TARGET = [
    (Status.INTERVIEWED, True),
    (Status.APPROVED, True),
    (Status.READY, False),  # the document is made: nothing is late any more
    (Status.COMPLETED, False),
]


@pytest.mark.parametrize(("status", "overdue"), OVERDUE_WHEN_PAST_TARGET)
def test_the_overdue_list_leaves_out_ready_applications(application, status, overdue):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Application.objects.filter(pk=application.pk).update(due_date=yesterday)
    put_in(application, status)

    assert Application.objects.overdue().filter(pk=application.pk).exists() is overdue


@pytest.mark.parametrize(
    ("status", "overdue"),
    [pytest.param(status, overdue) for status, overdue in OVERDUE_WHEN_PAST_TARGET],
)
def test_is_overdue_agrees_with_the_overdue_list(application, status, overdue):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Application.objects.filter(pk=application.pk).update(due_date=yesterday)
    put_in(application, status)

    assert application.is_overdue is overdue


def test_ready_and_final_moves_stamp_their_times(application, budi, ani):
    put_in(application, Status.APPROVED)

    workflow.transition(application, Status.READY, by=budi)
    assert Application.objects.get(pk=application.pk).ready_at is not None
    workflow.transition(application, Status.COMPLETED, by=budi)

    assert Application.objects.get(pk=application.pk).completed_at is not None


# --- Nothing else writes the status ---------------------------------------------------------


def test_the_status_field_is_not_editable():
    assert Application._meta.get_field("status").editable is False
    form_class = modelform_factory(Application, fields="__all__")
    assert "status" not in form_class.base_fields


def test_the_admin_shows_the_status_read_only():
    model_admin = admin_site._registry[Application]

    assert "status" in model_admin.readonly_fields


def test_the_admin_change_page_has_no_status_input(client, budi, application, ani):
    workflow.transition(application, Status.SUBMITTED, by=ani)
    client.force_login(budi)

    response = client.get(reverse("admin:applications_application_change", args=[application.pk]))

    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()


def test_posting_a_status_to_the_admin_change_page_changes_nothing(client, budi, application, ani):
    workflow.transition(application, Status.SUBMITTED, by=ani)
    client.force_login(budi)

    response = client.post(
        reverse("admin:applications_application_change", args=[application.pk]),
        {"status": Status.APPROVED, "fee_amount": "1"},
    )

    assert response.status_code == 403
    fresh = Application.objects.get(pk=application.pk)
    assert fresh.status == Status.SUBMITTED
    assert StatusEvent.objects.filter(application=application).count() == 1
