"""Audit trail fixtures: a supervisor of office A only, applications at A and B, entries."""

from __future__ import annotations

import pytest

from applications import services
from audit.models import AuditEntry
from offices import roles
from tests.applications.conftest import (  # noqa: F401 (fixtures shared with applications)
    _private_files,
    advance,
    complete_draft,
    draft,
    passport_service,
    permit_service,
    regular_passport_service,
    submitted,
)
from tests.factories import StaffFactory, UserFactory

ADDRESS = "203.0.113.7"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@pytest.fixture
def sari(office_a):
    """A supervisor of office A only."""
    return StaffFactory(
        email="sari@example.id",
        full_name="Sari Wulandari",
        role=roles.SUPERVISOR,
        offices=[office_a],
    )


@pytest.fixture
def ltg(submitted):  # noqa: F811 (the imported fixture)
    """Ani's electronic passport application at office A (LTG), sent."""
    return submitted


@pytest.fixture
def lbr(office_b, passport_service, tasks_inline):  # noqa: F811
    """Another citizen's application at office B (LBR), sent."""
    citizen = UserFactory(full_name="Rudi Hartono")
    application = complete_draft(citizen, office_b, passport_service)
    services.application_submit(application=application, by=citizen, declaration=True)
    return application


def entries(action: str):
    return AuditEntry.objects.filter(action=action)


def only_entry(action: str) -> AuditEntry:
    found = list(entries(action))
    assert len(found) == 1, f"{len(found)} {action} entries: {found}"
    return found[0]


def assert_no_personal_data(entry: AuditEntry, *people) -> None:
    """Neither the label nor the detail names a person or carries their numbers."""
    text = f"{entry.object_label} {entry.detail}"
    for person in people:
        for value in (person.full_name, person.email, getattr(person, "nik", "")):
            assert not value or value not in text, value
