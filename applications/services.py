"""Writes for citizens: family members, drafts, documents, submission, delivery choice."""

from __future__ import annotations

import logging
import secrets
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import pii
from applications import pagecache, uploads, workflow
from applications.models import (
    NIK_PURPOSE,
    Application,
    Document,
    Person,
    Requirement,
    Service,
    SupersededDocument,
)
from applications.workflow import Status
from imigrasi.errors import ServiceError

logger = logging.getLogger(__name__)

# Crockford-style alphabet without 0/O, 1/I/L: read out over the phone without confusion.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_RANDOM_LENGTH = 6
APPLICANT_FIELDS = (
    "full_name",
    "date_of_birth",
    "place_of_birth",
    "sex",
    "address",
    "father_name",
    "mother_name",
)


def make_reference(service: Service, office) -> str:
    """`PSP-LTG-26-7K3QX9`: service, office, year and 6 random characters (31^6 ≈ 887 million)."""
    year = timezone.localdate().strftime("%y")
    random_part = "".join(
        secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_RANDOM_LENGTH)
    )
    return f"{service.reference_prefix}-{office.code}-{year}-{random_part}"


# --- Family members ---------------------------------------------------------


def person_self(user) -> Person:
    """The account holder as an applicant, created from the account on first use."""
    person = Person.objects.filter(owner=user, relationship=Person.Relationship.SELF).first()
    if person:
        return person
    if not user.nik_encrypted:
        raise ServiceError(_("Add your NIK to your profile before applying for yourself."))
    person = Person(
        owner=user,
        relationship=Person.Relationship.SELF,
        full_name=user.full_name,
        date_of_birth=user.date_of_birth,
        sex=user.sex,
        address=user.address,
    )
    person.set_nik(user.nik)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:
        return Person.objects.get(owner=user, relationship=Person.Relationship.SELF)
    return person


@transaction.atomic
def person_save(*, owner, data: dict, person: Person | None = None) -> Person:
    """Add or edit a family member (at most 5 per account, each NIK once)."""
    if person is None:
        # Lock the account row so two quick submits cannot both pass the limit.
        get_user_model().objects.select_for_update().get(pk=owner.pk)
        family = Person.objects.filter(owner=owner).exclude(relationship=Person.Relationship.SELF)
        if family.count() >= Person.MAX_FAMILY:
            raise ServiceError(
                _("An account can apply for at most %(count)s family members.")
                % {"count": Person.MAX_FAMILY}
            )
        person = Person(owner=owner)
    elif person.owner_id != owner.pk:
        raise ServiceError(_("This person is not on your account."))
    nik = data.get("nik")
    if nik:
        index = pii.blind_index(nik, purpose=NIK_PURPOSE)
        clash = Person.objects.filter(owner=owner, nik_index=index).exclude(pk=person.pk)
        if clash.exists():
            raise ServiceError(_("This NIK is already on your account."), field="nik")
        person.set_nik(nik)
    for field in (*APPLICANT_FIELDS, "relationship"):
        if field in data:
            setattr(person, field, data[field])
    if person.relationship == Person.Relationship.SELF and person._state.adding:
        raise ServiceError(_("You are already on your account."), field="relationship")
    person.full_clean(exclude=["nik_encrypted", "nik_index", "owner"])
    person.save()
    return person


@transaction.atomic
def person_delete(*, owner, person: Person) -> None:
    if person.owner_id != owner.pk or person.relationship == Person.Relationship.SELF:
        raise ServiceError(_("This person cannot be removed."))
    if person.applications.filter(status=Status.DRAFT).exists():
        raise ServiceError(_("Finish or cancel this person's draft applications first."))
    person.delete()


# --- Drafts -----------------------------------------------------------------


