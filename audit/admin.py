"""The audit trail in the console: browse and filter, never add, change or delete.

Supervisors see their offices' entries (and their own); superusers see all;
officers have no `audit.view_auditentry` and get 403.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_email", "actor_role", "action", "object_label", "office", "ip"]
    list_filter = [
        "action",
        "actor_role",
        ("office", admin.RelatedOnlyFieldListFilter),
        ("at", admin.DateFieldListFilter),
    ]
    list_select_related = ["office"]
    search_fields = ["actor_email", "object_label"]
    search_help_text = _("Staff email, or an application reference or billing code.")
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
    # No actions at all: "delete selected" included.
    actions = None
    view_on_site = False
    fields = [
        "at",
        "actor_email",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "office",
        "ip",
        "user_agent",
        "detail",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404  # another office's entry does not exist for this supervisor
