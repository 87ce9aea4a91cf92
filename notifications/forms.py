from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.models import Preference


class PreferenceForm(forms.ModelForm):
    """Status updates and reminders, by email and by SMS. Security messages
    are not here: they always go by email."""

    class Meta:
        model = Preference
        fields = ["email_status", "sms_status", "email_reminders", "sms_reminders"]
        labels = {
            "email_status": _("By email"),
            "sms_status": _("By SMS"),
            "email_reminders": _("By email"),
            "sms_reminders": _("By SMS"),
        }
