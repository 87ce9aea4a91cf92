"""Account deletion (UU PDP No. 27/2022, art. 8): closed on request, anonymised later.

1. `account_deletion_request`: the person asks (password confirmed by the
   view). Refused while something is under way that the account is needed
   for (an open application, an unpaid bill, a booked appointment). The
   account is closed at once: inactive, every session ended, a confirmation
   email sent.
2. For ACCOUNT_ANONYMISE_AFTER_DAYS an officer can still restore it
   (`account_restore`), for a person who changes their mind.
3. `accounts_anonymise_due` (a daily task) then removes the personal data
   on the account. Applications, their status history and payments are
   kept: they are the office's legal record and carry their own copy of the
   applicant's name and NIK; their documents' files go on their own
   schedule (applications.retention).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import audit
from accounts import twofactor
from accounts.models import DELETED_NAME, PhoneVerification, User
from accounts.services import sessions_end_all
from applications.models import Application, Document, Person, SupersededDocument
from applications.workflow import OPEN, Status
from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification, Preference
from notifications.services import notify
from payments.models import Bill
from queueing.models import Booking, WaitlistEntry

logger = logging.getLogger(__name__)

ANONYMISED_EMAIL = "deleted-{id}@deleted.invalid"


class DeletionRefused(ServiceError):
    """The account cannot be deleted yet; `reasons` says what to finish first."""

    def __init__(self, reasons: list[str]):
        super().__init__(" ".join(reasons))
        self.reasons = reasons


def grace_days() -> int:
    return settings.ACCOUNT_ANONYMISE_AFTER_DAYS


def deletion_blockers(user: User) -> list[str]:
    """What must be finished before the account can go, each with what to do (empty: nothing)."""
    reasons = []
    open_references = list(
        Application.objects.filter(applicant=user, status__in=OPEN)
        .order_by("created_at")
        .values_list("reference", flat=True)
    )
    if open_references:
        reasons.append(
            ngettext(
                "Your application %(references)s is still in progress. Wait until it is "
                "finished, or cancel it on its page if it can still be cancelled.",
                "Your applications %(references)s are still in progress. Wait until they are "
                "finished, or cancel them on their pages if they can still be cancelled.",
                len(open_references),
            )
            % {"references": ", ".join(open_references)}
        )
    unpaid = list(
        Bill.objects.filter(application__applicant=user, status=Bill.Status.UNPAID)
        .order_by("issued_at")
        .values_list("code", flat=True)
    )
    if unpaid:
        reasons.append(
            _(
                "A bill is still unpaid (billing code %(codes)s). Pay it, or cancel its "
                "application, before deleting your account."
            )
            % {"codes": ", ".join(unpaid)}
        )
    booked = list(
        Booking.objects.filter(citizen=user, status=Booking.Status.ACTIVE)
        .order_by("created_at")
        .values_list("code", flat=True)
    )
    if booked:
        reasons.append(
            _(
                "You have a booked appointment (code %(codes)s). Cancel it on the "
                "appointment page, or attend it, first."
            )
            % {"codes": ", ".join(booked)}
        )
    return reasons


def anonymise_on(user: User) -> dt.date | None:
    """The day the account's personal data goes (None: no deletion asked for)."""
    if user.deletion_requested_at is None:
        return None
    moment = user.deletion_requested_at + dt.timedelta(days=grace_days())
    return timezone.localdate(moment)


@transaction.atomic
def account_deletion_request(*, user: User) -> User:
    """Close `user`'s account at their request; its data is anonymised after the grace period.

    1. Lock the account row; refuse (DeletionRefused, nothing changed) while
       an application is open, a bill unpaid or an appointment booked.
    2. Record the request and deactivate the account.
    3. Leave every waiting list (a place held for the person goes to the next).
    4. Queue the confirmation email (an outbox row, sent after commit).
    5. End every session of the account, on every device.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.deletion_requested_at is not None or not locked.is_active:
        raise ServiceError(_("This account is already closed."))
    reasons = deletion_blockers(locked)
    if reasons:
        raise DeletionRefused(reasons)
    now = timezone.now()
    locked.deletion_requested_at = now
    locked.is_active = False
    locked.save(update_fields=["deletion_requested_at", "is_active"])
    audit.record("account_deletion_requested", obj=locked, by=locked)
    _leave_waiting_lists(locked, now)
    notify(
        locked,
        "account.deletion_requested",
        {
            "requested_at": now,
            "anonymise_on": anonymise_on(locked),
            "days": grace_days(),
        },
        channels=(Channel.EMAIL,),
    )
    sessions_end_all(locked)
    logger.info("account %s closed at its owner's request", locked.pk)
    user.deletion_requested_at, user.is_active = now, False
    return locked


def _leave_waiting_lists(user: User, now: dt.datetime) -> None:
    from queueing.bookings import waitlist_leave

    entries = WaitlistEntry.objects.filter(
        citizen=user, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
    )
    for entry in entries:
        waitlist_leave(entry=entry, citizen=user, now=now)


@transaction.atomic
def account_restore(*, user: User, by: User) -> User:
    """Reopen an account closed at its owner's request, within the grace period.

    For an officer, when the person changes their mind (they can then log in
    again; sessions ended at closing stay ended).
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.anonymised_at is not None:
        raise ServiceError(_("This account was anonymised and cannot be restored."))
    if locked.deletion_requested_at is None:
        raise ServiceError(_("No deletion was requested for this account."))
    locked.deletion_requested_at = None
    locked.is_active = True
    locked.save(update_fields=["deletion_requested_at", "is_active"])
    logger.info("account %s restored by user %s", locked.pk, by.pk)
    return locked


