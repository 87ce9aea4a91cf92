"""The kiosk: a browser an officer enabled (or an officer) takes numbers; bad input is a 400."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from queueing.models import Quota, Ticket
from queueing.views.public import KIOSK_COOKIE, KIOSK_SALT
from tests.utils import in_language, page_text

from .conftest import book, open_moment


@pytest.fixture
def opening(office_a, time_machine):
    """10.00 on the office's next working day: the kiosk is open."""
    moment = open_moment(office_a)
    time_machine.move_to(moment, tick=False)
    return moment


def kiosk_url(office, part: str = "") -> str:
    return f"/antrian/{office.code}/kiosk/{part}"


def enabled_cookie(office, officer) -> str:
    """What an officer's "use this browser as the kiosk" button leaves in the browser."""
    client = Client()
    client.force_login(officer)
    response = client.post(f"/petugas/kiosk/{office.code}/")
    assert response.status_code == 302, response
    return response.cookies[KIOSK_COOKIE].value


def device(cookie: str) -> Client:
    """An anonymous browser carrying `cookie` (nobody signed in)."""
    client = Client()
    client.cookies[KIOSK_COOKIE] = cookie
    return client


@pytest.fixture
def kiosk(office_a, budi, opening) -> Client:
    return device(enabled_cookie(office_a, budi))


def field_error(response, field: str) -> str:
    """The error text shown right under `field` (its invalid-feedback block)."""
    match = re.search(
        rf'<div id="\w*{field}-error" class="invalid-feedback[^"]*">(.*?)</div>',
        page_text(response),
        re.S,
    )
    assert match, f"no error shown next to {field!r}"
    return match.group(1).strip()


LOCKED = "This device is not a kiosk"


# --- Who may use the kiosk ------------------------------------------------------------------


def test_an_ordinary_browser_is_told_it_is_not_a_kiosk(client, office_a, opening):
    response = client.get(kiosk_url(office_a))

    assert response.status_code == 403
    text = page_text(response)
    assert in_language("id", LOCKED) in text
    assert f"/antrian/{office_a.code}/layar/" in text  # points to the board instead


@pytest.mark.parametrize("part", ["masuk/", "ambil/"])
def test_an_ordinary_browser_cannot_take_a_number(client, office_a, opening, part):
    response = client.post(kiosk_url(office_a, part), {"code": "ABCD-EFGH", "prefix": "W"})

    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_a_signed_in_citizen_is_not_a_kiosk(client, office_a, ani, opening):
    client.force_login(ani)

    assert client.get(kiosk_url(office_a)).status_code == 403
    assert client.post(kiosk_url(office_a, "ambil/"), {"prefix": "W"}).status_code == 403
    assert not Ticket.objects.exists()


def test_an_officer_of_the_office_may_use_the_kiosk_page(client, office_a, budi, opening):
    client.force_login(budi)

    assert client.get(kiosk_url(office_a)).status_code == 200


def test_an_officer_of_another_office_may_not(client, office_a, citra, opening):
    client.force_login(citra)

    assert client.get(kiosk_url(office_a)).status_code == 403
    assert client.post(kiosk_url(office_a, "ambil/"), {"prefix": "W"}).status_code == 403


def test_an_officer_enables_the_kiosk_with_a_lasting_http_only_cookie(
    client, office_a, budi, opening
):
    client.force_login(budi)

    response = client.post(f"/petugas/kiosk/{office_a.code}/")

    assert response.status_code == 302
    assert response["Location"] == kiosk_url(office_a)
    cookie = response.cookies[KIOSK_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) > 30 * 24 * 3600
    assert office_a.code in str(signing.loads(cookie.value, salt=KIOSK_SALT))  # signed


def test_the_enabled_browser_works_without_anyone_signed_in(kiosk, office_a):
    page = kiosk.get(kiosk_url(office_a))
    response = kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": "W", "priority": ""})

    assert page.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.label == "W-001"
    assert ticket.issued_by is None
    assert response.status_code == 302
    assert response["Location"] == f"/antrian/tiket/{ticket.token}/?cetak=1"
    assert kiosk.get(response["Location"]).status_code == 200


