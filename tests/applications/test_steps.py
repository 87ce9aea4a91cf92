"""The four steps of an application, as ani walks them in a browser without JavaScript.

1 applicant, 2 details, 3 documents, 4 check and send; then the detail page
and cancelling. Everything is a plain form POST followed by a redirect.
"""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from applications import explain, services
from applications.models import Application, Person, Service, StatusEvent
from applications.templatetags.portal import long_date
from applications.workflow import Status
from tests.applications.conftest import advance
from tests.utils import in_language, messages_of, page_text

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("applications:dashboard")


def step_url(application: Application, number: int) -> str:
    return reverse("applications:step", args=[application.reference, number])


def field_block(response, name: str) -> str:
    """The HTML crispy-forms renders for one field: label, input, help and errors."""
    body = response.content.decode()
    start = body.index(f'id="div_id_{name}"')
    following = [body.find(marker, start + 1) for marker in ('id="div_id_', "</form>")]
    return body[start : min(i for i in following if i != -1)]


def current_step(response) -> str:
    found = re.findall(
        r'<span aria-current="step"><span class="step-number">(\d)</span>',
        response.content.decode(),
    )
    assert len(found) == 1, f"expected exactly one current step, found {found}"
    return found[0]


def own_details() -> dict:
    """Step 1 for the account holder: name, NIK, birth date and sex come from the account."""
    return {
        "place_of_birth": "Gunung Sugih",
        "address": "Jl. Merdeka No. 10",
        "father_name": "Slamet Riyadi",
        "mother_name": "Sri Wahyuni",
    }


@pytest.fixture
def ani_client(client, ani):
    client.force_login(ani)
    return client


@pytest.fixture
def new_draft(ani, office_a, passport_service) -> Application:
    """Ani's own passport draft, just started: only step 1 reached."""
    return services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )


@pytest.fixture
def child(ani) -> Person:
    return services.person_save(
        owner=ani,
        data={
            "relationship": Person.Relationship.CHILD,
            "full_name": "Bima Lestari",
            "nik": "1802011203150002",
            "date_of_birth": "2015-03-12",
            "place_of_birth": "Gunung Sugih",
            "sex": "L",
            "address": "Jl. Merdeka No. 10",
            "father_name": "Rudi Hartono",
            "mother_name": "Ani Lestari",
        },
    )


@pytest.fixture
def child_draft(ani, office_a, passport_service, child) -> Application:
    """A passport draft for ani's son: every field of step 1 can be typed."""
    return services.application_start(
        user=ani, service=passport_service, office=office_a, person=child
    )


@pytest.fixture
def permit_draft(ani, office_a, permit_service) -> Application:
    application = services.application_start(
        user=ani, service=permit_service, office=office_a, person=None
    )
    Application.objects.filter(pk=application.pk).update(step_reached=2)
    application.refresh_from_db()
    return application


# --- Progress indicator and order ------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_the_progress_indicator_marks_the_current_step(ani_client, draft, number):
    response = ani_client.get(step_url(draft, number))

    assert response.status_code == 200
    assert current_step(response) == str(number)
    assert in_language("id", "Step %(step)s of %(total)s") % {"step": number, "total": 4} in (
        page_text(response)
    )


def test_steps_already_reached_are_links_and_later_ones_are_not(ani_client, new_draft):
    Application.objects.filter(pk=new_draft.pk).update(step_reached=2)

    body = ani_client.get(step_url(new_draft, 1)).content.decode()

    assert f'href="{step_url(new_draft, 2)}"' in body
    assert f'href="{step_url(new_draft, 3)}"' not in body
    assert f'href="{step_url(new_draft, 4)}"' not in body


@pytest.mark.parametrize("number", [2, 3, 4])
def test_a_step_not_reached_yet_sends_back_to_the_furthest_one(ani_client, new_draft, number):
    response = ani_client.get(step_url(new_draft, number))

    assert response.status_code == 302
    assert response["Location"] == step_url(new_draft, 1)


def test_a_post_to_a_step_not_reached_changes_nothing(ani_client, new_draft):
    response = ani_client.post(step_url(new_draft, 4), {"declaration": "on"})

    assert response.status_code == 302
    new_draft.refresh_from_db()
    assert new_draft.status == Status.DRAFT
    assert new_draft.step_reached == 1


@pytest.mark.parametrize("number", [0, 5, 99])
def test_a_step_that_does_not_exist_is_not_found(ani_client, draft, number):
    assert ani_client.get(step_url(draft, number)).status_code == 404


# --- Saving ------------------------------------------------------------------------------------


