"""Everything the portal holds about one account, for the person to download.

UU PDP No. 27/2022 gives the data subject the right to a copy of their
personal data (art. 7) in a commonly used, machine-readable form (art. 13).
`personal_data_collect(user)` gathers it into one plain dict of plain values
(str, int, bool, None, date, datetime, lists and dicts); the views render
that dict as JSON or as a PDF (accounts.views_privacy).

Only rows that belong to the account are read: every query starts from the
user (`recipient=user`, `applicant=user`, `citizen=user`, `owner=user`).
Officers appear by role only, never by name: their identity is other
people's data. Secrets never leave: no password hash, no SMS code hash, no
TOTP key, and the text of security messages (links, codes) is withheld.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from accounts.models import PhoneVerification, User
from applications.models import Application, Document, Person, StatusEvent, SupersededDocument
from applications.workflow import Status
from notifications import events
from notifications.delivery import REDACTED
from notifications.models import Notification, Preference
from payments.models import Bill, Payment
from queueing.models import Booking, Ticket, WaitlistEntry

FORMAT_VERSION = 1


def personal_data_collect(user: User) -> dict:
    """The account's own data as one dict (see the module docstring for what is left out)."""
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": timezone.now(),
        "account": _account(user),
        "two_factor_devices": _two_factor(user),
        "family_members": [_person(p) for p in Person.objects.filter(owner=user)],
        "applications": [_application(a) for a in _applications(user)],
        "bookings": [_booking(b) for b in _bookings(user)],
        "queue_tickets": [_ticket(t) for t in _tickets(user)],
        "waiting_list": [_waitlist(w) for w in _waitlist_entries(user)],
        "notifications": [_notification(n) for n in _notifications(user)],
        "notification_preferences": _preferences(user),
        "phone_verifications": [_phone(v) for v in _phone_verifications(user)],
    }


# --- Account ----------------------------------------------------------------


def _account(user: User) -> dict:
    return {
        "email": user.email,
        "full_name": user.full_name,
        # In full: it is the person's own number (the export is their copy).
        "nik": user.nik,
        "nik_mismatch": user.nik_mismatch,
        "date_of_birth": user.date_of_birth,
        "sex": user.sex,
        "sex_label": _sex_label(user.sex),
        "phone": user.phone,
        "phone_verified_at": user.phone_verified_at,
        "address": user.address,
        "preferred_language": user.preferred_language,
        "privacy_consent_at": user.privacy_consent_at,
        "email_verified_at": user.email_verified_at,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "deletion_requested_at": user.deletion_requested_at,
    }


def _sex_label(code: str) -> str:
    return str(User.Sex(code).label) if code in User.Sex.values else ""


def _two_factor(user: User) -> list[dict]:
    """Which second factors are set up: names and kinds, never their secrets."""
    return [
        {"kind": str(device._meta.verbose_name), "name": device.name, "confirmed": device.confirmed}
        for device in devices_for_user(user, confirmed=None)
    ]


def _person(person: Person) -> dict:
    return {
        "relationship": person.relationship,
        "relationship_label": person.get_relationship_display(),
        "full_name": person.full_name,
        "nik": person.nik,
        "date_of_birth": person.date_of_birth,
        "place_of_birth": person.place_of_birth,
        "sex": person.sex,
        "sex_label": _sex_label(person.sex),
        "address": person.address,
        "father_name": person.father_name,
        "mother_name": person.mother_name,
        "created_at": person.created_at,
    }


# --- Applications, documents, payments ----------------------------------------


def _applications(user: User):
    return (
        Application.objects.filter(applicant=user)
        .select_related("service", "office")
        .prefetch_related(
            Prefetch("events", queryset=StatusEvent.objects.order_by("at", "pk")),
            Prefetch(
                "documents",
                queryset=Document.objects.select_related("requirement").prefetch_related(
                    Prefetch("earlier", queryset=SupersededDocument.objects.order_by("uploaded_at"))
                ),
            ),
            Prefetch(
                "bills",
                queryset=Bill.objects.order_by("issued_at", "pk").prefetch_related(
                    Prefetch(
                        "payments",
                        queryset=Payment.objects.select_related("refund").order_by("paid_at"),
                    )
                ),
            ),
        )
        .order_by("created_at", "pk")
    )


