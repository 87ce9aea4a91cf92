"""My ticket page: the number, the people ahead, the estimated wait, where to go when called."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from django.utils.translation import ngettext

from queueing import counters, tickets
from queueing.models import Ticket
from tests.utils import in_language, page_text

from .conftest import book, next_working_day, open_moment


def plural(singular: str, plural_form: str, n: int) -> str:
    with translation.override("id"):
        return ngettext(singular, plural_form, n) % {"n": n}


def people_ahead(n: int) -> str:
    if n == 0:
        return in_language("id", "You are next.")
    return plural("%(n)s person ahead of you.", "%(n)s people ahead of you.", n)


def wait_about(minutes: int) -> str:
    return plural(
        "Estimated wait: about %(n)s minute.", "Estimated wait: about %(n)s minutes.", minutes
    )


@pytest.fixture
def opening(office_a, time_machine, settings):
    """10.00 on the office's next working day; 10 minutes a person until someone is served."""
    settings.QUEUE_DEFAULT_SERVICE_MINUTES = 10
    moment = open_moment(office_a)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def queue(office_a, opening) -> list[Ticket]:
    """Three walk-ins waiting: W-001, W-002, W-003."""
    return [tickets.walk_in(office=office_a) for _ in range(3)]


def page(client, ticket, **headers):
    return client.get(f"/antrian/tiket/{ticket.token}/", **headers)


def test_the_page_shows_the_number_the_people_ahead_and_the_wait(client, queue):
    response = page(client, queue[2])

    assert response.status_code == 200
    text = page_text(response)
    assert "W-003" in text
    assert people_ahead(2) in text
    assert wait_about(30) in text  # (2 ahead + 1) x 10 minutes, one counter at most


def test_the_first_in_line_is_next(client, queue):
    text = page_text(page(client, queue[0]))

    assert people_ahead(0) in text
    assert wait_about(10) in text


def test_priority_tickets_count_ahead_of_older_ones(client, office_a, queue):
    elderly = tickets.walk_in(office=office_a, priority=Ticket.Priority.ELDERLY)

    assert people_ahead(0) in page_text(page(client, elderly))
    assert people_ahead(1) in page_text(page(client, queue[0]))
    assert in_language("id", "Elderly (60 or over)") in page_text(page(client, elderly))


def test_the_wait_follows_todays_service_times_and_open_counters(
    client, office_a, counter_1, counter_2, budi, dewi, queue, time_machine, opening
):
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["W"])
    counters.shift_open(counter=counter_2, officer=dewi, prefixes=["W"])
    first = counters.call_next(counter=counter_1, officer=budi)
    counters.start(counter=counter_1, officer=budi, ticket_id=first.pk)
    time_machine.move_to(opening + dt.timedelta(minutes=4), tick=False)
    counters.finish(counter=counter_1, officer=budi, ticket_id=first.pk)

    text = page_text(page(client, queue[2]))

    assert people_ahead(1) in text
    assert wait_about(4) in text  # (1 ahead + 1) x 4 minutes / 2 counters


def test_the_page_says_where_to_go_when_called(client, office_a, counter_1, budi, queue):
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["W"])
    counters.call_next(counter=counter_1, officer=budi)

    text = page_text(page(client, queue[0]))

    assert in_language("id", "Please go to %(counter)s now.") % {"counter": "Loket 1"} in text
    assert people_ahead(0) not in text
    assert people_ahead(1) in page_text(page(client, queue[2]))


def test_the_page_follows_the_ticket_to_the_end(client, office_a, counter_1, budi, queue):
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["W"])
    first = counters.call_next(counter=counter_1, officer=budi)
    counters.start(counter=counter_1, officer=budi, ticket_id=first.pk)
    serving = page_text(page(client, first))
    counters.finish(counter=counter_1, officer=budi, ticket_id=first.pk)
    done = page_text(page(client, first))
    second = counters.call_next(counter=counter_1, officer=budi)
    counters.skip(counter=counter_1, officer=budi, ticket_id=second.pk)
    skipped = page_text(page(client, second))

    assert in_language("id", "Being served at %(counter)s.") % {"counter": "Loket 1"} in serving
    assert in_language("id", "Service finished. Thank you.") in done
    assert (
        in_language(
            "id",
            "You were called but did not come. Please ask an officer at the information desk.",
        )
        in skipped
    )


def test_a_ticket_of_another_day_says_so(client, office_a, opening, time_machine):
    ticket = tickets.walk_in(office=office_a)
    time_machine.move_to(open_moment(office_a, next_working_day(office_a, after=opening.date())))

    text = page_text(page(client, ticket))

    assert in_language("id", "This number was for another day.") in text
    assert people_ahead(0) not in text


def test_an_unknown_token_is_404(client, queue):
    assert client.get("/antrian/tiket/not-a-real-token/").status_code == 404
    assert client.get(f"/antrian/tiket/{queue[0].token}x/").status_code == 404


def test_htmx_polls_get_the_fragment_only(client, queue):
    full = page(client, queue[1])
    fragment = page(client, queue[1], HTTP_HX_REQUEST="true")

    assert "<html" in full.content.decode()
    assert 'hx-get="/antrian/tiket/' in full.content.decode()
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body and "<body" not in body
    assert "W-002" in body
    assert people_ahead(1) in page_text(fragment)


def test_the_page_is_not_cached_or_indexed(client, queue):
    response = page(client, queue[0])

    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


def test_the_page_of_a_booked_ticket_shows_no_personal_data(
    client, paid, ani, office_a, time_machine
):
    booking = book(paid)
    time_machine.move_to(open_moment(office_a, booking.slot.day), tick=False)
    ticket = tickets.check_in(office=office_a, scanned=booking.code)

    text = page_text(page(client, ticket))

    assert "P-001" in text
    for personal in (ani.full_name, paid.reference, booking.code, ani.phone, ani.email):
        assert personal not in text


def test_a_waiting_ticket_offers_a_qr_code_to_follow_it_on_a_phone(client, queue):
    html = page(client, queue[0]).content.decode()

    assert 'src="data:image/png;base64,' in html


def test_only_post_is_refused(client, queue):
    assert client.post(f"/antrian/tiket/{queue[0].token}/").status_code == 405
