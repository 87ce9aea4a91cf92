"""Bills: issue, reissue, expire, cancel; payments recorded by officers; refunds.

Lock order everywhere: the application row first, then its bills. The
webhook path (`payments.webhooks`) follows it too, so two writers on one
application never wait on each other in opposite orders.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit as audit_trail
from applications import pagecache, workflow
from applications.access import officer_can_act
from applications.models import Application
from applications.templatetags.portal import long_datetime, rupiah
from applications.workflow import Status
from imigrasi.errors import ServiceError
from payments.models import Bill, Method, Payment, Refund

logger = logging.getLogger(__name__)
audit = logging.getLogger("imigrasi.audit")

CODE_DIGITS = 15
# How long an unpaid bill may wait past expiry while the gateway cannot be asked.
EXPIRY_GRACE = dt.timedelta(hours=24)
NTPN_PATTERN = re.compile(r"^[A-Z0-9]{16}$")
# A bill may still be paid while the officer waits for a fix, if it came from awaiting payment.
PAYABLE = frozenset({Status.AWAITING_PAYMENT})


# --- Billing codes ------------------------------------------------------------


def _luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def code_is_well_formed(code: str) -> bool:
    """15 digits whose last is a Luhn check digit: a mistyped code is caught at once."""
    return (
        len(code) == CODE_DIGITS
        and code.isdigit()
        and code[0] != "0"
        and _luhn_digit(code[:-1]) == code[-1]
    )


def make_code() -> str:
    """A random 15-digit kode billing: 14 random digits (not sequential, not guessable) + check."""
    body = str(secrets.randbelow(9) + 1) + "".join(
        str(secrets.randbelow(10)) for _ in range(CODE_DIGITS - 2)
    )
    return body + _luhn_digit(body)


def normalise_code(value: str) -> str:
    return re.sub(r"[\s.-]", "", value or "")


def _create_bill(application: Application, *, reissue_of: Bill | None = None) -> Bill:
    """A new unpaid bill for the fee fixed at submission; retries a code collision."""
    if not application.fee_amount:
        raise ServiceError(_("The fee for this application is not set. Contact the office."))
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Bill.objects.create(
                    application=application,
                    code=make_code(),
                    amount=application.fee_amount,
                    issued_at=now,
                    expires_at=now + dt.timedelta(hours=settings.BILL_VALIDITY_HOURS),
                    reissue_of=reissue_of,
                )
        except IntegrityError:
            # A code collision (1 in 10^14) or a second unpaid bill: ask again,
            # and let the unique constraint speak if it is the latter.
            if Bill.objects.filter(application=application, status=Bill.Status.UNPAID).exists():
                raise
    raise ServiceError(_("A billing code could not be issued. Try again in a minute."))


def _close(bill: Bill, status: str, *, now=None) -> None:
    bill.status = status
    bill.closed_at = now or timezone.now()
    bill.save(update_fields=["status", "closed_at"])


def _bill_context(bill: Bill) -> dict:
    return {"bill": bill, "billing_code": bill.code_display, "amount": bill.amount}


# --- Issue, reissue, cancel, expire -----------------------------------------------


def bill_issue(*, application_id: int) -> Bill | None:
    """After submission: issue the bill and move the application to awaiting payment.

    Idempotent: a redelivered task finds the open bill and does nothing. For
    an application back in awaiting payment after a revision whose bill ran
    out meanwhile, the old bill is closed and a fresh one issued (not a
    reissue: the citizen was waiting for the officer, not late).
    """
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("service", "applicant")
            .filter(pk=application_id)
            .first()
        )
        if application is None:
            return None
        bills = Bill.objects.select_for_update().filter(application=application)
        if bills.filter(status=Bill.Status.PAID).exists():
            return None
        open_bill = bills.filter(status=Bill.Status.UNPAID).first()
        if application.status == Status.SUBMITTED:
            bill = open_bill if open_bill and open_bill.is_open else None
            if open_bill and bill is None:
                _close(open_bill, Bill.Status.EXPIRED)
            bill = bill or _create_bill(application)
            workflow.transition(
                application, Status.AWAITING_PAYMENT, by=None, context=_bill_context(bill)
            )
            return bill
        if application.status != Status.AWAITING_PAYMENT:
            return None
        if open_bill and open_bill.is_open:
            return open_bill
        if open_bill:
            _close(open_bill, Bill.Status.EXPIRED)
        bill = _create_bill(application)
        pagecache.touch(application.pk)
    return bill


def bills_issue_missing(*, older_than_minutes: int = 2, limit: int = 200) -> int:
    """Issue the bills a lost task left behind (submitted, or back from a revision)."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    waiting = (
        Application.objects.filter(status__in=[Status.SUBMITTED, Status.AWAITING_PAYMENT])
        .filter(status_changed_at__lt=cutoff)
        .exclude(bills__status__in=[Bill.Status.UNPAID, Bill.Status.PAID])
        .values_list("pk", flat=True)[:limit]
    )
    issued = 0
    for application_id in list(waiting):
        try:
            if bill_issue(application_id=application_id):
                issued += 1
        except ServiceError:
            logger.warning("no bill could be issued for application %s", application_id)
    return issued


