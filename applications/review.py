"""Writes for officers: document decisions and the review moves, all scoped to their office."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
from applications import pagecache, workflow
from applications.access import officer_can_act
from applications.models import Application, Document
from applications.workflow import Status
from imigrasi.errors import ServiceError

REVIEWABLE = frozenset(
    {
        Status.SUBMITTED,
        Status.AWAITING_PAYMENT,
        Status.PAID,
        Status.SCHEDULED,
        Status.INTERVIEWED,
        Status.REVISION_REQUESTED,
    }
)


def _applicant_language(application: Application) -> str:
    """Notes the portal writes for the citizen are in the citizen's language."""
    return application.applicant.preferred_language or "id"


def _check_officer(user, application: Application) -> None:
    if not officer_can_act(user, application):
        raise ServiceError(_("You may not act on applications of this office."))


@transaction.atomic
def document_review(*, document: Document, by, accept: bool, reason: str = "") -> Document:
    """Accept a document, or reject it with a reason the citizen will read.

    The application row is locked first, as every move locks it: a rejection
    and an approval cannot interleave.
    """
    Application.objects.select_for_update().filter(pk=document.application_id).first()
    locked = (
        Document.objects.select_for_update(of=("self",))
        .select_related("application__office")
        .get(pk=document.pk)
    )
    _check_officer(by, locked.application)
    if locked.application.status not in REVIEWABLE:
        raise ServiceError(_("Documents of this application can no longer be reviewed."))
    reason = reason.strip()
    if not accept and not reason:
        raise ServiceError(_("Give a reason; the applicant will read it."), field="reason")
    locked.state = Document.State.ACCEPTED if accept else Document.State.REJECTED
    locked.rejection_reason = "" if accept else reason[:300]
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.save()
    audit.record(
        "document_decision",
        obj=locked,
        office=locked.application.office_id,
        by=by,
        label=f"{locked.application.reference} {locked.requirement.code}",
        detail={"decision": locked.state, "requirement": locked.requirement.code},
    )
    # Pages cached per application state are keyed on updated_at.
    pagecache.touch(locked.application_id)
    return locked


def application_request_revision(
    *, application: Application, by, note: str, documents=(), reason: str = ""
) -> None:
    """Ask the citizen to fix things; the named documents are marked for replacement."""
    _check_officer(by, application)
    note = note.strip()
    documents = list(documents)
    if not note and not documents:
        raise ServiceError(_("Say what must be fixed, or choose the documents."), field="note")
    with transaction.atomic(), translation.override(_applicant_language(application)):
        names = []
        for document in documents:
            if document.application_id != application.pk:
                raise ServiceError(_("This document belongs to another application."))
            document_review(
                document=document, by=by, accept=False, reason=reason or note or _("Please replace")
            )
            names.append(document.requirement.name)
        if names:
            listed = _("Documents to replace: %(names)s.") % {"names": "; ".join(names)}
            note = f"{note}\n{listed}".strip()
        workflow.transition(application, Status.REVISION_REQUESTED, by=by, note=note)


def application_approve(*, application: Application, by, note: str = "") -> None:
    _check_officer(by, application)
    with transaction.atomic():
        # Checked under the application's lock, which document decisions also take.
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.documents.exclude(state=Document.State.ACCEPTED).exists():
            raise ServiceError(_("Accept every document before approving."))
        workflow.transition(locked, Status.APPROVED, by=by, note=note)
    application.refresh_from_db()


def application_reject(*, application: Application, by, note: str) -> None:
    _check_officer(by, application)
    workflow.transition(application, Status.REJECTED, by=by, note=note)


def application_mark_interviewed(*, application: Application, by, note: str = "") -> None:
    _check_officer(by, application)
    workflow.transition(application, Status.INTERVIEWED, by=by, note=note)


def application_mark_ready(*, application: Application, by, note: str = "") -> None:
    _check_officer(by, application)
    workflow.transition(application, Status.READY, by=by, note=note)


@transaction.atomic
def tracking_record(*, application: Application, by, courier: str, tracking_number: str) -> None:
    """The courier's tracking number for a document sent by post."""
    _check_officer(by, application)
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status != Status.READY or locked.delivery_method != Application.Delivery.POST:
        raise ServiceError(_("Only a ready document the applicant asked to receive by post."))
    if not tracking_number.strip():
        raise ServiceError(_("Enter the tracking number."), field="tracking_number")
    locked.courier = courier.strip()[:60]
    locked.tracking_number = tracking_number.strip()[:60]
    locked.save(update_fields=["courier", "tracking_number", "updated_at"])
    application.courier, application.tracking_number = locked.courier, locked.tracking_number


def application_complete(*, application: Application, by, note: str = "") -> None:
    """Handed over at the counter, or delivered by post (tracking number recorded first)."""
    _check_officer(by, application)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.delivery_method == Application.Delivery.POST and not locked.tracking_number:
            raise ServiceError(_("Record the courier's tracking number first."))
        if not locked.delivery_method:
            locked.delivery_method = Application.Delivery.PICKUP
            locked.save(update_fields=["delivery_method", "updated_at"])
        if not note:
            with translation.override(_applicant_language(locked)):
                note = (
                    _("Sent by post, tracking number %(number)s.")
                    % {"number": locked.tracking_number}
                    if locked.delivery_method == Application.Delivery.POST
                    else _("Handed over at the office.")
                )
        workflow.transition(locked, Status.COMPLETED, by=by, note=note)
    application.refresh_from_db()


# The officer's buttons: target status → service.
OFFICER_ACTIONS = {
    Status.REVISION_REQUESTED: application_request_revision,
    Status.INTERVIEWED: application_mark_interviewed,
    Status.APPROVED: application_approve,
    Status.REJECTED: application_reject,
    Status.READY: application_mark_ready,
    Status.COMPLETED: application_complete,
}
