"""Citizen forms. Each lists its fields explicitly: status, office, fee never come from a POST."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_INPUT_FORMATS, DateOfBirthField, NikField
from accounts.models import User
from applications.models import Application, Person, Service
from offices.models import Office


def _text(label, max_length, *, required=True, autocomplete=None, help_text=""):
    attrs = {"autocomplete": autocomplete} if autocomplete else {}
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
    )


def _area(label, max_length, *, required=True):
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ApplicantFieldsMixin(forms.Form):
    full_name = _text(_("Full name"), 150, help_text=_("As on the KTP or birth certificate."))
    nik = NikField(
        label=_("NIK (16 digits)"),
        required=False,
        help_text=_("Needed for passports. Leave empty for a foreign national."),
    )
    date_of_birth = DateOfBirthField(help_text=_("For example 1990-05-12 or 12/05/1990."))
    place_of_birth = _text(_("Place of birth"), 100)
    sex = forms.ChoiceField(label=_("Sex"), choices=User.Sex.choices, widget=forms.RadioSelect)
    address = _area(_("Address"), 500)
    father_name = _text(_("Father's name"), 150)
    mother_name = _text(_("Mother's name"), 150)


class PersonForm(ApplicantFieldsMixin):
    """A family member the account may apply for. An empty NIK keeps the saved one."""

    def __init__(self, *args, person: Person | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if person is not None and person.nik_encrypted:
            self.fields["nik"].help_text = _(
                "Saved as %(masked)s. Leave empty to keep it, or type it again to change it."
            ) % {"masked": person.nik_masked}

    relationship = forms.ChoiceField(
        label=_("Relationship to you"),
        choices=[c for c in Person.Relationship.choices if c[0] != Person.Relationship.SELF],
    )
    field_order = ["relationship", "full_name", "nik", "date_of_birth", "place_of_birth", "sex"]

    @classmethod
    def initial_for(cls, person: Person) -> dict:
        return {
            "relationship": person.relationship,
            "full_name": person.full_name,
            "date_of_birth": person.date_of_birth,
            "place_of_birth": person.place_of_birth,
            "sex": person.sex,
            "address": person.address,
            "father_name": person.father_name,
            "mother_name": person.mother_name,
        }


class StartForm(forms.Form):
    """Who the application is for and which office handles it."""

    person = forms.ChoiceField(label=_("Who is this application for?"), widget=forms.RadioSelect)
    office = forms.ModelChoiceField(
        label=_("Immigration office"),
        queryset=Office.objects.active(),
        empty_label=_("Choose an office"),
        help_text=_("Where you will have the interview and collect the document."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        family = Person.objects.filter(owner=user).exclude(relationship=Person.Relationship.SELF)
        self.family = {str(p.pk): p for p in family}
        choices = [("self", gettext("Myself (%(name)s)") % {"name": user.full_name})]
        choices += [
            (pk, f"{p.full_name} ({p.get_relationship_display().lower()})")
            for pk, p in self.family.items()
        ]
        self.fields["person"].choices = choices
        self.fields["person"].initial = "self"

    def clean_person(self) -> Person | None:
        value = self.cleaned_data["person"]
        return None if value == "self" else self.family[value]


class ApplicantForm(ApplicantFieldsMixin):
    """Step 1. For the account holder, name, NIK and birth date come from the account."""

    FIXED_FOR_SELF = ("full_name", "nik", "date_of_birth", "sex")

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application
        self.is_self = bool(
            application.person and application.person.relationship == Person.Relationship.SELF
        )
        # The NIK is never sent back to the browser in full: shown masked,
        # and an empty field keeps the one already saved.
        self.initial["nik"] = ""
        if self.is_self:
            for name in self.FIXED_FOR_SELF:
                self.fields[name].disabled = True
                self.fields[name].required = False
                self.fields[name].help_text = _("From your account.")
            # Shown masked and never validated: it comes from the account, not the form.
            self.fields["nik"] = forms.CharField(
                label=self.fields["nik"].label,
                required=False,
                disabled=True,
                help_text=_("From your account."),
            )
            self.initial["nik"] = application.nik_masked
        elif application.nik_encrypted:
            self.fields["nik"].help_text = _(
                "Saved as %(masked)s. Leave empty to keep it, or type it again to change it."
            ) % {"masked": application.nik_masked}
        elif application.service.category == Service.Category.PASSPORT:
            self.fields["nik"].required = True
            self.fields["nik"].help_text = ""

    @classmethod
    def initial_for(cls, application: Application) -> dict:
        data = {
            field: getattr(application, field)
            for field in (
                "full_name",
                "date_of_birth",
                "place_of_birth",
                "sex",
                "address",
                "father_name",
                "mother_name",
            )
        }
        return data

    def clean(self):
        cleaned = super().clean()
        if self.is_self:
            application = self.application
            cleaned.update(
                full_name=application.full_name,
                date_of_birth=application.date_of_birth,
                sex=application.sex,
                nik="",
            )
        return cleaned


COUNTRY_HELP = _("For example Saudi Arabia, Japan, Malaysia.")


class DetailsForm(forms.Form):
    """Step 2: the fields depend on what the service needs."""

    travel_purpose = forms.ChoiceField(
        label=_("Purpose"), choices=[("", "—"), *Application.TravelPurpose.choices]
    )
    destination = _text(_("Destination country"), 100, help_text=COUNTRY_HELP)
    nationality = _text(_("Nationality"), 100)
    passport_number = forms.CharField(
        label=_("Passport number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    sponsor_name = _text(_("Sponsor's name (person or company)"), 150)
    sponsor_address = _area(_("Sponsor's address"), 500)
    sponsor_phone = _text(_("Sponsor's phone"), 20, autocomplete="off")

    FIELDS = {
        Service.Details.PASSPORT: ("travel_purpose", "destination"),
        Service.Details.REPLACEMENT: ("passport_number", "travel_purpose", "destination"),
        Service.Details.PERMIT: (
            "nationality",
            "passport_number",
            "travel_purpose",
            "sponsor_name",
            "sponsor_address",
            "sponsor_phone",
        ),
    }

    def __init__(self, *args, service: Service, **kwargs):
        super().__init__(*args, **kwargs)
        keep = self.FIELDS[service.details]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self.order_fields(keep)
        if service.details == Service.Details.REPLACEMENT:
            self.fields["passport_number"].label = _("Old passport number")
            self.fields["passport_number"].help_text = _("On the data page, for example X1234567.")
        if service.details == Service.Details.PERMIT:
            self.fields["travel_purpose"].label = _("Purpose of stay")

    def clean_passport_number(self) -> str:
        value = "".join(self.cleaned_data["passport_number"].split()).upper()
        if not value.isalnum() or not 6 <= len(value) <= 12:
            raise ValidationError(
                gettext("A passport number has 6 to 12 letters and digits, for example X1234567.")
            )
        return value

    @classmethod
    def initial_for(cls, application: Application) -> dict:
        return {
            "travel_purpose": application.travel_purpose,
            "destination": application.destination,
            "nationality": application.nationality,
            "passport_number": application.passport_number,
            "sponsor_name": application.sponsor_name,
            "sponsor_address": application.sponsor_address,
            "sponsor_phone": application.sponsor_phone,
        }


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File"), allow_empty_file=True)

    def __init__(self, *args, requirement, **kwargs):
        super().__init__(*args, **kwargs)
        accept = ",".join(
            {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}[t]
            for t in requirement.types
        )
        self.fields["file"].widget.attrs["accept"] = accept
        self.fields["file"].label = requirement.name
        self.fields["file"].help_text = gettext("%(types)s, at most %(size)s.") % {
            "types": requirement.types_display,
            "size": _size(requirement.max_size_kb),
        }
        self.prefix = f"doc{requirement.pk}"


def _size(kb: int) -> str:
    return f"{kb // 1024} MB" if kb >= 1024 and kb % 1024 == 0 else f"{kb} KB"


class SubmitForm(forms.Form):
    declaration = forms.BooleanField(
        label=_(
            "I declare that the data and documents are true and mine, and I accept the "
            "consequences under the law if they are not."
        ),
        required=False,
    )


class DeliveryForm(forms.Form):
    delivery_method = forms.ChoiceField(
        label=_("How do you want to receive the document?"),
        choices=Application.Delivery.choices,
        widget=forms.RadioSelect,
    )
    delivery_address = forms.CharField(
        label=_("Delivery address"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text=_("Only for delivery by post. Postage is paid to the courier on delivery."),
    )


class StatusCheckForm(forms.Form):
    reference = forms.CharField(
        label=_("Application reference"),
        max_length=40,
        help_text=_("On your receipt, for example PSP-LTG-26-7K3QX9."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(
        label=_("Applicant's date of birth"),
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_reference(self) -> str:
        # `psp ltg 26 7k3qx9`, `PSP–LTG–26–7K3QX9`: read out or typed loosely, same reference.
        parts = re.split(r"[\s\-–—_./]+", self.cleaned_data["reference"].strip().upper())
        return "-".join(part for part in parts if part)
