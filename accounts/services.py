"""Account writes: registration, email verification, profile changes."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import identity
from accounts.models import User
from imigrasi.errors import ServiceError

logger = logging.getLogger(__name__)

VERIFY_SALT = "accounts.verify-email"


class DuplicateAccount(ServiceError):
    pass


def _duplicate_message() -> str:
    # Deliberately does not say whether the email or the NIK is taken.
    return _(
        "An account with this email address or NIK already exists. "
        "Log in, or reset your password if you have forgotten it."
    )


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    full_name: str,
    nik: str,
    date_of_birth: dt.date,
    sex: str,
    phone: str,
    address: str,
    preferred_language: str,
) -> User:
    """Create an unverified citizen account and send the verification link.

    1. Refuse a duplicate email or NIK (NIK found via its blind index).
    2. Flag, never refuse, a NIK whose date/sex disagrees with the form.
    3. Record privacy consent; the email goes out after commit.
    """
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists() or User.objects.with_nik(nik).exists():
        raise DuplicateAccount(_duplicate_message())
    user = User(
        email=email,
        full_name=full_name.strip(),
        date_of_birth=date_of_birth,
        sex=sex,
        phone=identity.normalise_mobile(phone),
        address=address.strip(),
        preferred_language=preferred_language,
        privacy_consent_at=timezone.now(),
        nik_mismatch=not identity.nik_matches_person(nik, date_of_birth=date_of_birth, sex=sex),
    )
    user.set_nik(nik)
    user.set_password(password)
    # Uniqueness is the database's job (checked above, enforced by the indexes):
    # a constraint message here would name the column and leak which one was taken.
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # lost a race with a concurrent registration
        raise DuplicateAccount(_duplicate_message()) from exc
    transaction.on_commit(lambda: send_verification_email(user_id=user.pk))
    return user


def make_verification_token(user: User, *, email: str | None = None) -> str:
    """Signed, timestamped token naming the user, the address to verify and the
    account's address when it was issued: once the address changes, every
    older link stops working (an old link cannot undo an email change)."""
    return signing.dumps(
        {"u": user.pk, "e": email or user.email, "c": user.email}, salt=VERIFY_SALT
    )


class VerificationResult:
    VERIFIED = "verified"
    ALREADY = "already"
    EXPIRED = "expired"
    INVALID = "invalid"


@transaction.atomic
def email_verify(*, token: str) -> tuple[str, User | None]:
    """Check a verification token and mark the address verified.

    Handles both a new account and an email change (the token carries the
    address; a change takes effect only here).
    """
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        return VerificationResult.EXPIRED, None
    except signing.BadSignature:
        return VerificationResult.INVALID, None
    if not isinstance(data, dict) or not {"u", "e", "c"} <= data.keys():
        return VerificationResult.INVALID, None
    user = User.objects.select_for_update().filter(pk=data["u"], is_active=True).first()
    if user is None:
        return VerificationResult.INVALID, None
    if user.email != data["c"]:
        # Issued for an address the account no longer has.
        return (
            (VerificationResult.ALREADY, user)
            if user.email == data["e"] and user.is_email_verified
            else (VerificationResult.INVALID, None)
        )
    email = data["e"]
    if user.email == email and user.is_email_verified:
        return VerificationResult.ALREADY, user
    if user.email != email:
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            return VerificationResult.INVALID, None
        user.email = email
    user.email_verified_at = timezone.now()
    user.save(update_fields=["email", "email_verified_at"])
    return VerificationResult.VERIFIED, user


def _send_account_email(*, user: User, to: str, template: str, context: dict) -> None:
    """Render `templates/email/<template>.*` in the user's language and send it."""
    with translation.override(user.preferred_language):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(f"email/{template}.subject.txt", context).strip()
        text = render_to_string(f"email/{template}.txt", context)
        html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


def send_verification_email(*, user_id: int, email: str | None = None) -> None:
    user = User.objects.get(pk=user_id)
    address = email or user.email
    token = make_verification_token(user, email=address)
    link = settings.SITE_URL + reverse("accounts:verify_email", args=[token])
    hours = settings.EMAIL_VERIFICATION_MAX_AGE // 3600
    _send_account_email(
        user=user, to=address, template="verify_email", context={"link": link, "hours": hours}
    )
    logger.info("verification email sent to user %s", user.pk)


def verification_resend(*, email: str) -> None:
    """Send a fresh link if an unverified account uses `email`; silent otherwise."""
    user = User.objects.filter(
        email__iexact=email.strip(), is_active=True, email_verified_at__isnull=True
    ).first()
    if user is not None:
        send_verification_email(user_id=user.pk)


@transaction.atomic
def profile_update(*, user: User, phone: str, address: str, preferred_language: str) -> User:
    """Change contact data; NIK, birth date and sex stay as verified."""
    user.phone = identity.normalise_mobile(phone)
    user.address = address.strip()
    user.preferred_language = preferred_language
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.save(update_fields=["phone", "address", "preferred_language"])
    return user


def email_change_request(*, user: User, new_email: str) -> None:
    """Send a verification link to the new address; the change applies when it is clicked."""
    new_email = new_email.strip().lower()
    if new_email == user.email:
        raise ServiceError(_("This is already your email address."), field="new_email")
    if User.objects.filter(email__iexact=new_email).exists():
        # The owner of the other account learns nothing; this user gets a
        # plain refusal, as a registration form would give.
        raise ServiceError(
            _("This email address cannot be used. Choose another one."), field="new_email"
        )
    send_verification_email(user_id=user.pk, email=new_email)


def language_remember(*, user: User, language: str) -> None:
    if language in dict(settings.LANGUAGES) and user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])


def email_mark_verified(*, user: User) -> None:
    if not user.is_email_verified:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
