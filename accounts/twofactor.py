"""Two-factor authentication with django-otp: an authenticator app (TOTP) plus backup codes.

Staff must have it (accounts.middleware.SecondFactorMiddleware); citizens may
turn it on. A TOTP device is created unconfirmed, shown as a QR code, and
confirmed by the first code the person types; ten single-use backup codes
(a StaticDevice) are made at the same time and shown once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

APP_NAME = "authenticator"
BACKUP_NAME = "backup"


def is_enrolled(user: User) -> bool:
    return user.is_authenticated and user_has_device(user, confirmed=True)


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator device being set up (one per person), made if missing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=APP_NAME, confirmed=False)


def _new_backup_codes(user: User) -> list[str]:
    # The device is kept, only its codes replaced: a session verified by a backup
    # code (a lost phone) stays verified while the person makes new ones.
    device = StaticDevice.objects.filter(user=user, name=BACKUP_NAME).first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=BACKUP_NAME, confirmed=True)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.OTP_STATIC_BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def enrol_confirm(user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the app with its first code; returns the new backup codes, or None if wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
    if device.confirmed or not device.verify_token(token):
        return None
    # One authenticator at a time: the new one replaces any earlier app.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return _new_backup_codes(user)


@transaction.atomic
def backup_codes_renew(user: User) -> list[str]:
    return _new_backup_codes(user)


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user: User, token: str):
    """The device that accepts `token` (app code or a backup code, used up), else None.

    Six digits go to the app, anything else to the backup codes, so a wrong
    guess only slows down the device it was meant for. Each device throttles
    its own failures (django-otp: a doubling delay after each wrong code), on
    top of the per-address limit in the view.
    """
    token = "".join(token.split()).lower()
    if not token or len(token) > 16:
        return None
    model = TOTPDevice if (len(token) == 6 and token.isdigit()) else StaticDevice
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            if device.verify_token(token):
                return device
    return None


@transaction.atomic
def disable(user: User) -> None:
    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=user).delete()


def two_factor_reset(*, user: User, by: User, except_key: str | None = None) -> None:
    """Turn the second factor off (the person, or an administrator for a lost phone):
    devices and backup codes go, every other session of the account ends, and the
    reset is audited. Staff set up a new app at their next login."""
    import audit
    from accounts.services import sessions_end_all

    disable(user)
    sessions_end_all(user, except_key=except_key)
    audit.record("two_factor_reset", obj=user, by=by, label=f"#{user.pk}")
