"""Indonesian mobile numbers: accept what people type, store E.164 (identity.md)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import identity
from accounts.forms import MobilePhoneField


@pytest.mark.parametrize(
    "typed",
    [
        "0812 3456 7890",
        "0812-3456-7890",
        "081234567890",
        "+62 812 3456 7890",
        "+62-812-3456-7890",
        "+6281234567890",
        "62812 3456 7890",
        "6281234567890",
        "+62 0812 3456 7890",
        "62 0812 3456 7890",
        "(0812) 3456.7890",
        " 0812 3456 7890 ",
    ],
)
def test_it_normalises_what_people_type_to_e164(typed):
    assert identity.normalise_mobile(typed) == "+6281234567890"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0813 1234 5678", "+6281312345678"),
        ("0821 1234 5678", "+6282112345678"),
        ("0838 1234 5678", "+6283812345678"),
        ("0852 1234 5678", "+6285212345678"),
        ("0878 1234 5678", "+6287812345678"),
        ("0881 1234 5678", "+6288112345678"),
        ("0895 1234 5678", "+6289512345678"),
        ("0812 345 678", "+62812345678"),  # 10 digits, the shortest mobile
        ("0812 3456 7890 1", "+628123456789" + "01"),  # 13 digits, the longest
    ],
)
def test_it_accepts_mobile_prefixes_and_lengths(typed, stored):
    assert identity.normalise_mobile(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("021 1234 5678", id="jakarta-landline"),
        pytest.param("(021) 555-1234", id="landline-with-brackets"),
        pytest.param("+62 21 1234 5678", id="landline-international"),
        pytest.param("0274 123456", id="yogyakarta-landline"),
        pytest.param("0841 2345 6789", id="084x-is-not-mobile"),
        pytest.param("0845 1234 5678", id="084x-again"),
        pytest.param("0812 345", id="too-short"),
        pytest.param("0812 3456 7", id="nine-digits"),
        pytest.param("0812 3456 7890 12", id="fourteen-digits"),
        pytest.param("0812 3456 7890 1234", id="far-too-long"),
        pytest.param("0812 34AB 7890", id="letters"),
        pytest.param("nomor saya", id="words"),
        pytest.param("+1 202 555 0143", id="united-states"),
        pytest.param("+60 12 345 6789", id="malaysian-mobile"),
        pytest.param("+44 7700 900123", id="british-mobile"),
        pytest.param("+65 8123 4567", id="singapore-mobile"),
        pytest.param("812 3456 7890", id="no-leading-zero-or-country-code"),
        pytest.param("", id="empty"),
        pytest.param("+", id="plus-only"),
    ],
)
def test_it_refuses_numbers_that_are_not_indonesian_mobiles(typed):
    with pytest.raises(ValidationError) as caught:
        identity.normalise_mobile(typed)

    assert caught.value.code == "phone"


def test_normalising_twice_gives_the_same_number():
    once = identity.normalise_mobile("0812-3456-7890")

    assert identity.normalise_mobile(once) == once


def test_the_form_field_returns_the_normalised_number():
    assert MobilePhoneField().clean("0812 3456 7890") == "+6281234567890"


def test_the_form_field_refuses_a_landline_with_the_phone_message():
    with pytest.raises(ValidationError) as caught:
        MobilePhoneField().clean("021 1234 5678")

    assert caught.value.code == "phone"


def test_the_form_field_requires_a_number():
    with pytest.raises(ValidationError) as caught:
        MobilePhoneField().clean("")

    assert caught.value.code == "required"
