"""The seeded service catalogue: bilingual services with their documents and
dated fees (PNBP). A regulation change is a new tariff row, not new code;
rows not yet checked against the regulation are flagged in the admin; the
public pages show today's fee in the visitor's language."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from applications import catalogue, services
from applications.models import Application, Requirement, Service, Tariff
from tests.applications.conftest import complete_draft
from tests.factories import StaffFactory
from tests.utils import html_lang, in_language, page_text

pytestmark = pytest.mark.django_db

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
SEEDED = {
    "paspor-elektronik-baru",
    "paspor-biasa-baru",
    "paspor-penggantian-habis",
    "paspor-penggantian-hilang",
    "paspor-penggantian-rusak",
    "izin-tinggal-kunjungan",
    "izin-tinggal-terbatas",
    "izin-tinggal-tetap",
    "izin-masuk-kembali",
}
REGIMES = {"PP-28-2019", "PP-45-2024"}
LAST_DAY_OF_PP_28 = dt.date(2024, 12, 16)
FIRST_DAY_OF_PP_45 = dt.date(2024, 12, 17)


# --- What is seeded ----------------------------------------------------------------------


def test_the_seeded_services_exist():
    assert set(Service.objects.values_list("code", flat=True)) >= SEEDED
    assert Service.objects.active().filter(code__in=SEEDED).count() == len(SEEDED)


def test_every_seeded_service_is_named_and_described_in_both_languages():
    for service in Service.objects.filter(code__in=SEEDED):
        assert service.name_id and service.name_en, service.code
        assert service.name_id != service.name_en, service.code
        assert service.description_id and service.description_en, service.code
        assert re.fullmatch(r"[A-Z]{3}", service.reference_prefix), service.code


def test_every_seeded_service_asks_for_documents_named_in_both_languages():
    for service in Service.objects.filter(code__in=SEEDED):
        requirements = list(service.requirements.all())
        assert requirements, service.code
        for requirement in requirements:
            assert requirement.name_id and requirement.name_en, requirement.code
            assert requirement.types, requirement.code
            assert set(requirement.types) <= {"pdf", "jpeg", "png"}


def test_the_electronic_passport_asks_for_ktp_family_card_and_proof_of_identity(
    passport_service,
):
    codes = list(passport_service.requirements.values_list("code", flat=True))

    assert codes == ["ktp", "kk", "bukti-identitas"]


def test_every_seeded_service_has_a_dated_fee_in_force_today():
    today = timezone.localdate()
    for service in Service.objects.filter(code__in=SEEDED):
        assert service.fee_on(today), service.code
        for tariff in service.tariffs.all():
            assert tariff.valid_from is not None
            assert tariff.legal_basis in REGIMES
            assert tariff.amount > 0


def test_the_two_regimes_meet_without_a_gap_or_an_overlap(regular_passport_service):
    old = regular_passport_service.tariffs.get(legal_basis="PP-28-2019")
    new = regular_passport_service.tariffs.get(legal_basis="PP-45-2024")

    assert old.valid_to == LAST_DAY_OF_PP_28
    assert new.valid_from == FIRST_DAY_OF_PP_45
    assert new.valid_to is None


def test_seeding_again_changes_nothing_and_keeps_rows_an_administrator_added(
    regular_passport_service,
):
    added = Tariff.objects.create(
        service=regular_passport_service,
        label_id="Biaya tambahan uji",
        label_en="Test surcharge",
        kind=Tariff.Kind.SURCHARGE,
        amount=10_000,
        valid_from=dt.date(2030, 1, 1),
        legal_basis="PP-99-2030",
    )
    counts = (Service.objects.count(), Requirement.objects.count(), Tariff.objects.count())

    catalogue.sync()

    assert (Service.objects.count(), Requirement.objects.count(), Tariff.objects.count()) == counts
    assert Tariff.objects.filter(pk=added.pk).exists()


# --- Fees by date ------------------------------------------------------------------------------


def test_a_2024_fee_comes_from_pp_28_2019(regular_passport_service):
    day = dt.date(2024, 6, 1)

    assert regular_passport_service.fee_on(day) == 350_000
    assert {t.legal_basis for t in regular_passport_service.tariffs_on(day)} == {"PP-28-2019"}


def test_todays_fee_comes_from_pp_45_2024(regular_passport_service):
    today = timezone.localdate()

    assert regular_passport_service.fee_on(today) == 650_000
    assert {t.legal_basis for t in regular_passport_service.tariffs_on(today)} == {"PP-45-2024"}


def test_the_fee_changes_on_the_day_pp_45_2024_takes_effect(
    regular_passport_service, passport_service
):
    assert regular_passport_service.fee_on(LAST_DAY_OF_PP_28) == 350_000
    assert regular_passport_service.fee_on(FIRST_DAY_OF_PP_45) == 650_000
    assert passport_service.fee_on(LAST_DAY_OF_PP_28) == 650_000
    assert passport_service.fee_on(FIRST_DAY_OF_PP_45) == 950_000


def test_a_surcharge_is_added_to_the_base_fee():
    lost = Service.objects.get(code="paspor-penggantian-hilang")

    assert lost.fee_on(timezone.localdate()) == 650_000 + 1_000_000


def test_there_is_no_fee_before_any_regulation_in_the_catalogue(regular_passport_service):
    assert regular_passport_service.fee_on(dt.date(2010, 1, 1)) is None


@pytest.fixture
def new_regulation(regular_passport_service) -> dt.date:
    """An administrator closes today's row and adds the next regulation's, from next month."""
    start = timezone.localdate() + dt.timedelta(days=30)
    current = regular_passport_service.tariffs.get(legal_basis="PP-45-2024")
    current.valid_to = start - dt.timedelta(days=1)
    current.save()
    Tariff.objects.create(
        service=regular_passport_service,
        label_id="Paspor biasa (peraturan baru)",
        label_en="Ordinary passport (new regulation)",
        amount=700_000,
        valid_from=start,
        legal_basis="PP-1-2027",
        verified=True,
    )
    return start


def test_a_new_tariff_row_changes_the_fee_from_its_first_day(
    regular_passport_service, new_regulation
):
    assert regular_passport_service.fee_on(timezone.localdate()) == 650_000
    assert regular_passport_service.fee_on(new_regulation - dt.timedelta(days=1)) == 650_000
    assert regular_passport_service.fee_on(new_regulation) == 700_000


def test_an_application_sent_under_the_new_row_is_charged_the_new_fee(
    ani, office_a, regular_passport_service, new_regulation
):
    application = complete_draft(ani, office_a, regular_passport_service)
    moment = dt.datetime.combine(new_regulation, dt.time(10), tzinfo=WIB)
    with time_machine.travel(moment, tick=False):
        services.application_submit(application=application, by=ani, declaration=True)

    assert Application.objects.get(pk=application.pk).fee_amount == 700_000


def test_the_service_page_shows_the_new_fee_from_its_first_day(
    client, regular_passport_service, new_regulation
):
    url = regular_passport_service.get_absolute_url()
    before = page_text(client.get(url))
    with time_machine.travel(dt.datetime.combine(new_regulation, dt.time(10), tzinfo=WIB)):
        after = page_text(client.get(url))

    assert "Rp 650.000" in before and "Rp 700.000" not in before
    assert "Rp 700.000" in after and "Rp 650.000" not in after


# --- Unverified rows in the admin ----------------------------------------------------------------


def flag_in_list(response, service: Service) -> bool:
    """The "to be confirmed" column of `service`'s row in the admin list."""
    for row in re.findall(r"<tr>.*?</tr>", response.content.decode(), flags=re.S):
        if f">{service.name_id}<" in row:
            cell = re.search(r'class="field-to_be_confirmed">(.*?)</td>', row, flags=re.S)
            assert cell, row
            return "icon-yes" in cell.group(1)
    raise AssertionError(f"{service.code} is not in the list")


