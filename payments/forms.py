from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.models import Method


class PaymentRecordForm(forms.Form):
    """An officer records a payment the gateway did not report."""

    method = forms.ChoiceField(
        label=_("How it was paid"),
        choices=[
            (Method.TELLER, Method.TELLER.label),
            (Method.MANUAL, _("Gateway down: recorded from the bank's statement")),
        ],
    )
    ntpn = forms.CharField(
        label="NTPN",
        min_length=16,
        max_length=16,
        help_text=_("16 letters and digits, from the bank's proof."),
    )
    paid_at = forms.DateTimeField(
        label=_("Paid at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("As printed on the proof, office time."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    proof = forms.FileField(
        label=_("Proof of payment"),
        required=False,
        help_text=_("PDF, JPG or PNG; required for a bank-teller payment."),
    )

    def clean_ntpn(self):
        return self.cleaned_data["ntpn"].strip().upper()


class RefundForm(forms.Form):
    amount = forms.IntegerField(label=_("Amount (Rp)"), min_value=1)
    reason = forms.CharField(label=_("Reason"), max_length=300)
    reference = forms.CharField(label=_("Bank transfer reference"), max_length=60, required=False)


class ReviewCloseForm(forms.Form):
    note = forms.CharField(label=_("What was decided"), max_length=300)
