from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import identity
from accounts.models import User
from notifications.models import Channel
from notifications.services import notify

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]


class DateOfBirthField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d")

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", DATE_INPUT_FORMATS)
        kwargs.setdefault("label", _("Date of birth"))
        kwargs.setdefault("help_text", _("As on your KTP, for example 1990-05-12 or 12/05/1990."))
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value and value > timezone.localdate():
            raise ValidationError(gettext("The date of birth cannot be in the future."))
        if value and value < dt.date(1900, 1, 1):
            raise ValidationError(gettext("Check the year of birth."))


class NikField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("NIK (16 digits, on your KTP)"))
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = identity.normalise_nik(super().clean(value) or "")
        if not value and not self.required:
            return ""
        identity.parse_nik(value)
        return value


class MobilePhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Mobile phone number"))
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("help_text", _("For SMS updates, for example 0812 3456 7890."))
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return identity.normalise_mobile(value) if value else value


class RegistrationForm(forms.Form):
    """Citizen sign-up. Status, staff flags and office never come from here."""

    full_name = forms.CharField(
        label=_("Full name (as on your KTP)"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    nik = NikField()
    date_of_birth = DateOfBirthField()
    sex = forms.ChoiceField(label=_("Sex"), choices=User.Sex.choices, widget=forms.RadioSelect)
    phone = MobilePhoneField()
    address = forms.CharField(
        label=_("Address"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. A short sentence is easy to remember."),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    privacy_consent = forms.BooleanField(label=_("I agree"), required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["privacy_consent"].label = format_html(
            gettext(
                'I have read and agree to the <a href="{url}">privacy notice</a> '
                "(UU PDP No. 27/2022)."
            ),
            url=reverse("privacy"),
        )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", gettext("The two passwords do not match."))
        elif password1:
            candidate = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        "invalid_login": _(
            "The email address or password is wrong. Note that the password is case-sensitive."
        ),
        "inactive": _("This account has been deactivated. Contact the immigration office."),
    }

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.is_email_verified:
            raise ValidationError(
                format_html(
                    gettext(
                        "Your email address is not verified yet. Open the link we sent you, "
                        'or <a href="{url}">send a new verification link</a>.'
                    ),
                    url=reverse("accounts:resend_verification"),
                ),
                code="unverified",
            )


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)


class CurrentPasswordMixin:
    """A `password` field checked against the account: re-authentication inside the form.

    Wrong passwords are counted per account (RATE_LIMITS["reauth"]), so the
    field cannot be used to guess a password that the login lockout guards.
    """

    def _check_current_password(self, password: str) -> None:
        from django.conf import settings

        from imigrasi import ratelimit

        attempts, window = settings.RATE_LIMITS["reauth"]
        if ratelimit.count("reauth", f"user:{self.user.pk}", window=window) >= attempts:
            raise ValidationError(
                gettext("Too many wrong passwords. Wait %(minutes)d minutes and try again.")
                % {"minutes": window // 60}
            )
        if not self.user.check_password(password):
            ratelimit.hit("reauth", f"user:{self.user.pk}", limit=attempts, window=window)
            raise ValidationError(gettext("The password is wrong."))


class ProfileForm(CurrentPasswordMixin, forms.Form):
    phone = MobilePhoneField()
    address = forms.CharField(
        label=_("Address"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    preferred_language = forms.ChoiceField(
        label=_("Language for pages, emails and SMS"), choices=User.Language.choices
    )
    # Re-authentication before the number that receives codes and updates changes.
    password = forms.CharField(
        label=_("Your current password"),
        required=False,
        strip=False,
        help_text=_("Needed only when you change your mobile number."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        phone = cleaned.get("phone")
        if phone is not None and phone != self.user.phone and "password" not in self.errors:
            password = cleaned.get("password") or ""
            try:
                if not password:
                    raise ValidationError(
                        gettext("Type your current password to change your mobile number.")
                    )
                self._check_current_password(password)
            except ValidationError as error:
                self.add_error("password", error)
        cleaned.pop("password", None)
        return cleaned


class EmailChangeForm(CurrentPasswordMixin, forms.Form):
    new_email = forms.EmailField(label=_("New email address"), max_length=254)
    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        self._check_current_password(password)
        return password


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(label=_("Email address"), max_length=254)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        """Queue the reset link through the notification outbox.

        Django's template names are ignored: the event's templates
        (`templates/email/account.password_reset.*`) are rendered by notify()
        in the account's language, not the browser's. Django only calls this
        for active accounts with a usable password, and the view answers the
        same whether or not it was called.
        """
        notify(
            context["user"],
            "account.password_reset",
            {
                "protocol": context["protocol"],
                "domain": context["domain"],
                "uid": context["uid"],
                "token": context["token"],
                "hours": context["hours"],
            },
            channels=(Channel.EMAIL,),
        )


class PhoneCodeSendForm(forms.Form):
    """No fields: the button. It carries a refusal (e.g. the resend limit)."""


class SixDigitCodeField(forms.CharField):
    """A one-time code of six digits (SMS or authenticator app), spaces forgiven."""

    widget = forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "size": 8}
    )

    def __init__(self, *, invalid_message, **kwargs):
        self.invalid_message = invalid_message
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        code = "".join(super().clean(value).split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise ValidationError(str(self.invalid_message))
        return code


class PhoneCodeForm(forms.Form):
    code = SixDigitCodeField(
        label=_("Code from the SMS"),
        max_length=20,
        help_text=_("6 digits. The code is valid for 10 minutes."),
        invalid_message=_("Type the 6 digits of the code."),
    )


class PasswordConfirmForm(CurrentPasswordMixin, forms.Form):
    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        self._check_current_password(password)
        return password


class DeleteAccountForm(PasswordConfirmForm):
    confirm = forms.BooleanField(
        label=_("I understand that my account will be closed and cannot be used to log in."),
        error_messages={"required": _("Tick this box to confirm.")},
    )


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6 digits shown in your authenticator app, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={
                "inputmode": "text",
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "size": 10,
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isascii() or not token.isalnum():
            raise ValidationError(gettext("Type the code with letters and digits only."))
        return token


class OtpSetupForm(forms.Form):
    token = SixDigitCodeField(
        label=_("Code from the app"),
        max_length=10,
        help_text=_("After adding the account, type the 6 digits the app shows."),
        invalid_message=_("Type the 6 digits shown in the app."),
    )
