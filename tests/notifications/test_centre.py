"""The in-portal notification centre: the bell with the unread count, the list, mark as read."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, Notification
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")
MARK_READ = reverse("notifications:mark_read")
HOME = reverse("home")


def portal_message(user, body="Permohonan PSP-0001 diterima.", *, read=False, at=None):
    """A message as notify() leaves it in the person's list."""
    row = Notification.objects.create(
        recipient=user,
        event="test.application_status",
        channel=Channel.PORTAL,
        status=Notification.Status.DELIVERED,
        language="id",
        body=body,
        delivered_at=timezone.now(),
        read_at=timezone.now() if read else None,
    )
    if at is not None:
        Notification.objects.filter(pk=row.pk).update(created_at=at)
    return row


@pytest.fixture
def logged_in(client, ani):
    client.force_login(ani)
    return client


def unread_ids(user) -> set[int]:
    return set(
        Notification.objects.filter(recipient=user, read_at__isnull=True).values_list(
            "pk", flat=True
        )
    )


# --- The bell ----------------------------------------------------------------------


def test_the_bell_counts_only_my_unread_messages_in_the_portal(logged_in, ani, eko):
    for n in range(3):
        portal_message(ani, f"Pesan {n}")
    portal_message(ani, "Sudah dibaca", read=True)
    portal_message(eko, "Pesan untuk Eko")
    Notification.objects.create(
        recipient=ani, event="test.email", channel=Channel.EMAIL, language="id", body="x"
    )

    text = page_text(logged_in.get(HOME))

    assert f'href="{LIST}"' in text
    assert '<span class="visually-hidden">(3 notifikasi belum dibaca)</span>' in text
    assert re.search(r'<span class="badge[^"]*" aria-hidden="true">3</span>', text)


def test_the_bell_speaks_english_to_someone_who_chose_english(client, ani):
    ani.preferred_language = "en"
    ani.save()
    client.force_login(ani)
    portal_message(ani)

    text = page_text(client.get(HOME))

    assert "(1 unread notification)" in text


def test_the_bell_shows_no_count_when_everything_is_read(logged_in, ani):
    portal_message(ani, read=True)

    text = page_text(logged_in.get(HOME))

    assert f'href="{LIST}"' in text
    assert "belum dibaca" not in text
    assert 'class="badge' not in text


def test_a_large_count_is_shortened_on_the_badge_but_not_for_screen_readers(logged_in, ani):
    Notification.objects.bulk_create(
        Notification(
            recipient=ani,
            event="test.application_status",
            channel=Channel.PORTAL,
            status=Notification.Status.DELIVERED,
            language="id",
            body=f"Pesan {n}",
        )
        for n in range(120)
    )

    text = page_text(logged_in.get(HOME))

    assert 'aria-hidden="true">99+</span>' in text
    assert "(120 notifikasi belum dibaca)" in text


def test_an_anonymous_visitor_sees_no_bell(client):
    text = page_text(client.get(HOME))

    assert f'href="{LIST}"' not in text


