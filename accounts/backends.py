"""Password login as Django's ModelBackend, with the logged-in person cached.

Every page a logged-in person opens loads their row; with Redis the row is
kept in the cache for a short while instead. It is dropped on every save
or delete of the user (password, email, deactivation, last login), and the
short lifetime bounds anything changed with a bulk `update()`: the session
check against the password hash and `is_active` then run on the fresh row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

CACHE_SECONDS = 30


def _key(user_id) -> str:
    return f"accounts:user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        if not settings.REDIS_URL:
            # A per-process memory cache would miss other processes' saves.
            return super().get_user(user_id)
        key = _key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is not None:
                cache.set(key, user, CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


@receiver([post_save, post_delete], sender=settings.AUTH_USER_MODEL)
def _user_changed(sender, instance, **kwargs) -> None:
    cache.delete(_key(instance.pk))


def lockout_username(request, credentials=None) -> str | None:
    """The account a login attempt was for, as django-axes counts failures (AXES_USERNAME_CALLABLE).

    The email address typed in the login form's `username` field, in lower
    case: login ignores case, so ANI@ and ani@ must share one counter.
    """
    source = credentials or getattr(request, "POST", None) or {}
    value = source.get("username")
    return value.strip().lower() or None if isinstance(value, str) else None
