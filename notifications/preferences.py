"""Reading and saving what a person wants to receive besides security messages."""

from __future__ import annotations

from django.db import transaction

from notifications.models import Preference


def preference_for(user) -> Preference:
    """The person's saved choices, or the defaults (everything on) unsaved:
    the row is created only when they first save the form."""
    return Preference.objects.filter(user=user).first() or Preference(user=user)


@transaction.atomic
def preference_update(
    *,
    user,
    email_status: bool,
    sms_status: bool,
    email_reminders: bool,
    sms_reminders: bool,
) -> Preference:
    preference, _created = Preference.objects.select_for_update().get_or_create(user=user)
    preference.email_status = email_status
    preference.sms_status = sms_status
    preference.email_reminders = email_reminders
    preference.sms_reminders = sms_reminders
    preference.full_clean()
    preference.save()
    return preference
