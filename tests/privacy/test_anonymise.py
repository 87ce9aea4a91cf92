"""Anonymisation after the grace period: the account's personal data goes, the
office's records (applications, payments) stay; idempotent, and never early."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts import deletion
from accounts.models import DELETED_NAME, PhoneVerification, User
from accounts.tasks import anonymise_deleted_accounts
from applications.models import Application, Document, Person, StatusEvent
from applications.workflow import Status
from notifications.models import Notification, Preference
from payments.models import Bill, Payment
from queueing.models import Booking
from tests.privacy.conftest import complete_draft, world_of
from tests.utils import in_language

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(ani, office_a, passport_service, system_officer, settings):
    """ani, with a full history, asked to delete her account 31 days ago (grace: 30 days)."""
    settings.ACCOUNT_ANONYMISE_AFTER_DAYS = 30
    world = world_of(ani, office_a, passport_service, system_officer, tag="ANI")
    Preference.objects.create(user=ani, sms_status=False)
    deletion.account_deletion_request(user=ani)
    User.objects.filter(pk=ani.pk).update(
        deletion_requested_at=timezone.now() - dt.timedelta(days=31)
    )
    return world


def test_after_the_grace_period_the_account_is_anonymised(ani, closed):
    done = anonymise_deleted_accounts()

    assert done == 1
    user = User.objects.get(pk=ani.pk)
    assert user.anonymised_at is not None
    assert user.email == f"deleted-{ani.pk}@deleted.invalid"
    assert user.full_name == DELETED_NAME
    assert str(user) == in_language("id", "(deleted account)")
    assert user.nik_encrypted == "" and user.nik_index is None and user.nik == ""
    assert user.date_of_birth is None and user.sex == "" and user.phone == "" and user.address == ""
    assert not user.has_usable_password()
    assert not user.is_active
    assert not User.objects.with_nik("1802015205900001").exists()


def test_what_only_the_account_needed_is_deleted(ani, closed):
    anonymise_deleted_accounts()

    assert not Person.objects.filter(owner=ani).exists()
    assert not PhoneVerification.objects.filter(user=ani).exists()
    assert not Preference.objects.filter(user=ani).exists()
    messages = Notification.objects.filter(recipient=ani)
    assert messages.exists()
    assert not messages.exclude(body="").exists()
    assert not messages.exclude(address="").exists()
    assert not messages.exclude(subject="").exists()
    assert not messages.filter(status__in=Notification.CLAIMABLE).exists()  # nothing left to send
    assert Booking.objects.get(code=closed["booking_code"]).question == ""


def test_applications_and_payments_are_kept_as_the_legal_record(ani, closed):
    application = closed["application"]
    events_before = StatusEvent.objects.filter(application=application).count()

    anonymise_deleted_accounts()

    kept = Application.objects.get(pk=application.pk)
    assert kept.applicant_id == ani.pk
    assert kept.status == Status.COMPLETED
    assert kept.full_name == "Ani Lestari"  # the application's own snapshot
    assert kept.nik == "1802015205900001"
    assert StatusEvent.objects.filter(application=application).count() == events_before
    assert Bill.objects.filter(code=closed["billing_code"]).exists()
    assert Payment.objects.filter(ntpn=closed["ntpn"]).exists()
    assert Booking.objects.filter(code=closed["booking_code"]).exists()


def test_drafts_never_sent_are_deleted_with_their_files(
    ani, office_a, regular_passport_service, closed, django_capture_on_commit_callbacks
):
    draft = complete_draft(ani, office_a, regular_passport_service)
    names = list(Document.objects.filter(application=draft).values_list("file", flat=True))
    assert names and all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        anonymise_deleted_accounts()

    assert not Application.objects.filter(pk=draft.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_nothing_happens_before_the_grace_period_is_over(ani, closed):
    User.objects.filter(pk=ani.pk).update(
        deletion_requested_at=timezone.now() - dt.timedelta(days=29)
    )

    assert anonymise_deleted_accounts() == 0

    user = User.objects.get(pk=ani.pk)
    assert user.anonymised_at is None
    assert user.email == "ani@example.id" and user.nik == "1802015205900001"
    assert Person.objects.filter(owner=ani).exists()


def test_the_grace_period_is_a_setting(ani, closed, settings):
    settings.ACCOUNT_ANONYMISE_AFTER_DAYS = 60

    assert anonymise_deleted_accounts() == 0


def test_running_twice_changes_nothing_the_second_time(ani, closed):
    anonymise_deleted_accounts()
    first = User.objects.get(pk=ani.pk)

    assert anonymise_deleted_accounts() == 0
    assert deletion.account_anonymise(user_id=ani.pk) is False

    again = User.objects.get(pk=ani.pk)
    assert again.anonymised_at == first.anonymised_at
    assert again.password == first.password


def test_an_account_restored_by_an_officer_is_not_anonymised(ani, closed, system_officer):
    deletion.account_restore(user=ani, by=system_officer)

    assert anonymise_deleted_accounts() == 0
    user = User.objects.get(pk=ani.pk)
    assert user.is_active and user.deletion_requested_at is None and user.anonymised_at is None


def test_an_account_reactivated_by_hand_is_not_anonymised(ani, closed):
    User.objects.filter(pk=ani.pk).update(is_active=True)

    assert anonymise_deleted_accounts() == 0


def test_an_anonymised_account_cannot_be_restored(ani, closed, system_officer):
    anonymise_deleted_accounts()

    with pytest.raises(deletion.ServiceError):
        deletion.account_restore(user=ani, by=system_officer)


def test_other_accounts_are_untouched(ani, eko, closed):
    anonymise_deleted_accounts()

    eko = User.objects.get(pk=eko.pk)
    assert eko.email == "eko@example.id" and eko.full_name == "Eko Prasetyo" and eko.nik


def test_two_factor_devices_and_login_failures_go_too(ani, closed):
    from axes.models import AccessAttempt
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=ani, name="ponsel", confirmed=True)
    AccessAttempt.objects.create(
        username="ani@example.id", ip_address="10.0.0.1", user_agent="x", failures_since_start=2
    )
    AccessAttempt.objects.create(
        username="eko@example.id", ip_address="10.0.0.1", user_agent="x", failures_since_start=1
    )

    anonymise_deleted_accounts()

    assert not TOTPDevice.objects.filter(user=ani).exists()
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["eko@example.id"]


def test_the_task_runs_daily_from_the_beat_schedule():
    entries = {e["task"]: e["schedule"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()}

    assert entries["accounts.tasks.anonymise_deleted_accounts"] == 24 * 3600.0
    assert entries["applications.tasks.purge_expired_documents"] == 24 * 3600.0
