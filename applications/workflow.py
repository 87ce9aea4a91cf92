"""The application status machine (DESIGN.md): the only code that writes `status`.

`transition()` locks the row, checks that the move is legal for who is
making it, writes a `StatusEvent` and tells the applicant through
`notify`, all in one transaction. Payments, queueing, the admin and the
citizen pages change status only through it.
"""

from __future__ import annotations

import datetime as dt

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imigrasi.errors import ServiceError


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being filled in by the citizen; nobody else sees it
    SUBMITTED = "submitted", _("Submitted")  # sent, complete, waiting for the bill
    REVISION_REQUESTED = "revision_requested", _("Revision requested")  # officer asked for fixes
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")  # bill issued, unpaid
    PAID = "paid", _("Paid")  # fee received, interview can be booked
    SCHEDULED = "scheduled", _("Interview booked")  # appointment booked
    INTERVIEWED = "interviewed", _("Interviewed")  # interview and biometrics done
    APPROVED = "approved", _("Approved")  # officer approved; document being produced
    READY = "ready", _("Ready")  # document ready for pickup or posting
    COMPLETED = "completed", _("Completed")  # handed over or delivered
    REJECTED = "rejected", _("Rejected")  # refused, with a reason
    CANCELLED = "cancelled", _("Cancelled")  # withdrawn by the citizen
    EXPIRED = "expired", _("Expired")  # the bill ran out unpaid


# Who moves an application: the citizen who owns it, an officer of its
# office, or the system (payments, queueing, scheduled tasks).
CITIZEN = "citizen"
OFFICER = "officer"
SYSTEM = "system"

S = Status
# (from, to) → who may make that move.
MOVES: dict[tuple[str, str], frozenset[str]] = {
    (S.DRAFT, S.SUBMITTED): frozenset({CITIZEN}),
    (S.DRAFT, S.CANCELLED): frozenset({CITIZEN}),
    (S.SUBMITTED, S.AWAITING_PAYMENT): frozenset({SYSTEM}),
    (S.SUBMITTED, S.REVISION_REQUESTED): frozenset({OFFICER}),
    (S.SUBMITTED, S.REJECTED): frozenset({OFFICER}),
    (S.SUBMITTED, S.CANCELLED): frozenset({CITIZEN}),
    (S.AWAITING_PAYMENT, S.PAID): frozenset({SYSTEM, OFFICER}),
    (S.AWAITING_PAYMENT, S.EXPIRED): frozenset({SYSTEM}),
    (S.AWAITING_PAYMENT, S.REVISION_REQUESTED): frozenset({OFFICER}),
    (S.AWAITING_PAYMENT, S.CANCELLED): frozenset({CITIZEN}),
    (S.EXPIRED, S.AWAITING_PAYMENT): frozenset({SYSTEM}),
    # Paid before the code expired, but the bank's news came after the expiry run.
    (S.EXPIRED, S.PAID): frozenset({SYSTEM, OFFICER}),
    (S.PAID, S.SCHEDULED): frozenset({SYSTEM, CITIZEN}),
    (S.PAID, S.APPROVED): frozenset({OFFICER}),  # services without an interview
    (S.PAID, S.REVISION_REQUESTED): frozenset({OFFICER}),
    (S.PAID, S.REJECTED): frozenset({OFFICER}),
    (S.SCHEDULED, S.PAID): frozenset({SYSTEM, CITIZEN}),  # booking cancelled or missed
    (S.SCHEDULED, S.INTERVIEWED): frozenset({SYSTEM, OFFICER}),
    (S.SCHEDULED, S.REVISION_REQUESTED): frozenset({OFFICER}),
    (S.INTERVIEWED, S.APPROVED): frozenset({OFFICER}),
    (S.INTERVIEWED, S.REJECTED): frozenset({OFFICER}),
    (S.INTERVIEWED, S.REVISION_REQUESTED): frozenset({OFFICER}),
    (S.REVISION_REQUESTED, S.REJECTED): frozenset({OFFICER}),
    (S.REVISION_REQUESTED, S.CANCELLED): frozenset({CITIZEN}),
    (S.APPROVED, S.READY): frozenset({OFFICER}),
    (S.READY, S.COMPLETED): frozenset({OFFICER}),
}
# A resubmitted revision goes back to where it was when the officer asked.
RESUBMIT_TARGETS = frozenset({S.SUBMITTED, S.AWAITING_PAYMENT, S.PAID, S.SCHEDULED, S.INTERVIEWED})
for _target in RESUBMIT_TARGETS:
    MOVES[(S.REVISION_REQUESTED, _target)] = frozenset({CITIZEN})

