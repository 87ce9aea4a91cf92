from __future__ import annotations

from applications.workflow import Status
from queueing import bookings, counters, tickets
from queueing.models import Booking, Ticket

from .conftest import first_slot, open_moment


def test_the_whole_day(paid, ani, budi, office_a, counter_1, client):
    slot = first_slot(office_a)
    booking = bookings.booking_interview(citizen=ani, application=paid, slot_id=slot.pk)
    paid.refresh_from_db()
    assert paid.status == Status.SCHEDULED
    slot.refresh_from_db()
    assert slot.booked == 1
    moment = open_moment(office_a, slot.day)
    ticket = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    assert ticket.label == "P-001"
    again = tickets.check_in(office=office_a, scanned=booking.code, now=moment)
    assert again.pk == ticket.pk
    walk = tickets.walk_in(office=office_a, now=moment)
    assert walk.label == "W-001"
    counters.shift_open(counter=counter_1, officer=budi, prefixes=["P", "W"])
    called = counters.call_next(counter=counter_1, officer=budi, now=moment)
    assert called.pk == ticket.pk
    counters.start(counter=counter_1, officer=budi, ticket_id=called.pk, now=moment)
    counters.finish(counter=counter_1, officer=budi, ticket_id=called.pk, now=moment)
    paid.refresh_from_db()
    assert paid.status == Status.INTERVIEWED
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.ATTENDED
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.DONE


def test_pages_render(paid, ani, budi, office_a, counter_1, client):
    client.force_login(ani)
    response = client.get(f"/permohonan/{paid.reference}/wawancara/")
    assert response.status_code == 200, response.content[:2000]
    slot = first_slot(office_a)
    response = client.get(f"/permohonan/{paid.reference}/wawancara/?hari={slot.day:%Y-%m-%d}")
    assert response.status_code == 200
    response = client.post(
        f"/permohonan/{paid.reference}/wawancara/?hari={slot.day:%Y-%m-%d}", {"slot": slot.pk}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    booking = Booking.objects.get()
    assert client.get(booking.get_absolute_url()).status_code == 200
    assert (
        client.get(f"/janji-temu/{booking.code}/ubah/?hari={slot.day:%Y-%m-%d}").status_code == 200
    )
    pdf = client.get(f"/janji-temu/{booking.code}/bukti.pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    assert client.get("/janji-temu/").status_code == 200
    assert client.get("/janji-temu/daftar-tunggu/").status_code == 200
    assert client.get("/konsultasi/").status_code == 200
    assert client.get(f"/konsultasi/?office={office_a.code}").status_code == 200
    assert client.get(paid.get_absolute_url()).status_code == 200
    client.logout()
    assert client.get(f"/antrian/{office_a.code}/layar/").status_code == 200
    r = client.get(f"/antrian/{office_a.code}/layar/isi/")
    assert r.status_code == 200
    r2 = client.get(f"/antrian/{office_a.code}/layar/isi/", HTTP_IF_NONE_MATCH=r["ETag"])
    assert r2.status_code == 304
    assert client.get(f"/antrian/{office_a.code}/kiosk/").status_code == 403
    client.force_login(budi)
    assert client.get("/petugas/loket/").status_code == 200
    assert client.get(f"/petugas/loket/{counter_1.pk}/").status_code == 200
    assert client.get("/petugas/konsultasi/").status_code == 200
    assert client.get(f"/antrian/{office_a.code}/kiosk/").status_code == 200
