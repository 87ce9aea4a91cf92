"""The audit trail in the console: supervisors browse their offices' entries; nobody adds,
changes or deletes one, not even a superuser; officers are kept out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

import audit
from audit.models import AuditEntry
from tests.factories import PASSWORD
from tests.utils import page_text

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:audit_auditentry_changelist")


def change_url(entry: AuditEntry) -> str:
    return reverse("admin:audit_auditentry_change", args=[entry.pk])


def delete_url(entry: AuditEntry) -> str:
    return reverse("admin:audit_auditentry_delete", args=[entry.pk])


@pytest.fixture
def trail(budi, citra, sari, office_a, office_b):
    """Entries at office A (budi), office B (citra), a login of each, and sari's own."""
    return {
        "a": audit.record("status_move", by=budi, office=office_a, label="LTG-A-ENTRY"),
        "b": audit.record("status_move", by=citra, office=office_b, label="LBR-B-ENTRY"),
        "login_a": audit.record("login", by=budi, label="LOGIN-OF-BUDI"),
        "login_b": audit.record("login", by=citra, label="LOGIN-OF-CITRA"),
        "own": audit.record("export", by=sari, label="SARI-OWN-EXPORT"),
    }


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root@example.id", PASSWORD)


def labels_listed(response) -> set[str]:
    """Labels of the entries listed (the test login's own entry has none)."""
    return {e.object_label for e in response.context["cl"].result_list if e.object_label}


def test_a_supervisor_sees_the_entries_of_their_offices_only(client, sari, trail):
    client.force_login(sari)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert labels_listed(response) == {"LTG-A-ENTRY", "LOGIN-OF-BUDI", "SARI-OWN-EXPORT"}


def test_another_offices_entry_is_404_for_a_supervisor(client, sari, trail):
    client.force_login(sari)

    assert client.get(change_url(trail["b"])).status_code == 404
    assert client.get(change_url(trail["a"])).status_code == 200


def test_a_supervisor_filters_by_action_and_searches_by_label(client, sari, trail):
    client.force_login(sari)

    by_action = client.get(CHANGELIST, {"action": "login"})
    by_label = client.get(CHANGELIST, {"q": "ltg-a"})

    assert labels_listed(by_action) == {"LOGIN-OF-BUDI"}
    assert labels_listed(by_label) == {"LTG-A-ENTRY"}


def test_a_superuser_sees_everything(client, superuser, trail):
    client.force_login(superuser)

    response = client.get(CHANGELIST)

    assert labels_listed(response) >= {e.object_label for e in trail.values()}


def test_an_officer_is_forbidden(client, budi, trail):
    client.force_login(budi)

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(trail["a"])).status_code == 403


def test_a_citizen_never_reaches_the_trail(client, ani, trail):
    client.force_login(ani)

    response = client.get(CHANGELIST)

    assert response.status_code == 302  # to the login, like any admin page
    assert "LTG-A-ENTRY" not in page_text(response)


def test_there_is_no_add_page_even_for_a_superuser(client, superuser):
    client.force_login(superuser)

    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    response = client.post(
        reverse("admin:audit_auditentry_add"),
        {"action": "login", "actor_role": "system", "object_label": "forged"},
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(object_label="forged").exists()


def test_posting_to_the_change_page_changes_nothing_even_for_a_superuser(client, superuser, trail):
    client.force_login(superuser)
    entry = trail["a"]

    page = client.get(change_url(entry))
    response = client.post(
        change_url(entry), {"action": "logout", "object_label": "rewritten", "ip": "10.0.0.1"}
    )

    assert page.status_code == 200
    assert 'name="object_label"' not in page.content.decode()  # shown, not editable
    assert response.status_code == 403
    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert (fresh.action, fresh.object_label, fresh.ip) == ("status_move", "LTG-A-ENTRY", None)


def test_the_delete_page_is_forbidden_even_for_a_superuser(client, superuser, trail):
    client.force_login(superuser)
    entry = trail["a"]

    assert client.get(delete_url(entry)).status_code == 403
    assert client.post(delete_url(entry), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_there_is_no_bulk_delete_action(client, superuser, trail):
    client.force_login(superuser)

    listed = client.get(CHANGELIST)
    response = client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [trail["a"].pk], "post": "yes"},
    )

    assert 'name="action"' not in listed.content.decode()
    assert response.status_code in {200, 302}
    assert AuditEntry.objects.filter(pk=trail["a"].pk).exists()
