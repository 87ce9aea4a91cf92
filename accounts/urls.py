from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views, views_privacy, views_security

app_name = "accounts"

urlpatterns = [
    path("daftar/", views.register, name="register"),
    path("daftar/selesai/", views.register_done, name="register_done"),
    path("verifikasi/kirim-ulang/", views.resend_verification, name="resend_verification"),
    path("verifikasi/<str:token>/", views.verify_email, name="verify_email"),
    path("masuk/", views.LoginView.as_view(), name="login"),
    path("keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("profil/", views.profile, name="profile"),
    path("data-saya/", views_privacy.my_data, name="my_data"),
    path("hapus/", views_privacy.delete_account, name="delete_account"),
    path("hapus/selesai/", views_privacy.delete_account_done, name="delete_account_done"),
    path("keamanan/", views_security.security, name="security"),
    path("keamanan/konfirmasi-sandi/", views_security.reauth, name="reauth"),
    path(
        "keamanan/verifikasi-2-langkah/", views_security.two_factor_verify, name="two_factor_verify"
    ),
    path("keamanan/atur-2-langkah/", views_security.two_factor_setup, name="two_factor_setup"),
    path("keamanan/kode-cadangan/", views_security.backup_codes_renew, name="backup_codes_renew"),
    path(
        "keamanan/matikan-2-langkah/", views_security.two_factor_disable, name="two_factor_disable"
    ),
    path("profil/email/", views.email_change, name="email_change"),
    path("profil/nomor-hp/", views.phone_verify, name="phone_verify"),
    path("profil/nomor-hp/kirim-kode/", views.phone_code_send, name="phone_code_send"),
    path(
        "profil/kata-sandi/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "profil/kata-sandi/selesai/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("lupa-sandi/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "lupa-sandi/terkirim/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "lupa-sandi/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "lupa-sandi/selesai/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
