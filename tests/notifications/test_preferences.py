"""Notification settings: email and SMS on or off for status updates and reminders;
security messages ignore them and always go by email."""

from __future__ import annotations

import copy
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from notifications import events
from notifications.models import Channel, Notification, Preference
from notifications.services import notify
from notifications.sms import locmem
from tests.utils import committed, in_language, messages_of, page_text

pytestmark = pytest.mark.django_db

PAGE = reverse("notifications:preferences")
ALL_ON = {"email_status": "on", "sms_status": "on", "email_reminders": "on", "sms_reminders": "on"}
STATUS_EVENT = "test.application_status"
REMINDER_EVENT = "test.appointment_reminder"
EVERY_CHANNEL = (Channel.EMAIL, Channel.SMS, Channel.PORTAL)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def logged_in(client, ani):
    client.force_login(ani)
    return client


@pytest.fixture
def verified_ani(ani):
    User.objects.filter(pk=ani.pk).update(phone_verified_at=timezone.now())
    ani.refresh_from_db()
    return ani


@pytest.fixture
def test_events(monkeypatch, settings, tmp_path, tasks_inline):
    """A status event and a reminder on every channel, with their templates."""
    monkeypatch.setitem(events.EVENTS, STATUS_EVENT, (events.STATUS, EVERY_CHANNEL))
    monkeypatch.setitem(events.EVENTS, REMINDER_EVENT, (events.REMINDER, EVERY_CHANNEL))
    for event, text in [
        (STATUS_EVENT, "Permohonan {{ ref }} diterima."),
        (REMINDER_EVENT, "Jadwal kedatangan {{ ref }} besok."),
    ]:
        for path, content in [
            (f"email/{event}.subject.txt", "Imigrasi: {{ ref }}"),
            (f"email/{event}.txt", text),
            (f"sms/{event}.txt", text),
            (f"portal/{event}.txt", text),
        ]:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(content)
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates


def choose(client, **choices):
    """Submit the form as a browser does: unticked boxes are simply absent."""
    return client.post(PAGE, {name: "on" for name, wanted in choices.items() if wanted})


def sent(user, event) -> dict[str, Notification]:
    with committed():
        rows = notify(user, event, {"ref": "PSP-0001"})
    return {row.channel: Notification.objects.get(pk=row.pk) for row in rows}


