"""Officer pages: the counters list, a counter's page and actions, the consultation agenda.

Officers see only the counters and bookings of their own offices; bad input gives a message.
"""

from __future__ import annotations

import re

import pytest

from offices import roles
from offices.models import Counter
from queueing import bookings, counters, tickets
from queueing.models import CounterShift, Purpose, Ticket
from tests.factories import StaffFactory
from tests.utils import in_language, messages_of, page_text

from .conftest import book, first_slot, open_moment


@pytest.fixture
def opening(office_a, time_machine):
    """10.00 on the office's next working day."""
    moment = open_moment(office_a)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def fajar(office_a):
    """A second officer of office A."""
    return StaffFactory(
        email="fajar@example.id", full_name="Fajar Nugroho", role=roles.OFFICER, offices=[office_a]
    )


@pytest.fixture
def officer(client, budi, request):
    # Time travel after a login would outlive the staff idle timeout (15 minutes):
    # the clock is set first when the test asks for it.
    if "opening" in request.fixturenames:
        request.getfixturevalue("opening")
    client.force_login(budi)
    return client


def action_url(counter, action: str) -> str:
    return f"/petugas/loket/{counter.pk}/{action}/"


def opened(counter, officer, prefixes=("P", "W", "K")):
    return counters.shift_open(counter=counter, officer=officer, prefixes=list(prefixes))


# --- Who gets in ----------------------------------------------------------------------------

PAGES = ["/petugas/loket/", "/petugas/konsultasi/"]


