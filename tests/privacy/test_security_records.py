"""Failed-login records and expired sessions are not kept for ever (docs/privacy.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.tasks import purge_security_records
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(when: dt.datetime, username: str) -> None:
    row = AccessAttempt.objects.create(
        username=username, ip_address="198.51.100.7", user_agent="x", failures_since_start=1
    )
    AccessAttempt.objects.filter(pk=row.pk).update(attempt_time=when)
    log = AccessFailureLog.objects.create(
        username=username, ip_address="198.51.100.7", user_agent="x"
    )
    AccessFailureLog.objects.filter(pk=log.pk).update(attempt_time=when)


def test_old_failed_logins_go_recent_ones_stay(settings):
    settings.LOGIN_FAILURE_RETENTION_DAYS = 30
    now = timezone.now()
    attempt(now - dt.timedelta(days=31), "lama@example.id")
    attempt(now - dt.timedelta(days=29), "baru@example.id")

    result = purge_security_records()

    assert result == {"attempts": 1, "failures": 1}
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["baru@example.id"]
    assert list(AccessFailureLog.objects.values_list("username", flat=True)) == ["baru@example.id"]


def test_expired_sessions_go_live_ones_stay(ani, eko):
    live, gone = Client(), Client()
    live.post("/akun/masuk/", {"username": ani.email, "password": PASSWORD})
    gone.post("/akun/masuk/", {"username": eko.email, "password": PASSWORD})
    gone_key = gone.cookies["sessionid"].value
    Session.objects.filter(session_key=gone_key).update(
        expire_date=timezone.now() - dt.timedelta(minutes=1)
    )

    purge_security_records()

    assert not Session.objects.filter(session_key=gone_key).exists()
    assert Session.objects.filter(session_key=live.cookies["sessionid"].value).exists()
