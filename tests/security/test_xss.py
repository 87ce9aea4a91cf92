"""XSS: what people type comes back escaped wherever it is shown (OWASP ASVS v5.0.0-1.2.1).

Each free-text field gets a payload with a script tag, an attribute break-out
with an event handler, and a template expression. Every HTML rendering of it
(citizen pages, the officers' console, email HTML parts, the HTML WeasyPrint
turns into PDFs) must show it escaped: the raw tags never, the escaped text
always (so the test knows the value was on the page at all), and the
template expression as typed, not evaluated. Plain-text channels (email text
parts, SMS, the portal's stored notification text) carry the text exactly as
typed: escaping there would only garble it; the pages that show portal
notifications escape them.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from applications import services as application_services
from applications import verification
from applications.models import Application, Document, Person, Service
from applications.receipts import receipt_pdf
from applications.workflow import Status
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.sms import locmem
from offices.models import Office
from payments import services as payment_services
from payments.models import Bill, Method, Payment
from payments.receipts import payment_receipt_pdf
from queueing import slips, tickets
from queueing.models import Booking, Purpose, Topic
from tests.applications.conftest import (  # noqa: F401 (fixture)
    advance,
    complete_draft,
    permit_service,
    png_bytes,
)
from tests.factories import PASSWORD, make_nik, registration_data
from tests.queueing.conftest import book, first_slot, open_moment
from tests.utils import committed

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
RAW = (SCRIPT, "<img src=x onerror")


def payload(tag: str) -> str:
    """A value for one field; `tag` tells the fields apart (about 66 characters)."""
    return f"{tag} {SCRIPT}{BREAKOUT}{TEMPLATE}"


def short_payload(tag: str) -> str:
    """For fields of 60 characters (courier, tracking number)."""
    return f"{tag}{BREAKOUT}{TEMPLATE}"


def escaped_problems(html: str, *values: str) -> list[str]:
    problems = [f"raw {raw!r} in the page" for raw in RAW if raw in html]
    for value in values:
        if escape(value) not in html:
            problems.append(f"{value!r} is not shown escaped")
    return problems


def assert_escaped(html: str, *values: str, where: str) -> None:
    problems = escaped_problems(html, *values)
    assert not problems, f"{where}: {problems}"


def assert_verbatim(text: str, *values: str, where: str) -> None:
    """A plain-text rendering: the value as typed, no HTML entities."""
    missing = [value for value in values if value not in text]
    assert not missing, f"{where}: {missing} not in the text as typed"
    assert not re.search(r"&(lt|gt|quot|amp|#x27);", text), f"{where}: HTML-escaped text"


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def pdf_html(monkeypatch) -> list[str]:
    """The HTML each PDF is made from (WeasyPrint itself is not run)."""
    rendered: list[str] = []

    class Html:
        def __init__(self, string: str = "", **kwargs):
            rendered.append(string)

        def write_pdf(self) -> bytes:
            return b"%PDF-1.4\n%%EOF\n"

    monkeypatch.setattr("weasyprint.HTML", Html)
    return rendered


@pytest.fixture(autouse=True)
def _sandbox_payments(settings):
    settings.PAYMENT_GATEWAY = "sandbox"


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)  # staff: device verified (tests/conftest.py)
    return client


def email_to(address: str, subject_part: str = "") -> mail.EmailMultiAlternatives:
    found = [m for m in mail.outbox if address in m.to and subject_part in m.subject]
    assert found, f"no email to {address} ({[m.subject for m in mail.outbox]})"
    return found[-1]


def html_part(message) -> str:
    parts = [content for content, kind in message.alternatives if kind == "text/html"]
    assert parts, f"{message.subject!r} has no HTML part"
    return parts[0]


def export_pdf(client, pdf_html: list[str]) -> str:
    """The HTML of the citizen's "my data" PDF (the password confirms the download)."""
    response = client.post(reverse("accounts:my_data"), {"format": "pdf", "password": PASSWORD})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    return pdf_html[-1]


# --- What a citizen types about themselves ------------------------------------------------------


