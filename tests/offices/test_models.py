"""Offices: opening hours, holidays, time zones and which offices staff may see."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from offices.models import Holiday, Office, OpeningHours
from tests.factories import HolidayFactory, OfficeFactory, StaffFactory

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
MONDAY = dt.date(2031, 3, 3)
assert MONDAY.weekday() == 0


def at(day: dt.date, hour: int, minute: int = 0, tz=WIB) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def summary(office: Office, language: str = "en") -> list[tuple[str, str, str]]:
    with translation.override(language):
        return [
            (str(days), f"{opens:%H.%M}", f"{closes:%H.%M}")
            for days, opens, closes in office.opening_summary()
        ]


# --- Opening summary ---------------------------------------------------------


def test_the_summary_folds_monday_to_thursday_and_lists_friday_apart():
    office = OfficeFactory()

    assert summary(office) == [
        ("Monday–Thursday", "08.00", "16.00"),
        ("Friday", "08.00", "16.30"),
    ]


def test_the_summary_is_in_indonesian_for_indonesian_pages():
    office = OfficeFactory()

    assert summary(office, "id") == [
        ("Senin–Kamis", "08.00", "16.00"),
        ("Jumat", "08.00", "16.30"),
    ]


def test_the_summary_does_not_fold_across_a_closed_day():
    office = OfficeFactory(
        opening_hours=[(0, dt.time(8), dt.time(16)), (1, dt.time(8), dt.time(16)),
                       (3, dt.time(8), dt.time(16))]
    )  # fmt: skip

    assert summary(office) == [
        ("Monday–Tuesday", "08.00", "16.00"),
        ("Thursday", "08.00", "16.00"),
    ]


def test_the_summary_does_not_fold_days_with_different_hours():
    office = OfficeFactory(
        opening_hours=[(0, dt.time(8), dt.time(16)), (1, dt.time(9), dt.time(16)),
                       (2, dt.time(9), dt.time(16))]
    )  # fmt: skip

    assert summary(office) == [
        ("Monday", "08.00", "16.00"),
        ("Tuesday–Wednesday", "09.00", "16.00"),
    ]


def test_an_office_without_hours_has_an_empty_summary():
    assert summary(OfficeFactory(opening_hours=[])) == []


def test_the_summary_is_ordered_by_weekday_whatever_the_creation_order():
    office = OfficeFactory(
        opening_hours=[(4, dt.time(8), dt.time(12)), (0, dt.time(8), dt.time(16))]
    )

    assert summary(office) == [("Monday", "08.00", "16.00"), ("Friday", "08.00", "12.00")]


# --- Open or closed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (at(MONDAY, 7, 59), False),
        (at(MONDAY, 8, 0), True),
        (at(MONDAY, 12, 0), True),
        (at(MONDAY, 15, 59), True),
        (at(MONDAY, 16, 0), False),  # closing time is not open any more
        (at(MONDAY + dt.timedelta(days=4), 16, 15), True),  # Friday until 16.30
        (at(MONDAY + dt.timedelta(days=4), 16, 30), False),
        (at(MONDAY + dt.timedelta(days=5), 10, 0), False),  # Saturday
        (at(MONDAY + dt.timedelta(days=6), 10, 0), False),  # Sunday
    ],
)
def test_an_office_is_open_only_within_its_hours(moment, is_open):
    assert OfficeFactory().is_open_at(moment) is is_open


def test_a_national_holiday_closes_every_office():
    first, second = OfficeFactory(), OfficeFactory()
    HolidayFactory(date=MONDAY, name="Hari Raya Nyepi")

    assert not first.is_open_at(at(MONDAY, 10))
    assert not second.is_open_at(at(MONDAY, 10))
    assert first.is_open_at(at(MONDAY + dt.timedelta(days=1), 10))


def test_a_local_holiday_closes_only_its_own_office():
    closed, open_ = OfficeFactory(), OfficeFactory()
    HolidayFactory(date=MONDAY, name="Hari Jadi Kabupaten", office=closed)

    assert not closed.is_open_at(at(MONDAY, 10))
    assert open_.is_open_at(at(MONDAY, 10))
    assert closed.is_holiday(MONDAY)
    assert not open_.is_holiday(MONDAY)


def test_opening_hours_are_read_in_the_offices_own_time_zone():
    jakarta = OfficeFactory(time_zone=Office.TimeZone.WIB)
    jayapura = OfficeFactory(time_zone=Office.TimeZone.WIT)  # two hours ahead of Jakarta

    early = at(MONDAY, 7, 30)  # 09.30 in Jayapura
    late = at(MONDAY, 15, 30)  # 17.30 in Jayapura

    assert not jakarta.is_open_at(early)
    assert jayapura.is_open_at(early)
    assert jakarta.is_open_at(late)
    assert not jayapura.is_open_at(late)


def test_a_moment_in_utc_is_converted_before_checking():
    makassar = OfficeFactory(time_zone=Office.TimeZone.WITA)

    assert makassar.is_open_at(at(MONDAY, 0, 30, tz=dt.UTC))  # 08.30 WITA
    assert not makassar.is_open_at(at(MONDAY, 8, 30, tz=dt.UTC))  # 16.30 WITA


def test_the_holiday_is_looked_up_on_the_offices_local_date():
    jayapura = OfficeFactory(time_zone=Office.TimeZone.WIT)
    sunday_night_utc = at(MONDAY - dt.timedelta(days=1), 23, 30, tz=dt.UTC)  # Monday 08.30 WIT

    assert jayapura.is_open_at(sunday_night_utc)

    HolidayFactory(date=MONDAY, name="Hari Libur Lokal", office=jayapura)

    assert not jayapura.is_open_at(sunday_night_utc)


def test_the_time_zone_abbreviation_is_the_indonesian_one():
    assert OfficeFactory(time_zone=Office.TimeZone.WITA).time_zone_abbreviation == "WITA"


def test_holidays_on_a_day_are_the_national_ones_plus_the_offices_own():
    office, other = OfficeFactory(), OfficeFactory()
    national = HolidayFactory(date=MONDAY, name="Nasional")
    local = HolidayFactory(date=MONDAY, name="Lokal", office=office)
    HolidayFactory(date=MONDAY, name="Lokal lain", office=other)

    assert set(Holiday.objects.on(MONDAY, office=office)) == {national, local}
    assert list(Holiday.objects.on(MONDAY)) == [national]


# --- Constraints -----------------------------------------------------------


def test_only_one_national_holiday_per_date():
    HolidayFactory(date=MONDAY)

    with pytest.raises(IntegrityError), transaction.atomic():
        HolidayFactory(date=MONDAY)


def test_only_one_local_holiday_per_date_and_office():
    office = OfficeFactory()
    HolidayFactory(date=MONDAY, office=office)

    with pytest.raises(IntegrityError), transaction.atomic():
        HolidayFactory(date=MONDAY, office=office)


def test_opening_hours_must_close_after_they_open():
    office = OfficeFactory(opening_hours=[])

    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(
            office=office, weekday=0, opens_at=dt.time(16), closes_at=dt.time(8)
        )


def test_only_one_set_of_hours_per_day():
    office = OfficeFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(
            office=office, weekday=0, opens_at=dt.time(9), closes_at=dt.time(12)
        )


@pytest.mark.parametrize("code", ["ltg", "LT", "LTGX", "L1G"])
def test_an_office_code_is_three_capital_letters(code):
    office = OfficeFactory.build(code=code)

    with pytest.raises(ValidationError) as caught:
        office.full_clean()

    assert "code" in caught.value.error_dict


# --- Which offices staff may see -------------------------------------------------


def test_an_officer_sees_only_the_offices_of_their_memberships(budi, citra, office_a, office_b):
    assert list(Office.objects.for_staff(budi)) == [office_a]
    assert list(Office.objects.for_staff(citra)) == [office_b]


def test_a_supervisor_of_two_offices_sees_each_once(dewi, office_a, office_b):
    OfficeFactory()  # an office dewi does not work for

    assert sorted(Office.objects.for_staff(dewi), key=lambda o: o.code) == [office_b, office_a]


def test_a_superuser_sees_every_office(office_a, office_b):
    admin = StaffFactory(is_superuser=True)

    assert set(Office.objects.for_staff(admin)) == {office_a, office_b}


def test_a_citizen_sees_no_office_data(ani, office_a):
    assert list(Office.objects.for_staff(ani)) == []


def test_an_officer_without_memberships_sees_nothing(office_a):
    assert list(Office.objects.for_staff(StaffFactory())) == []


def test_inactive_offices_are_left_out_of_the_active_list(office_a):
    closed = OfficeFactory(is_active=False)

    assert office_a in Office.objects.active()
    assert closed not in Office.objects.active()
