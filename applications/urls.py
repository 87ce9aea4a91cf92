from __future__ import annotations

from django.urls import path

from applications import views

app_name = "applications"

urlpatterns = [
    path("layanan/", views.catalogue, name="catalogue"),
    path("layanan/<slug:code>/", views.service_detail, name="service"),
    path("layanan/<slug:code>/ajukan/", views.start, name="start"),
    path("permohonan/", views.dashboard, name="dashboard"),
    path("permohonan/<str:reference>/", views.application_detail, name="detail"),
    path("permohonan/<str:reference>/langkah/<int:number>/", views.step, name="step"),
    path(
        "permohonan/<str:reference>/dokumen/<int:requirement_id>/unggah/",
        views.document_upload,
        name="upload",
    ),
    path(
        "permohonan/<str:reference>/dokumen/<int:document_id>/",
        views.document_download,
        name="document",
    ),
    path("permohonan/<str:reference>/tanda-terima.pdf", views.receipt_download, name="receipt"),
    path("permohonan/<str:reference>/kirim-ulang/", views.resubmit, name="resubmit"),
    path("permohonan/<str:reference>/batalkan/", views.cancel, name="cancel"),
    path("permohonan/<str:reference>/pengambilan/", views.delivery, name="delivery"),
    path("akun/keluarga/", views.family, name="family"),
    path("akun/keluarga/tambah/", views.family_edit, name="family_add"),
    path("akun/keluarga/<int:person_id>/", views.family_edit, name="family_edit"),
    path("akun/keluarga/<int:person_id>/hapus/", views.family_delete, name="family_delete"),
]
