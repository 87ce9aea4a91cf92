"""Family members an account applies for: at most five, each NIK once, only
the owner's own, and an application for one of them carries their data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import User
from applications import services
from applications.forms import PersonForm
from applications.models import Application, Person
from applications.workflow import Status
from imigrasi.errors import ServiceError
from tests.factories import make_nik
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

ADD = reverse("applications:family_add")
FAMILY = reverse("applications:family")
LIMIT_MESSAGE = "An account can apply for at most %(count)s family members."
NIK_TWICE_MESSAGE = "This NIK is already on your account."


def child(number: int = 1, **overrides) -> dict:
    """What a parent types in for child `number` (each with their own NIK)."""
    born = dt.date(2010 + number, 3, 4)
    data = {
        "relationship": Person.Relationship.CHILD,
        "full_name": f"Anak Lestari {number}",
        "nik": make_nik(born, User.Sex.MALE, serial=100 + number),
        "date_of_birth": born.isoformat(),
        "place_of_birth": "Metro",
        "sex": User.Sex.MALE,
        "address": "Jl. Merdeka No. 10",
        "father_name": "Bapak Lestari",
        "mother_name": "Ani Lestari",
    }
    data.update(overrides)
    return data


def said(response, message: str, **params) -> bool:
    text = in_language(response.wsgi_request.LANGUAGE_CODE, message)
    return (text % params if params else text) in page_text(response)


@pytest.fixture
def as_ani(client, ani):
    client.force_login(ani)
    return client


@pytest.fixture
def ekos_child(eko) -> Person:
    return services.person_save(owner=eko, data=_service_data(child(9, full_name="Anak Eko")))


def _service_data(form_data: dict) -> dict:
    return {**form_data, "date_of_birth": dt.date.fromisoformat(form_data["date_of_birth"])}


# --- Adding -----------------------------------------------------------------------------------


def test_a_family_member_is_added(as_ani, ani):
    response = as_ani.post(ADD, child(1))

    assert response.status_code == 302
    (person,) = Person.objects.filter(owner=ani)
    assert person.full_name == "Anak Lestari 1"
    assert person.relationship == Person.Relationship.CHILD
    assert person.nik == child(1)["nik"]
    assert person.date_of_birth == dt.date(2011, 3, 4)


def test_up_to_five_family_members_are_added_and_the_sixth_is_refused(as_ani, ani):
    for number in range(1, 6):
        assert as_ani.post(ADD, child(number)).status_code == 302

    response = as_ani.post(ADD, child(6))

    assert response.status_code == 200
    assert said(response, LIMIT_MESSAGE, count=Person.MAX_FAMILY)
    assert Person.objects.filter(owner=ani).count() == 5
    assert not Person.objects.filter(full_name="Anak Lestari 6").exists()


def test_the_family_page_says_the_limit_is_reached(as_ani, ani):
    for number in range(1, 6):
        services.person_save(owner=ani, data=_service_data(child(number)))

    response = as_ani.get(FAMILY)

    assert said(response, "You have reached the limit of family members.")
    assert ADD not in page_text(response)


def test_the_service_refuses_a_sixth_family_member(ani):
    for number in range(1, 6):
        services.person_save(owner=ani, data=_service_data(child(number)))

    with pytest.raises(ServiceError):
        services.person_save(owner=ani, data=_service_data(child(6)))

    assert Person.objects.filter(owner=ani).count() == 5


def test_the_account_holder_does_not_count_towards_the_five(ani, office_a, passport_service):
    services.application_start(user=ani, service=passport_service, office=office_a, person=None)
    assert Person.objects.filter(owner=ani, relationship=Person.Relationship.SELF).exists()

    for number in range(1, 6):
        services.person_save(owner=ani, data=_service_data(child(number)))

    assert Person.objects.filter(owner=ani).count() == 6


def test_the_same_nik_twice_is_refused(as_ani, ani):
    as_ani.post(ADD, child(1))

    response = as_ani.post(ADD, child(2, nik=child(1)["nik"]))

    assert response.status_code == 200
    assert said(response, NIK_TWICE_MESSAGE)
    assert Person.objects.filter(owner=ani).count() == 1


def test_the_service_refuses_the_same_nik_twice(ani):
    services.person_save(owner=ani, data=_service_data(child(1)))

    with pytest.raises(ServiceError) as refused:
        services.person_save(owner=ani, data=_service_data(child(2, nik=child(1)["nik"])))

    assert refused.value.field == "nik"
    assert Person.objects.filter(owner=ani).count() == 1


def test_the_account_holders_own_nik_is_refused_for_a_family_member(
    ani, office_a, passport_service
):
    services.application_start(user=ani, service=passport_service, office=office_a, person=None)
    data = _service_data(child(1, nik=ani.nik, date_of_birth="1990-05-12", sex="P"))

    with pytest.raises(ServiceError):
        services.person_save(owner=ani, data=data)

    assert not Person.objects.filter(owner=ani).exclude(relationship="self").exists()


def test_editing_to_another_members_nik_is_refused(as_ani, ani):
    services.person_save(owner=ani, data=_service_data(child(1)))
    second = services.person_save(owner=ani, data=_service_data(child(2)))

    response = as_ani.post(
        reverse("applications:family_edit", args=[second.pk]),
        child(2, nik=child(1)["nik"]),
    )

    assert response.status_code == 200
    assert said(response, NIK_TWICE_MESSAGE)
    second.refresh_from_db()
    assert second.nik == child(2)["nik"]


def test_the_same_nik_may_be_on_two_different_accounts(ani, eko):
    services.person_save(owner=ani, data=_service_data(child(1)))

    services.person_save(owner=eko, data=_service_data(child(1)))

    assert Person.objects.filter(full_name="Anak Lestari 1").count() == 2


def test_nobody_can_add_themselves_again_as_a_family_member(as_ani, ani):
    response = as_ani.post(ADD, child(1, relationship="self"))

    assert response.status_code == 200
    assert not Person.objects.filter(owner=ani).exists()


def test_the_form_takes_a_family_member_without_a_nik():
    form = PersonForm(
        data=child(1, relationship=Person.Relationship.SPOUSE, nik="", full_name="John Smith")
    )

    assert form.is_valid(), form.errors


def test_the_service_adds_a_family_member_without_a_nik(ani):
    data = _service_data(child(1, relationship=Person.Relationship.SPOUSE, full_name="John Smith"))
    data["nik"] = ""

    person = services.person_save(owner=ani, data=data)

    assert person.nik_index is None
    assert person.nik == ""


# --- Someone else's family members ---------------------------------------------------------------


def test_another_accounts_family_member_cannot_be_opened(as_ani, ekos_child):
    response = as_ani.get(reverse("applications:family_edit", args=[ekos_child.pk]))

    assert response.status_code == 404
    assert ekos_child.full_name not in page_text(response)


def test_another_accounts_family_member_cannot_be_edited(as_ani, ekos_child):
    response = as_ani.post(
        reverse("applications:family_edit", args=[ekos_child.pk]),
        child(9, full_name="Diubah Ani"),
    )

    assert response.status_code == 404
    ekos_child.refresh_from_db()
    assert ekos_child.full_name == "Anak Eko"


def test_another_accounts_family_member_cannot_be_removed(as_ani, ekos_child):
    response = as_ani.post(reverse("applications:family_delete", args=[ekos_child.pk]))

    assert response.status_code == 404
    assert Person.objects.filter(pk=ekos_child.pk).exists()


def test_the_service_refuses_to_edit_another_accounts_family_member(ani, ekos_child):
    with pytest.raises(ServiceError):
        services.person_save(owner=ani, data={"full_name": "Diubah"}, person=ekos_child)

    ekos_child.refresh_from_db()
    assert ekos_child.full_name == "Anak Eko"


def test_the_account_holder_cannot_be_edited_as_a_family_member(
    as_ani, ani, office_a, passport_service
):
    services.application_start(user=ani, service=passport_service, office=office_a, person=None)
    me = Person.objects.get(owner=ani, relationship=Person.Relationship.SELF)

    response = as_ani.get(reverse("applications:family_edit", args=[me.pk]))

    assert response.status_code == 404


def test_editing_and_removing_ones_own_family_member_works(as_ani, ani):
    person = services.person_save(owner=ani, data=_service_data(child(1)))

    edited = as_ani.post(
        reverse("applications:family_edit", args=[person.pk]), child(1, full_name="Nama Baru")
    )
    person.refresh_from_db()
    removed = as_ani.post(reverse("applications:family_delete", args=[person.pk]))

    assert edited.status_code == removed.status_code == 302
    assert person.full_name == "Nama Baru"
    assert not Person.objects.filter(pk=person.pk).exists()


def test_the_edit_page_never_shows_the_family_members_full_nik(as_ani, ani):
    person = services.person_save(owner=ani, data=_service_data(child(1)))
    nik = child(1)["nik"]

    response = as_ani.get(reverse("applications:family_edit", args=[person.pk]))

    assert response.status_code == 200
    text = page_text(response)
    assert nik not in text
    assert " ".join(nik[i : i + 4] for i in range(0, 16, 4)) not in text
    assert said(
        response,
        "Saved as %(masked)s. Leave empty to keep it, or type it again to change it.",
        masked=person.nik_masked,
    )
    assert person.nik_masked.startswith(nik[:4]) and person.nik_masked.endswith(nik[-4:])
    assert response.context["form"].initial.get("nik", "") == ""


def test_editing_with_the_nik_left_empty_keeps_the_saved_one(as_ani, ani):
    person = services.person_save(owner=ani, data=_service_data(child(1)))

    response = as_ani.post(
        reverse("applications:family_edit", args=[person.pk]),
        child(1, nik="", full_name="Nama Baru"),
    )

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.full_name == "Nama Baru"
    assert person.nik == child(1)["nik"]


def test_a_family_member_with_a_draft_cannot_be_removed(as_ani, ani, office_a, passport_service):
    person = services.person_save(owner=ani, data=_service_data(child(1)))
    services.application_start(user=ani, service=passport_service, office=office_a, person=person)

    as_ani.post(reverse("applications:family_delete", args=[person.pk]))

    assert Person.objects.filter(pk=person.pk).exists()


# --- Applying for a family member ----------------------------------------------------------------


def test_applying_for_a_family_member_starts_a_draft_with_their_data(
    as_ani, ani, office_a, passport_service
):
    person = services.person_save(owner=ani, data=_service_data(child(1)))

    response = as_ani.post(
        reverse("applications:start", args=[passport_service.code]),
        {"person": str(person.pk), "office": office_a.pk},
    )

    assert response.status_code == 302
    application = Application.objects.get(person=person)
    assert response["Location"] == reverse("applications:step", args=[application.reference, 1])
    assert application.status == Status.DRAFT
    assert application.applicant == ani
    assert application.office == office_a
    assert application.service == passport_service
    assert application.full_name == "Anak Lestari 1"
    assert application.nik == child(1)["nik"]
    assert application.nik_index == person.nik_index
    assert application.date_of_birth == dt.date(2011, 3, 4)
    assert (application.place_of_birth, application.sex) == ("Metro", User.Sex.MALE)
    assert (application.father_name, application.mother_name) == ("Bapak Lestari", "Ani Lestari")


def test_the_family_members_draft_is_separate_from_the_account_holders(
    as_ani, ani, office_a, passport_service
):
    person = services.person_save(owner=ani, data=_service_data(child(1)))
    url = reverse("applications:start", args=[passport_service.code])

    as_ani.post(url, {"person": "self", "office": office_a.pk})
    as_ani.post(url, {"person": str(person.pk), "office": office_a.pk})
    as_ani.post(url, {"person": str(person.pk), "office": office_a.pk})

    drafts = Application.objects.filter(applicant=ani, status=Status.DRAFT)
    assert drafts.count() == 2
    assert {d.full_name for d in drafts} == {"Ani Lestari", "Anak Lestari 1"}


def test_applying_for_another_accounts_family_member_is_refused(
    as_ani, ani, office_a, passport_service, ekos_child
):
    response = as_ani.post(
        reverse("applications:start", args=[passport_service.code]),
        {"person": str(ekos_child.pk), "office": office_a.pk},
    )

    assert response.status_code == 200
    assert not Application.objects.exists()


def test_the_service_refuses_a_draft_for_another_accounts_family_member(
    ani, office_a, passport_service, ekos_child
):
    with pytest.raises(ServiceError):
        services.application_start(
            user=ani, service=passport_service, office=office_a, person=ekos_child
        )

    assert not Application.objects.exists()
