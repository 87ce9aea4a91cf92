"""Account security pages: two-factor set-up and verification, backup codes, re-authentication."""

from __future__ import annotations

import functools
import time
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

import audit
from accounts import forms, twofactor
from accounts.services import sessions_end_all
from accounts.sessions import AUTH_AT, ENROLLED, REAUTH_AT
from imigrasi import ratelimit
from imigrasi.pdf import qr_data_uri


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: `redirect()` would take a bare word for a URL name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _home_for(user) -> str:
    return reverse("admin:index") if user.is_staff else reverse("accounts:profile")


def recently_authenticated(request) -> bool:
    """The password was typed within REAUTH_SECONDS (at login or on the confirm page)."""
    last = max(request.session.get(AUTH_AT, 0), request.session.get(REAUTH_AT, 0))
    return time.time() - last <= settings.REAUTH_SECONDS


def recent_password_required(view):
    """Changing how the account is protected needs the password again (TRUST.md)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not recently_authenticated(request):
            # A refused POST comes back to the security page, not to a POST-only URL.
            back = (
                request.get_full_path() if request.method == "GET" else reverse("accounts:security")
            )
            query = urlencode({"next": back})
            return redirect(f"{reverse('accounts:reauth')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauth(request):  # wrong passwords are limited per account in the form
    form = forms.PasswordConfirmForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        request.session[REAUTH_AT] = int(time.time())
        return redirect(_safe_next(request, reverse("accounts:security")))
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "next": _safe_next(request, "")},
    )


@never_cache
@login_required
def security(request):
    user = request.user
    return render(
        request,
        "accounts/security.html",
        {
            "enrolled": twofactor.is_enrolled(user),
            "backup_left": twofactor.backup_codes_left(user),
            "may_disable": not user.is_staff,
        },
    )


def _show_backup_codes(request, codes: list[str]):
    response = render(request, "accounts/two_factor_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@recent_password_required
def two_factor_setup(request):
    user = request.user
    if twofactor.is_enrolled(user) and not user.is_verified():
        # Adding an app is no way around the code of the app already set up.
        return redirect(f"{reverse('accounts:two_factor_verify')}?{request.GET.urlencode()}")
    device = twofactor.pending_device(user)
    form = forms.OtpSetupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.enrol_confirm(user, device, form.cleaned_data["token"])
        if codes is None:
            form.add_error(
                "token",
                _(
                    "That code is not right. Check that the phone's clock is correct, "
                    "wait for a new code and type it."
                ),
            )
        else:
            device.refresh_from_db()
            django_otp.login(request, device)
            request.session[ENROLLED] = True
            request.session.cycle_key()
            # A session opened elsewhere with the password alone (perhaps by
            # whoever prompted the set-up) does not carry on past it.
            sessions_end_all(user, except_key=request.session.session_key)
            audit.record("two_factor_enrolled", obj=user, by=user, label=f"#{user.pk}")
            messages.success(request, _("Two-step verification is on."))
            return _show_backup_codes(request, codes)
    secret = device.config_url.split("secret=", 1)[1].split("&", 1)[0]
    response = render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr": qr_data_uri(device.config_url),
            # Grouped in fours for people who type it instead of scanning.
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": _safe_next(request, ""),
            "required": user.is_staff,
        },
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    user = request.user
    if user.is_verified():
        return redirect(_safe_next(request, _home_for(user)))
    if not twofactor.is_enrolled(user):
        if not user.is_staff:
            # Turned off meanwhile (another device): nothing left to verify.
            request.session.pop(ENROLLED, None)
            return redirect(_safe_next(request, _home_for(user)))
        return redirect(f"{reverse('accounts:two_factor_setup')}?{request.GET.urlencode()}")
    form = forms.OtpTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        attempts, window = settings.RATE_LIMITS["otp-verify"]
        for key in (f"ip:{ratelimit.client_ip(request)}", f"user:{user.pk}"):
            if not ratelimit.hit("otp-verify", key, limit=attempts, window=window):
                return ratelimit.too_many(request, window=window)
        if form.is_valid():
            device = twofactor.verify(user, form.cleaned_data["token"])
            if device is None:
                if user.is_staff:
                    audit.record("two_factor_failed", obj=user, by=user, label=f"#{user.pk}")
                form.add_error(
                    "token",
                    _(
                        "That code is not right or has been used. Wait for a new code, "
                        "or use one of your backup codes."
                    ),
                )
            else:
                django_otp.login(request, device)
                request.session.cycle_key()
                return redirect(_safe_next(request, _home_for(user)))
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _safe_next(request, "")},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@require_POST
@recent_password_required
def backup_codes_renew(request):
    if not (twofactor.is_enrolled(request.user) and request.user.is_verified()):
        return redirect("accounts:security")
    return _show_backup_codes(request, twofactor.backup_codes_renew(request.user))


@never_cache
@login_required
@require_POST
@recent_password_required
def two_factor_disable(request):
    user = request.user
    if user.is_staff:
        messages.error(request, _("Staff accounts must keep two-step verification on."))
        return redirect("accounts:security")
    if twofactor.is_enrolled(user) and user.is_verified():
        twofactor.two_factor_reset(user=user, by=user, except_key=request.session.session_key)
        request.session.pop(ENROLLED, None)
        messages.success(request, _("Two-step verification is off."))
    return redirect("accounts:security")