def _application(application: Application) -> dict:
    return {
        "reference": application.reference,
        "service": application.service.name,
        "office": application.office.name,
        "status": application.status,
        "status_label": str(Status(application.status).label),
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
        "due_date": application.due_date,
        "ready_at": application.ready_at,
        "completed_at": application.completed_at,
        "applicant": {
            "full_name": application.full_name,
            "nik": application.nik,
            "date_of_birth": application.date_of_birth,
            "place_of_birth": application.place_of_birth,
            "sex": application.sex,
            "sex_label": _sex_label(application.sex),
            "address": application.address,
            "father_name": application.father_name,
            "mother_name": application.mother_name,
        },
        "details": {
            "travel_purpose": application.travel_purpose,
            "travel_purpose_label": application.get_travel_purpose_display()
            if application.travel_purpose
            else "",
            "destination": application.destination,
            "nationality": application.nationality,
            "passport_number": application.passport_number,
            "sponsor_name": application.sponsor_name,
            "sponsor_address": application.sponsor_address,
            "sponsor_phone": application.sponsor_phone,
        },
        "fee_amount": application.fee_amount,
        "declaration_at": application.declaration_at,
        "delivery": {
            "method": application.delivery_method,
            "address": application.delivery_address,
            "courier": application.courier,
            "tracking_number": application.tracking_number,
        },
        "status_history": [_event(e) for e in application.events.all()],
        "documents": [_document(d) for d in application.documents.all()],
        "bills": [_bill(b) for b in application.bills.all()],
    }


def _event(event: StatusEvent) -> dict:
    return {
        "at": event.at,
        "from": event.from_status,
        "to": event.to_status,
        "to_label": str(Status(event.to_status).label),
        # Who as a role (citizen, officer, system): the officer's name is not the person's data.
        "by_role": event.actor,
        "note": event.note,
    }


def _document(document: Document) -> dict:
    return {
        "requirement": document.requirement.name,
        "original_name": document.original_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_at": document.uploaded_at,
        "state": document.state,
        "state_label": document.get_state_display(),
        "rejection_reason": document.rejection_reason,
        "reviewed_at": document.reviewed_at,
        "file_deleted_at": document.purged_at,
        "earlier_versions": [
            {
                "original_name": earlier.original_name,
                "sha256": earlier.sha256,
                "uploaded_at": earlier.uploaded_at,
                "replaced_at": earlier.superseded_at,
                "state": earlier.state,
                "rejection_reason": earlier.rejection_reason,
                "file_deleted_at": earlier.purged_at,
            }
            for earlier in document.earlier.all()
        ],
    }


def _bill(bill: Bill) -> dict:
    return {
        "billing_code": bill.code,
        "amount": bill.amount,
        "status": bill.status,
        "status_label": bill.get_status_display(),
        "issued_at": bill.issued_at,
        "expires_at": bill.expires_at,
        "paid_at": bill.paid_at,
        "closed_at": bill.closed_at,
        "ntpn": bill.ntpn,
        "method": bill.method,
        "payments": [_payment(p) for p in bill.payments.all()],
    }


def _payment(payment: Payment) -> dict:
    refund = getattr(payment, "refund", None)
    return {
        "amount": payment.amount,
        "method": payment.method,
        "method_label": payment.get_method_display(),
        "ntpn": payment.ntpn,
        "paid_at": payment.paid_at,
        "state": payment.state,
        "state_label": payment.get_state_display(),
        "refund": None
        if refund is None
        else {
            "amount": refund.amount,
            "reason": refund.reason,
            "bank_reference": refund.reference,
            "recorded_at": refund.recorded_at,
        },
    }


# --- Queueing -----------------------------------------------------------------------


def _bookings(user: User):
    return (
        Booking.objects.filter(citizen=user)
        .select_related("office", "slot", "application")
        .order_by("created_at", "pk")
    )


