"""The display board: a public page per office, its cheap conditional poll, no personal data."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from queueing import counters, tickets
from queueing.models import Prefix
from tests.utils import in_language, page_text

from .conftest import book, next_working_day, open_moment


@pytest.fixture
def opening(office_a, time_machine):
    """The clock stands at 10.00 on the office's next working day (the board shows today)."""
    moment = open_moment(office_a)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def open_1(counter_1, budi, opening):
    return counters.shift_open(counter=counter_1, officer=budi, prefixes=["P", "W", "K"])


@pytest.fixture
def open_2(counter_2, dewi, opening):
    return counters.shift_open(counter=counter_2, officer=dewi, prefixes=["P", "W", "K"])


def board_url(office) -> str:
    return f"/antrian/{office.code}/layar/"


def content_url(office) -> str:
    return f"/antrian/{office.code}/layar/isi/"


def serving_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<td class="board-number">([^<]+)</td><td class="board-counter">([^<]+)</td>', html
    )


def recent_numbers(html: str) -> list[str]:
    return re.findall(r'<span class="board-number-small">([^<]+)</span>', html)


def waiting_counts(html: str) -> dict[str, int]:
    return {
        p: int(n) for p, n in re.findall(r"<li><strong>([PVWK])</strong>[^<:]*: (\d+)</li>", html)
    }


# --- What the board shows -------------------------------------------------------------------


def test_the_board_shows_now_serving_recently_called_and_who_waits(
    client, office_a, counter_1, counter_2, budi, dewi, open_1, open_2
):
    done, gone, _at_1, at_2 = (tickets.walk_in(office=office_a) for _ in range(4))
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_a, prefix=Prefix.INFORMATION)
    for counter, officer in [(counter_1, budi), (counter_2, dewi)]:
        counters.call_next(counter=counter, officer=officer)
    counters.start(counter=counter_1, officer=budi, ticket_id=done.pk)
    counters.finish(counter=counter_1, officer=budi, ticket_id=done.pk)
    counters.skip(counter=counter_2, officer=dewi, ticket_id=gone.pk)
    counters.call_next(counter=counter_2, officer=dewi)
    counters.call_next(counter=counter_1, officer=budi)
    counters.start(counter=counter_1, officer=budi, ticket_id=at_2.pk)

    response = client.get(board_url(office_a))

    assert response.status_code == 200
    html = response.content.decode()
    assert serving_rows(html) == [("W-004", "Loket 1"), ("W-003", "Loket 2")]
    assert sorted(recent_numbers(html)) == ["W-001", "W-002"]
    assert in_language("id", "not present") in page_text(response)
    assert waiting_counts(html) == {"P": 0, "V": 0, "W": 1, "K": 1}
    assert in_language("id", "Now serving") in page_text(response)
    assert office_a.name in page_text(response)


def test_an_empty_board_says_so(client, office_a, opening):
    response = client.get(board_url(office_a))

    text = page_text(response)
    assert in_language("id", "No number is being served right now.") in text
    assert in_language("id", "None yet today.") in text
    assert serving_rows(response.content.decode()) == []


def test_the_content_endpoint_renders_the_same_figures(client, office_a, counter_1, budi, open_1):
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_a)
    counters.call_next(counter=counter_1, officer=budi)

    response = client.get(content_url(office_a))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert serving_rows(html) == [("W-001", "Loket 1")]
    assert waiting_counts(html)["W"] == 1


def test_offices_do_not_mix(client, office_a, office_b, counter_1, counter_b, budi, citra, open_1):
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_b)
    tickets.walk_in(office=office_b)
    counters.shift_open(counter=counter_b, officer=citra, prefixes=["W"])
    counters.call_next(counter=counter_b, officer=citra)

    board_a = client.get(content_url(office_a)).content.decode()
    board_b = client.get(content_url(office_b)).content.decode()

    assert serving_rows(board_a) == []
    assert waiting_counts(board_a)["W"] == 1
    assert serving_rows(board_b) == [("W-001", "Loket 1")]
    assert waiting_counts(board_b)["W"] == 1


def test_tickets_of_another_day_are_not_on_the_board(client, office_a, budi, opening):
    tickets.walk_in(office=office_a, by=budi, now=opening - dt.timedelta(days=1))

    html = client.get(content_url(office_a)).content.decode()

    assert sum(waiting_counts(html).values()) == 0


def test_the_board_shows_no_personal_data(
    client, paid, ani, office_a, counter_1, budi, time_machine
):
    booking = book(paid)
    time_machine.move_to(open_moment(office_a, booking.slot.day), tick=False)
    ticket = tickets.check_in(office=office_a, scanned=booking.code)
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["P"])
    counters.call_next(counter=counter_1, officer=budi)

    for url in (board_url(office_a), content_url(office_a)):
        text = page_text(client.get(url))
        assert ticket.label in text
        for personal in (
            ani.full_name,
            "Ani",
            paid.reference,
            booking.code,
            booking.code_display,
            ani.phone,
            ani.email,
            ticket.token,
            budi.full_name,
        ):
            assert personal not in text, personal


# --- The page around the content ------------------------------------------------------------