def test_a_kiosk_of_office_a_does_not_open_office_b(office_a, office_b, budi, opening):
    browser = device(enabled_cookie(office_a, budi))

    assert browser.get(kiosk_url(office_b)).status_code == 403
    assert browser.post(kiosk_url(office_b, "ambil/"), {"prefix": "W"}).status_code == 403
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "forged",
    [
        lambda office: office.code,
        lambda office: signing.dumps(office.code, salt="another.salt"),
        lambda office: signing.dumps([office.code, 1], salt="another.salt"),
        lambda office: signing.dumps(office.code, salt=KIOSK_SALT, key="not-the-secret-key"),
        lambda office: "x" * 300,
    ],
    ids=["bare-code", "other-salt", "other-salt-list", "other-key", "garbage"],
)
def test_a_forged_cookie_is_refused(office_a, opening, forged):
    browser = device(forged(office_a))

    assert browser.get(kiosk_url(office_a)).status_code == 403
    assert browser.post(kiosk_url(office_a, "ambil/"), {"prefix": "W"}).status_code == 403
    assert not Ticket.objects.exists()


def test_only_officers_of_the_office_enable_its_kiosk(client, office_a, citra, ani, opening):
    assert client.post(f"/petugas/kiosk/{office_a.code}/").status_code == 302  # to log in
    client.force_login(ani)
    assert client.post(f"/petugas/kiosk/{office_a.code}/").status_code == 403
    client.force_login(citra)
    response = client.post(f"/petugas/kiosk/{office_a.code}/")
    assert response.status_code == 404
    assert KIOSK_COOKIE not in response.cookies


def test_enabling_needs_a_post(client, office_a, budi, opening):
    client.force_login(budi)

    assert client.get(f"/petugas/kiosk/{office_a.code}/").status_code == 405


def test_enabling_the_kiosk_signs_the_officer_out_of_that_browser(client, office_a, budi, opening):
    client.force_login(budi)

    client.post(f"/petugas/kiosk/{office_a.code}/")

    assert client.get("/petugas/loket/").status_code == 302  # to the login page
    assert client.get(kiosk_url(office_a)).status_code == 200  # as the kiosk


