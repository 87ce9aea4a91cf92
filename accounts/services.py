"""Account writes: registration, email and phone verification, profile changes."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import secrets

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import identity
from accounts.models import PhoneVerification, User
from imigrasi.errors import ServiceError
from notifications.models import Channel, Notification
from notifications.services import notify

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
    # The outbox row is written in this transaction; the email leaves after commit.
    send_verification_email(user_id=user.pk)
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


@transaction.atomic
def send_verification_email(*, user_id: int, email: str | None = None) -> None:
    """Queue the verification link for the account's address, or for `email`
    when the person asked to change to it; it leaves after commit."""
    user = User.objects.get(pk=user_id)
    address = email or user.email
    token = make_verification_token(user, email=address)
    link = settings.SITE_URL + reverse("accounts:verify_email", args=[token])
    hours = settings.EMAIL_VERIFICATION_MAX_AGE // 3600
    notify(
        user,
        "account.verify_email",
        {"link": link, "hours": hours},
        channels=(Channel.EMAIL,),
        address=address,
    )
    logger.info("verification email queued for user %s", user.pk)


def verification_resend(*, email: str) -> None:
    """Send a fresh link if an unverified account uses `email`; silent otherwise."""
    user = User.objects.filter(
        email__iexact=email.strip(), is_active=True, email_verified_at__isnull=True
    ).first()
    if user is not None:
        send_verification_email(user_id=user.pk)


@transaction.atomic
def profile_update(*, user: User, phone: str, address: str, preferred_language: str) -> User:
    """Change contact data; NIK, birth date and sex stay as verified.

    A new mobile number is unverified until a code sent to it is typed back.
    """
    phone = identity.normalise_mobile(phone)
    fields = ["phone", "address", "preferred_language"]
    if phone != user.phone:
        user.phone_verified_at = None
        fields.append("phone_verified_at")
    user.phone = phone
    user.address = address.strip()
    user.preferred_language = preferred_language
    user.full_clean(exclude=["password"], validate_unique=False, validate_constraints=False)
    user.save(update_fields=fields)
    return user


@transaction.atomic
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


# --- Phone verification ----------------------------------------------------

PHONE_CODE_LIFETIME = dt.timedelta(minutes=10)
PHONE_CODE_RESEND_AFTER = dt.timedelta(seconds=60)
PHONE_CODES_PER_DAY = 5
PHONE_CODE_PATTERN = re.compile(r"[0-9]{6}")


def _phone_code_hash(*, user_id: int, phone: str, code: str) -> str:
    # Keyed with SECRET_KEY: a copy of the database alone does not give the
    # code away (a bare SHA-256 of 6 digits is reversed in a millisecond).
    return salted_hmac(
        "accounts.phone-code", f"{user_id}:{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def _when(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "j F Y H.i")


@transaction.atomic
def phone_verification_start(*, user: User) -> PhoneVerification:
    """Send a fresh 6-digit code by SMS to the account's mobile number.

    1. Lock the account row, so two clicks at once cannot both pass the limits.
    2. Refuse without a number, for a number already verified, within 60
       seconds of the previous code and after 5 codes in 24 hours.
    3. Store only a keyed hash of the code, valid for 10 minutes. Only the
       newest code counts, so asking again retires the previous one.
    4. Write the SMS into the outbox in this transaction; it leaves after commit.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.phone:
        raise ServiceError(_("Add your mobile number to your profile first."))
    if locked.phone_verified_at is not None:
        raise ServiceError(_("Your mobile number is already verified."))
    now = timezone.now()
    recent = list(
        PhoneVerification.objects.filter(
            user=locked, created_at__gt=now - dt.timedelta(days=1)
        ).order_by("-created_at")
    )
    if recent and now < recent[0].created_at + PHONE_CODE_RESEND_AFTER:
        wait = math.ceil((recent[0].created_at + PHONE_CODE_RESEND_AFTER - now).total_seconds())
        raise ServiceError(
            ngettext(
                "A code was sent a moment ago. Wait %(seconds)d second before asking again.",
                "A code was sent a moment ago. Wait %(seconds)d seconds before asking again.",
                wait,
            )
            % {"seconds": wait}
        )
    if len(recent) >= PHONE_CODES_PER_DAY:
        raise ServiceError(
            _(
                "You have asked for %(count)d codes in 24 hours, the most allowed. "
                "You can ask again after %(time)s WIB."
            )
            % {
                "count": len(recent),
                "time": _when(recent[PHONE_CODES_PER_DAY - 1].created_at + dt.timedelta(days=1)),
            }
        )
    code = f"{secrets.randbelow(10**6):06d}"
    verification = PhoneVerification(
        user=locked,
        phone=locked.phone,
        code_hash=_phone_code_hash(user_id=locked.pk, phone=locked.phone, code=code),
        created_at=now,
        expires_at=now + PHONE_CODE_LIFETIME,
    )
    verification.full_clean()
    verification.save()
    written = notify(
        locked,
        "account.phone_code",
        {"code": code, "minutes": int(PHONE_CODE_LIFETIME.total_seconds() // 60)},
        channels=(Channel.SMS,),
    )
    if not written or written[0].status == Notification.Status.SKIPPED:
        # Rolls back the code too: the person may ask again at once.
        raise ServiceError(_("We could not send an SMS to this number. Try again later."))
    logger.info("phone verification code queued for user %s", locked.pk)
    return verification


def phone_verification_confirm(*, user: User, code: str) -> None:
    """Check a typed code against the newest one sent to the account's number.

    Deliberately not atomic: each guess is spent by its own conditional
    UPDATE and must stay spent when this raises (a guess rolled back with
    the error would give unlimited guesses).

    1. Take the newest unused code sent to the account's current number.
    2. Spend one guess: `attempts = attempts + 1 WHERE attempts < 5` and
       unexpired and unused. Concurrent guesses queue on the row lock, so
       however many arrive at once, at most 5 ever get past this step.
    3. Compare keyed hashes in constant time.
    4. On a match, mark the code used and the number verified.
    """
    code = "".join(code.split())
    if not PHONE_CODE_PATTERN.fullmatch(code):
        raise ServiceError(_("Type the 6 digits of the code."), field="code")
    verification = PhoneVerification.objects.pending_for(user)
    if verification is None:
        raise ServiceError(
            _("No code is waiting for this number. Ask for a new code."), field="code"
        )
    now = timezone.now()
    if now >= verification.expires_at:
        raise ServiceError(_("This code has expired. Ask for a new code."), field="code")
    spent = PhoneVerification.objects.filter(
        pk=verification.pk,
        verified_at__isnull=True,
        expires_at__gt=now,
        attempts__lt=PhoneVerification.MAX_ATTEMPTS,
    ).update(attempts=F("attempts") + 1)
    if not spent:
        raise ServiceError(
            _("This code was typed wrongly too many times. Ask for a new code."), field="code"
        )
    verification.refresh_from_db(fields=["attempts"])
    expected = _phone_code_hash(user_id=user.pk, phone=verification.phone, code=code)
    if not constant_time_compare(verification.code_hash, expected):
        left = verification.attempts_left
        if left:
            raise ServiceError(
                ngettext(
                    "The code is wrong. You can try %(count)d more time.",
                    "The code is wrong. You can try %(count)d more times.",
                    left,
                )
                % {"count": left},
                field="code",
            )
        raise ServiceError(
            _("The code is wrong and can no longer be used. Ask for a new code."), field="code"
        )
    with transaction.atomic():
        PhoneVerification.objects.filter(pk=verification.pk, verified_at__isnull=True).update(
            verified_at=now
        )
        # Only if the number is still the one the code went to.
        verified = User.objects.filter(pk=user.pk, phone=verification.phone).update(
            phone_verified_at=now
        )
    if not verified:
        raise ServiceError(
            _("No code is waiting for this number. Ask for a new code."), field="code"
        )
    user.phone_verified_at = now
    logger.info("mobile number verified for user %s", user.pk)


# --- Sessions --------------------------------------------------------------


def sessions_end_all(user: User, *, except_key: str | None = None) -> int:
    """End every session of `user` on the server, on every device; return how many.

    Works with the database-backed engines (`db`, `cached_db`): Django keeps
    no index from a user to their sessions, so every live row is decoded and
    those whose `_auth_user_id` is this user are deleted through the engine's
    own store, which also drops the cached copy (`cached_db`): deleting the
    rows alone would leave the session alive in Redis. `except_key` spares
    the session making the request (e.g. "log out my other devices").
    """
    from importlib import import_module

    from django.contrib.auth import SESSION_KEY

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    session_model = store_class.get_model_class()
    wanted = str(user.pk)
    ended = 0
    rows = session_model.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", "session_data"
    )
    for key, data in rows.iterator(chunk_size=500):
        if key == except_key or str(store_class().decode(data).get(SESSION_KEY)) != wanted:
            continue
        store_class(session_key=key).delete()
        ended += 1
    logger.info("ended %d sessions of user %s", ended, user.pk)
    return ended
