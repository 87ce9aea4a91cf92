"""The officers' console for applications: scoped to their offices, moves through the workflow."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import audit
from accounts import identity, pii
from applications import review, workflow
from applications.access import officer_can_act, staff_applications
from applications.models import (
    NIK_PURPOSE,
    Application,
    Document,
    Requirement,
    Service,
    StatusEvent,
    Tariff,
)
from applications.views import private_file_response
from applications.workflow import Status
from imigrasi.errors import ServiceError

# Full NIK and passport numbers (supervisors; offices/roles.py). Everyone else sees them masked.
PERSONAL_NUMBERS = "audit.view_personal_numbers"


def _posted_text(request, name: str) -> str:
    """A free-text value of the review buttons' forms, without NUL bytes (which no
    keyboard types and PostgreSQL text cannot store: they would be a 500)."""
    return request.POST.get(name, "").replace("\x00", "")


# --- Catalogue ----------------------------------------------------------------


class TariffInline(admin.TabularInline):
    model = Tariff
    extra = 0
    fields = [
        "kind",
        "label_id",
        "label_en",
        "amount",
        "valid_from",
        "valid_to",
        "legal_basis",
        "verified",
        "note",
    ]


class RequirementInline(admin.TabularInline):
    model = Requirement
    extra = 0
    fields = [
        "ordering",
        "code",
        "name_id",
        "name_en",
        "help_id",
        "help_en",
        "accepted_types",
        "max_size_kb",
        "is_required",
    ]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "name_id",
        "code",
        "category",
        "processing_days",
        "needs_interview",
        "fee_today",
        "to_be_confirmed",
        "is_active",
    ]
    list_filter = ["category", "is_active", "needs_interview"]
    search_fields = ["name_id", "name_en", "code"]
    inlines = [RequirementInline, TariffInline]
    prepopulated_fields = {"code": ["name_id"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tariffs")

    @admin.display(description=_("fee today"))
    def fee_today(self, service):
        today = timezone.localdate()
        rows = [t for t in service.tariffs.all() if t.in_force_on(today)]
        if not rows:
            return "–"
        return "Rp " + f"{sum(t.amount for t in rows):,}".replace(",", ".")

    @admin.display(description=_("to be confirmed"), boolean=True)
    def to_be_confirmed(self, service):
        today = timezone.localdate()
        return any(
            not t.verified
            for t in service.tariffs.all()
            if t.valid_to is None or t.valid_to >= today
        )


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = [
        "label_id",
        "service",
        "amount",
        "valid_from",
        "valid_to",
        "legal_basis",
        "verified",
    ]
    list_filter = ["verified", "legal_basis", "kind"]
    list_select_related = ["service"]
    search_fields = ["label_id", "label_en", "service__name_id"]


# --- Applications ---------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = _("processing target")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Past the target date")),
            ("uncollected", _("Not collected 30+ days")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()
        if self.value() == "uncollected":
            return queryset.not_collected()
        return queryset


class OpenFilter(admin.SimpleListFilter):
    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("review", _("Waiting for an officer")),
            ("open", _("All open")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "review":
            return queryset.filter(status__in=[Status.SUBMITTED, Status.INTERVIEWED, Status.PAID])
        if self.value() == "open":
            return queryset.open()
        return queryset


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Officers see their office's applications; every move goes through the workflow."""

    list_display = [
        "reference",
        "full_name",
        "service_name",
        "office",
        "status_badge",
        "submitted_at",
        "due_date",
        "flags",
    ]
    list_filter = [
        OpenFilter,
        "status",
        OverdueFilter,
        ("service", admin.RelatedOnlyFieldListFilter),
        ("office", admin.RelatedOnlyFieldListFilter),
        ("submitted_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["service", "office", "applicant"]
    search_fields = ["reference", "full_name"]
    search_help_text = _("Reference, name, or an exact 16-digit NIK.")
    date_hierarchy = "submitted_at"
    list_per_page = 50
    show_full_result_count = False
    change_form_template = "admin/applications/application/change_form.html"
    view_on_site = False
    readonly_fields = [
        "reference",
        "service",
        "office",
        "status",
        "full_name",
        "nik_display",
        "date_of_birth",
        "place_of_birth",
        "sex",
        "address",
        "father_name",
        "mother_name",
        "travel_purpose",
        "destination",
        "nationality",
        "passport_display",
        "sponsor_name",
        "sponsor_address",
        "sponsor_phone",
        "fee_amount",
        "submitted_at",
        "due_date",
        "delivery_method",
        "delivery_address",
        "courier",
        "tracking_number",
        "account_flag",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["reference", "service", "office", "status", "submitted_at", "due_date"]},
        ),
        (
            _("Applicant"),
            {
                "fields": [
                    "full_name",
                    "nik_display",
                    "account_flag",
                    "date_of_birth",
                    "place_of_birth",
                    "sex",
                    "address",
                    "father_name",
                    "mother_name",
                ]
            },
        ),
        (
            _("Details"),
            {
                "fields": [
                    "travel_purpose",
                    "destination",
                    "nationality",
                    "passport_display",
                    "sponsor_name",
                    "sponsor_address",
                    "sponsor_phone",
                    "fee_amount",
                ]
            },
        ),
        (
            _("Pickup or delivery"),
            {"fields": ["delivery_method", "delivery_address", "courier", "tracking_number"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            staff_applications(request.user)
            .exclude(status=Status.DRAFT)
            .select_related("service", "office", "applicant")
        )

    def get_search_results(self, request, queryset, search_term):
        digits = identity.normalise_nik(search_term or "")
        if len(digits) == 16 and digits.isdigit():
            # Exact NIK through the blind index: the number itself is never queried.
            index = pii.blind_index(digits, purpose=NIK_PURPOSE)
            return queryset.filter(Q(nik_index=index) | Q(applicant__nik_index=index)), False
        return super().get_search_results(
            request,
            queryset,
            search_term.strip().upper() if search_term.count("-") >= 2 else search_term,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another office's application does not exist for this officer (TRUST.md: 404).
        raise Http404

    def has_change_permission(self, request, obj=None):
        # The form itself is read-only: officers act with the buttons below it,
        # each a workflow move or a document decision.
        return False

    def _may_act(self, request, application) -> bool:
        return request.user.has_perm("applications.change_application") and officer_can_act(
            request.user, application
        )

    # Columns ------------------------------------------------------------------

    @admin.display(description=_("service"), ordering="service__name_id")
    def service_name(self, application):
        return application.service.name_id

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, application):
        return application.get_status_display()

    @admin.display(description=_("flags"))
    def flags(self, application):
        flags = []
        if application.is_overdue:
            flags.append(gettext("past target"))
        if application.is_not_collected:
            flags.append(gettext("not collected 30+ days"))
        if application.nik_mismatch:
            flags.append(gettext("NIK/birth date mismatch"))
        return ", ".join(flags) or "–"

    @admin.display(description="NIK")
    def nik_display(self, application):
        return application.nik_masked or "–"

    @admin.display(description=_("passport number"))
    def passport_display(self, application):
        return application.passport_number_masked or "–"

    @admin.display(description=_("NIK check"))
    def account_flag(self, application):
        if application.nik_mismatch:
            return gettext(
                "The NIK does not match the applicant's birth date or sex: check the KTP."
            )
        return gettext("No mismatch found.")

    # The review page and its actions ----------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/move/", wrap(self.move_view), name="applications_application_move"),
            path(
                "<int:pk>/document/<int:document_id>/review/",
                wrap(self.document_review_view),
                name="applications_application_document_review",
            ),
            path(
                "<int:pk>/document/<int:document_id>/file/",
                wrap(self.document_file_view),
                name="applications_application_document_file",
            ),
            path(
                "<int:pk>/tracking/",
                wrap(self.tracking_view),
                name="applications_application_tracking",
            ),
            path(
                "<int:pk>/identity/",
                wrap(self.identity_view),
                name="applications_application_identity",
            ),
            *super().get_urls(),
        ]

    def _application(self, request, pk: int) -> Application:
        application = self.get_object(request, str(pk))
        if application is None:
            raise Http404
        if not self._may_act(request, application):
            raise PermissionDenied
        return application

    def _back(self, application):
        return HttpResponseRedirect(
            reverse("admin:applications_application_change", args=[application.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = self.get_object(request, unquote(object_id))
        extra = extra_context or {}
        if application is not None:
            moves = [
                (to, Status(to).label)
                for to in workflow.targets_from(
                    application.status, workflow.OFFICER, application=application
                )
                if to in review.OFFICER_ACTIONS
            ]
            extra.update(
                moves=moves,
                documents=application.documents.select_related("requirement", "reviewed_by"),
                events=StatusEvent.objects.filter(application=application).select_related("by"),
                can_review_documents=application.status in review.REVIEWABLE,
                can_act=self._may_act(request, application),
                can_view_personal_numbers=request.user.has_perm(PERSONAL_NUMBERS),
                tracking_open=application.status == Status.READY
                and application.delivery_method == Application.Delivery.POST,
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @staticmethod
    def _report(request, error: ServiceError):
        messages.error(request, error.message)

    def move_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:applications_application_change", args=[pk]))
        application = self._application(request, pk)
        to = request.POST.get("to", "")
        action = review.OFFICER_ACTIONS.get(to)
        if action is None:
            messages.error(request, gettext("Unknown action."))
            return self._back(application)
        note = _posted_text(request, "note")
        try:
            if to == Status.REVISION_REQUESTED:
                ids = request.POST.getlist("documents")
                # ASCII digits that fit a bigint: "²" or 5,000 nines are no document (not a 500).
                ids = [i for i in ids if i.isascii() and i.isdigit() and len(i) <= 18]
                documents = application.documents.filter(pk__in=ids)
                action(application=application, by=request.user, note=note, documents=documents)
            else:
                action(application=application, by=request.user, note=note)
        except ServiceError as error:
            self._report(request, error)
        else:
            messages.success(
                request,
                gettext("%(reference)s is now “%(status)s”.")
                % {"reference": application.reference, "status": Status(to).label},
            )
        return self._back(application)

    def document_review_view(self, request, pk: int, document_id: int):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:applications_application_change", args=[pk]))
        application = self._application(request, pk)
        document = get_object_or_404(Document, pk=document_id, application=application)
        try:
            review.document_review(
                document=document,
                by=request.user,
                accept=request.POST.get("decision") == "accept",
                reason=_posted_text(request, "reason"),
            )
        except ServiceError as error:
            self._report(request, error)
        return self._back(application)

    def document_file_view(self, request, pk: int, document_id: int):
        application = self._application(request, pk)
        document = get_object_or_404(
            Document, pk=document_id, application=application, purged_at__isnull=True
        )
        # Recorded before the file is opened: a download that fails midway still counts.
        audit.record(
            "document_downloaded",
            obj=document,
            office=application.office_id,
            by=request.user,
            label=f"{application.reference} {document.requirement.code}",
            detail={"requirement": document.requirement.code},
        )
        return private_file_response(
            document.file,
            filename=f"{application.reference}-{document.requirement.code}.{document.extension}",
            content_type=document.content_type,
        )

    def identity_view(self, request, pk: int):
        """The full NIK and passport number, on a POST, for those allowed; every
        viewing is recorded (TRUST.md: full display needs a permission and is logged)."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:applications_application_change", args=[pk]))
        if not (request.user.has_perm(PERSONAL_NUMBERS) and self.has_view_permission(request)):
            raise PermissionDenied
        application = self.get_object(request, str(pk))  # another office's: 404
        if application is None:
            raise Http404
        audit.record(
            "nik_viewed",
            obj=application,
            office=application.office_id,
            by=request.user,
            # Which numbers were shown, never the numbers.
            detail={
                "shown": [
                    field
                    for field, present in (
                        ("nik", application.nik_encrypted),
                        ("passport_number", application.passport_number_encrypted),
                    )
                    if present
                ]
            },
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Identity numbers of %(reference)s") % {"reference": application},
            "opts": self.model._meta,
            "original": application,
            "nik": application.nik,
            "passport_number": application.passport_number,
        }
        response = TemplateResponse(
            request, "admin/applications/application/identity.html", context
        )
        add_never_cache_headers(response)
        return response

    def tracking_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:applications_application_change", args=[pk]))
        application = self._application(request, pk)
        try:
            review.tracking_record(
                application=application,
                by=request.user,
                courier=_posted_text(request, "courier"),
                tracking_number=_posted_text(request, "tracking_number"),
            )
        except ServiceError as error:
            self._report(request, error)
        else:
            messages.success(request, gettext("Tracking number saved."))
        return self._back(application)