def application_start(*, user, service: Service, office, person: Person | None) -> Application:
    """Open a draft for `person` (None: the account holder), or return the open one.

    One open draft per person per service: a second start, a double click
    or a race lands on the same draft (the partial unique index decides).
    """
    if not service.is_active:
        raise ServiceError(_("This service is not open for applications."))
    if not office.is_active:
        raise ServiceError(_("This office does not take applications."), field="office")
    if person is None:
        person = person_self(user)
    elif person.owner_id != user.pk:
        raise ServiceError(_("This person is not on your account."), field="person")
    existing = Application.objects.filter(
        person=person, service=service, status=Status.DRAFT
    ).first()
    if existing:
        return existing
    application = Application(
        service=service,
        office=office,
        applicant=user,
        person=person,
        nik_encrypted=person.nik_encrypted,
        nik_index=person.nik_index or "",
        **{field: getattr(person, field) for field in APPLICANT_FIELDS},
    )
    for _attempt in range(5):
        application.reference = make_reference(service, office)
        try:
            with transaction.atomic():
                application.save()
            return application
        except IntegrityError:
            existing = Application.objects.filter(
                person=person, service=service, status=Status.DRAFT
            ).first()
            if existing:
                return existing  # the other click won
    raise ServiceError(_("Please try again."))  # five reference collisions in a row


def _editable_draft(application: Application) -> Application:
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status != Status.DRAFT:
        raise ServiceError(_("This application has been sent and can no longer be changed."))
    return locked


@transaction.atomic
def application_save_applicant(*, application: Application, data: dict) -> Application:
    """Step 1: the applicant's particulars, copied back to the person for next time."""
    locked = _editable_draft(application)
    for field in APPLICANT_FIELDS:
        setattr(locked, field, data[field])
    if data.get("nik"):
        locked.set_nik(data["nik"])
    locked.check_nik()
    locked.step_reached = max(locked.step_reached, 2)
    locked.save()
    person = locked.person
    if person is not None:
        for field in APPLICANT_FIELDS:
            setattr(person, field, data[field])
        if data.get("nik") and person.relationship != Person.Relationship.SELF:
            clash = (
                Person.objects.filter(owner=person.owner, nik_index=locked.nik_index)
                .exclude(pk=person.pk)
                .exists()
            )
            if clash:
                raise ServiceError(_("This NIK is already on your account."), field="nik")
            person.nik_encrypted, person.nik_index = locked.nik_encrypted, locked.nik_index or None
        person.save()
    return locked


DETAIL_FIELDS = {
    Service.Details.PASSPORT: ("travel_purpose", "destination"),
    Service.Details.REPLACEMENT: ("travel_purpose", "destination", "passport_number"),
    Service.Details.PERMIT: (
        "nationality",
        "passport_number",
        "travel_purpose",
        "sponsor_name",
        "sponsor_address",
        "sponsor_phone",
    ),
}


@transaction.atomic
def application_save_details(*, application: Application, data: dict) -> Application:
    """Step 2: what the service needs to know (purpose, destination, passport, sponsor)."""
    locked = _editable_draft(application)
    for field in DETAIL_FIELDS[locked.service.details]:
        if field == "passport_number":
            locked.set_passport_number(data.get(field, ""))
        else:
            setattr(locked, field, data.get(field, ""))
    locked.step_reached = max(locked.step_reached, 3)
    locked.save()
    return locked


# --- Documents --------------------------------------------------------------


def _documents_total(application: Application, *, excluding: Requirement) -> int:
    return sum(application.documents.exclude(requirement=excluding).values_list("size", flat=True))