def bill_reissue(*, application: Application, by) -> Bill:
    """A new billing code after the first one expired: once, within BILL_REISSUE_DAYS."""
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.applicant_id != by.pk:
            raise ServiceError(_("You may not make this change to the application."))
        if locked.status != Status.EXPIRED:
            raise ServiceError(_("A new billing code is only needed when the last one expired."))
        bills = list(Bill.objects.select_for_update().filter(application=locked))
        if any(bill.reissue_of_id for bill in bills):
            raise ServiceError(
                _("A new billing code can be asked for only once. Please make a new application.")
            )
        last = next((b for b in bills if b.status == Bill.Status.EXPIRED), None)
        if last is None:
            raise ServiceError(_("A new billing code is only needed when the last one expired."))
        deadline = (last.closed_at or last.expires_at) + dt.timedelta(
            days=settings.BILL_REISSUE_DAYS
        )
        if timezone.now() > deadline:
            raise ServiceError(
                _(
                    "A new billing code could be asked for until %(date)s. "
                    "Please make a new application."
                )
                % {"date": long_datetime(deadline, locked.office)}
            )
        bill = _create_bill(locked, reissue_of=last)
        workflow.transition(locked, Status.AWAITING_PAYMENT, by=None, context=_bill_context(bill))
    application.refresh_from_db()
    return bill


def reissue_deadline(application: Application) -> dt.datetime | None:
    """Until when the citizen may ask for a new code; None when they may not."""
    if application.status != Status.EXPIRED:
        return None
    bills = list(application.bills.all())
    if any(bill.reissue_of_id for bill in bills):
        return None
    last = next((b for b in bills if b.status == Bill.Status.EXPIRED), None)
    if last is None:
        return None
    deadline = (last.closed_at or last.expires_at) + dt.timedelta(days=settings.BILL_REISSUE_DAYS)
    return deadline if deadline > timezone.now() else None


def bills_cancel_for(application: Application) -> int:
    """The application ended before payment: its unpaid bill can no longer be paid."""
    now = timezone.now()
    return Bill.objects.filter(application=application, status=Bill.Status.UNPAID).update(
        status=Bill.Status.CANCELLED, closed_at=now
    )


def bills_expire(*, now=None, limit: int = 500) -> int:
    """Unpaid bills past expiry → expired; their applications → expired, citizen told.

    The gateway is asked first, so a payment whose webhook was lost is
    settled rather than expired.
    """
    from payments import webhooks

    now = now or timezone.now()
    expired = 0
    for bill in list(Bill.objects.due_to_expire(now).select_related("application")[:limit]):
        asked = webhooks.reconcile_bill(bill)
        if asked == "applied":
            continue
        if asked in {"unknown", "error"} and now < bill.expires_at + EXPIRY_GRACE:
            # The gateway cannot say now: a payment made in time must not be
            # turned into a refund case. Try again on the next run.
            continue
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=bill.application_id)
            locked = Bill.objects.select_for_update().get(pk=bill.pk)
            if locked.status != Bill.Status.UNPAID or locked.expires_at > now:
                continue
            _close(locked, Bill.Status.EXPIRED, now=now)
            if application.status == Status.AWAITING_PAYMENT:
                workflow.transition(
                    application,
                    Status.EXPIRED,
                    by=None,
                    context={
                        **_bill_context(locked),
                        "reissue_until": now + dt.timedelta(days=settings.BILL_REISSUE_DAYS),
                    },
                )
            else:
                pagecache.touch(application.pk)
            expired += 1
    return expired