def test_the_page_polls_and_shows_a_connection_lost_state(client, office_a, opening):
    html = client.get(board_url(office_a)).content.decode()

    assert re.search(r'<div id="connection-lost"[^>]*\bhidden\b', html)
    assert re.search(r'<script src="[^"]*/js/board(\.[0-9a-f]+)?\.js"', html)
    assert re.search(r'<script src="[^"]*/htmx(\.min)?(\.[0-9a-f]+)?\.js"', html)
    assert f'hx-get="{content_url(office_a)}"' in html
    assert 'hx-trigger="every' in html


def test_the_page_works_without_javascript(client, office_a, counter_1, budi, open_1):
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_a)
    counters.call_next(counter=counter_1, officer=budi)

    html = client.get(board_url(office_a)).content.decode()

    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', html)
    # The figures are in the first answer, not loaded by a script.
    assert serving_rows(html) == [("W-001", "Loket 1")]
    assert waiting_counts(html)["W"] == 1


def test_the_board_needs_no_login(client, office_a, opening):
    assert client.get(board_url(office_a)).status_code == 200
    assert client.get(content_url(office_a)).status_code == 200


# --- Unknown offices ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/antrian/ZZZ/layar/", "/antrian/ZZZ/layar/isi/"])
def test_an_unknown_office_has_no_board(client, office_a, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("make_url", [board_url, content_url])
def test_an_inactive_office_has_no_board(client, office_a, make_url):
    office_a.is_active = False
    office_a.save(update_fields=["is_active"])

    assert client.get(make_url(office_a)).status_code == 404


def test_a_longer_code_starting_like_an_office_is_unknown(client, office_a):
    assert client.get(f"/antrian/{office_a.code}X/layar/").status_code == 404


def test_only_get_is_answered(client, office_a):
    assert client.post(board_url(office_a)).status_code == 405
    assert client.post(content_url(office_a)).status_code == 405


# --- The conditional poll -------------------------------------------------------------------


def test_an_unchanged_board_answers_304_without_a_body(client, office_a, opening):
    tickets.walk_in(office=office_a)
    first = client.get(content_url(office_a))
    etag = first["ETag"]

    again = client.get(content_url(office_a), HTTP_IF_NONE_MATCH=etag)

    assert first.status_code == 200 and etag
    assert first["Cache-Control"] == "no-cache"
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_a_stale_etag_gets_the_full_answer(client, office_a, opening):
    response = client.get(content_url(office_a), HTTP_IF_NONE_MATCH='"something-else"')

    assert response.status_code == 200
    assert response.content


def called_on(office, counter, officer):
    tickets.walk_in(office=office)
    return counters.call_next(counter=counter, officer=officer)


CHANGES = {
    "a new ticket": lambda o, c, u, t: tickets.walk_in(office=o),
    "a call": lambda o, c, u, t: counters.call_next(counter=c, officer=u),
    "a recall": lambda o, c, u, t: counters.recall(counter=c, officer=u, ticket_id=t.pk),
    "a skip": lambda o, c, u, t: counters.skip(counter=c, officer=u, ticket_id=t.pk),
    "the start of service": lambda o, c, u, t: counters.start(counter=c, officer=u, ticket_id=t.pk),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_any_ticket_change_gives_a_fresh_answer(
    client, office_a, counter_1, budi, open_1, change, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        current = called_on(office_a, counter_1, budi)
        tickets.walk_in(office=office_a)
        if change == "a call":
            counters.skip(counter=counter_1, officer=budi, ticket_id=current.pk)
    before = client.get(content_url(office_a))
    assert client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304

    with django_capture_on_commit_callbacks(execute=True):
        CHANGES[change](office_a, counter_1, budi, current)
    after = client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    if change in ("a new ticket", "a call", "a skip"):  # a recall or start looks the same
        assert after.content != before.content
    assert client.get(content_url(office_a), HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304


def test_finishing_gives_a_fresh_answer(
    client, office_a, counter_1, budi, open_1, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        current = called_on(office_a, counter_1, budi)
        counters.start(counter=counter_1, officer=budi, ticket_id=current.pk)
    before = client.get(content_url(office_a))

    with django_capture_on_commit_callbacks(execute=True):
        counters.finish(counter=counter_1, officer=budi, ticket_id=current.pk)
    after = client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert serving_rows(after.content.decode()) == []
    assert recent_numbers(after.content.decode()) == [current.label]


def test_a_change_at_another_office_keeps_this_board_unchanged(
    client, office_a, office_b, opening, django_capture_on_commit_callbacks
):
    before = client.get(content_url(office_a))

    with django_capture_on_commit_callbacks(execute=True):
        tickets.walk_in(office=office_b)

    assert client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304


def test_a_rolled_back_change_does_not_disturb_the_board(client, office_a, opening):
    """Without a commit the version is not bumped: 304 goes on (and the ticket is not there)."""
    from django.db import transaction

    before = client.get(content_url(office_a))
    with pytest.raises(RuntimeError), transaction.atomic():
        tickets.walk_in(office=office_a)
        raise RuntimeError

    assert client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304


def test_the_next_day_starts_a_fresh_board(client, office_a, opening, time_machine):
    before = client.get(content_url(office_a))
    time_machine.move_to(open_moment(office_a, next_working_day(office_a, after=opening.date())))

    assert client.get(content_url(office_a), HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 200
