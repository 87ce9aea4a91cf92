from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from offices.models import Office
from queueing.models import Prefix, Ticket, Topic


class SlotForm(forms.Form):
    slot = forms.IntegerField(
        label=_("Time"),
        error_messages={
            "required": _("Choose a time."),
            "invalid": _("Choose one of the times shown."),
        },
    )


class ConsultationForm(SlotForm):
    topic = forms.ChoiceField(
        label=_("Topic"),
        choices=[("", "—"), *Topic.choices],
        error_messages={"required": _("Choose a topic.")},
    )
    question = forms.CharField(
        label=_("Your question (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Helps the officer prepare. Do not write your NIK or passport number."),
    )


class WaitlistForm(forms.Form):
    day = forms.DateField(
        label=_("Day"),
        input_formats=["%Y-%m-%d"],
        error_messages={"required": _("Choose a day."), "invalid": _("Choose a day.")},
    )
    topic = forms.ChoiceField(choices=[("", "—"), *Topic.choices], required=False)


PRIORITY_CHOICES = [("", _("No"))] + [
    (value, label) for value, label in Ticket.Priority.choices if value
]


class CheckInForm(forms.Form):
    # Shown on one page with the walk-in form: element ids must not clash.
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "checkin_%s")
        super().__init__(*args, **kwargs)

    code = forms.CharField(
        label=_("Booking code"),
        max_length=500,
        help_text=_("Scan the QR code on your slip, or type the 8 characters, e.g. K7QX-M2PA."),
        error_messages={"required": _("Type the 8-character booking code on your slip.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "autofocus": True}
        ),
    )
    priority = forms.ChoiceField(
        label=_("Priority service"),
        choices=PRIORITY_CHOICES,
        required=False,
        help_text=_(
            "For the elderly, people with disabilities, pregnant women and parents "
            "with infants: you are called first."
        ),
    )


class WalkInForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "walkin_%s")
        super().__init__(*args, **kwargs)

    prefix = forms.ChoiceField(
        label=_("What did you come for?"),
        choices=[
            (Prefix.WALK_IN, _("An application or document service (no appointment)")),
            (Prefix.INFORMATION, _("Information or a question")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what you came for.")},
    )
    priority = forms.ChoiceField(
        label=_("Priority service"), choices=PRIORITY_CHOICES, required=False
    )


class ShiftForm(forms.Form):
    prefixes = forms.MultipleChoiceField(
        label=_("Tickets this counter calls"),
        choices=Prefix.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of ticket to call.")},
    )


class OfficeForm(forms.Form):
    office = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.active(),
        empty_label="—",
        to_field_name="code",
        error_messages={
            "required": _("Choose an office."),
            "invalid_choice": _("Choose an office."),
        },
    )