def bills_remind(*, now=None, within_hours: int = 24) -> int:
    """Remind once, by email and SMS, about a billing code that runs out within a day.

    Codes issued with less than a day to run are not reminded (the issue
    message has just said it). The conditional update claims each bill, so
    two beat runs never remind twice.
    """
    from notifications.services import notify

    now = now or timezone.now()
    soon = now + dt.timedelta(hours=within_hours)
    due = (
        Bill.objects.unpaid()
        .filter(reminded_at__isnull=True, expires_at__gt=now, expires_at__lte=soon)
        .filter(issued_at__lt=now - dt.timedelta(hours=1))
        .filter(application__status=Status.AWAITING_PAYMENT)
        .select_related("application", "application__applicant", "application__office")
    )
    sent = 0
    for bill in list(due[:1000]):
        with transaction.atomic():
            claimed = Bill.objects.filter(pk=bill.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            application = bill.application
            notify(
                application.applicant,
                "payment.reminder",
                {
                    "application": application,
                    "reference": application.reference,
                    **_bill_context(bill),
                    "link": settings.SITE_URL + bill.get_absolute_url(),
                },
                related=bill,
            )
            sent += 1
    return sent


# --- Settling -------------------------------------------------------------------


def settle(
    *,
    application: Application,
    bill: Bill,
    amount: int,
    method: str,
    ntpn: str,
    paid_at: dt.datetime,
    provider: str,
    provider_reference: str = "",
    by=None,
    reason: str = "",
    proof: str = "",
) -> Payment:
    """Record the money and pay the bill; the application moves to paid.

    The caller holds the locks (application, then bill), passes the rows it
    read under them, and has checked that `bill` is unpaid, `amount` equals
    it, and the application may be paid.
    """
    payment = Payment.objects.create(
        bill=bill,
        amount=amount,
        method=method,
        ntpn=ntpn,
        paid_at=paid_at,
        provider=provider,
        provider_reference=provider_reference,
        recorded_by=by,
        reason=reason,
        proof=proof,
    )
    bill.status = Bill.Status.PAID
    bill.paid_at = paid_at
    bill.ntpn = ntpn
    bill.method = method
    bill.provider = provider
    bill.closed_at = timezone.now()
    bill.save(update_fields=["status", "paid_at", "ntpn", "method", "provider", "closed_at"])
    if application.status == Status.REVISION_REQUESTED:
        # Paid at the bank while the officer waits for a fix: the revision
        # returns to paid instead of awaiting payment.
        Application.objects.filter(pk=application.pk).update(resume_status=Status.PAID)
        pagecache.touch(application.pk)
    else:
        workflow.transition(
            application, Status.PAID, by=by, context=_bill_context(bill), locked=True
        )
    bill_id = bill.pk
    transaction.on_commit(lambda: _render_receipt_later(bill_id), robust=True)
    return payment


def _render_receipt_later(bill_id: int) -> None:
    from payments import tasks

    tasks.render_payment_receipt.delay(bill_id)


# Why money is held; the note is written in the office's language for officers.
HOLD_AMOUNT = "amount"
HOLD_TWICE = "twice"
HOLD_LATE = "late"
HOLD_CLOSED = "closed"
HOLD_NTPN = "ntpn"


def _hold_note(reason: str, bill: Bill, paid: int | None) -> str:
    notes = {
        HOLD_AMOUNT: _("Paid %(paid)s instead of %(amount)s: refund and ask for the exact amount.")
        % {"paid": rupiah(paid), "amount": rupiah(bill.amount)},
        HOLD_TWICE: _("Paid a second time: refund the second payment."),
        HOLD_LATE: _(
            "Paid after the billing code expired: refund it; the applicant can ask for a new code."
        ),
        HOLD_CLOSED: _("Paid for a billing code that was “%(status)s”: refund review.")
        % {"status": bill.get_status_display()},
        HOLD_NTPN: _("The gateway sent no valid NTPN, or one already used: check with the bank."),
    }
    return notes[reason]


def hold(
    *,
    bill: Bill,
    reason: str,
    paid: int | None = None,
    amount: int | None = None,
    method: str = "",
    paid_at=None,
    provider: str = "",
    provider_reference: str = "",
    ntpn: str = "",
) -> Payment | None:
    """Money that cannot settle `bill` (late, wrong amount, twice): kept for refund review."""
    with translation.override(settings.LANGUAGE_CODE):
        note = _hold_note(reason, bill, paid)
    payment = None
    if amount is not None:
        payment = Payment.objects.create(
            bill=bill,
            state=Payment.State.HELD,
            amount=amount,
            method=method if method in Method.values else Method.MANUAL,
            ntpn=ntpn if ntpn and not Payment.objects.filter(ntpn=ntpn).exists() else "",
            paid_at=paid_at or timezone.now(),
            provider=provider,
            provider_reference=provider_reference,
            reason=note[:300],
        )
    bill.needs_review = True
    bill.review_note = note[:300]
    bill.save(update_fields=["needs_review", "review_note"])
    pagecache.touch(bill.application_id)
    logger.warning("bill %s held for review (%s)", bill.code, reason)
    return payment


def payable(application: Application, bill: Bill, *, paid_at=None) -> bool:
    """May money for `bill` settle it now?

    An unpaid bill of an application awaiting payment (or waiting for a fix
    from there); or the last bill of an expired application when the money
    was paid before the code expired and its news came late.
    """
    if bill.status == Bill.Status.UNPAID:
        if application.status in PAYABLE:
            return True
        return (
            application.status == Status.REVISION_REQUESTED
            and application.resume_status == Status.AWAITING_PAYMENT
        )
    return (
        bill.status == Bill.Status.EXPIRED
        and application.status == Status.EXPIRED
        and paid_at is not None
        and paid_at <= bill.expires_at
        and not Bill.objects.filter(application=application, reissue_of=bill).exists()
    )


# A settled fee is given back only when the application will not go ahead.
REFUNDABLE = frozenset({Status.REJECTED, Status.CANCELLED})


# --- Officers: payments recorded by hand, refunds ----------------------------------


def _audit(user, obj, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )
    audit.info("%s (user %s): %s", obj, user.pk, message)


def payment_record(
    *,
    bill: Bill,
    by,
    method: str,
    ntpn: str,
    paid_at: dt.datetime,
    reason: str,
    proof=None,
) -> Payment:
    """An officer records a payment the gateway did not report: at a bank teller
    with the billing code (proof required), or while the gateway is down."""
    from applications import uploads

    ntpn = (ntpn or "").strip().upper()
    reason = (reason or "").strip()
    if method not in {Method.TELLER, Method.MANUAL}:
        raise ServiceError(_("Choose how the fee was paid."), field="method")
    if not NTPN_PATTERN.match(ntpn):
        raise ServiceError(
            _("The NTPN is 16 letters and digits, as printed on the bank's proof."), field="ntpn"
        )
    if not reason:
        raise ServiceError(_("Give a reason; it is kept in the audit trail."), field="reason")
    if paid_at > timezone.now():
        raise ServiceError(_("The payment time cannot be in the future."), field="paid_at")
    if method == Method.TELLER and proof is None:
        raise ServiceError(_("Attach the bank's proof of payment."), field="proof")
    clean = None
    if proof is not None:
        try:
            clean = uploads.clean_upload(proof, accepted=["pdf", "jpeg", "png"], max_bytes=4 << 20)
        except ServiceError as error:
            raise ServiceError(error.message, field="proof") from error
    stored = ""
    if clean is not None:
        stored = default_storage.save(
            f"payment-proofs/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.{clean.extension}",
            ContentFile(clean.content),
        )
    try:
        payment = _payment_record_locked(
            bill=bill, by=by, method=method, ntpn=ntpn, paid_at=paid_at, reason=reason, proof=stored
        )
    except Exception:
        if stored:
            default_storage.delete(stored)  # nothing refers to it
        raise
    return payment


@transaction.atomic
def _payment_record_locked(*, bill, by, method, ntpn, paid_at, reason, proof) -> Payment:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("service", "applicant", "office")
        .get(pk=bill.application_id)
    )
    if not officer_can_act(by, application):
        raise ServiceError(_("You may not make this change to the application."))
    locked = Bill.objects.select_for_update().get(pk=bill.pk)
    if locked.status not in {Bill.Status.UNPAID, Bill.Status.EXPIRED}:
        raise ServiceError(
            _("This bill is “%(status)s”; only an unpaid bill can be paid.")
            % {"status": locked.get_status_display()}
        )
    if paid_at > locked.expires_at:
        raise ServiceError(
            _(
                "This payment was made after the billing code expired, so it cannot "
                "settle it. Ask the applicant to request a new code; the money is refunded."
            ),
            field="paid_at",
        )
    if paid_at < locked.issued_at - dt.timedelta(minutes=5):
        raise ServiceError(_("The payment time is before the bill was issued."), field="paid_at")
    if not payable(application, locked, paid_at=paid_at):
        raise ServiceError(
            _("An application that is “%(status)s” cannot be paid.")
            % {"status": Status(application.status).label}
        )
    if Payment.objects.filter(ntpn=ntpn).exists():
        raise ServiceError(_("This NTPN is already recorded for another payment."), field="ntpn")
    payment = settle(
        application=application,
        bill=locked,
        amount=locked.amount,
        method=method,
        ntpn=ntpn,
        paid_at=paid_at,
        provider=method,
        by=by,
        reason=reason[:300],
        proof=proof,
    )
    _audit(by, locked, f"Payment recorded by hand ({method}, NTPN {ntpn}): {reason}")
    audit_trail.record(
        "payment_recorded",
        obj=payment,
        office=application.office_id,
        by=by,
        label=f"{application.reference} {locked.code}",
        detail={"bill": locked.code, "amount": locked.amount, "method": method, "ntpn": ntpn},
    )
    return payment


