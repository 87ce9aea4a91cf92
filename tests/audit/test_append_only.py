"""Entries cannot be changed or removed: not by the model, not by a queryset, and on
PostgreSQL not by raw SQL either; a deleted user or office only loses the link."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

import audit
from audit.models import AppendOnlyError, AuditEntry
from tests.factories import OfficeFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(budi, office_a):
    return audit.record("login", by=budi, office=office_a, detail={"step": "first"})


def test_saving_an_existing_entry_again_is_refused(entry):
    entry.action = "logout"

    with pytest.raises(AppendOnlyError):
        entry.save()

    assert AuditEntry.objects.get(pk=entry.pk).action == "login"


def test_a_new_entry_with_the_primary_key_of_an_old_one_does_not_overwrite_it(entry, budi):
    forged = AuditEntry(pk=entry.pk, action="logout", actor_role="officer")

    with pytest.raises(DatabaseError), transaction.atomic():
        forged.save()  # an INSERT, refused as a duplicate key

    assert AuditEntry.objects.get(pk=entry.pk).action == "login"


def test_deleting_an_entry_is_refused(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_delete_and_bulk_update_are_refused(entry):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="logout")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([entry], ["action"])

    assert AuditEntry.objects.get(pk=entry.pk).action == "login"


# --- The database itself (PostgreSQL) -----------------------------------------------------


def _raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_a_raw_update_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditentry SET action = 'logout' WHERE id = %s", [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).action == "login"


@pytest.mark.postgres
def test_a_raw_update_of_the_actor_to_someone_else_is_refused(entry, citra):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", [citra.pk, entry.pk])


@pytest.mark.postgres
def test_a_raw_update_through_the_base_manager_is_refused(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(object_label="rewritten")


@pytest.mark.postgres
def test_a_raw_delete_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres
def test_truncate_still_empties_the_table_for_test_flushes(entry):
    # (The entry's deferred foreign key checks are settled first, as a commit would.)
    _raw("SET CONSTRAINTS ALL IMMEDIATE")
    _raw("TRUNCATE audit_auditentry")

    assert not AuditEntry.objects.exists()


def test_deleting_a_staff_account_keeps_its_entries_with_the_email_snapshot(office_a):
    leaver = StaffFactory(email="leaver@example.id", offices=[office_a])
    kept = audit.record("login", by=leaver)

    leaver.delete()

    kept = AuditEntry.objects.get(pk=kept.pk)
    assert (kept.actor, kept.actor_email, kept.action) == (None, "leaver@example.id", "login")


def test_deleting_an_office_keeps_its_entries(budi):
    office = OfficeFactory(code="TMP", opening_hours=[])
    kept = audit.record("booking_admin", by=budi, office=office, label="TMP 2030-01-02")

    office.delete()

    kept = AuditEntry.objects.get(pk=kept.pk)
    assert (kept.office, kept.object_label) == (None, "TMP 2030-01-02")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_committed_entries_do_not_stop_the_flush_between_transactional_tests(office_a, budi):
    """The flush after this test (TRUNCATE) must not be refused by the trigger."""
    audit.record("login", by=budi, office=office_a)

    assert AuditEntry.objects.count() == 1
