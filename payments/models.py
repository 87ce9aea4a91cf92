"""Bills (kode billing), payments, refunds, and every notification a gateway sent us."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    VA_BRI = "va_bri", _("Virtual account BRI")
    VA_BNI = "va_bni", _("Virtual account BNI")
    VA_MANDIRI = "va_mandiri", _("Virtual account Mandiri")
    VA_BCA = "va_bca", _("Virtual account BCA")
    VA_OTHER = "va_other", _("Virtual account (another bank)")
    QRIS = "qris", _("QRIS / e-wallet")
    CARD = "card", _("Debit or credit card")
    TELLER = "teller", _("Bank teller (billing code)")
    MANUAL = "manual", _("Recorded by an officer")


# What a citizen can choose on the pay page (teller needs no page: the code is enough).
ONLINE_METHODS = (
    Method.VA_BRI,
    Method.VA_BNI,
    Method.VA_MANDIRI,
    Method.VA_BCA,
    Method.QRIS,
    Method.CARD,
)


class BillQuerySet(models.QuerySet):
    def unpaid(self):
        return self.filter(status=Bill.Status.UNPAID)

    def due_to_expire(self, now=None):
        return self.unpaid().filter(expires_at__lte=now or timezone.now())


class Bill(models.Model):
    """What the citizen pays: one billing code (kode billing, SIMPONI) for one application's fee."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")  # issued, waiting for the money
        PAID = "paid", _("Paid")  # settled; terminal except for a refund
        EXPIRED = "expired", _("Expired")  # not paid in time
        CANCELLED = "cancelled", _("Cancelled")  # the application was withdrawn or reissued
        REFUNDED = "refunded", _("Refunded")  # paid, then given back

    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, related_name="bills"
    )
    code = models.CharField(_("billing code"), max_length=15, unique=True, editable=False)
    amount = models.PositiveIntegerField(_("amount (Rp)"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UNPAID, editable=False
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    # When reconciliation last asked the gateway about it (the least recent go first).
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True, editable=False)
    # The "pay within a day" reminder, sent once.
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    ntpn = models.CharField("NTPN", max_length=16, blank=True, editable=False)
    method = models.CharField(
        _("method"), max_length=12, choices=Method.choices, blank=True, editable=False
    )
    provider = models.CharField(_("gateway"), max_length=20, blank=True, editable=False)
    # Money that arrived late, for another amount or twice: an officer decides.
    needs_review = models.BooleanField(_("needs review"), default=False, editable=False)
    review_note = models.CharField(_("review note"), max_length=300, blank=True, editable=False)
    # A bill asked for after the first one expired (allowed once).
    reissue_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reissued_as",
        editable=False,
    )

    objects = BillQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        permissions = [
            ("record_payment", _("Can record a bank-teller or manual payment")),
            ("record_refund", _("Can record a refund")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="unpaid"),
                name="payments_one_unpaid_bill_per_application",
            ),
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="paid"),
                name="payments_one_paid_bill_per_application",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_bill_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="paid") | (Q(paid_at__isnull=False) & ~Q(ntpn="")),
                name="payments_paid_bill_has_ntpn",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="payments_bill_due_idx")]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("payments:pay", args=[self.application.reference])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.UNPAID and self.expires_at > timezone.now()

    @property
    def code_display(self) -> str:
        """Grouped for reading aloud at a bank counter: 1234 5678 9012 345."""
        return " ".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))


class Payment(models.Model):
    """Money received for a bill, by gateway, bank teller or officer."""

    class State(models.TextChoices):
        SETTLED = "settled", _("Settled")  # paid the bill
        HELD = "held", _("Held for review")  # late, wrong amount or twice: refund review
        REFUNDED = "refunded", _("Refunded")  # given back

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.SETTLED, editable=False
    )
    amount = models.PositiveIntegerField(_("amount (Rp)"))
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)
    ntpn = models.CharField("NTPN", max_length=16, blank=True)
    paid_at = models.DateTimeField(_("paid at"))
    provider = models.CharField(_("gateway"), max_length=20)
    provider_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    proof = models.FileField(_("proof"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-paid_at", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["bill"],
                condition=Q(state="settled"),
                name="payments_one_settled_payment_per_bill",
            ),
            models.UniqueConstraint(
                fields=["ntpn"], condition=~Q(ntpn=""), name="payments_ntpn_unique"
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payments_gateway_reference_once",
            ),
        ]

    def __str__(self) -> str:
        return self.ntpn or self.provider_reference or str(self.pk)


class Refund(models.Model):
    """Money given back for a payment, with the officer's reason (audited)."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="refund")
    amount = models.PositiveIntegerField(_("amount (Rp)"))
    reason = models.CharField(_("reason"), max_length=300)
    reference = models.CharField(_("bank transfer reference"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_positive")
        ]

    def __str__(self) -> str:
        return f"{self.payment} → {self.amount}"


class PaymentReceipt(models.Model):
    """The payment receipt (bukti pembayaran) PDF, rendered once after payment."""

    bill = models.OneToOneField(Bill, on_delete=models.CASCADE, related_name="receipt")
    file = models.FileField(max_length=200, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    rendered_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("payment receipt")
        verbose_name_plural = _("payment receipts")

    def __str__(self) -> str:
        return f"{self.bill_id}"


class WebhookEvent(models.Model):
    """Every genuine notification a gateway sent, stored before anything is decided."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("Received")  # stored, not processed yet
        APPLIED = "applied", _("Applied")  # the bill was paid by it
        IGNORED = "ignored", _("Ignored")  # nothing to do (pending, failed, already paid)
        HELD = "held", _("Held for review")  # wrong amount, late, unknown code, paid twice

    provider = models.CharField(_("gateway"), max_length=20)
    event_id = models.CharField(_("event"), max_length=120)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    body = models.TextField(_("body"))
    status = models.CharField(_("gateway status"), max_length=10, blank=True)
    billing_code = models.CharField(_("billing code"), max_length=40, blank=True)
    amount = models.BigIntegerField(_("amount (Rp)"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.RECEIVED
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    bill = models.ForeignKey(
        Bill,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhooks",
        verbose_name=_("bill"),
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("gateway notification")
        verbose_name_plural = _("gateway notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="payments_webhook_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["outcome", "received_at"], name="payments_webhook_idx")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class SandboxTransaction(models.Model):
    """The sandbox gateway's own ledger: what it would know on its side.

    Kept apart from Bill/Payment so reconciliation can ask the sandbox, like
    a real gateway, about a payment whose webhook was lost.
    """

    billing_code = models.CharField(max_length=15, db_index=True)
    reference = models.CharField(max_length=40, unique=True)
    method = models.CharField(max_length=12, choices=Method.choices)
    amount = models.PositiveIntegerField()
    status = models.CharField(max_length=10)  # gateway words: paid, failed
    ntpn = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("sandbox transaction")
        verbose_name_plural = _("sandbox transactions")

    def __str__(self) -> str:
        return self.reference
