from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

import audit
from accounts import identity, pii
from accounts.models import NIK_PURPOSE, User
from offices.models import StaffMembership


class MembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    fk_name = "user"


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts console. The NIK is shown masked; it is never editable here."""

    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["-date_joined"]
    list_display = ["email", "full_name", "masked_nik", "nik_mismatch", "verified", "is_staff"]
    list_filter = ["is_staff", "is_active", "nik_mismatch", "groups"]
    search_fields = ["email", "full_name"]
    search_help_text = _("Email, name, or an exact 16-digit NIK.")
    readonly_fields = [
        "masked_nik",
        "nik_mismatch",
        "privacy_consent_at",
        "email_verified_at",
        "phone_verified_at",
        "date_joined",
        "last_login",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            _("Personal data"),
            {
                "fields": [
                    "full_name",
                    "masked_nik",
                    "nik_mismatch",
                    "date_of_birth",
                    "sex",
                    "phone",
                    "address",
                    "preferred_language",
                ]
            },
        ),
        (
            _("Status"),
            {
                "fields": [
                    "is_active",
                    "email_verified_at",
                    "phone_verified_at",
                    "privacy_consent_at",
                ]
            },
        ),
        (_("Staff"), {"fields": ["is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "usable_password", "password1", "password2"],
            },
        ),
    ]
    inlines = [MembershipInline]
    actions = ["reset_two_factor", "reopen_account"]

    def get_queryset(self, request):
        """Supervisors see the staff of their offices and the people who applied there;
        anybody else does not exist for them (TRUST.md, "Access": 404)."""
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        from applications.access import staff_applications

        staff = StaffMembership.objects.filter(office__memberships__user=request.user)
        applicants = staff_applications(request.user).exclude(status="draft")
        return queryset.filter(
            Q(pk__in=staff.values("user")) | Q(pk__in=applicants.values("applicant"))
        )

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404

    def get_search_results(self, request, queryset, search_term):
        digits = identity.normalise_nik(search_term or "")
        if len(digits) == 16 and digits.isdigit():
            # Exact NIK through the blind index: the number itself is never queried.
            return queryset.filter(nik_index=pii.blind_index(digits, purpose=NIK_PURPOSE)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("NIK"))
    def masked_nik(self, user: User) -> str:
        return user.nik_masked or "-"

    @admin.display(description=_("verified"), boolean=True)
    def verified(self, user: User) -> bool:
        return user.is_email_verified

    @admin.action(description=_("Reset two-step verification (lost phone)"))
    def reset_two_factor(self, request, queryset):
        """For a member of staff who lost the phone: the devices and backup codes
        go, every session ends, and the next login asks for a new set-up."""
        from accounts import twofactor

        count = 0
        for user in queryset:
            twofactor.two_factor_reset(user=user, by=request.user)
            count += 1
        self.message_user(
            request, _("Two-step verification reset for %(count)d account(s).") % {"count": count}
        )

    @admin.action(description=_("Reopen account (the person changed their mind)"))
    def reopen_account(self, request, queryset):
        """Within the grace period after a deletion request (accounts.deletion)."""
        from accounts import deletion
        from imigrasi.errors import ServiceError

        for user in queryset:
            try:
                with transaction.atomic():
                    deletion.account_restore(user=user, by=request.user)
                    audit.record("account_reopened", obj=user, by=request.user, label=f"#{user.pk}")
            except ServiceError as error:
                self.message_user(request, f"#{user.pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, _("Account #%(id)s reopened.") % {"id": user.pk})

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if not request.user.is_superuser:
            actions.pop("reset_two_factor", None)
            actions.pop("reopen_account", None)
        return actions

    def save_model(self, request, obj, form, change):
        # A number typed in by an officer was never proven to reach the
        # person: like a change on the profile page, it starts unverified.
        if change and "phone" in form.changed_data:
            obj.phone_verified_at = None
        super().save_model(request, obj, form, change)