def _booking(booking: Booking) -> dict:
    return {
        "code": booking.code,
        "office": booking.office.name,
        "purpose": booking.purpose,
        "purpose_label": booking.get_purpose_display(),
        "application": booking.application.reference if booking.application else "",
        "starts_at": booking.slot.starts_at,
        "ends_at": booking.slot.ends_at,
        "topic": booking.topic,
        "question": booking.question,
        "status": booking.status,
        "status_label": booking.get_status_display(),
        "times_rescheduled": booking.reschedules,
        "booked_at": booking.created_at,
        "checked_in_at": booking.checked_in_at,
        "closed_at": booking.closed_at,
        "close_note": booking.close_note,
    }


def _tickets(user: User):
    # Walk-in tickets carry no account: only tickets of the person's bookings are theirs.
    return (
        Ticket.objects.filter(booking__citizen=user)
        .select_related("office", "booking")
        .order_by("day", "pk")
    )


def _ticket(ticket: Ticket) -> dict:
    return {
        "number": ticket.label,
        "office": ticket.office.name,
        "day": ticket.day,
        "booking": ticket.booking.code if ticket.booking else "",
        "priority": ticket.priority,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "issued_at": ticket.issued_at,
        "called_at": ticket.called_at,
        "served_at": ticket.served_at,
        "finished_at": ticket.finished_at,
    }


def _waitlist_entries(user: User):
    return (
        WaitlistEntry.objects.filter(citizen=user)
        .select_related("office", "application")
        .order_by("created_at", "pk")
    )


def _waitlist(entry: WaitlistEntry) -> dict:
    return {
        "office": entry.office.name,
        "purpose": entry.purpose,
        "day": entry.day,
        "application": entry.application.reference if entry.application else "",
        "topic": entry.topic,
        "status": entry.status,
        "status_label": entry.get_status_display(),
        "joined_at": entry.created_at,
        "offered_at": entry.offered_at,
        "offer_expires_at": entry.offer_expires_at,
        "closed_at": entry.closed_at,
    }


# --- Notifications and phone verification ------------------------------------------


def _notifications(user: User):
    return Notification.objects.filter(recipient=user).order_by("created_at", "pk")


def _notification(notification: Notification) -> dict:
    secret = events.EVENTS.get(notification.event, ("",))[0] == events.SECURITY
    return {
        "event": notification.event,
        "channel": notification.channel,
        "status": notification.status,
        "sent_to": notification.address,
        "language": notification.language,
        "subject": notification.subject,
        # Security messages carry one-time links and codes: never copied into a file.
        "text": REDACTED if secret and notification.body else notification.body,
        "created_at": notification.created_at,
        "sent_at": notification.sent_at,
        "delivered_at": notification.delivered_at,
        "read_at": notification.read_at,
    }


def _preferences(user: User) -> dict | None:
    preference = Preference.objects.filter(user=user).first()
    if preference is None:
        return None
    return {
        "email_status": preference.email_status,
        "sms_status": preference.sms_status,
        "email_reminders": preference.email_reminders,
        "sms_reminders": preference.sms_reminders,
    }


def _phone_verifications(user: User):
    return PhoneVerification.objects.filter(user=user).order_by("created_at", "pk")


def _phone(verification: PhoneVerification) -> dict:
    # No code hash: it is a secret of the portal, not data about the person.
    return {
        "phone": verification.phone,
        "sent_at": verification.created_at,
        "expires_at": verification.expires_at,
        "attempts": verification.attempts,
        "verified_at": verification.verified_at,
    }


def sections() -> list[tuple[str, str]]:
    """What the download contains, in the page's words (shown before asking for the password)."""
    return [
        ("account", _("Your account: email, name, NIK, date of birth, sex, phone, address.")),
        ("family_members", _("The family members you saved for applications.")),
        (
            "applications",
            _(
                "Every application with what you filled in, its status history, the list of "
                "documents (name, size, fingerprint, verification; not the files themselves), "
                "bills, payments and refunds."
            ),
        ),
        ("bookings", _("Appointments, queue tickets and waiting-list places.")),
        ("notifications", _("The messages we sent you by email, SMS and in the portal.")),
        ("phone_verifications", _("When codes were sent to verify your mobile number.")),
    ]