def test_save_and_continue_goes_to_the_next_step(ani_client, new_draft):
    response = ani_client.post(step_url(new_draft, 1), own_details())

    assert response.status_code == 302
    assert response["Location"] == step_url(new_draft, 2)
    new_draft.refresh_from_db()
    assert new_draft.step_reached == 2
    assert new_draft.father_name == "Slamet Riyadi"


def test_save_and_finish_later_returns_to_the_dashboard_with_a_continue_link(ani_client, new_draft):
    response = ani_client.post(step_url(new_draft, 1), {**own_details(), "save_exit": "1"})

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert messages_of(response) == [
        in_language("id", "Your draft is saved. You can continue it later.")
    ]
    dashboard = ani_client.get(DASHBOARD)
    body = dashboard.content.decode()
    assert new_draft.reference in page_text(dashboard)
    assert re.search(
        rf'<a [^>]*href="{re.escape(step_url(new_draft, 2))}"[^>]*>{in_language("id", "Continue")}',
        body,
    )


def test_the_continue_link_follows_the_furthest_step(ani_client, draft):
    body = ani_client.get(DASHBOARD).content.decode()

    assert f'href="{step_url(draft, 4)}"' in body


def test_save_and_finish_later_also_works_from_the_documents_step(ani_client, draft):
    response = ani_client.post(step_url(draft, 3), {"save_exit": "1"})

    assert response["Location"] == DASHBOARD


def test_the_details_step_saves_and_continues(ani_client, new_draft):
    Application.objects.filter(pk=new_draft.pk).update(step_reached=2)

    response = ani_client.post(
        step_url(new_draft, 2), {"travel_purpose": "pilgrimage", "destination": "Arab Saudi"}
    )

    assert response["Location"] == step_url(new_draft, 3)
    new_draft.refresh_from_db()
    assert (new_draft.travel_purpose, new_draft.destination) == ("pilgrimage", "Arab Saudi")
    assert new_draft.step_reached == 3


def test_the_documents_step_does_not_continue_without_the_required_documents(ani_client, new_draft):
    Application.objects.filter(pk=new_draft.pk).update(step_reached=3)

    response = ani_client.post(step_url(new_draft, 3))

    assert response.status_code == 200
    assert in_language("id", "Upload every required document first.") in page_text(response)
    new_draft.refresh_from_db()
    assert new_draft.step_reached == 3


# --- Invalid input: error next to the field, input kept ------------------------------------------


def child_details(**overrides) -> dict:
    data = {
        "full_name": "Bima Lestari",
        "nik": "1802011203150002",
        "date_of_birth": "12/03/2015",
        "place_of_birth": "Gunung Sugih",
        "sex": "L",
        "address": "Jl. Merdeka No. 10",
        "father_name": "Rudi Hartono",
        "mother_name": "Ani Lestari",
    }
    data.update(overrides)
    return data


def test_an_impossible_date_is_shown_next_to_the_field_and_kept(ani_client, child_draft):
    response = ani_client.post(step_url(child_draft, 1), child_details(date_of_birth="31/02/1990"))

    assert response.status_code == 200
    block = field_block(response, "date_of_birth")
    assert 'value="31/02/1990"' in block
    assert "is-invalid" in block
    assert response.context["form"].errors["date_of_birth"][0] in page_text(response)
    assert in_language("id", "Enter a valid date.") in block
    assert 'value="Rudi Hartono"' in field_block(response, "father_name")  # the rest is kept
    child_draft.refresh_from_db()
    assert child_draft.step_reached == 1


def test_a_nik_with_letters_is_shown_next_to_the_field_and_kept(ani_client, child_draft):
    response = ani_client.post(step_url(child_draft, 1), child_details(nik="18020112O315OOO2"))

    assert response.status_code == 200
    block = field_block(response, "nik")
    assert 'value="18020112O315OOO2"' in block
    assert "is-invalid" in block
    message = response.context["form"].errors["nik"][0]
    assert message in page_text(response)
    with translation.override("id"):
        expected = translation.gettext(
            "NIK must be exactly 16 digits, without letters; you typed %(count)d characters."
        ) % {"count": 16}
    assert message == expected
    child_draft.refresh_from_db()
    assert child_draft.nik == "1802011203150002"


