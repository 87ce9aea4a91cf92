"""Delete my account (UU PDP art. 8): refused while something is under way; otherwise
the account closes at once, everywhere, with an email saying what happens next."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts import deletion
from accounts.models import User
from applications.workflow import Status
from audit.models import AuditEntry
from notifications.models import Notification
from queueing import slots
from queueing.models import Booking, Purpose, Slot
from tests.factories import PASSWORD
from tests.privacy.conftest import advance, complete_draft
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

URL = reverse("accounts:delete_account")
CONFIRMED = {"password": PASSWORD, "confirm": "on"}


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def sessions_of(user) -> list[str]:
    return [
        s.session_key
        for s in Session.objects.all()
        if s.get_decoded().get("_auth_user_id") == str(user.pk)
    ]


def active_booking(citizen, office) -> Booking:
    slots.slots_ensure(office)
    slot = Slot.objects.filter(office=office, purpose=Purpose.CONSULTATION).order_by("starts_at")[0]
    return Booking.objects.create(
        code=uuid.uuid4().hex[:8].upper(),
        citizen=citizen,
        office=office,
        purpose=Purpose.CONSULTATION,
        slot=slot,
        topic="passport",
    )


def test_the_page_says_what_is_deleted_what_is_kept_and_for_how_long(client, ani, settings):
    settings.ACCOUNT_ANONYMISE_AFTER_DAYS = 30
    client.force_login(ani)

    response = client.get(URL)

    text = page_text(response)
    assert response.status_code == 200
    assert "30" in text
    assert 'type="password"' in text and 'type="checkbox"' in text
    assert reverse("accounts:my_data") in text


def test_deletion_is_refused_while_an_application_is_open(
    client, ani, office_a, passport_service, _private_files
):
    application = advance(complete_draft(ani, office_a, passport_service), Status.SUBMITTED)
    client.force_login(ani)

    shown = client.get(URL)
    response = client.post(URL, CONFIRMED)

    assert application.reference in page_text(shown)
    assert 'type="password"' not in page_text(shown)  # no form to fill in for nothing
    assert response.status_code == 200
    assert application.reference in page_text(response)
    ani = fresh(ani)
    assert ani.is_active and ani.deletion_requested_at is None
    assert sessions_of(ani)
    assert not Notification.objects.filter(event="account.deletion_requested").exists()


def test_deletion_is_refused_while_an_appointment_is_booked(client, ani, office_a):
    booking = active_booking(ani, office_a)
    client.force_login(ani)

    response = client.post(URL, CONFIRMED)

    assert booking.code in page_text(response)
    assert fresh(ani).is_active


def test_a_finished_application_does_not_stop_the_deletion(
    client, ani, office_a, passport_service, _private_files
):
    advance(complete_draft(ani, office_a, passport_service), Status.REJECTED)
    client.force_login(ani)

    response = client.post(URL, CONFIRMED)

    assert response.status_code == 302
    assert not fresh(ani).is_active


def test_a_wrong_password_changes_nothing(client, ani):
    client.force_login(ani)

    response = client.post(URL, {"password": "bukan-sandi-saya", "confirm": "on"})

    assert response.context["form"].errors["password"] == [
        in_language("id", "The password is wrong.")
    ]
    assert fresh(ani).is_active and fresh(ani).deletion_requested_at is None


def test_the_box_must_be_ticked(client, ani):
    client.force_login(ani)

    response = client.post(URL, {"password": PASSWORD})

    assert "confirm" in response.context["form"].errors
    assert fresh(ani).is_active


def test_after_five_attempts_the_sixth_gets_the_429_page(client, ani):
    client.force_login(ani)
    for _ in range(5):
        client.post(URL, {"password": "salah-salah-salah", "confirm": "on"})

    response = client.post(URL, CONFIRMED)

    assert response.status_code == 429
    assert fresh(ani).is_active


def test_deleting_closes_the_account_and_ends_every_session(client, ani, eko):
    phone = Client()
    phone.force_login(ani)
    other = Client()
    other.force_login(eko)
    client.force_login(ani)
    assert len(sessions_of(ani)) == 2
    assert phone.get(reverse("accounts:profile")).status_code == 200

    response = client.post(URL, CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:delete_account_done")
    ani = fresh(ani)
    assert not ani.is_active
    assert ani.deletion_requested_at is not None
    assert ani.anonymised_at is None  # not yet: the grace period runs first
    assert sessions_of(ani) == []
    # The other device is logged out; eko's session is untouched.
    on_phone = phone.get(reverse("accounts:profile"))
    assert on_phone.status_code == 302 and reverse("accounts:login") in on_phone["Location"]
    assert other.get(reverse("accounts:profile")).status_code == 200
    # This browser too, and it sees the done page.
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert not done.wsgi_request.user.is_authenticated


def test_the_person_gets_a_confirmation_email_and_the_audit_trail_a_line(client, ani, settings):
    settings.ACCOUNT_ANONYMISE_AFTER_DAYS = 30
    client.force_login(ani)

    client.post(URL, CONFIRMED)

    (email,) = Notification.objects.filter(recipient=ani, event="account.deletion_requested")
    assert email.channel == "email" and email.address == "ani@example.id"
    assert email.status == Notification.Status.CREATED
    assert deletion.anonymise_on(fresh(ani)).strftime("%Y") in email.body
    assert "Ani Lestari" in email.body
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.ACCOUNT_DELETION_REQUESTED, actor=ani, object_id=str(ani.pk)
    ).exists()


def test_the_done_page_without_a_closed_account_goes_home(client):
    response = client.get(reverse("accounts:delete_account_done"))

    assert response.status_code == 302


def test_leaving_removes_the_person_from_waiting_lists(ani, office_a):
    from queueing.models import WaitlistEntry

    slots.slots_ensure(office_a)
    day = Slot.objects.filter(office=office_a, purpose=Purpose.CONSULTATION).first().day
    entry = WaitlistEntry.objects.create(
        office=office_a, purpose=Purpose.CONSULTATION, day=day, citizen=ani, topic="visa"
    )

    deletion.account_deletion_request(user=ani)

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT


def test_sessions_end_all_spares_the_session_asked_for(ani):
    from accounts.services import sessions_end_all

    first, second = Client(), Client()
    first.force_login(ani)
    second.force_login(ani)
    keep = second.session.session_key

    ended = sessions_end_all(ani, except_key=keep)

    assert ended == 1
    assert sessions_of(ani) == [keep]
