"""The officers' console for payments: bills, payments, refunds, notifications, reconciliation.

Everything is read-only; officers act with the forms on a bill's page, each
a service call that is audited. Officers see their own offices' bills only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import audit
from applications.access import officer_can_act, staff_applications
from applications.templatetags.portal import rupiah
from applications.views import private_file_response
from imigrasi.errors import ServiceError, add_to_form
from payments import forms, selectors, services
from payments.models import Bill, Payment, Refund, WebhookEvent


def _scoped(request, queryset, path_to_application: str):
    if request.user.is_superuser:
        return queryset
    return queryset.filter(
        **{f"{path_to_application}__in": staff_applications(request.user).values("pk")}
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    view_on_site = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # another office's row does not exist for this officer


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ["state", "amount", "method", "ntpn", "paid_at", "provider", "provider_reference"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "application_link",
        "office",
        "amount_display",
        "status",
        "issued_at",
        "expires_at",
        "paid_at",
        "method",
        "needs_review",
    ]
    list_filter = [
        "status",
        "needs_review",
        "method",
        "provider",
        ("application__office", admin.RelatedOnlyFieldListFilter),
        ("issued_at", admin.DateFieldListFilter),
        ("paid_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["application", "application__office"]
    search_fields = ["code", "ntpn", "application__reference"]
    search_help_text = _("Billing code, NTPN or application reference.")
    date_hierarchy = "issued_at"
    list_per_page = 50
    show_full_result_count = False
    inlines = [PaymentInline]
    change_form_template = "admin/payments/bill/change_form.html"
    change_list_template = "admin/payments/bill/change_list.html"
    readonly_fields = [
        "code",
        "application",
        "amount",
        "status",
        "issued_at",
        "expires_at",
        "closed_at",
        "paid_at",
        "ntpn",
        "method",
        "provider",
        "needs_review",
        "review_note",
        "reissue_of",
    ]

    def get_queryset(self, request):
        return _scoped(
            request,
            super().get_queryset(request).select_related("application", "application__office"),
            "application",
        )

    def get_search_results(self, request, queryset, search_term):
        term = services.normalise_code(search_term or "")
        if services.code_is_well_formed(term):
            return queryset.filter(code=term), False
        return super().get_search_results(request, queryset, (search_term or "").strip())

    @admin.display(description=_("application"), ordering="application__reference")
    def application_link(self, bill):
        url = reverse("admin:applications_application_change", args=[bill.application_id])
        return format_html('<a href="{}">{}</a>', url, bill.application.reference)

    @admin.display(description=_("office"), ordering="application__office__name")
    def office(self, bill):
        return bill.application.office

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, bill):
        return rupiah(bill.amount)

    # Views -------------------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "reconciliation/",
                wrap(self.reconciliation_view),
                name="payments_bill_reconciliation",
            ),
            path("<int:pk>/record/", wrap(self.record_view), name="payments_bill_record"),
            path(
                "<int:pk>/refund/<int:payment_id>/",
                wrap(self.refund_view),
                name="payments_bill_refund",
            ),
            path("<int:pk>/review/", wrap(self.review_view), name="payments_bill_review"),
            path(
                "<int:pk>/proof/<int:payment_id>/",
                wrap(self.proof_view),
                name="payments_bill_proof",
            ),
            *super().get_urls(),
        ]

    def _bill(self, request, pk: int, permission: str | None = None) -> Bill:
        bill = self.get_object(request, str(pk))
        if bill is None:
            raise Http404
        if permission and not (
            request.user.has_perm(permission) and officer_can_act(request.user, bill.application)
        ):
            raise PermissionDenied
        return bill

    def _back(self, bill):
        return HttpResponseRedirect(reverse("admin:payments_bill_change", args=[bill.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        bill = self.get_object(request, unquote(object_id))
        extra = extra_context or {}
        if bill is not None:
            extra.update(self._panels(request, bill))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _panels(self, request, bill, **forms_given) -> dict:
        may_act = officer_can_act(request.user, bill.application)
        return {
            "payments": bill.payments.select_related("recorded_by", "refund"),
            "webhooks": bill.webhooks.all()[:50],
            "may_record": may_act
            and request.user.has_perm("payments.record_payment")
            and (
                bill.status in {Bill.Status.UNPAID, Bill.Status.EXPIRED}
                or "record_form" in forms_given
            ),
            "may_refund": may_act and request.user.has_perm("payments.record_refund"),
            "record_form": forms_given.get("record_form") or forms.PaymentRecordForm(),
            "refund_form": forms_given.get("refund_form") or forms.RefundForm(),
            "refund_for": forms_given.get("refund_for"),
            "review_form": forms_given.get("review_form") or forms.ReviewCloseForm(),
        }

    def _rerender(self, request, bill, **forms_given):
        """The bill's page again with the refused form, its errors next to the fields.

        The page itself is read-only: it is rendered as for a GET (a POST to
        the change view would ask for a change permission nobody has).
        """
        extra = self._panels(request, bill, **forms_given)
        request.method = "GET"
        response = super().change_view(request, str(bill.pk), extra_context=extra)
        response.status_code = 400
        return response

    def record_view(self, request, pk: int):
        bill = self._bill(request, pk, "payments.record_payment")
        if request.method != "POST":
            return self._back(bill)
        form = forms.PaymentRecordForm(request.POST, request.FILES)
        # The time on the bank's proof is the office's local time (WIB, WITA or WIT).
        with timezone.override(bill.application.office.tzinfo):
            valid = form.is_valid()
        if valid:
            data = form.cleaned_data
            try:
                services.payment_record(
                    bill=bill,
                    by=request.user,
                    method=data["method"],
                    ntpn=data["ntpn"],
                    paid_at=data["paid_at"],
                    reason=data["reason"],
                    proof=data.get("proof"),
                )
            except ServiceError as error:
                add_to_form(form, error)
            else:
                messages.success(
                    request, gettext("Payment recorded; %(code)s is paid.") % {"code": bill.code}
                )
                return self._back(bill)
        return self._rerender(request, bill, record_form=form)

    def refund_view(self, request, pk: int, payment_id: int):
        bill = self._bill(request, pk, "payments.record_refund")
        payment = bill.payments.filter(pk=payment_id).first()
        if payment is None:
            raise Http404
        if request.method != "POST":
            return self._back(bill)
        form = forms.RefundForm(request.POST)
        if form.is_valid():
            try:
                services.refund_record(payment=payment, by=request.user, **form.cleaned_data)
            except ServiceError as error:
                add_to_form(form, error)
            else:
                messages.success(request, gettext("Refund recorded."))
                return self._back(bill)
        return self._rerender(request, bill, refund_form=form, refund_for=payment.pk)

    def review_view(self, request, pk: int):
        bill = self._bill(request, pk, "payments.record_refund")
        if request.method != "POST":
            return self._back(bill)
        form = forms.ReviewCloseForm(request.POST)
        if form.is_valid():
            try:
                services.review_clear(bill=bill, by=request.user, note=form.cleaned_data["note"])
            except ServiceError as error:
                add_to_form(form, error)
            else:
                messages.success(request, gettext("Review closed."))
                return self._back(bill)
        return self._rerender(request, bill, review_form=form)

    def proof_view(self, request, pk: int, payment_id: int):
        bill = self._bill(request, pk, "payments.view_payment")
        payment = bill.payments.filter(pk=payment_id).exclude(proof="").first()
        if payment is None:
            raise Http404
        audit.record(
            "document_downloaded",
            obj=payment,
            office=bill.application.office_id,
            by=request.user,
            label=f"{bill.application.reference} {bill.code}",
            detail={"document": "payment_proof"},
        )
        extension = payment.proof.name.rsplit(".", 1)[-1]
        content_type = {"pdf": "application/pdf", "png": "image/png"}.get(extension, "image/jpeg")
        return private_file_response(
            payment.proof, filename=f"bukti-{bill.code}.{extension}", content_type=content_type
        )

    def reconciliation_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = max(1, min(int(request.GET.get("days", 30)), 366))
        except ValueError:
            days = 30
        rows = selectors.reconciliation(applications=staff_applications(request.user), days=days)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reconciliation"),
            "opts": self.model._meta,
            "rows": rows,
            "mismatches": sum(1 for row in rows if row.problem),
            "days": days,
        }
        return TemplateResponse(request, "admin/payments/reconciliation.html", context)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "bill",
        "state",
        "amount",
        "method",
        "ntpn",
        "paid_at",
        "provider",
        "recorded_by",
    ]
    list_filter = ["state", "method", "provider", ("paid_at", admin.DateFieldListFilter)]
    list_select_related = ["bill", "recorded_by"]
    search_fields = ["ntpn", "bill__code", "provider_reference", "bill__application__reference"]
    date_hierarchy = "paid_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return _scoped(request, super().get_queryset(request), "bill__application")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["payment", "amount", "reason", "reference", "recorded_by", "recorded_at"]
    list_select_related = ["payment", "recorded_by"]
    search_fields = ["payment__ntpn", "payment__bill__code", "reference"]
    list_filter = [("recorded_at", admin.DateFieldListFilter)]

    def get_queryset(self, request):
        return _scoped(request, super().get_queryset(request), "payment__bill__application")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "event_id",
        "billing_code",
        "status",
        "amount",
        "outcome",
        "detail",
    ]
    list_filter = ["outcome", "provider", "status", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["event_id", "billing_code"]
    # The body holds the gateway's signature: officers see what was decided, not it.
    exclude = ["body"]
    date_hierarchy = "received_at"
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset  # including money for unknown codes
        return queryset.filter(bill__application__in=staff_applications(request.user).values("pk"))