def test_a_passport_number_with_symbols_is_shown_next_to_the_field_and_kept(
    ani_client, permit_draft
):
    response = ani_client.post(
        step_url(permit_draft, 2),
        {
            "nationality": "Malaysia",
            "passport_number": "A!",
            "travel_purpose": "tourism",
            "sponsor_name": "PT Contoh",
            "sponsor_address": "Jl. Sponsor 1",
            "sponsor_phone": "0725 1234",
        },
    )

    assert response.status_code == 200
    block = field_block(response, "passport_number")
    assert 'value="A!"' in block
    assert "is-invalid" in block
    assert in_language(
        "id", "A passport number has 6 to 12 letters and digits, for example X1234567."
    ) in html.unescape(block)
    assert 'value="PT Contoh"' in field_block(response, "sponsor_name")
    permit_draft.refresh_from_db()
    assert permit_draft.passport_number == ""
    assert permit_draft.step_reached == 2


def test_the_form_lists_the_errors_at_the_top_with_links_to_the_fields(ani_client, child_draft):
    response = ani_client.post(
        step_url(child_draft, 1), child_details(date_of_birth="31/02/1990", nik="abc")
    )

    body = response.content.decode()
    summary = body[
        body.index('id="error-summary"') : body.index("</ul>", body.index("error-summary"))
    ]
    assert 'href="#id_date_of_birth"' in summary
    assert 'href="#id_nik"' in summary


def test_the_fields_from_the_account_cannot_be_changed_in_step_1(ani_client, ani, new_draft):
    response = ani_client.post(
        step_url(new_draft, 1),
        {**own_details(), "full_name": "Orang Lain", "date_of_birth": "2000-01-01", "sex": "L"},
    )

    assert response.status_code == 302
    new_draft.refresh_from_db()
    assert (new_draft.full_name, new_draft.date_of_birth, new_draft.sex) == (
        ani.full_name,
        ani.date_of_birth,
        ani.sex,
    )


# --- The NIK is never sent back in full ---------------------------------------------------------


def nik_spellings(nik: str) -> list[str]:
    """The NIK as typed, grouped in fours with spaces or dots, as a page could print it."""
    groups = [nik[i : i + 4] for i in range(0, 16, 4)]
    return [nik, " ".join(groups), ".".join(groups), "-".join(groups)]


def test_step_1_never_shows_the_account_holders_full_nik(ani_client, ani, new_draft):
    assert new_draft.nik == ani.nik == "1802015205900001"  # saved on the draft

    response = ani_client.get(step_url(new_draft, 1))

    assert response.status_code == 200
    body = page_text(response)
    for spelling in nik_spellings(ani.nik):
        assert spelling not in body
    block = field_block(response, "nik")
    assert 'value="1802********0001"' in block  # shown masked, and read-only
    assert "disabled" in block


def test_step_1_never_shows_a_family_members_full_nik(ani_client, child_draft):
    assert child_draft.nik == "1802011203150002"  # saved on the draft

    response = ani_client.get(step_url(child_draft, 1))

    assert response.status_code == 200
    body = page_text(response)
    for spelling in nik_spellings(child_draft.nik):
        assert spelling not in body
    block = html.unescape(field_block(response, "nik"))
    assert 'value="' not in block.split("<input", 1)[1].split(">", 1)[0]  # the box is empty
    assert (
        in_language(
            "id", "Saved as %(masked)s. Leave empty to keep it, or type it again to change it."
        )
        % {"masked": "1802********0002"}
        in block
    )


def test_step_1_with_the_nik_left_empty_keeps_the_saved_one(ani_client, child_draft):
    response = ani_client.post(step_url(child_draft, 1), child_details(nik=""))

    assert response.status_code == 302
    assert response["Location"] == step_url(child_draft, 2)
    child_draft.refresh_from_db()
    assert child_draft.nik == "1802011203150002"
    assert child_draft.step_reached == 2


def test_step_1_with_a_new_nik_typed_replaces_the_saved_one(ani_client, child_draft):
    response = ani_client.post(step_url(child_draft, 1), child_details(nik="1802011203150003"))

    assert response.status_code == 302
    child_draft.refresh_from_db()
    assert child_draft.nik == "1802011203150003"


def test_step_1_is_titled_with_the_form_step_translation(ani_client, new_draft):
    with translation.override("id"):
        step_title = translation.pgettext("form step", "Applicant")
        plain = translation.gettext("Applicant")
    assert step_title != plain  # the context has its own translation

    response = ani_client.get(step_url(new_draft, 1))

    body = page_text(response)
    assert re.search(rf"<title>\s*{re.escape(step_title)} · {new_draft.reference}", body)
    assert f'<h1 class="h2">1. {step_title}</h1>' in body


# --- Review and submit ----------------------------------------------------------------------------


def test_the_review_page_lists_what_is_still_missing(ani_client, new_draft, passport_service):
    Application.objects.filter(pk=new_draft.pk).update(step_reached=4)

    response = ani_client.get(step_url(new_draft, 4))

    text = page_text(response)
    assert response.status_code == 200
    assert in_language("id", "Still missing before you can send") in text
    for requirement in passport_service.requirements.filter(is_required=True):
        assert in_language("id", "Document: %(name)s") % {"name": requirement.name_id} in text
    assert response.context["missing"] == services.missing_items(new_draft)


