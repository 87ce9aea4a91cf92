from django.urls import path

from queueing.views import citizen, public, staff

app_name = "queueing"

urlpatterns = [
    # Citizens
    path("permohonan/<str:reference>/wawancara/", citizen.book_interview, name="book"),
    path("janji-temu/", citizen.appointments, name="appointments"),
    path("janji-temu/daftar-tunggu/", citizen.waitlist, name="waitlist"),
    path("janji-temu/daftar-tunggu/gabung/", citizen.waitlist_join, name="waitlist_join"),
    path(
        "janji-temu/daftar-tunggu/<int:pk>/terima/", citizen.waitlist_accept, name="waitlist_accept"
    ),
    path(
        "janji-temu/daftar-tunggu/<int:pk>/keluar/", citizen.waitlist_leave, name="waitlist_leave"
    ),
    path("janji-temu/<str:code>/", citizen.booking_detail, name="booking"),
    path("janji-temu/<str:code>/ubah/", citizen.booking_reschedule, name="reschedule"),
    path("janji-temu/<str:code>/batal/", citizen.booking_cancel, name="cancel"),
    path("janji-temu/<str:code>/bukti.pdf", citizen.slip, name="slip"),
    path("konsultasi/", citizen.book_consultation, name="consultation"),
    # In the office (public board, enabled kiosk devices, the ticket's own page)
    path("antrian/<str:office_code>/layar/", public.board_page, name="board"),
    path("antrian/<str:office_code>/layar/isi/", public.board_content, name="board_content"),
    path("antrian/<str:office_code>/kiosk/", public.kiosk, name="kiosk"),
    path("antrian/<str:office_code>/kiosk/masuk/", public.kiosk_check_in, name="kiosk_check_in"),
    path("antrian/<str:office_code>/kiosk/ambil/", public.kiosk_walk_in, name="kiosk_walk_in"),
    path("antrian/tiket/<str:token>/", public.ticket_page, name="ticket"),
    # Officers
    path("petugas/loket/", staff.counter_list, name="counters"),
    path("petugas/loket/<int:pk>/", staff.counter_page, name="counter"),
    path("petugas/loket/<int:pk>/<slug:action>/", staff.counter_action, name="counter_action"),
    path("petugas/kiosk/<str:office_code>/", staff.kiosk_enable, name="kiosk_enable"),
    path("petugas/konsultasi/", staff.agenda, name="agenda"),
]
