from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Words an attacker tries first against this portal (TRUST.md, "Identity and sessions").
CONTEXT_WORDS = ("imigrasi", "paspor", "passport", "indonesia", "kemenkumham")


class ContextWordValidator:
    """Refuse passwords built around the portal's own words."""

    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for word in CONTEXT_WORDS:
            if word in lowered:
                raise ValidationError(
                    _("Your password must not contain the word “%(word)s”."),
                    code="password_context_word",
                    params={"word": word},
                )

    def get_help_text(self) -> str:
        return _("Your password must not contain words like “imigrasi” or “paspor”.")
