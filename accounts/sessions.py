"""What a session remembers about how its person logged in (TRUST.md, "Identity and sessions")."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

# When the password was typed at login, and last confirmed on the re-authentication page.
AUTH_AT = "auth_at"
REAUTH_AT = "reauth_at"
# Last request seen, for the idle timeout (written at most once a minute).
SEEN_AT = "seen_at"
# The account has a second factor: verification is required before anything else.
ENROLLED = "otp_enrolled"


@receiver(user_logged_in, dispatch_uid="accounts.sessions.remember_login")
def remember_login(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    from accounts.twofactor import is_enrolled

    now = int(time.time())
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session[ENROLLED] = user.is_staff or is_enrolled(user)
