"""Fixtures for applications: the seeded catalogue, complete drafts, moves along the workflow."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from applications import services, workflow
from applications.models import Application, Document, Service
from applications.workflow import Status
from tests.factories import StaffFactory


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Uploaded documents and receipts go to a temporary private root, not var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    return tmp_path / "private"


@pytest.fixture
def passport_service(db) -> Service:
    """Electronic passport, 10 years: Rp 950.000 under PP 45/2024 (seeded by migration)."""
    return Service.objects.get(code="paspor-elektronik-baru")


@pytest.fixture
def regular_passport_service(db) -> Service:
    """Ordinary passport, 10 years: Rp 650.000 under PP 45/2024."""
    return Service.objects.get(code="paspor-biasa-baru")


@pytest.fixture
def permit_service(db) -> Service:
    """Visit stay permit extension: no interview, permit details."""
    return Service.objects.get(code="izin-tinggal-kunjungan")


def png_bytes(width: int = 120, height: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def complete_draft(applicant, office, service: Service) -> Application:
    """A draft with every step filled in and every document attached (not sent)."""
    application = services.application_start(
        user=applicant, service=service, office=office, person=None
    )
    services.application_save_applicant(
        application=application,
        data={
            "full_name": applicant.full_name,
            "date_of_birth": applicant.date_of_birth,
            "place_of_birth": "Gunung Sugih",
            "sex": applicant.sex,
            "address": "Jl. Merdeka No. 10",
            "father_name": "Bapak Contoh",
            "mother_name": "Ibu Contoh",
            "nik": "",
        },
    )
    details = {
        "travel_purpose": "tourism",
        "destination": "Malaysia",
        "nationality": "Malaysia",
        "passport_number": "A1234567",
        "sponsor_name": "PT Contoh",
        "sponsor_address": "Jl. Sponsor 1",
        "sponsor_phone": "0725 1234",
    }
    services.application_save_details(application=application, data=details)
    for requirement in service.requirements.all():
        Document.objects.create(
            application=application,
            requirement=requirement,
            file=ContentFile(png_bytes(), name=f"{requirement.code}.png"),
            original_name=f"{requirement.code}.png",
            content_type="image/png",
            size=100,
            sha256="0" * 64,
        )
    Application.objects.filter(pk=application.pk).update(step_reached=4)
    application.refresh_from_db()
    return application


# The path each status is reached by from a sent application, and who moves it.
PATH = [
    (Status.AWAITING_PAYMENT, "system"),
    (Status.PAID, "system"),
    (Status.SCHEDULED, "system"),
    (Status.INTERVIEWED, "system"),
    (Status.APPROVED, "officer"),
    (Status.READY, "officer"),
    (Status.COMPLETED, "officer"),
]


def advance(application: Application, to: str, *, officer=None) -> Application:
    """Send the draft (as its applicant) and walk the main path until `to`."""
    officer = officer or StaffFactory(is_superuser=True, email="system.officer@example.id")
    if application.status == Status.DRAFT and to != Status.DRAFT:
        services.application_submit(
            application=application, by=application.applicant, declaration=True
        )
    if to in {Status.DRAFT, Status.SUBMITTED}:
        return application
    if to in {Status.REJECTED, Status.REVISION_REQUESTED}:
        workflow.transition(application, to, by=officer, note="Foto KTP buram")
        return application
    if to == Status.CANCELLED:
        workflow.transition(application, to, by=application.applicant)
        return application
    if to == Status.EXPIRED:
        workflow.transition(application, Status.AWAITING_PAYMENT, by=None)
        workflow.transition(application, Status.EXPIRED, by=None)
        return application
    Document.objects.filter(application=application).update(state=Document.State.ACCEPTED)
    for status, actor in PATH:
        workflow.transition(application, status, by=None if actor == "system" else officer)
        if status == to:
            break
    return application


@pytest.fixture
def draft(ani, office_a, passport_service, tasks_inline):
    return complete_draft(ani, office_a, passport_service)


@pytest.fixture
def submitted(draft):
    return advance(draft, Status.SUBMITTED)