def test_a_complete_draft_has_nothing_missing(ani_client, draft):
    response = ani_client.get(step_url(draft, 4))

    assert response.context["missing"] == []
    assert in_language("id", "Still missing before you can send") not in page_text(response)


def test_sending_an_incomplete_draft_is_refused_with_the_list(ani_client, new_draft):
    Application.objects.filter(pk=new_draft.pk).update(step_reached=4)

    response = ani_client.post(step_url(new_draft, 4), {"declaration": "on"})

    assert response.status_code == 200
    new_draft.refresh_from_db()
    assert new_draft.status == Status.DRAFT
    errors = response.context["form"].non_field_errors()
    assert errors and errors[0].startswith(
        in_language("id", "Some things are still missing: %(items)s.").split("%(items)s")[0]
    )


def test_sending_without_the_declaration_is_refused_next_to_the_checkbox(ani, draft):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ani)
    browser.get(step_url(draft, 4))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    # A browser sends no field for an unticked box: only the CSRF token.
    response = browser.post(step_url(draft, 4), {"csrfmiddlewaretoken": token})

    assert response.status_code == 200
    block = field_block(response, "declaration")
    assert in_language("id", "Tick the declaration to confirm the data are true.") in html.unescape(
        block
    )
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_sending_a_complete_draft_works(ani_client, draft):
    response = ani_client.post(step_url(draft, 4), {"declaration": "on"})

    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.submitted_at is not None
    assert draft.due_date is None  # the target date runs from the interview, not from sending
    assert StatusEvent.objects.filter(application=draft, to_status=Status.SUBMITTED).count() == 1
    assert messages_of(response) == [
        in_language(
            "id", "Your application %(reference)s is sent. The receipt will arrive by email."
        )
        % {"reference": draft.reference}
    ]


def test_a_second_click_on_send_changes_nothing(ani_client, draft):
    ani_client.post(step_url(draft, 4), {"declaration": "on"})

    response = ani_client.post(step_url(draft, 4), {"declaration": "on"})

    assert response["Location"] == draft.get_absolute_url()
    assert StatusEvent.objects.filter(application=draft).count() == 1


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_after_sending_the_step_urls_lead_to_the_detail_page(ani_client, submitted, number):
    response = ani_client.get(step_url(submitted, number))

    assert response.status_code == 302
    assert response["Location"] == submitted.get_absolute_url()
    assert messages_of(response) == [
        in_language("id", "This application has been sent and can no longer be changed.")
    ]


def test_after_sending_a_post_to_a_step_changes_nothing(ani_client, submitted):
    response = ani_client.post(step_url(submitted, 1), {**own_details(), "father_name": "Baru"})

    assert response["Location"] == submitted.get_absolute_url()
    submitted.refresh_from_db()
    assert submitted.father_name == "Bapak Contoh"


# --- The detail page ------------------------------------------------------------------------------


def test_the_detail_page_shows_the_timeline_the_meaning_and_the_expected_date(
    ani_client, submitted
):
    response = ani_client.get(submitted.get_absolute_url())

    text = page_text(response)
    assert response.status_code == 200
    assert in_language("id", "Timeline") in text
    assert in_language("id", "Draft started") in text
    with translation.override("id"):
        submitted_label = str(Status.SUBMITTED.label)
        meaning = str(explain.MEANING[Status.SUBMITTED])
        next_step = str(explain.NEXT_STEP[Status.SUBMITTED])
        after_interview = translation.ngettext(
            "Ready %(days)s working day after the interview.",
            "Ready %(days)s working days after the interview.",
            submitted.service.processing_days,
        ) % {"days": submitted.service.processing_days}
        by_date = translation.gettext("Expected to be ready by %(date)s (the service's target).")
    assert f"<strong>{submitted_label}</strong>" in response.content.decode()
    assert meaning in text
    assert next_step in text
    # No target date before the interview: only how long it takes from then.
    assert submitted.due_date is None
    assert after_interview in text
    assert by_date.split("%(date)s")[0] not in text