def refund_record(*, payment: Payment, by, amount: int, reason: str, reference: str = "") -> Refund:
    """Money given back (after a late, wrong-amount or double payment, or a mistake)."""
    from notifications.services import notify

    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give a reason; it is kept in the audit trail."), field="reason")
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=payment.bill.application_id)
        if not officer_can_act(by, application):
            raise ServiceError(_("You may not make this change to the application."))
        bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state == Payment.State.REFUNDED:
            raise ServiceError(_("This payment has already been refunded."))
        if amount != locked.amount:
            # One refund per payment, of all of it: the state returns PNBP whole.
            raise ServiceError(
                _("A refund gives back the whole payment: %(amount)s.")
                % {"amount": rupiah(locked.amount)},
                field="amount",
            )
        if locked.state == Payment.State.SETTLED and application.status not in REFUNDABLE:
            raise ServiceError(
                _(
                    "The fee of an application that is “%(status)s” is not refunded; "
                    "only after it was rejected or cancelled."
                )
                % {"status": Status(application.status).label}
            )
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            reason=reason[:300],
            reference=(reference or "").strip()[:60],
            recorded_by=by,
        )
        was_settled = locked.state == Payment.State.SETTLED
        locked.state = Payment.State.REFUNDED
        locked.save(update_fields=["state"])
        if was_settled and bill.status == Bill.Status.PAID:
            bill.status = Bill.Status.REFUNDED
            bill.save(update_fields=["status"])
        if not bill.payments.filter(state=Payment.State.HELD).exists():
            bill.needs_review = False
            bill.save(update_fields=["needs_review"])
        pagecache.touch(application.pk)
        _audit(by, bill, f"Refund of Rp {amount} for payment {locked}: {reason}")
        audit_trail.record(
            "refund_recorded",
            obj=refund,
            office=application.office_id,
            by=by,
            label=f"{application.reference} {bill.code}",
            detail={"bill": bill.code, "amount": amount, "payment": locked.pk},
        )
        notify(
            application.applicant,
            "payment.refunded",
            {
                "application": application,
                "reference": application.reference,
                "bill": bill,
                "amount": amount,
                "reason": reason,
                "link": settings.SITE_URL + application.get_absolute_url(),
            },
            related=refund,
        )
    return refund


def review_clear(*, bill: Bill, by, note: str) -> None:
    """An officer looked at a held bill and found nothing more to do."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("Give a reason; it is kept in the audit trail."), field="note")
    with transaction.atomic():
        # Lock order: the application, then its bill (as everywhere in payments).
        application = Application.objects.select_for_update().get(pk=bill.application_id)
        locked = Bill.objects.select_for_update().get(pk=bill.pk)
        locked.application = application
        if not officer_can_act(by, locked.application):
            raise ServiceError(_("You may not make this change to the application."))
        if locked.payments.filter(state=Payment.State.HELD).exists():
            raise ServiceError(_("Refund the held payments first."))
        locked.needs_review = False
        locked.review_note = note[:300]
        locked.save(update_fields=["needs_review", "review_note"])
        _audit(by, locked, f"Review closed: {note}")
        audit_trail.record(
            "payment_review_closed",
            obj=locked,
            office=application.office_id,
            by=by,
            label=f"{application.reference} {locked.code}",
            detail={"bill": locked.code},
        )
