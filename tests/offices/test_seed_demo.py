"""`manage.py seed_demo`: the four demo offices and people, the same however often it runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken

from accounts.models import User
from offices import demo, roles
from offices.management.commands.seed_demo import DEMO_BACKUP_CODES, DEMO_PASSWORD
from offices.models import Counter, Holiday, Office, OpeningHours, StaffMembership
from tests.utils import committed

pytestmark = pytest.mark.django_db


def seed(*, debug: bool, settings) -> str:
    settings.DEBUG = debug
    output = StringIO()
    call_command("seed_demo", stdout=output)
    return output.getvalue()


def snapshot() -> dict:
    """Every row seed_demo writes, without timestamps."""
    return {
        "offices": sorted(Office.objects.values_list("code", "name", "time_zone", "email")),
        "counters": sorted(
            Counter.objects.values_list("office__code", "number", "name", "purpose")
        ),
        "hours": sorted(
            OpeningHours.objects.values_list("office__code", "weekday", "opens_at", "closes_at")
        ),
        "holidays": sorted(Holiday.objects.values_list("date", "name", "office_id")),
        "users": sorted(User.objects.values_list("email", "full_name", "is_staff", "nik_index")),
        "memberships": sorted(StaffMembership.objects.values_list("user__email", "office__code")),
        "groups": sorted(User.groups.through.objects.values_list("user__email", "group__name")),
    }


def test_running_it_twice_gives_the_same_rows(settings):
    seed(debug=True, settings=settings)
    first = snapshot()

    seed(debug=True, settings=settings)

    assert snapshot() == first
    assert [len(first[key]) for key in ("offices", "counters", "hours", "holidays")] == [
        4,
        16,
        20,
        10,
    ]
    assert len(first["users"]) == 1 + len(demo.OFFICERS) + 1


def test_it_creates_the_four_offices_of_the_source_material(settings):
    seed(debug=False, settings=settings)

    assert sorted(Office.objects.values_list("code", flat=True)) == ["LBG", "LBR", "LTG", "PSB"]
    assert all(office.opening_summary() for office in Office.objects.all())


def test_it_keeps_the_citizens_nik_ciphertext_on_a_second_run(settings):
    seed(debug=True, settings=settings)
    before = User.objects.get(email=demo.CITIZEN["email"]).nik_encrypted

    seed(debug=True, settings=settings)

    citizen = User.objects.get(email=demo.CITIZEN["email"])
    assert citizen.nik_encrypted == before
    assert citizen.nik == demo.CITIZEN["nik"]


def test_the_demo_people_have_their_roles_and_offices(settings):
    seed(debug=False, settings=settings)

    citizen = User.objects.get(email="ani@demo.imigrasi.id")
    budi = User.objects.get(email="budi@demo.imigrasi.id")
    dewi = User.objects.get(email="dewi@demo.imigrasi.id")
    assert not citizen.is_staff
    assert citizen.is_email_verified
    assert citizen.privacy_consent_at is not None
    assert list(budi.groups.values_list("name", flat=True)) == [roles.OFFICER]
    assert list(Office.objects.for_staff(budi).values_list("code", flat=True)) == ["LTG"]
    assert list(dewi.groups.values_list("name", flat=True)) == [roles.SUPERVISOR]
    assert Office.objects.for_staff(dewi).count() == 4
    assert Group.objects.get(name=roles.OFFICER).user_set.count() == len(demo.OFFICERS)


def test_with_debug_on_it_prints_the_demo_logins(settings):
    output = seed(debug=True, settings=settings)

    assert DEMO_PASSWORD in output
    for email in [demo.CITIZEN["email"], demo.SUPERVISOR["email"]] + [
        officer["email"] for officer in demo.OFFICERS
    ]:
        assert email in output


def test_with_debug_off_it_prints_no_login_and_no_password(settings):
    output = seed(debug=False, settings=settings)

    assert "4 offices" in output
    assert DEMO_PASSWORD not in output
    assert "@demo.imigrasi.id" not in output


def test_with_debug_on_the_demo_people_can_log_in(settings):
    seed(debug=True, settings=settings)

    response = Client().post(
        reverse("accounts:login"), {"username": "budi@demo.imigrasi.id", "password": DEMO_PASSWORD}
    )

    assert response.status_code == 302


def test_with_debug_on_demo_staff_reach_the_admin_with_a_printed_backup_code(settings):
    output = seed(debug=True, settings=settings)
    assert DEMO_BACKUP_CODES[0] in output
    browser = Client()
    browser.post(
        reverse("accounts:login"), {"username": "budi@demo.imigrasi.id", "password": DEMO_PASSWORD}
    )
    assert browser.get("/admin/").status_code == 302  # the second step first

    response = browser.post(reverse("accounts:two_factor_verify"), {"token": DEMO_BACKUP_CODES[0]})

    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
    # Used up; the next run brings it back.
    staff = len(demo.OFFICERS) + 1
    assert StaticToken.objects.filter(token=DEMO_BACKUP_CODES[0]).count() == staff - 1
    seed(debug=True, settings=settings)
    assert StaticToken.objects.filter(token=DEMO_BACKUP_CODES[0]).count() == staff


def test_with_debug_off_no_account_gets_a_known_backup_code(settings):
    seed(debug=False, settings=settings)

    assert not StaticToken.objects.filter(token__in=DEMO_BACKUP_CODES).exists()


def test_with_debug_off_no_account_gets_the_guessable_password(settings):
    seed(debug=False, settings=settings)

    for user in User.objects.all():
        assert not user.check_password(DEMO_PASSWORD), user.email


def test_with_debug_off_a_demo_officer_can_set_a_password_through_reset(settings, tasks_inline):
    seed(debug=False, settings=settings)

    with committed():
        Client().post(reverse("accounts:password_reset"), {"email": "budi@demo.imigrasi.id"})

    assert [message.to for message in mail.outbox] == [["budi@demo.imigrasi.id"]]