def document_upload(*, application: Application, requirement: Requirement, upload) -> Document:
    """Check, clean and store one document; replaces the earlier file for that requirement.

    Allowed while the application is a draft, and after an officer asked for
    a revision. Nothing is written when the file is refused.
    """
    if requirement.service_id != application.service_id:
        raise ServiceError(_("This document is not asked for by this service."))
    # Checking the file happens before any lock: it can take a moment.
    clean = uploads.clean_upload(
        upload, accepted=requirement.types, max_bytes=requirement.max_size_kb * 1024
    )
    name = f"documents/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{clean.extension}"
    stored = default_storage.save(name, ContentFile(clean.content))
    try:
        with transaction.atomic():
            locked = Application.objects.select_for_update().get(pk=application.pk)
            if not locked.documents_editable:
                raise ServiceError(_("Documents can no longer be changed for this application."))
            limit = settings.APPLICATION_UPLOAD_TOTAL_MB * 1024 * 1024
            if _documents_total(locked, excluding=requirement) + len(clean.content) > limit:
                raise ServiceError(
                    _("All documents together may not exceed %(limit)s MB.")
                    % {"limit": settings.APPLICATION_UPLOAD_TOTAL_MB}
                )
            document = Document.objects.filter(application=locked, requirement=requirement).first()
            if (
                document
                and locked.status == Status.REVISION_REQUESTED
                and document.state == Document.State.ACCEPTED
            ):
                raise ServiceError(
                    _(
                        "This document was accepted; only documents marked for revision "
                        "can be replaced."
                    )
                )
            old_file = document.file.name if document else ""
            if document and locked.submitted_at:
                # After submission nothing is thrown away: the receipt lists it
                # and the officer decided on it.
                SupersededDocument.objects.create(
                    document=document,
                    file=document.file.name,
                    original_name=document.original_name,
                    sha256=document.sha256,
                    state=document.state,
                    rejection_reason=document.rejection_reason,
                    uploaded_at=document.uploaded_at,
                )
                old_file = ""
            document = document or Document(application=locked, requirement=requirement)
            document.file.name = stored
            document.original_name = clean.original_name
            document.content_type = clean.content_type
            document.size = len(clean.content)
            document.sha256 = clean.sha256
            document.state = Document.State.PENDING
            document.rejection_reason = ""
            document.reviewed_by = None
            document.reviewed_at = None
            document.uploaded_at = timezone.now()
            document.save()
            if locked.status == Status.DRAFT and locked.step_reached < 4:
                uploaded = locked.documents.count()
                if uploaded >= locked.service.requirements.count():
                    Application.objects.filter(pk=locked.pk).update(step_reached=4)
            # Pages cached per application state are keyed on updated_at.
            pagecache.touch(locked.pk)
            if old_file:
                transaction.on_commit(lambda: default_storage.delete(old_file))
    except BaseException:
        default_storage.delete(stored)
        raise
    return document


# --- Checking and sending ---------------------------------------------------


def missing_items(application: Application) -> list[str]:
    """What still stops the application being sent, in words the citizen understands."""
    missing = []
    if application.service.category == Service.Category.PASSPORT and not application.nik_encrypted:
        missing.append(_("NIK of the applicant"))
    for field in APPLICANT_FIELDS:
        if not getattr(application, field):
            missing.append(str(Application._meta.get_field(field).verbose_name).capitalize())
    for field in DETAIL_FIELDS[application.service.details]:
        if field == "passport_number":
            if not application.passport_number_encrypted:
                missing.append(_("Passport number"))
        elif not getattr(application, field):
            missing.append(str(Application._meta.get_field(field).verbose_name).capitalize())
    uploaded = {d.requirement_id: d for d in application.documents.all()}
    for requirement in application.service.requirements.all():
        document = uploaded.get(requirement.pk)
        if document is None and requirement.is_required:
            missing.append(_("Document: %(name)s") % {"name": requirement.name})
        elif document is not None and document.state == Document.State.REJECTED:
            missing.append(_("New file for: %(name)s") % {"name": requirement.name})
    return missing


