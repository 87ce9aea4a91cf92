from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User
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

    @admin.display(description=_("NIK"))
    def masked_nik(self, user: User) -> str:
        return user.nik_masked or "-"

    @admin.display(description=_("verified"), boolean=True)
    def verified(self, user: User) -> bool:
        return user.is_email_verified

    def save_model(self, request, obj, form, change):
        # A number typed in by an officer was never proven to reach the
        # person: like a change on the profile page, it starts unverified.
        if change and "phone" in form.changed_data:
            obj.phone_verified_at = None
        super().save_model(request, obj, form, change)
