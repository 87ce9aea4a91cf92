from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from accounts import forms, services
from accounts.models import PhoneVerification
from accounts.services import VerificationResult
from imigrasi import ratelimit
from imigrasi.errors import ServiceError, add_to_form


@require_http_methods(["GET", "POST"])
@ratelimit.limit("register")
def register(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = forms.RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_register(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                nik=data["nik"],
                date_of_birth=data["date_of_birth"],
                sex=data["sex"],
                phone=data["phone"],
                address=data["address"],
                preferred_language=request.LANGUAGE_CODE,
            )
        except (ServiceError, ValidationError) as error:
            add_to_form(form, error)
        else:
            request.session["registered_email"] = data["email"]
            return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form})


def register_done(request):
    email = request.session.get("registered_email")
    hours = settings.EMAIL_VERIFICATION_MAX_AGE // 3600
    return render(request, "accounts/register_done.html", {"email": email, "hours": hours})


def verify_email(request, token: str):
    result, _user = services.email_verify(token=token)
    if result in (VerificationResult.VERIFIED, VerificationResult.ALREADY):
        messages.success(
            request,
            _("Your email address is verified. You can log in now.")
            if result == VerificationResult.VERIFIED
            else _("This email address was already verified. You can log in."),
        )
        return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")
    status = 410 if result == VerificationResult.EXPIRED else 400
    return render(
        request,
        "accounts/verify_failed.html",
        {"expired": result == VerificationResult.EXPIRED, "form": forms.ResendVerificationForm()},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@ratelimit.limit("verification-resend")
def resend_verification(request):
    form = forms.ResendVerificationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.verification_resend(email=form.cleaned_data["email"])
        # Same answer whether or not the address has an account.
        messages.info(
            request,
            _(
                "If an unverified account uses this address, we have sent a new link. "
                "Check your inbox and spam folder."
            ),
        )
        return redirect("accounts:login")
    return render(request, "accounts/resend_verification.html", {"form": form})


@method_decorator(ratelimit.limit("login"), name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes' answer after 5 wrong passwords for one account from one address."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    initial = {
        "phone": user.phone,
        "address": user.address,
        "preferred_language": user.preferred_language,
    }
    form = forms.ProfileForm(
        request.POST if request.method == "POST" else None, initial=initial, user=user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(user=user, **form.cleaned_data)
        except (ServiceError, ValidationError) as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your profile has been saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def email_change(request):
    form = forms.EmailChangeForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.email_change_request(
                user=request.user, new_email=form.cleaned_data["new_email"]
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.info(
                request,
                _("We sent a link to %(email)s. Your email address changes when you open it.")
                % {"email": form.cleaned_data["new_email"]},
            )
            return redirect("accounts:profile")
    return render(request, "accounts/email_change.html", {"form": form})


def _phone_page(request, *, send_form, code_form, status=200):
    user = request.user
    context = {
        "send_form": send_form,
        "code_form": code_form,
        "pending": PhoneVerification.objects.pending_for(user) if user.phone else None,
    }
    return render(request, "accounts/phone_verify.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit.limit("phone-code-check", per="user")
def phone_verify(request):
    """Show whether the mobile number is verified; POST checks a typed code."""
    form = forms.PhoneCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.phone_verification_confirm(user=request.user, code=form.cleaned_data["code"])
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your mobile number is verified."))
            return redirect("accounts:profile")
    return _phone_page(request, send_form=forms.PhoneCodeSendForm(), code_form=form)


@login_required
@require_POST
@ratelimit.limit("phone-code-send")
def phone_code_send(request):
    send_form = forms.PhoneCodeSendForm(request.POST)
    try:
        services.phone_verification_start(user=request.user)
    except ServiceError as error:
        send_form.add_error(None, error.message)
        return _phone_page(request, send_form=send_form, code_form=forms.PhoneCodeForm())
    messages.info(
        request,
        _("We sent a code by SMS to %(phone)s. Type it below.") % {"phone": request.user.phone},
    )
    return redirect("accounts:phone_verify")


@require_POST
def set_language(request):
    """Django's language switch, remembered on the account when logged in."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated:
        services.language_remember(user=request.user, language=language)
    return response


def _reset_link_hours() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)


@method_decorator(ratelimit.limit("password-reset"), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    # The email is the notification event "account.password_reset": the form
    # hands it to notify(), which renders templates/email/account.password_reset.*.
    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        self.extra_email_context = {"hours": _reset_link_hours()}
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    extra_context = None

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "hours": _reset_link_hours()}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        # Opening the reset link proves the person reads this mailbox.
        services.email_mark_verified(user=form.user)
        return super().form_valid(form)