@pytest.fixture
def as_admin(client):
    client.force_login(StaffFactory(email="root@example.id", is_superuser=True))
    return client


def test_a_service_with_an_unverified_fee_is_flagged_to_be_confirmed(as_admin, passport_service):
    lost = Service.objects.get(code="paspor-penggantian-hilang")
    assert lost.tariffs.filter(verified=False, valid_to__isnull=True).exists()

    response = as_admin.get(reverse("admin:applications_service_changelist"))

    assert response.status_code == 200
    header = in_language(response.wsgi_request.LANGUAGE_CODE, "to be confirmed")
    assert header.lower() in page_text(response).lower()  # the admin capitalises headers
    assert flag_in_list(response, lost) is True
    assert flag_in_list(response, passport_service) is False


def test_verifying_the_row_clears_the_flag(as_admin):
    lost = Service.objects.get(code="paspor-penggantian-hilang")
    lost.tariffs.update(verified=True)

    response = as_admin.get(reverse("admin:applications_service_changelist"))

    assert flag_in_list(response, lost) is False


def test_a_new_unverified_row_flags_its_service(as_admin, passport_service):
    Tariff.objects.create(
        service=passport_service,
        label_id="Biaya baru",
        label_en="New charge",
        kind=Tariff.Kind.SURCHARGE,
        amount=50_000,
        valid_from=timezone.localdate(),
        legal_basis="PP-1-2027",
    )

    response = as_admin.get(reverse("admin:applications_service_changelist"))

    assert flag_in_list(response, passport_service) is True


