"""The profile page: contact details are editable, identity is not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import PASSWORD
from tests.utils import page_text

pytestmark = pytest.mark.django_db

PROFILE = reverse("accounts:profile")


def contact(**overrides) -> dict:
    data = {
        "phone": "0813-1111-2222",
        "address": "  Jl. Ahmad Yani No. 7, Metro  ",
        "preferred_language": "id",
        # A new mobile number needs the password again (re-authentication).
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def test_an_anonymous_visitor_is_sent_to_login_and_back(client):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={PROFILE}"


def test_an_anonymous_post_changes_nothing(client, ani):
    response = client.post(PROFILE, contact())

    assert response.status_code == 302
    ani.refresh_from_db()
    assert ani.phone == "+6281234567890"


def test_the_page_shows_the_nik_masked_never_in_full(client, ani):
    client.force_login(ani)

    response = client.get(PROFILE)

    text = page_text(response)
    assert response.status_code == 200
    assert "1802********0001" in text
    assert "1802015205900001" not in text


def test_the_form_starts_with_the_saved_contact_details(client, ani):
    client.force_login(ani)

    form = client.get(PROFILE).context["form"]

    assert form.initial == {
        "phone": "+6281234567890",
        "address": ani.address,
        "preferred_language": "id",
    }


def test_a_citizen_changes_phone_address_and_language(client, ani):
    client.force_login(ani)

    response = client.post(PROFILE, contact(preferred_language="en"))

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    ani.refresh_from_db()
    assert ani.phone == "+6281311112222"
    assert ani.address == "Jl. Ahmad Yani No. 7, Metro"
    assert ani.preferred_language == "en"


def test_the_saved_language_applies_to_the_next_page(client, ani):
    client.force_login(ani)

    client.post(PROFILE, contact(preferred_language="en"))
    page = client.get(PROFILE)

    assert '<html lang="en">' in page.content.decode()


def test_identity_fields_in_the_post_change_nothing(client, ani):
    client.force_login(ani)
    nik_encrypted, nik_index = ani.nik_encrypted, ani.nik_index

    client.post(
        PROFILE,
        contact(
            nik="3201011203900001",
            date_of_birth="1980-01-01",
            sex="L",
            full_name="Orang Lain",
            email="lain@example.id",
            is_staff="on",
            email_verified_at="",
        ),
    )

    ani.refresh_from_db()
    assert ani.nik == "1802015205900001"
    assert (ani.nik_encrypted, ani.nik_index) == (nik_encrypted, nik_index)
    assert ani.date_of_birth == dt.date(1990, 5, 12)
    assert ani.sex == "P"
    assert ani.full_name == "Ani Lestari"
    assert ani.email == "ani@example.id"
    assert not ani.is_staff
    assert ani.is_email_verified
    assert ani.phone == "+6281311112222"  # the contact part did save


def test_the_form_has_no_identity_fields(client, ani):
    client.force_login(ani)

    form = client.get(PROFILE).context["form"]

    assert set(form.fields) == {"phone", "address", "preferred_language", "password"}


def test_a_new_mobile_number_needs_the_current_password(client, ani):
    client.force_login(ani)

    response = client.post(PROFILE, contact(password=""))

    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert "0813-1111-2222" in page_text(response)
    ani.refresh_from_db()
    assert ani.phone == "+6281234567890"


def test_a_wrong_password_keeps_the_old_number_and_is_counted(client, ani, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "reauth": (2, 900)}
    client.force_login(ani)

    for _ in range(2):
        response = client.post(PROFILE, contact(password="salah-sekali-123"))
        assert "password" in response.context["form"].errors
    # The right password no longer helps until the window has passed.
    response = client.post(PROFILE, contact())

    assert "password" in response.context["form"].errors
    ani.refresh_from_db()
    assert ani.phone == "+6281234567890"


def test_address_and_language_change_without_the_password(client, ani):
    client.force_login(ani)

    response = client.post(
        PROFILE, contact(phone="+6281234567890", password="", address="Jl. Baru 1")
    )

    assert response.status_code == 302
    ani.refresh_from_db()
    assert ani.address == "Jl. Baru 1"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "021 1234 5678"),
        ("phone", ""),
        ("address", ""),
        ("address", "x" * 10_000),
        ("preferred_language", "fr"),
    ],
    ids=["landline", "no-phone", "no-address", "long-address", "unknown-language"],
)
def test_bad_contact_details_rerender_with_the_error_and_save_nothing(client, ani, field, value):
    client.force_login(ani)

    response = client.post(PROFILE, contact(**{field: value}))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    ani.refresh_from_db()
    assert ani.phone == "+6281234567890"
    assert ani.preferred_language == "id"
    if value:
        assert value in page_text(response)