def application_submit(*, application: Application, by, declaration: bool) -> bool:
    """Send a complete draft: fee fixed from today's tariff, receipt rendered after commit.

    Returns False when it had already been sent (a double click changes nothing).
    """
    from applications import tasks

    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.applicant_id != by.pk:
            raise ServiceError(_("You may not make this change to the application."))
        if locked.status != Status.DRAFT:
            if locked.submitted_at:
                return False
            raise ServiceError(_("This application can no longer be sent."))
        if not declaration:
            raise ServiceError(
                _("Tick the declaration to confirm the data are true."), field="declaration"
            )
        missing = missing_items(locked)
        if missing:
            raise ServiceError(
                _("Some things are still missing: %(items)s.") % {"items": "; ".join(missing)}
            )
        fee = locked.service.fee_on(timezone.localdate())
        if fee is None:
            raise ServiceError(
                _("The fee for this service is not set. Contact the office before applying.")
            )
        locked.fee_amount = fee
        locked.declaration_at = timezone.now()
        locked.save(update_fields=["fee_amount", "declaration_at", "updated_at"])
        workflow.transition(locked, Status.SUBMITTED, by=by)
        application_id = locked.pk
        transaction.on_commit(lambda: tasks.render_receipt.delay(application_id))
    application.refresh_from_db()
    return True


def application_resubmit(*, application: Application, by) -> None:
    """Send a revision back: every document the officer refused has been replaced."""
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != Status.REVISION_REQUESTED:
            raise ServiceError(_("No revision is waiting for this application."))
        refused = [
            d.requirement.name
            for d in locked.documents.select_related("requirement")
            if d.state == Document.State.REJECTED
        ]
        if refused:
            raise ServiceError(
                _("Replace these documents first: %(items)s.") % {"items": "; ".join(refused)}
            )
        with translation.override(locked.applicant.preferred_language or "id"):
            note = _("Revision sent")
        workflow.transition(locked, locked.resume_status, by=by, note=note)
    application.refresh_from_db()


def application_cancel(*, application: Application, by) -> None:
    workflow.transition(application, Status.CANCELLED, by=by)


@transaction.atomic
def delivery_choose(*, application: Application, by, method: str, address: str = "") -> None:
    """Pickup at the office or delivery by post, while the document is being made or ready."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.applicant_id != by.pk:
        raise ServiceError(_("You may not make this change to the application."))
    if locked.status not in {Status.APPROVED, Status.READY}:
        raise ServiceError(_("Pickup or delivery can be chosen once the application is approved."))
    if locked.tracking_number:
        raise ServiceError(_("The document has already been sent by post."))
    if method == Application.Delivery.POST and not address.strip():
        raise ServiceError(_("Enter the delivery address."), field="delivery_address")
    locked.delivery_method = method
    locked.delivery_address = address.strip() if method == Application.Delivery.POST else ""
    locked.save(update_fields=["delivery_method", "delivery_address", "updated_at"])


# --- Periodic ---------------------------------------------------------------


def receipts_missing_render(*, older_than_minutes: int = 5, limit: int = 200) -> int:
    """Render receipts still missing a few minutes after submission (lost task)."""
    from applications import receipts

    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    pending = Application.objects.filter(
        submitted_at__isnull=False, submitted_at__lt=cutoff, receipt__isnull=True
    ).values_list("pk", flat=True)[:limit]
    done = 0
    for application_id in pending:
        try:
            receipts.receipt_render(application_id)
            done += 1
        except Exception:
            logger.exception("receipt for application %s could not be rendered", application_id)
    return done


def uncollected_flag(*, days: int = 30) -> int:
    """Flag documents not collected after `days`; each office's officers are told once."""
    from notifications.services import notify
    from offices.models import StaffMembership

    flagged = 0
    for application in (
        Application.objects.not_collected(days=days)
        .filter(uncollected_flagged_at__isnull=True)
        .select_related("office")
    ):
        with transaction.atomic():
            updated = Application.objects.filter(
                pk=application.pk, uncollected_flagged_at__isnull=True
            ).update(uncollected_flagged_at=timezone.now(), updated_at=timezone.now())
            pagecache.forget(application)
            if not updated:
                continue
            officers = StaffMembership.objects.filter(
                office=application.office, user__is_active=True
            ).select_related("user")
            for membership in officers:
                notify(
                    membership.user,
                    "application.uncollected",
                    {"application": application, "reference": application.reference, "days": days},
                    related=application,
                )
            flagged += 1
    return flagged
