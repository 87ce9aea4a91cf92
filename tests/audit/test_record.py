"""`audit.record`: who (from the request or given), from where, in the caller's transaction."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import RequestFactory

import audit
from audit import context
from audit.models import AuditEntry

from .conftest import ADDRESS, BROWSER

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_request():
    """Run `audit.record` as if inside a request from ADDRESS by `user`."""
    tokens = []

    def enter(user):
        request = RequestFactory().get("/", REMOTE_ADDR=ADDRESS, HTTP_USER_AGENT=BROWSER)
        request.user = user
        tokens.append(context.bind(request))
        return request

    yield enter
    for token in reversed(tokens):
        context.unbind(token)


def test_inside_a_request_the_user_address_and_browser_come_from_the_request(
    in_request, budi, ltg, office_a
):
    in_request(budi)

    entry = audit.record("nik_viewed", obj=ltg)

    assert (entry.actor, entry.actor_email, entry.actor_role) == (budi, budi.email, "officer")
    assert (entry.ip, entry.user_agent) == (ADDRESS, BROWSER)
    assert (entry.object_type, entry.object_id) == ("applications.application", str(ltg.pk))
    assert entry.object_label == ltg.reference
    assert entry.office == office_a  # taken from the application


def test_outside_a_request_an_entry_is_the_systems(ltg):
    entry = audit.record("status_move", obj=ltg)

    assert (entry.actor, entry.actor_role, entry.ip, entry.user_agent) == (None, "system", None, "")


def test_roles_are_told_apart(dewi, budi, ani):
    admin = type(budi).objects.create_superuser("root@example.id", "Kopi-Tubruk-Pagi-2024")

    roles = [audit.record("login", by=user).actor_role for user in (dewi, budi, admin, ani)]

    assert roles == ["supervisor", "officer", "admin", "citizen"]


def test_a_citizens_email_is_not_copied_into_the_trail(ani):
    entry = audit.record("personal_data_exported", by=ani, obj=ani)

    assert entry.actor == ani and entry.actor_email == ""
    assert entry.object_label == f"#{ani.pk}"  # never the name a user's str() gives


def test_a_visitor_not_logged_in_is_anonymous(in_request):
    in_request(AnonymousUser())

    entry = audit.record("login_failed")

    assert (entry.actor, entry.actor_role, entry.ip) == (None, "anonymous", ADDRESS)


def test_a_long_browser_string_is_cut_to_200_characters(in_request, budi):
    request = in_request(budi)
    request.META["HTTP_USER_AGENT"] = "x" * 500

    assert audit.record("login").user_agent == "x" * 200


def test_an_address_that_is_not_an_ip_is_left_empty(in_request, budi):
    request = in_request(budi)
    request.META["REMOTE_ADDR"] = "not-an-address"

    assert audit.record("login").ip is None


def test_the_entry_is_rolled_back_with_the_action(budi):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("login", by=budi)
        raise RuntimeError("the action failed")

    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("key", ["nik", "full_name", "reason", "passport_number", "NIK"])
def test_personal_data_in_the_detail_is_refused(budi, key):
    with pytest.raises(ValueError, match="personal data"):
        audit.record("login", by=budi, detail={key: "1802015205900001"})

    assert not AuditEntry.objects.exists()


def test_an_unknown_action_is_refused(budi):
    with pytest.raises(ValueError):
        audit.record("deleted_everything", by=budi)
