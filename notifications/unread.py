"""The bell's unread count, cached per person: it is on every page they open.

The cached number is dropped whenever one of the person's portal
notifications is written, changed or deleted (signals below, and
`forget` after bulk updates), so it is never stale for more than a request.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from notifications.models import Channel, Notification

TIMEOUT_SECONDS = 3600


def key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def count_for(user, *, cached: int | None = None) -> int:
    """The person's unread count; `cached` is a value already read from the cache."""
    count = cached if cached is not None else cache.get(key(user.pk))
    if count is None:
        count = Notification.objects.for_portal(user).unread().count()
        cache.set(key(user.pk), count, TIMEOUT_SECONDS)
    return count


def forget(user_id: int) -> None:
    cache.delete(key(user_id))


@receiver([post_save, post_delete], sender=Notification)
def _notification_changed(sender, instance: Notification, **kwargs) -> None:
    if instance.channel == Channel.PORTAL:
        forget(instance.recipient_id)
