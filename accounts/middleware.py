from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts.sessions import AUTH_AT, ENROLLED, SEEN_AT


def _go(request, url: str):
    # htmx would swap a redirected page into a fragment: make the browser navigate instead.
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _with_next(request, url: str) -> str:
    if request.method == "GET" and not getattr(request, "htmx", False):
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url


class UserLanguageMiddleware:
    """A logged-in user sees pages in the language saved on their account.

    Runs after AuthenticationMiddleware; LocaleMiddleware has already
    chosen from the cookie or Accept-Language for anonymous visitors.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.preferred_language:
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        return self.get_response(request)


class SessionLimitsMiddleware:
    """Ends a session after inactivity (15 minutes for staff, 30 for citizens)
    and after SESSION_COOKIE_AGE in all, whatever the activity. The session is
    flushed server-side, so its cookie is worthless afterwards."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            session = request.session
            now = int(time.time())
            idle = (
                settings.STAFF_SESSION_IDLE_SECONDS
                if user.is_staff
                else settings.SESSION_IDLE_SECONDS
            )
            seen = session.get(SEEN_AT)
            started = session.setdefault(AUTH_AT, now)
            if (seen is not None and now - seen > idle) or (
                now - started > settings.SESSION_COOKIE_AGE
            ):
                logout(request)
                messages.info(
                    request,
                    _("You were logged out because the page was left unused. Please log in again."),
                )
                return _go(request, _with_next(request, reverse("accounts:login")))
            if seen is None or now - seen >= 60:
                session[SEEN_AT] = now
        return self.get_response(request)


# Pages a logged-in person may open before the second factor is done.
OPEN_BEFORE_SECOND_FACTOR = frozenset(
    {
        "accounts:two_factor_verify",
        "accounts:two_factor_setup",
        "accounts:reauth",
        "accounts:logout",
        "set_language",
        "healthz",
        "csp_report",
        "javascript-catalog",
    }
)


class SecondFactorMiddleware:
    """Staff (and citizens who turned it on) reach nothing else until a device verified them.

    Staff without a device are sent to set one up; the admin site checks
    verification again (imigrasi.admin_site), as do staff views.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and (user.is_staff or request.session.get(ENROLLED))
            and not user.is_verified()
            and not request.path_info.startswith(settings.STATIC_URL)
        ):
            try:
                name = resolve(request.path_info).view_name
            except Resolver404:
                name = ""
            if name not in OPEN_BEFORE_SECOND_FACTOR:
                return _go(request, _with_next(request, reverse("accounts:two_factor_verify")))
        return self.get_response(request)
