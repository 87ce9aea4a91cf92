"""The citizen's application page is cached per state; it never shows an old state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from applications import review, workflow
from applications.workflow import Status
from notifications.services import notify
from tests.utils import page_text


@pytest.fixture
def page(client, ani, submitted):
    client.force_login(ani)
    client.get(reverse("home"))  # the browser has its CSRF cookie, as after any visit
    return lambda: client.get(submitted.get_absolute_url())


def test_the_second_view_is_served_from_the_cache_with_fewer_queries(
    page, django_assert_max_num_queries
):
    first = page()
    with django_assert_max_num_queries(4):
        second = page()

    assert second.status_code == 200
    assert second.content == first.content


def test_a_status_change_shows_at_once(page, submitted, budi):
    page()
    workflow.transition(submitted, Status.REVISION_REQUESTED, by=budi, note="Foto KTP buram")

    assert "Foto KTP buram" in page_text(page())


def test_a_document_decision_shows_at_once(page, submitted, budi):
    before = page_text(page())
    document = submitted.documents.first()
    review.document_review(document=document, by=budi, accept=False, reason="Tidak terbaca")

    after = page_text(page())
    assert "Tidak terbaca" in after
    assert after != before


def test_a_new_notification_updates_the_bell(page, ani, submitted):
    page()
    notify(ani, "application.status_changed", _context(submitted), channels=["portal"])

    assert 'class="badge' in page().content.decode()


def _context(application) -> dict:
    return {
        "application": application,
        "reference": application.reference,
        "status_label": "x",
        "status": application.status,
        "note": "",
        "meaning": "",
        "next_step": "",
        "link": "",
    }


def test_another_person_never_gets_the_cached_page(page, client, eko, submitted):
    page()
    client.force_login(eko)

    assert client.get(submitted.get_absolute_url()).status_code == 404


def test_a_page_with_a_message_is_rendered_fresh(client, ani, submitted):
    client.force_login(ani)
    client.get(reverse("home"))
    client.get(submitted.get_absolute_url())
    response = client.post(reverse("applications:cancel", args=[submitted.reference]), follow=True)

    text = page_text(response)
    assert response.status_code == 200
    assert "Permohonan telah dibatalkan." in text  # the message, rendered fresh
    assert "Dibatalkan" in text  # and the new status, not the cached page