FINAL = frozenset({S.COMPLETED, S.REJECTED, S.CANCELLED})
# Open = not a draft and not finished: counted in the officer's backlog.
OPEN = frozenset(set(Status.values) - FINAL - {S.DRAFT, S.EXPIRED})
# Moves that need the officer to say why (shown to the citizen).
NOTE_REQUIRED = frozenset({S.REVISION_REQUESTED, S.REJECTED})
# What a move may change on the row (status plus `_apply_side_fields`).
TRANSITION_FIELDS = [
    "status",
    "status_changed_at",
    "submitted_at",
    "due_date",
    "resume_status",
    "ready_at",
    "completed_at",
    "updated_at",
]
# Moves whose email is the PDF receipt, sent by the task that renders it.
# (A revision sent back to "paid" has no new receipt: it gets the usual email.)
EMAIL_WITH_RECEIPT = frozenset(
    {(S.DRAFT, S.SUBMITTED), (S.AWAITING_PAYMENT, S.PAID), (S.EXPIRED, S.PAID)}
)


def targets_from(status: str, actor: str, *, application=None) -> list[str]:
    """The statuses `actor` may move an application to from `status`, in display order."""
    order = list(Status.values)
    legal = [to for (frm, to), who in MOVES.items() if frm == status and actor in who]
    if application is not None and skips_interview_wrongly(application, status, S.APPROVED):
        legal = [to for to in legal if to != S.APPROVED]
    if status == S.REVISION_REQUESTED and actor == CITIZEN:
        legal = [to for to in legal if to not in RESUBMIT_TARGETS]
    return sorted(legal, key=order.index)


def skips_interview_wrongly(application, current: str, to: str) -> bool:
    """PAID → APPROVED is only for services without an interview (biometrics first)."""
    return current == S.PAID and to == S.APPROVED and application.service.needs_interview


def actor_of(application, user) -> str:
    """The role `user` plays towards `application` (None → the system)."""
    if user is None:
        return SYSTEM
    if user.pk == application.applicant_id:
        return CITIZEN
    if user.is_active and user.is_staff:
        from applications.access import officer_can_act

        if officer_can_act(user, application):
            return OFFICER
    return ""


