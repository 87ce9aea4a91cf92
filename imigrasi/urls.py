from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts.views import set_language
from applications import public
from imigrasi import views

admin.site.site_header = _("Imigrasi: officers' console")
admin.site.site_title = _("Imigrasi")
admin.site.index_title = _("Operations")

urlpatterns = [
    path("", views.home, name="home"),
    path("privasi/", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("akun/", include("accounts.urls")),
    path("", include("applications.urls")),
    path("", include("payments.urls")),
    path("", include("queueing.urls")),
    path("cek-status/", public.status_check, name="status_check"),
    path("cek-dokumen/<str:token>/", public.verify, name="verify"),
    path("notifikasi/", include("notifications.urls")),
    # The admin's "view on site" shortcut (/admin/r/<type>/<id>/) redirects any
    # staff account to any object's public URL: applications are scoped to an
    # office, so the shortcut is not offered.
    path("admin/r/<int:content_type_id>/<path:object_id>/", views.not_found),
    path("admin/", admin.site.urls),
]

if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/hello", views.hello, name="bench_hello"))
