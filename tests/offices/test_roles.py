"""Staff roles are groups with exactly the permissions declared in offices/roles.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from offices import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def historical_apps(db):
    """The app registry a data migration gets (sync_role_groups is written for it)."""
    return MigrationLoader(connection).project_state().apps


def permission_names(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_migrations_create_the_petugas_and_supervisor_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Petugas", "Supervisor"}


@pytest.mark.parametrize("role", [roles.OFFICER, roles.SUPERVISOR])
def test_each_role_has_exactly_its_declared_permissions(role):
    assert permission_names(Group.objects.get(name=role)) == set(roles.ROLE_PERMISSIONS[role])


def test_an_officer_may_look_but_not_change_office_data(budi):
    assert budi.has_perm("offices.view_office")
    assert budi.has_perm("offices.view_holiday")
    assert not budi.has_perm("offices.change_counter")
    assert not budi.has_perm("offices.add_holiday")
    assert not budi.has_perm("accounts.view_user")


def test_a_supervisor_manages_counters_holidays_and_hours(dewi):
    for permission in [
        "offices.change_counter",
        "offices.add_holiday",
        "offices.delete_holiday",
        "offices.change_openinghours",
        "accounts.view_user",
    ]:
        assert dewi.has_perm(permission), permission
    assert not dewi.has_perm("offices.delete_office")
    assert not dewi.has_perm("accounts.change_user")


def test_a_citizen_has_no_staff_permission(ani):
    assert not ani.has_perm("offices.view_office")
    assert not ani.groups.exists()


def test_syncing_again_restores_a_removed_permission_and_drops_an_extra_one(historical_apps):
    officer = Group.objects.get(name=roles.OFFICER)
    officer.permissions.remove(Permission.objects.get(codename="view_counter"))
    officer.permissions.add(Permission.objects.get(codename="delete_office"))

    roles.sync_role_groups(historical_apps)

    assert permission_names(officer) == set(roles.ROLE_PERMISSIONS[roles.OFFICER])


def test_syncing_twice_creates_no_second_group(historical_apps):
    roles.sync_role_groups(historical_apps)
    roles.sync_role_groups(historical_apps)

    assert Group.objects.filter(name__in=list(roles.ROLE_PERMISSIONS)).count() == len(
        roles.ROLE_PERMISSIONS
    )
