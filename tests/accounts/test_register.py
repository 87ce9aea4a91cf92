"""Citizen registration: POST the form, an unverified account, one verification email."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services
from accounts.models import User
from tests.factories import PASSWORD, UserFactory, registration_data
from tests.utils import in_language, link_in, page_text

pytestmark = pytest.mark.django_db

REGISTER = reverse("accounts:register")
NIK = "1802015205900001"


def register(client, capture, **overrides):
    with capture(execute=True):
        return client.post(REGISTER, registration_data(**overrides))


def form_of(response):
    assert response.status_code == 200, response.status_code
    return response.context["form"]


def test_a_citizen_registers_verifies_the_email_and_logs_in(
    client, django_capture_on_commit_callbacks
):
    response = register(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:register_done")
    user = User.objects.get(email="ani@example.id")
    assert not user.is_email_verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ani@example.id"]

    link = link_in(mail.outbox[0].body, "/akun/verifikasi/")
    verified = client.get(link)

    assert verified.status_code == 302
    assert verified["Location"] == reverse("accounts:login")
    user.refresh_from_db()
    assert user.is_email_verified

    login = client.post(
        reverse("accounts:login"), {"username": "ani@example.id", "password": PASSWORD}
    )

    assert login.status_code == 302
    assert login["Location"] == reverse("accounts:profile")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_it_stores_what_was_typed_with_the_phone_normalised(
    client, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks, email="Ani.Lestari@Example.ID")

    user = User.objects.get()
    assert user.email == "ani.lestari@example.id"
    assert user.full_name == "Ani Lestari"
    assert user.nik == NIK
    assert user.date_of_birth == dt.date(1990, 5, 12)
    assert user.sex == "P"
    assert user.phone == "+6281234567890"
    assert user.address == "Jl. Merdeka No. 10, Gunung Sugih, Lampung Tengah"
    assert user.check_password(PASSWORD)
    assert user.privacy_consent_at is not None
    assert user.email_verified_at is None
    assert user.nik_mismatch is False


def test_it_never_makes_a_staff_member_from_the_form(client, django_capture_on_commit_callbacks):
    register(client, django_capture_on_commit_callbacks, is_staff="on", is_superuser="on")

    user = User.objects.get()
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.groups.exists()


def test_it_sends_the_verification_email_only_after_the_transaction_commits(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(REGISTER, registration_data())

    assert mail.outbox == []
    assert len(callbacks) == 1

    callbacks[0]()

    assert len(mail.outbox) == 1


def test_the_done_page_names_the_address_the_link_went_to(
    client, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)

    page = client.get(reverse("accounts:register_done"))

    assert page.status_code == 200
    assert "ani@example.id" in page_text(page)


def test_it_remembers_the_language_of_the_page_as_the_accounts_language(
    english, django_capture_on_commit_callbacks
):
    register(english, django_capture_on_commit_callbacks)

    assert User.objects.get().preferred_language == "en"
    assert mail.outbox[0].subject == "Confirm your email address for Imigrasi"


def test_an_indonesian_visitor_gets_an_indonesian_account_and_email(
    client, django_capture_on_commit_callbacks
):
    register(client, django_capture_on_commit_callbacks)

    subject = in_language("id", "Confirm your email address for Imigrasi")
    assert User.objects.get().preferred_language == "id"
    assert subject != "Confirm your email address for Imigrasi"
    assert mail.outbox[0].subject == subject


# --- NIK that disagrees with the form: a flag for officers, never a refusal ---


def test_a_nik_whose_birth_date_differs_from_the_form_is_flagged_not_refused(
    client, django_capture_on_commit_callbacks
):
    response = register(client, django_capture_on_commit_callbacks, date_of_birth="1991-05-12")

    assert response.status_code == 302
    user = User.objects.get()
    assert user.nik_mismatch is True
    assert user.date_of_birth == dt.date(1991, 5, 12)
    assert len(mail.outbox) == 1


def test_a_nik_whose_sex_differs_from_the_form_is_flagged_not_refused(
    client, django_capture_on_commit_callbacks
):
    response = register(client, django_capture_on_commit_callbacks, sex="L")

    assert response.status_code == 302
    assert User.objects.get().nik_mismatch is True


def test_a_nik_from_either_century_matches_the_birth_date(
    client, django_capture_on_commit_callbacks
):
    register(
        client,
        django_capture_on_commit_callbacks,
        nik="1802011203050001",  # a man born 12-03-?05
        date_of_birth="2005-03-12",
        sex="L",
    )

    assert User.objects.get().nik_mismatch is False


# --- Duplicates -------------------------------------------------------------


def test_it_refuses_a_nik_already_registered_even_typed_with_separators(
    client, ani, django_capture_on_commit_callbacks
):
    response = register(
        client,
        django_capture_on_commit_callbacks,
        email="orang.lain@example.id",
        nik="18.02.01-520590 0001",
    )

    form = form_of(response)
    assert form.non_field_errors()
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_it_refuses_an_email_already_registered_in_another_case(
    client, ani, django_capture_on_commit_callbacks
):
    response = register(
        client,
        django_capture_on_commit_callbacks,
        email="ANI@Example.ID",
        nik="3201011203900001",
        sex="L",
        date_of_birth="1990-03-12",
    )

    assert form_of(response).non_field_errors()
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_the_duplicate_refusal_does_not_say_whether_the_email_or_the_nik_was_taken(
    client, ani, django_capture_on_commit_callbacks
):
    taken_nik = form_of(
        register(client, django_capture_on_commit_callbacks, email="lain@example.id")
    )
    taken_email = form_of(
        register(
            client,
            django_capture_on_commit_callbacks,
            email="ani@example.id",
            nik="3201011203900001",
            sex="L",
            date_of_birth="1990-03-12",
        )
    )

    assert taken_nik.non_field_errors() == taken_email.non_field_errors()
    assert set(taken_nik.errors) == set(taken_email.errors) == {"__all__"}


def test_a_refused_duplicate_keeps_what_was_typed_but_not_the_passwords(
    client, ani, django_capture_on_commit_callbacks
):
    response = register(
        client,
        django_capture_on_commit_callbacks,
        email="lain@example.id",
        full_name="Ani Kembar",
        address="Jl. Sudirman No. 5",
    )

    text = page_text(response)
    assert 'value="lain@example.id"' in text
    assert 'value="Ani Kembar"' in text
    assert "Jl. Sudirman No. 5" in text
    assert 'value="0812 3456 7890"' in text
    assert PASSWORD not in text


def test_it_refuses_a_registered_nik_typed_in_fullwidth_digits(
    client, ani, django_capture_on_commit_callbacks
):
    fullwidth = NIK.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    register(client, django_capture_on_commit_callbacks, email="lain@example.id", nik=fullwidth)

    assert User.objects.count() == 1


# --- Other refusals ---------------------------------------------------------


def test_it_requires_consent_to_the_privacy_notice(client, django_capture_on_commit_callbacks):
    response = register(client, django_capture_on_commit_callbacks, privacy_consent="")

    assert "privacy_consent" in form_of(response).errors
    assert not User.objects.exists()


def test_it_refuses_two_different_passwords(client, django_capture_on_commit_callbacks):
    response = register(client, django_capture_on_commit_callbacks, password2=PASSWORD + "x")

    assert "password2" in form_of(response).errors
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["pendek-1", "123456789012345", "password1234", "paspor-saya-2024", "Ani Lestari 1990"],
    ids=["short", "numeric", "common", "portal-word", "like-the-name"],
)
def test_it_refuses_a_weak_password(client, django_capture_on_commit_callbacks, password):
    response = register(
        client, django_capture_on_commit_callbacks, password1=password, password2=password
    )

    assert "password1" in form_of(response).errors
    assert not User.objects.exists()


def test_a_logged_in_visitor_is_sent_to_the_profile(client, ani):
    client.force_login(ani)

    response = client.get(REGISTER)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")


# --- Bad input never 500s ----------------------------------------------------

LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("full_name", "A" * 10_000),
        ("email", LONG + "@example.id"),
        ("address", "Jl. " + LONG),
        ("nik", "18020152059OOOO1"),
        ("nik", "1802015205900001" * 600),
        ("date_of_birth", (timezone.localdate() + dt.timedelta(days=1)).isoformat()),
        ("date_of_birth", "31/02/1990"),
        ("date_of_birth", "kemarin"),
        ("date_of_birth", "1890-01-01"),
        ("phone", "9" * 10_000),
        ("sex", "X"),
    ],
    ids=[
        "long-name",
        "long-email",
        "long-address",
        "nik-letters",
        "nik-long",
        "future-birth-date",
        "impossible-date",
        "garbage-date",
        "year-1890",
        "long-phone",
        "unknown-sex",
    ],
)
def test_bad_input_rerenders_the_form_with_the_error_and_keeps_the_typing(
    client, django_capture_on_commit_callbacks, field, value
):
    response = register(client, django_capture_on_commit_callbacks, **{field: value})

    form = form_of(response)
    assert list(form.errors) == [field]
    assert not User.objects.exists()
    text = page_text(response)
    if field != "sex":
        assert value in text
    assert PASSWORD not in text
    assert 'id="error-summary"' in text


def test_an_empty_form_rerenders_with_every_required_field_marked(client):
    # What a browser sends for an untouched form: every text field, empty.
    blank = {name: "" for name in registration_data() if name not in ("sex", "privacy_consent")}

    response = client.post(REGISTER, blank)

    assert set(form_of(response).errors) == set(registration_data())


field_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    typed=st.fixed_dictionaries(
        {name: st.one_of(st.just(value), field_text) for name, value in registration_data().items()}
    )
)
def test_random_text_in_any_field_never_breaks_the_form(client, typed):
    cache.clear()  # each example starts under the per-address registration limit
    response = client.post(REGISTER, typed)

    assert response.status_code in (200, 302)


# --- Races: the database has the last word ------------------------------------


def test_losing_the_race_to_a_concurrent_registration_is_a_refusal_not_a_500(
    client, ani, monkeypatch, django_capture_on_commit_callbacks
):
    # The pre-check saw nothing (the other registration had not committed yet):
    # the unique index on the blind index must turn the insert into a refusal.
    monkeypatch.setattr(User.objects, "with_nik", lambda nik: User.objects.none())

    response = register(client, django_capture_on_commit_callbacks, email="lain@example.id")

    assert form_of(response).non_field_errors()
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_losing_an_email_race_gives_the_same_neutral_refusal(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    UserFactory(email="lama@example.id", nik="3201011203900001")
    ordinary = form_of(
        register(client, django_capture_on_commit_callbacks, email="lama@example.id")
    ).non_field_errors()

    def rival_commits_meanwhile(nik):
        # Another browser registers ani@example.id right after our email check.
        UserFactory(email="ani@example.id", nik="3201011203900002")
        return User.objects.none()

    monkeypatch.setattr(User.objects, "with_nik", rival_commits_meanwhile)

    response = register(client, django_capture_on_commit_callbacks)

    assert form_of(response).non_field_errors() == ordinary
    assert "accounts_user_email_ci_unique" not in page_text(response)


def _register_in_thread(index: int, barrier: threading.Barrier, results: list) -> None:
    try:
        barrier.wait(timeout=30)
        services.user_register(
            email=f"orang{index}@example.id",  # a different address, the same NIK
            password=PASSWORD,
            full_name=f"Orang {index}",
            nik=NIK,
            date_of_birth=dt.date(1990, 5, 12),
            sex="P",
            phone="0812 3456 7890",
            address="Jl. Merdeka No. 10",
            preferred_language="id",
        )
        results.append("created")
    except services.DuplicateAccount:
        results.append("refused")
    except Exception as exc:  # anything else is the bug this test looks for
        results.append(repr(exc))
    finally:
        connection.close()


def _in_own_connection(action) -> None:
    """Run `action` on a fresh connection in autocommit (outside the test's transaction)."""

    def run():
        try:
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)


def _hammer(threads: int) -> list[str]:
    barrier = threading.Barrier(threads)
    results: list[str] = []
    workers = [
        threading.Thread(target=_register_in_thread, args=(index, barrier, results))
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return sorted(results)


@pytest.mark.postgres
def test_concurrent_registrations_of_one_nik_create_exactly_one_account(db):
    # The threads commit for real on their own connections; they are removed
    # again below instead of using transactional_db, whose flush would also
    # wipe the role groups that the data migration created for later tests.
    try:
        results = _hammer(6)

        assert results == ["created"] + ["refused"] * 5
        assert User.objects.with_nik(NIK).count() == 1
    finally:
        _in_own_connection(lambda: User.objects.filter(email__startswith="orang").delete())
