from __future__ import annotations

from notifications import unread


def unread_count(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread.count_for(user)}
