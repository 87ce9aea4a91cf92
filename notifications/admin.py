from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications import events, services
from notifications.models import Channel, Notification, NotificationEvent


class EventInline(admin.TabularInline):
    model = NotificationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "status", "detail"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox console: filter by state, channel, event and date; resend failures."""

    list_display = ["created_at", "event", "channel", "status", "recipient", "attempts", "segments"]
    list_filter = ["status", "channel", "event", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["recipient"]
    search_fields = ["recipient__email", "recipient__full_name", "provider_reference"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [EventInline]
    actions = ["resend"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and events.category_of(obj.event) == events.SECURITY:
            # Links and codes in security messages are for the person only.
            return [f for f in fields if f not in ("body", "body_html")]
        return fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected failed notifications again"))
    def resend(self, request, queryset):
        ids = services.notifications_resend(
            notification_ids=list(queryset.values_list("pk", flat=True)), by=request.user
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d notification queued again.",
                "%(count)d notifications queued again.",
                len(ids),
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )

    def changelist_view(self, request, extra_context=None):
        # SMS balance: segments handed to the gateway per day, last 14 days.
        sms_per_day = (
            Notification.objects.filter(channel=Channel.SMS, sent_at__isnull=False)
            .annotate(day=TruncDate("sent_at"))
            .values("day")
            .annotate(messages=Count("pk"), segments=Sum("segments"))
            .order_by("-day")[:14]
        )
        extra_context = {**(extra_context or {}), "sms_per_day": sms_per_day}
        return super().changelist_view(request, extra_context=extra_context)
