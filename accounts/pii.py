"""Encryption at rest for personal identifiers (NIK, passport numbers).

Ciphertext uses MultiFernet over settings.PII_ENCRYPTION_KEYS (newest
first, separate from SECRET_KEY) so keys can rotate; a keyed HMAC-SHA256
"blind index" beside it allows exact lookup and a unique constraint
without storing the number in clear (TRUST.md, "Personal data at rest").
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class DecryptionError(Exception):
    """Ciphertext that none of the configured keys can open."""


@lru_cache(maxsize=1)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.PII_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "PII ciphertext cannot be decrypted with the configured keys"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt `token` under the newest key (used by `manage.py rotate_pii_keys`)."""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "PII ciphertext cannot be decrypted with the configured keys"
        ) from exc


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed hash of `value` for exact lookup; `purpose` separates NIKs from passports."""
    key = settings.PII_BLIND_INDEX_KEY.encode()
    message = f"{purpose}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting == "PII_ENCRYPTION_KEYS":
        _fernet.cache_clear()
