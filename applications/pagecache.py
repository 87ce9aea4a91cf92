"""The citizen's application page, cached per application state.

Two cache entries:
- the state of an application as its owner sees it (id, `updated_at`,
  receipt or not), found by (owner, reference); written only after the
  ownership check, so another person can never reach it;
- the rendered page, keyed on that state, the day, the language, the bell
  count and the browser's CSRF secret (its forms stay valid).

Every change to an application goes through `save()` (a signal drops the
state) or, for bulk `.update()` calls, must call `touch()`; the state also
expires after a minute, which bounds any miss.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

STATE_SECONDS = 60
PAGE_SECONDS = 300


def _state_key(user_id: int, reference: str) -> str:
    return f"applications:state:{user_id}:{reference}"


def state_for(user_id: int, reference: str) -> tuple[tuple | None, int | None]:
    """(cached state, cached bell count), read from the cache in one round trip."""
    from notifications import unread

    state_key, bell_key = _state_key(user_id, reference), unread.key(user_id)
    found = cache.get_many([state_key, bell_key])
    return found.get(state_key), found.get(bell_key)


def remember_state(application) -> tuple:
    state = (
        application.pk,
        application.updated_at.isoformat(),
        hasattr(application, "receipt"),
    )
    cache.set(_state_key(application.applicant_id, application.reference), state, STATE_SECONDS)
    return state


def _drop(key: str) -> None:
    # Now, and again once the change is committed: a request reading the old
    # row in between could otherwise put the old state back for a minute.
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def forget(application) -> None:
    _drop(_state_key(application.applicant_id, application.reference))


def touch(application_id: int) -> None:
    """After a change not made with `save()`: move `updated_at` on and drop the state."""
    from applications.models import Application

    Application.objects.filter(pk=application_id).update(updated_at=timezone.now())
    row = Application.objects.filter(pk=application_id).values("applicant_id", "reference")
    for values in row:
        _drop(_state_key(values["applicant_id"], values["reference"]))


def page_key(request, state: tuple, *, bell: int | None = None) -> str | None:
    """None when the page must be rendered fresh (messages waiting, no CSRF cookie yet)."""
    from django.contrib.messages import get_messages

    from notifications import unread

    secret = request.META.get("CSRF_COOKIE")
    if not secret or len(get_messages(request)):
        return None
    parts = [
        request.user.pk,
        *state,
        timezone.localdate().isoformat(),
        request.LANGUAGE_CODE,
        unread.count_for(request.user, cached=bell),
        hashlib.sha256(secret.encode()).hexdigest()[:16],
    ]
    return "applications:page:" + ":".join(str(p) for p in parts)


def get_page(key: str) -> bytes | None:
    return cache.get(key)


def set_page(key: str, content: bytes) -> None:
    cache.set(key, content, PAGE_SECONDS)


@receiver(post_save, sender="applications.Application")
def _application_saved(sender, instance, **kwargs) -> None:
    forget(instance)


@receiver(post_save, sender="applications.Receipt")
def _receipt_saved(sender, instance, **kwargs) -> None:
    touch(instance.application_id)