def transition(
    application,
    to: str,
    *,
    by=None,
    note: str = "",
    context: dict | None = None,
    locked: bool = False,
):
    """Move `application` to `to` and return the `StatusEvent`.

    Raises ServiceError when the move is not legal from the current status
    (read under a row lock, so two officers clicking at once produce one
    event and one clear refusal), when `by` may not make it, or when a
    reason is required and missing. `context` adds to what the applicant's
    message can say (payments pass the bill). Other apps follow moves through
    the `status_changed` signal, sent inside the transaction. `locked=True`
    says the caller already holds this row's lock in its transaction and
    passes the row it read under that lock (payments: saves a second read).
    """
    from applications.models import Application, StatusEvent
    from applications.signals import status_changed

    to = Status(to)
    note = (note or "").strip()[:2000]
    with transaction.atomic():
        if locked:
            locked = application
        else:
            # of=self: the service and applicant rows are read, not locked.
            locked = (
                Application.objects.select_for_update(of=("self",))
                .select_related("service", "applicant")
                .get(pk=application.pk)
            )
        current = locked.status
        actor = actor_of(locked, by)
        who = MOVES.get((current, to))
        if who is None:
            raise ServiceError(
                _("An application that is “%(current)s” cannot become “%(to)s”.")
                % {"current": Status(current).label, "to": to.label}
            )
        if (
            current == S.REVISION_REQUESTED
            and to in RESUBMIT_TARGETS
            and to != locked.resume_status
        ):
            raise ServiceError(_("A revised application goes back to where it was."))
        if skips_interview_wrongly(locked, current, to):
            raise ServiceError(_("This service needs an interview before it can be approved."))
        if actor not in who:
            raise ServiceError(_("You may not make this change to the application."))
        if to in NOTE_REQUIRED and not note:
            raise ServiceError(_("Give a reason; the applicant will read it."), field="note")
        now = timezone.now()
        _apply_side_fields(locked, current, to, now)
        locked.status = to
        locked.status_changed_at = now
        locked.save(update_fields=TRANSITION_FIELDS)
        event = StatusEvent.objects.create(
            application=locked,
            from_status=current,
            to_status=to,
            by=by,
            actor=actor,
            note=note,
            at=now,
        )
        _tell_applicant(locked, event, context or {})
        status_changed.send(sender=Application, application=locked, event=event)
    # The caller's instance follows the database.
    for field in ("status", "status_changed_at", "resume_status", "submitted_at", "ready_at"):
        setattr(application, field, getattr(locked, field))
    application.completed_at = locked.completed_at
    application.due_date = locked.due_date
    return event


def resume_instead(application, was: str, instead: str) -> None:
    """A revision that would go back to `was` goes back to `instead`.

    Queueing calls it when the appointment of an application under revision
    is cancelled or missed: "scheduled" without an appointment would be a lie.
    """
    from applications import pagecache
    from applications.models import Application

    changed = Application.objects.filter(
        pk=application.pk, status=S.REVISION_REQUESTED, resume_status=was
    ).update(resume_status=instead, updated_at=timezone.now())
    if changed:
        application.resume_status = instead
        pagecache.touch(application.pk)


def _apply_side_fields(application, current: str, to: str, now: dt.datetime) -> None:
    if to == S.SUBMITTED and current == S.DRAFT:
        application.submitted_at = now
    # The processing target runs from the interview (biometrics taken), or
    # from payment for services without one: that is what the service promises.
    starts_clock = to == S.INTERVIEWED or (to == S.PAID and not application.service.needs_interview)
    if starts_clock and application.due_date is None:
        application.due_date = application.service.due_date_from(now, office=application.office)
    if to == S.REVISION_REQUESTED:
        application.resume_status = current
    elif current == S.REVISION_REQUESTED:
        application.resume_status = ""
    if to == S.READY:
        application.ready_at = now
    if to in FINAL:
        application.completed_at = now


def _tell_applicant(application, event, extra: dict) -> None:
    from django.conf import settings

    from applications import explain
    from notifications.models import Channel
    from notifications.services import notify

    # On submission and payment the email is the receipt message (PDF
    # attached, sent by the rendering task); SMS and the portal say it at once.
    with_receipt = (event.from_status, event.to_status) in EMAIL_WITH_RECEIPT
    channels = (Channel.SMS, Channel.PORTAL) if with_receipt else None
    notify(
        application.applicant,
        "application.status_changed",
        {
            "application": application,
            "reference": application.reference,
            "status_label": Status(event.to_status).label,
            "status": event.to_status,
            "note": event.note,
            "meaning": explain.MEANING[event.to_status],
            "next_step": explain.NEXT_STEP[event.to_status],
            "link": settings.SITE_URL + application.get_absolute_url(),
            **extra,
        },
        related=event,
        channels=channels,
    )
