from __future__ import annotations

from notifications.models import Notification


def unread_count(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": Notification.objects.for_portal(user).unread().count()}
