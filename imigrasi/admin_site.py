"""The officers' console behind two-factor authentication (TRUST.md, "Identity and sessions").

`StaffAdminSite` is django-otp's OTPAdminSite: a staff account that has not
been verified by a device this session is treated as not staff. There is one
way in for everybody: the portal's own login, then the second-factor page
(`accounts:two_factor_verify`); the admin's login URL sends people there.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class StaffAdminSite(OTPAdminSite):
    def __init__(self, name="admin"):
        super().__init__(name)

    def login(self, request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index")
        user = request.user
        if user.is_active and user.is_authenticated:
            # Logged in but not (yet) allowed: finish two-factor, or not staff at all.
            if user.is_staff and not user.is_verified():
                page = "accounts:two_factor_verify"
            else:
                page = "accounts:profile"
                target = ""
            url = reverse(page)
        else:
            url = reverse("accounts:login")
        return HttpResponseRedirect(f"{url}?{urlencode({'next': target})}" if target else url)