def test_the_detail_page_shows_the_target_date_once_interviewed(ani_client, submitted, budi):
    advance(submitted, Status.INTERVIEWED, officer=budi)
    submitted.refresh_from_db()
    assert submitted.due_date is not None

    text = page_text(ani_client.get(submitted.get_absolute_url()))

    with translation.override("id"):
        expected = long_date(submitted.due_date)
        after_interview = translation.ngettext(
            "Ready %(days)s working day after the interview.",
            "Ready %(days)s working days after the interview.",
            submitted.service.processing_days,
        ) % {"days": submitted.service.processing_days}
    assert (
        in_language("id", "Expected to be ready by %(date)s (the service's target).")
        % {"date": expected}
        in text
    )
    assert after_interview not in text


def test_the_detail_page_of_a_service_without_interview_counts_from_payment(
    ani_client, ani, office_a, permit_service
):
    from tests.applications.conftest import complete_draft

    application = advance(complete_draft(ani, office_a, permit_service), Status.SUBMITTED)

    text = page_text(ani_client.get(application.get_absolute_url()))

    with translation.override("id"):
        after_payment = translation.ngettext(
            "Ready %(days)s working day after payment.",
            "Ready %(days)s working days after payment.",
            permit_service.processing_days,
        ) % {"days": permit_service.processing_days}
    assert after_payment in text


def test_the_detail_page_of_a_draft_offers_to_continue(ani_client, new_draft):
    body = ani_client.get(new_draft.get_absolute_url()).content.decode()

    assert f'href="{step_url(new_draft, 1)}"' in body


def test_the_detail_page_shows_the_officer_s_note(ani_client, submitted, budi):
    from tests.applications.conftest import advance

    advance(submitted, Status.REVISION_REQUESTED, officer=budi)

    text = page_text(ani_client.get(submitted.get_absolute_url()))

    assert "Foto KTP buram" in text
    assert in_language("id", "Officer's note") in text


# --- Cancelling -----------------------------------------------------------------------------------


def test_the_cancel_page_asks_first_and_a_get_changes_nothing(ani_client, new_draft):
    url = reverse("applications:cancel", args=[new_draft.reference])

    response = ani_client.get(url)

    assert response.status_code == 200
    assert re.search(r'<form method="post"', response.content.decode())
    new_draft.refresh_from_db()
    assert new_draft.status == Status.DRAFT
    assert not StatusEvent.objects.filter(application=new_draft).exists()


def test_a_draft_can_be_cancelled(ani_client, new_draft):
    response = ani_client.post(reverse("applications:cancel", args=[new_draft.reference]))

    assert response.status_code == 302
    assert response["Location"] == new_draft.get_absolute_url()
    new_draft.refresh_from_db()
    assert new_draft.status == Status.CANCELLED
    assert messages_of(response) == [in_language("id", "The application is cancelled.")]
    dashboard = ani_client.get(DASHBOARD)
    assert dashboard.context["drafts"] == []


def test_a_cancelled_draft_frees_the_service_for_a_new_start(ani_client, new_draft, office_a):
    ani_client.post(reverse("applications:cancel", args=[new_draft.reference]))

    response = ani_client.post(
        reverse("applications:start", args=[new_draft.service.code]),
        {"person": "self", "office": office_a.pk},
    )

    fresh = Application.objects.exclude(pk=new_draft.pk).get(applicant=new_draft.applicant)
    assert response["Location"] == step_url(fresh, 1)


def test_a_cancelled_application_cannot_be_cancelled_again(ani_client, new_draft):
    url = reverse("applications:cancel", args=[new_draft.reference])
    ani_client.post(url)

    response = ani_client.post(url)

    assert response.status_code == 302
    assert StatusEvent.objects.filter(application=new_draft).count() == 1


# --- Without JavaScript ---------------------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_every_step_is_a_plain_form_that_posts_without_javascript(ani_client, draft, number):
    body = ani_client.get(step_url(draft, number)).content.decode()

    forms = re.findall(r"<form\b[^>]*>", body)
    step_forms = [f for f in forms if "setlang" not in f and "logout" not in f]
    assert step_forms
    for form in step_forms:
        assert 'method="post"' in form
        assert "hx-" not in form or "action=" in form
    assert re.search(r'<button type="submit"', body)


def test_the_upload_form_is_a_multipart_post_to_the_upload_url(ani_client, draft):
    body = ani_client.get(step_url(draft, 3)).content.decode()

    for requirement in Service.objects.get(pk=draft.service_id).requirements.all():
        action = reverse("applications:upload", args=[draft.reference, requirement.pk])
        assert re.search(
            rf'<form method="post" action="{re.escape(action)}" enctype="multipart/form-data"',
            body,
        )


def test_every_field_of_step_1_has_a_label(ani_client, child_draft):
    body = ani_client.get(step_url(child_draft, 1)).content.decode()

    for field in child_details():
        assert re.search(rf'<label\s[^>]*for="id_{field}(_0)?"', body), field