# --- Anonymisation ------------------------------------------------------------------


def accounts_anonymise_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Anonymise up to `limit` accounts whose grace period is over; return how many.

    Each account is claimed and cleaned in its own transaction, so a failure
    leaves the others done and this one for the next run; a claimed account
    is never processed twice.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=grace_days())
    due = (
        User.objects.filter(
            deletion_requested_at__lte=cutoff, anonymised_at__isnull=True, is_active=False
        )
        .order_by("deletion_requested_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in list(due):
        try:
            done += account_anonymise(user_id=pk, now=now)
        except Exception:
            # One broken account must not hold up the others; it stays due and is logged.
            logger.exception("account %s could not be anonymised", pk)
    return done


def account_anonymise(*, user_id: int, now: dt.datetime | None = None) -> bool:
    """Remove the personal data of one closed account; False if not due or already done.

    1. Claim the row with a conditional UPDATE (still closed, still due, not
       yet anonymised) that also overwrites its personal fields: email,
       name, NIK (ciphertext and blind index), birth date, sex, phone,
       address; the password becomes unusable.
    2. Delete what only the account needed: family members, phone codes,
       notification preferences, second-factor devices, login-failure
       records (django-axes) and drafts never sent, with their files.
    3. Clear the text and addresses of the messages sent to the person and
       the questions typed when booking a consultation.
    Applications, status history, bills, payments and bookings stay.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=grace_days())
    with transaction.atomic():
        old_email = User.objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
        claimed = User.objects.filter(
            pk=user_id,
            anonymised_at__isnull=True,
            is_active=False,
            deletion_requested_at__lte=cutoff,
        ).update(
            anonymised_at=now,
            email=ANONYMISED_EMAIL.format(id=user_id),
            full_name=DELETED_NAME,
            nik_encrypted="",
            nik_index=None,
            nik_mismatch=False,
            date_of_birth=None,
            sex="",
            phone="",
            phone_verified_at=None,
            address="",
            password=make_password(None),
        )
        if not claimed:
            return False
        Person.objects.filter(owner_id=user_id).delete()
        PhoneVerification.objects.filter(user_id=user_id).delete()
        Preference.objects.filter(user_id=user_id).delete()
        messages = Notification.objects.filter(recipient_id=user_id)
        messages.filter(status__in=Notification.CLAIMABLE).update(
            status=Notification.Status.SKIPPED, reason="account anonymised"
        )
        messages.update(address="", subject="", body="", body_html="")
        Booking.objects.filter(citizen_id=user_id).exclude(question="").update(question="")
        _delete_drafts(user_id)
        twofactor.disable(User(pk=user_id))
        _delete_login_failures(old_email)
        # No session to end: they ended at the request, and the account is inactive.
    logger.info("account %s anonymised", user_id)
    return True


def _delete_drafts(user_id: int) -> None:
    """Drafts were never sent: no legal record to keep. Their files go after commit."""
    drafts = Application.objects.filter(applicant_id=user_id, status=Status.DRAFT)
    names = [
        *Document.objects.filter(application__in=drafts).values_list("file", flat=True),
        *SupersededDocument.objects.filter(document__application__in=drafts).values_list(
            "file", flat=True
        ),
    ]
    drafts.delete()
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])


def _delete_login_failures(email: str) -> None:
    """django-axes keeps the username (the email) and address of failed logins."""
    if not email:
        return
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=email).delete()
