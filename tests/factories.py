"""factory_boy factories: valid, verified people and offices unless told otherwise."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from offices.models import Counter, Holiday, Office, OpeningHours, StaffMembership

# Passes every validator in AUTH_PASSWORD_VALIDATORS (12+ chars, not common,
# not numeric, no portal words, unlike the email and name).
PASSWORD = "Kopi-Tubruk-Pagi-2024"

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_nik(
    date_of_birth: dt.date,
    sex: str,
    *,
    province: str = "18",
    regency: str = "02",
    district: str = "01",
    serial: int = 1,
) -> str:
    """A well-formed NIK for this birth date and sex (women: day + 40)."""
    day = date_of_birth.day + (40 if sex == "P" else 0)
    return (
        f"{province}{regency}{district}"
        f"{day:02d}{date_of_birth.month:02d}{date_of_birth.year % 100:02d}{serial:04d}"
    )


class UserFactory(DjangoModelFactory):
    """A citizen (pemohon) with a verified email, a valid NIK and a mobile number."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"warga{n}@example.id")
    full_name = factory.Sequence(lambda n: f"Warga Contoh {n}")
    date_of_birth = dt.date(1990, 5, 12)
    sex = User.Sex.MALE
    nik = factory.LazyAttributeSequence(
        lambda o, n: make_nik(o.date_of_birth, o.sex, serial=n % 9999 + 1)
    )
    phone = factory.Sequence(lambda n: f"+62812{n % 10**8:08d}")
    address = "Jl. Merdeka No. 10, Gunung Sugih, Lampung Tengah"
    preferred_language = User.Language.INDONESIAN
    privacy_consent_at = factory.LazyFunction(timezone.now)
    email_verified_at = factory.LazyFunction(timezone.now)
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The manager encrypts the NIK and hashes the password as production does.
        return model_class.objects.create_user(*args, **kwargs)


class UnverifiedUserFactory(UserFactory):
    email_verified_at = None


class StaffFactory(UserFactory):
    """An officer: no NIK on the account; `role` is a group name, `offices` a list."""

    is_staff = True
    nik = None
    date_of_birth = None
    sex = ""
    privacy_consent_at = None

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def offices(self, create, extracted, **kwargs):
        for office in extracted or []:
            StaffMembership.objects.create(user=self, office=office)


class OfficeFactory(DjangoModelFactory):
    """An office open Monday-Thursday 08.00-16.00 and Friday 08.00-16.30 (WIB).

    Pass `opening_hours=[]` for an office with no hours.
    """

    class Meta:
        model = Office
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"Q{_LETTERS[n // 26 % 26]}{_LETTERS[n % 26]}")
    name = factory.LazyAttribute(lambda o: f"Kantor Imigrasi {o.code}")
    address = "Jl. Lintas Sumatera No. 1"
    region = "Kabupaten Lampung Tengah, Lampung"
    time_zone = Office.TimeZone.WIB
    phone = "(0725) 529 0001"
    email = factory.LazyAttribute(lambda o: f"kanim.{o.code.lower()}@imigrasi.example.id")

    @factory.post_generation
    def opening_hours(self, create, extracted, **kwargs):
        if not create:
            return
        hours = (
            extracted
            if extracted is not None
            else [(day, dt.time(8), dt.time(16)) for day in range(4)]
            + [(4, dt.time(8), dt.time(16, 30))]
        )
        for weekday, opens_at, closes_at in hours:
            OpeningHours.objects.create(
                office=self, weekday=weekday, opens_at=opens_at, closes_at=closes_at
            )


class OpeningHoursFactory(DjangoModelFactory):
    class Meta:
        model = OpeningHours

    office = factory.SubFactory(OfficeFactory, opening_hours=[])
    weekday = OpeningHours.Weekday.MONDAY
    opens_at = dt.time(8)
    closes_at = dt.time(16)


class CounterFactory(DjangoModelFactory):
    class Meta:
        model = Counter

    office = factory.SubFactory(OfficeFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda o: f"Loket {o.number}")
    purpose = Counter.Purpose.GENERAL


class HolidayFactory(DjangoModelFactory):
    """A national holiday unless `office` is given."""

    class Meta:
        model = Holiday

    date = factory.Sequence(lambda n: dt.date(2040, 1, 1) + dt.timedelta(days=n))
    name = "Hari Libur"
    office = None


class StaffMembershipFactory(DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(StaffFactory)
    office = factory.SubFactory(OfficeFactory)


def registration_data(**overrides) -> dict:
    """What a citizen types into the registration form (ani's details by default)."""
    data = {
        "full_name": "Ani Lestari",
        "email": "ani@example.id",
        "nik": "1802015205900001",
        "date_of_birth": "1990-05-12",
        "sex": "P",
        "phone": "0812 3456 7890",
        "address": "Jl. Merdeka No. 10, Gunung Sugih, Lampung Tengah",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "privacy_consent": "on",
    }
    data.update(overrides)
    return data
