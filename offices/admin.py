from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from offices.models import Counter, Holiday, Office, OpeningHours, StaffMembership


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class CounterInline(admin.TabularInline):
    model = Counter
    extra = 0


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "time_zone", "phone", "is_active"]
    list_filter = ["is_active", "time_zone"]
    search_fields = ["code", "name", "region"]
    inlines = [OpeningHoursInline, CounterInline]

    def get_queryset(self, request):
        return super().get_queryset(request).for_staff(request.user)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # another office does not exist for this officer (TRUST.md: 404)


@admin.register(Counter)
class CounterAdmin(admin.ModelAdmin):
    list_display = ["name", "number", "office", "purpose", "is_active"]
    list_filter = ["office", "purpose", "is_active"]
    list_select_related = ["office"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(office__memberships__user=request.user)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # another office's counter does not exist for this officer


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "scope"]
    list_filter = [("office", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "date"
    list_select_related = ["office"]
    search_fields = ["name"]

    @admin.display(description=_("scope"))
    def scope(self, holiday: Holiday) -> str:
        return holiday.office.name if holiday.office else _("National")


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "office", "since"]
    list_filter = ["office"]
    list_select_related = ["user", "office"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(office__in=Office.objects.for_staff(request.user))

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # another office's staff do not exist for this supervisor
