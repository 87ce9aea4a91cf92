from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("permohonan/<str:reference>/pembayaran/", views.pay, name="pay"),
    path("permohonan/<str:reference>/pembayaran/kode-baru/", views.reissue, name="reissue"),
    path("pembayaran/", views.history, name="history"),
    path("pembayaran/<str:code>/bukti.pdf", views.receipt_download, name="receipt"),
    path("pembayaran/webhook/<str:provider>/", views.webhook, name="webhook"),
    path("sandbox/bayar/<str:code>/<str:method>/", views.sandbox_page, name="sandbox"),
]