def test_a_name_and_address_typed_at_registration_come_back_escaped(
    superuser, pdf_html, tasks_inline
):
    name, address = payload("NAME"), payload("ADDR")
    with committed():
        response = Client().post(
            reverse("accounts:register"),
            registration_data(
                full_name=name,
                address=address,
                email="mallory@example.id",
                nik=make_nik(dt.date(1990, 5, 12), "L", serial=77),
                sex="L",
                phone="0812 9999 0001",
            ),
        )
    assert response.status_code == 302
    mallory = User.objects.get(email="mallory@example.id")
    assert (mallory.full_name, mallory.address) == (name, address)  # stored as typed

    message = email_to(mallory.email)
    assert_verbatim(message.body, name, where="verification email, text part")
    assert_escaped(html_part(message), name, where="verification email, HTML part")

    User.objects.filter(pk=mallory.pk).update(is_active=True)
    mallory.refresh_from_db()
    citizen = logged_in(mallory)
    assert_escaped(body(citizen.get(reverse("accounts:profile"))), address, where="profile")
    assert_escaped(export_pdf(citizen, pdf_html), name, address, where="my data PDF")

    console = logged_in(superuser)
    changelist = console.get(reverse("admin:accounts_user_changelist"))
    assert_escaped(body(changelist), name, where="admin user list")
    change = console.get(reverse("admin:accounts_user_change", args=[mallory.pk]))
    assert_escaped(body(change), name, address, where="admin user page")


