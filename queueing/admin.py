"""Queueing in the officers' console: quotas, slots (close a day, change capacity), and
read-only bookings, waiting list and tickets, each scoped to the officer's offices."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

import audit
from offices.models import Office
from queueing import slots
from queueing.models import Booking, CounterShift, Quota, Slot, Ticket, WaitlistEntry


class OfficeScopedAdmin(admin.ModelAdmin):
    """Rows of the offices the officer works at; others do not exist for them."""

    office_path = "office"
    view_on_site = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.office_path}__in": Office.objects.for_staff(request.user)}
        )

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "office" and not request.user.is_superuser:
            kwargs["queryset"] = Office.objects.for_staff(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnly(OfficeScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Quota)
class QuotaAdmin(OfficeScopedAdmin):
    list_display = [
        "office",
        "slot_minutes",
        "interview_capacity",
        "consultation_capacity",
        "same_day_quota",
        "priority_quota",
    ]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit.record(
            "booking_admin",
            obj=obj,
            office=obj.office_id,
            by=request.user,
            label=obj.office.code,
            detail={
                "step": "quota_changed" if change else "quota_added",
                **{
                    field: getattr(value, "pk", value)
                    for field in form.changed_data
                    if (value := form.cleaned_data.get(field)) is not None
                },
            },
        )
        # New capacity applies to days not generated yet; existing slots are changed below.
        slots.forget_made(obj.office)


class SlotForm(forms.ModelForm):
    """Only the capacity is edited here; closing a day is an action (it tells the citizens)."""

    class Meta:
        model = Slot
        fields = ["capacity"]

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk and capacity < self.instance.booked:
            raise forms.ValidationError(
                _("%(booked)s places are already booked; capacity cannot be lower.")
                % {"booked": self.instance.booked}
            )
        return capacity


@admin.register(Slot)
class SlotAdmin(OfficeScopedAdmin):
    form = SlotForm
    list_display = ["starts_at_local", "office", "purpose", "capacity", "booked", "closed"]
    list_editable = ["capacity"]
    list_filter = ["office", "purpose", "closed", "day"]
    date_hierarchy = "day"
    actions = ["close_days", "reopen_days"]
    readonly_fields = [
        "office",
        "purpose",
        "day",
        "starts_at",
        "ends_at",
        "booked",
        "closed",
        "closed_reason",
    ]
    list_select_related = ["office"]

    def get_changelist_form(self, request, **kwargs):
        return SlotForm  # the list's capacity column is checked like the change form

    def save_model(self, request, obj, form, change):
        """Write the capacity alone, and only if it still covers the places booked meanwhile.

        A plain save would write back a `booked` count read before a citizen
        booked, and could let the slot take more people than it has places.
        """
        capacity = form.cleaned_data["capacity"]
        was = form.initial.get("capacity")
        updated = Slot.objects.filter(pk=obj.pk, booked__lte=capacity).update(capacity=capacity)
        if updated and was != capacity:
            audit.record(
                "booking_admin",
                obj=obj,
                office=obj.office_id,
                by=request.user,
                label=f"{obj.office.code} {obj.local_start():%Y-%m-%d %H.%M}",
                detail={"step": "capacity", "from": was, "to": capacity},
            )
        if not updated:
            obj.refresh_from_db()
            self.message_user(
                request,
                _("%(slot)s: %(booked)s places were booked meanwhile; capacity not changed.")
                % {"slot": obj, "booked": obj.booked},
                messages.ERROR,
            )
            return
        obj.refresh_from_db()
        slots.offer_free_places(Slot.objects.filter(pk=obj.pk))

    def has_add_permission(self, request):
        return False  # slots are generated from the opening hours and quota

    def has_delete_permission(self, request, obj=None):
        return False  # close a day instead: booked citizens are told

    @admin.display(description=_("starts at"), ordering="starts_at")
    def starts_at_local(self, slot):
        return slot.local_start().strftime("%Y-%m-%d %H.%M")

    @admin.action(
        description=_(
            "Close the whole day of the selected slots (booked citizens are told and may rebook)"
        ),
        permissions=["change"],
    )
    def close_days(self, request, queryset):
        days = set(queryset.values_list("office_id", "day"))
        cancelled = 0
        for office_id, day in days:
            office = Office.objects.get(pk=office_id)
            closed_here = slots.day_close(
                office, day, reason=str(_("Closed by the office.")), by=request.user
            )
            cancelled += closed_here
            audit.record(
                "booking_admin",
                office=office,
                by=request.user,
                label=f"{office.code} {day:%Y-%m-%d}",
                detail={"step": "day_closed", "day": day, "bookings_cancelled": closed_here},
            )
        closed = ngettext("%(n)d day closed.", "%(n)d days closed.", len(days)) % {"n": len(days)}
        told = ngettext(
            "%(n)d booking cancelled; the citizen was told.",
            "%(n)d bookings cancelled; the citizens were told.",
            cancelled,
        ) % {"n": cancelled}
        self.message_user(request, f"{closed} {told}", messages.SUCCESS)

    @admin.action(
        description=_("Reopen the whole day of the selected slots"), permissions=["change"]
    )
    def reopen_days(self, request, queryset):
        days = set(queryset.values_list("office_id", "day"))
        for office_id, day in days:
            office = Office.objects.get(pk=office_id)
            reopened = slots.day_reopen(office, day)
            audit.record(
                "booking_admin",
                office=office,
                by=request.user,
                label=f"{office.code} {day:%Y-%m-%d}",
                detail={"step": "day_reopened", "day": day, "slots_reopened": reopened},
            )
        self.message_user(request, _("Reopened."), messages.SUCCESS)


@admin.register(Booking)
class BookingAdmin(ReadOnly):
    list_display = ["code", "office", "purpose", "slot", "status", "reschedules", "checked_in_at"]
    list_filter = ["office", "purpose", "status"]
    search_fields = ["=code", "=application__reference"]
    list_select_related = ["office", "slot", "slot__office"]
    exclude = ["room_token"]


@admin.register(WaitlistEntry)
class WaitlistAdmin(ReadOnly):
    list_display = ["office", "day", "purpose", "status", "created_at", "offer_expires_at"]
    list_filter = ["office", "purpose", "status"]
    list_select_related = ["office"]


@admin.register(Ticket)
class TicketAdmin(ReadOnly):
    list_display = [
        "label",
        "office",
        "day",
        "status",
        "priority",
        "counter",
        "issued_at",
        "called_at",
        "served_at",
        "finished_at",
    ]
    list_filter = ["office", "day", "status", "prefix"]
    list_select_related = ["office", "counter"]
    exclude = ["token"]


@admin.register(CounterShift)
class CounterShiftAdmin(ReadOnly):
    office_path = "counter__office"
    list_display = ["counter", "officer", "prefixes", "opened_at", "closed_at"]
    list_select_related = ["counter", "counter__office", "officer"]
