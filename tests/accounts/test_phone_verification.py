"""Verifying the mobile number: a 6-digit SMS code, stored hashed, 10 minutes, 5 guesses."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib import admin
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import PhoneVerification, User
from imigrasi.errors import ServiceError
from notifications import gsm
from notifications.models import Channel, Notification
from notifications.sms import locmem
from tests.factories import PASSWORD, UserFactory
from tests.utils import committed, in_language, messages_of, page_text

pytestmark = pytest.mark.django_db

PAGE = reverse("accounts:phone_verify")
SEND = reverse("accounts:phone_code_send")
START = dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)  # 09.00 WIB


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    locmem.outbox.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def logged_in(client, ani):
    client.force_login(ani)
    return client


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def send_code(user: User) -> str:
    """Ask for a code as the service does and return the one the SMS carried."""
    before = len(locmem.outbox)
    with committed():
        services.phone_verification_start(user=user)
    assert len(locmem.outbox) == before + 1
    return code_in(locmem.outbox[-1].text)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def type_code(client, code: str):
    return client.post(PAGE, {"code": code})


# --- Sending -------------------------------------------------------------------


def test_the_code_goes_by_sms_to_the_accounts_number_and_nowhere_else(logged_in, ani):
    with committed():
        response = logged_in.post(SEND)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert [sms.to for sms in locmem.outbox] == ["+6281234567890"]
    assert mail.outbox == []
    rows = Notification.objects.filter(recipient=ani)
    assert [(row.event, row.channel) for row in rows] == [("account.phone_code", Channel.SMS)]


def test_a_security_code_reaches_a_number_that_is_not_verified_yet(ani):
    assert ani.phone_verified_at is None

    send_code(ani)

    assert Notification.objects.get(recipient=ani).status == Notification.Status.DELIVERED


@pytest.mark.parametrize(
    ("language", "warning"),
    [("id", "Jangan berikan kode ini"), ("en", "Never share this code")],
)
def test_the_sms_is_one_gsm7_part_and_says_never_to_share_the_code(ani, language, warning):
    ani.preferred_language = language
    ani.save()

    code = send_code(ani)

    text = locmem.outbox[0].text
    assert warning in text
    assert code in text
    assert gsm.is_gsm7(text)
    assert len(text) <= 160
    assert gsm.segments(text) == 1


def test_the_code_is_random_and_six_digits(ani, eko):
    codes = {send_code(ani), send_code(eko)}

    assert all(len(code) == 6 and code.isdigit() for code in codes)


def test_only_a_keyed_hash_of_the_code_is_stored(ani):
    code = send_code(ani)

    verification = PhoneVerification.objects.get(user=ani)
    assert verification.code_hash not in (code, hashlib.sha256(code.encode()).hexdigest())
    assert len(verification.code_hash) == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_phoneverification WHERE user_id = %s", [ani.pk])
        stored = cursor.fetchall()
    assert stored and code not in repr(stored)


def test_a_number_without_an_account_phone_gets_nothing(logged_in, ani):
    User.objects.filter(pk=ani.pk).update(phone="")

    with committed():
        response = logged_in.post(SEND)

    assert response.status_code == 200
    assert locmem.outbox == []
    assert not PhoneVerification.objects.exists()


def test_a_verified_number_is_not_sent_another_code(ani):
    User.objects.filter(pk=ani.pk).update(phone_verified_at=START)
    ani.refresh_from_db()

    with pytest.raises(ServiceError), committed():
        services.phone_verification_start(user=ani)

    assert locmem.outbox == []


# --- Confirming ----------------------------------------------------------------


def test_the_right_code_verifies_the_number(logged_in, ani):
    code = send_code(ani)

    response = type_code(logged_in, code)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert messages_of(response) == [in_language("id", "Your mobile number is verified.")]
    ani.refresh_from_db()
    assert ani.phone_verified_at is not None
    assert PhoneVerification.objects.get(user=ani).verified_at is not None


def test_the_code_may_be_typed_with_spaces(logged_in, ani):
    code = send_code(ani)

    type_code(logged_in, f" {code[:3]} {code[3:]} ")

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_a_used_code_cannot_verify_again(ani):
    code = send_code(ani)
    services.phone_verification_confirm(user=ani, code=code)
    User.objects.filter(pk=ani.pk).update(phone_verified_at=None)
    ani.refresh_from_db()

    with pytest.raises(ServiceError):
        services.phone_verification_confirm(user=ani, code=code)

    ani.refresh_from_db()
    assert ani.phone_verified_at is None


def test_a_wrong_code_is_shown_next_to_the_field_in_indonesian(logged_in, ani):
    code = send_code(ani)

    response = type_code(logged_in, wrong(code))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["code"]
    # Indonesian has one plural form: the catalogue keys it by the singular.
    expected = in_language("id", "The code is wrong. You can try %(count)d more time.") % {
        "count": 4
    }
    assert expected != "The code is wrong. You can try 4 more times."
    assert response.context["form"].errors["code"] == [expected]
    text = page_text(response)
    assert 'id="error-summary"' in text
    # Right under the input, tied to it by aria-describedby.
    assert re.search(
        r'<input[^>]*aria-describedby="[^"]*id_code_error[^"]*"[^>]*id="id_code"', text
    )
    assert re.search(
        r'<input[^>]*id="id_code">\s*<div id="id_code_error" class="invalid-feedback">\s*'
        r"<(?:p|span)[^>]*><strong>" + re.escape(expected),
        text,
    )
    ani.refresh_from_db()
    assert ani.phone_verified_at is None


def test_what_is_not_six_digits_is_refused_without_spending_a_guess(logged_in, ani):
    send_code(ani)

    response = type_code(logged_in, "12a456")

    assert list(response.context["form"].errors) == ["code"]
    assert PhoneVerification.objects.get(user=ani).attempts == 0


def test_five_wrong_guesses_kill_the_code(logged_in, ani):
    code = send_code(ani)
    for _ in range(5):
        type_code(logged_in, wrong(code))

    response = type_code(logged_in, code)

    assert list(response.context["form"].errors) == ["code"]
    assert response.context["form"].errors["code"] == [
        in_language("id", "This code was typed wrongly too many times. Ask for a new code.")
    ]
    assert PhoneVerification.objects.get(user=ani).attempts == 5
    ani.refresh_from_db()
    assert ani.phone_verified_at is None


def test_the_fifth_guess_may_still_be_right(ani):
    code = send_code(ani)
    for _ in range(4):
        with pytest.raises(ServiceError):
            services.phone_verification_confirm(user=ani, code=wrong(code))

    services.phone_verification_confirm(user=ani, code=code)

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_the_last_wrong_guess_says_a_new_code_is_needed(ani):
    code = send_code(ani)
    for _ in range(4):
        with pytest.raises(ServiceError):
            services.phone_verification_confirm(user=ani, code=wrong(code))

    with pytest.raises(ServiceError) as refusal:
        services.phone_verification_confirm(user=ani, code=wrong(code))

    assert refusal.value.message == in_language(
        "id", "The code is wrong and can no longer be used. Ask for a new code."
    )


def test_a_new_code_after_five_wrong_guesses_works(ani):
    with time_machine.travel(START, tick=False) as traveller:
        first = send_code(ani)
        for _ in range(5):
            with pytest.raises(ServiceError):
                services.phone_verification_confirm(user=ani, code=wrong(first))
        traveller.shift(dt.timedelta(seconds=61))
        second = send_code(ani)

        services.phone_verification_confirm(user=ani, code=second)

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_a_code_works_until_just_before_ten_minutes(ani):
    with time_machine.travel(START, tick=False):
        code = send_code(ani)
    with time_machine.travel(START + dt.timedelta(minutes=10, seconds=-1), tick=False):
        services.phone_verification_confirm(user=ani, code=code)

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_a_code_expires_after_ten_minutes(client, ani):
    with time_machine.travel(START, tick=False):
        code = send_code(ani)
    with time_machine.travel(START + dt.timedelta(minutes=10), tick=False):
        client.force_login(ani)
        response = type_code(client, code)

    assert response.context["form"].errors["code"] == [
        in_language("id", "This code has expired. Ask for a new code.")
    ]
    ani.refresh_from_db()
    assert ani.phone_verified_at is None
    assert PhoneVerification.objects.get(user=ani).attempts == 0


def test_only_the_newest_code_counts(ani):
    with time_machine.travel(START, tick=False) as traveller:
        old = send_code(ani)
        traveller.shift(dt.timedelta(seconds=61))
        new = send_code(ani)
        if old != new:  # one chance in a million that the two codes are equal
            with pytest.raises(ServiceError):
                services.phone_verification_confirm(user=ani, code=old)

        services.phone_verification_confirm(user=ani, code=new)

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_another_person_cannot_use_someone_elses_code(client, ani, eko):
    code = send_code(ani)
    client.force_login(eko)

    response = type_code(client, code)

    assert list(response.context["form"].errors) == ["code"]
    ani.refresh_from_db()
    eko.refresh_from_db()
    assert ani.phone_verified_at is None
    assert eko.phone_verified_at is None
    assert PhoneVerification.objects.get(user=ani).attempts == 0


def test_another_persons_pending_code_does_not_verify_my_number(ani, eko):
    ani_code = send_code(ani)
    send_code(eko)

    with pytest.raises(ServiceError):
        services.phone_verification_confirm(user=eko, code=ani_code)

    eko.refresh_from_db()
    assert eko.phone_verified_at is None


# --- Resend limits -------------------------------------------------------------


def test_a_second_code_within_a_minute_is_refused_with_a_clear_message(client, ani):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(ani)
        send_code(ani)
        traveller.shift(dt.timedelta(seconds=15))
        with committed():
            response = client.post(SEND)

    assert response.status_code == 200
    errors = response.context["send_form"].non_field_errors()
    expected = in_language(
        "id", "A code was sent a moment ago. Wait %(seconds)d second before asking again."
    ) % {"seconds": 45}
    assert "45" in expected and "Wait" not in expected
    assert list(errors) == [expected]
    assert expected in page_text(response)
    assert len(locmem.outbox) == 1
    assert PhoneVerification.objects.filter(user=ani).count() == 1


def test_a_new_code_may_be_asked_for_after_a_minute(ani):
    with time_machine.travel(START, tick=False) as traveller:
        send_code(ani)
        traveller.shift(dt.timedelta(seconds=60))

        send_code(ani)

    assert len(locmem.outbox) == 2


def test_at_most_five_codes_a_day(ani):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            send_code(ani)
            traveller.shift(dt.timedelta(minutes=5))

        with pytest.raises(ServiceError) as refusal, committed():
            services.phone_verification_start(user=ani)

    assert "24" in refusal.value.message
    assert "WIB" in refusal.value.message
    assert "5 Maret 2030 09.00" in refusal.value.message  # 24 hours after the first
    assert len(locmem.outbox) == 5


def test_the_daily_limit_frees_up_after_24_hours(ani):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            send_code(ani)
            traveller.shift(dt.timedelta(minutes=1))
        traveller.move_to(START + dt.timedelta(days=1, seconds=1))

        send_code(ani)

    assert len(locmem.outbox) == 6


def test_the_limits_are_per_person(ani, eko):
    with time_machine.travel(START, tick=False):
        send_code(ani)

        send_code(eko)

    assert [sms.to for sms in locmem.outbox] == [ani.phone, eko.phone]


# --- Changing the number ---------------------------------------------------------


def test_changing_the_number_makes_it_unverified(ani):
    services.phone_verification_confirm(user=ani, code=send_code(ani))

    services.profile_update(
        user=ani, phone="0813 1111 2222", address=ani.address, preferred_language="id"
    )

    ani.refresh_from_db()
    assert ani.phone == "+6281311112222"
    assert ani.phone_verified_at is None


def test_saving_the_profile_with_the_same_number_keeps_it_verified(ani):
    services.phone_verification_confirm(user=ani, code=send_code(ani))

    services.profile_update(
        user=ani, phone="0812 3456 7890", address="Jl. Baru 1", preferred_language="id"
    )

    ani.refresh_from_db()
    assert ani.phone_verified_at is not None


def test_a_code_sent_to_the_old_number_does_not_verify_the_new_one(ani):
    code = send_code(ani)
    services.profile_update(
        user=ani, phone="0813 1111 2222", address=ani.address, preferred_language="id"
    )

    with pytest.raises(ServiceError):
        services.phone_verification_confirm(user=ani, code=code)

    ani.refresh_from_db()
    assert ani.phone_verified_at is None


def test_changing_the_number_on_the_profile_page_resets_verification(logged_in, ani):
    services.phone_verification_confirm(user=ani, code=send_code(ani))

    logged_in.post(
        reverse("accounts:profile"),
        {
            "phone": "0813 1111 2222",
            "address": ani.address,
            "preferred_language": "id",
            "password": PASSWORD,
        },
    )

    ani.refresh_from_db()
    assert ani.phone == "+6281311112222"
    assert ani.phone_verified_at is None


def test_a_number_changed_by_an_officer_in_the_admin_is_unverified(rf, ani):
    User.objects.filter(pk=ani.pk).update(phone_verified_at=START)
    ani.refresh_from_db()
    ani.phone = "+6281311112222"

    admin.site.get_model_admin(User).save_model(
        rf.post("/"), ani, SimpleNamespace(changed_data=["phone"]), change=True
    )

    ani.refresh_from_db()
    assert ani.phone_verified_at is None


# --- Pages -----------------------------------------------------------------------


def test_the_profile_page_links_to_phone_verification_and_notification_settings(logged_in):
    text = page_text(logged_in.get(reverse("accounts:profile")))

    assert f'href="{PAGE}"' in text
    assert f'href="{reverse("notifications:preferences")}"' in text


def test_the_page_says_the_number_is_not_verified_and_offers_a_code(logged_in, ani):
    response = logged_in.get(PAGE)

    text = page_text(response)
    assert response.status_code == 200
    assert "+6281234567890" in text
    assert f'action="{SEND}"' in text
    assert 'name="code"' in text
    assert 'autocomplete="one-time-code"' in text


def test_the_page_says_when_the_number_was_verified(logged_in, ani):
    User.objects.filter(pk=ani.pk).update(phone_verified_at=START)

    text = page_text(logged_in.get(PAGE))

    assert "4 Maret 2030 09.00" in text
    assert f'action="{SEND}"' not in text


def test_the_pages_are_for_logged_in_people_only(client):
    for response in (client.get(PAGE), client.post(SEND), client.post(PAGE, {"code": "1"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_sending_a_code_needs_a_post(logged_in):
    response = logged_in.get(SEND)

    assert response.status_code == 405
    assert locmem.outbox == []


def test_the_pages_use_no_inline_style_or_script(logged_in, ani):
    send_code(ani)

    text = logged_in.get(PAGE).content.decode()

    assert " style=" not in text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []


# --- Races: the database has the last word ----------------------------------------


def _in_own_connection(action):
    """Run `action` on a fresh connection in autocommit (outside the test's transaction)."""
    result = []

    def run():
        try:
            result.append(action())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return result[0] if result else None


@pytest.mark.postgres
def test_many_simultaneous_guesses_get_five_tries_in_all(db, tasks_inline):
    # The rows are committed for real on other connections so the guessing
    # threads see them, and removed at the end instead of using
    # transactional_db, whose flush would also wipe the groups that the
    # data migration created for later tests.
    person_pk = _in_own_connection(
        lambda: UserFactory(email="tebak.serentak@example.id", phone="+6281299990000").pk
    )
    try:
        code = _in_own_connection(lambda: send_code(User.objects.get(pk=person_pk)))
        guesses = 16
        barrier = threading.Barrier(guesses)
        outcomes: list[str] = []
        lock = threading.Lock()

        def guess(n: int) -> None:
            try:
                barrier.wait()
                attempt = f"{(int(code) + 1 + n) % 10**6:06d}"
                try:
                    services.phone_verification_confirm(
                        user=User.objects.get(pk=person_pk), code=attempt
                    )
                    result = "verified"
                except ServiceError as refusal:
                    result = refusal.message
                with lock:
                    outcomes.append(result)
            finally:
                connection.close()

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        too_many = in_language(
            "id", "This code was typed wrongly too many times. Ask for a new code."
        )
        assert len(outcomes) == guesses
        assert "verified" not in outcomes
        assert sum(outcome != too_many for outcome in outcomes) == 5
        attempts = _in_own_connection(
            lambda: PhoneVerification.objects.get(user_id=person_pk).attempts
        )
        assert attempts == 5
    finally:
        _in_own_connection(lambda: User.objects.filter(pk=person_pk).delete())