def test_a_family_member_s_details_come_back_escaped(ani, passport_service, pdf_html):
    fields = {
        "full_name": payload("KID"),
        "place_of_birth": payload("POB"),
        "address": payload("KADDR"),
        "father_name": payload("DAD"),
        "mother_name": payload("MUM"),
    }
    citizen = logged_in(ani)
    response = citizen.post(
        reverse("applications:family_add"),
        {
            "relationship": Person.Relationship.CHILD,
            "nik": make_nik(dt.date(2015, 3, 12), "L", serial=5),
            "date_of_birth": "2015-03-12",
            "sex": "L",
            **fields,
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(owner=ani, relationship=Person.Relationship.CHILD)

    family = citizen.get(reverse("applications:family"))
    assert_escaped(body(family), fields["full_name"], where="family list")
    edit = citizen.get(reverse("applications:family_edit", args=[person.pk]))
    assert_escaped(body(edit), *fields.values(), where="family member form")
    start = citizen.get(reverse("applications:start", args=[passport_service.code]))
    assert_escaped(body(start), fields["full_name"], where="who is this application for")
    assert_escaped(export_pdf(citizen, pdf_html), *fields.values(), where="my data PDF")


# --- An application, from the citizen's form to the officer's console and the PDFs -----------


def _upload(client, application: Application, filename: str) -> Document:
    requirement = next(r for r in application.service.requirements.all() if "png" in r.types)
    response = client.post(
        reverse("applications:upload", args=[application.reference, requirement.pk]),
        {f"doc{requirement.pk}-file": SimpleUploadedFile(filename, png_bytes(), "image/png")},
    )
    assert response.status_code == 302, response.status_code
    for other in application.service.requirements.exclude(pk=requirement.pk):
        Document.objects.create(
            application=application,
            requirement=other,
            file=ContentFile(png_bytes(), name=f"{other.code}.png"),
            original_name=f"{other.code}.png",
            content_type="image/png",
            size=100,
            sha256="0" * 64,
        )
    return application.documents.get(requirement=requirement)


def test_an_application_s_details_come_back_escaped_everywhere(
    ani, budi, office_a, passport_service, pdf_html, tasks_inline
):
    child = Person.objects.create(
        owner=ani, relationship=Person.Relationship.CHILD, full_name="Bima Lestari"
    )
    typed = {
        "full_name": payload("APPNAME"),
        "place_of_birth": payload("APPPOB"),
        "address": payload("APPADDR"),
        "father_name": payload("APPDAD"),
        "mother_name": payload("APPMUM"),
    }
    destination = payload("DEST")
    citizen = logged_in(ani)
    started = citizen.post(
        reverse("applications:start", args=[passport_service.code]),
        {"person": str(child.pk), "office": office_a.pk},
    )
    assert started.status_code == 302
    application = Application.objects.get(applicant=ani, person=child)

    def step(number: int) -> str:
        return reverse("applications:step", args=[application.reference, number])

    response = citizen.post(
        step(1),
        {
            **typed,
            "nik": make_nik(dt.date(2015, 3, 12), "L", serial=6),
            "date_of_birth": "2015-03-12",
            "sex": "L",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    response = citizen.post(step(2), {"travel_purpose": "tourism", "destination": destination})
    assert response.status_code == 302, response.context["form"].errors
    document = _upload(citizen, application, f"{SCRIPT}{BREAKOUT}ktp.png")
    assert document.original_name  # what is left of the name is shown, escaped
    assert citizen.post(step(3)).status_code == 302

    values = [*typed.values(), destination]
    assert_escaped(body(citizen.get(step(4))), *values, where="check and send page")
    with committed():
        assert citizen.post(step(4), {"declaration": "on"}).status_code == 302
    application.refresh_from_db()
    # Sent; after the commit the bill was issued too.
    assert application.status == Status.AWAITING_PAYMENT
    assert application.full_name == typed["full_name"]

    detail = citizen.get(application.get_absolute_url())
    assert_escaped(
        body(detail), typed["full_name"], document.original_name, where="application page"
    )
    console = logged_in(budi)
    change = console.get(reverse("admin:applications_application_change", args=[application.pk]))
    assert_escaped(body(change), *values, document.original_name, where="admin application page")
    changelist = console.get(reverse("admin:applications_application_changelist"))
    assert_escaped(body(changelist), typed["full_name"], where="admin application list")

    receipt_pdf(application)
    receipt = pdf_html[-1]
    assert_escaped(receipt, typed["full_name"], document.original_name, where="receipt PDF")

    # The public pages show a masked name: nothing raw, whatever is left.
    check = Client().post(
        reverse("status_check"),
        {"reference": application.reference, "date_of_birth": "2015-03-12"},
    )
    assert application.reference in body(check)
    assert not escaped_problems(body(check)), "status check"
    token = verification.token_for("receipt", application.reference)
    verify = Client().get(reverse("verify", args=[token]))
    assert application.reference in body(verify)
    assert not escaped_problems(body(verify)), "receipt verification page"

    # The payment receipt, once the fee is paid at the bank.
    bill = application.bills.get()
    with committed():
        payment_services.payment_record(
            bill=bill,
            by=budi,
            method=Method.MANUAL,
            ntpn="NTPN0000XSS00001",
            paid_at=timezone.now(),
            reason="Gateway down",
        )
    bill.refresh_from_db()
    payment_receipt_pdf(bill)
    assert_escaped(pdf_html[-1], typed["full_name"], where="payment receipt PDF")


def test_a_value_a_field_refuses_is_kept_escaped_next_to_its_error(
    ani,
    office_a,
    permit_service,  # noqa: F811 (the imported fixture)
):
    """Fields that check their format (NIK, passport number) refuse the payload and
    show it back in the field, escaped, with the error next to it."""
    nik = f"18{SCRIPT}"
    response = Client().post(reverse("accounts:register"), registration_data(nik=nik))
    assert response.status_code == 200
    assert response.context["form"].errors["nik"]
    assert_escaped(body(response), nik, where="registration with a bad NIK")

    application = application_services.application_start(
        user=ani, service=permit_service, office=office_a, person=None
    )
    Application.objects.filter(pk=application.pk).update(step_reached=2)
    passport = "<script>x</script>"
    response = logged_in(ani).post(
        reverse("applications:step", args=[application.reference, 2]),
        {
            "nationality": payload("NAT"),
            "passport_number": passport,
            "travel_purpose": "tourism",
            "sponsor_name": payload("SPONSOR"),
            "sponsor_address": payload("SPADDR"),
            "sponsor_phone": "0725 1234",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["passport_number"]
    assert_escaped(
        body(response), payload("NAT"), payload("SPONSOR"), payload("SPADDR"), where="step 2"
    )
    assert "<script>x</script>" not in body(response)
    assert escape(passport) in body(response)


# --- What officers write for citizens to read --------------------------------------------------


def _move(client, application, to: str, note: str, **extra):
    response = client.post(
        reverse("admin:applications_application_move", args=[application.pk]),
        {"to": to, "note": note, **extra},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == to, [m.message for m in response.wsgi_request._messages]


def test_a_revision_note_and_a_document_reason_come_back_escaped(
    ani, budi, submitted, pdf_html, tasks_inline
):
    reason, note = payload("REASON"), payload("NOTE")
    first, second = submitted.documents.order_by("pk")[:2]
    console = logged_in(budi)
    response = console.post(
        reverse("admin:applications_application_document_review", args=[submitted.pk, first.pk]),
        {"decision": "reject", "reason": reason},
    )
    assert response.status_code == 302
    with committed():
        _move(console, submitted, Status.REVISION_REQUESTED, note, documents=[second.pk])

    citizen = logged_in(ani)
    assert_escaped(
        body(citizen.get(submitted.get_absolute_url())), note, reason, where="application page"
    )
    notifications = body(citizen.get(reverse("notifications:list")))
    assert_escaped(notifications, note, where="notification centre")
    stored = (
        Notification.objects.filter(recipient=ani, channel=Channel.PORTAL).order_by("pk").last()
    )
    assert_verbatim(stored.body, note, where="portal notification as stored")

    message = email_to(ani.email)
    assert_verbatim(message.body, note, where="status email, text part")
    assert_escaped(html_part(message), note, where="status email, HTML part")

    change = console.get(reverse("admin:applications_application_change", args=[submitted.pk]))
    assert_escaped(body(change), note, reason, where="admin application page")
    assert_escaped(export_pdf(citizen, pdf_html), note, reason, where="my data PDF")


def test_payment_and_refund_notes_and_a_rejection_come_back_escaped(
    ani, budi, supervisor_a, submitted, tasks_inline
):
    bill = payment_services.bill_issue(application_id=submitted.pk)
    paid_reason, rejection, refund_reason = payload("PAID"), payload("REJECT"), payload("REFUND")
    console = logged_in(budi)
    paid_at = timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M")
    response = console.post(
        reverse("admin:payments_bill_record", args=[bill.pk]),
        {
            "method": Method.TELLER,
            "ntpn": "NTPN0000XSS00002",
            "paid_at": paid_at,
            "reason": paid_reason,
            "proof": SimpleUploadedFile("bukti.png", png_bytes(), content_type="image/png"),
        },
    )
    assert response.status_code == 302, response.status_code
    with committed():
        _move(console, submitted, Status.REJECTED, rejection)
    payment = Payment.objects.get(bill=bill)
    supervisor = logged_in(supervisor_a)
    with committed():
        response = supervisor.post(
            reverse("admin:payments_bill_refund", args=[bill.pk, payment.pk]),
            {"amount": payment.amount, "reason": refund_reason, "reference": "TRF-1"},
        )
    assert response.status_code == 302, response.status_code
    assert Bill.objects.get(pk=bill.pk).status == Bill.Status.REFUNDED

    bill_page = supervisor.get(reverse("admin:payments_bill_change", args=[bill.pk]))
    assert_escaped(body(bill_page), paid_reason, where="admin bill page")
    refunds = supervisor.get(reverse("admin:payments_refund_changelist"))
    assert_escaped(body(refunds), refund_reason, where="admin refund list")

    citizen = logged_in(ani)
    detail = citizen.get(submitted.get_absolute_url())
    assert_escaped(body(detail), rejection, where="application page")
    notifications = body(citizen.get(reverse("notifications:list")))
    assert_escaped(notifications, rejection, refund_reason, where="notification centre")

    for subject_reason, value in ((rejection, rejection), (refund_reason, refund_reason)):
        message = next(
            m for m in reversed(mail.outbox) if subject_reason in m.body and ani.email in m.to
        )
        assert_verbatim(message.body, value, where=f"{message.subject}, text part")
        assert_escaped(html_part(message), value, where=f"{message.subject}, HTML part")


def test_a_delivery_address_and_a_courier_s_tracking_number_come_back_escaped(
    ani, budi, office_a, passport_service, tasks_inline
):
    application = advance(complete_draft(ani, office_a, passport_service), Status.APPROVED)
    address = payload("POST")
    citizen = logged_in(ani)
    response = citizen.post(
        reverse("applications:delivery", args=[application.reference]),
        {"delivery_method": Application.Delivery.POST, "delivery_address": address},
    )
    assert response.status_code == 302
    console = logged_in(budi)
    _move(console, application, Status.READY, "")
    courier, tracking = short_payload("JNE"), short_payload("TRK")
    response = console.post(
        reverse("admin:applications_application_tracking", args=[application.pk]),
        {"courier": courier, "tracking_number": tracking},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.courier, application.tracking_number) == (courier, tracking)

    detail = citizen.get(application.get_absolute_url())
    assert_escaped(body(detail), address, courier, tracking, where="application page")
    change = console.get(reverse("admin:applications_application_change", args=[application.pk]))
    assert_escaped(body(change), address, courier, tracking, where="admin application page")


def test_a_consultation_question_comes_back_escaped(ani, budi, office_a, pdf_html):
    question = payload("ASK")
    slot = first_slot(office_a, purpose=Purpose.CONSULTATION)
    citizen = logged_in(ani)
    response = citizen.post(
        f"{reverse('queueing:consultation')}?office={office_a.code}",
        {
            "day": f"{slot.day:%Y-%m-%d}",
            "slot": slot.pk,
            "topic": Topic.STAY_PERMIT,
            "question": question,
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.get(citizen=ani)
    assert booking.question == question

    console = logged_in(budi)
    assert_escaped(body(console.get(reverse("queueing:agenda"))), question, where="agenda")
    change = console.get(reverse("admin:queueing_booking_change", args=[booking.pk]))
    assert_escaped(body(change), question, where="admin booking page")
    assert_escaped(export_pdf(citizen, pdf_html), question, where="my data PDF")


# --- What the console's staff type about an office -------------------------------------------


def test_an_office_s_name_and_address_come_back_escaped_and_verbatim_in_sms(
    ani, budi, office_a, passport_service, pdf_html, tasks_inline
):
    """Typed by a superuser in the console; shown to everybody, printed and texted."""
    name, address = payload("KANIM"), payload("JALAN")
    Office.objects.filter(pk=office_a.pk).update(name=name, address=address)
    office_a.refresh_from_db()
    User.objects.filter(pk=ani.pk).update(phone_verified_at=timezone.now())
    ani.refresh_from_db()
    application = advance(complete_draft(ani, office_a, passport_service), Status.PAID)
    booking = book(application)
    ticket = tickets.check_in(
        office=office_a, scanned=booking.code, now=open_moment(office_a, booking.slot.day)
    )

    board = Client().get(reverse("queueing:board", args=[office_a.code]))
    assert_escaped(body(board), name, where="display board")
    assert_escaped(body(Client().get(ticket.get_absolute_url())), name, where="ticket page")
    kiosk = logged_in(budi).get(reverse("queueing:kiosk", args=[office_a.code]))
    assert_escaped(body(kiosk), name, where="kiosk")
    citizen = logged_in(ani)
    page = citizen.get(booking.get_absolute_url())
    assert_escaped(body(page), name, address, where="appointment page")
    slips.slip_pdf(booking)
    assert_escaped(pdf_html[-1], name, address, where="appointment slip PDF")

    with committed():
        notify(
            ani,
            "queue.near",
            {
                "ticket": ticket,
                "label": ticket.label,
                "ahead": 1,
                "office": office_a,
                "link": ticket.get_absolute_url(),
            },
            related=ticket,
        )
    (sms,) = [sent for sent in locmem.outbox if ticket.label in sent.text]
    assert_verbatim(sms.text, name, where="queue SMS")
    notifications = body(citizen.get(reverse("notifications:list")))
    assert_escaped(notifications, name, where="notification centre")


def test_services_and_the_catalogue_escape_what_the_console_typed(client, passport_service):
    """Service descriptions are typed in the console by supervisors."""
    description = payload("DESC")
    Service.objects.filter(pk=passport_service.pk).update(description_id=description)

    page = client.get(reverse("applications:service", args=[passport_service.code]))

    assert_escaped(body(page), description, where="service page")