def test_an_officer_can_stop_using_a_browser_as_the_kiosk(client, office_a, budi, opening):
    client.force_login(budi)
    client.post(f"/petugas/kiosk/{office_a.code}/")
    client.force_login(budi)

    response = client.post(f"/petugas/kiosk/{office_a.code}/", {"disable": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/petugas/loket/"
    assert response.cookies[KIOSK_COOKIE].value == ""
    client.logout()
    assert client.get(kiosk_url(office_a)).status_code == 403


def test_retiring_the_kiosks_refuses_every_enabled_browser(
    client, office_a, office_b, budi, citra, opening
):
    kiosk_a = device(enabled_cookie(office_a, budi))
    kiosk_b = device(enabled_cookie(office_b, citra))
    client.force_login(budi)

    response = client.post(f"/petugas/kiosk/{office_a.code}/", {"revoke": "1"})

    assert response.status_code == 302
    assert kiosk_a.get(kiosk_url(office_a)).status_code == 403
    assert kiosk_a.post(kiosk_url(office_a, "ambil/"), {"prefix": "W"}).status_code == 403
    assert kiosk_b.get(kiosk_url(office_b)).status_code == 200  # another office's kiosk
    assert device(enabled_cookie(office_a, budi)).get(kiosk_url(office_a)).status_code == 200
    assert not Ticket.objects.exists()


def test_an_officer_of_another_office_cannot_retire_its_kiosks(
    client, office_a, budi, citra, opening
):
    kiosk_a = device(enabled_cookie(office_a, budi))
    client.force_login(citra)

    assert client.post(f"/petugas/kiosk/{office_a.code}/", {"revoke": "1"}).status_code == 404
    assert kiosk_a.get(kiosk_url(office_a)).status_code == 200


# --- Checking in at the kiosk ---------------------------------------------------------------


def test_a_booked_citizen_checks_in_and_lands_on_the_ticket_page(
    paid, office_a, budi, time_machine
):
    booking = book(paid)
    time_machine.move_to(open_moment(office_a, booking.slot.day), tick=False)
    browser = device(enabled_cookie(office_a, budi))

    response = browser.post(
        kiosk_url(office_a, "masuk/"), {"code": booking.code_display.lower(), "priority": ""}
    )

    ticket = Ticket.objects.get()
    assert (ticket.label, ticket.booking_id) == ("P-001", booking.pk)
    assert response.status_code == 302
    assert response["Location"] == f"{ticket.get_absolute_url()}?cetak=1"


def test_an_unknown_code_is_shown_next_to_the_field_and_kept(kiosk, office_a):
    response = kiosk.post(kiosk_url(office_a, "masuk/"), {"code": "zzzz-zzzz", "priority": ""})

    assert response.status_code == 400
    assert field_error(response, "code") == in_language(
        "id", "No booking has the code %(code)s. Check the code on your slip."
    ) % {"code": "ZZZZZZZZ"}
    assert re.search(r'name="code"[^>]*value="zzzz-zzzz"', response.content.decode())
    assert not Ticket.objects.exists()


def test_an_empty_code_is_shown_next_to_the_field(kiosk, office_a):
    response = kiosk.post(kiosk_url(office_a, "masuk/"), {"code": "", "priority": ""})

    assert response.status_code == 400
    assert field_error(response, "code") == in_language(
        "id", "Type the 8-character booking code on your slip."
    )


def test_a_booking_of_another_office_is_refused_at_the_kiosk(
    paid, office_a, office_b, citra, time_machine
):
    booking = book(paid)
    time_machine.move_to(open_moment(office_a, booking.slot.day), tick=False)
    browser = device(enabled_cookie(office_b, citra))

    response = browser.post(kiosk_url(office_b, "masuk/"), {"code": booking.code})

    assert response.status_code == 400
    assert office_a.name in field_error(response, "code")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "code",
    [
        "x" * 501,
        "\x00ABCD",
        "ＡＢＣＤ－１２３４",
        "https://portal.example/verifikasi/not-a-token/",
        "'; DROP TABLE queueing_ticket; --",
        "<script>alert(1)</script>",
    ],
    ids=["too-long", "nul", "full-width", "bad-link", "sql", "html"],
)
def test_odd_codes_are_a_400_never_a_500(kiosk, office_a, code):
    response = kiosk.post(kiosk_url(office_a, "masuk/"), {"code": code, "priority": ""})

    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not Ticket.objects.exists()


def test_an_unknown_priority_is_shown_next_to_its_field(kiosk, office_a):
    response = kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": "W", "priority": "vip"})

    assert response.status_code == 400
    assert field_error(response, "priority")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("prefix", ["", "P", "V", "Z"])
def test_a_walk_in_must_choose_what_they_came_for(kiosk, office_a, prefix):
    response = kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": prefix, "priority": ""})

    assert response.status_code == 400
    assert field_error(response, "prefix")
    assert not Ticket.objects.exists()


def test_a_priority_walk_in_at_the_kiosk(kiosk, office_a):
    kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": "K", "priority": "infant"})

    ticket = Ticket.objects.get()
    assert (ticket.label, ticket.priority) == ("K-001", Ticket.Priority.INFANT)


def test_a_full_walk_in_quota_is_explained_on_the_kiosk(kiosk, office_a):
    Quota.objects.update_or_create(office=office_a, defaults={"same_day_quota": 0})

    response = kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": "W", "priority": ""})

    assert response.status_code == 400
    assert not Ticket.objects.exists()
    assert in_language(
        "id",
        "Today's walk-in places are all taken. Book an appointment online for another "
        "day, or ask an officer.",
    ) in page_text(response)


def test_a_full_priority_quota_is_explained_next_to_the_priority_field(kiosk, office_a):
    Quota.objects.update_or_create(office=office_a, defaults={"priority_quota": 0})

    response = kiosk.post(kiosk_url(office_a, "ambil/"), {"prefix": "W", "priority": "elderly"})

    assert response.status_code == 400
    assert field_error(response, "priority") == in_language(
        "id",
        "Today's priority places are all taken. Please ask an officer at the information "
        "desk: they will help you.",
    )
    assert not Ticket.objects.exists()


def test_outside_opening_hours_the_kiosk_says_it_is_closed(office_a, budi, opening, time_machine):
    browser = device(enabled_cookie(office_a, budi))
    time_machine.move_to(opening.replace(hour=17), tick=False)

    page = browser.get(kiosk_url(office_a))
    refused = browser.post(kiosk_url(office_a, "ambil/"), {"prefix": "W", "priority": ""})

    assert page.status_code == 200
    assert in_language("id", "The kiosk is closed.") in page_text(page)
    assert 'name="prefix"' not in page.content.decode()
    assert refused.status_code == 400
    assert not Ticket.objects.exists()


def test_every_element_id_on_the_kiosk_page_is_unique(kiosk, office_a):
    ids = re.findall(r'\bid="([^"]+)"', kiosk.get(kiosk_url(office_a)).content.decode())

    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
