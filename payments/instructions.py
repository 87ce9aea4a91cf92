"""How to pay with each method, in steps a citizen can follow at an ATM or in an app."""

from __future__ import annotations

from django.utils.translation import gettext as _

from applications.templatetags.portal import rupiah
from imigrasi.pdf import qr_data_uri
from payments.models import Method

BANKS = {
    Method.VA_BRI: "BRI",
    Method.VA_BNI: "BNI",
    Method.VA_MANDIRI: "Mandiri",
    Method.VA_BCA: "BCA",
}


def steps(method: str, charge, bill) -> list[str]:
    if bill is None:
        return []
    amount = rupiah(bill.amount)
    if method in BANKS and charge is not None and not charge.payment_code:
        # No virtual account was opened: the billing code is paid as state
        # revenue (MPN) in the bank's own app, ATM or counter.
        bank = BANKS[method]
        return [
            _("Open %(bank)s mobile banking or internet banking, or go to a %(bank)s ATM.")
            % {"bank": bank},
            _("Choose Payments, then State revenue (MPN / penerimaan negara)."),
            _("Enter the billing code %(code)s.") % {"code": bill.code},
            _("Check that the amount is %(amount)s, then confirm with your PIN.")
            % {"amount": amount},
            _("Keep the proof. This page shows “Paid” within a few minutes."),
        ]
    if method in BANKS and charge is not None:
        bank = BANKS[method]
        return [
            _("Open %(bank)s mobile banking or internet banking, or go to a %(bank)s ATM.")
            % {"bank": bank},
            _("Choose Transfer, then Virtual Account (on Mandiri: Pay, then Multipayment)."),
            _("Enter the virtual account number %(number)s.") % {"number": charge.payment_code},
            _("Check that the amount is %(amount)s, then confirm with your PIN.")
            % {"amount": amount},
            _("Keep the proof. This page shows “Paid” within a few minutes."),
        ]
    if method == Method.QRIS:
        return [
            _(
                "Open any banking or e-wallet app that can scan QRIS "
                "(GoPay, OVO, DANA, ShopeePay…)."
            ),
            _("Scan the QR code on this page, or open it on another phone and scan it there."),
            _("Check that the amount is %(amount)s, then confirm.") % {"amount": amount},
            _("This page shows “Paid” within a few minutes."),
        ]
    if method == Method.CARD:
        return [
            _("Press “Pay by card” to open the gateway's secure card page."),
            _("Enter the card details there: the portal never sees your card number."),
            _("Confirm the one-time code your bank sends you."),
        ]
    if method == Method.TELLER:
        return [
            _(
                "Go to the teller of a bank or post office that accepts state payments "
                "(SIMPONI): BRI, BNI, Mandiri, BSI, BTN or Pos Indonesia."
            ),
            _(
                "Say that you are paying an immigration fee (PNBP) "
                "and give the billing code %(code)s."
            )
            % {"code": bill.code_display},
            _("Pay exactly %(amount)s. Keep the proof: it shows the NTPN.") % {"amount": amount},
            _(
                "The payment reaches the portal within an hour. If it does not, "
                "bring the proof to the office."
            ),
        ]
    return []


def qr(charge) -> str:
    """A QRIS payload as an image, for the pay page and the sandbox page."""
    if charge is None or charge.method != Method.QRIS or not charge.payment_code:
        return ""
    return qr_data_uri(charge.payment_code)
