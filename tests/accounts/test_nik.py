"""NIK shape rules (shared/data/identity.md): hard errors name the wrong part."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts import identity
from accounts.forms import RegistrationForm

VALID = "1802015205900001"  # Lampung, Lampung Tengah; woman born 12-05-1990; serial 0001


def nik(
    *,
    province: str = "18",
    regency: str = "02",
    district: str = "01",
    day: str = "52",
    month: str = "05",
    year: str = "90",
    serial: str = "0001",
) -> str:
    return province + regency + district + day + month + year + serial


def refusal(value: str, language: str = "en") -> ValidationError:
    with translation.override(language), pytest.raises(ValidationError) as caught:
        identity.parse_nik(value)
    return caught.value


def message(error: ValidationError, language: str) -> str:
    with translation.override(language):
        return " ".join(str(text) for text in error.messages)


def test_it_accepts_a_well_formed_nik_and_reads_its_parts():
    parts = identity.parse_nik(VALID)

    assert (parts.province, parts.regency, parts.district, parts.serial) == (
        "18",
        "02",
        "01",
        "0001",
    )
    assert (parts.birth_day, parts.birth_month, parts.birth_year_2d) == (12, 5, 90)


def test_it_reads_a_day_over_40_as_a_woman_born_on_day_minus_40():
    parts = identity.parse_nik(VALID)

    assert parts.sex == "P"
    assert dt.date(1990, 5, 12) in parts.possible_birth_dates()


def test_it_reads_a_day_up_to_31_as_a_man():
    parts = identity.parse_nik(nik(day="12"))

    assert parts.sex == "L"
    assert parts.birth_day == 12


@pytest.mark.parametrize("day", ["41", "52", "71"])
def test_it_accepts_womens_birth_days_41_to_71(day):
    assert identity.parse_nik(nik(day=day)).sex == "P"


@pytest.mark.parametrize("day", ["01", "31"])
def test_it_accepts_mens_birth_days_01_to_31(day):
    assert identity.parse_nik(nik(day=day)).sex == "L"


def test_it_offers_both_centuries_because_the_nik_does_not_encode_one():
    dates = identity.parse_nik(nik(day="12", year="05")).possible_birth_dates()

    assert dates == [dt.date(1905, 5, 12), dt.date(2005, 5, 12)]


@pytest.mark.parametrize(
    "typed",
    [
        "1802 0152 0590 0001",
        "18.02.01.520590.0001",
        "18-02-01-520590-0001",
        " 1802015205900001 ",
        "1802\t0152 0590-0001",
    ],
)
def test_it_strips_spaces_dots_and_dashes(typed):
    form = RegistrationForm(data={"nik": typed})
    form.is_valid()

    assert "nik" not in form.errors
    assert form.cleaned_data["nik"] == VALID


@pytest.mark.parametrize("value", ["18020152059000O1", "180201520590000A", "NIK1802015205900"])
def test_it_refuses_a_nik_with_letters(value):
    error = refusal(value)

    assert error.code == "nik_shape"
    assert "16" in message(error, "en")
    assert "16" in message(error, "id")


@pytest.mark.parametrize(("value", "length"), [(VALID[:15], "15"), (VALID + "1", "17")])
def test_it_refuses_a_nik_that_is_not_16_digits_long_and_says_how_many_were_typed(value, length):
    error = refusal(value)

    assert error.code == "nik_shape"
    for language in ("en", "id"):
        text = message(error, language)
        assert "16" in text
        assert length in text


def test_it_refuses_an_empty_nik_in_the_form():
    form = RegistrationForm(data={"nik": ""})

    assert not form.is_valid()
    assert "nik" in form.errors


UNKNOWN_PROVINCES = ["00", "10", "20", "22", "30", "37", "50", "77", "90", "97", "99"]
KNOWN_PROVINCES = ["11", "19", "21", "31", "36", "51", "53", "61", "65", "71", "76", "81", "82"]
KNOWN_PROVINCES += ["91", "94", "96"]  # Papua and its new provinces


@pytest.mark.parametrize("province", UNKNOWN_PROVINCES)
def test_it_refuses_an_unknown_province(province):
    error = refusal(nik(province=province))

    assert error.code == "nik_province"
    for language in ("en", "id"):
        text = message(error, language)
        assert "1-2" in text
        assert province in text


@pytest.mark.parametrize("province", KNOWN_PROVINCES)
def test_it_accepts_every_province_in_the_list(province):
    assert identity.parse_nik(nik(province=province)).province == province


def test_it_refuses_regency_00():
    error = refusal(nik(regency="00"))

    assert error.code == "nik_regency"
    assert "3-4" in message(error, "en")
    assert "3-4" in message(error, "id")


def test_it_refuses_district_00():
    error = refusal(nik(district="00"))

    assert error.code == "nik_district"
    assert "5-6" in message(error, "en")
    assert "5-6" in message(error, "id")


@pytest.mark.parametrize("day", ["00", "32", "40", "72", "99"])
def test_it_refuses_a_birth_day_outside_01_31_and_41_71(day):
    error = refusal(nik(day=day))

    assert error.code == "nik_day"
    for language in ("en", "id"):
        text = message(error, language)
        assert "7-8" in text
        assert day in text


@pytest.mark.parametrize("month", ["00", "13", "52"])
def test_it_refuses_a_birth_month_outside_01_12(month):
    error = refusal(nik(month=month))

    assert error.code == "nik_month"
    for language in ("en", "id"):
        text = message(error, language)
        assert "9-10" in text
        assert month in text


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [
        ("31", "02", "90"),  # 31 February
        ("30", "02", "00"),  # 30 February, even in a leap year
        ("70", "02", "90"),  # a woman born on 30 February
        ("31", "04", "85"),  # 31 April
        ("29", "02", "01"),  # 29 February 1901 and 2001: neither is a leap year
    ],
)
def test_it_refuses_an_impossible_birth_date(day, month, year):
    error = refusal(nik(day=day, month=month, year=year))

    assert error.code == "nik_date"
    assert "7-12" in message(error, "en")
    assert "7-12" in message(error, "id")


def test_it_accepts_29_february_when_one_century_makes_it_a_leap_year():
    assert identity.parse_nik(nik(day="29", month="02", year="00")).possible_birth_dates() == [
        dt.date(2000, 2, 29)
    ]


def test_it_refuses_serial_0000():
    error = refusal(nik(serial="0000"))

    assert error.code == "nik_serial"
    assert "13-16" in message(error, "en")
    assert "13-16" in message(error, "id")


@pytest.mark.parametrize("serial", ["0001", "9999"])
def test_it_accepts_serials_0001_to_9999(serial):
    assert identity.parse_nik(nik(serial=serial)).serial == serial


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (nik(province="99"), "province"),
        (nik(regency="00"), "regency"),
        (nik(district="00"), "district"),
        (nik(day="32"), "day"),
        (nik(month="13"), "month"),
        (nik(day="31", month="02"), "date"),
        (nik(serial="0000"), "serial"),
    ],
)
def test_the_english_message_names_the_wrong_part(value, words):
    assert words in message(refusal(value), "en")


@pytest.mark.parametrize(
    "value",
    [
        nik(province="99"),
        nik(regency="00"),
        nik(district="00"),
        nik(day="32"),
        nik(month="13"),
        nik(day="31", month="02"),
        nik(serial="0000"),
    ],
)
def test_the_indonesian_message_is_translated(value):
    error = refusal(value)

    assert message(error, "id") != message(error, "en")


def test_the_form_shows_the_nik_error_next_to_the_nik_field():
    form = RegistrationForm(data={"nik": nik(serial="0000")})

    with translation.override("en"):
        assert not form.is_valid()
        assert "13-16" in form.errors["nik"][0]


@pytest.mark.parametrize(
    "value",
    [
        VALID.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # fullwidth
        VALID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
    ],
    ids=["fullwidth", "arabic-indic"],
)
def test_it_accepts_only_ascii_digits_or_folds_other_digits_to_ascii(value):
    try:
        parts = identity.parse_nik(value)
    except ValidationError:
        return  # refused: fine
    assert parts.province + parts.regency + parts.district + parts.serial == "1802010001"
    assert identity.normalise_nik(value) == VALID
