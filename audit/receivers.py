"""Entries written by following other apps: staff status moves, staff logins and logouts."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from applications.signals import status_changed
from audit.services import record


@receiver(status_changed, dispatch_uid="audit.status_move")
def staff_status_move(sender, *, application, event, **kwargs) -> None:
    """A move made by staff (not by the citizen or the system), in the move's transaction."""
    from applications.workflow import OFFICER

    if event.actor != OFFICER:
        return
    record(
        "status_move",
        obj=application,
        office=application.office_id,
        by=event.by,
        detail={"from": event.from_status, "to": event.to_status, "event": event.pk},
    )


@receiver(user_logged_in, dispatch_uid="audit.login")
def staff_login(sender, *, request, user, **kwargs) -> None:
    if user.is_staff:
        record("login", by=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def staff_logout(sender, *, request, user, **kwargs) -> None:
    if user is not None and user.is_staff:
        record("logout", by=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def staff_login_failed(sender, *, credentials, request=None, **kwargs) -> None:
    """A wrong password for a staff account: the account and the address, nothing typed.

    Failures for citizens' or unknown usernames are left to the lockout
    (django-axes): what was typed as a username may be a mistyped password.
    """
    username = credentials.get("username") or credentials.get("email") or ""
    if not isinstance(username, str) or not username:
        return
    account = get_user_model().objects.filter(email__iexact=username.strip(), is_staff=True).first()
    if account is not None:
        record("login_failed", obj=account, by=None, request=request, label=f"#{account.pk}")
