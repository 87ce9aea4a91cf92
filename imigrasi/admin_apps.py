"""The admin app, with its default site behind two-factor authentication.

Kept apart from imigrasi.admin_site: app configs load before models, and the
site class imports django-otp's models.
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "imigrasi.admin_site.StaffAdminSite"
