"""Sending a draft: complete or refused with what is missing, once only, at the
fee in force that day, with a target date in working days, and one receipt
emailed once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from applications import receipts, services, tasks, workflow
from applications.models import Application, Document, Receipt, StatusEvent
from applications.workflow import Status
from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification
from tests.applications.conftest import advance, complete_draft
from tests.factories import HolidayFactory
from tests.utils import in_language, messages_of, page_text

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")


def submit(application: Application, *, declaration: bool = True) -> bool:
    return services.application_submit(
        application=application, by=application.applicant, declaration=declaration
    )


def still_a_draft(application: Application) -> bool:
    fresh = Application.objects.get(pk=application.pk)
    return (
        fresh.status == Status.DRAFT
        and fresh.submitted_at is None
        and fresh.fee_amount is None
        and not StatusEvent.objects.filter(application=application).exists()
    )


# --- Complete or refused ---------------------------------------------------------------


def test_a_complete_draft_is_sent(draft, ani):
    assert submit(draft) is True

    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.submitted_at is not None
    assert draft.declaration_at is not None
    (event,) = StatusEvent.objects.filter(application=draft)
    assert (event.from_status, event.to_status, event.by, event.actor) == (
        Status.DRAFT,
        Status.SUBMITTED,
        ani,
        "citizen",
    )


def test_a_missing_document_is_named_and_the_draft_stays_a_draft(draft):
    ktp = draft.documents.get(requirement__code="ktp")
    name = ktp.requirement.name
    ktp.delete()

    with pytest.raises(ServiceError) as refused:
        submit(draft)

    assert name in refused.value.message
    others = draft.service.requirements.exclude(code="ktp")
    for requirement in others:
        assert requirement.name not in refused.value.message
    assert still_a_draft(draft)


def test_every_missing_document_is_listed(draft):
    names = [d.requirement.name for d in draft.documents.select_related("requirement")]
    draft.documents.all().delete()

    with pytest.raises(ServiceError) as refused:
        submit(draft)

    for name in names:
        assert name in refused.value.message
    assert still_a_draft(draft)


def test_a_document_the_officer_refused_counts_as_missing(draft):
    draft.documents.filter(requirement__code="kk").update(state=Document.State.REJECTED)

    with pytest.raises(ServiceError) as refused:
        submit(draft)

    assert draft.service.requirements.get(code="kk").name in refused.value.message
    assert still_a_draft(draft)


def test_the_check_page_lists_the_missing_document_when_sending(client, draft, ani):
    ktp = draft.documents.get(requirement__code="ktp")
    name = ktp.requirement.name_id  # ani reads Indonesian, whatever this process has active
    ktp.delete()
    client.force_login(ani)

    response = client.post(
        reverse("applications:step", args=[draft.reference, 4]), {"declaration": "on"}
    )

    assert response.status_code == 200
    assert name in page_text(response)
    assert still_a_draft(draft)


def test_sending_without_the_declaration_is_refused(draft):
    with pytest.raises(ServiceError) as refused:
        submit(draft, declaration=False)

    assert refused.value.field == "declaration"
    assert still_a_draft(draft)
    assert Application.objects.get(pk=draft.pk).declaration_at is None


def test_the_check_page_refuses_to_send_without_the_declaration(client, draft, ani):
    client.force_login(ani)

    # An unticked box is not posted at all; the browser still sends the CSRF token.
    response = client.post(
        reverse("applications:step", args=[draft.reference, 4]), {"csrfmiddlewaretoken": "x"}
    )

    assert response.status_code == 200
    language = response.wsgi_request.LANGUAGE_CODE
    assert in_language(language, "Tick the declaration to confirm the data are true.") in (
        page_text(response)
    )
    assert still_a_draft(draft)


def test_someone_else_cannot_send_the_draft(draft, eko):
    with pytest.raises(ServiceError):
        services.application_submit(application=draft, by=eko, declaration=True)

    assert still_a_draft(draft)


def test_a_second_send_returns_false_and_changes_nothing(draft):
    assert submit(draft) is True
    first = Application.objects.get(pk=draft.pk)

    assert submit(draft) is False

    again = Application.objects.get(pk=draft.pk)
    assert (again.status, again.submitted_at, again.declaration_at, again.fee_amount) == (
        first.status,
        first.submitted_at,
        first.declaration_at,
        first.fee_amount,
    )
    assert StatusEvent.objects.filter(application=draft).count() == 1
    assert (
        Notification.objects.filter(
            recipient=draft.applicant, event="application.status_changed"
        ).count()
        == 2  # SMS and portal, once
    )


def test_a_double_click_on_send_sends_once(client, draft, ani):
    client.force_login(ani)
    url = reverse("applications:step", args=[draft.reference, 4])

    first = client.post(url, {"declaration": "on"})
    second = client.post(url, {"declaration": "on"})

    assert first.status_code == second.status_code == 302
    assert StatusEvent.objects.filter(application=draft, to_status=Status.SUBMITTED).count() == 1


# --- The fee ----------------------------------------------------------------------------


def test_the_fee_is_taken_from_the_tariff_in_force_today(draft):
    submit(draft)

    assert Application.objects.get(pk=draft.pk).fee_amount == 950_000


def test_the_fee_follows_the_regulation_in_force_on_the_day_it_is_sent(draft):
    # Under PP 28/2019 (until 16 December 2024) the electronic passport cost Rp 650.000.
    with time_machine.travel(dt.datetime(2024, 6, 3, 10, 0, tzinfo=WIB), tick=False):
        submit(draft)

    assert Application.objects.get(pk=draft.pk).fee_amount == 650_000


def test_a_service_without_a_fee_today_cannot_be_sent(draft):
    draft.service.tariffs.all().delete()

    with pytest.raises(ServiceError):
        submit(draft)

    assert still_a_draft(draft)


def test_status_office_and_fee_posted_to_the_steps_are_ignored(client, draft, ani, office_b):
    client.force_login(ani)
    forged = {
        "status": Status.APPROVED,
        "office": office_b.pk,
        "fee_amount": "1",
        "applicant": "999",
        "reference": "PSP-XXX-26-AAAAAA",
        "submitted_at": "2020-01-01 00:00",
        "due_date": "2020-01-02",
    }

    step1 = client.post(
        reverse("applications:step", args=[draft.reference, 1]),
        {
            "place_of_birth": "Metro",
            "address": "Jl. Baru No. 2",
            "father_name": "Bapak Contoh",
            "mother_name": "Ibu Contoh",
            **forged,
        },
    )
    step2 = client.post(
        reverse("applications:step", args=[draft.reference, 2]),
        {"travel_purpose": "study", "destination": "Jepang", **forged},
    )
    fresh = Application.objects.get(pk=draft.pk)
    assert (fresh.status, fresh.office_id, fresh.fee_amount) == (
        Status.DRAFT,
        draft.office_id,
        None,
    )
    step4 = client.post(
        reverse("applications:step", args=[draft.reference, 4]), {"declaration": "on", **forged}
    )

    assert [step1.status_code, step2.status_code, step4.status_code] == [302, 302, 302]
    fresh = Application.objects.get(pk=draft.pk)
    assert fresh.place_of_birth == "Metro" and fresh.destination == "Jepang"  # the steps saved
    assert fresh.status == Status.SUBMITTED
    assert fresh.office_id == draft.office_id
    assert fresh.fee_amount == 950_000
    assert fresh.applicant_id == ani.pk
    assert fresh.reference == draft.reference
    assert fresh.due_date is None  # not the forged one: no target date before the interview


# --- The target date ------------------------------------------------------------------------
# It runs from the interview (biometrics taken), or from payment for a service
# without an interview; sending sets none.


def interview(application: Application, at: dt.datetime) -> Application:
    """Sent and booked a week before; interviewed at `at` (Jakarta time)."""
    with time_machine.travel(at - dt.timedelta(days=7), tick=False):
        advance(application, Status.SCHEDULED)
    assert Application.objects.get(pk=application.pk).due_date is None
    with time_machine.travel(at, tick=False):
        workflow.transition(application, Status.INTERVIEWED, by=None)
    return Application.objects.get(pk=application.pk)


def test_sending_sets_no_target_date(draft):
    with time_machine.travel(dt.datetime(2026, 4, 2, 10, 0, tzinfo=WIB), tick=False):
        submit(draft)

    assert Application.objects.get(pk=draft.pk).due_date is None


def test_the_target_date_counts_working_days_skipping_weekends_and_holidays(draft, office_b):
    # Interview on Thursday 2 April 2026; 4 working days for the electronic passport.
    HolidayFactory(date=dt.date(2026, 4, 6), name="Libur nasional")  # Monday
    HolidayFactory(date=dt.date(2026, 4, 7), name="Libur kantor B", office=office_b)  # not A's

    fresh = interview(draft, dt.datetime(2026, 4, 2, 10, 0, tzinfo=WIB))

    # Fri 3 (1), Sat-Sun, Mon 6 holiday, Tue 7 (2), Wed 8 (3), Thu 9 (4).
    assert fresh.due_date == dt.date(2026, 4, 9)


def test_the_target_date_skips_the_offices_own_holiday(draft, office_a):
    HolidayFactory(date=dt.date(2026, 4, 7), name="Libur kantor A", office=office_a)  # Tuesday

    fresh = interview(draft, dt.datetime(2026, 4, 2, 10, 0, tzinfo=WIB))

    # Fri 3 (1), Mon 6 (2), Tue 7 holiday, Wed 8 (3), Thu 9 (4).
    assert fresh.due_date == dt.date(2026, 4, 9)


def test_the_target_date_without_holidays_is_four_working_days_on(draft):
    fresh = interview(draft, dt.datetime(2026, 4, 3, 15, 0, tzinfo=WIB))  # Friday

    # Mon 6, Tue 7, Wed 8, Thu 9.
    assert fresh.due_date == dt.date(2026, 4, 9)


def test_the_target_date_counts_from_the_day_in_jakarta_not_utc(draft):
    # 06.30 WIB on Friday 3 April is still Thursday 2 April in UTC.
    fresh = interview(draft, dt.datetime(2026, 4, 3, 6, 30, tzinfo=WIB))

    # From Friday: Mon 6, Tue 7, Wed 8, Thu 9 (from Thursday it would be Wed 8).
    assert fresh.due_date == dt.date(2026, 4, 9)


def test_the_target_date_counts_from_the_interview_not_from_sending(draft):
    # Sent (and booked) on Friday 27 March; interviewed on Friday 3 April.
    fresh = interview(draft, dt.datetime(2026, 4, 3, 10, 0, tzinfo=WIB))

    assert fresh.submitted_at.date() == dt.date(2026, 3, 27)
    assert fresh.due_date == dt.date(2026, 4, 9)


def test_without_an_interview_the_target_date_counts_from_payment(ani, office_a, permit_service):
    application = complete_draft(ani, office_a, permit_service)
    with time_machine.travel(dt.datetime(2026, 3, 26, 10, 0, tzinfo=WIB), tick=False):
        advance(application, Status.AWAITING_PAYMENT)
    assert Application.objects.get(pk=application.pk).due_date is None

    # Paid on Thursday 2 April; 3 working days: Fri 3, Mon 6, Tue 7.
    with time_machine.travel(dt.datetime(2026, 4, 2, 10, 0, tzinfo=WIB), tick=False):
        workflow.transition(application, Status.PAID, by=None)

    assert permit_service.processing_days == 3
    assert Application.objects.get(pk=application.pk).due_date == dt.date(2026, 4, 7)


def test_paying_for_a_service_with_an_interview_sets_no_target_date(draft):
    with time_machine.travel(dt.datetime(2026, 4, 2, 10, 0, tzinfo=WIB), tick=False):
        advance(draft, Status.PAID)

    fresh = Application.objects.get(pk=draft.pk)
    assert fresh.status == Status.PAID
    assert fresh.due_date is None


# --- One draft per person per service ----------------------------------------------------------


def test_starting_twice_returns_the_same_draft(ani, office_a, passport_service):
    first = services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )
    second = services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )

    assert second.pk == first.pk
    assert Application.objects.filter(applicant=ani).count() == 1


def test_starting_twice_from_the_page_lands_on_the_same_draft(client, ani, office_a):
    client.force_login(ani)
    url = reverse("applications:start", args=["paspor-elektronik-baru"])

    first = client.post(url, {"person": "self", "office": office_a.pk})
    second = client.post(url, {"person": "self", "office": office_a.pk})

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Application.objects.filter(applicant=ani).count() == 1


def test_starting_again_continues_the_draft_at_the_step_it_reached(client, draft, office_a):
    assert draft.step_reached == 4
    client.force_login(draft.applicant)

    response = client.post(
        reverse("applications:start", args=[draft.service.code]),
        {"person": "self", "office": office_a.pk},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("applications:step", args=[draft.reference, 4])
    assert messages_of(response) == []  # the same office: nothing to explain


def test_starting_at_another_office_continues_the_draft_and_says_so(
    client, draft, office_a, office_b
):
    Application.objects.filter(pk=draft.pk).update(step_reached=3)
    client.force_login(draft.applicant)

    response = client.post(
        reverse("applications:start", args=[draft.service.code]),
        {"person": "self", "office": office_b.pk},
    )

    assert response["Location"] == reverse("applications:step", args=[draft.reference, 3])
    assert Application.objects.get(pk=draft.pk).office == office_a
    assert Application.objects.filter(applicant=draft.applicant).count() == 1
    assert messages_of(response) == [
        in_language(
            "id",
            "You already have a draft of this application at %(office)s; it is "
            "continued here. Cancel it first to apply at another office.",
        )
        % {"office": office_a.name}
    ]


def test_another_service_gets_its_own_draft(ani, office_a, passport_service, permit_service):
    first = services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )
    second = services.application_start(
        user=ani, service=permit_service, office=office_a, person=None
    )

    assert first.pk != second.pk


def test_once_sent_a_new_start_opens_a_new_draft(draft, ani, office_a, passport_service):
    submit(draft)

    again = services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )

    assert again.pk != draft.pk
    assert again.status == Status.DRAFT
    assert again.reference != draft.reference


# --- The receipt --------------------------------------------------------------------------------


def test_the_receipt_is_rendered_and_emailed_once(draft, ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(draft)

    receipt = Receipt.objects.get(application=draft)
    assert receipts.receipt_render(draft.pk) == receipt
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_receipt.delay(draft.pk)  # a redelivered task

    assert Receipt.objects.filter(application=draft).count() == 1
    (email,) = Notification.objects.filter(event="application.submitted", recipient=ani)
    assert email.channel == Channel.EMAIL
    assert email.attachment == receipt.file.name
    assert email.attachment_name == f"tanda-terima-{draft.reference}.pdf"
    assert email.related_id == str(receipt.pk)
    # The bill is issued after the same commit; its message has no attachment.
    (message,) = [m for m in mail.outbox if m.attachments]
    assert message.to == [ani.email]
    assert draft.reference in message.subject
    ((filename, content, mimetype),) = message.attachments
    assert filename == f"tanda-terima-{draft.reference}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")


def test_rendering_twice_by_hand_keeps_one_receipt_and_one_email(submitted, ani):
    first = receipts.receipt_render(submitted.pk)
    second = receipts.receipt_render(submitted.pk)

    assert first == second
    assert Receipt.objects.filter(application=submitted).count() == 1
    assert Notification.objects.filter(event="application.submitted", recipient=ani).count() == 1


def test_a_draft_gets_no_receipt(draft):
    assert receipts.receipt_render(draft.pk) is None
    assert not Receipt.objects.exists()


def test_the_send_page_says_the_receipt_will_follow(client, draft, ani):
    client.force_login(ani)

    response = client.post(
        reverse("applications:step", args=[draft.reference, 4]), {"declaration": "on"}, follow=True
    )

    assert response.status_code == 200
    assert any(draft.reference in message for message in messages_of(response))