def test_an_expired_unverified_row_no_longer_flags_its_service(as_admin, passport_service):
    Tariff.objects.create(
        service=passport_service,
        label_id="Biaya lama",
        label_en="Old charge",
        kind=Tariff.Kind.SURCHARGE,
        amount=50_000,
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2021, 1, 1),
        legal_basis="PP-28-2019",
    )

    response = as_admin.get(reverse("admin:applications_service_changelist"))

    assert flag_in_list(response, passport_service) is False


def test_the_tariff_list_can_be_filtered_to_unverified_rows(as_admin):
    response = as_admin.get(
        reverse("admin:applications_tariff_changelist"), {"verified__exact": "0"}
    )

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown and all(not tariff.verified for tariff in shown)
    assert len(shown) == Tariff.objects.filter(verified=False).count()


# --- The public pages ---------------------------------------------------------------------------


def test_the_catalogue_shows_todays_fee_and_indonesian_names_by_default(client, passport_service):
    response = client.get(reverse("applications:catalogue"))

    assert response.status_code == 200
    assert html_lang(response) == "id"
    text = page_text(response)
    assert passport_service.name_id in text
    assert passport_service.name_en not in text
    assert "Rp 950.000" in text


def test_the_catalogue_is_in_english_with_the_language_cookie(english, passport_service):
    response = english.get(reverse("applications:catalogue"))

    assert html_lang(response) == "en"
    text = page_text(response)
    assert passport_service.name_en in text
    assert passport_service.name_id not in text
    assert "Rp 950.000" in text


def test_the_service_page_shows_fee_and_requirements_in_indonesian(client, passport_service):
    response = client.get(passport_service.get_absolute_url())

    assert response.status_code == 200
    assert html_lang(response) == "id"
    text = page_text(response)
    assert "Rp 950.000" in text
    assert "PP-45-2024" in text
    for requirement in passport_service.requirements.all():
        assert requirement.name_id in text
    assert "Electronic identity card" not in text
    assert "Paspor elektronik 48 halaman" not in text  # the PP 28/2019 row is history


def test_the_service_page_shows_fee_and_requirements_in_english(english, passport_service):
    response = english.get(passport_service.get_absolute_url())

    assert html_lang(response) == "en"
    text = page_text(response)
    assert "Rp 950.000" in text
    for requirement in passport_service.requirements.all():
        assert requirement.name_en in text
    assert "KTP elektronik" not in text
    assert "Akta kelahiran" not in text


def test_an_inactive_service_is_neither_listed_nor_shown(client, permit_service):
    permit_service.is_active = False
    permit_service.save()

    catalogue_page = client.get(reverse("applications:catalogue"))
    service_page = client.get(permit_service.get_absolute_url())

    assert permit_service.name_id not in page_text(catalogue_page)
    assert service_page.status_code == 404
