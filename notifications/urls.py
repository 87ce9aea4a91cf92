from __future__ import annotations

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("tandai-dibaca/", views.notification_mark_read, name="mark_read"),
    path("pengaturan/", views.preferences, name="preferences"),
    path("sms/tanda-terima", views.sms_receipt, name="sms_receipt"),
]
