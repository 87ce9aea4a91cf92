"""notify(): rows in the caller's transaction, sent after commit, once, in the
recipient's language; a channel that cannot be used is skipped, not a crash."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notifications.models import Channel, Notification
from notifications.services import notify
from notifications.sms import locmem
from offices.models import Office
from tests.factories import UserFactory
from tests.notifications.conftest import (
    CONTEXT,
    INDONESIAN_ONLY_EVENT,
    NO_SMS_TEMPLATE_EVENT,
    SECURITY_SMS_EVENT,
    SHARED_TEMPLATE_EVENT,
    STATUS_EVENT,
)
from tests.notifications.support import fresh, history

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager", "notification_events")]

Status = Notification.Status


class Refused(Exception):
    """The business change fails after notify() was called."""


def by_channel(rows) -> dict[str, Notification]:
    return {row.channel: fresh(row) for row in rows}


@pytest.fixture
def english_eko(eko) -> User:
    User.objects.filter(pk=eko.pk).update(
        preferred_language=User.Language.ENGLISH, phone_verified_at=timezone.now()
    )
    eko.refresh_from_db()
    return eko


# --- Transactions ------------------------------------------------------------------


def test_a_rolled_back_change_leaves_no_rows_and_sends_nothing(
    reachable_ani, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Refused),
        transaction.atomic(),
    ):
        User.objects.filter(pk=reachable_ani.pk).update(full_name="Ani Lestari Putri")
        notify(reachable_ani, STATUS_EVENT, CONTEXT)
        raise Refused

    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []
    assert locmem.outbox == []
    reachable_ani.refresh_from_db()
    assert reachable_ani.full_name == "Ani Lestari"


def test_nothing_leaves_before_the_commit_and_each_message_leaves_once_after_it(
    reachable_ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = by_channel(notify(reachable_ani, STATUS_EVENT, CONTEXT))
        # Written with the business change, not yet handed to anyone.
        assert rows[Channel.EMAIL].status == Status.CREATED
        assert rows[Channel.SMS].status == Status.CREATED
        assert mail.outbox == []
        assert locmem.outbox == []

    rows = by_channel(rows.values())
    assert {channel: row.status for channel, row in rows.items()} == {
        Channel.EMAIL: Status.DELIVERED,
        Channel.SMS: Status.DELIVERED,
        Channel.PORTAL: Status.DELIVERED,
    }
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ani@example.id"]
    assert [sms.to for sms in locmem.outbox] == ["+6281234567890"]
    assert history(rows[Channel.EMAIL]) == [Status.CREATED, Status.SENDING, Status.DELIVERED]
    assert history(rows[Channel.PORTAL]) == [Status.DELIVERED]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_a_real_commit_the_messages_go_after_it_and_a_real_rollback_sends_nothing(
    reachable_ani,
):
    with pytest.raises(Refused), transaction.atomic():
        notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])
        raise Refused
    assert not Notification.objects.exists()
    assert mail.outbox == []

    with transaction.atomic():
        (row,) = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.EMAIL])
        assert mail.outbox == []

    assert fresh(row).status == Status.DELIVERED
    assert len(mail.outbox) == 1


# --- Once only ------------------------------------------------------------------------


def test_the_same_event_about_the_same_object_reaches_a_person_once_per_channel(
    reachable_ani, office_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a)
    with django_capture_on_commit_callbacks(execute=True):
        again = notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a)

    assert len(first) == 3
    assert again == []
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 1
    assert len(locmem.outbox) == 1


def test_a_channel_already_notified_is_not_repeated_when_another_is_added(
    reachable_ani, office_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a, channels=[Channel.EMAIL])
    with django_capture_on_commit_callbacks(execute=True):
        added = notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a)

    assert sorted(row.channel for row in added) == [Channel.PORTAL, Channel.SMS]
    assert len(mail.outbox) == 1


def test_another_object_another_person_or_another_event_is_a_new_message(
    reachable_ani, eko, office_a, office_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a, channels=[Channel.EMAIL])
        notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_b, channels=[Channel.EMAIL])
        notify(eko, STATUS_EVENT, CONTEXT, related=office_a, channels=[Channel.EMAIL])
        notify(reachable_ani, INDONESIAN_ONLY_EVENT, CONTEXT, related=office_a)

    assert Notification.objects.filter(channel=Channel.EMAIL).count() == 4
    assert len(mail.outbox) == 4


def test_the_once_only_rule_also_holds_in_the_database(reachable_ani, office_a):
    from django.contrib.contenttypes.models import ContentType
    from django.db import IntegrityError

    notify(reachable_ani, STATUS_EVENT, CONTEXT, related=office_a, channels=[Channel.PORTAL])
    row = Notification.objects.get()
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
    assert row.related_type == ContentType.objects.get_for_model(Office)


# --- Channels that cannot be used -------------------------------------------------------


def test_a_person_without_an_email_address_is_skipped_with_the_reason(
    reachable_ani, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=reachable_ani.pk).update(email="")
    reachable_ani.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert rows[Channel.EMAIL].status == Status.SKIPPED
    assert rows[Channel.EMAIL].reason == "no email address"
    assert history(rows[Channel.EMAIL]) == [Status.SKIPPED]
    assert mail.outbox == []
    # The other channels still carry the message.
    assert rows[Channel.SMS].status == Status.DELIVERED
    assert len(locmem.outbox) == 1


def test_a_person_without_a_mobile_number_is_skipped_with_the_reason(
    django_capture_on_commit_callbacks,
):
    person = UserFactory(phone="", phone_verified_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(person, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert rows[Channel.SMS].status == Status.SKIPPED
    assert rows[Channel.SMS].reason == "no mobile number"
    assert locmem.outbox == []
    assert rows[Channel.EMAIL].status == Status.DELIVERED


def test_an_unverified_mobile_number_gets_no_status_sms(ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(ani, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert rows[Channel.SMS].status == Status.SKIPPED
    assert rows[Channel.SMS].reason == "mobile number not verified"
    assert locmem.outbox == []


def test_a_security_code_goes_to_an_unverified_number(ani, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = notify(ani, SECURITY_SMS_EVENT, {"code": "482913"})

    assert fresh(row).status == Status.DELIVERED
    assert [sms.text for sms in locmem.outbox] == ["Kode Imigrasi: 482913"]


def test_a_channel_without_a_template_is_skipped_and_the_others_still_go(
    reachable_ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, NO_SMS_TEMPLATE_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert rows[Channel.SMS].status == Status.SKIPPED
    assert rows[Channel.SMS].reason == "no template for this channel"
    assert rows[Channel.EMAIL].status == Status.DELIVERED
    assert mail.outbox[0].subject == "Tanpa SMS PSP-2026-0042"


def test_an_unknown_event_raises_and_writes_nothing(reachable_ani):
    with pytest.raises(ValueError, match=r"no\.such\.event"):
        notify(reachable_ani, "no.such.event", CONTEXT)

    assert not Notification.objects.exists()


def test_only_the_channels_asked_for_are_written(reachable_ani):
    rows = notify(reachable_ani, STATUS_EVENT, CONTEXT, channels=[Channel.PORTAL])

    assert [row.channel for row in rows] == [Channel.PORTAL]


# --- Language ----------------------------------------------------------------------------


def test_an_indonesian_speaker_gets_every_channel_in_indonesian(
    reachable_ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    email = mail.outbox[0]
    assert email.subject == "Permohonan PSP-2026-0042 disetujui"
    assert email.body == "Halo Ani Lestari, permohonan PSP-2026-0042 kini disetujui."
    assert email.alternatives[0].mimetype == "text/html"
    assert "permohonan <b>PSP-2026-0042</b>" in email.alternatives[0].content
    assert locmem.outbox[0].text == "Imigrasi: permohonan PSP-2026-0042 kini disetujui."
    assert rows[Channel.PORTAL].body == "Permohonan PSP-2026-0042 kini disetujui."
    assert {row.language for row in rows.values()} == {"id"}


def test_an_english_speaker_gets_every_channel_in_english(
    english_eko, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(english_eko, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    email = mail.outbox[0]
    assert email.subject == "Application PSP-2026-0042 disetujui"
    assert email.body == "Hello Eko Prasetyo, application PSP-2026-0042 is now disetujui."
    assert "application <b>PSP-2026-0042</b>" in email.alternatives[0].content
    assert locmem.outbox[0].text == "Imigrasi: application PSP-2026-0042 is now disetujui."
    assert rows[Channel.PORTAL].body == "Application PSP-2026-0042 is now disetujui."
    assert {row.language for row in rows.values()} == {"en"}


def test_a_shared_template_is_translated_into_the_recipients_language(
    reachable_ani, english_eko, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notify(reachable_ani, SHARED_TEMPLATE_EVENT, {"ref": "A-1", "urgent": True})
        notify(english_eko, SHARED_TEMPLATE_EVENT, {"ref": "A-2", "urgent": True})

    assert [(email.subject, email.body) for email in mail.outbox] == [
        ("A-1: ya", "ya"),
        ("A-2: yes", "yes"),
    ]


def test_a_message_missing_in_english_falls_back_to_indonesian(
    english_eko, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(english_eko, INDONESIAN_ONLY_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert mail.outbox[0].subject == "Pengingat jadwal PSP-2026-0042"
    assert mail.outbox[0].body == "Jangan lupa jadwal kedatangan PSP-2026-0042 besok."
    assert locmem.outbox[0].text == "Imigrasi: jadwal kedatangan PSP-2026-0042 besok."
    # The row says which language the message was actually written in.
    assert {row.language for row in rows.values()} == {"id"}
    assert {row.status for row in rows.values()} == {Status.DELIVERED}


def test_the_sms_records_how_many_segments_it_takes(
    reachable_ani, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(reachable_ani, STATUS_EVENT, CONTEXT)
    rows = by_channel(rows)

    assert rows[Channel.SMS].segments == 1
    assert rows[Channel.EMAIL].segments == 0
