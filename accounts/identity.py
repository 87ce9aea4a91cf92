"""Indonesian identity numbers: NIK shape rules and mobile phone normalisation.

Rules from shared/data/identity.md. A NIK has no check digit, so these
catch impossible numbers, not every typo. A mismatch between the NIK's
birth date/sex and what the person typed is a warning for officers, never
a refusal: a NIK is not reissued when its embedded date is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Digits 1-2: province of first registration (91-96 are Papua and its new provinces).
PROVINCE_CODES = frozenset(
    [
        *range(11, 20),
        21,
        *range(31, 37),
        *range(51, 54),
        *range(61, 66),
        *range(71, 77),
        81,
        82,
        *range(91, 97),
    ]
)

FEMALE_DAY_OFFSET = 40


class Sex:
    MALE = "L"  # laki-laki
    FEMALE = "P"  # perempuan


@dataclass(frozen=True)
class NikParts:
    province: str
    regency: str
    district: str
    birth_day: int
    birth_month: int
    birth_year_2d: int
    sex: str
    serial: str

    def possible_birth_dates(self) -> list[dt.date]:
        """The birth dates the NIK allows: the century is not encoded."""
        dates = []
        for century in (1900, 2000):
            try:
                dates.append(
                    dt.date(century + self.birth_year_2d, self.birth_month, self.birth_day)
                )
            except ValueError:
                continue
        return dates


def parse_nik(value: str) -> NikParts:
    """Validate a NIK's shape and return its parts.

    Raises ValidationError whose message names the wrong part, in the
    active language.
    """
    nik = normalise_nik(value)
    if not re.fullmatch(r"[0-9]{16}", nik):
        raise ValidationError(
            _("NIK must be exactly 16 digits, without letters; you typed %(count)d characters."),
            code="nik_shape",
            params={"count": len(nik)},
        )
    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    serial = nik[12:16]
    if int(province) not in PROVINCE_CODES:
        raise ValidationError(
            _("The province code in the NIK (digits 1-2, “%(code)s”) is not a known province."),
            code="nik_province",
            params={"code": province},
        )
    if regency == "00":
        raise ValidationError(
            _("The regency/city code in the NIK (digits 3-4) cannot be 00."),
            code="nik_regency",
        )
    if district == "00":
        raise ValidationError(
            _("The district code in the NIK (digits 5-6) cannot be 00."), code="nik_district"
        )
    sex = Sex.FEMALE if day > FEMALE_DAY_OFFSET else Sex.MALE
    real_day = day - FEMALE_DAY_OFFSET if sex == Sex.FEMALE else day
    if not 1 <= real_day <= 31:
        raise ValidationError(
            _(
                "The day of birth in the NIK (digits 7-8, “%(day)s”) must be 01-31, "
                "or 41-71 for women."
            ),
            code="nik_day",
            params={"day": nik[6:8]},
        )
    if not 1 <= month <= 12:
        raise ValidationError(
            _("The birth month in the NIK (digits 9-10, “%(month)s”) must be 01-12."),
            code="nik_month",
            params={"month": nik[8:10]},
        )
    parts = NikParts(province, regency, district, real_day, month, year, sex, serial)
    if not parts.possible_birth_dates():
        raise ValidationError(
            _("The birth date in the NIK (digits 7-12) is not a real date."), code="nik_date"
        )
    if serial == "0000":
        raise ValidationError(
            _("The serial number in the NIK (digits 13-16) cannot be 0000."), code="nik_serial"
        )
    return parts


def _ascii_digits(value: str) -> str:
    """Fold any Unicode decimal digit (fullwidth, Arabic-Indic...) to 0-9.

    Without this, `１８０２…` would pass a `\\d` check and get its own blind
    index: the same NIK could register twice.
    """
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in value)


def normalise_nik(value: str) -> str:
    """The digits of a NIK in ASCII, spaces, dots and dashes removed (shape not checked)."""
    return _ascii_digits(re.sub(r"[\s.-]", "", value or ""))


def nik_matches_person(nik: str, *, date_of_birth: dt.date | None, sex: str | None) -> bool:
    """True when the NIK's embedded birth date and sex agree with the person's."""
    parts = parse_nik(nik)
    if sex and parts.sex != sex:
        return False
    return not date_of_birth or date_of_birth in parts.possible_birth_dates()


def mask_nik(nik: str) -> str:
    """`3201********0001`: the form shown in lists and exports (TRUST.md)."""
    if len(nik) < 8:
        return "*" * len(nik)
    return nik[:4] + "*" * (len(nik) - 8) + nik[-4:]


def mask_name(name: str) -> str:
    """`Ani S****** P*****`: first word whole, the rest initials, for public pages."""
    words = name.split()
    if not words:
        return ""
    return " ".join([words[0], *(w[0] + "*" * (len(w) - 1) for w in words[1:])])


MOBILE_PATTERN = re.compile(r"^\+628[1-35-9][0-9]{7,10}$")


def normalise_mobile(value: str) -> str:
    """Return an Indonesian mobile number in E.164 (`+628…`) or raise ValidationError.

    Accepts what people type: spaces, dashes, dots, brackets, a leading 0,
    62 or +62, even `+62 0812…`.
    """
    raw = _ascii_digits(re.sub(r"[\s().-]", "", value or ""))
    if raw.startswith("+620"):
        raw = "+62" + raw[4:]
    elif raw.startswith("620"):
        raw = "+62" + raw[3:]
    elif raw.startswith("62"):
        raw = "+" + raw
    elif raw.startswith("0"):
        raw = "+62" + raw[1:]
    error = ValidationError(
        _("Enter an Indonesian mobile number, for example 0812 3456 7890."), code="phone"
    )
    if not re.fullmatch(r"\+[0-9]{8,15}", raw):
        raise error
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException as exc:
        raise error from exc
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    is_mobile = phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not (phonenumbers.is_valid_number(number) and is_mobile and MOBILE_PATTERN.match(e164)):
        raise error
    return e164