@pytest.mark.parametrize("url", PAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, office_a, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/akun/masuk/?next=")


@pytest.mark.parametrize("url", PAGES)
def test_a_citizen_is_forbidden(client, ani, url):
    client.force_login(ani)

    assert client.get(url).status_code == 403


def test_staff_without_the_counter_permission_are_forbidden(client, office_a):
    clerk = StaffFactory(email="clerk@example.id", offices=[office_a])
    client.force_login(clerk)

    assert client.get("/petugas/loket/").status_code == 403


def test_a_counter_page_is_for_its_offices_officers_only(
    client, counter_1, ani, citra, budi, opening
):
    url = f"/petugas/loket/{counter_1.pk}/"
    assert client.get(url).status_code == 302
    client.force_login(ani)
    assert client.get(url).status_code == 403
    client.force_login(citra)
    assert client.get(url).status_code == 404
    client.force_login(budi)
    assert client.get(url).status_code == 200


def test_an_inactive_or_unknown_counter_is_404(officer, counter_1, opening):
    Counter.objects.filter(pk=counter_1.pk).update(is_active=False)

    assert officer.get(f"/petugas/loket/{counter_1.pk}/").status_code == 404
    assert officer.get("/petugas/loket/999999/").status_code == 404
    assert officer.post(action_url(counter_1, "open"), {"prefixes": ["W"]}).status_code == 404


@pytest.mark.parametrize(
    "action", ["open", "close", "call", "recall", "skip", "start", "finish", "check-in", "walk-in"]
)
def test_actions_are_closed_to_anonymous_citizens_and_other_offices(
    client, office_a, counter_1, budi, ani, citra, opening, action
):
    opened(counter_1, budi)
    tickets.walk_in(office=office_a)
    called = counters.call_next(counter=counter_1, officer=budi)
    data = {"prefixes": ["K"], "ticket": called.pk, "code": "ABCD-EFGH", "prefix": "W"}
    before = list(Ticket.objects.values_list("pk", "status", "recalls").order_by("pk"))

    anonymous = client.post(action_url(counter_1, action), data)
    client.force_login(ani)
    citizen = client.post(action_url(counter_1, action), data)
    client.force_login(citra)
    elsewhere = client.post(action_url(counter_1, action), data)

    assert anonymous.status_code == 302 and "/akun/masuk/" in anonymous["Location"]
    assert citizen.status_code == 403
    assert elsewhere.status_code == 404
    assert list(Ticket.objects.values_list("pk", "status", "recalls").order_by("pk")) == before
    assert CounterShift.objects.get().prefixes == "PWK"


# --- The counters list ----------------------------------------------------------------------


def test_the_list_shows_only_my_offices_counters(
    officer, office_a, counter_1, counter_2, counter_b, budi, opening
):
    opened(counter_1, budi)
    tickets.walk_in(office=office_a)
    counters.call_next(counter=counter_1, officer=budi)

    response = officer.get("/petugas/loket/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f"/petugas/loket/{counter_1.pk}/" in html
    assert f"/petugas/loket/{counter_2.pk}/" in html
    assert f"/petugas/loket/{counter_b.pk}/" not in html
    assert office_a.name in page_text(response)
    assert "W-001" in html and "Budi Santoso" in page_text(response)
    assert f"/petugas/kiosk/{office_a.code}/" in html


# --- A counter's page and its actions -------------------------------------------------------


def test_the_counter_page_shows_the_current_ticket_and_who_waits(
    officer, office_a, counter_1, budi, opening
):
    opened(counter_1, budi)
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_a)
    counters.call_next(counter=counter_1, officer=budi)

    response = officer.get(f"/petugas/loket/{counter_1.pk}/")

    html = response.content.decode()
    assert "W-001" in html
    assert action_url(counter_1, "start") in html
    assert re.search(r"<strong>W</strong>[^<]*: 1</li>", html)
    assert "no-store" in response["Cache-Control"]


def test_every_element_id_on_the_counter_page_is_unique(officer, counter_1, budi, opening):
    opened(counter_1, budi)
    ids = re.findall(
        r'\bid="([^"]+)"', officer.get(f"/petugas/loket/{counter_1.pk}/").content.decode()
    )

    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_opening_calling_serving_and_closing_through_the_page(
    officer, office_a, counter_1, budi, opening
):
    page = f"/petugas/loket/{counter_1.pk}/"
    tickets.walk_in(office=office_a)

    steps = [officer.post(action_url(counter_1, "open"), {"prefixes": ["W", "K"]})]
    shift = CounterShift.objects.get()
    steps.append(officer.post(action_url(counter_1, "call")))
    ticket = Ticket.objects.get()
    steps.append(officer.post(action_url(counter_1, "recall"), {"ticket": ticket.pk}))
    steps.append(officer.post(action_url(counter_1, "start"), {"ticket": ticket.pk}))
    steps.append(officer.post(action_url(counter_1, "finish"), {"ticket": ticket.pk}))
    steps.append(officer.post(action_url(counter_1, "close")))

    assert [r.status_code for r in steps] == [302] * 6
    assert all(r["Location"] == page for r in steps)
    assert (shift.officer, shift.prefixes) == (budi, "WK")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.DONE and ticket.recalls == 1
    assert ticket.counter == counter_1
    assert ticket.called_at == ticket.served_at == ticket.finished_at == opening
    shift.refresh_from_db()
    assert shift.closed_at is not None
    # Messages pile up until a page shows them: the call's is the last one of its answer.
    assert messages_of(steps[1])[-1] == in_language("id", "Calling %(ticket)s.") % {
        "ticket": "W-001"
    }


def test_skip_through_the_page(officer, office_a, counter_1, budi, opening):
    opened(counter_1, budi)
    tickets.walk_in(office=office_a)
    ticket = counters.call_next(counter=counter_1, officer=budi)

    response = officer.post(action_url(counter_1, "skip"), {"ticket": ticket.pk})

    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.NO_SHOW
    assert messages_of(response) == [
        in_language("id", "%(ticket)s marked as not present.") % {"ticket": "W-001"}
    ]


def test_opening_without_prefixes_shows_the_error_on_the_page(officer, counter_1, opening):
    response = officer.post(action_url(counter_1, "open"), {})

    assert response.status_code == 400
    assert in_language("id", "Choose at least one kind of ticket to call.") in page_text(response)
    assert not CounterShift.objects.exists()


def test_calling_with_no_one_waiting_is_a_message(officer, counter_1, budi, opening):
    opened(counter_1, budi, ["K"])

    response = officer.post(action_url(counter_1, "call"))

    assert response.status_code == 302
    assert messages_of(response) == [
        in_language("id", "No one is waiting for %(prefixes)s.") % {"prefixes": "K"}
    ]


def test_another_officers_counter_cannot_be_opened_or_called(
    client, office_a, counter_1, budi, fajar, opening
):
    opened(counter_1, budi)
    tickets.walk_in(office=office_a)
    client.force_login(fajar)

    page = client.get(f"/petugas/loket/{counter_1.pk}/")
    taken = client.post(action_url(counter_1, "open"), {"prefixes": ["K"]})
    call = client.post(action_url(counter_1, "call"))

    assert "Budi Santoso" in page_text(page)
    assert action_url(counter_1, "call") not in page.content.decode()
    assert messages_of(taken) == [
        in_language("id", "%(counter)s is open under %(name)s. They must close it first.")
        % {"counter": "Loket 1", "name": "Budi Santoso"}
    ]
    assert messages_of(call)[-1] == in_language("id", "This counter is open under another officer.")
    assert Ticket.objects.get().status == Ticket.Status.WAITING


def test_a_stale_page_gets_a_clear_message(
    client, office_a, counter_1, counter_2, budi, fajar, opening
):
    """Loket 2's page still shows the ticket Loket 1 has called meanwhile."""
    opened(counter_1, budi)
    opened(counter_2, fajar)
    tickets.walk_in(office=office_a)
    called = counters.call_next(counter=counter_1, officer=budi)
    client.force_login(fajar)

    response = client.post(action_url(counter_2, "start"), {"ticket": called.pk})

    assert response.status_code == 302
    assert messages_of(response) == [
        in_language("id", "%(ticket)s is not at this counter (%(where)s).")
        % {"ticket": "W-001", "where": "Loket 1"}
    ]
    assert Ticket.objects.get().status == Ticket.Status.CALLED


@pytest.mark.parametrize("ticket", ["abc", "", "1.5", "-1", "99999999", "1; DROP TABLE", "٣"])
@pytest.mark.parametrize("action", ["recall", "skip", "start", "finish"])
def test_a_bad_ticket_id_is_a_message_not_a_500(
    officer, office_a, counter_1, budi, opening, action, ticket
):
    opened(counter_1, budi)

    response = officer.post(action_url(counter_1, action), {"ticket": ticket})

    assert response.status_code == 302
    assert messages_of(response) == [
        in_language("id", "That ticket does not exist at this office.")
    ]


def test_a_missing_ticket_id_is_a_message(officer, counter_1, budi, opening):
    opened(counter_1, budi)

    response = officer.post(action_url(counter_1, "finish"))

    assert response.status_code == 302
    assert messages_of(response) == [
        in_language("id", "That ticket does not exist at this office.")
    ]


def test_a_ticket_of_another_office_does_not_exist_here(
    officer, office_b, counter_1, budi, opening
):
    opened(counter_1, budi)
    elsewhere = tickets.walk_in(office=office_b)

    response = officer.post(action_url(counter_1, "recall"), {"ticket": elsewhere.pk})

    assert messages_of(response) == [
        in_language("id", "That ticket does not exist at this office.")
    ]


@pytest.mark.parametrize("action", ["nonsense", "delete", "open-all"])
def test_an_unknown_action_is_404(officer, counter_1, budi, opening, action):
    opened(counter_1, budi)

    assert officer.post(action_url(counter_1, action)).status_code == 404


def test_actions_need_a_post(officer, counter_1, opening):
    assert officer.get(action_url(counter_1, "call")).status_code == 405


def test_an_officer_checks_in_a_booking_at_the_counter(
    client, budi, paid, office_a, counter_1, time_machine
):
    booking = book(paid)
    time_machine.move_to(open_moment(office_a, booking.slot.day, hour=7), tick=False)  # early
    officer = client
    officer.force_login(budi)  # after the clock moves: the session is fresh

    response = officer.post(
        action_url(counter_1, "check-in"), {"code": booking.code_display, "priority": "disabled"}
    )

    ticket = Ticket.objects.get()
    assert (ticket.label, ticket.priority, ticket.booking_id) == ("P-001", "disabled", booking.pk)
    assert ticket.issued_by.email == "budi@example.id"
    assert messages_of(response) == [
        in_language("id", "Ticket %(ticket)s issued.") % {"ticket": "P-001"}
    ]


def test_a_refused_check_in_at_the_counter_is_a_message(officer, counter_1, opening):
    response = officer.post(action_url(counter_1, "check-in"), {"code": "ZZZZ-ZZZZ"})

    assert response.status_code == 302
    assert messages_of(response) == [
        in_language("id", "No booking has the code %(code)s. Check the code on your slip.")
        % {"code": "ZZZZZZZZ"}
    ]
    assert not Ticket.objects.exists()


def test_an_empty_check_in_form_shows_the_error_next_to_the_field(officer, counter_1, opening):
    response = officer.post(action_url(counter_1, "check-in"), {"code": ""})

    assert response.status_code == 400
    assert in_language("id", "Type the 8-character booking code on your slip.") in page_text(
        response
    )


def test_an_officer_issues_walk_in_numbers(officer, counter_1, opening):
    officer.post(action_url(counter_1, "walk-in"), {"prefix": "W", "priority": ""})
    officer.post(action_url(counter_1, "walk-in"), {"prefix": "K", "priority": "elderly"})
    bad = officer.post(action_url(counter_1, "walk-in"), {"prefix": "P"})

    assert sorted(t.label for t in Ticket.objects.all()) == ["K-001", "W-001"]
    assert Ticket.objects.get(prefix="K").priority == "elderly"
    assert bad.status_code == 400


# --- The consultation agenda ----------------------------------------------------------------


@pytest.fixture
def consultations(ani, eko, office_a, office_b, settings):
    settings.VIDEO_MEETING_BASE_URL = "https://meet.imigrasi.example/"
    mine = bookings.booking_consultation(
        citizen=ani,
        office=office_a,
        slot_id=first_slot(office_a, purpose=Purpose.CONSULTATION).pk,
        topic="passport",
        question="Apakah paspor anak perlu hadir?",
    )
    theirs = bookings.booking_consultation(
        citizen=eko,
        office=office_b,
        slot_id=first_slot(office_b, purpose=Purpose.CONSULTATION).pk,
        topic="visa",
    )
    return mine, theirs


def test_the_agenda_lists_my_offices_consultations_with_the_room_link(
    officer, consultations, ani, eko
):
    mine, theirs = consultations

    response = officer.get("/petugas/konsultasi/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="https://meet.imigrasi.example/Imigrasi-{mine.room_token}"' in html
    assert ani.full_name in page_text(response)
    assert "Apakah paspor anak perlu hadir?" in page_text(response)
    assert theirs.room_token not in html
    assert eko.full_name not in page_text(response)
    assert "no-store" in response["Cache-Control"]


def test_the_other_office_sees_only_its_own(client, citra, consultations):
    mine, theirs = consultations
    client.force_login(citra)

    html = client.get("/petugas/konsultasi/").content.decode()

    assert theirs.room_token in html
    assert mine.room_token not in html


def test_cancelled_consultations_and_interviews_are_not_on_the_agenda(officer, consultations, paid):
    mine, _theirs = consultations
    type(mine).objects.filter(pk=mine.pk).update(status="cancelled")
    interview = book(paid)

    response = officer.get("/petugas/konsultasi/")

    html = response.content.decode()
    assert mine.room_token not in html
    assert interview.code not in html
    assert in_language("id", "No video consultations booked for the coming week.") in page_text(
        response
    )