# --- The list ------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_login(client):
    for response in (client.get(LIST), client.post(MARK_READ)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_list_shows_only_my_messages_in_the_portal(logged_in, ani, eko):
    portal_message(ani, "Permohonan PSP-0001 diterima.")
    portal_message(eko, "Permohonan milik Eko.")
    Notification.objects.create(
        recipient=ani, event="test.email", channel=Channel.EMAIL, language="id", body="Surel Ani"
    )

    response = logged_in.get(LIST)

    text = page_text(response)
    assert response.status_code == 200
    assert "Permohonan PSP-0001 diterima." in text
    assert "Permohonan milik Eko." not in text
    assert "Surel Ani" not in text


def test_each_message_shows_its_time_in_wib(logged_in, ani):
    portal_message(ani, at=dt.datetime(2026, 11, 22, 7, 5, tzinfo=dt.UTC))

    text = page_text(logged_in.get(LIST))

    assert "22 November 2026 14.05 WIB" in text
    assert 'datetime="2026-11-22T14:05:00+07:00"' in text


def test_unread_messages_are_marked_new_and_read_ones_are_not(logged_in, ani):
    portal_message(ani, "Belum dibaca")
    portal_message(ani, "Sudah dibaca", read=True)

    text = page_text(logged_in.get(LIST))

    new = in_language("id", "New")
    assert new != "New"
    assert text.count(f">{new}</span>") == 1
    assert text.count("notification-unread") == 1
    assert text.count('name="id" value="') == 1


def test_the_newest_message_comes_first(logged_in, ani):
    portal_message(ani, "Pesan lama", at=timezone.now() - dt.timedelta(days=2))
    portal_message(ani, "Pesan baru")

    text = page_text(logged_in.get(LIST))

    assert text.index("Pesan baru") < text.index("Pesan lama")


def test_the_list_is_paginated_by_twenty(logged_in, ani):
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(25):
        portal_message(ani, f"Pesan nomor {n:02d}", at=start + dt.timedelta(minutes=n))

    first = page_text(logged_in.get(LIST))
    second = page_text(logged_in.get(LIST, {"page": 2}))

    assert first.count("Pesan nomor") == 20
    assert "Pesan nomor 24" in first and "Pesan nomor 04" not in first
    assert second.count("Pesan nomor") == 5
    assert 'href="?page=2"' in first


def test_a_page_number_that_does_not_exist_shows_the_last_page(logged_in, ani):
    portal_message(ani)

    response = logged_in.get(LIST, {"page": "999"})

    assert response.status_code == 200
    assert response.context["page"].number == 1


def test_an_empty_list_says_so(logged_in):
    text = page_text(logged_in.get(LIST))

    assert in_language("id", "You have no notifications yet.") in text
    assert f'action="{MARK_READ}"' not in text


def test_the_list_uses_no_inline_style_or_script(logged_in, ani):
    portal_message(ani)

    text = logged_in.get(LIST).content.decode()

    assert " style=" not in text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []


def test_message_text_is_escaped(logged_in, ani):
    portal_message(ani, '<script src="x"></script> & <b>tebal</b>')

    text = logged_in.get(LIST).content.decode()

    assert '<script src="x">' not in text
    assert "&lt;b&gt;tebal&lt;/b&gt;" in text


# --- Mark as read ----------------------------------------------------------------------


def test_marking_one_message_read_leaves_the_others_unread(logged_in, ani):
    first, second = portal_message(ani, "Satu"), portal_message(ani, "Dua")

    response = logged_in.post(MARK_READ, {"id": first.pk})

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert unread_ids(ani) == {second.pk}


def test_mark_all_as_read_marks_only_my_portal_messages(logged_in, ani, eko):
    mine = [portal_message(ani), portal_message(ani)]
    theirs = portal_message(eko)
    my_email = Notification.objects.create(
        recipient=ani, event="test.email", channel=Channel.EMAIL, language="id", body="x"
    )

    logged_in.post(MARK_READ)

    assert not unread_ids(ani) & {row.pk for row in mine}
    assert unread_ids(eko) == {theirs.pk}
    assert Notification.objects.get(pk=my_email.pk).read_at is None


def test_someone_elses_message_cannot_be_marked_read(logged_in, ani, eko):
    mine = portal_message(ani)
    theirs = portal_message(eko)

    logged_in.post(MARK_READ, {"id": theirs.pk})

    assert unread_ids(eko) == {theirs.pk}
    assert unread_ids(ani) == {mine.pk}


def test_ids_that_are_not_numbers_mark_nothing(logged_in, ani):
    row = portal_message(ani)

    logged_in.post(MARK_READ, {"id": ["abc", "-1", ""]})

    assert unread_ids(ani) == {row.pk}


def test_marking_read_needs_a_post(logged_in, ani):
    row = portal_message(ani)

    response = logged_in.get(MARK_READ, {"id": row.pk})

    assert response.status_code == 405
    assert unread_ids(ani) == {row.pk}


def test_marking_read_needs_the_csrf_token(ani):
    row = portal_message(ani)
    client = Client(enforce_csrf_checks=True)
    client.force_login(ani)

    response = client.post(MARK_READ, {"id": row.pk})

    assert response.status_code == 403
    assert unread_ids(ani) == {row.pk}


def test_the_list_page_forms_post_back_with_the_csrf_token(ani):
    portal_message(ani)
    client = Client(enforce_csrf_checks=True)
    client.force_login(ani)
    page = client.get(LIST)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())

    response = client.post(MARK_READ, {"csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302
    assert unread_ids(ani) == set()


def test_marking_read_from_page_two_returns_to_page_two(logged_in, ani):
    row = portal_message(ani)

    response = logged_in.post(MARK_READ, {"id": row.pk, "page": "2"})

    assert response["Location"] == f"{LIST}?page=2"


def test_the_bell_count_drops_after_marking_read(logged_in, ani):
    first = portal_message(ani)
    portal_message(ani)
    logged_in.post(MARK_READ, {"id": first.pk})

    text = page_text(logged_in.get(HOME))

    assert "(1 notifikasi belum dibaca)" in text