# --- The page --------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_login(client):
    for response in (client.get(PAGE), client.post(PAGE, ALL_ON)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_page_starts_with_everything_on_and_saves_nothing_until_asked(logged_in):
    response = logged_in.get(PAGE)

    assert response.status_code == 200
    text = page_text(response)
    for name in ALL_ON:
        assert f'name="{name}"' in text
    assert len(re.findall(r'<input[^>]*type="checkbox"[^>]*\bchecked\b', text)) == 4
    assert not Preference.objects.exists()


def test_the_page_says_security_messages_always_go_by_email(logged_in):
    text = page_text(logged_in.get(PAGE))

    assert (
        in_language(
            "id",
            "Security messages (email verification, password reset and two-factor sign-in) "
            "are always sent by email, whatever you choose here.",
        )
        in text
    )


def test_the_page_points_an_unverified_number_to_verification(logged_in, ani):
    text = page_text(logged_in.get(PAGE))

    assert f'href="{reverse("accounts:phone_verify")}"' in text


def test_saving_stores_the_choices_and_shows_them_again(logged_in, ani):
    response = choose(logged_in, email_status=True, sms_reminders=True)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert messages_of(response) == [
        in_language("id", "Your notification settings have been saved.")
    ]
    preference = Preference.objects.get(user=ani)
    assert (
        preference.email_status,
        preference.sms_status,
        preference.email_reminders,
        preference.sms_reminders,
    ) == (True, False, False, True)
    form = logged_in.get(PAGE).context["form"]
    assert form.initial == {
        "email_status": True,
        "sms_status": False,
        "email_reminders": False,
        "sms_reminders": True,
    }


def test_saving_again_changes_the_same_row(logged_in, ani):
    choose(logged_in)
    choose(logged_in, sms_status=True)

    assert Preference.objects.count() == 1
    assert Preference.objects.get(user=ani).sms_status is True


def test_a_posted_user_field_is_ignored(logged_in, ani, eko):
    logged_in.post(PAGE, {"user": eko.pk})

    assert list(Preference.objects.values_list("user", flat=True)) == [ani.pk]


def test_one_persons_choices_do_not_touch_anothers(logged_in, ani, eko):
    Preference.objects.create(user=eko, email_status=True, sms_status=True)

    choose(logged_in)

    eko_preference = Preference.objects.get(user=eko)
    assert eko_preference.email_status and eko_preference.sms_status


# --- Preferences respected by notify() ----------------------------------------------


def test_a_status_update_with_sms_turned_off_is_recorded_as_skipped(verified_ani, test_events):
    Preference.objects.create(user=verified_ani, sms_status=False)

    rows = sent(verified_ani, STATUS_EVENT)

    assert rows[Channel.SMS].status == Notification.Status.SKIPPED
    assert rows[Channel.SMS].reason == "turned off in preferences"
    assert list(rows[Channel.SMS].events.values_list("status", "detail")) == [
        (Notification.Status.SKIPPED, "turned off in preferences")
    ]
    assert locmem.outbox == []
    assert rows[Channel.EMAIL].status == Notification.Status.DELIVERED
    assert [message.to for message in mail.outbox] == [[verified_ani.email]]
    assert rows[Channel.PORTAL].status == Notification.Status.DELIVERED


def test_a_status_update_with_email_turned_off_goes_by_sms_only(verified_ani, test_events):
    Preference.objects.create(user=verified_ani, email_status=False)

    rows = sent(verified_ani, STATUS_EVENT)

    assert rows[Channel.EMAIL].status == Notification.Status.SKIPPED
    assert rows[Channel.EMAIL].reason == "turned off in preferences"
    assert mail.outbox == []
    assert [sms.to for sms in locmem.outbox] == [verified_ani.phone]
    assert "PSP-0001" in locmem.outbox[0].text


def test_turning_reminders_off_leaves_status_updates_on(verified_ani, test_events):
    Preference.objects.create(user=verified_ani, email_reminders=False, sms_reminders=False)

    reminder = sent(verified_ani, REMINDER_EVENT)
    status = sent(verified_ani, STATUS_EVENT)

    assert reminder[Channel.EMAIL].status == reminder[Channel.SMS].status == "skipped"
    assert status[Channel.EMAIL].status == status[Channel.SMS].status == "delivered"
    assert len(mail.outbox) == len(locmem.outbox) == 1


def test_the_in_portal_message_is_written_whatever_the_choices(verified_ani, test_events):
    Preference.objects.create(
        user=verified_ani,
        email_status=False,
        sms_status=False,
        email_reminders=False,
        sms_reminders=False,
    )

    rows = sent(verified_ani, STATUS_EVENT)

    assert rows[Channel.PORTAL].status == Notification.Status.DELIVERED
    assert rows[Channel.PORTAL].body == "Permohonan PSP-0001 diterima."


def test_without_saved_choices_everything_is_sent(verified_ani, test_events):
    rows = sent(verified_ani, STATUS_EVENT)

    assert {channel: row.status for channel, row in rows.items()} == {
        Channel.EMAIL: "delivered",
        Channel.SMS: "delivered",
        Channel.PORTAL: "delivered",
    }
    assert not Preference.objects.exists()


def test_status_sms_go_only_to_a_verified_number(ani, test_events):
    assert ani.phone_verified_at is None

    rows = sent(ani, STATUS_EVENT)

    assert rows[Channel.SMS].status == Notification.Status.SKIPPED
    assert rows[Channel.SMS].reason == "mobile number not verified"
    assert locmem.outbox == []


def test_choices_saved_on_the_page_are_what_notify_follows(logged_in, verified_ani, test_events):
    choose(logged_in, email_status=True, email_reminders=True, sms_reminders=True)

    rows = sent(verified_ani, STATUS_EVENT)

    assert rows[Channel.SMS].status == Notification.Status.SKIPPED
    assert rows[Channel.EMAIL].status == Notification.Status.DELIVERED


def test_security_emails_ignore_the_choices(ani, tasks_inline):
    Preference.objects.create(
        user=ani, email_status=False, sms_status=False, email_reminders=False, sms_reminders=False
    )

    with committed():
        account_services.send_verification_email(user_id=ani.pk)

    assert [message.to for message in mail.outbox] == [[ani.email]]
    row = Notification.objects.get(recipient=ani, event="account.verify_email")
    assert row.status == Notification.Status.DELIVERED


def test_the_security_sms_code_ignores_the_choices(ani, tasks_inline):
    Preference.objects.create(
        user=ani, email_status=False, sms_status=False, email_reminders=False, sms_reminders=False
    )

    with committed():
        account_services.phone_verification_start(user=ani)

    assert [sms.to for sms in locmem.outbox] == [ani.phone]
