from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Connects the signal that drops a cached user on every save, in every
        # process, before any request could have cached one elsewhere.
        # Then the login time and second-factor flag kept in the session.
        from accounts import backends, sessions  # noqa: F401
